package jsonx

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"
)

// maxJSONDepth bounds the nesting of arrays and objects, as encoding/json
// does, so that every value we accept can also be decoded by encoding/json.
const maxJSONDepth = 10000

// Parser reads one JSON text. Its methods return a *SyntaxError for input
// that is not JSON.
type Parser struct {
	b     []byte
	i     int
	depth int
	str   string     // b as a string, when the parser was made of one
	tree  *treeState // what Value keeps across calls

	markKeys func(key string) bool // see Mark
	markMin  int

	cache     *StringCache // see CacheStrings
	cacheKeys func(key string) bool
	cacheMin  int
}

// SyntaxError is malformed JSON at a byte offset.
type SyntaxError struct {
	msg string
	off int
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("%s at offset %d", e.msg, e.off) }

func (p *Parser) errorf(format string, args ...any) error {
	return &SyntaxError{msg: fmt.Sprintf(format, args...), off: p.i}
}

// ws skips white space and returns the next byte, or 0 at the end.
func (p *Parser) ws() byte {
	i := p.i
	for ; i < len(p.b); i++ {
		switch c := p.b[i]; c {
		case ' ', '\t', '\n', '\r':
		default:
			p.i = i
			return c
		}
	}
	p.i = i
	return 0
}

// unexpected reports the byte at the current position.
func (p *Parser) unexpected() error {
	if p.i >= len(p.b) {
		return p.errorf("unexpected end of JSON input")
	}
	c := p.b[p.i]
	if c < 0x20 || c >= 0x7f {
		return p.errorf("invalid character %q", rune(c))
	}
	return p.errorf("invalid character '%c'", c)
}

// End checks that nothing but white space follows.
func (p *Parser) End() error {
	if p.ws(); p.i < len(p.b) { // ws returns 0 for a NUL byte too
		return p.errorf("invalid character '%c' after top-level value", p.b[p.i])
	}
	return nil
}

// Kind names the JSON type of the next value, for error messages and
// type checks: "object", "array", "string", "number", "boolean", "null", or
// "" for anything else.
func (p *Parser) Kind() string {
	switch c := p.ws(); {
	case c == '{':
		return "object"
	case c == '[':
		return "array"
	case c == '"':
		return "string"
	case c == '-' || c >= '0' && c <= '9':
		return "number"
	case c == 't' || c == 'f':
		return "boolean"
	case c == 'n':
		return "null"
	}
	return ""
}

// Skip checks and skips one value.
func (p *Parser) Skip() error {
	switch c := p.ws(); {
	case c == '{':
		return p.skipObject()
	case c == '[':
		return p.Array(func(int) error { return p.Skip() })
	case c == '"':
		_, _, err := p.stringRaw()
		return err
	case c == '-' || c >= '0' && c <= '9':
		_, err := p.numberRaw()
		return err
	case c == 't':
		return p.literal("true")
	case c == 'f':
		return p.literal("false")
	case c == 'n':
		return p.literal("null")
	}
	return p.unexpected()
}

// Raw checks and skips one value and returns its bytes.
func (p *Parser) Raw() ([]byte, error) {
	p.ws()
	start := p.i
	if err := p.Skip(); err != nil {
		return nil, err
	}
	return p.b[start:p.i], nil
}

// literal reads true, false or null.
func (p *Parser) literal(lit string) error {
	for j := range len(lit) {
		if p.i >= len(p.b) || p.b[p.i] != lit[j] {
			return p.unexpected()
		}
		p.i++
	}
	return nil
}

// Object reads an Object, calling member with each key; member must read
// the value.
func (p *Parser) Object(member func(key string) error) error {
	for n := 0; ; n++ {
		key, more, err := p.Member(n)
		if err != nil || !more {
			return err
		}
		if err := member(key); err != nil {
			return err
		}
	}
}

// Member steps through an object without a callback: called with n = 0 at
// the '{', and with n = 1, 2, ... after the caller read each value, it
// returns the next key, or more = false after the '}'.
func (p *Parser) Member(n int) (key string, more bool, err error) {
	var ok bool
	if n == 0 {
		more, err = p.enter('{', '}')
	} else if more, ok = p.next('}'); !ok {
		err = p.unexpected()
	}
	if err != nil || !more {
		return "", false, err
	}
	if key, err = p.key(); err != nil {
		return "", false, err
	}
	if p.ws() != ':' {
		return "", false, p.unexpected()
	}
	p.i++
	return key, true, nil
}

// skipObject checks and skips an object. It is object without reading
// the keys into strings.
func (p *Parser) skipObject() error {
	more, err := p.enter('{', '}')
	if err != nil {
		return err
	}
	for ok := true; more; {
		if _, _, err := p.stringRaw(); err != nil {
			return err
		}
		if p.ws() != ':' {
			return p.unexpected()
		}
		p.i++
		if err := p.Skip(); err != nil {
			return err
		}
		if more, ok = p.next('}'); !ok {
			return p.unexpected()
		}
	}
	return nil
}

// Array reads an Array, calling elem with each index; elem must read the
// value.
func (p *Parser) Array(elem func(i int) error) error {
	for n := 0; ; n++ {
		more, err := p.Element(n)
		if err != nil || !more {
			return err
		}
		if err := elem(n); err != nil {
			return err
		}
	}
}

// Element steps through an array as member does through an object: it
// reports whether Element n follows.
func (p *Parser) Element(n int) (more bool, err error) {
	if n == 0 {
		return p.enter('[', ']')
	}
	more, ok := p.next(']')
	if !ok {
		return false, p.unexpected()
	}
	return more, nil
}

// enter steps into the object or array that starts with open, counting its
// depth, and reports whether a member or element follows; when none does,
// it steps past close too.
func (p *Parser) enter(open, close byte) (more bool, err error) {
	if p.ws() != open {
		return false, p.unexpected()
	}
	if p.depth++; p.depth > maxJSONDepth {
		return false, p.errorf("exceeded max depth")
	}
	p.i++
	if p.ws() == close {
		p.i++
		p.depth--
		return false, nil
	}
	return true, nil
}

// next steps past what follows a member or element of an object or array
// that ends with close: a ',' before another one (more), or close. ok is
// false, and nothing read, when it is neither. It is small enough to
// inline, and leaves the error to the caller for that reason.
func (p *Parser) next(close byte) (more, ok bool) {
	switch p.ws() {
	case ',':
		p.i++
		return true, true
	case close:
		p.i++
		p.depth--
		return false, true
	}
	return false, false
}

// stringRaw reads a string and returns its contents between the quotes,
// still escaped, and whether it holds escapes.
func (p *Parser) stringRaw() (body []byte, escaped bool, err error) {
	body, escaped, _, err = p.stringScan()
	return body, escaped, err
}

// SWAR constants: a byte repeated in every lane of a word.
const (
	lanes01 = 0x0101010101010101
	lanes80 = 0x8080808080808080
)

// stopLanes has the high bit of a lane set where x holds a byte that ends
// or escapes a string: a control character, '"' or '\\' (bytes from 0x80
// up are plain; their UTF-8 is checked apart). It may have it set in lanes
// above such a byte too, by a borrow, but is clear in every lane below the
// first, so that the lowest lane set is exactly the first such byte.
func stopLanes(x uint64) uint64 {
	ctl := (x - lanes01*0x20) &^ x // a lane below 0x20 (or one borrowing from it)
	quo := x ^ lanes01*'"'         // zero lanes where '"'
	bsl := x ^ lanes01*'\\'        // zero lanes where '\\'
	quo = (quo - lanes01) &^ quo   // high bit where zero
	bsl = (bsl - lanes01) &^ bsl
	return ctl | quo | bsl
}

// controlFree returns the index of the first control character in
// b[i:end], or of the first of its last bytes (fewer than 8) when there is
// none, and the bytes before ORed together (to tell whether they are
// ASCII).
func controlFree(b []byte, i, end int) (int, uint64) {
	high := uint64(0)
	// 32 bytes a step without a branch on each word, then word by word.
	for i+32 <= end {
		w := b[i : i+32 : i+32]
		x0 := binary.LittleEndian.Uint64(w)
		x1 := binary.LittleEndian.Uint64(w[8:])
		x2 := binary.LittleEndian.Uint64(w[16:])
		x3 := binary.LittleEndian.Uint64(w[24:])
		ctl := (x0-lanes01*0x20)&^x0 | (x1-lanes01*0x20)&^x1 | (x2-lanes01*0x20)&^x2 | (x3-lanes01*0x20)&^x3
		if ctl&lanes80 != 0 {
			break
		}
		high |= x0 | x1 | x2 | x3
		i += 32
	}
	for i+8 <= end {
		x := binary.LittleEndian.Uint64(b[i:])
		if ctl := (x - lanes01*0x20) &^ x & lanes80; ctl != 0 {
			k := bits.TrailingZeros64(ctl) / 8
			return i + k, high | x&(1<<(8*k)-1)
		}
		high |= x
		i += 8
	}
	return i, high
}

// stringScan reads a string as stringRaw does, and reports besides
// whether its body is all ASCII (so that it needs no UTF-8 check). It reads
// 8 bytes at a time where it can.
func (p *Parser) stringScan() (body []byte, escaped, ascii bool, err error) {
	if p.ws() != '"' {
		return nil, false, false, p.unexpected()
	}
	b := p.b
	start := p.i + 1
	i := start
	high := uint64(0)
	quote := -1 // where the next '"' from i is, once looked for
	for {
		for words := 0; i+8 <= len(b); words++ {
			x := binary.LittleEndian.Uint64(b[i:])
			if stop := stopLanes(x) & lanes80; stop != 0 {
				// Step to the first byte that stops: the lowest lane
				// flagged is exact (a borrow only flags lanes above).
				k := bits.TrailingZeros64(stop) / 8
				high |= x & (1<<(8*k) - 1)
				i += k
				break
			}
			high |= x
			i += 8
			if words == 3 && i+64 <= len(b) {
				// A long run (style sheets, data URLs): find where it
				// ends with IndexByte, which compares many bytes an
				// instruction, and check it for control characters
				// apart. IndexByte looks at each byte of the string
				// once for each of the two bytes, however many escapes
				// it holds.
				if quote < i {
					quote = len(b)
					if q := bytes.IndexByte(b[i:], '"'); q >= 0 {
						quote = i + q
					}
				}
				end := quote
				if k := bytes.IndexByte(b[i:end], '\\'); k >= 0 {
					end = i + k
				}
				var h uint64
				i, h = controlFree(b, i, end)
				high |= h
				words = -1 // and on 8 bytes a step from where it stopped
			}
		}
		if i >= len(b) {
			break
		}
		c := b[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			high |= uint64(c)
			i++
			continue
		}
		switch {
		case c == '"':
			p.i = i + 1
			return b[start:i], escaped, high&lanes80 == 0, nil
		case c == '\\':
			escaped = true
			i++
			if i >= len(b) {
				p.i = i
				return nil, false, false, p.unexpected()
			}
			switch b[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i++
			case 'u':
				i++
				for range 4 {
					if i >= len(b) || !isHex(b[i]) {
						p.i = i
						return nil, false, false, p.errorf("invalid character in \\u escape")
					}
					i++
				}
			default:
				p.i = i
				return nil, false, false, p.errorf("invalid escape in string")
			}
		default:
			p.i = i
			return nil, false, false, p.errorf("invalid character %q in string literal", rune(c))
		}
	}
	p.i = i
	return nil, false, false, p.unexpected()
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// Str reads a string and returns it unescaped.
func (p *Parser) Str() (string, error) {
	body, escaped, ascii, err := p.stringScan()
	if err != nil {
		return "", err
	}
	if !escaped && (ascii || utf8.Valid(body)) {
		return string(body), nil
	}
	return unquote(body, ascii), nil
}

// knownKeys are the keys rrweb writes, so that reading them as keys
// allocates nothing. They are found by their length and first and last
// bytes, which is quicker than hashing them.
var knownKeys = func() (t [256][]string) {
	for _, k := range strings.Fields(`type data timestamp delay v _sid source id tagName attributes
		childNodes textContent name publicId systemId isSVG isCustom rootId isShadowHost isShadow
		isStyle compatMode node initialOffset left top href width height texts removes adds
		parentId nextId previousId value isAttachIframe positions x y timeOffset pointerType text
		isChecked userTriggered tag payload plugin level trace class style rel href src alt title
		placeholder _cssText rr_width rr_height rr_dataURL lang content charset`) {
		h := keySlot(k)
		if !slices.Contains(t[h], k) {
			t[h] = append(t[h], k)
		}
	}
	return t
}()

func keySlot[T string | []byte](k T) uint8 {
	return uint8(len(k)*31 + int(k[0])*7 + int(k[len(k)-1]))
}

// knownKey returns the known key body spells.
func knownKey(body []byte) (string, bool) {
	if len(body) == 0 {
		return "", false
	}
	for _, k := range knownKeys[keySlot(body)] {
		if k == string(body) {
			return k, true
		}
	}
	return "", false
}

// key reads an object key.
func (p *Parser) key() (string, error) {
	start := p.i
	body, escaped, err := p.stringRaw()
	if err != nil {
		return "", err
	}
	if !escaped {
		if k, ok := knownKey(body); ok {
			return k, nil
		}
	}
	p.i = start
	return p.Str()
}

// numberRaw reads a number and returns its text.
func (p *Parser) numberRaw() ([]byte, error) {
	start := p.i
	b := p.b
	i := p.i
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		i = digits(b, i)
	default:
		p.i = i
		return nil, p.unexpected()
	}
	big := false
	var err error
	if i < len(b) && b[i] == '.' {
		if i, err = p.someDigits(i + 1); err != nil {
			return nil, err
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		big = true
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i, err = p.someDigits(i); err != nil {
			return nil, err
		}
	}
	p.i = i
	text := b[start:i]
	// encoding/json refuses numbers beyond float64's range; so do we, so
	// that what we accept decodes anywhere.
	if big || len(text) > 300 {
		if f, err := strconv.ParseFloat(string(text), 64); err != nil || math.IsInf(f, 0) {
			p.i = start
			return nil, p.errorf("number %s out of range", Abbrev(string(text)))
		}
	}
	return text, nil
}

// digits returns the index after the run of ASCII digits in s that starts
// at i (i itself when there is none).
func digits[T string | []byte](s T, i int) int {
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return i
}

// someDigits returns the index after the digits that start at p.b[i], as
// a fraction and an exponent need at least one.
func (p *Parser) someDigits(i int) (int, error) {
	j := digits(p.b, i)
	if j == i {
		p.i = i
		return 0, p.errorf("invalid number")
	}
	return j, nil
}

// Number reads a Number.
func (p *Parser) Number() (float64, error) {
	text, err := p.numberRaw()
	if err != nil {
		return 0, err
	}
	if f, ok := smallInt(text); ok {
		return f, nil
	}
	return strconv.ParseFloat(string(text), 64)
}

// ErrWrongType is returned by the typed readers below when the next value
// is valid JSON of another type; the caller names the path.
var ErrWrongType = errors.New("wrong type")

// Num reads a number, or fails with errWrongType when the next value is
// something else.
func (p *Parser) Num() (float64, error) {
	if p.Kind() != "number" {
		if err := p.Skip(); err != nil {
			return 0, err
		}
		return 0, ErrWrongType
	}
	return p.Number()
}

// Integer reads a number with an integral value that fits in an int32.
func (p *Parser) Integer() (int, error) {
	f, err := p.Num()
	if err != nil {
		return 0, err
	}
	if f != math.Trunc(f) || f < math.MinInt32 || f > math.MaxInt32 {
		return 0, ErrWrongType
	}
	return int(f), nil
}

// Text reads a string, or fails with errWrongType.
func (p *Parser) Text() (string, error) {
	if p.Kind() != "string" {
		if err := p.Skip(); err != nil {
			return "", err
		}
		return "", ErrWrongType
	}
	return p.Str()
}

// unquote returns the text of a string's body (between the quotes, checked
// by stringRaw) as encoding/json does: escapes decoded, a lone or broken
// surrogate and every byte that is not UTF-8 replaced by U+FFFD. ascii
// reports that the body is all ASCII, as stringScan found, which spares
// checking its UTF-8.
func unquote(body []byte, ascii bool) string {
	// A strings.Builder grown once holds the result without zeroing its
	// memory first, and String does not copy it.
	var b strings.Builder
	b.Grow(len(body))
	// A backslash never splits a UTF-8 sequence, so that when the whole
	// body is UTF-8 so is every run between escapes.
	valid := ascii || utf8.Valid(body)
	for r := 0; r < len(body); {
		// The run up to the next escape, copied whole when it is UTF-8.
		j := bytes.IndexByte(body[r:], '\\')
		if j < 0 {
			j = len(body) - r
		}
		if run := body[r : r+j]; valid || utf8.Valid(run) {
			b.Write(run)
		} else {
			for k := 0; k < len(run); {
				rr, size := utf8.DecodeRune(run[k:])
				k += size
				b.WriteRune(rr)
			}
		}
		r += j
		if r >= len(body) {
			break
		}
		r++
		switch e := body[r]; e {
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'u':
			rr := hex4(body[r+1:])
			r += 5
			if utf16.IsSurrogate(rr) {
				if r+6 <= len(body) && body[r] == '\\' && body[r+1] == 'u' {
					if dec := utf16.DecodeRune(rr, hex4(body[r+2:])); dec != utf8.RuneError {
						r += 6
						b.WriteRune(dec)
						continue
					}
				}
				rr = utf8.RuneError
			}
			b.WriteRune(rr)
			continue
		default: // '"', '\\', '/'
			b.WriteByte(e)
		}
		r++
	}
	return b.String()
}

// hex4 reads the four hex digits stringRaw checked.
func hex4(s []byte) rune {
	var r rune
	for _, c := range s[:4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		default:
			c = c - 'A' + 10
		}
		r = r<<4 | rune(c)
	}
	return r
}

// smallInt reads a number of up to 15 digits, no fraction or exponent,
// which a float64 holds exactly, without strconv.
func smallInt(text []byte) (float64, bool) {
	digits := text
	if len(digits) > 0 && digits[0] == '-' {
		digits = digits[1:]
	}
	if len(digits) == 0 || len(digits) > 15 {
		return 0, false
	}
	var n int64
	for _, c := range digits {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	if len(digits) < len(text) {
		if n == 0 {
			return math.Copysign(0, -1), true
		}
		n = -n
	}
	return float64(n), true
}

// NewParser returns a parser of b.
func NewParser(b []byte) *Parser { return &Parser{b: b} }

// NewParserString returns a parser of s. The strings [Parser.Value]
// decodes share s's memory, without a copy of it.
func NewParserString(s string) *Parser {
	return &Parser{b: unsafe.Slice(unsafe.StringData(s), len(s)), str: s}
}

// Input returns the whole text the parser reads.
func (p *Parser) Input() []byte { return p.b }

// Abbrev shortens what a client sent to quote it in an error.
func Abbrev(s string) string {
	const max = 64
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}
