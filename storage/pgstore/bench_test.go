package pgstore_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sessionreplay/replay/storage"
	"github.com/sessionreplay/replay/storage/memstore"
)

// benchSessions is the number of sessions the listing benchmark loads:
// REPLAY_PGSTORE_BENCH_SESSIONS, 20,000 by default. The figures in
// README.md are at 1,000,000.
func benchSessions(b *testing.B) int {
	if v := os.Getenv("REPLAY_PGSTORE_BENCH_SESSIONS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			b.Fatalf("REPLAY_PGSTORE_BENCH_SESSIONS=%q: want a positive number", v)
		}
		return n
	}
	return 20_000
}

var benchStart = time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)

// benchSession returns session i of a synthetic site: 90 % on site shop,
// starts over 30 days, 90 % kept, the devices, systems and browsers of a
// web shop, one to five of 200 pages, a few custom events, errors in one
// session of ten, a user id on one in three.
func benchSession(r *rand.Rand, i int) storage.Session {
	pick := func(options ...string) string { return options[r.IntN(len(options))] }
	site := "shop"
	if r.IntN(10) == 0 {
		site = "blog"
	}
	start := benchStart.Add(time.Duration(r.Int64N(int64(30 * 24 * time.Hour)))).Truncate(time.Millisecond)
	dur := time.Duration(r.ExpFloat64() * float64(2*time.Minute)).Truncate(time.Millisecond)
	state := storage.StateKept
	switch r.IntN(20) {
	case 0:
		state = storage.StatePending
	case 1:
		state = storage.StateDropped
	}
	device := pick("desktop", "desktop", "desktop", "mobile", "mobile", "tablet")
	os := map[string]func() string{
		"desktop": func() string { return pick("Windows", "Windows", "macOS", "Linux") },
		"mobile":  func() string { return pick("iOS", "Android", "Android") },
		"tablet":  func() string { return pick("iOS", "Android") },
	}[device]()
	browser := pick("Chrome", "Chrome", "Chrome", "Safari", "Firefox", "Edge")
	var pages []string
	for range 1 + r.IntN(5) {
		var path string
		switch r.IntN(10) {
		case 0:
			path = "/checkout/pay"
		case 1:
			path = "/cart"
		case 2, 3:
			path = "/search"
		default:
			path = fmt.Sprintf("/product/%d", r.IntN(200))
		}
		pages = append(pages, "https://shop.example"+path+"?ref="+strconv.Itoa(r.IntN(1000)))
	}
	events := map[string]int{}
	if r.IntN(2) == 0 {
		events["view"] = 1 + r.IntN(5)
	}
	if r.IntN(50) == 0 {
		events["signup"] = 1
	}
	if r.IntN(20) == 0 {
		events["purchase"] = 1
	}
	rules := []string{"all"}
	errs := 0
	if r.IntN(10) == 0 {
		errs = 1 + r.IntN(3)
		rules = append(rules, "errors")
	}
	if strings.Contains(strings.Join(pages, " "), "/checkout") {
		rules = append(rules, "checkout")
	}
	attrs := map[string]string{}
	if r.IntN(3) == 0 {
		attrs["userId"] = "u" + strconv.Itoa(r.IntN(100_000))
	}
	return storage.Session{
		ID: fmt.Sprintf("s%07d-%04x", i, r.IntN(1<<16)), Site: site, State: state,
		Start: start, End: start.Add(dur), DurationMs: dur.Milliseconds(), ActiveMs: dur.Milliseconds() / 2,
		MatchedRules: rules, Pages: pages, EntryURL: pages[0],
		Device: device, OS: os, Browser: browser, Viewport: storage.Viewport{W: 1280, H: 720},
		Errors: errs, Events: events, Clicks: r.IntN(30), Windows: 1, WindowIDs: []string{"w1"},
		EventCount: 100 + r.IntN(1000), Bytes: 50_000, StoredBytes: 8_000, Attrs: attrs,
		FirstSeen: start, LastSeen: start.Add(dur), Ended: true, Opaque: []byte{1},
	}
}

var (
	benchMu      sync.Mutex
	benchSchemas = map[int]string{} // sessions -> loaded schema, shared by the runs of one process
)

// loadedSchema returns a schema holding n synthetic sessions, bulk-loaded
// with COPY once per process and dropped when the process's tests end.
func loadedSchema(b *testing.B, n int) string {
	benchMu.Lock()
	defer benchMu.Unlock()
	if s, ok := benchSchemas[n]; ok {
		return s
	}
	needDB(b)
	schema := fmt.Sprintf("bench_%d_%d", n, os.Getpid())
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, testDSN)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+schema+" CASCADE"); err != nil {
		b.Fatal(err)
	}
	s := openStoreDSN(b, testDSN, schema) // migrates
	s.Close()
	cleanup = append(cleanup, func() {
		c, err := pgx.Connect(context.Background(), testDSN)
		if err == nil {
			c.Exec(context.Background(), "DROP SCHEMA IF EXISTS "+schema+" CASCADE") //nolint:errcheck // best effort at exit
			c.Close(context.Background())
		}
	})
	if _, err := conn.Exec(ctx, "SET search_path = "+schema); err != nil {
		b.Fatal(err)
	}
	// Secondary indexes are built after the load, which is faster than
	// keeping them up to date row by row; they are the migration's own.
	var indexes []string
	rows, err := conn.Query(ctx, `SELECT indexname, indexdef FROM pg_indexes
		WHERE schemaname = $1 AND tablename = 'sessions' AND indexname NOT LIKE '%_pkey'`, schema)
	if err != nil {
		b.Fatal(err)
	}
	var names []string
	for rows.Next() {
		var name, def string
		if err := rows.Scan(&name, &def); err != nil {
			b.Fatal(err)
		}
		names, indexes = append(names, name), append(indexes, def)
	}
	rows.Close()
	for _, name := range names {
		if _, err := conn.Exec(ctx, "DROP INDEX "+schema+"."+name); err != nil {
			b.Fatal(err)
		}
	}
	// The rows of session_paths and session_events are written after the
	// load, one statement each, rather than by the triggers row by row.
	for _, sql := range []string{"SET maintenance_work_mem = '256MB'", "ALTER TABLE sessions DISABLE TRIGGER USER",
		"DROP INDEX session_paths_all", "DROP INDEX session_events_all"} {
		if _, err := conn.Exec(ctx, sql); err != nil {
			b.Fatalf("%s: %v", sql, err)
		}
	}
	t0 := time.Now()
	r := rand.New(rand.NewPCG(1, 2))
	const batch = 50_000
	for done := 0; done < n; done += batch {
		var rows [][]any
		for i := done; i < min(done+batch, n); i++ {
			sess := benchSession(r, i)
			ev, _ := json.Marshal(sess.Events)
			at, _ := json.Marshal(sess.Attrs)
			var paths []string
			for _, p := range sess.Pages {
				path, _, _ := strings.Cut(strings.TrimPrefix(p, "https://shop.example"), "?")
				paths = append(paths, path)
			}
			var tags []string
			for t := range sess.Events {
				tags = append(tags, t)
			}
			rows = append(rows, []any{sess.Site, sess.ID, string(sess.State), sess.Start, sess.End, sess.DurationMs,
				sess.ActiveMs, sess.MatchedRules, sess.Pages, sess.EntryURL, sess.Device, sess.OS, sess.Browser,
				strings.ToLower(sess.Device), strings.ToLower(sess.OS), strings.ToLower(sess.Browser),
				sess.Viewport.W, sess.Viewport.H, sess.Errors, []string{}, string(ev), append([]string{}, tags...),
				sess.Clicks, sess.RageClicks, sess.Windows, sess.WindowIDs, sess.EventCount, sess.Bytes, sess.StoredBytes,
				string(at), sess.Attrs["userId"], sess.FirstSeen, sess.LastSeen, sess.Ended, sess.Opaque, paths})
		}
		cols := []string{"site", "id", "state", "start_at", "end_at", "duration_ms", "active_ms",
			"matched_rules", "pages", "entry_url", "device", "os", "browser", "device_key", "os_key", "browser_key",
			"viewport_w", "viewport_h", "errors", "error_messages", "events", "event_tags", "clicks", "rage_clicks",
			"windows", "window_ids", "event_count", "bytes", "stored_bytes", "attrs", "user_id",
			"first_seen", "last_seen", "ended", "opaque", "page_paths"}
		if _, err := conn.CopyFrom(ctx, pgx.Identifier{"sessions"}, cols, pgx.CopyFromRows(rows)); err != nil {
			b.Fatalf("COPY sessions: %v", err)
		}
	}
	for _, def := range indexes {
		if _, err := conn.Exec(ctx, def); err != nil {
			b.Fatalf("%s: %v", def, err)
		}
	}
	// As migrations/0006_list_rare.sql fills the side tables. VACUUM, as
	// autovacuum would soon after a load, marks the pages all-visible for
	// index-only scans.
	for _, sql := range []string{`INSERT INTO session_paths (site, path, start_at, id)
			SELECT DISTINCT site, p, start_at, id FROM sessions, unnest(page_paths) AS p
			WHERE octet_length(p) <= 1000 ORDER BY 1, 2, 3, 4`,
		"CREATE INDEX session_paths_all ON session_paths (path, start_at, id, site)",
		`INSERT INTO session_events (site, tag, start_at, id)
			SELECT DISTINCT site, t, start_at, id FROM sessions, unnest(event_tags) AS t
			WHERE octet_length(t) <= 1000 ORDER BY 1, 2, 3, 4`,
		"CREATE INDEX session_events_all ON session_events (tag, start_at, id, site)",
		"ALTER TABLE sessions ENABLE TRIGGER USER", "VACUUM ANALYZE sessions", "VACUUM ANALYZE session_paths",
		"VACUUM ANALYZE session_events"} {
		if _, err := conn.Exec(ctx, sql); err != nil {
			b.Fatalf("%s: %v", sql, err)
		}
	}
	b.Logf("loaded %d sessions with COPY in %v", n, time.Since(t0).Round(time.Millisecond))
	benchSchemas[n] = schema
	return schema
}

// cleanup runs when the benchmarks of the process end (see TestMain).
var cleanup []func()

// benchFilters are the listings measured: the read API's filters on site
// shop, one at a time, and a few combined.
var benchFilters = []struct {
	name string
	q    storage.Query
}{
	{"none", storage.Query{}},
	{"page-20", storage.Query{}}, // the 20th page, through cursors
	{"from-to-1day", storage.Query{From: benchStart.Add(10 * 24 * time.Hour), To: benchStart.Add(11 * 24 * time.Hour)}},
	{"device-mobile", storage.Query{Device: "MOBILE"}},
	{"os-ios", storage.Query{OS: "ios"}},
	{"browser-firefox", storage.Query{Browser: "firefox"}},
	{"url-path-prefix", storage.Query{URL: "/checkout/*"}},
	{"url-exact-rare", storage.Query{URL: "/product/17"}},
	{"url-prefix-rare", storage.Query{URL: "/product/17*"}},
	{"url-suffix", storage.Query{URL: "*/pay"}},
	{"url-scheme", storage.Query{URL: "https://shop.example/cart*"}},
	{"event-signup", storage.Query{Event: "signup"}},
	{"error", storage.Query{Error: true}},
	{"rule-checkout", storage.Query{Rule: "checkout"}},
	{"min-duration-10m", storage.Query{MinDuration: 10 * time.Minute}},
	{"user", storage.Query{User: "?"}}, // a user id of the data set
	{"state-pending", storage.Query{State: storage.FilterPending}},
	{"state-all", storage.Query{State: storage.FilterAll}},
	{"mobile-error-signup", storage.Query{Device: "mobile", Error: true, Event: "purchase"}},
	{"all-sites", storage.Query{Site: "-"}},
}

// BenchmarkList measures one List call per filter on a store of
// benchSessions sessions and reports its p50 and p99 in milliseconds.
// "none" (the newest page, no filter) is the baseline of the others.
//
//	REPLAY_PGSTORE_BENCH_SESSIONS=1000000 go test ./storage/pgstore -run '^$' -bench BenchmarkList -benchtime 200x
func BenchmarkList(b *testing.B) {
	n := benchSessions(b)
	schema := loadedSchema(b, n)
	s := openStoreDSN(b, testDSN, schema)
	ctx := context.Background()
	for _, f := range benchFilters {
		b.Run(f.name, func(b *testing.B) {
			q := f.q
			switch q.Site {
			case "":
				q.Site = "shop"
			case "-":
				q.Site = ""
			}
			if q.User == "?" {
				conn, err := pgx.Connect(ctx, testDSN)
				if err != nil {
					b.Fatal(err)
				}
				err = conn.QueryRow(ctx, "SELECT user_id FROM "+schema+".sessions WHERE site = 'shop' AND user_id <> '' LIMIT 1").Scan(&q.User)
				conn.Close(ctx)
				if err != nil {
					b.Fatal(err)
				}
			}
			if f.name == "page-20" {
				for range 19 {
					p, err := s.List(ctx, q)
					if err != nil || p.Next == "" {
						b.Fatalf("paging: %v", err)
					}
					q.Cursor = p.Next
				}
			}
			times := make([]time.Duration, 0, b.N)
			found := 0
			b.ResetTimer()
			for b.Loop() {
				t0 := time.Now()
				p, err := s.List(ctx, q)
				times = append(times, time.Since(t0))
				if err != nil {
					b.Fatal(err)
				}
				found = len(p.Sessions)
			}
			b.StopTimer()
			slices.Sort(times)
			b.ReportMetric(ms(times[len(times)/2]), "p50-ms")
			b.ReportMetric(ms(times[(len(times)*99)/100]), "p99-ms")
			b.ReportMetric(float64(found), "sessions/page")
		})
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// BenchmarkInsert measures what a batch writes, a chunk and the session's
// metadata under the session's lock, from 8 goroutines, in pgstore on top
// of benchSessions sessions and, as the baseline, in memstore.
//
//	REPLAY_PGSTORE_BENCH_SESSIONS=1000000 go test ./storage/pgstore -run '^$' -bench BenchmarkInsert -benchtime 5000x
func BenchmarkInsert(b *testing.B) {
	chunk := storage.Chunk{Window: "w1", Events: 50, Data: make([]byte, 4096)}
	run := func(b *testing.B, s storage.Store) {
		var next atomicCounter
		r0 := rand.New(rand.NewPCG(3, 4))
		base := benchSession(r0, 0)
		b.SetParallelism(4) // 4 × GOMAXPROCS writers
		b.ResetTimer()
		t0 := time.Now()
		b.RunParallel(func(pb *testing.PB) {
			ctx := context.Background()
			for pb.Next() {
				i := next.add()
				sess := base.Clone()
				sess.Site, sess.ID = "insert", fmt.Sprintf("ins-%09d", i)
				key := storage.Key{Site: sess.Site, Session: sess.ID}
				err := storage.LockSession(ctx, s, key, func(st storage.Store) error {
					if _, err := st.Session(ctx, key); err == nil {
						return fmt.Errorf("session %s exists", key.Session)
					}
					if err := st.Append(ctx, key, chunk); err != nil {
						return err
					}
					return st.PutSession(ctx, sess)
				})
				if err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/time.Since(t0).Seconds(), "batches/s")
	}
	b.Run("memstore", func(b *testing.B) { run(b, memstore.New()) })
	b.Run("pgstore", func(b *testing.B) {
		schema := loadedSchema(b, benchSessions(b))
		s := openStoreDSN(b, testDSN, schema)
		if _, err := s.List(context.Background(), storage.Query{}); err != nil {
			b.Fatal(err)
		}
		run(b, s)
		b.StopTimer()
		conn, err := pgx.Connect(context.Background(), testDSN)
		if err != nil {
			b.Fatal(err)
		}
		defer conn.Close(context.Background())
		for _, t := range []string{"chunks", "sessions"} {
			if _, err := conn.Exec(context.Background(), "DELETE FROM "+schema+"."+t+" WHERE site = 'insert'"); err != nil {
				b.Fatal(err)
			}
		}
	})
}

type atomicCounter struct {
	mu sync.Mutex
	n  int
}

func (c *atomicCounter) add() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n++
	return c.n
}

// BenchmarkDue measures one Due call (a page of 50) per kind on a store
// of 1,000 ended sessions (the baseline) and one of benchSessions, each
// with the same 200 open sessions due: the time should not grow with the
// ended sessions kept.
//
//	REPLAY_PGSTORE_BENCH_SESSIONS=1000000 go test ./storage/pgstore -run '^$' -bench BenchmarkDue -benchtime 200x
func BenchmarkDue(b *testing.B) {
	old := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC) // before every loaded session
	for _, n := range []int{1000, benchSessions(b)} {
		schema := loadedSchema(b, n)
		s := openStoreDSN(b, testDSN, schema)
		ctx := context.Background()
		for i := range 200 {
			sess := storage.Session{Site: "shop", ID: fmt.Sprintf("due-%03d", i), State: storage.StatePending,
				Start: old, FirstSeen: old, LastSeen: old.Add(time.Duration(i) * time.Second), Ended: i%2 == 0}
			if err := s.PutSession(ctx, sess); err != nil {
				b.Fatal(err)
			}
			if err := s.Append(ctx, storage.Key{Site: "shop", Session: fmt.Sprintf("orphan-%03d", i)}, storage.Chunk{Window: "w1"}); err != nil && !errors.Is(err, storage.ErrExists) {
				b.Fatal(err)
			}
		}
		for _, k := range []struct {
			name string
			kind storage.DueKind
		}{{"idle", storage.DueIdle}, {"long", storage.DueLong}, {"undecided", storage.DueUndecided}, {"orphaned", storage.DueOrphaned}} {
			b.Run(fmt.Sprintf("sessions=%d/%s", n, k.name), func(b *testing.B) {
				q := storage.DueQuery{Site: "shop", Kind: k.kind, Before: old.Add(time.Hour)}
				if k.kind == storage.DueOrphaned {
					q.Before = time.Now().Add(time.Hour)
				}
				found := 0
				for b.Loop() {
					p, err := s.Due(ctx, q)
					if err != nil {
						b.Fatal(err)
					}
					found = len(p.Keys)
				}
				b.ReportMetric(float64(found), "keys/page")
			})
		}
	}
}
