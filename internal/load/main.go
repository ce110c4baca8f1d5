// Command load drives N concurrent simulated browsers against an ingest
// handler: each replays visits of the recorded corpus (testdata/corpus) as
// recorder.js would send them (batches of 5 s or 512 KiB, gzipped, posted
// one at a time to /v1/ingest?site=S&enc=gzip as text/plain, waiting
// Retry-After on 429 and 503), as fast as the answers come. It reports
// requests/s, MB/s of event JSON, latency percentiles and, when it runs the
// handler itself, the process's peak RSS; then it reads every session back
// through the read API and checks that every event sent was stored.
//
// By default it starts a handler in-process on 127.0.0.1 with a filestore
// in a temporary directory; -addr targets a running handler instead (its
// read API token in -token, site in -site).
//
//	go run ./internal/load [-browsers 64] [-visits 2] [-timeout 2m]
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/sessionreplay/replay"
	"github.com/sessionreplay/replay/internal/corpus"
	"github.com/sessionreplay/replay/internal/cputime"
	"github.com/sessionreplay/replay/storage/filestore"
	"github.com/sessionreplay/replay/transport"
)

type config struct {
	browsers int
	visits   int
	timeout  time.Duration
	addr     string
	site     string
	token    string
	heap     string
	cpu      string
	inFlight int64
}

func main() {
	var c config
	flag.IntVar(&c.browsers, "browsers", 64, "concurrent browsers")
	flag.IntVar(&c.visits, "visits", 2, "visits each browser replays, one after the other")
	flag.DurationVar(&c.timeout, "timeout", 2*time.Minute, "stop sending after this long")
	flag.StringVar(&c.addr, "addr", "", "base URL of a running handler (for example http://127.0.0.1:8080/replay); empty starts one in-process")
	flag.StringVar(&c.site, "site", "load", "site id to send as")
	flag.StringVar(&c.token, "token", "load-token", "bearer token of the read API, to read the sessions back")
	flag.Int64Var(&c.inFlight, "inflight", 0, "the in-process handler's MaxInFlightBytes; 0 means the default")
	flag.StringVar(&c.heap, "memprofile", "", "write a heap profile to `file` once everything is sent (in-process handler only)")
	flag.StringVar(&c.cpu, "cpuprofile", "", "write a CPU profile of the sending to `file` (handler and load tool together)")
	flag.Parse()
	log.SetFlags(0)
	if err := run(c); err != nil {
		log.Fatal(err)
	}
}

// session is one simulated visit: its gzipped bodies, prepared before the
// clock starts so that the load tool's compression does not take the
// server's CPU.
type session struct {
	id     string
	bodies [][]byte // gzipped
	raw    int      // bytes of batch JSON, uncompressed
	events int
	stamps []float64
}

func run(c config) error {
	dir, err := corpus.Dir()
	if err != nil {
		return err
	}
	visits, err := corpus.Load(dir)
	if err != nil {
		return err
	}
	base := c.addr
	var hwm func() (int64, error)
	if base == "" {
		tmp, err := os.MkdirTemp("", "replay-load-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		url, stop, err := serve(filepath.Join(tmp, "store"), c.site, c.token, c.inFlight)
		if err != nil {
			return err
		}
		defer stop()
		base = url
		hwm = peakRSS
	}

	// Prepare every browser's sessions.
	t0 := time.Now()
	browsers := make([][]*session, c.browsers)
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.NumCPU())
	for b := range c.browsers {
		browsers[b] = make([]*session, c.visits)
		for k := range c.visits {
			v := visits[(b*c.visits+k)%len(visits)]
			s := &session{id: fmt.Sprintf("load%05d%05d%s", b, k, strconv.FormatInt(t0.UnixNano()%1e9, 36))}
			browsers[b][k] = s
			wg.Go(func() {
				sem <- struct{}{}
				defer func() { <-sem }()
				prepare(s, v, c.site)
			})
		}
	}
	wg.Wait()
	var totalRaw, totalWire, totalEvents, totalReqs int
	for _, ss := range browsers {
		for _, s := range ss {
			totalRaw += s.raw
			totalEvents += s.events
			totalReqs += len(s.bodies)
			for _, b := range s.bodies {
				totalWire += len(b)
			}
		}
	}
	fmt.Printf("load: %d browsers x %d visits = %d sessions, %d requests, %.1f MB of batch JSON (%.1f MB gzipped), %d events; prepared in %s\n",
		c.browsers, c.visits, c.browsers*c.visits, totalReqs, mb(totalRaw), mb(totalWire), totalEvents, time.Since(t0).Round(time.Millisecond))
	fmt.Printf("machine: %s/%s, %d CPUs, %s; target %s\n", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version(), base)
	var rssBefore int64
	if hwm != nil {
		runtime.GC()
		rssBefore, _ = hwm()
	}

	client := &http.Client{Transport: &http.Transport{
		MaxIdleConnsPerHost: c.browsers, MaxConnsPerHost: c.browsers, DisableCompression: true,
	}}
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	var (
		mu        sync.Mutex
		latencies []time.Duration
		retries   atomic.Int64
		sentRaw   atomic.Int64
		failures  []string
	)
	ingestURL := base + "/v1/ingest?site=" + c.site + "&enc=gzip"
	if c.cpu != "" {
		f, err := os.Create(c.cpu)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
	}
	start := time.Now()
	cpuStart, _ := cputime.Process()
	for _, ss := range browsers {
		wg.Go(func() {
			var lat []time.Duration
			defer func() {
				mu.Lock()
				latencies = append(latencies, lat...)
				mu.Unlock()
			}()
			for _, s := range ss {
				for i, body := range s.bodies {
					for {
						t := time.Now()
						status, wait, err := post(ctx, client, ingestURL, body)
						if err != nil {
							mu.Lock()
							failures = append(failures, fmt.Sprintf("%s seq %d: %v", s.id, i, err))
							mu.Unlock()
							return
						}
						if status == http.StatusOK {
							lat = append(lat, time.Since(t))
							break
						}
						retries.Add(1)
						select {
						case <-time.After(wait):
						case <-ctx.Done():
							return
						}
					}
				}
				sentRaw.Add(int64(s.raw))
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if c.cpu != "" {
		pprof.StopCPUProfile()
	}
	cpuEnd, cpuOK := cputime.Process()
	slices.Sort(latencies)
	pct := func(p float64) time.Duration {
		if len(latencies) == 0 {
			return 0
		}
		return latencies[min(len(latencies)-1, int(p*float64(len(latencies))))].Round(time.Millisecond)
	}
	fmt.Printf("sent: %d requests in %s: %.1f requests/s, %.1f MB/s of event JSON; latency p50 %s, p90 %s, p99 %s, max %s; %d retried (503/429)\n",
		len(latencies), elapsed.Round(time.Millisecond), float64(len(latencies))/elapsed.Seconds(),
		mb(int(sentRaw.Load()))/elapsed.Seconds(), pct(0.5), pct(0.9), pct(0.99), pct(1), retries.Load())
	if hwm != nil && cpuOK {
		cpu := cpuEnd - cpuStart
		fmt.Printf("CPU time of the process (handler and load tool): %s, %.0f%% of the cores; %.1f MB of event JSON per CPU-second\n",
			cpu.Round(time.Millisecond), 100*cpu.Seconds()/elapsed.Seconds()/float64(runtime.NumCPU()), mb(int(sentRaw.Load()))/cpu.Seconds())
	}
	if hwm != nil && c.heap != "" {
		if err := writeHeap(c.heap); err != nil {
			return err
		}
	}
	if hwm != nil {
		peak, err := hwm()
		if err == nil {
			fmt.Printf("peak RSS of the process (handler and load tool): %.0f MB (%.0f MB before sending)\n", mb(int(peak)), mb(int(rssBefore)))
		}
	}
	if len(failures) > 0 || ctx.Err() != nil {
		for _, f := range failures[:min(len(failures), 10)] {
			fmt.Println("failed:", f)
		}
		return fmt.Errorf("not every batch was accepted within %s (%d failures)", c.timeout, len(failures))
	}

	// Read every session back.
	rc := transport.NewClient(base, &transport.ClientOptions{Token: c.token})
	lost := 0
	for _, ss := range browsers {
		for _, s := range ss {
			evs, err := rc.Events(context.Background(), c.site, s.id, "")
			if err != nil {
				return fmt.Errorf("read back %s: %w", s.id, err)
			}
			got := make([]float64, 0, len(evs))
			for _, e := range evs {
				var ev replay.Event
				if err := ev.UnmarshalJSON(e); err != nil {
					return fmt.Errorf("read back %s: %w", s.id, err)
				}
				got = append(got, ev.Timestamp)
			}
			slices.Sort(got)
			if !slices.Equal(got, s.stamps) {
				lost++
				fmt.Printf("session %s: sent %d events, read back %d\n", s.id, s.events, len(evs))
			}
		}
	}
	if lost > 0 {
		return fmt.Errorf("%d sessions did not read back whole", lost)
	}
	fmt.Printf("verified: all %d events of %d sessions read back\n", totalEvents, c.browsers*c.visits)
	return nil
}

// prepare cuts the visit into recorder.js's batches for s and gzips them.
func prepare(s *session, v corpus.Visit, site string) {
	batches := v.Batches(site, s.id, "w"+s.id)
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.DefaultCompression)
	for _, b := range batches {
		buf.Reset()
		zw.Reset(&buf)
		zw.Write(b.Body)
		zw.Close()
		s.bodies = append(s.bodies, bytes.Clone(buf.Bytes()))
		s.raw += len(b.Body)
		s.events += b.Events
	}
	for _, e := range v.Events {
		var ev replay.Event
		if ev.UnmarshalJSON(e) == nil {
			s.stamps = append(s.stamps, ev.Timestamp)
		}
	}
	slices.Sort(s.stamps)
}

// post sends one gzipped body as recorder.js does and returns the status,
// and how long to wait before trying again when it is 429 or 503.
func post(ctx context.Context, client *http.Client, url string, body []byte) (int, time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, 0, err
	}
	req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	resp, err := client.Do(req)
	if err != nil {
		return 0, 0, err
	}
	msg, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		return resp.StatusCode, 0, nil
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		s, err := strconv.Atoi(resp.Header.Get("Retry-After"))
		if err != nil || s < 0 {
			s = 1
		}
		return resp.StatusCode, time.Duration(s) * time.Second, nil
	}
	return 0, 0, fmt.Errorf("status %d: %s", resp.StatusCode, bytes.TrimSpace(msg))
}

// serve starts a handler on 127.0.0.1 with a filestore in dir, and returns
// its base URL.
func serve(dir, site, token string, inFlight int64) (string, func(), error) {
	store, err := filestore.Open(dir, nil)
	if err != nil {
		return "", nil, err
	}
	sites, err := replay.NewStaticSites(&replay.Site{ID: site})
	if err != nil {
		store.Close()
		return "", nil, err
	}
	rec, err := replay.New(store, sites, nil)
	if err != nil {
		store.Close()
		return "", nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		store.Close()
		return "", nil, err
	}
	srv := &http.Server{Handler: transport.NewHandler(rec, &transport.Options{
		Authorizer: transport.BearerToken(token), MaxInFlightBytes: inFlight}),
		ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	return "http://" + ln.Addr().String(), func() {
		srv.Shutdown(context.Background())
		store.Close()
	}, nil
}

// writeHeap writes a heap profile to file.
func writeHeap(file string) error {
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	defer f.Close()
	return pprof.Lookup("heap").WriteTo(f, 0)
}

// peakRSS reads the process's peak resident set size (VmHWM).
func peakRSS() (int64, error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			f := strings.Fields(rest)
			if len(f) == 2 && f[1] == "kB" {
				n, err := strconv.ParseInt(f[0], 10, 64)
				return n << 10, err
			}
		}
	}
	return 0, errors.New("no VmHWM in /proc/self/status")
}

func mb(n int) float64 { return float64(n) / 1e6 }
