package filestore

import (
	"context"
	"database/sql"
	"errors"
)

// The statements that every batch runs (reads of the session and of its
// chunks, the updates of the index that apply a group) are prepared once,
// at Open, on the index's handle of synchronous=NORMAL: preparing a
// statement (parsing its SQL, planning it) costs SQLite more than running
// one of these, which each touch a few rows. database/sql prepares a
// statement again on each connection of the pool the first time that
// connection runs it, and keeps it there; a transaction binds it with
// Tx.StmtContext. Every other statement (those of Open, Delete, the
// queries built per call) is prepared when it runs, as before.

// Hot statements, by their SQL text.
const (
	qSessionData = `SELECT data FROM sessions WHERE site = ? AND id = ?`
	qChunkExists = `SELECT 1 FROM chunks WHERE site = ? AND id = ? AND win = ? AND seq = ?`
	qAssetExists = `SELECT 1 FROM assets WHERE site = ? AND hash = ?`
	qAddRef      = `INSERT OR IGNORE INTO asset_refs (site, session, hash) VALUES (?, ?, ?)`
	// The hashes of the JSON array ?3 that session (?1, ?2) references.
	qHeldRefs = `SELECT j.value FROM json_each(?3) j WHERE EXISTS (SELECT 1 FROM asset_refs WHERE site = ?1 AND session = ?2 AND hash = j.value)`
	// The hashes of the JSON array ?2 that site ?1 does not have.
	qMissingAssets = `SELECT j.value FROM json_each(?2) j WHERE NOT EXISTS (SELECT 1 FROM assets WHERE site = ?1 AND hash = j.value)`
	// Adds the references of session (?1, ?2) to the assets of the JSON
	// array ?3 that the site has. (RETURNING would name the new ones, at
	// the cost of a temporary table per call.)
	qAddRefs = `INSERT OR IGNORE INTO asset_refs (site, session, hash)
		SELECT ?1, ?2, j.value FROM json_each(?3) j WHERE EXISTS (SELECT 1 FROM assets WHERE site = ?1 AND hash = j.value)`
	qAddOrphan    = `INSERT OR IGNORE INTO orphans (site, id, since) SELECT ?1, ?2, ?3 WHERE NOT EXISTS (SELECT 1 FROM sessions WHERE site = ?1 AND id = ?2)`
	qAddSite      = `INSERT OR IGNORE INTO sites (site) VALUES (?)`
	qAddChunk     = `INSERT OR IGNORE INTO chunks (site, id, win, seq, events, seg, off, len) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`
	qUncurRecs    = `UPDATE recs SET cur = 0 WHERE site = ? AND id = ? AND cur = 1`
	qAddRec       = `INSERT OR REPLACE INTO recs (site, id, seg, off, len, cur) VALUES (?, ?, ?, ?, ?, ?)`
	qAddAsset     = `INSERT OR IGNORE INTO assets (site, hash, file, size) VALUES (?, ?, '', ?)`
	qAddJAsset    = `INSERT OR REPLACE INTO jassets (site, hash, seg, off, len) VALUES (?, ?, ?, ?, ?)`
	qSetMeta      = `INSERT OR REPLACE INTO meta (k, v) VALUES (?, ?)`
	qSessionRowN  = `SELECT n FROM sessions WHERE site = ? AND id = ?`
	qInsertRow    = `INSERT INTO sessions (site, id, state, start, dur, device, os, browser, errors, user, ended, first_seen, last_seen, pages, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	qUpdateRow    = `UPDATE sessions SET state = ?, start = ?, dur = ?, device = ?, os = ?, browser = ?, errors = ?, user = ?, ended = ?, first_seen = ?, last_seen = ?, pages = ?, data = ? WHERE n = ?`
	qDeleteFacets = `DELETE FROM facets WHERE n = ?`
	qAddFacet     = `INSERT INTO facets (n, k, v, site, start, id) VALUES (?, ?, ?, ?, ?, ?)`
	qFacetsOf     = `SELECT k, v, start FROM facets WHERE n = ?`
	qDelOrphan    = `DELETE FROM orphans WHERE site = ? AND id = ?`
)

var hotStatements = []string{
	qSessionData, qChunkExists, qAssetExists, qAddRef, qHeldRefs, qMissingAssets, qAddRefs, qAddOrphan, qAddSite, qAddChunk,
	qUncurRecs, qAddRec, qAddAsset, qAddJAsset, qSetMeta,
	qSessionRowN, qInsertRow, qUpdateRow, qDeleteFacets, qAddFacet, qFacetsOf, qDelOrphan,
}

// prepare prepares the hot statements on s.db.
func (s *Store) prepare(ctx context.Context) error {
	s.stmts = make(map[string]*sql.Stmt, len(hotStatements))
	for _, q := range hotStatements {
		st, err := s.db.PrepareContext(ctx, q)
		if err != nil {
			return err
		}
		s.stmts[q] = st
	}
	return nil
}

// closeStmts closes the prepared statements.
func (s *Store) closeStmts() error {
	var errs []error
	for _, st := range s.stmts {
		errs = append(errs, st.Close())
	}
	s.stmts = nil
	return errors.Join(errs...)
}

// queryRow runs a query of one row on s.db, prepared when it is a hot
// statement.
func (s *Store) queryRow(ctx context.Context, q string, args ...any) *sql.Row {
	if st := s.stmts[q]; st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return s.db.QueryRowContext(ctx, q, args...)
}

// queryStrings runs a hot query of one text column and returns its
// values: within tx, or on s.db when tx is nil.
func (s *Store) queryStrings(ctx context.Context, tx *txn, q string, args ...any) ([]string, error) {
	var (
		rows *sql.Rows
		err  error
	)
	switch st := s.stmts[q]; {
	case tx != nil:
		rows, err = tx.QueryContext(ctx, q, args...)
	case st != nil:
		rows, err = st.QueryContext(ctx, args...)
	default:
		rows, err = s.db.QueryContext(ctx, q, args...)
	}
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// txn is a write transaction of the index. Its ExecContext, QueryContext
// and QueryRowContext run a hot statement prepared (bound to the
// transaction once, at its first use), any other as *sql.Tx would.
type txn struct {
	*sql.Tx
	prep  map[string]*sql.Stmt // the Store's prepared statements, nil on dbSync
	bound map[string]*sql.Stmt // of them, those bound to this transaction
}

// stmt returns hot statement q bound to t, or nil when q is not one.
func (t *txn) stmt(ctx context.Context, q string) *sql.Stmt {
	if st := t.bound[q]; st != nil {
		return st
	}
	p := t.prep[q]
	if p == nil {
		return nil
	}
	st := t.Tx.StmtContext(ctx, p)
	if t.bound == nil {
		t.bound = make(map[string]*sql.Stmt, 8)
	}
	t.bound[q] = st
	return st
}

func (t *txn) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if st := t.stmt(ctx, q); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return t.Tx.ExecContext(ctx, q, args...)
}

func (t *txn) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if st := t.stmt(ctx, q); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return t.Tx.QueryContext(ctx, q, args...)
}

func (t *txn) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	if st := t.stmt(ctx, q); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return t.Tx.QueryRowContext(ctx, q, args...)
}
