package replay

import (
	"context"
	"errors"

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
		Privacy:         cs.masker.recordOptions(),
		FlushIntervalMs: DefaultFlushInterval,
		MaxBatchBytes:   DefaultMaxBatchBytes,
	}
	if cfg.Record && session != "" {
		if !storage.ValidID(session, 8) {
			return ClientConfig{}, &ValidationError{Path: "session", Msg: "want 8-64 characters of [A-Za-z0-9_-]"}
		}
		sess, err := r.store.Session(ctx, storage.Key{Site: site, Session: session})
		switch {
		case err == nil && sess.State == storage.StateDropped:
			cfg.Record = false
		case err != nil && !errors.Is(err, storage.ErrNotFound):
			return ClientConfig{}, err
		}
	}
	return cfg, nil
}
