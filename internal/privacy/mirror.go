package privacy

import (
	"fmt"
	"iter"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/net/html"

	"github.com/sessionreplay/replay/internal/jsonx"
)

// A Mirror is the server's compact copy of one window's DOM: for every
// node id its parent, children, tag, the attributes the policy's selectors
// read (as they were stored), and its masking bits. It is built from each
// FullSnapshot and kept current by mutations; Input events and text
// mutations, which carry only a node id, are masked by what the Mirror says
// about that id. An id the Mirror does not know is masked.
//
// A Mirror is used by one goroutine at a time (the one holding the
// session's lock).
type Mirror struct {
	dense []mnode          // by id, for the dense ids rrweb hands out
	far   map[int32]*mnode // ids too far from the others to be dense
	live  int              // nodes present

	tags   []string // interned tag names; index 0 is ""
	tagIdx map[string]uint32
	sets   []string // interned attribute sets ("k\x00v\x00..."); index 0 is empty
	setIdx map[string]uint32

	pw map[int32]bool // ids that ever were passwords: sticky across snapshots
}

// mnode is one node of a mirror. Links are node ids, 0 for none.
type mnode struct {
	parent, first, last, prev, next int32
	tag, attrs                      uint32
	bits                            uint16
	kind                            uint8 // rrweb NodeType + 1; 0 = absent
}

const (
	kindDocument = 1 + iota
	kindDoctype
	kindElement
	kindText
	kindCDATA
	kindComment
)

// Limits that bound what a hostile window can make a mirror hold. Nodes
// beyond them are not recorded, so what refers to them is masked or
// dropped.
const (
	maxMirrorNodes = 1 << 20
	maxDenseID     = 1 << 24
	maxMirrorDepth = 4096
	// maxSiblings bounds the siblings built to match a selector that
	// depends on them (+, ~, :nth-child, ...); past it the node is masked.
	maxSiblings = 1024
	// reevalBudget bounds the elements re-matched per batch after attribute
	// changes; past it the changed element and all below it are masked.
	reevalBudget = 1 << 20
)

func NewMirror() *Mirror {
	return &Mirror{tags: []string{""}, tagIdx: map[string]uint32{}, sets: []string{""}, setIdx: map[string]uint32{}}
}

// reset empties the mirror for a new FullSnapshot; the password memory stays.
func (mr *Mirror) reset() {
	pw := mr.pw
	*mr = *NewMirror()
	mr.pw = pw
}

func (mr *Mirror) get(id int32) *mnode {
	if id <= 0 {
		return nil
	}
	if int(id) < len(mr.dense) {
		if n := &mr.dense[id]; n.kind != 0 {
			return n
		}
		return nil
	}
	return mr.far[id]
}

// slot returns storage for a new node id, or nil when the mirror is full.
func (mr *Mirror) slot(id int32) *mnode {
	if id <= 0 || mr.live >= maxMirrorNodes {
		return nil
	}
	if int(id) < len(mr.dense) {
		return &mr.dense[id]
	}
	if id < maxDenseID && int(id) < 2*mr.live+65536 {
		n := max(int(id)+1, len(mr.dense)*5/4)
		mr.dense = slices.Grow(mr.dense, n-len(mr.dense))[:n]
		return &mr.dense[id]
	}
	if mr.far == nil {
		mr.far = map[int32]*mnode{}
	}
	n := &mnode{}
	mr.far[id] = n
	return n
}

func (mr *Mirror) intern(tag string) uint32 {
	if i, ok := mr.tagIdx[tag]; ok {
		return i
	}
	tag = strings.Clone(tag) // not a slice of a decoded event's text
	mr.tags = append(mr.tags, tag)
	i := uint32(len(mr.tags) - 1)
	mr.tagIdx[tag] = i
	return i
}

func (mr *Mirror) internSet(set string) uint32 {
	if set == "" {
		return 0
	}
	if i, ok := mr.setIdx[set]; ok {
		return i
	}
	mr.sets = append(mr.sets, set)
	i := uint32(len(mr.sets) - 1)
	mr.setIdx[set] = i
	return i
}

// internSetBytes is internSet of an encoded set being built: it makes a
// string of it only when the mirror has not seen it.
func (mr *Mirror) internSetBytes(set []byte) uint32 {
	if len(set) == 0 {
		return 0
	}
	if i, ok := mr.setIdx[string(set)]; ok {
		return i
	}
	return mr.internSet(string(set))
}

// attrSet encodes the kept attributes of attrs (a decoded rrweb attributes
// object) as "k\x00v\x00...", keys lower-cased and sorted.
func attrSet(m *Masker, attrs *jsonx.Object) string {
	return string(appendAttrSet(nil, m, attrs))
}

// appendAttrSet appends the encoding of attrSet to dst.
func appendAttrSet(dst []byte, m *Masker, attrs *jsonx.Object) []byte {
	if attrs == nil {
		return dst
	}
	var buf [8]attrKV
	kv := buf[:0]
	size := 0
	for _, a := range attrs.Members {
		k, v := a.Key, a.Value
		lk := lower(k)
		if !m.keeps(lk) {
			continue
		}
		if s, ok := attrString(v); ok {
			kv = append(kv, attrKV{lk, s})
			size += len(lk) + len(s) + 2
		}
	}
	return appendKVs(dst, kv, size)
}

// appendKVs appends the encoding of attrSet of kv, whose keys are lower
// case and kept, each once; size is what it takes.
func appendKVs(dst []byte, kv []attrKV, size int) []byte {
	if len(kv) == 0 {
		return dst
	}
	slices.SortFunc(kv, attrKV.compare)
	dst = slices.Grow(dst, size-1)
	for i, a := range kv {
		if i > 0 {
			dst = append(dst, 0)
		}
		dst = append(dst, a.k...)
		dst = append(dst, 0)
		dst = append(dst, a.v...)
	}
	return dst
}

// kvSet is attrSet of an object with the members kv, each name once.
func kvSet(m *Masker, kv []attrKV) string {
	var buf [8]attrKV
	kept := buf[:0]
	size := 0
	for _, a := range kv {
		lk := lower(a.k)
		if !m.keeps(lk) {
			continue
		}
		kept = append(kept, attrKV{lk, a.v})
		size += len(lk) + len(a.v) + 2
	}
	if len(kept) == 0 {
		return ""
	}
	return string(appendKVs(nil, kept, size))
}

// mapObject makes an object of the members of a map, in no order.
func mapObject(kv map[string]any) *jsonx.Object {
	o := &jsonx.Object{Members: make([]jsonx.Member, 0, len(kv))}
	for k, v := range kv {
		o.Members = append(o.Members, jsonx.Member{Key: k, Value: v})
	}
	return o
}

// attrKV is an attribute of a set being built.
type attrKV struct{ k, v string }

// compare orders attributes as their encodings "k\x00v" sort.
func (a attrKV) compare(b attrKV) int {
	if strings.IndexByte(a.k, 0) >= 0 || strings.IndexByte(b.k, 0) >= 0 {
		return strings.Compare(a.k+"\x00"+a.v, b.k+"\x00"+b.v)
	}
	if c := strings.Compare(a.k, b.k); c != 0 {
		return c
	}
	return strings.Compare(a.v, b.v)
}

// attrString is the string value of an rrweb attribute value: strings as
// they are, true as "", numbers as their text; false and null are absent.
func attrString(v any) (string, bool) {
	switch t := v.(type) {
	case string:
		return t, true
	case bool:
		return "", t
	case jsonNumber:
		return string(t), true
	}
	return "", false
}

// setDerived reads the attributes derivedBits reads from an encoded set, in
// one pass: of a name given twice, the first.
func setDerived(set string) derivedAttrs {
	var d derivedAttrs
	var seen uint8
	for set != "" {
		var k, v string
		k, set, _ = strings.Cut(set, "\x00")
		v, set, _ = strings.Cut(set, "\x00")
		if bit := derivedKey(k); bit != 0 && seen&bit == 0 {
			seen |= bit
			d.set(bit, v, true)
		}
	}
	return d
}

func setAttrs(set string) []html.Attribute {
	var out []html.Attribute
	for set != "" {
		var k, v string
		k, set, _ = strings.Cut(set, "\x00")
		v, set, _ = strings.Cut(set, "\x00")
		out = append(out, html.Attribute{Key: k, Val: v})
	}
	return out
}

// add records a serialized node, without its children, under parent
// before the sibling before (appended when before is not a child of
// parent). typ is the node's rrweb type and, for an element, tag its tag
// name lower-cased, set the attributes the selectors read as the page has
// them (encoded, see attrSet) and marker its marker bits. It returns nil
// when the mirror cannot hold the node.
func (mr *Mirror) add(m *Masker, id, parent, before, typ int32, tag string, set []byte, marker uint16) *mnode {
	if old := mr.get(id); old != nil {
		mr.remove(id)
	}
	n := mr.slot(id)
	if n == nil {
		return nil
	}
	*n = mnode{parent: parent}
	switch typ {
	case 0, 1, 2, 3, 4, 5:
		n.kind = uint8(typ) + 1
	default:
		n.kind = kindComment // an unknown kind of leaf: its text is masked like a comment's
	}
	if n.kind == kindElement {
		n.tag = mr.intern(tag)
		n.attrs = mr.internSetBytes(set)
		n.bits = mr.stickyPw(id, marker&markerBits|m.derivedBits(tag, setDerived(mr.sets[n.attrs])))
	}
	mr.live++
	mr.link(id, n, before)
	return n
}

// link inserts n (id) into its parent's children before the sibling before.
func (mr *Mirror) link(id int32, n *mnode, before int32) {
	p := mr.get(n.parent)
	if p == nil {
		return
	}
	if b := mr.get(before); b != nil && b.parent == n.parent && before != id {
		n.next = before
		n.prev = b.prev
		b.prev = id
		if n.prev != 0 {
			if pv := mr.get(n.prev); pv != nil {
				pv.next = id
			}
		} else {
			p.first = id
		}
		return
	}
	n.prev = p.last
	if p.last != 0 {
		if l := mr.get(p.last); l != nil {
			l.next = id
		}
	} else {
		p.first = id
	}
	p.last = id
}

// unlink detaches n (id) from its parent's children.
func (mr *Mirror) unlink(id int32, n *mnode) {
	p := mr.get(n.parent)
	if pv := mr.get(n.prev); pv != nil {
		pv.next = n.next
	} else if p != nil && p.first == id {
		p.first = n.next
	}
	if nx := mr.get(n.next); nx != nil {
		nx.prev = n.prev
	} else if p != nil && p.last == id {
		p.last = n.prev
	}
	n.prev, n.next = 0, 0
}

// removeAll deletes the nodes a mutation's data d removes, with their
// subtrees.
func (mr *Mirror) removeAll(d *jsonx.Object) {
	for _, e := range jsonArray(d.Get("removes")) {
		it, ok := e.(*jsonx.Object)
		if !ok {
			continue
		}
		if id, ok := intOf(it.Get("id")); ok {
			mr.remove(id)
		}
	}
}

// stickyPw returns the bits of element id with bPw added when id ever was
// a password field, and remembers id when bits make it one now.
func (mr *Mirror) stickyPw(id int32, bits uint16) uint16 {
	if mr.pw[id] {
		bits |= bPw
	}
	if bits&bPw != 0 {
		if mr.pw == nil {
			mr.pw = map[int32]bool{}
		}
		mr.pw[id] = true
	}
	return bits
}

// remove deletes a node and its subtree.
func (mr *Mirror) remove(id int32) {
	n := mr.get(id)
	if n == nil {
		return
	}
	mr.unlink(id, n)
	stack := []int32{id}
	for len(stack) > 0 {
		cur := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		c := mr.get(cur)
		if c == nil {
			continue
		}
		for k := range mr.children(cur) {
			stack = append(stack, k)
		}
		*c = mnode{}
		if int(cur) >= len(mr.dense) {
			delete(mr.far, cur)
		}
		mr.live--
	}
}

// chain returns id and its ancestors up to their document, innermost
// first, or false when a link is missing.
func (mr *Mirror) chain(id int32, buf []int32) ([]int32, bool) {
	for range maxMirrorDepth {
		n := mr.get(id)
		if n == nil {
			return buf, false
		}
		buf = append(buf, id)
		if n.parent == 0 {
			return buf, n.kind == kindDocument
		}
		id = n.parent
	}
	return buf, false
}

// ctxOf is the context of node id, its own bits included: that of an
// unknown node when a link up to its document (see chain) is missing.
func (mr *Mirror) ctxOf(id int32) ctx {
	var arr [64]uint16
	bits := arr[:0] // of the elements on the way up, innermost first
	for range maxMirrorDepth {
		n := mr.get(id)
		if n == nil {
			return ctx{}
		}
		if n.kind == kindElement {
			bits = append(bits, n.bits)
		}
		if n.parent == 0 {
			if n.kind != kindDocument {
				return ctx{}
			}
			c := rootCtx
			for i := len(bits) - 1; i >= 0; i-- {
				c = c.enter(bits[i])
			}
			return c
		}
		id = n.parent
	}
	return ctx{}
}

// htmlElement builds the html node matching a mirror element. The node
// comes from the pass's slabs and its attributes, parsed once per set and
// pass, are shared: whoever changes them must set Attr anew.
func (p *pass) htmlElement(n *mnode) *html.Node {
	h := p.newElement(p.mr.tags[n.tag])
	h.Attr = p.setAttrs(n.attrs)
	return h
}

// setAttrs returns the attributes of the mirror's interned set i, parsed
// once per pass (snapshot drops them with the mirror's sets). The slice is
// shared, at its capacity so that appending to it copies.
func (p *pass) setAttrs(i uint32) []html.Attribute {
	if i == 0 {
		return nil
	}
	if int(i) < len(p.attrCache) && p.attrCache[i] != nil {
		return p.attrCache[i]
	}
	a := setAttrs(p.mr.sets[i])
	a = a[:len(a):len(a)]
	if int(i) >= len(p.attrCache) {
		p.attrCache = slices.Grow(p.attrCache, int(i)+1-len(p.attrCache))[:int(i)+1]
	}
	p.attrCache[i] = a
	return a
}

// materialise builds html nodes for id and its ancestors up to their
// document, so that selectors can be matched on id; with siblings, the
// element children of every ancestor are built too. It returns id's node and,
// with siblings, id's element children by id. A document ends the chain: CSS
// selectors do not cross into a frame.
func (p *pass) materialise(id int32, siblings bool) (h *html.Node, kids map[int32]*html.Node, partial bool) {
	mr := p.mr
	var arr [64]int32
	ids, _ := mr.chain(id, arr[:0])
	for i, cid := range ids { // stop at the innermost document
		if mr.get(cid).kind == kindDocument {
			ids = ids[:i+1]
			break
		}
	}
	var cur *html.Node
	for i := len(ids) - 1; i >= 0; i-- {
		n := mr.get(ids[i])
		if n.kind == kindDocument {
			cur = &html.Node{Type: html.DocumentNode}
			continue
		}
		if cur == nil {
			cur = p.htmlElement(n)
			continue
		}
		var h *html.Node
		if siblings && mr.elementChildren(ids[i+1]) > maxSiblings {
			partial = true
		} else if siblings {
			for k, kn := range mr.children(ids[i+1]) {
				if kn.kind == kindElement {
					kh := p.htmlElement(kn)
					if k == ids[i] {
						h = kh
					}
					cur.AppendChild(kh)
				}
			}
		}
		if h == nil {
			h = p.htmlElement(n)
			cur.AppendChild(h)
		}
		cur = h
	}
	if cur == nil {
		cur = &html.Node{Type: html.DocumentNode}
	}
	if n := mr.get(id); siblings && n != nil && mr.elementChildren(id) > maxSiblings {
		partial = true
	} else if siblings && n != nil {
		kids = map[int32]*html.Node{}
		for k, kn := range mr.children(id) {
			if kn.kind == kindElement {
				kh := p.htmlElement(kn)
				cur.AppendChild(kh)
				kids[k] = kh
			}
		}
	}
	return cur, kids, partial
}

// elementChildren counts the element children of id, up to maxSiblings+1.
func (mr *Mirror) elementChildren(id int32) int {
	count := 0
	for _, kn := range mr.children(id) {
		if kn.kind == kindElement {
			if count++; count > maxSiblings {
				break
			}
		}
	}
	return count
}

// children yields the children of id in order. Links come from the
// browser, so the walk stops at a link that does not lead back to id and
// after as many steps as there are nodes.
func (mr *Mirror) children(id int32) iter.Seq2[int32, *mnode] {
	return func(yield func(int32, *mnode) bool) {
		n := mr.get(id)
		if n == nil {
			return
		}
		steps := 0
		for k := n.first; k != 0 && steps <= mr.live; steps++ {
			kn := mr.get(k)
			if kn == nil || kn.parent != id || !yield(k, kn) {
				return
			}
			k = kn.next
		}
	}
}

// reeval recomputes the selector bits of the elements below root (and of
// root itself when self), after an attribute change that selectors may see.
// It returns the ids whose marker bits changed, with their new markers.
func (p *pass) reeval(root int32, self bool) []idBits {
	mr := p.mr
	// The ancestors' siblings too: a selector such as ".a + .b span" or
	// "div:first-child span" reads them.
	h, _, partial := p.materialise(root, p.m.siblingSen)
	for h.FirstChild != nil { // walk builds root's children itself
		h.RemoveChild(h.FirstChild)
	}
	var changed []idBits
	exhausted := partial // past maxSiblings: what cannot be matched is masked
	var walk func(id int32, h *html.Node, depth int)
	walk = func(id int32, h *html.Node, depth int) {
		if depth > maxMirrorDepth || exhausted {
			return
		}
		if p.budget--; p.budget < 0 {
			exhausted = true
			return
		}
		// All the children first: :last-child, :nth-last-child and
		// :only-child look at the siblings that follow.
		type kid struct {
			id int32
			n  *mnode
			h  *html.Node
		}
		var kids []kid
		for k, kn := range mr.children(id) {
			switch kn.kind {
			case kindElement:
				kh := p.htmlElement(kn)
				h.AppendChild(kh)
				kids = append(kids, kid{k, kn, kh})
			case kindDocument:
				kids = append(kids, kid{k, kn, &html.Node{Type: html.DocumentNode}})
			}
		}
		for _, k := range kids {
			if k.n.kind == kindElement {
				p.refresh(k.id, k.n, k.h, &changed)
			}
			walk(k.id, k.h, depth+1)
		}
	}
	if n := mr.get(root); self && n != nil && n.kind == kindElement {
		p.refresh(root, n, h, &changed)
	}
	walk(root, h, 0)
	if n := mr.get(root); exhausted && n != nil && n.bits&bUnsure == 0 {
		n.bits |= bUnsure // what was not re-matched is masked
		changed = append(changed, idBits{root, n.bits & markerBits})
	}
	return changed
}

type idBits struct {
	id   int32
	bits uint16
}

// refresh re-matches one element and records a change of its marker bits.
func (p *pass) refresh(id int32, n *mnode, h *html.Node, changed *[]idBits) {
	sel := p.m.selfBits(h)
	if n.bits&bUnsure != 0 {
		// Its stored attributes may be masked ones (see pass.opaque): a
		// mirror rebuilt from them cannot tell it stopped matching.
		sel |= n.bits & bBlock
	}
	old := n.bits & (bBlock | bText | bUnmask)
	if sel == old {
		return
	}
	n.bits = n.bits&^(bBlock|bText|bUnmask) | sel
	*changed = append(*changed, idBits{id, n.bits & markerBits})
}

// Bytes estimates the memory the mirror holds.
func (mr *Mirror) Bytes() int {
	b := cap(mr.dense)*32 + len(mr.far)*(32+48)
	for _, s := range mr.tags {
		b += len(s) + 16 + 24
	}
	for _, s := range mr.sets {
		b += len(s) + 16 + 24
	}
	return b + len(mr.pw)*16
}

// ApplyStored brings the mirror up to date with an event as it was stored
// (masked, with the server's rr_mask markers): the inverse of what masking
// recorded, so a rebuilt mirror equals the one that masked the batches.
func (mr *Mirror) ApplyStored(m *Masker, e *Event) error {
	switch e.Type {
	case fullSnapshot:
		d, err := decodeTree(e.Data)
		if err != nil {
			return err
		}
		node, _ := d.Get("node").(*jsonx.Object)
		mr.reset()
		mr.addStoredTree(m, node, 0, 0, 0)
	case incrementalSnapshot:
		if src, ok := peekSource(e.Data); !ok || src != 0 {
			return nil
		}
		d, err := decodeTree(e.Data)
		if err != nil {
			return err
		}
		mr.removeAll(d)
		adds := listOf(d.Get("adds"))
		for _, i := range mr.resolveAdds(adds) {
			it := adds[i]
			parent, _ := intOf(it.Get("parentId"))
			next, _ := intOf(it.Get("nextId"))
			node, _ := it.Get("node").(*jsonx.Object)
			mr.addStoredTree(m, node, parent, next, 0)
		}
		for _, it := range listOf(d.Get("attributes")) {
			id, _ := intOf(it.Get("id"))
			attrs, _ := it.Get("attributes").(*jsonx.Object)
			n := mr.get(id)
			if n == nil || n.kind != kindElement || attrs == nil {
				continue
			}
			marker := n.bits & markerBits
			if v, ok := attrs.Lookup(markerAttr); ok {
				marker = markerBitsOf(v) | n.bits&bPw
			}
			mr.updateAttrs(m, id, n, attrs, marker)
		}
	}
	return nil
}

// addStoredTree records a stored node and its children.
func (mr *Mirror) addStoredTree(m *Masker, node *jsonx.Object, parent, before int32, depth int) {
	if node == nil || depth > maxMirrorDepth {
		return
	}
	v := readNode(node)
	if !v.idOK {
		return
	}
	attrs := v.attrs()
	marker := markerBitsOf(attrs.Get(markerAttr))
	if mr.add(m, v.id, parent, before, v.typ, v.tag(), appendAttrSet(nil, m, attrs), marker) == nil {
		return
	}
	id := v.id
	for _, e := range v.children() {
		child, ok := e.(*jsonx.Object)
		if !ok {
			continue
		}
		mr.addStoredTree(m, child, id, 0, depth+1)
	}
}

// updateAttrs applies a stored attribute change to a mirror element and
// sets its marker bits.
func (mr *Mirror) updateAttrs(m *Masker, id int32, n *mnode, changes *jsonx.Object, marker uint16) {
	set := mr.sets[n.attrs]
	kv := map[string]any{}
	for rest := set; rest != ""; {
		var k, v string
		k, rest, _ = strings.Cut(rest, "\x00")
		v, rest, _ = strings.Cut(rest, "\x00")
		kv[k] = v
	}
	for _, a := range changes.Items() {
		k, v := a.Key, a.Value
		lk := lower(k)
		if !m.keeps(lk) {
			continue
		}
		if _, ok := attrString(v); ok {
			kv[lk] = v
		} else {
			delete(kv, lk)
		}
	}
	mr.setKept(m, id, n, attrSet(m, mapObject(kv)), marker)
}

// setKept sets the attributes the selectors read of a mirror element (an
// encoded set, see attrSet) and its marker bits.
func (mr *Mirror) setKept(m *Masker, id int32, n *mnode, set string, marker uint16) {
	n.attrs = mr.internSet(set)
	n.bits = mr.stickyPw(id, marker&markerBits|m.derivedBits(mr.tags[n.tag], setDerived(set)))
}

// resolveAdds orders the adds of a mutation as the replayer resolves them:
// an add waits for its parent when the parent is added later in the same
// list; adds whose parent is neither known nor added are left out. It
// returns the indexes of the adds to apply, in the order to apply them.
func (mr *Mirror) resolveAdds(adds []*jsonx.Object) []int {
	if len(adds) == 0 {
		return nil
	}
	type addRef struct {
		parent, id int32
		ok         bool // the add has a node with an id
	}
	refs := make([]addRef, len(adds))
	for i, it := range adds {
		parent, _ := intOf(it.Get("parentId"))
		node, _ := it.Get("node").(*jsonx.Object)
		id, ok := intOf(node.Get("id"))
		refs[i] = addRef{parent, id, ok}
	}
	// Most mutations add a few nodes: their adds are searched in place,
	// those of larger ones through maps.
	const small = 32
	var pending map[int32]bool
	if len(adds) > small {
		pending = make(map[int32]bool, len(adds))
		for _, r := range refs {
			if r.ok {
				pending[r.id] = true
			}
		}
	}
	isPending := func(id int32) bool {
		if pending != nil {
			return pending[id]
		}
		for _, r := range refs {
			if r.ok && r.id == id {
				return true
			}
		}
		return false
	}
	var out, queue []int
	waiting := map[int32][]int{} // parent id -> adds waiting for it, when not small
	var waits []bool             // the adds waiting for their parent, when small
	if pending == nil {
		waits = make([]bool, len(adds))
	}
	for i, r := range refs {
		if !r.ok {
			continue
		}
		switch {
		case isPending(r.parent): // wait for the parent, even when it moves
			if waits != nil {
				waits[i] = true
			} else {
				waiting[r.parent] = append(waiting[r.parent], i)
			}
		case mr.get(r.parent) != nil:
			queue = append(queue, i)
		}
	}
	for len(queue) > 0 {
		i := queue[0]
		queue = queue[1:]
		out = append(out, i)
		id := refs[i].id
		if waits != nil {
			for j, w := range waits {
				if w && refs[j].parent == id {
					queue = append(queue, j)
					waits[j] = false
				}
			}
			continue
		}
		queue = append(queue, waiting[id]...)
		delete(waiting, id)
	}
	return out
}

// decodeTree decodes an event's data object, keeping numbers exact, into
// the values jsonx.Decode makes of it.
func decodeTree(data []byte) (*jsonx.Object, error) {
	v, err := jsonx.Decode(data)
	if err != nil {
		return nil, err
	}
	d, ok := v.(*jsonx.Object)
	if !ok && v != nil {
		return nil, fmt.Errorf("want an object, got %T", v)
	}
	return d, nil
}

// jsonArray returns v if it is an array.
func jsonArray(v any) []any {
	a, _ := v.([]any)
	return a
}

// listOf returns the elements of an array that are objects.
func listOf(v any) []*jsonx.Object {
	a, _ := v.([]any)
	out := make([]*jsonx.Object, 0, len(a))
	for _, e := range a {
		if m, ok := e.(*jsonx.Object); ok {
			out = append(out, m)
		}
	}
	return out
}

// intOf reads a JSON number as a node id or enum value.
func intOf(v any) (int32, bool) {
	n, ok := v.(jsonNumber)
	if !ok {
		return 0, false
	}
	if digits := strings.TrimPrefix(string(n), "-"); len(digits) > 0 && len(digits) <= 9 {
		i, ok := int32(0), true
		for j := 0; j < len(digits) && ok; j++ {
			c := digits[j]
			ok = c >= '0' && c <= '9'
			i = i*10 + int32(c-'0')
		}
		if ok {
			if len(digits) < len(n) {
				i = -i
			}
			return i, true
		}
	}
	i, err := strconv.ParseInt(string(n), 10, 32)
	if err != nil {
		f, err := strconv.ParseFloat(string(n), 64)
		if err != nil || f != float64(int32(f)) {
			return 0, false
		}
		return int32(f), true
	}
	return int32(i), true
}
