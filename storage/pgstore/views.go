package pgstore

import (
	"context"
	"fmt"
	"time"

	"github.com/sessionreplay/replay/storage"
)

// AddView implements [storage.ViewLog.AddView]: one statement inserts the
// view and drops the session's views older than the newest
// [storage.MinViewsKept].
func (s *Store) AddView(ctx context.Context, key storage.Key, v storage.View) error {
	const op = "add view"
	if err := s.check(op, ctx); err != nil {
		return err
	}
	if err := validKey(key); err != nil {
		return err
	}
	// The DELETE does not see the row its statement inserts: keeping
	// MinViewsKept-1 of the others keeps MinViewsKept in all.
	_, err := s.pool.Exec(ctx, `WITH v AS (
			INSERT INTO views (site, session, principal, at) VALUES ($1, $2, $3, $4)
		)
		DELETE FROM views WHERE site = $1 AND session = $2 AND n <= (
			SELECT n FROM views WHERE site = $1 AND session = $2 ORDER BY n DESC OFFSET $5 LIMIT 1)`,
		key.Site, key.Session, clean(v.Principal), v.At, storage.MinViewsKept-1)
	return wrap(op, err)
}

// Views implements [storage.ViewLog.Views].
func (s *Store) Views(ctx context.Context, key storage.Key) ([]storage.View, error) {
	const op = "views"
	if err := s.check(op, ctx); err != nil {
		return nil, err
	}
	views := []storage.View{}
	if validKey(key) != nil {
		return views, nil // a key the store cannot hold has no views
	}
	rows, err := s.pool.Query(ctx, `SELECT principal, at FROM views WHERE site = $1 AND session = $2 ORDER BY n`, key.Site, key.Session)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	for rows.Next() {
		var v storage.View
		if err := rows.Scan(&v.Principal, &v.At); err != nil {
			return nil, wrap(op, err)
		}
		v.At = v.At.UTC()
		views = append(views, v)
	}
	return views, wrap(op, rows.Err())
}

// Count implements [storage.Counter.Count] with one GROUP BY over the
// listing's index range of q (the same filters as List), each session put
// in its bucket by width_bucket over the buckets' starts: exact, whatever
// the step, with no arithmetic on times.
func (s *Store) Count(ctx context.Context, q storage.Query, step time.Duration) ([]storage.Bucket, error) {
	const op = "count"
	if err := s.check(op, ctx); err != nil {
		return nil, err
	}
	n, err := storage.CheckOverview(q, step)
	if err != nil {
		return nil, fmt.Errorf("pgstore: %s: %w", op, err)
	}
	// Starts are kept to the microsecond: a session is in bucket i when
	// its Start is at or after the bucket's start rounded up to the
	// microsecond, and before the next one's, exactly as in memory.
	buckets := make([]storage.Bucket, n)
	starts := make([]time.Time, n+1)
	for i := range buckets {
		buckets[i].Start = q.From.Add(time.Duration(i) * step)
		starts[i] = ceilMicro(buckets[i].Start)
	}
	starts[n] = ceilMicro(q.To)
	sql, args := countQuery(q, starts)
	rows, err := s.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	for rows.Next() {
		var b, kept, pending, errs int
		if err := rows.Scan(&b, &kept, &pending, &errs); err != nil {
			return nil, wrap(op, err)
		}
		if b < 1 || b > n {
			continue // outside [From, To)
		}
		buckets[b-1].Kept, buckets[b-1].Pending, buckets[b-1].Errors = kept, pending, errs
	}
	if err := rows.Err(); err != nil {
		return nil, wrap(op, err)
	}
	return buckets, nil
}

// ceilMicro rounds t up to the microsecond, the precision of timestamptz.
func ceilMicro(t time.Time) time.Time {
	if r := t.Sub(t.Truncate(time.Microsecond)); r > 0 {
		return t.Add(time.Microsecond - r)
	}
	return t
}

// countQuery builds the SQL of Count: the filters of q, its cursor aside,
// and the bucket of each session, the number of starts at or before its
// Start (1 for the first bucket).
func countQuery(q storage.Query, starts []time.Time) (string, []any) {
	where, args := queryFilters(q, sessionKeys)
	// Dropped sessions are never counted, whatever q.State.
	where = append(where, "state IN ('kept', 'pending')")
	args = append(args, starts)
	return fmt.Sprintf(`SELECT width_bucket(start_at, $%d::timestamptz[]) AS b,
			count(*) FILTER (WHERE state = 'kept'), count(*) FILTER (WHERE state = 'pending'),
			count(*) FILTER (WHERE errors > 0)
		FROM sessions WHERE %s GROUP BY b`, len(args), joinAnd(where)), args
}

// deleteViews drops a session's views and returns how many.
func deleteViews(ctx context.Context, tx querier, key storage.Key) (int, error) {
	tag, err := tx.Exec(ctx, `DELETE FROM views WHERE site = $1 AND session = $2`, key.Site, key.Session)
	if err != nil {
		return 0, err
	}
	return int(tag.RowsAffected()), nil
}

var (
	_ storage.ViewLog = (*Store)(nil)
	_ storage.Counter = (*Store)(nil)
)
