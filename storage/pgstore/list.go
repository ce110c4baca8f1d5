package pgstore

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/sessionreplay/replay/storage"
)

// listQuery builds the SQL of a listing: q's filters, its cursor as a
// keyset on (start_at, id, site) descending, and one row more than a page so
// that the caller knows whether a next page exists.
//
// A filter on an exact path, or else on an event tag, walks its side table
// (session_paths, session_events) in the listing order and reads each
// candidate's row to check the other filters. Other listings select the
// keys of the page first, so that PostgreSQL may find them in an index
// alone (the covering indexes of migrations/0006_list_rare.sql), and then
// read the page's rows.
func listQuery(q storage.Query) (string, []any, error) {
	via, value, bySide := sideOf(q)
	k := sessionKeys
	if bySide {
		k = sideKeys
	}
	where, args := queryFilters(q, k)
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	if bySide {
		where = append(where, "x_value = "+arg(value))
	}
	if q.Cursor != "" {
		c, err := storage.ParseCursor(q.Cursor)
		if err != nil {
			return "", nil, err
		}
		switch {
		case q.Site == "":
			where = append(where, fmt.Sprintf("(%s, %s, %s) < (%s, %s, %s)", k.start, k.id, k.site, arg(c.Start), arg(clean(c.ID)), arg(clean(c.Site))))
		case q.Site < c.Site:
			// The session of q.Site with the cursor's (Start, ID) sorts
			// after the cursor's: it belongs to the next page.
			where = append(where, fmt.Sprintf("(%s, %s) <= (%s, %s)", k.start, k.id, arg(c.Start), arg(clean(c.ID))))
		default:
			where = append(where, fmt.Sprintf("(%s, %s) < (%s, %s)", k.start, k.id, arg(c.Start), arg(clean(c.ID))))
		}
	}
	order := fmt.Sprintf(" ORDER BY %s DESC, %s DESC, %s DESC LIMIT %d", k.start, k.id, k.site, q.PageSize()+1)
	if bySide {
		// The side table's columns are renamed, so that the filters'
		// columns are those of sessions and the order is its index's.
		return "SELECT " + sessionColumns + fmt.Sprintf(` FROM (SELECT site AS x_site, id AS x_id, start_at AS x_start,
			%s AS x_value FROM %s) AS x JOIN sessions ON site = x_site AND id = x_id WHERE `, via.column, via.table) +
			joinAnd(where) + order, args, nil
	}
	return "SELECT " + sessionColumns + " FROM (SELECT site, id, start_at AS k_start FROM sessions WHERE " + joinAnd(where) +
		order + ") AS k JOIN sessions USING (site, id) ORDER BY k_start DESC, id DESC, site DESC", args, nil
}

// keyColumns name the columns of a listing's keyset: its order and the
// conditions on site and start that its index serves.
type keyColumns struct{ site, id, start string }

var (
	sessionKeys = keyColumns{site: "site", id: "id", start: "start_at"}
	sideKeys    = keyColumns{site: "x_site", id: "x_id", start: "x_start"} // of a side table, see listQuery
)

// sideTable is a table of one row per session and value of a
// multi-valued fact, in the listing order of each value (see
// migrations/0006_list_rare.sql).
type sideTable struct{ table, column string }

var (
	pathSide  = sideTable{table: "session_paths", column: "path"}
	eventSide = sideTable{table: "session_events", column: "tag"}
)

// maxSideValue is the longest value that has rows in a side table: a
// btree entry must fit in a third of a page. Longer ones are found by the
// GIN indexes of sessions.
const maxSideValue = 1000

// sideOf returns the side table that serves q in the listing order and
// the value to look up in it: an exact path, else an event tag. A listing
// that also filters by Error, MinDuration or User has none: the index of
// that filter serves it better, checking the other filters on its covering
// columns (Error, MinDuration) or holding a few sessions only (User), and
// PostgreSQL may combine it with the GIN indexes of the path and the tag.
func sideOf(q storage.Query) (sideTable, string, bool) {
	if q.Error || q.MinDuration > 0 || q.User != "" {
		return sideTable{}, "", false
	}
	if p, ok := indexedPath(q.URL); ok {
		return pathSide, p, true
	}
	if e := clean(q.Event); e != "" && len(e) <= maxSideValue {
		return eventSide, e, true
	}
	return sideTable{}, "", false
}

// indexedPath reports whether a URL filter is an exact path that
// session_paths holds, and returns that path as stored.
func indexedPath(url string) (string, bool) {
	if url == "" || strings.Contains(url, "*") || strings.Contains(url, "://") {
		return "", false
	}
	p := clean(url)
	return p, len(p) <= maxSideValue
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
	// Each listing is planned for its own arguments (an unnamed statement),
	// never by a generic plan of a cached one: how rare a path or a
	// duration is decides which index serves it.
	rows, err := q.Query(ctx, sql, append([]any{pgx.QueryExecModeDescribeExec}, args...)...)
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
// and their arguments ($1, $2, ...), the site and the start on the
// columns k. With sideKeys, the query joins the side table of sideOf(q),
// and the filter that it serves is left to the caller.
func queryFilters(q storage.Query, k keyColumns) (where []string, args []any) {
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	if q.Site != "" {
		where = append(where, k.site+" = "+arg(clean(q.Site)))
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
		where = append(where, k.start+" >= "+arg(q.From))
	}
	if !q.To.IsZero() {
		where = append(where, k.start+" < "+arg(q.To))
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
	via, _, bySide := sideOf(q)
	bySide = bySide && k == sideKeys
	if q.URL != "" && !(bySide && via == pathSide) {
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
	if q.Event != "" && !(bySide && via == eventSide) {
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
