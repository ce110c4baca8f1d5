package e2e_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The secrets typed into the demo's checkout. The card number is not the
// one in the card input's placeholder, so that finding it can only mean the
// typed value leaked.
const (
	visitName     = "Ada Lovelace"
	visitCard     = "4111 1111 1111 1111"
	visitPassword = "correct-horse-battery-staple" // longer than the others, see lastInput
)

// visitSession is the Session JSON with the page loads' window ids, in order
// of arrival.
type visitSession struct {
	apiSession
	WindowIDs []string `json:"windowIds"`
}

// visitReplay is what the dashboard's replay iframe shows, read by
// visitReplayJS.
type visitReplay struct {
	Page   string   // body[data-page] of the replayed page: shop or checkout
	Title  string   // the text of #title
	Cart   string   // the text of #cart-count
	Search string   // the value of #search
	Inputs []string // "id=value" of every input
	HTML   string   // the replayed document's markup
}

// visitReplayJS reads a visitReplay from the replay iframe, or null while
// the player has not rebuilt a page in it.
const visitReplayJS = `(() => {
  const f = document.querySelector('.replayer-wrapper iframe');
  const doc = f && f.contentDocument;
  if (!doc || !doc.body || !doc.body.dataset.page) return null;
  const text = (sel) => { const e = doc.querySelector(sel); return e ? e.textContent : ''; };
  const search = doc.querySelector('#search');
  return {
    Page: doc.body.dataset.page,
    Title: text('#title'),
    Cart: text('#cart-count'),
    Search: search ? search.value : '',
    Inputs: [...doc.querySelectorAll('input')].map((i) => i.id + '=' + i.value),
    HTML: doc.documentElement.outerHTML,
  };
})()`

// TestVisitRecordedListedAndReplayed is the first proof of issue 5, whole: a
// visit of the demo shop in Chromium (three clicks on "Add to cart", a word
// typed into the unmasked search box, a pushState navigation to a product,
// then a page load to the checkout where a name, a card number and a
// password are typed) is recorded by recorder.js, listed by the read API
// with two windows, its three pages and five clicks, and replayed by the
// dashboard's player: the end of the first page load shows the cart count
// after the clicks and the typed word, and the checkout shows the card
// number and the password nowhere, its inputs masked with '*'.
func TestVisitRecordedListedAndReplayed(t *testing.T) {
	d := startDemo(t, &demoOptions{SitesJSON: keepAllSites})

	// The visit.
	tab := newTab(t)
	do(t, tab, chromedp.Navigate(d.URL+"/"))
	id := waitRecording(t, tab)
	do(t, tab,
		chromedp.Click(chromedp.CSS("#card-mug button.add")),
		chromedp.Click(chromedp.CSS("#card-tee button.add")),
		chromedp.Click(chromedp.CSS("#card-socks button.add")),
	)
	require.Equal(t, "3", run(t, tab, chromedp.Text(chromedp.CSS("#cart-count"))), "the cart counter after three clicks")
	do(t, tab,
		chromedp.SendKeys(chromedp.CSS("#search"), "mug"),
		chromedp.WaitNotPresent(chromedp.CSS("#card-tee")),   // the search filtered the grid
		chromedp.Click(chromedp.CSS("#card-mug .card-link")), // pushState to /product/mug
		chromedp.WaitVisible(chromedp.CSS("#add-product")),
	)
	require.Equal(t, "/product/mug", run(t, tab, chromedp.Evaluate[string](`location.pathname`)))
	do(t, tab,
		chromedp.Click(chromedp.CSS("#cart")), // a page load: pagehide sends window 1
		chromedp.WaitVisible(chromedp.CSS("#card")),
	)
	require.Equal(t, id, waitRecording(t, tab), "one visit over two page loads")
	do(t, tab,
		chromedp.SendKeys(chromedp.CSS("#name"), visitName),
		chromedp.SendKeys(chromedp.CSS("#card"), visitCard),
		chromedp.SendKeys(chromedp.CSS("#password"), visitPassword),
		chromedp.Navigate("about:blank"), // pagehide sends window 2
	)

	// The read API lists it with the facts of the visit. The password is
	// typed last and is longer than the other inputs: once its whole masked
	// value is stored, so is all the typing.
	lastInput := `"text":"` + strings.Repeat("*", len(visitPassword)) + `"`
	var s visitSession
	eventually(t, waitTimeout, "the visit listed with both windows and the checkout's typing", func() error {
		code, body := d.do(t, http.MethodGet, "/v1/sites/demo/sessions")
		if code != http.StatusOK {
			return fmt.Errorf("list: %d %s", code, body)
		}
		var page struct{ Sessions []visitSession }
		if err := json.Unmarshal(body, &page); err != nil {
			t.Fatalf("list JSON: %v: %s", err, body)
		}
		i := slices.IndexFunc(page.Sessions, func(s visitSession) bool { return s.ID == id })
		if i < 0 {
			return fmt.Errorf("session %s not listed (%d sessions)", id, len(page.Sessions))
		}
		s = page.Sessions[i]
		if s.Windows != 2 || len(s.WindowIDs) != 2 || len(s.Pages) < 3 || s.Clicks < 5 {
			return fmt.Errorf("windows %d %v, pages %v, clicks %d", s.Windows, s.WindowIDs, s.Pages, s.Clicks)
		}
		if !strings.Contains(string(d.eventsJSON(t, id, "")), lastInput) {
			return fmt.Errorf("the password's input event is not stored yet")
		}
		return nil
	})
	assert.Equal(t, "kept", s.State)
	assert.Equal(t, 2, s.Windows, "two page loads")
	assert.Equal(t, []string{d.URL + "/", d.URL + "/product/mug", d.URL + "/checkout"}, s.Pages, "the pages, the pushState navigation included")
	assert.Equal(t, 5, s.Clicks, "three Add to cart buttons, the product link, the cart link")
	assert.Equal(t, 3, s.Events["add-to-cart"])
	shopWindow := visitWindow(t, d, id, s.WindowIDs, d.URL+"/")
	checkoutWindow := visitWindow(t, d, id, s.WindowIDs, d.URL+"/checkout")

	events := string(d.eventsJSON(t, id, ""))
	for _, secret := range visitSecrets() {
		assert.NotContains(t, events, secret, "a typed secret in the stored events")
	}

	// The dashboard lists it and replays it.
	b := dashTab(t)
	b.signIn(t, &dashEnv{URL: d.URL}, d.Token) // signIn only needs the server's URL
	b.waitJS(t, "the visit in the session list", fmt.Sprintf(`document.querySelector('tr.session[data-id=%q]')`, id))

	// Page load 1, at its end: the product page reached by pushState, the
	// cart count after the three clicks, the typed word in the search box.
	shop := visitReplayEnd(t, b, id, shopWindow, func(r visitReplay) error {
		if r.Page != "shop" || r.Title != "Gopher Mug" {
			return fmt.Errorf("page %q, title %q: not yet the product page", r.Page, r.Title)
		}
		return nil
	})
	assert.Equal(t, "3", shop.Cart, "the replayed cart counter at the end of page load 1")
	assert.Equal(t, "mug", shop.Search, "the replayed search box: the site's unmaskSelector covers it")

	// Page load 2, at its end: the inputs were typed into, masked.
	checkout := visitReplayEnd(t, b, id, checkoutWindow, func(r visitReplay) error {
		want := "name=" + strings.Repeat("*", len(visitName))
		if r.Page != "checkout" || !slices.Contains(r.Inputs, want) {
			return fmt.Errorf("page %q, inputs %q: not yet the checkout with %s", r.Page, r.Inputs, want)
		}
		return nil
	})
	assertMaskedInput(t, checkout.Inputs, "card", visitCard)
	assertMaskedInput(t, checkout.Inputs, "password", visitPassword)
	assert.Contains(t, checkout.HTML, "Card number", "the replayed checkout form")
	replayed := checkout.HTML + "\n" + strings.Join(checkout.Inputs, "\n")
	for _, secret := range visitSecrets() {
		assert.NotContains(t, replayed, secret, "a typed secret in the replayed checkout")
	}
	assert.Zero(t, b.dialogs.Load(), "dialogs opened")
}

// visitSecrets returns the typed secrets in the forms a leak could take.
func visitSecrets() []string {
	return []string{visitName, visitCard, strings.ReplaceAll(visitCard, " ", ""), visitPassword}
}

// assertMaskedInput asserts that the replayed input id (in inputs, as
// "id=value") holds as many characters as were typed, all '*' but
// whitespace (the browser masks whitespace too, the server keeps it).
func assertMaskedInput(t *testing.T, inputs []string, id, typed string) {
	t.Helper()
	i := slices.IndexFunc(inputs, func(in string) bool { return strings.HasPrefix(in, id+"=") })
	if !assert.GreaterOrEqual(t, i, 0, "no input #%s in the replay: %q", id, inputs) {
		return
	}
	value := strings.TrimPrefix(inputs[i], id+"=")
	assert.Regexp(t, `^[*\s]*$`, value, "the replayed #%s is masked", id)
	assert.Equal(t, len(typed), len(value), "the replayed #%s holds every typed character, masked: %q", id, value)
}

// visitWindow returns the window of session id whose page load (its Meta
// event) is href.
func visitWindow(t *testing.T, d *demoServer, id string, windows []string, href string) string {
	t.Helper()
	for _, w := range windows {
		var evs []apiEvent
		require.NoError(t, json.Unmarshal(d.eventsJSON(t, id, w), &evs))
		for _, e := range evs {
			var meta struct{ Href string }
			if e.Type == 4 && json.Unmarshal(e.Data, &meta) == nil && meta.Href == href {
				return w
			}
		}
	}
	t.Fatalf("no window of %v loads %s", windows, href)
	return ""
}

// visitReplayEnd opens the dashboard's player on one window of session id,
// seeks to its end with the player's goto, and returns what the replay
// iframe then shows, once ready accepts it.
func visitReplayEnd(t *testing.T, b *dashBrowser, id, window string, ready func(visitReplay) error) visitReplay {
	t.Helper()
	// The route is changed in place: the token stays in sessionStorage and
	// the player of the previous route is replaced.
	b.eval(t, fmt.Sprintf(`(window.__previousPlayer = app.player && app.player.instance, location.hash = %q, true)`,
		"#/session/"+id+"&window="+window), nil)
	b.waitJS(t, "the player of window "+window, `location.hash.endsWith('&window=`+window+`') && app.player && app.player.instance &&
		app.player.instance !== window.__previousPlayer && document.querySelector('.replayer-wrapper iframe')`)
	// rrweb's Replayer applies at once the events strictly before the
	// offset it pauses at: one past the last event is the end.
	b.eval(t, `(() => { const p = app.player.instance; p.goto(p.getMetaData().totalTime + 1, false); return true; })()`, nil)
	var r visitReplay
	eventually(t, waitTimeout, "the end of the replay of window "+window, func() error {
		v, err := chromedp.Run(b.ctx, chromedp.Evaluate[*visitReplay](visitReplayJS))
		if err != nil {
			return err
		}
		if v == nil {
			return fmt.Errorf("no replayed page in the player's iframe")
		}
		r = *v
		return ready(r)
	})
	return r
}
