package replay

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/sessionreplay/replay/internal/corpus"
	"github.com/sessionreplay/replay/internal/cputime"
	"github.com/sessionreplay/replay/storage"
	"github.com/sessionreplay/replay/storage/memstore"
)

// cpuMeter reports, at the end of a benchmark, MB of input per second of the
// process's CPU time (MB/cpu-s): on a shared machine, the wall-clock MB/s
// measures the neighbours too.
func cpuMeter(b *testing.B, bytesPerOp int) func() {
	start, ok := cputime.Process()
	return func() {
		end, _ := cputime.Process()
		if ok && end > start {
			b.ReportMetric(float64(bytesPerOp)*float64(b.N)/1e6/(end-start).Seconds(), "MB/cpu-s")
		}
	}
}

// corpusBodies returns the recorded corpus cut into recorder.js's batches
// for session, and their total size.
func corpusBodies(b *testing.B, session string) ([][]byte, int) {
	b.Helper()
	dir, err := corpus.Dir()
	if err != nil {
		b.Fatal(err)
	}
	visits, err := corpus.Load(dir)
	if err != nil {
		b.Fatal(err)
	}
	var bodies [][]byte
	total := 0
	for i, v := range visits {
		for _, bt := range v.Batches("bench", session, fmt.Sprintf("w%d", i)) {
			bodies = append(bodies, bt.Body)
			total += len(bt.Body)
		}
	}
	return bodies, total
}

// BenchmarkIngestCorpus ingests the corpus (one pass per iteration, each
// in new sessions) beside its floor, gzip at the default level of every
// batch body, so the two read as a ratio.
func BenchmarkIngestCorpus(b *testing.B) {
	const mark = "SESSIONSESSION00"
	bodies, total := corpusBodies(b, mark)
	b.Run("floor-gzip", func(b *testing.B) {
		b.SetBytes(int64(total))
		zw, _ := gzip.NewWriterLevel(io.Discard, gzip.DefaultCompression)
		defer cpuMeter(b, total)()
		for b.Loop() {
			for _, body := range bodies {
				zw.Reset(io.Discard)
				zw.Write(body)
				zw.Close()
			}
		}
	})
	b.Run("ingest-memstore", func(b *testing.B) {
		b.SetBytes(int64(total))
		rec := newBenchRecorder(b, &Site{ID: "bench"})
		n := 0
		defer cpuMeter(b, total)()
		for b.Loop() {
			n++
			id := []byte(fmt.Sprintf("s%015d", n))
			for _, body := range bodies {
				body = bytes.Replace(body, []byte(mark), id, 1)
				bt, err := DecodeBatch(body)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := rec.Ingest(context.Background(), bt, Client{UserAgent: "bench"}); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}

func newBenchRecorder(b *testing.B, site *Site) *Recorder {
	b.Helper()
	sites, err := NewStaticSites(site)
	if err != nil {
		b.Fatal(err)
	}
	rec, err := New(memstore.New(), sites, nil)
	if err != nil {
		b.Fatal(err)
	}
	return rec
}

// encodeChunkPerEvent is the former encodeChunk, kept as the baseline: each
// event marshalled into its own buffer, then copied into the array, and
// compressed at zstd's default level.
var defaultLevel, _ = zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedDefault), zstd.WithEncoderConcurrency(1))

func encodeChunkPerEvent(events []Event) ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte('[')
	for i := range events {
		if i > 0 {
			buf.WriteByte(',')
		}
		b, err := events[i].MarshalJSON()
		if err != nil {
			return nil, err
		}
		buf.Write(b)
	}
	buf.WriteByte(']')
	return defaultLevel.EncodeAll(buf.Bytes(), nil), nil
}

// corpusChunks ingests the corpus and returns the masked events of every
// stored chunk, and their JSON size.
func corpusChunks(b *testing.B) ([][]Event, int) {
	b.Helper()
	bodies, _ := corpusBodies(b, "session-chunks-1")
	store := memstore.New()
	sites, _ := NewStaticSites(&Site{ID: "bench"})
	rec, err := New(store, sites, nil)
	if err != nil {
		b.Fatal(err)
	}
	for _, body := range bodies {
		bt, err := DecodeBatch(body)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := rec.Ingest(context.Background(), bt, Client{}); err != nil {
			b.Fatal(err)
		}
	}
	var chunks [][]Event
	size := 0
	key := storage.Key{Site: "bench", Session: "session-chunks-1"}
	for c, err := range store.Chunks(context.Background(), key, "") {
		if err != nil {
			b.Fatal(err)
		}
		evs, err := decodeChunkEvents(c.Data, rec.assetReader(context.Background(), key.Site))
		if err != nil {
			b.Fatal(err)
		}
		chunks = append(chunks, evs)
		for _, e := range evs {
			j, _ := e.MarshalJSON()
			size += len(j)
		}
	}
	return chunks, size
}

// BenchmarkEncodeChunk encodes the corpus's masked chunks: the former
// encoding (baseline), the current one, and the zstd levels around the
// current one, reporting the stored bytes per MB of event JSON.
func BenchmarkEncodeChunk(b *testing.B) {
	chunks, size := corpusChunks(b)
	run := func(name string, encode func([]Event) ([]byte, error)) {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(size))
			stored := 0
			defer cpuMeter(b, size)()
			for b.Loop() {
				stored = 0
				for _, evs := range chunks {
					out, err := encode(evs)
					if err != nil {
						b.Fatal(err)
					}
					stored += len(out)
				}
			}
			b.ReportMetric(float64(stored)/float64(size)*1e6, "stored-B/MB")
		})
	}
	run("baseline-per-event-default", encodeChunkPerEvent)
	run("append-fastest-current", encodeChunk)
	for _, l := range []zstd.EncoderLevel{zstd.SpeedDefault, zstd.SpeedBetterCompression} {
		enc, _ := zstd.NewWriter(nil, zstd.WithEncoderLevel(l), zstd.WithEncoderConcurrency(1))
		run("append-"+l.String(), func(evs []Event) ([]byte, error) { return encodeChunkWith(enc, evs) })
	}
}
