package replay

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sessionreplay/replay/internal/privacy"
	"github.com/sessionreplay/replay/storage"
	"github.com/sessionreplay/replay/storage/memstore"
)

// corpusVisit is one recorded visit of testdata/corpus, cut into batches as
// recorder.js cuts them: every 5 s of event time, or at 512 KiB.
type corpusVisit struct {
	name    string
	bytes   int               // event JSON, as rrweb emitted it
	gzip6   int               // the visit's event JSON gzipped at level 6
	batches []json.RawMessage // the "events" array of each batch
}

func loadCorpus(tb testing.TB) []corpusVisit {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "corpus", "*.json.gz"))
	require.NoError(tb, err)
	require.NotEmpty(tb, files, "testdata/corpus")
	var visits []corpusVisit
	for _, f := range files {
		gz, err := os.ReadFile(f)
		require.NoError(tb, err)
		zr, err := gzip.NewReader(bytes.NewReader(gz))
		require.NoError(tb, err)
		raw, err := io.ReadAll(zr)
		require.NoError(tb, err)
		var events []json.RawMessage
		require.NoError(tb, json.Unmarshal(raw, &events))

		var z bytes.Buffer
		zw, err := gzip.NewWriterLevel(&z, 6)
		require.NoError(tb, err)
		_, err = zw.Write(raw)
		require.NoError(tb, err)
		require.NoError(tb, zw.Close())
		v := corpusVisit{name: filepath.Base(f), bytes: len(raw), gzip6: z.Len()}

		var buf []json.RawMessage
		size, next := 0, 0.0
		flush := func() {
			if len(buf) > 0 {
				b, err := json.Marshal(buf)
				require.NoError(tb, err)
				v.batches = append(v.batches, b)
				buf, size = nil, 0
			}
		}
		for i, e := range events {
			ts, err := eventTimestamp(e)
			require.NoError(tb, err)
			if i == 0 {
				next = ts + 5000
			}
			for ts >= next {
				flush()
				next += 5000
			}
			buf = append(buf, e)
			if size += len(e) + 1; size >= 512<<10 {
				flush()
			}
		}
		flush()
		visits = append(visits, v)
	}
	return visits
}

// ingestVisit ingests a visit as session id of site "shop", window w1.
func ingestVisit(tb testing.TB, rec *Recorder, id string, v corpusVisit) {
	for seq, events := range v.batches {
		body := fmt.Appendf(nil, `{"site":"shop","session":%q,"window":"w1","seq":%d,"events":%s}`, id, seq, events)
		b, err := DecodeBatch(body)
		if err != nil {
			tb.Fatalf("%s batch %d: %v", v.name, seq, err)
		}
		if _, err := rec.Ingest(context.Background(), b, Client{}); err != nil {
			tb.Fatalf("%s batch %d: %v", v.name, seq, err)
		}
	}
}

func corpusRecorder(tb testing.TB, store storage.Store, opts *Options) *Recorder {
	sites, err := NewStaticSites(&Site{ID: "shop"})
	require.NoError(tb, err)
	rec, err := New(store, sites, opts)
	require.NoError(tb, err)
	return rec
}

// corpusRatios ingests the corpus rounds times, every visit a new session
// of one site, on a store with assets and one without, and returns the
// stored bytes of the sessions of the first and of the last round, and of
// every round on the store without assets, each divided by the visits'
// gzip-6 size. A session's stored bytes are its chunks and the assets it
// stored first.
func corpusRatios(tb testing.TB, visits []corpusVisit, rounds int, check func(id string, assets, plain *Recorder)) (first, last, plain float64) {
	withAssets := corpusRecorder(tb, memstore.New(), nil)
	without := corpusRecorder(tb, plainStore{memstore.New()}, &Options{StyleCache: -1})
	gz := 0
	for _, v := range visits {
		gz += v.gzip6
	}
	var plainBytes int64
	for r := range rounds {
		var stored int64
		for i, v := range visits {
			id := fmt.Sprintf("visit-%03d-%03d", r, i)
			ingestVisit(tb, withAssets, id, v)
			ingestVisit(tb, without, id, v)
			s, err := withAssets.Session(context.Background(), "shop", id)
			require.NoError(tb, err)
			stored += s.StoredBytes
			p, err := without.Session(context.Background(), "shop", id)
			require.NoError(tb, err)
			plainBytes += p.StoredBytes
			if check != nil {
				check(id, withAssets, without)
			}
		}
		ratio := float64(stored) / float64(gz)
		if r == 0 {
			first = ratio
		}
		last = ratio
	}
	return first, last, float64(plainBytes) / float64(rounds*gz)
}

// On the corpus, the sessions of a site after the first visits store at
// most 0.2 times the per-visit gzip-6 of their events, and every session
// reads back byte for byte as it does from a store without assets.
func TestCorpusStoredBytes(t *testing.T) {
	if testing.Short() {
		t.Skip("ingests the corpus twice on two stores")
	}
	visits := loadCorpus(t)
	first, last, plain := corpusRatios(t, visits, 2, func(id string, a, p *Recorder) {
		require.Equal(t, string(readEvents(t, p, "shop", id)), string(readEvents(t, a, "shop", id)), "events of %s", id)
	})
	t.Logf("stored bytes / per-visit gzip-6: first round %.3f, second round %.3f, without assets %.3f", first, last, plain)
	require.LessOrEqual(t, last, 0.2)
}

// BenchmarkCorpusAssets ingests the corpus as sessions of one site. The
// storage sub-benchmark reports stored bytes per session against the
// visits' per-visit gzip-6 (first round, steady state after three rounds,
// and without assets); cold, warm and noassets report ingest time for one
// round of the corpus: cold on an empty store with an empty style cache,
// warm after one round, noassets on a store without assets and no cache
// (the baseline), in wall time (ns/op) and in the process's CPU time
// (cpu-ms/op, garbage collection on other threads included). Run with
// -benchtime 1x or a few x:
//
//	go test -run '^$' -bench CorpusAssets -benchtime 3x -count 3 .
func BenchmarkCorpusAssets(b *testing.B) {
	visits := loadCorpus(b)
	raw := 0
	for _, v := range visits {
		raw += v.bytes
	}
	b.Run("storage", func(b *testing.B) {
		var first, steady, plain float64
		for range b.N {
			first, steady, plain = corpusRatios(b, visits, 4, nil)
		}
		b.ReportMetric(first, "first/gzip6")
		b.ReportMetric(steady, "steady/gzip6")
		b.ReportMetric(plain, "noassets/gzip6")
		b.ReportMetric(0, "ns/op")
	})
	var cpu time.Duration // process CPU time spent in round
	round := func(b *testing.B, rec *Recorder, prefix string) {
		start := processCPU()
		for i, v := range visits {
			ingestVisit(b, rec, fmt.Sprintf("%s-%03d", prefix, i), v)
		}
		cpu += processCPU() - start
	}
	reportCPU := func(b *testing.B) {
		b.ReportMetric(float64(cpu.Milliseconds())/float64(b.N), "cpu-ms/op")
		cpu = 0
	}
	b.Run("cold", func(b *testing.B) {
		b.SetBytes(int64(raw))
		for i := range b.N {
			b.StopTimer()
			rec := corpusRecorder(b, memstore.New(), nil)
			b.StartTimer()
			round(b, rec, fmt.Sprint("cold", i))
		}
		reportCPU(b)
	})
	b.Run("warm", func(b *testing.B) {
		b.SetBytes(int64(raw))
		rec := corpusRecorder(b, memstore.New(), nil)
		round(b, rec, "first")
		cpu = 0
		b.ResetTimer()
		for i := range b.N {
			round(b, rec, fmt.Sprint("warm", i))
		}
		reportCPU(b)
	})
	b.Run("noassets", func(b *testing.B) {
		b.SetBytes(int64(raw))
		for i := range b.N {
			b.StopTimer()
			rec := corpusRecorder(b, plainStore{memstore.New()}, &Options{StyleCache: -1})
			b.StartTimer()
			round(b, rec, fmt.Sprint("plain", i))
		}
		reportCPU(b)
	})
}

// BenchmarkStyleSheet compares processing a 200 KB style sheet (minify,
// the baseline) with finding it in the cache (a hash and a lookup).
func BenchmarkStyleSheet(b *testing.B) {
	css := bigCSS("bench", 200_000)
	b.Run("minify", func(b *testing.B) {
		b.SetBytes(int64(len(css)))
		for range b.N {
			privacy.MinifyCSS(css)
		}
	})
	b.Run("cached", func(b *testing.B) {
		rec := corpusRecorder(b, memstore.New(), nil)
		m := rec.masker("shop", mustCompile(b, DefaultPolicy()))
		m.CSSText(css)
		b.SetBytes(int64(len(css)))
		b.ResetTimer()
		for range b.N {
			m.CSSText(css)
		}
	})
}

func mustCompile(tb testing.TB, p *Policy) *privacy.Masker {
	m, err := p.compile()
	require.NoError(tb, err)
	return m
}
