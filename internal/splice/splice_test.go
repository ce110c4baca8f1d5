package splice

import (
	"bytes"
	"encoding/json"
	"math/rand"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func css(key []byte) bool { return string(key) == "_cssText" || string(key) == "rule" }

func TestFindTakesLongValuesOfKeptKeys(t *testing.T) {
	tests := []struct {
		name string
		text string
		want []string
	}{
		{"value of a kept key", `{"_cssText":"body{color:red}"}`, []string{"body{color:red}"}},
		{"too short", `{"_cssText":"a{}"}`, nil},
		{"other key", `{"textContent":"body{color:red}"}`, nil},
		{"key is not a value", `{"body{color:red}":"_cssText"}`, nil},
		{"array elements are not values", `{"rule":["body{color:red}"]}`, nil},
		{"number value", `{"rule":12345678901234567890}`, nil},
		{"nested and several", `[{"type":2,"attributes":{"_cssText":"p{margin:0 auto}"},"adds":[{"rule":"h1{font:bold 2em}","index":0}]}]`,
			[]string{"p{margin:0 auto}", "h1{font:bold 2em}"}},
		{"escapes", `{"_cssText":"a::before{content:\"\\\"x\"}","k":"v"}`, []string{`a::before{content:\"\\\"x\"}`}},
		{"white space", "{ \"rule\" :\n \"body{color:red}\" }", []string{"body{color:red}"}},
		{"unterminated", `{"rule":"body{color:red`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, s := range Find([]byte(tt.text), 10, css) {
				got = append(got, tt.text[s.Start:s.End])
			}
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestFindObjectsTakesOutermostLongObjects(t *testing.T) {
	node := func(key []byte) bool { return string(key) == "node" }
	tests := []struct {
		name string
		text string
		want []string
	}{
		{"object value", `{"node":{"type":2,"id":12345}}`, []string{`"type":2,"id":12345`}},
		{"outermost only", `{"node":{"x":{"node":{"id":1234567890}}}}`, []string{`"x":{"node":{"id":1234567890}}`}},
		{"braces in strings", `{"node":{"t":"}}{{\"}"}}`, []string{`"t":"}}{{\"}"`}},
		{"too short", `{"node":{}}`, nil},
		{"string value", `{"node":"a long string value"}`, nil},
		{"several", `[{"node":{"id":1000000001}},{"adds":[{"node":{"id":1000000002}}]}]`, []string{`"id":1000000001`, `"id":1000000002`}},
		{"unterminated", `{"node":{"id":12345678901`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, s := range FindObjects([]byte(tt.text), 10, node) {
				got = append(got, tt.text[s.Start:s.End])
			}
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestCutThenPasteIsExact(t *testing.T) {
	text := []byte(`[{"attributes":{"_cssText":"body{color:red}"}},{"adds":[{"rule":"h1{font:bold 2em}"}]}]`)
	spans := Find(text, 10, css)
	require.Len(t, spans, 2)
	cut, offsets := Cut(text, spans)
	assert.JSONEq(t, `[{"attributes":{"_cssText":""}},{"adds":[{"rule":""}]}]`, string(cut))
	parts := [][]byte{text[spans[0].Start:spans[0].End], text[spans[1].Start:spans[1].End]}
	back, ok := Paste(cut, offsets, parts)
	require.True(t, ok)
	assert.Equal(t, string(text), string(back))
}

func TestPasteRefusesBadOffsets(t *testing.T) {
	for _, offs := range [][]int{{5, 2}, {-1}, {100}} {
		_, ok := Paste([]byte(`{"a":""}`), offs, make([][]byte, len(offs)))
		assert.False(t, ok, "offsets %v", offs)
	}
	_, ok := Paste([]byte(`{}`), []int{1}, nil)
	assert.False(t, ok, "fewer parts than offsets")
}

// FuzzCutPaste checks that on any input, JSON or not, Find's spans cut and
// pasted back give the input exactly, and that on JSON the cut text is
// still JSON.
func FuzzCutPaste(f *testing.F) {
	f.Add([]byte(`[{"attributes":{"_cssText":"body{color:red}"}},{"adds":[{"rule":"h1{font:bold 2em}"}]}]`), 0)
	f.Add([]byte(`{"rule":"\"\\"}`), 1)
	f.Add([]byte(`"rule":"`), 0)
	f.Add([]byte(`{"node":{"_cssText":"a{}","x":{"node":{}}}}`), 0)
	f.Fuzz(func(t *testing.T, text []byte, min int) {
		spans := Find(text, min%64, css)
		if min%2 == 1 {
			spans = FindObjects(text, min%64, func(k []byte) bool { return string(k) == "node" })
		}
		prev := 0
		parts := make([][]byte, len(spans))
		for k, s := range spans {
			if s.Start < prev || s.End < s.Start || s.End > len(text) {
				t.Fatalf("span %d %v out of order or range (len %d)", k, s, len(text))
			}
			prev = s.End
			parts[k] = text[s.Start:s.End]
		}
		cut, offsets := Cut(text, spans)
		back, ok := Paste(cut, offsets, parts)
		if !ok || !bytes.Equal(back, text) {
			t.Fatalf("Paste(Cut(%q)) = %q, %v", text, back, ok)
		}
		if json.Valid(text) && !json.Valid(cut) {
			t.Fatalf("cut of valid JSON %q is not JSON: %q", text, cut)
		}
	})
}

// TestStringEndReadsLikeByteByByte checks stringEnd, which looks for
// quotes and backslashes with bytes.IndexByte, against a reading of the
// string one byte at a time, on short texts of quotes, backslashes and
// letters.
func TestStringEndReadsLikeByteByByte(t *testing.T) {
	byteByByte := func(text []byte, i int) int {
		for i < len(text) {
			switch text[i] {
			case '"':
				return i
			case '\\':
				i += 2
			default:
				i++
			}
		}
		return len(text)
	}
	r := rand.New(rand.NewSource(1))
	alphabet := []byte(`ab"\`)
	for range 20_000 {
		b := make([]byte, r.Intn(20))
		for i := range b {
			b[i] = alphabet[r.Intn(len(alphabet))]
		}
		for i := 0; i <= len(b); i++ {
			if got, want := stringEnd(b, i), byteByByte(b, i); got != want {
				t.Fatalf("%q from %d: %d, want %d", b, i, got, want)
			}
		}
	}
}

// BenchmarkFindObjects finds the DOM trees of the recorded catalog page, a
// text mostly of short strings; the baseline is one bytes.IndexByte pass
// over the same text (the least a scan for quotes costs).
func BenchmarkFindObjects(b *testing.B) {
	text, err := os.ReadFile("../../testdata/recordings/catalog.json")
	if err != nil {
		b.Fatal(err)
	}
	node := func(key []byte) bool { return string(key) == "node" }
	b.Run("baseline", func(b *testing.B) {
		b.SetBytes(int64(len(text)))
		for b.Loop() {
			n := 0
			for i := 0; ; n++ {
				k := bytes.IndexByte(text[i:], '"')
				if k < 0 {
					break
				}
				i += k + 1
			}
			if n == 0 {
				b.Fatal("no quotes")
			}
		}
	})
	b.Run("FindObjects", func(b *testing.B) {
		b.SetBytes(int64(len(text)))
		for b.Loop() {
			if len(FindObjects(text, 1024, node)) == 0 {
				b.Fatal("no DOM tree found")
			}
		}
	})
}
