package replay

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sessionreplay/replay/storage"
	"github.com/sessionreplay/replay/storage/filestore"
)

// sweepCounter is a filestore that counts what a Sweep reads: List calls,
// keys Due returned and Session reads. A fail key makes Session fail.
type sweepCounter struct {
	*filestore.Store
	mu                    sync.Mutex
	lists, dueKeys, reads int
	fail                  storage.Key
}

func (c *sweepCounter) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lists, c.dueKeys, c.reads = 0, 0, 0
}

func (c *sweepCounter) counts() (lists, dueKeys, reads int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lists, c.dueKeys, c.reads
}

func (c *sweepCounter) List(ctx context.Context, q storage.Query) (storage.Page, error) {
	c.mu.Lock()
	c.lists++
	c.mu.Unlock()
	return c.Store.List(ctx, q)
}

func (c *sweepCounter) Due(ctx context.Context, q storage.DueQuery) (storage.DuePage, error) {
	page, err := c.Store.Due(ctx, q)
	c.mu.Lock()
	c.dueKeys += len(page.Keys)
	c.mu.Unlock()
	return page, err
}

func (c *sweepCounter) Session(ctx context.Context, k storage.Key) (storage.Session, error) {
	c.mu.Lock()
	c.reads++
	fail := k == c.fail
	c.mu.Unlock()
	if fail {
		return storage.Session{}, fmt.Errorf("disk on fire: %w", storage.ErrUnavailable)
	}
	return c.Store.Session(ctx, k)
}

// LockSession hands fn a view whose Session reads are counted (and fail)
// the same way: the Recorder reads a session under its lock.
func (c *sweepCounter) LockSession(ctx context.Context, key storage.Key, fn func(st storage.Store) error) error {
	return c.Store.LockSession(ctx, key, func(st storage.Store) error {
		return fn(&sweepView{Store: st, c: c})
	})
}

// sweepView is the view of a sweepCounter's LockSession.
type sweepView struct {
	storage.Store
	c *sweepCounter
}

func (v *sweepView) Session(ctx context.Context, k storage.Key) (storage.Session, error) {
	v.c.mu.Lock()
	v.c.reads++
	fail := k == v.c.fail
	v.c.mu.Unlock()
	if fail {
		return storage.Session{}, fmt.Errorf("disk on fire: %w", storage.ErrUnavailable)
	}
	return v.Store.Session(ctx, k)
}

func newSweepEnv(t *testing.T) (*lifecycleEnv, *sweepCounter) {
	t.Helper()
	fs, err := filestore.Open(t.TempDir(), nil)
	require.NoError(t, err)
	t.Cleanup(func() { fs.Close() })
	store := &sweepCounter{Store: fs}
	tg := Targeting{IdleTimeout: 10 * time.Minute}
	return newLifecycleEnv(t, store, &Site{ID: "shop", Targeting: tg}, newFakeClock()), store
}

// A Sweep on a store with an index reads only the sessions it acts on:
// the ended, kept sessions and the tombstones of earlier runs cost nothing,
// however many there are.
func TestSweepReadsOnlyTheSessionsDue(t *testing.T) {
	e, store := newSweepEnv(t)
	ctx := context.Background()
	// runs adds n ended, kept sessions and n/10 tombstones, then sweeps two
	// new idle sessions and returns what that sweep read.
	var made int
	run := func(n int) (lists, dueKeys, reads int) {
		for range n {
			id := fmt.Sprintf("kept-%05d", made)
			made++
			e.send(id, "w1", 0, metaEv(0, "https://shop.example/"), moveEv(10))
			if made%10 == 0 {
				require.NoError(t, e.rec.Delete(ctx, "shop", id))
			}
		}
		e.clock.Advance(time.Hour)
		e.sweep()
		e.send(fmt.Sprintf("idle-%05d", made), "w1", 0, moveEv(0))
		e.send(fmt.Sprintf("idle-%05d", made+1), "w1", 0, moveEv(0))
		e.clock.Advance(time.Hour)
		store.reset()
		assert.Equal(t, SweepStats{Ended: 2}, e.sweep())
		return store.counts()
	}
	l1, d1, r1 := run(10)
	l2, d2, r2 := run(100)
	assert.Zero(t, l1+l2, "Sweep never lists every session")
	assert.Equal(t, 2, d1, "only the two idle sessions are due")
	assert.Equal(t, d1, d2, "ten times the ended sessions cost the sweep nothing more")
	assert.Equal(t, r1, r2)
	assert.Equal(t, 2, r2, "one read per session acted on")
}

// A session Sweep cannot handle is logged and counted, and the others are
// swept.
func TestSweepGoesOnPastAFailingSession(t *testing.T) {
	e, store := newSweepEnv(t)
	for _, id := range []string{"sess-0001", "sess-0002", "sess-0003"} {
		e.send(id, "w1", 0, moveEv(0))
	}
	store.fail = storage.Key{Site: "shop", Session: "sess-0002"}
	e.clock.Advance(time.Hour)
	st, err := e.rec.Sweep(context.Background(), e.clock.Now())
	require.ErrorIs(t, err, storage.ErrUnavailable)
	assert.Equal(t, SweepStats{Ended: 2, Failed: 1}, st)
	for _, id := range []string{"sess-0001", "sess-0003"} {
		s, _ := e.stored(id)
		assert.True(t, s.Ended, id)
	}
	store.fail = storage.Key{}
	assert.Equal(t, SweepStats{Ended: 1}, e.sweep(), "the next run sweeps it")
}

// Chunks whose session record was never written (the writer died between
// Append and PutSession) are found by Sweep and deleted by retention.
func TestSweepExpiresOrphanedChunks(t *testing.T) {
	e, store := newSweepEnv(t)
	ctx := context.Background()
	orphan := storage.Key{Site: "shop", Session: "orphan-01"}
	require.NoError(t, store.Append(ctx, orphan, storage.Chunk{Window: "w1", Data: []byte("events")}))

	st, err := e.rec.Sweep(ctx, time.Now())
	require.NoError(t, err)
	assert.Zero(t, st.Expired, "kept until the site's retention passes")
	st, err = e.rec.Sweep(ctx, time.Now().Add(DefaultRetention+time.Hour))
	require.NoError(t, err)
	assert.Equal(t, 1, st.Expired)
	for _, err := range store.Chunks(ctx, orphan, "") {
		t.Fatalf("a chunk is left: %v", err)
	}
	page, err := store.Due(ctx, storage.DueQuery{Site: "shop", Kind: storage.DueOrphaned, Before: time.Now().Add(DefaultRetention * 2)})
	require.NoError(t, err)
	assert.Empty(t, page.Keys)
}
