package storetest_test

import (
	"context"
	"strings"
	"testing"

	"github.com/sessionreplay/replay/storage"
	"github.com/sessionreplay/replay/storage/memstore"
	"github.com/sessionreplay/replay/storage/storetest"
)

// noLock claims SessionLocker but neither locks nor rolls back.
type noLock struct{ *memstore.Store }

func (n noLock) LockSession(ctx context.Context, key storage.Key, fn func(st storage.Store) error) error {
	return fn(n.Store)
}

func TestSuiteCatchesBrokenLocker(t *testing.T) {
	err := storetest.TestStore(func() storage.Store { return noLock{memstore.New()} })
	if err == nil {
		t.Fatal("the suite passed a SessionLocker that neither locks nor rolls back")
	}
	for _, name := range []string{"LockSessionAtomic", "LockSessionDeleteWaits"} {
		if !strings.Contains(err.Error(), name+":") {
			t.Errorf("no violation of %s reported; got:\n%v", name, err)
		}
	}
}
