package storetest

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/sessionreplay/replay/storage"
)

// checker collects the violations of one case. It is safe for concurrent
// use, so that the goroutines of a case can report to it.
type checker struct {
	mu   sync.Mutex
	errs []error
}

func (c *checker) errorf(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.errs = append(c.errs, fmt.Errorf(format, args...))
}

// ok reports whether err is nil, and records a violation when it is not.
func (c *checker) ok(err error, what string) bool {
	if err != nil {
		c.errorf("%s: unexpected error: %v", what, err)
		return false
	}
	return true
}

// base is the Start of the fixtures' first session. Fixture times are whole
// milliseconds, the precision the suite asks of a store.
var base = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// minutes returns base plus n minutes.
func minutes(n int) time.Time { return base.Add(time.Duration(n) * time.Minute) }

// newSession returns a kept session of site "shop" that starts at start,
// with every field set, so that a round trip that loses a field shows.
func newSession(id string, start time.Time) storage.Session {
	return storage.Session{
		ID:            id,
		Site:          "shop",
		State:         storage.StateKept,
		Start:         start,
		End:           start.Add(10 * time.Second),
		DurationMs:    10_000,
		ActiveMs:      4_000,
		MatchedRules:  []string{"all"},
		Pages:         []string{"https://shop.example/", "https://shop.example/about"},
		EntryURL:      "https://shop.example/",
		Device:        "desktop",
		OS:            "Linux",
		Browser:       "Chrome",
		Viewport:      storage.Viewport{W: 1280, H: 720},
		Errors:        0,
		ErrorMessages: []string{},
		Events:        map[string]int{"view": 2},
		Clicks:        3,
		RageClicks:    0,
		Windows:       1,
		WindowIDs:     []string{"w1"},
		EventCount:    42,
		Bytes:         4096,
		StoredBytes:   512,
		Attrs:         map[string]string{"plan": "free"},
		FirstSeen:     start.Add(time.Second),
		LastSeen:      start.Add(time.Minute),
		Ended:         true,
		Opaque:        []byte{0, 1, 2, 0xff},
	}
}

func keyOf(s storage.Session) storage.Key { return storage.Key{Site: s.Site, Session: s.ID} }

// chunk returns a chunk whose bytes name it, so that a chunk returned in the
// wrong place shows.
func chunk(window string, seq int) storage.Chunk {
	return storage.Chunk{Window: window, Seq: seq, Events: seq + 1, Data: fmt.Appendf(nil, "%s/%d", window, seq)}
}

// collect reads every chunk of a session. It reports a violation when the
// sequence goes on after yielding an error.
func collect(ctx context.Context, c *checker, s storage.Store, key storage.Key, window string) ([]storage.Chunk, error) {
	var (
		chunks []storage.Chunk
		first  error
	)
	for ch, err := range s.Chunks(ctx, key, window) {
		if first != nil {
			c.errorf("Chunks yielded again after the error %v", first)
			break
		}
		if err != nil {
			if ch.Window != "" || ch.Seq != 0 || ch.Events != 0 || ch.Data != nil {
				c.errorf("Chunks yielded the error %v with a non-zero Chunk %s/%d", err, ch.Window, ch.Seq)
			}
			first = err
			continue
		}
		chunks = append(chunks, ch)
	}
	return chunks, first
}

// chunkDiff describes how got differs from want, or returns "".
func chunkDiff(got, want []storage.Chunk) string {
	if len(got) != len(want) {
		return fmt.Sprintf("got %d chunks %s, want %d %s", len(got), chunkNames(got), len(want), chunkNames(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.Window != w.Window || g.Seq != w.Seq || g.Events != w.Events || string(g.Data) != string(w.Data) {
			return fmt.Sprintf("chunk %d: got {%s %d events=%d data=%q}, want {%s %d events=%d data=%q}",
				i, g.Window, g.Seq, g.Events, g.Data, w.Window, w.Seq, w.Events, w.Data)
		}
	}
	return ""
}

func chunkNames(chunks []storage.Chunk) string {
	names := make([]string, len(chunks))
	for i, c := range chunks {
		names[i] = fmt.Sprintf("%s/%d", c.Window, c.Seq)
	}
	return "[" + strings.Join(names, " ") + "]"
}

// sessionDiff describes how got differs from want, field by field, or
// returns "". Times compare with Equal; nil and empty slices and maps are
// the same.
func sessionDiff(got, want storage.Session) string {
	g, w := reflect.ValueOf(normal(got)), reflect.ValueOf(normal(want))
	var diffs []string
	for i := range g.NumField() {
		if !reflect.DeepEqual(g.Field(i).Interface(), w.Field(i).Interface()) {
			diffs = append(diffs, fmt.Sprintf("%s: got %v, want %v", g.Type().Field(i).Name, g.Field(i), w.Field(i)))
		}
	}
	return strings.Join(diffs, "; ")
}

// normal returns s with times in UTC without monotonic readings and empty
// slices and maps nil, so that reflect.DeepEqual compares what matters.
func normal(s storage.Session) storage.Session {
	s = s.Clone()
	for _, t := range []*time.Time{&s.Start, &s.End, &s.FirstSeen, &s.LastSeen} {
		*t = t.Round(0).UTC()
	}
	for _, l := range []*[]string{&s.MatchedRules, &s.Pages, &s.ErrorMessages, &s.WindowIDs} {
		if len(*l) == 0 {
			*l = nil
		}
	}
	if len(s.Events) == 0 {
		s.Events = nil
	}
	if len(s.Attrs) == 0 {
		s.Attrs = nil
	}
	if len(s.Opaque) == 0 {
		s.Opaque = nil
	}
	return s
}

// ids returns the "site/id" of each session.
func ids(sessions []storage.Session) []string {
	out := make([]string, len(sessions))
	for i, s := range sessions {
		out[i] = s.ID
		if s.Site != "shop" {
			out[i] = s.Site + "/" + s.ID
		}
	}
	return out
}

// listAll follows Next from q until the last page, at most limit pages.
func listAll(ctx context.Context, c *checker, s storage.Store, q storage.Query, maxPages int) ([]storage.Session, bool) {
	var all []storage.Session
	for range maxPages {
		page, err := s.List(ctx, q)
		if !c.ok(err, fmt.Sprintf("List(cursor %q)", q.Cursor)) {
			return nil, false
		}
		if len(page.Sessions) > q.PageSize() {
			c.errorf("List with Limit %d returned %d sessions", q.Limit, len(page.Sessions))
		}
		all = append(all, page.Sessions...)
		if page.Next == "" {
			return all, true
		}
		if page.Next == q.Cursor {
			c.errorf("List returned its own cursor %q as Next", q.Cursor)
			return nil, false
		}
		q.Cursor = page.Next
	}
	c.errorf("paging did not end after %d pages", maxPages)
	return nil, false
}
