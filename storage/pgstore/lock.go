package pgstore

import (
	"context"
	"errors"
	"fmt"
	"iter"

	"github.com/jackc/pgx/v5"

	"github.com/sessionreplay/replay/storage"
)

// LockSession implements [storage.SessionLocker]: it runs fn in one
// transaction that first takes pg_advisory_xact_lock on a hash of key, so
// that the writes of one session are serialised across every process
// sharing the database, and commits fn's writes when fn returns nil. In
// blob mode, objects written by a transaction that rolls back are removed,
// and objects of chunks deleted by it only once it committed.
func (s *Store) LockSession(ctx context.Context, key storage.Key, fn func(st storage.Store) error) (err error) {
	const op = "lock session"
	if err := s.check(op, ctx); err != nil {
		return err
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return wrap(op, err)
	}
	ts := &txStore{s: s, tx: tx, key: key}
	committed := false
	defer func() {
		if !committed {
			_ = tx.Rollback(context.WithoutCancel(ctx))
			s.removeBlobs(ts.written)
		}
	}()
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, lockID(key)); err != nil {
		return wrap(op, err)
	}
	if err := fn(ts); err != nil {
		ts.done = true
		return err
	}
	ts.done = true
	if err := tx.Commit(context.WithoutCancel(ctx)); err != nil {
		return wrap(op+": commit", err)
	}
	committed = true
	s.removeBlobs(ts.deleted)
	return nil
}

// txStore is the view of a Store that LockSession hands to its function:
// every call runs in the transaction. It is used by one goroutine at a
// time, the one running the function.
type txStore struct {
	s       *Store
	tx      pgx.Tx
	key     storage.Key
	done    bool
	written []string // objects written, removed on rollback
	deleted []string // objects of deleted chunks, removed after commit
}

var errTxDone = errors.New("pgstore: the store of a LockSession used after its function returned")

func (t *txStore) check() error {
	if t.done {
		return errTxDone
	}
	return nil
}

func (t *txStore) Append(ctx context.Context, key storage.Key, c storage.Chunk) error {
	if err := t.check(); err != nil {
		return err
	}
	return t.s.appendChunk(ctx, t.tx, &t.written, key, c)
}

func (t *txStore) Chunks(ctx context.Context, key storage.Key, window string) iter.Seq2[storage.Chunk, error] {
	if err := t.check(); err != nil {
		return func(yield func(storage.Chunk, error) bool) { yield(storage.Chunk{}, err) }
	}
	return t.s.chunks(ctx, t.tx, key, window)
}

func (t *txStore) PutSession(ctx context.Context, sess storage.Session) error {
	if err := t.check(); err != nil {
		return err
	}
	return t.s.putSession(ctx, t.tx, sess)
}

func (t *txStore) Session(ctx context.Context, key storage.Key) (storage.Session, error) {
	if err := t.check(); err != nil {
		return storage.Session{}, err
	}
	return getSession(ctx, t.tx, key)
}

func (t *txStore) List(ctx context.Context, q storage.Query) (storage.Page, error) {
	if err := t.check(); err != nil {
		return storage.Page{}, err
	}
	return list(ctx, t.tx, q)
}

// Delete deletes in a savepoint, so that ErrNotFound leaves the
// transaction usable.
func (t *txStore) Delete(ctx context.Context, key storage.Key) error {
	const op = "delete"
	if err := t.check(); err != nil {
		return err
	}
	if err := checkCtx(op, ctx); err != nil {
		return err
	}
	sp, err := t.tx.Begin(ctx)
	if err != nil {
		return wrap(op, err)
	}
	if key != t.key {
		if _, err := sp.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, lockID(key)); err != nil {
			_ = sp.Rollback(context.WithoutCancel(ctx))
			return wrap(op, err)
		}
	}
	blobs, err := deleteRows(ctx, sp, key)
	if err != nil {
		_ = sp.Rollback(context.WithoutCancel(ctx))
		if errors.Is(err, storage.ErrNotFound) {
			return fmt.Errorf("pgstore: %s: %w", op, err)
		}
		return wrap(op, err)
	}
	if err := sp.Commit(ctx); err != nil {
		return wrap(op, err)
	}
	t.deleted = append(t.deleted, blobs...)
	return nil
}

var (
	_ storage.SessionLocker = (*Store)(nil)
	_ storage.Store         = (*txStore)(nil)
)
