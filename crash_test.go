package replay

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sessionreplay/replay/storage"
	"github.com/sessionreplay/replay/storage/filestore"
	"github.com/sessionreplay/replay/storage/memstore"
)

// The crash test: a child process (this test binary, run again) ingests a
// fixed sequence of batches through Recorder.Ingest into a filestore and
// prints the index of each batch it acknowledged; the test kills it with
// SIGKILL at a random moment, reopens the store, and checks that every
// acknowledged batch reads back identical to a run without crashes, then
// starts a new child from the first batch not acknowledged (the batch in
// flight is retried, as a browser would). At the end every session's facts
// must equal those of the run without crashes: counted exactly once.
//
// REPLAY_CRASH_RUNS sets the number of kills (default 100).

const (
	crashDirEnv  = "REPLAY_CRASH_DIR"
	crashFromEnv = "REPLAY_CRASH_FROM"
	crashToEnv   = "REPLAY_CRASH_TO"
	crashBatches = 8 // per session: two windows of four batches
)

// crashBatch returns batch i of the sequence.
func crashBatch(t testing.TB, i int) *Batch {
	session := fmt.Sprintf("crash-%06d", i/crashBatches)
	window := fmt.Sprintf("w%d", i%crashBatches/4)
	seq := i % 4
	ms := i % crashBatches * 1000
	var events []string
	if seq == 0 {
		events = append(events, metaEv(ms, fmt.Sprintf("https://shop.example/p%d", i%5)), fullEv(ms+1))
	}
	events = append(events, moveEv(ms+10), clickEv(ms+20, 5, 5), customEv(ms+30, fmt.Sprintf("step-%d", seq), `{}`))
	if i%3 == 0 {
		events = append(events, jsErrorEv(ms+40, fmt.Sprintf("boom %d", i)))
	}
	return mkBatch(t, session, window, seq, events...)
}

func crashRecorder(t testing.TB, store storage.Store) *Recorder {
	sites, err := NewStaticSites(&Site{ID: "shop"})
	require.NoError(t, err)
	rec, err := New(store, sites, nil)
	require.NoError(t, err)
	return rec
}

// TestCrashChild is the child's side; it does nothing unless run as the
// child of TestCrashIngestIsDurable.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashDirEnv)
	if dir == "" {
		return
	}
	from, _ := strconv.Atoi(os.Getenv(crashFromEnv))
	to, _ := strconv.Atoi(os.Getenv(crashToEnv))
	store, err := filestore.Open(dir, nil)
	if err != nil {
		fmt.Printf("open %v\n", err)
		os.Exit(2)
	}
	rec := crashRecorder(t, store)
	fmt.Println("ready")
	for i := from; i < to; i++ {
		b := crashBatch(t, i)
		for {
			_, err := rec.Ingest(context.Background(), b, Client{UserAgent: uaDesktop})
			if err == nil {
				break
			}
			fmt.Printf("error %d %v\n", i, err)
			time.Sleep(10 * time.Millisecond)
		}
		fmt.Printf("ack %d\n", i) // fmt writes os.Stdout unbuffered
	}
	if err := store.Close(); err != nil {
		fmt.Printf("close %v\n", err)
		os.Exit(2)
	}
	os.Exit(0)
}

// runChild starts a child that ingests batches [from, to) and kills it
// after killAfter (never when killAfter is 0). It returns the batches
// acknowledged and the time from the child's start of work to its last
// acknowledgement.
func runChild(t *testing.T, dir string, from, to int, killAfter time.Duration) ([]int, time.Duration) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), "GORACE=atexit_sleep_ms=0", crashDirEnv+"="+dir, crashFromEnv+"="+strconv.Itoa(from), crashToEnv+"="+strconv.Itoa(to))
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = os.Stderr
	require.NoError(t, cmd.Start())
	lines := bufio.NewScanner(out)
	require.True(t, lines.Scan(), "the child starts")
	require.Equal(t, "ready", lines.Text())
	ready := time.Now()
	var took time.Duration
	if killAfter > 0 {
		timer := time.AfterFunc(killAfter, func() { cmd.Process.Signal(syscall.SIGKILL) })
		defer timer.Stop()
	}
	var acked []int
	for lines.Scan() {
		line := lines.Text()
		if n, ok := strings.CutPrefix(line, "ack "); ok {
			i, err := strconv.Atoi(n)
			require.NoError(t, err)
			acked = append(acked, i)
			took = time.Since(ready)
			continue
		}
		t.Logf("child: %s", line)
	}
	err = cmd.Wait()
	if killAfter == 0 {
		require.NoError(t, err, "a child that is not killed exits cleanly")
	}
	return acked, took
}

func TestCrashIngestIsDurable(t *testing.T) {
	runs := 100
	if v := os.Getenv("REPLAY_CRASH_RUNS"); v != "" {
		n, err := strconv.Atoi(v)
		require.NoError(t, err)
		runs = n
	}
	// Children start slowly under the race detector, so four sequences,
	// each on its own directory, run side by side.
	const workers = 4
	for w := range workers {
		kills := runs / workers
		if w < runs%workers {
			kills++
		}
		t.Run(fmt.Sprintf("dir%d", w), func(t *testing.T) {
			t.Parallel()
			crashLoop(t, kills)
		})
	}
}

// crashLoop kills a child ingesting into a new directory kills times,
// checking the store after each, then lets one finish and checks the facts.
func crashLoop(t *testing.T, kills int) {
	dir := t.TempDir()
	seed := uint64(time.Now().UnixNano())
	r := rand.New(rand.NewPCG(seed, 1))
	t.Logf("seed %d, %d kills", seed, kills)

	// The reference: the same batches into a memstore, without crashes.
	ref := memstore.New()
	refRec := crashRecorder(t, ref)
	refDone := 0
	reference := func(upTo int) {
		for ; refDone < upTo; refDone++ {
			_, err := refRec.Ingest(context.Background(), crashBatch(t, refDone), Client{UserAgent: uaDesktop})
			require.NoError(t, err)
		}
	}

	// A first session without a kill measures how long a batch takes
	// here, so that kills land anywhere in the next few batches whatever
	// the machine (and the race detector) make of that time.
	acked, took := runChild(t, dir, 0, crashBatches, 0)
	require.Len(t, acked, crashBatches)
	perBatch := took / crashBatches
	next := crashBatches // the first batch not acknowledged
	for range kills {
		acked, _ := runChild(t, dir, next, next+1000, time.Duration(1+r.Int64N(int64(4*perBatch))))
		for _, i := range acked {
			require.Equal(t, next, i, "batches are acknowledged in order")
			next++
		}
		reference(next)
		checkCrashStore(t, dir, ref, next, false)
	}
	// Finish the last session without a kill: every batch is then
	// acknowledged, and the facts must be those of the reference.
	end := (next/crashBatches + 1) * crashBatches
	acked, _ = runChild(t, dir, next, end, 0)
	require.Len(t, acked, end-next)
	reference(end)
	checkCrashStore(t, dir, ref, end, true)
	t.Logf("%d kills, %d batches in %d sessions, %v per batch", kills, end, end/crashBatches, perBatch)
}

// checkCrashStore opens the store in dir and checks that batches [0, n)
// read back as in ref, and, for the sessions whose batches are all
// acknowledged (all sessions when final), that their facts equal ref's.
func checkCrashStore(t *testing.T, dir string, ref storage.Store, n int, final bool) {
	t.Helper()
	ctx := context.Background()
	store, err := filestore.Open(dir, nil)
	require.NoError(t, err)
	defer store.Close()
	for sess := 0; sess*crashBatches < n; sess++ {
		key := storage.Key{Site: "shop", Session: fmt.Sprintf("crash-%06d", sess)}
		want := chunkMap(t, ref, key)
		got := chunkMap(t, store, key)
		for i := sess * crashBatches; i < min(n, (sess+1)*crashBatches); i++ {
			b := crashBatch(t, i)
			id := fmt.Sprintf("%s/%d", b.Window, b.Seq)
			require.Contains(t, got, id, "acknowledged batch %d (%s %s) is stored", i, key.Session, id)
			require.Equal(t, want[id], got[id], "acknowledged batch %d (%s %s) reads back identical", i, key.Session, id)
		}
		if (sess+1)*crashBatches > n {
			continue // not all acknowledged yet
		}
		w, err := ref.Session(ctx, key)
		require.NoError(t, err)
		g, err := store.Session(ctx, key)
		require.NoError(t, err, "session %s", key.Session)
		require.Equal(t, factsOf(w), factsOf(g), "the facts of %s are counted exactly once", key.Session)
	}
	if final {
		page, err := store.List(ctx, storage.Query{Site: "shop", State: storage.FilterAny, Limit: 500})
		require.NoError(t, err)
		require.Len(t, page.Sessions, n/crashBatches, "no session is listed twice or missing")
	}
}

// chunkMap returns a session's chunks as "window/seq" -> decoded events.
func chunkMap(t *testing.T, s storage.Store, key storage.Key) map[string]string {
	t.Helper()
	m := make(map[string]string)
	for c, err := range s.Chunks(context.Background(), key, "") {
		require.NoError(t, err)
		events, err := decodeChunk(c.Data)
		require.NoError(t, err)
		var b strings.Builder
		for _, e := range events {
			b.Write(e)
			b.WriteByte('\n')
		}
		m[fmt.Sprintf("%s/%d", c.Window, c.Seq)] = fmt.Sprintf("%d events\n%s", c.Events, b.String())
	}
	return m
}

// factsOf is a session's metadata without what depends on the server's
// clock.
func factsOf(s storage.Session) storage.Session {
	s.FirstSeen, s.LastSeen, s.Opaque = time.Time{}, time.Time{}, nil
	s.Start, s.End = s.Start.UTC(), s.End.UTC()
	return s
}
