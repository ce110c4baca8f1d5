package memstore

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/sessionreplay/replay/storage"
)

// notePending keeps s.pending, the ids of each site's pending sessions,
// in step with a session's metadata meta (nil when deleted). The caller
// holds s.mu for writing.
func (s *Store) notePending(key storage.Key, meta *storage.Session) {
	ids := s.pending[key.Site]
	if meta != nil && meta.State == storage.StatePending {
		if ids == nil {
			ids = make(map[string]struct{})
			s.pending[key.Site] = ids
		}
		ids[key.Session] = struct{}{}
		return
	}
	delete(ids, key.Session)
	if len(ids) == 0 {
		delete(s.pending, key.Site)
	}
}

// PendingBytes implements [storage.PendingCounter.PendingBytes] in time
// linear in the site's pending sessions.
func (s *Store) PendingBytes(ctx context.Context, site string) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("memstore: pending bytes: %w", err)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	var n int64
	for id := range s.pending[site] {
		n += s.sessions[storage.Key{Site: site, Session: id}].meta.StoredBytes
	}
	return n, nil
}

// OldestPending implements [storage.PendingCounter.OldestPending] by
// sorting the site's pending sessions.
func (s *Store) OldestPending(ctx context.Context, site string, limit int) ([]storage.Key, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("memstore: oldest pending: %w", err)
	}
	s.mu.RLock()
	metas := make([]*storage.Session, 0, len(s.pending[site]))
	for id := range s.pending[site] {
		metas = append(metas, s.sessions[storage.Key{Site: site, Session: id}].meta)
	}
	keys := make([]storage.Key, 0, len(metas))
	slices.SortFunc(metas, func(a, b *storage.Session) int {
		return cmp.Or(a.FirstSeen.Compare(b.FirstSeen), cmp.Compare(a.ID, b.ID))
	})
	for _, m := range metas[:min(len(metas), storage.ClampPendingLimit(limit))] {
		keys = append(keys, storage.Key{Site: site, Session: m.ID})
	}
	s.mu.RUnlock()
	return keys, nil
}

var _ storage.PendingCounter = (*Store)(nil)
