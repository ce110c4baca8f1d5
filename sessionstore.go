package replay

import (
	"context"

	"github.com/sessionreplay/replay/storage"
)

// lockedStoreKey is the context key under which a Recorder passes the
// store view of a [storage.SessionLocker.LockSession] to the calls it
// makes under that lock.
type lockedStoreKey struct{}

// withStore returns ctx carrying st, the view of the store that the
// Recorder's calls under a session lock read and write through.
func withStore(ctx context.Context, st storage.Store) context.Context {
	return context.WithValue(ctx, lockedStoreKey{}, st)
}

// storeOf returns the store to use under ctx: the locked view that
// withStore put there, else the Recorder's store.
func (r *Recorder) storeOf(ctx context.Context) storage.Store {
	if st, ok := ctx.Value(lockedStoreKey{}).(storage.Store); ok {
		return st
	}
	return r.store
}
