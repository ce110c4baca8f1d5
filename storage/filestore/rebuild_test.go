package filestore_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sessionreplay/replay/storage"
	"github.com/sessionreplay/replay/storage/filestore"
)

// A lost index (index.db, -wal and -shm removed) is rebuilt from the
// journal: every session's metadata reads back deep-equal, facts
// included, and its chunks identical; deleted sessions stay deleted.
func TestRebuildFromJournal(t *testing.T) {
	dir := t.TempDir()
	s, err := filestore.Open(dir, nil)
	require.NoError(t, err)
	var (
		want   []storage.Session
		chunkz = map[storage.Key][]storage.Chunk{}
	)
	for i := range 40 {
		k := storage.Key{Site: []string{"shop", "blog"}[i%2], Session: fmt.Sprintf("sess-%04d", i)}
		var sess storage.Session
		for b := range 1 + i%4 {
			c := storage.Chunk{Window: fmt.Sprintf("w%d", b/2), Seq: b % 2, Events: b + 1, Data: []byte(fmt.Sprintf("events %d of %s", b, k.Session))}
			sess = storage.Session{
				ID: k.Session, Site: k.Site, State: storage.StatePending, Start: base.Add(time.Duration(i) * time.Minute),
				End: base.Add(time.Duration(i)*time.Minute + time.Duration(b)*time.Second), DurationMs: int64(b) * 1000,
				Pages: []string{"https://shop.example/", fmt.Sprintf("https://shop.example/p%d", b)}, EntryURL: "https://shop.example/",
				Device: "mobile", OS: "iOS", Browser: "Safari", Viewport: storage.Viewport{W: 390, H: 844},
				Errors: i % 3, ErrorMessages: []string{"boom"}, Events: map[string]int{"signup": b + 1}, Clicks: b,
				WindowIDs: []string{"w0", "w1"}[:1+b/2], EventCount: 10 * (b + 1), Bytes: int64(b) * 100, StoredBytes: int64(b) * 10,
				Attrs: map[string]string{"userId": fmt.Sprintf("u%d", i)}, FirstSeen: base, LastSeen: base.Add(time.Duration(b) * time.Second),
				MatchedRules: []string{"all"}, Opaque: []byte{byte(i), byte(b)},
			}
			if b == 3 {
				sess.State, sess.Ended = storage.StateKept, true
			}
			write := func(st storage.Store) error {
				if err := st.Append(ctx, k, c); err != nil {
					return err
				}
				return st.PutSession(ctx, sess)
			}
			if i%5 == 0 {
				require.NoError(t, write(s)) // plain calls
			} else {
				require.NoError(t, s.LockSession(ctx, k, write))
			}
			chunkz[k] = append(chunkz[k], c)
		}
		want = append(want, sess)
	}
	deleted := storage.Key{Site: "shop", Session: "sess-0002"}
	require.NoError(t, s.Delete(ctx, deleted))
	require.NoError(t, s.Close())
	removeIndex(t, dir)

	s = open(t, dir, nil)
	for _, w := range want {
		k := storage.Key{Site: w.Site, Session: w.ID}
		got, err := s.Session(ctx, k)
		if k == deleted {
			assert.ErrorIs(t, err, storage.ErrNotFound, "a deleted session stays deleted")
			assert.Empty(t, chunks(t, s, k))
			continue
		}
		require.NoError(t, err, k)
		assert.Equal(t, w, got, k)
		assert.Equal(t, chunkz[k], chunks(t, s, k), k)
	}
	page, err := s.List(ctx, storage.Query{Site: "shop", User: "u4", State: storage.FilterAll})
	require.NoError(t, err)
	require.Len(t, page.Sessions, 1, "the rebuilt index serves the filters")
	assert.Empty(t, orphans(t, s), "no session comes back as an orphan")
}
