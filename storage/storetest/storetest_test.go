package storetest_test

import (
	"context"
	"fmt"
	"iter"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/sessionreplay/replay/storage"
	"github.com/sessionreplay/replay/storage/memstore"
	"github.com/sessionreplay/replay/storage/storetest"
)

func TestMemstorePasses(t *testing.T) {
	if err := storetest.TestStore(func() storage.Store { return memstore.New() }); err != nil {
		t.Fatal(err)
	}
}

// The suite must catch a store that breaks a rule. Each broken store below
// wraps memstore and breaks one rule; the suite must report the case named
// after that rule.
func TestSuiteCatchesBrokenStores(t *testing.T) {
	requireCaught(t, "storetest/storetest.go", []brokenStore{
		{"overwrites on append", func() storage.Store { m := newMap(); m.overwrite = true; return m }, []string{"AppendIsIdempotent"}},
		{"orders seq as text", func() storage.Store { return &lexicalSeq{memstore.New()} }, []string{"ChunksOrder"}},
		{"keeps the caller's slice", func() storage.Store { return newMap() }, []string{"ChunksNotAliased"}},
		{"matches device by substring", func() storage.Store { return &substringDevice{memstore.New()} }, []string{"ListFilters"}},
		{"pages by Start only", func() storage.Store { return &startCursor{memstore.New()} }, []string{"ListPaging"}},
		{"ignores cancellation", func() storage.Store { return &ignoresCtx{memstore.New()} }, []string{"CancelledContext"}},
		{"does not cap Limit", func() storage.Store { return &noCap{memstore.New()} }, []string{"ListLimit"}},
		{"returns shared sessions", func() storage.Store {
			return &sharedSessions{Store: memstore.New(), kept: map[storage.Key]*storage.Session{}}
		}, []string{"SessionsAreCopies"}},
	})
}

// mapStore is a memstore wrapper with a chunk map of its own that keeps the
// caller's slices (no copy) and can overwrite.
type mapStore struct {
	*memstore.Store
	mu        sync.Mutex
	chunks    map[string]storage.Chunk
	overwrite bool
}

func newMap() *mapStore {
	return &mapStore{Store: memstore.New(), chunks: map[string]storage.Chunk{}}
}

func chunkKey(k storage.Key, w string, seq int) string {
	return fmt.Sprintf("%s/%s/%s/%020d", k.Site, k.Session, w, seq)
}

func (m *mapStore) Append(ctx context.Context, k storage.Key, c storage.Chunk) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	ck := chunkKey(k, c.Window, c.Seq)
	if _, ok := m.chunks[ck]; ok && !m.overwrite {
		return storage.ErrExists
	}
	m.chunks[ck] = c
	return nil
}

func (m *mapStore) Chunks(ctx context.Context, k storage.Key, window string) iter.Seq2[storage.Chunk, error] {
	return func(yield func(storage.Chunk, error) bool) {
		if err := ctx.Err(); err != nil {
			yield(storage.Chunk{}, err)
			return
		}
		prefix := fmt.Sprintf("%s/%s/", k.Site, k.Session)
		var keys []string
		m.mu.Lock()
		for ck, c := range m.chunks {
			if strings.HasPrefix(ck, prefix) && (window == "" || c.Window == window) {
				keys = append(keys, ck)
			}
		}
		slices.Sort(keys)
		chunks := make([]storage.Chunk, len(keys))
		for i, ck := range keys {
			chunks[i] = m.chunks[ck]
		}
		m.mu.Unlock()
		for _, c := range chunks {
			if !yield(c, nil) {
				return
			}
		}
	}
}

func (m *mapStore) Delete(ctx context.Context, k storage.Key) error {
	prefix := fmt.Sprintf("%s/%s/", k.Site, k.Session)
	m.mu.Lock()
	for ck := range m.chunks {
		if strings.HasPrefix(ck, prefix) {
			delete(m.chunks, ck)
		}
	}
	m.mu.Unlock()
	return m.Store.Delete(ctx, k)
}

// lexicalSeq yields chunks ordered by seq as text: 10 before 2.
type lexicalSeq struct{ *memstore.Store }

func (l *lexicalSeq) Chunks(ctx context.Context, k storage.Key, window string) iter.Seq2[storage.Chunk, error] {
	return func(yield func(storage.Chunk, error) bool) {
		var all []storage.Chunk
		for c, err := range l.Store.Chunks(ctx, k, window) {
			if err != nil {
				yield(c, err)
				return
			}
			all = append(all, c)
		}
		slices.SortStableFunc(all, func(a, b storage.Chunk) int {
			return strings.Compare(a.Window+"/"+strconv.Itoa(a.Seq), b.Window+"/"+strconv.Itoa(b.Seq))
		})
		for _, c := range all {
			if !yield(c, nil) {
				return
			}
		}
	}
}

// substringDevice lists every device containing the filter.
type substringDevice struct{ *memstore.Store }

func (s *substringDevice) List(ctx context.Context, q storage.Query) (storage.Page, error) {
	device := q.Device
	q.Device = ""
	page, err := s.Store.List(ctx, q)
	page.Sessions = slices.DeleteFunc(page.Sessions, func(s storage.Session) bool {
		return !strings.Contains(strings.ToLower(s.Device), strings.ToLower(device))
	})
	return page, err
}

// startCursor pages with the Start of the last session only, so sessions
// sharing a Start across a page boundary are skipped.
type startCursor struct{ *memstore.Store }

func (s *startCursor) List(ctx context.Context, q storage.Query) (storage.Page, error) {
	if q.Cursor != "" {
		c, err := storage.ParseCursor(q.Cursor)
		if err != nil {
			return storage.Page{}, err
		}
		// No id sorts after "\x00": the rest of c.Start's sessions are skipped.
		c.ID, c.Site = "\x00", ""
		q.Cursor = c.String()
	}
	return s.Store.List(ctx, q)
}

// ignoresCtx runs every call with a live context.
type ignoresCtx struct{ *memstore.Store }

func (s *ignoresCtx) Append(_ context.Context, k storage.Key, c storage.Chunk) error {
	return s.Store.Append(context.Background(), k, c)
}

func (s *ignoresCtx) List(_ context.Context, q storage.Query) (storage.Page, error) {
	return s.Store.List(context.Background(), q)
}

// noCap lists up to 1000 sessions.
type noCap struct{ *memstore.Store }

func (s *noCap) List(ctx context.Context, q storage.Query) (storage.Page, error) {
	if q.Limit <= 500 {
		return s.Store.List(ctx, q)
	}
	first, err := s.Store.List(ctx, storage.Query{Site: q.Site, Limit: 500})
	if err != nil || first.Next == "" {
		return first, err
	}
	second, err := s.Store.List(ctx, storage.Query{Site: q.Site, Limit: q.Limit - 500, Cursor: first.Next})
	first.Sessions = append(first.Sessions, second.Sessions...)
	first.Next = second.Next
	return first, err
}

// sharedSessions returns the same session value on every read.
type sharedSessions struct {
	*memstore.Store
	mu   sync.Mutex
	kept map[storage.Key]*storage.Session
}

func (s *sharedSessions) PutSession(ctx context.Context, sess storage.Session) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.kept[storage.Key{Site: sess.Site, Session: sess.ID}] = &sess
	return s.Store.PutSession(ctx, sess)
}

func (s *sharedSessions) Session(ctx context.Context, k storage.Key) (storage.Session, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sess, ok := s.kept[k]; ok {
		return *sess, nil
	}
	return s.Store.Session(ctx, k)
}
