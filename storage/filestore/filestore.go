// Package filestore is a [storage.Store] on the local file system, safe
// against crashes: a write is either whole on disk or absent.
//
// # Layout
//
// Under the directory given to [Open]:
//
//	LOCK                                   held (flock) while a Store is open
//	sites/<site>/<session>/session.json    metadata, JSON
//	sites/<site>/<session>/<window>.<seq>.chunk
//	sites/<site>/<session>/.tmp-*          writes in progress
//	trash/<random>                         sessions being deleted
//
// Ids are stored under names that stay distinct on case-insensitive file
// systems: '_' is written "__" and an upper-case letter X is written "_x"
// ("Ab_c" becomes "_ab__c"). A chunk file holds a magic number, the event
// count, a CRC-32C of the bytes and the bytes as given to Append;
// session.json holds the [storage.Session] and its Opaque bytes.
//
// # Durability
//
// Every file is written to a temp file in its final directory, synced, then
// moved into place and the directory synced. A chunk is moved with a hard
// link, which fails when the chunk exists, so an Append is stored once even
// when two race; session.json is renamed over the old one. Delete renames the
// session's directory into trash (the point where it is gone) and then
// removes it. Open removes temp files and trash that a crash left behind.
// A full disk or quota is an error wrapping [storage.ErrFull]. A damaged file
// is an error when it is read (chunks carry a checksum) and never makes Open
// fail: Open logs an unreadable session.json and skips it, and the next
// PutSession of that session replaces it.
//
// # Limits
//
//   - One Store per directory: Open locks it, and a second Open, in this
//     process or another, fails with an error wrapping
//     [storage.ErrUnavailable] until the first Store is closed (on Linux, the
//     BSDs and macOS; elsewhere nothing checks this, so do not do it).
//     Several processes therefore cannot share a directory; use a database
//     store for that.
//   - Open reads every session's metadata into memory and lists its
//     directory, so it takes time and memory in proportion to the number of
//     sessions; List and Session are answered from memory, Chunks from disk.
//   - The file system must support hard links and rename within a directory
//     (any local Unix file system; not FAT). Temp files are written in the
//     directory they end up in, so a rename never crosses devices.
//   - Files are reached through an [os.Root]: no id, symlink or ".." can
//     reach outside the directory, and ids that are not [storage.ValidID]
//     (1 to 64 of [A-Za-z0-9_-]) or a negative seq are refused with
//     [storage.ErrInvalidKey]. Symbolic links inside the directory that
//     stay inside it are followed; keep the directory private to the store.
//   - On Windows, ids that are reserved device names (CON, NUL, ...) cannot
//     be stored.
package filestore

import (
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"hash/maphash"
	"io/fs"
	"iter"
	"log/slog"
	"os"
	"path"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/sessionreplay/replay/storage"
	"github.com/sessionreplay/replay/storage/internal/listing"
)

// Options configure a Store. The zero value, and nil, mean the defaults.
// Open copies what it needs; changing an Options afterwards has no effect,
// so one Options may be shared.
type Options struct {
	// Logger receives what Open finds wrong on disk (an unreadable
	// session.json, a stray file) and failures to clean up after a Delete.
	// nil discards them.
	Logger *slog.Logger
}

// Store is a [storage.Store] in a directory. It is safe for concurrent use
// by multiple goroutines; only one Store may have a directory open at a time.
type Store struct {
	root   *os.Root
	lock   *os.File
	log    *slog.Logger
	closed atomic.Bool

	// keyLocks serialise the writes of one session (Append, PutSession,
	// Delete), so that the index and the disk agree on the last one.
	keyLocks [64]sync.Mutex
	seed     maphash.Seed

	mu       sync.RWMutex // guards sessions
	sessions map[storage.Key]*storage.Session
}

const (
	sitesDir   = "sites"
	trashDir   = "trash"
	lockFile   = "LOCK"
	metaFile   = "session.json"
	tempPrefix = ".tmp-"
	dirPerm    = 0o750
	filePerm   = 0o640
)

// Open opens the store in dir, creating the directory if needed, cleans what
// a crash left behind and loads the sessions' metadata. opts may be nil.
// Call [Store.Close] to release the directory.
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
		root:     root,
		log:      opts.Logger,
		seed:     maphash.MakeSeed(),
		sessions: make(map[storage.Key]*storage.Session),
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if err := s.open(); err != nil {
		s.Close()
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
	for _, d := range []string{sitesDir, trashDir} {
		if err := s.root.Mkdir(d, dirPerm); err != nil && !errors.Is(err, fs.ErrExist) {
			return wrapErr("open", err)
		}
	}
	trash, err := s.readDir(trashDir)
	if err != nil {
		return wrapErr("open", err)
	}
	for _, e := range trash {
		if err := s.root.RemoveAll(path.Join(trashDir, e.Name())); err != nil {
			return wrapErr("open: empty trash", err)
		}
	}
	sites, err := s.readDir(sitesDir)
	if err != nil {
		return wrapErr("open", err)
	}
	for _, site := range sites {
		siteID, ok := decodeName(site.Name())
		if !ok || !site.IsDir() {
			s.log.Warn("filestore: ignoring stray file", "path", path.Join(sitesDir, site.Name()))
			continue
		}
		sessions, err := s.readDir(path.Join(sitesDir, site.Name()))
		if err != nil {
			return wrapErr("open", err)
		}
		for _, sess := range sessions {
			id, ok := decodeName(sess.Name())
			if !ok || !sess.IsDir() {
				s.log.Warn("filestore: ignoring stray file", "path", path.Join(sitesDir, site.Name(), sess.Name()))
				continue
			}
			if err := s.load(storage.Key{Site: siteID, Session: id}); err != nil {
				return err
			}
		}
	}
	return nil
}

// load removes the temp files of a session's directory and loads its
// metadata into the index.
func (s *Store) load(key storage.Key) error {
	dir := sessionDir(key)
	entries, err := s.readDir(dir)
	if err != nil {
		return wrapErr("open", err)
	}
	for _, e := range entries {
		switch name := e.Name(); {
		case strings.HasPrefix(name, tempPrefix):
			if err := s.root.Remove(path.Join(dir, name)); err != nil {
				return wrapErr("open: remove temp file", err)
			}
		case name == metaFile:
			b, err := s.root.ReadFile(path.Join(dir, name))
			if err != nil {
				return wrapErr("open", err)
			}
			sess, err := decodeSession(b)
			if err == nil && (sess.Site != key.Site || sess.ID != key.Session) {
				err = fmt.Errorf("holds session %s/%s", sess.Site, sess.ID)
			}
			if err != nil {
				s.log.Warn("filestore: skipping unreadable session metadata", "path", path.Join(dir, name), "err", err)
				continue
			}
			s.sessions[key] = &sess
		}
	}
	return nil
}

// Close releases the directory. Calls after Close return an error wrapping
// [storage.ErrClosed]. Close is safe to call more than once.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	var errs []error
	if s.lock != nil {
		errs = append(errs, s.lock.Close()) // releases the flock
	}
	errs = append(errs, s.root.Close())
	if err := errors.Join(errs...); err != nil {
		return wrapErr("close", err)
	}
	return nil
}

// check returns an error for a closed store or a cancelled ctx.
func (s *Store) check(ctx context.Context) error {
	if s.closed.Load() {
		return storage.ErrClosed
	}
	return ctx.Err()
}

func (s *Store) keyLock(key storage.Key) *sync.Mutex {
	h := maphash.Comparable(s.seed, key)
	return &s.keyLocks[h%uint64(len(s.keyLocks))]
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

// Append implements [storage.Store.Append]. The chunk is on disk, synced,
// when Append returns nil.
func (s *Store) Append(ctx context.Context, key storage.Key, c storage.Chunk) error {
	if err := checkKey(key); err != nil {
		return wrapErr("append", err)
	}
	if !validID(c.Window) || c.Seq < 0 {
		return wrapErr("append", fmt.Errorf("window %q, seq %d: %w", c.Window, c.Seq, storage.ErrInvalidKey))
	}
	if c.Events < 0 {
		return wrapErr("append", fmt.Errorf("negative event count %d", c.Events))
	}
	if err := s.check(ctx); err != nil {
		return wrapErr("append", err)
	}
	l := s.keyLock(key)
	l.Lock()
	defer l.Unlock()

	dir := sessionDir(key)
	name := path.Join(dir, chunkName(c.Window, c.Seq))
	exists := func() error {
		return wrapErr("append", fmt.Errorf("%s/%s window %s seq %d: %w", key.Site, key.Session, c.Window, c.Seq, storage.ErrExists))
	}
	if _, err := s.root.Lstat(name); err == nil {
		return exists()
	}
	if err := s.mkdir(dir); err != nil {
		return wrapErr("append", err)
	}
	tmp, err := s.writeTemp(dir, encodeChunk(c))
	if err != nil {
		return wrapErr("append", err)
	}
	defer s.root.Remove(tmp)
	if err := ctx.Err(); err != nil {
		return wrapErr("append", err)
	}
	if err := s.root.Link(tmp, name); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return exists()
		}
		return wrapErr("append", err)
	}
	return wrapErr("append", s.syncDir(dir))
}

// Chunks implements [storage.Store.Chunks]. It lists the session's
// directory when iteration starts and reads each chunk file as it is
// yielded; a chunk whose checksum fails is an error.
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
		if err := s.check(ctx); err != nil {
			fail(err)
			return
		}
		dir := sessionDir(key)
		entries, err := s.readDir(dir)
		if errors.Is(err, fs.ErrNotExist) {
			return
		}
		if err != nil {
			fail(err)
			return
		}
		var chunks []storage.Chunk
		for _, e := range entries {
			w, seq, ok := parseChunkName(e.Name())
			if ok && (window == "" || w == window) {
				chunks = append(chunks, storage.Chunk{Window: w, Seq: seq})
			}
		}
		slices.SortFunc(chunks, func(a, b storage.Chunk) int {
			return cmp.Or(cmp.Compare(a.Window, b.Window), cmp.Compare(a.Seq, b.Seq))
		})
		for _, c := range chunks {
			if err := s.check(ctx); err != nil {
				fail(err)
				return
			}
			name := path.Join(dir, chunkName(c.Window, c.Seq))
			b, err := s.root.ReadFile(name)
			if err == nil {
				if derr := decodeChunk(b, &c); derr != nil {
					err = fmt.Errorf("%s: %w", name, derr)
				}
			}
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

// PutSession implements [storage.Store.PutSession]. The metadata is on
// disk, synced, when PutSession returns nil.
func (s *Store) PutSession(ctx context.Context, sess storage.Session) error {
	key := storage.Key{Site: sess.Site, Session: sess.ID}
	if err := checkKey(key); err != nil {
		return wrapErr("put session", err)
	}
	if err := s.check(ctx); err != nil {
		return wrapErr("put session", err)
	}
	b, err := encodeSession(sess)
	if err != nil {
		return wrapErr("put session", err)
	}
	l := s.keyLock(key)
	l.Lock()
	defer l.Unlock()

	dir := sessionDir(key)
	if err := s.mkdir(dir); err != nil {
		return wrapErr("put session", err)
	}
	tmp, err := s.writeTemp(dir, b)
	if err != nil {
		return wrapErr("put session", err)
	}
	if err := ctx.Err(); err != nil {
		s.root.Remove(tmp)
		return wrapErr("put session", err)
	}
	if err := s.root.Rename(tmp, path.Join(dir, metaFile)); err != nil {
		s.root.Remove(tmp)
		return wrapErr("put session", err)
	}
	// From here the new metadata is the one on disk: keep the index in
	// step with it even if the directory sync fails.
	c := sess.Clone()
	s.mu.Lock()
	s.sessions[key] = &c
	s.mu.Unlock()
	return wrapErr("put session", s.syncDir(dir))
}

// Session implements [storage.Store.Session], from memory.
func (s *Store) Session(ctx context.Context, key storage.Key) (storage.Session, error) {
	if err := checkKey(key); err != nil {
		return storage.Session{}, wrapErr("session", err)
	}
	if err := s.check(ctx); err != nil {
		return storage.Session{}, wrapErr("session", err)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if sess, ok := s.sessions[key]; ok {
		return sess.Clone(), nil
	}
	return storage.Session{}, wrapErr("session", fmt.Errorf("%s/%s: %w", key.Site, key.Session, storage.ErrNotFound))
}

// List implements [storage.Store.List], from memory.
func (s *Store) List(ctx context.Context, q storage.Query) (storage.Page, error) {
	if err := s.check(ctx); err != nil {
		return storage.Page{}, wrapErr("list", err)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	page, err := listing.Page(q, func(yield func(*storage.Session) bool) {
		for _, sess := range s.sessions {
			if !yield(sess) {
				return
			}
		}
	})
	if err != nil {
		return storage.Page{}, wrapErr("list", err)
	}
	return page, nil
}

// Delete implements [storage.Store.Delete]: the session's directory is
// renamed into trash, at once, then removed.
func (s *Store) Delete(ctx context.Context, key storage.Key) error {
	if err := checkKey(key); err != nil {
		return wrapErr("delete", err)
	}
	if err := s.check(ctx); err != nil {
		return wrapErr("delete", err)
	}
	l := s.keyLock(key)
	l.Lock()
	defer l.Unlock()

	dir := sessionDir(key)
	if _, err := s.root.Lstat(dir); errors.Is(err, fs.ErrNotExist) {
		return wrapErr("delete", fmt.Errorf("%s/%s: %w", key.Site, key.Session, storage.ErrNotFound))
	} else if err != nil {
		return wrapErr("delete", err)
	}
	trash := path.Join(trashDir, rand.Text())
	if err := s.root.Rename(dir, trash); err != nil {
		return wrapErr("delete", err)
	}
	s.mu.Lock()
	delete(s.sessions, key)
	s.mu.Unlock()
	err := errors.Join(s.syncDir(path.Dir(dir)), s.syncDir(trashDir))
	if rerr := s.root.RemoveAll(trash); rerr != nil {
		// The session is gone already; the next Open empties the trash.
		s.log.Warn("filestore: cleaning up a deleted session", "path", trash, "err", rerr)
	}
	return wrapErr("delete", err)
}

// mkdir creates a session's directory and its site's if they are missing,
// and syncs their parents so that a crash cannot lose them.
func (s *Store) mkdir(dir string) error {
	if _, err := s.root.Lstat(dir); err == nil {
		return nil
	}
	site := path.Dir(dir)
	newSite := false
	if _, err := s.root.Lstat(site); errors.Is(err, fs.ErrNotExist) {
		newSite = true
	}
	if err := s.root.MkdirAll(dir, dirPerm); err != nil {
		return err
	}
	if newSite {
		if err := s.syncDir(sitesDir); err != nil {
			return err
		}
	}
	return s.syncDir(site)
}

// writeTemp writes b to a new temp file in dir, syncs it and returns its
// name. On error it leaves no file behind.
func (s *Store) writeTemp(dir string, b []byte) (string, error) {
	name := path.Join(dir, tempPrefix+rand.Text())
	f, err := s.root.OpenFile(name, os.O_CREATE|os.O_EXCL|os.O_WRONLY, filePerm)
	if err != nil {
		return "", err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		s.root.Remove(name)
		return "", err
	}
	return name, nil
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
	case errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT):
		return fmt.Errorf("filestore: %s: %w: %w", op, storage.ErrFull, err)
	}
	return fmt.Errorf("filestore: %s: %w", op, err)
}

var _ storage.Store = (*Store)(nil)
