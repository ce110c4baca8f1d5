package cssrules

import (
	"fmt"
	"strings"

	"github.com/tdewolff/parse/v2/css"
)

// itemKind is what an item of a rule list or block is.
type itemKind uint8

const (
	itemStyle itemKind = iota + 1 // a qualified rule: a style rule or a keyframe
	itemAt                        // an at-rule
	itemDecl                      // a declaration (syntactically; a browser may find it invalid)
	itemJunk                      // tokens a browser discards: a bad declaration, a rule cut short
)

// item is a rule, a declaration or junk, as CSS Syntax Level 3 consumes a
// style sheet's contents and a block's contents. Ranges are token indices.
type item struct {
	kind   itemKind
	lo, hi int    // all tokens of the item; a declaration's or junk's ending ';' excluded
	pre    int    // end of the prelude: its '{', its ';' or hi
	block  bool   // pre is a '{' whose contents are kids
	semi   bool   // an at-rule ended by ';'
	name   string // an at-rule's name, lower case, without '@'
	kids   []*item
}

// parser parses tokens of src into items.
type parser struct {
	src  string
	toks []tok
	slab []item // items are allocated from it
}

// alloc returns a new item holding v.
func (p *parser) alloc(v item) *item {
	if len(p.slab) == cap(p.slab) {
		p.slab = make([]item, 0, min(max(len(p.toks)/8, 16), 1024))
	}
	p.slab = append(p.slab, v)
	return &p.slab[len(p.slab)-1]
}

// parseItems parses a whole sheet into its top-level items.
func parseItems(src string) (*parser, []*item, error) {
	toks, err := tokens(src)
	if err != nil {
		return nil, nil, err
	}
	p := &parser{src: src, toks: toks}
	items, err := p.sheet(0, len(toks))
	if err != nil {
		return nil, nil, err
	}
	return p, items, nil
}

func (p *parser) text(i int) string { return p.src[p.toks[i].lo:p.toks[i].hi] }

// next returns the index after the component value at i.
func (p *parser) next(i int) int {
	if m := p.toks[i].match; m >= 0 {
		return int(m) + 1
	}
	return i + 1
}

// sheet consumes a style sheet's contents (not nested).
func (p *parser) sheet(lo, hi int) ([]*item, error) {
	var out []*item
	for i := lo; i < hi; {
		var it *item
		var err error
		switch p.toks[i].typ {
		case css.WhitespaceToken, css.CDOToken, css.CDCToken:
			i++
			continue
		case css.RightBraceToken:
			return nil, fmt.Errorf("%w: '}' outside any block at byte %d", ErrSyntax, p.toks[i].lo)
		case css.AtKeywordToken:
			it, i, err = p.atRule(i, hi, false)
		default:
			it, i, err = p.qualified(i, hi, false)
		}
		if err != nil {
			return nil, err
		}
		out = append(out, it)
	}
	return out, nil
}

// atRule consumes an at-rule starting at i. Outside blocks a '}' in its
// prelude is an error; nested, the block's end ends it.
func (p *parser) atRule(i, hi int, nested bool) (*item, int, error) {
	it := p.alloc(item{kind: itemAt, lo: i, name: strings.ToLower(p.text(i)[1:])})
	for j := i + 1; j < hi; {
		switch p.toks[j].typ {
		case css.SemicolonToken:
			it.pre, it.semi, it.hi = j, true, j+1
			return it, j + 1, nil
		case css.RightBraceToken:
			return nil, 0, fmt.Errorf("%w: '}' outside any block at byte %d", ErrSyntax, p.toks[j].lo)
		case css.LeftBraceToken:
			end := int(p.toks[j].match)
			kids, err := p.contents(j+1, end)
			if err != nil {
				return nil, 0, err
			}
			it.pre, it.block, it.kids, it.hi = j, true, kids, end+1
			return it, end + 1, nil
		default:
			j = p.next(j)
		}
	}
	if !nested {
		// A browser keeps it, but the sheet may be one part of a style
		// element whose next part goes on with this rule.
		return nil, 0, fmt.Errorf("%w: at-rule cut off at the end", ErrSyntax)
	}
	it.pre, it.hi = hi, hi
	return it, hi, nil
}

// qualified consumes a qualified rule starting at i. Nested, a ';' ends
// it as junk and the block's end too.
func (p *parser) qualified(i, hi int, nested bool) (*item, int, error) {
	for j := i; j < hi; {
		switch p.toks[j].typ {
		case css.SemicolonToken:
			if nested {
				return p.alloc(item{kind: itemJunk, lo: i, hi: j, pre: j}), j, nil
			}
			j++
		case css.RightBraceToken:
			return nil, 0, fmt.Errorf("%w: '}' outside any block at byte %d", ErrSyntax, p.toks[j].lo)
		case css.LeftBraceToken:
			end := int(p.toks[j].match)
			if p.customPrelude(i, j) { // "--x:{…}" is no rule
				return p.alloc(item{kind: itemJunk, lo: i, hi: end + 1, pre: j}), end + 1, nil
			}
			kids, err := p.contents(j+1, end)
			if err != nil {
				return nil, 0, err
			}
			return p.alloc(item{kind: itemStyle, lo: i, hi: end + 1, pre: j, block: true, kids: kids}), end + 1, nil
		default:
			j = p.next(j)
		}
	}
	if !nested {
		return nil, 0, fmt.Errorf("%w: rule cut off at the end", ErrSyntax)
	}
	return p.alloc(item{kind: itemJunk, lo: i, hi: hi, pre: hi}), hi, nil
}

// customPrelude reports whether the prelude lo..hi starts with a custom
// property name and a colon.
func (p *parser) customPrelude(lo, hi int) bool {
	j := p.skipSpace(lo, hi)
	if j >= hi || p.toks[j].typ != css.IdentToken || !strings.HasPrefix(p.text(j), "--") {
		return false
	}
	j = p.skipSpace(j+1, hi)
	return j < hi && p.toks[j].typ == css.ColonToken
}

func (p *parser) skipSpace(i, hi int) int {
	for i < hi && p.toks[i].typ == css.WhitespaceToken {
		i++
	}
	return i
}

// contents consumes a block's contents: declarations, at-rules and
// qualified rules, in order.
func (p *parser) contents(lo, hi int) ([]*item, error) {
	var out []*item
	for i := lo; i < hi; {
		var it *item
		var err error
		switch p.toks[i].typ {
		case css.WhitespaceToken, css.SemicolonToken:
			i++
			continue
		case css.AtKeywordToken:
			it, i, err = p.atRule(i, hi, true)
		default:
			var ok bool
			if it, ok = p.declaration(i, hi); ok {
				i = it.hi
			} else {
				it, i, err = p.qualified(i, hi, true)
			}
		}
		if err != nil {
			return nil, err
		}
		out = append(out, it)
	}
	return out, nil
}

// declaration consumes a declaration at i, up to the next ';' or hi. It
// fails where CSS Syntax Level 3 returns nothing for reasons of syntax: no
// name, no colon, or a {}-block beside other values of a property that is
// not custom.
func (p *parser) declaration(i, hi int) (*item, bool) {
	if p.toks[i].typ != css.IdentToken {
		return nil, false
	}
	j := p.skipSpace(i+1, hi)
	if j >= hi || p.toks[j].typ != css.ColonToken {
		return nil, false
	}
	custom := strings.HasPrefix(p.text(i), "--")
	blocks, others := 0, 0
	k := j + 1
	for k < hi && p.toks[k].typ != css.SemicolonToken {
		switch p.toks[k].typ {
		case css.WhitespaceToken:
		case css.LeftBraceToken:
			blocks++
		default:
			others++
		}
		k = p.next(k)
	}
	if !custom && blocks > 0 && blocks+others > 1 {
		return nil, false
	}
	return p.alloc(item{kind: itemDecl, lo: i, hi: k, pre: j}), true
}
