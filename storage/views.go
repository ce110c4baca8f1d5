package storage

import (
	"context"
	"time"
)

// View is one read of a session's recording through the read API: who read
// it (the principal the read API's authorizer named, "" when it names
// nobody) and when, on the server's clock. It is a plain value, safe to copy
// and share.
type View struct {
	Principal string    `json:"principal"`
	At        time.Time `json:"at"`
}

// MinViewsKept is the least number of views per session a [ViewLog] keeps:
// a store may drop the oldest views of a session beyond it, so that a
// session read in a loop does not grow without end.
const MinViewsKept = 100

// ViewLog is an optional interface of a [Store]: a store that implements it
// keeps who read each session ("who viewed this replay"). The read API of
// package transport records each read of a session's events through it.
// A store without it still works: the handler then keeps the log in its own
// memory (see package transport), where it is lost on restart.
//
// The views are part of the session: [Store.Delete] removes them with it.
// Methods may be called concurrently; values passed and returned are
// copies. The conformance suite (package storetest) checks these rules for
// stores that implement ViewLog.
type ViewLog interface {
	// AddView records a view of the session key. The session need not
	// have metadata yet. A store keeps at least the newest [MinViewsKept]
	// views of a session and may drop older ones.
	AddView(ctx context.Context, key Key, v View) error

	// Views returns the views of a session kept, oldest first (in the
	// order of AddView). A session without views, or not stored, has
	// none: an empty slice and no error.
	Views(ctx context.Context, key Key) ([]View, error)
}
