package storetest_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/sessionreplay/replay/storage"
	"github.com/sessionreplay/replay/storage/memstore"
	"github.com/sessionreplay/replay/storage/storetest"
)

// The suite must catch a store that breaks a rule of an optional interface.
func TestSuiteCatchesBrokenOptionalInterfaces(t *testing.T) {
	requireCaught(t, "storetest/optional.go", []brokenStore{
		{"views newest first", func() storage.Store { return reversedViews{memstore.New()} }, []string{"ViewLogOrder", "ViewLogKeepsNewest"}},
		{"views outlive Delete", func() storage.Store { return &keptViews{Store: memstore.New()} }, []string{"ViewLogDelete"}},
		{"ignores the state filter", func() storage.Store { return anyState{memstore.New()} }, []string{"CounterFilters"}},
		{"leaves out empty buckets", func() storage.Store { return noEmptyBuckets{memstore.New()} }, []string{"CounterBuckets"}},
	})
}

// A store without the optional interfaces passes their rules.
func TestSuiteSkipsMissingOptionalInterfaces(t *testing.T) {
	if err := storetest.TestStore(func() storage.Store { return plain{memstore.New()} }); err != nil {
		t.Fatal(err)
	}
}

type plain struct{ storage.Store }

type reversedViews struct{ *memstore.Store }

func (s reversedViews) Views(ctx context.Context, key storage.Key) ([]storage.View, error) {
	v, err := s.Store.Views(ctx, key)
	slices.Reverse(v)
	return v, err
}

// keptViews keeps views in a log of its own that Delete does not touch.
type keptViews struct {
	*memstore.Store
	log map[storage.Key][]storage.View
}

func (s *keptViews) AddView(ctx context.Context, key storage.Key, v storage.View) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.log == nil {
		s.log = map[storage.Key][]storage.View{}
	}
	s.log[key] = append(s.log[key], v)
	return nil
}

func (s *keptViews) Views(ctx context.Context, key storage.Key) ([]storage.View, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return slices.Clone(s.log[key]), nil
}

type anyState struct{ *memstore.Store }

func (s anyState) Count(ctx context.Context, q storage.Query, step time.Duration) ([]storage.Bucket, error) {
	q.State = storage.FilterAny
	return s.Store.Count(ctx, q, step)
}

type noEmptyBuckets struct{ *memstore.Store }

func (s noEmptyBuckets) Count(ctx context.Context, q storage.Query, step time.Duration) ([]storage.Bucket, error) {
	b, err := s.Store.Count(ctx, q, step)
	return slices.DeleteFunc(b, func(b storage.Bucket) bool { return b.Kept+b.Pending == 0 }), err
}
