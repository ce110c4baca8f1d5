// Package pgstore is a [storage.Store] in PostgreSQL, for sites that outgrow
// one machine: any number of processes, each with its own Recorder, share
// one database with no session affinity.
//
// # Layout
//
// A session is a row of typed columns; its pages (URLs and their paths),
// rules and custom event tags are arrays with GIN indexes. Every filter of
// [storage.Query] has an index, and the listing order (Start, ID, Site, all
// descending) is an index too: a page is an index range scan and the cursor
// is a keyset, never an OFFSET.
//
// A filter that matches rarely is served by an index that yields its
// sessions in the listing order, or by a small set read from an index
// alone: exact paths and event tags are also rows of side tables
// (session_paths, session_events), one per session and value in the
// listing order of each value, kept in step with the session's row by
// triggers in the transaction of each write; the index of durations and
// the partial index of sessions with errors cover the columns the listing
// needs, so that PostgreSQL may check them without reading the rows. Each
// listing is planned for its own arguments (see [Store.List]).
//
// Chunks are rows of their own. When [Options.Chunks] is set, their bytes
// go to that gocloud.dev/blob bucket (s3://, gs://, azblob://, file://,
// mem://) and only the object keys stay in PostgreSQL.
//
// The pool of connections is pgx's: set its size with pool_max_conns in the
// DSN (postgres://...?pool_max_conns=20); a batch holds one connection
// while it is written. Inside [Store.LockSession], read and write through
// its view, which uses the lock's connection: a call to the Store itself
// waits for a connection of the pool, which other LockSessions may all
// hold.
//
// The schema is embedded and migrated by [Open]: several processes may open
// one database at once (migrations run under an advisory lock), and a
// database whose schema is newer than the code is refused.
//
// # Many processes
//
// Store implements [storage.SessionLocker]: LockSession runs its function in
// one transaction that first takes pg_advisory_xact_lock on a hash of the
// session's key, so the batches of one session are serialised across every
// process, and what a function writes (chunk and session) is committed
// whole or not at all. Delete takes the same lock, so a delete waits for a
// batch in flight and a batch that waited for it sees the tombstone.
//
// # Optional interfaces
//
// Store also implements [storage.Sweeper], [storage.AssetStore],
// [storage.ViewLog], [storage.Counter] and [storage.PendingCounter]:
//
//   - Due reads one partial index per kind (open sessions by last or first
//     seen, pending and ended ones, every session by last seen, orphans by
//     the time of their first chunk), so a sweep's cost follows the
//     sessions it acts on, not the ended sessions kept. Sessions with
//     chunks and no metadata are rows of an orphans table, added by Append
//     and removed by PutSession and Delete.
//   - Assets are rows per (site, hash), their bytes in the row or, with
//     [Options.Chunks], in an object of the bucket whose key is unique per
//     write; references are rows per (site, session, hash). A reference
//     takes a share lock on its asset's row; Delete locks the rows of the
//     assets it dereferences, in hash order, before it deletes those that
//     no reference names, in the same transaction, so a reference in
//     flight keeps its asset. Objects of freed assets are removed after
//     the commit. The view of LockSession implements AssetStore too, in
//     its transaction, on the lock's connection: use it under the lock.
//   - Views are rows in the order of AddView; each AddView drops the
//     session's views beyond the newest [storage.MinViewsKept].
//   - Count is one GROUP BY over the listing's index range, with the
//     filters of List, buckets found by width_bucket.
//   - PendingBytes and OldestPending read a partial index of the pending
//     sessions alone, so the Recorders of every process share one bound on
//     a site's pending bytes.
//
// # Text
//
// PostgreSQL text holds neither NUL bytes nor invalid UTF-8. Such bytes in
// a session's facts (a page, an error message, an event tag, an attribute)
// are stored as U+FFFD, and filters are read the same way, so a batch that
// carries them is stored rather than refused on every retry. Site, session
// and window ids that hold them are refused with [storage.ErrInvalidKey].
//
// # Limits
//
//   - A URL glob without * is an index lookup. One with * is checked on
//     each session's row along the listing order: fast when it matches
//     often (a page of 50 is found early), slower the rarer its matches.
//   - Several filters that each match often but rarely together (a
//     device, an error and an event, say) are fast when one of them is
//     Error, MinDuration, User, an exact path or an event tag, whose
//     indexes serve the listing; others read more rows.
//   - Reading an index alone needs PostgreSQL's visibility map, which
//     autovacuum keeps; sessions written since its last pass are checked
//     in the table too.
//   - Paths and event tags longer than 1000 bytes have no side rows; they
//     are found through the GIN indexes instead, which read every match.
//   - Migrating a database to schema version 6 writes the side rows of
//     every stored session and rebuilds two indexes in one transaction:
//     minutes at 1,000,000 sessions, during which the sessions table is
//     locked.
//   - In blob mode an object is written before its row; a process that
//     dies between the two leaves an object no row names. Objects of
//     deleted chunks and freed assets are removed after the deletion
//     commits, best effort.
//   - Chunks without metadata stored before the orphans table existed
//     (schema version 2) count as received when the schema was migrated.
//   - References taken in one transaction (LockSession's view) hold share
//     locks on their assets until it ends, so a Delete that frees one of
//     them waits for it; two such transactions that put the same new
//     assets in opposite orders may deadlock, which PostgreSQL breaks by
//     failing one with an error wrapping [storage.ErrUnavailable].
//
// # Errors
//
// A database that cannot be reached is reported with errors wrapping
// [storage.ErrUnavailable]; one that is out of disk space with
// [storage.ErrFull]. Open names the host it could not reach, never the
// password.
//
// # Figures
//
// See README.md in this directory for the insert rate and listing latency
// measured at 1,000,000 sessions, with the command that measures them.
package pgstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"iter"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"

	"github.com/sessionreplay/replay/storage"
)

// Options configure a Store. The zero value, or a nil *Options, means the
// defaults.
type Options struct {
	// Chunks, when set, keeps the bytes of chunks in this bucket, one
	// object per chunk, and only their keys in PostgreSQL. The Store does
	// not close it.
	Chunks *blob.Bucket
	// Schema is the PostgreSQL schema that holds the tables; "" means the
	// connection's default (usually public). It is created when missing.
	// Lower-case letters, digits and underscores only.
	Schema string
	// ConnectTimeout bounds each attempt to connect when the DSN sets no
	// connect_timeout; 0 means 5 seconds.
	ConnectTimeout time.Duration
}

// Store is a [storage.Store] in PostgreSQL. Use [Open] to make one. A Store
// is safe for concurrent use by multiple goroutines, and several Stores, in
// one process or many, may share one database.
type Store struct {
	pool   *pgxpool.Pool
	bucket *blob.Bucket
	host   string

	closeOnce sync.Once
	closed    atomic.Bool
}

// querier is what the methods need of a connection pool or a transaction.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Begin(ctx context.Context) (pgx.Tx, error)
}

var schemaName = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// Open connects to the PostgreSQL database of dsn (a URL,
// postgres://user:password@host:port/db?sslmode=..., or key=value pairs),
// applies the embedded schema migrations, and returns the Store. It fails
// fast, naming the host but never the password, when the database cannot be
// reached; and refuses a database whose schema is newer than this code.
func Open(ctx context.Context, dsn string, opts *Options) (*Store, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Schema != "" && !schemaName.MatchString(o.Schema) {
		return nil, fmt.Errorf("pgstore: open: schema %q: want lower-case letters, digits and underscores", o.Schema)
	}
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// pgx redacts the password of the DSN in this error.
		return nil, fmt.Errorf("pgstore: open: %w", err)
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = o.ConnectTimeout
		if cfg.ConnConfig.ConnectTimeout <= 0 {
			cfg.ConnConfig.ConnectTimeout = 5 * time.Second
		}
	}
	if o.Schema != "" {
		cfg.ConnConfig.RuntimeParams["search_path"] = o.Schema
	}
	host := fmt.Sprintf("%s:%d", cfg.ConnConfig.Host, cfg.ConnConfig.Port)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("pgstore: open %s: %w", host, mapErr(err))
	}
	s := &Store{pool: pool, bucket: o.Chunks, host: host}
	if err := pool.Ping(ctx); err != nil {
		s.closePools()
		return nil, fmt.Errorf("pgstore: open: cannot connect to %s: %w", host, mapErr(err))
	}
	if err := migrate(ctx, pool, o.Schema); err != nil {
		s.closePools()
		return nil, fmt.Errorf("pgstore: open %s: %w", host, mapErr(err))
	}
	return s, nil
}

// Close closes the connections of the Store. Calls after Close return
// errors wrapping [storage.ErrClosed]. It does not close Options.Chunks.
func (s *Store) Close() error {
	s.closed.Store(true)
	s.closeOnce.Do(s.closePools)
	return nil
}

func (s *Store) closePools() {
	s.pool.Close()
}

// mapErr adds the storage sentinel that matches a database error: a
// connection that failed or was lost is [storage.ErrUnavailable], a full
// disk [storage.ErrFull], a closed pool [storage.ErrClosed]. Context errors
// are returned as they are (they wrap ctx.Err()).
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	if errors.Is(err, storage.ErrFull) || errors.Is(err, storage.ErrUnavailable) ||
		errors.Is(err, storage.ErrClosed) || errors.Is(err, storage.ErrNotFound) ||
		errors.Is(err, storage.ErrExists) || errors.Is(err, storage.ErrInvalidCursor) {
		return err
	}
	if strings.Contains(err.Error(), "closed pool") {
		return fmt.Errorf("%w: %w", storage.ErrClosed, err)
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case pe.Code == "53100": // disk_full
			return fmt.Errorf("%w: %w", storage.ErrFull, err)
		case pe.Code == "53300" || pe.Code == "53400" || // too many connections, configuration limit
			strings.HasPrefix(pe.Code, "08") || // connection exception
			pe.Code == "57P01" || pe.Code == "57P02" || pe.Code == "57P03" || // shutdown, cannot connect now
			pe.Code == "40001" || pe.Code == "40P01": // serialization failure, deadlock: try again
			return fmt.Errorf("%w: %w", storage.ErrUnavailable, err)
		}
		return err
	}
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) || pgconn.SafeToRetry(err) || pgconn.Timeout(err) || isNetErr(err) {
		return fmt.Errorf("%w: %w", storage.ErrUnavailable, err)
	}
	if gcerrors.Code(err) == gcerrors.ResourceExhausted {
		return fmt.Errorf("%w: %w", storage.ErrFull, err)
	}
	if c := gcerrors.Code(err); c == gcerrors.Unknown || c == gcerrors.Internal || c == gcerrors.DeadlineExceeded {
		if isBlobErr(err) {
			return fmt.Errorf("%w: %w", storage.ErrUnavailable, err)
		}
	}
	return err
}

// isNetErr reports an error of the network or of a connection that broke
// mid-statement.
func isNetErr(err error) bool {
	var ne interface{ Timeout() bool }
	if errors.As(err, &ne) {
		return true
	}
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		strings.Contains(err.Error(), "conn closed") || strings.Contains(err.Error(), "connection refused")
}

// isBlobErr reports an error that came from the bucket.
func isBlobErr(err error) bool {
	var be blobError
	return errors.As(err, &be)
}

// blobError marks an error of the bucket.
type blobError struct{ err error }

func (e blobError) Error() string { return "blob: " + e.err.Error() }
func (e blobError) Unwrap() error { return e.err }

// wrap returns err of operation op with its sentinel, or nil.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("pgstore: %s: %w", op, mapErr(err))
}

// check returns an error wrapping storage.ErrClosed after Close, or one
// wrapping ctx.Err() when ctx is done.
func (s *Store) check(op string, ctx context.Context) error {
	if s.closed.Load() {
		return fmt.Errorf("pgstore: %s: %w", op, storage.ErrClosed)
	}
	return checkCtx(op, ctx)
}

// checkCtx returns an error wrapping ctx.Err() when ctx is done.
func checkCtx(op string, ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("pgstore: %s: %w", op, err)
	}
	return nil
}

// Append implements [storage.Store.Append].
func (s *Store) Append(ctx context.Context, key storage.Key, c storage.Chunk) error {
	return s.appendChunk(ctx, s.pool, nil, key, c)
}

// Chunks implements [storage.Store.Chunks]. It reads the bytes of a few
// chunks at a time (at most 16, or 4 MiB) and holds no connection while
// the loop runs.
func (s *Store) Chunks(ctx context.Context, key storage.Key, window string) iter.Seq2[storage.Chunk, error] {
	return s.chunks(ctx, s.pool, key, window)
}

// PutSession implements [storage.Store.PutSession] in one transaction.
func (s *Store) PutSession(ctx context.Context, sess storage.Session) error {
	return s.putSession(ctx, s.pool, sess)
}

// Session implements [storage.Store.Session].
func (s *Store) Session(ctx context.Context, key storage.Key) (storage.Session, error) {
	if err := s.check("session", ctx); err != nil {
		return storage.Session{}, err
	}
	return getSession(ctx, s.pool, key)
}

// List implements [storage.Store.List] with one indexed query (see Layout),
// sent as an unnamed statement so that PostgreSQL plans it for its own
// arguments: how rare a path or a duration is decides which index serves
// it.
func (s *Store) List(ctx context.Context, q storage.Query) (storage.Page, error) {
	if err := s.check("list", ctx); err != nil {
		return storage.Page{}, err
	}
	return list(ctx, s.pool, q)
}

// Delete implements [storage.Store.Delete]. It takes the session's lock, so
// it waits for a LockSession of the same session in flight.
func (s *Store) Delete(ctx context.Context, key storage.Key) error {
	var blobs []string
	err := s.inTx(ctx, "delete", func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, lockID(key)); err != nil {
			return err
		}
		var err error
		blobs, err = deleteRows(ctx, tx, key)
		return err
	})
	if err != nil {
		return err
	}
	s.removeBlobs(blobs)
	return nil
}

// inTx runs fn in a transaction of the pool, committed when fn returns nil.
func (s *Store) inTx(ctx context.Context, op string, fn func(tx pgx.Tx) error) error {
	if err := s.check(op, ctx); err != nil {
		return err
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return wrap(op, err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // a no-op after Commit
	if err := fn(tx); err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return fmt.Errorf("pgstore: %s: %w", op, err)
		}
		return wrap(op, err)
	}
	return wrap(op, tx.Commit(ctx))
}

// lockID is the advisory lock key of a session: a 64-bit hash of its key.
func lockID(key storage.Key) int64 {
	h := fnv.New64a()
	h.Write([]byte(key.Site))
	h.Write([]byte{0})
	h.Write([]byte(key.Session))
	return int64(h.Sum64())
}

// blobKey returns a new object key for a chunk: unique per write, so that
// two racing Appends of one chunk never overwrite each other's object.
func blobKey(key storage.Key, c storage.Chunk) string {
	return fmt.Sprintf("chunks/%s/%s/%s/%d-%s", key.Site, key.Session, c.Window, c.Seq, randHex())
}

// randHex returns 16 random hex digits, for object keys unique per write.
func randHex() string {
	var r [8]byte
	_, _ = rand.Read(r[:])
	return hex.EncodeToString(r[:])
}

// appendChunk inserts a chunk. In blob mode it writes the object first and
// the row after, so that a row never names a missing object; an object
// whose row was not inserted is removed (or, inside a transaction, listed
// in *written so the caller removes it on rollback).
func (s *Store) appendChunk(ctx context.Context, q querier, written *[]string, key storage.Key, c storage.Chunk) error {
	const op = "append"
	if err := s.check(op, ctx); err != nil {
		return err
	}
	if err := validKey(key); err != nil {
		return err
	}
	if clean(c.Window) != c.Window || c.Window == "" {
		return fmt.Errorf("pgstore: append: window %q: %w", c.Window, storage.ErrInvalidKey)
	}
	var data []byte
	var bkey *string
	if s.bucket != nil {
		k := blobKey(key, c)
		if err := s.bucket.WriteAll(ctx, k, c.Data, nil); err != nil {
			return wrap(op, blobError{err})
		}
		bkey = &k
	} else {
		data = c.Data
		if data == nil {
			data = []byte{}
		}
	}
	// The chunk, and the session's orphans row when it has no metadata
	// yet (see Due with DueOrphaned), in one statement.
	var n int
	err := q.QueryRow(ctx, `WITH c AS (
			INSERT INTO chunks (site, session, window_id, seq, events, data, blob_key)
			VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING RETURNING 1
		), o AS (
			INSERT INTO orphans (site, session) SELECT $1, $2 FROM c
			WHERE NOT EXISTS (SELECT 1 FROM sessions WHERE site = $1 AND id = $2)
			ON CONFLICT DO NOTHING
		)
		SELECT count(*) FROM c`,
		key.Site, key.Session, c.Window, c.Seq, c.Events, data, bkey).Scan(&n)
	inserted := err == nil && n == 1
	if bkey != nil {
		switch {
		case !inserted:
			s.removeBlobs([]string{*bkey})
		case written != nil:
			*written = append(*written, *bkey)
		}
	}
	if err != nil {
		return wrap(op, err)
	}
	if !inserted {
		return fmt.Errorf("pgstore: append %s/%s window %s seq %d: %w", key.Site, key.Session, c.Window, c.Seq, storage.ErrExists)
	}
	return nil
}

// removeBlobs deletes objects whose rows are gone, best effort: an object
// that cannot be deleted is left behind, unreferenced.
func (s *Store) removeBlobs(keys []string) {
	if s.bucket == nil || len(keys) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, k := range keys {
		_ = s.bucket.Delete(ctx, k)
	}
}

// chunks yields a session's chunks. It never holds a connection while the
// caller's loop runs (a reader may pull several windows' chunks at once,
// more than the pool has connections): it lists the chunks first, then
// reads their bytes a few at a time. A chunk deleted meanwhile is left out.
func (s *Store) chunks(ctx context.Context, q querier, key storage.Key, window string) iter.Seq2[storage.Chunk, error] {
	return func(yield func(storage.Chunk, error) bool) {
		const op = "chunks"
		if err := s.check(op, ctx); err != nil {
			yield(storage.Chunk{}, err)
			return
		}
		type meta struct {
			c    storage.Chunk
			bkey *string
			size int64
		}
		rows, err := q.Query(ctx, `SELECT window_id, seq, events, blob_key, coalesce(octet_length(data), 0) FROM chunks
			WHERE site = $1 AND session = $2 AND ($3 = '' OR window_id = $3)
			ORDER BY window_id, seq`, key.Site, key.Session, window)
		if err != nil {
			yield(storage.Chunk{}, wrap(op, err))
			return
		}
		var list []meta
		for rows.Next() {
			var m meta
			if err := rows.Scan(&m.c.Window, &m.c.Seq, &m.c.Events, &m.bkey, &m.size); err != nil {
				rows.Close()
				yield(storage.Chunk{}, wrap(op, err))
				return
			}
			list = append(list, m)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			yield(storage.Chunk{}, wrap(op, err))
			return
		}
		for len(list) > 0 {
			// The next group: up to 16 chunks or 4 MiB of bytes.
			n, size := 0, int64(0)
			for n < len(list) && n < 16 && (n == 0 || size+list[n].size <= 4<<20) {
				size += list[n].size
				n++
			}
			group := list[:n]
			list = list[n:]
			data := make(map[chunkID][]byte)
			var windows []string
			var seqs []int64
			for _, m := range group {
				if m.bkey == nil {
					windows = append(windows, m.c.Window)
					seqs = append(seqs, int64(m.c.Seq))
				}
			}
			if len(windows) > 0 {
				rows, err := q.Query(ctx, `SELECT window_id, seq, data FROM chunks
					WHERE site = $1 AND session = $2 AND (window_id, seq) IN (SELECT * FROM unnest($3::text[], $4::bigint[]))`,
					key.Site, key.Session, windows, seqs)
				if err != nil {
					yield(storage.Chunk{}, wrap(op, err))
					return
				}
				for rows.Next() {
					var id chunkID
					var b []byte
					if err := rows.Scan(&id.window, &id.seq, &b); err != nil {
						rows.Close()
						yield(storage.Chunk{}, wrap(op, err))
						return
					}
					data[id] = b
				}
				rows.Close()
				if err := rows.Err(); err != nil {
					yield(storage.Chunk{}, wrap(op, err))
					return
				}
			}
			for _, m := range group {
				if err := ctx.Err(); err != nil {
					yield(storage.Chunk{}, fmt.Errorf("pgstore: %s: %w", op, err))
					return
				}
				c := m.c
				if m.bkey != nil {
					if s.bucket == nil {
						yield(storage.Chunk{}, fmt.Errorf("pgstore: chunks: chunk %s/%d is in a blob bucket, but the store has none (Options.Chunks)", c.Window, c.Seq))
						return
					}
					b, err := s.bucket.ReadAll(ctx, *m.bkey)
					if gcerrors.Code(err) == gcerrors.NotFound {
						continue // deleted since the listing
					}
					if err != nil {
						yield(storage.Chunk{}, wrap(op, blobError{err}))
						return
					}
					c.Data = b
				} else {
					b, ok := data[chunkID{c.Window, c.Seq}]
					if !ok {
						continue // deleted since the listing
					}
					c.Data = b
				}
				if c.Data == nil {
					c.Data = []byte{}
				}
				if !yield(c, nil) {
					return
				}
			}
		}
	}
}

// chunkID names a chunk within a session.
type chunkID struct {
	window string
	seq    int
}

// deleteRows deletes a session's rows and returns the object keys of its
// chunks, to be removed once the deletion is committed.
func deleteRows(ctx context.Context, tx querier, key storage.Key) ([]string, error) {
	rows, err := tx.Query(ctx, `DELETE FROM chunks WHERE site = $1 AND session = $2 RETURNING blob_key`, key.Site, key.Session)
	if err != nil {
		return nil, err
	}
	var blobs []string
	n := 0
	for rows.Next() {
		var k *string
		if err := rows.Scan(&k); err != nil {
			rows.Close()
			return nil, err
		}
		n++
		if k != nil {
			blobs = append(blobs, *k)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if _, err := tx.Exec(ctx, `DELETE FROM orphans WHERE site = $1 AND session = $2`, key.Site, key.Session); err != nil {
		return nil, err
	}
	// A session with asset references or views only is stored too: its
	// Delete returns nil, so that they are dropped for good.
	assetBlobs, refs, err := deleteAssetRefs(ctx, tx, key)
	if err != nil {
		return nil, err
	}
	n += refs
	blobs = append(blobs, assetBlobs...)
	views, err := deleteViews(ctx, tx, key)
	if err != nil {
		return nil, err
	}
	n += views
	tag, err := tx.Exec(ctx, `DELETE FROM sessions WHERE site = $1 AND id = $2`, key.Site, key.Session)
	if err != nil {
		return nil, err
	}
	if tag.RowsAffected() == 0 && n == 0 {
		return nil, fmt.Errorf("%s/%s: %w", key.Site, key.Session, storage.ErrNotFound)
	}
	return blobs, nil
}

// putSession inserts or replaces a session's row.
func (s *Store) putSession(ctx context.Context, q querier, sess storage.Session) error {
	const op = "put session"
	if err := s.check(op, ctx); err != nil {
		return err
	}
	if err := validKey(storage.Key{Site: sess.Site, Session: sess.ID}); err != nil {
		return err
	}
	events, err := json.Marshal(cleanMap(sess.Events, func(n int) int { return n }))
	if err != nil {
		return fmt.Errorf("pgstore: %s: %w", op, err)
	}
	attrs, err := json.Marshal(cleanMap(sess.Attrs, clean))
	if err != nil {
		return fmt.Errorf("pgstore: %s: %w", op, err)
	}
	var tags []string
	for tag, n := range sess.Events {
		if n != 0 {
			tags = append(tags, tag)
		}
	}
	// A session with metadata is no orphan.
	_, err = q.Exec(ctx, `WITH o AS (DELETE FROM orphans WHERE site = $1 AND session = $2) `+upsertSession, sessionArgs(sess, string(events), string(attrs), tags)...)
	return wrap(op, err)
}

// upsertSession inserts or replaces a session's row.
const upsertSession = `INSERT INTO sessions (site, id, state, start_at, end_at, duration_ms, active_ms,
		matched_rules, pages, entry_url, device, os, browser, device_key, os_key, browser_key,
		viewport_w, viewport_h, errors, error_messages, events, event_tags, clicks, rage_clicks,
		windows, window_ids, event_count, bytes, stored_bytes, attrs, user_id,
		first_seen, last_seen, ended, opaque, page_paths)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20,
		$21::jsonb, $22, $23, $24, $25, $26, $27, $28, $29, $30::jsonb, $31, $32, $33, $34, $35, $36)
	ON CONFLICT (site, id) DO UPDATE SET state = EXCLUDED.state, start_at = EXCLUDED.start_at,
		end_at = EXCLUDED.end_at, duration_ms = EXCLUDED.duration_ms, active_ms = EXCLUDED.active_ms,
		matched_rules = EXCLUDED.matched_rules, pages = EXCLUDED.pages, page_paths = EXCLUDED.page_paths,
		entry_url = EXCLUDED.entry_url,
		device = EXCLUDED.device, os = EXCLUDED.os, browser = EXCLUDED.browser,
		device_key = EXCLUDED.device_key, os_key = EXCLUDED.os_key, browser_key = EXCLUDED.browser_key,
		viewport_w = EXCLUDED.viewport_w, viewport_h = EXCLUDED.viewport_h, errors = EXCLUDED.errors,
		error_messages = EXCLUDED.error_messages, events = EXCLUDED.events, event_tags = EXCLUDED.event_tags,
		clicks = EXCLUDED.clicks, rage_clicks = EXCLUDED.rage_clicks, windows = EXCLUDED.windows,
		window_ids = EXCLUDED.window_ids, event_count = EXCLUDED.event_count, bytes = EXCLUDED.bytes,
		stored_bytes = EXCLUDED.stored_bytes, attrs = EXCLUDED.attrs, user_id = EXCLUDED.user_id,
		first_seen = EXCLUDED.first_seen, last_seen = EXCLUDED.last_seen, ended = EXCLUDED.ended,
		opaque = EXCLUDED.opaque`

// clean returns s as PostgreSQL text can hold it: invalid UTF-8 and NUL
// bytes, which a text column refuses, are each replaced by U+FFFD. Valid
// text without NUL, all that a browser normally sends, is unchanged.
func clean(s string) string {
	if utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}

func cleanAll(l []string) []string {
	out := make([]string, len(l))
	for i, v := range l {
		out[i] = clean(v)
	}
	return out
}

func cleanMap[V any](m map[string]V, value func(V) V) map[string]V {
	out := make(map[string]V, len(m))
	for k, v := range m {
		out[clean(k)] = value(v)
	}
	return out
}

// validKey reports whether PostgreSQL text can hold the ids of key.
func validKey(key storage.Key) error {
	if clean(key.Site) != key.Site || clean(key.Session) != key.Session || key.Site == "" || key.Session == "" {
		return fmt.Errorf("pgstore: %q/%q: %w", key.Site, key.Session, storage.ErrInvalidKey)
	}
	return nil
}

// sessionArgs returns the values of a session's row, in column order.
func sessionArgs(s storage.Session, events, attrs string, tags []string) []any {
	opaque := s.Opaque
	if opaque == nil {
		opaque = []byte{}
	}
	pages := cleanAll(s.Pages)
	paths := make([]string, len(pages))
	for i, p := range pages {
		paths[i] = storage.URLPath(p)
	}
	return []any{s.Site, s.ID, clean(string(s.State)), s.Start, s.End, s.DurationMs, s.ActiveMs,
		cleanAll(s.MatchedRules), pages, clean(s.EntryURL), clean(s.Device), clean(s.OS), clean(s.Browser),
		foldKey(clean(s.Device)), foldKey(clean(s.OS)), foldKey(clean(s.Browser)),
		s.Viewport.W, s.Viewport.H, s.Errors, cleanAll(s.ErrorMessages), events, cleanAll(tags),
		s.Clicks, s.RageClicks, s.Windows, cleanAll(s.WindowIDs), s.EventCount, s.Bytes, s.StoredBytes,
		attrs, clean(s.Attrs["userId"]), s.FirstSeen, s.LastSeen, s.Ended, opaque, paths}
}

// sessionColumns are the columns scanSession reads, in its order.
const sessionColumns = `site, id, state, start_at, end_at, duration_ms, active_ms, matched_rules, pages,
	entry_url, device, os, browser, viewport_w, viewport_h, errors, error_messages, events, clicks,
	rage_clicks, windows, window_ids, event_count, bytes, stored_bytes, attrs, first_seen, last_seen,
	ended, opaque`

// scanSession reads a row of sessionColumns.
func scanSession(row pgx.Row) (storage.Session, error) {
	var (
		s              storage.Session
		state          string
		events, attrs  []byte
		vw, vh, errors int
	)
	err := row.Scan(&s.Site, &s.ID, &state, &s.Start, &s.End, &s.DurationMs, &s.ActiveMs,
		&s.MatchedRules, &s.Pages, &s.EntryURL, &s.Device, &s.OS, &s.Browser, &vw, &vh, &errors,
		&s.ErrorMessages, &events, &s.Clicks, &s.RageClicks, &s.Windows, &s.WindowIDs, &s.EventCount,
		&s.Bytes, &s.StoredBytes, &attrs, &s.FirstSeen, &s.LastSeen, &s.Ended, &s.Opaque)
	if err != nil {
		return storage.Session{}, err
	}
	s.State = storage.State(state)
	s.Viewport = storage.Viewport{W: vw, H: vh}
	s.Errors = errors
	for _, t := range []*time.Time{&s.Start, &s.End, &s.FirstSeen, &s.LastSeen} {
		*t = t.UTC()
	}
	if err := json.Unmarshal(events, &s.Events); err != nil {
		return storage.Session{}, fmt.Errorf("events of %s/%s: %w", s.Site, s.ID, err)
	}
	if err := json.Unmarshal(attrs, &s.Attrs); err != nil {
		return storage.Session{}, fmt.Errorf("attrs of %s/%s: %w", s.Site, s.ID, err)
	}
	if len(s.Events) == 0 {
		s.Events = nil
	}
	if len(s.Attrs) == 0 {
		s.Attrs = nil
	}
	return s, nil
}

// getSession reads one session.
func getSession(ctx context.Context, q querier, key storage.Key) (storage.Session, error) {
	const op = "session"
	if err := checkCtx(op, ctx); err != nil {
		return storage.Session{}, err
	}
	s, err := scanSession(q.QueryRow(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE site = $1 AND id = $2`, key.Site, key.Session))
	if errors.Is(err, pgx.ErrNoRows) {
		return storage.Session{}, fmt.Errorf("pgstore: session %s/%s: %w", key.Site, key.Session, storage.ErrNotFound)
	}
	if err != nil {
		return storage.Session{}, wrap(op, err)
	}
	return s, nil
}

// foldKey returns s with every rune replaced by one representative of its
// Unicode case-folding orbit (the lower case of the orbit's smallest rune),
// so that foldKey(a) == foldKey(b) exactly when strings.EqualFold(a, b),
// the rule of the device, OS and browser filters. For ASCII it is
// strings.ToLower.
func foldKey(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		least := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			least = min(least, f)
		}
		b.WriteRune(unicode.ToLower(least))
	}
	return b.String()
}

var _ storage.Store = (*Store)(nil)
