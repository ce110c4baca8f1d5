package filestore_test

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sessionreplay/replay/storage"
	"github.com/sessionreplay/replay/storage/filestore"
)

// legacyFixture is the content of testdata/v2store.tar.gz.
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

func TestGenerateLegacy(t *testing.T) {
	dir := os.Getenv("FILESTORE_GEN_V2")
	if dir == "" {
		t.Skip("generator")
	}
	f := legacyContent()
	s, err := filestore.Open(dir, nil)
	require.NoError(t, err)
	for _, sess := range f.sessions {
		require.NoError(t, s.PutSession(ctx, sess))
	}
	for k, cs := range f.chunks {
		for _, c := range cs {
			require.NoError(t, s.Append(ctx, k, c))
		}
	}
	require.NoError(t, s.PutAsset(ctx, f.asset.key, f.asset.hash, []byte(f.asset.data)))
	require.NoError(t, s.Close())
}
