// Package storetest checks that a [storage.Store] follows the rules of its
// documentation: idempotent appends, chunk order, the filters, order and
// pages of List, deletion, copies, concurrency and cancellation; for a
// store that implements [storage.SessionLocker], that its lock serialises
// concurrent writers, keeps a function's writes all or none, and makes
// Delete wait; and for a store that implements [storage.AssetStore], the
// asset rules (cases named Asset...; skipped for other stores).
//
// An adapter proves itself with one test:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) storage.Store {
//			return mystore.New(...) // a fresh, empty store
//		})
//	}
//
// and runs it with -race, since one case writes from many goroutines. Each
// rule is a subtest; a failure names the rule and the line of this package
// that states it. [TestStore] runs the same cases outside package testing.
//
// The suite needs a store to keep times to the millisecond at least (the
// precision of rrweb timestamps); it compares times with [time.Time.Equal]
// and treats nil and empty slices and maps as the same. It imports only the
// standard library.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"runtime"
	"slices"
	"testing"

	"github.com/sessionreplay/replay/storage"
)

// testCase is one rule of the storage contract.
type testCase struct {
	name        string // subtest name
	explanation string // the rule, with the file:line stating it
	// run exercises a fresh, empty store and reports violations to c.
	run func(ctx context.Context, c *checker, s storage.Store)
	// assets marks a rule of [storage.AssetStore]: it is skipped for a
	// store that does not implement it.
	assets bool
}

// Run runs every case of the suite as a subtest of t, each on a fresh store
// from newStore. newStore should register any cleanup with t.Cleanup.
func Run(t *testing.T, newStore func(t *testing.T) storage.Store) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := new(checker)
			s := newStore(t)
			if _, ok := s.(storage.AssetStore); tc.assets && !ok {
				t.Skip("the store does not implement storage.AssetStore")
			}
			tc.run(t.Context(), c, s)
			for _, err := range c.errs {
				t.Errorf("%v\nrule: %s", err, tc.explanation)
			}
		})
	}
}

// TestStore runs every case of the suite, each on a fresh store from
// newStore, and returns every violation joined with [errors.Join], each
// naming its case and rule, or nil when the store follows every rule. When
// a store implements [io.Closer], TestStore closes it after its case.
func TestStore(newStore func() storage.Store) error {
	var errs []error
	for _, tc := range cases {
		c := new(checker)
		s := newStore()
		if _, ok := s.(storage.AssetStore); !tc.assets || ok {
			tc.run(context.Background(), c, s)
		}
		if cl, ok := s.(io.Closer); ok {
			if err := cl.Close(); err != nil {
				c.errorf("Close: %v", err)
			}
		}
		for _, err := range c.errs {
			errs = append(errs, fmt.Errorf("%s: %w\n\trule: %s", tc.name, err, tc.explanation))
		}
	}
	return errors.Join(errs...)
}

// withSource appends the file:line of its caller to the rule s.
func withSource(s string) string {
	_, file, line, ok := runtime.Caller(1)
	if !ok {
		return s
	}
	return fmt.Sprintf("%s (%s/%s:%d)", s, filepath.Base(filepath.Dir(file)), filepath.Base(file), line)
}

var cases = slices.Concat(storeCases, assetCases, lockCases, sweepCases, optionalCases, pendingCases)

var storeCases = []testCase{
	{
		name:        "AppendThenChunks",
		explanation: withSource("Chunks yields what Append stored: window, seq, event count and bytes, unchanged"),
		run:         testAppendThenChunks,
	},
	{
		name:        "AppendIsIdempotent",
		explanation: withSource("a second Append of the same (session, window, seq) returns an error wrapping ErrExists and leaves the first chunk unchanged"),
		run:         testAppendIsIdempotent,
	},
	{
		name:        "ChunksOrder",
		explanation: withSource("Chunks yields in (window, seq) order, seq compared as a number (2 before 10), whatever the order of Append"),
		run:         testChunksOrder,
	},
	{
		name:        "ChunksWindowFilter",
		explanation: withSource("Chunks with a window yields that window's chunks only; an unknown window or session yields nothing and no error"),
		run:         testChunksWindowFilter,
	},
	{
		name:        "ChunksKeyedBySiteAndSession",
		explanation: withSource("chunks are kept per (site, session): the same session id on another site, or another session, is a different session"),
		run:         testChunksKeyed,
	},
	{
		name:        "ChunksNotAliased",
		explanation: withSource("the store keeps its own copy of chunk bytes: changing the slice passed to Append or the one Chunks yielded changes nothing stored"),
		run:         testChunksNotAliased,
	},
	{
		name:        "ChunksBytesExact",
		explanation: withSource("chunk bytes are opaque: every byte value, an empty chunk and a large chunk come back exactly"),
		run:         testChunksBytesExact,
	},
	{
		name:        "ChunksStopEarly",
		explanation: withSource("Chunks stops when the loop breaks: it never calls yield again after yield returned false"),
		run:         testChunksStopEarly,
	},
	{
		name:        "SessionRoundTrip",
		explanation: withSource("Session returns every field PutSession stored, Opaque included, byte for byte"),
		run:         testSessionRoundTrip,
	},
	{
		name:        "SessionNotFound",
		explanation: withSource("Session of a session without metadata (unknown, or only chunks appended) returns an error wrapping ErrNotFound"),
		run:         testSessionNotFound,
	},
	{
		name:        "PutSessionReplaces",
		explanation: withSource("PutSession replaces the whole session: fields, map keys and Opaque absent from the new value are gone, nothing is merged"),
		run:         testPutSessionReplaces,
	},
	{
		name:        "SessionsAreCopies",
		explanation: withSource("sessions are stored and returned as copies: changing the maps and slices of a session passed to PutSession or returned by Session or List changes nothing stored"),
		run:         testSessionsAreCopies,
	},
	{
		name:        "OpaqueRoundTrip",
		explanation: withSource("Opaque is saved and returned unchanged, whatever its bytes, and a nil Opaque comes back empty"),
		run:         testOpaqueRoundTrip,
	},
	{
		name:        "DeleteRemovesAll",
		explanation: withSource("Delete removes a session's chunks and metadata: then Session returns ErrNotFound, Chunks yields nothing, List omits it, and Append of the same chunk succeeds again; other sessions stay"),
		run:         testDeleteRemovesAll,
	},
	{
		name:        "DeleteChunksOnly",
		explanation: withSource("Delete removes the chunks of a session that has no metadata yet (returning nil or ErrNotFound)"),
		run:         testDeleteChunksOnly,
	},
	{
		name:        "DeleteUnknown",
		explanation: withSource("Delete of a session that is not stored returns an error wrapping ErrNotFound"),
		run:         testDeleteUnknown,
	},
	{
		name:        "ListFilters",
		explanation: withSource("List applies every filter of Query, combined with AND, as storage.Query documents them (see each query's comment)"),
		run:         testListFilters,
	},
	{
		name:        "ListOrder",
		explanation: withSource("List returns the newest Start first, sessions with equal Start by ID descending"),
		run:         testListOrder,
	},
	{
		name:        "ListPaging",
		explanation: withSource("following Next visits every matching session exactly once and in listing order, even when many share a Start, and Next is empty on the last page"),
		run:         testListPaging,
	},
	{
		name:        "ListPagingAcrossSites",
		explanation: withSource("with Site \"\" paging visits sessions of different sites with the same id and Start once each (ties end on Site descending)"),
		run:         testListPagingAcrossSites,
	},
	{
		name:        "ListLimit",
		explanation: withSource("List returns at most Limit sessions: 50 when Limit is 0 or negative, never more than 500"),
		run:         testListLimit,
	},
	{
		name:        "ListBadCursor",
		explanation: withSource("List with a cursor the store did not make returns an error wrapping ErrInvalidCursor"),
		run:         testListBadCursor,
	},
	{
		name:        "Concurrent",
		explanation: withSource("every method may be called from many goroutines at once: racing Appends of one chunk store it once (one nil, the rest ErrExists), nothing is lost, and a session read is always one whole PutSession"),
		run:         testConcurrent,
	},
	{
		name:        "CancelledContext",
		explanation: withSource("every method called with a cancelled context returns an error wrapping context.Canceled; a cancelled Append stores nothing, a cancelled PutSession or Delete leaves nothing or the whole write"),
		run:         testCancelledContext,
	},
}
