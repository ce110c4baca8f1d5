package replay_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sessionreplay/replay"
	"github.com/sessionreplay/replay/storage/memstore"
	"github.com/sessionreplay/replay/transport"
)

// targetingServer is a handler over a Recorder with a fake server clock.
type targetingServer struct {
	t   *testing.T
	srv *httptest.Server
	rec *replay.Recorder

	mu  sync.Mutex
	now time.Time
}

func (s *targetingServer) clock() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.now
}

func (s *targetingServer) advance(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = s.now.Add(d)
}

const httpT0 = 1_718_000_000_000

const (
	httpUADesktop = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
	httpUAIPhone  = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
)

func newTargetingServer(t *testing.T) *targetingServer {
	sitesJSON := `{"sites":[{"id":"shop","targeting":{"rules":[
		{"name":"errors","when":{"error":true}},
		{"name":"abandoned checkout","when":{"all":[{"visited":"/checkout*"},{"not":{"visited":"/thank-you*"}}]}},
		{"name":"signups","when":{"event":"signup"}}
	],"idleTimeout":"1m"}}]}`
	sites, err := replay.LoadSites(strings.NewReader(sitesJSON))
	require.NoError(t, err)
	s := &targetingServer{t: t, now: time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)}
	s.rec, err = replay.New(memstore.New(), sites, &replay.Options{Now: s.clock})
	require.NoError(t, err)
	s.srv = httptest.NewServer(transport.NewHandler(s.rec, &transport.Options{Authorizer: transport.BearerToken("t")}))
	t.Cleanup(s.srv.Close)
	return s
}

// ingest posts a batch as a browser would and returns the answer's record.
func (s *targetingServer) ingest(ua, session, window string, seq int, attrs map[string]string, events ...string) bool {
	s.t.Helper()
	body, err := json.Marshal(map[string]any{"site": "shop", "session": session, "window": window, "seq": seq,
		"events": json.RawMessage("[" + strings.Join(events, ",") + "]"), "attrs": attrs})
	require.NoError(s.t, err)
	req, err := http.NewRequest(http.MethodPost, s.srv.URL+"/v1/ingest", strings.NewReader(string(body)))
	require.NoError(s.t, err)
	req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	req.Header.Set("User-Agent", ua)
	res, err := http.DefaultClient.Do(req)
	require.NoError(s.t, err)
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	require.Equal(s.t, http.StatusOK, res.StatusCode, "%s", out)
	var ans struct {
		Accepted int  `json:"accepted"`
		Record   bool `json:"record"`
	}
	require.NoError(s.t, json.Unmarshal(out, &ans))
	require.Equal(s.t, len(events), ans.Accepted)
	return ans.Record
}

// get does an authorized GET and returns the status and body.
func (s *targetingServer) get(path string) (int, []byte) {
	s.t.Helper()
	req, err := http.NewRequest(http.MethodGet, s.srv.URL+path, nil)
	require.NoError(s.t, err)
	req.Header.Set("Authorization", "Bearer t")
	res, err := http.DefaultClient.Do(req)
	require.NoError(s.t, err)
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	require.NoError(s.t, err)
	return res.StatusCode, body
}

// list returns the ids of the sessions a listing with these filters
// returns, sorted.
func (s *targetingServer) list(filters string) []string {
	s.t.Helper()
	status, body := s.get("/v1/sites/shop/sessions?" + filters)
	require.Equal(s.t, http.StatusOK, status, "%s: %s", filters, body)
	var page struct {
		Sessions []struct {
			ID    string `json:"id"`
			State string `json:"state"`
		} `json:"sessions"`
	}
	require.NoError(s.t, json.Unmarshal(body, &page))
	ids := []string{}
	for _, ss := range page.Sessions {
		ids = append(ids, ss.ID)
	}
	slices.Sort(ids)
	return ids
}

func hmeta(ms int, href string) string {
	return fmt.Sprintf(`{"type":4,"data":{"href":%q,"width":1280,"height":720},"timestamp":%d}`, href, httpT0+ms)
}

func hfull(ms int) string {
	return fmt.Sprintf(`{"type":2,"data":{"node":{"type":0,"childNodes":[{"type":2,"tagName":"html","attributes":{},`+
		`"childNodes":[{"type":2,"tagName":"body","attributes":{},"childNodes":[],"id":3}],"id":2}],"id":1},`+
		`"initialOffset":{"left":0,"top":0}},"timestamp":%d}`, httpT0+ms)
}

func hcustom(ms int, tag, payload string) string {
	return fmt.Sprintf(`{"type":5,"data":{"tag":%q,"payload":%s},"timestamp":%d}`, tag, payload, httpT0+ms)
}

func hmove(ms int) string {
	return fmt.Sprintf(`{"type":3,"data":{"source":1,"positions":[{"x":1,"y":2,"id":3,"timeOffset":0}]},"timestamp":%d}`, httpT0+ms)
}

func TestTargetingThroughHTTP(t *testing.T) {
	s := newTargetingServer(t)
	page := func(path string) string { return "https://shop.example" + path }

	// s-error hits an error: kept at once.
	assert.True(t, s.ingest(httpUADesktop, "s-error-01", "w1", 0, nil, hmeta(0, page("/")), hfull(1)))
	assert.True(t, s.ingest(httpUADesktop, "s-error-01", "w1", 1, nil,
		hcustom(500, "$error", `{"message":"TypeError: boom","stack":"","source":"app.js"}`)))
	// s-signup signs up on an iPhone, 40 s long.
	assert.True(t, s.ingest(httpUAIPhone, "s-signup-1", "w1", 0, map[string]string{"userId": "u-7"},
		hmeta(0, page("/")), hfull(1), hmove(20_000), hcustom(40_000, "signup", `{}`)))
	// s-abandon goes to checkout and leaves.
	assert.True(t, s.ingest(httpUADesktop, "s-abandon1", "w1", 0, nil, hmeta(0, page("/product/1")), hfull(1)))
	assert.True(t, s.ingest(httpUADesktop, "s-abandon1", "w2", 0, nil, hmeta(9000, page("/checkout?step=1")), hfull(9001)))
	// s-convert goes to checkout and reaches thank-you.
	assert.True(t, s.ingest(httpUADesktop, "s-convert1", "w1", 0, nil, hmeta(0, page("/checkout")), hfull(1)))
	assert.True(t, s.ingest(httpUADesktop, "s-convert1", "w2", 0, nil, hmeta(5000, page("/thank-you")), hfull(5001)))
	// s-browse only browses.
	assert.True(t, s.ingest(httpUAIPhone, "s-browse-1", "w1", 0, nil, hmeta(0, page("/")), hfull(1), hmove(3000)))

	// While they are live.
	assert.Equal(t, []string{"s-error-01", "s-signup-1"}, s.list(""), "kept is the default state")
	assert.Equal(t, []string{"s-abandon1", "s-browse-1", "s-convert1"}, s.list("state=pending"))
	assert.Equal(t, []string{"s-abandon1", "s-browse-1", "s-convert1", "s-error-01", "s-signup-1"}, s.list("state=all"))
	assert.Equal(t, []string{"s-abandon1", "s-convert1"}, s.list("state=all&url="+url.QueryEscape("/checkout*")))

	// 30 s later nothing is idle; 70 s later everything is.
	s.advance(30 * time.Second)
	st, err := s.rec.Sweep(context.Background(), s.clock())
	require.NoError(t, err)
	assert.Equal(t, replay.SweepStats{}, st)
	s.advance(40 * time.Second)
	st, err = s.rec.Sweep(context.Background(), s.clock())
	require.NoError(t, err)
	assert.Equal(t, replay.SweepStats{Ended: 5, Kept: 1, Dropped: 2}, st)

	// pending → kept, pending → deleted.
	assert.Empty(t, s.list("state=pending"))
	assert.Equal(t, []string{"s-abandon1", "s-error-01", "s-signup-1"}, s.list(""))
	for _, gone := range []string{"s-convert1", "s-browse-1"} {
		status, _ := s.get("/v1/sites/shop/sessions/" + gone)
		assert.Equal(t, http.StatusNotFound, status, gone)
		status, _ = s.get("/v1/sites/shop/sessions/" + gone + "/events")
		assert.Equal(t, http.StatusNotFound, status, gone)
		assert.False(t, s.ingest(httpUAIPhone, gone, "w9", 0, nil, hmove(90_000)), "later batches of %s are refused", gone)
	}
	status, body := s.get("/v1/sites/shop/sessions/s-abandon1")
	require.Equal(t, http.StatusOK, status)
	var sess struct {
		State        string   `json:"state"`
		MatchedRules []string `json:"matchedRules"`
		Pages        []string `json:"pages"`
		EntryURL     string   `json:"entryUrl"`
		Windows      int      `json:"windows"`
	}
	require.NoError(t, json.Unmarshal(body, &sess))
	assert.Equal(t, "kept", sess.State)
	assert.Equal(t, []string{"abandoned checkout"}, sess.MatchedRules)
	assert.Equal(t, []string{page("/product/1"), page("/checkout?step=1")}, sess.Pages)
	assert.Equal(t, page("/product/1"), sess.EntryURL)
	assert.Equal(t, 2, sess.Windows)

	// The filters of the read API on these facts.
	filters := []struct {
		query string
		want  []string
	}{
		{"rule=errors", []string{"s-error-01"}},
		{"rule=" + url.QueryEscape("abandoned checkout"), []string{"s-abandon1"}},
		{"rule=signups", []string{"s-signup-1"}},
		{"error=true", []string{"s-error-01"}},
		{"url=" + url.QueryEscape("/checkout*"), []string{"s-abandon1"}},
		{"url=" + url.QueryEscape("https://shop.example/product/*"), []string{"s-abandon1"}},
		{"url=" + url.QueryEscape("/check"), []string{}},
		{"event=signup", []string{"s-signup-1"}},
		{"event=sign", []string{}},
		{"user=u-7", []string{"s-signup-1"}},
		{"minDuration=30s", []string{"s-signup-1"}},
		{"minDuration=1m", []string{}},
		{"device=mobile", []string{"s-signup-1"}},
		{"device=Desktop", []string{"s-abandon1", "s-error-01"}},
		{"os=ios", []string{"s-signup-1"}},
		{"browser=chrome", []string{"s-abandon1", "s-error-01"}},
		{"browser=chrom", []string{}},
		{"error=true&device=mobile", []string{}},
		{"state=all&rule=errors", []string{"s-error-01"}},
	}
	for _, f := range filters {
		assert.Equal(t, f.want, s.list(f.query), f.query)
	}

	// /v1/config of a session that was dropped, and of a new one.
	status, body = s.get("/v1/config?site=shop&session=s-convert1")
	require.Equal(t, http.StatusOK, status, "%s", body)
	assert.Contains(t, string(body), `"record":false`)
	status, body = s.get("/v1/config?site=shop&session=s-new-0001")
	require.Equal(t, http.StatusOK, status, "%s", body)
	assert.Contains(t, string(body), `"record":true`)

	assert.Equal(t, replay.SiteStats{Kept: 3, Dropped: 2}, s.rec.Stats()["shop"])
}

func TestConfigThroughHTTPExcludesByStartFacts(t *testing.T) {
	sites, err := replay.LoadSites(strings.NewReader(`{"sites":[{"id":"shop","targeting":{"rules":[
		{"name":"mobile","when":{"device":"mobile"}}]}},{"id":"off","enabled":false}]}`))
	require.NoError(t, err)
	rec, err := replay.New(memstore.New(), sites, nil)
	require.NoError(t, err)
	srv := httptest.NewServer(transport.NewHandler(rec, nil))
	defer srv.Close()
	record := func(site, ua string) bool {
		req, err := http.NewRequest(http.MethodGet, srv.URL+"/v1/config?site="+site+"&session=cfg-session-1", nil)
		require.NoError(t, err)
		req.Header.Set("User-Agent", ua)
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer res.Body.Close()
		require.Equal(t, http.StatusOK, res.StatusCode)
		var cfg struct {
			Record *bool `json:"record"`
		}
		require.NoError(t, json.NewDecoder(res.Body).Decode(&cfg))
		require.NotNil(t, cfg.Record)
		return *cfg.Record
	}
	assert.True(t, record("shop", httpUAIPhone))
	assert.False(t, record("shop", httpUADesktop))
	assert.False(t, record("off", httpUAIPhone), "a disabled site records nothing")
}
