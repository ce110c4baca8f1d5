// Package memstore is a [storage.Store] that keeps everything in memory.
//
// It is meant for tests, examples and demos. Its limits:
//
//   - Nothing survives the process: every session is lost when it exits.
//   - Nothing bounds it: every chunk and session stays in memory until it is
//     deleted, so a long-running server must delete sessions (the
//     Recorder's Sweep does, by retention) or it grows without end.
//   - One process only: two processes cannot share a memstore.
//   - List filters and sorts every stored session on each call, in time
//     linear in the number of sessions (see BenchmarkList).
//
// It implements [storage.AssetStore]: assets are counted by session and
// freed by the Delete of the last session that references them.
// It implements [storage.PendingCounter] from an index of each site's
// pending sessions.
//
// Stored chunk bytes, assets and sessions are copies: changing what was passed to
// Append or PutSession, or what Chunks, Session and List returned, never
// changes what is stored.
package memstore

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"iter"
	"maps"
	"slices"
	"sync"

	"github.com/sessionreplay/replay/storage"
	"github.com/sessionreplay/replay/storage/internal/listing"
)

// Store is a [storage.Store] in memory. Its zero value is not ready; use
// [New]. A Store is safe for concurrent use by multiple goroutines.
type Store struct {
	mu       sync.RWMutex
	sessions map[storage.Key]*entry
	assets   map[assetKey]*asset
	pending  map[string]map[string]struct{} // site -> ids of its pending sessions (pending.go)
}

// assetKey names one asset of one site.
type assetKey struct {
	site, hash string
}

// asset is a stored asset and the number of sessions that reference it.
type asset struct {
	data []byte
	refs int
}

// entry is what is stored for one session. Either part may be missing: the
// Recorder appends a session's first chunk before it puts its metadata.
type entry struct {
	meta   *storage.Session // nil until PutSession
	chunks map[chunkKey]storage.Chunk
	views  []storage.View      // oldest first, at most maxViews (views.go)
	assets map[string]struct{} // hashes of the site's assets the session references
}

type chunkKey struct {
	window string
	seq    int
}

// New returns an empty Store.
func New() *Store {
	return &Store{sessions: make(map[storage.Key]*entry), assets: make(map[assetKey]*asset),
		pending: make(map[string]map[string]struct{})}
}

// Append implements [storage.Store.Append]: it stores a copy of c.Data.
func (s *Store) Append(ctx context.Context, key storage.Key, c storage.Chunk) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memstore: append: %w", err)
	}
	c.Data = bytes.Clone(c.Data)
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.entryOf(key)
	if e.chunks == nil {
		e.chunks = make(map[chunkKey]storage.Chunk)
	}
	ck := chunkKey{c.Window, c.Seq}
	if _, ok := e.chunks[ck]; ok {
		return fmt.Errorf("memstore: append %s/%s window %s seq %d: %w", key.Site, key.Session, c.Window, c.Seq, storage.ErrExists)
	}
	e.chunks[ck] = c
	return nil
}

// Chunks implements [storage.Store.Chunks]. It takes a snapshot of the
// session's chunk list when iteration starts; each yielded Data is a copy.
func (s *Store) Chunks(ctx context.Context, key storage.Key, window string) iter.Seq2[storage.Chunk, error] {
	return func(yield func(storage.Chunk, error) bool) {
		if err := ctx.Err(); err != nil {
			yield(storage.Chunk{}, fmt.Errorf("memstore: chunks: %w", err))
			return
		}
		var chunks []storage.Chunk
		s.mu.RLock()
		if e := s.sessions[key]; e != nil {
			for ck, c := range e.chunks {
				if window == "" || ck.window == window {
					chunks = append(chunks, c)
				}
			}
		}
		s.mu.RUnlock()
		slices.SortFunc(chunks, func(a, b storage.Chunk) int {
			return cmp.Or(cmp.Compare(a.Window, b.Window), cmp.Compare(a.Seq, b.Seq))
		})
		for _, c := range chunks {
			if err := ctx.Err(); err != nil {
				yield(storage.Chunk{}, fmt.Errorf("memstore: chunks: %w", err))
				return
			}
			// Stored Data is never written after Append, so copying it
			// outside the lock is safe.
			c.Data = bytes.Clone(c.Data)
			if !yield(c, nil) {
				return
			}
		}
	}
}

// PutSession implements [storage.Store.PutSession]: it stores a deep copy.
func (s *Store) PutSession(ctx context.Context, sess storage.Session) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memstore: put session: %w", err)
	}
	c := sess.Clone()
	key := storage.Key{Site: sess.Site, Session: sess.ID}
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.entryOf(key)
	e.meta = &c
	s.notePending(key, e.meta)
	return nil
}

// Session implements [storage.Store.Session]: it returns a deep copy.
func (s *Store) Session(ctx context.Context, key storage.Key) (storage.Session, error) {
	if err := ctx.Err(); err != nil {
		return storage.Session{}, fmt.Errorf("memstore: session: %w", err)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if e := s.sessions[key]; e != nil && e.meta != nil {
		return e.meta.Clone(), nil
	}
	return storage.Session{}, fmt.Errorf("memstore: session %s/%s: %w", key.Site, key.Session, storage.ErrNotFound)
}

// List implements [storage.Store.List] by filtering every stored session.
func (s *Store) List(ctx context.Context, q storage.Query) (storage.Page, error) {
	if err := ctx.Err(); err != nil {
		return storage.Page{}, fmt.Errorf("memstore: list: %w", err)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	page, err := listing.Page(q, func(yield func(*storage.Session) bool) {
		for e := range maps.Values(s.sessions) {
			if e.meta != nil && !yield(e.meta) {
				return
			}
		}
	})
	if err != nil {
		return storage.Page{}, fmt.Errorf("memstore: list: %w", err)
	}
	return page, nil
}

// Delete implements [storage.Store.Delete]: it removes the session's chunks,
// metadata and asset references under one lock, and the assets no other
// session references (see [storage.AssetStore]).
func (s *Store) Delete(ctx context.Context, key storage.Key) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memstore: delete: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.sessions[key]
	if !ok {
		return fmt.Errorf("memstore: delete %s/%s: %w", key.Site, key.Session, storage.ErrNotFound)
	}
	for h := range e.assets {
		ak := assetKey{key.Site, h}
		if a := s.assets[ak]; a != nil {
			if a.refs--; a.refs <= 0 {
				delete(s.assets, ak)
			}
		}
	}
	delete(s.sessions, key)
	s.notePending(key, nil)
	return nil
}

// PutAsset implements [storage.AssetStore.PutAsset]: it stores a copy of
// data unless the site has the asset, and records the reference.
func (s *Store) PutAsset(ctx context.Context, key storage.Key, hash string, data []byte) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memstore: put asset: %w", err)
	}
	if !storage.ValidAssetHash(hash) {
		return fmt.Errorf("memstore: put asset %q: %w", hash, storage.ErrInvalidKey)
	}
	ak := assetKey{key.Site, hash}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.assets[ak] == nil {
		s.assets[ak] = &asset{data: bytes.Clone(data)}
	}
	s.ref(key, ak)
	return nil
}

// RefAssets implements [storage.AssetStore.RefAssets].
func (s *Store) RefAssets(ctx context.Context, key storage.Key, hashes []string) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("memstore: ref assets: %w", err)
	}
	for _, h := range hashes {
		if !storage.ValidAssetHash(h) {
			return nil, fmt.Errorf("memstore: ref asset %q: %w", h, storage.ErrInvalidKey)
		}
	}
	var missing []string
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, h := range hashes {
		ak := assetKey{key.Site, h}
		if s.assets[ak] == nil {
			missing = append(missing, h)
			continue
		}
		s.ref(key, ak)
	}
	return missing, nil
}

// ref records that session key references the stored asset ak. The caller
// holds s.mu.
func (s *Store) ref(key storage.Key, ak assetKey) {
	e := s.entryOf(key)
	if e.assets == nil {
		e.assets = make(map[string]struct{})
	}
	if _, ok := e.assets[ak.hash]; !ok {
		e.assets[ak.hash] = struct{}{}
		s.assets[ak].refs++
	}
}

// Asset implements [storage.AssetStore.Asset]: it returns a copy.
func (s *Store) Asset(ctx context.Context, site, hash string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("memstore: asset: %w", err)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	a := s.assets[assetKey{site, hash}]
	if a == nil {
		return nil, fmt.Errorf("memstore: asset %s/%s: %w", site, hash, storage.ErrNotFound)
	}
	return bytes.Clone(a.data), nil
}

var _ storage.AssetStore = (*Store)(nil)

// entryOf returns the entry of key, made when missing. The caller holds
// s.mu.
func (s *Store) entryOf(key storage.Key) *entry {
	e := s.sessions[key]
	if e == nil {
		e = &entry{}
		s.sessions[key] = e
	}
	return e
}
