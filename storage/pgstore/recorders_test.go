package pgstore_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sessionreplay/replay"
	"github.com/sessionreplay/replay/storage"
	"github.com/sessionreplay/replay/storage/pgstore"
)

// step is one thing a browser or an operator does: send a batch, or
// delete a session.
type step struct {
	batch  []byte // the batch JSON; nil for a delete
	delete storage.Key
}

// workload returns, per session, the steps of several sessions recorded
// from real pages: each recording split into batches of a few events, one
// window per recording, and some batches sent twice (a retry). The session
// "visit-del0" is deleted half-way and then sends more batches.
func workload(t testing.TB) (sessions []string, steps map[string][]step) {
	t.Helper()
	var recordings [][]json.RawMessage
	for _, name := range []string{"form", "mutations", "console", "scroll"} {
		data, err := os.ReadFile(filepath.Join("..", "..", "testdata", "recordings", name+".json"))
		require.NoError(t, err)
		var events []json.RawMessage
		require.NoError(t, json.Unmarshal(data, &events))
		recordings = append(recordings, events)
	}
	steps = make(map[string][]step)
	for i := range 6 {
		id := fmt.Sprintf("visit-%04d", i)
		if i == 5 {
			id = "visit-del0"
		}
		sessions = append(sessions, id)
		var ss []step
		for w, events := range recordings {
			// Sessions see the recordings in different orders.
			events = recordings[(w+i)%len(recordings)]
			per := 2 + i%3
			for seq := 0; seq*per < len(events); seq++ {
				end := min((seq+1)*per, len(events))
				b, err := json.Marshal(map[string]any{
					"site": "shop", "session": id, "window": fmt.Sprintf("w%d", w), "seq": seq,
					"events": events[seq*per : end], "attrs": map[string]string{"userId": "u" + strconv.Itoa(i)},
				})
				require.NoError(t, err)
				ss = append(ss, step{batch: b})
				if (seq+i)%5 == 0 {
					ss = append(ss, step{batch: b}) // a retry
				}
			}
		}
		if id == "visit-del0" {
			half := len(ss) / 2
			ss = append(ss[:half:half], append([]step{{delete: storage.Key{Site: "shop", Session: id}}}, ss[half:]...)...)
		}
		steps[id] = ss
	}
	return sessions, steps
}

var fixedNow = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)

func newRecorder(t testing.TB, store storage.Store) *replay.Recorder {
	t.Helper()
	sites, err := replay.NewStaticSites(&replay.Site{ID: "shop"})
	require.NoError(t, err)
	rec, err := replay.New(store, sites, &replay.Options{Now: func() time.Time { return fixedNow }})
	require.NoError(t, err)
	return rec
}

var client = replay.Client{UserAgent: "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36"}

// do runs one step on rec and returns a line describing its answer.
func do(ctx context.Context, rec *replay.Recorder, s step) (string, error) {
	if s.batch == nil {
		err := rec.Delete(ctx, s.delete.Site, s.delete.Session)
		return fmt.Sprintf("delete %v", err), err
	}
	b, err := replay.DecodeBatch(s.batch)
	if err != nil {
		return "", err
	}
	res, err := rec.Ingest(ctx, b, client)
	return fmt.Sprintf("%s/%d accepted %d record %v", b.Window, b.Seq, res.Accepted, res.Record), err
}

// facts returns what is stored of each session: its metadata and the
// events the read API serves, and the answers to its steps.
type facts struct {
	session storage.Session
	err     string
	events  string
}

func collectFacts(t testing.TB, rec *replay.Recorder, store storage.Store, sessions []string) map[string]facts {
	t.Helper()
	ctx := context.Background()
	out := make(map[string]facts)
	for _, id := range sessions {
		var f facts
		s, err := store.Session(ctx, storage.Key{Site: "shop", Session: id})
		if err != nil {
			f.err = err.Error()
		}
		// StoredBytes counts an asset shared by sessions (pgstore keeps
		// assets) in the session that stored it first, which the order of
		// concurrent batches decides: runs compare everything else.
		if err == nil && s.State != storage.StateDropped && s.StoredBytes <= 0 {
			t.Fatalf("session %s: StoredBytes %d", id, s.StoredBytes)
		}
		s.StoredBytes = 0
		f.session = s
		var ev bytes.Buffer
		if err := rec.Events(ctx, "shop", id, "", &ev); err == nil {
			f.events = ev.String()
		} else if !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("Events %s: %v", id, err)
		}
		out[id] = f
	}
	return out
}

// compareFacts asserts that two runs stored the same facts.
func compareFacts(t *testing.T, want, got map[string]facts) {
	t.Helper()
	for id, w := range want {
		g := got[id]
		assert.Equal(t, w.err, g.err, "session %s: Session error", id)
		assert.Equal(t, w.session, g.session, "session %s: metadata", id)
		assert.Equal(t, w.events, g.events, "session %s: events served", id)
	}
}

// singleRun runs every step with one Recorder, session after session, and
// returns the facts and the answers.
func singleRun(t *testing.T) (sessions []string, steps map[string][]step, want map[string]facts, answers map[string][]string) {
	t.Helper()
	sessions, steps = workload(t)
	store := newStore(t, nil)
	rec := newRecorder(t, store)
	answers = make(map[string][]string)
	for _, id := range sessions {
		for _, s := range steps[id] {
			a, err := do(context.Background(), rec, s)
			require.NoError(t, err, "%s: %s", id, a)
			answers[id] = append(answers[id], a)
		}
	}
	f := collectFacts(t, rec, store, sessions)
	require.Equal(t, "", f["visit-0000"].err, "the workload stored nothing")
	require.Equal(t, storage.StateDropped, f["visit-del0"].session.State, "a deleted session came back")
	require.Empty(t, f["visit-del0"].events, "a deleted session's events are served")
	return sessions, steps, f, answers
}

// Two Recorders, each on its own Store (its own connections, as two
// processes have), take the batches of the same sessions in turn, every
// session concurrently; the facts stored are those of one Recorder taking
// them all.
func TestTwoRecordersAlternating(t *testing.T) {
	needDB(t)
	sessions, steps, want, wantAnswers := singleRun(t)

	schema := newSchema(t)
	stores := []*pgstore.Store{openStore(t, schema, nil), openStore(t, schema, nil)}
	recs := []*replay.Recorder{newRecorder(t, stores[0]), newRecorder(t, stores[1])}
	var (
		wg sync.WaitGroup
		mu sync.Mutex
	)
	answers := make(map[string][]string)
	for n, id := range sessions {
		wg.Go(func() {
			var got []string
			for i, s := range steps[id] {
				a, err := do(t.Context(), recs[(i+n)%2], s)
				assert.NoError(t, err, "%s: %s", id, a)
				got = append(got, a)
			}
			mu.Lock()
			answers[id] = got
			mu.Unlock()
		})
	}
	wg.Wait()
	assert.Equal(t, wantAnswers, answers, "answers to the batches")
	compareFacts(t, want, collectFacts(t, recs[0], stores[0], sessions))
	compareFacts(t, want, collectFacts(t, recs[1], stores[1], sessions))
}

// childEnv names the variables that make the test binary a Recorder
// process driven by its standard input (see TestRecorderProcess).
const childEnv = "REPLAY_PGSTORE_CHILD_SCHEMA"

// TestRecorderProcess is not a test of its own: run with childEnv set, it
// is one of the processes of TestTwoProcesses. It reads step numbers
// ("session index") from stdin, runs them, and answers each with one line.
func TestRecorderProcess(t *testing.T) {
	schema := os.Getenv(childEnv)
	if schema == "" {
		t.Skip("a helper process of TestTwoProcesses")
	}
	needDB(t)
	sessions, steps := workload(t)
	_ = sessions
	store := openStore(t, schema, nil)
	rec := newRecorder(t, store)
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		id, n, ok := strings.Cut(in.Text(), " ")
		i, err := strconv.Atoi(n)
		if !ok || err != nil || i >= len(steps[id]) {
			fmt.Printf("ERR bad command %q\n", in.Text())
			continue
		}
		a, err := do(context.Background(), rec, steps[id][i])
		if err != nil {
			a = "ERR " + err.Error()
		}
		fmt.Println(a)
	}
}

// Two OS processes, each with its own Recorder and Store, take the steps of
// the same sessions in turn.
func TestTwoProcesses(t *testing.T) {
	needDB(t)
	if os.Getenv(childEnv) != "" {
		t.Skip("inside a helper process")
	}
	sessions, steps, want, wantAnswers := singleRun(t)
	schema := newSchema(t)
	openStore(t, schema, nil) // migrate once before the children start

	type child struct {
		cmd *exec.Cmd
		in  *bufio.Writer
		out *bufio.Scanner
	}
	var children []*child
	for range 2 {
		cmd := exec.Command(os.Args[0], "-test.run", "^TestRecorderProcess$")
		cmd.Env = append(os.Environ(), childEnv+"="+schema, "REPLAY_TEST_POSTGRES="+testDSN)
		cmd.Stderr = os.Stderr
		stdin, err := cmd.StdinPipe()
		require.NoError(t, err)
		stdout, err := cmd.StdoutPipe()
		require.NoError(t, err)
		require.NoError(t, cmd.Start())
		c := &child{cmd: cmd, in: bufio.NewWriter(stdin), out: bufio.NewScanner(stdout)}
		children = append(children, c)
		t.Cleanup(func() {
			stdin.Close()
			if err := cmd.Wait(); err != nil {
				t.Errorf("helper process: %v", err)
			}
		})
	}
	answers := make(map[string][]string)
	turn := 0
	for _, id := range sessions {
		for i := range steps[id] {
			c := children[turn%2]
			turn++
			fmt.Fprintf(c.in, "%s %d\n", id, i)
			require.NoError(t, c.in.Flush())
			require.True(t, c.out.Scan(), "helper process ended: %v", c.out.Err())
			answers[id] = append(answers[id], c.out.Text())
		}
	}
	for _, c := range children {
		c.cmd.Stdin.(interface{ Close() error }).Close()
	}
	assert.Equal(t, wantAnswers, answers, "answers to the batches")
	store := openStore(t, schema, nil)
	compareFacts(t, want, collectFacts(t, newRecorder(t, store), store, sessions))
}

// orderFree returns the facts of a session that do not depend on the order
// in which its windows' batches arrived.
func orderFree(s storage.Session) map[string]any {
	ids := slices.Clone(s.WindowIDs)
	slices.Sort(ids)
	pages := slices.Clone(s.Pages)
	slices.Sort(pages)
	return map[string]any{
		"state": s.State, "eventCount": s.EventCount, "bytes": s.Bytes, // not StoredBytes: see collectFacts
		"clicks": s.Clicks, "errors": s.Errors, "windows": s.Windows, "windowIds": ids,
		"pages": pages, "events": s.Events, "attrs": s.Attrs,
	}
}

// Two Recorders on their own Stores take the batches of one session at
// the same time (each window's batches in order, the windows in parallel,
// the Recorders in turn): no update of the session is lost.
func TestTwoRecordersRacing(t *testing.T) {
	needDB(t)
	sessions, steps, want, _ := singleRun(t)
	schema := newSchema(t)
	stores := []*pgstore.Store{openStore(t, schema, nil), openStore(t, schema, nil)}
	recs := []*replay.Recorder{newRecorder(t, stores[0]), newRecorder(t, stores[1])}
	var wg sync.WaitGroup
	for _, id := range sessions {
		if id == "visit-del0" {
			continue // a delete orders the steps
		}
		byWindow := make(map[string][]step)
		for _, s := range steps[id] {
			var b struct{ Window string }
			require.NoError(t, json.Unmarshal(s.batch, &b))
			byWindow[b.Window] = append(byWindow[b.Window], s)
		}
		for _, ws := range byWindow {
			wg.Go(func() {
				for i, s := range ws {
					a, err := do(t.Context(), recs[i%2], s)
					assert.NoError(t, err, "%s: %s", id, a)
				}
			})
		}
	}
	wg.Wait()
	for _, id := range sessions {
		if id == "visit-del0" {
			continue
		}
		got, err := stores[1].Session(t.Context(), storage.Key{Site: "shop", Session: id})
		require.NoError(t, err)
		assert.Equal(t, orderFree(want[id].session), orderFree(got), "session %s", id)
	}
}
