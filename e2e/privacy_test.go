package e2e_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
)

// unmaskInBrowser turns rrweb's own masking off on every page of the tab,
// whatever /v1/config asks: it wraps rrweb.record as soon as rrweb defines
// it and drops every privacy option. The server is then the only one that
// masks.
const unmaskInBrowser = `(() => {
  let rr;
  const wrap = (v) => {
    if (!v || typeof v.record !== 'function' || v.record.__unmasked) return v;
    const orig = v.record;
    const record = function (opts) {
      const o = Object.assign({}, opts);
      delete o.maskAllInputs;
      o.maskInputOptions = {};
      delete o.maskInputFn;
      delete o.maskTextFn;
      o.maskTextSelector = null;
      o.maskTextClass = 'no-such-mask-class';
      o.blockSelector = null;
      o.blockClass = 'no-such-block-class';
      return orig.call(this, o);
    };
    Object.assign(record, orig);
    record.__unmasked = true;
    v.record = record;
    return v;
  };
  Object.defineProperty(window, 'rrweb', {configurable: true, get() { return wrap(rr); }, set(v) { rr = v; }});
})();`

// TestPrivacyServerMasksWhatTheBrowserSends types a name, a card number and
// a password on the demo checkout with rrweb's masking turned off in the
// page: the browser sends them in the clear, the store keeps none of them,
// and a replay of what is stored still shows the form, with masked values.
func TestPrivacyServerMasksWhatTheBrowserSends(t *testing.T) {
	secrets := map[string]string{"#name": "Ada Lovelace", "#card": "4242 4242 4242 4242", "#password": "hunter2-secret"}
	var mu sync.Mutex
	var sent strings.Builder // what the browser sent, before the server masked it
	d := startDemo(t, &demoOptions{Ingest: func(_ http.ResponseWriter, _ *http.Request, b ingestBody) bool {
		mu.Lock()
		defer mu.Unlock()
		for _, e := range b.Events {
			sent.Write(e)
		}
		return false
	}})
	tab := newTab(t)
	do(t, tab, func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		_, err := cdp.Call(ctx, tg, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: unmaskInBrowser})
		return chromedp.Void{}, err
	}, chromedp.Navigate(d.URL+"/checkout"))
	id := waitRecording(t, tab)
	for _, sel := range []string{"#name", "#card", "#password"} {
		do(t, tab, chromedp.SendKeys(chromedp.CSS(sel), secrets[sel]))
	}
	run(t, tab, chromedp.Evaluate[chromedp.Void](`replay.flush()`))

	eventually(t, 20*time.Second, "the typing to reach the server", func() error {
		mu.Lock()
		defer mu.Unlock()
		for _, s := range secrets {
			if !strings.Contains(sent.String(), s) {
				return fmt.Errorf("the browser has not sent %q in the clear (yet)", s)
			}
		}
		return nil
	})
	mu.Lock()
	assert.Contains(t, sent.String(), "Secure payment frame", "the browser sent the payment frame's document")
	mu.Unlock()

	var stored string
	eventually(t, 20*time.Second, "the last keystrokes to be stored", func() error {
		code, body := d.do(t, http.MethodGet, "/v1/sites/demo/sessions/"+id+"/events")
		if code != http.StatusOK {
			return fmt.Errorf("GET events: %d %s", code, body)
		}
		stored = string(body)
		for _, s := range secrets {
			if masked := `"text":"` + strings.Repeat("*", len(s)) + `"`; !strings.Contains(stored, masked) {
				return fmt.Errorf("no input event %s stored yet", masked)
			}
		}
		return nil
	})
	for _, s := range append(mapValues(secrets), "4242424242424242", "Secure payment frame") {
		assert.NotContains(t, stored, s, "the store has %q", s)
	}

	// Replay what is stored, to its end, and read the form in the replay.
	player := replayToEnd(t, d, stored)
	values := run(t, player, chromedp.Evaluate[map[string]string](`(() => {
		const doc = window.__r.iframe.contentDocument;
		const out = {};
		for (const sel of ['#name', '#card', '#password', '#pay']) {
			const el = doc.querySelector(sel);
			out[sel] = el ? (el.value !== undefined && el.tagName === 'INPUT' ? el.value : el.textContent) : '<missing>';
		}
		out.iframe = doc.querySelector('iframe') ? 'present' : '<missing>';
		return out;
	})()`))
	for sel, s := range secrets {
		assert.Equal(t, strings.Repeat("*", len(s)), values[sel], "the replay shows %s masked", sel)
	}
	assert.Equal(t, "Pay now", values["#pay"], "the rest of the form replays as it was")
	assert.Equal(t, "present", values["iframe"], "the blocked frame is a placeholder")
}

func mapValues(m map[string]string) []string {
	var out []string
	for _, v := range m {
		out = append(out, v)
	}
	return out
}
