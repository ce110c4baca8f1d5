package replay

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/sessionreplay/replay/internal/privacy"
	"github.com/sessionreplay/replay/storage"
)

// Errors about sites, returned by [Sites] and the Recorder.
var (
	// ErrUnknownSite reports a site id that no configuration names.
	ErrUnknownSite = errors.New("replay: unknown site")
	// ErrSiteDisabled reports a site whose configuration disables recording.
	ErrSiteDisabled = errors.New("replay: site disabled")
)

// Sites finds the configuration of a site. Implementations must be safe for
// concurrent use; the Recorder calls Site on every request.
type Sites interface {
	// Site returns the site with this id, or an error wrapping
	// [ErrUnknownSite]. The returned Site must not be changed afterwards.
	Site(ctx context.Context, id string) (*Site, error)
}

// Site is the configuration of one site: everything a site owner would change.
// The zero value of each field means the default, so Site{ID: "shop"} records
// everything with the strict default privacy policy.
type Site struct {
	ID        string
	Disabled  bool          // records nothing; JSON "enabled": false
	Origins   []string      // origins allowed to send (CORS), e.g. "https://shop.example"
	Privacy   *Policy       // nil means DefaultPolicy()
	Targeting Targeting     // no rules: every session is kept
	Retention time.Duration // sessions are deleted this long after their last batch; 0 means 30 days

	once     sync.Once
	compiled *compiledSite
	err      error
}

// DefaultRetention is the retention of a site that sets none.
const DefaultRetention = 30 * 24 * time.Hour

// compiledSite is what the Recorder uses per request, built once per Site.
type compiledSite struct {
	masker *privacy.Masker
	rules  *ruleSet
}

// Validate checks the site's configuration, naming the field that is wrong.
// The Recorder validates each site before its first use; call Validate to find
// mistakes at start-up.
func (s *Site) Validate() error {
	_, err := s.compile()
	return err
}

func (s *Site) compile() (*compiledSite, error) {
	s.once.Do(func() {
		if !storage.ValidID(s.ID, 1) {
			s.err = fmt.Errorf("id: %q is not 1-64 characters of [A-Za-z0-9_-]", s.ID)
			return
		}
		if s.Retention < 0 {
			s.err = fmt.Errorf("retention: must not be negative")
			return
		}
		p := s.Privacy
		if p == nil {
			p = DefaultPolicy()
		}
		m, err := p.compile()
		if err != nil {
			s.err = fmt.Errorf("privacy.%w", err)
			return
		}
		rs, err := s.Targeting.compile()
		if err != nil {
			s.err = fmt.Errorf("targeting.%w", err)
			return
		}
		s.compiled = &compiledSite{masker: m, rules: rs}
	})
	return s.compiled, s.err
}

func (s *Site) retention() time.Duration {
	if s.Retention == 0 {
		return DefaultRetention
	}
	return s.Retention
}

// StaticSites is a fixed set of sites, keyed by id. It is safe for concurrent
// use as long as it is not changed.
type StaticSites map[string]*Site

// NewStaticSites validates the sites and returns them keyed by id.
func NewStaticSites(sites ...*Site) (StaticSites, error) {
	m := make(StaticSites, len(sites))
	for i, s := range sites {
		if err := s.Validate(); err != nil {
			return nil, fmt.Errorf("sites[%d].%w", i, err)
		}
		if _, dup := m[s.ID]; dup {
			return nil, fmt.Errorf("sites[%d].id: %q appears twice", i, s.ID)
		}
		m[s.ID] = s
	}
	return m, nil
}

// Site implements [Sites].
func (m StaticSites) Site(_ context.Context, id string) (*Site, error) {
	s, ok := m[id]
	if !ok {
		return nil, fmt.Errorf("%w %q", ErrUnknownSite, id)
	}
	return s, nil
}

// siteJSON is one element of "sites" in the JSON configuration of API.md.
type siteJSON struct {
	ID        string          `json:"id"`
	Enabled   *bool           `json:"enabled"`
	Origins   []string        `json:"origins"`
	Privacy   json.RawMessage `json:"privacy"`
	Targeting json.RawMessage `json:"targeting"`
	Retention string          `json:"retention"`
}

// LoadSites reads the JSON site configuration of API.md
// ({"sites": [...]}) and validates it. Fields left out take their defaults
// ("enabled" is true, the privacy policy is [DefaultPolicy]). Errors name the
// offending field, as in `sites[0].targeting.rules[2].when.all[1]: unknown
// condition "visit"`.
func LoadSites(r io.Reader) (StaticSites, error) {
	var doc struct {
		Sites []siteJSON `json:"sites"`
	}
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("site configuration: %w", err)
	}
	sites := make([]*Site, len(doc.Sites))
	for i, sj := range doc.Sites {
		s, err := sj.site()
		if err != nil {
			return nil, fmt.Errorf("sites[%d].%w", i, err)
		}
		sites[i] = s
	}
	return NewStaticSites(sites...)
}

func (sj siteJSON) site() (*Site, error) {
	s := &Site{ID: sj.ID, Origins: sj.Origins, Privacy: DefaultPolicy()}
	if sj.Enabled != nil {
		s.Disabled = !*sj.Enabled
	}
	if len(sj.Privacy) > 0 {
		if err := strictUnmarshal(sj.Privacy, s.Privacy); err != nil {
			return nil, fmt.Errorf("privacy: %w", err)
		}
	}
	if len(sj.Targeting) > 0 {
		if err := strictUnmarshal(sj.Targeting, &s.Targeting); err != nil {
			return nil, targetingError(err)
		}
	}
	if sj.Retention != "" {
		d, err := time.ParseDuration(sj.Retention)
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("retention: %q is not a positive Go duration", sj.Retention)
		}
		s.Retention = d
	}
	return s, nil
}

func strictUnmarshal(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}
