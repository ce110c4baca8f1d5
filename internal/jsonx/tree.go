package jsonx

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math/bits"
	"slices"
	"strconv"
	"sync"
	"unicode/utf8"
	"unsafe"
)

// Object is a JSON object decoded by Decode: its members in the
// order they came, each key once. Of a key given twice it keeps the last
// value at the first place, as JSON.parse does, so that encoding it again
// keeps the order the browser sent and needs no sort.
//
// A decoded object remembers the bytes it was decoded from, and
// [AppendRaw] writes those again as long as neither it nor anything below
// it changed. Set, Filter (when it changes something) and Touch record a
// change, and so does every change below them. Whoever writes Members, or
// an array held in them, directly must call Touch. An Object may be read
// concurrently, not changed.
type Object struct {
	Members []Member

	raw    string  // the text the object was decoded from; "" when not decoded, or when it held a key twice
	parent *Object // the object that held this one (through arrays) when decoded
	state  uint8   // changed, changedBelow
}

// Object states.
const (
	changed      = 1 << iota // a member was set, dropped or written
	changedBelow             // an object below changed
	marked                   // it or an object below holds a marked member (see Parser.Mark)
)

// Member is one member of an Object.
type Member struct {
	Key   string
	Value any
}

// Get returns the value of key k, or nil.
func (o *Object) Get(k string) any {
	v, _ := o.Lookup(k)
	return v
}

// Lookup returns the value of key k and whether o has it.
func (o *Object) Lookup(k string) (any, bool) {
	if o == nil {
		return nil, false
	}
	for i := range o.Members {
		if o.Members[i].Key == k {
			return o.Members[i].Value, true
		}
	}
	return nil, false
}

// Set sets key k to v, in its place if o has it, else at the end.
func (o *Object) Set(k string, v any) {
	o.Touch()
	for i := range o.Members {
		if o.Members[i].Key == k {
			o.Members[i].Value = v
			return
		}
	}
	o.Members = append(o.Members, Member{k, v})
}

// Filter calls f with each member in order and keeps its value, replaced
// by f's first result, when f's second result is true.
func (o *Object) Filter(f func(k string, v any) (any, bool)) {
	if o == nil {
		return
	}
	w := 0
	for _, m := range o.Members {
		if v, keep := f(m.Key, m.Value); keep {
			if !sameValue(v, m.Value) {
				o.Touch()
			}
			o.Members[w] = Member{m.Key, v}
			w++
		}
	}
	if w < len(o.Members) {
		o.Touch()
	}
	clear(o.Members[w:])
	o.Members = o.Members[:w]
}

// Touch records that o changed, so that [AppendRaw] writes it from its
// members rather than as it was decoded. Set and Filter call it; whoever
// writes Members, or an array held in them, directly must.
func (o *Object) Touch() {
	if o == nil || o.state&changed != 0 {
		return
	}
	o.state |= changed
	for q := o.parent; q != nil && q.state&changedBelow == 0; q = q.parent {
		q.state |= changedBelow
	}
}

// Raw returns the bytes o was decoded from, while neither it nor anything
// below it changed since (see Touch); ok is false otherwise, or when o was
// not decoded, or held a key twice.
func (o *Object) Raw() (raw string, ok bool) {
	if o == nil || o.raw == "" || o.state&(changed|changedBelow) != 0 {
		return "", false
	}
	return o.raw, true
}

// sameValue reports whether a and b are the same value of a tree: equal
// strings, numbers or booleans, both null, the same object, or the same
// array (the same elements in the same memory).
func sameValue(a, b any) bool {
	switch x := a.(type) {
	case nil:
		return b == nil
	case string:
		y, ok := b.(string)
		return ok && x == y
	case json.Number:
		y, ok := b.(json.Number)
		return ok && x == y
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	case *Object:
		y, ok := b.(*Object)
		return ok && x == y
	case []any:
		y, ok := b.([]any)
		return ok && len(x) == len(y) && (len(x) == 0 || &x[0] == &y[0])
	}
	return false
}

// Items returns the Items of o in order.
func (o *Object) Items() []Member {
	if o == nil {
		return nil
	}
	return o.Members
}

// UniqueMembers drops repeated keys from ms, keeping the last value at the
// first place.
func UniqueMembers(ms []Member) []Member {
	if len(ms) < 2 {
		return ms
	}
	if len(ms) <= 16 {
		dup := false
		for i := 1; i < len(ms) && !dup; i++ {
			for j := range i {
				if ms[i].Key == ms[j].Key {
					dup = true
					break
				}
			}
		}
		if !dup {
			return ms
		}
	}
	at := make(map[string]int, len(ms))
	out := ms[:0]
	for _, m := range ms {
		if i, ok := at[m.Key]; ok {
			out[i].Value = m.Value
			continue
		}
		at[m.Key] = len(out)
		out = append(out, m)
	}
	clear(ms[len(out):])
	return out
}

// treeParser is a parser that decodes generic values, with stacks of
// members and elements it reuses, so that each object and array is
// allocated once at its size. Strings without escapes and numbers are
// slices of text, the input as a string, so that they cost no
// allocation of their own; whoever keeps one for long must clone it, or it
// keeps the whole input alive.
type treeParser struct {
	Parser
	*treeState
}

// treeState is what a treeParser keeps besides its position, across the
// values it decodes from one input.
type treeState struct {
	text    string
	members []Member
	elems   []any
	cur     *Object // the object being decoded

	// Slabs the values are cut from, to allocate once for many; each cut
	// has its capacity at its length, so that appending to it copies.
	objSlab    []Object
	memberSlab []Member
	elemSlab   []any

	// boxed are short strings already boxed in this input, to box a
	// repeated one (a tag name, a class, white space) once.
	boxed *[64]boxedString

	markKeys func(key string) bool // see Parser.Mark
	markMin  int
}

type boxedString struct {
	s string
	v any
}

// box returns s as an any, sharing the boxes of short strings repeated in
// large inputs.
func (p *treeParser) box(s string) any {
	if p.boxed == nil || len(s) == 0 || len(s) > 24 {
		return s
	}
	e := &p.boxed[keySlot(s)&63]
	if e.v == nil || e.s != s {
		e.s, e.v = s, s
	}
	return e.v
}

// treeStates keep treeStates for their stacks; the slabs, which the
// values decoded are cut from, are never reused.
var treeStates = sync.Pool{New: func() any { return new(treeState) }}

// release empties t, keeping only its stacks, and puts it back in
// treeStates.
func (t *treeState) release() {
	clear(t.members)
	clear(t.elems)
	*t = treeState{members: t.members[:0], elems: t.elems[:0]}
	if cap(t.members) <= 1<<12 && cap(t.elems) <= 1<<12 {
		treeStates.Put(t)
	}
}

// slabSize is how many values a slab holds: about one per 16 bytes of
// input, within bounds.
func (p *treeParser) slabSize() int {
	return min(max(len(p.b)/16, 4), 1024)
}

// cut returns a copy of s cut from slab, or allocated alone when slab has
// no room for it.
func cut[T any](slab *[]T, s []T, size int) []T {
	n := len(s)
	if n > size/4 {
		return slices.Clone(s)
	}
	if cap(*slab)-len(*slab) < n {
		*slab = make([]T, 0, size)
	}
	start := len(*slab)
	*slab = append(*slab, s...)
	return (*slab)[start : start+n : start+n]
}

// allocObject returns a new object, inside the one being decoded.
func (p *treeParser) allocObject() *Object {
	if len(p.objSlab) == 0 {
		p.objSlab = make([]Object, max(p.slabSize()/4, 1))
	}
	o := &p.objSlab[0]
	p.objSlab = p.objSlab[1:]
	o.parent = p.cur
	return o
}

// setMembers gives o the members ms (a copy of them) and the text
// [start:end] it was decoded from.
func (p *treeParser) setMembers(o *Object, ms []Member, start, end int) {
	if len(ms) > 0 {
		o.Members = UniqueMembers(cut(&p.memberSlab, ms, p.slabSize()))
	}
	if len(o.Members) < len(ms) {
		// A key given twice: the text holds a value the tree does not,
		// which no one looked at. Neither it nor what holds it is written
		// as it came.
		o.Touch()
		return
	}
	o.raw = p.text[start:end]
}

// mark flags the object being decoded, and those that hold it, as holding
// a marked member.
func (p *treeParser) mark() {
	for q := p.cur; q != nil && q.state&marked == 0; q = q.parent {
		q.state |= marked
	}
}

// emptyArray is the value of every empty array decoded: appending to it
// copies, so it is never written.
var emptyArray any = []any{}

// smallNumbers are the boxed numbers 0 to 9 (node types, sources, ...), so
// that decoding them allocates nothing.
var smallNumbers = func() (a [10]any) {
	for i := range a {
		a[i] = json.Number(strconv.Itoa(i))
	}
	return a
}()

// string reads a string.
func (p *treeParser) string() (string, error) { return p.stringVia(nil) }

// stringVia reads a string, unescaping it through c, when not nil, if it
// has escapes and is long enough (see Parser.CacheStrings).
func (p *treeParser) stringVia(c *StringCache) (string, error) {
	p.ws()
	start := p.i
	body, escaped, ascii, err := p.stringScan()
	if err != nil {
		return "", err
	}
	if escaped && c != nil && len(body) >= p.cacheMin {
		return c.text(body, ascii), nil
	}
	if escaped || !ascii && !utf8.Valid(body) {
		return unquote(body, ascii), nil
	}
	return p.text[start+1 : p.i-1], nil
}

// value reads any JSON value: an object as a *jsonObject, an array as []any,
// a string, a number as json.Number (its literal text, written again
// exactly as it came), a bool or nil.
func (p *treeParser) value() (any, error) {
	switch c := p.ws(); {
	case c == '{':
		start := p.i
		more, err := p.enter('{', '}')
		if err != nil {
			return nil, err
		}
		o := p.allocObject()
		outer := p.cur
		p.cur = o
		base := len(p.members)
		for ok := true; more; {
			k, err := p.string()
			if err != nil {
				return nil, err
			}
			if p.ws() != ':' {
				return nil, p.unexpected()
			}
			p.i++
			vstart := p.ws()
			at := p.i
			var v any
			if vstart == '"' && p.cache != nil && p.cacheKeys(k) {
				v, err = p.stringVia(p.cache)
			} else {
				v, err = p.value()
			}
			if err != nil {
				return nil, err
			}
			if p.treeState.markKeys != nil && vstart == '"' && p.i-at-2 >= p.treeState.markMin && p.treeState.markKeys(k) {
				p.mark()
			}
			p.members = append(p.members, Member{k, v})
			if more, ok = p.next('}'); !ok {
				return nil, p.unexpected()
			}
		}
		p.cur = outer
		p.setMembers(o, p.members[base:], start, p.i)
		clear(p.members[base:])
		p.members = p.members[:base]
		return o, nil
	case c == '[':
		more, err := p.enter('[', ']')
		if err != nil {
			return nil, err
		}
		base := len(p.elems)
		for ok := true; more; {
			v, err := p.value()
			if err != nil {
				return nil, err
			}
			p.elems = append(p.elems, v)
			if more, ok = p.next(']'); !ok {
				return nil, p.unexpected()
			}
		}
		if len(p.elems) == base {
			return emptyArray, nil
		}
		a := cut(&p.elemSlab, p.elems[base:], p.slabSize())
		clear(p.elems[base:])
		p.elems = p.elems[:base]
		return a, nil
	case c == '"':
		s, err := p.string()
		if err != nil {
			return nil, err
		}
		return p.box(s), nil
	case c == '-' || c >= '0' && c <= '9':
		start := p.i
		text, err := p.numberRaw()
		if err != nil {
			return nil, err
		}
		if len(text) == 1 {
			return smallNumbers[text[0]-'0'], nil
		}
		return json.Number(p.text[start:p.i]), nil
	case c == 't':
		return true, p.literal("true")
	case c == 'f':
		return false, p.literal("false")
	case c == 'n':
		return nil, p.literal("null")
	}
	return nil, p.unexpected()
}

// Decode decodes one JSON text into the values treeParser.value
// makes. It takes what encoding/json takes (and rejects numbers beyond
// float64's range, as encoding/json does decoding them into an any).
func Decode(data []byte) (any, error) {
	p := NewParser(data)
	defer p.Release()
	v, err := p.Value()
	if err != nil {
		return nil, err
	}
	if err := p.End(); err != nil {
		return nil, err
	}
	return v, nil
}

// Value decodes the next value into the tree Decode makes. Its strings and
// objects share memory with the parser's input, which must not change
// while they are in use. Calls on one parser share allocations; Release
// ends them.
func (p *Parser) Value() (any, error) {
	if p.tree == nil {
		p.tree = treeStates.Get().(*treeState)
		p.tree.text = p.str
		if p.str == "" && len(p.b) > 0 {
			p.tree.text = string(p.b)
		}
		if len(p.b) >= 4<<10 {
			p.tree.boxed = new([64]boxedString)
		}
		p.tree.markKeys, p.tree.markMin = p.markKeys, p.markMin
	}
	tp := treeParser{Parser: *p, treeState: p.tree}
	v, err := tp.value()
	p.i, p.depth = tp.i, tp.depth
	return v, err
}

// Mark makes Value flag the objects that hold, at any depth, a member
// whose key keys accepts with a string value of at least min bytes as
// written (between its quotes), so that a [Writer] copying their text
// hands it to its Marked function.
func (p *Parser) Mark(keys func(key string) bool, min int) {
	p.markKeys, p.markMin = keys, min
}

// CacheStrings makes Value unescape the string values of members whose
// key keys accepts, when they have escapes and are at least min bytes long
// as written, through c: a string c holds is not unescaped again, and
// shares c's text.
func (p *Parser) CacheStrings(c *StringCache, keys func(key string) bool, min int) {
	p.cache, p.cacheKeys, p.cacheMin = c, keys, min
}

// ValueRaw is Value that returns the value's text besides.
func (p *Parser) ValueRaw() (any, []byte, error) {
	p.ws()
	start := p.i
	v, err := p.Value()
	if err != nil {
		return nil, nil, err
	}
	return v, p.b[start:p.i:p.i], nil
}

// Release lets the parser's stacks for Value be reused; the values it
// decoded stay valid. The parser is not to be used afterwards.
func (p *Parser) Release() {
	if p.tree != nil {
		p.tree.release()
		p.tree = nil
	}
}

// Marshal encodes v as json.Encoder does without escaping HTML
// characters, without its trailing newline (see Append).
func Marshal(v any) ([]byte, error) {
	return Append(nil, v)
}

// AppendRaw appends v as Append does, except that an object decoded and
// not changed since (see [Object.Raw]) is written as the text it was
// decoded from. It writes the same JSON value as Append, though not always
// the same bytes: the white space, escapes and bytes that are not UTF-8 of
// a decoded object's text are kept as they came.
func AppendRaw(dst []byte, v any) ([]byte, error) {
	w := Writer{Buf: dst}
	err := w.Append(v)
	return w.Buf, err
}

// A Writer appends trees to Buf as [AppendRaw] does, and notes where the
// string values of members whose keys Keys accepts went, when they are at
// least Min bytes long as written (between the quotes). The text of a
// decoded object it copies is handed to Marked, with its offset in Buf,
// when the object holds such a member (see [Parser.Mark]): the Writer does
// not look into it. A Writer is used by one goroutine at a time.
type Writer struct {
	Buf    []byte
	Keys   func(key string) bool
	Min    int
	Spans  []Span // the noted strings, in order
	Marked func(raw []byte, at int)

	// Quoted, when set, is asked for the JSON text of each string Keys
	// accepts before it is encoded; when it has it (a string encoded
	// before), that text is copied. It must be what AppendString writes.
	Quoted func(s string) (string, bool)
}

// A Span is where a string a [Writer] noted went in its Buf.
type Span struct {
	Start, End int    // its contents, between the quotes: Buf[Start:End]
	Quoted     string // the string whose text Writer.Quoted gave, or "" when it was encoded
}

func (w *Writer) quoted(s string) (string, bool) {
	if w.Quoted == nil || len(s) < w.Min {
		return "", false
	}
	return w.Quoted(s)
}

// Append appends v.
func (w *Writer) Append(v any) error {
	switch t := v.(type) {
	case *Object:
		if t == nil {
			w.Buf = append(w.Buf, "null"...)
			return nil
		}
		if raw, ok := t.Raw(); ok {
			at := len(w.Buf)
			w.Buf = append(w.Buf, raw...)
			if t.state&marked != 0 && w.Marked != nil {
				w.Marked(w.Buf[at:], at)
			}
			return nil
		}
		w.Buf = append(w.Buf, '{')
		for i, m := range t.Members {
			if i > 0 {
				w.Buf = append(w.Buf, ',')
			}
			w.Buf = AppendString(w.Buf, m.Key)
			w.Buf = append(w.Buf, ':')
			if s, ok := m.Value.(string); ok && w.Keys != nil && w.Keys(m.Key) {
				start := len(w.Buf) + 1
				q, ok := w.quoted(s)
				if ok {
					w.Buf = append(w.Buf, q...)
				} else {
					w.Buf = AppendString(w.Buf, s)
				}
				if end := len(w.Buf) - 1; end-start >= w.Min {
					if !ok {
						s = ""
					}
					w.Spans = append(w.Spans, Span{start, end, s})
				}
				continue
			}
			if err := w.Append(m.Value); err != nil {
				return err
			}
		}
		w.Buf = append(w.Buf, '}')
		return nil
	case []any:
		if t == nil {
			w.Buf = append(w.Buf, "null"...)
			return nil
		}
		w.Buf = append(w.Buf, '[')
		for i, e := range t {
			if i > 0 {
				w.Buf = append(w.Buf, ',')
			}
			if err := w.Append(e); err != nil {
				return err
			}
		}
		w.Buf = append(w.Buf, ']')
		return nil
	}
	var err error
	w.Buf, err = Append(w.Buf, v)
	return err
}

// Append appends the JSON encoding of a decoded value (the types
// treeParser.value makes) to dst: objects with their members in order,
// strings escaped as JSON requires (no HTML escaping), numbers as their
// literal text. Go maps are written with their keys sorted, and values of
// other types handed to encoding/json, so that whatever it writes is byte
// for byte what json.Encoder with SetEscapeHTML(false) writes.
func Append(dst []byte, v any) ([]byte, error) {
	switch t := v.(type) {
	case nil:
		return append(dst, "null"...), nil
	case string:
		return AppendString(dst, t), nil
	case json.Number:
		if t == "" {
			return append(dst, '0'), nil
		}
		if !ValidNumber(string(t)) {
			return nil, fmt.Errorf("json: invalid number literal %q", string(t))
		}
		return append(dst, t...), nil
	case bool:
		return strconv.AppendBool(dst, t), nil
	case *Object:
		if t == nil {
			return append(dst, "null"...), nil
		}
		dst = append(dst, '{')
		for i, m := range t.Members {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = AppendString(dst, m.Key)
			dst = append(dst, ':')
			var err error
			if dst, err = Append(dst, m.Value); err != nil {
				return nil, err
			}
		}
		return append(dst, '}'), nil
	case map[string]any:
		if t == nil {
			return append(dst, "null"...), nil
		}
		var arr [16]string
		keys := arr[:0]
		for k := range t {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		dst = append(dst, '{')
		for i, k := range keys {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = AppendString(dst, k)
			dst = append(dst, ':')
			var err error
			if dst, err = Append(dst, t[k]); err != nil {
				return nil, err
			}
		}
		return append(dst, '}'), nil
	case []any:
		if t == nil {
			return append(dst, "null"...), nil
		}
		dst = append(dst, '[')
		for i, e := range t {
			if i > 0 {
				dst = append(dst, ',')
			}
			var err error
			if dst, err = Append(dst, e); err != nil {
				return nil, err
			}
		}
		return append(dst, ']'), nil
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return append(dst, bytes.TrimSuffix(buf.Bytes(), []byte("\n"))...), nil
}

// AppendString appends s as a JSON string, as encoding/json does without
// HTML escaping: '"', '\\' and control characters escaped, bytes that are
// not UTF-8 written as \ufffd, U+2028 and U+2029 escaped for JavaScript.
func AppendString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		// Skip 8 bytes at a time while they are plain ASCII, then to the
		// first that is not (see stopLanes).
		for i+8 <= len(s) {
			x := binary.LittleEndian.Uint64(unsafe.Slice(unsafe.StringData(s[i:]), 8))
			if stop := (x | stopLanes(x)) & lanes80; stop != 0 {
				i += bits.TrailingZeros64(stop) / 8
				break
			}
			i += 8
		}
		if i >= len(s) {
			break
		}
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '\\', '"':
				dst = append(dst, '\\', c)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hex[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// ValidNumber reports whether s is a JSON number, as encoding/json checks
// a json.Number before writing it (its range is not checked).
func ValidNumber(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && s[i] >= '1' && s[i] <= '9':
		i = digits(s, i)
	default:
		return false
	}
	if i < len(s) && s[i] == '.' {
		j := digits(s, i+1)
		if j == i+1 {
			return false
		}
		i = j
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		j := digits(s, i)
		if j == i {
			return false
		}
		i = j
	}
	return i == len(s)
}
