package replay

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"math/rand/v2"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sessionreplay/replay/storage"
	"github.com/sessionreplay/replay/storage/memstore"
)

// fixChunk is a stored chunk of a test session: its window, seq and the
// timestamps of its events.
type fixChunk struct {
	window string
	seq    int
	ts     []float64
}

var eventsKey = storage.Key{Site: "shop", Session: "session-events-1"}

// fixEventName names an event of a fixture by its place: window/seq/index.
func fixEventName(window string, seq, i int) string { return fmt.Sprintf("%s/%d/%d", window, seq, i) }

// storeFixture stores the chunks (in the order given, which need not be
// seq order) and a kept session listing windowIDs, and returns a Recorder
// reading store. pad is added to each event's payload.
func storeFixture(t testing.TB, store storage.Store, windowIDs []string, chunks []fixChunk, pad int) *Recorder {
	t.Helper()
	ctx := context.Background()
	for _, c := range chunks {
		events := make([]Event, len(c.ts))
		for i, ts := range c.ts {
			data, err := json.Marshal(map[string]any{"tag": "t", "payload": map[string]any{
				"name": fixEventName(c.window, c.seq, i), "pad": strings.Repeat("x", pad)}})
			require.NoError(t, err)
			events[i] = Event{Type: Custom, Timestamp: ts, Data: data}
		}
		data, err := encodeChunk(events)
		require.NoError(t, err)
		require.NoError(t, store.Append(ctx, eventsKey, storage.Chunk{Window: c.window, Seq: c.seq, Events: len(events), Data: data}))
	}
	require.NoError(t, store.PutSession(ctx, storage.Session{ID: eventsKey.Session, Site: eventsKey.Site,
		State: storage.StateKept, WindowIDs: windowIDs, Windows: len(windowIDs)}))
	sites, err := NewStaticSites(&Site{ID: eventsKey.Site})
	require.NoError(t, err)
	rec, err := New(store, sites, nil)
	require.NoError(t, err)
	return rec
}

// wantOrder is the reference answer: the events of the chunks in (window
// order, seq, index), windows listed in windowIDs first, stable-sorted by
// timestamp. window != "" keeps that window only.
func wantOrder(windowIDs []string, chunks []fixChunk, window string) []string {
	rank := func(w string) int {
		if i := slices.Index(windowIDs, w); i >= 0 {
			return i
		}
		return len(windowIDs)
	}
	chunks = slices.Clone(chunks)
	slices.SortFunc(chunks, func(a, b fixChunk) int {
		return cmp.Or(cmp.Compare(rank(a.window), rank(b.window)), cmp.Compare(a.window, b.window), cmp.Compare(a.seq, b.seq))
	})
	type ev struct {
		ts   float64
		name string
	}
	var all []ev
	for _, c := range chunks {
		if window != "" && c.window != window {
			continue
		}
		for i, ts := range c.ts {
			all = append(all, ev{ts, fixEventName(c.window, c.seq, i)})
		}
	}
	slices.SortStableFunc(all, func(a, b ev) int { return cmp.Compare(a.ts, b.ts) })
	names := []string{}
	for _, e := range all {
		names = append(names, e.name)
	}
	return names
}

// gotOrder parses an answer of Events and returns the names of its events.
func gotOrder(t testing.TB, body []byte) []string {
	t.Helper()
	var events []struct {
		Data struct {
			Payload struct {
				Name string `json:"name"`
			} `json:"payload"`
		} `json:"data"`
	}
	require.NoError(t, json.Unmarshal(body, &events), "answer %.200q", body)
	names := []string{}
	for _, e := range events {
		names = append(names, e.Data.Payload.Name)
	}
	return names
}

func TestEventsMergeWindowsInStableTimestampOrder(t *testing.T) {
	tests := []struct {
		name      string
		windowIDs []string
		chunks    []fixChunk
	}{
		{"empty session", nil, nil},
		{"one window in order", []string{"w1"}, []fixChunk{
			{"w1", 0, []float64{1, 2, 2, 3}}, {"w1", 1, []float64{3, 4}}, {"w1", 2, []float64{9}}}},
		{"windows interleaved, ties across windows in order of arrival", []string{"wb", "wa", "wc"}, []fixChunk{
			{"wa", 0, []float64{1, 5, 5, 8}}, {"wa", 1, []float64{8, 12}},
			{"wb", 0, []float64{2, 5, 6}}, {"wb", 1, []float64{8, 8, 13}}, {"wb", 2, []float64{20}},
			{"wc", 0, []float64{0, 5, 30}}}},
		{"all timestamps equal", []string{"w2", "w1", "w3"}, []fixChunk{
			{"w1", 0, []float64{7, 7}}, {"w1", 1, []float64{7}},
			{"w2", 0, []float64{7, 7, 7}}, {"w3", 0, []float64{7}}, {"w3", 1, []float64{7, 7}}}},
		{"chunks appended out of seq order", []string{"w1", "w2"}, []fixChunk{
			{"w1", 2, []float64{30, 31}}, {"w2", 1, []float64{15}}, {"w1", 0, []float64{10}},
			{"w2", 0, []float64{12}}, {"w1", 1, []float64{20, 21}}}},
		{"a later batch holds earlier timestamps", []string{"w1", "w2"}, []fixChunk{
			{"w1", 0, []float64{10, 20}}, {"w1", 1, []float64{5, 15, 20}}, {"w1", 2, []float64{25}},
			{"w2", 0, []float64{6, 12, 20}}}},
		{"events out of order within a chunk", []string{"w1", "w2"}, []fixChunk{
			{"w1", 0, []float64{3, 1, 2, 1}}, {"w2", 0, []float64{1, 1, 4}}}},
		{"negative and fractional timestamps", []string{"w1", "w2"}, []fixChunk{
			{"w1", 0, []float64{-5, -1.5, 0}}, {"w2", 0, []float64{-7, -1.5, 0.25}}}},
		{"a window stored but not listed comes after the listed ones", []string{"w2"}, []fixChunk{
			{"w1", 0, []float64{1, 4}}, {"w2", 0, []float64{1, 2, 4}}, {"w0", 0, []float64{1}}}},
		{"a listed window without chunks is skipped", []string{"w1", "gone", "w2"}, []fixChunk{
			{"w1", 0, []float64{2}}, {"w2", 0, []float64{1}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := storeFixture(t, memstore.New(), tt.windowIDs, tt.chunks, 0)
			var out bytes.Buffer
			require.NoError(t, rec.Events(context.Background(), eventsKey.Site, eventsKey.Session, "", &out))
			assert.Equal(t, wantOrder(tt.windowIDs, tt.chunks, ""), gotOrder(t, out.Bytes()))
		})
	}
}

func TestEventsMatchStableSortOnRandomSessions(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for n := range 200 {
		var windowIDs []string
		var chunks []fixChunk
		for w := range 1 + rng.IntN(4) {
			id := fmt.Sprintf("w%d", rng.IntN(100)*10+w) // arrival order differs from id order
			windowIDs = append(windowIDs, id)
			ts := float64(rng.IntN(20))
			for seq := range 1 + rng.IntN(4) {
				c := fixChunk{window: id, seq: seq}
				for range rng.IntN(5) {
					if rng.IntN(8) == 0 {
						ts -= float64(rng.IntN(10)) // a clock jump back
					} else {
						ts += float64(rng.IntN(3)) // often equal
					}
					c.ts = append(c.ts, ts)
				}
				chunks = append(chunks, c)
			}
		}
		rng.Shuffle(len(chunks), func(i, j int) { chunks[i], chunks[j] = chunks[j], chunks[i] })
		rec := storeFixture(t, memstore.New(), windowIDs, chunks, 0)
		for _, window := range []string{"", windowIDs[0]} {
			var out bytes.Buffer
			require.NoError(t, rec.Events(context.Background(), eventsKey.Site, eventsKey.Session, window, &out))
			require.Equal(t, wantOrder(windowIDs, chunks, window), gotOrder(t, out.Bytes()), "session %d window %q: %v", n, window, chunks)
		}
	}
}

func TestEventsWindowFilter(t *testing.T) {
	windowIDs := []string{"w1", "w2"}
	chunks := []fixChunk{
		{"w1", 0, []float64{1, 3}}, {"w1", 1, []float64{2, 5}},
		{"w2", 0, []float64{0, 4}}, {"w2", 1, []float64{4, 6}}}
	rec := storeFixture(t, memstore.New(), windowIDs, chunks, 0)
	tests := []struct {
		window string
		want   []string
	}{
		{"w1", []string{"w1/0/0", "w1/1/0", "w1/0/1", "w1/1/1"}},
		{"w2", []string{"w2/0/0", "w2/0/1", "w2/1/0", "w2/1/1"}},
		{"w-unknown", []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.window, func(t *testing.T) {
			var out bytes.Buffer
			require.NoError(t, rec.Events(context.Background(), eventsKey.Site, eventsKey.Session, tt.window, &out))
			assert.Equal(t, tt.want, gotOrder(t, out.Bytes()))
		})
	}
}

func TestEventsUnknownSessionWritesNothing(t *testing.T) {
	store := memstore.New()
	rec := storeFixture(t, store, []string{"w1"}, []fixChunk{{"w1", 0, []float64{1}}}, 0)
	require.NoError(t, store.PutSession(context.Background(), storage.Session{ID: "session-dropped", Site: eventsKey.Site, State: storage.StateDropped}))
	for _, id := range []string{"session-unknown", "session-dropped"} {
		t.Run(id, func(t *testing.T) {
			var out bytes.Buffer
			err := rec.Events(context.Background(), eventsKey.Site, id, "", &out)
			require.ErrorIs(t, err, storage.ErrNotFound)
			assert.Zero(t, out.Len(), "written: %q", out.Bytes())
		})
	}
}

// failingStore fails the iteration of Chunks once it has yielded `after`
// chunks in all, counting across calls.
type failingStore struct {
	storage.Store
	after   int64
	yielded atomic.Int64
}

func (s *failingStore) Chunks(ctx context.Context, key storage.Key, window string) iter.Seq2[storage.Chunk, error] {
	return func(yield func(storage.Chunk, error) bool) {
		for c, err := range s.Store.Chunks(ctx, key, window) {
			if err == nil && s.yielded.Add(1) > s.after {
				yield(storage.Chunk{}, fmt.Errorf("failing: %w", storage.ErrUnavailable))
				return
			}
			if !yield(c, err) {
				return
			}
		}
	}
}

func TestEventsStoreFailure(t *testing.T) {
	// Events of 2 KiB: each chunk of 50 fills more than one write.
	var chunks []fixChunk
	for seq := range 4 {
		c := fixChunk{window: "w1", seq: seq}
		for i := range 50 {
			c.ts = append(c.ts, float64(seq*100+i))
		}
		chunks = append(chunks, c)
	}
	t.Run("before the first write", func(t *testing.T) {
		store := &failingStore{Store: memstore.New(), after: 1 << 30}
		rec := storeFixture(t, store, []string{"w1"}, chunks, 2<<10)
		store.after = 2 // fails while scanning
		var out bytes.Buffer
		err := rec.Events(context.Background(), eventsKey.Site, eventsKey.Session, "", &out)
		require.ErrorIs(t, err, storage.ErrUnavailable)
		assert.Zero(t, out.Len())
	})
	t.Run("after writing: the array is left unfinished", func(t *testing.T) {
		store := &failingStore{Store: memstore.New(), after: 1 << 30}
		rec := storeFixture(t, store, []string{"w1"}, chunks, 2<<10)
		store.after = int64(len(chunks)) + 2 // the scan, then two chunks merged
		var out bytes.Buffer
		err := rec.Events(context.Background(), eventsKey.Site, eventsKey.Session, "", &out)
		require.ErrorIs(t, err, storage.ErrUnavailable)
		require.NotZero(t, out.Len())
		assert.True(t, bytes.HasPrefix(out.Bytes(), []byte(`[{"type":5`)))
		assert.False(t, json.Valid(out.Bytes()), "a failed answer must not be valid JSON")
	})
	t.Run("a chunk that does not decode, before the first write", func(t *testing.T) {
		store := memstore.New()
		rec := storeFixture(t, store, []string{"w1"}, chunks, 2<<10)
		require.NoError(t, store.Append(context.Background(), eventsKey, storage.Chunk{Window: "w1", Seq: 9, Data: []byte("not zstd")}))
		var out bytes.Buffer
		err := rec.Events(context.Background(), eventsKey.Site, eventsKey.Session, "", &out)
		require.ErrorContains(t, err, "w1/9")
		assert.Zero(t, out.Len())
	})
}

// appendingStore appends a chunk once its first Chunks call has ended, as
// a batch arriving between the two passes of Events would.
type appendingStore struct {
	storage.Store
	late  storage.Chunk
	calls atomic.Int64
}

func (s *appendingStore) Chunks(ctx context.Context, key storage.Key, window string) iter.Seq2[storage.Chunk, error] {
	return func(yield func(storage.Chunk, error) bool) {
		defer func() {
			if s.calls.Add(1) == 1 {
				if err := s.Store.Append(ctx, key, s.late); err != nil {
					panic(err)
				}
			}
		}()
		for c, err := range s.Store.Chunks(ctx, key, window) {
			if !yield(c, err) {
				return
			}
		}
	}
}

func TestEventsReadTheChunksScanned(t *testing.T) {
	chunks := []fixChunk{{"w1", 0, []float64{10, 20}}, {"w1", 2, []float64{30, 40}}}
	store := &appendingStore{Store: memstore.New()}
	rec := storeFixture(t, store, []string{"w1"}, chunks, 0)
	late := []Event{{Type: Custom, Timestamp: 1, Data: json.RawMessage(`{"tag":"t","payload":{"name":"late"}}`)}}
	data, err := encodeChunk(late)
	require.NoError(t, err)
	store.late = storage.Chunk{Window: "w1", Seq: 1, Events: 1, Data: data} // out of order, between stored seqs
	var out bytes.Buffer
	require.NoError(t, rec.Events(context.Background(), eventsKey.Site, eventsKey.Session, "", &out))
	assert.Equal(t, wantOrder([]string{"w1"}, chunks, ""), gotOrder(t, out.Bytes()))

	out.Reset()
	require.NoError(t, rec.Events(context.Background(), eventsKey.Site, eventsKey.Session, "", &out))
	assert.Equal(t, []string{"late", "w1/0/0", "w1/0/1", "w1/2/0", "w1/2/1"}, gotOrder(t, out.Bytes()), "the next read sees it")
}

func TestEventsLargeEventWrittenWhole(t *testing.T) {
	chunks := []fixChunk{{"w1", 0, []float64{1, 2, 3}}}
	rec := storeFixture(t, memstore.New(), []string{"w1"}, chunks, 3*flushBytes)
	var out bytes.Buffer
	require.NoError(t, rec.Events(context.Background(), eventsKey.Site, eventsKey.Session, "", &out))
	assert.Equal(t, wantOrder([]string{"w1"}, chunks, ""), gotOrder(t, out.Bytes()))
}

func TestEventsStopsOnWriteError(t *testing.T) {
	var chunks []fixChunk
	for seq := range 3 {
		chunks = append(chunks, fixChunk{"w1", seq, []float64{1, 2, 3, 4}})
	}
	rec := storeFixture(t, memstore.New(), []string{"w1"}, chunks, 40<<10)
	errGone := errors.New("client gone")
	err := rec.Events(context.Background(), eventsKey.Site, eventsKey.Session, "", failWriter{errGone})
	require.ErrorIs(t, err, errGone)
}

type failWriter struct{ err error }

func (w failWriter) Write([]byte) (int, error) { return 0, w.err }
