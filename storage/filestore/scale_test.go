package filestore

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/sessionreplay/replay/storage"
)

// The scale benchmark: a store of many sessions (FILESTORE_BENCH_SESSIONS,
// default 20,000; 1,000,000 for the figures of the package documentation),
// built once per run, or once for good in FILESTORE_BENCH_DIR when set.
//
//	FILESTORE_BENCH_SESSIONS=1000000 FILESTORE_BENCH_DIR=/tmp/fs1m \
//	  go test ./storage/filestore -run '^$' -bench Scale -benchtime 200x -timeout 60m

const benchSite = "shop"

var benchPaths = []string{"/", "/products/1", "/products/2", "/products/3", "/cart", "/checkout", "/checkout/pay", "/thank-you", "/blog/a", "/about"}

// benchSession returns session i of n, its facts drawn from a seeded
// generator with the mix the documentation states.
func benchSession(i, n int) storage.Session {
	r := rand.New(rand.NewPCG(uint64(i), 42))
	start := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * (30 * 24 * time.Hour / time.Duration(n)))
	s := storage.Session{
		ID: fmt.Sprintf("s%010d-%04x", i, r.IntN(1<<16)), Site: benchSite, State: storage.StateKept,
		Start: start, FirstSeen: start, Ended: true,
		Device: "desktop", OS: "Windows", Browser: "Chrome",
		Viewport: storage.Viewport{W: 1440, H: 900}, Windows: 1, WindowIDs: []string{"w" + strconv.Itoa(r.IntN(1e6))},
		Events: map[string]int{}, Attrs: map[string]string{},
	}
	switch p := r.IntN(100); {
	case p < 3:
		s.State, s.Ended = storage.StatePending, false
	case p < 5:
		s.State = storage.StateDropped
	}
	switch p := r.IntN(100); {
	case p < 35:
		s.Device, s.OS, s.Browser = "mobile", "iOS", "Mobile Safari"
	case p < 40:
		s.Device, s.OS, s.Browser = "tablet", "Android", "Chrome Mobile"
	case p < 55:
		s.OS = "Mac OS"
		s.Browser = "Safari"
	}
	s.DurationMs = int64(r.ExpFloat64() * 120_000)
	s.ActiveMs = s.DurationMs / 3
	s.End = start.Add(time.Duration(s.DurationMs) * time.Millisecond)
	s.LastSeen = s.End
	for range 1 + r.IntN(5) {
		s.Pages = append(s.Pages, "https://shop.example"+benchPaths[r.IntN(len(benchPaths))]+"?utm=x")
	}
	s.EntryURL = s.Pages[0]
	if r.IntN(100) < 5 {
		s.Errors = 1 + r.IntN(3)
		s.ErrorMessages = []string{"TypeError: Cannot read properties of undefined (reading 'price')"}
		s.MatchedRules = append(s.MatchedRules, "errors")
	}
	if r.IntN(100) < 20 {
		s.MatchedRules = append(s.MatchedRules, "abandoned checkout")
	}
	if r.IntN(100) < 30 {
		s.Events["view_item"] = 1 + r.IntN(5)
	}
	if r.IntN(100) < 2 {
		s.Events["signup"] = 1
	}
	if r.IntN(100) < 40 {
		s.Attrs["userId"] = "u" + strconv.Itoa(r.IntN(max(n/5, 1)))
	}
	s.Clicks = r.IntN(40)
	s.EventCount = 50 + r.IntN(2000)
	s.Bytes = int64(s.EventCount) * 300
	s.StoredBytes = s.Bytes / 8
	s.Opaque = fmt.Appendf(nil, `{"v":1,"pt":[[%d,%d]],"ar":[[%d,%d]],"ua":true}`, i, i+5000, i, i+9000)
	return s
}

// bulkLoad writes sessions [from, to) as PutSession does (a metadata
// record in the journal, the rows of the index), in rounds of 5000 groups
// with one sync each: only the sync per session is saved.
func bulkLoad(tb testing.TB, s *Store, from, to, n int) {
	for lo := from; lo < to; lo += 5000 {
		var reqs []*commitReq
		for i := lo; i < min(lo+5000, to); i++ {
			sess := benchSession(i, n)
			reqs = append(reqs, &commitReq{ops: []*op{{typ: recSession, key: storage.Key{Site: sess.Site, Session: sess.ID}, sess: sess}},
				at: s.now(), done: make(chan struct{})})
		}
		if err := s.jw.commitAll(reqs); err != nil {
			tb.Fatal(err)
		}
	}
}

func benchSessions() int {
	if v := os.Getenv("FILESTORE_BENCH_SESSIONS"); v != "" {
		n, err := strconv.Atoi(v)
		if err == nil && n > 0 {
			return n
		}
	}
	return 20_000
}

// scaleStore opens (and fills when needed) the benchmark's store.
func scaleStore(b *testing.B, n int) string {
	dir := os.Getenv("FILESTORE_BENCH_DIR")
	if dir == "" {
		dir = b.TempDir()
	} else {
		dir = filepath.Join(dir, strconv.Itoa(n))
	}
	s, err := Open(dir, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	var have int
	if err := s.db.QueryRow(`SELECT count(*) FROM sessions`).Scan(&have); err != nil {
		b.Fatal(err)
	}
	if have < n {
		t0 := time.Now()
		bulkLoad(b, s, have, n, n)
		b.Logf("loaded %d sessions in %v", n-have, time.Since(t0).Round(time.Millisecond))
	}
	return dir
}

// benchFilters are the queries whose latency the benchmark reports. q(r)
// draws a query; several draw a parameter (a day, a user) at random.
var benchFilters = []struct {
	name string
	q    func(r *rand.Rand, n int) storage.Query
}{
	{"none", func(*rand.Rand, int) storage.Query { return storage.Query{} }},
	{"day", func(r *rand.Rand, _ int) storage.Query {
		from := time.Date(2026, 3, 1+r.IntN(29), 0, 0, 0, 0, time.UTC)
		return storage.Query{From: from, To: from.Add(24 * time.Hour)}
	}},
	{"device", func(*rand.Rand, int) storage.Query { return storage.Query{Device: "mobile"} }},
	{"os", func(*rand.Rand, int) storage.Query { return storage.Query{OS: "mac os"} }},
	{"browser", func(*rand.Rand, int) storage.Query { return storage.Query{Browser: "safari"} }},
	{"url", func(*rand.Rand, int) storage.Query { return storage.Query{URL: "/checkout*"} }},
	{"url-rare", func(*rand.Rand, int) storage.Query { return storage.Query{URL: "/checkout/pay"} }},
	// The worst case: a filter no index serves that matches nothing reads
	// every row of the site.
	{"url-none", func(*rand.Rand, int) storage.Query { return storage.Query{URL: "/nowhere*"} }},
	{"event", func(*rand.Rand, int) storage.Query { return storage.Query{Event: "view_item"} }},
	{"event-rare", func(*rand.Rand, int) storage.Query { return storage.Query{Event: "signup"} }},
	{"error", func(*rand.Rand, int) storage.Query { return storage.Query{Error: true} }},
	{"rule", func(*rand.Rand, int) storage.Query { return storage.Query{Rule: "abandoned checkout"} }},
	{"duration", func(*rand.Rand, int) storage.Query { return storage.Query{MinDuration: 5 * time.Minute} }},
	{"user", func(r *rand.Rand, n int) storage.Query {
		return storage.Query{User: "u" + strconv.Itoa(r.IntN(max(n/5, 1)))}
	}},
	{"pending", func(*rand.Rand, int) storage.Query { return storage.Query{State: storage.FilterPending} }},
	{"all", func(*rand.Rand, int) storage.Query { return storage.Query{State: storage.FilterAll} }},
	{"dropped", func(*rand.Rand, int) storage.Query { return storage.Query{State: storage.FilterDropped} }},
	{"mobile+error", func(*rand.Rand, int) storage.Query { return storage.Query{Device: "mobile", Error: true} }},
	{"day+browser+url", func(r *rand.Rand, _ int) storage.Query {
		from := time.Date(2026, 3, 1+r.IntN(29), 0, 0, 0, 0, time.UTC)
		return storage.Query{From: from, To: from.Add(24 * time.Hour), Browser: "chrome", URL: "/cart"}
	}},
}

// benchCounts are the overviews whose latency the benchmark reports: q
// draws a query and its step from a month of the store.
var benchCounts = []struct {
	name string
	q    func(r *rand.Rand, month storage.Query) (storage.Query, time.Duration)
}{
	{"month-daily", func(_ *rand.Rand, m storage.Query) (storage.Query, time.Duration) { return m, 24 * time.Hour }},
	{"month-hourly", func(_ *rand.Rand, m storage.Query) (storage.Query, time.Duration) { return m, time.Hour }},
	{"day-hourly", func(r *rand.Rand, m storage.Query) (storage.Query, time.Duration) {
		m.From = m.From.AddDate(0, 0, r.IntN(29))
		m.To = m.From.Add(24 * time.Hour)
		return m, time.Hour
	}},
	{"month-daily-device", func(_ *rand.Rand, m storage.Query) (storage.Query, time.Duration) {
		m.Device = "mobile"
		return m, 24 * time.Hour
	}},
	{"month-daily-error", func(_ *rand.Rand, m storage.Query) (storage.Query, time.Duration) {
		m.Error = true
		return m, 24 * time.Hour
	}},
	{"month-daily-event", func(_ *rand.Rand, m storage.Query) (storage.Query, time.Duration) {
		m.Event = "view_item"
		return m, 24 * time.Hour
	}},
	{"month-daily-url", func(_ *rand.Rand, m storage.Query) (storage.Query, time.Duration) {
		m.URL = "/checkout*"
		return m, 24 * time.Hour
	}},
}

// BenchmarkScale reports, at FILESTORE_BENCH_SESSIONS sessions: the index
// bytes per session, Open, a Session lookup (the baseline: one row by its
// key), List's p50 and p99 per filter (the first page, then every third
// query the page after it), Count's p50 and p99 per overview beside
// counting by paging through List (its baseline), and PutSession of a new
// and of a stored session (each a synced transaction).
func BenchmarkScale(b *testing.B) {
	n := benchSessions()
	dir := scaleStore(b, n)
	ctx := context.Background()

	var size, disk int64
	for _, ext := range []string{"", "-wal"} {
		if fi, err := os.Stat(filepath.Join(dir, indexFile+ext)); err == nil {
			size += fi.Size()
			disk += diskUsage(fi)
		}
	}
	b.Logf("%d sessions: index %d bytes, %.0f bytes/session (%.0f on disk)", n, size, float64(size)/float64(n), float64(disk)/float64(n))
	var jsize int64
	segs, _ := filepath.Glob(filepath.Join(dir, journalDir, "*"+segExt))
	for _, p := range segs {
		if fi, err := os.Stat(p); err == nil {
			jsize += fi.Size()
		}
	}
	b.Logf("journal %d bytes in %d segments, %.0f bytes/session (metadata records)", jsize, len(segs), float64(jsize)/float64(n))

	b.Run("open", func(b *testing.B) {
		b.ReportMetric(float64(size)/float64(n), "index-bytes/session")
		for b.Loop() {
			s, err := Open(dir, nil)
			if err != nil {
				b.Fatal(err)
			}
			s.Close()
		}
	})
	// rebuild: Open with the index lost (index.db and its log removed),
	// which replays the whole journal; only with FILESTORE_BENCH_REBUILD
	// set, since it takes minutes at a million sessions.
	b.Run("rebuild", func(b *testing.B) {
		if os.Getenv("FILESTORE_BENCH_REBUILD") == "" {
			b.Skip("set FILESTORE_BENCH_REBUILD=1")
		}
		for b.Loop() {
			for _, ext := range []string{"", "-wal", "-shm"} {
				if err := os.Remove(filepath.Join(dir, indexFile+ext)); err != nil && !os.IsNotExist(err) {
					b.Fatal(err)
				}
			}
			s, err := Open(dir, nil)
			if err != nil {
				b.Fatal(err)
			}
			s.Close()
		}
	})
	s, err := Open(dir, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()

	r := rand.New(rand.NewPCG(1, 2))
	b.Run("session-lookup", func(b *testing.B) {
		var lat []time.Duration
		for b.Loop() {
			i := r.IntN(n)
			t0 := time.Now()
			if _, err := s.Session(ctx, storage.Key{Site: benchSite, Session: benchSession(i, n).ID}); err != nil {
				b.Fatal(err)
			}
			lat = append(lat, time.Since(t0))
		}
		reportLatency(b, lat)
	})
	for _, f := range benchFilters {
		b.Run("list/"+f.name, func(b *testing.B) {
			var (
				lat  []time.Duration
				q    storage.Query
				hits int
			)
			for i := 0; b.Loop(); i++ {
				if i%3 != 2 || q.Cursor == "" { // else the next page of the query before
					q = f.q(r, n)
					q.Site = benchSite
				}
				t0 := time.Now()
				page, err := s.List(ctx, q)
				lat = append(lat, time.Since(t0))
				if err != nil {
					b.Fatal(err)
				}
				q.Cursor, hits = page.Next, hits+len(page.Sessions)
			}
			reportLatency(b, lat)
			b.ReportMetric(float64(hits)/float64(len(lat)), "sessions/page")
		})
	}
	month := storage.Query{Site: benchSite, From: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 3, 31, 0, 0, 0, 0, time.UTC)}
	for _, c := range benchCounts {
		b.Run("count/"+c.name, func(b *testing.B) {
			var lat []time.Duration
			for b.Loop() {
				q, step := c.q(r, month)
				t0 := time.Now()
				_, err := s.Count(ctx, q, step)
				lat = append(lat, time.Since(t0))
				if err != nil {
					b.Fatal(err)
				}
			}
			reportLatency(b, lat)
		})
	}
	// The baseline of Count: what the read API does for a store without
	// it, paging through List and counting in memory (the 30 daily
	// buckets of a month, no filter).
	b.Run("count-by-list/month-daily", func(b *testing.B) {
		var lat []time.Duration
		for b.Loop() {
			t0 := time.Now()
			var all []*storage.Session
			q := month
			q.Limit = 500
			for {
				page, err := s.List(ctx, q)
				if err != nil {
					b.Fatal(err)
				}
				for i := range page.Sessions {
					all = append(all, &page.Sessions[i])
				}
				if page.Next == "" {
					break
				}
				q.Cursor = page.Next
			}
			if _, err := storage.CountSessions(month, 24*time.Hour, slices.Values(all)); err != nil {
				b.Fatal(err)
			}
			lat = append(lat, time.Since(t0))
		}
		reportLatency(b, lat)
	})
	b.Run("put-new", func(b *testing.B) {
		i := n + int(time.Now().UnixNano()%1e9)*10
		for b.Loop() {
			sess := benchSession(i, n)
			i++
			if err := s.PutSession(ctx, sess); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("put-update", func(b *testing.B) {
		for b.Loop() {
			sess := benchSession(r.IntN(n), n)
			if err := s.PutSession(ctx, sess); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func reportLatency(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	at := func(p float64) float64 {
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) / 1000
	}
	b.ReportMetric(at(0.50), "p50-ms")
	b.ReportMetric(at(0.99), "p99-ms")
}
