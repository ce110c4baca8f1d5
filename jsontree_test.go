package replay

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// stdDecode decodes data as masking did with encoding/json: into an any,
// numbers kept as json.Number. ok is whether encoding/json takes data as a
// JSON text (numbers out of float64's range included).
func stdDecode(data []byte) (v any, ok bool) {
	var f any
	if !json.Valid(data) || json.Unmarshal(data, &f) != nil {
		return nil, false
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if dec.Decode(&v) != nil {
		return nil, false
	}
	return v, true
}

// stdEncode encodes v as masking did with encoding/json.
func stdEncode(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// stdValue turns a tree decodeValue made into what encoding/json makes.
func stdValue(v any) any {
	switch t := v.(type) {
	case *jsonObject:
		m := make(map[string]any, len(t.m))
		for _, e := range t.m {
			m[e.k] = stdValue(e.v)
		}
		return m
	case []any:
		a := make([]any, len(t))
		for i, e := range t {
			a[i] = stdValue(e)
		}
		return a
	}
	return v
}

// checkTree checks that decodeValue and marshalJSON agree with encoding/json
// on data: the same accept or reject decision, the same values decoded and
// the same values written.
func checkTree(t *testing.T, data []byte) {
	t.Helper()
	want, ok := stdDecode(data)
	got, err := decodeValue(data)
	if !ok {
		require.Error(t, err, "encoding/json rejects %q", data)
		return
	}
	require.NoError(t, err, "encoding/json accepts %q", data)
	require.Equal(t, want, stdValue(got))
	out, err := marshalJSON(got)
	require.NoError(t, err)
	written, ok := stdDecode(out)
	require.True(t, ok, "encoding/json rejects what we wrote: %q", out)
	require.Equal(t, want, written)
	again, err := decodeValue(out)
	require.NoError(t, err)
	require.Equal(t, got, again, "decoding what we wrote")
	out2, err := marshalJSON(again)
	require.NoError(t, err)
	require.Equal(t, string(out), string(out2), "writing it again")
}

func TestTreeRoundTripsRecordings(t *testing.T) {
	files, err := filepath.Glob("testdata/recordings/*.json")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			require.NoError(t, err)
			var events []Event // unpacks packed events
			require.NoError(t, json.Unmarshal(data, &events))
			require.NotEmpty(t, events)
			for _, e := range events {
				checkTree(t, e.Data)
				whole, err := e.MarshalJSON()
				require.NoError(t, err)
				checkTree(t, whole)
			}
			checkTree(t, data)
		})
	}
}

func TestTreeMatchesEncodingJSON(t *testing.T) {
	for _, in := range treeSeeds {
		t.Run(in, func(t *testing.T) { checkTree(t, []byte(in)) })
	}
}

// TestTreeEncodesStringsLikeEncodingJSON covers strings masking makes
// rather than decodes: bytes that are not UTF-8, control characters, HTML.
func TestTreeEncodesStringsLikeEncodingJSON(t *testing.T) {
	for _, s := range []string{"", "plain", "<a href=\"x\">&amp;</a>", "\x00\x01\x1f\x7f\b\f\n\r\t", "bad \xff\xfe utf8 \xe2\x82", "line\u2028para\u2029", "\\/\"", "é😀", "\xed\xa0\x80"} {
		want, err := stdEncode(map[string]any{s: []any{s}})
		require.NoError(t, err)
		got, err := marshalJSON(map[string]any{s: []any{s}})
		require.NoError(t, err)
		assert.Equal(t, string(want), string(got), "%q", s)
	}
}

func TestTreeEncodeRejectsBadNumbers(t *testing.T) {
	for _, n := range []jsonNumber{"01", "1.", "-", "1e", "+1", " 1", "0x1", "NaN"} {
		_, err := marshalJSON([]any{n})
		assert.Error(t, err, "%q", n)
	}
	out, err := marshalJSON([]any{jsonNumber(""), jsonNumber("-0.5E+10"), nil, map[string]any(nil), []any(nil)})
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
				v, err := decodeValue(in)
				if !tt.ok {
					require.ErrorContains(t, err, "exceeded max depth")
					return
				}
				require.NoError(t, err)
				out, err := marshalJSON(v)
				require.NoError(t, err)
				assert.Equal(t, string(in), string(out))
			})
		}
	}
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
	if data, err := os.ReadFile("testdata/recordings/form.json"); err == nil {
		var events []json.RawMessage
		if json.Unmarshal(data, &events) == nil {
			for _, e := range events[:min(len(events), 20)] {
				f.Add([]byte(e))
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkTree(t, data)
		want, err := stdEncode(string(data))
		require.NoError(t, err)
		got, err := marshalJSON(string(data))
		require.NoError(t, err)
		require.Equal(t, string(want), string(got))
	})
}
