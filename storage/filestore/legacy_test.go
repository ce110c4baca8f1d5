package filestore_test

import (
	"archive/tar"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sessionreplay/replay/storage"
	"github.com/sessionreplay/replay/storage/filestore"
)

// testdata/v2store.tar.gz is a directory written by filestore before the
// journal (index version 2, a file per chunk under sites/), holding what
// legacyContent describes: sessions with chunks, a tombstone, a session
// with chunks and no metadata, and an asset. It was made with filestore as
// of commit e16bbd1: Open, PutSession of each session, Append of each
// chunk, PutAsset, Close.

type legacyFixture struct {
	sessions []storage.Session
	chunks   map[storage.Key][]storage.Chunk
	orphan   storage.Key // chunks, no metadata
	asset    struct {
		key        storage.Key
		hash, data string
	}
}

func legacyContent() legacyFixture {
	f := legacyFixture{chunks: map[storage.Key][]storage.Chunk{}}
	for i := range 3 {
		s := session("shop", fmt.Sprintf("Legacy_%04d", i), base.Add(time.Duration(i)*time.Minute))
		s.Events = map[string]int{"signup": i + 1}
		s.WindowIDs = []string{"w1"}
		s.EventCount = 10 * i
		f.sessions = append(f.sessions, s)
		k := storage.Key{Site: s.Site, Session: s.ID}
		for seq := range i + 1 {
			f.chunks[k] = append(f.chunks[k], storage.Chunk{Window: "w1", Seq: seq, Events: seq + 1, Data: []byte(fmt.Sprintf("chunk %d of %s", seq, s.ID))})
		}
	}
	tomb := storage.Session{ID: "dropped-0001", Site: "shop", State: storage.StateDropped, Ended: true, FirstSeen: base, LastSeen: base}
	f.sessions = append(f.sessions, tomb)
	f.orphan = storage.Key{Site: "blog", Session: "orphan-0001"}
	f.chunks[f.orphan] = []storage.Chunk{{Window: "W2", Seq: 3, Events: 1, Data: []byte("orphan chunk")}}
	f.asset.key = storage.Key{Site: "shop", Session: "Legacy_0000"}
	f.asset.hash = "0123456789abcdef0123"
	f.asset.data = "body { color: red }"
	return f
}

// untar extracts a .tar.gz into dir.
func untar(t *testing.T, archive, dir string) {
	t.Helper()
	f, err := os.Open(archive)
	require.NoError(t, err)
	defer f.Close()
	gz, err := gzip.NewReader(f)
	require.NoError(t, err)
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return
		}
		require.NoError(t, err)
		p := filepath.Join(dir, filepath.FromSlash(h.Name))
		switch h.Typeflag {
		case tar.TypeDir:
			require.NoError(t, os.MkdirAll(p, 0o750))
		case tar.TypeReg:
			b, err := io.ReadAll(tr)
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(p, b, 0o640))
		}
	}
}

// A store of the format before the journal opens with everything it held:
// its chunk files move into the journal, with each session's metadata, so
// that from then on the journal alone rebuilds the index.
func TestOpenMigratesChunkFiles(t *testing.T) {
	dir := t.TempDir()
	untar(t, filepath.Join("testdata", "v2store.tar.gz"), dir)
	f := legacyContent()
	check := func(s *filestore.Store, orphan bool) {
		t.Helper()
		for _, want := range f.sessions {
			got, err := s.Session(ctx, storage.Key{Site: want.Site, Session: want.ID})
			require.NoError(t, err)
			assert.Equal(t, want, got)
		}
		for k, want := range f.chunks {
			assert.Equal(t, want, chunks(t, s, k), k)
		}
		page, err := s.Due(ctx, storage.DueQuery{Site: "blog", Kind: storage.DueOrphaned, Before: time.Now().Add(time.Hour)})
		require.NoError(t, err)
		if orphan {
			assert.Equal(t, []storage.Key{f.orphan}, page.Keys, "chunks without metadata stay an orphan")
		}
		got, err := s.Asset(ctx, "shop", f.asset.hash)
		require.NoError(t, err)
		assert.Equal(t, f.asset.data, string(got))
	}

	s := open(t, dir, nil)
	check(s, true)
	entries, err := os.ReadDir(filepath.Join(dir, "sites"))
	require.NoError(t, err)
	assert.Empty(t, entries, "the chunk files are gone")
	require.NoError(t, s.Close())

	s = open(t, dir, nil)
	check(s, true)
	require.NoError(t, s.Close())

	removeIndex(t, dir)
	s = open(t, dir, nil)
	check(s, true)
}
