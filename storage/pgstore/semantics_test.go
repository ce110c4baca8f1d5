package pgstore_test

import (
	"fmt"
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
