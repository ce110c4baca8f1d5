package transport_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sessionreplay/replay/storage"
	"github.com/sessionreplay/replay/storage/memstore"
	"github.com/sessionreplay/replay/transport"
)

func TestReadAPIAuthorization(t *testing.T) {
	paths := []struct{ method, path string }{
		{http.MethodGet, "/v1/sites/demo/sessions"},
		{http.MethodGet, "/v1/sites/demo/sessions/session-auth-1"},
		{http.MethodGet, "/v1/sites/demo/sessions/session-auth-1/events"},
		{http.MethodDelete, "/v1/sites/demo/sessions/session-auth-1"},
	}
	forbidSite := transport.AuthorizerFunc(func(r *http.Request) error {
		if r.PathValue("site") == "demo" {
			return errors.New("demo is not yours")
		}
		return nil
	})
	tests := []struct {
		name   string
		opts   *transport.Options
		header map[string]string
		status int
	}{
		{"no authorizer", &transport.Options{}, map[string]string{"Authorization": "Bearer " + testToken}, 403},
		{"no token", nil, nil, 401},
		{"wrong token", nil, map[string]string{"Authorization": "Bearer not-the-token"}, 401},
		{"token as a prefix", nil, map[string]string{"Authorization": "Bearer " + testToken[:5]}, 401},
		{"other scheme", nil, map[string]string{"Authorization": "Basic " + testToken}, 401},
		{"empty token configured", &transport.Options{Authorizer: transport.BearerToken("")}, map[string]string{"Authorization": "Bearer "}, 401},
		{"authorizer refuses the site", &transport.Options{Authorizer: forbidSite}, nil, 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, tt.opts)
			resp, body := e.ingest(batch("demo", "session-auth-1", "w1", 0, 0), nil)
			require.Equal(t, http.StatusOK, resp.StatusCode, "body %s", body)
			for _, p := range paths {
				resp, body := e.do(p.method, p.path, nil, tt.header)
				assert.Equal(t, tt.status, resp.StatusCode, "%s %s", p.method, p.path)
				assert.Contains(t, errorOf(t, body), "authorization")
				if tt.status == 401 {
					assert.Contains(t, resp.Header.Get("WWW-Authenticate"), "Bearer")
				}
			}
			_, err := e.store.Session(context.Background(), storage.Key{Site: "demo", Session: "session-auth-1"})
			assert.NoError(t, err, "a refused DELETE deletes nothing")
		})
	}
	t.Run("right token, scheme in any case", func(t *testing.T) {
		e := newEnv(t, nil)
		resp, _ := e.do(http.MethodGet, "/v1/sites/demo/sessions", nil, map[string]string{"Authorization": "bearer " + testToken})
		assert.Equal(t, http.StatusOK, resp.StatusCode)
	})
}

// spyStore records the last Query the handler listed with.
type spyStore struct {
	storage.Store
	mu   sync.Mutex
	last storage.Query
}

func (s *spyStore) List(ctx context.Context, q storage.Query) (storage.Page, error) {
	s.mu.Lock()
	s.last = q
	s.mu.Unlock()
	return s.Store.List(ctx, q)
}

func TestListParsesEveryFilter(t *testing.T) {
	spy := &spyStore{Store: memstore.New()}
	e := newEnvStore(t, spy, nil)
	from := time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC)
	to := time.Date(2026, 2, 2, 15, 4, 5, 500_000_000, time.FixedZone("", 3600))
	v := url.Values{
		"from": {from.Format(time.RFC3339)}, "to": {to.Format(time.RFC3339Nano)},
		"device": {"mobile"}, "os": {"iOS"}, "browser": {"Safari"}, "url": {"/checkout*"},
		"event": {"signup"}, "error": {"true"}, "rule": {"errors"}, "minDuration": {"1m30s"},
		"user": {"u-42"}, "state": {"all"}, "limit": {"7"}, "unknown": {"ignored"},
	}
	resp, body := e.read(http.MethodGet, "/v1/sites/demo/sessions?"+v.Encode())
	require.Equal(t, http.StatusOK, resp.StatusCode, "body %s", body)
	spy.mu.Lock()
	got := spy.last
	spy.mu.Unlock()
	assert.True(t, got.From.Equal(from))
	assert.True(t, got.To.Equal(to))
	got.From, got.To = time.Time{}, time.Time{}
	assert.Equal(t, storage.Query{
		Site: "demo", Device: "mobile", OS: "iOS", Browser: "Safari", URL: "/checkout*",
		Event: "signup", Error: true, Rule: "errors", MinDuration: 90 * time.Second,
		User: "u-42", State: storage.FilterAll, Limit: 7,
	}, got)
	assert.JSONEq(t, `{"sessions": [], "next": ""}`, string(body))
}

func TestListRefusesBadParameterNamingIt(t *testing.T) {
	e := newEnv(t, nil)
	tests := []struct{ query, want string }{
		{"from=yesterday", "from: want an RFC 3339 time"},
		{"to=2026-01-02", "to: want an RFC 3339 time"},
		{"error=maybe", "error: want true or false"},
		{"minDuration=30", "minDuration: want a Go duration like 30s"},
		{"minDuration=-1s", "minDuration: want a Go duration like 30s"},
		{"state=dropped", "state: want kept, pending or all"},
		{"state=any", "state: want kept, pending or all"},
		{"limit=0", "limit: want a positive integer"},
		{"limit=ten", "limit: want a positive integer"},
		{"cursor=garbage", "cursor"},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			resp, body := e.read(http.MethodGet, "/v1/sites/demo/sessions?"+tt.query)
			assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
			assert.Contains(t, errorOf(t, body), tt.want)
		})
	}
	for _, tt := range []struct{ path, field string }{
		{"/v1/sites/a.b/sessions", "site"},
		{"/v1/sites/demo/sessions/short", "id"},
		{"/v1/sites/demo/sessions/short/events", "id"},
		{"/v1/sites/demo/sessions/session-ok-123/events?window=a.b", "window"},
	} {
		t.Run(tt.path, func(t *testing.T) {
			resp, body := e.read(http.MethodGet, tt.path)
			assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
			assert.Contains(t, errorOf(t, body), tt.field)
		})
	}
}

func TestListFiltersAndPagesWithCursor(t *testing.T) {
	e := newEnv(t, nil)
	const n = 7
	for i := range n {
		var tags []string
		if i%2 == 0 {
			tags = []string{"signup"}
		}
		// Session i starts i minutes after the first: newest is n-1.
		resp, body := e.ingest(batch("demo", "session-page-"+strconv.Itoa(i), "w1", 0, int64(i)*60_000, tags...), nil)
		require.Equal(t, http.StatusOK, resp.StatusCode, "body %s", body)
	}
	list := func(query string) storage.Page {
		resp, body := e.read(http.MethodGet, "/v1/sites/demo/sessions?"+query)
		require.Equal(t, http.StatusOK, resp.StatusCode, "body %s", body)
		var p storage.Page
		require.NoError(t, json.Unmarshal(body, &p))
		return p
	}

	var ids []string
	cursor := ""
	for pages := 0; ; pages++ {
		require.Less(t, pages, n, "the cursor must end the listing")
		p := list("limit=3&cursor=" + url.QueryEscape(cursor))
		assert.LessOrEqual(t, len(p.Sessions), 3)
		for _, s := range p.Sessions {
			ids = append(ids, s.ID)
		}
		if p.Next == "" {
			break
		}
		cursor = p.Next
	}
	want := make([]string, n)
	for i := range n {
		want[i] = "session-page-" + strconv.Itoa(n-1-i)
	}
	assert.Equal(t, want, ids, "every session once, newest first")

	signup := list("event=signup")
	var got []string
	for _, s := range signup.Sessions {
		got = append(got, s.ID)
	}
	assert.Equal(t, []string{"session-page-6", "session-page-4", "session-page-2", "session-page-0"}, got)

	from := time.UnixMilli(1_780_000_000_000 + 5*60_000).UTC().Format(time.RFC3339)
	assert.Len(t, list("from="+from).Sessions, 2)
	assert.Empty(t, list("user=nobody").Sessions)
}

func TestSessionEventsAndDelete(t *testing.T) {
	e := newEnv(t, nil)
	const id = "session-read-1"
	for i, w := range []string{"w1", "w1", "w2"} {
		seq := 0
		if i == 1 {
			seq = 1
		}
		resp, body := e.ingest(batch("demo", id, w, seq, int64(i)*10_000, "step"+strconv.Itoa(i)), nil)
		require.Equal(t, http.StatusOK, resp.StatusCode, "body %s", body)
	}

	resp, body := e.read(http.MethodGet, "/v1/sites/demo/sessions/"+id)
	require.Equal(t, http.StatusOK, resp.StatusCode, "body %s", body)
	assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	var s storage.Session
	require.NoError(t, json.Unmarshal(body, &s))
	assert.Equal(t, id, s.ID)
	assert.Equal(t, "demo", s.Site)

	resp, body = e.read(http.MethodGet, "/v1/sites/demo/sessions/"+id+"/events")
	require.Equal(t, http.StatusOK, resp.StatusCode, "body %s", body)
	assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	var all []struct {
		Type      int     `json:"type"`
		Timestamp float64 `json:"timestamp"`
	}
	require.NoError(t, json.Unmarshal(body, &all))
	assert.Len(t, all, 4+2+4)
	for i := 1; i < len(all); i++ {
		assert.LessOrEqual(t, all[i-1].Timestamp, all[i].Timestamp, "timestamp order")
	}

	resp, body = e.read(http.MethodGet, "/v1/sites/demo/sessions/"+id+"/events?window=w2")
	require.Equal(t, http.StatusOK, resp.StatusCode, "body %s", body)
	var w2 []json.RawMessage
	require.NoError(t, json.Unmarshal(body, &w2))
	assert.Len(t, w2, 4)

	for _, p := range []string{"/v1/sites/demo/sessions/session-unknown", "/v1/sites/demo/sessions/session-unknown/events",
		"/v1/sites/other/sessions/" + id} {
		resp, body := e.read(http.MethodGet, p)
		assert.Equal(t, http.StatusNotFound, resp.StatusCode, p)
		assert.Contains(t, errorOf(t, body), "not found")
	}

	resp, body = e.read(http.MethodDelete, "/v1/sites/demo/sessions/"+id)
	require.Equal(t, http.StatusNoContent, resp.StatusCode, "body %s", body)
	assert.Empty(t, body)
	for _, p := range []string{"/v1/sites/demo/sessions/" + id, "/v1/sites/demo/sessions/" + id + "/events"} {
		resp, _ := e.read(http.MethodGet, p)
		assert.Equal(t, http.StatusNotFound, resp.StatusCode, p)
	}
	resp, _ = e.read(http.MethodDelete, "/v1/sites/demo/sessions/"+id)
	assert.Equal(t, http.StatusNotFound, resp.StatusCode, "deleting twice")

	resp, body = e.ingest(batch("demo", id, "w3", 0, 50_000), nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, "body %s", body)
	assert.Equal(t, `{"accepted":3,"record":false}`, string(bytesTrim(body)))
	resp, _ = e.read(http.MethodGet, "/v1/sites/demo/sessions/"+id)
	assert.Equal(t, http.StatusNotFound, resp.StatusCode, "later batches are not stored")

	// Refused before the events are decoded: events that would not validate
	// are counted, not checked.
	resp, body = e.ingest(map[string]any{"site": "demo", "session": id, "window": "w4", "seq": 0,
		"events": []any{map[string]any{"type": "not a number"}, 42}}, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, "body %s", body)
	assert.Equal(t, `{"accepted":2,"record":false}`, string(bytesTrim(body)))
}

func bytesTrim(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == ' ') {
		b = b[:len(b)-1]
	}
	return b
}

func TestEventsCompressedWhenAccepted(t *testing.T) {
	e := newEnv(t, nil)
	resp, body := e.ingest(batch("demo", "session-gzip-1", "w1", 0, 0, "a"), nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, "body %s", body)
	get := func(acceptEncoding string) (*http.Response, []byte) {
		return e.do(http.MethodGet, "/v1/sites/demo/sessions/session-gzip-1/events", nil,
			map[string]string{"Authorization": "Bearer " + testToken, "Accept-Encoding": acceptEncoding})
	}
	resp, plain := get("identity")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Empty(t, resp.Header.Get("Content-Encoding"))
	assert.True(t, json.Valid(plain))

	for _, ae := range []string{"gzip", "br;q=1.0, gzip;q=0.8", "GZIP"} {
		resp, zipped := get(ae)
		require.Equal(t, http.StatusOK, resp.StatusCode, ae)
		assert.Equal(t, "gzip", resp.Header.Get("Content-Encoding"), ae)
		assert.True(t, hasHeaderValue(resp.Header, "Vary", "Accept-Encoding"))
		zr, err := gzip.NewReader(bytes.NewReader(zipped))
		require.NoError(t, err, ae)
		got, err := io.ReadAll(zr)
		require.NoError(t, err, ae)
		assert.Equal(t, string(plain), string(got), ae)
	}
	resp, _ = get("gzip;q=0")
	assert.Empty(t, resp.Header.Get("Content-Encoding"))

	resp, body = e.do(http.MethodGet, "/v1/sites/demo/sessions/session-unknown-1/events", nil,
		map[string]string{"Authorization": "Bearer " + testToken, "Accept-Encoding": "gzip"})
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	assert.Empty(t, resp.Header.Get("Content-Encoding"))
	assert.Contains(t, errorOf(t, body), "not found", "an error before the first event is plain JSON")
}

func TestListCapsLimitAt500(t *testing.T) {
	for _, tt := range []struct{ limit, want string }{{"500", "500"}, {"501", "500"}, {"100000", "500"}, {"1", "1"}} {
		q, err := transport.ParseQuery(url.Values{"limit": {tt.limit}})
		require.NoError(t, err, tt.limit)
		assert.Equal(t, tt.want, strconv.Itoa(q.Limit), tt.limit)
	}
}
