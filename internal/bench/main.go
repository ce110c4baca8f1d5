// Command bench measures ingest throughput on the recorded corpus
// (testdata/corpus), batched as recorder.js batches it, along three paths in
// one run, so that the figures read as ratios on whatever machine runs it:
//
//   - floor: gzip (klauspost, default level) each batch body and append it
//     to a file; the durable floor also syncs the file after each batch;
//   - hand-rolled: encoding/json into map[string]any, mask the input
//     values, encode again, gzip, append (what a Go developer would write);
//   - replay: [replay.DecodeBatchOwned] (as the HTTP handler decodes the
//     body it read) and [replay.Recorder.Ingest], on memstore and on
//     filestore (which syncs every chunk and session it writes).
//
// The replay paths ingest one pass of the corpus, untimed, before each
// measurement, as a running server has seen a site's style sheets (its
// first visits minify them, once per site and policy).
//
// Each path runs on one core (GOMAXPROCS=1, one goroutine) and on two
// (GOMAXPROCS=2, two goroutines on separate sessions and files). Throughput
// is MB/s (10^6 bytes) of batch JSON, uncompressed, by the wall clock, and
// per second of CPU time the process used (MB/cpu-s), which the load of
// other processes on a shared machine does not change. The CPU goals are
// read on MB/cpu-s; the durable ones, which wait for the disk, on the wall
// clock.
//
// The paths are measured in turns, round after round (-rounds, 3 by
// default), so that a slower spell of a shared machine falls on every path
// alike; each figure printed is the median of the rounds, and each ratio
// the median of the ratios within a round.
//
//	go run ./internal/bench [-time 3s] [-rounds 3] [-cpuprofile file]
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/sessionreplay/replay"
	"github.com/sessionreplay/replay/internal/corpus"
	"github.com/sessionreplay/replay/internal/cputime"
	"github.com/sessionreplay/replay/storage"
	"github.com/sessionreplay/replay/storage/filestore"
	"github.com/sessionreplay/replay/storage/memstore"
)

// sessionMark stands for the session id in the prepared bodies; each pass
// writes a fresh id of the same length over it.
const sessionMark = "SESSIONSESSIONSESSION0"

// batch is a prepared body and where its session id goes.
type batch struct {
	body []byte
	at   int // offset of sessionMark in body
}

// path is one way of ingesting; newWorker returns the function that
// ingests one body for one goroutine, and a cleanup.
type path struct {
	name      string
	newWorker func(tmp string, id int) (ingest func(body []byte) error, done func(), err error)
	shared    func(tmp string) (done func(), err error) // state shared by workers, made before them
}

func main() {
	dur := flag.Duration("time", 3*time.Second, "how long each measurement runs (whole passes over the corpus)")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the replay paths to `file`")
	only := flag.String("only", "", "run only the paths whose name contains this")
	rounds := flag.Int("rounds", 3, "how many times each path is measured, in turns with the others")
	flag.Parse()
	log.SetFlags(0)
	if *rounds < 1 {
		log.Fatal("bench: -rounds must be at least 1")
	}
	if err := run(*dur, *rounds, *cpuprofile, *only); err != nil {
		log.Fatal(err)
	}
}

func run(dur time.Duration, rounds int, cpuprofile, only string) error {
	dir, err := corpus.Dir()
	if err != nil {
		return err
	}
	visits, err := corpus.Load(dir)
	if err != nil {
		return err
	}
	var batches []batch
	total, maxBatch := 0, 0
	for _, v := range visits {
		for _, b := range v.Batches("bench", sessionMark, "w"+strings.ReplaceAll(v.Name, "-", "")) {
			batches = append(batches, batch{body: b.Body, at: bytes.Index(b.Body, []byte(sessionMark))})
			total += len(b.Body)
			maxBatch = max(maxBatch, len(b.Body))
		}
	}
	tmp, err := os.MkdirTemp("", "replay-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	fmt.Printf("corpus: %d visits, %d batches, %.1f MB of batch JSON (largest batch %.2f MB)\n",
		len(visits), len(batches), mb(total), mb(maxBatch))
	fmt.Printf("machine: %s/%s, %d CPUs, %s\n\n", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version())

	var rec *replay.Recorder
	sites, err := replay.NewStaticSites(&replay.Site{ID: "bench"})
	if err != nil {
		return err
	}
	library := func(open func(tmp string) (storage.Store, func(), error)) func(tmp string) (func(), error) {
		return func(tmp string) (func(), error) {
			st, closeStore, err := open(tmp)
			if err != nil {
				return nil, err
			}
			rec, err = replay.New(st, sites, nil)
			if err != nil {
				closeStore()
				return nil, err
			}
			// One visit of each page first, untimed: a running server
			// has seen the site's style sheets (minified once per site
			// and policy) but for its first visits.
			for _, b := range batches {
				body := bytes.Clone(b.body)
				copy(body[b.at:], fmt.Sprintf("warm%018d", 0))
				d, err := replay.DecodeBatchOwned(body)
				if err == nil {
					_, err = rec.Ingest(context.Background(), d, replay.Client{UserAgent: "bench"})
				}
				if err != nil {
					closeStore()
					return nil, fmt.Errorf("warming up: %w", err)
				}
			}
			return closeStore, nil
		}
	}
	ingest := func(string, int) (func([]byte) error, func(), error) {
		return func(body []byte) error {
			b, err := replay.DecodeBatchOwned(body)
			if err != nil {
				return err
			}
			_, err = rec.Ingest(context.Background(), b, replay.Client{UserAgent: "bench"})
			return err
		}, func() {}, nil
	}
	paths := []path{
		{name: "floor: gzip + append", newWorker: floor(false)},
		{name: "durable floor: gzip + append + fsync", newWorker: floor(true)},
		{name: "hand-rolled: encoding/json + mask + gzip + append", newWorker: handRolled},
		{name: "replay: DecodeBatchOwned + Ingest, memstore", newWorker: ingest, shared: library(func(string) (storage.Store, func(), error) {
			return memstore.New(), func() {}, nil
		})},
		{name: "replay: DecodeBatchOwned + Ingest, filestore", newWorker: ingest, shared: library(func(tmp string) (storage.Store, func(), error) {
			st, err := filestore.Open(filepath.Join(tmp, "store"), nil)
			if err != nil {
				return nil, nil, err
			}
			return st, func() { st.Close() }, nil
		})},
	}

	var prof *os.File
	if cpuprofile != "" {
		if prof, err = os.Create(cpuprofile); err != nil {
			return err
		}
		defer prof.Close()
	}
	// results[path][round] is a round's measurement of the path, on one
	// core and on two.
	results := map[string][][2]rate{}
	for round := range rounds {
		for _, p := range paths {
			if only != "" && !strings.Contains(p.name, only) {
				continue
			}
			var r [2]rate
			for i, cores := range []int{1, 2} {
				profile := prof != nil && strings.HasPrefix(p.name, "replay:")
				if profile {
					pprof.StartCPUProfile(prof)
				}
				r[i], err = measure(p, batches, cores, dur, tmp)
				if profile {
					pprof.StopCPUProfile()
					prof = nil // one profile: the first replay path, one core, first round
				}
				if err != nil {
					return fmt.Errorf("%s: %w", p.name, err)
				}
			}
			results[p.name] = append(results[p.name], r)
			fmt.Fprintf(os.Stderr, "round %d/%d: %s\n", round+1, rounds, p.name)
		}
	}
	runtime.GOMAXPROCS(runtime.NumCPU())

	fmt.Printf("medians of %d rounds of %s per measurement\n", rounds, dur)
	fmt.Printf("%-50s %28s %28s %7s\n", "", "1 core", "2 cores", "")
	fmt.Printf("%-50s %8s %10s %8s %8s %10s %8s %7s\n", "path", "MB/s", "MB/cpu-s", "CPU use", "MB/s", "MB/cpu-s", "CPU use", "2c/1c")
	for _, p := range paths {
		rs, ok := results[p.name]
		if !ok {
			continue
		}
		field := func(f func(r [2]rate) float64) float64 {
			vs := make([]float64, len(rs))
			for i, r := range rs {
				vs[i] = f(r)
			}
			return median(vs)
		}
		fmt.Printf("%-50s %8.1f %10.1f %8.2f %8.1f %10.1f %8.2f %6.2fx\n", p.name,
			field(func(r [2]rate) float64 { return r[0].wall }),
			field(func(r [2]rate) float64 { return r[0].cpu }),
			field(func(r [2]rate) float64 { return r[0].used }),
			field(func(r [2]rate) float64 { return r[1].wall }),
			field(func(r [2]rate) float64 { return r[1].cpu }),
			field(func(r [2]rate) float64 { return r[1].used }),
			field(func(r [2]rate) float64 { return r[1].wall / r[0].wall }))
	}

	// ratio prints the median over the rounds of f(a's round) / f(b's
	// round), and the lowest and highest.
	ratio := func(label, a, b string, f func(r [2]rate) float64) {
		ra, oka := results[a]
		rb, okb := results[b]
		if !oka || !okb {
			return
		}
		vs := make([]float64, len(ra))
		for i := range ra {
			vs[i] = f(ra[i]) / f(rb[i])
		}
		fmt.Printf("%-66s %6.2fx  (%.2f to %.2f)\n", label, median(vs), slices.Min(vs), slices.Max(vs))
	}
	cpu1 := func(r [2]rate) float64 { return r[0].cpu }
	wall1 := func(r [2]rate) float64 { return r[0].wall }
	wall2 := func(r [2]rate) float64 { return r[1].wall }
	fmt.Println("\nratios, median of the rounds (lowest to highest):")
	floorName, durable, hand, mem, file := paths[0].name, paths[1].name, paths[2].name, paths[3].name, paths[4].name
	ratio("replay memstore / floor, 1 core, MB/cpu-s (goal >= 1.0)", mem, floorName, cpu1)
	ratio("replay memstore / hand-rolled, 1 core, MB/cpu-s (goal >= 4)", mem, hand, cpu1)
	ratio("replay filestore / durable floor, 1 core, MB/s (goal >= 1.0)", file, durable, wall1)
	ratio("replay filestore / durable floor, 2 cores, MB/s", file, durable, wall2)
	ratio("hand-rolled / floor, 1 core, MB/cpu-s", hand, floorName, cpu1)
	if rs, ok := results[mem]; ok {
		vs := make([]float64, len(rs))
		for i, r := range rs {
			vs[i] = r[1].wall / r[0].wall
		}
		fmt.Printf("%-66s %6.2fx  (%.2f to %.2f)\n", "replay memstore, 2 cores / 1 core, MB/s (goal >= 1.8)", median(vs), slices.Min(vs), slices.Max(vs))
	}
	return nil
}

// median returns the median of vs (the mean of the middle two of an even
// count).
func median(vs []float64) float64 {
	s := slices.Sorted(slices.Values(vs))
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// rate is a measured throughput: MB/s by the wall clock, and MB per second
// of the process's CPU time (0 where the platform does not tell); used is
// how many cores' worth of CPU time the process got (CPU time / wall time):
// on a shared machine, the ceiling of the two-core speed-up.
type rate struct{ wall, cpu, used float64 }

// measure runs whole passes over the batches with cores goroutines on
// GOMAXPROCS=cores until dur has passed, and returns MB/s of batch JSON.
func measure(p path, batches []batch, cores int, dur time.Duration, tmp string) (rate, error) {
	runtime.GOMAXPROCS(cores)
	runtime.GC()
	dir, err := os.MkdirTemp(tmp, "run-")
	if err != nil {
		return rate{}, err
	}
	defer os.RemoveAll(dir)
	if p.shared != nil {
		done, err := p.shared(dir)
		if err != nil {
			return rate{}, err
		}
		defer done()
		runtime.GC() // of what making it left, before the clock starts
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		total int
		first error
	)
	start := time.Now()
	cpuStart, _ := cputime.Process()
	for w := range cores {
		ingest, done, err := p.newWorker(dir, w)
		if err != nil {
			return rate{}, err
		}
		wg.Go(func() {
			defer done()
			n := 0
			buf := make([]byte, 0, 1<<20)
			for pass := 0; pass == 0 || time.Since(start) < dur; pass++ {
				session := fmt.Sprintf("s%02d%019d", w, pass)
				for _, b := range batches {
					buf = append(buf[:0], b.body...)
					copy(buf[b.at:], session)
					// The body is handed over: the paths may keep it.
					body := bytes.Clone(buf)
					if err := ingest(body); err != nil {
						mu.Lock()
						first = cmpErr(first, err)
						mu.Unlock()
						return
					}
					n += len(body)
				}
			}
			mu.Lock()
			total += n
			mu.Unlock()
		})
	}
	wg.Wait()
	wall := time.Since(start)
	r := rate{wall: mb(total) / wall.Seconds()}
	if cpuEnd, ok := cputime.Process(); ok {
		r.cpu = mb(total) / (cpuEnd - cpuStart).Seconds()
		r.used = (cpuEnd - cpuStart).Seconds() / wall.Seconds()
	}
	return r, first
}

func cmpErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

func mb(n int) float64 { return float64(n) / 1e6 }

// floor gzips each body with a reused writer and appends it to the worker's
// file, syncing after each batch when durable.
func floor(durable bool) func(tmp string, id int) (func([]byte) error, func(), error) {
	return func(tmp string, id int) (func([]byte) error, func(), error) {
		f, err := os.Create(filepath.Join(tmp, fmt.Sprintf("floor-%d", id)))
		if err != nil {
			return nil, nil, err
		}
		zw, _ := gzip.NewWriterLevel(f, gzip.DefaultCompression)
		return func(body []byte) error {
			zw.Reset(f)
			if _, err := zw.Write(body); err != nil {
				return err
			}
			if err := zw.Close(); err != nil {
				return err
			}
			if durable {
				return f.Sync()
			}
			return nil
		}, func() { f.Close() }, nil
	}
}

// handRolled decodes a batch with encoding/json into map[string]any, masks
// the values of inputs (input events, value attributes and textarea text in
// snapshots and mutations), encodes it again, gzips it and appends it.
func handRolled(tmp string, id int) (func([]byte) error, func(), error) {
	f, err := os.Create(filepath.Join(tmp, fmt.Sprintf("hand-%d", id)))
	if err != nil {
		return nil, nil, err
	}
	zw, _ := gzip.NewWriterLevel(f, gzip.DefaultCompression)
	return func(body []byte) error {
		var batch map[string]any
		if err := json.Unmarshal(body, &batch); err != nil {
			return err
		}
		events, _ := batch["events"].([]any)
		for _, e := range events {
			maskEvent(e)
		}
		out, err := json.Marshal(batch)
		if err != nil {
			return err
		}
		zw.Reset(f)
		if _, err := zw.Write(out); err != nil {
			return err
		}
		return zw.Close()
	}, func() { f.Close() }, nil
}

func maskEvent(e any) {
	ev, _ := e.(map[string]any)
	data, _ := ev["data"].(map[string]any)
	if data == nil {
		return
	}
	switch ev["type"] {
	case 2.0:
		maskNode(data["node"], false)
	case 3.0:
		switch data["source"] {
		case 5.0: // input
			if s, ok := data["text"].(string); ok {
				data["text"] = stars(s)
			}
		case 0.0: // mutation
			adds, _ := data["adds"].([]any)
			for _, a := range adds {
				if a, ok := a.(map[string]any); ok {
					maskNode(a["node"], false)
				}
			}
			attrs, _ := data["attributes"].([]any)
			for _, a := range attrs {
				if a, ok := a.(map[string]any); ok {
					if at, ok := a["attributes"].(map[string]any); ok {
						if s, ok := at["value"].(string); ok {
							at["value"] = stars(s)
						}
					}
				}
			}
		}
	}
}

func maskNode(n any, inTextarea bool) {
	node, _ := n.(map[string]any)
	if node == nil {
		return
	}
	if s, ok := node["textContent"].(string); ok && inTextarea {
		node["textContent"] = stars(s)
	}
	tag, _ := node["tagName"].(string)
	if attrs, ok := node["attributes"].(map[string]any); ok && (tag == "input" || tag == "textarea" || tag == "select" || tag == "option") {
		if s, ok := attrs["value"].(string); ok {
			attrs["value"] = stars(s)
		}
	}
	kids, _ := node["childNodes"].([]any)
	for _, k := range kids {
		maskNode(k, tag == "textarea")
	}
}

func stars(s string) string { return strings.Repeat("*", len(s)) }
