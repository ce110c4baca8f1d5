package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/sessionreplay/replay/storage"
)

// The rules of storage.Sweeper, checked when the store implements it (a
// store without it passes them: Sweep then falls back to List).
var sweepCases = []testCase{
	{
		name:        "SweeperDue",
		explanation: withSource("Due returns exactly the sessions of its kind and site (idle and long: open, not dropped, time < Before; undecided: pending and ended; expired: any state, LastSeen < Before), oldest first"),
		run:         testSweeperDue,
	},
	{
		name:        "SweeperOrphans",
		explanation: withSource("Due with DueOrphaned returns the sessions that have chunks but no metadata, until PutSession or Delete; SweepSites names their site"),
		run:         testSweeperOrphans,
	},
	{
		name:        "SweeperPaging",
		explanation: withSource("following Next of Due visits every due session once; a cursor the store did not make is an error wrapping ErrInvalidCursor"),
		run:         testSweeperPaging,
	},
}

// dueKeys follows Next and returns every session id of a Due query.
func dueKeys(ctx context.Context, c *checker, sw storage.Sweeper, q storage.DueQuery) ([]string, bool) {
	var ids []string
	for range 100 {
		page, err := sw.Due(ctx, q)
		if !c.ok(err, fmt.Sprintf("Due(kind %d, cursor %q)", q.Kind, q.Cursor)) {
			return nil, false
		}
		if len(page.Keys) > q.PageSize() {
			c.errorf("Due with Limit %d returned %d keys", q.Limit, len(page.Keys))
		}
		for _, k := range page.Keys {
			if k.Site != q.Site {
				c.errorf("Due(site %s) returned a key of site %s", q.Site, k.Site)
			}
			ids = append(ids, k.Session)
		}
		if page.Next == "" {
			return ids, true
		}
		q.Cursor = page.Next
	}
	c.errorf("Due paging did not end after 100 pages")
	return nil, false
}

func testSweeperDue(ctx context.Context, c *checker, s storage.Store) {
	sw, ok := s.(storage.Sweeper)
	if !ok {
		return
	}
	at := func(id string, state storage.State, ended bool, first, last int) storage.Session {
		sess := newSession(id, minutes(first))
		sess.State, sess.Ended = state, ended
		sess.FirstSeen, sess.LastSeen = minutes(first), minutes(last)
		return sess
	}
	in := []storage.Session{
		at("open-old", storage.StatePending, false, 0, 10), // idle at 20, long at 5
		at("open-new", storage.StateKept, false, 15, 30),   // neither
		at("open-kept", storage.StateKept, false, 1, 12),   // idle at 20, long at 5
		at("ended-kept", storage.StateKept, true, 0, 11),   // ended: never idle or long
		at("undecided", storage.StatePending, true, 2, 13), // pending and ended
		at("tomb", storage.StateDropped, true, 0, 1),       // only expires
		at("tomb-open", storage.StateDropped, false, 0, 1), // a tombstone is never idle
		at("ended-new", storage.StateKept, true, 20, 40),   // nothing
	}
	other := at("open-other", storage.StatePending, false, 0, 1)
	other.Site = "blog"
	if !putAll(ctx, c, s, append(in, other)...) {
		return
	}
	tests := []struct {
		q    storage.DueQuery
		want string
	}{
		{storage.DueQuery{Kind: storage.DueIdle, Before: minutes(20)}, "open-old open-kept"},
		{storage.DueQuery{Kind: storage.DueIdle, Before: minutes(12)}, "open-old"},
		{storage.DueQuery{Kind: storage.DueLong, Before: minutes(5)}, "open-old open-kept"},
		{storage.DueQuery{Kind: storage.DueLong, Before: minutes(1)}, "open-old"},
		{storage.DueQuery{Kind: storage.DueUndecided}, "undecided"},
		{storage.DueQuery{Kind: storage.DueExpired, Before: minutes(12)}, "tomb tomb-open open-old ended-kept"},
		{storage.DueQuery{Kind: storage.DueExpired, Before: minutes(0)}, ""},
		{storage.DueQuery{Kind: storage.DueOrphaned, Before: time.Now().Add(time.Hour)}, ""},
	}
	for _, tt := range tests {
		tt.q.Site = "shop"
		got, ok := dueKeys(ctx, c, sw, tt.q)
		if ok && strings.Join(got, " ") != tt.want {
			c.errorf("Due(kind %d, before minute %v) = [%s], want [%s]", tt.q.Kind, tt.q.Before.Sub(base).Minutes(), strings.Join(got, " "), tt.want)
		}
	}
	sites, err := sw.SweepSites(ctx)
	if c.ok(err, "SweepSites") {
		slices.Sort(sites)
		if !slices.Equal(sites, []string{"blog", "shop"}) {
			c.errorf("SweepSites = %v, want [blog shop]", sites)
		}
	}
}

func testSweeperOrphans(ctx context.Context, c *checker, s storage.Store) {
	sw, ok := s.(storage.Sweeper)
	if !ok {
		return
	}
	orphan := storage.Key{Site: "news", Session: "orphan-1"}
	kept := storage.Key{Site: "news", Session: "kept-1"}
	if !appendAll(ctx, c, s, orphan, chunk("w1", 0), chunk("w1", 1)) || !appendAll(ctx, c, s, kept, chunk("w1", 0)) {
		return
	}
	q := storage.DueQuery{Site: "news", Kind: storage.DueOrphaned, Before: time.Now().Add(time.Hour)}
	want := func(why string, ids ...string) {
		got, ok := dueKeys(ctx, c, sw, q)
		slices.Sort(got)
		if ok && !slices.Equal(got, ids) {
			c.errorf("%s: orphans %v, want %v", why, got, ids)
		}
	}
	want("chunks without metadata", "kept-1", "orphan-1")
	sites, err := sw.SweepSites(ctx)
	if c.ok(err, "SweepSites") && !slices.Contains(sites, "news") {
		c.errorf("SweepSites = %v: the site of chunks without metadata is missing", sites)
	}
	sess := newSession(kept.Session, base)
	sess.Site = kept.Site
	if !putAll(ctx, c, s, sess) {
		return
	}
	want("after PutSession of one", "orphan-1")
	if err := s.Delete(ctx, orphan); err != nil && !errors.Is(err, storage.ErrNotFound) {
		c.errorf("Delete of an orphan: %v", err)
	}
	want("after Delete of the other")
	// Before is the store's clock: an orphan made now is not due before
	// an hour ago.
	if !appendAll(ctx, c, s, orphan, chunk("w1", 0)) {
		return
	}
	q.Before = time.Now().Add(-time.Hour)
	want("Before an hour ago")
}

func testSweeperPaging(ctx context.Context, c *checker, s storage.Store) {
	sw, ok := s.(storage.Sweeper)
	if !ok {
		return
	}
	var want []string
	var sessions []storage.Session
	for i := range 23 {
		sess := newSession(fmt.Sprintf("idle-%02d", (i*7)%23), base)
		sess.Ended = false
		sess.LastSeen = minutes(i / 3) // groups of three share a LastSeen
		sessions = append(sessions, sess)
	}
	sorted := slices.Clone(sessions)
	slices.SortFunc(sorted, func(a, b storage.Session) int {
		if c := a.LastSeen.Compare(b.LastSeen); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	for _, s := range sorted {
		want = append(want, s.ID)
	}
	if !putAll(ctx, c, s, sessions...) {
		return
	}
	for _, limit := range []int{1, 2, 5, 23, 50} {
		got, ok := dueKeys(ctx, c, sw, storage.DueQuery{Site: "shop", Kind: storage.DueIdle, Before: minutes(100), Limit: limit})
		if ok && !slices.Equal(got, want) {
			c.errorf("Due pages of %d: got %v, want %v", limit, got, want)
		}
	}
	for _, cursor := range []string{"not a cursor", "AAAA", strings.Repeat("x", 10_000)} {
		if _, err := sw.Due(ctx, storage.DueQuery{Site: "shop", Kind: storage.DueIdle, Before: minutes(100), Cursor: cursor}); !errors.Is(err, storage.ErrInvalidCursor) {
			c.errorf("Due(Cursor %.20q): got %v, want an error wrapping ErrInvalidCursor", cursor, err)
		}
	}
}
