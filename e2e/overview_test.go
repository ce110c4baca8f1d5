package e2e_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sessionreplay/replay/storage"
)

// TestDashboardOverview stores sessions over the last weeks and opens the
// list: the chart above it counts the sessions of the list's filters per
// day of the last 14 (kept and pending stacked, errors marked), and
// clicking a day lists that day's sessions, counted per hour.
func TestDashboardOverview(t *testing.T) {
	env := dashStart(t)
	store := env.rec.Store()
	now := time.Now()
	// The reader's days: local midnight today, as the dashboard counts.
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, now.Location())
	perDay := []int{3, 5, 2, 0, 4, 6, 8, 5, 3, 7, 9, 4, 6, 5} // 13 days ago .. today
	pages := []string{"https://shop.example/", "https://shop.example/teas/sencha", "https://shop.example/cart", "https://shop.example/checkout"}
	devices := []string{"desktop", "mobile", "desktop", "tablet"}
	var kept, pending, errs, threeDaysAgo int
	n := 0
	for d, count := range perDay {
		day := today.AddDate(0, 0, d-13)
		for i := range count {
			n++
			s := storage.Session{
				ID: fmt.Sprintf("overview-%02d-%02d-session", d, i), Site: "demo", State: storage.StateKept,
				Start: day.Add(time.Duration(9+i) * time.Hour).Add(time.Duration(n*7) * time.Minute), DurationMs: int64(30_000 + n*4_000),
				Pages: pages[:1+n%len(pages)], EntryURL: pages[0], Device: devices[n%len(devices)], OS: "Linux", Browser: "Chrome",
				Clicks: n % 9, Windows: 1, MatchedRules: []string{"checkout"}, Ended: true,
			}
			s.ActiveMs = s.DurationMs / 3
			if n%3 == 0 {
				s.OS, s.Browser = "iOS", "Safari"
			}
			if s.Start.After(now) {
				s.Start = now.Add(-time.Duration(i+1) * time.Minute)
			}
			if n%4 == 0 {
				s.State, s.MatchedRules = storage.StatePending, nil
				pending++
			} else {
				kept++
			}
			if n%5 == 0 {
				s.Errors, s.ErrorMessages = 1, []string{"TypeError: price is undefined"}
				errs++
			}
			if d == 10 {
				threeDaysAgo++
			}
			require.NoError(t, store.PutSession(t.Context(), s))
		}
	}
	// Outside the 14 days, and another site: not counted.
	require.NoError(t, store.PutSession(t.Context(), storage.Session{ID: "overview-old-session", Site: "demo", State: storage.StateKept, Start: today.AddDate(0, 0, -20)}))

	b := dashTab(t)
	b.signIn(t, env, dashToken)
	b.waitJS(t, "the list", `document.querySelector('tr.session')`)
	b.run(t, chromedp.Navigate(env.URL+"/replay/?site=demo&state=all"))
	b.waitJS(t, "the overview of 14 days", `document.querySelectorAll('#overview-chart .bar').length === 14`)
	sum := func(attr string) int {
		var v int
		b.eval(t, `[...document.querySelectorAll('#overview-chart .bar')].reduce((n, g) => n + Number(g.dataset.`+attr+`), 0)`, &v)
		return v
	}
	assert.Equal(t, kept, sum("kept"))
	assert.Equal(t, pending, sum("pending"))
	assert.Equal(t, errs, sum("errors"))
	var perBar []int
	b.eval(t, `[...document.querySelectorAll('#overview-chart .bar')].map((g) => Number(g.dataset.kept) + Number(g.dataset.pending))`, &perBar)
	assert.Equal(t, perDay, perBar, "one bar a day, oldest first")
	var marks int
	b.eval(t, `document.querySelectorAll('#overview-chart .bar.has-errors circle.errors').length`, &marks)
	assert.Positive(t, marks, "errors are marked")
	var legend string
	b.eval(t, `document.querySelector('#overview .legend').innerText`, &legend)
	assert.Contains(t, legend, fmt.Sprintf("%d kept", kept))
	b.waitJS(t, "the list of 50", `document.querySelectorAll('tr.session').length === 50`)
	time.Sleep(200 * time.Millisecond)
	b.screenshot(t, "overview.png")

	// The list's filters apply: kept only.
	b.run(t, chromedp.Navigate(env.URL+"/replay/?site=demo"))
	b.waitJS(t, "the overview of kept sessions", `document.querySelectorAll('#overview-chart .bar').length === 14 && [...document.querySelectorAll('#overview-chart .bar')].every((g) => g.dataset.pending === '0')`)
	assert.Equal(t, kept, sum("kept"))

	// Clicking the bar of three days ago lists that day, counted per hour.
	b.run(t, chromedp.Navigate(env.URL+"/replay/?site=demo&state=all"))
	b.waitJS(t, "the overview", `document.querySelectorAll('#overview-chart .bar').length === 14`)
	b.eval(t, `document.querySelectorAll('#overview-chart .bar')[10].dispatchEvent(new MouseEvent('click', {bubbles: true})), true`, nil)
	from := today.AddDate(0, 0, -3).UTC().Format(time.RFC3339)
	b.waitJS(t, "the day in the URL", `new URLSearchParams(location.search).get('from') === '`+from+`'`)
	b.waitJS(t, "the sessions of that day", fmt.Sprintf(`document.querySelectorAll('tr.session').length === %d`, threeDaysAgo))
	b.waitJS(t, "the day per hour", `document.querySelectorAll('#overview-chart .bar').length === 24`)
	assert.Equal(t, threeDaysAgo, sum("kept")+sum("pending"))
	var state string
	b.eval(t, `new URLSearchParams(location.search).get('state')`, &state)
	assert.Equal(t, "all", state, "the other filters stay")
	assert.Zero(t, b.dialogs.Load())
}
