package storetest_test

import (
	"strings"
	"testing"

	"github.com/sessionreplay/replay/storage"
	"github.com/sessionreplay/replay/storage/storetest"
)

// brokenStore is a store that breaks rules of the suite, and the cases
// that must report it.
type brokenStore struct {
	name  string
	store func() storage.Store
	cases []string
}

// requireCaught runs the suite on each broken store and fails unless it
// reports a violation of each of the store's cases, naming the rule's
// line in file.
func requireCaught(t *testing.T, file string, stores []brokenStore) {
	t.Helper()
	for _, tt := range stores {
		t.Run(tt.name, func(t *testing.T) {
			err := storetest.TestStore(tt.store)
			if err == nil {
				t.Fatal("the suite passed a broken store")
			}
			for _, name := range tt.cases {
				if !strings.Contains(err.Error(), name+":") {
					t.Errorf("no violation of %s reported; got:\n%v", name, err)
				}
			}
			if !strings.Contains(err.Error(), file+":") {
				t.Errorf("violations do not name the rule's source line:\n%v", err)
			}
		})
	}
}
