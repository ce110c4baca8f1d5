package replay

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"golang.org/x/net/html"

	"github.com/sessionreplay/replay/storage"
)

type jsonNumber = json.Number

// mask applies the site's policy to a batch in place, before anything of it
// is kept. It uses the window's mirror (cached, or rebuilt from the stored
// chunks) and leaves it up to date for the next batch.
func (r *Recorder) mask(ctx context.Context, m *masker, key storage.Key, b *Batch) error {
	ws, err := r.windowMirror(ctx, m, key, b.Window, b.Seq)
	if err != nil {
		return err
	}
	p := &pass{m: m, mr: ws.mr, budget: reevalBudget}
	for i := range b.Events {
		if err := p.event(&b.Events[i]); err != nil {
			return &ValidationError{Path: fmt.Sprintf("events[%d].data", i), Msg: err.Error()}
		}
	}
	ws.next = b.Seq + 1
	r.mirrors.put(ws)
	return nil
}

// pass masks the events of one batch with one window's mirror.
type pass struct {
	m      *masker
	mr     *mirror
	budget int    // elements reeval may still visit in this batch
	force  uint16 // bits the next element visited gets whatever it matches
}

// event masks one event in place. Events of kinds that carry no value
// (mouse, scroll, style rules, canvas, ...) are left as they are.
func (p *pass) event(e *Event) error {
	var fn func(d map[string]any) bool
	switch e.Type {
	case FullSnapshot:
		fn = p.snapshot
	case IncrementalSnapshot:
		src, ok := peekSource(e.Data)
		if !ok {
			return nil
		}
		switch src {
		case 0:
			fn = p.mutation
		case 5:
			fn = p.input
		case 11: // legacy console log
			fn = p.console
		default:
			return nil
		}
	case Meta:
		fn = p.meta
	case Custom:
		fn = p.custom
	case Plugin:
		fn = p.plugin
	default:
		return nil
	}
	if len(e.Data) == 0 {
		return nil
	}
	d, err := decodeTree(e.Data)
	if err != nil {
		return err
	}
	if !fn(d) {
		return nil
	}
	out, err := marshalJSON(d)
	if err != nil {
		return err
	}
	e.Data = out
	return nil
}

func (p *pass) snapshot(d map[string]any) bool {
	node, ok := d["node"].(map[string]any)
	if !ok {
		return false
	}
	p.mr.reset()
	p.visit(node, 0, 0, rootCtx, p.buildHTML(node, 0), 0)
	return true
}

// buildHTML builds the html tree of a serialized node's elements, for
// matching selectors on the values the browser sent. A document inside
// (an iframe's) starts a tree of its own.
func (p *pass) buildHTML(node map[string]any, depth int) *html.Node {
	typ, _ := intOf(node["type"])
	var h *html.Node
	switch typ {
	case 0:
		h = &html.Node{Type: html.DocumentNode}
	case 2:
		h = p.rawElement(node)
	default:
		return nil
	}
	if depth > maxMirrorDepth {
		return h
	}
	for _, child := range childList(node) {
		if t, _ := intOf(child["type"]); t == 2 {
			h.AppendChild(p.buildHTML(child, depth+1))
		}
	}
	return h
}

func (p *pass) rawElement(node map[string]any) *html.Node {
	tag, _ := node["tagName"].(string)
	h := &html.Node{Type: html.ElementNode, Data: strings.ToLower(tag)}
	attrs, _ := node["attributes"].(map[string]any)
	for k, v := range attrs {
		lk := strings.ToLower(k)
		if !p.m.keep[lk] {
			continue
		}
		if s, ok := attrString(v); ok {
			h.Attr = append(h.Attr, html.Attribute{Key: lk, Val: s})
		}
	}
	return h
}

func childList(node map[string]any) []map[string]any {
	a, _ := node["childNodes"].([]any)
	if len(a) == 0 {
		return nil
	}
	return listOf(a)
}

// visit masks a serialized node and its children in place and records them
// in the mirror under parent, before the sibling before. c is the context
// of the parent; h is the node's counterpart in a tree built for matching
// (nil when the node is not an element or there is none).
func (p *pass) visit(node map[string]any, parent, before int32, c ctx, h *html.Node, depth int) {
	m, mr := p.m, p.mr
	id, idOK := intOf(node["id"])
	typ, _ := intOf(node["type"])
	recorded := false
	record := func(marker uint16) {
		if idOK && (parent == 0 || mr.get(parent) != nil) {
			recorded = mr.add(m, id, parent, before, node, marker) != nil
		}
	}
	switch typ {
	case 2:
		tag, _ := node["tagName"].(string)
		tag = strings.ToLower(tag)
		attrs, _ := node["attributes"].(map[string]any)
		var sel uint16
		if h == nil { // not in a tree built for matching: match it alone
			h = p.rawElement(node)
			if m.ancestorSens || m.siblingSen {
				sel |= bUnsure
			}
		}
		sel |= m.selfBits(h)
		bits := sel | m.derivedBits(tag, rawLookup(attrs)) | p.force
		p.force = 0
		if s, ok := node["textContent"].(string); ok { // not rrweb's: elements carry none
			node["textContent"] = maskTextValue(s)
		}
		if idOK && mr.pw[id] {
			bits |= bPw
		}
		cc := c.enter(bits)
		if attrs == nil && bits&markerBits != 0 {
			attrs = map[string]any{}
			node["attributes"] = attrs
		}
		p.maskAttrs(tag, bits, cc, attrs)
		if mk := bits & markerBits; mk != 0 {
			attrs[markerAttr] = markerString(mk)
		}
		record(bits & markerBits)
		if cc.block {
			if _, ok := node["childNodes"]; ok {
				node["childNodes"] = []any{}
			}
			return
		}
		if !recorded {
			cc = ctx{} // its children cannot be found later: mask them now
		}
		var hc *html.Node
		if h != nil {
			hc = h.FirstChild
		}
		for _, child := range childList(node) {
			var ch *html.Node
			switch t, _ := intOf(child["type"]); t {
			case 2:
				ch = hc
				if hc != nil {
					hc = hc.NextSibling
				}
			case 0:
				ch = p.buildHTML(child, 0)
			}
			if depth < maxMirrorDepth {
				p.visit(child, id, 0, cc, ch, depth+1)
			}
		}
		if depth >= maxMirrorDepth {
			node["childNodes"] = []any{}
		}
	case 3, 4, 5:
		if s, ok := node["textContent"].(string); ok {
			if style, _ := node["isStyle"].(bool); !style || !c.known || c.text && !c.raw {
				if u := m.maskText(c, s); u != s {
					node["textContent"] = u
				}
			}
		}
		record(0)
	default: // documents, doctypes and what rrweb may add later
		if s, ok := node["textContent"].(string); ok && typ != 1 {
			node["textContent"] = maskTextValue(s)
		}
		record(0)
		if !recorded && typ != 1 {
			c = ctx{}
		}
		var hc *html.Node
		if h != nil {
			hc = h.FirstChild
		}
		for _, child := range childList(node) {
			var ch *html.Node
			switch t, _ := intOf(child["type"]); t {
			case 2:
				ch = hc
				if hc != nil {
					hc = hc.NextSibling
				}
			case 0:
				ch = p.buildHTML(child, 0)
			}
			if depth < maxMirrorDepth {
				p.visit(child, id, 0, c, ch, depth+1)
			}
		}
	}
}

func rawLookup(attrs map[string]any) attrLookup {
	return func(k string) (string, bool) {
		return attrString(attrs[k])
	}
}

// maskAttrs masks the attributes of an element with bits in context c
// (which includes it), in place.
func (p *pass) maskAttrs(tag string, bits uint16, c ctx, attrs map[string]any) {
	for k, v := range attrs {
		switch t := v.(type) {
		case string:
			nv, keep := p.m.maskAttr(tag, bits, c, k, t)
			switch {
			case !keep:
				delete(attrs, k)
			case nv != t:
				attrs[k] = nv
			}
		default:
			lk := strings.ToLower(k)
			switch {
			case lk == markerAttr:
				delete(attrs, k)
			case c.block && (bits&bBlock == 0 || !placeholderAttrs[lk]):
				delete(attrs, k)
			case lk == "selected" && c.field && c.fieldMasked:
				delete(attrs, k)
			case v != nil && !strings.HasPrefix(lk, "rr_"): // a number where text belongs
				if s, ok := attrString(v); ok {
					if nv, _ := p.m.maskAttr(tag, bits, c, k, s); nv != s {
						attrs[k] = nv
					}
				}
			}
		}
	}
}

// maskUnknownAttrs masks an attribute change of a node the mirror does not
// know: every value that could carry text is masked.
func (p *pass) maskUnknownAttrs(attrs map[string]any) {
	for k, v := range attrs {
		s, ok := v.(string)
		lk := strings.ToLower(k)
		switch {
		case lk == markerAttr:
			delete(attrs, k)
		case !ok:
			if n, isNum := v.(jsonNumber); isNum {
				attrs[k] = maskInputValue(string(n))
			}
		case lk == "_csstext":
			attrs[k] = minifyCSSText(s)
		case lk == "style" || strings.HasPrefix(lk, "rr_") && lk != "rr_src":
		case lk == "srcdoc":
			delete(attrs, k)
		case urlAttrs[lk] || lk == "srcset":
			attrs[k] = p.m.srcset(s)
		case lk == "value":
			attrs[k] = maskInputValue(s)
		case p.m.keep[lk]:
		default:
			attrs[k] = maskTextValue(s)
		}
	}
}

func (p *pass) mutation(d map[string]any) bool {
	m, mr := p.m, p.mr
	for _, it := range listOf(d["removes"]) {
		if id, ok := intOf(it["id"]); ok {
			mr.remove(id)
		}
	}

	if raw, ok := d["adds"].([]any); ok && len(raw) > 0 {
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
		d["adds"] = out
	}

	if raw, ok := d["texts"].([]any); ok {
		out := raw[:0]
		for _, it := range listOf(raw) {
			id, _ := intOf(it["id"])
			v, isStr := it["value"].(string)
			n := mr.get(id)
			if n == nil || n.kind < kindText {
				if isStr {
					it["value"] = maskTextValue(v)
				}
				out = append(out, it)
				continue
			}
			c := mr.ctxOf(n.parent)
			if c.block {
				continue // inside a blocked element
			}
			if isStr {
				it["value"] = m.maskText(c, v)
			}
			out = append(out, it)
		}
		d["texts"] = out
	}

	if raw, ok := d["attributes"].([]any); ok {
		out := make([]any, 0, len(raw))
		var extra []any
		for _, it := range listOf(raw) {
			id, _ := intOf(it["id"])
			attrs, _ := it["attributes"].(map[string]any)
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
				out = append(out, it)
				continue
			}
			if c0.block {
				continue // inside a blocked element
			}
			extra = append(extra, p.changeAttrs(id, n, c0, attrs)...)
			out = append(out, it)
		}
		d["attributes"] = append(out, extra...)
	}
	return true
}

// add masks one add of a mutation and records it. It reports whether the
// add stays: adds under a blocked or unknown parent are dropped.
func (p *pass) add(it map[string]any) bool {
	m, mr := p.m, p.mr
	parent, _ := intOf(it["parentId"])
	next, _ := intOf(it["nextId"])
	node, _ := it["node"].(map[string]any)
	if node == nil || mr.get(parent) == nil {
		return false
	}
	c := mr.ctxOf(parent)
	if !c.known || c.block {
		return false
	}
	id, ok := intOf(node["id"])
	if !ok {
		return false
	}
	mr.remove(id) // a move: the node comes back with a new parent
	var h *html.Node
	switch t, _ := intOf(node["type"]); t {
	case 0:
		h = p.buildHTML(node, 0)
	case 2:
		h = p.buildHTML(node, 0)
		if m.ancestorSens || m.siblingSen {
			hp, kids, partial := mr.materialise(parent, m.siblingSen)
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
	p.visit(node, parent, next, c, h, 0)
	p.force = 0
	return mr.get(id) != nil
}

// changeAttrs masks an attribute change of a known element in context c0
// (its parent's) and brings the mirror up to date. When the change makes
// the element or its descendants start or stop matching a selector, the
// new marker bits are written: into attrs for the element, as extra
// attribute changes (returned) for its descendants.
func (p *pass) changeAttrs(id int32, n *mnode, c0 ctx, attrs map[string]any) []any {
	m, mr := p.m, p.mr
	tag := mr.tags[n.tag]
	kv := map[string]any{}
	for rest := mr.sets[n.attrs]; rest != ""; {
		var k, v string
		k, rest, _ = strings.Cut(rest, "\x00")
		v, rest, _ = strings.Cut(rest, "\x00")
		kv[k] = v
	}
	relevant := false
	for k, v := range attrs {
		lk := strings.ToLower(k)
		if !m.keep[lk] {
			continue
		}
		old, had := kv[lk]
		s, ok := attrString(v)
		if ok != had || ok && s != old {
			relevant = true
		}
		if ok {
			kv[lk] = s
		} else {
			delete(kv, lk)
		}
	}
	sel := n.bits & (bBlock | bText | bUnmask | bUnsure)
	if relevant {
		var h *html.Node
		partial := false
		if m.ancestorSens || m.siblingSen {
			h, _, partial = mr.materialise(id, m.siblingSen)
		} else {
			h = &html.Node{Type: html.ElementNode, Data: tag}
		}
		h.Attr = setAttrs(attrSet(m, kv))
		sel = m.selfBits(h)
		if partial {
			sel |= bUnsure
		}
		sel |= n.bits & bUnsure // once unsure, masked until the next snapshot
	}
	bits := sel | m.derivedBits(tag, rawLookup(kv)) | n.bits&bPw
	cc := c0.enter(bits)
	p.maskAttrs(tag, bits, cc, attrs)
	oldMarker, newMarker := n.bits&markerBits, bits&markerBits
	if newMarker != oldMarker {
		attrs[markerAttr] = markerValue(newMarker)
	}
	mr.updateAttrs(m, id, n, attrs, newMarker)
	if !relevant || !(m.ancestorSens || m.siblingSen) {
		return nil
	}
	root := id
	if m.siblingSen && n.parent != 0 {
		root = n.parent
	}
	var extra []any
	for _, ch := range p.reeval(root, false) {
		if ch.id == id {
			attrs[markerAttr] = markerValue(ch.bits)
			continue
		}
		extra = append(extra, map[string]any{"id": jsonNumber(fmt.Sprint(ch.id)), "attributes": map[string]any{markerAttr: markerValue(ch.bits)}})
	}
	return extra
}

func markerValue(bits uint16) any {
	if bits == 0 {
		return nil
	}
	return markerString(bits)
}

func (p *pass) input(d map[string]any) bool {
	var text string
	switch t := d["text"].(type) {
	case string:
		text = t
	case nil:
		return false
	default: // not rrweb's: mask whatever it is
		b, _ := marshalJSON(t)
		d["text"] = maskInputValue(string(b))
		return true
	}
	id, _ := intOf(d["id"])
	masked := true
	if n := p.mr.get(id); n != nil && n.kind == kindElement {
		masked = inputMasked(n.bits, p.mr.ctxOf(id))
	}
	if masked {
		d["text"] = maskInputValue(text)
	} else {
		d["text"] = p.m.scrub.text(text)
	}
	return true
}

func (p *pass) meta(d map[string]any) bool {
	href, ok := d["href"].(string)
	if !ok {
		return false
	}
	u := p.m.scrub.url(href)
	d["href"] = u
	return u != href
}

// custom scrubs a custom event's payload: $pageview URLs, $error messages
// and stacks, and whatever else the page sent.
func (p *pass) custom(d map[string]any) bool {
	payload, ok := d["payload"]
	if !ok {
		return false
	}
	if pm, ok := payload.(map[string]any); ok {
		if href, ok := pm["href"].(string); ok {
			pm["href"] = p.m.scrub.url(href)
		}
	}
	u, _ := p.m.scrub.walk(payload)
	d["payload"] = u
	return true
}

func (p *pass) plugin(d map[string]any) bool {
	if name, _ := d["plugin"].(string); name == "rrweb/console@1" {
		pl, ok := d["payload"].(map[string]any)
		if !ok {
			return false
		}
		return p.console(pl)
	}
	u, changed := p.m.scrub.walk(d["payload"])
	if changed {
		d["payload"] = u
	}
	return changed
}

// console scrubs a console record: each argument is a JSON-encoded string
// and stays one; trace frames are text.
func (p *pass) console(pl map[string]any) bool {
	changed := false
	for k, v := range pl {
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
				pl[k], changed = u, true
			}
		}
	}
	return changed
}

// peekSource reads the source of an IncrementalSnapshot's data: the last
// top-level "source" key, matched exactly as JSON.parse does, holding a
// number (or a string holding one, which is masked as that source too).
// Other values make it fail, as they made encoding/json fail.
func peekSource(data []byte) (int32, bool) {
	p := &parser{b: data}
	var src any
	for n := 0; ; n++ {
		key, more, err := p.member(n)
		if err != nil {
			return 0, false
		}
		if !more {
			break
		}
		if key != "source" {
			if err := p.skip(); err != nil {
				return 0, false
			}
			continue
		}
		switch p.kind() {
		case "number":
			text, err := p.numberRaw()
			if err != nil {
				return 0, false
			}
			src = jsonNumber(text)
		case "string":
			s, err := p.str()
			if err != nil {
				return 0, false
			}
			if !validNumber(s) {
				return 0, false
			}
			src = jsonNumber(s)
		case "null": // leaves an earlier value, as encoding/json does
			if err := p.skip(); err != nil {
				return 0, false
			}
		default:
			return 0, false
		}
	}
	if p.end() != nil {
		return 0, false
	}
	return intOf(src)
}
