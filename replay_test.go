package replay

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sessionreplay/replay/storage"
	"github.com/sessionreplay/replay/storage/memstore"
)

// failingPuts is a store whose next PutSession fails when fail is set.
type failingPuts struct {
	storage.Store
	fail bool
}

func (s *failingPuts) PutSession(ctx context.Context, sess storage.Session) error {
	if s.fail {
		s.fail = false
		return fmt.Errorf("disk on fire: %w", storage.ErrUnavailable)
	}
	return s.Store.PutSession(ctx, sess)
}

// A batch whose chunk was appended but whose session metadata could not be
// written is answered with an error; when the browser retries it, the chunk
// is not stored twice and its facts are written then.
func TestIngestRetryAfterFailedPutSessionKeepsTheFacts(t *testing.T) {
	store := &failingPuts{Store: memstore.New()}
	sites, err := NewStaticSites(&Site{ID: "shop"})
	require.NoError(t, err)
	rec, err := New(store, sites, nil)
	require.NoError(t, err)
	ctx := context.Background()
	send := func(window string, events ...string) error {
		b, err := DecodeBatch(fmt.Appendf(nil, `{"site":"shop","session":"visit-0001","window":%q,"seq":0,"events":[%s]}`,
			window, joinEvents(events)))
		require.NoError(t, err)
		_, err = rec.Ingest(ctx, b, Client{})
		return err
	}

	require.NoError(t, send("w1", metaEv(0, "https://shop.example/"), fullEv(1)))
	store.fail = true
	err = send("w2", metaEv(5000, "https://shop.example/checkout"), fullEv(5001))
	require.True(t, errors.Is(err, storage.ErrUnavailable), "the browser is told to retry: %v", err)
	require.NoError(t, send("w2", metaEv(5000, "https://shop.example/checkout"), fullEv(5001)), "the retry")

	s, err := rec.Session(ctx, "shop", "visit-0001")
	require.NoError(t, err)
	assert.Equal(t, []string{"w1", "w2"}, s.WindowIDs)
	assert.Equal(t, []string{"https://shop.example/", "https://shop.example/checkout"}, s.Pages)
	assert.Equal(t, 4, s.EventCount)

	// A plain retry of a batch whose facts were written counts nothing twice.
	require.NoError(t, send("w2", metaEv(5000, "https://shop.example/checkout"), fullEv(5001)))
	s, err = rec.Session(ctx, "shop", "visit-0001")
	require.NoError(t, err)
	assert.Equal(t, 4, s.EventCount)
}

func joinEvents(events []string) string {
	out := ""
	for i, e := range events {
		if i > 0 {
			out += ","
		}
		out += e
	}
	return out
}

// The case a known window used to lose: a batch of a window the metadata
// already lists fails at PutSession; its retry writes its facts (the error
// it carries counts, so the session is kept), and later retries count
// nothing twice.
func TestIngestRetryInAKnownWindowCountsTheFactsOnce(t *testing.T) {
	store := &failingPuts{Store: memstore.New()}
	sites, err := NewStaticSites(&Site{ID: "shop", Targeting: Targeting{Rules: []Rule{{Name: "errors", When: Cond{Error: true}}}}})
	require.NoError(t, err)
	rec, err := New(store, sites, nil)
	require.NoError(t, err)
	ctx := context.Background()
	send := func(seq int, events ...string) error {
		_, err := rec.Ingest(ctx, mkBatch(t, "visit-0001", "w1", seq, events...), Client{})
		return err
	}
	require.NoError(t, send(0, metaEv(0, "https://shop.example/"), fullEv(1)))
	store.fail = true
	require.ErrorIs(t, send(1, jsErrorEv(100, "boom"), moveEv(200)), storage.ErrUnavailable)
	s, err := store.Session(ctx, storage.Key{Site: "shop", Session: "visit-0001"})
	require.NoError(t, err)
	require.Zero(t, s.Errors, "the failed try wrote no facts")

	for range 3 {
		require.NoError(t, send(1, jsErrorEv(100, "boom"), moveEv(200)), "a retry")
		s, err = rec.Session(ctx, "shop", "visit-0001")
		require.NoError(t, err)
		assert.Equal(t, 1, s.Errors)
		assert.Equal(t, 4, s.EventCount)
		assert.Equal(t, storage.StateKept, s.State)
	}
	var n int
	for _, err := range store.Chunks(ctx, storage.Key{Site: "shop", Session: "visit-0001"}, "") {
		require.NoError(t, err)
		n++
	}
	assert.Equal(t, 2, n)
}

func TestSeqRecord(t *testing.T) {
	st := &factState{V: factStateVersion}
	s := &storage.Session{}
	for _, seq := range []int{0, 1, 2, 5, 4, 3, 9} {
		st.addSeq("w1", seq, true)
	}
	assert.Equal(t, [][2]int{{0, 5}, {9, 9}}, st.Seqs["w1"])
	st.save(s)
	for seq, want := range map[int]bool{0: true, 3: true, 5: true, 6: false, 9: true, 10: false} {
		counted, tracked := loadFactState(s).seqsCounted(s, "w1", seq)
		assert.True(t, tracked)
		assert.Equal(t, want, counted, "seq %d", seq)
	}
	st.addSeq("old", 0, false)
	assert.NotContains(t, st.Seqs, "old", "a window listed without a record starts none")
	s.WindowIDs = []string{"w1", "old"}
	_, tracked := loadFactState(s).seqsCounted(s, "old", 0)
	assert.False(t, tracked)
	for seq := 0; seq < 2*maxSeqRuns+4; seq += 2 {
		st.addSeq("holes", seq, true)
	}
	st.save(s)
	_, tracked = loadFactState(s).seqsCounted(s, "holes", 0)
	assert.False(t, tracked, "a window with too many holes is no longer tracked")
}
