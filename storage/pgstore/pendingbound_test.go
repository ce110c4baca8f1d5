package pgstore_test

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sessionreplay/replay"
	"github.com/sessionreplay/replay/storage"
	"github.com/sessionreplay/replay/storage/pgstore"
)

// Two Recorders on two Stores of one database, as two processes, enforce
// one bound on a site's pending bytes: each reads the total both wrote
// (storage.PendingCounter) and drops the oldest pending sessions, whoever
// wrote them.
func TestPendingBoundAcrossStores(t *testing.T) {
	needDB(t)
	schema := newSchema(t)
	stores := []*pgstore.Store{openStore(t, schema, nil), openStore(t, schema, nil)}
	const per = 1000 // about what a session below stores: 500 random bytes as hex
	tg := replay.Targeting{
		Rules:           []replay.Rule{{Name: "never thank-you", When: replay.Cond{Not: &replay.Cond{Visited: "/thank-you*"}}}},
		MaxPendingBytes: 4 * per,
	}
	var recs []*replay.Recorder
	for _, s := range stores {
		sites, err := replay.NewStaticSites(&replay.Site{ID: "shop", Targeting: tg})
		require.NoError(t, err)
		rec, err := replay.New(s, sites, &replay.Options{Now: func() time.Time { return fixedNow }})
		require.NoError(t, err)
		recs = append(recs, rec)
	}
	const n = 12
	for i := range n {
		id := fmt.Sprintf("pending-%02d", i)
		ts := fixedNow.UnixMilli()
		noise := make([]byte, per/2)
		_, _ = rand.Read(noise)
		b, err := json.Marshal(map[string]any{"site": "shop", "session": id, "window": "w1", "seq": 0, "events": []any{
			map[string]any{"type": 4, "timestamp": ts, "data": map[string]any{"href": "https://shop.example/" + id, "width": 1280, "height": 720}},
			map[string]any{"type": 5, "timestamp": ts + 1, "data": map[string]any{"tag": "note", "payload": hex.EncodeToString(noise)}},
		}})
		require.NoError(t, err)
		batch, err := replay.DecodeBatch(b)
		require.NoError(t, err)
		res, err := recs[i%2].Ingest(t.Context(), batch, client)
		require.NoError(t, err)
		require.True(t, res.Record)
	}

	// Every session has the same FirstSeen: the oldest are the first ids.
	var states []storage.State
	for i := range n {
		s, err := stores[0].Session(t.Context(), storage.Key{Site: "shop", Session: fmt.Sprintf("pending-%02d", i)})
		require.NoError(t, err)
		states = append(states, s.State)
	}
	kept := 0
	for kept < n && states[n-1-kept] == storage.StatePending {
		kept++
	}
	for i, st := range states[:n-kept] {
		assert.Equal(t, storage.StateDropped, st, "pending-%02d: the oldest are dropped first: %v", i, states)
	}
	total, err := stores[1].PendingBytes(t.Context(), "shop")
	require.NoError(t, err)
	// A bound per Recorder would leave up to twice as much.
	assert.LessOrEqual(t, total, tg.MaxPendingBytes, "pending bytes of both Recorders together")
	assert.Positive(t, kept)
	for i, rec := range recs {
		assert.Positive(t, rec.Stats()["shop"].Evicted, "Recorder %d evicted none", i)
	}
	t.Logf("%d pending sessions kept, %d bytes, states %v", kept, total, states)
}
