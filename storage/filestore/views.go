package filestore

import (
	"context"

	"github.com/sessionreplay/replay/storage"
)

// maxViews is how many views of a session the Store keeps: the newest.
const maxViews = 1000

// AddView implements [storage.ViewLog.AddView]: one synced transaction of
// the index appends the view and drops the session's views older than the
// newest 1000.
func (s *Store) AddView(ctx context.Context, key storage.Key, v storage.View) error {
	if err := checkKey(key); err != nil {
		return wrapErr("add view", err)
	}
	if err := s.begin(ctx); err != nil {
		return wrapErr("add view", err)
	}
	defer s.end()
	return wrapErr("add view", s.writeSynced(ctx, func(tx *txn) error {
		var n int64
		if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(n), 0) + 1 FROM views WHERE site = ? AND session = ?`, key.Site, key.Session).Scan(&n); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO views (site, session, n, principal, at) VALUES (?, ?, ?, ?, ?)`,
			key.Site, key.Session, n, v.Principal, timeKey(v.At)); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM views WHERE site = ? AND session = ? AND n <= ?`, key.Site, key.Session, n-maxViews)
		return err
	}))
}

// Views implements [storage.ViewLog.Views] with one query of the index.
func (s *Store) Views(ctx context.Context, key storage.Key) ([]storage.View, error) {
	if err := checkKey(key); err != nil {
		return nil, wrapErr("views", err)
	}
	if err := s.begin(ctx); err != nil {
		return nil, wrapErr("views", err)
	}
	defer s.end()
	rows, err := s.db.QueryContext(ctx, `SELECT principal, at FROM views WHERE site = ? AND session = ? ORDER BY n`, key.Site, key.Session)
	if err != nil {
		return nil, wrapErr("views", err)
	}
	defer rows.Close()
	views := []storage.View{}
	for rows.Next() {
		var (
			v  storage.View
			at int64
		)
		if err := rows.Scan(&v.Principal, &at); err != nil {
			return nil, wrapErr("views", err)
		}
		v.At = keyTime(at)
		views = append(views, v)
	}
	if err := rows.Err(); err != nil {
		return nil, wrapErr("views", err)
	}
	return views, nil
}

var _ storage.ViewLog = (*Store)(nil)
