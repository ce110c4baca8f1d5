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
// Stored chunk bytes and sessions are copies: changing what was passed to
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
}

// entry is what is stored for one session. Either part may be missing: the
// Recorder appends a session's first chunk before it puts its metadata.
type entry struct {
	meta   *storage.Session // nil until PutSession
	chunks map[chunkKey]storage.Chunk
	views  []storage.View // oldest first, at most maxViews (views.go)
}

type chunkKey struct {
	window string
	seq    int
}

// New returns an empty Store.
func New() *Store {
	return &Store{sessions: make(map[storage.Key]*entry)}
}

// Append implements [storage.Store.Append]: it stores a copy of c.Data.
func (s *Store) Append(ctx context.Context, key storage.Key, c storage.Chunk) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memstore: append: %w", err)
	}
	c.Data = bytes.Clone(c.Data)
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.sessions[key]
	if e == nil {
		e = &entry{}
		s.sessions[key] = e
	}
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
	e := s.sessions[key]
	if e == nil {
		e = &entry{}
		s.sessions[key] = e
	}
	e.meta = &c
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

// Delete implements [storage.Store.Delete]: it removes the session's chunks
// and metadata under one lock.
func (s *Store) Delete(ctx context.Context, key storage.Key) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memstore: delete: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.sessions[key]; !ok {
		return fmt.Errorf("memstore: delete %s/%s: %w", key.Site, key.Session, storage.ErrNotFound)
	}
	delete(s.sessions, key)
	return nil
}

var _ storage.Store = (*Store)(nil)
