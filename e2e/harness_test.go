// Package e2e_test holds the browser tests: the demo shop, recorder.js, the
// handler and the dashboard, driven in headless Chromium with chromedp.
//
// # Helpers for every browser test
//
//	d := startDemo(t, nil)    // the demo site on 127.0.0.1:<random>, memstore, token testToken
//	tab := newTab(t)          // a fresh tab, in its own browser context, in a shared Chromium
//	do(t, tab, chromedp.Navigate(d.URL+"/"), chromedp.Click(chromedp.CSS("button.add")))
//	n := run(t, tab, chromedp.Evaluate[int](`1+2`))
//	id := waitRecording(t, tab) // recorder.js runs rrweb; returns the session id
//	s := d.waitSession(t, id, "two windows", func(s apiSession) error { ... })
//	evs := d.events(t, id)   // GET .../events through the read API
//	eventually(t, 10*time.Second, "what we wait for", func() error { ... })
//
// Without Chromium the tests skip with a loud message, except when the CI
// environment variable is set: then they fail, because CI must run them.
// Chromium is found at $CHROMIUM, /usr/bin/chromium, or as chromium,
// chromium-browser or google-chrome on PATH. Every browser action runs under
// the tab's deadline (tabTimeout), so a stuck browser fails the test instead
// of hanging it.
package e2e_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/sessionreplay/replay"
	"github.com/sessionreplay/replay/internal/demo"
	"github.com/sessionreplay/replay/storage"
	"github.com/sessionreplay/replay/storage/memstore"
)

// Bounds of every browser test.
const (
	// tabTimeout bounds everything a test does in one tab.
	tabTimeout = 2 * time.Minute
	// waitTimeout bounds each wait for the server to have something (a
	// session, its events); generous, because CI machines can be slow.
	waitTimeout = 45 * time.Second
	// browserStartTimeout bounds the start of Chromium.
	browserStartTimeout = 30 * time.Second
	// testToken is the read token of the demo servers startDemo starts.
	testToken = "e2e-test-token"
	// desktopUA is the User-Agent of the test browser: Chrome on Linux.
	desktopUA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36"
)

func TestMain(m *testing.M) {
	code := m.Run()
	browser.close()
	os.Exit(code)
}

// browser is the one Chromium the tests of this package share; each test
// gets its own tab in its own browser context (separate storage).
var browser sharedBrowser

type sharedBrowser struct {
	once   sync.Once
	ctx    context.Context // a chromedp context whose browser runs
	cancel func()
	err    error
	skip   string // why there is no browser, when none was found
}

func (b *sharedBrowser) close() {
	if b.cancel != nil {
		b.cancel()
	}
}

// findChromium returns the path of a Chromium or Chrome binary, or "".
func findChromium() string {
	if p := os.Getenv("CHROMIUM"); p != "" {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	for _, name := range []string{"/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	return ""
}

// startBrowser starts the shared headless Chromium once.
func startBrowser() {
	path := findChromium()
	if path == "" {
		browser.skip = "no Chromium found (set $CHROMIUM, or apt-get install chromium): BROWSER TESTS NOT RUN"
		return
	}
	dir, err := os.MkdirTemp("", "replay-e2e-chromium-")
	if err != nil {
		browser.err = err
		return
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(dir),
		chromedp.WindowSize(1280, 800),
		// Headless Chromium calls itself "HeadlessChrome", which a
		// User-Agent parser rightly files as a bot; the tests browse as the
		// desktop Chrome it is.
		chromedp.UserAgent(desktopUA),
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(alloc)
	browser.cancel = func() {
		cancelCtx()
		cancelAlloc()
		os.RemoveAll(dir)
	}
	// The first Run binds the browser's life to its context, so it cannot
	// carry a timeout; a watchdog bounds it instead.
	done := make(chan error, 1)
	go func() { done <- chromedp.Do(ctx) }()
	select {
	case err = <-done:
	case <-time.After(browserStartTimeout):
		err = fmt.Errorf("chromium %s did not start within %s", path, browserStartTimeout)
	}
	if err != nil {
		browser.cancel()
		browser.cancel = nil
		browser.err = fmt.Errorf("starting %s: %w", path, err)
		return
	}
	browser.ctx = ctx
}

// requireBrowser returns the shared browser's context, skipping the test
// when there is no Chromium (failing it when $CI is set).
func requireBrowser(t *testing.T) context.Context {
	t.Helper()
	browser.once.Do(startBrowser)
	switch {
	case browser.skip != "" && os.Getenv("CI") != "":
		t.Fatalf("CI is set but %s", browser.skip)
	case browser.skip != "":
		t.Log("##########################################################")
		t.Log("## " + browser.skip)
		t.Log("##########################################################")
		t.Skip(browser.skip)
	case browser.err != nil:
		t.Fatal(browser.err)
	}
	return browser.ctx
}

// newTab opens a tab in a new browser context (its own cookies and
// storage) and returns its chromedp context, which ends after tabTimeout.
// The tab is closed when the test ends. A child of the returned context
// (chromedp.NewContext(tab)) is another tab in the same browser context.
func newTab(t *testing.T) context.Context {
	t.Helper()
	b := requireBrowser(t)
	tab, cancelTab := chromedp.NewContext(b, chromedp.WithNewBrowserContext())
	ctx, cancel := context.WithTimeout(tab, tabTimeout)
	t.Cleanup(func() {
		cancel()
		cancelTab()
	})
	if err := chromedp.Do(ctx); err != nil { // opens the tab
		t.Fatalf("opening a tab: %v", err)
	}
	return ctx
}

// do runs actions in the tab, failing the test on the first error.
func do(t *testing.T, tab context.Context, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(tab, actions...); err != nil {
		t.Fatalf("browser: %v", err)
	}
}

// run runs one action in the tab and returns its value, failing the test
// on error.
func run[T any](t *testing.T, tab context.Context, action chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(tab, action)
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	return v
}

// waitRecording waits until recorder.js on the tab's page records with
// rrweb and returns the session id it sends under.
func waitRecording(t *testing.T, tab context.Context) string {
	t.Helper()
	return run(t, tab, chromedp.Poll[string](`window.replay && window.replay.recording && window.replay.session`,
		chromedp.WithPollingInterval(20*time.Millisecond), chromedp.WithPollingTimeout(waitTimeout)))
}

// replayToEnd opens a tab on the demo d, replays the events (a JSON array)
// in it with rrweb's Replayer, paused past the last event, and returns the
// tab: the page as replayed is in window.__r.iframe.
func replayToEnd(t *testing.T, d *demoServer, events string) context.Context {
	t.Helper()
	player := newTab(t)
	do(t, player, chromedp.Navigate(d.URL+"/static/shop.css"))
	run(t, player, chromedp.Evaluate[chromedp.Void](`new Promise((ok, fail) => {
		const s = document.createElement('script');
		s.src = '/vendor/rrweb.umd.min.cjs';
		s.onload = ok; s.onerror = fail;
		document.head.appendChild(s);
	})`, chromedp.EvalAwaitPromise))
	run(t, player, chromedp.Evaluate[chromedp.Void](`window.__events = `+events+`;
		window.__r = new rrweb.Replayer(window.__events, {root: document.body, showWarning: false});
		window.__r.pause(window.__events[window.__events.length - 1].timestamp - window.__events[0].timestamp + 1000);`))
	return player
}

// eventually calls cond until it returns nil, every 50ms, and fails the
// test with cond's last error when timeout passes first.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waited %s for %s: %v", timeout, what, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// demoServer is a running demo site (package internal/demo) for one test.
type demoServer struct {
	URL      string // http://127.0.0.1:PORT, no trailing slash
	Token    string // the read token
	Recorder *replay.Recorder
	Store    storage.Store
	Sites    replay.StaticSites

	ingests atomic.Int64 // POST /replay/v1/ingest requests received
}

// demoOptions change what startDemo starts; nil means the defaults.
type demoOptions struct {
	// SitesJSON is the site configuration (API.md's JSON). "" means the
	// demo's own examples/demo/sites.json. The server's origin is added to
	// every site's origins.
	SitesJSON string
	// Store is where sessions go; nil means a new memstore.
	Store storage.Store
	// Sweep is how often the Recorder's Sweep runs; 0 means 200ms.
	Sweep time.Duration
	// Recorder are the Recorder's options (nil: defaults).
	Recorder *replay.Options
	// Ingest, when set, sees every POST /replay/v1/ingest first, with its
	// body decoded (gzip undone); it returns true when it answered the
	// request itself, false to pass it on to the handler.
	Ingest func(w http.ResponseWriter, r *http.Request, b ingestBody) bool
}

// ingestBody is the envelope of an ingest request, as an Ingest hook sees it.
type ingestBody struct {
	Session string            `json:"session"`
	Window  string            `json:"window"`
	Seq     int               `json:"seq"`
	Events  []json.RawMessage `json:"events"`
}

// decodeIngest reads an ingest request's body, undoing ?enc=gzip, and puts
// it back for the handler.
func decodeIngest(r *http.Request) (ingestBody, error) {
	var b ingestBody
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		return b, err
	}
	r.Body = io.NopCloser(bytes.NewReader(raw))
	data := raw
	if r.URL.Query().Get("enc") == "gzip" {
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err != nil {
			return b, err
		}
		if data, err = io.ReadAll(zr); err != nil {
			return b, err
		}
	}
	return b, json.Unmarshal(data, &b)
}

// startDemo starts the demo site (shop, /vendor/, handler at /replay/) on
// 127.0.0.1 with the read token testToken, sweeping in the background. It
// is stopped when the test ends.
func startDemo(t *testing.T, o *demoOptions) *demoServer {
	t.Helper()
	if o == nil {
		o = &demoOptions{}
	}
	var src io.Reader
	if o.SitesJSON != "" {
		src = strings.NewReader(o.SitesJSON)
	} else {
		f, err := os.Open(filepath.Join("..", "examples", "demo", "sites.json"))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		src = f
	}
	sites, err := replay.LoadSites(src)
	if err != nil {
		t.Fatalf("sites: %v", err)
	}
	store := o.Store
	if store == nil {
		store = memstore.New()
	}
	rec, err := replay.New(store, sites, o.Recorder)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := demo.NewServer(rec, &demo.Options{Token: testToken})
	if err != nil {
		t.Fatal(err)
	}
	d := &demoServer{Token: testToken, Recorder: rec, Store: store, Sites: sites}
	hs := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Path == "/replay/v1/ingest" {
			d.ingests.Add(1)
			if o.Ingest != nil {
				b, err := decodeIngest(r)
				if err != nil {
					t.Errorf("ingest hook: %v", err)
				}
				if o.Ingest(w, r, b) {
					return
				}
			}
		}
		srv.ServeHTTP(w, r)
	}))
	// The origin is known once the listener exists; the sites must allow it
	// before the server starts serving.
	for _, s := range sites {
		demo.AllowOrigins(s, hs.Listener.Addr().String())
	}
	hs.Start()
	d.URL = hs.URL

	ctx, cancel := context.WithCancel(context.Background())
	sweep := o.Sweep
	if sweep == 0 {
		sweep = 200 * time.Millisecond
	}
	var wg sync.WaitGroup
	wg.Go(func() { srv.Sweep(ctx, sweep) })
	t.Cleanup(func() {
		cancel()
		wg.Wait()
		hs.CloseClientConnections()
		hs.Close()
	})
	return d
}

// Ingests returns how many ingest requests the server received so far.
func (d *demoServer) Ingests() int64 { return d.ingests.Load() }

// apiSession is the Session JSON of API.md, decoded from the read API.
type apiSession struct {
	ID           string             `json:"id"`
	Site         string             `json:"site"`
	State        string             `json:"state"`
	Start        time.Time          `json:"start"`
	End          time.Time          `json:"end"`
	DurationMs   int64              `json:"durationMs"`
	MatchedRules []string           `json:"matchedRules"`
	Pages        []string           `json:"pages"`
	EntryURL     string             `json:"entryUrl"`
	Device       string             `json:"device"`
	OS           string             `json:"os"`
	Browser      string             `json:"browser"`
	Viewport     struct{ W, H int } `json:"viewport"`
	Errors       int                `json:"errors"`
	Events       map[string]int     `json:"events"`
	Clicks       int                `json:"clicks"`
	RageClicks   int                `json:"rageClicks"`
	Windows      int                `json:"windows"`
	EventCount   int                `json:"eventCount"`
	Bytes        int64              `json:"bytes"`
	StoredBytes  int64              `json:"storedBytes"`
	Attrs        map[string]string  `json:"attrs"`
}

// apiEvent is one stored rrweb event as the read API returns it.
type apiEvent struct {
	Type      int             `json:"type"`
	Timestamp float64         `json:"timestamp"`
	Data      json.RawMessage `json:"data"`
}

// do sends a read API request (path relative to the handler, such as
// "/v1/sites/demo/sessions") with the bearer token and returns the status
// and body.
func (d *demoServer) do(t *testing.T, method, path string) (int, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, d.URL+"/replay"+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+d.Token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return res.StatusCode, body
}

// session returns the Session JSON of a session of site "demo", or an
// error (such as "404") while it is not there.
func (d *demoServer) session(t *testing.T, id string) (apiSession, error) {
	t.Helper()
	var s apiSession
	code, body := d.do(t, http.MethodGet, "/v1/sites/demo/sessions/"+id)
	if code != http.StatusOK {
		return s, fmt.Errorf("GET session %s: %d %s", id, code, bytes.TrimSpace(body))
	}
	if err := json.Unmarshal(body, &s); err != nil {
		t.Fatalf("session JSON: %v: %s", err, body)
	}
	return s, nil
}

// waitSession polls the read API until session id of site "demo" exists
// and check accepts it, and returns it; it fails the test after waitTimeout.
func (d *demoServer) waitSession(t *testing.T, id, what string, check func(apiSession) error) apiSession {
	t.Helper()
	var s apiSession
	eventually(t, waitTimeout, what, func() error {
		var err error
		s, err = d.session(t, id)
		if err != nil {
			return err
		}
		if check == nil {
			return nil
		}
		return check(s)
	})
	return s
}

// eventsJSON returns the stored events of a session as the read API
// streams them (a JSON array), all windows or one.
func (d *demoServer) eventsJSON(t *testing.T, id, window string) []byte {
	t.Helper()
	path := "/v1/sites/demo/sessions/" + id + "/events"
	if window != "" {
		path += "?window=" + window
	}
	code, body := d.do(t, http.MethodGet, path)
	if code != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, code, body)
	}
	return body
}

// events returns the stored events of a session, decoded.
func (d *demoServer) events(t *testing.T, id string) []apiEvent {
	t.Helper()
	var evs []apiEvent
	if err := json.Unmarshal(d.eventsJSON(t, id, ""), &evs); err != nil {
		t.Fatalf("events JSON: %v", err)
	}
	return evs
}

// customEvents returns the payloads of the custom events (type 5) with tag
// in evs, in order.
func customEvents(evs []apiEvent, tag string) []json.RawMessage {
	var out []json.RawMessage
	for _, e := range evs {
		if e.Type != 5 {
			continue
		}
		var c struct {
			Tag     string          `json:"tag"`
			Payload json.RawMessage `json:"payload"`
		}
		if json.Unmarshal(e.Data, &c) == nil && c.Tag == tag {
			out = append(out, c.Payload)
		}
	}
	return out
}

// nodeModules returns web/node_modules, where the tests read rrweb from.
func nodeModules(t *testing.T) string {
	t.Helper()
	dir, err := demo.FindNodeModules()
	if err != nil {
		t.Fatal(err)
	}
	return dir
}
