package filestore_test

import (
	"testing"

	"github.com/sessionreplay/replay/storage"
	"github.com/sessionreplay/replay/storage/filestore"
	"github.com/sessionreplay/replay/storage/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storage.Store {
		s, err := filestore.Open(t.TempDir(), nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}
