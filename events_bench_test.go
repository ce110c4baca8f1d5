package replay

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sessionreplay/replay/storage"
	"github.com/sessionreplay/replay/storage/memstore"
)

// eventsSorted is the former Events, kept as the baseline: it reads and
// decodes every chunk of the session into memory, stable-sorts all the
// events by timestamp, then writes them.
func eventsSorted(r *Recorder, ctx context.Context, site, id, window string, w io.Writer) error {
	key := storage.Key{Site: site, Session: id}
	if _, err := r.Session(ctx, site, id); err != nil {
		return err
	}
	type stamped struct {
		ts  float64
		raw json.RawMessage
	}
	var all []stamped
	for c, err := range r.store.Chunks(ctx, key, window) {
		if err != nil {
			return fmt.Errorf("read %s/%s: %w", site, id, err)
		}
		raws, err := decodeChunk(c.Data)
		if err != nil {
			return fmt.Errorf("read %s/%s/%s/%d: %w", site, id, c.Window, c.Seq, err)
		}
		for _, raw := range raws {
			ts, err := eventTimestamp(raw)
			if err != nil {
				return fmt.Errorf("read %s/%s/%s/%d: %w", site, id, c.Window, c.Seq, err)
			}
			all = append(all, stamped{ts, raw})
		}
	}
	slices.SortStableFunc(all, func(a, b stamped) int { return cmp.Compare(a.ts, b.ts) })

	var buf bytes.Buffer
	buf.WriteByte('[')
	for i, e := range all {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.Write(e.raw)
		if buf.Len() >= 64<<10 {
			if _, err := w.Write(buf.Bytes()); err != nil {
				return err
			}
			buf.Reset()
		}
	}
	buf.WriteByte(']')
	_, err := w.Write(buf.Bytes())
	return err
}

// eventsFunc is Events or its baseline.
type eventsFunc func(r *Recorder, ctx context.Context, site, id, window string, w io.Writer) error

var eventsImpls = []struct {
	name string
	fn   eventsFunc
}{
	{"stream", (*Recorder).Events},
	{"sorted", eventsSorted},
}

// eventsBenchSession stores a session of n chunks of 50 events of about 200 bytes
// each, spread over 3 windows whose timestamps interleave, and returns a
// Recorder reading it and the size of the session's event JSON.
func eventsBenchSession(t testing.TB, n int) (*Recorder, int) {
	t.Helper()
	windows := []string{"w1", "w2", "w3"}
	var chunks []fixChunk
	for i := range n {
		c := fixChunk{window: windows[i%3], seq: i / 3}
		for j := range 50 {
			c.ts = append(c.ts, float64(1_780_000_000_000+i/3*1000+j*10+i%3))
		}
		chunks = append(chunks, c)
	}
	rec := storeFixture(t, memstore.New(), windows, chunks, 120)
	var out bytes.Buffer
	require.NoError(t, rec.Events(context.Background(), eventsKey.Site, eventsKey.Session, "", &out))
	return rec, out.Len()
}

// peakWriter discards what is written and records the largest live heap
// seen at a write, above base; it collects garbage before each look, so it
// is slow and meant for measuring, not timing.
type peakWriter struct {
	base, peak uint64
}

func newPeakWriter() *peakWriter {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return &peakWriter{base: ms.HeapAlloc}
}

func (p *peakWriter) Write(b []byte) (int, error) {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	if ms.HeapAlloc > p.base {
		p.peak = max(p.peak, ms.HeapAlloc-p.base)
	}
	return len(b), nil
}

// peakLive returns the largest live heap above what was live before, seen
// while fn wrote a session's events.
func peakLive(t testing.TB, rec *Recorder, fn eventsFunc) uint64 {
	t.Helper()
	require.NoError(t, fn(rec, context.Background(), eventsKey.Site, eventsKey.Session, "", io.Discard)) // warm up
	p := newPeakWriter()
	require.NoError(t, fn(rec, context.Background(), eventsKey.Site, eventsKey.Session, "", p))
	return p.peak
}

func TestEventsMemoryDoesNotGrowWithChunks(t *testing.T) {
	rec10, _ := eventsBenchSession(t, 10)
	rec1000, size := eventsBenchSession(t, 1000)
	stream10 := peakLive(t, rec10, (*Recorder).Events)
	stream1000 := peakLive(t, rec1000, (*Recorder).Events)
	sorted1000 := peakLive(t, rec1000, eventsSorted)
	t.Logf("session of 1000 chunks: %d KiB of events; peak live heap: stream %d KiB (10 chunks: %d KiB), sorted %d KiB",
		size>>10, stream1000>>10, stream10>>10, sorted1000>>10)
	assert.Greater(t, sorted1000, uint64(size/2), "the measure sees a session held in memory")
	assert.Less(t, stream1000, uint64(size/10), "streaming holds a small part of the session")
	assert.Less(t, stream1000, 2*stream10+256<<10, "streaming memory does not grow with the chunks")
}

// BenchmarkEvents writes sessions of 10 and 1000 chunks with Events
// (stream) and with the former in-memory sort (sorted). B/op counts all
// bytes allocated, which grows with the session for both; peak-live-B is
// the largest live heap seen while writing, which is what streaming bounds.
func BenchmarkEvents(b *testing.B) {
	for _, n := range []int{10, 1000} {
		rec, size := eventsBenchSession(b, n)
		for _, impl := range eventsImpls {
			b.Run(fmt.Sprintf("chunks=%d/%s", n, impl.name), func(b *testing.B) {
				peak := peakLive(b, rec, impl.fn)
				b.ReportAllocs()
				b.SetBytes(int64(size))
				b.ResetTimer()
				for b.Loop() {
					if err := impl.fn(rec, context.Background(), eventsKey.Site, eventsKey.Session, "", io.Discard); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(peak), "peak-live-B")
			})
		}
	}
}
