package filestore

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sessionreplay/replay/storage"
)

var jbase = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// sampleOps returns one op of every record type.
func sampleOps() []*op {
	k := storage.Key{Site: "shop", Session: "sess-0001"}
	return []*op{
		{typ: recDelete, key: k, extents: []extent{{seg: 1, off: 0, n: 40}, {seg: 2, off: 99, n: 1 << 20}}},
		{typ: recChunk, key: k, chunk: storage.Chunk{Window: "w1", Seq: 3, Events: 7, Data: []byte("zstd bytes")}},
		{typ: recAsset, key: storage.Key{Site: "shop"}, hash: "0123456789abcdef", chunk: storage.Chunk{Data: []byte("body{}")}},
		{typ: recRefs, key: k, hashes: []string{"0123456789abcdef", "fedcba9876543210"}},
		{typ: recSession, key: k, sess: storage.Session{ID: k.Session, Site: k.Site, State: storage.StateKept, Start: jbase,
			Events: map[string]int{"signup": 1}, Attrs: map[string]string{"userId": "u1"}, Opaque: []byte{1, 2}}},
	}
}

// scanAll returns the groups scanJournal finds in b and where it stops.
func scanAll(b []byte) ([]*jgroup, int64) {
	var gs []*jgroup
	end := scanJournal(b, 1, 0, func(g *jgroup) bool { gs = append(gs, g); return true })
	return gs, end
}

func TestJournalRoundTrip(t *testing.T) {
	ops := sampleOps()
	b, err := encodeGroup(nil, 1, 0, ops, jbase)
	require.NoError(t, err)
	b, err = encodeGroup(b, 1, int64(len(b)), sampleOps()[1:2], jbase.Add(time.Second))
	require.NoError(t, err)
	gs, end := scanAll(b)
	require.Len(t, gs, 2)
	assert.Equal(t, int64(len(b)), end)
	for _, o := range gs[0].ops {
		if o.typ == recSession {
			// A session's record keeps its metadata as encoded, for the
			// index to store as it is.
			want, err := encodeSession(o.sess)
			require.NoError(t, err)
			assert.Equal(t, want, o.data)
			o.data = nil
		}
	}
	assert.Equal(t, ops, gs[0].ops, "every record reads back as written, where it was written")
	assert.Equal(t, jbase, gs[0].at)
	assert.Empty(t, gs[0].bad)

	// A group cut anywhere is not read, and the scan ends before it.
	first := gs[0].end
	for cut := first; cut < int64(len(b)); cut++ {
		gs, end := scanAll(b[:cut])
		require.Len(t, gs, 1, "cut at %d", cut)
		require.Equal(t, first, end, "cut at %d", cut)
	}
	// An erased body makes its record unreadable, not its group.
	erased := bytes.Clone(b)
	at := ops[1].at
	clear(erased[at.off+recHeader : at.off+at.n])
	gs, end = scanAll(erased)
	require.Len(t, gs, 2)
	assert.Equal(t, int64(len(b)), end)
	assert.Equal(t, []extent{at}, gs[0].bad)
	assert.Len(t, gs[0].ops, len(ops)-1)
	// A damaged header ends the journal there.
	bad := bytes.Clone(b)
	bad[at.off+1] ^= 0x40
	gs, end = scanAll(bad)
	assert.Empty(t, gs)
	assert.Zero(t, end)
}

// FuzzJournal feeds damaged and hostile segments to scanJournal (a
// segment is bytes on disk, not to be trusted): it never panics, never
// reads past the input, stops at an offset within it, and every group it
// accepts re-encodes into a group that reads back the same.
func FuzzJournal(f *testing.F) {
	b, err := encodeGroup(nil, 1, 0, sampleOps(), jbase)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add(b[:len(b)/2])
	f.Add(append(bytes.Clone(b), 0, 0, 0, 9, 1, 2, 3, 4, 5))
	f.Add([]byte{})
	f.Add(make([]byte, 64))
	f.Fuzz(func(t *testing.T, data []byte) {
		var gs []*jgroup
		end := scanJournal(data, 1, 0, func(g *jgroup) bool { gs = append(gs, g); return true })
		if end < 0 || end > int64(len(data)) {
			t.Fatalf("scan ends at %d of %d bytes", end, len(data))
		}
		last := int64(0)
		for _, g := range gs {
			if g.start != last || g.end <= g.start || g.end > end {
				t.Fatalf("group %d..%d after %d, scan end %d", g.start, g.end, last, end)
			}
			last = g.end
			for _, o := range g.ops {
				if o.at.off < g.start || o.at.off+o.at.n > g.end {
					t.Fatalf("record %+v outside its group %d..%d", o.at, g.start, g.end)
				}
				if o.typ != recAsset && checkKey(o.key) != nil {
					t.Fatalf("record with invalid key %+v", o.key)
				}
			}
			re, err := encodeGroup(nil, 1, 0, g.ops, g.at)
			if err != nil {
				t.Fatalf("an accepted group does not encode: %v", err)
			}
			again, _ := scanAll(re)
			if len(again) != 1 || len(again[0].ops) != len(g.ops) {
				t.Fatalf("re-encoded group reads back as %d groups", len(again))
			}
			for i, o := range again[0].ops {
				o.at, g.ops[i].at = extent{}, extent{}
				assert.Equal(t, g.ops[i], o)
			}
		}
	})
}

func segFiles(t *testing.T, dir string) []string {
	t.Helper()
	segs, err := filepath.Glob(filepath.Join(dir, journalDir, "*"+segExt))
	require.NoError(t, err)
	return segs
}

func putN(t *testing.T, s *Store, from, to int) {
	t.Helper()
	for i := from; i < to; i++ {
		k := storage.Key{Site: "shop", Session: fmt.Sprintf("sess-%04d", i)}
		require.NoError(t, s.LockSession(ctx, k, func(st storage.Store) error {
			if err := st.Append(ctx, k, storage.Chunk{Window: "w1", Data: []byte("secret events of " + k.Session)}); err != nil {
				return err
			}
			return st.PutSession(ctx, storage.Session{ID: k.Session, Site: k.Site, State: storage.StateKept, Start: jbase,
				Attrs: map[string]string{"userId": "user-of-" + k.Session}})
		}))
	}
}

func wantN(t *testing.T, s *Store, from, to int) {
	t.Helper()
	for i := from; i < to; i++ {
		k := storage.Key{Site: "shop", Session: fmt.Sprintf("sess-%04d", i)}
		got, err := s.Session(ctx, k)
		require.NoError(t, err, k)
		assert.Equal(t, "user-of-"+k.Session, got.Attrs["userId"])
		var data []string
		for c, err := range s.Chunks(ctx, k, "") {
			require.NoError(t, err)
			data = append(data, string(c.Data))
		}
		assert.Equal(t, []string{"secret events of " + k.Session}, data)
	}
}

// A write a crash cut short at the end of the journal is cut off at Open;
// what was synced before it stays, and the store writes on.
func TestJournalTornTail(t *testing.T) {
	for name, tail := range map[string]func(group []byte) []byte{
		"half a group":   func(g []byte) []byte { return g[:len(g)/2] },
		"all but commit": func(g []byte) []byte { return g[:len(g)-20] },
		"zeros":          func(g []byte) []byte { return make([]byte, 4096) },
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			s, err := Open(dir, nil)
			require.NoError(t, err)
			putN(t, s, 0, 3)
			require.NoError(t, s.Close())
			segs := segFiles(t, dir)
			require.Len(t, segs, 1)
			before, err := os.ReadFile(segs[0])
			require.NoError(t, err)
			g, err := encodeGroup(nil, 1, int64(len(before)), sampleOps()[1:], jbase)
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(segs[0], append(bytes.Clone(before), tail(g)...), 0o640))

			var logs bytes.Buffer
			s, err = Open(dir, &Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
			require.NoError(t, err)
			after, err := os.ReadFile(segs[0])
			require.NoError(t, err)
			assert.Equal(t, before, after, "the torn tail is cut off")
			assert.Contains(t, logs.String(), "crash interrupted")
			wantN(t, s, 0, 3)
			putN(t, s, 3, 5)
			require.NoError(t, s.Close())
			s, err = Open(dir, nil)
			require.NoError(t, err)
			defer s.Close()
			wantN(t, s, 0, 5)
		})
	}
}

// An index that lost its last commits (synchronous=NORMAL on a power cut)
// catches up from the journal at Open: writes and deletes alike.
func TestIndexCatchesUpFromJournal(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, nil)
	require.NoError(t, err)
	putN(t, s, 0, 3)
	require.NoError(t, s.Close())
	old, err := os.ReadFile(filepath.Join(dir, indexFile))
	require.NoError(t, err)

	s, err = Open(dir, nil)
	require.NoError(t, err)
	putN(t, s, 3, 6)
	require.NoError(t, s.Delete(ctx, storage.Key{Site: "shop", Session: "sess-0001"}))
	require.NoError(t, s.Close())
	restoreIndex(t, dir, old)

	s, err = Open(dir, nil)
	require.NoError(t, err)
	defer s.Close()
	wantN(t, s, 2, 6)
	wantN(t, s, 0, 1)
	_, err = s.Session(ctx, storage.Key{Site: "shop", Session: "sess-0001"})
	assert.ErrorIs(t, err, storage.ErrNotFound, "the delete is replayed too")
}

// Delete leaves no readable byte of the session on disk, and a segment
// left without a live record is removed.
func TestDeleteErasesRecords(t *testing.T) {
	defer func(n int64) { maxSegBytes = n }(maxSegBytes)
	maxSegBytes = 1024
	dir := t.TempDir()
	s, err := Open(dir, nil)
	require.NoError(t, err)
	defer s.Close()
	putN(t, s, 0, 20)
	segs := segFiles(t, dir)
	require.Greater(t, len(segs), 3)
	first, err := os.ReadFile(segs[0])
	require.NoError(t, err)
	require.True(t, bytes.Contains(readable(first), []byte("user-of-sess-0000")))

	gone := storage.Key{Site: "shop", Session: "sess-0010"}
	require.NoError(t, s.Delete(ctx, gone))
	all := segBytes(t, dir)
	assert.False(t, bytes.Contains(all, []byte("secret events of sess-0010")), "the chunk is erased")
	assert.False(t, bytes.Contains(all, []byte("user-of-sess-0010")), "the metadata is erased")
	assert.True(t, bytes.Contains(all, []byte("user-of-sess-0011")))

	// Delete the sessions of the first segment: it goes.
	for i := range 20 {
		if i != 10 {
			require.NoError(t, s.Delete(ctx, storage.Key{Site: "shop", Session: fmt.Sprintf("sess-%04d", i)}))
		}
	}
	_, err = os.Stat(segs[0])
	assert.True(t, os.IsNotExist(err), "a segment without live records is removed")
	assert.Len(t, segFiles(t, dir), 1, "only the segment appended to stays")
	assert.Zero(t, countRows(t, s, "erasing"))
	assert.Zero(t, countRows(t, s, "recs"))
	assert.Zero(t, countRows(t, s, "chunks"))
}

// A crash in the middle of erasing leaves records whose checksum fails;
// the delete record that follows them tells Open they were erased, so a
// rebuilt index neither reports damage nor brings the session back.
func TestRebuildAfterCrashMidErase(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, nil)
	require.NoError(t, err)
	putN(t, s, 0, 3)
	gone := storage.Key{Site: "shop", Session: "sess-0001"}
	exts, err := s.extentsOf(ctx, gone)
	require.NoError(t, err)
	require.NoError(t, s.Delete(ctx, gone))
	require.NoError(t, s.Close())
	segs := segFiles(t, dir)
	b, err := os.ReadFile(segs[0])
	require.NoError(t, err)
	for _, e := range exts {
		copy(b[e.off+recHeader:], "half erased") // what a torn overwrite leaves
	}
	require.NoError(t, os.WriteFile(segs[0], b, 0o640))
	removeIndex(dir)

	var logs bytes.Buffer
	s, err = Open(dir, &Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	require.NoError(t, err)
	defer s.Close()
	assert.NotContains(t, logs.String(), "damaged")
	assert.NotContains(t, logs.String(), "crash interrupted")
	wantN(t, s, 0, 1)
	wantN(t, s, 2, 3)
	_, err = s.Session(ctx, gone)
	assert.ErrorIs(t, err, storage.ErrNotFound)
	assert.False(t, bytes.Contains(segBytes(t, dir), []byte("half erased")), "Open erases them again")
}

// References recorded by a plain RefAssets are in the journal too: an
// index that lost them gets them back.
func TestRefAssetsReplayed(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, nil)
	require.NoError(t, err)
	a, b := storage.Key{Site: "shop", Session: "sess-000a"}, storage.Key{Site: "shop", Session: "sess-000b"}
	require.NoError(t, s.PutAsset(ctx, a, hashN(1), []byte("shared")))
	require.NoError(t, s.Close())
	old, err := os.ReadFile(filepath.Join(dir, indexFile))
	require.NoError(t, err)

	s, err = Open(dir, nil)
	require.NoError(t, err)
	missing, err := s.RefAssets(ctx, b, []string{hashN(1)})
	require.NoError(t, err)
	require.Empty(t, missing)
	require.NoError(t, s.Close())
	restoreIndex(t, dir, old)

	s, err = Open(dir, nil)
	require.NoError(t, err)
	defer s.Close()
	require.NoError(t, s.Delete(ctx, a))
	got, err := s.Asset(ctx, "shop", hashN(1))
	require.NoError(t, err, "b's reference, replayed, holds the asset")
	assert.Equal(t, "shared", string(got))
}

// Commits that arrive while another syncs share the next sync: one round
// writes, syncs and applies them all.
func TestGroupCommitSharesOneSync(t *testing.T) {
	s, err := Open(t.TempDir(), nil)
	require.NoError(t, err)
	defer s.Close()
	const others = 7
	release := make(chan struct{})
	var rounds []int
	roundHook = func(n int) {
		rounds = append(rounds, n) // only the leader calls it
		if len(rounds) == 1 {
			<-release
		}
	}
	defer func() { roundHook = nil }()
	done := make(chan error, others+1)
	go func() { done <- s.PutSession(ctx, storage.Session{ID: "sess-lead", Site: "shop"}) }()
	queued := func() int {
		s.jw.mu.Lock()
		defer s.jw.mu.Unlock()
		if !s.jw.leading {
			return -1
		}
		return len(s.jw.queue)
	}
	for queued() != 0 { // the leader took its own group and waits in the hook
		runtime.Gosched()
	}
	for i := range others {
		go func() { done <- s.PutSession(ctx, storage.Session{ID: fmt.Sprintf("sess-%04d", i), Site: "shop"}) }()
	}
	for queued() != others {
		runtime.Gosched()
	}
	close(release)
	for range others + 1 {
		require.NoError(t, <-done)
	}
	assert.Equal(t, []int{1, others}, rounds, "the groups that queued meanwhile share one round")
	for i := range others {
		_, err := s.Session(ctx, storage.Key{Site: "shop", Session: fmt.Sprintf("sess-%04d", i)})
		assert.NoError(t, err)
	}
}
