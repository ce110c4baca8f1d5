package privacy

import (
	"encoding/binary"
	"math/bits"
	"net/url"
	"regexp"
	"strings"
	"unicode/utf16"

	"github.com/sessionreplay/replay/internal/jsonx"
)

// scrubber removes values the policy names wherever they appear in free
// text: card numbers, email addresses, named regular expressions, and the
// values of named URL query parameters. It is immutable once built and safe
// for concurrent use.
type scrubber struct {
	card     bool
	email    bool
	patterns []*regexp.Regexp
	params   map[string]bool // lower-cased query parameter names
}

var emailRE = regexp.MustCompile(`[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}`)

// text returns s with every detected value replaced by '*' (separators of
// card numbers and the '@' of email addresses kept), so lengths survive.
func (s *scrubber) text(v string) string {
	if s.card {
		v = scrubCards(v)
	}
	if s.email && strings.IndexByte(v, '@') >= 0 {
		v = emailRE.ReplaceAllStringFunc(v, func(m string) string {
			return strings.Map(func(r rune) rune {
				if r == '@' || r == '.' {
					return r
				}
				return '*'
			}, m)
		})
	}
	for _, re := range s.patterns {
		v = re.ReplaceAllStringFunc(v, maskInputValue)
	}
	return v
}

// url scrubs a URL: the values of the policy's query parameters (in the
// query and in a query-like fragment) become "***", then the detectors of
// text run on the rest. data: URLs are left alone.
func (s *scrubber) url(v string) string {
	if strings.HasPrefix(v, "data:") {
		return v
	}
	if len(s.params) > 0 {
		v = s.queryParams(v)
	}
	return s.text(v)
}

func (s *scrubber) queryParams(v string) string {
	q := strings.IndexAny(v, "?#")
	if q < 0 {
		return v
	}
	var b strings.Builder
	b.Grow(len(v))
	b.WriteString(v[:q])
	rest := v[q:]
	if rest[0] == '?' {
		end := strings.IndexByte(rest, '#')
		if end < 0 {
			end = len(rest)
		}
		b.WriteByte('?')
		b.WriteString(s.pairs(rest[1:end]))
		rest = rest[end:]
	}
	if rest != "" { // a fragment: "#a=b&c=d" or "#/route?a=b"
		frag := rest[1:]
		b.WriteByte('#')
		switch i := strings.IndexByte(frag, '?'); {
		case i >= 0:
			b.WriteString(frag[:i+1])
			b.WriteString(s.pairs(frag[i+1:]))
		case strings.IndexByte(frag, '=') >= 0:
			b.WriteString(s.pairs(frag))
		default:
			b.WriteString(frag)
		}
	}
	return b.String()
}

// pairs scrubs "k=v&k2=v2".
func (s *scrubber) pairs(q string) string {
	parts := strings.Split(q, "&")
	changed := false
	for i, p := range parts {
		k, _, hasValue := strings.Cut(p, "=")
		if !hasValue {
			continue
		}
		name, err := url.QueryUnescape(k)
		if err != nil {
			name = k
		}
		if s.params[strings.ToLower(name)] {
			parts[i] = k + "=***"
			changed = true
		}
	}
	if !changed {
		return q
	}
	return strings.Join(parts, "&")
}

// jsonString scrubs a string that itself holds JSON (as the console plugin
// sends each argument), keeping it valid JSON: strings inside are scrubbed,
// and numbers that are card numbers become strings of '*'. A string that
// is not JSON is scrubbed as text.
func (s *scrubber) jsonString(v string) string {
	tree, err := jsonx.Decode([]byte(v))
	if err != nil {
		return s.text(v)
	}
	tree, changed := s.walk(tree)
	if !changed {
		return v
	}
	out, err := jsonx.Marshal(tree)
	if err != nil {
		return s.text(v)
	}
	return string(out)
}

// walk scrubs every string of a decoded JSON value in place and reports
// whether anything changed.
func (s *scrubber) walk(v any) (any, bool) {
	switch t := v.(type) {
	case string:
		u := s.text(t)
		if strings.HasPrefix(u, "http://") || strings.HasPrefix(u, "https://") {
			u = s.url(u)
		}
		return u, u != t
	case jsonNumber:
		if s.card {
			if u := scrubCards(string(t)); u != string(t) {
				return u, true
			}
		}
	case *jsonx.Object:
		changed := false
		for i := range t.Members {
			if u, c := s.walk(t.Members[i].Value); c {
				t.Members[i].Value = u
				changed = true
			}
		}
		if changed {
			t.Touch()
		}
		return t, changed
	case []any:
		changed := false
		for i, e := range t {
			if u, c := s.walk(e); c {
				t[i] = u
				changed = true
			}
		}
		return t, changed
	}
	return v, false
}

// scrubCards replaces the digits of every card number in v by '*': a run
// of 13 to 19 digits, optionally separated by single spaces or dashes, that
// passes the Luhn check. In a longer run, every 13-19 digit stretch that
// starts at the run's start or after a separator is checked.
func scrubCards(v string) string {
	if countDigits(v) < 13 {
		return v
	}
	var out []byte
	for i := 0; i < len(v); {
		if !isDigit(v[i]) {
			i++
			continue
		}
		// A maximal run starting at i: digits with single separators.
		var pos []int    // byte offsets of the run's digits
		var starts []int // indexes into pos where a group starts
		j := i
		starts = append(starts, 0)
		for j < len(v) {
			if isDigit(v[j]) {
				pos = append(pos, j)
				j++
				continue
			}
			if (v[j] == ' ' || v[j] == '-') && j+1 < len(v) && isDigit(v[j+1]) {
				starts = append(starts, len(pos))
				j++
				continue
			}
			break
		}
		for _, st := range starts {
			for n := 19; n >= 13; n-- {
				if st+n > len(pos) || !luhn(v, pos[st:st+n]) {
					continue
				}
				if out == nil {
					out = []byte(v)
				}
				for _, p := range pos[st : st+n] {
					out[p] = '*'
				}
				break
			}
		}
		i = j
	}
	if out == nil {
		return v
	}
	return string(out)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// countDigits counts the ASCII digits of v, eight bytes at a time: most
// text holds too few to hold a card number, and is not looked at again.
func countDigits(v string) int {
	const (
		high = 0x8080808080808080
		ge0  = 0x5050505050505050 // b+0x50 has its high bit set when b >= '0'
		gt9  = 0x4646464646464646 // b+0x46 has its high bit set when b > '9'
	)
	n, i := 0, 0
	for ; i+8 <= len(v); i += 8 {
		x := binary.LittleEndian.Uint64([]byte(v[i : i+8]))
		h := x & high // bytes of 0x80 and above are no digits
		y := x &^ h   // each byte below 0x80: adding 0x50 carries into no other
		n += bits.OnesCount64((y + ge0) &^ (y + gt9) &^ h & high)
	}
	for ; i < len(v); i++ {
		if isDigit(v[i]) {
			n++
		}
	}
	return n
}

func luhn(v string, pos []int) bool {
	sum := 0
	for k := len(pos) - 1; k >= 0; k-- {
		d := int(v[pos[k]] - '0')
		if (len(pos)-1-k)%2 == 1 {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return sum%10 == 0
}

// maskInputValue masks an input's value as rrweb does: every UTF-16 code
// unit becomes '*', spaces included.
func maskInputValue(v string) string {
	n := 0
	for _, r := range v {
		n += utf16.RuneLen(r) // an invalid byte counts as one unit
	}
	return strings.Repeat("*", n)
}

// maskTextValue masks text as rrweb does: every UTF-16 code unit that is
// not JavaScript whitespace becomes '*'; whitespace is kept.
func maskTextValue(v string) string {
	var b strings.Builder
	b.Grow(len(v))
	for _, r := range v {
		if isJSSpace(r) {
			b.WriteRune(r)
			continue
		}
		if utf16.RuneLen(r) == 2 {
			b.WriteString("**")
		} else {
			b.WriteByte('*')
		}
	}
	return b.String()
}

// isJSSpace reports whether r is in JavaScript's \s class.
func isJSSpace(r rune) bool {
	switch r {
	case '\t', '\n', '\v', '\f', '\r', ' ', 0xa0, 0x1680, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000, 0xfeff:
		return true
	}
	return r >= 0x2000 && r <= 0x200a
}
