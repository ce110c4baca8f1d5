package pgstore

import (
	"context"
	"fmt"
	"strings"

	"github.com/sessionreplay/replay/storage"
)

// listQuery builds the SQL of a listing: q's filters, its cursor as a
// keyset on (start_at, id, site) descending, and one row more than a page so
// that the caller knows whether a next page exists.
func listQuery(q storage.Query) (string, []any, error) {
	where, args := queryFilters(q)
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	if q.Cursor != "" {
		c, err := storage.ParseCursor(q.Cursor)
		if err != nil {
			return "", nil, err
		}
		switch {
		case q.Site == "":
			where = append(where, fmt.Sprintf("(start_at, id, site) < (%s, %s, %s)", arg(c.Start), arg(clean(c.ID)), arg(clean(c.Site))))
		case q.Site < c.Site:
			// The session of q.Site with the cursor's (Start, ID) sorts
			// after the cursor's: it belongs to the next page.
			where = append(where, fmt.Sprintf("(start_at, id) <= (%s, %s)", arg(c.Start), arg(clean(c.ID))))
		default:
			where = append(where, fmt.Sprintf("(start_at, id) < (%s, %s)", arg(c.Start), arg(clean(c.ID))))
		}
	}
	sql := "SELECT " + sessionColumns + " FROM sessions"
	if len(where) > 0 {
		sql += " WHERE " + joinAnd(where)
	}
	sql += fmt.Sprintf(" ORDER BY start_at DESC, id DESC, site DESC LIMIT %d", q.PageSize()+1)
	return sql, args, nil
}

// globToLike turns a glob of storage.MatchURL (only * is special) into a
// LIKE pattern with the default escape character.
func globToLike(glob string) string {
	var b strings.Builder
	for i := 0; i < len(glob); i++ {
		switch c := glob[i]; c {
		case '*':
			b.WriteByte('%')
		case '%', '_', '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// list runs a listing.
func list(ctx context.Context, q querier, query storage.Query) (storage.Page, error) {
	const op = "list"
	if err := checkCtx(op, ctx); err != nil {
		return storage.Page{}, err
	}
	sql, args, err := listQuery(query)
	if err != nil {
		return storage.Page{}, fmt.Errorf("pgstore: %s: %w", op, err)
	}
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return storage.Page{}, wrap(op, err)
	}
	defer rows.Close()
	page := storage.Page{Sessions: []storage.Session{}}
	size := query.PageSize()
	more := false
	for rows.Next() {
		if len(page.Sessions) == size {
			more = true
			break
		}
		s, err := scanSession(rows)
		if err != nil {
			return storage.Page{}, wrap(op, err)
		}
		page.Sessions = append(page.Sessions, s)
	}
	if err := rows.Err(); err != nil {
		return storage.Page{}, wrap(op, err)
	}
	if more {
		page.Next = storage.CursorAt(page.Sessions[len(page.Sessions)-1]).String()
	}
	return page, nil
}

// queryFilters returns the conditions of q's filters, its cursor aside,
// and their arguments ($1, $2, ...).
func queryFilters(q storage.Query) (where []string, args []any) {
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	if q.Site != "" {
		where = append(where, "site = "+arg(clean(q.Site)))
	}
	switch q.State {
	case "", storage.FilterKept:
		where = append(where, "state = 'kept'")
	case storage.FilterPending:
		where = append(where, "state = 'pending'")
	case storage.FilterAll:
		where = append(where, "state IN ('kept', 'pending')")
	case storage.FilterDropped:
		where = append(where, "state = 'dropped'")
	case storage.FilterAny:
	default:
		where = append(where, "false") // as StateFilter.Match: an unknown filter admits nothing
	}
	if !q.From.IsZero() {
		where = append(where, "start_at >= "+arg(q.From))
	}
	if !q.To.IsZero() {
		where = append(where, "start_at < "+arg(q.To))
	}
	if q.Device != "" {
		where = append(where, "device_key = "+arg(foldKey(clean(q.Device))))
	}
	if q.OS != "" {
		where = append(where, "os_key = "+arg(foldKey(clean(q.OS))))
	}
	if q.Browser != "" {
		where = append(where, "browser_key = "+arg(foldKey(clean(q.Browser))))
	}
	if q.URL != "" {
		col := "page_paths"
		if strings.Contains(q.URL, "://") {
			col = "pages"
		}
		glob := clean(q.URL)
		if strings.Contains(glob, "*") {
			where = append(where, fmt.Sprintf("EXISTS (SELECT 1 FROM unnest(%s) AS u(v) WHERE u.v LIKE %s)", col, arg(globToLike(glob))))
		} else {
			where = append(where, fmt.Sprintf("%s @> ARRAY[%s::text]", col, arg(glob)))
		}
	}
	if q.Event != "" {
		where = append(where, "event_tags @> ARRAY["+arg(clean(q.Event))+"::text]")
	}
	if q.Error {
		where = append(where, "errors > 0")
	}
	if q.Rule != "" {
		where = append(where, "matched_rules @> ARRAY["+arg(clean(q.Rule))+"::text]")
	}
	if q.MinDuration > 0 {
		where = append(where, "duration_ms >= "+arg(q.MinDuration.Milliseconds()))
	}
	if q.User != "" {
		where = append(where, "user_id = "+arg(clean(q.User)))
	}
	if q.Open {
		where = append(where, "NOT ended")
	}
	if !q.LastSeenBefore.IsZero() {
		where = append(where, "last_seen < "+arg(q.LastSeenBefore))
	}
	return where, args
}

// joinAnd joins conditions with AND.
func joinAnd(where []string) string {
	if len(where) == 0 {
		return "true"
	}
	return strings.Join(where, " AND ")
}
