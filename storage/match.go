package storage

import "strings"

// ValidID reports whether id is a valid session or window id of API.md:
// between minLen and 64 characters of [A-Za-z0-9_-]. Session ids need
// minLen 8, window ids 1; site ids follow the window rule.
func ValidID(id string, minLen int) bool {
	if len(id) < minLen || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}

// MatchURL reports whether the URL u matches glob as the `visited` condition
// and the `url` filter of API.md define it: `*` matches any run of characters,
// `/` included, and everything else is literal (`?`, `.`, `[` included) and
// case-sensitive. A glob that has a scheme ("https://shop.example/*") is
// matched against the whole URL, query included; any other glob against the
// URL's path only, without query or fragment. Both match the text as the URL
// spells it: percent-escapes are not decoded, so "/caf%C3%A9" matches the
// path that a browser reports for /café.
func MatchURL(glob, u string) bool {
	if strings.Contains(glob, "://") {
		return matchGlob(glob, u)
	}
	return matchGlob(glob, URLPath(u))
}

// URLPath returns the path of u as u spells it: without scheme, host, query
// and fragment, and "/" for an absolute URL that has no path. It is the path
// [MatchURL] matches a glob without a scheme against, for stores that index
// it.
func URLPath(u string) string {
	if i := strings.IndexAny(u, "?#"); i >= 0 {
		u = u[:i]
	}
	var rest string
	if i := strings.Index(u, "://"); i > 0 && !strings.Contains(u[:i], "/") {
		rest = u[i+len("://"):]
	} else if after, ok := strings.CutPrefix(u, "//"); ok {
		rest = after
	} else {
		return u
	}
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		return rest[i:]
	}
	return "/"
}

// matchGlob matches s against a pattern whose only wildcard is `*`, in time
// linear in len(pattern)*len(s) at worst (no backtracking blow-up).
func matchGlob(pattern, s string) bool {
	p, i := 0, 0
	star, mark := -1, 0
	for i < len(s) {
		switch {
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, i
			p++
		case p < len(pattern) && pattern[p] == s[i]:
			p++
			i++
		case star >= 0:
			p = star + 1
			mark++
			i = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}

// Match reports whether s satisfies every filter of q except paging. Stores
// that filter in memory use it; a database store pushes the same filters
// down into its query.
func (q Query) Match(s Session) bool {
	if q.Site != "" && s.Site != q.Site {
		return false
	}
	if !q.State.Match(s.State) {
		return false
	}
	if !q.From.IsZero() && s.Start.Before(q.From) {
		return false
	}
	if !q.To.IsZero() && !s.Start.Before(q.To) {
		return false
	}
	if q.Device != "" && !strings.EqualFold(q.Device, s.Device) {
		return false
	}
	if q.OS != "" && !strings.EqualFold(q.OS, s.OS) {
		return false
	}
	if q.Browser != "" && !strings.EqualFold(q.Browser, s.Browser) {
		return false
	}
	if q.URL != "" && !anyURL(q.URL, s.Pages) {
		return false
	}
	if q.Event != "" && s.Events[q.Event] == 0 {
		return false
	}
	if q.Error && s.Errors == 0 {
		return false
	}
	if q.Rule != "" && !contains(s.MatchedRules, q.Rule) {
		return false
	}
	if q.MinDuration > 0 && s.DurationMs < q.MinDuration.Milliseconds() {
		return false
	}
	if q.User != "" && s.Attrs["userId"] != q.User {
		return false
	}
	if q.Open && s.Ended {
		return false
	}
	if !q.LastSeenBefore.IsZero() && !s.LastSeen.Before(q.LastSeenBefore) {
		return false
	}
	return true
}

func anyURL(glob string, pages []string) bool {
	for _, p := range pages {
		if MatchURL(glob, p) {
			return true
		}
	}
	return false
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// Newer reports whether a sorts before b in a listing: newest Start first,
// then ID descending, then Site descending (so that the order is total even
// when a listing spans sites whose session ids collide).
func Newer(a, b Session) bool {
	if !a.Start.Equal(b.Start) {
		return a.Start.After(b.Start)
	}
	if a.ID != b.ID {
		return a.ID > b.ID
	}
	return a.Site > b.Site
}

// PageSize is the number of sessions a List call returns at most for q:
// Limit, or 50 when it is 0 or negative, capped at 500.
func (q Query) PageSize() int {
	switch {
	case q.Limit <= 0:
		return 50
	case q.Limit > 500:
		return 500
	}
	return q.Limit
}
