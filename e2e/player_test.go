package e2e_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sessionreplay/replay/storage"
)

// dashPostConsole stores a session of ten seconds with a console of every
// level at known moments (posted to ingest like a browser would) and
// returns its id:
//
//	1 s log, 2 s warn, 3 s console.error, 4 s uncaught error ($error), 6 s info
func dashPostConsole(t *testing.T, env *dashEnv) string {
	t.Helper()
	const id = "console-session-0001"
	now := float64(time.Now().Add(-time.Minute).UnixMilli())
	text := func(s string, id int) map[string]any { return map[string]any{"type": 3, "textContent": s, "id": id} }
	elem := func(tag string, id int, children ...map[string]any) map[string]any {
		if children == nil {
			children = []map[string]any{}
		}
		return map[string]any{"type": 2, "tagName": tag, "attributes": map[string]any{}, "childNodes": children, "id": id}
	}
	doc := map[string]any{"type": 0, "id": 1, "childNodes": []map[string]any{
		{"type": 1, "name": "html", "publicId": "", "systemId": "", "id": 2},
		elem("html", 3, elem("head", 4), elem("body", 5, elem("h1", 6, text("Console page", 7)), elem("p", 8, text("Step one", 9)))),
	}}
	console := func(at float64, level string, args ...string) map[string]any {
		payload := make([]string, len(args))
		for i, a := range args {
			b, _ := json.Marshal(a)
			payload[i] = string(b)
		}
		return map[string]any{"type": 6, "timestamp": now + at, "data": map[string]any{"plugin": "rrweb/console@1", "payload": map[string]any{
			"level": level, "trace": []string{"at checkout (https://shop.example/app.js:10:5)"}, "payload": payload}}}
	}
	events := []map[string]any{
		{"type": 4, "timestamp": now, "data": map[string]any{"href": "https://shop.example/console", "width": 1024, "height": 600}},
		{"type": 2, "timestamp": now + 5, "data": map[string]any{"node": doc, "initialOffset": map[string]any{"left": 0, "top": 0}}},
		console(1000, "log", "cart loaded", "3 items"),
		console(2000, "warn", "slow response from /api/stock"),
		console(3000, "error", "checkout failed: E42"),
		{"type": 5, "timestamp": now + 4000, "data": map[string]any{"tag": "$error", "payload": map[string]any{
			"message": "Uncaught TypeError: price is undefined", "stack": "TypeError: price is undefined\n    at pay (app.js:20:3)", "source": "https://shop.example/app.js:20:3"}}},
		console(6000, "info", "retrying payment"),
		{"type": 3, "timestamp": now + 8000, "data": map[string]any{"source": 0, "texts": []map[string]any{{"id": 9, "value": "Step two"}},
			"removes": []any{}, "attributes": []any{}, "adds": []any{}}},
		{"type": 3, "timestamp": now + 10000, "data": map[string]any{"source": 1, "positions": []map[string]any{{"x": 10, "y": 10, "id": 6, "timeOffset": 0}}}},
	}
	body, err := json.Marshal(map[string]any{"site": "demo", "session": id, "window": "w1", "seq": 0, "events": events, "attrs": map[string]string{}})
	require.NoError(t, err)
	// The errors rule keeps it.
	resp, err := http.Post(env.URL+"/replay/v1/ingest", "text/plain;charset=UTF-8", bytes.NewReader(body))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	env.waitSession(t, id, "kept", func(s storage.Session) bool { return s.State == storage.StateKept })
	return id
}

// TestDashboardConsoleAndDeepLinks opens a session with a recorded console:
// the console panel beside the player lists it by level with filters, a
// click seeks there, the current line follows the replay; a link with
// &t=SECONDS opens the replay at that moment, forged moments are clamped,
// and "copy link at this moment" gives the link of where the replay is.
func TestDashboardConsoleAndDeepLinks(t *testing.T) {
	env := dashStart(t)
	id := dashPostConsole(t, env)
	b := dashTab(t)
	b.signIn(t, env, dashToken)
	b.waitJS(t, "the list", `document.querySelector('tr.session')`)

	player := env.URL + "/replay/?site=demo#/session/" + id
	// Opening a link to 2.5 s: paused there, the warning is the current line.
	b.run(t, chromedp.Navigate("about:blank"), chromedp.Navigate(player+"&t=2.5"))
	b.waitJS(t, "the replay", `(`+dashReplayed+`).includes('Console page')`)
	b.waitJS(t, "the console panel", `document.querySelectorAll('#console .line').length === 5`)
	var lines []string
	b.eval(t, `[...document.querySelectorAll('#console .line')].map((li) => li.dataset.level + ' ' + li.innerText.replace(/\s+/g, ' '))`, &lines)
	require.Len(t, lines, 5)
	assert.Contains(t, lines[0], "log 0:01 cart loaded 3 items")
	assert.Contains(t, lines[1], "warn 0:02 slow response from /api/stock")
	assert.Contains(t, lines[2], "error 0:03 checkout failed: E42")
	assert.Contains(t, lines[3], "error 0:04 Uncaught TypeError: price is undefined")
	assert.Contains(t, lines[4], "info 0:06 retrying payment")
	b.waitJS(t, "who viewed it: this read, by the bearer token", `document.querySelector('#views')?.innerText.includes('bearer token')`)
	b.waitJS(t, "the warning as the current line at 2.5 s", `document.querySelector('#console .line.current')?.dataset.offset === '2000'`)
	var state string
	b.eval(t, `location.hash`, &state)
	assert.Equal(t, "#/session/"+id+"&t=2.5", state)

	// Level filters.
	b.run(t, chromedp.Click(chromedp.CSS(`#console input[name=level-log]`)))
	var shown []string
	b.eval(t, `[...document.querySelectorAll('#console .line:not([hidden])')].map((li) => li.dataset.level)`, &shown)
	assert.Equal(t, []string{"warn", "error", "error"}, shown, "logs filtered out")
	b.run(t, chromedp.Click(chromedp.CSS(`#console input[name=level-error]`)))
	b.eval(t, `[...document.querySelectorAll('#console .line:not([hidden])')].map((li) => li.dataset.level)`, &shown)
	assert.Equal(t, []string{"warn"}, shown, "errors filtered out too")
	var labels string
	b.eval(t, `document.querySelector('#console .console-filters').innerText.replace(/\s+/g, ' ')`, &labels)
	assert.Contains(t, labels, "Errors (2)")
	assert.Contains(t, labels, "Warnings (1)")
	assert.Contains(t, labels, "Logs (2)")
	b.run(t, chromedp.Click(chromedp.CSS(`#console input[name=level-log]`)), chromedp.Click(chromedp.CSS(`#console input[name=level-error]`)))

	// A click seeks there; the copied link is that moment.
	b.eval(t, `document.querySelectorAll('#console .line')[3].click(), true`, nil)
	b.waitJS(t, "the uncaught error as the current line", `document.querySelector('#console .line.current')?.dataset.offset === '4000'`)
	b.run(t, chromedp.Click(chromedp.CSS(`#copy-moment`)))
	b.waitJS(t, "the link", `document.querySelector('#moment-link').value !== ''`)
	var link string
	b.eval(t, `document.querySelector('#moment-link').value`, &link)
	assert.Equal(t, player+"&t=4.0", link)

	// Playing moves the current line along.
	b.eval(t, `document.querySelectorAll('#console .line')[0].click(), true`, nil)
	b.waitJS(t, "the log as the current line", `document.querySelector('#console .line.current')?.dataset.offset === '1000'`)
	b.eval(t, `document.querySelector('.rr-controller__btns button').click(), true`, nil) // play
	b.waitJS(t, "the current line to follow playback", `Number(document.querySelector('#console .line.current')?.dataset.offset) >= 3000`)

	// Forged moments are clamped: past the end, negative, not a number,
	// markup. The hash changes in the same page, then in a new load.
	for _, c := range []struct{ t, want string }{
		{"99999", "10.0"}, {"-4", "0.0"}, {"abc", "0.0"}, {"1e999", "10.0"},
		{"%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E", "0.0"}, {"%E0%A4%A", "0.0"}, {"7.25", "7.3"},
	} {
		b.run(t, chromedp.Navigate(player+"&t="+c.t))
		b.waitJS(t, "the clamped moment of t="+c.t, `location.hash === '#/session/`+id+`&t=`+c.want+`'`)
	}
	b.run(t, chromedp.Navigate("about:blank"), chromedp.Navigate(player+"&t=99999"))
	b.waitJS(t, "the replay at its end", `(`+dashReplayed+`).includes('Step two')`)
	b.waitJS(t, "the clamped moment", `location.hash === '#/session/`+id+`&t=10.0'`)
	b.waitJS(t, "two reads in the viewer list", `document.querySelectorAll('#views .view').length === 2`)
	b.waitJS(t, "the last line as current at the end", `document.querySelector('#console .line.current')?.dataset.offset === '6000'`)
	var imgs int
	b.eval(t, `document.querySelectorAll('img').length`, &imgs)
	assert.Zero(t, imgs)
	assert.Zero(t, b.dialogs.Load(), "dialogs opened")
	var text string
	b.eval(t, `document.querySelector('#console').innerText`, &text)
	assert.True(t, strings.Contains(text, "checkout failed: E42"))
}
