package cssrules

import (
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// FuzzMinifyKeepsRules checks on any input that Minify never changes a
// sheet's rule list: what it changes parses, has the same rules (kinds,
// names, preludes, nesting) and is shorter; what it cannot parse it leaves
// as it is.
func FuzzMinifyKeepsRules(f *testing.F) {
	for _, c := range minifyCases {
		f.Add(c.in)
	}
	for _, in := range unchangedCases {
		f.Add(in)
	}
	f.Fuzz(func(t *testing.T, in string) {
		if len(in) > 1<<16 {
			return
		}
		out := Minify(in)
		if p, items, err := parseItems(in); err == nil {
			// Minify checks its output and falls back to in; what it
			// writes should need no falling back.
			raw, err := write(p, items)
			require.NoError(t, err)
			if p2, items2, err := parseItems(raw); assert.NoError(t, err, "%q", raw) {
				assert.True(t, sameShape(p, items, p2, items2), "written as %q", raw)
			}
		}
		before, err := Parse(in)
		if err != nil {
			require.Equal(t, in, out, "a sheet that does not parse is kept")
			return
		}
		if out == in {
			return
		}
		assert.Less(t, len(out), len(in))
		after, err := Parse(out)
		require.NoError(t, err, "the minified sheet parses: %q", out)
		assert.True(t, sameRules(t, in, out), "the same rules: %q", out)
		assert.Equal(t, len(flatten(before.Rules)), len(flatten(after.Rules)))
		if utf8.ValidString(in) {
			assert.True(t, utf8.ValidString(out))
		}
	})
}

// flatten lists rules depth first.
func flatten(rules []*Rule) []*Rule {
	var out []*Rule
	for _, r := range rules {
		out = append(out, r)
		out = append(out, flatten(r.Rules)...)
	}
	return out
}
