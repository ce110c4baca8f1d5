package filestore_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
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

// writeChunkFile writes a chunk file of the format before the journal.
func writeChunkFile(t *testing.T, dir string, k storage.Key, window string, seq int, data string) {
	t.Helper()
	sessDir := filepath.Join(dir, "sites", k.Site, k.Session)
	require.NoError(t, os.MkdirAll(sessDir, 0o750))
	b := []byte("RPC1")
	b = binary.AppendUvarint(b, 1)
	b = binary.BigEndian.AppendUint32(b, crc32.Checksum([]byte(data), crc32.MakeTable(crc32.Castagnoli)))
	b = append(b, data...)
	require.NoError(t, os.WriteFile(filepath.Join(sessDir, fmt.Sprintf("%s.%d.chunk", window, seq)), b, 0o640))
}

// A directory of the format before the index (a session.json per session)
// opens: its metadata moves into the index, its chunks into the journal,
// and the files go.
func TestOpenMigratesTheOldFormat(t *testing.T) {
	dir := t.TempDir()
	torn := storage.Key{Site: "shop", Session: "torn-0001"}
	for _, k := range []storage.Key{key, {Site: "shop", Session: "chunks-only"}, torn} {
		writeChunkFile(t, dir, k, "w1", 0, "events of "+k.Session)
	}
	sessDir := filepath.Join(dir, "sites", "shop", "sess-0001")
	require.NoError(t, os.WriteFile(filepath.Join(sessDir, "session.json"),
		[]byte(`{"v":1,"session":{"id":"sess-0001","site":"shop","state":"kept","start":"2026-03-01T12:00:00Z","pages":["https://shop.example/"],"events":{"signup":1},"attrs":{"userId":"u1"}},"opaque":"AAEC"}`), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(sessDir, ".tmp-OLD"), []byte("half"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "sites", "shop", "torn-0001", "session.json"), []byte(`{"v":1,"sess`), 0o600))

	var logs bytes.Buffer
	s := open(t, dir, &filestore.Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	got, err := s.Session(ctx, key)
	require.NoError(t, err)
	assert.Equal(t, []byte{0, 1, 2}, got.Opaque)
	assert.Equal(t, "u1", got.Attrs["userId"])
	page, err := s.List(ctx, storage.Query{Site: "shop", Event: "signup"})
	require.NoError(t, err)
	require.Len(t, page.Sessions, 1, "the migrated session is indexed")
	assert.Equal(t, "sess-0001", page.Sessions[0].ID)
	assert.Equal(t, []storage.Chunk{{Window: "w1", Events: 1, Data: []byte("events of sess-0001")}}, chunks(t, s, key))
	_, err = os.Stat(sessDir)
	assert.True(t, os.IsNotExist(err), "the session's directory is gone: its chunks are in the journal")
	assert.Contains(t, logs.String(), "torn-0001", "the unreadable session.json is logged")
	assert.ElementsMatch(t, []storage.Key{{Site: "shop", Session: "chunks-only"}, torn}, orphans(t, s),
		"chunks without readable metadata are orphans, expired by retention")
}

// A damaged index is moved aside and rebuilt from the journal: sessions
// come back with their metadata and chunks; the store works again.
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
	assert.Empty(t, orphans(t, s), "the session comes back with its metadata")
	got, err := s.Session(ctx, key)
	require.NoError(t, err)
	assert.Equal(t, "u1", got.Attrs["userId"])
	assert.Len(t, chunks(t, s, key), 1)
	require.NoError(t, s.PutSession(ctx, session("shop", "sess-0001", base)))
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
