package replay

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sessionreplay/replay/storage"
	"github.com/sessionreplay/replay/storage/memstore"
)

// Two Recorders sharing one store (a storage.PendingCounter) enforce one
// bound on a site's pending bytes: each counts the sessions the other
// stored, and drops the oldest whoever wrote them.
func TestPendingBoundIsSharedByRecordersOfOneStore(t *testing.T) {
	tg := Targeting{Rules: []Rule{{Name: "never thank-you", When: Cond{Not: &Cond{Visited: "/thank-you*"}}}}}
	store := memstore.New()
	require.Implements(t, (*storage.PendingCounter)(nil), store)
	clock := newFakeClock()
	payload := strings.Repeat("x", 200)
	send := func(e *lifecycleEnv, id string) {
		clock.Advance(time.Second)
		e.send(id, "w1", 0, metaEv(0, "https://shop.example/"+id), customEv(1, "note", fmt.Sprintf("%q", payload+id)))
	}
	probe := newMemEnv(t, tg)
	send(probe, "pending-0")
	s0, _ := probe.stored("pending-0")
	per := s0.StoredBytes
	require.Positive(t, per)

	// Room for about three sessions, for both Recorders together.
	tg.MaxPendingBytes = 3*per + per/2
	a := newLifecycleEnv(t, store, &Site{ID: "shop", Targeting: tg}, clock)
	b := newLifecycleEnv(t, store, &Site{ID: "shop", Targeting: tg}, clock)
	for i := range 8 {
		send([]*lifecycleEnv{a, b}[i%2], fmt.Sprintf("pending-%d", i))
	}
	for i := range 8 {
		want := storage.StateDropped
		if i >= 5 {
			want = storage.StatePending
		}
		assert.Equal(t, want, a.state(fmt.Sprintf("pending-%d", i)), "pending-%d", i)
	}
	total, err := store.PendingBytes(context.Background(), "shop")
	require.NoError(t, err)
	assert.LessOrEqual(t, total, tg.MaxPendingBytes)
	assert.Equal(t, int64(5), a.rec.Stats()["shop"].Evicted+b.rec.Stats()["shop"].Evicted)
	assert.Positive(t, a.rec.Stats()["shop"].Evicted)
	assert.Positive(t, b.rec.Stats()["shop"].Evicted)

	// A batch of an evicted session is refused by either Recorder.
	assert.False(t, b.send("pending-0", "w1", 1, moveEv(5)).Record)
	assert.False(t, a.send("pending-1", "w1", 1, moveEv(5)).Record)
}
