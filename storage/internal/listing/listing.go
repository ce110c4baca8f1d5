// Package listing pages sessions for stores that filter in memory (memstore,
// filestore): it applies a [storage.Query]'s filters, cursor and limit.
package listing

import (
	"cmp"
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
	var matched []*storage.Session
	for s := range sessions {
		if (after == nil || after.Before(*s)) && q.Match(*s) {
			matched = append(matched, s)
		}
	}
	slices.SortFunc(matched, compare)
	size := q.PageSize()
	page := storage.Page{Sessions: make([]storage.Session, 0, min(size, len(matched)))}
	for _, s := range matched[:min(size, len(matched))] {
		page.Sessions = append(page.Sessions, s.Clone())
	}
	if len(matched) > size {
		page.Next = storage.CursorAt(*matched[size-1]).String()
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
