package cssrules

// sameShape reports whether two parsed sheets have the same rule list:
// the rules a Sheet would hold, with the same kinds, names, blocks and
// nesting, and preludes of the same tokens as putTokens writes them ("-- >"
// written "-->" is one token, not two).
func sameShape(p1 *parser, a []*item, p2 *parser, b []*item) bool {
	c := &shapes{p: [2]*parser{p1, p2}}
	return c.lists(a, b, nil, nil, false)
}

// shapes compares two parses; sig holds scratch space for preludes.
type shapes struct {
	p   [2]*parser
	sig [2][]sigTok
}

// sigTok is a token of a prelude as putTokens writes it: a token index,
// or -1 for a kept space or empty comment.
type sigTok struct {
	i     int
	space bool
}

// lists compares the rules of two blocks (of parents pa and pb, nil at
// the top level). nested says the parents are in a style rule.
func (c *shapes) lists(a, b []*item, pa, pb *item, nested bool) bool {
	i, j := 0, 0
	for {
		var ea, eb *item
		var nda, ndb bool
		ea, nda, i = c.next(0, a, i, pa, nested)
		eb, ndb, j = c.next(1, b, j, pb, nested)
		switch {
		case ea == nil && eb == nil:
			return nda == ndb
		case nda != ndb, ea == nil || eb == nil:
			return false
		case !c.rule(ea, eb, nested):
			return false
		}
	}
}

// next returns the next rule of list from k on, and whether declarations
// before it make a NestedDeclarations rule; nil at the end.
func (c *shapes) next(side int, list []*item, k int, parent *item, nested bool) (*item, bool, int) {
	seenRule := k > 0 // next returns after a rule or at the end
	nd := false
	for ; k < len(list); k++ {
		it := list[k]
		switch it.kind {
		case itemDecl:
			if parent != nil && (parent.kind == itemStyle && seenRule || parent.kind == itemAt && nested && groupRule(parent.name)) {
				nd = true
			}
		case itemStyle, itemAt:
			if parent == nil && it.kind == itemAt && it.name == "charset" {
				continue
			}
			return it, nd, k + 1
		}
	}
	return nil, nd, k
}

// rule compares two rules and what they hold.
func (c *shapes) rule(a, b *item, nested bool) bool {
	if a.kind != b.kind || a.name != b.name || a.block != b.block {
		return false
	}
	lo := [2]int{a.lo, b.lo}
	if a.kind == itemAt {
		lo[0]++
		lo[1]++
	}
	for s, it := range [2]*item{a, b} {
		c.sig[s] = c.sig[s][:0]
		walkTokens(c.p[s], lo[s], it.pre, -1, a.kind == itemStyle, func(i int, space bool) {
			c.sig[s] = append(c.sig[s], sigTok{i, space})
		})
	}
	if len(c.sig[0]) != len(c.sig[1]) {
		return false
	}
	for k, ta := range c.sig[0] {
		tb := c.sig[1][k]
		if ta.i < 0 || tb.i < 0 {
			if ta != tb {
				return false
			}
			continue
		}
		if c.p[0].toks[ta.i].typ != c.p[1].toks[tb.i].typ || c.p[0].text(ta.i) != c.p[1].text(tb.i) {
			return false
		}
	}
	kidsNested := a.kind == itemStyle || nested && groupRule(a.name)
	return c.lists(a.kids, b.kids, a, b, kidsNested)
}
