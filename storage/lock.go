package storage

import "context"

// SessionLocker is implemented by a [Store] that can serialise the writes
// of one session across every process that shares it, the way
// database/sql/driver's optional interfaces extend a driver: callers detect
// it with a type assertion and fall back without it (see [LockSession]).
//
// Package replay runs each batch and each delete of a session inside
// LockSession, so that Recorders in any number of processes can share the
// store with no session affinity: two batches of one session never
// interleave, a batch that waited for a delete sees its tombstone (no
// resurrection), and a batch whose write failed leaves nothing behind, so
// its retry is stored once.
//
// The conformance suite in package storetest checks these rules with
// concurrent writers when the store implements SessionLocker.
type SessionLocker interface {
	Store

	// LockSession calls fn while holding the lock of key: no other
	// LockSession of the same key, on this Store or on any other Store
	// value sharing its data (in this process or another), runs its fn at
	// the same time, and Delete of key waits for it. fn reads and writes
	// through st, a view of the store valid only during the call: what fn
	// writes through st is kept all together when fn returns nil and none
	// of it when fn returns an error (which LockSession returns, wrapped or
	// not) or panics. Reads through st see fn's own writes. Once fn
	// returned nil, its writes are kept even if ctx is cancelled
	// meanwhile. Locks of different keys do not wait for each other;
	// fn must not take another session's lock.
	LockSession(ctx context.Context, key Key, fn func(st Store) error) error
}

// LockSession runs fn under s's lock of key when s implements
// [SessionLocker], and otherwise calls fn(s) directly. The fallback
// serialises nothing by itself: the Recorder's in-process lock then
// serialises a session's batches within one process only, so a store
// without SessionLocker must not be shared by several processes.
func LockSession(ctx context.Context, s Store, key Key, fn func(st Store) error) error {
	if l, ok := s.(SessionLocker); ok {
		return l.LockSession(ctx, key, fn)
	}
	return fn(s)
}
