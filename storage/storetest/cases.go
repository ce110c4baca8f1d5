package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/sessionreplay/replay/storage"
)

var key = storage.Key{Site: "shop", Session: "sess-0001"}

// appendAll appends chunks to key, reporting failures.
func appendAll(ctx context.Context, c *checker, s storage.Store, key storage.Key, chunks ...storage.Chunk) bool {
	for _, ch := range chunks {
		if !c.ok(s.Append(ctx, key, ch), fmt.Sprintf("Append %s/%d", ch.Window, ch.Seq)) {
			return false
		}
	}
	return true
}

// wantChunks checks that Chunks(key, window) yields want.
func wantChunks(ctx context.Context, c *checker, s storage.Store, key storage.Key, window string, want ...storage.Chunk) {
	got, err := collect(ctx, c, s, key, window)
	if !c.ok(err, "Chunks") {
		return
	}
	if d := chunkDiff(got, want); d != "" {
		c.errorf("Chunks(%s/%s, window %q): %s", key.Site, key.Session, window, d)
	}
}

func putAll(ctx context.Context, c *checker, s storage.Store, sessions ...storage.Session) bool {
	for _, sess := range sessions {
		if !c.ok(s.PutSession(ctx, sess), "PutSession "+sess.Site+"/"+sess.ID) {
			return false
		}
	}
	return true
}

// wantSession checks that Session returns want.
func wantSession(ctx context.Context, c *checker, s storage.Store, want storage.Session) {
	got, err := s.Session(ctx, keyOf(want))
	if !c.ok(err, "Session "+want.Site+"/"+want.ID) {
		return
	}
	if d := sessionDiff(got, want); d != "" {
		c.errorf("Session %s/%s: %s", want.Site, want.ID, d)
	}
}

func testAppendThenChunks(ctx context.Context, c *checker, s storage.Store) {
	want := []storage.Chunk{chunk("w1", 0), chunk("w1", 1)}
	if appendAll(ctx, c, s, key, want...) {
		wantChunks(ctx, c, s, key, "", want...)
	}
}

func testAppendIsIdempotent(ctx context.Context, c *checker, s storage.Store) {
	first := storage.Chunk{Window: "w1", Seq: 0, Events: 3, Data: []byte("first")}
	if !appendAll(ctx, c, s, key, first) {
		return
	}
	second := storage.Chunk{Window: "w1", Seq: 0, Events: 9, Data: []byte("second, longer")}
	if err := s.Append(ctx, key, second); !errors.Is(err, storage.ErrExists) {
		c.errorf("second Append of w1/0: got %v, want an error wrapping ErrExists", err)
	}
	wantChunks(ctx, c, s, key, "", first)
}

func testChunksOrder(ctx context.Context, c *checker, s storage.Store) {
	// Appended out of order; windows compare as strings ("w1" < "w10" <
	// "w2"), seqs as numbers.
	in := []storage.Chunk{
		chunk("w2", 10), chunk("w1", 2), chunk("w10", 0), chunk("w2", 2),
		chunk("w1", 10), chunk("w2", 0), chunk("w1", 0), chunk("w1", 1),
	}
	want := []storage.Chunk{
		chunk("w1", 0), chunk("w1", 1), chunk("w1", 2), chunk("w1", 10),
		chunk("w10", 0),
		chunk("w2", 0), chunk("w2", 2), chunk("w2", 10),
	}
	if appendAll(ctx, c, s, key, in...) {
		wantChunks(ctx, c, s, key, "", want...)
	}
}

func testChunksWindowFilter(ctx context.Context, c *checker, s storage.Store) {
	if !appendAll(ctx, c, s, key, chunk("w2", 1), chunk("w1", 0), chunk("w2", 0), chunk("w20", 0)) {
		return
	}
	wantChunks(ctx, c, s, key, "w2", chunk("w2", 0), chunk("w2", 1))
	wantChunks(ctx, c, s, key, "w3")
	wantChunks(ctx, c, s, storage.Key{Site: "shop", Session: "sess-none"}, "")
	wantChunks(ctx, c, s, storage.Key{Site: "shop", Session: "sess-none"}, "w1")
}

func testChunksKeyed(ctx context.Context, c *checker, s storage.Store) {
	other := storage.Key{Site: "shop", Session: "sess-0002"}
	otherSite := storage.Key{Site: "blog", Session: key.Session}
	a := chunk("w1", 0)
	b := storage.Chunk{Window: "w1", Seq: 0, Events: 7, Data: []byte("other session")}
	d := storage.Chunk{Window: "w1", Seq: 0, Events: 8, Data: []byte("other site")}
	if !appendAll(ctx, c, s, key, a) || !appendAll(ctx, c, s, other, b) || !appendAll(ctx, c, s, otherSite, d) {
		return
	}
	wantChunks(ctx, c, s, key, "", a)
	wantChunks(ctx, c, s, other, "", b)
	wantChunks(ctx, c, s, otherSite, "", d)
}

func testChunksNotAliased(ctx context.Context, c *checker, s storage.Store) {
	in := chunk("w1", 0)
	want := chunk("w1", 0)
	if !appendAll(ctx, c, s, key, in) {
		return
	}
	for i := range in.Data {
		in.Data[i] = 'X'
	}
	got, err := collect(ctx, c, s, key, "")
	if !c.ok(err, "Chunks") || len(got) != 1 {
		c.errorf("Chunks: got %d chunks, want 1", len(got))
		return
	}
	if !bytes.Equal(got[0].Data, want.Data) {
		c.errorf("after changing the slice passed to Append: stored %q, want %q", got[0].Data, want.Data)
	}
	for i := range got[0].Data {
		got[0].Data[i] = 'Y'
	}
	wantChunks(ctx, c, s, key, "", want)
}

func testChunksBytesExact(ctx context.Context, c *checker, s storage.Store) {
	every := make([]byte, 512)
	for i := range every {
		every[i] = byte(i)
	}
	large := bytes.Repeat([]byte("0123456789abcdef\x00\xff"), 1<<16) // 1.1 MiB
	want := []storage.Chunk{
		{Window: "w1", Seq: 0, Events: 1, Data: every},
		{Window: "w1", Seq: 1, Events: 0, Data: []byte{}},
		{Window: "w1", Seq: 2, Events: 5000, Data: large},
	}
	if appendAll(ctx, c, s, key, want...) {
		wantChunks(ctx, c, s, key, "", want...)
	}
}

func testChunksStopEarly(ctx context.Context, c *checker, s storage.Store) {
	if !appendAll(ctx, c, s, key, chunk("w1", 0), chunk("w1", 1), chunk("w2", 0)) {
		return
	}
	defer func() {
		if r := recover(); r != nil {
			c.errorf("Chunks panicked when the loop broke early: %v", r)
		}
	}()
	n := 0
	for _, err := range s.Chunks(ctx, key, "") {
		if !c.ok(err, "Chunks") {
			return
		}
		n++
		break
	}
	if n != 1 {
		c.errorf("loop ran %d times, want 1", n)
	}
}

func testSessionRoundTrip(ctx context.Context, c *checker, s storage.Store) {
	want := newSession("sess-0001", base)
	if putAll(ctx, c, s, want) {
		wantSession(ctx, c, s, want)
	}
}

func testSessionNotFound(ctx context.Context, c *checker, s storage.Store) {
	if _, err := s.Session(ctx, key); !errors.Is(err, storage.ErrNotFound) {
		c.errorf("Session of an unknown session: got %v, want an error wrapping ErrNotFound", err)
	}
	if !appendAll(ctx, c, s, key, chunk("w1", 0)) {
		return
	}
	if _, err := s.Session(ctx, key); !errors.Is(err, storage.ErrNotFound) {
		c.errorf("Session of a session with chunks but no metadata: got %v, want an error wrapping ErrNotFound", err)
	}
	other := newSession("sess-0001", base)
	other.Site = "blog"
	if !putAll(ctx, c, s, other) {
		return
	}
	if _, err := s.Session(ctx, key); !errors.Is(err, storage.ErrNotFound) {
		c.errorf("Session of shop/sess-0001 when only blog/sess-0001 has metadata: got %v, want an error wrapping ErrNotFound", err)
	}
}

func testPutSessionReplaces(ctx context.Context, c *checker, s storage.Store) {
	v1 := newSession("sess-0001", base)
	v2 := storage.Session{
		ID: v1.ID, Site: v1.Site, State: storage.StatePending,
		Start: base.Add(time.Hour), Pages: []string{"https://shop.example/new"},
		Attrs: map[string]string{"userId": "u2"}, // "plan" is gone
		// Opaque, Events, MatchedRules, ... are gone.
	}
	if putAll(ctx, c, s, v1, v2) {
		wantSession(ctx, c, s, v2)
	}
}

func testSessionsAreCopies(ctx context.Context, c *checker, s storage.Store) {
	in := newSession("sess-0001", base)
	want := newSession("sess-0001", base)
	if !putAll(ctx, c, s, in) {
		return
	}
	mutate := func(s *storage.Session) {
		if len(s.Pages) > 0 {
			s.Pages[0] = "https://evil.example/"
		}
		if len(s.MatchedRules) > 0 {
			s.MatchedRules[0] = "changed"
		}
		if len(s.WindowIDs) > 0 {
			s.WindowIDs[0] = "changed"
		}
		if s.Events != nil {
			s.Events["view"] = 99
			s.Events["added"] = 1
		}
		if s.Attrs != nil {
			s.Attrs["plan"] = "changed"
		}
		if len(s.Opaque) > 0 {
			s.Opaque[0] = 0x42
		}
	}
	mutate(&in)
	wantSession(ctx, c, s, want)

	got, err := s.Session(ctx, keyOf(want))
	if !c.ok(err, "Session") {
		return
	}
	mutate(&got)
	wantSession(ctx, c, s, want)

	page, err := s.List(ctx, storage.Query{Site: "shop"})
	if !c.ok(err, "List") || len(page.Sessions) != 1 {
		c.errorf("List: got %d sessions, want 1", len(page.Sessions))
		return
	}
	mutate(&page.Sessions[0])
	wantSession(ctx, c, s, want)
}

func testOpaqueRoundTrip(ctx context.Context, c *checker, s storage.Store) {
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(255 - i)
	}
	withBytes := newSession("sess-0001", base)
	withBytes.Opaque = all
	withNil := newSession("sess-0002", base)
	withNil.Opaque = nil
	if !putAll(ctx, c, s, withBytes, withNil) {
		return
	}
	for _, want := range []storage.Session{withBytes, withNil} {
		got, err := s.Session(ctx, keyOf(want))
		if !c.ok(err, "Session") {
			continue
		}
		if !bytes.Equal(got.Opaque, want.Opaque) {
			c.errorf("Session %s: Opaque is %x, want %x", want.ID, got.Opaque, want.Opaque)
		}
	}
}

func testDeleteRemovesAll(ctx context.Context, c *checker, s storage.Store) {
	gone := newSession("sess-0001", base)
	kept := newSession("sess-0002", base)
	if !putAll(ctx, c, s, gone, kept) ||
		!appendAll(ctx, c, s, keyOf(gone), chunk("w1", 0), chunk("w2", 0)) ||
		!appendAll(ctx, c, s, keyOf(kept), chunk("w1", 0)) {
		return
	}
	if !c.ok(s.Delete(ctx, keyOf(gone)), "Delete") {
		return
	}
	if _, err := s.Session(ctx, keyOf(gone)); !errors.Is(err, storage.ErrNotFound) {
		c.errorf("Session after Delete: got %v, want an error wrapping ErrNotFound", err)
	}
	wantChunks(ctx, c, s, keyOf(gone), "")
	page, err := s.List(ctx, storage.Query{Site: "shop", State: storage.FilterAny})
	if c.ok(err, "List") && !slices.Equal(ids(page.Sessions), []string{kept.ID}) {
		c.errorf("List after Delete: got %v, want [%s]", ids(page.Sessions), kept.ID)
	}
	wantSession(ctx, c, s, kept)
	wantChunks(ctx, c, s, keyOf(kept), "", chunk("w1", 0))
	if appendAll(ctx, c, s, keyOf(gone), chunk("w2", 0)) {
		wantChunks(ctx, c, s, keyOf(gone), "", chunk("w2", 0))
	}
}

func testDeleteChunksOnly(ctx context.Context, c *checker, s storage.Store) {
	if !appendAll(ctx, c, s, key, chunk("w1", 0)) {
		return
	}
	if err := s.Delete(ctx, key); err != nil && !errors.Is(err, storage.ErrNotFound) {
		c.errorf("Delete of a session with chunks only: got %v, want nil or ErrNotFound", err)
	}
	wantChunks(ctx, c, s, key, "")
}

func testDeleteUnknown(ctx context.Context, c *checker, s storage.Store) {
	if err := s.Delete(ctx, key); !errors.Is(err, storage.ErrNotFound) {
		c.errorf("Delete of an unknown session: got %v, want an error wrapping ErrNotFound", err)
	}
	// A session stored on another site is another session.
	other := newSession(key.Session, base)
	other.Site = "blog"
	if putAll(ctx, c, s, other) {
		if err := s.Delete(ctx, key); !errors.Is(err, storage.ErrNotFound) {
			c.errorf("Delete of shop/%s when only blog/%s is stored: got %v, want an error wrapping ErrNotFound", key.Session, key.Session, err)
		}
		wantSession(ctx, c, s, other)
	}
}

// filterFixtures are the sessions ListFilters queries. Every one starts at
// a different minute; the comment says what sets it apart.
func filterFixtures() []storage.Session {
	a := newSession("sess-a", minutes(0)) // the defaults: desktop, Linux, Chrome, kept, ended
	b := newSession("sess-b", minutes(1)) // mobile with an error on checkout
	b.Device, b.OS, b.Browser = "mobile", "iOS", "Safari"
	b.Errors, b.ErrorMessages, b.MatchedRules = 2, []string{"TypeError"}, []string{"errors"}
	b.Pages = []string{"https://shop.example/checkout/pay?card=x", "https://shop.example/thank-you"}
	c := newSession("sess-c", minutes(2)) // Mobile (capitalised), signed up, user u1, cart
	c.Device, c.OS, c.Browser = "Mobile", "Android", "Chrome Mobile"
	c.Events = map[string]int{"signup": 1}
	c.Attrs = map[string]string{"userId": "u1"}
	c.Pages = []string{"https://shop.example/cart"}
	d := newSession("sess-d", minutes(3)) // 30 s long exactly, still open, on /checkout
	d.DurationMs, d.Ended = 30_000, false
	d.Pages = []string{"https://shop.example/checkout"}
	e := newSession("sess-e", minutes(4)) // pending, open, 1 ms short of 30 s
	e.State, e.DurationMs, e.Ended = storage.StatePending, 29_999, false
	f := newSession("sess-f", minutes(5)) // dropped (a tombstone)
	f.State = storage.StateDropped
	g := newSession("sess-g", minutes(6)) // near misses: tablet, user u10, event signup-done, rule errors-2
	g.Device = "tablet"
	g.Attrs = map[string]string{"userId": "u10"}
	g.Events = map[string]int{"signup-done": 1}
	g.MatchedRules = []string{"errors-2"}
	g.Pages = []string{"https://shop.example/checkoutx", "https://shop.example/a.b"}
	h := newSession("sess-h", minutes(7)) // another site
	h.Site = "blog"
	return []storage.Session{a, b, c, d, e, f, g, h}
}

func testListFilters(ctx context.Context, c *checker, s storage.Store) {
	if !putAll(ctx, c, s, filterFixtures()...) {
		return
	}
	shop := func(q storage.Query) storage.Query { q.Site = "shop"; return q }
	tests := []struct {
		q    storage.Query
		want string // ids, newest first
		why  string
	}{
		{shop(storage.Query{}), "sess-g sess-d sess-c sess-b sess-a", "no filter: the site's kept sessions"},
		{shop(storage.Query{From: minutes(1), To: minutes(3)}), "sess-c sess-b", "From <= Start < To"},
		{shop(storage.Query{Device: "MOBILE"}), "sess-c sess-b", "Device is case-insensitive"},
		{shop(storage.Query{Device: "mob"}), "", "Device is exact, not a substring"},
		{shop(storage.Query{OS: "ios"}), "sess-b", "OS is case-insensitive"},
		{shop(storage.Query{OS: "i"}), "", "OS is exact"},
		{shop(storage.Query{Browser: "chrome"}), "sess-g sess-d sess-a", "Browser is exact and case-insensitive (not Chrome Mobile)"},
		{shop(storage.Query{URL: "/checkout*"}), "sess-g sess-d sess-b", "URL path glob, query string ignored"},
		{shop(storage.Query{URL: "/checkout"}), "sess-d", "URL without * is the whole path"},
		{shop(storage.Query{URL: "/checkout/pay"}), "sess-b", "URL path glob ignores the query string"},
		{shop(storage.Query{URL: "https://shop.example/cart*"}), "sess-c", "URL with a scheme matches the whole URL"},
		{shop(storage.Query{URL: "/a?b"}), "", "? in a glob is literal"},
		{shop(storage.Query{URL: "/a.b"}), "sess-g", ". in a glob is literal"},
		{shop(storage.Query{Event: "signup"}), "sess-c", "Event is an exact tag"},
		{shop(storage.Query{Error: true}), "sess-b", "Error keeps sessions with errors"},
		{shop(storage.Query{Rule: "errors"}), "sess-b", "Rule is an exact name"},
		{shop(storage.Query{MinDuration: 30 * time.Second, State: storage.FilterAll}), "sess-d", "DurationMs >= MinDuration"},
		{shop(storage.Query{User: "u1"}), "sess-c", "User is exactly attrs.userId"},
		{shop(storage.Query{State: storage.FilterKept}), "sess-g sess-d sess-c sess-b sess-a", "State kept"},
		{shop(storage.Query{State: storage.FilterPending}), "sess-e", "State pending"},
		{shop(storage.Query{State: storage.FilterAll}), "sess-g sess-e sess-d sess-c sess-b sess-a", "State all: kept and pending"},
		{shop(storage.Query{State: storage.FilterDropped}), "sess-f", "State dropped: tombstones"},
		{shop(storage.Query{State: storage.FilterAny}), "sess-g sess-f sess-e sess-d sess-c sess-b sess-a", "State any: every state"},
		{shop(storage.Query{Open: true, State: storage.FilterAny}), "sess-e sess-d", "Open: Ended is false"},
		{shop(storage.Query{LastSeenBefore: minutes(3).Add(time.Minute), State: storage.FilterAny}), "sess-c sess-b sess-a", "LastSeen < LastSeenBefore"},
		{storage.Query{}, "blog/sess-h sess-g sess-d sess-c sess-b sess-a", "Site \"\" matches every site"},
		{storage.Query{Site: "blog"}, "blog/sess-h", "Site"},
		{storage.Query{Site: "nosuch"}, "", "unknown Site"},
		{shop(storage.Query{Device: "mobile", Error: true}), "sess-b", "filters combine with AND"},
		{shop(storage.Query{Device: "mobile", Event: "signup", From: minutes(2)}), "sess-c", "filters combine with AND"},
	}
	for _, tt := range tests {
		page, err := s.List(ctx, tt.q)
		if !c.ok(err, fmt.Sprintf("List %+v", tt.q)) {
			continue
		}
		if got := strings.Join(ids(page.Sessions), " "); got != tt.want {
			c.errorf("%s: List(%s) = [%s], want [%s]", tt.why, describe(tt.q), got, tt.want)
		}
		if page.Next != "" {
			c.errorf("%s: List(%s) returned Next %q with every result on one page", tt.why, describe(tt.q), page.Next)
		}
	}
}

// describe prints the fields of q that are set.
func describe(q storage.Query) string {
	var parts []string
	add := func(name string, v any, set bool) {
		if set {
			parts = append(parts, fmt.Sprintf("%s:%v", name, v))
		}
	}
	add("Site", q.Site, q.Site != "")
	add("From", q.From.Format(time.TimeOnly), !q.From.IsZero())
	add("To", q.To.Format(time.TimeOnly), !q.To.IsZero())
	add("Device", q.Device, q.Device != "")
	add("OS", q.OS, q.OS != "")
	add("Browser", q.Browser, q.Browser != "")
	add("URL", q.URL, q.URL != "")
	add("Event", q.Event, q.Event != "")
	add("Error", q.Error, q.Error)
	add("Rule", q.Rule, q.Rule != "")
	add("MinDuration", q.MinDuration, q.MinDuration != 0)
	add("User", q.User, q.User != "")
	add("State", q.State, q.State != "")
	add("Open", q.Open, q.Open)
	add("LastSeenBefore", q.LastSeenBefore.Format(time.TimeOnly), !q.LastSeenBefore.IsZero())
	return "{" + strings.Join(parts, " ") + "}"
}

func testListOrder(ctx context.Context, c *checker, s storage.Store) {
	// Put in an order that is neither the listing's nor its reverse.
	in := []storage.Session{
		newSession("sess-b", minutes(1)),
		newSession("sess-a", minutes(2)),
		newSession("sess-c", minutes(1)),
		newSession("sess-z", minutes(0)),
		newSession("sess-a2", minutes(1)),
	}
	if !putAll(ctx, c, s, in...) {
		return
	}
	page, err := s.List(ctx, storage.Query{Site: "shop"})
	want := "sess-a sess-c sess-b sess-a2 sess-z"
	if c.ok(err, "List") {
		if got := strings.Join(ids(page.Sessions), " "); got != want {
			c.errorf("List = [%s], want [%s]", got, want)
		}
	}
}

// pagingFixtures returns n sessions of which groups of three share a Start,
// and their ids in listing order.
func pagingFixtures(n int) ([]storage.Session, []string) {
	var sessions []storage.Session
	for i := range n {
		sessions = append(sessions, newSession(fmt.Sprintf("page-%04d", (i*7)%n), minutes(i/3)))
	}
	sorted := slices.Clone(sessions)
	slices.SortFunc(sorted, func(a, b storage.Session) int {
		if storage.Newer(a, b) {
			return -1
		}
		return 1
	})
	return sessions, ids(sorted)
}

func testListPaging(ctx context.Context, c *checker, s storage.Store) {
	sessions, want := pagingFixtures(23)
	if !putAll(ctx, c, s, sessions...) {
		return
	}
	for _, limit := range []int{1, 2, 3, 5, 23, 24} {
		got, ok := listAll(ctx, c, s, storage.Query{Site: "shop", Limit: limit}, 30)
		if ok && !slices.Equal(ids(got), want) {
			c.errorf("pages of %d: got %v, want %v", limit, ids(got), want)
		}
	}
	// A filter applies on every page.
	got, ok := listAll(ctx, c, s, storage.Query{Site: "shop", Limit: 2, From: minutes(2), To: minutes(5)}, 30)
	start := make(map[string]time.Time)
	for _, sess := range sessions {
		start[sess.ID] = sess.Start
	}
	var wantFiltered []string
	for _, id := range want {
		if !start[id].Before(minutes(2)) && start[id].Before(minutes(5)) {
			wantFiltered = append(wantFiltered, id)
		}
	}
	if ok && !slices.Equal(ids(got), wantFiltered) {
		c.errorf("pages of 2 from minute 2 to 5: got %v, want %v", ids(got), wantFiltered)
	}
}

func testListPagingAcrossSites(ctx context.Context, c *checker, s storage.Store) {
	var sessions []storage.Session
	for _, site := range []string{"a", "b", "c"} {
		for _, id := range []string{"sess-1", "sess-2"} {
			sess := newSession(id, base)
			sess.Site = site
			sessions = append(sessions, sess)
		}
	}
	if !putAll(ctx, c, s, sessions...) {
		return
	}
	got, ok := listAll(ctx, c, s, storage.Query{Limit: 1}, 10)
	want := []string{"c/sess-2", "b/sess-2", "a/sess-2", "c/sess-1", "b/sess-1", "a/sess-1"}
	if ok && !slices.Equal(ids(got), want) {
		c.errorf("pages of 1 over every site: got %v, want %v", ids(got), want)
	}
}

func testListLimit(ctx context.Context, c *checker, s storage.Store) {
	sessions, _ := pagingFixtures(501)
	if !putAll(ctx, c, s, sessions...) {
		return
	}
	for _, tt := range []struct{ limit, want int }{{0, 50}, {-1, 50}, {7, 7}, {500, 500}, {501, 500}, {10_000, 500}} {
		page, err := s.List(ctx, storage.Query{Site: "shop", Limit: tt.limit})
		if !c.ok(err, fmt.Sprintf("List(Limit %d)", tt.limit)) {
			continue
		}
		if len(page.Sessions) != tt.want {
			c.errorf("List(Limit %d) returned %d sessions, want %d", tt.limit, len(page.Sessions), tt.want)
		}
		if page.Next == "" {
			c.errorf("List(Limit %d) of 501 sessions returned no Next", tt.limit)
		}
	}
}

func testListBadCursor(ctx context.Context, c *checker, s storage.Store) {
	if !putAll(ctx, c, s, newSession("sess-0001", base)) {
		return
	}
	for _, cursor := range []string{"not a cursor", "AAAA", "%%%", strings.Repeat("x", 10_000)} {
		if _, err := s.List(ctx, storage.Query{Site: "shop", Cursor: cursor}); !errors.Is(err, storage.ErrInvalidCursor) {
			c.errorf("List(Cursor %.20q): got %v, want an error wrapping ErrInvalidCursor", cursor, err)
		}
	}
}

func testConcurrent(ctx context.Context, c *checker, s storage.Store) {
	const (
		sessions = 4
		windows  = 2
		seqs     = 5
		racers   = 3 // goroutines appending each chunk
		versions = 5 // PutSessions of each session
	)
	keys := make([]storage.Key, sessions)
	for i := range keys {
		keys[i] = storage.Key{Site: "shop", Session: fmt.Sprintf("sess-%04d", i)}
	}
	version := func(k storage.Key, v int) storage.Session {
		sess := newSession(k.Session, base)
		sess.EventCount = v
		sess.Pages = slices.Repeat([]string{fmt.Sprintf("https://shop.example/v%d", v)}, v+1)
		sess.Opaque = bytes.Repeat([]byte{byte(v)}, 100*v)
		return sess
	}

	var (
		wg        sync.WaitGroup
		mu        sync.Mutex
		successes = make(map[string]int)
	)
	for _, k := range keys {
		for w := range windows {
			for seq := range seqs {
				for range racers {
					wg.Go(func() {
						ch := chunk(fmt.Sprintf("w%d", w), seq)
						err := s.Append(ctx, k, ch)
						switch {
						case err == nil:
							mu.Lock()
							successes[fmt.Sprintf("%s %s/%d", k.Session, ch.Window, ch.Seq)]++
							mu.Unlock()
						case !errors.Is(err, storage.ErrExists):
							c.errorf("concurrent Append %s %s/%d: %v", k.Session, ch.Window, ch.Seq, err)
						}
					})
				}
			}
		}
		for v := range versions {
			wg.Go(func() { c.ok(s.PutSession(ctx, version(k, v)), "concurrent PutSession") })
		}
		wg.Go(func() {
			for range versions {
				if _, err := s.Session(ctx, k); err != nil && !errors.Is(err, storage.ErrNotFound) {
					c.errorf("concurrent Session: %v", err)
				}
				if _, err := collect(ctx, c, s, k, ""); err != nil {
					c.errorf("concurrent Chunks: %v", err)
				}
				if _, err := s.List(ctx, storage.Query{Site: "shop", State: storage.FilterAny}); err != nil {
					c.errorf("concurrent List: %v", err)
				}
			}
		})
	}
	wg.Wait()

	for _, k := range keys {
		var want []storage.Chunk
		for w := range windows {
			for seq := range seqs {
				ch := chunk(fmt.Sprintf("w%d", w), seq)
				want = append(want, ch)
				if n := successes[fmt.Sprintf("%s %s/%d", k.Session, ch.Window, ch.Seq)]; n != 1 {
					c.errorf("%d racing Appends of %s %s/%d: %d returned nil, want exactly 1", racers, k.Session, ch.Window, ch.Seq, n)
				}
			}
		}
		wantChunks(ctx, c, s, k, "", want...)
		got, err := s.Session(ctx, k)
		if !c.ok(err, "Session after concurrent PutSession") {
			continue
		}
		if got.EventCount < 0 || got.EventCount >= versions {
			c.errorf("Session %s after concurrent PutSession: EventCount %d is no version written", k.Session, got.EventCount)
		} else if d := sessionDiff(got, version(k, got.EventCount)); d != "" {
			c.errorf("Session %s is not one whole PutSession: %s", k.Session, d)
		}
	}
	page, err := s.List(ctx, storage.Query{Site: "shop"})
	if c.ok(err, "List") && len(page.Sessions) != sessions {
		c.errorf("List after concurrent writes: got %d sessions, want %d", len(page.Sessions), sessions)
	}
}

func testCancelledContext(ctx context.Context, c *checker, s storage.Store) {
	stored := newSession("sess-0001", base)
	if !putAll(ctx, c, s, stored) || !appendAll(ctx, c, s, keyOf(stored), chunk("w1", 0)) {
		return
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	want := func(what string, err error) {
		if !errors.Is(err, context.Canceled) {
			c.errorf("%s with a cancelled context: got %v, want an error wrapping context.Canceled", what, err)
		}
	}

	fresh := storage.Key{Site: "shop", Session: "sess-0002"}
	want("Append", s.Append(cancelled, fresh, chunk("w1", 0)))
	wantChunks(ctx, c, s, fresh, "")
	want("Append of a stored chunk", s.Append(cancelled, keyOf(stored), chunk("w1", 0)))

	got, err := collect(cancelled, c, s, keyOf(stored), "")
	if len(got) > 0 {
		c.errorf("Chunks with a cancelled context yielded %d chunks", len(got))
	}
	want("Chunks", err)

	changed := newSession("sess-0001", base)
	changed.EventCount = 7
	want("PutSession", s.PutSession(cancelled, changed))
	if got, err := s.Session(ctx, keyOf(stored)); c.ok(err, "Session") {
		if sessionDiff(got, stored) != "" && sessionDiff(got, changed) != "" {
			c.errorf("a cancelled PutSession left a session that is neither the old nor the new one: %s", sessionDiff(got, changed))
		}
	}
	want("PutSession of a new session", s.PutSession(cancelled, newSession("sess-0003", base)))

	_, err = s.Session(cancelled, keyOf(stored))
	want("Session", err)
	_, err = s.List(cancelled, storage.Query{Site: "shop"})
	want("List", err)

	want("Delete", s.Delete(cancelled, keyOf(stored)))
	_, err = s.Session(ctx, keyOf(stored))
	chunks, cerr := collect(ctx, c, s, keyOf(stored), "")
	switch {
	case err == nil && cerr == nil && len(chunks) == 1: // nothing deleted
	case errors.Is(err, storage.ErrNotFound) && cerr == nil && len(chunks) == 0: // all deleted
	default:
		c.errorf("a cancelled Delete left part of the session: Session error %v, %d chunks, Chunks error %v", err, len(chunks), cerr)
	}
}
