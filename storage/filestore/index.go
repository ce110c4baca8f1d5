package filestore

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/sessionreplay/replay/storage"
)

// The index is an SQLite database (index.db, in WAL mode) that holds every
// session's metadata: typed columns for what Query filters on, the whole
// session as an encoded blob for Session and List, and side tables for the
// multi-valued facts a filter matches exactly (custom event tags, rule
// names). Each filter is served by an index that yields sessions in listing
// order (Start, ID descending), so a page costs the rows read until it is
// full, not the number of sessions stored. Version 2 added the assets,
// their references, the views and the index s_count; an index of version
// 1 is upgraded in place by creating them (every statement of schema is
// idempotent).
//
// Version 3 moved chunks into the journal: the tables chunks (where each
// chunk's record is), recs (where each metadata and reference record of a
// session is, so that Delete erases them) and erasing (records of deleted
// sessions being erased). An index of version 1 or 2 is upgraded in place
// the same way, and Open then moves the chunk files into the journal.
const schemaVersion = 3

var schema = []string{
	`CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL) WITHOUT ROWID`,
	`CREATE TABLE IF NOT EXISTS sessions (
		n INTEGER PRIMARY KEY,
		site TEXT NOT NULL,
		id TEXT NOT NULL,
		state INTEGER NOT NULL,  -- 0 pending, 1 kept, 2 dropped, 3 another
		start INTEGER NOT NULL,  -- Unix ns, see timeKey
		dur INTEGER NOT NULL,    -- DurationMs
		device TEXT NOT NULL,    -- lower case
		os TEXT NOT NULL,        -- lower case
		browser TEXT NOT NULL,   -- lower case
		errors INTEGER NOT NULL,
		user TEXT NOT NULL,      -- Attrs["userId"]
		ended INTEGER NOT NULL,
		first_seen INTEGER NOT NULL,
		last_seen INTEGER NOT NULL,
		pages TEXT NOT NULL,     -- Pages joined by "\n", for the URL filter
		data BLOB NOT NULL       -- the session, encodeSession
	)`,
	`CREATE UNIQUE INDEX IF NOT EXISTS s_key ON sessions (site, id)`,
	`CREATE INDEX IF NOT EXISTS s_list ON sessions (site, start, id)`,
	`CREATE INDEX IF NOT EXISTS s_pending ON sessions (site, start, id) WHERE state = 0`,
	`CREATE INDEX IF NOT EXISTS s_dropped ON sessions (site, start, id) WHERE state = 2`,
	`CREATE INDEX IF NOT EXISTS s_error ON sessions (site, start, id) WHERE errors > 0`,
	`CREATE INDEX IF NOT EXISTS s_user ON sessions (site, user, start, id) WHERE user <> ''`,
	`CREATE INDEX IF NOT EXISTS s_idle ON sessions (site, last_seen, id) WHERE ended = 0`,
	`CREATE INDEX IF NOT EXISTS s_long ON sessions (site, first_seen, id) WHERE ended = 0`,
	`CREATE INDEX IF NOT EXISTS s_seen ON sessions (site, last_seen, id)`,
	// facets: k 1 is a custom event tag seen (count not 0), k 2 a matched rule.
	`CREATE TABLE IF NOT EXISTS facets (
		n INTEGER NOT NULL, k INTEGER NOT NULL, v TEXT NOT NULL,
		site TEXT NOT NULL, start INTEGER NOT NULL, id TEXT NOT NULL
	)`,
	`CREATE INDEX IF NOT EXISTS f_list ON facets (site, k, v, start, id)`,
	`CREATE INDEX IF NOT EXISTS f_n ON facets (n)`,
	// orphans: sessions with chunks but no metadata, since (Unix ns) their
	// first chunk.
	`CREATE TABLE IF NOT EXISTS orphans (site TEXT NOT NULL, id TEXT NOT NULL, since INTEGER NOT NULL, PRIMARY KEY (site, id)) WITHOUT ROWID`,
	`CREATE INDEX IF NOT EXISTS o_since ON orphans (site, since, id)`,
	// deleting: sessions whose metadata is deleted and whose directory may
	// still exist; Open finishes their deletion.
	`CREATE TABLE IF NOT EXISTS deleting (site TEXT NOT NULL, id TEXT NOT NULL, PRIMARY KEY (site, id)) WITHOUT ROWID`,
	`CREATE TABLE IF NOT EXISTS sites (site TEXT PRIMARY KEY) WITHOUT ROWID`,
	// s_count covers what Count reads of a session, so that an overview
	// without other filters reads the index only.
	`CREATE INDEX IF NOT EXISTS s_count ON sessions (site, start, state, errors)`,
	// assets: the file (relative to the root) of asset hash of site.
	`CREATE TABLE IF NOT EXISTS assets (site TEXT NOT NULL, hash TEXT NOT NULL, file TEXT NOT NULL, size INTEGER NOT NULL, PRIMARY KEY (site, hash)) WITHOUT ROWID`,
	// asset_refs: session (site, session) references asset (site, hash).
	`CREATE TABLE IF NOT EXISTS asset_refs (site TEXT NOT NULL, session TEXT NOT NULL, hash TEXT NOT NULL, PRIMARY KEY (site, session, hash)) WITHOUT ROWID`,
	`CREATE INDEX IF NOT EXISTS r_hash ON asset_refs (site, hash)`,
	// asset_trash: asset files that no row of assets owns and that may
	// exist: being written by a PutAsset, or freed by a Delete. Open
	// removes them.
	`CREATE TABLE IF NOT EXISTS asset_trash (file TEXT PRIMARY KEY) WITHOUT ROWID`,
	// views: the reads of a session, n counting up per session.
	`CREATE TABLE IF NOT EXISTS views (site TEXT NOT NULL, session TEXT NOT NULL, n INTEGER NOT NULL, principal TEXT NOT NULL, at INTEGER NOT NULL, PRIMARY KEY (site, session, n)) WITHOUT ROWID`,
	// chunks: where in the journal each chunk's record is.
	`CREATE TABLE IF NOT EXISTS chunks (site TEXT NOT NULL, id TEXT NOT NULL, win TEXT NOT NULL, seq INTEGER NOT NULL, events INTEGER NOT NULL,
		seg INTEGER NOT NULL, off INTEGER NOT NULL, len INTEGER NOT NULL, PRIMARY KEY (site, id, win, seq)) WITHOUT ROWID`,
	`CREATE INDEX IF NOT EXISTS c_seg ON chunks (seg)`,
	// recs: where the metadata and reference records of each session are;
	// cur marks the current metadata, which keeps its segment.
	`CREATE TABLE IF NOT EXISTS recs (site TEXT NOT NULL, id TEXT NOT NULL, seg INTEGER NOT NULL, off INTEGER NOT NULL, len INTEGER NOT NULL, cur INTEGER NOT NULL,
		PRIMARY KEY (site, id, seg, off)) WITHOUT ROWID`,
	`CREATE INDEX IF NOT EXISTS r_seg ON recs (seg) WHERE cur = 1`,
	// jassets: where the record of each asset kept in the journal is (its
	// row of assets has file '').
	`CREATE TABLE IF NOT EXISTS jassets (site TEXT NOT NULL, hash TEXT NOT NULL, seg INTEGER NOT NULL, off INTEGER NOT NULL, len INTEGER NOT NULL,
		PRIMARY KEY (site, hash)) WITHOUT ROWID`,
	`CREATE INDEX IF NOT EXISTS ja_seg ON jassets (seg)`,
	// erasing: records of deleted sessions whose bodies are being zeroed.
	`CREATE TABLE IF NOT EXISTS erasing (seg INTEGER NOT NULL, off INTEGER NOT NULL, len INTEGER NOT NULL, PRIMARY KEY (seg, off)) WITHOUT ROWID`,
}

const (
	facetEvent = 1
	facetRule  = 2
)

// The meta keys.
const (
	metaVersion = "version"
	metaScanned = "scanned" // set once the files were read into the index
)

// openDB opens the index database at path with the settings of the
// package documentation (Durability).
func openDB(path, synchronous string) (*sql.DB, error) {
	// WAL: readers never wait for the writer, and a commit is one append
	// to the log. synchronous FULL: the log is synced at every commit, so
	// a PutSession that returned survives a power cut, not only a process
	// crash (NORMAL would only sync at checkpoints). _txlock immediate:
	// write transactions take the write lock when they begin, so two never
	// deadlock upgrading from read to write. secure_delete: SQLite zeroes
	// what it deletes, so a deleted session's row does not stay readable in
	// the file's free pages.
	dsn := "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(" + synchronous + ")" +
		"&_pragma=foreign_keys(OFF)&_pragma=cache_size(-16000)&_pragma=secure_delete(ON)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(8)
	db.SetMaxIdleConns(8)
	db.SetConnMaxIdleTime(0)
	return db, nil
}

// initSchema creates the tables of a new index, upgrades one of version 1,
// or checks the version of an existing one. Any error here on an existing
// file means it is damaged or not an index.
func initSchema(ctx context.Context, db *sql.DB) (fresh bool, err error) {
	var v string
	err = db.QueryRowContext(ctx, `SELECT v FROM meta WHERE k = ?`, metaVersion).Scan(&v)
	switch {
	case err == nil && v == strconv.Itoa(schemaVersion):
		return false, nil
	case err == nil && (v == "1" || v == "2"):
		// Version 1 lacks the tables of assets and views, 2 those of the
		// journal: create them.
		return false, createSchema(ctx, db)
	case err == nil:
		return false, fmt.Errorf("index version %q, want %d", v, schemaVersion)
	case isNoTable(err):
		// A new, empty database.
	default:
		return false, err
	}
	return true, createSchema(ctx, db)
}

// createSchema runs every statement of schema and sets the version, in
// one transaction.
func createSchema(ctx context.Context, db *sql.DB) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, stmt := range schema {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("%s: %w", strings.Fields(stmt)[0:6], err)
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO meta (k, v) VALUES (?, ?)`, metaVersion, strconv.Itoa(schemaVersion)); err != nil {
		return err
	}
	return tx.Commit()
}

func isNoTable(err error) bool {
	return err != nil && strings.Contains(err.Error(), "no such table")
}

// isCorrupt reports an error of SQLite that means the file is damaged or
// not a database.
func isCorrupt(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB:
			return true
		}
	}
	return false
}

// isFull reports an error of SQLite that means the disk is full.
func isFull(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_FULL
}

// timeKey maps a time to the integer the index sorts and filters on: Unix
// nanoseconds, the zero time below every other. Times outside the years
// 1678 to 2262 are clamped to that range, so they sort as its ends.
func timeKey(t time.Time) int64 {
	if t.IsZero() {
		return math.MinInt64
	}
	switch {
	case t.Before(minKeyTime):
		return math.MinInt64 + 1
	case t.After(maxKeyTime):
		return math.MaxInt64
	}
	return t.UnixNano()
}

// keyTime is the inverse of timeKey, for a cursor: a time whose timeKey
// is k.
func keyTime(k int64) time.Time {
	if k == math.MinInt64 {
		return time.Time{}
	}
	return time.Unix(0, k).UTC()
}

var (
	minKeyTime = time.Unix(0, math.MinInt64+1)
	maxKeyTime = time.Unix(0, math.MaxInt64)
)

func stateCode(s storage.State) int {
	switch s {
	case storage.StatePending:
		return 0
	case storage.StateKept:
		return 1
	case storage.StateDropped:
		return 2
	}
	return 3
}

// row is a session as its index columns.
type row struct {
	state                  int
	start, firstSeen, last int64
	dur, errors            int64
	device, os, browser    string
	user, pages            string
	ended                  bool
	data                   []byte
	events, rules          []string
}

// toRow maps s to its index columns; data is s encoded by encodeSession,
// or nil to encode it here.
func toRow(s storage.Session, data []byte) (row, error) {
	if data == nil {
		var err error
		if data, err = encodeSession(s); err != nil {
			return row{}, err
		}
	}
	r := row{
		state: stateCode(s.State), start: timeKey(s.Start), firstSeen: timeKey(s.FirstSeen), last: timeKey(s.LastSeen),
		dur: s.DurationMs, errors: int64(s.Errors),
		device: strings.ToLower(s.Device), os: strings.ToLower(s.OS), browser: strings.ToLower(s.Browser),
		user: s.Attrs["userId"], pages: strings.Join(s.Pages, "\n"), ended: s.Ended, data: data,
	}
	for tag, n := range s.Events {
		if n != 0 {
			r.events = append(r.events, tag)
		}
	}
	slices.Sort(r.events)
	if len(s.MatchedRules) > 0 {
		r.rules = slices.Compact(slices.Sorted(slices.Values(s.MatchedRules)))
	}
	return r, nil
}

// putRow inserts or replaces session s in the index, within tx; data is
// s encoded by encodeSession, or nil to encode it here. An update
// rewrites the session's facet rows only when they change (a batch seldom
// adds a custom event or a rule), and leaves its orphan record alone:
// there is none, since a session's first row clears it and every other
// write of one checks that the session has no row.
func putRow(ctx context.Context, tx *txn, s storage.Session, data []byte) error {
	r, err := toRow(s, data)
	if err != nil {
		return err
	}
	var n int64
	err = tx.QueryRowContext(ctx, qSessionRowN, s.Site, s.ID).Scan(&n)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		res, err := tx.ExecContext(ctx, qInsertRow,
			s.Site, s.ID, r.state, r.start, r.dur, r.device, r.os, r.browser, r.errors, r.user, r.ended, r.firstSeen, r.last, r.pages, r.data)
		if err != nil {
			return err
		}
		if n, err = res.LastInsertId(); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, qAddSite, s.Site); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, qDelOrphan, s.Site, s.ID); err != nil {
			return err
		}
		return addFacets(ctx, tx, n, s, r)
	case err != nil:
		return err
	}
	if _, err := tx.ExecContext(ctx, qUpdateRow,
		r.state, r.start, r.dur, r.device, r.os, r.browser, r.errors, r.user, r.ended, r.firstSeen, r.last, r.pages, r.data, n); err != nil {
		return err
	}
	if len(r.events) == 0 && len(r.rules) == 0 {
		_, err := tx.ExecContext(ctx, qDeleteFacets, n)
		return err
	}
	same, err := sameFacets(ctx, tx, n, r)
	if err != nil || same {
		return err
	}
	if _, err := tx.ExecContext(ctx, qDeleteFacets, n); err != nil {
		return err
	}
	return addFacets(ctx, tx, n, s, r)
}

// addFacets inserts the facet rows of session row n.
func addFacets(ctx context.Context, tx *txn, n int64, s storage.Session, r row) error {
	for _, f := range [...]struct {
		k  int
		vs []string
	}{{facetEvent, r.events}, {facetRule, r.rules}} {
		for _, v := range f.vs {
			if _, err := tx.ExecContext(ctx, qAddFacet, n, f.k, v, s.Site, r.start, s.ID); err != nil {
				return err
			}
		}
	}
	return nil
}

// sameFacets reports whether the facet rows of session row n are those of
// r: the same events and rules, with r's start.
func sameFacets(ctx context.Context, tx *txn, n int64, r row) (bool, error) {
	rows, err := tx.QueryContext(ctx, qFacetsOf, n)
	if err != nil {
		return false, err
	}
	defer rows.Close()
	var events, rules []string
	same := true
	for rows.Next() {
		var (
			k     int
			v     string
			start int64
		)
		if err := rows.Scan(&k, &v, &start); err != nil {
			return false, err
		}
		switch {
		case start != r.start:
			same = false
		case k == facetEvent:
			events = append(events, v)
		case k == facetRule:
			rules = append(rules, v)
		default:
			same = false
		}
	}
	if err := rows.Err(); err != nil {
		return false, err
	}
	slices.Sort(events)
	slices.Sort(rules)
	return same && slices.Equal(events, r.events) && slices.Equal(rules, r.rules), nil
}

// deleteRow removes a session's metadata and orphan record within tx and
// reports whether there was any.
func deleteRow(ctx context.Context, tx *txn, key storage.Key) (bool, error) {
	var n int64
	found := false
	err := tx.QueryRowContext(ctx, qSessionRowN, key.Site, key.Session).Scan(&n)
	switch {
	case err == nil:
		found = true
		if _, err := tx.ExecContext(ctx, qDeleteFacets, n); err != nil {
			return false, err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE n = ?`, n); err != nil {
			return false, err
		}
	case !errors.Is(err, sql.ErrNoRows):
		return false, err
	}
	res, err := tx.ExecContext(ctx, qDelOrphan, key.Site, key.Session)
	if err != nil {
		return false, err
	}
	if k, _ := res.RowsAffected(); k > 0 {
		found = true
	}
	return found, nil
}

// listQuery builds the SQL of a List: it picks the index that serves the
// most specific filter, so that rows come in listing order and the scan
// stops when the page is full. Filters that an index cannot serve are
// conditions on the rows it yields; the URL glob is checked in Go on the
// pages column, and every session is checked with Query.Match at the end,
// so the SQL only needs to admit every match.
func listQuery(q storage.Query, after *storage.Cursor) (string, []any) {
	f := listFilter(q)
	where, args := f.where, f.args
	cond := func(c string, a ...any) { where = append(where, c); args = append(args, a...) }
	start, id := f.start, f.id
	var order string
	if q.Site != "" {
		order = start + " DESC, " + id + " DESC"
	} else {
		order = "s.start DESC, s.id DESC, s.site DESC"
	}
	if after != nil {
		// The rows that sort after the cursor: (start, id, site) below it.
		t := timeKey(after.Start)
		if q.Site != "" {
			cond(start+" <= ?", t)
			cond("("+start+" < ? OR ("+id+" < ? OR ("+id+" = ? AND ?)))", t, after.ID, after.ID, q.Site < after.Site)
		} else {
			cond("(s.start, s.id, s.site) < (?, ?, ?)", t, after.ID, after.Site)
		}
	}
	sqlText := "SELECT s.start, s.id, s.site, s.pages, s.data FROM " + f.from
	if len(where) > 0 {
		sqlText += " WHERE " + strings.Join(where, " AND ")
	}
	return sqlText + " ORDER BY " + order, args
}

// filter is the FROM and WHERE of a query for the sessions that match a
// Query, but for its URL glob: from names the sessions table s, and
// start, id name the columns of the driving table that hold a session's
// start and id.
type filter struct {
	from, start, id string
	where           []string
	args            []any
}

// listFilter picks the index that serves the most specific filter of q
// and states every other filter but the URL glob as a condition. A row
// matches q's filters but URL exactly when it meets the conditions.
func listFilter(q storage.Query) filter {
	var (
		where []string
		args  []any
		from  string
	)
	cond := func(c string, a ...any) { where = append(where, c); args = append(args, a...) }

	// Columns of the driving table that hold site, start and id.
	site, start, id := "s.site", "s.start", "s.id"
	switch {
	case q.Site == "":
		from = "sessions s"
	case q.User != "":
		from = "sessions s INDEXED BY s_user"
		cond("s.user <> ''")
		cond("s.user = ?", q.User)
	case q.Event != "" || q.Rule != "":
		k, v := facetEvent, q.Event
		if q.Event == "" {
			k, v = facetRule, q.Rule
		}
		from = "facets f INDEXED BY f_list CROSS JOIN sessions s ON s.n = f.n"
		site, start, id = "f.site", "f.start", "f.id"
		cond("f.k = ?", k)
		cond("f.v = ?", v)
	case q.State == storage.FilterPending:
		from = "sessions s INDEXED BY s_pending"
	case q.State == storage.FilterDropped:
		from = "sessions s INDEXED BY s_dropped"
	case q.Error:
		from = "sessions s INDEXED BY s_error"
	default:
		from = "sessions s INDEXED BY s_list"
	}
	if q.Site != "" {
		cond(site+" = ?", q.Site)
	}
	switch q.State {
	case "", storage.FilterKept:
		cond("s.state = 1")
	case storage.FilterPending:
		cond("s.state = 0")
	case storage.FilterAll:
		cond("s.state IN (0, 1)")
	case storage.FilterDropped:
		cond("s.state = 2")
	case storage.FilterAny:
	default:
		cond("0")
	}
	if !q.From.IsZero() {
		cond(start+" >= ?", timeKey(q.From))
	}
	if !q.To.IsZero() {
		cond(start+" < ?", timeKey(q.To))
	}
	for _, f := range [...]struct{ col, v string }{{"s.device", q.Device}, {"s.os", q.OS}, {"s.browser", q.Browser}} {
		if f.v != "" {
			cond(f.col+" = ?", strings.ToLower(f.v))
		}
	}
	if q.Error {
		cond("s.errors > 0")
	}
	if q.MinDuration > 0 {
		cond("s.dur >= ?", q.MinDuration.Milliseconds())
	}
	if q.User != "" && !strings.Contains(from, "s_user") {
		cond("s.user = ?", q.User)
	}
	if q.Event != "" && !strings.Contains(from, "facets") {
		cond("EXISTS (SELECT 1 FROM facets g WHERE g.n = s.n AND g.k = ? AND g.v = ?)", facetEvent, q.Event)
	}
	if q.Rule != "" && (q.Event != "" || !strings.Contains(from, "facets")) {
		cond("EXISTS (SELECT 1 FROM facets g WHERE g.n = s.n AND g.k = ? AND g.v = ?)", facetRule, q.Rule)
	}
	if q.Open {
		cond("s.ended = 0")
	}
	if !q.LastSeenBefore.IsZero() {
		cond("s.last_seen < ?", timeKey(q.LastSeenBefore))
	}
	return filter{from: from, start: start, id: id, where: where, args: args}
}

// dueQuery builds the SQL of a Due call: site, id and the kind's time,
// oldest first.
func dueQuery(q storage.DueQuery, afterT int64, afterID string, hasCursor bool) (string, []any, error) {
	var (
		from, col string
		where     []string
		args      = []any{q.Site}
	)
	before := timeKey(q.Before)
	switch q.Kind {
	case storage.DueIdle:
		from, col = "sessions INDEXED BY s_idle", "last_seen"
		where = []string{"ended = 0", "state <> 2", "last_seen < ?"}
		args = append(args, before)
	case storage.DueLong:
		from, col = "sessions INDEXED BY s_long", "first_seen"
		where = []string{"ended = 0", "state <> 2", "first_seen < ?"}
		args = append(args, before)
	case storage.DueUndecided:
		from, col = "sessions INDEXED BY s_pending", "start"
		where = []string{"state = 0", "ended = 1"}
	case storage.DueExpired:
		from, col = "sessions INDEXED BY s_seen", "last_seen"
		where = []string{"last_seen < ?"}
		args = append(args, before)
	case storage.DueOrphaned:
		from, col = "orphans INDEXED BY o_since", "since"
		where = []string{"since < ?"}
		args = append(args, before)
	default:
		return "", nil, fmt.Errorf("unknown due kind %d", q.Kind)
	}
	where = append([]string{"site = ?"}, where...)
	if hasCursor {
		where = append(where, "("+col+", id) > (?, ?)")
		args = append(args, afterT, afterID)
	}
	args = append(args, q.PageSize()+1)
	return "SELECT id, " + col + " FROM " + from + " WHERE " + strings.Join(where, " AND ") +
		" ORDER BY " + col + ", id LIMIT ?", args, nil
}

// The cursor of Due: the kind's time and the id of the last key of a page.
func dueCursor(t int64, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(t, 10) + "/" + id))
}

func parseDueCursor(s string) (int64, string, error) {
	if len(s) > 200 {
		return 0, "", fmt.Errorf("%w: too long", storage.ErrInvalidCursor)
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil {
		return 0, "", fmt.Errorf("%w: not base64url", storage.ErrInvalidCursor)
	}
	ts, id, ok := strings.Cut(string(b), "/")
	t, err := strconv.ParseInt(ts, 10, 64)
	if !ok || err != nil || !validID(id) {
		return 0, "", fmt.Errorf("%w: not a due cursor", storage.ErrInvalidCursor)
	}
	return t, id, nil
}
