package filestore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sessionreplay/replay/storage"
)

// Count implements [storage.Counter.Count] with one query of the index:
// the index that List would use for q's filters (or, without filters
// besides the state, the index s_count, which holds every column Count
// reads) yields the sessions that start from q.From to q.To, and SQLite
// counts them per bucket, state and errors (GROUP BY). Only with a URL glob are the rows read into Go, to
// match the glob on their pages. Its cost is the sessions of the range
// that the index yields, never the whole store (see BenchmarkScale).
func (s *Store) Count(ctx context.Context, q storage.Query, step time.Duration) ([]storage.Bucket, error) {
	n, err := storage.CheckOverview(q, step)
	if err != nil {
		return nil, wrapErr("count", err)
	}
	if err := s.begin(ctx); err != nil {
		return nil, wrapErr("count", err)
	}
	defer s.end()
	buckets := make([]storage.Bucket, n)
	for i := range buckets {
		buckets[i].Start = q.From.Add(time.Duration(i) * step)
	}
	f := listFilter(q)
	if f.from == "sessions s INDEXED BY s_list" && q.Device == "" && q.OS == "" && q.Browser == "" &&
		q.MinDuration <= 0 && !q.Open && q.LastSeenBefore.IsZero() && q.URL == "" {
		// Only site, state and start are filtered: s_count holds them and
		// the errors, so the table is not read.
		f.from = "sessions s INDEXED BY s_count"
	}
	from, to := timeKey(q.From), timeKey(q.To)
	where := append(f.where, "s.state IN (0, 1)")
	// Rows of the range have start - from in [0, to - from): SQLite can
	// compute the bucket when that span fits in an int64 (a range up to
	// 292 years long); else, and for a URL glob, Go computes it.
	inSQL := q.URL == "" && to-from > 0
	var sqlText string
	args := f.args
	if inSQL {
		// One integer per row, bucket << 2 | state << 1 | errors, is a
		// cheaper key for GROUP BY than three columns (twice as fast).
		sqlText = "SELECT g >> 2, g >> 1 & 1, g & 1, count(*), '' FROM (SELECT ((" + f.start + " - ?) / ?) << 2 | (s.state << 1) | (s.errors > 0) AS g FROM " + f.from +
			" WHERE " + strings.Join(where, " AND ") + ") GROUP BY g"
		args = append([]any{from, int64(step)}, args...)
	} else {
		sqlText = "SELECT " + f.start + ", s.state, s.errors > 0, 1, s.pages FROM " + f.from +
			" WHERE " + strings.Join(where, " AND ")
	}
	rows, err := s.db.QueryContext(ctx, sqlText, args...)
	if err != nil {
		return nil, wrapErr("count", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			k, state int64
			errs     bool
			count    int
			pages    string
		)
		if err := rows.Scan(&k, &state, &errs, &count, &pages); err != nil {
			return nil, wrapErr("count", err)
		}
		i := k
		if !inSQL {
			if q.URL != "" && !anyURL(q.URL, pages) {
				continue
			}
			// As storage.AddToBucket does: a session whose distance from
			// q.From a Duration cannot hold is left out.
			d := keyTime(k).Sub(q.From)
			if d < 0 || d/step >= time.Duration(len(buckets)) {
				continue
			}
			i = int64(d / step)
		}
		if i < 0 || i >= int64(len(buckets)) {
			return nil, wrapErr("count", fmt.Errorf("bucket %d of %d: %w", i, len(buckets), errBadBucket))
		}
		b := &buckets[i]
		if state == 0 {
			b.Pending += count
		} else {
			b.Kept += count
		}
		if errs {
			b.Errors += count
		}
	}
	if err := rows.Err(); err != nil {
		return nil, wrapErr("count", err)
	}
	return buckets, nil
}

var errBadBucket = errors.New("a session outside the range (the index is inconsistent)")

var _ storage.Counter = (*Store)(nil)
