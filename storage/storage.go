// Package storage defines what package replay needs from a storage back end:
// the [Store] interface, the values it keeps ([Chunk], [Session]), the [Query]
// of the read API and the sentinel errors every back end reports.
//
// Application code uses package replay; this package is for people who write
// a back end. It knows nothing about rrweb: a Store keeps opaque, already
// masked and compressed chunks of events, and flat session metadata that a
// database can index.
//
// # Writing a store
//
// Implement the six methods of [Store], following the rules in each method's
// documentation, and prove the implementation with one call:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) storage.Store { return mystore.New(...) })
//	}
//
// Package storetest imports only the standard library, so an adapter inherits
// no dependencies from it. Optional abilities are small interfaces beside
// Store, found by type assertion, each with a fallback: see [AssetStore]. Packages memstore and filestore are complete
// examples.
//
// A store that filters in memory can use [Query.Match], [Newer] and
// [Query.PageSize]; one that pushes filters down to a database implements
// the same rules in its query. [Cursor] is a ready-made cursor format for
// [Page.Next]: it holds the sort key of a page's last session, so the next
// page is the sessions that sort after it ([Cursor.Before]), which works
// for any store that can compare (Start, ID, Site).
//
// # Concurrency
//
// The values of this package (Key, Chunk, Session, Query, Page, Cursor) are
// plain data: safe to read from several goroutines, not to change while
// another reads. Stores copy what they keep and what they return (see
// [Session.Clone]), so a caller owns the values it passes and receives.
package storage

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"iter"
	"maps"
	"slices"
	"time"
)

// Sentinel errors. Stores return them, or wrap them with fmt.Errorf("...: %w"),
// and callers test for them with errors.Is.
var (
	// ErrNotFound reports a session that is not stored.
	ErrNotFound = errors.New("storage: not found")
	// ErrExists is returned by Append when the chunk's (window, seq) is
	// already stored; the stored chunk is left unchanged.
	ErrExists = errors.New("storage: chunk already stored")
	// ErrInvalidKey reports a site, session or window id that the store
	// refuses, for example one that would leave a file store's root.
	ErrInvalidKey = errors.New("storage: invalid key")
	// ErrFull reports a store that has no room left (a full disk, a quota).
	ErrFull = errors.New("storage: full")
	// ErrUnavailable reports a store that cannot be reached for now; the
	// same call may succeed later.
	ErrUnavailable = errors.New("storage: unavailable")
	// ErrClosed reports a call on a store that was closed.
	ErrClosed = errors.New("storage: closed")
)

// Key names one session of one site. It is a comparable value, usable as a
// map key and safe to share between goroutines.
type Key struct {
	Site    string
	Session string
}

// Chunk is one stored batch of events of one window (page load): the bytes are
// opaque to the store (package replay writes zstd-compressed JSON). Data
// belongs to whoever holds the Chunk: stores copy it on Append and hand out
// copies, so it is never shared between goroutines unless the caller shares
// it.
type Chunk struct {
	Window string // page-load id
	Seq    int    // batch number within the window, from 0
	Events int    // number of events in Data
	Data   []byte // compressed events; the store keeps them unchanged
}

// State is where a session is in its lifecycle. It is an immutable string,
// safe to share.
type State string

// The states of a session.
const (
	// StatePending: recorded while the site's rules cannot decide yet.
	StatePending State = "pending"
	// StateKept: a rule holds (or the site has no rules).
	StateKept State = "kept"
	// StateDropped: the rules dropped the session or it was deleted. Its
	// chunks are gone; the session record stays as a tombstone so that later
	// batches are refused cheaply.
	StateDropped State = "dropped"
)

// Viewport is the size of the browser window in CSS pixels. It is a plain
// value, safe to copy and share.
type Viewport struct {
	W int `json:"w"`
	H int `json:"h"`
}

// Session is the metadata of one visit: what the read API returns and what
// [Query] filters on. Every filterable fact is a flat, typed field so that a
// database back end can index it. Times in Start and End come from the
// events; FirstSeen and LastSeen come from the server's clock.
//
// A Session holds slices and maps: reading it from several goroutines is
// safe, changing it while another goroutine reads is not; give each writer
// its own [Session.Clone].
type Session struct {
	ID    string `json:"id"`
	Site  string `json:"site"`
	State State  `json:"state"`

	Start      time.Time `json:"start"`      // first event's timestamp
	End        time.Time `json:"end"`        // last event's timestamp
	DurationMs int64     `json:"durationMs"` // End - Start
	ActiveMs   int64     `json:"activeMs"`   // time with user input, gaps over a threshold left out

	MatchedRules []string `json:"matchedRules"` // names of the rules that hold
	Pages        []string `json:"pages"`        // URLs visited, in order, query parameters scrubbed
	EntryURL     string   `json:"entryUrl"`

	Device   string   `json:"device"` // desktop, mobile, tablet, bot or ""
	OS       string   `json:"os"`
	Browser  string   `json:"browser"`
	Viewport Viewport `json:"viewport"`

	Errors        int            `json:"errors"`        // JS errors seen
	ErrorMessages []string       `json:"errorMessages"` // the first few, scrubbed
	Events        map[string]int `json:"events"`        // custom event tag -> count
	Clicks        int            `json:"clicks"`
	RageClicks    int            `json:"rageClicks"`

	Windows     int      `json:"windows"`   // page loads
	WindowIDs   []string `json:"windowIds"` // in order of arrival
	EventCount  int      `json:"eventCount"`
	Bytes       int64    `json:"bytes"`       // event JSON received
	StoredBytes int64    `json:"storedBytes"` // compressed bytes stored

	Attrs map[string]string `json:"attrs"`

	FirstSeen time.Time `json:"firstSeen"` // server clock, first batch
	LastSeen  time.Time `json:"lastSeen"`  // server clock, last batch
	Ended     bool      `json:"ended"`     // idle or too long: no further batches are expected

	// Opaque is state of package replay kept with the session (for example
	// the pending evaluation of rules). Stores save and return it unchanged
	// and never interpret it.
	Opaque []byte `json:"-"`
}

// Clone returns a deep copy of s: its slices and maps are new, so changing
// the copy never changes s. A nil slice or map stays nil. Stores that keep
// sessions in memory return clones so that callers cannot change what is
// stored.
func (s Session) Clone() Session {
	s.MatchedRules = slices.Clone(s.MatchedRules)
	s.Pages = slices.Clone(s.Pages)
	s.ErrorMessages = slices.Clone(s.ErrorMessages)
	s.Events = maps.Clone(s.Events)
	s.WindowIDs = slices.Clone(s.WindowIDs)
	s.Attrs = maps.Clone(s.Attrs)
	s.Opaque = bytes.Clone(s.Opaque)
	return s
}

// MarshalJSON writes the Session JSON of API.md. Lists and maps that are
// empty are written as [] and {}, never null, so clients can use them
// without a check.
func (s Session) MarshalJSON() ([]byte, error) {
	type plain Session // without this method
	p := plain(s)
	for _, l := range []*[]string{&p.MatchedRules, &p.Pages, &p.ErrorMessages, &p.WindowIDs} {
		if *l == nil {
			*l = []string{}
		}
	}
	if p.Events == nil {
		p.Events = map[string]int{}
	}
	if p.Attrs == nil {
		p.Attrs = map[string]string{}
	}
	return json.Marshal(p)
}

// Query selects sessions of a site. The zero value of each field means "no
// filter"; all filters combine with AND. The read API of API.md maps onto it
// one field per parameter. A Query is a plain value, safe to copy and share
// between goroutines.
type Query struct {
	Site string // required by the read API; "" matches every site (used by Sweep)

	From, To    time.Time     // on Start: From <= Start < To
	Device      string        // exact, case-insensitive
	OS          string        // exact, case-insensitive
	Browser     string        // exact, case-insensitive
	URL         string        // glob on any page visited, see [MatchURL]
	Event       string        // a custom event tag seen at least once
	Error       bool          // only sessions with at least one error
	Rule        string        // a name in MatchedRules
	MinDuration time.Duration // DurationMs >= MinDuration
	User        string        // Attrs["userId"]
	State       StateFilter   // "" means kept

	// Lifecycle filters on the server's clock, used by the Recorder's Sweep.
	Open           bool      // only sessions with Ended false
	LastSeenBefore time.Time // LastSeen < LastSeenBefore

	Limit  int    // 0 means 50; stores cap it at 500
	Cursor string // from Page.Next; "" starts at the newest session
}

// StateFilter is the state parameter of the read API. It is an immutable
// string, safe to share.
type StateFilter string

// The values of StateFilter.
const (
	FilterKept    StateFilter = "kept"    // the default
	FilterPending StateFilter = "pending" // pending only
	FilterAll     StateFilter = "all"     // kept and pending
	FilterDropped StateFilter = "dropped" // tombstones only
)

// Match reports whether the filter admits a session in state s.
func (f StateFilter) Match(s State) bool {
	switch f {
	case "", FilterKept:
		return s == StateKept
	case FilterPending:
		return s == StatePending
	case FilterAll:
		return s == StateKept || s == StatePending
	case FilterDropped:
		return s == StateDropped
	case FilterAny:
		return true
	}
	return false
}

// Page is one page of a listing, newest session first (by Start, then by
// ID descending; see [Newer]). Next is empty on the last page. A Page
// returned by a Store belongs to the caller; like Session, it is safe to read
// from several goroutines but not to change while others read it.
type Page struct {
	Sessions []Session `json:"sessions"`
	Next     string    `json:"next"`
}

// Store keeps sessions: their chunks of events and their metadata.
//
// Package replay does all validation, masking and decisions before it calls a
// Store; a Store only keeps bytes and metadata and never interprets events.
// Ids have been checked by the caller against [ValidID], but a Store that maps
// them to file names or keys must still refuse what it cannot hold safely,
// with [ErrInvalidKey].
//
// Any method may be called concurrently from several goroutines; managing that
// is the Store's job. Values passed in and returned are copies: a Store
// never keeps or hands out a slice or map that a caller can change. Every method takes a context first: when it is cancelled
// the method returns promptly with an error wrapping ctx.Err(), and a write
// that was cancelled leaves either nothing or the whole write behind, never
// part of it.
//
// The conformance suite in package storetest checks these rules.
type Store interface {
	// Append stores a chunk of a session. It is idempotent on
	// (key, c.Window, c.Seq): if that chunk is already stored it must leave
	// it unchanged and return an error wrapping [ErrExists]. Append must not
	// need to read the session's other chunks.
	Append(ctx context.Context, key Key, c Chunk) error

	// Chunks yields the chunks of a session in (window, seq) order, all
	// windows when window is "", else that window's only. A session with no
	// chunks yields nothing. An error (including a cancelled ctx) is yielded
	// once, with a zero Chunk, and ends the sequence.
	Chunks(ctx context.Context, key Key, window string) iter.Seq2[Chunk, error]

	// PutSession inserts or replaces the metadata of session (s.Site, s.ID).
	PutSession(ctx context.Context, s Session) error

	// Session returns the metadata of a session, or an error wrapping
	// [ErrNotFound].
	Session(ctx context.Context, key Key) (Session, error)

	// List returns the sessions that match q, newest first (Start
	// descending, then ID descending, then Site descending: see [Newer]),
	// at most q.Limit of them (50 when 0, never more than 500: see
	// [Query.PageSize]), and a cursor for the next page when there may be
	// more. Walking the pages visits every matching session once, even when
	// several share a Start. A cursor the store cannot read is an error
	// wrapping [ErrInvalidCursor]. [Cursor] is a ready-made cursor format.
	// A store may bound the work of one call: a page may then hold fewer
	// than q.Limit sessions, or none, and still carry a cursor; callers
	// follow the cursor until it is empty.
	List(ctx context.Context, q Query) (Page, error)

	// Delete removes a session's chunks and metadata at once. Deleting a
	// session that is not stored returns an error wrapping [ErrNotFound].
	Delete(ctx context.Context, key Key) error
}

// FilterAny admits sessions in every state, tombstones included. The read
// API never uses it; the Recorder's Sweep does.
const FilterAny StateFilter = "any"
