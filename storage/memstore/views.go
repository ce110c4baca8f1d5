package memstore

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/sessionreplay/replay/storage"
)

// maxViews is how many views of a session the Store keeps: the newest.
const maxViews = 1000

// AddView implements [storage.ViewLog.AddView]. It keeps the newest 1000
// views of a session.
func (s *Store) AddView(ctx context.Context, key storage.Key, v storage.View) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memstore: add view: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.entryOf(key)
	if len(e.views) >= maxViews {
		e.views = slices.Delete(e.views, 0, len(e.views)-maxViews+1)
	}
	e.views = append(e.views, v)
	return nil
}

// Views implements [storage.ViewLog.Views]: it returns a copy.
func (s *Store) Views(ctx context.Context, key storage.Key) ([]storage.View, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("memstore: views: %w", err)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if e := s.sessions[key]; e != nil {
		return slices.Clone(e.views), nil
	}
	return []storage.View{}, nil
}

// Count implements [storage.Counter.Count] by going through every stored
// session, in time linear in their number.
func (s *Store) Count(ctx context.Context, q storage.Query, step time.Duration) ([]storage.Bucket, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("memstore: count: %w", err)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	buckets, err := storage.CountSessions(q, step, func(yield func(*storage.Session) bool) {
		for _, e := range s.sessions {
			if e.meta != nil && !yield(e.meta) {
				return
			}
		}
	})
	if err != nil {
		return nil, fmt.Errorf("memstore: count: %w", err)
	}
	return buckets, nil
}

var (
	_ storage.ViewLog = (*Store)(nil)
	_ storage.Counter = (*Store)(nil)
)
