package cssrules

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseOutline(t *testing.T) {
	for _, c := range []struct{ name, in, want string }{
		{"empty rules count", ".a{}.b{color:red}@media print{.c{}}.d{top:0}",
			"style .a {}\nstyle .b {} color\nat @media print {}\n  style .c {}\nstyle .d {} top\n"},
		{"statement at-rules; @charset is not in cssRules", `@charset "x"; @import "a.css"; @layer a, b;`,
			"at @import \"a.css\"\nat @layer a,b\n"},
		{"nested declarations", ".a { color: red; &:hover { } top: 0; left: 1px; .b { } }",
			"style .a {} color\n  style &:hover {}\n  nested-declarations top left\n  style .b {}\n"},
		{"declarations in a nested group rule", ".a { @media print { color: red; .b { } top: 0 } }",
			"style .a {}\n  at @media print {}\n    nested-declarations color\n    style .b {}\n    nested-declarations top\n"},
		{"descriptors", "@font-face { font-family: x; src: url(a) } @page { margin: 0; @top-left { content: '' } size: a4 }",
			"at @font-face {} font-family src\nat @page {} margin size\n  at @top-left {} content\n"},
		{"a pseudo-class is a rule, not a declaration", ".a { a:hover { } b:c; }",
			"style .a {}\n  style a:hover {}\n  nested-declarations b\n"},
		{"junk is not a rule", ".a { *zoom: 1; .b; } --x: { } .c { }",
			"style .a {}\nstyle .c {}\n"},
		{"!important", ".a { color: red ! IMPORTANT }", "style .a {} color!\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			assert.Equal(t, c.want, mustParse(t, c.in).Outline())
		})
	}
}

func TestParseRefusesWhatMinifyRefuses(t *testing.T) {
	for _, in := range unchangedCases[:11] {
		_, err := Parse(in)
		assert.True(t, errors.Is(err, ErrSyntax), "%q: %v", in, err)
	}
}

func TestInsertAndDeleteRule(t *testing.T) {
	s := mustParse(t, ".a{}.b{color:red}@media print{.c{}}.d{top:0}")
	require.NoError(t, s.DeleteRule(nil, 1))
	require.NoError(t, s.InsertRule([]int{1}, ".e { }", 1))
	require.NoError(t, s.InsertRule(nil, "@media screen { .f { } }", 3))
	require.NoError(t, s.InsertRule([]int{3}, ".g { }", 0))
	require.NoError(t, s.DeleteRule([]int{1}, 0))
	require.NoError(t, s.InsertRule(nil, `@import "x.css"`, 0))
	assert.Equal(t, "at @import \"x.css\"\nstyle .a {}\nat @media print {}\n  style .e {}\nstyle .d {} top\n"+
		"at @media screen {}\n  style .g {}\n  style .f {}\n", s.Outline())

	for _, c := range []struct {
		name string
		err  error
		fn   func() error
	}{
		{"insert past the end", ErrIndex, func() error { return s.InsertRule(nil, ".x{}", 6) }},
		{"delete past the end", ErrIndex, func() error { return s.DeleteRule(nil, 5) }},
		{"a path through a rule without rules", ErrIndex, func() error { return s.InsertRule([]int{0}, ".x{}", 0) }},
		{"a path to nowhere", ErrIndex, func() error { return s.DeleteRule([]int{9, 0}, 0) }},
		{"two rules", ErrSyntax, func() error { return s.InsertRule(nil, ".x{} .y{}", 0) }},
		{"no rule", ErrSyntax, func() error { return s.InsertRule(nil, "  ", 0) }},
		{"a declaration", ErrSyntax, func() error { return s.InsertRule(nil, "color: red", 0) }},
		{"a rule cut off", ErrSyntax, func() error { return s.InsertRule(nil, ".x{", 0) }},
	} {
		assert.ErrorIs(t, c.fn(), c.err, c.name)
	}
	assert.Len(t, s.Rules, 5, "failed calls change nothing")
}

func TestSetAndRemoveProperty(t *testing.T) {
	s := mustParse(t, ".a{} .b { color: red; top: 0 } .c { &:hover { } }")
	require.Nil(t, s.Rule([]int{3}))
	require.Nil(t, s.Rule(nil))
	b := s.Rule([]int{1})
	b.SetProperty("COLOR", "blue", "important")
	b.SetProperty("left", "1px", "")
	b.SetProperty("right", "1px", "bogus") // ignored, as setProperty does
	b.RemoveProperty("top")
	b.SetProperty("--v", " x ", "")
	s.Rule([]int{2, 0}).SetProperty("color", "red", "")
	s.Rule([]int{0}).SetProperty("margin", "0", "")
	s.Rule([]int{0}).SetProperty("margin", "", "") // an empty value removes
	assert.Equal(t, []Declaration{{"color", "blue", true}, {"left", "1px", false}, {"--v", "x", false}}, b.Style)
	assert.Equal(t, "style .a {}\nstyle .b {} color! left --v\nstyle .c {}\n  style &:hover {} color\n", s.Outline())
}
