package storage

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// ErrInvalidCursor is wrapped by the error List returns for a cursor it
// cannot read: not one of its own, damaged, or from another kind of store.
// The read API answers it with 400.
var ErrInvalidCursor = errors.New("storage: invalid cursor")

// maxCursorLen bounds the text ParseCursor reads, so that a hostile cursor
// costs little: a cursor holds a time and two ids of at most 64 bytes.
const maxCursorLen = 512

// Cursor is a position in a listing: the sort key ([Newer]) of the last
// session of a page. The next page holds the sessions that sort after it.
// Stores may use it as their cursor format through [Cursor.String] and
// [ParseCursor], or use their own. A Cursor is a plain value, safe to copy
// and to use from several goroutines.
type Cursor struct {
	Start time.Time
	ID    string
	Site  string
}

// CursorAt returns the position of session s in a listing.
func CursorAt(s Session) Cursor {
	return Cursor{Start: s.Start, ID: s.ID, Site: s.Site}
}

// cursorJSON is the encoded form of a Cursor, before base64.
type cursorJSON struct {
	Start time.Time `json:"t"`
	ID    string    `json:"i"`
	Site  string    `json:"s"`
}

// String encodes c as an opaque, URL-safe token for [Page.Next].
func (c Cursor) String() string {
	b, err := json.Marshal(cursorJSON(c))
	if err != nil {
		// Only a year outside [0, 9999] fails to marshal; no session
		// starts there, and such a cursor could not be parsed back.
		return ""
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// ParseCursor decodes a token made by [Cursor.String]. Any other text,
// including the empty string, is an error wrapping [ErrInvalidCursor].
func ParseCursor(s string) (Cursor, error) {
	if s == "" {
		return Cursor{}, fmt.Errorf("%w: empty", ErrInvalidCursor)
	}
	if len(s) > maxCursorLen {
		return Cursor{}, fmt.Errorf("%w: longer than %d bytes", ErrInvalidCursor, maxCursorLen)
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil {
		return Cursor{}, fmt.Errorf("%w: not base64url", ErrInvalidCursor)
	}
	var cj cursorJSON
	if err := json.Unmarshal(b, &cj); err != nil {
		return Cursor{}, fmt.Errorf("%w: %v", ErrInvalidCursor, err)
	}
	if cj.ID == "" {
		return Cursor{}, fmt.Errorf("%w: no session id", ErrInvalidCursor)
	}
	return Cursor(cj), nil
}

// Before reports whether c sorts before s in a listing, so that s belongs on
// a page after the one that ended at c.
func (c Cursor) Before(s Session) bool {
	return Newer(Session{Start: c.Start, ID: c.ID, Site: c.Site}, s)
}
