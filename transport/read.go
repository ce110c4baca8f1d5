package transport

import (
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/sessionreplay/replay/storage"
)

// listSessions answers GET /v1/sites/{site}/sessions.
func (h *handler) listSessions(w http.ResponseWriter, r *http.Request) {
	site, ok := pathSite(w, r)
	if !ok {
		return
	}
	q, err := ParseQuery(r.URL.Query())
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	q.Site = site
	page, err := h.rec.Sessions(r.Context(), q)
	switch {
	case errors.Is(err, storage.ErrInvalidCursor):
		writeError(w, http.StatusBadRequest, "cursor: not a cursor of this listing")
		return
	case err != nil:
		h.fail(w, r, site, err)
		return
	}
	if page.Sessions == nil {
		page.Sessions = []storage.Session{}
	}
	writeJSON(w, http.StatusOK, page)
}

// getSession answers GET /v1/sites/{site}/sessions/{id}.
func (h *handler) getSession(w http.ResponseWriter, r *http.Request) {
	site, id, ok := pathSession(w, r)
	if !ok {
		return
	}
	s, err := h.rec.Session(r.Context(), site, id)
	if err != nil {
		h.fail(w, r, site, err)
		return
	}
	writeJSON(w, http.StatusOK, s)
}

// deleteSession answers DELETE /v1/sites/{site}/sessions/{id}.
func (h *handler) deleteSession(w http.ResponseWriter, r *http.Request) {
	site, id, ok := pathSession(w, r)
	if !ok {
		return
	}
	if err := h.rec.Delete(r.Context(), site, id); err != nil {
		h.fail(w, r, site, err)
		return
	}
	h.memViews.forget(storage.Key{Site: site, Session: id})
	w.WriteHeader(http.StatusNoContent)
}

// events answers GET /v1/sites/{site}/sessions/{id}/events[?window=W] with
// the stored events as one JSON array, streamed as the Recorder writes it.
func (h *handler) events(w http.ResponseWriter, r *http.Request) {
	site, id, ok := pathSession(w, r)
	if !ok {
		return
	}
	window := r.URL.Query().Get("window")
	if window != "" && !storage.ValidID(window, 1) {
		writeError(w, http.StatusBadRequest, "window: want 1-64 characters of [A-Za-z0-9_-]")
		return
	}
	w.Header().Add("Vary", "Accept-Encoding")
	sw := &startWriter{w: w}
	var out io.Writer = sw
	var zw *gzip.Writer
	if acceptsGzip(r) {
		// Recorded DOM compresses about tenfold; BestSpeed keeps the
		// server's cost low. The gzip header is written on the first
		// write, so an early error still gets its own status.
		sw.encoding = "gzip"
		zw, _ = gzip.NewWriterLevel(sw, gzip.BestSpeed)
		out = zw
	}
	err := h.rec.Events(r.Context(), site, id, window, out)
	if err == nil && zw != nil {
		err = zw.Close()
	}
	if err == nil {
		h.recordView(r, storage.Key{Site: site, Session: id})
	}
	switch {
	case err == nil && !sw.started:
		sw.start() // cannot happen with a Recorder that always writes "[...]"
	case err != nil && !sw.started:
		h.fail(w, r, site, err)
	case err != nil:
		// The status is sent; the only honest way left to report the
		// failure is to cut the response short, so that the client
		// sees a truncated body rather than a valid-looking one.
		h.log.WarnContext(r.Context(), "replay: events interrupted", "site", site, "session", id, "err", err)
		panic(http.ErrAbortHandler)
	}
}

// acceptsGzip reports whether the request's Accept-Encoding admits gzip.
func acceptsGzip(r *http.Request) bool {
	for _, v := range r.Header.Values("Accept-Encoding") {
		for part := range strings.SplitSeq(v, ",") {
			coding, params, _ := strings.Cut(part, ";")
			if !strings.EqualFold(strings.TrimSpace(coding), "gzip") {
				continue
			}
			q := strings.ReplaceAll(strings.TrimSpace(params), " ", "")
			return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
		}
	}
	return false
}

// startWriter sends the success headers of the events answer on its first
// write, so that an error before any event was written can still be answered
// with its own status.
type startWriter struct {
	w        http.ResponseWriter
	encoding string // Content-Encoding of the body, if any
	started  bool
}

func (s *startWriter) start() {
	s.started = true
	hd := s.w.Header()
	hd.Set("Content-Type", "application/json")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Cache-Control", "no-store")
	if s.encoding != "" {
		hd.Set("Content-Encoding", s.encoding)
	}
	s.w.WriteHeader(http.StatusOK)
}

func (s *startWriter) Write(p []byte) (int, error) {
	if !s.started {
		s.start()
	}
	return s.w.Write(p)
}

var _ io.Writer = (*startWriter)(nil)

// pathSite returns the {site} of the path, answering 400 when it is not a
// valid id.
func pathSite(w http.ResponseWriter, r *http.Request) (string, bool) {
	site := r.PathValue("site")
	if !storage.ValidID(site, 1) {
		writeError(w, http.StatusBadRequest, "site: want 1-64 characters of [A-Za-z0-9_-]")
		return "", false
	}
	return site, true
}

// pathSession returns the {site} and {id} of the path, answering 400 when
// either is not a valid id.
func pathSession(w http.ResponseWriter, r *http.Request) (site, id string, ok bool) {
	site, ok = pathSite(w, r)
	if !ok {
		return "", "", false
	}
	id = r.PathValue("id")
	if !storage.ValidID(id, 8) {
		writeError(w, http.StatusBadRequest, "id: want 8-64 characters of [A-Za-z0-9_-]")
		return "", "", false
	}
	return site, id, true
}

// QueryError reports a read API parameter that is wrong, naming it, as in
// `minDuration: want a Go duration like 30s`. It is a plain value, safe to
// share once returned.
type QueryError struct {
	Param string
	Msg   string
}

// Error returns the parameter and what is wrong with it.
func (e *QueryError) Error() string { return e.Param + ": " + e.Msg }

// ParseQuery parses the filters of GET /v1/sites/{site}/sessions (API.md)
// into a [storage.Query]; the site comes from the path and is left empty.
// An empty parameter is no filter; unknown parameters are ignored. Errors are
// a [*QueryError] naming the parameter.
func ParseQuery(v url.Values) (storage.Query, error) {
	var q storage.Query
	var err error
	parseTime := func(name string, t *time.Time) {
		s := v.Get(name)
		if s == "" || err != nil {
			return
		}
		if *t, err = time.Parse(time.RFC3339Nano, s); err != nil {
			err = &QueryError{name, "want an RFC 3339 time like 2026-01-02T15:04:05Z"}
		}
	}
	parseTime("from", &q.From)
	parseTime("to", &q.To)
	if err != nil {
		return storage.Query{}, err
	}
	q.Device = v.Get("device")
	q.OS = v.Get("os")
	q.Browser = v.Get("browser")
	q.URL = v.Get("url")
	q.Event = v.Get("event")
	q.Rule = v.Get("rule")
	q.User = v.Get("user")
	q.Cursor = v.Get("cursor")
	if s := v.Get("error"); s != "" {
		b, perr := strconv.ParseBool(s)
		if perr != nil {
			return storage.Query{}, &QueryError{"error", "want true or false"}
		}
		q.Error = b
	}
	if s := v.Get("minDuration"); s != "" {
		d, perr := time.ParseDuration(s)
		if perr != nil || d < 0 {
			return storage.Query{}, &QueryError{"minDuration", "want a Go duration like 30s"}
		}
		q.MinDuration = d
	}
	switch s := strings.ToLower(v.Get("state")); s {
	case "":
	case string(storage.FilterKept), string(storage.FilterPending), string(storage.FilterAll):
		q.State = storage.StateFilter(s)
	default:
		return storage.Query{}, &QueryError{"state", "want kept, pending or all"}
	}
	if s := v.Get("limit"); s != "" {
		n, perr := strconv.Atoi(s)
		if perr != nil || n < 1 {
			return storage.Query{}, &QueryError{"limit", "want a positive integer (at most 500 are returned)"}
		}
		q.Limit = min(n, 500) // API.md: max 500; more is answered with 500, not refused
	}
	return q, nil
}

// queryValues is the inverse of ParseQuery: the parameters that select q.
func queryValues(q storage.Query) url.Values {
	v := url.Values{}
	set := func(k, s string) {
		if s != "" {
			v.Set(k, s)
		}
	}
	if !q.From.IsZero() {
		v.Set("from", q.From.Format(time.RFC3339Nano))
	}
	if !q.To.IsZero() {
		v.Set("to", q.To.Format(time.RFC3339Nano))
	}
	set("device", q.Device)
	set("os", q.OS)
	set("browser", q.Browser)
	set("url", q.URL)
	set("event", q.Event)
	set("rule", q.Rule)
	set("user", q.User)
	set("state", string(q.State))
	set("cursor", q.Cursor)
	if q.Error {
		v.Set("error", "true")
	}
	if q.MinDuration > 0 {
		v.Set("minDuration", q.MinDuration.String())
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(min(q.Limit, 500)))
	}
	return v
}
