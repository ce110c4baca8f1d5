package e2e_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// addEntriesMenu puts a data-table's "Show N entries" menu on the page
// before rrweb takes its first full snapshot.
const addEntriesMenu = `document.addEventListener('DOMContentLoaded', () => {
  const label = document.createElement('label');
  label.append('Show ');
  const s = document.createElement('select');
  s.id = 'entries';
  s.name = 'example_length';
  for (const n of ['10', '25', '50', '100']) s.add(new Option(n, n));
  label.append(s, ' entries');
  document.body.prepend(label);
});`

// TestPrivacySelectReplaysTheMenuNotTheChoice chooses "50" in a select
// with rrweb's masking turned off in the page: the store keeps the menu's
// labels and values but not the choice, and a replay of what is stored
// shows the menu without the user's choice.
func TestPrivacySelectReplaysTheMenuNotTheChoice(t *testing.T) {
	d := startDemo(t, &demoOptions{SitesJSON: keepAllSites})
	tab := newTab(t)
	do(t, tab, func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		for _, src := range []string{unmaskInBrowser, addEntriesMenu} {
			if _, err := cdp.Call(ctx, tg, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: src}); err != nil {
				return chromedp.Void{}, err
			}
		}
		return chromedp.Void{}, nil
	}, chromedp.Navigate(d.URL+"/"))
	id := waitRecording(t, tab)
	run(t, tab, chromedp.Evaluate[chromedp.Void](`(() => {
		const s = document.querySelector('#entries');
		s.value = '50';
		s.dispatchEvent(new Event('input', {bubbles: true}));
		s.dispatchEvent(new Event('change', {bubbles: true}));
	})()`))
	run(t, tab, chromedp.Evaluate[chromedp.Void](`replay.flush()`))

	var stored string
	eventually(t, waitTimeout, "the choice to be stored", func() error {
		code, body := d.do(t, http.MethodGet, "/v1/sites/demo/sessions/"+id+"/events")
		if code != http.StatusOK {
			return fmt.Errorf("GET events: %d %s", code, body)
		}
		stored = string(body)
		if !strings.Contains(stored, `"text":"**"`) {
			return fmt.Errorf("no masked Input event of the select stored yet")
		}
		return nil
	})
	assert.NotContains(t, stored, `"text":"50"`, "the choice is not stored")
	for _, s := range []string{`"value":"25"`, `"value":"100"`, `"textContent":"50"`, "entries"} {
		assert.Contains(t, stored, s, "the menu is stored")
	}

	player := replayToEnd(t, d, stored)
	got := run(t, player, chromedp.Evaluate[map[string]any](`(() => {
		const s = window.__r.iframe.contentDocument.querySelector('#entries');
		if (!s) return {missing: true};
		return {labels: [...s.options].map(o => o.textContent).join(','), values: [...s.options].map(o => o.value).join(','), value: s.value};
	})()`))
	require.NotContains(t, got, "missing", "the replay has the select")
	assert.Equal(t, "10,25,50,100", got["labels"], "the replay shows the menu's labels")
	assert.Equal(t, "10,25,50,100", got["values"], "and its values")
	assert.NotEqual(t, "50", got["value"], "but not the user's choice")
}
