package storage_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/sessionreplay/replay/storage"
)

func TestMatchURL(t *testing.T) {
	tests := []struct {
		glob, url string
		want      bool
		why       string
	}{
		// Path globs match the path of an absolute URL.
		{"/checkout", "https://shop.example/checkout", true, "exact path"},
		{"/checkout", "https://shop.example/checkout/pay", false, "the rest of a glob is literal: no implied prefix"},
		{"/checkout", "https://shop.example/checkoutx", false, "no implied prefix"},
		{"/checkout", "https://shop.example/my/checkout", false, "no implied suffix"},
		{"/checkout*", "https://shop.example/checkout/pay/card", true, "* crosses /"},
		{"*/pay", "https://shop.example/checkout/pay", true, "leading *"},
		{"/a*b*c", "https://x.example/a/1/b/2/c", true, "several *"},
		{"/a*b*c", "https://x.example/a/1/c/2/b", false, "several * in order"},
		{"*", "https://x.example/anything?at=all", true, "* alone matches every URL"},
		{"/", "https://shop.example", true, "a URL without a path has the path /"},
		{"/", "https://shop.example/", true, "root path"},
		{"/Checkout", "https://shop.example/checkout", false, "case-sensitive"},

		// Query strings and fragments are not part of the path.
		{"/checkout", "https://shop.example/checkout?step=2", true, "query ignored"},
		{"/checkout", "https://shop.example/checkout#top", true, "fragment ignored"},
		{"/checkout*", "https://shop.example/checkout?step=2", true, "query ignored after *"},
		{"*step=2", "https://shop.example/checkout?step=2", false, "a path glob never sees the query"},
		{"/checkout", "/checkout?step=2", true, "a relative URL's query is ignored too"},
		{"/checkout", "/checkout#x", true, "a relative URL's fragment is ignored too"},
		{"/", "https://shop.example?x=1", true, "a query right after the host"},
		{"/a", "//cdn.example/a", true, "a scheme-relative URL's path"},
		{"/redirect", "/redirect?to=https://evil.example/x", true, "a URL in the query is not the URL"},

		// No regex or shell meaning for anything but *.
		{"/a.b", "https://x.example/axb", false, ". is literal"},
		{"/a.b", "https://x.example/a.b", true, ". matches ."},
		{"/a?", "https://x.example/ab", false, "? is literal, not one character"},
		{"/[ab]", "https://x.example/a", false, "[ is literal"},
		{"/a+", "https://x.example/aa", false, "+ is literal"},
		{"/(a|b)", "https://x.example/(a|b)", true, "( | ) are literal"},
		{"^/a$", "https://x.example/a", false, "^ and $ are literal"},

		// Globs with a scheme match the whole URL.
		{"https://shop.example/*", "https://shop.example/cart?x=1", true, "full-URL glob, query included"},
		{"https://shop.example/cart", "https://shop.example/cart?x=1", false, "a full-URL glob is literal to the end"},
		{"https://shop.example/*", "http://shop.example/cart", false, "scheme is part of the URL"},
		{"*://shop.example/*", "http://shop.example/cart", true, "* in the scheme"},
		{"https://shop.example/*", "https://evil.example/?https://shop.example/", false, "anchored at the start"},
		{"https://*.example/cart", "https://a.b.example/cart", true, "* in the host"},

		// Text as the URL spells it: escapes are not decoded.
		{"/caf%C3%A9", "https://x.example/caf%C3%A9", true, "escaped path matches as written"},
		{"/café", "https://x.example/caf%C3%A9", false, "escapes are not decoded"},
		{"/a%2Fb", "https://x.example/a%2Fb", true, "an escaped / stays escaped"},
		{"/a/b", "https://x.example/a%2Fb", false, "an escaped / is not a /"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, storage.MatchURL(tt.glob, tt.url), "%s: MatchURL(%q, %q)", tt.why, tt.glob, tt.url)
	}
}

// A glob with many stars against a long URL must not backtrack
// exponentially; this finishes at once when matchGlob is linear in each
// star.
func TestMatchURLManyStars(t *testing.T) {
	glob := strings.Repeat("*a", 30) + "*b"
	u := "https://x.example/" + strings.Repeat("a", 10_000)
	assert.False(t, storage.MatchURL(glob, u))
	assert.True(t, storage.MatchURL(glob, u+"b"))
}

func TestValidID(t *testing.T) {
	tests := []struct {
		id     string
		minLen int
		want   bool
	}{
		{"abcdefgh", 8, true},
		{"abcdefg", 8, false},
		{"a", 1, true},
		{"", 1, false},
		{"", 0, true},
		{strings.Repeat("a", 64), 8, true},
		{strings.Repeat("a", 65), 8, false},
		{"AZaz09_-", 8, true},
		{"abc.defg", 8, false},
		{"abc/defg", 8, false},
		{"../../etc", 1, false},
		{"abc defg", 8, false},
		{"abcdéfgh", 8, false},
		{"abc\x00defg", 8, false},
		{"abc%2fdefg", 8, false},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, storage.ValidID(tt.id, tt.minLen), "ValidID(%q, %d)", tt.id, tt.minLen)
	}
}

func TestQueryMatch(t *testing.T) {
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	s := storage.Session{
		ID: "sess-0001", Site: "shop", State: storage.StateKept,
		Start: at, DurationMs: 30_000,
		Device: "mobile", OS: "iOS", Browser: "Mobile Safari",
		Pages:        []string{"https://shop.example/", "https://shop.example/checkout?step=1"},
		Events:       map[string]int{"signup": 2},
		Errors:       1,
		MatchedRules: []string{"errors"},
		Attrs:        map[string]string{"userId": "u1"},
		LastSeen:     at.Add(time.Minute),
		Ended:        false,
	}
	tests := []struct {
		q    storage.Query
		want bool
		why  string
	}{
		{storage.Query{}, true, "the zero query matches a kept session"},
		{storage.Query{Site: "shop"}, true, "same site"},
		{storage.Query{Site: "blog"}, false, "other site"},
		{storage.Query{From: at}, true, "From is inclusive"},
		{storage.Query{From: at.Add(time.Millisecond)}, false, "starts before From"},
		{storage.Query{To: at}, false, "To is exclusive"},
		{storage.Query{To: at.Add(time.Millisecond)}, true, "starts before To"},
		{storage.Query{Device: "MOBILE"}, true, "Device ignores case"},
		{storage.Query{Device: "mob"}, false, "Device is not a substring"},
		{storage.Query{OS: "IOS"}, true, "OS ignores case"},
		{storage.Query{OS: "os"}, false, "OS is exact"},
		{storage.Query{Browser: "mobile safari"}, true, "Browser ignores case"},
		{storage.Query{Browser: "Safari"}, false, "Browser is exact"},
		{storage.Query{URL: "/checkout"}, true, "URL on any page, query ignored"},
		{storage.Query{URL: "/cart"}, false, "no page matches"},
		{storage.Query{Event: "signup"}, true, "Event seen"},
		{storage.Query{Event: "sign"}, false, "Event is an exact tag"},
		{storage.Query{Error: true}, true, "has errors"},
		{storage.Query{Rule: "errors"}, true, "rule matched"},
		{storage.Query{Rule: "error"}, false, "Rule is an exact name"},
		{storage.Query{MinDuration: 30 * time.Second}, true, "MinDuration is inclusive"},
		{storage.Query{MinDuration: 30*time.Second + time.Millisecond}, false, "shorter than MinDuration"},
		{storage.Query{User: "u1"}, true, "User is attrs.userId"},
		{storage.Query{User: "u"}, false, "User is exact"},
		{storage.Query{State: storage.FilterPending}, false, "kept is not pending"},
		{storage.Query{State: storage.FilterAll}, true, "all includes kept"},
		{storage.Query{State: storage.FilterDropped}, false, "kept is not dropped"},
		{storage.Query{State: storage.FilterAny}, true, "any includes kept"},
		{storage.Query{State: "bogus"}, false, "an unknown state filter matches nothing"},
		{storage.Query{Open: true}, true, "not ended"},
		{storage.Query{LastSeenBefore: at.Add(time.Minute)}, false, "LastSeenBefore is exclusive"},
		{storage.Query{LastSeenBefore: at.Add(time.Minute + 1)}, true, "last seen before"},
		{storage.Query{Device: "mobile", Error: true, User: "u1"}, true, "filters AND together"},
		{storage.Query{Device: "mobile", Error: true, User: "u2"}, false, "one failing filter is enough"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, tt.q.Match(s), tt.why)
	}

	ended, noErrors := s, s
	ended.Ended = true
	noErrors.Errors = 0
	assert.False(t, storage.Query{Open: true}.Match(ended), "Open drops ended sessions")
	assert.False(t, storage.Query{Error: true}.Match(noErrors), "Error drops sessions without errors")
}

func TestStateFilter(t *testing.T) {
	states := []storage.State{storage.StateKept, storage.StatePending, storage.StateDropped}
	tests := map[storage.StateFilter][]bool{ // kept, pending, dropped
		"":                    {true, false, false},
		storage.FilterKept:    {true, false, false},
		storage.FilterPending: {false, true, false},
		storage.FilterAll:     {true, true, false},
		storage.FilterDropped: {false, false, true},
		storage.FilterAny:     {true, true, true},
	}
	for f, want := range tests {
		for i, s := range states {
			assert.Equal(t, want[i], f.Match(s), "filter %q, state %q", f, s)
		}
	}
}

func TestPageSize(t *testing.T) {
	for limit, want := range map[int]int{-1: 50, 0: 50, 1: 1, 50: 50, 500: 500, 501: 500, 1 << 40: 500} {
		assert.Equal(t, want, storage.Query{Limit: limit}.PageSize(), "Limit %d", limit)
	}
}

func TestNewer(t *testing.T) {
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	a := storage.Session{Site: "a", ID: "x", Start: at}
	assert.True(t, storage.Newer(storage.Session{Site: "a", ID: "a", Start: at.Add(1)}, a), "later Start first")
	assert.True(t, storage.Newer(storage.Session{Site: "a", ID: "y", Start: at}, a), "then higher ID")
	assert.True(t, storage.Newer(storage.Session{Site: "b", ID: "x", Start: at}, a), "then higher Site")
	assert.False(t, storage.Newer(a, a), "a session is not newer than itself")
	assert.True(t, storage.Newer(a, storage.Session{Site: "a", ID: "x", Start: at.In(time.FixedZone("X", 3600)).Add(-1)}),
		"Start compares as an instant, whatever the zone")
}

func TestClone(t *testing.T) {
	s := storage.Session{
		MatchedRules: []string{"r"}, Pages: []string{"p"}, ErrorMessages: []string{"e"},
		Events: map[string]int{"e": 1}, WindowIDs: []string{"w"}, Attrs: map[string]string{"k": "v"},
		Opaque: []byte{1},
	}
	c := s.Clone()
	assert.Equal(t, s, c)
	c.MatchedRules[0], c.Pages[0], c.ErrorMessages[0], c.WindowIDs[0] = "x", "x", "x", "x"
	c.Events["e"], c.Attrs["k"], c.Opaque[0] = 9, "x", 9
	assert.Equal(t, storage.Session{
		MatchedRules: []string{"r"}, Pages: []string{"p"}, ErrorMessages: []string{"e"},
		Events: map[string]int{"e": 1}, WindowIDs: []string{"w"}, Attrs: map[string]string{"k": "v"},
		Opaque: []byte{1},
	}, s, "changing the clone leaves the original")

	var empty storage.Session
	c = empty.Clone()
	assert.Nil(t, c.Pages)
	assert.Nil(t, c.Events)
	assert.Nil(t, c.Opaque)
}

// FuzzMatchURL checks MatchURL on arbitrary globs and URLs (both can come
// from the read API's url parameter and from stored pages): it never panics,
// `*` matches every URL, and a glob made of a URL's own path matches it.
func FuzzMatchURL(f *testing.F) {
	f.Add("/checkout*", "https://shop.example/checkout?x=1")
	f.Add("https://*/a", "https://x/a")
	f.Add("**", "//x")
	f.Fuzz(func(t *testing.T, glob, u string) {
		storage.MatchURL(glob, u)
		if !storage.MatchURL("*", u) {
			t.Fatalf("* does not match %q", u)
		}
		if !strings.Contains(u, "://") && !strings.ContainsAny(u, "?#*") && !strings.HasPrefix(u, "//") && !storage.MatchURL(u, u) {
			t.Fatalf("the path %q does not match itself", u)
		}
	})
}

// URLPath must read a URL's path exactly as MatchURL does: stores that
// index paths match path globs against what it returns.
func FuzzURLPath(f *testing.F) {
	for _, u := range []string{"https://shop.example/a/b?c=1#d", "https://shop.example", "//cdn.example/x.js",
		"/relative?q", "weird:no-slashes", "a/b://c/d", "", "https://h//double/x", "#frag", "?q"} {
		f.Add(u)
	}
	f.Fuzz(func(t *testing.T, u string) {
		p := storage.URLPath(u)
		if strings.Contains(p, "*") || strings.Contains(p, "://") {
			return // not usable as a literal glob
		}
		if !storage.MatchURL(p, u) {
			t.Errorf("URLPath(%q) = %q, but MatchURL(%q, %q) is false", u, p, p, u)
		}
		if storage.MatchURL(p+"\x01", u) {
			t.Errorf("URLPath(%q) = %q, and MatchURL also matches a longer path", u, p)
		}
	})
}
