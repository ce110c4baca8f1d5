package filestore_test

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sessionreplay/replay/storage"
	"github.com/sessionreplay/replay/storage/filestore"
)

// orphans returns the keys Due reports as orphaned on site shop.
func orphans(t *testing.T, s *filestore.Store) []storage.Key {
	t.Helper()
	page, err := s.Due(ctx, storage.DueQuery{Site: "shop", Kind: storage.DueOrphaned, Before: time.Now().Add(time.Hour)})
	require.NoError(t, err)
	return page.Keys
}

func removeIndex(t *testing.T, dir string) {
	t.Helper()
	for _, ext := range []string{"", "-wal", "-shm"} {
		err := os.Remove(filepath.Join(dir, "index.db"+ext))
		if !os.IsNotExist(err) {
			require.NoError(t, err)
		}
	}
}

// A directory of the format before the index (a session.json per session)
// opens: its metadata moves into the index and the files go.
func TestOpenMigratesTheOldFormat(t *testing.T) {
	dir := t.TempDir()
	s, err := filestore.Open(dir, nil)
	require.NoError(t, err)
	torn := storage.Key{Site: "shop", Session: "torn-0001"}
	for _, k := range []storage.Key{key, {Site: "shop", Session: "chunks-only"}, torn} {
		require.NoError(t, s.Append(ctx, k, storage.Chunk{Window: "w1", Events: 1, Data: []byte("events of " + k.Session)}))
	}
	require.NoError(t, s.Close())
	removeIndex(t, dir)
	sessDir := filepath.Join(dir, "sites", "shop", "sess-0001")
	require.NoError(t, os.WriteFile(filepath.Join(sessDir, "session.json"),
		[]byte(`{"v":1,"session":{"id":"sess-0001","site":"shop","state":"kept","start":"2026-03-01T12:00:00Z","pages":["https://shop.example/"],"events":{"signup":1},"attrs":{"userId":"u1"}},"opaque":"AAEC"}`), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(sessDir, ".tmp-OLD"), []byte("half"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "sites", "shop", "torn-0001", "session.json"), []byte(`{"v":1,"sess`), 0o600))

	var logs bytes.Buffer
	s = open(t, dir, &filestore.Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	got, err := s.Session(ctx, key)
	require.NoError(t, err)
	assert.Equal(t, []byte{0, 1, 2}, got.Opaque)
	assert.Equal(t, "u1", got.Attrs["userId"])
	page, err := s.List(ctx, storage.Query{Site: "shop", Event: "signup"})
	require.NoError(t, err)
	require.Len(t, page.Sessions, 1, "the migrated session is indexed")
	assert.Equal(t, "sess-0001", page.Sessions[0].ID)
	assert.Len(t, chunks(t, s, key), 1)
	entries, err := os.ReadDir(sessDir)
	require.NoError(t, err)
	require.Len(t, entries, 1, "session.json and the temp file are gone")
	assert.Contains(t, logs.String(), "torn-0001", "the unreadable session.json is logged")
	assert.ElementsMatch(t, []storage.Key{{Site: "shop", Session: "chunks-only"}, torn}, orphans(t, s),
		"chunks without readable metadata are orphans, expired by retention")
}

// A damaged index is moved aside and rebuilt from the files: chunks are
// kept and listed as orphans; the store works again.
func TestOpenRebuildsADamagedIndex(t *testing.T) {
	dir := t.TempDir()
	s, err := filestore.Open(dir, nil)
	require.NoError(t, err)
	require.NoError(t, s.PutSession(ctx, session("shop", "sess-0001", base)))
	require.NoError(t, s.Append(ctx, key, storage.Chunk{Window: "w1", Data: []byte("x")}))
	require.NoError(t, s.Close())
	removeIndex(t, dir)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "index.db"), bytes.Repeat([]byte("not a database "), 1000), 0o600))

	var logs bytes.Buffer
	s = open(t, dir, &filestore.Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	assert.Contains(t, logs.String(), "damaged")
	matches, err := filepath.Glob(filepath.Join(dir, "index.db.damaged-*"))
	require.NoError(t, err)
	assert.Len(t, matches, 1, "the damaged index is kept aside")
	assert.Equal(t, []storage.Key{key}, orphans(t, s))
	assert.Len(t, chunks(t, s, key), 1)
	require.NoError(t, s.PutSession(ctx, session("shop", "sess-0001", base)))
	assert.Empty(t, orphans(t, s), "a session with metadata is no orphan")
}

// A lost index is rebuilt the same way.
func TestOpenRebuildsALostIndex(t *testing.T) {
	dir := t.TempDir()
	s, err := filestore.Open(dir, nil)
	require.NoError(t, err)
	require.NoError(t, s.Append(ctx, key, storage.Chunk{Window: "w1", Data: []byte("x")}))
	require.NoError(t, s.Close())
	removeIndex(t, dir)
	s = open(t, dir, nil)
	assert.Equal(t, []storage.Key{key}, orphans(t, s))
}
