package e2e_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// originSites keeps every session of site demo, recorded from the origin %q
// (the handler's own origin is added by startDemo).
const originSites = `{"sites": [{
  "id": "demo",
  "origins": [%q],
  "privacy": {"maskAllInputs": true, "blockSelector": ".rr-block, iframe"}
}]}`

// TestRecorderOnAnotherOrigin serves a site from one origin and the handler
// (the demo server, set up as the README's self-hosted rrweb section shows:
// RRWebURL "/vendor/rrweb.umd.min.cjs") from another, on another port. The
// site has one script tag pointing at the handler; recorder.js must load
// rrweb and the console plugin from the handler's origin, record the visit,
// which the read API lists, and the dashboard replays it. With a strict CSP
// on the site (scripts and connections from the handler's origin only) it
// must work all the same.
func TestRecorderOnAnotherOrigin(t *testing.T) {
	for _, strict := range []bool{false, true} {
		t.Run(map[bool]string{false: "no CSP", true: "strict CSP"}[strict], func(t *testing.T) {
			var handlerURL string // set before the site serves
			site := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/shop" {
					http.NotFound(w, r)
					return
				}
				w.Header().Set("Content-Type", "text/html; charset=utf-8")
				if strict {
					w.Header().Set("Content-Security-Policy", "default-src 'none'; script-src "+handlerURL+
						"; connect-src "+handlerURL+"; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'")
				}
				fmt.Fprintf(w, `<!doctype html><html><head><meta charset="utf-8"><title>Other origin shop</title>
<script>window.inlineRan = true</script>
<script src="%s/replay/v1/recorder.js" data-site="demo" defer></script></head>
<body><h1>Cross-origin shop</h1><p id="hello">Hello from the other origin</p>
<button id="add" onclick="">Add</button></body></html>`, handlerURL)
			}))
			siteURL := "http://" + site.Listener.Addr().String()
			d := startDemo(t, &demoOptions{SitesJSON: fmt.Sprintf(originSites, siteURL)})
			handlerURL = d.URL
			require.NotEqual(t, siteURL, handlerURL)
			site.Start()
			t.Cleanup(site.Close)

			b := dashTab(t)
			b.run(t, chromedp.Navigate(siteURL+"/shop"))
			id := waitRecording(t, b.ctx)
			var inline bool
			b.eval(t, `window.inlineRan === true`, &inline)
			assert.Equal(t, !strict, inline, "the page's inline script runs only without the CSP")
			var loaded []string
			b.eval(t, `performance.getEntriesByType('resource').map((e) => e.name)`, &loaded)
			assert.Contains(t, loaded, handlerURL+"/vendor/rrweb.umd.min.cjs", "rrweb from the handler's origin")
			assert.Contains(t, loaded, handlerURL+"/vendor/rrweb-plugin-console-record.umd.min.cjs", "the console plugin from the handler's origin")
			b.run(t, chromedp.Evaluate[chromedp.Void](`console.warn('cross-origin warning'); replay.event('crossed', {}); replay.flush()`))
			b.run(t, chromedp.Navigate("about:blank")) // pagehide sends the rest by beacon

			s := d.waitSession(t, id, "the visit from the other origin", func(s apiSession) error {
				if s.Events["crossed"] != 1 {
					return fmt.Errorf("events %v", s.Events)
				}
				return nil
			})
			assert.Equal(t, []string{siteURL + "/shop"}, s.Pages)
			assert.Contains(t, string(d.eventsJSON(t, id, "")), "cross-origin warning", "the console plugin recorded")

			code, body := d.do(t, http.MethodGet, "/v1/sites/demo/sessions")
			require.Equal(t, http.StatusOK, code, "%s", body)
			assert.Contains(t, string(body), id, "the session is listed")

			// The dashboard, on the handler's origin, replays it.
			b.run(t, chromedp.Navigate(d.URL+"/replay/?site=demo"))
			b.waitJS(t, "the sign-in form", `document.querySelector('#signin-token')`)
			b.run(t,
				chromedp.SetValue(chromedp.CSS(`#signin-token`), d.Token),
				chromedp.Click(chromedp.CSS(`#signin button[type=submit]`)))
			b.waitJS(t, "the session in the list", `document.querySelector('tr.session[data-id="`+id+`"]')`)
			b.run(t, chromedp.Click(chromedp.CSS(`tr.session[data-id="`+id+`"] a`)))
			b.waitJS(t, "the replayed page", `(`+dashReplayed+`).includes('Hello from the other origin')`)
			var text string
			b.eval(t, dashReplayed, &text)
			assert.True(t, strings.Contains(text, "Cross-origin shop"), "replayed text %q", text)
		})
	}
}
