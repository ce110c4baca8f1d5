package e2e_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// keepAllSites is the demo's privacy policy with no targeting rules, so
// every session is kept: the tests of recorder.js do not depend on the
// demo's rules.
const keepAllSites = `{"sites": [{
  "id": "demo",
  "origins": [],
  "privacy": {
    "maskAllInputs": true,
    "maskInputTypes": ["password", "email", "tel"],
    "unmaskSelector": ".replay-unmask",
    "maskTextSelector": ".rr-mask, [data-private]",
    "blockSelector": ".rr-block, iframe, frame, object, embed",
    "scrub": ["card", "email"]
  }
}]}`

// TestReplayRebuildsRecordedPage is the end-to-end test of issue 2: a demo
// page recording with real rrweb sends through the handler (here by the
// recorder's timer), and the read API's events, loaded into rrweb's
// Replayer in the same browser, rebuild the page: its heading at the start,
// and the heading an SPA navigation put there at the end.
func TestReplayRebuildsRecordedPage(t *testing.T) {
	tab := newTab(t)
	d := startDemo(t, nil)

	do(t, tab, chromedp.Navigate(d.URL+"/"))
	id := waitRecording(t, tab)
	do(t, tab, chromedp.Click(chromedp.CSS("#card-mug .card-link")),
		chromedp.WaitVisible(chromedp.CSS("#add-product")))
	require.Equal(t, "Gopher Mug", run(t, tab, chromedp.Text(chromedp.CSS("h1"))))

	// No flush is forced: the batch goes out on flushIntervalMs.
	d.waitSession(t, id, "a batch with the $pageview of the SPA navigation", func(s apiSession) error {
		if !slices.Contains(s.Pages, d.URL+"/product/mug") {
			return fmt.Errorf("pages %v, want the product page", s.Pages)
		}
		return nil
	})
	events := d.eventsJSON(t, id, "")

	// Replay in a blank page of the same browser.
	rrweb, err := os.ReadFile(filepath.Join(nodeModules(t), "rrweb", "dist", "rrweb.umd.cjs"))
	require.NoError(t, err)
	do(t, tab, chromedp.Navigate("about:blank"))
	run(t, tab, chromedp.Evaluate[chromedp.Void](string(rrweb)))
	run(t, tab, chromedp.Evaluate[chromedp.Void](`window.__events = `+string(events)+`;
		window.__replayer = new rrweb.Replayer(window.__events, {root: document.body, showWarning: false, mouseTail: false});
		undefined;`))

	heading := func(at string) string {
		run(t, tab, chromedp.Evaluate[chromedp.Void](`{
			const evs = window.__events;
			const full = evs.find((e) => e.type === 2);
			window.__replayer.pause(`+at+`);
		}`))
		return run(t, tab, chromedp.Poll[string](`(() => {
			const doc = window.__replayer.iframe.contentDocument;
			const h1 = doc && doc.querySelector('h1');
			return h1 && h1.textContent;
		})()`, chromedp.WithPollingTimeout(waitTimeout)))
	}
	// The Replayer applies the events before baseline+offset at once.
	assert.Equal(t, "Gopher Goods", heading(`full.timestamp - evs[0].timestamp + 1`), "heading at the full snapshot")
	assert.Equal(t, "Gopher Mug", heading(`evs[evs.length - 1].timestamp - evs[0].timestamp + 1`), "heading at the end")
}

// TestRecorderMultiPageVisit is issue 5's visit: typing, clicks and a
// pushState navigation on the shop, then a real page load to the checkout.
// recorder.js keeps one session across the page loads, and the read API
// lists it with two windows, the three pages and the five clicks; the card
// number and the password never reach the store.
func TestRecorderMultiPageVisit(t *testing.T) {
	tab := newTab(t)
	d := startDemo(t, &demoOptions{SitesJSON: keepAllSites})

	do(t, tab, chromedp.Navigate(d.URL+"/"))
	id := waitRecording(t, tab)
	do(t, tab,
		chromedp.Click(chromedp.CSS("#card-mug button.add")),
		chromedp.Click(chromedp.CSS("#card-tee button.add")),
		chromedp.SendKeys(chromedp.CSS("#search"), "mug"),
		chromedp.WaitNotPresent(chromedp.CSS("#card-tee")),
		chromedp.Click(chromedp.CSS("#card-mug .card-link")), // pushState to /product/mug
		chromedp.WaitVisible(chromedp.CSS("#add-product")),
		chromedp.Click(chromedp.CSS("#add-product")),
	)
	require.Equal(t, "3", run(t, tab, chromedp.Text(chromedp.CSS("#cart-count"))))
	do(t, tab, chromedp.Click(chromedp.CSS("#cart"))) // a page load: pagehide sends window 1
	do(t, tab, chromedp.WaitVisible(chromedp.CSS("#card")))
	require.Equal(t, id, waitRecording(t, tab), "the session id survives the page load")
	do(t, tab,
		chromedp.SendKeys(chromedp.CSS("#name"), "Ada Lovelace"),
		chromedp.SendKeys(chromedp.CSS("#card"), "4242 4242 4242 4242"),
		chromedp.SendKeys(chromedp.CSS("#password"), "hunter2-secret"),
		chromedp.Navigate("about:blank"), // pagehide sends window 2
	)

	s := d.waitSession(t, id, "both windows with the checkout's typing", func(s apiSession) error {
		if s.Windows != 2 || len(s.Pages) < 3 {
			return fmt.Errorf("windows %d, pages %v", s.Windows, s.Pages)
		}
		if !strings.Contains(string(d.eventsJSON(t, id, "")), `"source":5`) {
			return fmt.Errorf("no input events yet")
		}
		return nil
	})
	assert.Equal(t, "kept", s.State)
	assert.Equal(t, []string{d.URL + "/", d.URL + "/product/mug", d.URL + "/checkout"}, s.Pages)
	assert.Equal(t, d.URL+"/", s.EntryURL)
	assert.Equal(t, 2, s.Windows)
	assert.Equal(t, 5, s.Clicks, "two grid buttons, the card link, the product button, the cart link")
	assert.Equal(t, 3, s.Events["add-to-cart"], "custom events of the shop")
	assert.Equal(t, "Chrome", s.Browser)
	assert.Equal(t, "Linux", s.OS)
	assert.Equal(t, "desktop", s.Device)
	assert.Positive(t, s.Viewport.W)
	assert.Positive(t, s.DurationMs)

	events := string(d.eventsJSON(t, id, ""))
	for _, secret := range []string{"4242 4242 4242 4242", "4242424242424242", "hunter2-secret", "Ada Lovelace"} {
		assert.False(t, strings.Contains(events, secret), "masked input %q reached the store", secret)
	}
	assert.True(t, strings.Contains(events, `"text":"mug"`), "the search box's text is kept: the site's unmaskSelector covers it")
}

// TestRecorderPagehideDeliversLastEvents shows that what a page records
// right before it goes away is delivered by sendBeacon on pagehide, both
// when the tab navigates away and when it is closed, and that a batch over
// the size of one beacon goes out in several.
func TestRecorderPagehideDeliversLastEvents(t *testing.T) {
	tests := []struct {
		name string
		big  bool
	}{
		{name: "navigate away"},
		{name: "close the tab"},
		{name: "over the beacon limit", big: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tab := newTab(t)
			d := startDemo(t, &demoOptions{SitesJSON: keepAllSites})
			// A second tab in the same browser context, so that closing it
			// leaves the browser context (and its network) alive.
			page, closePage := chromedp.NewContext(tab)
			defer closePage()
			do(t, page, chromedp.Navigate(d.URL+"/"))
			id := waitRecording(t, page)
			// Flush what the page load recorded, then record the last words:
			// well within flushIntervalMs, so only pagehide can send them.
			run(t, page, chromedp.Evaluate[chromedp.Void](`replay.flush()`))
			d.waitSession(t, id, "the first batch", nil)
			last := `replay.event('bye', {n: 0})`
			want := 1
			if tt.big {
				// Three events of 20 KB: over the 60 000 bytes of one beacon,
				// within the 64 KiB the browser lets a page have in flight.
				last = `for (let i = 0; i < 3; i++) replay.event('bye', {n: i, pad: 'x'.repeat(20000)})`
				want = 3
			}
			run(t, page, chromedp.Evaluate[chromedp.Void](last))
			if tt.name == "close the tab" {
				closePage()
			} else {
				do(t, page, chromedp.Navigate("about:blank"))
			}
			s := d.waitSession(t, id, "the events recorded before pagehide", func(s apiSession) error {
				if s.Events["bye"] != want {
					return fmt.Errorf("events %v, want bye: %d", s.Events, want)
				}
				return nil
			})
			assert.Equal(t, 1, s.Windows)
			got := customEvents(d.events(t, id), "bye")
			require.Len(t, got, want)
			for i, p := range got {
				var payload struct{ N int }
				require.NoError(t, json.Unmarshal(p, &payload))
				assert.Equal(t, i, payload.N, "bye events in order")
			}
		})
	}
}

// TestRecorderStopsOnRecordFalse deletes a session through the read API
// while its page records: the next batch is answered record:false, and the
// recorder stops recording and sends nothing more, not even on pagehide.
func TestRecorderStopsOnRecordFalse(t *testing.T) {
	tab := newTab(t)
	d := startDemo(t, &demoOptions{SitesJSON: keepAllSites})

	do(t, tab, chromedp.Navigate(d.URL+"/"))
	id := waitRecording(t, tab)
	run(t, tab, chromedp.Evaluate[chromedp.Void](`replay.flush()`))
	d.waitSession(t, id, "the first batch", nil)

	code, body := d.do(t, "DELETE", "/v1/sites/demo/sessions/"+id)
	require.Equal(t, 204, code, "%s", body)
	before := d.Ingests()
	do(t, tab, chromedp.Click(chromedp.CSS("#card-mug button.add")))
	run(t, tab, chromedp.Evaluate[chromedp.Void](`replay.event('after-delete', {}); replay.flush()`))
	run(t, tab, chromedp.Poll[bool](`!window.replay.recording`, chromedp.WithPollingTimeout(waitTimeout)))
	stopped := d.Ingests()
	assert.Greater(t, stopped, before, "a batch was answered record:false")

	// Nothing more leaves the page: not a flush, not the pagehide beacons.
	run(t, tab, chromedp.Evaluate[chromedp.Void](`replay.event('ignored', {}); replay.flush()`))
	do(t, tab,
		chromedp.Click(chromedp.CSS("#card-tee button.add")),
		chromedp.Navigate("about:blank"))
	// A request would arrive within milliseconds on loopback; absence can
	// only be shown by waiting.
	time.Sleep(time.Second)
	assert.Equal(t, stopped, d.Ingests(), "requests after record:false")
	_, err := d.session(t, id)
	assert.ErrorContains(t, err, "404", "the deleted session stays deleted")

	// A new page load of the same visit asks /v1/config, which answers
	// record:false for the deleted session: rrweb is not even loaded.
	do(t, tab, chromedp.Navigate(d.URL+"/"))
	run(t, tab, chromedp.Poll[bool](`performance.getEntriesByType('resource').some((e) => e.name.includes('/v1/config') && e.responseEnd > 0)`,
		chromedp.WithPollingTimeout(waitTimeout)))
	time.Sleep(300 * time.Millisecond) // the answer's JSON is read after responseEnd
	assert.Equal(t, id, run(t, tab, chromedp.Evaluate[string](`window.replay.session`)))
	assert.False(t, run(t, tab, chromedp.Evaluate[bool](`window.replay.recording`)))
	assert.False(t, run(t, tab, chromedp.Evaluate[bool](`typeof window.rrweb === 'object'`)), "rrweb loaded")
	assert.Equal(t, stopped, d.Ingests(), "requests from the new page load")
}

// TestRecorderRetries makes the handler fail the first ingest requests: with
// 503, with 429 and a Retry-After, and by dropping the connection.
// recorder.js retries with backoff, honours Retry-After, and delivers every
// batch once the handler recovers, in order.
func TestRecorderRetries(t *testing.T) {
	tests := []struct {
		name     string
		failures int
		fail     func(w http.ResponseWriter)
		lastWait time.Duration // the least wait before the last retry
	}{
		// Backoff waits 0.5-1 s, then 1-2 s.
		{name: "503", failures: 2, lastWait: time.Second, fail: func(w http.ResponseWriter) {
			http.Error(w, `{"error":"store: unavailable, retry later"}`, http.StatusServiceUnavailable)
		}},
		{name: "429 with Retry-After", failures: 1, lastWait: 2 * time.Second, fail: func(w http.ResponseWriter) {
			w.Header().Set("Retry-After", "2")
			http.Error(w, `{"error":"rate limited"}`, http.StatusTooManyRequests)
		}},
		// Chromium itself retries at once a request whose reused connection
		// closed, so the waits are not ours to measure here.
		{name: "network error", failures: 3, fail: func(w http.ResponseWriter) {
			conn, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				conn.Close()
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var (
				mu       sync.Mutex
				failed   int
				failedAt time.Time
				gaps     []time.Duration // from a failure to the next request
				accepted []int           // seqs passed to the handler, in order
			)
			tab := newTab(t)
			d := startDemo(t, &demoOptions{SitesJSON: keepAllSites, Ingest: func(w http.ResponseWriter, r *http.Request, b ingestBody) bool {
				mu.Lock()
				defer mu.Unlock()
				if !failedAt.IsZero() {
					gaps = append(gaps, time.Since(failedAt))
				}
				if failed < tt.failures {
					failed++
					failedAt = time.Now()
					tt.fail(w)
					return true
				}
				failedAt = time.Time{}
				accepted = append(accepted, b.Seq)
				return false
			}})

			do(t, tab, chromedp.Navigate(d.URL+"/"))
			id := waitRecording(t, tab)
			// Three batches, queued behind the failing first one.
			run(t, tab, chromedp.Evaluate[chromedp.Void](`for (let n = 0; n < 3; n++) { replay.event('n', {n}); replay.flush(); }`))
			d.waitSession(t, id, "the three batches", func(s apiSession) error {
				if s.Events["n"] != 3 {
					return fmt.Errorf("events %v, want n: 3", s.Events)
				}
				return nil
			})

			mu.Lock()
			defer mu.Unlock()
			assert.Equal(t, tt.failures, failed)
			assert.Equal(t, []int{0, 1, 2}, accepted, "each batch once, in order")
			require.Len(t, gaps, tt.failures)
			if tt.lastWait > 0 {
				for _, g := range gaps {
					assert.GreaterOrEqual(t, g, 500*time.Millisecond, "wait before retrying")
				}
				assert.GreaterOrEqual(t, gaps[len(gaps)-1], tt.lastWait, "wait before the last retry")
			}
			for i, p := range customEvents(d.events(t, id), "n") {
				var payload struct{ N int }
				require.NoError(t, json.Unmarshal(p, &payload))
				assert.Equal(t, i, payload.N)
			}
		})
	}
}

// TestRecorderErrorsAndIdentity shows the page-level API of recorder.js: an
// uncaught error and an unhandled rejection become $error custom events
// with message, stack and source; console.error is recorded by rrweb's
// console plugin; replay.identify attaches the user to the session, which
// the read API then finds by user.
func TestRecorderErrorsAndIdentity(t *testing.T) {
	tab := newTab(t)
	d := startDemo(t, &demoOptions{SitesJSON: keepAllSites})

	do(t, tab, chromedp.Navigate(d.URL+"/"))
	id := waitRecording(t, tab)
	do(t, tab, chromedp.Click(chromedp.CSS("#boom")), chromedp.Click(chromedp.CSS("#reject")))
	run(t, tab, chromedp.Evaluate[chromedp.Void](`console.error('checkout failed: %s', 'E42');
		replay.identify('user-42', {plan: 'pro', seats: 3});
		replay.flush();`))

	var evs []apiEvent
	s := d.waitSession(t, id, "the errors and the user", func(s apiSession) error {
		evs = d.events(t, id)
		if n := len(customEvents(evs, "$error")); s.Attrs["userId"] != "user-42" || n != 2 {
			return fmt.Errorf("attrs %v, %d $error events", s.Attrs, n)
		}
		return nil
	})
	assert.Equal(t, map[string]string{"userId": "user-42", "plan": "pro", "seats": "3"}, s.Attrs)
	assert.Equal(t, 3, s.Errors, "the uncaught error, the rejection, the console.error: each once")

	errs := customEvents(evs, "$error")
	require.Len(t, errs, 2)
	var boom, reject struct{ Message, Stack, Source string }
	require.NoError(t, json.Unmarshal(errs[0], &boom))
	require.NoError(t, json.Unmarshal(errs[1], &reject))
	assert.Equal(t, "Uncaught Error: Demo error: the discount service is down", boom.Message)
	assert.Contains(t, boom.Stack, "shop.js")
	assert.Contains(t, boom.Source, d.URL+"/static/shop.js:")
	assert.Equal(t, "Demo rejection: the stock service timed out", reject.Message)
	assert.Equal(t, "unhandledrejection", reject.Source)

	var consoleErrors int
	for _, e := range evs {
		var p struct {
			Plugin  string `json:"plugin"`
			Payload struct {
				Level   string   `json:"level"`
				Payload []string `json:"payload"`
			} `json:"payload"`
		}
		if e.Type == 6 && json.Unmarshal(e.Data, &p) == nil && p.Plugin == "rrweb/console@1" &&
			p.Payload.Level == "error" && strings.Contains(strings.Join(p.Payload.Payload, " "), "checkout failed") {
			consoleErrors++
		}
	}
	assert.Equal(t, 1, consoleErrors, "console.error recorded by the console plugin")

	code, body := d.do(t, http.MethodGet, "/v1/sites/demo/sessions?user=user-42&error=true")
	require.Equal(t, http.StatusOK, code, "%s", body)
	var page struct{ Sessions []apiSession }
	require.NoError(t, json.Unmarshal(body, &page))
	require.Len(t, page.Sessions, 1)
	assert.Equal(t, id, page.Sessions[0].ID)
}

// TestRecorderSessionIdleTimeout shows that the visit's id is kept across
// page loads for 30 minutes of inactivity, and replaced after.
func TestRecorderSessionIdleTimeout(t *testing.T) {
	tab := newTab(t)
	d := startDemo(t, &demoOptions{SitesJSON: keepAllSites})

	do(t, tab, chromedp.Navigate(d.URL+"/"))
	first := waitRecording(t, tab)
	assert.Regexp(t, `^[A-Za-z0-9_-]{22}$`, first)

	// 29 minutes since the last event: same visit.
	run(t, tab, chromedp.Evaluate[chromedp.Void](`localStorage.setItem('replay:demo', JSON.stringify({id: replay.session, at: Date.now() - 29 * 60e3}))`))
	do(t, tab, chromedp.Reload())
	assert.Equal(t, first, waitRecording(t, tab))

	// 31 minutes: a new visit.
	run(t, tab, chromedp.Evaluate[chromedp.Void](`localStorage.setItem('replay:demo', JSON.stringify({id: replay.session, at: Date.now() - 31 * 60e3}))`))
	do(t, tab, chromedp.Reload())
	second := waitRecording(t, tab)
	assert.NotEqual(t, first, second)
	assert.Regexp(t, `^[A-Za-z0-9_-]{22}$`, second)
}

// TestRecorderQueueBound keeps the handler failing while the page records
// 17 MB: recorder.js pauses recording at its 16 MiB queue bound instead of
// dropping anything, delivers every queued batch in order once the handler
// recovers, and then records again from a fresh full snapshot.
func TestRecorderQueueBound(t *testing.T) {
	var down atomic.Bool
	down.Store(true)
	tab := newTab(t)
	d := startDemo(t, &demoOptions{SitesJSON: keepAllSites, Ingest: func(w http.ResponseWriter, r *http.Request, b ingestBody) bool {
		if down.Load() {
			http.Error(w, `{"error":"store: unavailable, retry later"}`, http.StatusServiceUnavailable)
			return true
		}
		return false
	}})

	do(t, tab, chromedp.Navigate(d.URL+"/"))
	id := waitRecording(t, tab)
	run(t, tab, chromedp.Evaluate[chromedp.Void](`for (let n = 0; n < 17; n++) replay.event('big', {n, pad: 'x'.repeat(1 << 20)})`))
	assert.False(t, run(t, tab, chromedp.Evaluate[bool](`replay.recording`)), "recording pauses at the bound")

	down.Store(false)
	// The browser says it is online again: the recorder retries at once
	// instead of waiting out its backoff.
	run(t, tab, chromedp.Evaluate[chromedp.Void](`dispatchEvent(new Event('online'))`))
	run(t, tab, chromedp.Poll[bool](`replay.recording`, chromedp.WithPollingTimeout(waitTimeout)))
	d.waitSession(t, id, "every queued batch", func(s apiSession) error {
		if s.Events["big"] != 17 {
			return fmt.Errorf("events %v, want big: 17", s.Events)
		}
		return nil
	})
	run(t, tab, chromedp.Evaluate[chromedp.Void](`replay.flush()`))
	var evs []apiEvent
	eventually(t, waitTimeout, "the full snapshot taken on resuming", func() error {
		evs = d.events(t, id)
		if n := countType(evs, 2); n != 2 {
			return fmt.Errorf("%d full snapshots", n)
		}
		return nil
	})
	for i, p := range customEvents(evs, "big") {
		var payload struct{ N int }
		require.NoError(t, json.Unmarshal(p, &payload))
		assert.Equal(t, i, payload.N)
	}
}

func countType(evs []apiEvent, typ int) int {
	n := 0
	for _, e := range evs {
		if e.Type == typ {
			n++
		}
	}
	return n
}

// TestRecorderRotatesIdleVisit moves the page's clock 31 minutes ahead: the
// next event starts a new visit (new session id, kept in localStorage) that
// opens with its own full snapshot, so it replays on its own.
func TestRecorderRotatesIdleVisit(t *testing.T) {
	tab := newTab(t)
	d := startDemo(t, &demoOptions{SitesJSON: keepAllSites})

	do(t, tab, chromedp.Navigate(d.URL+"/"))
	first := waitRecording(t, tab)
	run(t, tab, chromedp.Evaluate[chromedp.Void](`replay.flush()`))
	d.waitSession(t, first, "the first visit", nil)

	second := run(t, tab, chromedp.Evaluate[string](`{
		const now = Date.now.bind(Date);
		Date.now = () => now() + 31 * 60e3;
		replay.event('after-idle', {});
		replay.flush();
		replay.session;
	}`))
	require.NotEqual(t, first, second)
	assert.Equal(t, second, run(t, tab, chromedp.Evaluate[string](`JSON.parse(localStorage.getItem('replay:demo')).id`)))

	s := d.waitSession(t, second, "the new visit", func(s apiSession) error {
		if s.Events["after-idle"] != 1 {
			return fmt.Errorf("events %v", s.Events)
		}
		return nil
	})
	assert.Equal(t, 1, s.Windows)
	evs := d.events(t, second)
	require.NotEmpty(t, evs)
	assert.Equal(t, 4, evs[0].Type, "the new visit starts with a Meta event")
	assert.Equal(t, 1, countType(evs, 2), "and a full snapshot")
	old, err := d.session(t, first)
	require.NoError(t, err)
	assert.Zero(t, old.Events["after-idle"], "the old visit gets nothing of the new one")
}
