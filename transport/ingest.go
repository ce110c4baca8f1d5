package transport

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/sessionreplay/replay"
	"github.com/sessionreplay/replay/storage"
)

// ingest answers POST /v1/ingest.
//
// The order of the checks keeps refusals cheap: when the query names the
// site (?site=S, which recorder.js sends), the origin is checked before the
// body is read, so that even a refusal for size or encoding carries CORS
// headers the browser can read. Otherwise the site comes from the body and
// the origin is checked after decoding, before the Recorder sees the batch.
func (h *handler) ingest(w http.ResponseWriter, r *http.Request) {
	origin := r.Header.Get("Origin")
	querySite := r.URL.Query().Get("site")
	if querySite != "" && !h.allowOrigin(w, r, querySite, origin) {
		return
	}
	if h.limiter != nil {
		if ok, wait := h.limiter.allow(rateKey(h.clientIP(r))); !ok {
			w.Header().Set("Retry-After", strconv.Itoa(int(wait.Round(time.Second)/time.Second)))
			writeError(w, http.StatusTooManyRequests, "rate: too many requests, retry later")
			return
		}
	}
	body, release, status, msg := h.readBody(w, r)
	if status != 0 {
		if status == http.StatusServiceUnavailable {
			w.Header().Set("Retry-After", "1")
		}
		writeError(w, status, msg)
		return
	}
	defer release()
	if res, refused := h.refused(w, r, body, querySite, origin); refused {
		if res != nil {
			writeJSON(w, http.StatusOK, res)
		}
		return
	}
	b, err := replay.DecodeBatchOwned(body) // body is this request's own buffer
	if err != nil {
		h.fail(w, r, "", err)
		return
	}
	if querySite != "" && b.Site != querySite {
		writeError(w, http.StatusBadRequest, "site: the body names "+quote(b.Site)+", the query "+quote(querySite))
		return
	}
	if querySite == "" && !h.allowOrigin(w, r, b.Site, origin) {
		return
	}
	res, err := h.rec.Ingest(r.Context(), b, replay.Client{
		UserAgent: r.UserAgent(),
		IP:        h.clientIP(r),
		Origin:    origin,
	})
	if err != nil {
		h.fail(w, r, b.Site, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// refused answers a batch of a dropped or deleted session without decoding
// its events: only the envelope (site and session) is read, and the events
// are counted, without being decoded, only when the session is refused. It
// returns refused true when the request has been dealt with: res is the
// answer to write, or nil when allowOrigin already answered. A body whose
// envelope does not parse is left to DecodeBatch, which names what is wrong.
func (h *handler) refused(w http.ResponseWriter, r *http.Request, body []byte, querySite, origin string) (res *replay.Result, refused bool) {
	site, session, ok := readEnvelope(body)
	if !ok || (querySite != "" && site != querySite) {
		return nil, false
	}
	drop, err := h.rec.Refuses(r.Context(), site, session)
	if err != nil || !drop {
		return nil, false // a store error is reported by Ingest
	}
	n, ok := countEvents(body)
	if !ok {
		return nil, false // DecodeBatch names what is wrong
	}
	if querySite == "" && !h.allowOrigin(w, r, site, origin) {
		return nil, true
	}
	return &replay.Result{Accepted: n, Record: false}, true
}

// readBody reads the ingest body within the limits and decompresses it. It
// returns a status and message to answer instead when the body is refused.
// The body's decoded bytes are taken from the in-flight budget before it is
// inflated (by the size the gzip trailer claims, checked afterwards), and
// given back by release, which the caller calls once done with the body; a
// body the budget cannot take now is answered 503.
func (h *handler) readBody(w http.ResponseWriter, r *http.Request) (body []byte, release func(), status int, msg string) {
	release = func() {}
	body, taken, status, msg := h.readBodyBudget(w, r)
	if taken > 0 {
		release = func() { h.inFlight.give(taken) }
	}
	return body, release, status, msg
}

// busy is the message of a 503 answer for the in-flight budget.
const busy = "busy: too many ingest bytes in flight, retry later"

func (h *handler) readBodyBudget(w http.ResponseWriter, r *http.Request) (body []byte, taken int64, status int, msg string) {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || !jsonMediaType(mt) {
			return nil, 0, http.StatusUnsupportedMediaType, "Content-Type: want text/plain or application/json, got " + quote(ct)
		}
	}
	gz := false
	switch enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
	case "gzip", "x-gzip":
		gz = true
	default:
		return nil, 0, http.StatusUnsupportedMediaType, "Content-Encoding: want gzip or none, got " + quote(enc)
	}
	switch enc := r.URL.Query().Get("enc"); enc {
	case "":
	case "gzip":
		gz = true
	default:
		return nil, 0, http.StatusUnsupportedMediaType, "enc: want gzip, got " + quote(enc)
	}

	wireMax := h.opts.MaxBodyBytes
	if r.ContentLength > wireMax {
		return nil, 0, http.StatusRequestEntityTooLarge, fmt.Sprintf("body: %d bytes on the wire, over the limit of %d", r.ContentLength, wireMax)
	}
	wire, err := readUpTo(http.MaxBytesReader(w, r.Body, wireMax), wireMax, r.ContentLength)
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig), errors.Is(err, errTooLarge):
		return nil, 0, http.StatusRequestEntityTooLarge, fmt.Sprintf("body: over the limit of %d bytes on the wire", wireMax)
	case err != nil:
		return nil, 0, http.StatusBadRequest, "body: " + err.Error()
	}
	if !gz && !isGzip(wire) {
		if int64(len(wire)) > h.opts.MaxDecodedBytes {
			return nil, 0, http.StatusRequestEntityTooLarge, fmt.Sprintf("body: over the limit of %d bytes decompressed", h.opts.MaxDecodedBytes)
		}
		n := int64(len(wire))
		if !h.inFlight.take(n) {
			return nil, 0, http.StatusServiceUnavailable, busy
		}
		return wire, n, 0, ""
	}
	// The gzip trailer claims the decoded size (of the last member, mod
	// 2^32): it sizes the reservation and the buffer, and is checked.
	claim := min(max(gzipSize(wire), int64(len(wire))), h.opts.MaxDecodedBytes)
	if !h.inFlight.take(claim) {
		return nil, 0, http.StatusServiceUnavailable, busy
	}
	body, err = gunzip(wire, h.opts.MaxDecodedBytes, claim)
	switch {
	case errors.Is(err, errTooLarge):
		h.inFlight.give(claim)
		return nil, 0, http.StatusRequestEntityTooLarge, fmt.Sprintf("body: over the limit of %d bytes decompressed", h.opts.MaxDecodedBytes)
	case err != nil:
		h.inFlight.give(claim)
		return nil, 0, http.StatusBadRequest, "body: invalid gzip: " + err.Error()
	}
	n := int64(len(body))
	switch {
	case n > claim && !h.inFlight.take(n-claim):
		h.inFlight.give(claim)
		return nil, 0, http.StatusServiceUnavailable, busy
	case n < claim:
		h.inFlight.give(claim - n)
	}
	return body, n, 0, ""
}

// jsonMediaType reports whether an ingest body may have this media type:
// text/plain (what browsers send without a preflight), JSON, or a JSON
// dialect (application/*+json).
func jsonMediaType(mt string) bool {
	switch mt {
	case "text/plain", "application/json":
		return true
	}
	return strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json")
}

// isGzip reports whether b starts with the gzip magic bytes. A JSON body
// never does: it starts with '{' or white space.
func isGzip(b []byte) bool { return len(b) >= 2 && b[0] == 0x1f && b[1] == 0x8b }

// readUpTo reads r to the end, or fails with errTooLarge once it holds more
// than limit bytes. The buffer starts at sizeHint (the Content-Length, or a
// guess) and doubles, but never grows past limit+1: what a hostile body costs
// is bounded by the limit, not by what it claims.
func readUpTo(r io.Reader, limit int64, sizeHint int64) ([]byte, error) {
	buf := make([]byte, 0, min(limit+1, max(sizeHint+1, 512)))
	for {
		if len(buf) == cap(buf) {
			if int64(len(buf)) > limit {
				return nil, errTooLarge
			}
			grown := make([]byte, len(buf), min(2*int64(cap(buf)), limit+1))
			copy(grown, buf)
			buf = grown
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		switch {
		case int64(len(buf)) > limit:
			return nil, errTooLarge
		case err == io.EOF:
			return buf, nil
		case err != nil:
			return nil, err
		}
	}
}

var errTooLarge = errors.New("too large")

// gzipReaders reuses gzip readers (and their 32 KiB windows) across requests.
var gzipReaders sync.Pool

// gzipSize returns the decoded size a gzip stream's trailer claims (ISIZE,
// the size of its last member mod 2^32), 0 when it is too short to have one.
func gzipSize(data []byte) int64 {
	if len(data) < 18 {
		return 0
	}
	t := data[len(data)-4:]
	return int64(uint32(t[0]) | uint32(t[1])<<8 | uint32(t[2])<<16 | uint32(t[3])<<24)
}

// gunzip inflates data, all gzip members of it, reading at most limit bytes of
// output (plus one to tell that there is more) into a buffer that starts at
// sizeHint+1 bytes: a gzip bomb costs at most about twice limit bytes of
// memory and the time to inflate limit bytes.
func gunzip(data []byte, limit, sizeHint int64) ([]byte, error) {
	zr, _ := gzipReaders.Get().(*gzip.Reader)
	var err error
	if zr == nil {
		zr, err = gzip.NewReader(bytes.NewReader(data))
	} else {
		err = zr.Reset(bytes.NewReader(data))
	}
	if err != nil {
		return nil, err
	}
	defer gzipReaders.Put(zr)
	return readUpTo(zr, limit, sizeHint)
}

// allowOrigin applies the CORS rule of API.md for site: a request without an
// Origin header passes; one whose origin is among the site's origins passes
// and gets the CORS answer headers; any other is answered 403 (as is an
// unknown site) and allowOrigin returns false.
func (h *handler) allowOrigin(w http.ResponseWriter, r *http.Request, site, origin string) bool {
	if origin == "" {
		return true
	}
	w.Header().Add("Vary", "Origin")
	s, err := h.rec.Site(r.Context(), site)
	if err != nil {
		if !storage.ValidID(site, 1) {
			writeError(w, http.StatusBadRequest, "site: want 1-64 characters of [A-Za-z0-9_-]")
			return false
		}
		h.fail(w, r, site, err)
		return false
	}
	if !s.AllowsOrigin(origin) {
		writeError(w, http.StatusForbidden, "origin: "+quote(origin)+" is not allowed for site "+quote(site))
		return false
	}
	hd := w.Header()
	hd.Set("Access-Control-Allow-Origin", origin)
	hd.Set("Access-Control-Expose-Headers", "Retry-After")
	return true
}

// preflightIngest answers the CORS preflight of POST /v1/ingest. The site
// must be named in the query (?site=S): the body that names it otherwise is
// not sent with a preflight.
func (h *handler) preflightIngest(w http.ResponseWriter, r *http.Request) {
	h.preflight(w, r, "POST, OPTIONS")
}

// preflightConfig answers the CORS preflight of GET /v1/config.
func (h *handler) preflightConfig(w http.ResponseWriter, r *http.Request) {
	h.preflight(w, r, "GET, OPTIONS")
}

func (h *handler) preflight(w http.ResponseWriter, r *http.Request, allow string) {
	origin := r.Header.Get("Origin")
	if origin == "" {
		w.Header().Set("Allow", allow)
		w.WriteHeader(http.StatusNoContent)
		return
	}
	site := r.URL.Query().Get("site")
	if site == "" {
		w.Header().Add("Vary", "Origin")
		writeError(w, http.StatusForbidden, "site: missing; a preflight must name the site in the query (?site=)")
		return
	}
	if !h.allowOrigin(w, r, site, origin) {
		return
	}
	hd := w.Header()
	hd.Add("Vary", "Access-Control-Request-Method")
	hd.Add("Vary", "Access-Control-Request-Headers")
	hd.Set("Access-Control-Allow-Methods", allow)
	hd.Set("Access-Control-Allow-Headers", "Content-Type, Content-Encoding")
	hd.Set("Access-Control-Max-Age", "600")
	w.WriteHeader(http.StatusNoContent)
}

// configAnswer is replay.ClientConfig with the asset URLs the handler adds.
type configAnswer struct {
	replay.ClientConfig
	ConsolePluginURL string `json:"consolePluginURL,omitempty"`
}

// config answers GET /v1/config.
func (h *handler) config(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	site, session := q.Get("site"), q.Get("session")
	if site == "" {
		writeError(w, http.StatusBadRequest, "site: missing")
		return
	}
	if !storage.ValidID(site, 1) {
		writeError(w, http.StatusBadRequest, "site: want 1-64 characters of [A-Za-z0-9_-]")
		return
	}
	origin := r.Header.Get("Origin")
	if !h.allowOrigin(w, r, site, origin) {
		return
	}
	cfg, err := h.rec.Config(r.Context(), site, session, replay.Client{
		UserAgent: r.UserAgent(),
		IP:        h.clientIP(r),
		Origin:    origin,
	})
	if err != nil {
		h.fail(w, r, site, err)
		return
	}
	cfg.RRWebURL = h.opts.RRWebURL
	writeJSON(w, http.StatusOK, configAnswer{ClientConfig: cfg, ConsolePluginURL: h.opts.ConsolePluginURL})
}
