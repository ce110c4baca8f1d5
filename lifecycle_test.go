package replay

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sessionreplay/replay/storage"
	"github.com/sessionreplay/replay/storage/filestore"
	"github.com/sessionreplay/replay/storage/memstore"
)

// fakeClock is the server clock of a test Recorder.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// demoRules are the two rules of the seed: keep visits that hit an error,
// and visits that went to checkout but never reached the thank-you page.
func demoRules() Targeting {
	return Targeting{
		Rules: []Rule{
			{Name: "errors", When: Cond{Error: true}},
			{Name: "abandoned checkout", When: Cond{All: []Cond{{Visited: "/checkout*"}, {Not: &Cond{Visited: "/thank-you*"}}}}},
		},
		IdleTimeout: 10 * time.Minute,
	}
}

type lifecycleEnv struct {
	t     *testing.T
	store storage.Store
	clock *fakeClock
	rec   *Recorder
	site  *Site
}

func newLifecycleEnv(t *testing.T, store storage.Store, site *Site, clock *fakeClock) *lifecycleEnv {
	t.Helper()
	if site.ID == "" {
		site.ID = "shop"
	}
	sites, err := NewStaticSites(site)
	require.NoError(t, err)
	rec, err := New(store, sites, &Options{Now: clock.Now})
	require.NoError(t, err)
	return &lifecycleEnv{t: t, store: store, clock: clock, rec: rec, site: site}
}

func newMemEnv(t *testing.T, tg Targeting) *lifecycleEnv {
	return newLifecycleEnv(t, memstore.New(), &Site{ID: "shop", Targeting: tg}, newFakeClock())
}

// send ingests a batch with a desktop browser's User-Agent unless ua is set.
func (e *lifecycleEnv) send(session, window string, seq int, events ...string) Result {
	e.t.Helper()
	return e.sendUA(uaDesktop, session, window, seq, events...)
}

func (e *lifecycleEnv) sendUA(ua, session, window string, seq int, events ...string) Result {
	e.t.Helper()
	res, err := e.rec.Ingest(context.Background(), mkBatch(e.t, session, window, seq, events...), Client{UserAgent: ua})
	require.NoError(e.t, err)
	return res
}

// stored returns the session's metadata as stored, tombstones included.
func (e *lifecycleEnv) stored(session string) (storage.Session, bool) {
	e.t.Helper()
	s, err := e.store.Session(context.Background(), storage.Key{Site: "shop", Session: session})
	if err != nil {
		require.ErrorIs(e.t, err, storage.ErrNotFound)
		return storage.Session{}, false
	}
	return s, true
}

func (e *lifecycleEnv) state(session string) storage.State {
	e.t.Helper()
	s, ok := e.stored(session)
	if !ok {
		return ""
	}
	return s.State
}

// events returns how many events of the session can be read back.
func (e *lifecycleEnv) events(session string) int {
	e.t.Helper()
	var buf bytes.Buffer
	if err := e.rec.Events(context.Background(), "shop", session, "", &buf); err != nil {
		require.ErrorIs(e.t, err, storage.ErrNotFound)
		return -1
	}
	var evs []json.RawMessage
	require.NoError(e.t, json.Unmarshal(buf.Bytes(), &evs))
	return len(evs)
}

func (e *lifecycleEnv) sweep() SweepStats {
	e.t.Helper()
	st, err := e.rec.Sweep(context.Background(), e.clock.Now())
	require.NoError(e.t, err)
	return st
}

func TestLifecycleSeedVisitWithErrorIsKept(t *testing.T) {
	e := newMemEnv(t, demoRules())
	res := e.send("visit-err1", "w1", 0, metaEv(0, "https://shop.example/"), fullEv(1), moveEv(100))
	assert.True(t, res.Record)
	assert.Equal(t, storage.StatePending, e.state("visit-err1"), "no rule decided yet")

	res = e.send("visit-err1", "w1", 1, jsErrorEv(2000, "TypeError: boom"))
	assert.True(t, res.Record)
	s, _ := e.stored("visit-err1")
	assert.Equal(t, storage.StateKept, s.State)
	assert.Equal(t, []string{"errors"}, s.MatchedRules)
	assert.Equal(t, 4, e.events("visit-err1"), "the batches before the decision are kept too")
}

func TestLifecycleSeedAbandonedCheckoutIsDecidedWhenItEnds(t *testing.T) {
	e := newMemEnv(t, demoRules())
	// Abandoned: went to checkout, never to thank-you.
	e.send("abandoned", "w1", 0, metaEv(0, "https://shop.example/"), fullEv(1))
	e.send("abandoned", "w2", 0, metaEv(5000, "https://shop.example/checkout"), fullEv(5001))
	// Converted: reached thank-you.
	e.send("converted", "w1", 0, metaEv(0, "https://shop.example/checkout"), fullEv(1))
	e.send("converted", "w2", 0, metaEv(9000, "https://shop.example/thank-you?order=1"), fullEv(9001))
	assert.Equal(t, storage.StatePending, e.state("abandoned"), "not visited /thank-you is not yet known while live")
	assert.Equal(t, storage.StatePending, e.state("converted"), "the errors rule can still hold")

	e.clock.Advance(9 * time.Minute)
	assert.Equal(t, SweepStats{}, e.sweep(), "nothing is idle yet")

	e.clock.Advance(2 * time.Minute)
	st := e.sweep()
	assert.Equal(t, SweepStats{Ended: 2, Kept: 1, Dropped: 1}, st)

	s, _ := e.stored("abandoned")
	assert.Equal(t, storage.StateKept, s.State)
	assert.True(t, s.Ended)
	assert.Equal(t, []string{"abandoned checkout"}, s.MatchedRules)
	assert.Equal(t, 4, e.events("abandoned"))

	assert.Equal(t, storage.StateDropped, e.state("converted"), "a tombstone stays")
	assert.Equal(t, -1, e.events("converted"), "its events are gone")
	_, err := e.rec.Session(context.Background(), "shop", "converted")
	assert.ErrorIs(t, err, storage.ErrNotFound)
	res := e.send("converted", "w3", 0, metaEv(700_000, "https://shop.example/"))
	assert.False(t, res.Record, "later batches are refused")
	assert.Equal(t, -1, e.events("converted"))
	refused, err := e.rec.Refuses(context.Background(), "shop", "converted")
	require.NoError(t, err)
	assert.True(t, refused)

	assert.Equal(t, SiteStats{Kept: 1, Dropped: 1}, e.rec.Stats()["shop"])
}

func TestLifecycleDecidingEventInALaterBatch(t *testing.T) {
	e := newMemEnv(t, Targeting{Rules: []Rule{{Name: "signup", When: Cond{Event: "signup"}}}})
	for seq := range 3 {
		res := e.send("later-evt", "w1", seq, moveEv(seq*1000))
		assert.True(t, res.Record)
		assert.Equal(t, storage.StatePending, e.state("later-evt"))
	}
	e.send("later-evt", "w2", 0, customEv(9000, "signup", `{}`))
	s, _ := e.stored("later-evt")
	assert.Equal(t, storage.StateKept, s.State)
	assert.Equal(t, []string{"signup"}, s.MatchedRules)
	assert.Equal(t, 4, e.events("later-evt"))
}

func TestLifecycleMatchedRulesGrowAfterKept(t *testing.T) {
	tg := Targeting{Rules: []Rule{
		{Name: "errors", When: Cond{Error: true}},
		{Name: "signup", When: Cond{Event: "signup"}},
		{Name: "long", When: Cond{MinDuration: 30 * time.Second}},
		{Name: "abandoned", When: Cond{All: []Cond{{Visited: "/checkout*"}, {Not: &Cond{Visited: "/thank-you*"}}}}},
	}}
	e := newMemEnv(t, tg)
	e.send("grow-0001", "w1", 0, metaEv(0, "https://shop.example/checkout"), jsErrorEv(10, "x"))
	s, _ := e.stored("grow-0001")
	assert.Equal(t, []string{"errors"}, s.MatchedRules)
	e.send("grow-0001", "w1", 1, customEv(40_000, "signup", `{}`))
	s, _ = e.stored("grow-0001")
	assert.Equal(t, []string{"errors", "signup", "long"}, s.MatchedRules)

	e.clock.Advance(time.Hour)
	assert.Equal(t, SweepStats{Ended: 1}, e.sweep())
	s, _ = e.stored("grow-0001")
	assert.Equal(t, []string{"errors", "signup", "long", "abandoned"}, s.MatchedRules, "rules that hold only at the end are listed too")
	assert.Equal(t, storage.StateKept, s.State)
}

func TestLifecycleStartFactsDropOnTheFirstBatch(t *testing.T) {
	e := newMemEnv(t, Targeting{Rules: []Rule{{Name: "mobile", When: Cond{Device: "mobile"}}}})
	res := e.sendUA(uaDesktop, "desktop-01", "w1", 0, metaEv(0, "https://shop.example/"))
	assert.False(t, res.Record)
	assert.Equal(t, 1, res.Accepted)
	assert.Equal(t, storage.StateDropped, e.state("desktop-01"))
	assert.False(t, e.send("desktop-01", "w1", 1, moveEv(10)).Record)
	assert.Equal(t, -1, e.events("desktop-01"))

	res = e.sendUA(uaIPhone, "iphone-001", "w1", 0, metaEv(0, "https://shop.example/"))
	assert.True(t, res.Record)
	assert.Equal(t, storage.StateKept, e.state("iphone-001"))
}

func TestLifecycleNoRulesKeepsEverySession(t *testing.T) {
	e := newMemEnv(t, Targeting{})
	assert.True(t, e.send("norules-1", "w1", 0, moveEv(0)).Record)
	s, _ := e.stored("norules-1")
	assert.Equal(t, storage.StateKept, s.State)
	assert.Empty(t, s.MatchedRules)
}

func TestLifecycleSweepEndsSessionsPastMaxDuration(t *testing.T) {
	tg := demoRules()
	tg.MaxDuration = time.Hour
	e := newMemEnv(t, tg)
	e.send("long-0001", "w1", 0, metaEv(0, "https://shop.example/checkout"))
	for i := range 6 {
		e.clock.Advance(9 * time.Minute) // never idle
		e.send("long-0001", "w1", i+1, moveEv(i+1))
		assert.Equal(t, 0, e.sweep().Ended)
	}
	e.clock.Advance(9 * time.Minute) // 63 min since the first batch
	e.send("long-0001", "w1", 7, moveEv(7))
	assert.Equal(t, SweepStats{Ended: 1, Kept: 1}, e.sweep())
	assert.Equal(t, storage.StateKept, e.state("long-0001"))
}

func TestLifecycleSweepDeletesPastRetention(t *testing.T) {
	e := newLifecycleEnv(t, memstore.New(), &Site{ID: "shop", Retention: 24 * time.Hour, Targeting: demoRules()}, newFakeClock())
	e.send("old-err01", "w1", 0, jsErrorEv(0, "x"))
	e.send("old-drop1", "w1", 0, metaEv(0, "https://shop.example/thank-you"))
	e.clock.Advance(time.Hour)
	assert.Equal(t, SweepStats{Ended: 2, Kept: 0, Dropped: 1}, e.sweep())
	e.clock.Advance(24 * time.Hour)
	assert.Equal(t, SweepStats{Expired: 2}, e.sweep(), "the kept session and the tombstone")
	_, ok := e.stored("old-err01")
	assert.False(t, ok)
	_, ok = e.stored("old-drop1")
	assert.False(t, ok)
}

func TestLifecycleEndedSessionThatComesBackStaysDecided(t *testing.T) {
	e := newMemEnv(t, demoRules())
	e.send("back-0001", "w1", 0, metaEv(0, "https://shop.example/checkout"))
	e.clock.Advance(time.Hour)
	e.sweep()
	assert.Equal(t, storage.StateKept, e.state("back-0001"))
	// The browser comes back and reaches thank-you: the session was kept
	// when it ended, and stays kept.
	assert.True(t, e.send("back-0001", "w2", 0, metaEv(3_600_000, "https://shop.example/thank-you")).Record)
	s, _ := e.stored("back-0001")
	assert.Equal(t, storage.StateKept, s.State)
	assert.False(t, s.Ended)
}

func TestLifecycleDisabledSiteRecordsNothing(t *testing.T) {
	e := newLifecycleEnv(t, memstore.New(), &Site{ID: "shop", Disabled: true}, newFakeClock())
	_, err := e.rec.Ingest(context.Background(), mkBatch(t, "disabled1", "w1", 0, moveEv(0)), Client{})
	assert.ErrorIs(t, err, ErrSiteDisabled)
	_, ok := e.stored("disabled1")
	assert.False(t, ok)
	cfg, err := e.rec.Config(context.Background(), "shop", "disabled1", Client{})
	require.NoError(t, err)
	assert.False(t, cfg.Record)
}

func TestConfigAnswersStartDecidableRules(t *testing.T) {
	// Find one session id inside a 5 % sample and one outside.
	var in, out string
	for i := 0; in == "" || out == ""; i++ {
		id := fmt.Sprintf("sample-%04d", i)
		if sampled(id, 0.05) {
			in = id
		} else {
			out = id
		}
	}
	tests := []struct {
		name    string
		rules   []Rule
		session string
		ua      string
		want    bool
	}{
		{"no rules", nil, out, uaDesktop, true},
		{"device excludes", []Rule{{Name: "m", When: Cond{Device: "mobile"}}}, out, uaDesktop, false},
		{"device admits", []Rule{{Name: "m", When: Cond{Device: "mobile"}}}, out, uaIPhone, true},
		{"os excludes", []Rule{{Name: "i", When: Cond{OS: "iOS"}}}, out, uaDesktop, false},
		{"browser excludes", []Rule{{Name: "s", When: Cond{Browser: "Safari"}}}, out, uaDesktop, false},
		{"sample excludes", []Rule{{Name: "s", When: Cond{Sample: 0.05}}}, out, uaDesktop, false},
		{"sample admits", []Rule{{Name: "s", When: Cond{Sample: 0.05}}}, in, uaDesktop, true},
		{"sample without a session id is not yet known", []Rule{{Name: "s", When: Cond{Sample: 0.05}}}, "", uaDesktop, true},
		{"5 % of mobile", []Rule{{Name: "m", When: Cond{All: []Cond{{Device: "mobile"}, {Sample: 0.05}}}}}, in, uaDesktop, false},
		{"another rule can still hold", []Rule{{Name: "m", When: Cond{Device: "mobile"}}, {Name: "e", When: Cond{Error: true}}}, out, uaDesktop, true},
		{"a live condition never excludes", []Rule{{Name: "e", When: Cond{All: []Cond{{Error: true}, {Device: "desktop"}}}}}, out, uaDesktop, true},
		{"not of a start fact", []Rule{{Name: "d", When: Cond{Not: &Cond{Device: "desktop"}}}}, out, uaDesktop, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newMemEnv(t, Targeting{Rules: tt.rules})
			cfg, err := e.rec.Config(context.Background(), "shop", tt.session, Client{UserAgent: tt.ua})
			require.NoError(t, err)
			assert.Equal(t, tt.want, cfg.Record)
			if tt.session == "" {
				return
			}
			// Ingest reaches the same decision on the first batch.
			res := e.sendUA(tt.ua, tt.session, "w1", 0, moveEv(0))
			assert.Equal(t, tt.want, res.Record, "ingest agrees with config")
		})
	}
}

func TestConfigRefusesDroppedSessions(t *testing.T) {
	e := newMemEnv(t, Targeting{})
	e.send("deleted-1", "w1", 0, moveEv(0))
	require.NoError(t, e.rec.Delete(context.Background(), "shop", "deleted-1"))
	cfg, err := e.rec.Config(context.Background(), "shop", "deleted-1", Client{})
	require.NoError(t, err)
	assert.False(t, cfg.Record)
}

func TestPendingBoundDropsTheOldestFirst(t *testing.T) {
	// Every session stays pending (the rule cannot be decided while live).
	tg := Targeting{Rules: []Rule{{Name: "never thank-you", When: Cond{Not: &Cond{Visited: "/thank-you*"}}}}}
	e := newMemEnv(t, tg)
	payload := strings.Repeat("x", 200)
	send := func(id string) {
		e.clock.Advance(time.Second)
		e.send(id, "w1", 0, metaEv(0, "https://shop.example/"+id), customEv(1, "note", fmt.Sprintf("%q", payload+id)))
	}
	send("pending-0")
	s0, _ := e.stored("pending-0")
	per := s0.StoredBytes
	require.Positive(t, per)

	// Room for about three sessions.
	tg.MaxPendingBytes = 3*per + per/2
	e = newMemEnv(t, tg)
	for i := range 6 {
		send(fmt.Sprintf("pending-%d", i))
	}
	for i, want := range []storage.State{storage.StateDropped, storage.StateDropped, storage.StateDropped,
		storage.StatePending, storage.StatePending, storage.StatePending} {
		assert.Equal(t, want, e.state(fmt.Sprintf("pending-%d", i)), "pending-%d", i)
	}
	assert.Equal(t, int64(3), e.rec.Stats()["shop"].Evicted)
	assert.False(t, e.send("pending-0", "w1", 1, moveEv(5)).Record, "an evicted session is refused")

	// A kept session does not count against the bound.
	tg.Rules = append(tg.Rules, Rule{Name: "errors", When: Cond{Error: true}})
	e = newMemEnv(t, tg)
	e.send("kept-0001", "w1", 0, jsErrorEv(0, strings.Repeat("y", 5000)))
	for i := range 3 {
		send(fmt.Sprintf("pending-%d", i))
	}
	assert.Equal(t, storage.StateKept, e.state("kept-0001"))
	assert.Equal(t, storage.StatePending, e.state("pending-0"))
	assert.Equal(t, int64(0), e.rec.Stats()["shop"].Evicted)
}

func TestPendingBoundCountsWhatARestartFinds(t *testing.T) {
	tg := Targeting{Rules: []Rule{{Name: "never thank-you", When: Cond{Not: &Cond{Visited: "/thank-you*"}}}}, MaxPendingBytes: 1}
	store := memstore.New()
	clock := newFakeClock()
	// A first Recorder with a large bound leaves two pending sessions.
	big := tg
	big.MaxPendingBytes = 1 << 30
	e := newLifecycleEnv(t, store, &Site{ID: "shop", Targeting: big}, clock)
	e.send("before-01", "w1", 0, moveEv(0))
	clock.Advance(time.Second)
	e.send("before-02", "w1", 0, moveEv(0))
	// A new Recorder with a tiny bound drops them, oldest first, on its first batch.
	clock.Advance(time.Second)
	e = newLifecycleEnv(t, store, &Site{ID: "shop", Targeting: tg}, clock)
	e.send("after-001", "w1", 0, moveEv(0))
	assert.Equal(t, storage.StateDropped, e.state("before-01"))
	assert.Equal(t, storage.StateDropped, e.state("before-02"))
	assert.Equal(t, storage.StatePending, e.state("after-001"), "the session of the batch itself is never evicted by it")
}

// Eviction locks each victim while the batch holds its own session. Many
// victims make sure that some would have shared a lock with the batch's
// session had locks been striped over a fixed number of slots; every one of
// them must still be evicted.
func TestPendingBoundEvictsEveryVictimWhileHoldingItsOwnSession(t *testing.T) {
	tg := Targeting{Rules: []Rule{{Name: "never thank-you", When: Cond{Not: &Cond{Visited: "/thank-you*"}}}}, MaxPendingBytes: 1 << 30}
	store := memstore.New()
	clock := newFakeClock()
	e := newLifecycleEnv(t, store, &Site{ID: "shop", Targeting: tg}, clock)
	const victims = 600
	for i := range victims {
		e.send(fmt.Sprintf("victim-%04d", i), "w1", 0, moveEv(0))
		clock.Advance(time.Millisecond)
	}
	tg.MaxPendingBytes = 1
	e = newLifecycleEnv(t, store, &Site{ID: "shop", Targeting: tg}, clock)
	e.send("trigger-01", "w1", 0, moveEv(0))
	for i := range victims {
		id := fmt.Sprintf("victim-%04d", i)
		require.Equal(t, storage.StateDropped, e.state(id), "%s was skipped by the pending bound", id)
	}
	assert.Equal(t, int64(victims), e.rec.Stats()["shop"].Evicted)
	assert.Equal(t, storage.StatePending, e.state("trigger-01"))
}

func TestLifecycleDecisionSurvivesARestartOnFilestore(t *testing.T) {
	dir := t.TempDir()
	clock := newFakeClock()
	open := func() (*lifecycleEnv, *filestore.Store) {
		store, err := filestore.Open(dir, nil)
		require.NoError(t, err)
		return newLifecycleEnv(t, store, &Site{ID: "shop", Targeting: demoRules()}, clock), store
	}
	e, store := open()
	e.send("kept-0001", "w1", 0, metaEv(0, "https://shop.example/"), jsErrorEv(10, "boom"))
	e.send("gone-0001", "w1", 0, metaEv(0, "https://shop.example/checkout"))
	e.send("gone-0001", "w1", 1, metaEv(100, "https://shop.example/thank-you"))
	e.send("pend-0001", "w1", 0, metaEv(0, "https://shop.example/checkout"), clickEv(100, 5, 5), clickEv(200, 5, 5))
	require.NoError(t, store.Close())

	// A new process on the same directory.
	e, store = open()
	defer store.Close()
	assert.Equal(t, storage.StateKept, e.state("kept-0001"))
	assert.True(t, e.send("kept-0001", "w2", 0, moveEv(1000)).Record)
	assert.Equal(t, 3, e.events("kept-0001"))
	assert.Equal(t, storage.StatePending, e.state("gone-0001"))

	// The third click of a burst that began before the restart.
	e.send("pend-0001", "w1", 1, clickEv(300, 5, 5))
	s, _ := e.stored("pend-0001")
	assert.Equal(t, 1, s.RageClicks)
	assert.Equal(t, storage.StatePending, s.State)

	e.clock.Advance(time.Hour)
	assert.Equal(t, SweepStats{Ended: 3, Kept: 1, Dropped: 1}, e.sweep())
	assert.Equal(t, storage.StateDropped, e.state("gone-0001"))
	assert.False(t, e.send("gone-0001", "w2", 0, moveEv(1)).Record)
	s, _ = e.stored("pend-0001")
	assert.Equal(t, storage.StateKept, s.State)
	assert.Equal(t, []string{"abandoned checkout"}, s.MatchedRules)
	assert.Equal(t, 4, e.events("pend-0001"))
}

// countingStore counts the metadata reads of a Store.
type countingStore struct {
	storage.Store
	mu    sync.Mutex
	reads int
}

func (c *countingStore) Session(ctx context.Context, k storage.Key) (storage.Session, error) {
	c.mu.Lock()
	c.reads++
	c.mu.Unlock()
	return c.Store.Session(ctx, k)
}

func TestRefusesAnswersDroppedSessionsFromMemory(t *testing.T) {
	store := &countingStore{Store: memstore.New()}
	e := newLifecycleEnv(t, store, &Site{ID: "shop", Targeting: Targeting{Rules: []Rule{{Name: "m", When: Cond{Device: "mobile"}}}}}, newFakeClock())
	assert.False(t, e.sendUA(uaDesktop, "dropped-1", "w1", 0, moveEv(0)).Record)
	before := store.reads
	refused, err := e.rec.Refuses(context.Background(), "shop", "dropped-1")
	require.NoError(t, err)
	assert.True(t, refused)
	assert.Equal(t, before, store.reads, "a session this Recorder dropped is refused without reading the store")

	// Another Recorder on the same store learns it from the tombstone once.
	other := newLifecycleEnv(t, store, e.site, e.clock)
	for range 3 {
		refused, err = other.rec.Refuses(context.Background(), "shop", "dropped-1")
		require.NoError(t, err)
		assert.True(t, refused)
	}
	assert.Equal(t, before+1, store.reads)

	refused, err = e.rec.Refuses(context.Background(), "shop", "unknown-1")
	require.NoError(t, err)
	assert.False(t, refused)
}

func TestLifecycleConcurrentIngestSweepAndPendingBound(t *testing.T) {
	tg := demoRules()
	tg.MaxPendingBytes = 2000
	tg.IdleTimeout = time.Millisecond
	e := newMemEnv(t, tg)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 1000)
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 25 {
				id := fmt.Sprintf("conc-%d-%03d", g, i)
				for seq := range 3 {
					evs := []string{metaEv(seq, "https://shop.example/checkout"), moveEv(seq + 1)}
					if i%5 == 0 && seq == 2 {
						evs = append(evs, jsErrorEv(seq+2, "boom"))
					}
					if _, err := e.rec.Ingest(ctx, mkBatch(t, id, "w1", seq, evs...), Client{UserAgent: uaDesktop}); err != nil {
						errs <- err
					}
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for range 20 {
			e.clock.Advance(time.Millisecond)
			if _, err := e.rec.Sweep(ctx, e.clock.Now()); err != nil {
				errs <- err
			}
		}
	}()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	page, err := e.rec.Sessions(ctx, storage.Query{Site: "shop", State: storage.FilterPending, Limit: 500})
	require.NoError(t, err)
	var pending int64
	for _, s := range page.Sessions {
		pending += s.StoredBytes
	}
	// Each writer may add one session's bytes past the bound before the
	// next batch evicts.
	assert.LessOrEqual(t, pending, tg.MaxPendingBytes+4*1000)
	st := e.rec.Stats()["shop"]
	assert.Positive(t, st.Kept)
	t.Logf("stats %+v, %d pending sessions, %d pending bytes", st, len(page.Sessions), pending)
}

// lockRecordingStore is a store with a session lock that records, per
// session, how often its lock was taken, and fails if a write of a session
// reaches the store outside that session's lock.
type lockRecordingStore struct {
	storage.Store
	t      *testing.T
	mu     sync.Mutex
	held   map[storage.Key]bool
	counts map[storage.Key]int
}

func newLockRecordingStore(t *testing.T) *lockRecordingStore {
	return &lockRecordingStore{Store: memstore.New(), t: t, held: map[storage.Key]bool{}, counts: map[storage.Key]int{}}
}

func (s *lockRecordingStore) LockSession(ctx context.Context, key storage.Key, fn func(st storage.Store) error) error {
	s.mu.Lock()
	s.held[key] = true
	s.counts[key]++
	s.mu.Unlock()
	defer func() { s.mu.Lock(); delete(s.held, key); s.mu.Unlock() }()
	return fn(s.Store)
}

func (s *lockRecordingStore) mustHold(key storage.Key, op string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.held[key] {
		s.t.Errorf("%s of %s/%s outside its session lock", op, key.Site, key.Session)
	}
}

func (s *lockRecordingStore) PutSession(ctx context.Context, sess storage.Session) error {
	s.mustHold(storage.Key{Site: sess.Site, Session: sess.ID}, "PutSession")
	return s.Store.PutSession(ctx, sess)
}

func (s *lockRecordingStore) Delete(ctx context.Context, key storage.Key) error {
	s.mustHold(key, "Delete")
	return s.Store.Delete(ctx, key)
}

func (s *lockRecordingStore) taken(session string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[storage.Key{Site: "shop", Session: session}]
}

// Every write of a session, by Ingest, Delete, Sweep (ending, deciding,
// expiring) or the pending bound, goes through the store's session lock,
// so that several processes sharing a store serialise on it.
func TestEveryWriteRunsUnderTheStoresSessionLock(t *testing.T) {
	store := newLockRecordingStore(t)
	clock := newFakeClock()
	tg := demoRules()
	tg.MaxPendingBytes = 1 << 30
	e := newLifecycleEnv(t, store, &Site{ID: "shop", Targeting: tg, Retention: time.Hour}, clock)
	e.send("ended-001", "w1", 0, metaEv(0, "https://shop.example/checkout"))
	e.send("deleted-1", "w1", 0, metaEv(0, "https://shop.example/"), jsErrorEv(10, "boom"))
	e.send("expired-1", "w1", 0, metaEv(0, "https://shop.example/"), jsErrorEv(10, "boom"))
	require.NoError(t, e.rec.Delete(context.Background(), "shop", "deleted-1"))
	assert.Equal(t, 2, store.taken("deleted-1"), "one batch, one delete")

	clock.Advance(2 * time.Hour) // idle past the timeout and past retention
	_, err := e.rec.Sweep(context.Background(), clock.Now())
	require.NoError(t, err)
	assert.Equal(t, 2, store.taken("ended-001"), "one batch, one sweep")
	assert.Equal(t, 2, store.taken("expired-1"), "one batch, one sweep")

	tg.MaxPendingBytes = 1
	e = newLifecycleEnv(t, store, &Site{ID: "shop", Targeting: tg, Retention: time.Hour}, clock)
	e.send("victim-01", "w1", 0, metaEv(0, "https://shop.example/checkout"))
	clock.Advance(time.Second)
	e.send("trigger-1", "w1", 0, metaEv(0, "https://shop.example/checkout"))
	assert.Equal(t, storage.StateDropped, e.state("victim-01"))
	assert.Equal(t, 2, store.taken("victim-01"), "one batch, one eviction")
}
