package storetest_test

import (
	"context"
	"slices"
	"testing"

	"github.com/sessionreplay/replay/storage"
	"github.com/sessionreplay/replay/storage/memstore"
)

// The suite must catch a store that breaks a rule of PendingCounter.
func TestSuiteCatchesBrokenPendingCounter(t *testing.T) {
	requireCaught(t, "storetest/pending.go", []brokenStore{
		{"counts every state", func() storage.Store { return everyState{memstore.New()} }, []string{"PendingBytesSums"}},
		{"newest first", func() storage.Store { return newestFirst{memstore.New()} }, []string{"OldestPendingOrder"}},
		{"ignores the context", func() storage.Store { return noContext{memstore.New()} }, []string{"PendingCounterCancelled"}},
	})
}

// everyState counts the stored bytes of every session of the site.
type everyState struct{ *memstore.Store }

func (s everyState) PendingBytes(ctx context.Context, site string) (int64, error) {
	p, err := s.List(ctx, storage.Query{Site: site, State: storage.FilterAny, Limit: 500})
	var n int64
	for _, sess := range p.Sessions {
		n += sess.StoredBytes
	}
	return n, err
}

// newestFirst names the newest pending sessions first.
type newestFirst struct{ *memstore.Store }

func (s newestFirst) OldestPending(ctx context.Context, site string, limit int) ([]storage.Key, error) {
	keys, err := s.Store.OldestPending(ctx, site, storage.MaxOldestPending)
	slices.Reverse(keys)
	return keys[:min(len(keys), storage.ClampPendingLimit(limit))], err
}

// noContext answers whatever its context.
type noContext struct{ *memstore.Store }

func (s noContext) PendingBytes(_ context.Context, site string) (int64, error) {
	return s.Store.PendingBytes(context.Background(), site)
}

func (s noContext) OldestPending(_ context.Context, site string, limit int) ([]storage.Key, error) {
	return s.Store.OldestPending(context.Background(), site, limit)
}
