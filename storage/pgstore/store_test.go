package pgstore_test

import (
	"testing"

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
