package filestore

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/sessionreplay/replay/storage"
)

// A List that reads maxScanRows rows without filling its page returns what
// it found and a cursor that goes on: walking the pages still visits every
// match once.
func TestListScanBudget(t *testing.T) {
	defer func(n int) { maxScanRows = n }(maxScanRows)
	maxScanRows = 3
	ctx := context.Background()
	s, err := Open(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	base := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var want []string
	for i := range 10 {
		sess := storage.Session{ID: fmt.Sprintf("sess-%04d", i), Site: "shop", State: storage.StateKept,
			Start: base.Add(time.Duration(i) * time.Minute), Pages: []string{"https://shop.example/other"}}
		if i == 0 || i == 5 || i == 9 {
			sess.Pages = []string{"https://shop.example/rare"}
			want = append([]string{sess.ID}, want...)
		}
		if i == 2 {
			sess.Start = time.Time{} // the zero time sorts last and survives a cursor
			sess.Pages = []string{"https://shop.example/rare"}
		}
		if err := s.PutSession(ctx, sess); err != nil {
			t.Fatal(err)
		}
	}
	want = append(want, "sess-0002")
	q := storage.Query{Site: "shop", URL: "/rare", Limit: 2}
	var got []string
	short := false
	for range 20 {
		page, err := s.List(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		for _, sess := range page.Sessions {
			got = append(got, sess.ID)
		}
		short = short || len(page.Sessions) < 2 && page.Next != ""
		if page.Next == "" {
			break
		}
		q.Cursor = page.Next
	}
	if !slices.Equal(got, want) {
		t.Errorf("pages visited %v, want %v", got, want)
	}
	if !short {
		t.Error("no page was cut short by the scan budget")
	}
}

// FuzzDueCursor feeds damaged cursors to parseDueCursor: it must never
// panic, and what it accepts must round-trip.
func FuzzDueCursor(f *testing.F) {
	f.Add(dueCursor(0, "sess-0001"))
	f.Add(dueCursor(-1<<63, "a"))
	f.Add("not a cursor")
	f.Fuzz(func(t *testing.T, s string) {
		ts, id, err := parseDueCursor(s)
		if err != nil {
			return
		}
		if !validID(id) {
			t.Fatalf("accepted invalid id %q", id)
		}
		if t2, id2, err := parseDueCursor(dueCursor(ts, id)); err != nil || t2 != ts || id2 != id {
			t.Fatalf("%q does not round-trip: %v", s, err)
		}
	})
}
