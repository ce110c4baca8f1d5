package pgstore_test

import (
	"context"
	"fmt"
	"iter"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"gocloud.dev/blob/fileblob"
	"gocloud.dev/blob/memblob"

	"github.com/sessionreplay/replay/storage"
	"github.com/sessionreplay/replay/storage/storetest"
)

func TestConformance(t *testing.T) {
	needDB(t)
	storetest.Run(t, func(t *testing.T) storage.Store { return newStore(t, nil) })
}

func TestConformanceMemblob(t *testing.T) {
	needDB(t)
	storetest.Run(t, func(t *testing.T) storage.Store {
		b := memblob.OpenBucket(nil)
		t.Cleanup(func() { b.Close() })
		return newStore(t, b)
	})
}

func TestConformanceFileblob(t *testing.T) {
	needDB(t)
	storetest.Run(t, func(t *testing.T) storage.Store {
		b, err := fileblob.OpenBucket(t.TempDir(), nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { b.Close() })
		return newStore(t, b)
	})
}

// A reader may pull the chunks of many windows at once (the Recorder's
// Events merges windows): that holds no connection per open iterator, so
// it works with a pool smaller than the number of windows.
func TestManyOpenChunkIterators(t *testing.T) {
	needDB(t)
	schema := newSchema(t)
	s := openStoreDSN(t, testDSN+"&pool_max_conns=2", schema)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute) // a store that holds connections would wait here forever
	defer cancel()
	key := storage.Key{Site: "shop", Session: "sess-0001"}
	const windows = 12
	for w := range windows {
		for seq := range 3 {
			require.NoError(t, s.Append(ctx, key, storage.Chunk{Window: fmt.Sprintf("w%02d", w), Seq: seq, Data: []byte{byte(w), byte(seq)}}))
		}
	}
	var nexts []func() (storage.Chunk, error, bool)
	for w := range windows {
		next, stop := iter.Pull2(s.Chunks(ctx, key, fmt.Sprintf("w%02d", w)))
		defer stop()
		nexts = append(nexts, next)
	}
	for seq := range 3 {
		for w, next := range nexts {
			c, err, ok := next()
			require.True(t, ok)
			require.NoError(t, err)
			assert.Equal(t, []byte{byte(w), byte(seq)}, c.Data)
		}
	}
}
