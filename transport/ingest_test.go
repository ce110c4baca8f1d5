package transport_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sessionreplay/replay/storage"
	"github.com/sessionreplay/replay/storage/memstore"
	"github.com/sessionreplay/replay/transport"
)

func TestIngestAcceptsEveryEncodingOfAPIMD(t *testing.T) {
	e := newEnv(t, nil)
	plain := func(id string) []byte { return mustJSON(t, batch("demo", id, "w1", 0, 0, "signup")) }
	tests := []struct {
		name   string
		body   func(id string) []byte
		query  string
		header map[string]string
	}{
		{"text/plain as browsers send it", plain, "", map[string]string{"Content-Type": "text/plain;charset=UTF-8"}},
		{"text/plain in other case and spacing", plain, "", map[string]string{"Content-Type": "TEXT/PLAIN; charset=utf-8"}},
		{"application/json", plain, "", map[string]string{"Content-Type": "application/json"}},
		{"a JSON dialect", plain, "", map[string]string{"Content-Type": "application/vnd.replay+json"}},
		{"no content type", plain, "", nil},
		{"gzip by Content-Encoding", func(id string) []byte { return gz(t, plain(id)) }, "",
			map[string]string{"Content-Encoding": "gzip", "Content-Type": "application/json"}},
		{"gzip by ?enc=gzip", func(id string) []byte { return gz(t, plain(id)) }, "?enc=gzip",
			map[string]string{"Content-Type": "text/plain;charset=UTF-8"}},
		{"gzip by magic bytes", func(id string) []byte { return gz(t, plain(id)) }, "",
			map[string]string{"Content-Type": "text/plain;charset=UTF-8"}},
		{"identity encoding", plain, "", map[string]string{"Content-Encoding": "identity"}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := "session-" + strconv.Itoa(i) + "-abcdef"
			resp, body := e.do(http.MethodPost, "/v1/ingest"+tt.query, bytes.NewReader(tt.body(id)), tt.header)
			require.Equal(t, http.StatusOK, resp.StatusCode, "body %s", body)
			assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
			res := result(t, body)
			assert.Equal(t, 4, res.Accepted)
			assert.True(t, res.Record)
			s, err := e.store.Session(context.Background(), storage.Key{Site: "demo", Session: id})
			require.NoError(t, err)
			assert.Equal(t, 4, s.EventCount)
		})
	}
}

func TestIngestRefusesWithStatusAndNamedField(t *testing.T) {
	e := newEnv(t, &transport.Options{MaxBodyBytes: 4 << 10, MaxDecodedBytes: 64 << 10})
	valid := mustJSON(t, batch("demo", "session-refused-1", "w1", 0, 0))
	big := bytes.Repeat([]byte(" "), 70<<10) // white space: valid JSON padding, compresses well
	overDecoded := gz(t, append(append([]byte{}, big...), valid...))
	require.Less(t, len(overDecoded), 4<<10)
	tests := []struct {
		name      string
		query     string
		body      []byte
		header    map[string]string
		status    int
		errSubstr string
	}{
		{"malformed JSON", "", []byte(`{"site":"demo",`), nil, 400, "body"},
		{"not an object", "", []byte(`[1,2]`), nil, 400, "body"},
		{"empty body", "", nil, nil, 400, "body"},
		{"short session id", "", mustJSON(t, batch("demo", "short", "w1", 0, 0)), nil, 400, "session"},
		{"bad window id", "", mustJSON(t, batch("demo", "session-refused-1", "w/1", 0, 0)), nil, 400, "window"},
		{"negative seq", "", mustJSON(t, batch("demo", "session-refused-1", "w1", -1, 0)), nil, 400, "seq"},
		{"unknown site", "", mustJSON(t, batch("nope", "session-refused-1", "w1", 0, 0)), nil, 403, "site"},
		{"disabled site", "", mustJSON(t, batch("off", "session-refused-1", "w1", 0, 0)), nil, 403, "site"},
		{"unsupported content type", "", valid, map[string]string{"Content-Type": "image/png"}, 415, "Content-Type"},
		{"form content type", "", valid, map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, 415, "Content-Type"},
		{"unparsable content type", "", valid, map[string]string{"Content-Type": "text/plain; ;;"}, 415, "Content-Type"},
		{"brotli", "", valid, map[string]string{"Content-Encoding": "br"}, 415, "Content-Encoding"},
		{"two encodings", "", valid, map[string]string{"Content-Encoding": "gzip, gzip"}, 415, "Content-Encoding"},
		{"unknown enc parameter", "?enc=zstd", valid, nil, 415, "enc"},
		{"corrupt gzip", "", append([]byte{0x1f, 0x8b}, valid...), nil, 400, "gzip"},
		{"truncated gzip", "", gz(t, valid)[:40], nil, 400, "gzip"},
		{"over the limit on the wire", "", append(big, valid...), nil, 413, "wire"},
		{"over the limit decompressed", "", overDecoded, nil, 413, "decompressed"},
		{"site in query differs from body", "?site=off", valid, nil, 400, "site"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := e.do(http.MethodPost, "/v1/ingest"+tt.query, bytes.NewReader(tt.body), tt.header)
			assert.Equal(t, tt.status, resp.StatusCode, "body %s", body)
			assert.Contains(t, errorOf(t, body), tt.errSubstr)
		})
	}
}

func TestIngestOverWireLimitWithoutContentLength(t *testing.T) {
	h := transport.NewHandler(newEnv(t, nil).rec, &transport.Options{MaxBodyBytes: 1 << 10})
	body := append(bytes.Repeat([]byte(" "), 2<<10), mustJSON(t, batch("demo", "session-chunked", "w1", 0, 0))...)
	// io.MultiReader hides the length: the request is sent chunked.
	req := httptest.NewRequest(http.MethodPost, "/v1/ingest", io.MultiReader(bytes.NewReader(body)))
	req.ContentLength = -1
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	assert.Equal(t, http.StatusRequestEntityTooLarge, w.Code)
	assert.Contains(t, errorOf(t, w.Body.Bytes()), "wire")
}

func TestIngestRetryOfSameBatchIsStoredOnce(t *testing.T) {
	e := newEnv(t, nil)
	b := batch("demo", "session-retry-1", "w1", 0, 0, "signup")
	for range 3 {
		resp, body := e.ingest(b, nil)
		require.Equal(t, http.StatusOK, resp.StatusCode, "body %s", body)
		assert.Equal(t, 4, result(t, body).Accepted)
	}
	key := storage.Key{Site: "demo", Session: "session-retry-1"}
	var chunks int
	for _, err := range e.store.Chunks(context.Background(), key, "") {
		require.NoError(t, err)
		chunks++
	}
	assert.Equal(t, 1, chunks)
	s, err := e.store.Session(context.Background(), key)
	require.NoError(t, err)
	assert.Equal(t, 4, s.EventCount)

	_, body := e.read(http.MethodGet, "/v1/sites/demo/sessions/session-retry-1/events")
	var events []map[string]any
	require.NoError(t, json.Unmarshal(body, &events))
	assert.Len(t, events, 4)
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

func TestIngestGzipBombCostsAtMostTheLimit(t *testing.T) {
	// 1 GiB of zeros in one gzip member: under 7 MB on the wire, under
	// the 10 MiB wire limit, so only the decompressed limit can stop it.
	var bomb bytes.Buffer
	bomb.Write(zeroBomb(1 << 30))
	require.Less(t, bomb.Len(), transport.DefaultMaxBodyBytes)

	h := transport.NewHandler(newEnv(t, nil).rec, nil)
	for _, tt := range []struct{ name, query, encoding string }{
		{"header", "", "gzip"},
		{"query", "?enc=gzip", ""},
		{"magic bytes", "", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			body := &countingReader{r: bytes.NewReader(bomb.Bytes())}
			req := httptest.NewRequest(http.MethodPost, "/v1/ingest"+tt.query, body)
			if tt.encoding != "" {
				req.Header.Set("Content-Encoding", tt.encoding)
			}
			w := httptest.NewRecorder()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			h.ServeHTTP(w, req)
			runtime.ReadMemStats(&after)

			assert.Equal(t, http.StatusRequestEntityTooLarge, w.Code)
			assert.Contains(t, errorOf(t, w.Body.Bytes()), "decompressed")
			// Allocation is bounded by the limits (the wire body, then
			// at most DefaultMaxDecodedBytes inflated into a buffer sized
			// by the gzip trailer's claim, capped at that limit), far
			// below the 1 GiB the bomb holds.
			alloc := after.TotalAlloc - before.TotalAlloc
			assert.Less(t, alloc, uint64(2*transport.DefaultMaxBodyBytes+2*transport.DefaultMaxDecodedBytes), "allocated %d bytes", alloc)
			t.Logf("allocated %d MiB for a 1 GiB bomb", alloc>>20)
		})
	}
}

func TestIngestCORS(t *testing.T) {
	e := newEnv(t, nil)
	body := func(id string) []byte { return mustJSON(t, batch("demo", id, "w1", 0, 0)) }
	t.Run("allowed origin is echoed", func(t *testing.T) {
		resp, b := e.do(http.MethodPost, "/v1/ingest", bytes.NewReader(body("session-cors-1")),
			map[string]string{"Origin": shopOrigin, "Content-Type": "text/plain;charset=UTF-8"})
		require.Equal(t, http.StatusOK, resp.StatusCode, "body %s", b)
		assert.Equal(t, shopOrigin, resp.Header.Get("Access-Control-Allow-Origin"))
		assert.True(t, hasHeaderValue(resp.Header, "Vary", "Origin"))
		assert.Empty(t, resp.Header.Get("Access-Control-Allow-Credentials"))
	})
	t.Run("allowed origin with site in query gets CORS headers on errors too", func(t *testing.T) {
		resp, b := e.do(http.MethodPost, "/v1/ingest?site=demo", strings.NewReader("{"),
			map[string]string{"Origin": shopOrigin})
		require.Equal(t, http.StatusBadRequest, resp.StatusCode, "body %s", b)
		assert.Equal(t, shopOrigin, resp.Header.Get("Access-Control-Allow-Origin"))
	})
	t.Run("other origin is refused and nothing stored", func(t *testing.T) {
		resp, b := e.do(http.MethodPost, "/v1/ingest", bytes.NewReader(body("session-cors-2")),
			map[string]string{"Origin": "https://evil.example"})
		assert.Equal(t, http.StatusForbidden, resp.StatusCode)
		assert.Contains(t, errorOf(t, b), "origin")
		assert.Empty(t, resp.Header.Get("Access-Control-Allow-Origin"))
		_, err := e.store.Session(context.Background(), storage.Key{Site: "demo", Session: "session-cors-2"})
		assert.ErrorIs(t, err, storage.ErrNotFound)
	})
	t.Run("other origin with site in query is refused before the body is read", func(t *testing.T) {
		resp, b := e.do(http.MethodPost, "/v1/ingest?site=demo", strings.NewReader("not even JSON"),
			map[string]string{"Origin": "https://evil.example"})
		assert.Equal(t, http.StatusForbidden, resp.StatusCode)
		assert.Contains(t, errorOf(t, b), "origin")
	})
	t.Run("origin of another site is refused", func(t *testing.T) {
		resp, _ := e.do(http.MethodPost, "/v1/ingest", bytes.NewReader(body("session-cors-3")),
			map[string]string{"Origin": "https://shop.example.evil.example"})
		assert.Equal(t, http.StatusForbidden, resp.StatusCode)
	})
	t.Run("opaque origin is refused", func(t *testing.T) {
		resp, _ := e.do(http.MethodPost, "/v1/ingest", bytes.NewReader(body("session-cors-4")),
			map[string]string{"Origin": "null"})
		assert.Equal(t, http.StatusForbidden, resp.StatusCode)
	})
	t.Run("no origin is not checked", func(t *testing.T) {
		resp, b := e.do(http.MethodPost, "/v1/ingest", bytes.NewReader(body("session-cors-5")), nil)
		require.Equal(t, http.StatusOK, resp.StatusCode, "body %s", b)
		assert.Empty(t, resp.Header.Get("Access-Control-Allow-Origin"))
	})
}

func TestPreflight(t *testing.T) {
	e := newEnv(t, nil)
	preflight := func(path, origin string) *http.Response {
		h := map[string]string{"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}
		if origin != "" {
			h["Origin"] = origin
		}
		resp, _ := e.do(http.MethodOptions, path, nil, h)
		return resp
	}
	tests := []struct {
		name, path, origin string
		status             int
		methods            string
	}{
		{"ingest, allowed origin", "/v1/ingest?site=demo", shopOrigin, 204, "POST"},
		{"config, allowed origin", "/v1/config?site=demo&session=session-pre-1", shopOrigin, 204, "GET"},
		{"ingest, other origin", "/v1/ingest?site=demo", "https://evil.example", 403, ""},
		{"config, other origin", "/v1/config?site=demo", "https://evil.example", 403, ""},
		{"ingest, no site to check against", "/v1/ingest", shopOrigin, 403, ""},
		{"ingest, unknown site", "/v1/ingest?site=nope", shopOrigin, 403, ""},
		{"ingest, no origin", "/v1/ingest", "", 204, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := preflight(tt.path, tt.origin)
			assert.Equal(t, tt.status, resp.StatusCode)
			if tt.methods == "" {
				assert.Empty(t, resp.Header.Get("Access-Control-Allow-Origin"))
				return
			}
			assert.Equal(t, tt.origin, resp.Header.Get("Access-Control-Allow-Origin"))
			assert.True(t, hasHeaderValue(resp.Header, "Access-Control-Allow-Methods", tt.methods))
			assert.True(t, hasHeaderValue(resp.Header, "Access-Control-Allow-Headers", "Content-Type"))
			assert.True(t, hasHeaderValue(resp.Header, "Access-Control-Allow-Headers", "Content-Encoding"))
			assert.True(t, hasHeaderValue(resp.Header, "Vary", "Origin"))
		})
	}
}

func TestIngestRateLimitPerClient(t *testing.T) {
	e := newEnv(t, &transport.Options{
		IngestRate:  0.01, // one request per 100 s after the burst
		IngestBurst: 2,
		ClientIP:    func(r *http.Request) string { return r.Header.Get("X-Test-IP") },
	})
	send := func(ip string, seq int) *http.Response {
		id := "session-rate-" + strings.NewReplacer(".", "-", ":", "-").Replace(ip)
		resp, body := e.ingest(batch("demo", id, "w1", seq, int64(seq)), map[string]string{"X-Test-IP": ip})
		if resp.StatusCode != http.StatusOK {
			assert.Contains(t, errorOf(t, body), "rate")
		}
		return resp
	}
	assert.Equal(t, http.StatusOK, send("192.0.2.1", 0).StatusCode)
	assert.Equal(t, http.StatusOK, send("192.0.2.1", 1).StatusCode)
	limited := send("192.0.2.1", 2)
	assert.Equal(t, http.StatusTooManyRequests, limited.StatusCode)
	after, err := strconv.Atoi(limited.Header.Get("Retry-After"))
	require.NoError(t, err, "Retry-After %q", limited.Header.Get("Retry-After"))
	assert.GreaterOrEqual(t, after, 1)

	assert.Equal(t, http.StatusOK, send("192.0.2.2", 0).StatusCode, "another client has its own budget")
	assert.Equal(t, http.StatusOK, send("2001:db8::1", 0).StatusCode)
	assert.Equal(t, http.StatusOK, send("2001:db8::2", 1).StatusCode)
	assert.Equal(t, http.StatusTooManyRequests, send("2001:db8::3", 2).StatusCode, "one IPv6 /64 shares one budget")
}

func TestIngestStoreFailures(t *testing.T) {
	secret := errors.New("disk /var/secret exploded")
	tests := []struct {
		name   string
		err    error
		status int
	}{
		{"full", storage.ErrFull, http.StatusInsufficientStorage},
		{"unavailable", storage.ErrUnavailable, http.StatusServiceUnavailable},
		{"closed", storage.ErrClosed, http.StatusServiceUnavailable},
		{"anything else", secret, http.StatusInternalServerError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			var failing atomic.Bool
			failing.Store(true)
			store := &flakyStore{Store: memstore.New(), fail: func() error {
				if failing.Load() {
					return tt.err
				}
				return nil
			}}
			e := newEnvStore(t, store, &transport.Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
			b := batch("demo", "session-fail-1", "w1", 0, 0)
			resp, body := e.ingest(b, nil)
			assert.Equal(t, tt.status, resp.StatusCode)
			msg := errorOf(t, body)
			assert.NotContains(t, msg, "secret", "the cause is logged, not sent")
			assert.Contains(t, logs.String(), tt.err.Error(), "the cause is logged")

			failing.Store(false) // nothing accepted is lost: the retry stores it
			resp, body = e.ingest(b, nil)
			require.Equal(t, http.StatusOK, resp.StatusCode, "body %s", body)
			assert.True(t, result(t, body).Record)
		})
	}
}

func TestIngestMethodNotAllowed(t *testing.T) {
	e := newEnv(t, nil)
	resp, body := e.do(http.MethodGet, "/v1/ingest", nil, nil)
	assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
	assert.Equal(t, "OPTIONS, POST", resp.Header.Get("Allow"))
	assert.Contains(t, errorOf(t, body), "method")
}

func TestConfig(t *testing.T) {
	e := newEnv(t, nil)
	get := func(query string, header map[string]string) (*http.Response, map[string]any) {
		resp, body := e.do(http.MethodGet, "/v1/config"+query, nil, header)
		var m map[string]any
		require.NoError(t, json.Unmarshal(body, &m), "body %s", body)
		return resp, m
	}
	t.Run("recording site", func(t *testing.T) {
		resp, m := get("?site=demo&session=session-config-1", map[string]string{"Origin": shopOrigin})
		require.Equal(t, http.StatusOK, resp.StatusCode, "%v", m)
		assert.Equal(t, true, m["record"])
		assert.Equal(t, transport.DefaultRRWebURL, m["rrwebURL"])
		assert.Equal(t, transport.DefaultConsolePluginURL, m["consolePluginURL"])
		assert.Contains(t, m, "privacy")
		assert.Contains(t, m, "flushIntervalMs")
		assert.Contains(t, m, "maxBatchBytes")
		assert.Equal(t, shopOrigin, resp.Header.Get("Access-Control-Allow-Origin"))
		assert.Equal(t, "no-store", resp.Header.Get("Cache-Control"))
	})
	t.Run("disabled site answers record false", func(t *testing.T) {
		resp, m := get("?site=off&session=session-config-1", nil)
		require.Equal(t, http.StatusOK, resp.StatusCode, "%v", m)
		assert.Equal(t, false, m["record"])
	})
	for _, tt := range []struct {
		name, query, origin string
		status              int
		field               string
	}{
		{"unknown site", "?site=nope", "", 403, "site"},
		{"missing site", "", "", 400, "site"},
		{"invalid site", "?site=a/b", "", 400, "site"},
		{"invalid session", "?site=demo&session=x", "", 400, "session"},
		{"other origin", "?site=demo", "https://evil.example", 403, "origin"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := map[string]string{}
			if tt.origin != "" {
				h["Origin"] = tt.origin
			}
			resp, m := get(tt.query, h)
			assert.Equal(t, tt.status, resp.StatusCode)
			assert.Contains(t, m["error"], tt.field)
		})
	}
	t.Run("asset URLs from the options", func(t *testing.T) {
		e := newEnv(t, &transport.Options{RRWebURL: "/static/rrweb.js", ConsolePluginURL: "/static/console.js"})
		resp, body := e.do(http.MethodGet, "/v1/config?site=demo", nil, nil)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		assert.JSONEq(t, `"/static/rrweb.js"`, string(mustJSON(t, jsonField(t, body, "rrwebURL"))))
		assert.JSONEq(t, `"/static/console.js"`, string(mustJSON(t, jsonField(t, body, "consolePluginURL"))))
	})
	t.Run("deleted session answers record false", func(t *testing.T) {
		resp, body := e.ingest(batch("demo", "session-config-del", "w1", 0, 0), nil)
		require.Equal(t, http.StatusOK, resp.StatusCode, "body %s", body)
		resp, body = e.read(http.MethodDelete, "/v1/sites/demo/sessions/session-config-del")
		require.Equal(t, http.StatusNoContent, resp.StatusCode, "body %s", body)
		resp, m := get("?site=demo&session=session-config-del", nil)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Equal(t, false, m["record"])
	})
}

func jsonField(t *testing.T, body []byte, key string) any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(body, &m))
	return m[key]
}

func TestIngestOverTheInFlightBudgetIs503WithRetryAfter(t *testing.T) {
	store := &blockingStore{Store: memstore.New(), entered: make(chan struct{}, 1), release: make(chan struct{})}
	// Each body below is about 3 KiB decoded: one fits in the budget,
	// two do not.
	e := newEnvStore(t, store, &transport.Options{MaxInFlightBytes: 5 << 10})
	body := func(session string) []byte {
		b := batch("demo", session, "w1", 0, 0)
		b["attrs"] = map[string]string{"pad": strings.Repeat("x", 3<<10)}
		return gz(t, mustJSON(t, b))
	}
	first := make(chan int)
	go func() {
		resp, _ := e.do(http.MethodPost, "/v1/ingest?enc=gzip", bytes.NewReader(body("session-budget-1")), nil)
		first <- resp.StatusCode
	}()
	<-store.entered // the first batch is being stored: its bytes are in flight

	resp, b := e.do(http.MethodPost, "/v1/ingest?enc=gzip", bytes.NewReader(body("session-budget-2")), nil)
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, "%s", b)
	assert.Equal(t, "1", resp.Header.Get("Retry-After"))
	assert.Contains(t, errorOf(t, b), "busy")

	close(store.release)
	assert.Equal(t, http.StatusOK, <-first)
	resp, b = e.do(http.MethodPost, "/v1/ingest?enc=gzip", bytes.NewReader(body("session-budget-2")), nil)
	<-store.entered
	assert.Equal(t, http.StatusOK, resp.StatusCode, "%s: the budget was given back", b)
}

func TestIngestBodyBiggerThanTheBudgetPassesAlone(t *testing.T) {
	e := newEnv(t, &transport.Options{MaxInFlightBytes: 1 << 10})
	b := batch("demo", "session-budget-3", "w1", 0, 0)
	b["attrs"] = map[string]string{"pad": strings.Repeat("x", 4<<10)}
	resp, body := e.do(http.MethodPost, "/v1/ingest?enc=gzip", bytes.NewReader(gz(t, mustJSON(t, b))), nil)
	assert.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
}

func TestIngestDefaultLimitsTakeTwoRecorderBatchesAtOnce(t *testing.T) {
	// recorder.js flushes at 512 KiB; a batch is that plus the event that
	// crossed it, which may be a full snapshot of several MB. With the
	// default limits, two such batches are taken at once.
	store := &blockingStore{Store: memstore.New(), entered: make(chan struct{}, 1), release: make(chan struct{})}
	e := newEnvStore(t, store, nil)
	body := func(session string) []byte {
		b := batch("demo", session, "w1", 0, 0)
		events := b["events"].([]any)
		for i := 0; i < 512; i++ { // 512 KiB of small events
			events = append(events, map[string]any{"type": 5, "timestamp": 1_780_000_001_000 + i,
				"data": map[string]any{"tag": "pad", "payload": map[string]any{"s": strings.Repeat("p", 1000)}}})
		}
		snapshot := `{"node":{"type":0,"childNodes":[{"type":2,"tagName":"html","attributes":{},"childNodes":[` +
			`{"type":2,"tagName":"img","attributes":{"src":"data:image/png;base64,` + strings.Repeat("A", 8<<20) + `"},"childNodes":[],"id":3}` +
			`],"id":2}],"id":1},"initialOffset":{"left":0,"top":0}}`
		events = append(events, map[string]any{"type": 2, "timestamp": 1_780_000_002_000, "data": json.RawMessage(snapshot)})
		b["events"] = events
		raw := mustJSON(t, b)
		require.Greater(t, len(raw), 512<<10+8<<20)
		return gz(t, raw)
	}
	codes := make(chan int, 2)
	post := func(session string) {
		resp, b := e.do(http.MethodPost, "/v1/ingest?enc=gzip", bytes.NewReader(body(session)), nil)
		assert.Equal(t, http.StatusOK, resp.StatusCode, "%s", b)
		codes <- resp.StatusCode
	}
	go post("session-limits-1")
	<-store.entered // the first is being stored, its bytes in flight
	go post("session-limits-2")
	select {
	case <-store.entered: // the second passed the limits while the first is held
		close(store.release)
	case code := <-codes:
		close(store.release)
		t.Fatalf("the second batch was answered %d while the first was in flight", code)
	}
	assert.Equal(t, http.StatusOK, <-codes)
	assert.Equal(t, http.StatusOK, <-codes)
}
