package cssrules

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/tdewolff/minify/v2"
	mhtml "github.com/tdewolff/minify/v2/html"
)

func TestMinifyKeepsEveryRule(t *testing.T) {
	for _, c := range minifyCases {
		t.Run(c.name, func(t *testing.T) {
			out := Minify(c.in)
			assert.Equal(t, c.want, out)
			if c.in != c.want {
				assert.Less(t, len(out), len(c.in), "minified")
			}
			assert.True(t, sameRules(t, c.in, out), "the same rules")
		})
	}
}

func TestMinifyLeavesWhatItDoesNotUnderstand(t *testing.T) {
	for _, in := range unchangedCases {
		assert.Equal(t, in, Minify(in), "%q", in)
	}
}

// The example: the sheet keeps four top-level rules and the
// empty rule inside @media, so index 1 still addresses .b.
func TestMinifyKeepsIndices(t *testing.T) {
	s := mustParse(t, Minify(".a { }\n.b { color: red; }\n@media print { .c { } }\n.d { top: 0 }"))
	assert.Equal(t, "style .a {}\nstyle .b {} color\nat @media print {}\n  style .c {}\nstyle .d {} top\n", s.Outline())
}

func TestSameShape(t *testing.T) {
	for _, c := range []struct {
		a, b string
		same bool
	}{
		{".a { } .b { color: red }", ".a{}.b{color:blue;top:0}", true},
		{"@charset 'x'; .a{}", ".a{}", true},
		{".a{} .b{}", ".b{}", false},
		{".a{} .b{}", ".a{} .c{}", false},
		{".a .b{}", ".a.b{}", false},
		{"a -- > b{}", "a -->b{}", false},
		{"@media print{.a{}}", "@media screen{.a{}}", false},
		{"@media print{.a{}}", "@supports print{.a{}}", false},
		{"@media print{.a{}}", "@media print{}", false},
		{"@layer a;", "@layer a{}", false},
		{".a{&:b{} color:red}", ".a{&:b{}}", false},
		{".a{&:b{} color:red}", ".a{color:red;&:b{}}", false},
		{".a{&:b{} color:red}", ".a{&:b{} top:0; *x}", true},
		{".a{@media print{color:red}}", ".a{@media print{}}", false},
		{"@media print{color:red}", "@media print{}", true},
		{".a{x:y;.b{}}", ".a{.b{}}", true},
	} {
		assert.Equal(t, c.same, sameRules(t, c.a, c.b), "%q and %q", c.a, c.b)
	}
}

func TestMinifyFunc(t *testing.T) {
	m := minify.New()
	m.AddFunc("text/css", MinifyFunc)
	m.Add("text/html", &mhtml.Minifier{})
	var b bytes.Buffer
	assert.NoError(t, MinifyFunc(m, &b, strings.NewReader(".a { }\n.b { color: #ff0000 }"), nil))
	assert.Equal(t, ".a{}.b{color:red}", b.String(), "a sheet")
	b.Reset()
	assert.NoError(t, MinifyFunc(m, &b, strings.NewReader(" color : #ff0000 ; margin: 0px "), map[string]string{"inline": "1"}))
	assert.Equal(t, "color:red;margin:0", b.String(), "a style attribute")
	out, err := m.String("text/html", `<style>.a { } .b { top: 0px }</style><p style="color: #ff0000">x</p>`)
	assert.NoError(t, err)
	assert.Contains(t, out, "<style>.a{}.b{top:0}</style>", "the HTML minifier keeps a <style>'s empty rules")
}
