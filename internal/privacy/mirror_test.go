package privacy

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/sessionreplay/replay/internal/jsonx"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMirrorFailsClosedPastItsBounds(t *testing.T) {
	t.Run("too many siblings for a sibling selector", func(t *testing.T) {
		m, err := Compile(&Policy{MaskTextSelector: "li:nth-child(2)", UnmaskSelector: "ul"})
		require.NoError(t, err)
		mr := NewMirror()
		var items []string
		for i := range maxSiblings + 1 {
			items = append(items, pel(100+i, "li", ""))
		}
		var stored []string
		for _, ev := range []string{pMeta, psnap(pel(10, "ul", "", items...)),
			pmut(`"texts":[],"removes":[],"attributes":[],"adds":[{"parentId":10,"nextId":null,"node":{"type":2,"tagName":"li","attributes":{},"childNodes":[],"id":50000}},{"parentId":50000,"nextId":null,"node":{"type":3,"textContent":"SiblingCapSecret","id":50001}}]`)} {
			ps := &pass{m: m, mr: mr, budget: reevalBudget} // a batch each, as the Recorder masks them
			var e Event
			require.NoError(t, json.Unmarshal([]byte(ev), &e))
			require.NoError(t, ps.maskEvent(&e))
			stored = append(stored, string(e.Data))
		}
		assert.NotContains(t, strings.Join(stored, "\n"), "SiblingCapSecret")
	})
	t.Run("re-matching budget", func(t *testing.T) {
		p := &Policy{MaskTextSelector: ".account .balance"}
		m, err := Compile(p)
		require.NoError(t, err)
		ps := &pass{m: m, mr: NewMirror(), budget: 1}
		var e Event
		require.NoError(t, json.Unmarshal([]byte(psnap(pel(10, "div", "", pel(11, "p", "", pel(12, "span", `"class":"balance"`, ptxt(13, "x")))))), &e))
		require.NoError(t, ps.maskEvent(&e))
		require.NoError(t, json.Unmarshal([]byte(pmut(`"texts":[],"removes":[],"adds":[],"attributes":[{"id":10,"attributes":{"class":"account"}}]`)), &e))
		require.NoError(t, ps.maskEvent(&e))
		assert.Contains(t, string(e.Data), `"rr_mask":"x"`, "the element whose change could not be followed is marked")
		require.NoError(t, json.Unmarshal([]byte(pmut(`"texts":[{"id":13,"value":"BudgetSecret"}],"removes":[],"adds":[],"attributes":[]`)), &e))
		require.NoError(t, ps.maskEvent(&e))
		assert.NotContains(t, string(e.Data), "BudgetSecret")
	})
}

// attrSetJoined is attrSet as it was first written: the encodings sorted
// as strings.
func attrSetJoined(m *Masker, attrs map[string]any) string {
	var kv []string
	for k, v := range attrs {
		lk := strings.ToLower(k)
		if !m.keeps(lk) {
			continue
		}
		if s, ok := attrString(v); ok {
			kv = append(kv, lk+"\x00"+s)
		}
	}
	slices.Sort(kv)
	return strings.Join(kv, "\x00")
}

func TestAttrSetSortsAsEncoded(t *testing.T) {
	m, err := Compile(&Policy{MaskTextSelector: "[id], [i], [ids]"})
	require.NoError(t, err)
	m.read["i\x00d"] = true
	for _, attrs := range []map[string]any{
		{},
		{"class": "a b", "id": "x", "type": "text"},
		{"ids": "1", "id": "2", "i": "3", "i\x00d": "4", "CLASS": "z", "class": "y"},
		{"id": jsonNumber("5"), "name": true, "type": false, "role": nil, "lang": "x\x00y"},
	} {
		o := &jsonx.Object{}
		for k, v := range attrs {
			o.Set(k, v)
		}
		want := attrSetJoined(m, attrs)
		assert.Equal(t, want, attrSet(m, o), "%q", attrs)
		assert.Equal(t, want, attrSet(m, mapObject(attrs)), "%q", attrs)
	}
}

func TestIntOf(t *testing.T) {
	tests := []struct {
		in   any
		want int32
		ok   bool
	}{
		{jsonNumber("0"), 0, true},
		{jsonNumber("-0"), 0, true},
		{jsonNumber("42"), 42, true},
		{jsonNumber("-123456789"), -123456789, true},
		{jsonNumber("2147483647"), 2147483647, true},
		{jsonNumber("-2147483648"), -2147483648, true},
		{jsonNumber("2147483648"), 0, false},
		{jsonNumber("3.0"), 3, true},
		{jsonNumber("3.5"), 0, false},
		{jsonNumber("1e3"), 1000, true},
		{jsonNumber("-"), 0, false},
		{jsonNumber(""), 0, false},
		{"7", 0, false},
		{nil, 0, false},
	}
	for _, tt := range tests {
		got, ok := intOf(tt.in)
		assert.Equal(t, tt.ok, ok, "%#v", tt.in)
		assert.Equal(t, tt.want, got, "%#v", tt.in)
	}
}

func TestPeekSource(t *testing.T) {
	tests := []struct {
		data string
		want int32
		ok   bool
	}{
		{`{"source":0,"adds":[]}`, 0, true},
		{`{"texts":[],"source":5}`, 5, true},
		{`{"source":2,"source":0}`, 0, true},
		{`{"source":0,"source":null}`, 0, true},
		{`{"source":"5"}`, 5, true},
		{`{"source":3.0}`, 3, true},
		{`{"source":1e1}`, 10, true},
		{`{"source":"x"}`, 0, false},
		{`{"source":true}`, 0, false},
		{`{"source":0.5}`, 0, false},
		{`{"source":4294967296}`, 0, false},
		{`{"Source":0}`, 0, false},
		{`{}`, 0, false},
		{`{"source":0`, 0, false},
		{`{"source":0} x`, 0, false},
		{``, 0, false},
	}
	for _, tt := range tests {
		got, ok := peekSource([]byte(tt.data))
		assert.Equal(t, tt.ok, ok, tt.data)
		assert.Equal(t, tt.want, got, tt.data)
	}
}

// FuzzMinifyCSS checks the _cssText minifier on untrusted CSS: it never
// panics, keeps the rr_split markers the replayer needs, and returns its
// input unchanged when minifying fails or would not shorten it.
func FuzzMinifyCSS(f *testing.F) {
	for _, s := range []string{
		"body { margin : 0px ; color : #ff0000 ; }",
		".password-field  {  color : red ;  }\n/* rr_split */\n.card-4111111111111111 { margin : 0px ; }",
		`@media (max-width: 600px) { .a::before { content: "secret \"quoted\""; } } @font-face { font-family: X; src: url("/f.woff2?token=1") }`,
		`@import url(x.css); :root { --v: calc(1px + 2%) } .b:not(.c) > d ~ e + f { background: url(data:image/png;base64,AAAA) }`,
		"/* rr_split *//* rr_split */", "{{{", `"unterminated`, "/* open comment", "a{b:c}}}}", "\x00\xff{}",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, css string) {
		if len(css) > 1<<16 {
			return
		}
		out := MinifyCSS(css)
		if out == css {
			return
		}
		assert.Less(t, len(out), len(css)+1, "a minified sheet is never longer")
		assert.Equal(t, strings.Count(css, rrSplit), strings.Count(out, rrSplit), "rr_split markers are kept")
		if utf8.ValidString(css) {
			assert.True(t, utf8.ValidString(out), "valid UTF-8 stays valid")
		}
	})
}

func TestSelectorsThatReadTheTreeAreMatchedInIt(t *testing.T) {
	for sel, structural := range map[string]bool{
		".rr-mask, [data-private]":                   false,
		"iframe, frame, object, embed, .rr-block":    false,
		`input[type=password], #card, a[href^="/x"]`: false,
		":root":             true,
		"p:lang(en)":        true,
		"div p":             true,
		"li:first-child":    true,
		"a + b":             true,
		`[title="a b"]`:     true, // a space in a value: matched in the tree, to be safe
		`[data-x="a:b"]`:    true,
		`.a\:b`:             true,
		"p:not(.x)":         true,
		"input:checked":     true,
		"section > article": true,
	} {
		m, err := Compile(&Policy{MaskTextSelector: sel})
		require.NoError(t, err, sel)
		assert.Equal(t, structural, m.structural, "%s", sel)
	}
	// :root and :lang read the parents of the element: the text below
	// matches only in the tree.
	for _, sel := range []string{":root", "p:lang(en)"} {
		m, err := Compile(&Policy{MaskTextSelector: sel})
		require.NoError(t, err)
		var e Event
		require.NoError(t, json.Unmarshal([]byte(psnap(pel(10, "p", "", ptxt(11, "TreeSecret")))), &e))
		ps := &pass{m: m, mr: NewMirror(), budget: reevalBudget}
		require.NoError(t, ps.maskEvent(&e))
		assert.NotContains(t, string(e.Data), "TreeSecret", sel)
		require.NoError(t, json.Unmarshal([]byte(pmut(`"texts":[],"removes":[],"attributes":[],"adds":[{"parentId":5,"nextId":null,"node":{"type":2,"tagName":"p","attributes":{},"childNodes":[{"type":3,"textContent":"AddedSecret","id":21}],"id":20}}]`)), &e))
		require.NoError(t, ps.maskEvent(&e))
		assert.NotContains(t, string(e.Data), "AddedSecret", sel)
	}
}
