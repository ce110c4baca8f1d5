package transport_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/stretchr/testify/require"

	"github.com/sessionreplay/replay"
	"github.com/sessionreplay/replay/storage"
	"github.com/sessionreplay/replay/storage/memstore"
	"github.com/sessionreplay/replay/transport"
)

const (
	shopOrigin = "https://shop.example"
	testToken  = "s3cret-read-token"
)

// env is a Recorder on a memstore behind the handler, mounted at /replay of
// a test server the way the package documentation says.
type env struct {
	t     *testing.T
	store storage.Store
	rec   *replay.Recorder
	srv   *httptest.Server
	base  string // srv.URL + "/replay"
}

// newEnv serves sites "demo" (origin https://shop.example) and "off"
// (disabled). opts nil means a bearer token authorizer with testToken.
func newEnv(t *testing.T, opts *transport.Options) *env {
	t.Helper()
	return newEnvStore(t, memstore.New(), opts)
}

func newEnvStore(t *testing.T, store storage.Store, opts *transport.Options) *env {
	t.Helper()
	sites, err := replay.NewStaticSites(
		&replay.Site{ID: "demo", Origins: []string{shopOrigin}},
		&replay.Site{ID: "off", Disabled: true, Origins: []string{shopOrigin}},
	)
	require.NoError(t, err)
	rec, err := replay.New(store, sites, nil)
	require.NoError(t, err)
	if opts == nil {
		opts = &transport.Options{Authorizer: transport.BearerToken(testToken)}
	}
	mux := http.NewServeMux()
	mux.Handle("/replay/", http.StripPrefix("/replay", transport.NewHandler(rec, opts)))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &env{t: t, store: store, rec: rec, srv: srv, base: srv.URL + "/replay"}
}

// do sends a request to path (relative to the mount) and returns the answer
// with its body read.
func (e *env) do(method, path string, body io.Reader, header map[string]string) (*http.Response, []byte) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.base+path, body)
	require.NoError(e.t, err)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := noRedirect.Do(req)
	require.NoError(e.t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(e.t, err)
	return resp, b
}

// read is an authorized GET or DELETE of the read API.
func (e *env) read(method, path string) (*http.Response, []byte) {
	e.t.Helper()
	return e.do(method, path, nil, map[string]string{"Authorization": "Bearer " + testToken})
}

// ingest posts a batch as JSON with the given headers.
func (e *env) ingest(b any, header map[string]string) (*http.Response, []byte) {
	e.t.Helper()
	return e.do(http.MethodPost, "/v1/ingest", bytes.NewReader(mustJSON(e.t, b)), header)
}

// noRedirect is a client that shows redirects instead of following them.
var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error {
	return http.ErrUseLastResponse
}}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return b
}

func gz(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, err := zw.Write(b)
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	return buf.Bytes()
}

// errorOf decodes an error answer, failing unless it is {"error": "..."}.
func errorOf(t testing.TB, body []byte) string {
	t.Helper()
	var eb map[string]any
	require.NoError(t, json.Unmarshal(body, &eb), "error body %q", body)
	require.Len(t, eb, 1, "error body %q", body)
	msg, ok := eb["error"].(string)
	require.True(t, ok, "error body %q", body)
	require.NotEmpty(t, msg)
	return msg
}

// batch is a page load of session id: Meta, FullSnapshot, a click and the
// given custom event tags, at ms since a fixed start.
func batch(site, session, window string, seq int, ms int64, tags ...string) map[string]any {
	ts := 1_780_000_000_000 + ms
	events := []any{
		map[string]any{"type": 4, "timestamp": ts, "data": map[string]any{
			"href": "https://shop.example/checkout?token=abc", "width": 1280, "height": 720}},
		map[string]any{"type": 2, "timestamp": ts + 3, "data": json.RawMessage(`{"node":{"type":0,"childNodes":[
			{"type":1,"name":"html","publicId":"","systemId":"","id":2},
			{"type":2,"tagName":"html","attributes":{"lang":"en"},"childNodes":[
				{"type":2,"tagName":"head","attributes":{},"childNodes":[],"id":4},
				{"type":2,"tagName":"body","attributes":{},"childNodes":[
					{"type":3,"textContent":"Hello ","id":6}],"id":5}],"id":3}],"id":1},
			"initialOffset":{"left":0,"top":0}}`)},
		map[string]any{"type": 3, "timestamp": ts + 500, "data": map[string]any{
			"source": 2, "type": 2, "id": 6, "x": 330, "y": 210, "pointerType": 0}},
	}
	if seq > 0 {
		events = events[2:] // later batches of a window carry no snapshot
	}
	for i, tag := range tags {
		events = append(events, map[string]any{"type": 5, "timestamp": ts + 600 + int64(i),
			"data": map[string]any{"tag": tag, "payload": map[string]any{"n": i}}})
	}
	return map[string]any{"site": site, "session": session, "window": window, "seq": seq, "events": events}
}

// batchValue is batch as a *replay.Batch, for the Client.
func batchValue(t testing.TB, site, session, window string, seq int, ms int64, tags ...string) *replay.Batch {
	t.Helper()
	b, err := replay.DecodeBatch(mustJSON(t, batch(site, session, window, seq, ms, tags...)))
	require.NoError(t, err)
	return b
}

func result(t testing.TB, body []byte) replay.Result {
	t.Helper()
	var res replay.Result
	require.NoError(t, json.Unmarshal(body, &res), "body %q", body)
	return res
}

// flakyStore fails the first n calls of Append with err, then passes to the
// memstore.
type flakyStore struct {
	storage.Store
	fail func() error
}

func (s *flakyStore) Append(ctx context.Context, key storage.Key, c storage.Chunk) error {
	if err := s.fail(); err != nil {
		return fmt.Errorf("flaky: %w", err)
	}
	return s.Store.Append(ctx, key, c)
}

func (s *flakyStore) Session(ctx context.Context, key storage.Key) (storage.Session, error) {
	if err := s.fail(); err != nil {
		return storage.Session{}, fmt.Errorf("flaky: %w", err)
	}
	return s.Store.Session(ctx, key)
}

func hasHeaderValue(h http.Header, key, want string) bool {
	for _, v := range h.Values(key) {
		for _, part := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(part), want) {
				return true
			}
		}
	}
	return false
}

// blockingStore holds every Append until release is closed, telling
// entered when one starts.
type blockingStore struct {
	storage.Store
	entered chan struct{}
	release chan struct{}
}

func (s *blockingStore) Append(ctx context.Context, key storage.Key, c storage.Chunk) error {
	s.entered <- struct{}{}
	<-s.release
	return s.Store.Append(ctx, key, c)
}
