package e2e_test

// Browser tests of the dashboard: sessions recorded through the real
// pipeline (recorder.js in headless Chromium, and hostile batches posted over
// HTTP) are listed, filtered and replayed by the dashboard, which must never
// run recorded content in its own origin.
//
// The helpers here are prefixed "dash" so that they do not collide with the
// shared harness of this package.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image/png"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sessionreplay/replay"
	"github.com/sessionreplay/replay/storage"
	"github.com/sessionreplay/replay/storage/memstore"
	"github.com/sessionreplay/replay/transport"
)

// dashToken is the read token of the test servers.
const dashToken = "dash-read-token-0123456789"

// dashSites keeps sessions that hit an error or reached the checkout; the
// others stay pending.
const dashSites = `{"sites": [{
  "id": "demo", "enabled": true, "origins": [%q],
  "privacy": {"maskAllInputs": true, "unmaskSelector": ".replay-unmask",
              "blockSelector": ".rr-block, iframe, frame, object, embed"},
  "targeting": {"rules": [
    {"name": "errors", "when": {"error": true}},
    {"name": "checkout", "when": {"visited": "/shop/checkout*"}}
  ], "idleTimeout": "30m"}
}]}`

// dashEnv is a test server: the replay handler mounted at /replay/ (as the
// demo mounts it), rrweb from web/node_modules at /web/, the test's own
// pages at /shop/, and /pwned, which counts requests that a payload made.
type dashEnv struct {
	URL   string
	rec   *replay.Recorder
	pwned atomic.Int64
	mu    sync.Mutex
	pages map[string]string // path under /shop/ -> HTML
}

func dashStart(t *testing.T) *dashEnv {
	t.Helper()
	env := &dashEnv{pages: map[string]string{}}
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	env.URL = srv.URL

	sites, err := replay.LoadSites(strings.NewReader(fmt.Sprintf(dashSites, srv.URL)))
	require.NoError(t, err)
	env.rec, err = replay.New(memstore.New(), sites, nil)
	require.NoError(t, err)
	h := transport.NewHandler(env.rec, &transport.Options{
		Authorizer:        transport.BearerToken(dashToken),
		RRWebURL:          "/web/rrweb/dist/rrweb.umd.cjs",
		RRWebPlayerURL:    "/web/rrweb-player/dist/rrweb-player.umd.cjs",
		RRWebPlayerCSSURL: "/web/rrweb-player/dist/style.css",
		ConsolePluginURL:  "/web/@rrweb/rrweb-plugin-console-record/dist/rrweb-plugin-console-record.umd.cjs",
	})
	mux.Handle("/replay/", http.StripPrefix("/replay", h))

	files := http.FileServer(http.Dir(filepath.Join("..", "web", "node_modules")))
	mux.Handle("/web/", http.StripPrefix("/web", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, ".cjs") || strings.HasSuffix(r.URL.Path, ".js") {
			w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		}
		files.ServeHTTP(w, r)
	})))
	mux.HandleFunc("/shop/", func(w http.ResponseWriter, r *http.Request) {
		env.mu.Lock()
		html, ok := env.pages[strings.TrimPrefix(r.URL.Path, "/shop/")]
		env.mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, html)
	})
	mux.HandleFunc("/pwned", func(w http.ResponseWriter, r *http.Request) {
		env.pwned.Add(1)
	})
	return env
}

// page serves html at /shop/{path}; a page made with dashPage records itself.
func (env *dashEnv) page(path, html string) {
	env.mu.Lock()
	defer env.mu.Unlock()
	env.pages[path] = html
}

// dashPage is a recorded page of the test shop.
func dashPage(title, body string) string {
	return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>` + title + `</title>
<style>body{font:16px/1.5 sans-serif;margin:0;background:#fffdf5;color:#2b2118}
header{display:flex;justify-content:space-between;padding:14px 32px;background:#2f5d50;color:#fff;font-size:18px}
main{padding:16px 32px} h1{color:#2f5d50} .grid{display:flex;gap:16px;margin:16px 0}
.card{border:1px solid #e0cfa8;border-radius:10px;padding:12px 16px;background:#fff4e0;min-width:180px}
.card h2{margin:0 0 4px;color:#8a4b14} .form{display:grid;gap:10px;max-width:360px}
input{font:inherit;padding:6px 8px;border:1px solid #c9b58f;border-radius:6px}
button{font:inherit;padding:6px 14px;border:0;border-radius:6px;background:#c0672a;color:#fff}
a{color:#2f5d50;font-weight:bold}</style>
<script src="/replay/v1/recorder.js" data-site="demo" defer></script></head><body>` + body + `</body></html>`
}

// waitSession waits until session id of site "demo" is stored and
// satisfies ok.
func (env *dashEnv) waitSession(t *testing.T, id, what string, ok func(storage.Session) bool) storage.Session {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		s, err := env.rec.Session(context.Background(), "demo", id)
		if err == nil && ok(s) {
			return s
		}
		if time.Now().After(deadline) {
			b, _ := json.MarshalIndent(s, "", "  ")
			t.Fatalf("session %s is not %s within 30s (%v):\n%s", id, what, err, b)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// dashBrowser is a headless Chromium tab, 1280×800, that counts the
// JavaScript dialogs any frame of it opens (and dismisses them).
type dashBrowser struct {
	ctx     context.Context
	dialogs atomic.Int64

	mu   sync.Mutex
	logs []string // console messages and uncaught exceptions, for failures
}

// dashTab opens a tab of the shared browser in a browser context of its own
// (so recorder.js starts a new visit in it), with a 1280×800 viewport.
func dashTab(t *testing.T) *dashBrowser {
	t.Helper()
	ctx := newTab(t)
	b := &dashBrowser{ctx: ctx}
	require.NoError(t, chromedp.Do(ctx, chromedp.EmulateViewport(1280, 800)))
	require.NoError(t, chromedp.Listen(ctx, func(ev any) {
		var line string
		switch ev := ev.(type) {
		case *runtime.EventExceptionThrown:
			line = "exception: " + ev.ExceptionDetails.Text
			if ex := ev.ExceptionDetails.Exception; ex != nil {
				line += " " + ex.Description
			}
		case *runtime.EventConsoleAPICalled:
			line = "console." + string(ev.Type) + ":"
			for _, a := range ev.Args {
				line += " " + string(a.Value) + a.Description
			}
		default:
			return
		}
		b.mu.Lock()
		b.logs = append(b.logs, line)
		b.mu.Unlock()
	}))
	dialogs := chromedp.Events(ctx, page.JavascriptDialogOpening)
	go func() {
		for _, err := range dialogs {
			if err != nil {
				return
			}
			b.dialogs.Add(1)
			_, _ = chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
		}
	}()
	return b
}

func (b *dashBrowser) run(t *testing.T, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	require.NoError(t, chromedp.Do(b.ctx, steps...))
}

// eval evaluates a JavaScript expression in the top page and decodes its
// value into out, unless out is nil.
func (b *dashBrowser) eval(t *testing.T, js string, out any) {
	t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[any](js))
	require.NoError(t, err, js)
	if out == nil {
		return
	}
	raw, err := json.Marshal(v)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(raw, out), js)
}

// waitJS polls a JavaScript expression until it is true.
func (b *dashBrowser) waitJS(t *testing.T, what, js string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ok, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`!!(`+js+`)`))
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			text, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText.slice(0, 2000) : ''`))
			b.mu.Lock()
			logs := strings.Join(b.logs, "\n")
			b.mu.Unlock()
			t.Fatalf("waiting for %s (%s): %v\npage text:\n%s\nconsole:\n%s", what, js, err, text, logs)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// visit opens a recorded page, waits until recorder.js records it with
// rrweb, and returns the session id.
func (b *dashBrowser) visit(t *testing.T, env *dashEnv, path string) string {
	t.Helper()
	b.run(t, chromedp.Navigate(env.URL+"/shop/"+path))
	return waitRecording(t, b.ctx)
}

// leave leaves the recorded page: pagehide sends what is buffered.
func (b *dashBrowser) leave(t *testing.T, env *dashEnv) {
	t.Helper()
	b.run(t, chromedp.Navigate(env.URL+"/shop/blank"))
}

// dashboard JS expressions.
const (
	dashIframe   = `document.querySelector('.replayer-wrapper iframe')`
	dashReplayed = dashIframe + ` && ` + dashIframe + `.contentDocument && ` + dashIframe + `.contentDocument.body ? ` + dashIframe + `.contentDocument.body.innerText : ''`
)

// signIn opens the dashboard and signs in with token.
func (b *dashBrowser) signIn(t *testing.T, env *dashEnv, token string) {
	t.Helper()
	b.run(t,
		chromedp.Navigate(env.URL+"/replay/?site=demo"))
	b.waitJS(t, "the sign-in form", `document.querySelector('#signin-token')`)
	b.run(t,
		chromedp.SetValue(chromedp.CSS(`#signin-token`), token),
		chromedp.Click(chromedp.CSS(`#signin button[type=submit]`)),
	)
}

// dashScreenshot checks that the viewport is not blank (a page with text,
// borders and colours has far more than a handful of distinct colours) and
// saves it: to docs/screenshots/name, which the README shows, when
// UPDATE_SCREENSHOTS is set, else to the test's temporary directory so a test
// run leaves the tree as it was.
func (b *dashBrowser) screenshot(t *testing.T, name string) {
	t.Helper()
	buf, err := chromedp.Run(b.ctx, chromedp.CaptureScreenshot())
	require.NoError(t, err)
	img, err := png.Decode(bytes.NewReader(buf))
	require.NoError(t, err)
	colours := map[uint32]bool{}
	bounds := img.Bounds()
	for y := bounds.Min.Y; y < bounds.Max.Y; y++ {
		for x := bounds.Min.X; x < bounds.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			colours[(r>>8)<<16|(g>>8)<<8|bl>>8] = true
		}
	}
	assert.Equal(t, 1280, bounds.Dx(), "screenshot width")
	assert.Equal(t, 800, bounds.Dy(), "screenshot height")
	assert.Greater(t, len(colours), 50, "distinct colours in %s: the screenshot looks blank", name)
	dir := t.TempDir()
	if os.Getenv("UPDATE_SCREENSHOTS") != "" {
		dir = filepath.Join("..", "docs", "screenshots")
	}
	require.NoError(t, os.MkdirAll(dir, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, name), buf, 0o644))
}

// TestDashboardListsFiltersAndReplaysRecordedVisits records two visits with
// recorder.js in Chromium (a shop visit over two page loads with clicks and
// a pushState navigation, and a visit whose page throws), then uses the
// dashboard as a person would: a wrong token is refused, the list shows the
// facts of each session and follows the filters, and the player replays
// the recorded pages, marks the error and seeks from its side list.
func TestDashboardListsFiltersAndReplaysRecordedVisits(t *testing.T) {
	env := dashStart(t)
	env.page("blank", `<!doctype html><title>blank</title><p>nothing recorded here</p>`)
	env.page("", dashPage("Tea Shop", `
<header><b>Tea Shop</b><span>Cart: <span id="cart">0</span> items</span></header>
<main>
<input id="search" class="replay-unmask" placeholder="Search teas">
<div class="grid">
  <div class="card"><h2>Teapot</h2><p>Cast iron, 0.8 l</p><button id="add-teapot" onclick="cart.textContent = +cart.textContent + 1">Add to cart</button></div>
  <div class="card"><h2>Kettle</h2><p>Copper, 1.2 l</p><button id="add-kettle" onclick="cart.textContent = +cart.textContent + 1">Add to cart</button></div>
  <div class="card"><h2>Sencha</h2><p>Green tea, 100 g</p><button onclick="cart.textContent = +cart.textContent + 1">Add to cart</button></div>
</div>
<p><a id="to-checkout" href="/shop/checkout">Go to checkout →</a></p>
</main>`))
	env.page("checkout", dashPage("Checkout", `
<header><b>Tea Shop</b><span>Checkout</span></header>
<main>
<h1>Checkout</h1>
<p id="step">Step 1: address</p>
<button id="next" onclick="history.pushState({}, '', '/shop/checkout/payment'); step.textContent = 'Step 2: payment'">Next</button>
</main>`))
	env.page("broken", dashPage("Payment", `
<header><b>Tea Shop</b><span>Payment</span></header>
<main>
<h1>Payment</h1>
<div class="card form">
  <label>Name on card <input id="name" value=""></label>
  <label>Card number <input id="card" autocomplete="off"></label>
  <button id="coupon" onclick="replay.event('coupon', {code: 'TEA10'}); console.warn('Coupon TEA10: 10% off, not valid on sale items'); this.textContent = 'Coupon TEA10 applied'">Apply coupon</button>
  <button id="pay" onclick="setTimeout(() => console.error('Payment API answered 402 for order', 1042), 50); throw new Error('Payment failed: card declined')">Pay 42.00 €</button>
</div>
</main>`))

	// Visit 1: the shop, two clicks, typing, then the checkout page and a
	// pushState navigation: two page loads, kept by the checkout rule.
	v1 := dashTab(t)
	shopID := v1.visit(t, env, "")
	v1.run(t,
		chromedp.Click(chromedp.CSS(`#add-teapot`)),
		chromedp.Click(chromedp.CSS(`#add-kettle`)),
		chromedp.SendKeys(chromedp.CSS(`#search`), "green tea"),
	)
	time.Sleep(200 * time.Millisecond)
	v1.run(t, chromedp.Click(chromedp.CSS(`#to-checkout`)))
	v1.waitJS(t, "the checkout page", `location.pathname === '/shop/checkout'`)
	assert.Equal(t, shopID, waitRecording(t, v1.ctx), "one visit over two page loads")
	v1.run(t, chromedp.Click(chromedp.CSS(`#next`)))
	time.Sleep(300 * time.Millisecond)
	v1.leave(t, env)
	shop := env.waitSession(t, shopID, "kept with two page loads and three pages", func(s storage.Session) bool {
		return s.Windows == 2 && len(s.Pages) >= 3 && s.State == storage.StateKept
	})

	// Visit 2: a payment page that throws, kept by the errors rule.
	v2 := dashTab(t)
	brokenID := v2.visit(t, env, "broken")
	time.Sleep(time.Second)
	v2.run(t, chromedp.SendKeys(chromedp.CSS(`#name`), "Ada Lovelace"))
	time.Sleep(time.Second)
	v2.run(t, chromedp.Click(chromedp.CSS(`#coupon`)))
	time.Sleep(time.Second)
	v2.run(t, chromedp.Click(chromedp.CSS(`#pay`)))
	time.Sleep(time.Second)
	v2.leave(t, env)
	broken := env.waitSession(t, brokenID, "kept with an error", func(s storage.Session) bool {
		return s.Errors > 0 && s.State == storage.StateKept
	})

	// Visit 3: a page without error or checkout stays pending.
	v3 := dashTab(t)
	pendingID := v3.visit(t, env, "")
	v3.run(t, chromedp.Click(chromedp.CSS(`#add-teapot`)))
	v3.leave(t, env)
	env.waitSession(t, pendingID, "pending", func(s storage.Session) bool {
		return s.State == storage.StatePending && s.Clicks > 0
	})

	b := dashTab(t)
	// The dashboard's reader is in India (UTC+05:30): times show in local time.
	_, err := chromedp.Call(b.ctx, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: "Asia/Kolkata"})
	require.NoError(t, err)

	// A wrong token is refused with a clear message, and nothing is stored.
	b.signIn(t, env, "not-the-token")
	b.waitJS(t, "the refusal", `document.querySelector('#signin-message').textContent.includes('refused')`)
	var stored string
	b.eval(t, `sessionStorage.getItem('replay.token') || ''`, &stored)
	assert.Empty(t, stored, "a refused token is not kept")

	// The right one shows the list, newest first: both kept visits, not the
	// pending one.
	b.signIn(t, env, dashToken)
	b.waitJS(t, "the session list", `document.querySelectorAll('tr.session').length === 2`)
	rowText := func(id string) string {
		var s string
		b.eval(t, fmt.Sprintf(`document.querySelector('tr.session[data-id=%q]').innerText`, id), &s)
		return s
	}
	row := rowText(shop.ID)
	assert.Contains(t, row, "3 pages", "pages of the shop visit")
	assert.Contains(t, row, "/shop/", "entry URL")
	assert.Contains(t, row, "checkout", "matched rule")
	assert.Contains(t, row, "Chrome", "browser")
	assert.Contains(t, row, "desktop", "device")
	assert.Contains(t, row, "2 loads", "page loads")
	assert.Contains(t, row, "kept")
	var clicks string
	b.eval(t, fmt.Sprintf(`document.querySelector('tr.session[data-id=%q] td.clicks').innerText`, shop.ID), &clicks)
	assert.GreaterOrEqual(t, shop.Clicks, 2, "clicks recorded")
	assert.Equal(t, fmt.Sprint(shop.Clicks), strings.TrimSpace(clicks), "clicks shown")
	row = rowText(broken.ID)
	assert.Contains(t, row, "Payment failed", "first error message")
	assert.Contains(t, row, "errors", "matched rule")
	var order []string
	b.eval(t, `[...document.querySelectorAll('tr.session')].map(r => r.dataset.id)`, &order)
	assert.Equal(t, []string{broken.ID, shop.ID}, order, "newest first")

	// Filters are applied and reflected in the URL: errors only.
	b.run(t,
		chromedp.Click(chromedp.CSS(`#filters input[name=error]`)),
		chromedp.Click(chromedp.CSS(`#filters button[type=submit]`)),
	)
	b.waitJS(t, "the errors-only list", `location.search.includes('error=true') && document.querySelectorAll('tr.session').length === 1`)
	var ids []string
	b.eval(t, `[...document.querySelectorAll('tr.session')].map(r => r.dataset.id)`, &ids)
	assert.Equal(t, []string{broken.ID}, ids)

	// A shared URL with filters opens the same view: pending sessions.
	b.run(t, chromedp.Navigate(env.URL+"/replay/?site=demo&state=pending"))
	b.waitJS(t, "the pending list", `document.querySelectorAll('tr.session').length === 1`)
	b.eval(t, `[...document.querySelectorAll('tr.session')].map(r => r.dataset.id)`, &ids)
	assert.Equal(t, []string{pendingID}, ids)
	var stateValue string
	b.eval(t, `document.querySelector('#filters select[name=state]').value`, &stateValue)
	assert.Equal(t, "pending", stateValue, "the filter bar shows the URL's filters")
	b.run(t, chromedp.Navigate(env.URL+"/replay/?site=demo&url=/shop/checkout*"))
	b.waitJS(t, "the URL-filtered list", `document.querySelectorAll('tr.session').length === 1`)
	b.eval(t, `[...document.querySelectorAll('tr.session')].map(r => r.dataset.id)`, &ids)
	assert.Equal(t, []string{shop.ID}, ids)

	// Date range, device, OS and browser, from a shared URL.
	for _, c := range []struct {
		query string
		want  int
	}{
		{"from=2099-01-01T00:00:00Z", 0},
		{"to=2099-01-01T00:00:00Z", 2},
		{"device=mobile", 0},
		{"device=desktop&os=linux&browser=chrome", 2},
		{"browser=Safari", 0},
		{"event=coupon", 1},
		{"rule=checkout", 1},
		{"minDuration=1h", 0},
	} {
		b.run(t, chromedp.Navigate(env.URL+"/replay/?site=demo&"+c.query))
		b.waitJS(t, c.query, fmt.Sprintf(`document.querySelector('#results .count, #results .empty') && document.querySelectorAll('tr.session').length === %d`, c.want))
	}
	var from string
	b.eval(t, `(history.replaceState(null, '', '?site=demo&from=2026-03-04T05:06:00Z'), dispatchEvent(new PopStateEvent('popstate')), document.querySelector('#filters input[name=from]').value)`, &from)
	assert.Equal(t, "2026-03-04T10:36", from, "the date range shows in the reader's time zone")
	b.run(t,
		chromedp.SetValue(chromedp.CSS(`#filters input[name=to]`), "2026-03-05T10:36"),
		chromedp.Click(chromedp.CSS(`#filters button[type=submit]`)),
	)
	b.waitJS(t, "the date range in the URL, in UTC", `location.search === '?site=demo&from=2026-03-04T05%3A06%3A00Z&to=2026-03-05T05%3A06%3A00Z'`)

	// Pages of the list follow the cursor.
	b.run(t, chromedp.Navigate(env.URL+"/replay/?site=demo&state=all&limit=2"))
	b.waitJS(t, "the first page of two", `document.querySelectorAll('tr.session').length === 2 && !document.querySelector('#load-more').hidden`)
	b.run(t, chromedp.Click(chromedp.CSS(`#load-more`)))
	b.waitJS(t, "the second page", `document.querySelectorAll('tr.session').length === 3 && document.querySelector('#load-more').hidden`)
	b.eval(t, `[...document.querySelectorAll('tr.session')].map(r => r.dataset.id)`, &ids)
	assert.Equal(t, []string{pendingID, broken.ID, shop.ID}, ids, "kept and pending, newest first, over two pages")

	b.run(t, chromedp.Navigate(env.URL+"/replay/?site=demo&state=all"))
	b.waitJS(t, "the list of kept and pending sessions", `document.querySelectorAll('tr.session').length === 3`)
	b.screenshot(t, "sessions.png")

	// The player replays the shop visit; page load 1 alone ends with the
	// cart count after the two clicks.
	b.run(t, chromedp.Click(chromedp.CSS(fmt.Sprintf(`tr.session[data-id=%q] td.pages`, shop.ID))))
	b.waitJS(t, "the player route", `location.hash === '#/session/`+shop.ID+`'`)
	b.waitJS(t, "the replay of page load 2", `(`+dashReplayed+`).includes('Step 2: payment')`)
	var facts string
	b.eval(t, `document.querySelector('#facts').innerText`, &facts)
	assert.Contains(t, facts, "/shop/checkout/payment", "pages in the facts")
	var items []string
	b.eval(t, `[...document.querySelectorAll('#timeline .item')].map(li => li.innerText.replace(/\s+/g, ' '))`, &items)
	assert.GreaterOrEqual(t, len(items), 3, "page loads and the navigation are listed: %q", items)
	assert.True(t, anyContains(items, "/shop/checkout/payment"), "the pushState navigation is listed: %q", items)
	var markers []string
	b.eval(t, `[...document.querySelectorAll('.rr-progress div[title]')].map(e => e.title)`, &markers)
	assert.Contains(t, markers, "$pageview", "the navigation is marked on the timeline")

	var controls string
	b.eval(t, `document.querySelector('.rr-controller').innerText.replace(/\s+/g, ' ')`, &controls)
	for _, c := range []string{"1x", "2x", "4x", "8x", "skip inactive"} {
		assert.Contains(t, controls, c, "the player's speed and skip-inactivity controls")
	}
	var options []string
	b.eval(t, `[...document.querySelectorAll('#window-select option')].map(o => o.value)`, &options)
	require.Equal(t, append([]string{""}, shop.WindowIDs...), options, "the window switch offers all page loads and each one")
	b.run(t, chromedp.SetValue(chromedp.CSS(`#window-select`), shop.WindowIDs[0]))
	b.eval(t, `document.querySelector('#window-select').dispatchEvent(new Event('change')), true`, nil)
	b.waitJS(t, "page load 1 alone", `location.hash.includes('&window=`+shop.WindowIDs[0]+`')`)
	b.waitJS(t, "the cart count after two clicks", `/Cart: 2 items/.test(`+dashReplayed+`)`)
	var replayed string
	b.eval(t, dashReplayed, &replayed)
	assert.NotContains(t, replayed, "Step 2", "page load 1 alone does not show page load 2")

	// The errored visit: the error is on the player's timeline and in the
	// side list, and clicking it seeks there.
	b.run(t, chromedp.Navigate(env.URL+"/replay/?site=demo#/session/"+broken.ID))
	b.waitJS(t, "the replay of the payment page", `(`+dashReplayed+`).includes('Pay 42.00')`)
	b.waitJS(t, "the error marker", `[...document.querySelectorAll('.rr-progress div[title]')].some(e => e.title === '$error')`)
	b.waitJS(t, "the error in the side list", `[...document.querySelectorAll('#timeline .item.error')].some(li => li.innerText.includes('Payment failed: card declined'))`)
	b.eval(t, `document.querySelector('#facts').innerText`, &facts)
	assert.Contains(t, facts, "Payment failed: card declined")
	b.eval(t, `[...document.querySelectorAll('#timeline .item')].map(li => li.innerText.replace(/\s+/g, ' '))`, &items)
	assert.True(t, anyContains(items, "coupon"), "the custom event is listed: %q", items)
	b.eval(t, `[...document.querySelectorAll('.rr-progress div[title]')].map(e => e.title)`, &markers)
	assert.Contains(t, markers, "coupon", "the custom event is marked on the timeline")
	b.eval(t, `document.querySelector('#timeline .item.error').click(), true`, nil)
	b.waitJS(t, "the error item to become current", `document.querySelector('#timeline .item.error.current')`)
	// The screenshot shows the replay at the coupon, the error marker ahead.
	b.eval(t, `document.querySelector('#timeline .item.event').click(), true`, nil)
	b.waitJS(t, "the coupon item to become current", `document.querySelector('#timeline .item.event.current')`)
	time.Sleep(300 * time.Millisecond)
	b.screenshot(t, "player.png")

	// The console panel: the coupon's warning, the uncaught error and the
	// console error after it; clicking the warning seeks there.
	var consoleLines []string
	b.eval(t, `[...document.querySelectorAll('#console .line')].map((li) => li.dataset.level + ': ' + li.querySelector('.text').textContent)`, &consoleLines)
	assert.Equal(t, []string{
		"warn: Coupon TEA10: 10% off, not valid on sale items",
		"error: Uncaught Error: Payment failed: card declined",
		"error: Payment API answered 402 for order 1042",
	}, consoleLines)
	b.eval(t, `document.querySelector('#console .line.level-warn').click(), true`, nil)
	b.waitJS(t, "the warning to become the current line", `document.querySelector('#console .line.level-warn.current')`)
	time.Sleep(300 * time.Millisecond)
	b.screenshot(t, "console.png")

	// Signing out forgets the token.
	b.run(t, chromedp.Click(chromedp.CSS(`#sign-out`)))
	b.waitJS(t, "the sign-in form", `document.querySelector('#signin-token')`)
	b.eval(t, `sessionStorage.getItem('replay.token') || ''`, &stored)
	assert.Empty(t, stored)
	assert.Zero(t, b.dialogs.Load(), "dialogs opened")
}

func anyContains(list []string, sub string) bool {
	for _, s := range list {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// The hostile strings of the XSS test. Every one would run script if it
// reached the dashboard's page as HTML or as a link.
const (
	dashXSSImg    = `<img src=x onerror="window.top.__pwned=1;fetch('/pwned')">`
	dashXSSScript = `<script>window.top.__pwned=1;fetch('/pwned')</script>`
	dashXSSURL    = `javascript:window.top.__pwned=1;fetch('/pwned')`
	dashXSSSVG    = `<svg onload="window.top.__pwned=1;fetch('/pwned')"></svg>`
)

// TestDashboardNeverRunsRecordedContent records a hostile page in Chromium
// and posts a hostile session over HTTP (markup and javascript: URLs in page
// URLs, custom event tags and payloads, error messages, console errors,
// attributes and user attributes), then browses the list and replays both:
// nothing recorded may run in the dashboard's origin.
func TestDashboardNeverRunsRecordedContent(t *testing.T) {
	env := dashStart(t)
	env.page("blank", `<!doctype html><title>blank</title><p>nothing recorded here</p>`)
	// The page itself runs its own handlers while it is recorded (that is
	// the host's page); only what the dashboard does afterwards counts.
	env.page("hostile", dashPage(`&lt;img src=x onerror=alert(1)&gt;`, `
<h1>Hostile page</h1>
<p id="as-text">`+htmlEscape(dashXSSImg+dashXSSScript+dashXSSSVG)+`</p>
<img src="/nothing-here.png" alt="broken" onerror="window.top.__pwnedHere=1">
<a id="js-link" href="`+htmlEscape(dashXSSURL)+`">a javascript: link</a>
<div id="attrs" title="`+htmlEscape(`"><img src=x onerror=alert(1)>`)+`" data-x="`+htmlEscape(dashXSSScript)+`">attributes</div>
<form action="`+htmlEscape(dashXSSURL)+`"><button id="go" type="button">go</button></form>
<script>
const img = `+jsString(dashXSSImg)+`, script = `+jsString(dashXSSScript)+`;
document.getElementById('as-text').setAttribute('data-live', img);
document.getElementById('go').addEventListener('click', () => {
  replay.event(img, {html: script});
  history.pushState({}, '', '/shop/hostile?q=' + encodeURIComponent(img));
  throw new Error(img);
});
</script>`))

	v := dashTab(t)
	recorded := v.visit(t, env, "hostile")
	v.run(t, chromedp.Click(chromedp.CSS(`#go`)))
	time.Sleep(300 * time.Millisecond)
	v.leave(t, env)
	env.waitSession(t, recorded, "kept with an error", func(s storage.Session) bool {
		return s.Errors > 0 && s.State == storage.StateKept
	})

	// A session posted over HTTP, with hostile strings where a browser
	// cannot put them.
	posted := dashPostHostile(t, env)

	env.pwned.Store(0)
	b := dashTab(t)
	b.signIn(t, env, dashToken)
	b.waitJS(t, "the list", `document.querySelectorAll('tr.session').length === 2`)
	var text string
	b.eval(t, `document.querySelector('#results').innerText`, &text)
	assert.Contains(t, text, "<img src=x onerror=", "hostile strings are shown as text")

	// A crafted link puts hostile values into the filters and the site.
	q := url.Values{"site": {dashXSSImg}, "url": {dashXSSImg}, "event": {dashXSSScript}, "from": {dashXSSURL}}
	b.run(t, chromedp.Navigate(env.URL+"/replay/?"+q.Encode()))
	b.waitJS(t, "the answer about the unknown site", `document.querySelector('#results .error-box')`)
	var imgs int
	b.eval(t, `document.querySelectorAll('img, svg, script:not([src])').length`, &imgs)
	assert.Zero(t, imgs, "markup from the URL in the dashboard's page")
	var filterValue string
	b.eval(t, `document.querySelector('#filters input[name=url]').value`, &filterValue)
	assert.Equal(t, dashXSSImg, filterValue, "a filter value from the URL is shown as typed")

	for _, id := range []string{recorded, posted} {
		b.run(t, chromedp.Navigate(env.URL+"/replay/?site=demo#/session/"+id))
		b.waitJS(t, "the replay of "+id, `(`+dashReplayed+`).includes('Hostile page')`)
		b.waitJS(t, "the side list of "+id, `document.querySelectorAll('#timeline .item.error').length > 0`)
		b.waitJS(t, "the console panel of "+id, `document.querySelectorAll('#console .line.level-error').length > 0`)
		b.eval(t, `document.querySelector('#timeline').innerText + document.querySelector('#facts').innerText`, &text)
		assert.Contains(t, text, "<img src=x onerror=", "hostile strings are shown as text in the player of %s", id)
		b.eval(t, `document.querySelector('#console').innerText`, &text)
		assert.Contains(t, text, "<img src=x onerror=", "hostile console text is shown as text in the console panel of %s", id)
		// Seek through every console line, and copy the link of a moment.
		var lines int
		b.eval(t, `document.querySelectorAll('#console .line').length`, &lines)
		for i := range lines {
			b.eval(t, fmt.Sprintf(`document.querySelectorAll('#console .line')[%d].click(), true`, i), nil)
			time.Sleep(100 * time.Millisecond)
		}
		b.eval(t, `document.querySelector('#copy-moment').click(), true`, nil)
		// Seek through every listed item: each rebuilds the replay.
		var n int
		b.eval(t, `document.querySelectorAll('#timeline .item').length`, &n)
		for i := range n {
			b.eval(t, fmt.Sprintf(`document.querySelectorAll('#timeline .item')[%d].click(), true`, i), nil)
			time.Sleep(100 * time.Millisecond)
		}
		time.Sleep(time.Second)

		// Nothing recorded became markup of the dashboard: its own page
		// holds no image, no SVG, no link but its own routes, and only its
		// own scripts.
		var found struct {
			Imgs, SVGs, Frames int
			Links, Scripts     []string
			Pwned              bool
		}
		b.eval(t, `(() => {
  const outside = (sel) => [...document.querySelectorAll(sel)].filter(e => !e.closest('.replayer-wrapper'));
  return {
    Imgs: outside('img').length,
    SVGs: outside('svg').filter(s => !s.closest('.rr-controller')).length,
    Frames: outside('iframe, object, embed').length,
    Links: outside('a[href]').map(a => a.getAttribute('href')),
    Scripts: [...document.scripts].map(s => s.getAttribute('src') || 'inline'),
    Pwned: window.__pwned !== undefined || window.__pwnedHere !== undefined,
  };
})()`, &found)
		assert.Zero(t, found.Imgs, "images in the dashboard's own page")
		assert.Zero(t, found.SVGs, "SVG outside the player's controls")
		assert.Zero(t, found.Frames, "frames outside the player")
		for _, href := range found.Links {
			assert.Regexp(t, `^[?#]`, href, "a link that is not a dashboard route")
		}
		assert.ElementsMatch(t, []string{"assets/dashboard/app.js", "/web/rrweb-player/dist/rrweb-player.umd.cjs"}, found.Scripts)
		assert.False(t, found.Pwned, "a recorded payload ran in the dashboard's window")

		// The replay iframe is sandboxed without scripts.
		var sandbox string
		b.eval(t, dashIframe+`.getAttribute('sandbox')`, &sandbox)
		assert.NotContains(t, sandbox, "allow-scripts")
		var iframePwned bool
		b.eval(t, dashIframe+`.contentWindow.__pwned !== undefined`, &iframePwned)
		assert.False(t, iframePwned, "a recorded script ran in the replay iframe")
	}
	time.Sleep(500 * time.Millisecond)
	assert.Zero(t, env.pwned.Load(), "requests made by recorded payloads while the dashboard showed them")
	assert.Zero(t, b.dialogs.Load(), "dialogs opened by recorded payloads")
}

// dashPostHostile stores a session whose every recorded string is hostile,
// posted to the ingest endpoint like a browser would, and returns its id.
func dashPostHostile(t *testing.T, env *dashEnv) string {
	t.Helper()
	const id = "hostile-session-0001"
	now := float64(time.Now().Add(-time.Minute).UnixMilli())
	text := func(s string, id int) map[string]any { return map[string]any{"type": 3, "textContent": s, "id": id} }
	elem := func(tag string, attrs map[string]any, id int, children ...map[string]any) map[string]any {
		if attrs == nil {
			attrs = map[string]any{}
		}
		if children == nil {
			children = []map[string]any{}
		}
		return map[string]any{"type": 2, "tagName": tag, "attributes": attrs, "childNodes": children, "id": id}
	}
	doc := map[string]any{"type": 0, "id": 1, "childNodes": []map[string]any{
		{"type": 1, "name": "html", "publicId": "", "systemId": "", "id": 2},
		elem("html", nil, 3,
			elem("head", nil, 4, elem("title", nil, 5, text(dashXSSImg, 6))),
			elem("body", map[string]any{"onload": "window.top.__pwned=1"}, 7,
				elem("h1", nil, 8, text("Hostile page", 9)),
				elem("p", nil, 10, text(dashXSSImg+dashXSSScript, 11)),
				elem("img", map[string]any{"src": "x", "onerror": "window.top.__pwned=1;fetch('/pwned')"}, 12),
				elem("a", map[string]any{"href": dashXSSURL}, 13, text("link", 14)),
				elem("script", nil, 15, text("window.top.__pwned=1;fetch('/pwned')", 16)),
				elem("iframe", map[string]any{"srcdoc": dashXSSScript}, 17),
				elem("div", map[string]any{"title": `"><img src=x onerror=alert(1)>`, "style": "background:url(javascript:alert(1))"}, 18, text("attributes", 19)),
			),
		),
	}}
	consoleArg, _ := json.Marshal(dashXSSImg)
	events := []map[string]any{
		{"type": 4, "timestamp": now, "data": map[string]any{"href": dashXSSURL + "//" + dashXSSImg, "width": 1280, "height": 720}},
		{"type": 2, "timestamp": now + 5, "data": map[string]any{"node": doc, "initialOffset": map[string]any{"left": 0, "top": 0}}},
		{"type": 5, "timestamp": now + 100, "data": map[string]any{"tag": dashXSSImg, "payload": map[string]any{"html": dashXSSScript, "url": dashXSSURL}}},
		{"type": 5, "timestamp": now + 200, "data": map[string]any{"tag": "$pageview", "payload": map[string]any{"href": dashXSSURL}}},
		{"type": 5, "timestamp": now + 300, "data": map[string]any{"tag": "$error", "payload": map[string]any{"message": dashXSSImg, "stack": dashXSSScript, "source": dashXSSURL}}},
		{"type": 6, "timestamp": now + 400, "data": map[string]any{"plugin": "rrweb/console@1", "payload": map[string]any{
			"level": "error", "trace": []string{dashXSSSVG}, "payload": []string{string(consoleArg)}}}},
		{"type": 3, "timestamp": now + 500, "data": map[string]any{"source": 0, "texts": []any{}, "removes": []any{},
			"attributes": []map[string]any{{"id": 18, "attributes": map[string]any{"onclick": "window.top.__pwned=1"}}},
			"adds":       []map[string]any{{"parentId": 7, "nextId": nil, "node": elem("img", map[string]any{"src": "x", "onerror": "window.top.__pwned=1"}, 20)}}}},
		{"type": 3, "timestamp": now + 600, "data": map[string]any{"source": 2, "type": 2, "id": 13, "x": 10, "y": 10}},
	}
	body, err := json.Marshal(map[string]any{
		"site": "demo", "session": id, "window": "w1", "seq": 0, "events": events,
		"attrs": map[string]string{"userId": dashXSSScript, dashXSSImg: dashXSSURL},
	})
	require.NoError(t, err)
	req, err := http.NewRequest(http.MethodPost, env.URL+"/replay/v1/ingest", bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	req.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 "+dashXSSImg)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var res struct {
		Accepted int  `json:"accepted"`
		Record   bool `json:"record"`
		Error    string
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&res))
	require.Equal(t, http.StatusOK, resp.StatusCode, "ingest: %s", res.Error)
	require.True(t, res.Record)
	env.waitSession(t, id, "kept", func(s storage.Session) bool { return s.State == storage.StateKept })
	return id
}

func htmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}

// jsString quotes s as a JavaScript string that is safe inside a script
// element (json.Marshal escapes <, > and &).
func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
