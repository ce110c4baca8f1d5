package filestore

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"iter"
	"slices"
	"sync"

	"github.com/sessionreplay/replay/storage"
)

// LockSession implements [storage.SessionLocker]: fn runs under the
// session's lock of this Store (one Store per directory, so of every
// process), and what it writes through st is buffered and committed when
// fn returns nil as one group of the journal, with one sync shared with
// the groups of other sessions committing at the same time, then applied
// to the index. When fn returns an error or panics, nothing it wrote is
// kept: the asset references it recorded are removed again (an asset that
// it stored and that no other session references is freed). Reads through
// st (Session, Chunks) see fn's own writes; List and the other reads see
// the Store. st refuses writes of another session than key.
func (s *Store) LockSession(ctx context.Context, key storage.Key, fn func(st storage.Store) error) error {
	if err := checkKey(key); err != nil {
		return wrapErr("lock session", err)
	}
	if err := s.begin(ctx); err != nil {
		return wrapErr("lock session", err)
	}
	defer s.end()
	defer s.lockKey(key)()
	return s.runView(ctx, key, fn)
}

// runView runs fn with a view of key and commits or undoes what it wrote.
// The caller holds the key's lock, or writes only asset references.
func (s *Store) runView(ctx context.Context, key storage.Key, fn func(st storage.Store) error) (err error) {
	v := &view{s: s, key: key}
	ok := false
	defer func() {
		v.done = true
		if !ok {
			v.undo(context.WithoutCancel(ctx))
		}
	}()
	if err := fn(v); err != nil {
		return err
	}
	v.done = true
	if err := v.commit(context.WithoutCancel(ctx)); err != nil {
		return wrapErr("commit", err)
	}
	ok = true
	return nil
}

// view is the store that LockSession hands to its function. It is used
// by one goroutine at a time, the one running the function.
type view struct {
	s       *Store
	key     storage.Key
	done    bool
	deleted bool              // a Delete of key: the group starts with a delete record
	ops     []*op             // buffered records, in order
	sess    *op               // the session's metadata record in ops, if any
	refs    []string          // assets the function referenced: a record of the group
	added   []string          // of them, the references new in the index: undone on failure
	assets  map[string][]byte // assets this view stores (records of ops)
}

var errViewDone = errors.New("filestore: the store of a LockSession used after its function returned")

func (v *view) check(op string, key storage.Key) error {
	if v.done {
		return wrapErr(op, errViewDone)
	}
	if err := checkKey(key); err != nil {
		return wrapErr(op, err)
	}
	if key != v.key {
		return wrapErr(op, fmt.Errorf("session %s/%s written through the LockSession of %s/%s", key.Site, key.Session, v.key.Site, v.key.Session))
	}
	return nil
}

func (v *view) Append(ctx context.Context, key storage.Key, c storage.Chunk) error {
	if err := v.check("append", key); err != nil {
		return err
	}
	if !validID(c.Window) || c.Seq < 0 {
		return wrapErr("append", fmt.Errorf("window %q, seq %d: %w", c.Window, c.Seq, storage.ErrInvalidKey))
	}
	if c.Events < 0 {
		return wrapErr("append", fmt.Errorf("negative event count %d", c.Events))
	}
	exists := func() error {
		return wrapErr("append", fmt.Errorf("%s/%s window %s seq %d: %w", key.Site, key.Session, c.Window, c.Seq, storage.ErrExists))
	}
	for _, o := range v.ops {
		if o.typ == recChunk && o.chunk.Window == c.Window && o.chunk.Seq == c.Seq {
			return exists()
		}
	}
	if !v.deleted {
		if err := v.s.begin(ctx); err != nil {
			return wrapErr("append", err)
		}
		var one int
		err := v.s.queryRow(ctx, qChunkExists, key.Site, key.Session, c.Window, c.Seq).Scan(&one)
		v.s.end()
		if err == nil {
			return exists()
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return wrapErr("append", err)
		}
	}
	c.Data = slices.Clone(c.Data)
	v.ops = append(v.ops, &op{typ: recChunk, key: key, chunk: c})
	return nil
}

func (v *view) Chunks(ctx context.Context, key storage.Key, window string) iter.Seq2[storage.Chunk, error] {
	if key != v.key || v.done {
		return v.s.Chunks(ctx, key, window)
	}
	return func(yield func(storage.Chunk, error) bool) {
		var mine []storage.Chunk
		for _, o := range v.ops {
			if o.typ == recChunk && (window == "" || o.chunk.Window == window) {
				c := o.chunk
				c.Data = slices.Clone(c.Data)
				mine = append(mine, c)
			}
		}
		slices.SortFunc(mine, func(a, b storage.Chunk) int {
			return cmp.Or(cmp.Compare(a.Window, b.Window), cmp.Compare(a.Seq, b.Seq))
		})
		var stored iter.Seq2[storage.Chunk, error] = func(func(storage.Chunk, error) bool) {}
		if !v.deleted {
			stored = v.s.Chunks(ctx, key, window)
		}
		// Merge the stored chunks and this view's, both in order.
		i := 0
		for c, err := range stored {
			if err != nil {
				yield(c, err)
				return
			}
			for i < len(mine) && cmp.Or(cmp.Compare(mine[i].Window, c.Window), cmp.Compare(mine[i].Seq, c.Seq)) < 0 {
				if !yield(mine[i], nil) {
					return
				}
				i++
			}
			if !yield(c, nil) {
				return
			}
		}
		for ; i < len(mine); i++ {
			if !yield(mine[i], nil) {
				return
			}
		}
	}
}

func (v *view) PutSession(ctx context.Context, sess storage.Session) error {
	key := storage.Key{Site: sess.Site, Session: sess.ID}
	if err := v.check("put session", key); err != nil {
		return err
	}
	sess = sess.Clone()
	data, err := encodeSession(sess)
	if err != nil {
		return wrapErr("put session", err)
	}
	if v.sess != nil {
		v.ops = slices.DeleteFunc(v.ops, func(o *op) bool { return o == v.sess })
	}
	// Encoded once: the journal record and the index row share it.
	v.sess = &op{typ: recSession, key: key, sess: sess, data: data}
	v.ops = append(v.ops, v.sess)
	return nil
}

func (v *view) Session(ctx context.Context, key storage.Key) (storage.Session, error) {
	if key == v.key && !v.done {
		if v.sess != nil {
			return v.sess.sess.Clone(), nil
		}
		if v.deleted {
			return storage.Session{}, wrapErr("session", fmt.Errorf("%s/%s: %w", key.Site, key.Session, storage.ErrNotFound))
		}
	}
	return v.s.Session(ctx, key)
}

func (v *view) List(ctx context.Context, q storage.Query) (storage.Page, error) {
	return v.s.List(ctx, q)
}

// Delete through the view drops what the view buffered and deletes what
// the Store holds of the session when the function's writes are
// committed, in the same group.
func (v *view) Delete(ctx context.Context, key storage.Key) error {
	if err := v.check("delete", key); err != nil {
		return err
	}
	found := len(v.ops) > 0
	if !found && !v.deleted {
		var err error
		if found, err = v.s.holds(ctx, key); err != nil {
			return wrapErr("delete", err)
		}
	}
	if !found {
		return wrapErr("delete", fmt.Errorf("%s/%s: %w", key.Site, key.Session, storage.ErrNotFound))
	}
	// The references recorded so far go with the delete.
	v.ops, v.sess, v.refs, v.added, v.assets, v.deleted = nil, nil, nil, nil, nil, true
	return nil
}

// holds reports whether the index holds anything of key.
func (s *Store) holds(ctx context.Context, key storage.Key) (bool, error) {
	if err := s.begin(ctx); err != nil {
		return false, err
	}
	defer s.end()
	var one int
	err := s.db.QueryRowContext(ctx, `SELECT 1 FROM sessions WHERE site = ?1 AND id = ?2
		UNION ALL SELECT 1 FROM orphans WHERE site = ?1 AND id = ?2
		UNION ALL SELECT 1 FROM chunks WHERE site = ?1 AND id = ?2
		UNION ALL SELECT 1 FROM asset_refs WHERE site = ?1 AND session = ?2
		UNION ALL SELECT 1 FROM views WHERE site = ?1 AND session = ?2
		UNION ALL SELECT 1 FROM deleting WHERE site = ?1 AND id = ?2 LIMIT 1`, key.Site, key.Session).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

func (v *view) PutAsset(ctx context.Context, key storage.Key, hash string, data []byte) error {
	if err := v.check("put asset", key); err != nil {
		return err
	}
	return v.s.putAsset(ctx, v, key, hash, data)
}

func (v *view) RefAssets(ctx context.Context, key storage.Key, hashes []string) ([]string, error) {
	if err := v.check("ref assets", key); err != nil {
		return nil, err
	}
	return v.s.refAssets(ctx, v, key, hashes)
}

func (v *view) Asset(ctx context.Context, site, hash string) ([]byte, error) {
	if b, ok := v.assets[hash]; ok && site == v.key.Site && !v.done {
		return slices.Clone(b), nil
	}
	return v.s.Asset(ctx, site, hash)
}

// commit writes the view's group and, for a delete, erases the session's
// records.
func (v *view) commit(ctx context.Context) error {
	if !v.deleted && len(v.ops) == 0 && len(v.refs) == 0 {
		return nil
	}
	ops := v.ops
	var exts []extent
	if v.deleted {
		var err error
		if exts, err = v.s.extentsOf(ctx, v.key); err != nil {
			return err
		}
		ops = append([]*op{{typ: recDelete, key: v.key, extents: exts}}, ops...)
	}
	if len(v.refs) > 0 {
		// The references recorded in the index are in the group too, so
		// that a replay restores them.
		ops = append(ops, &op{typ: recRefs, key: v.key, hashes: v.refs})
	}
	req, err := v.s.jw.commit(ops)
	if err != nil && v.deleted && errors.Is(wrapErr("", err), storage.ErrFull) && v.s.useReserve() {
		req, err = v.s.jw.commit(ops)
	}
	if err != nil {
		return err
	}
	if v.deleted {
		// With the records of the session, those of the assets it freed.
		if err := v.s.finishErasing(ctx, false); err != nil {
			v.s.log.Warn("filestore: erasing the records of a deleted session", "site", v.key.Site, "session", v.key.Session, "err", err)
		}
	}
	if len(req.freed) > 0 {
		v.s.dropFiles(ctx, req.freed)
	}
	return nil
}

// undo removes the asset references the view recorded, freeing the assets
// that no session references any more.
func (v *view) undo(ctx context.Context) {
	if len(v.added) == 0 {
		return
	}
	var freed []string
	err := v.s.write(ctx, func(tx *txn) (err error) {
		freed, err = dropSomeRefs(ctx, tx, v.key, v.added)
		return err
	})
	if err != nil {
		v.s.log.Warn("filestore: undoing the asset references of a failed write", "site", v.key.Site, "session", v.key.Session, "err", err)
		return
	}
	v.s.dropFiles(ctx, freed)
	if err := v.s.finishErasing(ctx, false); err != nil {
		v.s.log.Warn("filestore: erasing freed assets", "err", err)
	}
}

// extentsOf returns where the records of key are in the journal.
func (s *Store) extentsOf(ctx context.Context, key storage.Key) ([]extent, error) {
	return s.queryExtents(ctx, `SELECT seg, off, len FROM chunks WHERE site = ?1 AND id = ?2
		UNION ALL SELECT seg, off, len FROM recs WHERE site = ?1 AND id = ?2`, key.Site, key.Session)
}

// queryExtents runs a query of the index whose rows are (seg, off, len)
// and returns them.
func (s *Store) queryExtents(ctx context.Context, query string, args ...any) ([]extent, error) {
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var exts []extent
	for rows.Next() {
		var (
			e   extent
			seg int64
		)
		if err := rows.Scan(&seg, &e.off, &e.n); err != nil {
			return nil, err
		}
		e.seg = uint64(seg)
		exts = append(exts, e)
	}
	return exts, rows.Err()
}

// keyLock is the lock of one session, held by LockSession and the
// writes of the Store.
type keyLock struct {
	mu   sync.Mutex
	refs int
}

// lockKey takes key's lock and returns its release.
func (s *Store) lockKey(key storage.Key) func() {
	s.locksMu.Lock()
	l := s.locks[key]
	if l == nil {
		l = &keyLock{}
		s.locks[key] = l
	}
	l.refs++
	s.locksMu.Unlock()
	l.mu.Lock()
	return func() {
		l.mu.Unlock()
		s.locksMu.Lock()
		if l.refs--; l.refs == 0 {
			delete(s.locks, key)
		}
		s.locksMu.Unlock()
	}
}

var (
	_ storage.SessionLocker = (*Store)(nil)
	_ storage.AssetStore    = (*view)(nil)
)
