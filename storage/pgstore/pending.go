package pgstore

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/sessionreplay/replay/storage"
)

// PendingBytes implements [storage.PendingCounter.PendingBytes]: the sum
// of StoredBytes over the pending sessions of site, as stored now by every
// process sharing the database, read by an
// index-only scan of the site's pending sessions (see
// migrations/0005_pending.sql), whose cost grows with the pending sessions
// only.
func (s *Store) PendingBytes(ctx context.Context, site string) (int64, error) {
	const op = "pending bytes"
	if err := s.check(op, ctx); err != nil {
		return 0, err
	}
	if clean(site) != site {
		return 0, nil // a site the store cannot hold has no sessions
	}
	var n int64
	err := s.pool.QueryRow(ctx, `SELECT coalesce(sum(stored_bytes), 0)::bigint FROM sessions
		WHERE site = $1 AND state = 'pending'`, site).Scan(&n)
	return n, wrap(op, err)
}

// OldestPending implements [storage.PendingCounter.OldestPending] with
// the same index: the keys of at most limit pending sessions of site
// (clamped by [storage.ClampPendingLimit]), oldest FirstSeen first, then
// by id.
func (s *Store) OldestPending(ctx context.Context, site string, limit int) ([]storage.Key, error) {
	const op = "oldest pending"
	if err := s.check(op, ctx); err != nil {
		return nil, err
	}
	if clean(site) != site {
		return nil, nil
	}
	limit = storage.ClampPendingLimit(limit)
	rows, err := s.pool.Query(ctx, fmt.Sprintf(`SELECT id FROM sessions WHERE site = $1 AND state = 'pending'
		ORDER BY first_seen, id LIMIT %d`, limit), site)
	if err != nil {
		return nil, wrap(op, err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, wrap(op, err)
	}
	keys := make([]storage.Key, len(ids))
	for i, id := range ids {
		keys[i] = storage.Key{Site: site, Session: id}
	}
	return keys, nil
}

var _ storage.PendingCounter = (*Store)(nil)
