package replay

import (
	"context"

	"github.com/sessionreplay/replay/storage"
)

// ClientConfig is what GET /v1/config answers: whether the browser should
// record this session and how.
type ClientConfig struct {
	Record          bool           `json:"record"`
	Privacy         map[string]any `json:"privacy"` // rrweb record() options
	FlushIntervalMs int            `json:"flushIntervalMs"`
	MaxBatchBytes   int            `json:"maxBatchBytes"`
	RRWebURL        string         `json:"rrwebURL,omitempty"` // set by the HTTP handler
}

// Browser batching defaults sent in ClientConfig.
const (
	DefaultFlushInterval = 5000      // ms
	DefaultMaxBatchBytes = 512 << 10 // bytes of JSON before compression
)

// Config answers whether the browser should record session id of a site and
// with which options. Record is false when the site is disabled, the session
// was dropped or deleted, or what is known at its start (sampling, device,
// OS, browser) already excludes it. An unknown site is an error wrapping
// [ErrUnknownSite].
func (r *Recorder) Config(ctx context.Context, site, session string, from Client) (ClientConfig, error) {
	s, cs, err := r.site(ctx, site)
	if err != nil {
		return ClientConfig{}, err
	}
	cfg := ClientConfig{
		Record:          !s.Disabled,
		Privacy:         cs.masker.RecordOptions(),
		FlushIntervalMs: DefaultFlushInterval,
		MaxBatchBytes:   DefaultMaxBatchBytes,
	}
	if cfg.Record && session != "" {
		if !storage.ValidID(session, 8) {
			return ClientConfig{}, &ValidationError{Path: "session", Msg: "want 8-64 characters of [A-Za-z0-9_-]"}
		}
		refused, err := r.Refuses(ctx, site, session)
		if err != nil {
			return ClientConfig{}, err
		}
		cfg.Record = !refused
	}
	if cfg.Record && !cs.rules.admitsAtStart(session, from) {
		cfg.Record = false
	}
	return cfg, nil
}

// admitsAtStart reports whether a session can still be kept given only what
// is known before its first event: its id (for sample) and the browser's
// User-Agent (for device, OS and browser). It is false only when every rule
// already fails. Without a session id, sample conditions are not yet
// decided.
func (rs *ruleSet) admitsAtStart(session string, from Client) bool {
	if len(rs.conds) == 0 {
		return true
	}
	c := parseUserAgent(from.UserAgent)
	s := storage.Session{ID: session, Device: c.Device, OS: c.OS, Browser: c.Browser}
	return decide(rs.evaluate(&facts{s: &s, startOnly: true})) != drop
}
