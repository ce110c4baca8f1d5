package privacy

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/net/html"

	"github.com/sessionreplay/replay/internal/jsonx"
)

type jsonNumber = json.Number

// pass masks the events of one batch with one window's mirror.
type pass struct {
	m      *Masker
	mr     *Mirror
	budget int    // elements reeval may still visit in this batch
	force  uint16 // bits the next element visited gets whatever it matches
	// touched holds the parents a mutation added children to or removed
	// children from, when the policy has sibling-sensitive selectors:
	// their other children are re-matched once the adds are done.
	touched []int32
	// closed is bUnsure when the mirror missed a batch before this one (a
	// gap, or a batch that arrived out of order) and so may be stale: the
	// batch then fails closed until its first FullSnapshot, which rebuilds
	// the mirror from the whole page. Every element it serializes or
	// changes meanwhile is marked unsure (so mirrors rebuilt later mask
	// below it too), and every text, text change, Input value and
	// text-carrying attribute is masked as if the policy selected
	// everything. Structure is kept.
	closed uint16
	// drop is set by the masking of an event that is to be dropped whole.
	drop bool
	// unsureParents are the parents of opaque elements a mutation added,
	// when the policy has sibling-sensitive selectors: they are marked
	// unsure (see visit).
	unsureParents []int32
	// hslab is where the elements of trees built for matching are cut
	// from; setBuf holds the attribute set of the element being visited.
	hslab     []html.Node
	hslabSize int
	lone      html.Node          // see loneElement
	attrCache [][]html.Attribute // see setAttrs
	kvBuf     []attrKV           // see changeAttrs
	setBuf    []byte
}

// KeptEventKey reports whether a top-level event key besides type, data and
// timestamp is stored with value v. Those kept are rrweb's delay (a number)
// and the packer's mark "v" (the string "v1"). Any other key is dropped:
// the masker does not know what it holds.
func KeptEventKey(k string, v []byte) bool {
	switch k {
	case "delay":
		_, err := strconv.ParseFloat(string(v), 64)
		return err == nil && jsonx.ValidNumber(string(v))
	case "v":
		return string(v) == `"`+PackMark+`"`
	}
	return false
}

// modelledSources are the incremental sources whose data the masker knows:
// those it masks (mutation, input, console, canvas) and those that carry no
// value of the page (pointer and scroll positions, node ids, sizes, media
// state, CSS, fonts, selections, custom element names).
const modelledSources = 17 // rrweb 2.x: 0 (Mutation) to 16 (CustomElement)

// event masks one event in place and reports whether it is to be dropped.
// Events of kinds that carry no value (mouse, scroll, style rules, ...) are
// left as they are; the data of event types, incremental sources and
// plugins the masker does not model goes through pass.unmodelled.
func (p *pass) event(e *Event) (drop bool, err error) {
	for k, v := range e.Extra {
		if !KeptEventKey(k, v) {
			delete(e.Extra, k)
		}
	}
	var fn func(p *pass, d *jsonx.Object) bool // a method expression: no closure to allocate
	switch e.Type {
	case fullSnapshot:
		fn = (*pass).snapshot
	case incrementalSnapshot:
		var src int32
		var ok bool
		if e.Tree != nil {
			src, ok = treeSource(e.Tree)
		} else {
			src, ok = peekSource(e.Data)
		}
		switch {
		case !ok || src < 0 || src >= modelledSources:
			fn = (*pass).unmodelledData
		case src == 0:
			fn = (*pass).mutation
		case src == 5:
			fn = (*pass).input
		case src == 9:
			fn = (*pass).canvas
		case src == 11: // legacy console log
			fn = (*pass).console
		default:
			return false, nil
		}
	case metaEvent:
		fn = (*pass).meta
	case customEvent:
		fn = (*pass).custom
	case pluginEvent:
		fn = (*pass).plugin
	default:
		fn = (*pass).unmodelledData
	}
	d := e.Tree
	if d == nil {
		if len(e.Data) == 0 {
			return false, nil
		}
		if d, err = decodeTree(e.Data); err != nil {
			return false, err
		}
	}
	p.drop = false
	if d == nil || !fn(p, d) { // null: nothing to mask
		return p.drop, nil
	}
	if e.Tree != nil {
		return p.drop, nil // the caller writes the event from the tree
	}
	out, err := jsonx.Append(make([]byte, 0, len(e.Data)+len(e.Data)/8), d)
	if err != nil {
		return false, err
	}
	e.Data = out
	return p.drop, nil
}

func (p *pass) snapshot(d *jsonx.Object) bool {
	node, ok := d.Get("node").(*jsonx.Object)
	if !ok {
		return false
	}
	p.mr.reset()
	clear(p.attrCache) // the sets are the mirror's
	// The mirror is rebuilt from the whole page: whatever a missed batch
	// changed before, it is complete again from here on.
	p.closed = 0
	var h *html.Node
	if p.m.structural {
		h = p.buildHTML(node, 0)
	}
	p.visit(node, 0, 0, p.rootCtx(), h, 0)
	return true
}

// rootCtx is the context of a document's top: unsure when failing closed,
// so that text outside any element is masked too.
func (p *pass) rootCtx() ctx {
	c := rootCtx
	c.unsure = p.closed != 0
	return c
}

// nodeView holds the members of a serialized node that masking reads, read
// in one pass over its members. Of a key given more than once the first
// value counts, as with jsonx.Object.Get.
type nodeView struct {
	id, typ     int32 // typ is 0 when absent or not an integer, as intOf gives
	idOK        bool
	hasChildren bool // the node has a "childNodes" member, whatever its value
	tagName     any
	attributes  any
	childNodes  any
	textContent any
	isStyle     any
}

// Members of a serialized node that nodeView reads.
const (
	nvID = 1 << iota
	nvType
	nvTagName
	nvAttributes
	nvChildNodes
	nvTextContent
	nvIsStyle
)

// readNode reads the members of a serialized node that masking reads.
func readNode(node *jsonx.Object) nodeView {
	var v nodeView
	var seen uint8
	for i := range node.Members {
		mb := &node.Members[i]
		var bit uint8
		switch mb.Key {
		case "id":
			bit = nvID
		case "type":
			bit = nvType
		case "tagName":
			bit = nvTagName
		case "attributes":
			bit = nvAttributes
		case "childNodes":
			bit = nvChildNodes
		case "textContent":
			bit = nvTextContent
		case "isStyle":
			bit = nvIsStyle
		default:
			continue
		}
		if seen&bit != 0 {
			continue
		}
		seen |= bit
		switch bit {
		case nvID:
			v.id, v.idOK = intOf(mb.Value)
		case nvType:
			v.typ, _ = intOf(mb.Value)
		case nvTagName:
			v.tagName = mb.Value
		case nvAttributes:
			v.attributes = mb.Value
		case nvChildNodes:
			v.childNodes, v.hasChildren = mb.Value, true
		case nvTextContent:
			v.textContent = mb.Value
		case nvIsStyle:
			v.isStyle = mb.Value
		}
	}
	return v
}

// tag is the node's tag name, lower-cased.
func (v *nodeView) tag() string {
	tag, _ := v.tagName.(string)
	return lower(tag)
}

// attrs is the node's attributes object, or nil.
func (v *nodeView) attrs() *jsonx.Object {
	a, _ := v.attributes.(*jsonx.Object)
	return a
}

// children is the node's children; those that are not objects are to be
// skipped.
func (v *nodeView) children() []any {
	return jsonArray(v.childNodes)
}

// lower is strings.ToLower without its cost on names that are lower case
// already, as tag and attribute names mostly are.
func lower(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' || c >= 0x80 {
			return strings.ToLower(s)
		}
	}
	return s
}

// buildHTML builds the html tree of a serialized node's elements, for
// matching selectors on the values the browser sent. A document inside
// (an iframe's) starts a tree of its own.
func (p *pass) buildHTML(node *jsonx.Object, depth int) *html.Node {
	v := readNode(node)
	return p.buildHTMLView(v, depth)
}

// buildHTMLView is buildHTML of a node already read.
func (p *pass) buildHTMLView(v nodeView, depth int) *html.Node {
	var h *html.Node
	switch v.typ {
	case 0:
		h = &html.Node{Type: html.DocumentNode}
	case 2:
		h = p.rawElement(&v)
	default:
		return nil
	}
	if depth > maxMirrorDepth {
		return h
	}
	for _, e := range v.children() {
		child, ok := e.(*jsonx.Object)
		if !ok {
			continue
		}
		if cv := readNode(child); cv.typ == 2 {
			h.AppendChild(p.buildHTMLView(cv, depth+1))
		}
	}
	return h
}

// rawElement builds the html element of a serialized element as the
// browser sent it, with the attributes the mirror keeps.
func (p *pass) rawElement(v *nodeView) *html.Node {
	return p.appendAttrs(p.newElement(v.tag()), v.attrs())
}

// loneElement is rawElement for matching an element alone with selectors
// that read nothing but it (see Masker.structural): the node is the pass's
// one scratch node, good until the next call.
func (p *pass) loneElement(v *nodeView) *html.Node {
	h := &p.lone
	*h = html.Node{Type: html.ElementNode, Data: v.tag(), Attr: h.Attr[:0]}
	return p.appendAttrs(h, v.attrs())
}

// appendAttrs appends to h the attributes of attrs the mirror keeps.
func (p *pass) appendAttrs(h *html.Node, attrs *jsonx.Object) *html.Node {
	for _, a := range attrs.Items() {
		k, v := a.Key, a.Value
		lk := lower(k)
		if !p.m.keeps(lk) {
			continue
		}
		if s, ok := attrString(v); ok {
			h.Attr = append(h.Attr, html.Attribute{Key: lk, Val: s})
		}
	}
	return h
}

// newElement returns a new html element node, cut from a slab the pass
// keeps: the nodes of a tree built for matching are many and small.
func (p *pass) newElement(tag string) *html.Node {
	if len(p.hslab) == 0 {
		// Mutations add a few elements, snapshots thousands: the slabs
		// grow with what the pass has used.
		p.hslabSize = min(max(2*p.hslabSize, 8), 512)
		p.hslab = make([]html.Node, p.hslabSize)
	}
	h := &p.hslab[0]
	p.hslab = p.hslab[1:]
	h.Type, h.Data = html.ElementNode, tag
	return h
}

// visit masks a serialized node and its children in place and records them
// in the mirror under parent, before the sibling before. c is the context
// of the parent; h is the node's counterpart in a tree built for matching
// (nil when the node is not an element or there is none). It reports
// whether the node is an element whose stored attributes differ from
// those the selectors read (see opaque).
func (p *pass) visit(node *jsonx.Object, parent, before int32, c ctx, h *html.Node, depth int) (opaque bool) {
	v := readNode(node)
	return p.visitView(node, &v, parent, before, c, h, depth)
}

// visitView is visit of a node already read into v.
func (p *pass) visitView(node *jsonx.Object, v *nodeView, parent, before int32, c ctx, h *html.Node, depth int) (opaque bool) {
	m, mr := p.m, p.mr
	id, idOK, typ := v.id, v.idOK, v.typ
	recordable := idOK && (parent == 0 || mr.get(parent) != nil)
	recorded := false
	switch typ {
	case 2:
		tag := v.tag()
		attrs := v.attrs()
		var sel uint16
		switch {
		case h == nil && !m.structural: // the selectors read the element alone
			h = p.loneElement(v)
		case h == nil: // not in a tree built for matching: match it alone
			h = p.rawElement(v)
			if m.ancestorSens || m.siblingSen {
				sel |= bUnsure
			}
		}
		sel |= m.selfBits(h)
		bits := sel | m.derivedBits(tag, rawDerived(attrs)) | p.force | p.closed
		p.force = 0
		if s, ok := v.textContent.(string); ok { // not rrweb's: elements carry none
			node.Set("textContent", maskTextValue(s))
		}
		if idOK && mr.pw[id] {
			bits |= bPw
		}
		cc := c.enter(bits)
		if p.opaque(tag, bits, cc, attrs) {
			opaque = true
			bits |= bUnsure
			cc = c.enter(bits)
		}
		var set []byte
		if recordable {
			p.setBuf = appendAttrSet(p.setBuf[:0], m, attrs) // before masking: what the selectors read
			set = p.setBuf
		}
		if attrs == nil && bits&markerBits != 0 {
			attrs = &jsonx.Object{}
			node.Set("attributes", attrs)
		}
		p.maskAttrs(tag, bits, cc, attrs, false)
		if mk := bits & markerBits; mk != 0 {
			attrs.Set(markerAttr, markerString(mk))
		}
		if recordable {
			recorded = mr.add(m, id, parent, before, 2, tag, set, bits&markerBits) != nil
		}
		if cc.block {
			if v.hasChildren {
				node.Set("childNodes", []any{})
			}
			return opaque
		}
		if !recorded {
			cc = ctx{} // its children cannot be found later: mask them now
		}
		if p.visitChildren(v.children(), id, cc, h, depth) && m.siblingSen && bits&bUnsure == 0 {
			// A child's siblings may match by what a mirror rebuilt from
			// the stored events cannot see: from now on, mask them all.
			bits |= bUnsure
			attrs.Set(markerAttr, markerString(bits&markerBits))
			if n := mr.get(id); recorded && n != nil {
				n.bits |= bUnsure
			}
		}
		if depth >= maxMirrorDepth {
			node.Set("childNodes", []any{})
		}
	case 3, 4, 5:
		if s, ok := v.textContent.(string); ok {
			if style, _ := v.isStyle.(bool); !style || !c.known || c.text && !c.raw {
				if u := m.maskText(c, s); u != s {
					node.Set("textContent", u)
				}
			}
		}
		if recordable {
			mr.add(m, id, parent, before, typ, "", nil, 0)
		}
	default: // documents, doctypes and what rrweb may add later
		if s, ok := v.textContent.(string); ok && typ != 1 {
			node.Set("textContent", maskTextValue(s))
		}
		if recordable {
			recorded = mr.add(m, id, parent, before, typ, "", nil, 0) != nil
		}
		if !recorded && typ != 1 {
			c = ctx{}
		}
		p.visitChildren(v.children(), id, c, h, depth)
	}
	return opaque
}

// opaque reports whether masking changes an attribute the policy's
// selectors read, on an element with bits in context c (which includes
// it). The store then holds a value the selectors did not see, so a mirror
// rebuilt from it could match differently: such an element is marked
// unsure, and everything below it is masked until the next full snapshot.
//
// A blocked element keeps only its placeholder attributes: it is opaque
// when it loses one the selectors read (it then stays blocked until the
// next full snapshot).
func (p *pass) opaque(tag string, bits uint16, c ctx, attrs *jsonx.Object) bool {
	for _, a := range attrs.Items() {
		lk := lower(a.Key)
		switch {
		case c.block:
			if bits&bBlock != 0 && p.m.read[lk] && !isPlaceholderAttr(lk) {
				return true
			}
			continue
		case isAlwaysKept(lk) || !p.m.read[lk]: // kept only when the selectors read it
			continue
		}
		s, ok := attrString(a.Value)
		if !ok {
			continue
		}
		if hidesState(tag, bits, c, lk) {
			return true
		}
		if v, keep := p.m.maskAttr(tag, bits, c, lk, s); !keep || v != s {
			return true
		}
	}
	return false
}

// visitChildren visits children, those of an element or a document
// with id, in context c (see visit). An element child is matched with its
// counterpart among the children of h, in order; a document child (an
// iframe's) with a tree built from it, when the selectors read trees (see
// Masker.structural). From depth maxMirrorDepth on no
// child is visited. It reports whether a child is opaque (see visit).
func (p *pass) visitChildren(children []any, id int32, c ctx, h *html.Node, depth int) (opaque bool) {
	var hc *html.Node
	if h != nil {
		hc = h.FirstChild
	}
	for _, e := range children {
		child, ok := e.(*jsonx.Object)
		if !ok {
			continue
		}
		cv := readNode(child)
		var ch *html.Node
		switch cv.typ {
		case 2:
			ch = hc
			if hc != nil {
				hc = hc.NextSibling
			}
		case 0:
			if p.m.structural {
				ch = p.buildHTMLView(cv, 0)
			}
		}
		if depth < maxMirrorDepth && p.visitView(child, &cv, id, 0, c, ch, depth+1) {
			opaque = true
		}
	}
	return opaque
}

// rawDerived reads the attributes derivedBits reads from a serialized
// element's attributes object, by their exact names, in one pass.
func rawDerived(attrs *jsonx.Object) derivedAttrs {
	var d derivedAttrs
	var seen uint8
	for i := range attrs.Items() {
		mb := &attrs.Members[i]
		bit := derivedKey(mb.Key)
		if bit == 0 || seen&bit != 0 {
			continue
		}
		seen |= bit
		s, ok := attrString(mb.Value)
		d.set(bit, s, ok)
	}
	return d
}

// maskAttrs masks the attributes of an element with bits in context c
// (which includes it), in place. change says attrs is an attribute change
// rather than a serialized node: a hidden checked or selected state is then
// set to null (removed) instead of left out.
func (p *pass) maskAttrs(tag string, bits uint16, c ctx, attrs *jsonx.Object, change bool) {
	attrs.Filter(func(k string, v any) (any, bool) {
		if hidesState(tag, bits, c, k) {
			return nil, change
		}
		switch t := v.(type) {
		case string:
			nv, keep := p.m.maskAttr(tag, bits, c, k, t)
			if !keep {
				return nil, false
			}
			if nv == t {
				return v, true // unchanged: not boxed again
			}
			return nv, true
		default:
			lk := lower(k)
			switch {
			case lk == markerAttr:
				return nil, false
			case c.block && (bits&bBlock == 0 || !isPlaceholderAttr(lk)):
				return nil, false
			case v != nil && !isRRWebAttr(lk): // a number where text belongs
				if s, ok := attrString(v); ok {
					if nv, _ := p.m.maskAttr(tag, bits, c, k, s); nv != s {
						return nv, true
					}
				}
			}
			return v, true
		}
	})
}

// maskUnknownAttrs masks an attribute change of a node the mirror does not
// know: every value that could carry text is masked.
func (p *pass) maskUnknownAttrs(attrs *jsonx.Object) {
	attrs.Filter(func(k string, v any) (any, bool) {
		s, ok := v.(string)
		lk := lower(k)
		switch {
		case lk == markerAttr:
			return nil, false
		case lk == "checked" || lk == "selected":
			return nil, true // the state of an input that may be masked: removed
		case !ok:
			if n, isNum := v.(jsonNumber); isNum {
				return maskInputValue(string(n)), true
			}
		case lk == "_csstext":
			return p.m.CSSText(s), true
		case lk == "srcdoc" || lk == "rr_dataurl":
			return nil, false
		case lk == "style" || isRRWebAttr(lk):
		case isURLAttr(lk) || lk == "srcset":
			return p.m.srcset(s), true
		case lk == "value":
			return maskInputValue(s), true
		case isAlwaysKept(lk):
		default:
			return maskTextValue(s), true
		}
		return v, true
	})
}

func (p *pass) mutation(d *jsonx.Object) bool {
	m, mr := p.m, p.mr
	p.touched = p.touched[:0]
	if m.siblingSen {
		for _, it := range listOf(d.Get("removes")) {
			if id, ok := intOf(it.Get("id")); ok {
				p.touch(id)
			}
		}
	}
	mr.removeAll(d)

	if raw, ok := d.Get("adds").([]any); ok && len(raw) > 0 {
		items := listOf(raw)
		kept := make([]bool, len(items))
		for _, i := range mr.resolveAdds(items) {
			kept[i] = p.add(items[i])
		}
		out := make([]any, 0, len(items))
		for i, it := range items {
			if kept[i] {
				out = append(out, it)
			}
		}
		d.Set("adds", out)
	}
	markers := p.reevalTouched()
	for _, parent := range p.unsureParents {
		if n := mr.get(parent); n != nil && n.kind == kindElement && n.bits&bUnsure == 0 {
			n.bits |= bUnsure
			markers = append(markers, markerChange(parent, n.bits&markerBits))
		}
	}
	p.unsureParents = p.unsureParents[:0]

	if raw, ok := d.Get("texts").([]any); ok {
		out := raw[:0]
		for _, it := range listOf(raw) {
			id, _ := intOf(it.Get("id"))
			v, isStr := it.Get("value").(string)
			n := mr.get(id)
			if n == nil || n.kind < kindText || p.closed != 0 {
				if isStr {
					it.Set("value", maskTextValue(v))
				}
				out = append(out, it)
				continue
			}
			c := mr.ctxOf(n.parent)
			if c.block {
				continue // inside a blocked element
			}
			if isStr {
				it.Set("value", m.maskText(c, v))
			}
			out = append(out, it)
		}
		d.Set("texts", out)
	}

	if raw, ok := d.Get("attributes").([]any); ok || len(markers) > 0 {
		// The re-matched siblings' markers come first: a change the page
		// made to the same element in this mutation writes its own.
		out := append(make([]any, 0, len(markers)+len(raw)), markers...)
		var extra []any
		for _, it := range listOf(raw) {
			id, _ := intOf(it.Get("id"))
			attrs, _ := it.Get("attributes").(*jsonx.Object)
			if attrs == nil {
				out = append(out, it)
				continue
			}
			n := mr.get(id)
			var c0 ctx
			if n != nil && n.kind == kindElement {
				c0 = mr.ctxOf(n.parent)
			}
			if !c0.known {
				p.maskUnknownAttrs(attrs)
				if p.closed != 0 {
					// The node may be one the missed batch added: a mirror
					// rebuilt once it arrives must not trust the old markers.
					attrs.Set(markerAttr, markerString(bUnsure))
				}
				out = append(out, it)
				continue
			}
			if c0.block {
				continue // inside a blocked element
			}
			extra = append(extra, p.changeAttrs(id, n, c0, attrs)...)
			out = append(out, it)
		}
		d.Set("attributes", append(out, extra...))
	}
	return true
}

// add masks one add of a mutation and records it. It reports whether the
// add stays: adds under a blocked or unknown parent are dropped.
func (p *pass) add(it *jsonx.Object) bool {
	m, mr := p.m, p.mr
	var parentV, nextV, nodeV any
	var seen uint8
	for i := range it.Members { // the first of each, as Get finds it
		switch mb := &it.Members[i]; {
		case mb.Key == "parentId" && seen&1 == 0:
			parentV, seen = mb.Value, seen|1
		case mb.Key == "nextId" && seen&2 == 0:
			nextV, seen = mb.Value, seen|2
		case mb.Key == "node" && seen&4 == 0:
			nodeV, seen = mb.Value, seen|4
		}
	}
	parent, _ := intOf(parentV)
	next, _ := intOf(nextV)
	node, _ := nodeV.(*jsonx.Object)
	if node == nil || mr.get(parent) == nil {
		return false
	}
	c := mr.ctxOf(parent)
	if !c.known || c.block {
		return false
	}
	c.unsure = c.unsure || p.closed != 0 // text added right under parent too
	v := readNode(node)
	id := v.id
	if !v.idOK {
		return false
	}
	if m.siblingSen {
		p.touch(id) // a move: its old siblings may match differently
		p.touched = append(p.touched, parent)
	}
	mr.remove(id) // a move: the node comes back with a new parent
	var h *html.Node
	switch {
	case !m.structural: // see Masker.structural
	case v.typ == 0:
		h = p.buildHTMLView(v, 0)
	case v.typ == 2:
		h = p.buildHTMLView(v, 0)
		if m.ancestorSens || m.siblingSen {
			hp, kids, partial := p.materialise(parent, m.siblingSen)
			if partial {
				p.force = bUnsure
			}
			if b := kids[next]; b != nil {
				hp.InsertBefore(h, b)
			} else {
				hp.AppendChild(h)
			}
		}
	}
	if p.visitView(node, &v, parent, next, c, h, 0) && m.siblingSen {
		p.unsureParents = append(p.unsureParents, parent)
	}
	p.force = 0
	return mr.get(id) != nil
}

// touch records the parent of node id, if the mirror knows it, as one whose
// children a mutation changes.
func (p *pass) touch(id int32) {
	if n := p.mr.get(id); n != nil && n.parent != 0 {
		p.touched = append(p.touched, n.parent)
	}
}

// reevalTouched re-matches the children of the parents a mutation added
// children to or removed children from (and their subtrees): with
// sibling-sensitive selectors (+, ~, :nth-child, :first-child, ...) the
// other children may start or stop matching. It returns the marker changes
// as attribute changes. Past the re-evaluation budget the parent is marked
// unsure, so everything below it is masked.
func (p *pass) reevalTouched() []any {
	if len(p.touched) == 0 {
		return nil
	}
	slices.Sort(p.touched)
	var extra []any
	for _, parent := range slices.Compact(p.touched) {
		if p.mr.get(parent) == nil {
			continue // removed later in the same mutation
		}
		for _, ch := range p.reeval(parent, false) {
			extra = append(extra, markerChange(ch.id, ch.bits))
		}
	}
	p.touched = p.touched[:0]
	return extra
}

// changeAttrs masks an attribute change of a known element in context c0
// (its parent's) and brings the mirror up to date. When the change makes
// the element or its descendants start or stop matching a selector, the
// new marker bits are written: into attrs for the element, as extra
// attribute changes (returned) for its descendants.
func (p *pass) changeAttrs(id int32, n *mnode, c0 ctx, attrs *jsonx.Object) []any {
	m, mr := p.m, p.mr
	tag := mr.tags[n.tag]
	// The element's kept attributes after the change, each name once.
	kv := p.kvBuf[:0]
	find := func(k string) int {
		for i := range kv {
			if kv[i].k == k {
				return i
			}
		}
		return -1
	}
	for rest := mr.sets[n.attrs]; rest != ""; {
		var k, v string
		k, rest, _ = strings.Cut(rest, "\x00")
		v, rest, _ = strings.Cut(rest, "\x00")
		if i := find(k); i >= 0 {
			kv[i].v = v
		} else {
			kv = append(kv, attrKV{k, v})
		}
	}
	relevant := false
	for _, a := range attrs.Items() {
		k, v := a.Key, a.Value
		lk := lower(k)
		if !m.keeps(lk) {
			continue
		}
		i := find(lk)
		s, ok := attrString(v)
		if ok != (i >= 0) || ok && s != kv[i].v {
			relevant = true
		}
		switch {
		case ok && i >= 0:
			kv[i].v = s
		case ok:
			kv = append(kv, attrKV{lk, s})
		case i >= 0:
			kv = slices.Delete(kv, i, i+1)
		}
	}
	p.kvBuf = kv
	set := kvSet(m, kv)
	sel := n.bits & (bBlock | bText | bUnmask | bUnsure)
	if relevant {
		var h *html.Node
		partial := false
		if m.ancestorSens || m.siblingSen {
			h, _, partial = p.materialise(id, m.siblingSen)
		} else {
			h = &html.Node{Type: html.ElementNode, Data: tag}
		}
		h.Attr = setAttrs(set)
		sel = m.selfBits(h)
		if partial {
			sel |= bUnsure
		}
		sel |= n.bits & bUnsure // once unsure, masked until the next snapshot
		if n.bits&bUnsure != 0 {
			sel |= n.bits & bBlock // see refresh
		}
	}
	bits := sel | m.derivedBits(tag, lookupDerived(func(k string) (string, bool) {
		if i := find(k); i >= 0 {
			return kv[i].v, true
		}
		return "", false
	})) | n.bits&bPw | p.closed
	cc := c0.enter(bits)
	opaque := p.opaque(tag, bits, cc, attrs)
	if opaque {
		bits |= bUnsure
		cc = c0.enter(bits)
	}
	p.maskAttrs(tag, bits, cc, attrs, true)
	oldMarker, newMarker := n.bits&markerBits, bits&markerBits
	if newMarker != oldMarker || p.closed != 0 {
		attrs.Set(markerAttr, markerValue(newMarker))
	}
	mr.setKept(m, id, n, set, newMarker)
	var extra []any
	if p.closed != 0 || opaque {
		// The element's subtree is unsure now; its siblings may match a
		// sibling selector differently, so its parent's subtree is too.
		if pn := mr.get(n.parent); m.siblingSen && pn != nil && pn.kind == kindElement {
			pn.bits |= bUnsure
			extra = append(extra, markerChange(n.parent, pn.bits&markerBits))
		}
		if p.closed != 0 {
			return extra
		}
	}
	if !relevant || !(m.ancestorSens || m.siblingSen) {
		return extra
	}
	root := id
	if m.siblingSen && n.parent != 0 {
		root = n.parent
	}
	for _, ch := range p.reeval(root, false) {
		if ch.id == id {
			attrs.Set(markerAttr, markerValue(ch.bits))
			continue
		}
		extra = append(extra, markerChange(ch.id, ch.bits))
	}
	return extra
}

// markerChange is an attribute change that sets the marker of element id.
func markerChange(id int32, bits uint16) *jsonx.Object {
	return &jsonx.Object{Members: []jsonx.Member{
		{Key: "id", Value: jsonNumber(strconv.Itoa(int(id)))},
		{Key: "attributes", Value: &jsonx.Object{Members: []jsonx.Member{{Key: markerAttr, Value: markerValue(bits)}}}},
	}}
}

func markerValue(bits uint16) any {
	if bits == 0 {
		return nil
	}
	return markerString(bits)
}

// input masks an Input event: the text, and the checked state of a masked
// checkbox or radio (isChecked becomes false).
func (p *pass) input(d *jsonx.Object) bool {
	id, _ := intOf(d.Get("id"))
	masked := true
	if n := p.mr.get(id); n != nil && n.kind == kindElement && p.closed == 0 {
		masked = inputMasked(n.bits, p.mr.ctxOf(id))
	}
	changed := false
	if _, ok := d.Lookup("isChecked"); ok && masked {
		d.Set("isChecked", false)
		changed = true
	}
	var text string
	switch t := d.Get("text").(type) {
	case string:
		text = t
	case nil:
		return changed
	default: // not rrweb's: mask whatever it is
		b, _ := jsonx.Marshal(t)
		d.Set("text", maskInputValue(string(b)))
		return true
	}
	if masked {
		d.Set("text", maskInputValue(text))
	} else {
		d.Set("text", p.m.scrub.text(text))
	}
	return true
}

func (p *pass) meta(d *jsonx.Object) bool {
	href, ok := d.Get("href").(string)
	if !ok {
		return false
	}
	u := p.m.scrub.url(href)
	d.Set("href", u)
	return u != href
}

// custom scrubs a custom event's payload: $pageview URLs, $error messages
// and stacks, and whatever else the page sent.
func (p *pass) custom(d *jsonx.Object) bool {
	payload, ok := d.Lookup("payload")
	if !ok {
		return false
	}
	if pm, ok := payload.(*jsonx.Object); ok {
		if href, ok := pm.Get("href").(string); ok {
			pm.Set("href", p.m.scrub.url(href))
		}
	}
	u, _ := p.m.scrub.walk(payload)
	d.Set("payload", u)
	return true
}

func (p *pass) plugin(d *jsonx.Object) bool {
	if name, _ := d.Get("plugin").(string); name == "rrweb/console@1" {
		pl, ok := d.Get("payload").(*jsonx.Object)
		if !ok {
			return false
		}
		return p.console(pl)
	}
	return p.unmodelledData(d)
}

// canvas masks a canvas mutation: dropped when the canvas is one whose
// content the policy hides (or one the mirror does not know), else its
// string arguments (fillText's text, image URLs, ...) go through the scrub
// detectors.
func (p *pass) canvas(d *jsonx.Object) bool {
	id, _ := intOf(d.Get("id"))
	if n := p.mr.get(id); n == nil || p.hides(id) {
		p.drop = true
		return false
	}
	changed := false
	for i := range d.Members {
		switch d.Members[i].Key {
		case "source", "id", "type":
			continue
		}
		if u, c := p.m.scrub.walk(d.Members[i].Value); c {
			d.Members[i].Value, changed = u, true
			d.Touch()
		}
	}
	return changed
}

// unmodelledData masks the data of an event the masker does not model (an
// unknown event type or incremental source, a plugin other than the
// console's, an Asset event): see unmodelled. When the data itself names a
// hidden node the event is dropped.
func (p *pass) unmodelledData(d *jsonx.Object) bool {
	if _, drop := p.unmodelled(d, 0); drop {
		p.drop = true
		return false
	}
	return true
}

// unmodelled masks a value the masker does not model, in place: every
// string (object keys included) and number goes through the scrub
// detectors, and an object that names a node whose content the policy
// hides (see hides) by a key "id", "…Id", "ids" or "…Ids" is dropped from
// its parent. It reports whether v itself is to be dropped.
func (p *pass) unmodelled(v any, depth int) (any, bool) {
	switch t := v.(type) {
	case *jsonx.Object:
		if depth > maxMirrorDepth {
			return nil, true
		}
		for _, mb := range t.Members {
			if p.namesHidden(mb.Key, mb.Value) {
				return nil, true
			}
		}
		w := 0
		for _, mb := range t.Members {
			u, drop := p.unmodelled(mb.Value, depth+1)
			if drop {
				continue
			}
			t.Members[w] = jsonx.Member{Key: p.m.scrub.text(mb.Key), Value: u}
			w++
		}
		clear(t.Members[w:])
		t.Members = jsonx.UniqueMembers(t.Members[:w])
		t.Touch() // keys and values written in place
		return t, false
	case []any:
		if depth > maxMirrorDepth {
			return nil, true
		}
		w := 0
		for _, e := range t {
			if u, drop := p.unmodelled(e, depth+1); !drop {
				t[w] = u
				w++
			}
		}
		clear(t[w:])
		return t[:w], false
	}
	u, _ := p.m.scrub.walk(v)
	return u, false
}

// namesHidden reports whether an object member k: v names a node whose
// content the policy hides.
func (p *pass) namesHidden(k string, v any) bool {
	switch {
	case k == "id" || strings.HasSuffix(k, "Id"):
		id, ok := intOf(v)
		return ok && p.hides(id)
	case k == "ids" || strings.HasSuffix(k, "Ids"):
		for _, e := range jsonArray(v) {
			if id, ok := intOf(e); ok && p.hides(id) {
				return true
			}
		}
	}
	return false
}

// hides reports whether node id is one whose content the policy hides: it
// is in a blocked, text-masked or unsure subtree, in or at an input whose
// value is masked, or the batch fails closed. Ids the mirror does not
// know are not node ids as far as the mirror can tell: false.
func (p *pass) hides(id int32) bool {
	n := p.mr.get(id)
	if n == nil {
		return false
	}
	if p.closed != 0 {
		return true
	}
	c := p.mr.ctxOf(id)
	switch {
	case hidesContent(c), c.field && c.fieldMasked, c.choiceMasked:
		return true
	case n.kind == kindElement:
		return inputMasked(n.bits, c)
	}
	return false
}

// console scrubs a console record: each argument is a JSON-encoded string
// and stays one; trace frames are text.
func (p *pass) console(pl *jsonx.Object) bool {
	changed := false
	for i := range pl.Members {
		k, v := pl.Members[i].Key, pl.Members[i].Value
		switch k {
		case "payload":
			args, _ := v.([]any)
			for i, a := range args {
				if s, ok := a.(string); ok {
					if u := p.m.scrub.jsonString(s); u != s {
						args[i], changed = u, true
					}
				} else if u, c := p.m.scrub.walk(a); c {
					args[i], changed = u, true
				}
			}
		case "level":
		default:
			if u, c := p.m.scrub.walk(v); c {
				pl.Members[i].Value, changed = u, true
			}
		}
	}
	if changed {
		pl.Touch() // members and arguments written in place
	}
	return changed
}

// treeSource reads the source of an IncrementalSnapshot's decoded data as
// peekSource reads it from the text: an integer, or a string holding one.
// Anything else (a key given twice whose last value is null included)
// fails, so that the data is masked as a source the masker does not know.
func treeSource(d *jsonx.Object) (int32, bool) {
	var s string
	switch v := d.Get("source").(type) {
	case jsonNumber:
		s = string(v)
	case string:
		if !jsonx.ValidNumber(v) {
			return 0, false
		}
		s = v
	default:
		return 0, false
	}
	if len(s) == 1 {
		return int32(s[0] - '0'), true
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f != float64(int32(f)) {
		return 0, false
	}
	return int32(f), true
}

// peekSource reads the source of an IncrementalSnapshot's data: the last
// top-level "source" key, matched exactly as JSON.parse does, holding an
// integer (or a string holding one, which is masked as that source too).
// Other values make it fail, as they made encoding/json fail.
func peekSource(data []byte) (int32, bool) {
	p := jsonx.NewParser(data)
	var src float64
	found := false
	for n := 0; ; n++ {
		key, more, err := p.Member(n)
		if err != nil {
			return 0, false
		}
		if !more {
			break
		}
		if key != "source" {
			if err := p.Skip(); err != nil {
				return 0, false
			}
			continue
		}
		switch p.Kind() {
		case "number":
			f, err := p.Number()
			if err != nil {
				return 0, false
			}
			src, found = f, true
		case "string":
			s, err := p.Str()
			if err != nil || !jsonx.ValidNumber(s) {
				return 0, false
			}
			f, err := strconv.ParseFloat(s, 64)
			if err != nil {
				return 0, false
			}
			src, found = f, true
		case "null": // leaves an earlier value, as encoding/json does
			if err := p.Skip(); err != nil {
				return 0, false
			}
		default:
			return 0, false
		}
	}
	if p.End() != nil || !found || src != float64(int32(src)) {
		return 0, false
	}
	return int32(src), true
}
