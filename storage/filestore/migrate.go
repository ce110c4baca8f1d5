package filestore

import (
	"context"
	"database/sql"
	"errors"
	"io/fs"
	"path"
	"strings"
	"time"

	"github.com/sessionreplay/replay/storage"
)

const metaMigrated = "migrated" // set once the chunk files are in the journal

// migrateBatch bounds the sessions, and migrateBytes the bytes, that
// migrate writes per sync of the journal.
const (
	migrateBatch = 500
	migrateBytes = 32 << 20
)

// migrate moves a store of the format before the journal into it: each
// session directory's chunk files become chunk records, with the session's
// metadata record (from the index) in the same group, and the directory
// is removed once the group is applied; then every session that has
// metadata and no record of it in the journal (one without chunks) gets
// one, so that a rebuilt index recovers it. It runs once; a crash in
// between does it again, skipping what the index holds already.
func (s *Store) migrate(ctx context.Context) error {
	var v string
	err := s.db.QueryRowContext(ctx, `SELECT v FROM meta WHERE k = ?`, metaMigrated).Scan(&v)
	if err == nil {
		return nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	var (
		reqs  []*commitReq
		dirs  []string
		bytes int
		moved int
	)
	flush := func() error {
		if len(reqs) == 0 {
			return nil
		}
		if err := s.jw.commitAll(reqs); err != nil {
			return err
		}
		for _, d := range dirs {
			if err := s.root.RemoveAll(d); err != nil {
				return err
			}
		}
		moved += len(reqs)
		reqs, dirs, bytes = reqs[:0], dirs[:0], 0
		return nil
	}
	sites, err := s.readDir(sitesDir)
	if err != nil {
		return err
	}
	for _, site := range sites {
		siteID, ok := decodeName(site.Name())
		if !ok || !site.IsDir() {
			continue
		}
		entries, err := s.readDir(path.Join(sitesDir, site.Name()))
		if err != nil {
			return err
		}
		for _, e := range entries {
			id, ok := decodeName(e.Name())
			if !ok || !e.IsDir() {
				continue
			}
			key := storage.Key{Site: siteID, Session: id}
			ops, n, err := s.legacyOps(ctx, key)
			if err != nil {
				return err
			}
			if len(ops) > 0 {
				reqs = append(reqs, &commitReq{ops: ops, at: s.now(), done: make(chan struct{})})
				bytes += n
			}
			dirs = append(dirs, sessionDir(key))
			if len(reqs) >= migrateBatch || bytes >= migrateBytes {
				if err := flush(); err != nil {
					return err
				}
			}
		}
		if err := flush(); err != nil {
			return err
		}
		if err := s.root.Remove(path.Join(sitesDir, site.Name())); err != nil && !errors.Is(err, fs.ErrExist) && !strings.Contains(err.Error(), "not empty") {
			s.log.Warn("filestore: removing an emptied site directory", "path", path.Join(sitesDir, site.Name()), "err", err)
		}
	}
	if err := flush(); err != nil {
		return err
	}
	// Sessions without chunks (tombstones, sessions whose chunks were
	// never written): a record of their metadata.
	for {
		rows, err := s.db.QueryContext(ctx, `SELECT data FROM sessions s WHERE NOT EXISTS
			(SELECT 1 FROM recs r WHERE r.site = s.site AND r.id = s.id AND r.cur = 1) LIMIT ?`, migrateBatch)
		if err != nil {
			return err
		}
		for rows.Next() {
			var data []byte
			if err := rows.Scan(&data); err != nil {
				rows.Close()
				return err
			}
			sess, err := decodeSession(data)
			if err != nil {
				rows.Close()
				return err
			}
			reqs = append(reqs, &commitReq{ops: []*op{{typ: recSession, key: storage.Key{Site: sess.Site, Session: sess.ID}, sess: sess}}, at: s.now(), done: make(chan struct{})})
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if len(reqs) == 0 {
			break
		}
		if err := flush(); err != nil {
			return err
		}
	}
	if moved > 0 {
		s.log.Info("filestore: moved sessions into the journal", "sessions", moved)
	}
	return s.write(ctx, func(tx *txn) error {
		_, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO meta (k, v) VALUES (?, ?)`, metaMigrated, time.Now().UTC().Format(time.RFC3339))
		return err
	})
}

// legacyOps reads a session directory of the format before the journal:
// the session's metadata record (when the index has it) and a record per
// chunk file that the index does not hold yet.
func (s *Store) legacyOps(ctx context.Context, key storage.Key) ([]*op, int, error) {
	dir := sessionDir(key)
	entries, err := s.readDir(dir)
	if err != nil {
		return nil, 0, err
	}
	var (
		ops   []*op
		bytes int
	)
	var data []byte
	err = s.db.QueryRowContext(ctx, `SELECT data FROM sessions WHERE site = ? AND id = ?`, key.Site, key.Session).Scan(&data)
	switch {
	case err == nil:
		sess, err := decodeSession(data)
		if err != nil {
			return nil, 0, err
		}
		ops = append(ops, &op{typ: recSession, key: key, sess: sess})
	case !errors.Is(err, sql.ErrNoRows):
		return nil, 0, err
	}
	for _, e := range entries {
		w, seq, ok := parseChunkName(e.Name())
		if !ok {
			continue
		}
		var one int
		err := s.db.QueryRowContext(ctx, `SELECT 1 FROM chunks WHERE site = ? AND id = ? AND win = ? AND seq = ?`, key.Site, key.Session, w, seq).Scan(&one)
		if err == nil {
			continue // moved by an earlier try
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return nil, 0, err
		}
		name := path.Join(dir, e.Name())
		b, err := s.root.ReadFile(name)
		if err != nil {
			return nil, 0, err
		}
		c := storage.Chunk{Window: w, Seq: seq}
		if err := decodeChunk(b, &c); err != nil {
			s.log.Error("filestore: dropping a damaged chunk file while moving it into the journal", "path", name, "err", err)
			continue
		}
		ops = append(ops, &op{typ: recChunk, key: key, chunk: c})
		bytes += len(c.Data)
	}
	if len(ops) == 1 && ops[0].typ == recSession {
		// A directory without chunks: the session's record comes with
		// the sessions without chunks.
		return nil, 0, nil
	}
	return ops, bytes, nil
}

// commitAll writes reqs as one round; Open uses it, with no call in
// flight.
func (w *jwriter) commitAll(reqs []*commitReq) error {
	if err := w.round(reqs); err != nil {
		w.err = err
		return err
	}
	for _, r := range reqs {
		if r.err != nil {
			return r.err
		}
	}
	return nil
}

// dropLostAssets removes the asset rows whose file is gone, after the
// index was rebuilt from the journal (which may name assets freed since).
func (s *Store) dropLostAssets(ctx context.Context) error {
	rows, err := s.db.QueryContext(ctx, `SELECT site, hash, file FROM assets`)
	if err != nil {
		return err
	}
	type lost struct{ site, hash string }
	var gone []lost
	for rows.Next() {
		var l lost
		var file string
		if err := rows.Scan(&l.site, &l.hash, &file); err != nil {
			rows.Close()
			return err
		}
		if _, err := s.root.Lstat(file); errors.Is(err, fs.ErrNotExist) {
			gone = append(gone, l)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(gone) == 0 {
		return err
	}
	return s.write(ctx, func(tx *txn) error {
		for _, l := range gone {
			for _, q := range []string{`DELETE FROM assets WHERE site = ? AND hash = ?`, `DELETE FROM asset_refs WHERE site = ? AND hash = ?`} {
				if _, err := tx.ExecContext(ctx, q, l.site, l.hash); err != nil {
					return err
				}
			}
		}
		return nil
	})
}
