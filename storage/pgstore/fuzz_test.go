package pgstore

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sessionreplay/replay/storage"
)

// foldKey(a) == foldKey(b) exactly when strings.EqualFold(a, b): the
// device, OS and browser filters compare fold keys in SQL.
func FuzzFoldKey(f *testing.F) {
	for _, p := range [][2]string{{"Chrome", "chrome"}, {"K", "\u212a"}, {"Straße", "STRASSE"}, {"ǅ", "ǆ"}, {"σ", "ς"}, {"a\xff", "A\xff"}} {
		f.Add(p[0], p[1])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		if (foldKey(a) == foldKey(b)) != strings.EqualFold(a, b) {
			t.Errorf("foldKey(%q) = %q, foldKey(%q) = %q, EqualFold = %v", a, foldKey(a), b, foldKey(b), strings.EqualFold(a, b))
		}
	})
}

// A Due cursor is read back as it was made, and any other string is
// refused with ErrInvalidCursor, never a panic or a query with text
// PostgreSQL cannot hold.
func FuzzDueCursor(f *testing.F) {
	for _, s := range []string{"", "not a cursor", dueCursor(time.Unix(1, 2000), "sess-1"), dueCursor(time.Time{}, "a/b"), "MTIzL3g", "LTEv"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ts, id, err := parseDueCursor(s)
		if err != nil {
			if !errors.Is(err, storage.ErrInvalidCursor) {
				t.Fatalf("parseDueCursor(%q): %v, want ErrInvalidCursor", s, err)
			}
			return
		}
		if clean(id) != id || id == "" {
			t.Fatalf("parseDueCursor(%q) = id %q PostgreSQL cannot hold", s, id)
		}
		ts2, id2, err := parseDueCursor(dueCursor(ts, id))
		if err != nil || !ts2.Equal(ts) || id2 != id {
			t.Fatalf("round trip of %q: %v %q %v, want %v %q", s, ts2, id2, err, ts, id)
		}
	})
}
