package e2e_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sessionreplay/replay/storage"
)

// arrivals records what the handler was sent, by (window, seq): the events
// of each request, so a test can tell a resent batch from a different one.
type arrivals struct {
	mu   sync.Mutex
	seen map[string][]string // "window/seq" -> the events of each request, joined
}

func (a *arrivals) add(b ingestBody) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.seen == nil {
		a.seen = map[string][]string{}
	}
	var evs []string
	for _, e := range b.Events {
		evs = append(evs, string(e))
	}
	k := fmt.Sprintf("%s/%d", b.Window, b.Seq)
	a.seen[k] = append(a.seen[k], strings.Join(evs, "\n"))
}

// check asserts that every (window, seq) the handler stored was sent with
// the same events each time it was sent.
func (a *arrivals) check(t *testing.T) {
	t.Helper()
	a.mu.Lock()
	defer a.mu.Unlock()
	for k, bodies := range a.seen {
		for _, b := range bodies[1:] {
			assert.Equal(t, bodies[0], b, "%s sent again with other events", k)
		}
	}
}

// checkWindow asserts that the stored chunks of every window of a session
// have the seqs 0..n-1, and returns the number of chunks.
func checkWindow(t *testing.T, d *demoServer, id string) int {
	t.Helper()
	want := map[string]int{}
	n := 0
	for c, err := range d.Store.Chunks(context.Background(), storage.Key{Site: "demo", Session: id}, "") {
		require.NoError(t, err)
		assert.Equal(t, want[c.Window], c.Seq, "window %s: a gap before seq %d", c.Window, c.Seq)
		want[c.Window] = c.Seq + 1
		n++
	}
	return n
}

// checkOnce asserts that the custom events tag of the session are there
// once each, with payload n = 0, 1, ... in order, and that no event is
// stored twice.
func checkOnce(t *testing.T, evs []apiEvent, tag string, want int) {
	t.Helper()
	got := customEvents(evs, tag)
	require.Len(t, got, want, "%s events", tag)
	for i, p := range got {
		var payload struct{ N int }
		require.NoError(t, json.Unmarshal(p, &payload))
		assert.Equal(t, i, payload.N, "%s events in order", tag)
	}
	seen := map[string]bool{}
	for _, e := range evs {
		k := fmt.Sprintf("%d/%v/%s", e.Type, e.Timestamp, e.Data)
		assert.False(t, seen[k], "event stored twice: %.200s", k)
		seen[k] = true
	}
}

// TestRecorderSplitAtPagehideKeepsSeqs forces recorder.js to cut a batch at
// pagehide (three events of 20 KB: over the 60 000 bytes of one beacon).
// The page lives on (the pagehide of a page that is only hidden, then shown
// again) and records more: the stored window has no seq gap and no event
// twice, and what the page shows after the split is masked as usual, not
// in full as after a gap.
func TestRecorderSplitAtPagehideKeepsSeqs(t *testing.T) {
	var sent arrivals
	tab := newTab(t)
	d := startDemo(t, &demoOptions{SitesJSON: keepAllSites, Ingest: func(w http.ResponseWriter, r *http.Request, b ingestBody) bool {
		sent.add(b)
		return false
	}})
	do(t, tab, chromedp.Navigate(d.URL+"/"))
	id := waitRecording(t, tab)
	run(t, tab, chromedp.Evaluate[chromedp.Void](`replay.flush()`))
	d.waitSession(t, id, "the first batch", nil)

	run(t, tab, chromedp.Evaluate[chromedp.Void](`
		for (let i = 0; i < 3; i++) replay.event('big', {n: i, pad: 'x'.repeat(20000)});
		dispatchEvent(new PageTransitionEvent('pagehide', {persisted: true}));`))
	d.waitSession(t, id, "the pieces sent at pagehide", func(s apiSession) error {
		if s.Events["big"] != 3 {
			return fmt.Errorf("events %v, want big: 3", s.Events)
		}
		return nil
	})

	// Back on the page: what it shows now is recorded and masked as usual.
	run(t, tab, chromedp.Evaluate[chromedp.Void](`
		const p = document.createElement('p');
		p.id = 'after-split';
		p.textContent = 'Shown after the split';
		document.body.append(p);`))
	run(t, tab, chromedp.Poll[bool](`true`)) // the mutation observer runs
	run(t, tab, chromedp.Evaluate[chromedp.Void](`replay.event('after', {n: 0}); replay.flush()`))
	d.waitSession(t, id, "the batch after the split", func(s apiSession) error {
		if s.Events["after"] != 1 {
			return fmt.Errorf("events %v, want after: 1", s.Events)
		}
		return nil
	})

	evs := d.events(t, id)
	checkOnce(t, evs, "big", 3)
	assert.GreaterOrEqual(t, checkWindow(t, d, id), 4, "the first batch, two pieces, the batch after")
	sent.check(t)
	assert.True(t, strings.Contains(string(d.eventsJSON(t, id, "")), "Shown after the split"),
		"the text shown after the split is stored as it was: masking after the split is the usual one, not in full")
}

// TestRecorderHalvesOn413 makes the handler refuse with 413 every batch of
// more than one event that holds a "split" event: recorder.js halves the
// batch until the handler takes it, and the halves keep the window's seqs
// consecutive, so the stored window has no gap, every event once, and the
// batch after it is masked as usual.
func TestRecorderHalvesOn413(t *testing.T) {
	var (
		sent    arrivals
		mu      sync.Mutex
		refused int
	)
	tab := newTab(t)
	d := startDemo(t, &demoOptions{SitesJSON: keepAllSites, Ingest: func(w http.ResponseWriter, r *http.Request, b ingestBody) bool {
		if len(b.Events) > 1 {
			for _, e := range b.Events {
				if strings.Contains(string(e), `"tag":"split"`) {
					mu.Lock()
					refused++
					mu.Unlock()
					w.Header().Set("Content-Type", "application/json")
					w.WriteHeader(http.StatusRequestEntityTooLarge)
					fmt.Fprint(w, `{"error":"body: over the limit"}`)
					return true
				}
			}
		}
		sent.add(b)
		return false
	}})
	do(t, tab, chromedp.Navigate(d.URL+"/"))
	id := waitRecording(t, tab)
	run(t, tab, chromedp.Evaluate[chromedp.Void](`for (let i = 0; i < 4; i++) replay.event('split', {n: i}); replay.flush()`))
	d.waitSession(t, id, "the halves", func(s apiSession) error {
		if s.Events["split"] != 4 {
			return fmt.Errorf("events %v, want split: 4", s.Events)
		}
		return nil
	})
	run(t, tab, chromedp.Evaluate[chromedp.Void](`
		const p = document.createElement('p');
		p.textContent = 'Shown after the halving';
		document.body.append(p);`))
	run(t, tab, chromedp.Poll[bool](`true`))
	run(t, tab, chromedp.Evaluate[chromedp.Void](`replay.event('after', {n: 0}); replay.flush()`))
	d.waitSession(t, id, "the batch after", func(s apiSession) error {
		if s.Events["after"] != 1 {
			return fmt.Errorf("events %v, want after: 1", s.Events)
		}
		return nil
	})

	mu.Lock()
	assert.GreaterOrEqual(t, refused, 3, "the batch and its halves of two were refused")
	mu.Unlock()
	evs := d.events(t, id)
	checkOnce(t, evs, "split", 4)
	checkWindow(t, d, id)
	sent.check(t)
	assert.True(t, strings.Contains(string(d.eventsJSON(t, id, "")), "Shown after the halving"),
		"the text shown after the halving is stored as it was: masking is the usual one, not in full")
}
