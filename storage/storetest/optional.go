package storetest

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sessionreplay/replay/storage"
)

// The rules of the optional interfaces of package storage. A store that
// does not implement an interface passes its rules without a check.
var optionalCases = []testCase{
	{
		name:        "ViewLogOrder",
		explanation: withSource("ViewLog: Views returns the views AddView recorded, oldest first, principal and time (to the millisecond) unchanged, per (site, session); a session without views has none and no error"),
		run:         testViewLogOrder,
	},
	{
		name:        "ViewLogKeepsNewest",
		explanation: withSource("ViewLog: at least the newest MinViewsKept views of a session are kept, in order; only older ones may be dropped"),
		run:         testViewLogKeepsNewest,
	},
	{
		name:        "ViewLogDelete",
		explanation: withSource("ViewLog: Delete removes a session's views with it; other sessions keep theirs"),
		run:         testViewLogDelete,
	},
	{
		name:        "ViewLogCopies",
		explanation: withSource("ViewLog: Views returns a copy: changing it changes nothing stored"),
		run:         testViewLogCopies,
	},
	{
		name:        "ViewLogCancelled",
		explanation: withSource("ViewLog: AddView and Views with a cancelled context return an error wrapping context.Canceled, and a cancelled AddView records nothing"),
		run:         testViewLogCancelled,
	},
	{
		name:        "CounterBuckets",
		explanation: withSource("Counter: Count returns every bucket from From to To, step apart, empty ones too, each counting the matching sessions that start in it by state (kept, pending) and those with errors; dropped sessions are never counted"),
		run:         testCounterBuckets,
	},
	{
		name:        "CounterFilters",
		explanation: withSource("Counter: Count applies every filter of Query as List does (site, state, device, error, ...) and ignores Limit and Cursor"),
		run:         testCounterFilters,
	},
	{
		name:        "CounterInvalid",
		explanation: withSource("Counter: Count refuses what CheckOverview refuses (no From or To, To not after From, step not positive, over MaxBuckets buckets) with an error wrapping ErrInvalidOverview"),
		run:         testCounterInvalid,
	},
}

func view(who string, n int) storage.View {
	return storage.View{Principal: who, At: minutes(n).Add(123 * time.Millisecond)}
}

func wantViews(ctx context.Context, c *checker, l storage.ViewLog, key storage.Key, want ...storage.View) {
	got, err := l.Views(ctx, key)
	if !c.ok(err, fmt.Sprintf("Views(%v)", key)) {
		return
	}
	if len(got) != len(want) {
		c.errorf("Views(%v): %d views, want %d: %v", key, len(got), len(want), got)
		return
	}
	for i := range got {
		if got[i].Principal != want[i].Principal || !got[i].At.Equal(want[i].At) {
			c.errorf("Views(%v)[%d] = %v, want %v", key, i, got[i], want[i])
		}
	}
}

func testViewLogOrder(ctx context.Context, c *checker, s storage.Store) {
	l, ok := s.(storage.ViewLog)
	if !ok {
		return
	}
	a := storage.Key{Site: "shop", Session: "sess-a"}
	other := storage.Key{Site: "blog", Session: "sess-a"}
	wantViews(ctx, c, l, a)
	if !putAll(ctx, c, s, newSession("sess-a", minutes(0))) {
		return
	}
	views := []storage.View{view("alice", 3), view("bob@example.com", 1), view("", 2), view("alice", 3), view("名前 <x>", 4)}
	for _, v := range views {
		if !c.ok(l.AddView(ctx, a, v), "AddView") {
			return
		}
	}
	c.ok(l.AddView(ctx, other, view("carol", 5)), "AddView of another site")
	wantViews(ctx, c, l, a, views...)
	wantViews(ctx, c, l, other, view("carol", 5))
	wantViews(ctx, c, l, storage.Key{Site: "shop", Session: "sess-unknown"})
}

func testViewLogKeepsNewest(ctx context.Context, c *checker, s storage.Store) {
	l, ok := s.(storage.ViewLog)
	if !ok {
		return
	}
	key := storage.Key{Site: "shop", Session: "sess-a"}
	n := storage.MinViewsKept + 20
	var all []storage.View
	for i := range n {
		v := view(fmt.Sprintf("p%d", i), i)
		all = append(all, v)
		if !c.ok(l.AddView(ctx, key, v), "AddView") {
			return
		}
	}
	got, err := l.Views(ctx, key)
	if !c.ok(err, "Views") {
		return
	}
	if len(got) < storage.MinViewsKept || len(got) > n {
		c.errorf("Views: %d views of %d added, want at least %d", len(got), n, storage.MinViewsKept)
		return
	}
	tail := all[n-len(got):]
	for i := range got {
		if got[i].Principal != tail[i].Principal || !got[i].At.Equal(tail[i].At) {
			c.errorf("Views[%d] = %v, want %v: the newest views, in order", i, got[i], tail[i])
			return
		}
	}
}

func testViewLogDelete(ctx context.Context, c *checker, s storage.Store) {
	l, ok := s.(storage.ViewLog)
	if !ok {
		return
	}
	a, b := newSession("sess-a", minutes(0)), newSession("sess-b", minutes(1))
	if !putAll(ctx, c, s, a, b) {
		return
	}
	c.ok(l.AddView(ctx, keyOf(a), view("alice", 1)), "AddView")
	c.ok(l.AddView(ctx, keyOf(b), view("bob", 2)), "AddView")
	c.ok(s.Delete(ctx, keyOf(a)), "Delete")
	wantViews(ctx, c, l, keyOf(a))
	wantViews(ctx, c, l, keyOf(b), view("bob", 2))
}

func testViewLogCopies(ctx context.Context, c *checker, s storage.Store) {
	l, ok := s.(storage.ViewLog)
	if !ok {
		return
	}
	key := storage.Key{Site: "shop", Session: "sess-a"}
	c.ok(l.AddView(ctx, key, view("alice", 1)), "AddView")
	got, err := l.Views(ctx, key)
	if c.ok(err, "Views") && len(got) == 1 {
		got[0].Principal = "mallory"
	}
	wantViews(ctx, c, l, key, view("alice", 1))
}

func testViewLogCancelled(ctx context.Context, c *checker, s storage.Store) {
	l, ok := s.(storage.ViewLog)
	if !ok {
		return
	}
	key := storage.Key{Site: "shop", Session: "sess-a"}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := l.AddView(cancelled, key, view("alice", 1)); !errors.Is(err, context.Canceled) {
		c.errorf("AddView with a cancelled context: %v, want context.Canceled", err)
	}
	if _, err := l.Views(cancelled, key); !errors.Is(err, context.Canceled) {
		c.errorf("Views with a cancelled context: %v, want context.Canceled", err)
	}
	wantViews(ctx, c, l, key)
}

func wantBuckets(c *checker, what string, got []storage.Bucket, want []storage.Bucket) {
	if len(got) != len(want) {
		c.errorf("%s: %d buckets, want %d: %v", what, len(got), len(want), got)
		return
	}
	for i := range got {
		g, w := got[i], want[i]
		if !g.Start.Equal(w.Start) || g.Kept != w.Kept || g.Pending != w.Pending || g.Errors != w.Errors {
			c.errorf("%s: bucket %d = %+v, want %+v", what, i, g, w)
		}
	}
}

// counterFixtures: sessions over three hours from base, of site "shop"
// unless said otherwise.
func counterFixtures() []storage.Session {
	at := func(id string, m int, state storage.State, errs int) storage.Session {
		s := newSession(id, minutes(m))
		s.State, s.Errors = state, errs
		return s
	}
	other := at("sess-o", 10, storage.StateKept, 0)
	other.Site = "blog"
	mobile := at("sess-m", 70, storage.StateKept, 1)
	mobile.Device = "mobile"
	return []storage.Session{
		at("sess-a", 0, storage.StateKept, 0),     // first instant of bucket 0
		at("sess-b", 59, storage.StateKept, 2),    // bucket 0, with errors
		at("sess-c", 30, storage.StatePending, 1), // bucket 0, pending with errors
		at("sess-d", 60, storage.StatePending, 0), // first instant of bucket 1
		at("sess-e", 90, storage.StateDropped, 1), // never counted
		mobile,                                  // bucket 1
		other,                                   // another site
		at("sess-x", 180, storage.StateKept, 0), // at To: outside
		at("sess-y", -1, storage.StateKept, 0),  // before From: outside
	}
}

func testCounterBuckets(ctx context.Context, c *checker, s storage.Store) {
	ct, ok := s.(storage.Counter)
	if !ok {
		return
	}
	if !putAll(ctx, c, s, counterFixtures()...) {
		return
	}
	q := storage.Query{Site: "shop", State: storage.FilterAll, From: minutes(0), To: minutes(180)}
	got, err := ct.Count(ctx, q, time.Hour)
	if c.ok(err, "Count") {
		wantBuckets(c, "Count, state all, hourly", got, []storage.Bucket{
			{Start: minutes(0), Kept: 2, Pending: 1, Errors: 2},
			{Start: minutes(60), Kept: 1, Pending: 1, Errors: 1},
			{Start: minutes(120)},
		})
	}
	// A range that does not divide by the step ends with a partial bucket.
	q.To = minutes(150)
	got, err = ct.Count(ctx, q, 2*time.Hour)
	if c.ok(err, "Count") {
		wantBuckets(c, "Count, two-hour buckets", got, []storage.Bucket{
			{Start: minutes(0), Kept: 3, Pending: 2, Errors: 3},
			{Start: minutes(120)}, // 30 minutes long: sess-x, at 180, is past To
		})
	}
}

func testCounterFilters(ctx context.Context, c *checker, s storage.Store) {
	ct, ok := s.(storage.Counter)
	if !ok {
		return
	}
	if !putAll(ctx, c, s, counterFixtures()...) {
		return
	}
	base := storage.Query{Site: "shop", From: minutes(0), To: minutes(120), Limit: 1, Cursor: "ignored"}
	for _, tc := range []struct {
		what string
		mod  func(*storage.Query)
		want []storage.Bucket
	}{
		{"state kept (the default)", func(*storage.Query) {}, []storage.Bucket{{Start: minutes(0), Kept: 2, Errors: 1}, {Start: minutes(60), Kept: 1, Errors: 1}}},
		{"state pending", func(q *storage.Query) { q.State = storage.FilterPending }, []storage.Bucket{{Start: minutes(0), Pending: 1, Errors: 1}, {Start: minutes(60), Pending: 1}}},
		{"device mobile", func(q *storage.Query) { q.State, q.Device = storage.FilterAll, "MOBILE" }, []storage.Bucket{{Start: minutes(0)}, {Start: minutes(60), Kept: 1, Errors: 1}}},
		{"errors only", func(q *storage.Query) { q.State, q.Error = storage.FilterAll, true }, []storage.Bucket{{Start: minutes(0), Kept: 1, Pending: 1, Errors: 2}, {Start: minutes(60), Kept: 1, Errors: 1}}},
		{"site blog", func(q *storage.Query) { q.Site = "blog" }, []storage.Bucket{{Start: minutes(0), Kept: 1}, {Start: minutes(60)}}},
	} {
		q := base
		tc.mod(&q)
		got, err := ct.Count(ctx, q, time.Hour)
		if c.ok(err, "Count "+tc.what) {
			wantBuckets(c, "Count "+tc.what, got, tc.want)
		}
	}
}

func testCounterInvalid(ctx context.Context, c *checker, s storage.Store) {
	ct, ok := s.(storage.Counter)
	if !ok {
		return
	}
	for _, tc := range []struct {
		what string
		q    storage.Query
		step time.Duration
	}{
		{"no From", storage.Query{Site: "shop", To: minutes(60)}, time.Hour},
		{"no To", storage.Query{Site: "shop", From: minutes(0)}, time.Hour},
		{"To before From", storage.Query{Site: "shop", From: minutes(60), To: minutes(0)}, time.Hour},
		{"To at From", storage.Query{Site: "shop", From: minutes(60), To: minutes(60)}, time.Hour},
		{"zero step", storage.Query{Site: "shop", From: minutes(0), To: minutes(60)}, 0},
		{"negative step", storage.Query{Site: "shop", From: minutes(0), To: minutes(60)}, -time.Hour},
		{"too many buckets", storage.Query{Site: "shop", From: minutes(0), To: minutes(storage.MaxBuckets + 1)}, time.Minute},
	} {
		if _, err := ct.Count(ctx, tc.q, tc.step); !errors.Is(err, storage.ErrInvalidOverview) {
			c.errorf("Count with %s: %v, want an error wrapping ErrInvalidOverview", tc.what, err)
		}
	}
}
