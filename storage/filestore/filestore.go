// Package filestore is a [storage.Store] on the local file system, safe
// against crashes: a write is either whole on disk or absent. Every write
// is a record of a journal, synced once per batch; an SQLite index of the
// journal serves the queries, so listing with any filter reads only the
// rows of the page it returns, whatever the number of sessions stored, and
// a lost index is rebuilt from the journal, metadata included.
//
// # Layout
//
// Under the directory given to [Open]:
//
//	LOCK                                   held (flock) while a Store is open
//	journal/<n>.log                        the journal: chunks, sessions' metadata,
//	                                       assets, references and deletions
//	index.db, index.db-wal, index.db-shm   the index of the journal (SQLite)
//	RESERVE                                1 MiB of room that a Delete frees on a full disk
//	sites/, assets/, tmp/, trash/          files of the format before the journal:
//	                                       moved into it at Open (chunks) or still
//	                                       read (asset files)
//
// The journal is a sequence of segments, n counting up in 16 hex digits and
// never reused; a new segment starts when the last passes 64 MiB. The
// writes of one [Store.LockSession] (a batch of the Recorder: its chunk, the
// assets it stores, the references it records and the session's metadata),
// or of one plain call, are a group of records followed by a commit
// record. A record is its length, a CRC-32C of its body, and the body: a
// type and the payload (a chunk's window, seq, event count and bytes; a
// session as JSON, Opaque included; an asset's site, hash and bytes; the
// hashes a session references; or the records a delete erases). The
// commit record holds the number of records of the group, a CRC-32C of
// their headers and the time of the commit.
//
// The index (SQLite through modernc.org/sqlite, pure Go) has a row per
// session: the whole [storage.Session] as a JSON blob, and typed columns
// for every filter of [storage.Query], each served by an index that yields
// rows in listing order (Start, ID, Site descending; the cursor is a keyset
// on them). Custom event tags and rule names are rows of a side table
// indexed by (site, value, start, id); the URL glob is checked on the
// session's pages column of the rows the chosen index yields. It also maps
// each chunk and each asset to its record (segment, offset, length), lists
// every record of each session (so Delete can erase them), and holds the
// orphans (sessions with chunks but no metadata), the assets' references,
// the views of each session, and the journal position it has applied.
//
// # Optional interfaces
//
// Besides [storage.Store], a Store implements [storage.SessionLocker]
// (LockSession, below), [storage.Sweeper] (the Recorder's Sweep asks the
// index what is due), [storage.AssetStore] (assets, below),
// [storage.ViewLog] (who read each session: a row per read, the newest 1000
// of a session kept, removed by Delete) and [storage.Counter] (the
// overview: one GROUP BY query on an index, see Performance).
//
// # Writes and LockSession
//
// [Store.LockSession] runs its function under the session's lock (one
// Store per directory, so that lock holds for every process) and hands it
// a view of the store that buffers what the function writes. When the
// function returns nil, the view's writes are appended to the journal as
// one group and synced, then applied to the index; the function's reads
// through the view (Session, Chunks, Asset) see its own writes. Commits
// are grouped: a commit that finds another syncing waits, and the next
// sync covers every group that queued meanwhile, so sessions written at
// the same time share one fsync. A plain [Store.Append], [Store.PutSession]
// or [Store.Delete] is a LockSession of its own, and a plain
// [Store.PutAsset] or [Store.RefAssets] a group of its own (without the
// session's lock): each is synced when it returns nil.
//
// # Assets
//
// An asset is a record of the journal, written in the group of the batch
// that stores it (no sync of its own), and a row of the index maps (site,
// hash) to it once the group is applied; another table holds the
// references (site, session, hash). [Store.PutAsset] of an asset the site
// has records the reference in the index at once, and in the group (so a
// replay restores it); [Store.RefAssets] does the same for every stored
// hash. A reference recorded in the index at once holds the asset against
// a concurrent Delete of another session; if the function of the
// LockSession then fails, its new references are removed again and an
// asset left without one is freed. When two sessions store the same new
// asset at the same time, the first group applied wins and the other
// record is dead space. [Store.Delete] removes the session's references,
// and frees the assets of its site no session references any more, in the
// transaction that applies the delete; their records are erased with the
// session's. Asset files of an earlier version (assets/<site>/<hash>-<random>.asset)
// are still read, and removed when freed (table asset_trash lists such
// files that a crash may have left, and Open removes them). A session that
// references an asset and has no metadata is recorded as an orphan, as its
// first chunk would be, so the Sweep deletes it (and frees its assets) if
// its metadata is never written.
//
// # Crash safety
//
// A LockSession (or a plain write) that returned nil is in the journal,
// synced: it survives a process crash and a power cut. One that did not
// return is wholly there or wholly absent: a group is applied only when
// its commit record is there and checks out. At Open, a write that a
// crash cut short at the end of the last segment (a group without its
// commit, or whose checksums fail) is cut off; the syncs are in order, so
// nothing after it was acknowledged. A write that fails before its sync
// (a full disk: an error wrapping [storage.ErrFull]), or whose update of
// the index fails after the sync, is cut off the journal again, and only
// the writes of that sync fail. After a failed sync of the journal, or a
// failed cut, every later write fails until the store is opened again,
// which replays the journal.
//
// The index runs in WAL mode with synchronous=NORMAL: its commits are not
// synced, since the journal is. Each transaction that applies groups also
// records the journal position they end at, so an index that lost its last
// commits (a power cut) catches up at Open by replaying the journal from
// that position: the work is the groups written since, not the size of the
// store. An index that is missing, or that SQLite cannot read (it is moved
// aside as index.db.damaged-<time>, and the failure logged), is rebuilt by
// replaying every segment: sessions come back with their metadata (the
// latest record of each), chunks, assets and the references the journal
// still holds. The views live only in the index and are lost with it.
// Because a reference's record may sit in a segment already removed (see
// Delete), the rebuild also makes one session per site, "recovered-assets",
// reference every asset, recorded as an orphan dated at the rebuild, so
// no asset a chunk may use is freed before the site's retention has passed
// since the rebuild; the Sweep then deletes it. A few other transactions
// are synced (synchronous=FULL on their own connection): views, notes of
// asset files, and dropping segments.
//
// Metadata and chunks never part ways for good: a chunk of a session with
// no metadata (its writer crashed between a plain Append and PutSession;
// the Recorder writes both in one group) makes the session an orphan in
// the index, found by [Store.Due] with [storage.DueOrphaned], and the
// Recorder's Sweep deletes it when its site's retention has passed.
//
// # Delete and the space of deleted sessions
//
// [Store.Delete] waits for a LockSession of the session in flight, then
// commits a group with a delete record that lists every record of the
// session in the journal (chunks, every metadata record it ever had,
// references); applying it removes the session from the index and notes
// the records in table erasing. Then their bodies are overwritten with
// zeros and synced, and the notes cleared; Open finishes what a crash
// interrupted. No record of a deleted session stays readable in the
// journal, and the index deletes with secure_delete (SQLite zeroes what it
// deletes); its log (index.db-wal) may hold copies of the session's last
// rows until later commits overwrite it.
// Delete needs a little room (its group, the index's update): on a full
// disk it removes the file RESERVE and tries again, so that deleting by
// retention can go on; Open makes the file again when there is room.
// (While a crash in the middle of an overwrite leaves a record whose
// checksum fails, the delete record that follows it tells a replay that
// it was erased on purpose; a record that fails its checksum with no
// delete record after it is damage, logged, and its group skipped.)
//
// The space of a deleted session is reclaimed when its segment empties: a
// segment other than the last is removed once it holds no live record (a
// chunk, the current metadata of a session, an asset); the index is synced
// first. Superseded metadata records (each batch writes the session's
// metadata anew) and dead asset records are space that their segment
// frees. With retention, sessions expire roughly in the order they were
// written, so old segments empty and go; a long-lived session keeps the
// segments that hold its chunks.
//
// # Rebuilding and migrating
//
// An index of version 1 (before assets and views) or 2 (before the
// journal) is upgraded in place at Open: it gains the tables it lacks.
// A directory written before the journal (a file per chunk under
// sites/<site>/<session>/) is moved into it at that first Open: each
// session directory becomes one group (its metadata from the index and a
// record per chunk file), synced 500 sessions at a time, and the
// directory is removed once the group is applied; then each session
// without chunks gets a metadata record. That Open reads every chunk once;
// later ones read none. A crash in between does it again, skipping what
// the index holds. A directory of the format before the index (a
// session.json per session) is read into a new index first (its metadata
// imported, a session directory without readable metadata becoming an
// orphan dated by its newest chunk), then moved into the journal the same
// way. Ids in those file names were encoded to stay distinct on
// case-insensitive file systems ('_' as "__", an upper-case X as "_x").
//
// # Performance
//
// Open reads no session: it opens the index, replays the journal from the
// position the index has applied (nothing, after a clean Close; the groups
// of the last moments, after a crash) and finishes what a crash left, in
// time independent of the number of sessions. A rebuild of a lost index
// reads the whole journal twice (once for the delete records, once to
// apply), in time proportional to its size. List runs one query
// on the index that serves its most specific filter (user id, custom event
// or rule, pending or dropped state, errors, else Start), which yields rows
// in listing order; the other filters are checked on those rows, and the
// scan stops when the page is full. Its cost is the rows read until then:
// small for any filter that matches a fair share of the site's sessions.
// A filter that matches few sessions and that no index serves (a URL glob
// that matches almost none) reads at most 5,000 rows per call and then
// returns the sessions it found, maybe none, with a Next cursor that goes
// on: a caller walks the pages until Next is empty, and must not take a
// short or empty page for the end.
//
// A batch of the Recorder (one LockSession: its chunk, its assets, its
// references, the session's metadata) costs one append to the journal and
// one fsync, shared with the batches of other sessions committing at the
// same time, and one unsynced transaction of the index (shared too: the
// groups of one sync are applied in one transaction). The index syncs only
// at its checkpoints. A new asset is a record of its batch and adds no
// sync. Delete adds a sync of each segment it erases records in, and of
// the index when it removes a segment. AddView is one synced transaction.
//
// Ingest through the Recorder, from the benchmark tool of the repository,
// beside the durable floor (gzip each batch, append it to a file, fsync)
// and memstore, on a 2-core virtual machine with nothing else running;
// medians of five rounds in which the paths run in turns:
//
//	go run ./internal/bench -time 5s -rounds 5
//
//	                            1 core               2 cores
//	                            MB/s   MB/cpu-s      MB/s
//	durable floor               131    146           208
//	replay on memstore          219    215           391
//	replay on filestore         119    123           151
//	filestore / durable floor   0.84 (0.66 to 1.18)  0.72 (0.63 to 0.96)
//
// A batch costs filestore one fsync, shared between the sessions that
// commit at the same time, like the floor's; what is left of the gap is
// CPU: the Recorder's work per batch, and the store's own. Per batch
// (BenchmarkBatch: read the session, append a 64 KiB chunk, reference 8
// assets, write the session back; one fsync) filestore uses about 1.0 ms
// of CPU against 0.3 ms on memstore, from 1.4 to 2.0 ms before the
// statements of a batch were prepared once per Store, the session encoded
// once per batch, unchanged facet rows kept and references added by set
// (go test ./storage/filestore -run '^$' -bench Batch -benchtime 1000x
// -cpu 1). In a CPU profile of the benchmark tool the store's methods take
// about a fifth of filestore's CPU, a quarter of that the fsync; they took
// a quarter before.
//
// Count reads the sessions of its range from the index that List would
// use, or, when it filters only on the state, from a covering index
// (site, start, state, errors) without reading the table; SQLite counts
// them per bucket. Its cost is the sessions in the range that the index
// yields, not the number stored; a URL glob reads the rows of the range
// into Go to match it.
//
// Figures from BenchmarkScale, at 1,000,000 sessions of one site (a mix of
// devices, 5% with errors, 30% with a common custom event, 2% a rare one,
// 1 to 5 pages each, 40% with a user id), on a shared 2-core virtual
// machine whose disk syncs in several milliseconds; latencies vary about
// threefold between runs there:
//
//	FILESTORE_BENCH_SESSIONS=1000000 FILESTORE_BENCH_DIR=/tmp/fs1m \
//	  go test ./storage/filestore -run '^$' -bench Scale -benchtime 100x -timeout 60m
//
//	index size           1,527 bytes per session (1.53 GB)
//	journal              856 bytes per session of metadata records (0.86 GB
//	                     in 14 segments; the benchmark writes no chunks);
//	                     with the metadata compressed since (zstd), at
//	                     100,000 sessions: index 1,083 and journal 514
//	                     bytes per session, against 1,508 and 850 before
//	                     in the same hour (FILESTORE_BENCH_SESSIONS=100000
//	                     ... -bench Scale/open -benchtime 1x -v);
//	                     loading 1M sessions took 8.4 min in rounds of 5,000
//	                     groups, one sync each
//	Open                 6.5 ms (the index intact: nothing to replay)
//	rebuild              5.1 min: Open with index.db and its log removed
//	                     (-bench Scale/rebuild -benchtime 1x with
//	                     FILESTORE_BENCH_REBUILD=1); the next Open 3.8 ms
//	Session (baseline)   p50 0.14 ms
//	PutSession, new      8.0 ms: a group of the journal, one sync
//	PutSession, update   2.5 ms
//
// The List and Count figures below were measured before the journal, at
// index version 2; their queries have not changed since.
//
//	List, a first page or the next (50 sessions)    p50 ms          p99 ms
//	  no filter                                     1.3             40
//	  one day (From, To)                            9.9             100
//	  device mobile (35%)                           12.1            48
//	  os, browser (15%)                             10.1, 10.6      90, 94
//	  url /checkout* (about half)                   14.9            94
//	  url /checkout/pay (a quarter)                 18.8            63
//	  event (30%), rare event (2%)                  13.6, 1.9       152, 87
//	  error (5%), rule (20%)                        2.2, 1.1        50, 70
//	  minDuration 5 min (8%)                        7.0             58
//	  user (about 2 sessions each)                  0.14            65
//	  state pending, all, dropped                   1.1, 4.8, 7.0   63, 46, 136
//	  mobile and error                              3.8             52
//	  one day, browser and url /cart                17.0            174
//	  url that matches none (bound: 5,000 rows)     187             576
//
// The p99 figures are those of a machine shared with other work; the p50
// of every filter above stays under 20 ms, and an earlier run measured
// most of them between 1 and 6 ms.
//
// Count, at the benchmark's default size (20,000 sessions of one site over
// 30 days, the mix above), on the same machine; the lowest and highest p50
// of three runs of 20 calls each, beside its baseline, the fallback of the
// read API for a store without Count (paging through List, counting in
// memory):
//
//	go test ./storage/filestore -run '^$' -bench 'Scale/count' -benchtime 20x -count 3
//
//	Count of a month (every session of the store)          p50 ms
//	  30 daily buckets, state kept (covering index)        9.8 to 12.1
//	  720 hourly buckets                                   11.9 to 13.5
//	  a day, 24 hourly buckets                             0.35 to 0.56
//	  device mobile (35%), daily                           42 to 49
//	  errors (5%), daily                                   1.0
//	  custom event (30%), daily                            47 to 91
//	  url /checkout* (about half), daily                   150 to 166
//	  baseline: List pages and CountSessions, daily        830 to 1,024
//
// # Limits
//
//   - One Store per directory: Open locks it, and a second Open, in this
//     process or another, fails with an error wrapping
//     [storage.ErrUnavailable] (after trying for a second) until the first
//     Store is closed (on Linux, the
//     BSDs and macOS; elsewhere nothing checks this, so do not do it).
//     Close releases the lock last, after the index is closed, so another
//     process never opens a half-closed store. Several processes cannot
//     share a directory; use a database store for that.
//   - Count reads every session of its range (SQLite counts them; nothing
//     is kept per interval): a month of a busy site is a scan of that
//     month's index entries, see the figures above. With Site "" (the
//     read API always names one) it reads every session of the store.
//   - List with Site "" (all sites, used only by a Sweep on a store without
//     [storage.Sweeper]) sorts every matching session; the read API always
//     names a site.
//   - Times in the index are Unix nanoseconds; times outside the years 1678
//     to 2262 sort and filter as those bounds (the session keeps its own).
//   - The file system must support rename within one file system and
//     fsync of files and directories (any local Unix file system).
//   - The writes of a LockSession are held in memory until its function
//     returns (a batch: at most a few MB). A record larger than 1 GiB is
//     refused.
//   - Files are reached through an [os.Root]: no id, symlink or ".." can
//     reach outside the directory, and ids that are not [storage.ValidID]
//     (1 to 64 of [A-Za-z0-9_-]) or a negative seq are refused with
//     [storage.ErrInvalidKey]. Symbolic links inside the directory that
//     stay inside it are followed; keep the directory private to the store.
package filestore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"iter"
	"log/slog"
	"os"
	"path"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/sessionreplay/replay/storage"
)

// Options configure a Store. The zero value, and nil, mean the defaults.
// Open copies what it needs; changing an Options afterwards has no effect,
// so one Options may be shared.
type Options struct {
	// Logger receives what Open finds wrong on disk (a damaged index that
	// it rebuilds, an unreadable session.json of the old format, a stray
	// file) and failures to clean up after a Delete. nil discards them.
	Logger *slog.Logger
}

// Store is a [storage.Store] in a directory. It is safe for concurrent use
// by multiple goroutines; only one Store may have a directory open at a time.
type Store struct {
	root *os.Root
	lock *os.File
	db   *sql.DB
	log  *slog.Logger
	now  func() time.Time

	// life counts the calls in flight, so that Close waits for them.
	life     sync.Mutex
	idle     *sync.Cond // signalled when inflight drops to 0
	inflight int
	closed   bool

	// locks are the session locks (LockSession and the writes of the
	// Store), one per session in use.
	locksMu sync.Mutex
	locks   map[storage.Key]*keyLock

	// wmu serialises the write transactions of the index: SQLite has one
	// writer at a time, and waiting here is cheaper than its busy loop.
	wmu sync.Mutex

	// dbSync is a connection to the index with synchronous=FULL, for the
	// few transactions that must be durable when they return (views, the
	// notes of new asset files, dropping journal segments).
	dbSync *sql.DB

	// stmts are the hot statements prepared on db, by SQL text (see
	// stmts.go); set at Open, read only after.
	stmts map[string]*sql.Stmt

	jw *jwriter
}

const (
	sitesDir   = "sites"
	trashDir   = "trash"
	tmpDir     = "tmp"
	lockFile   = "LOCK"
	reserve    = "RESERVE" // room kept for deletes on a full disk
	indexFile  = "index.db"
	metaFile   = "session.json" // the metadata of the format before the index
	tempPrefix = ".tmp-"
	dirPerm    = 0o750
	filePerm   = 0o640
)

// Open opens the store in dir, creating the directory if needed. It takes
// the directory's lock, opens the index (creating it, or rebuilding it from
// the journal when it is missing or damaged), replays the journal from the
// position the index has applied, cuts off a write that a crash
// interrupted, moves the files of an older format into the journal,
// finishes the deletes a crash interrupted and cleans what a crash left
// behind. opts may be nil. Call [Store.Close] to release the directory.
func Open(dir string, opts *Options) (*Store, error) {
	if opts == nil {
		opts = &Options{}
	}
	if err := os.MkdirAll(dir, dirPerm); err != nil {
		return nil, wrapErr("open", err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, wrapErr("open", err)
	}
	s := &Store{
		root:  root,
		log:   opts.Logger,
		locks: map[storage.Key]*keyLock{},
		now:   time.Now,
	}
	s.idle = sync.NewCond(&s.life)
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if err := s.open(); err != nil {
		s.release()
		return nil, err
	}
	return s, nil
}

func (s *Store) open() error {
	lock, err := s.root.OpenFile(lockFile, os.O_CREATE|os.O_RDWR, filePerm)
	if err != nil {
		return wrapErr("open", err)
	}
	s.lock = lock
	if err := lockDir(lock); err != nil {
		return wrapErr("open", err)
	}
	for _, d := range []string{sitesDir, assetsDir, trashDir, tmpDir, journalDir} {
		if err := s.root.Mkdir(d, dirPerm); err != nil && !errors.Is(err, fs.ErrExist) {
			return wrapErr("open", err)
		}
	}
	for _, d := range []string{trashDir, tmpDir} {
		entries, err := s.readDir(d)
		if err != nil {
			return wrapErr("open", err)
		}
		for _, e := range entries {
			if err := s.root.RemoveAll(path.Join(d, e.Name())); err != nil {
				return wrapErr("open: empty "+d, err)
			}
		}
	}
	ctx := context.Background()
	scan, err := s.openIndex(ctx)
	if err != nil {
		return wrapErr("open index", err)
	}
	if err := s.prepare(ctx); err != nil {
		return wrapErr("open index: prepare statements", err)
	}
	if err := s.openJournal(ctx); err != nil {
		return wrapErr("open: replay the journal", err)
	}
	if scan {
		if err := s.scan(ctx); err != nil {
			return wrapErr("open: read the files into the index", err)
		}
		if err := s.dropLostAssets(ctx); err != nil {
			return wrapErr("open: check the assets", err)
		}
	}
	if err := s.finishDeletes(ctx); err != nil {
		return wrapErr("open: finish deletes", err)
	}
	if err := s.migrate(ctx); err != nil {
		return wrapErr("open: move chunk files into the journal", err)
	}
	if err := s.finishErasing(ctx, true); err != nil {
		return wrapErr("open: finish erasing deleted sessions", err)
	}
	s.makeReserve()
	return wrapErr("open: finish deletes of assets", s.finishAssetTrash(ctx))
}

// openIndex opens index.db. A file that SQLite cannot read as an index is
// moved aside (index.db.damaged-<time>) and a new index is made. scan is
// true when the files must be read into the index: a new index, or an
// earlier scan that did not finish.
func (s *Store) openIndex(ctx context.Context) (scan bool, err error) {
	abs := path.Join(s.root.Name(), indexFile)
	for attempt := 0; ; attempt++ {
		db, err := openDB(abs, "NORMAL")
		if err != nil {
			return false, err
		}
		fresh, err := initSchema(ctx, db)
		if err == nil {
			var v string
			err = db.QueryRowContext(ctx, `SELECT v FROM meta WHERE k = ?`, metaScanned).Scan(&v)
			if err == nil || errors.Is(err, sql.ErrNoRows) {
				unscanned := err != nil
				if s.dbSync, err = openDB(abs, "FULL"); err != nil {
					db.Close()
					return false, err
				}
				s.dbSync.SetMaxOpenConns(1)
				s.db = db
				return fresh || unscanned, nil
			}
		}
		db.Close()
		if attempt > 0 || !(isCorrupt(err) || strings.Contains(err.Error(), "index version")) {
			return false, err
		}
		aside := fmt.Sprintf("%s.damaged-%d", indexFile, s.now().UnixNano())
		s.log.Error("filestore: the index is damaged; moving it aside and rebuilding it from the journal (the views of sessions are lost)",
			"index", indexFile, "movedTo", aside, "err", err)
		if err := s.root.Rename(indexFile, aside); err != nil {
			return false, err
		}
		for _, ext := range []string{"-wal", "-shm"} {
			if err := s.root.Rename(indexFile+ext, aside+ext); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return false, err
			}
		}
	}
}

// Close waits for the calls in flight, then closes the journal and the
// index (checkpointing its log into index.db) and releases the directory,
// in that order: another
// Store can open the directory only once this one is wholly closed. Calls
// that start after Close return an error wrapping [storage.ErrClosed];
// Close is safe to call more than once. An iterator of Chunks in use when
// Close is called yields ErrClosed at its next chunk.
func (s *Store) Close() error {
	s.life.Lock()
	if s.closed {
		s.life.Unlock()
		return nil
	}
	s.closed = true
	for s.inflight > 0 {
		s.idle.Wait()
	}
	s.life.Unlock()
	return wrapErr("close", s.release())
}

// release closes the index, the root and last the lock.
func (s *Store) release() error {
	var errs []error
	if s.jw != nil {
		errs = append(errs, s.jw.close())
	}
	if s.dbSync != nil {
		errs = append(errs, s.dbSync.Close())
	}
	if s.db != nil {
		errs = append(errs, s.closeStmts(), s.db.Close())
	}
	errs = append(errs, s.root.Close())
	if s.lock != nil {
		errs = append(errs, s.lock.Close()) // releases the flock
	}
	return errors.Join(errs...)
}

// begin starts a call: it fails once Close has begun, and otherwise counts
// the call in flight until end.
func (s *Store) begin(ctx context.Context) error {
	s.life.Lock()
	defer s.life.Unlock()
	if s.closed {
		return storage.ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	s.inflight++
	return nil
}

func (s *Store) end() {
	s.life.Lock()
	s.inflight--
	if s.inflight == 0 {
		s.idle.Broadcast()
	}
	s.life.Unlock()
}

// write runs f in a write transaction of the index.
func (s *Store) write(ctx context.Context, f func(tx *txn) error) error {
	return s.writeOn(ctx, s.db, f)
}

// writeOn runs f in a write transaction on db, one writer at a time.
func (s *Store) writeOn(ctx context.Context, db *sql.DB, f func(tx *txn) error) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	t := &txn{Tx: tx}
	if db == s.db {
		t.prep = s.stmts
	}
	if err := f(t); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// reserveBytes is the size of the file RESERVE: room that a Delete on a
// full disk frees for its own group and the index's update.
const reserveBytes = 1 << 20

// makeReserve writes the file RESERVE when it is missing and there is
// room for it.
func (s *Store) makeReserve() {
	if _, err := s.root.Lstat(reserve); err == nil {
		return
	}
	if err := s.writeFile(reserve, make([]byte, reserveBytes)); err != nil {
		s.log.Warn("filestore: no room for the reserve that deletes use on a full disk", "err", err)
	}
}

// useReserve removes the file RESERVE, so that a Delete on a full disk can
// go on, and reports whether there was one.
func (s *Store) useReserve() bool {
	if err := s.root.Remove(reserve); err != nil {
		return false
	}
	s.log.Warn("filestore: the disk is full; using the reserve to delete (it is made again at the next Open with room)")
	return true
}

// writeSynced runs f in a write transaction of the index that is synced
// when it returns, with every transaction before it.
func (s *Store) writeSynced(ctx context.Context, f func(tx *txn) error) error {
	return s.writeOn(ctx, s.dbSync, f)
}

// sessionDir is the directory of a session, relative to the root. key must
// be valid.
func sessionDir(key storage.Key) string {
	return path.Join(sitesDir, encodeName(key.Site), encodeName(key.Session))
}

func checkKey(key storage.Key) error {
	if !validID(key.Site) || !validID(key.Session) {
		return fmt.Errorf("site %q, session %q: %w", key.Site, key.Session, storage.ErrInvalidKey)
	}
	return nil
}

// Append implements [storage.Store.Append]: one group of the journal,
// synced when Append returns nil (see LockSession). A chunk of a session
// that has no metadata yet makes it an orphan in the index, so that a
// chunk whose session record is never written is still found ([Store.Due]
// with [storage.DueOrphaned]) and expired.
func (s *Store) Append(ctx context.Context, key storage.Key, c storage.Chunk) error {
	return s.LockSession(ctx, key, func(st storage.Store) error { return st.Append(ctx, key, c) })
}

// Chunks implements [storage.Store.Chunks]. It lists the session's chunks
// in the index when iteration starts and reads each record from the
// journal as it is yielded; a record whose checksum fails is an error.
func (s *Store) Chunks(ctx context.Context, key storage.Key, window string) iter.Seq2[storage.Chunk, error] {
	return func(yield func(storage.Chunk, error) bool) {
		fail := func(err error) { yield(storage.Chunk{}, wrapErr("chunks", err)) }
		if err := checkKey(key); err != nil {
			fail(err)
			return
		}
		if window != "" && !validID(window) {
			fail(fmt.Errorf("window %q: %w", window, storage.ErrInvalidKey))
			return
		}
		type loc struct {
			c storage.Chunk
			e extent
		}
		var locs []loc
		err := func() error {
			if err := s.begin(ctx); err != nil {
				return err
			}
			defer s.end()
			q := `SELECT win, seq, events, seg, off, len FROM chunks WHERE site = ? AND id = ?`
			args := []any{key.Site, key.Session}
			if window != "" {
				q += ` AND win = ?`
				args = append(args, window)
			}
			rows, err := s.db.QueryContext(ctx, q+` ORDER BY win, seq`, args...)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var (
					l   loc
					seg int64
				)
				if err := rows.Scan(&l.c.Window, &l.c.Seq, &l.c.Events, &seg, &l.e.off, &l.e.n); err != nil {
					return err
				}
				l.e.seg = uint64(seg)
				locs = append(locs, l)
			}
			return rows.Err()
		}()
		if err != nil {
			fail(err)
			return
		}
		var (
			f   *os.File
			seg uint64
		)
		defer func() {
			if f != nil {
				f.Close()
			}
		}()
		for _, l := range locs {
			// Each read is a call of its own, so Close never waits for
			// the loop of a caller.
			if err := s.begin(ctx); err != nil {
				fail(err)
				return
			}
			c, err := func() (storage.Chunk, error) {
				defer s.end()
				if f == nil || seg != l.e.seg {
					if f != nil {
						f.Close()
						f = nil
					}
					var err error
					if f, err = s.root.Open(segName(l.e.seg)); err != nil {
						return storage.Chunk{}, err
					}
					seg = l.e.seg
				}
				o, err := readRecord(f, l.e)
				if err != nil {
					return storage.Chunk{}, err
				}
				if o.typ != recChunk || o.key != key || o.chunk.Window != l.c.Window || o.chunk.Seq != l.c.Seq {
					return storage.Chunk{}, fmt.Errorf("%s at %d: not the record of chunk %s/%d", segName(l.e.seg), l.e.off, l.c.Window, l.c.Seq)
				}
				return o.chunk, nil
			}()
			if err != nil {
				fail(err)
				return
			}
			if !yield(c, nil) {
				return
			}
		}
	}
}

// PutSession implements [storage.Store.PutSession]: the session's
// metadata is a record of the journal, synced when PutSession returns
// nil, and its row of the index is written and its orphan record cleared.
func (s *Store) PutSession(ctx context.Context, sess storage.Session) error {
	key := storage.Key{Site: sess.Site, Session: sess.ID}
	return s.LockSession(ctx, key, func(st storage.Store) error { return st.PutSession(ctx, sess) })
}

// Session implements [storage.Store.Session], from the index.
func (s *Store) Session(ctx context.Context, key storage.Key) (storage.Session, error) {
	if err := checkKey(key); err != nil {
		return storage.Session{}, wrapErr("session", err)
	}
	if err := s.begin(ctx); err != nil {
		return storage.Session{}, wrapErr("session", err)
	}
	defer s.end()
	var data []byte
	err := s.queryRow(ctx, qSessionData, key.Site, key.Session).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return storage.Session{}, wrapErr("session", fmt.Errorf("%s/%s: %w", key.Site, key.Session, storage.ErrNotFound))
	}
	if err != nil {
		return storage.Session{}, wrapErr("session", err)
	}
	sess, err := decodeSession(data)
	if err != nil {
		return storage.Session{}, wrapErr("session", fmt.Errorf("%s/%s: %w", key.Site, key.Session, err))
	}
	return sess, nil
}

// maxScanRows bounds the rows one List call reads: a filter that no index
// serves and that matches few sessions (a URL glob that matches none)
// would otherwise read every session of the site. Past it, List returns
// the sessions it found, maybe none, and a Next cursor that goes on from
// the last row read.
var maxScanRows = 5_000

// List implements [storage.Store.List] with one query of the index, which
// reads rows in listing order from the index of the most specific filter
// and stops after the page (see the package documentation, Performance),
// or after 5,000 rows. A page may therefore hold fewer sessions than the
// limit, or none at all, and still have a Next cursor: when a filter that
// no index serves (a URL glob) matches few of the rows read, List returns
// what it found within the bound and a Next that goes on after the last
// row read. Only an empty Next ends a listing; walk the pages until then.
func (s *Store) List(ctx context.Context, q storage.Query) (storage.Page, error) {
	var after *storage.Cursor
	if q.Cursor != "" {
		c, err := storage.ParseCursor(q.Cursor)
		if err != nil {
			return storage.Page{}, wrapErr("list", err)
		}
		after = &c
	}
	if err := s.begin(ctx); err != nil {
		return storage.Page{}, wrapErr("list", err)
	}
	defer s.end()
	sqlText, args := listQuery(q, after)
	rows, err := s.db.QueryContext(ctx, sqlText, args...)
	if err != nil {
		return storage.Page{}, wrapErr("list", err)
	}
	defer rows.Close()
	size := q.PageSize()
	page := storage.Page{Sessions: make([]storage.Session, 0, min(size, 64))}
	for scanned := 1; rows.Next(); scanned++ {
		var (
			start    int64
			id, site string
			pages    string
			data     []byte
		)
		if err := rows.Scan(&start, &id, &site, &pages, &data); err != nil {
			return storage.Page{}, wrapErr("list", err)
		}
		if q.URL == "" || anyURL(q.URL, pages) {
			sess, err := decodeSession(data)
			if err != nil {
				return storage.Page{}, wrapErr("list", err)
			}
			if q.Match(sess) {
				if len(page.Sessions) == size {
					page.Next = storage.CursorAt(page.Sessions[size-1]).String()
					break
				}
				page.Sessions = append(page.Sessions, sess)
			}
		}
		if scanned >= maxScanRows {
			// Every row up to this one was read: go on after it.
			page.Next = storage.Cursor{Start: keyTime(start), ID: id, Site: site}.String()
			break
		}
	}
	if err := rows.Err(); err != nil {
		return storage.Page{}, wrapErr("list", err)
	}
	return page, nil
}

// anyURL reports whether one of the pages, joined by "\n", matches glob.
func anyURL(glob, pages string) bool {
	for p := range strings.SplitSeq(pages, "\n") {
		if storage.MatchURL(glob, p) {
			return true
		}
	}
	return false
}

// Delete implements [storage.Store.Delete]. It waits for a LockSession
// of the session in flight, then appends a delete record that lists the
// session's records, synced; applying it to the index removes the
// session's metadata, chunks, views and asset references, and the assets
// of its site that no session references any more. Then the bodies of the
// session's records are overwritten with zeros and synced, the segments
// left without a live record removed, and the freed assets' files
// removed. Open finishes what a crash interrupted, so metadata, chunks
// and assets never part ways, and no record of a deleted session stays
// readable on disk. A session that has only asset references or views is
// deleted too (nil).
func (s *Store) Delete(ctx context.Context, key storage.Key) error {
	return s.LockSession(ctx, key, func(st storage.Store) error { return st.Delete(ctx, key) })
}

// removeDir renames a session's directory into trash, clears its deleting
// record and removes it. The caller holds the key's lock or has the store
// to itself.
func (s *Store) removeDir(ctx context.Context, key storage.Key) error {
	dir := sessionDir(key)
	trash := path.Join(trashDir, rand.Text())
	err := s.root.Rename(dir, trash)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		trash = ""
	case err != nil:
		return err
	default:
		if err := errors.Join(s.syncDir(path.Dir(dir)), s.syncDir(trashDir)); err != nil {
			return err
		}
	}
	if err := s.write(ctx, func(tx *txn) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM deleting WHERE site = ? AND id = ?`, key.Site, key.Session)
		return err
	}); err != nil {
		return err
	}
	if trash != "" {
		if err := s.root.RemoveAll(trash); err != nil {
			// The session is gone already; the next Open empties the trash.
			s.log.Warn("filestore: cleaning up a deleted session", "path", trash, "err", err)
		}
	}
	return nil
}

// finishDeletes removes the directories of the deletions a crash
// interrupted.
func (s *Store) finishDeletes(ctx context.Context) error {
	rows, err := s.db.QueryContext(ctx, `SELECT site, id FROM deleting`)
	if err != nil {
		return err
	}
	var keys []storage.Key
	for rows.Next() {
		var k storage.Key
		if err := rows.Scan(&k.Site, &k.Session); err != nil {
			rows.Close()
			return err
		}
		keys = append(keys, k)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, k := range keys {
		if checkKey(k) != nil {
			continue
		}
		if err := s.removeDir(ctx, k); err != nil {
			return err
		}
	}
	return nil
}

// SweepSites implements [storage.Sweeper.SweepSites].
func (s *Store) SweepSites(ctx context.Context) ([]string, error) {
	if err := s.begin(ctx); err != nil {
		return nil, wrapErr("sweep sites", err)
	}
	defer s.end()
	rows, err := s.db.QueryContext(ctx, `SELECT site FROM sites`)
	if err != nil {
		return nil, wrapErr("sweep sites", err)
	}
	defer rows.Close()
	var sites []string
	for rows.Next() {
		var site string
		if err := rows.Scan(&site); err != nil {
			return nil, wrapErr("sweep sites", err)
		}
		sites = append(sites, site)
	}
	return sites, wrapErr("sweep sites", rows.Err())
}

// Due implements [storage.Sweeper.Due] with one query of a partial index
// of the index (see the package documentation, Performance).
func (s *Store) Due(ctx context.Context, q storage.DueQuery) (storage.DuePage, error) {
	if !validID(q.Site) {
		return storage.DuePage{}, wrapErr("due", fmt.Errorf("site %q: %w", q.Site, storage.ErrInvalidKey))
	}
	var (
		afterT  int64
		afterID string
	)
	if q.Cursor != "" {
		var err error
		if afterT, afterID, err = parseDueCursor(q.Cursor); err != nil {
			return storage.DuePage{}, wrapErr("due", err)
		}
	}
	sqlText, args, err := dueQuery(q, afterT, afterID, q.Cursor != "")
	if err != nil {
		return storage.DuePage{}, wrapErr("due", err)
	}
	if err := s.begin(ctx); err != nil {
		return storage.DuePage{}, wrapErr("due", err)
	}
	defer s.end()
	rows, err := s.db.QueryContext(ctx, sqlText, args...)
	if err != nil {
		return storage.DuePage{}, wrapErr("due", err)
	}
	defer rows.Close()
	var (
		page  storage.DuePage
		lastT int64
		size  = q.PageSize()
	)
	for rows.Next() {
		var (
			id string
			t  int64
		)
		if err := rows.Scan(&id, &t); err != nil {
			return storage.DuePage{}, wrapErr("due", err)
		}
		if len(page.Keys) == size {
			page.Next = dueCursor(lastT, page.Keys[size-1].Session)
			break
		}
		page.Keys = append(page.Keys, storage.Key{Site: q.Site, Session: id})
		lastT = t
	}
	return page, wrapErr("due", rows.Err())
}

func (s *Store) syncDir(dir string) error {
	f, err := s.root.Open(dir)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func (s *Store) readDir(dir string) ([]fs.DirEntry, error) {
	f, err := s.root.Open(dir)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.ReadDir(-1)
}

// wrapErr adds the package and operation to err, and marks a full disk or
// quota with [storage.ErrFull]. It returns nil for a nil err.
func wrapErr(op string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT), isFull(err):
		return fmt.Errorf("filestore: %s: %w: %w", op, storage.ErrFull, err)
	}
	return fmt.Errorf("filestore: %s: %w", op, err)
}

var (
	_ storage.Store   = (*Store)(nil)
	_ storage.Sweeper = (*Store)(nil)
)
