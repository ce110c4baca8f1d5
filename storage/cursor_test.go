package storage_test

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sessionreplay/replay/storage"
)

func TestCursorRoundTrip(t *testing.T) {
	at := time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.FixedZone("CET", 3600))
	for _, c := range []storage.Cursor{
		{Start: at, ID: "sess-0001", Site: "shop"},
		{Start: at, ID: "sess-0001"},
		{ID: "zero-start", Site: "shop"},
		{Start: at, ID: strings.Repeat("x", 64), Site: strings.Repeat("y", 64)},
	} {
		text := c.String()
		assert.NotContains(t, text, "=", "no padding in a URL parameter")
		assert.Equal(t, text, base64.RawURLEncoding.EncodeToString(must(base64.RawURLEncoding.DecodeString(text))), "URL-safe")
		got, err := storage.ParseCursor(text)
		require.NoError(t, err)
		assert.True(t, got.Start.Equal(c.Start), "Start %v, want %v", got.Start, c.Start)
		assert.Equal(t, c.ID, got.ID)
		assert.Equal(t, c.Site, got.Site)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestParseCursorRejects(t *testing.T) {
	enc := base64.RawURLEncoding.EncodeToString
	for name, text := range map[string]string{
		"empty":         "",
		"not base64":    "not a cursor!",
		"padded":        enc([]byte(`{"t":"2026-03-01T12:00:00Z","i":"a","s":"b"}`)) + "==",
		"std alphabet":  base64.StdEncoding.EncodeToString([]byte(`{"i":"a>>>?"}`)),
		"not JSON":      enc([]byte("hello")),
		"no id":         enc([]byte(`{"t":"2026-03-01T12:00:00Z","s":"b"}`)),
		"bad time":      enc([]byte(`{"t":"yesterday","i":"a"}`)),
		"trailing data": enc([]byte(`{"i":"a"}x`)),
		"array":         enc([]byte(`["a"]`)),
		"too long":      enc([]byte(`{"i":"` + strings.Repeat("a", 1000) + `"}`)),
	} {
		_, err := storage.ParseCursor(text)
		assert.ErrorIs(t, err, storage.ErrInvalidCursor, name)
	}
}

func TestCursorBefore(t *testing.T) {
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	c := storage.CursorAt(storage.Session{Start: at, ID: "m", Site: "m"})
	tests := []struct {
		s    storage.Session
		want bool
	}{
		{storage.Session{Start: at.Add(-time.Millisecond), ID: "z"}, true}, // older
		{storage.Session{Start: at.Add(time.Millisecond), ID: "a"}, false}, // newer
		{storage.Session{Start: at, ID: "a", Site: "z"}, true},             // same Start, lower ID
		{storage.Session{Start: at, ID: "z", Site: "a"}, false},            // same Start, higher ID
		{storage.Session{Start: at, ID: "m", Site: "a"}, true},             // same Start and ID, lower Site
		{storage.Session{Start: at, ID: "m", Site: "z"}, false},            // same Start and ID, higher Site
		{storage.Session{Start: at, ID: "m", Site: "m"}, false},            // the cursor's own session
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, c.Before(tt.s), "%+v", tt.s)
	}
}

// FuzzCursor feeds arbitrary text to ParseCursor: it must never panic,
// every rejection wraps ErrInvalidCursor, and what it accepts survives a
// round trip through String.
func FuzzCursor(f *testing.F) {
	at := time.Date(2026, 3, 1, 12, 0, 0, 5, time.UTC)
	f.Add(storage.Cursor{Start: at, ID: "sess-0001", Site: "shop"}.String())
	f.Add(storage.Cursor{ID: "x"}.String())
	f.Add("")
	f.Add("e30")
	f.Add(base64.RawURLEncoding.EncodeToString([]byte(`{"t":"9999-12-31T23:59:59.999999999+14:00","i":"\u0000"}`)))
	f.Fuzz(func(t *testing.T, text string) {
		c, err := storage.ParseCursor(text)
		if err != nil {
			if !errors.Is(err, storage.ErrInvalidCursor) {
				t.Fatalf("error %v does not wrap ErrInvalidCursor", err)
			}
			return
		}
		again, err := storage.ParseCursor(c.String())
		if err != nil {
			t.Fatalf("ParseCursor(%q) = %+v, whose String does not parse: %v", text, c, err)
		}
		if !again.Start.Equal(c.Start) || again.ID != c.ID || again.Site != c.Site {
			t.Fatalf("round trip changed %+v into %+v", c, again)
		}
	})
}
