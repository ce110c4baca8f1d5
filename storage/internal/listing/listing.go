// Package listing pages sessions for stores that filter in memory (memstore,
// filestore): it applies a [storage.Query]'s filters, cursor and limit.
package listing

import (
	"cmp"
	"container/heap"
	"iter"
	"slices"

	"github.com/sessionreplay/replay/storage"
)

// Page returns the page of q among sessions, which yields every stored
// session in any order. The sessions of the page are clones, so the caller
// may keep iterating over shared data while the page is used. Next is set
// only when more matching sessions follow. A cursor that [storage.ParseCursor]
// rejects is an error wrapping [storage.ErrInvalidCursor].
//
// It costs one comparison per matching session, plus a logarithmic term for
// those that enter the page, and memory for one page only.
//
// Page is safe to call from several goroutines as long as sessions is.
func Page(q storage.Query, sessions iter.Seq[*storage.Session]) (storage.Page, error) {
	var after *storage.Cursor
	if q.Cursor != "" {
		c, err := storage.ParseCursor(q.Cursor)
		if err != nil {
			return storage.Page{}, err
		}
		after = &c
	}
	size := q.PageSize()
	// top holds the newest sessions seen so far, at most size of them, the
	// oldest at top[0].
	top := make(oldestFirst, 0, size)
	more := false
	for s := range sessions {
		if (after != nil && !after.Before(*s)) || !q.Match(*s) {
			continue
		}
		switch {
		case len(top) < size:
			heap.Push(&top, s)
		case compare(s, top[0]) < 0:
			top[0] = s
			heap.Fix(&top, 0)
			more = true
		default:
			more = true
		}
	}
	slices.SortFunc(top, compare)
	page := storage.Page{Sessions: make([]storage.Session, len(top))}
	for i, s := range top {
		page.Sessions[i] = s.Clone()
	}
	if more {
		page.Next = storage.CursorAt(*top[len(top)-1]).String()
	}
	return page, nil
}

// compare orders sessions as a listing does, the way [storage.Newer] does:
// Start descending, then ID, then Site descending.
func compare(a, b *storage.Session) int {
	if c := b.Start.Compare(a.Start); c != 0 {
		return c
	}
	if c := cmp.Compare(b.ID, a.ID); c != 0 {
		return c
	}
	return cmp.Compare(b.Site, a.Site)
}

// oldestFirst is a heap of sessions whose top is the one a listing shows
// last.
type oldestFirst []*storage.Session

func (h oldestFirst) Len() int           { return len(h) }
func (h oldestFirst) Less(i, j int) bool { return compare(h[i], h[j]) > 0 }
func (h oldestFirst) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *oldestFirst) Push(x any)        { *h = append(*h, x.(*storage.Session)) }
func (h *oldestFirst) Pop() any {
	old := *h
	s := old[len(old)-1]
	*h = old[:len(old)-1]
	return s
}
