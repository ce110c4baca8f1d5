package cssrules

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// minifyCase is a sheet and what Minify makes of it.
type minifyCase struct {
	name, in, want string
}

// minifyCases are the sheets of the minify tests, also the fuzz seeds.
var minifyCases = []minifyCase{
	{"issue: empty rules and an empty rule in @media",
		".a{}.b{color:red}@media print{.c{}}.d{top:0}",
		".a{}.b{color:red}@media print{.c{}}.d{top:0}"},
	{"issue: a rule holding only a semicolon",
		".a{;}.b{x:1}",
		".a{}.b{x:1}"},
	{"as a browser serializes cssRules",
		".a { }\n.b { color: red; }\n@media print {\n  .c { }\n}\n.d { top: 0px; }",
		".a{}.b{color:red}@media print{.c{}}.d{top:0}"},
	{"nested @media, @supports and @layer, empty ones kept",
		"@media screen and (min-width: 600px) { @supports (display: grid) { .g { } } .h { color : red } }\n@layer base { @layer inner { } }\n@media print { }",
		"@media screen and (min-width: 600px){@supports (display: grid){.g{}}.h{color:red}}@layer base{@layer inner{}}@media print{}"},
	{"@layer statements and blocks",
		"@layer reset , base ;\n@layer reset { html { } }",
		"@layer reset,base;@layer reset{html{}}"},
	{"@font-face descriptors keep their values",
		"@font-face { font-family: \"My Font\"; src: url(/f.woff2) format(\"woff2\"), url('/f.woff') format('woff'); unicode-range: U+0000-00FF; }\n@font-face { }",
		"@font-face{font-family:\"My Font\";src:url(/f.woff2) format(\"woff2\"),url('/f.woff') format('woff');unicode-range:U+0000-00FF}@font-face{}"},
	{"@keyframes with an empty keyframe",
		"@keyframes spin { from { transform: rotate(0deg) } 50% { } to { transform: rotate(360deg) } }",
		"@keyframes spin{from{transform:rotate(0)}50%{}to{transform:rotate(360deg)}}"},
	{"@import and @charset",
		"@charset \"utf-8\";\n@import url(\"a.css\") screen and (orientation: landscape);\n@import 'b.css';\n.a { }",
		"@charset \"utf-8\";@import url(\"a.css\") screen and (orientation: landscape);@import 'b.css';.a{}"},
	{"comments go, the rules they are in stay",
		"/* header */ .a { /* inside */ } /*! license */ .b { color: red; /* trailing */ }",
		".a{}.b{color:red}"},
	{"a comment glueing two tokens stays a separator",
		"a/**/b { } .c { }",
		"a/**/b{}.c{}"},
	{"braces in strings",
		".a::after { content: \"}\" } .b[title='{'] { } .c { content: '\\'}' }",
		".a::after{content:\"}\"}.b[title='{']{}.c{content:'\\'}'}"},
	{"selectors: combinators and lists",
		"ul  >  li ,  ol ~ p  +  a  b { margin : 0px 0px }",
		"ul>li,ol~p+a b{margin:0}"},
	{"whitespace inside selectors' functions is kept where it may mean something",
		"li:nth-child( 2n + 1 ) > a { } a :hover { }",
		"li:nth-child(2n + 1)>a{}a :hover{}"},
	{"combinators keep a space where tokens would merge without it",
		"a -- > b { } .x + .5b { } .y > .z { }",
		"a -- >b{}.x+ .5b{}.y>.z{}"},
	{"nesting: rules and declarations after them",
		".a { color: red; &:hover { color: blue } top: 0; .b & { } }",
		".a{color:red;&:hover{color:blue}top:0;.b &{}}"},
	{"nesting: declarations directly in a nested @media",
		".a { color: red; @media print { color: blue; .b { } } }",
		".a{color:red;@media print{color:blue;.b{}}}"},
	{"custom properties keep their value",
		".a { --x: { a: b }; --y:  1px  2px ; color: red }",
		".a{--x:{ a: b };--y:1px  2px;color:red}"},
	{"!important",
		".a { color: red !important; top : 0 ! important }",
		".a{color:red!important;top:0!important}"},
	{"hacks the browser ignores stay declarations' neighbours",
		".a { *zoom: 1; color: red } .b { }",
		".a{*zoom:1;color:red}.b{}"},
	{"@page with a margin rule",
		"@page :first { margin: 1in; @top-left { content: 'x' } }",
		"@page :first{margin:1in;@top-left{content:'x'}}"},
	{"@property descriptors are not rewritten",
		"@property --w { syntax: '<length>'; inherits: false; initial-value: 0px; }",
		"@property --w{syntax:'<length>';inherits:false;initial-value:0px}"},
	{"@container and @scope",
		"@container card (min-width: 400px) { .t { } }\n@scope (.card) to (.content) { img { } }",
		"@container card (min-width: 400px){.t{}}@scope (.card) to (.content){img{}}"},
	{"HTML comment tokens at the top level",
		"<!-- .a { } -->",
		".a{}"},
	{"a rule whose prelude looks like a custom property is no rule, and stays",
		"--x: { } .a { }",
		"--x:{}.a{}"},
}

// unchangedCases are sheets Minify must return as they are: parse errors,
// sheets cut off, and sheets minifying cannot shorten.
var unchangedCases = []string{
	".a { color: red",
	".a { color: red; } }",
	".a{color:red}}",
	".a{b:c}}}}",
	".a { color: \"unterminated }",
	"/* open comment .a { }",
	".a { } .b",
	"@media print { .c { } ",
	"@media print{",
	"@import 'x.css'",
	".a { background: url(a b) }",
	"{{{",
	"a{b:c}",
	".a{}",
	"\x00\xff{}",
	"",
}

// sameRules reports whether two sheets parse to the same rule list.
func sameRules(t testing.TB, a, b string) bool {
	t.Helper()
	pa, ia, err := parseItems(a)
	require.NoError(t, err, "%q", a)
	pb, ib, err := parseItems(b)
	require.NoError(t, err, "%q", b)
	return sameShape(pa, ia, pb, ib)
}

// mustParse parses src, failing the test on an error.
func mustParse(t testing.TB, src string) *Sheet {
	t.Helper()
	s, err := Parse(src)
	require.NoError(t, err, "%q", src)
	return s
}

// corpus returns style sheets to measure on: every _cssText and inserted
// rule of the rrweb recordings in testdata, and the *.css files of the
// directory named by $CSSRULES_CORPUS (large real sheets, kept out of the
// repository) each as one sheet.
func corpus(t testing.TB) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	files, err := filepath.Glob("../../testdata/recordings/*.json")
	require.NoError(t, err)
	for _, f := range files {
		data, err := os.ReadFile(f)
		require.NoError(t, err)
		var v any
		require.NoError(t, json.Unmarshal(data, &v))
		collectCSS(v, func(s string) { out["recordings"] = append(out["recordings"], s) })
	}
	require.NotEmpty(t, out["recordings"])
	if dir := os.Getenv("CSSRULES_CORPUS"); dir != "" {
		files, err := filepath.Glob(filepath.Join(dir, "*.css"))
		require.NoError(t, err)
		for _, f := range files {
			data, err := os.ReadFile(f)
			require.NoError(t, err)
			out[filepath.Base(f)] = []string{string(data)}
		}
	}
	return out
}

// collectCSS calls fn with the style sheets and rules in a decoded
// recording.
func collectCSS(v any, fn func(string)) {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if s, ok := x.(string); ok && (k == "_cssText" || k == "rule") {
				fn(s)
			}
			collectCSS(x, fn)
		}
	case []any:
		for _, x := range v {
			collectCSS(x, fn)
		}
	}
}
