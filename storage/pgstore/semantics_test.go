package pgstore_test

import (
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sessionreplay/replay/storage"
	"github.com/sessionreplay/replay/storage/memstore"
)

// listIDs returns the ids of every session q lists.
func listIDs(t *testing.T, s storage.Store, q storage.Query) []string {
	t.Helper()
	var ids []string
	for {
		p, err := s.List(t.Context(), q)
		require.NoError(t, err, "%+v", q)
		for _, sess := range p.Sessions {
			ids = append(ids, sess.ID)
		}
		if p.Next == "" {
			return ids
		}
		q.Cursor = p.Next
	}
}

// The filters pushed down into SQL select what storage.Query.Match selects
// (memstore filters with it), on URLs and names chosen to trip a LIKE or a
// case-insensitive comparison: %, _ and \ in URLs, empty and root paths,
// protocol-relative URLs, queries and fragments, non-ASCII case.
func TestFiltersAgreeWithMatch(t *testing.T) {
	needDB(t)
	pg := newStore(t, nil)
	mem := memstore.New()
	urls := []string{
		"https://shop.example/", "https://shop.example", "https://shop.example/a%b", "https://shop.example/a_b",
		"https://shop.example/a\\b", "https://shop.example/axb", "https://shop.example/caf%C3%A9?x=1#top",
		"//cdn.example/lib.js", "/relative/path?q", "https://shop.example/checkout/pay?card=1",
		"https://shop.example/CHECKOUT", "http://shop.example/a*b", "https://shop.example/path#frag/x",
		"weird:no-slashes", "",
	}
	names := []string{"Chrome", "chrome", "CHROME", "Straße", "STRASSE", "Ǆemal", "ǆemal", "ǅemal", "K", "\u212a", ""}
	ctx := t.Context()
	for i, u := range urls {
		s := storage.Session{
			ID: fmt.Sprintf("sess-%04d", i), Site: "shop", State: storage.StateKept,
			Start: time.Date(2026, 1, 1, 0, i, 0, 0, time.UTC), Pages: []string{u},
			Browser: names[i%len(names)], Device: names[(i+3)%len(names)], OS: names[(i+5)%len(names)],
		}
		require.NoError(t, pg.PutSession(ctx, s))
		require.NoError(t, mem.PutSession(ctx, s))
	}
	globs := []string{
		"*", "/", "/a%b", "/a_b", "/a\\b", "/a*b", "/a?b", "*b", "/caf%C3%A9", "/caf*", "/lib.js", "/relative/path",
		"/checkout*", "/CHECKOUT", "https://shop.example/*", "https://shop.example", "http*://shop.example/a*",
		"*://*", "/path", "weird:no-slashes", "%", "_", "\\", "",
	}
	for _, g := range globs {
		q := storage.Query{Site: "shop", URL: g}
		assert.Equal(t, listIDs(t, mem, q), listIDs(t, pg, q), "URL %q", g)
	}
	for _, n := range names {
		for _, q := range []storage.Query{{Site: "shop", Browser: n}, {Site: "shop", Device: n}, {Site: "shop", OS: n}} {
			assert.Equal(t, listIDs(t, mem, q), listIDs(t, pg, q), "%+v", q)
		}
	}
}

// Text that PostgreSQL cannot hold (NUL bytes, invalid UTF-8) is stored
// with U+FFFD in its place, never refused with an error that would fail
// every retry of the batch; ids it cannot hold are ErrInvalidKey.
func TestAwkwardText(t *testing.T) {
	needDB(t)
	s := newStore(t, nil)
	ctx := t.Context()
	bad := "a\x00b\xffc"
	sess := storage.Session{
		ID: "sess-0001", Site: "shop", State: storage.StateKept, Start: time.Now().UTC().Truncate(time.Millisecond),
		Pages: []string{"https://shop.example/" + bad}, ErrorMessages: []string{bad}, Browser: bad,
		Events: map[string]int{bad: 1}, Attrs: map[string]string{bad: bad, "userId": bad},
		MatchedRules: []string{bad}, WindowIDs: []string{"w1"},
	}
	require.NoError(t, s.PutSession(ctx, sess))
	got, err := s.Session(ctx, storage.Key{Site: "shop", Session: "sess-0001"})
	require.NoError(t, err)
	want := "a\uFFFDb\uFFFDc"
	assert.Equal(t, []string{"https://shop.example/" + want}, got.Pages)
	assert.Equal(t, []string{want}, got.ErrorMessages)
	assert.Equal(t, want, got.Browser)
	assert.Equal(t, map[string]int{want: 1}, got.Events)
	assert.Equal(t, map[string]string{want: want, "userId": want}, got.Attrs)
	for _, q := range []storage.Query{{Browser: bad}, {Event: bad}, {User: bad}, {Rule: bad}, {URL: "*" + bad}} {
		q.Site = "shop"
		assert.Equal(t, []string{"sess-0001"}, listIDs(t, s, q), "%+v", q)
	}

	err = s.Append(ctx, storage.Key{Site: "shop", Session: "sess\x00"}, storage.Chunk{Window: "w1"})
	assert.ErrorIs(t, err, storage.ErrInvalidKey)
	err = s.Append(ctx, storage.Key{Site: "shop", Session: "sess-0001"}, storage.Chunk{Window: "w\xff"})
	assert.ErrorIs(t, err, storage.ErrInvalidKey)
	assert.NoError(t, s.Append(ctx, storage.Key{Site: "shop", Session: "sess-0001"}, storage.Chunk{Window: "w1", Seq: 1 << 40, Events: 1 << 35}))
	_, err = s.List(ctx, storage.Query{Site: strings.Repeat("\x00", 3)})
	assert.NoError(t, err)
	assert.True(t, slices.Equal(listIDs(t, s, storage.Query{Site: "nosuch"}), nil))
}

// A listing by exact path or by event reads the rows of session_paths or
// session_events, which follow each session's pages, events and start
// through every write: pages and events added and removed, a start moved, a
// state changed, a session deleted, a value too long for the index (found
// through the GIN index instead), other sites.
func TestPathRowsFollowSessions(t *testing.T) {
	needDB(t)
	pg := newStore(t, nil)
	mem := memstore.New()
	ctx := t.Context()
	long := "/long/" + strings.Repeat("x", 1500)
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	put := func(site string, i int, start int, state storage.State, paths ...string) {
		t.Helper()
		var pages []string
		events := map[string]int{"zero": 0} // a count of 0 is no event
		for _, p := range paths {
			pages = append(pages, "https://"+site+".example"+p+"?i="+itoa(i))
			events["tag"+p] = i + 1
		}
		s := storage.Session{ID: fmt.Sprintf("sess-%04d", i), Site: site, State: state, Pages: pages,
			Events: events, Start: base.Add(time.Duration(start) * time.Minute)}
		require.NoError(t, pg.PutSession(ctx, s))
		require.NoError(t, mem.PutSession(ctx, s))
	}
	del := func(site string, i int) {
		t.Helper()
		key := storage.Key{Site: site, Session: fmt.Sprintf("sess-%04d", i)}
		require.NoError(t, pg.Delete(ctx, key))
		require.NoError(t, mem.Delete(ctx, key))
	}
	for i := range 40 {
		put("shop", i, i%7, storage.StateKept, "/a", "/b", "/a")
		put("blog", i, i, storage.StatePending, "/a", long)
	}
	for i := range 40 {
		switch i % 5 {
		case 0:
			put("shop", i, 100+i, storage.StateKept, "/a", "/c") // start moved, /b removed
		case 1:
			put("shop", i, i%7, storage.StatePending, "/b", "/a", "/d", long) // added, state changed
		case 2:
			del("shop", i)
		case 3:
			put("shop", i, i%7, storage.StateKept) // no pages left
		}
	}
	del("blog", 5)
	for _, path := range []string{"/a", "/b", "/c", "/d", "/nosuch", long, "/long"} {
		for _, q := range []storage.Query{
			{Site: "shop", URL: path}, {Site: "blog", URL: path, State: storage.FilterAll}, {URL: path, State: storage.FilterAny},
			{Site: "shop", URL: path, Limit: 3}, {URL: path, Limit: 4, State: storage.FilterAll},
			{Site: "shop", URL: path, From: base.Add(2 * time.Minute), To: base.Add(110 * time.Minute), State: storage.FilterAny},
			{Site: "shop", Event: "tag" + path}, {URL: path, Event: "tag/a", Limit: 2, State: storage.FilterAll},
			{Event: "tag" + path, Limit: 3, State: storage.FilterAny}, {Site: "blog", Event: "zero", State: storage.FilterAny},
		} {
			assert.Equal(t, listIDs(t, mem, q), listIDs(t, pg, q), "%+v", q)
		}
	}
}

// The largest facts a Recorder writes (200 event tags of 100 bytes, long
// paths, attributes of 1 KiB) are stored and found, with errors too: no
// index entry of a session outgrows what PostgreSQL can index.
func TestLargestFactsAreIndexed(t *testing.T) {
	needDB(t)
	s := newStore(t, nil)
	ctx := t.Context()
	// Random text, which no compression of an index entry shrinks.
	r := rand.New(rand.NewPCG(1, 2))
	noise := func(n int) string {
		b := make([]byte, n/2)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		return hex.EncodeToString(b)
	}
	events := map[string]int{}
	var last string
	for i := range 200 {
		last = fmt.Sprintf("%03d-%s", i, noise(96))
		events[last] = 1
	}
	var pages, rules []string
	for i := range 50 {
		pages = append(pages, fmt.Sprintf("https://shop.example/%d/%s", i, strings.Repeat("p", 2000)))
		rules = append(rules, fmt.Sprintf("rule-%d-%s", i, noise(60)))
	}
	sess := storage.Session{ID: "sess-0001", Site: "shop", State: storage.StateKept, Errors: 3,
		Start: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Events: events, Pages: pages, MatchedRules: rules,
		ErrorMessages: []string{strings.Repeat("e", 4000)}, Attrs: map[string]string{"userId": strings.Repeat("u", 1024)},
		Device: "desktop", OS: noise(500), Browser: noise(500), DurationMs: 1 << 40}
	require.NoError(t, s.PutSession(ctx, sess))
	sess.Errors, sess.State = 4, storage.StatePending
	require.NoError(t, s.PutSession(ctx, sess))
	for _, q := range []storage.Query{
		{Error: true, State: storage.FilterAll}, {Event: last, State: storage.FilterAll}, {Event: last, Error: true, State: storage.FilterAll},
		{URL: "/7/" + strings.Repeat("p", 2000), State: storage.FilterAll}, {Rule: rules[49], Error: true, State: storage.FilterAll},
		{MinDuration: time.Hour, Error: true, State: storage.FilterAll}, {User: strings.Repeat("u", 1024), State: storage.FilterAll},
	} {
		q.Site = "shop"
		assert.Equal(t, []string{"sess-0001"}, listIDs(t, s, q), "%+v", q)
	}
}
