package pgstore

import (
	"strings"
	"testing"

	"github.com/sessionreplay/replay/storage"
)

// urlPath must read a URL's path exactly as storage.MatchURL does, since
// the URL filter matches path globs against the paths it stored.
func FuzzURLPath(f *testing.F) {
	for _, u := range []string{"https://shop.example/a/b?c=1#d", "https://shop.example", "//cdn.example/x.js",
		"/relative?q", "weird:no-slashes", "a/b://c/d", "", "https://h//double/x", "#frag", "?q"} {
		f.Add(u)
	}
	f.Fuzz(func(t *testing.T, u string) {
		p := urlPath(u)
		if strings.Contains(p, "*") || strings.Contains(p, "://") {
			return // not usable as a literal glob
		}
		if !storage.MatchURL(p, u) {
			t.Errorf("urlPath(%q) = %q, but MatchURL(%q, %q) is false", u, p, p, u)
		}
		if storage.MatchURL(p+"\x01", u) {
			t.Errorf("urlPath(%q) = %q, and MatchURL also matches a longer path", u, p)
		}
	})
}

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
