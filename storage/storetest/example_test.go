package storetest_test

import (
	"fmt"

	"github.com/sessionreplay/replay/storage"
	"github.com/sessionreplay/replay/storage/memstore"
	"github.com/sessionreplay/replay/storage/storetest"
)

// TestStore checks a store outside package testing, for example from a
// command that validates a deployment's store. Each case gets a fresh store.
func ExampleTestStore() {
	err := storetest.TestStore(func() storage.Store { return memstore.New() })
	fmt.Println("violations:", err)
	// Output:
	// violations: <nil>
}
