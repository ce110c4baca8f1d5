package filestore_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sessionreplay/replay/storage"
	"github.com/sessionreplay/replay/storage/filestore"
)

func open(t *testing.T, dir string, opts *filestore.Options) *filestore.Store {
	t.Helper()
	s, err := filestore.Open(dir, opts)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

func session(site, id string, start time.Time) storage.Session {
	return storage.Session{
		ID: id, Site: site, State: storage.StateKept, Start: start,
		Pages:  []string{"https://shop.example/"},
		Events: map[string]int{"signup": 1},
		Attrs:  map[string]string{"userId": "u1"},
		Opaque: []byte{0, 1, 2},
	}
}

func chunks(t *testing.T, s storage.Store, key storage.Key) []storage.Chunk {
	t.Helper()
	var out []storage.Chunk
	for c, err := range s.Chunks(t.Context(), key, "") {
		require.NoError(t, err)
		out = append(out, c)
	}
	return out
}

var (
	ctx  = context.Background()
	base = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	key  = storage.Key{Site: "shop", Session: "sess-0001"}
)

func TestReopenSeesEverything(t *testing.T) {
	dir := t.TempDir()
	s, err := filestore.Open(dir, nil)
	require.NoError(t, err)
	want := session("shop", "sess-0001", base)
	require.NoError(t, s.PutSession(ctx, want))
	require.NoError(t, s.PutSession(ctx, session("blog", "Sess_Upper", base.Add(time.Minute))))
	require.NoError(t, s.Append(ctx, key, storage.Chunk{Window: "w1", Seq: 0, Events: 2, Data: []byte("zstd bytes")}))
	require.NoError(t, s.Append(ctx, key, storage.Chunk{Window: "W1", Seq: 10, Events: 1, Data: []byte("other window")}))
	require.NoError(t, s.Close())

	s = open(t, dir, nil)
	got, err := s.Session(ctx, key)
	require.NoError(t, err)
	assert.True(t, got.Start.Equal(want.Start))
	got.Start = want.Start
	assert.Equal(t, want, got)

	page, err := s.List(ctx, storage.Query{})
	require.NoError(t, err)
	require.Len(t, page.Sessions, 2)
	assert.Equal(t, "Sess_Upper", page.Sessions[0].ID, "ids survive their encoding as file names")

	assert.Equal(t, []storage.Chunk{
		{Window: "W1", Seq: 10, Events: 1, Data: []byte("other window")},
		{Window: "w1", Seq: 0, Events: 2, Data: []byte("zstd bytes")},
	}, chunks(t, s, key), "W1 and w1 are different windows, even on a case-insensitive file system")

	err = s.Append(ctx, key, storage.Chunk{Window: "w1", Seq: 0, Data: []byte("again")})
	assert.ErrorIs(t, err, storage.ErrExists, "idempotency survives a restart")
}

func TestOneStorePerDirectory(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, nil)
	_, err := filestore.Open(dir, nil)
	require.ErrorIs(t, err, storage.ErrUnavailable)
	require.NoError(t, s.Close())
	require.NoError(t, s.Close(), "Close twice")
	open(t, dir, nil)
}

func TestClosed(t *testing.T) {
	s := open(t, t.TempDir(), nil)
	require.NoError(t, s.Close())
	assert.ErrorIs(t, s.Append(ctx, key, storage.Chunk{Window: "w1"}), storage.ErrClosed)
	assert.ErrorIs(t, s.PutSession(ctx, session("shop", "sess-0001", base)), storage.ErrClosed)
	_, err := s.Session(ctx, key)
	assert.ErrorIs(t, err, storage.ErrClosed)
	_, err = s.List(ctx, storage.Query{})
	assert.ErrorIs(t, err, storage.ErrClosed)
	assert.ErrorIs(t, s.Delete(ctx, key), storage.ErrClosed)
	for _, err := range s.Chunks(ctx, key, "") {
		assert.ErrorIs(t, err, storage.ErrClosed)
	}
}

func TestRefusesKeysOutsideRoot(t *testing.T) {
	bad := []string{"", "..", "../x", "a/b", "a\\b", ".", ".tmp-x", "a.b", "é", strings.Repeat("a", 65), "a\x00b"}
	s := open(t, t.TempDir(), nil)
	for _, id := range bad {
		t.Run(id, func(t *testing.T) {
			assert.ErrorIs(t, s.Append(ctx, storage.Key{Site: id, Session: "sess-0001"}, storage.Chunk{Window: "w1"}), storage.ErrInvalidKey)
			assert.ErrorIs(t, s.Append(ctx, storage.Key{Site: "shop", Session: id}, storage.Chunk{Window: "w1"}), storage.ErrInvalidKey)
			if id != "" { // "" is every window for Chunks
				assert.ErrorIs(t, s.Append(ctx, key, storage.Chunk{Window: id}), storage.ErrInvalidKey)
				for _, err := range s.Chunks(ctx, key, id) {
					assert.ErrorIs(t, err, storage.ErrInvalidKey)
				}
			}
			assert.ErrorIs(t, s.PutSession(ctx, session(id, "sess-0001", base)), storage.ErrInvalidKey)
			assert.ErrorIs(t, s.PutSession(ctx, session("shop", id, base)), storage.ErrInvalidKey)
			_, err := s.Session(ctx, storage.Key{Site: "shop", Session: id})
			assert.ErrorIs(t, err, storage.ErrInvalidKey)
			assert.ErrorIs(t, s.Delete(ctx, storage.Key{Site: id, Session: "sess-0001"}), storage.ErrInvalidKey)
		})
	}
	assert.ErrorIs(t, s.Append(ctx, key, storage.Chunk{Window: "w1", Seq: -1}), storage.ErrInvalidKey)
}

func TestSymlinkOutOfRootIsNotFollowed(t *testing.T) {
	dir, outside := t.TempDir(), t.TempDir()
	require.NoError(t, os.Symlink(outside, filepath.Join(dir, "journal")))

	_, err := filestore.Open(dir, nil)
	require.Error(t, err)
	entries, err := os.ReadDir(outside)
	require.NoError(t, err)
	assert.Empty(t, entries, "nothing is written through a symlink that leaves the root")
}

func TestOpenCleansUpAfterACrash(t *testing.T) {
	dir := t.TempDir()
	s, err := filestore.Open(dir, nil)
	require.NoError(t, err)
	require.NoError(t, s.PutSession(ctx, session("shop", "sess-0001", base)))
	require.NoError(t, s.Append(ctx, key, storage.Chunk{Window: "w1", Data: []byte("kept")}))
	require.NoError(t, s.Close())

	// What a crash leaves: temp files of appends in flight and a deleted
	// session still in the trash.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "tmp", ".tmp-CRASHED1"), []byte("half a chunk"), 0o600))
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "trash", "DELETED", "deep"), 0o700))

	s = open(t, dir, nil)
	for _, d := range []string{"tmp", "trash"} {
		entries, err := os.ReadDir(filepath.Join(dir, d))
		require.NoError(t, err)
		assert.Empty(t, entries, d)
	}
	assert.Len(t, chunks(t, s, key), 1)
	_, err = s.Session(ctx, key)
	assert.NoError(t, err)
}

// A damaged chunk is an error when it is read; the other chunks and the
// metadata are untouched.
func TestDamagedChunk(t *testing.T) {
	dir := t.TempDir()
	s, err := filestore.Open(dir, nil)
	require.NoError(t, err)
	require.NoError(t, s.PutSession(ctx, session("shop", "sess-0001", base)))
	require.NoError(t, s.Append(ctx, key, storage.Chunk{Window: "w1", Data: []byte("some compressed events")}))
	require.NoError(t, s.Close())

	segs, err := filepath.Glob(filepath.Join(dir, "journal", "*.log"))
	require.NoError(t, err)
	require.Len(t, segs, 1)
	b, err := os.ReadFile(segs[0])
	require.NoError(t, err)
	at := bytes.Index(b, []byte("some compressed events"))
	require.Positive(t, at)
	b[at] ^= 1
	require.NoError(t, os.WriteFile(segs[0], b, 0o600))

	s = open(t, dir, nil)
	_, err = s.Session(ctx, key)
	assert.NoError(t, err)
	var errs []error
	for _, err := range s.Chunks(ctx, key, "") {
		errs = append(errs, err)
	}
	require.Len(t, errs, 1)
	assert.ErrorContains(t, errs[0], "checksum mismatch")
}

func TestDeleteThenReopen(t *testing.T) {
	dir := t.TempDir()
	s, err := filestore.Open(dir, nil)
	require.NoError(t, err)
	require.NoError(t, s.PutSession(ctx, session("shop", "sess-0001", base)))
	require.NoError(t, s.Append(ctx, key, storage.Chunk{Window: "w1", Data: []byte("x")}))
	require.NoError(t, s.Delete(ctx, key))
	require.NoError(t, s.Close())

	s = open(t, dir, nil)
	_, err = s.Session(ctx, key)
	assert.ErrorIs(t, err, storage.ErrNotFound)
	assert.Empty(t, chunks(t, s, key))
}

// TestFullDisk fills a small file system. It runs when FILESTORE_SMALL_DIR
// names an empty directory on one, for example after
//
//	mount -t tmpfs -o size=4m tmpfs /tmp/small
func TestFullDisk(t *testing.T) {
	dir := os.Getenv("FILESTORE_SMALL_DIR")
	if dir == "" {
		t.Skip("set FILESTORE_SMALL_DIR to a directory on a small file system")
	}
	s := open(t, dir, nil)
	data := bytes.Repeat([]byte("x"), 16<<10)
	var err error
	seq := 0
	for ; seq < 10_000; seq++ {
		if err = s.Append(ctx, key, storage.Chunk{Window: "w1", Seq: seq, Data: data}); err != nil {
			break
		}
	}
	require.ErrorIs(t, err, storage.ErrFull)
	t.Logf("full after %d chunks: %v", seq, err)

	got := chunks(t, s, key)
	assert.Len(t, got, seq, "every acknowledged chunk is stored, the failed one is not")
	for _, c := range got {
		assert.Equal(t, data, c.Data)
	}
	require.NoError(t, s.Close())
	s = open(t, dir, nil)
	assert.GreaterOrEqual(t, len(chunks(t, s, key)), seq, "what was acknowledged survives a reopen")
	// Delete works on a full disk (with the room of the file RESERVE); the
	// space of a deleted session comes back when its segment empties.
	require.NoError(t, s.Delete(ctx, key))
	assert.Empty(t, chunks(t, s, key))
}

// TestFullDiskAssets fills a small file system with assets (see
// TestFullDisk): the PutAsset that finds no room returns ErrFull and
// records nothing, leaves no file behind, and every acknowledged asset
// reads back.
func TestFullDiskAssets(t *testing.T) {
	dir := os.Getenv("FILESTORE_SMALL_DIR")
	if dir == "" {
		t.Skip("set FILESTORE_SMALL_DIR to a directory on a small file system")
	}
	s := open(t, dir, nil)
	data := bytes.Repeat([]byte("y"), 16<<10)
	hash := func(i int) string { return fmt.Sprintf("%016x", i) }
	var err error
	n := 0
	for ; n < 10_000; n++ {
		if err = s.PutAsset(ctx, key, hash(n), data); err != nil {
			break
		}
	}
	require.ErrorIs(t, err, storage.ErrFull)
	t.Logf("full after %d assets: %v", n, err)
	_, err = s.Asset(ctx, key.Site, hash(n))
	require.ErrorIs(t, err, storage.ErrNotFound, "the failed PutAsset recorded nothing")
	missing, err := s.RefAssets(ctx, key, []string{hash(n)})
	require.NoError(t, err)
	assert.Equal(t, []string{hash(n)}, missing)
	for i := range n {
		got, err := s.Asset(ctx, key.Site, hash(i))
		require.NoError(t, err)
		assert.Equal(t, data, got)
	}
}
