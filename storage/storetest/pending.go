package storetest

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sessionreplay/replay/storage"
)

// The rules of [storage.PendingCounter]. A store that does not implement
// it passes them without a check.
var pendingCases = []testCase{
	{
		name:        "PendingBytesSums",
		explanation: withSource("PendingCounter: PendingBytes is the sum of StoredBytes over the site's sessions stored with State pending, as stored now: a session put again counts its new bytes, one kept, dropped or deleted stops counting; other sites are apart and a site without pending sessions has 0"),
		run:         testPendingBytesSums,
	},
	{
		name:        "OldestPendingOrder",
		explanation: withSource("PendingCounter: OldestPending names the first min(limit, n) of the site's n pending sessions, oldest FirstSeen first, then by id; a limit below 1 means 1; sessions of other states and sites are never named"),
		run:         testOldestPendingOrder,
	},
	{
		name:        "PendingCounterCancelled",
		explanation: withSource("PendingCounter: PendingBytes and OldestPending with a cancelled context return an error wrapping context.Canceled"),
		run:         testPendingCounterCancelled,
	},
}

// pendingSession returns a session of site in state with stored bytes,
// first seen at minute first.
func pendingSession(site, id string, state storage.State, bytes int64, first int) storage.Session {
	s := newSession(id, minutes(0))
	s.Site, s.State, s.StoredBytes = site, state, bytes
	s.FirstSeen, s.LastSeen = minutes(first), minutes(first).Add(time.Second)
	return s
}

func wantPendingBytes(ctx context.Context, c *checker, p storage.PendingCounter, site string, want int64) {
	got, err := p.PendingBytes(ctx, site)
	if c.ok(err, fmt.Sprintf("PendingBytes(%q)", site)) && got != want {
		c.errorf("PendingBytes(%q) = %d, want %d", site, got, want)
	}
}

func wantOldest(ctx context.Context, c *checker, p storage.PendingCounter, site string, limit int, want ...string) {
	got, err := p.OldestPending(ctx, site, limit)
	if !c.ok(err, fmt.Sprintf("OldestPending(%q, %d)", site, limit)) {
		return
	}
	var ids []string
	for _, k := range got {
		if k.Site != site {
			c.errorf("OldestPending(%q, %d) names %v, of another site", site, limit, k)
		}
		ids = append(ids, k.Session)
	}
	if fmt.Sprint(ids) != fmt.Sprint(want) {
		c.errorf("OldestPending(%q, %d) = %v, want %v", site, limit, ids, want)
	}
}

func testPendingBytesSums(ctx context.Context, c *checker, s storage.Store) {
	p, ok := s.(storage.PendingCounter)
	if !ok {
		return
	}
	wantPendingBytes(ctx, c, p, "shop", 0)
	if !putAll(ctx, c, s,
		pendingSession("shop", "sess-a", storage.StatePending, 100, 1),
		pendingSession("shop", "sess-b", storage.StatePending, 20, 2),
		pendingSession("shop", "sess-c", storage.StatePending, 3, 3),
		pendingSession("shop", "sess-kept", storage.StateKept, 1000, 0),
		pendingSession("shop", "sess-tomb", storage.StateDropped, 5000, 0),
		pendingSession("blog", "sess-a", storage.StatePending, 7, 0),
	) {
		return
	}
	wantPendingBytes(ctx, c, p, "shop", 123)
	wantPendingBytes(ctx, c, p, "blog", 7)
	wantPendingBytes(ctx, c, p, "nosuch", 0)

	if !putAll(ctx, c, s,
		pendingSession("shop", "sess-a", storage.StatePending, 400, 1), // grew
		pendingSession("shop", "sess-b", storage.StateKept, 20, 2),     // kept
		pendingSession("shop", "sess-kept", storage.StatePending, 50, 0),
	) {
		return
	}
	c.ok(s.Delete(ctx, storage.Key{Site: "shop", Session: "sess-c"}), "Delete")
	wantPendingBytes(ctx, c, p, "shop", 450)
	if !putAll(ctx, c, s, pendingSession("shop", "sess-a", storage.StateDropped, 400, 1)) {
		return
	}
	wantPendingBytes(ctx, c, p, "shop", 50)
	wantPendingBytes(ctx, c, p, "blog", 7)
}

func testOldestPendingOrder(ctx context.Context, c *checker, s storage.Store) {
	p, ok := s.(storage.PendingCounter)
	if !ok {
		return
	}
	wantOldest(ctx, c, p, "shop", 10)
	if !putAll(ctx, c, s,
		pendingSession("shop", "sess-d", storage.StatePending, 1, 5),
		pendingSession("shop", "sess-b", storage.StatePending, 1, 2),
		pendingSession("shop", "sess-a", storage.StatePending, 1, 2),
		pendingSession("shop", "sess-c", storage.StatePending, 1, 1),
		pendingSession("shop", "sess-kept", storage.StateKept, 1, 0),
		pendingSession("shop", "sess-tomb", storage.StateDropped, 1, 0),
		pendingSession("blog", "sess-0", storage.StatePending, 1, 0),
	) {
		return
	}
	wantOldest(ctx, c, p, "shop", 10, "sess-c", "sess-a", "sess-b", "sess-d")
	wantOldest(ctx, c, p, "shop", 2, "sess-c", "sess-a")
	wantOldest(ctx, c, p, "shop", 0, "sess-c")
	wantOldest(ctx, c, p, "shop", -5, "sess-c")
	wantOldest(ctx, c, p, "blog", 10, "sess-0")
	wantOldest(ctx, c, p, "nosuch", 10)

	// What is stored now: a session kept or deleted leaves the list, one
	// seen earlier moves up.
	if !putAll(ctx, c, s,
		pendingSession("shop", "sess-c", storage.StateKept, 1, 1),
		pendingSession("shop", "sess-d", storage.StatePending, 1, 0),
	) {
		return
	}
	c.ok(s.Delete(ctx, storage.Key{Site: "shop", Session: "sess-a"}), "Delete")
	wantOldest(ctx, c, p, "shop", 10, "sess-d", "sess-b")
}

func testPendingCounterCancelled(ctx context.Context, c *checker, s storage.Store) {
	p, ok := s.(storage.PendingCounter)
	if !ok {
		return
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := p.PendingBytes(cancelled, "shop"); !errors.Is(err, context.Canceled) {
		c.errorf("PendingBytes with a cancelled context: %v, want context.Canceled", err)
	}
	if _, err := p.OldestPending(cancelled, "shop", 1); !errors.Is(err, context.Canceled) {
		c.errorf("OldestPending with a cancelled context: %v, want context.Canceled", err)
	}
}
