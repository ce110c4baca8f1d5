package e2e_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/sessionreplay/replay/internal/cssrules"
)

// cssomOutline is a JavaScript function that parses a sheet in a <style>
// element and returns its CSSOM rule list, one rule a line indented by
// depth: the rule's class, its selector, key, condition or name, and the
// number of declarations of its style.
const cssomOutline = `(css) => {
	const el = document.createElement('style');
	el.textContent = css;
	document.head.appendChild(el);
	const out = [];
	const walk = (rules, depth) => {
		for (const r of rules) {
			let s = ' '.repeat(depth * 2) + r.constructor.name;
			for (const k of ['selectorText', 'keyText', 'conditionText', 'name', 'layerName', 'href']) {
				if (typeof r[k] === 'string') s += ' ' + k + '=' + r[k];
			}
			if (r.style) s += ' decls=' + r.style.length;
			out.push(s);
			if (r.cssRules) walk(r.cssRules, depth + 1);
		}
	};
	walk(el.sheet.cssRules, 0);
	el.remove();
	return out.join('\n');
}`

// stylesheetSamples are sheets whose rule lists Chromium must see the same
// before and after minifying.
var stylesheetSamples = []string{
	".a{}.b{color:red}@media print{.c{}}.d{top:0}",
	".a{;}.b{x:1}",
	".a { }\n.b { color: red; }\n@media print {\n  .c { }\n}\n@supports (display: grid) { }\n.d { top: 0px; }",
	"@media screen and (min-width: 600px) { @supports (display: grid) { .g { } } .h { color : red } }\n@layer base { @layer inner { } }\n@layer a , b ;",
	"@font-face { font-family: \"My Font\"; src: url(/f.woff2) format(\"woff2\"); }\n@font-face { }",
	"@keyframes spin { from { transform: rotate(0deg) } 50% { } to { transform: rotate(360deg) } }",
	"@import url(\"a.css\") screen;\n@import 'b.css';\n.a { }",
	"/* c */ .a { /* c */ } .a::after { content: \"}\" } .b[title='{'] { }",
	"ul  >  li ,  ol ~ p  +  a  b { margin : 0px 0px } li:nth-child( 2n + 1 ) > a { } a :hover { }",
	".a { color: red; &:hover { color: blue } top: 0; .b & { } }",
	".a { color: red; @media print { color: blue; .b { } } }",
	".a { --x: { a: b }; --y:  1px  2px ; color: red !important; *zoom: 1 }",
	"@page :first { margin: 1in; }\n@property --w { syntax: '<length>'; inherits: false; initial-value: 0px; }",
	"@container card (min-width: 400px) { .t { } }\n@scope (.card) to (.content) { img { } }",
	"a -- > b { } .x + .5b { } .y > .z { } .bad..sel { } @unknown foo { .q { } } .ok { }",
}

// Chromium sees the same rules in a sheet and in the sheet minified: the
// same classes, selectors, conditions and names, nesting, and numbers of
// declarations. $CSSRULES_CORPUS adds the .css files of a directory.
func TestMinifiedStyleSheetsKeepChromiumsRules(t *testing.T) {
	tab := newTab(t)
	do(t, tab, chromedp.Navigate("about:blank"))
	sheets := append([]string(nil), stylesheetSamples...)
	if dir := os.Getenv("CSSRULES_CORPUS"); dir != "" {
		files, err := filepath.Glob(filepath.Join(dir, "*.css"))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			sheets = append(sheets, string(b))
		}
	}
	outline := func(css string) string {
		arg, err := json.Marshal(css)
		if err != nil {
			t.Fatal(err)
		}
		return run(t, tab, chromedp.Evaluate[string]("("+cssomOutline+")("+string(arg)+")"))
	}
	for i, css := range sheets {
		min := cssrules.Minify(css)
		want, got := outline(css), outline(min)
		if want != got {
			t.Errorf("sample %d: Chromium's rules differ after minifying\nsheet:    %.300q\nminified: %.300q\nbefore:\n%.2000s\nafter:\n%.2000s", i, css, min, want, got)
		}
		if want == "" {
			t.Errorf("sample %d: Chromium sees no rule in %q", i, css)
		}
	}
}
