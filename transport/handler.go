package transport

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"path"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/sessionreplay/replay"
	"github.com/sessionreplay/replay/storage"
)

// Default limits and asset URLs; see [Options].
const (
	// DefaultMaxBodyBytes bounds an ingest body as it arrives (compressed).
	DefaultMaxBodyBytes = 10 << 20
	// DefaultMaxDecodedBytes bounds an ingest body once decompressed, as
	// the wire contract says (100 MiB). recorder.js sends far less: a batch
	// is 512 KiB plus its last event, which may be a full snapshot with the
	// page's stylesheets inlined (1.8 MB for an admin template with a
	// 1.4 MB stylesheet); a host that only takes recorder.js batches may
	// lower it to 16 MiB with [Options].MaxDecodedBytes.
	DefaultMaxDecodedBytes = 100 << 20
	// DefaultMaxInFlightBytes bounds the decoded bytes of the ingest
	// bodies being handled at once, across requests: twice the largest
	// body. The handler's memory peaks at about ten times the bytes in
	// flight (measured with internal/load on the recorded corpus).
	DefaultMaxInFlightBytes = 32 << 20

	// DefaultRRWebURL is the rrweb recorder build recorder.js loads when
	// the page has no rrweb: the UMD bundle of the version web/package.json
	// pins, from jsDelivr.
	DefaultRRWebURL = "https://cdn.jsdelivr.net/npm/rrweb@2.2.2/dist/rrweb.umd.min.cjs"
	// DefaultRRWebPlayerURL is the rrweb-player build the dashboard loads.
	DefaultRRWebPlayerURL = "https://cdn.jsdelivr.net/npm/rrweb-player@2.1.6/dist/rrweb-player.umd.min.cjs"
	// DefaultRRWebPlayerCSSURL is rrweb-player's style sheet.
	DefaultRRWebPlayerCSSURL = "https://cdn.jsdelivr.net/npm/rrweb-player@2.1.6/dist/style.min.css"
	// DefaultConsolePluginURL is rrweb's console recording plugin, which
	// recorder.js loads to report console errors.
	DefaultConsolePluginURL = "https://cdn.jsdelivr.net/npm/@rrweb/rrweb-plugin-console-record@2.1.1/dist/rrweb-plugin-console-record.umd.min.cjs"
)

// Options configure the handler returned by [NewHandler]. A nil *Options, or
// the zero value of a field, means the default. NewHandler copies the
// Options, so changing them afterwards has no effect; the Authorizer, Logger
// and ClientIP they hold are called concurrently.
type Options struct {
	// Authorizer decides who may use the read API (listing, reading and
	// deleting sessions). Nil refuses every read request with 403: there is
	// no anonymous default. See [BearerToken].
	Authorizer Authorizer

	// MaxBodyBytes bounds an ingest body on the wire, before
	// decompression; a larger body is answered 413. 0 means
	// [DefaultMaxBodyBytes].
	MaxBodyBytes int64
	// MaxDecodedBytes bounds an ingest body once decompressed; a larger
	// body is answered 413 after at most this many bytes were inflated.
	// 0 means [DefaultMaxDecodedBytes].
	MaxDecodedBytes int64
	// MaxInFlightBytes bounds the decoded bytes of all the ingest bodies
	// being handled at once, so that memory stays bounded under load
	// (the handler's memory peaks at about ten times this). A body that
	// does not fit now is answered 503 with Retry-After: 1, before it is
	// inflated; recorder.js waits and sends it again. One body is always
	// let through when none is in flight. 0 means
	// [DefaultMaxInFlightBytes].
	MaxInFlightBytes int64

	// IngestRate limits ingest requests per client (per IP address, per
	// /64 for IPv6) to this many per second, on average; requests over
	// the limit are answered 429 with Retry-After. 0 turns the limit off.
	IngestRate float64
	// IngestBurst is how many ingest requests a client may send at once
	// before IngestRate applies. 0 means twice IngestRate, at least 1.
	IngestBurst int
	// ClientIP returns the address of the client that made r, for the
	// rate limit and the session's facts. Nil means the host part of
	// r.RemoteAddr; behind a reverse proxy, return the address the proxy
	// reports, and only when the request really came through the proxy.
	ClientIP func(r *http.Request) string

	// RRWebURL is where recorder.js loads rrweb from when the page has
	// none (sent in the answer to /v1/config). "" means [DefaultRRWebURL].
	// A host that serves rrweb itself sets a URL on its own origin.
	//
	// RRWebURL and ConsolePluginURL may be absolute ("https://cdn…/x.js")
	// or relative: recorder.js resolves a relative URL against the URL of
	// /v1/config it asked, that is against the handler, never against the
	// recorded page. "/vendor/rrweb.umd.min.cjs" thus loads from the
	// handler's origin even when the site is served from another one.
	RRWebURL string
	// RRWebPlayerURL and RRWebPlayerCSSURL are where the dashboard loads
	// rrweb-player and its style sheet from. "" means
	// [DefaultRRWebPlayerURL] and [DefaultRRWebPlayerCSSURL].
	RRWebPlayerURL    string
	RRWebPlayerCSSURL string
	// ConsolePluginURL is where recorder.js loads rrweb's console
	// recording plugin from. "" means [DefaultConsolePluginURL].
	ConsolePluginURL string

	// Logger receives what the handler has to say (failures of the store,
	// internal errors); nil discards it.
	Logger *slog.Logger
}

// handler is the http.Handler NewHandler returns.
type handler struct {
	rec     *replay.Recorder
	opts    Options
	log     *slog.Logger
	mux     *http.ServeMux
	limiter *rateLimiter
	assets  *assets

	inFlight budget   // decoded ingest bytes being handled (ingest.go)
	memViews memViews // the view log when the store has none (views.go)
}

// budget counts bytes in use against a maximum. It is safe for concurrent
// use.
type budget struct {
	max  int64
	used atomic.Int64
}

// take reserves n bytes, or reports false when they would exceed the
// maximum; a reservation is always granted when nothing is reserved.
func (b *budget) take(n int64) bool {
	for {
		u := b.used.Load()
		if u > 0 && u+n > b.max {
			return false
		}
		if b.used.CompareAndSwap(u, u+n) {
			return true
		}
	}
}

// give returns n reserved bytes.
func (b *budget) give(n int64) { b.used.Add(-n) }

// NewHandler returns an http.Handler that serves the whole wire contract of
// API.md for rec: ingest, config, recorder.js, the read API and the
// dashboard. Its paths are relative to the root; mount it under a prefix
// with [http.StripPrefix], as the package documentation shows. NewHandler
// panics if rec is nil.
//
// The handler is safe for concurrent use by multiple goroutines.
func NewHandler(rec *replay.Recorder, opts *Options) http.Handler {
	if rec == nil {
		panic("transport.NewHandler: nil Recorder")
	}
	h := &handler{rec: rec, mux: http.NewServeMux()}
	if opts != nil {
		h.opts = *opts
	}
	o := &h.opts
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if o.MaxDecodedBytes <= 0 {
		o.MaxDecodedBytes = DefaultMaxDecodedBytes
	}
	if o.MaxInFlightBytes <= 0 {
		o.MaxInFlightBytes = DefaultMaxInFlightBytes
	}
	h.inFlight.max = o.MaxInFlightBytes
	o.RRWebURL = cmpOr(o.RRWebURL, DefaultRRWebURL)
	o.RRWebPlayerURL = cmpOr(o.RRWebPlayerURL, DefaultRRWebPlayerURL)
	o.RRWebPlayerCSSURL = cmpOr(o.RRWebPlayerCSSURL, DefaultRRWebPlayerCSSURL)
	o.ConsolePluginURL = cmpOr(o.ConsolePluginURL, DefaultConsolePluginURL)
	h.log = o.Logger
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	if o.IngestRate > 0 {
		h.limiter = newRateLimiter(o.IngestRate, o.IngestBurst, nil)
	}
	h.assets = newAssets(o, h.log)

	h.mux.Handle("/v1/ingest", methods{
		http.MethodPost:    h.ingest,
		http.MethodOptions: h.preflightIngest,
	})
	h.mux.Handle("/v1/config", methods{
		http.MethodGet:     h.config,
		http.MethodOptions: h.preflightConfig,
	})
	h.mux.Handle("/v1/recorder.js", methods{http.MethodGet: h.recorderJS})
	h.mux.Handle("/v1/dashboard-config", methods{http.MethodGet: h.dashboardConfig})
	h.mux.Handle("/v1/sites/{site}/sessions", methods{
		http.MethodGet: h.authorized(h.listSessions),
	})
	h.mux.Handle("/v1/sites/{site}/overview", methods{
		http.MethodGet: h.authorized(h.overview),
	})
	h.mux.Handle("/v1/sites/{site}/sessions/{id}", methods{
		http.MethodGet:    h.authorized(h.getSession),
		http.MethodDelete: h.authorized(h.deleteSession),
	})
	h.mux.Handle("/v1/sites/{site}/sessions/{id}/events", methods{
		http.MethodGet: h.authorized(h.events),
	})
	h.mux.Handle("/v1/sites/{site}/sessions/{id}/views", methods{
		http.MethodGet: h.authorized(h.views),
	})
	// Everything else, the dashboard included, goes through one handler
	// so that the mux never answers with a redirect of its own (a
	// redirect would leave the host's mount point).
	h.mux.Handle("/", methods{http.MethodGet: h.dashboard})
	return h
}

// ServeHTTP refuses paths that are not clean (the ServeMux would redirect
// them to a path outside the mount) and routes the rest.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	if p == "" || p[0] != '/' || (p != "/" && path.Clean(p) != p) {
		writeError(w, http.StatusNotFound, "path: not found")
		return
	}
	h.mux.ServeHTTP(w, r)
}

// methods routes one path by request method, answering 405 with an Allow
// header (and a JSON body, like every error) for the others. HEAD is served
// by the GET handler.
type methods map[string]http.HandlerFunc

func (m methods) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f, ok := m[r.Method]
	if !ok && r.Method == http.MethodHead {
		f, ok = m[http.MethodGet]
	}
	if !ok {
		allow := make([]string, 0, len(m)+1)
		for k := range m {
			allow = append(allow, k)
			if k == http.MethodGet {
				allow = append(allow, http.MethodHead)
			}
		}
		slices.Sort(allow)
		w.Header().Set("Allow", strings.Join(allow, ", "))
		writeError(w, http.StatusMethodNotAllowed, "method: "+r.Method+" is not allowed here")
		return
	}
	f(w, r)
}

// errorBody is the body of every error answer.
type errorBody struct {
	Error string `json:"error"`
}

// writeJSON answers v as JSON with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	hd := w.Header()
	hd.Set("Content-Type", "application/json")
	hd.Set("X-Content-Type-Options", "nosniff")
	if hd.Get("Cache-Control") == "" {
		hd.Set("Cache-Control", "no-store")
	}
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // the client may be gone; nothing to do
}

// writeError answers {"error": msg} with the given status.
func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, errorBody{Error: msg})
}

// fail answers err, an error of the Recorder or the store, with the status
// API.md gives it. Causes that are not the client's are logged, not sent.
func (h *handler) fail(w http.ResponseWriter, r *http.Request, site string, err error) {
	var verr *replay.ValidationError
	switch {
	case errors.As(err, &verr):
		writeError(w, http.StatusBadRequest, verr.Error())
	case errors.Is(err, replay.ErrUnknownSite):
		writeError(w, http.StatusForbidden, "site: "+quote(site)+" is not configured")
	case errors.Is(err, replay.ErrSiteDisabled):
		writeError(w, http.StatusForbidden, "site: "+quote(site)+" is disabled")
	case errors.Is(err, storage.ErrNotFound):
		writeError(w, http.StatusNotFound, "session: not found")
	case errors.Is(err, storage.ErrInvalidKey):
		writeError(w, http.StatusBadRequest, "id: refused by the store")
	case errors.Is(err, storage.ErrFull):
		h.log.WarnContext(r.Context(), "replay: store full", "path", r.URL.Path, "err", err)
		writeError(w, http.StatusInsufficientStorage, "store: full")
	case errors.Is(err, storage.ErrUnavailable), errors.Is(err, storage.ErrClosed):
		h.log.WarnContext(r.Context(), "replay: store unavailable", "path", r.URL.Path, "err", err)
		w.Header().Set("Retry-After", "5")
		writeError(w, http.StatusServiceUnavailable, "store: unavailable, retry later")
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		// The client went away or the server is shutting down.
		h.log.DebugContext(r.Context(), "replay: request abandoned", "path", r.URL.Path, "err", err)
		writeError(w, http.StatusServiceUnavailable, "request: abandoned, retry later")
	default:
		h.log.ErrorContext(r.Context(), "replay: internal error", "method", r.Method, "path", r.URL.Path, "err", err)
		writeError(w, http.StatusInternalServerError, "internal error")
	}
}

// clientIP is the address the rate limit and the session's facts use.
func (h *handler) clientIP(r *http.Request) string {
	if h.opts.ClientIP != nil {
		return h.opts.ClientIP(r)
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// rateKey groups IPv6 clients by /64, the block one subscriber usually
// holds, so that rotating addresses within it does not evade the limit.
func rateKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil || a.Is4() || a.Is4In6() {
		return ip
	}
	p, err := a.Prefix(64)
	if err != nil {
		return ip
	}
	return p.String()
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// quote quotes an id for an error message, bounding its length: ids come
// from the client.
func quote(s string) string {
	const max = 80
	if len(s) > max {
		s = s[:max] + "..."
	}
	b, _ := json.Marshal(s)
	return string(b)
}
