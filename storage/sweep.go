package storage

import (
	"context"
	"time"
)

// Sweeper is an optional interface of a [Store] for the Recorder's Sweep: it
// names only the sessions a sweep has to act on, from an index, so that the
// cost of a sweep follows the work to do and not the number of sessions
// stored. A store that keeps millions of sessions should implement it.
//
// Without it, Sweep falls back to [Store.List] with [FilterAny]: it pages
// through every stored session, tombstones included, on every run, which is
// fine for a few thousand sessions (memstore) and slow beyond.
//
// Sweeper's methods follow the rules of Store's: safe for concurrent use,
// ctx first, errors wrapping the sentinel errors. The conformance suite in
// package storetest checks them when the store implements the interface.
type Sweeper interface {
	// SweepSites returns the ids of the sites that have sessions or chunks
	// stored, in any order, each once. It may name a site whose data was
	// all deleted since.
	SweepSites(ctx context.Context) ([]string, error)

	// Due returns a page of the sessions of one site that a sweep has to
	// act on, as q selects them (see [DueKind]), and a cursor for the next
	// page when there may be more. Keys come in order of the time the kind
	// filters on, oldest first, then by session id. A cursor the store
	// cannot read is an error wrapping [ErrInvalidCursor].
	Due(ctx context.Context, q DueQuery) (DuePage, error)
}

// DueKind selects what [Sweeper.Due] returns. It is a plain value.
type DueKind int

// The kinds of sessions a sweep acts on. "Open" means Ended is false;
// tombstones (StateDropped) are never open.
const (
	// DueIdle: open sessions, not dropped, with LastSeen < Before. Sweep
	// ends them (idle timeout).
	DueIdle DueKind = iota + 1
	// DueLong: open sessions, not dropped, with FirstSeen < Before. Sweep
	// ends them (maximum duration).
	DueLong
	// DueUndecided: pending sessions with Ended true, whatever Before.
	// Sweep resolves their rules.
	DueUndecided
	// DueExpired: sessions in any state, tombstones included, with
	// LastSeen < Before. Sweep deletes them (retention).
	DueExpired
	// DueOrphaned: sessions that have chunks but no metadata (the session
	// record of their first batch was never written), whose first chunk the
	// store received before Before by its own clock. Sweep deletes them
	// (retention), so that no chunk is kept forever unlisted.
	DueOrphaned
)

// DueQuery is the question of [Sweeper.Due]. It is a plain value.
type DueQuery struct {
	Site   string    // required
	Kind   DueKind   // required
	Before time.Time // the bound of the kind's time; ignored by DueUndecided
	Limit  int       // 0 means 50, capped at 500, as Query.PageSize
	Cursor string    // from DuePage.Next; "" starts at the oldest
}

// PageSize is the number of keys a Due call returns at most for q, with
// the rule of [Query.PageSize].
func (q DueQuery) PageSize() int { return Query{Limit: q.Limit}.PageSize() }

// DuePage is one page of [Sweeper.Due]: the keys of the sessions to act on
// and a cursor for the next page, empty on the last. It belongs to the
// caller.
type DuePage struct {
	Keys []Key
	Next string
}
