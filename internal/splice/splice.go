// Package splice finds large string values in a JSON text, cuts their
// contents out and pastes them back, byte for byte.
//
// It is the byte-level half of content-addressed assets: the caller finds
// the strings worth storing once ([Find]), cuts them out of the text
// ([Cut]), stores them elsewhere, and later restores the exact text
// ([Paste]). A cut string keeps its quotes ("") in the cut text, so that
// text is still JSON. Find reads JSON as the encoder of package replay
// writes it; whatever it finds, Cut followed by Paste returns the original
// bytes exactly.
//
// The functions are pure and safe for concurrent use.
package splice

import (
	"bytes"
	"slices"
)

// Span is the contents of one JSON string in a text, between its quotes and
// still escaped, or of one JSON object, between its braces: text[Start:End].
type Span struct {
	Start, End int
}

// Find returns the spans of the string values in text that are at least
// min bytes long (escaped) and are the value of an object member whose key
// (escaped bytes) keep accepts, in text order. Strings that are keys or
// array elements are never returned. It does not validate text: on text
// that is not JSON it returns some spans of it, which Cut and Paste still
// handle exactly.
func Find(text []byte, min int, keep func(key []byte) bool) []Span {
	return find(text, min, keep, '"')
}

// FindObjects is Find for object values: it returns the spans of the
// contents (between the braces) of the outermost object values in text
// that are at least min bytes long and whose key keep accepts.
func FindObjects(text []byte, min int, keep func(key []byte) bool) []Span {
	return find(text, min, keep, '{')
}

func find(text []byte, min int, keep func(key []byte) bool, quote byte) []Span {
	var spans []Span
	var key []byte // the last string read, while it may be a key
	for i := 0; i < len(text); {
		switch text[i] {
		case '"':
			start := i + 1
			end := stringEnd(text, start)
			i = end + 1
			j := skipSpace(text, i)
			if j < len(text) && text[j] == ':' {
				key = text[start:end]
				i = j + 1
				j = skipSpace(text, i)
				if j < len(text) && text[j] == quote && keep(key) {
					vs := j + 1
					ve := valueEnd(text, vs, quote)
					if ve-vs >= min && ve < len(text) {
						spans = append(spans, Span{vs, ve})
					}
					i = ve + 1
				}
			}
		default:
			i++
		}
	}
	return spans
}

// valueEnd returns the index of the byte that ends the string (quote '"')
// or object (quote '{') whose contents start at i, or len(text).
func valueEnd(text []byte, i int, quote byte) int {
	if quote == '"' {
		return stringEnd(text, i)
	}
	depth := 1
	for i < len(text) {
		switch text[i] {
		case '"':
			i = stringEnd(text, i+1) + 1
			continue
		case '{':
			depth++
		case '}':
			if depth--; depth == 0 {
				return i
			}
		}
		i++
	}
	return len(text)
}

// stringEnd returns the index of the quote that ends the string whose
// contents start at i, or len(text) when it does not end. It looks for
// quotes and backslashes with bytes.IndexByte, each byte once.
func stringEnd(text []byte, i int) int {
	q := -1 // the first quote at or after i, once found
	for i < len(text) {
		if q < i {
			k := bytes.IndexByte(text[i:], '"')
			if k < 0 {
				return len(text)
			}
			q = i + k
		}
		k := bytes.IndexByte(text[i:q], '\\')
		if k < 0 {
			return q
		}
		i += k + 2 // the backslash and the byte it escapes
	}
	return len(text)
}

func skipSpace(text []byte, i int) int {
	for i < len(text) {
		switch text[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// Cut returns text without the contents of spans (which must be in order
// and not overlap, as Find returns them) and, for each span, the offset in
// the cut text where its contents were.
func Cut(text []byte, spans []Span) (cut []byte, offsets []int) {
	return AppendCut(nil, text, spans)
}

// AppendCut is Cut that appends the cut text to dst (which must not
// overlap text); the offsets count from the start of what it appends.
func AppendCut(dst, text []byte, spans []Span) (cut []byte, offsets []int) {
	n := len(text)
	for _, s := range spans {
		n -= s.End - s.Start
	}
	base := len(dst)
	cut = slices.Grow(dst, n)
	offsets = make([]int, len(spans))
	prev := 0
	for k, s := range spans {
		cut = append(cut, text[prev:s.Start]...)
		offsets[k] = len(cut) - base
		prev = s.End
	}
	cut = append(cut, text[prev:]...)
	return cut, offsets
}

// Paste returns cut with parts[k] inserted at offsets[k], the inverse of
// Cut. offsets must be ascending and within cut; Paste reports false
// otherwise.
func Paste(cut []byte, offsets []int, parts [][]byte) ([]byte, bool) {
	if len(offsets) != len(parts) {
		return nil, false
	}
	n := len(cut)
	prev := 0
	for k, off := range offsets {
		if off < prev || off > len(cut) {
			return nil, false
		}
		prev = off
		n += len(parts[k])
	}
	out := make([]byte, 0, n)
	prev = 0
	for k, off := range offsets {
		out = append(out, cut[prev:off]...)
		out = append(out, parts[k]...)
		prev = off
	}
	return append(out, cut[prev:]...), true
}
