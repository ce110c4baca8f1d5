package jsonx

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTreeMatchesEncodingJSON(t *testing.T) {
	for _, in := range treeSeeds {
		t.Run(in, func(t *testing.T) { checkTree(t, []byte(in)) })
	}
}

// The recorded pages decode and encode as encoding/json has them: each
// file whole, each event and each event's data (of the packed ones, the
// string they are packed in).
func TestTreeRoundTripsRecordings(t *testing.T) {
	files, err := filepath.Glob("../../testdata/recordings/*.json")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			require.NoError(t, err)
			var events []json.RawMessage
			require.NoError(t, json.Unmarshal(data, &events))
			require.NotEmpty(t, events)
			for _, e := range events {
				checkTree(t, e)
				var fields map[string]json.RawMessage
				if json.Unmarshal(e, &fields) == nil && fields["data"] != nil {
					checkTree(t, fields["data"]) // packed events are strings
				}
			}
			checkTree(t, data)
		})
	}
}

// TestTreeEncodesStringsLikeEncodingJSON covers strings masking makes
// rather than decodes: bytes that are not UTF-8, control characters, HTML.
func TestTreeEncodesStringsLikeEncodingJSON(t *testing.T) {
	for _, s := range []string{"", "plain", "<a href=\"x\">&amp;</a>", "\x00\x01\x1f\x7f\b\f\n\r\t", "bad \xff\xfe utf8 \xe2\x82", "line\u2028para\u2029", "\\/\"", "é😀", "\xed\xa0\x80"} {
		want, err := stdEncode(map[string]any{s: []any{s}})
		require.NoError(t, err)
		got, err := Marshal(map[string]any{s: []any{s}})
		require.NoError(t, err)
		assert.Equal(t, string(want), string(got), "%q", s)
	}
}

func TestTreeEncodeRejectsBadNumbers(t *testing.T) {
	for _, n := range []json.Number{"01", "1.", "-", "1e", "+1", " 1", "0x1", "NaN"} {
		_, err := Marshal([]any{n})
		assert.Error(t, err, "%q", n)
	}
	out, err := Marshal([]any{json.Number(""), json.Number("-0.5E+10"), nil, map[string]any(nil), []any(nil)})
	require.NoError(t, err)
	assert.Equal(t, `[0,-0.5E+10,null,null,null]`, string(out))
}

// TestTreeBoundsNesting checks that deep input is refused with an error,
// not a stack overflow, at the depth encoding/json refuses it.
func TestTreeBoundsNesting(t *testing.T) {
	tests := []struct {
		name  string
		depth int
		ok    bool
	}{
		{"at the limit", maxJSONDepth, true},
		{"one past", maxJSONDepth + 1, false},
		{"100 000 arrays", 100_000, false},
	}
	for _, tt := range tests {
		for _, open := range []string{"[", `{"a":`} {
			t.Run(tt.name+" "+open, func(t *testing.T) {
				close := "]"
				if open != "[" {
					close = "}"
				}
				in := []byte(strings.Repeat(open, tt.depth) + "1" + strings.Repeat(close, tt.depth))
				_, stdOK := stdDecode(in)
				assert.Equal(t, tt.ok, stdOK)
				v, err := Decode(in)
				if !tt.ok {
					require.ErrorContains(t, err, "exceeded max depth")
					return
				}
				require.NoError(t, err)
				out, err := Marshal(v)
				require.NoError(t, err)
				assert.Equal(t, string(in), string(out))
			})
		}
	}
}

// TestAppendRawCopiesWhatDidNotChange checks that AppendRaw copies the text
// of unchanged objects, writes changed ones from their members, and never
// copies the text of an object that held a key twice (whose shadowed value
// no one looked at).
func TestAppendRawCopiesWhatDidNotChange(t *testing.T) {
	in := `{"a" : {"x": "\u0041", "y" : [ {"z":1} ]}, "b":{"k":"secret","k":"masked"}, "c": {"d": {"e": "\/"}}}`
	v, err := Decode([]byte(in))
	require.NoError(t, err)
	root := v.(*Object)
	out, err := AppendRaw(nil, root)
	require.NoError(t, err)
	assert.NotContains(t, string(out), "secret")
	assert.Contains(t, string(out), `{"x": "\u0041", "y" : [ {"z":1} ]}`, "an unchanged object is copied")
	assert.Contains(t, string(out), `{"d": {"e": "\/"}}`)

	root.Get("c").(*Object).Get("d").(*Object).Set("e", "new")
	out, err = AppendRaw(nil, root)
	require.NoError(t, err)
	assert.Equal(t, `{"a":{"x": "\u0041", "y" : [ {"z":1} ]},"b":{"k":"masked"},"c":{"d":{"e":"new"}}}`, string(out))

	a := root.Get("a").(*Object)
	a.Filter(func(k string, v any) (any, bool) { return v, true })
	_, ok := a.Raw()
	assert.True(t, ok, "a Filter that changes nothing keeps the text")
	a.Get("y").([]any)[0].(*Object).Touch()
	_, ok = a.Raw()
	assert.False(t, ok, "a change below is a change")
}

// TestWriterNotesMarkedStrings checks the spans a Writer notes: marked
// strings it writes, and the text of marked objects it copies.
func TestWriterNotesMarkedStrings(t *testing.T) {
	in := `{"keep":{"css":"0123456789"},"short":{"css":"0"},"other":{"x":"0123456789"},"w":{"css":"abcdefghij","n":1}}`
	p := NewParserString(in)
	keys := func(k string) bool { return k == "css" }
	p.Mark(keys, 5)
	v, err := p.Value()
	require.NoError(t, err)
	p.Release()
	root := v.(*Object)
	root.Get("w").(*Object).Set("n", json.Number("2"))
	var copied []string
	w := Writer{Keys: keys, Min: 5, Marked: func(raw []byte, at int) { copied = append(copied, string(raw)) }}
	require.NoError(t, w.Append(root))
	assert.Equal(t, []string{`{"css":"0123456789"}`}, copied, "only the marked object copied is handed over")
	require.Len(t, w.Spans, 1)
	assert.Equal(t, "abcdefghij", string(w.Buf[w.Spans[0].Start:w.Spans[0].End]))
	assert.Empty(t, w.Spans[0].Quoted, "encoded, not quoted")

	// With Quoted, a string it has is copied and its span names it.
	w = Writer{Keys: keys, Min: 5, Quoted: func(s string) (string, bool) { return `"` + s + `"`, s == "abcdefghij" }}
	require.NoError(t, w.Append(root))
	require.Len(t, w.Spans, 1, "the copied object is not looked into without Marked")
	assert.Equal(t, "abcdefghij", w.Spans[0].Quoted)
	assert.Equal(t, "abcdefghij", string(w.Buf[w.Spans[0].Start:w.Spans[0].End]))
}

var treeSeeds = []string{
	`{}`, `[]`, `null`, `true`, `false`, `0`, `-0`, `1.5e300`, `1e400`, `-1e-400`, `123456789012345678901234567890`,
	`"\u00e9\ud83d\ude00"`, `"\ud800"`, `"\ud800\u0041"`, `"\udc00\ud800"`, `"\ud83d\ude00\ud800x"`, "\"\xff\xfe\"", `"\/\b\f\n\r\t\"\\"`,
	`{"a":1,"a":2}`, `{"b":[1,{"c":null}],"a":"x"}`, ` {"a" : [ 1 , 2 ] } `, "{\"a\":1 ,\n\t\"b\" : {\"c\":2 , \"d\":\"e\"}}", `{"a":1}x`, `{"a":1,}`, `[1,]`, `{"a"}`,
	`"\x"`, `"\u12"`, "\"a\x01\"", `01`, `1.`, `.5`, `-`, `tru`, `nul`, `{"\u0000":"\u2028"}`, "{\"\xc3\x28\":1}",
	`{"type":2,"tagName":"input","attributes":{"value":"secret","type":"password"},"childNodes":[],"id":12}`,
}

// FuzzTreeRoundTrip compares the tree decoder and encoder masking uses with
// encoding/json on arbitrary input: the same accept or reject decision, the
// same values, the same bytes written; and for any bytes taken as a string,
// the same encoding.
func FuzzTreeRoundTrip(f *testing.F) {
	for _, s := range treeSeeds {
		f.Add([]byte(s))
	}
	if data, err := os.ReadFile("../../testdata/recordings/form.json"); err == nil {
		var events []json.RawMessage
		if json.Unmarshal(data, &events) == nil {
			for _, e := range events[:min(len(events), 20)] {
				f.Add([]byte(e))
			}
		}
	}
	cache := NewStringCache(1 << 20)
	f.Fuzz(func(t *testing.T, data []byte) {
		checkTree(t, data)
		// Through a cache that keeps every member's string, filled by the
		// inputs before: the same tree.
		for range 2 {
			p := NewParser(data)
			p.CacheStrings(cache, func(string) bool { return true }, 0)
			v, err := p.Value()
			if err == nil {
				err = p.End()
			}
			if want, werr := Decode(data); werr == nil {
				require.NoError(t, err)
				require.Equal(t, stdValue(want), stdValue(v))
			} else {
				require.Error(t, err)
			}
		}
		want, err := stdEncode(string(data))
		require.NoError(t, err)
		got, err := Marshal(string(data))
		require.NoError(t, err)
		require.Equal(t, string(want), string(got))
	})
}
