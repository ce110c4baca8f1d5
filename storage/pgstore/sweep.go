package pgstore

import (
	"context"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/sessionreplay/replay/storage"
)

// SweepSites implements [storage.Sweeper.SweepSites]: a skip scan of the
// sessions' primary key (one index probe per site, however many sessions
// each has) and the sites of the orphans.
func (s *Store) SweepSites(ctx context.Context) ([]string, error) {
	const op = "sweep sites"
	if err := s.check(op, ctx); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `WITH RECURSIVE t(site) AS (
			(SELECT site FROM sessions ORDER BY site LIMIT 1)
			UNION ALL
			SELECT (SELECT site FROM sessions WHERE site > t.site ORDER BY site LIMIT 1) FROM t WHERE t.site IS NOT NULL
		)
		SELECT site FROM t WHERE site IS NOT NULL
		UNION
		SELECT DISTINCT site FROM orphans`)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	var sites []string
	for rows.Next() {
		var site string
		if err := rows.Scan(&site); err != nil {
			return nil, wrap(op, err)
		}
		sites = append(sites, site)
	}
	return sites, wrap(op, rows.Err())
}

// Due implements [storage.Sweeper.Due]: one range scan of the kind's
// partial index (see migrations/0002_sweep.sql), keyset-paged on (time,
// id). Ended sessions are in none of the indexes of DueIdle, DueLong and
// DueUndecided, so their cost does not grow with the sessions kept.
func (s *Store) Due(ctx context.Context, q storage.DueQuery) (storage.DuePage, error) {
	const op = "due"
	if err := s.check(op, ctx); err != nil {
		return storage.DuePage{}, err
	}
	if clean(q.Site) != q.Site || q.Site == "" {
		return storage.DuePage{}, fmt.Errorf("pgstore: %s: site %q: %w", op, q.Site, storage.ErrInvalidKey)
	}
	sql, args, err := dueQuery(q)
	if err != nil {
		return storage.DuePage{}, fmt.Errorf("pgstore: %s: %w", op, err)
	}
	rows, err := s.pool.Query(ctx, sql, args...)
	if err != nil {
		return storage.DuePage{}, wrap(op, err)
	}
	defer rows.Close()
	var (
		page  storage.DuePage
		lastT time.Time
		size  = q.PageSize()
	)
	for rows.Next() {
		var (
			id string
			t  time.Time
		)
		if err := rows.Scan(&id, &t); err != nil {
			return storage.DuePage{}, wrap(op, err)
		}
		if len(page.Keys) == size {
			page.Next = dueCursor(lastT, page.Keys[size-1].Session)
			break
		}
		page.Keys = append(page.Keys, storage.Key{Site: q.Site, Session: id})
		lastT = t
	}
	return page, wrap(op, rows.Err())
}

// dueQuery builds the SQL of a Due call: the ids and the kind's time of
// one site's due sessions, oldest first, one more than a page.
func dueQuery(q storage.DueQuery) (string, []any, error) {
	args := []any{q.Site}
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	var (
		from  = "sessions"
		idCol = "id"
		col   string
		where []string
	)
	switch q.Kind {
	case storage.DueIdle:
		col = "last_seen"
		where = []string{"NOT ended", "state <> 'dropped'", "last_seen < " + arg(q.Before)}
	case storage.DueLong:
		col = "first_seen"
		where = []string{"NOT ended", "state <> 'dropped'", "first_seen < " + arg(q.Before)}
	case storage.DueUndecided:
		col = "start_at"
		where = []string{"ended", "state = 'pending'"}
	case storage.DueExpired:
		col = "last_seen"
		where = []string{"last_seen < " + arg(q.Before)}
	case storage.DueOrphaned:
		from, idCol, col = "orphans o", "session", "since"
		where = []string{"since < " + arg(q.Before),
			"NOT EXISTS (SELECT 1 FROM sessions s WHERE s.site = o.site AND s.id = o.session)"}
	default:
		return "", nil, fmt.Errorf("unknown due kind %d", q.Kind)
	}
	where = append([]string{"site = $1"}, where...)
	if q.Cursor != "" {
		t, id, err := parseDueCursor(q.Cursor)
		if err != nil {
			return "", nil, err
		}
		where = append(where, fmt.Sprintf("(%s, %s) > (%s, %s)", col, idCol, arg(t), arg(id)))
	}
	return fmt.Sprintf("SELECT %s, %s FROM %s WHERE %s ORDER BY %s, %s LIMIT %d",
		idCol, col, from, strings.Join(where, " AND "), col, idCol, q.PageSize()+1), args, nil
}

// dueCursor is the cursor of Due: the kind's time, in microseconds (the
// precision of timestamptz), and the id of the last key of a page.
func dueCursor(t time.Time, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(t.UnixMicro(), 10) + "/" + id))
}

// maxDueCursor bounds the length of a cursor Due reads.
const maxDueCursor = 4096

func parseDueCursor(s string) (time.Time, string, error) {
	if len(s) > maxDueCursor {
		return time.Time{}, "", fmt.Errorf("%w: too long", storage.ErrInvalidCursor)
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil {
		return time.Time{}, "", fmt.Errorf("%w: not base64url", storage.ErrInvalidCursor)
	}
	ts, id, ok := strings.Cut(string(b), "/")
	us, err := strconv.ParseInt(ts, 10, 64)
	if !ok || err != nil || id == "" || clean(id) != id {
		return time.Time{}, "", fmt.Errorf("%w: not a due cursor", storage.ErrInvalidCursor)
	}
	return time.UnixMicro(us).UTC(), id, nil
}

var _ storage.Sweeper = (*Store)(nil)
