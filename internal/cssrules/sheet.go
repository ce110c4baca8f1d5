package cssrules

import (
	"errors"
	"fmt"
	"strings"

	"github.com/tdewolff/parse/v2/css"
)

// ErrIndex is returned by [Sheet.InsertRule] and [Sheet.DeleteRule] for an
// index or path that addresses no rule list, as the CSSOM throws an
// IndexSizeError.
var ErrIndex = errors.New("cssrules: index out of range")

// Kind is the kind of a [Rule].
type Kind uint8

// The kinds of rules.
const (
	// StyleRule is a qualified rule: a style rule (a keyframe inside
	// @keyframes).
	StyleRule Kind = iota + 1
	// AtRule is an at-rule: @media, @import, @font-face and the others.
	AtRule
	// NestedDeclarations holds the declarations that follow a nested rule
	// inside a style rule, or that sit directly in an at-rule nested in a
	// style rule (CSS Nesting's CSSNestedDeclarations).
	NestedDeclarations
)

// String returns the kind's name, as [Sheet.Outline] writes it.
func (k Kind) String() string {
	switch k {
	case StyleRule:
		return "style"
	case AtRule:
		return "at"
	case NestedDeclarations:
		return "nested-declarations"
	}
	return fmt.Sprintf("Kind(%d)", k)
}

// Sheet is a style sheet's rule list, shaped as the CSSOM's cssRules. A
// Sheet must not be used by several goroutines at once while one changes it.
type Sheet struct {
	Rules []*Rule
}

// Rule is one rule of a [Sheet] and the rules nested in it. It is used as
// its Sheet is: by one goroutine at a time while one changes it.
type Rule struct {
	Kind Kind
	// Name is an at-rule's name, lower case, without '@'.
	Name string
	// Prelude is a style rule's selector list or an at-rule's prelude,
	// without comments and meaningless whitespace.
	Prelude string
	// Block says whether the rule has a {}-block (an at-rule may end with ';').
	Block bool
	// Style is the rule's declarations (descriptors of an at-rule).
	Style []Declaration
	// Rules are the rules nested in it.
	Rules []*Rule

	nested bool // its nested declarations are style declarations
}

// Declaration is a property and its value.
type Declaration struct {
	Property  string // lower case, unless a custom property
	Value     string
	Important bool
}

// Parse parses a style sheet into its rules. It fails with [ErrSyntax] on
// a parse error that [Minify] refuses too.
func Parse(src string) (*Sheet, error) {
	p, items, err := parseItems(src)
	if err != nil {
		return nil, err
	}
	return &Sheet{Rules: p.rules(items, false)}, nil
}

// rules converts items to rules. nested says the items sit in a style
// rule (directly or through group at-rules).
func (p *parser) rules(items []*item, nested bool) []*Rule {
	var out []*Rule
	for _, it := range items {
		if it.kind == itemJunk || it.kind == itemDecl || it.kind == itemAt && it.name == "charset" && !nested {
			continue
		}
		out = append(out, p.rule(it, nested))
	}
	return out
}

// rule converts a rule item. nested says it sits in a style rule.
func (p *parser) rule(it *item, nested bool) *Rule {
	var b strings.Builder
	r := &Rule{Block: it.block}
	if it.kind == itemStyle {
		r.Kind = StyleRule
		putTokens(&b, p, it.lo, it.pre, -1, true)
		r.nested = true
	} else {
		r.Kind, r.Name = AtRule, it.name
		putTokens(&b, p, it.lo+1, it.pre, -1, false)
		r.nested = nested && groupRule(it.name)
	}
	r.Prelude = b.String()
	var nd *Rule
	for _, kid := range it.kids {
		switch kid.kind {
		case itemDecl:
			d := p.decl(kid)
			switch {
			case r.Kind == StyleRule && len(r.Rules) == 0 || !r.nested:
				r.Style = append(r.Style, d)
			default:
				if nd == nil {
					nd = &Rule{Kind: NestedDeclarations, nested: true}
					r.Rules = append(r.Rules, nd)
				}
				nd.Style = append(nd.Style, d)
			}
		case itemStyle, itemAt:
			r.Rules = append(r.Rules, p.rule(kid, r.nested))
			nd = nil
		}
	}
	return r
}

// decl converts a declaration item.
func (p *parser) decl(it *item) Declaration {
	d := Declaration{Property: p.text(it.lo)}
	lo, hi := p.skipSpace(it.pre+1, it.hi), it.hi
	for hi > lo && p.toks[hi-1].typ == css.WhitespaceToken {
		hi--
	}
	if strings.HasPrefix(d.Property, "--") {
		if lo < hi {
			d.Value = p.src[p.toks[lo].lo:p.toks[hi-1].hi]
		}
		return d
	}
	d.Property = strings.ToLower(d.Property)
	// "! important" at the end
	last := hi - 1
	if last > lo && p.toks[last].typ == css.IdentToken && strings.EqualFold(p.text(last), "important") {
		bang := last - 1
		for bang > lo && p.toks[bang].typ == css.WhitespaceToken {
			bang--
		}
		if bang >= lo && p.toks[bang].typ == css.DelimToken && p.text(bang) == "!" {
			d.Important = true
			hi = bang
		}
	}
	var b strings.Builder
	putTokens(&b, p, lo, hi, -1, false)
	d.Value = b.String()
	return d
}

// Rule returns the rule at an index path, as rrweb walks nested rules: the
// first index into the sheet's rules, each next one into the rules of the
// rule before. It returns nil when there is none.
func (s *Sheet) Rule(path []int) *Rule {
	list := s.Rules
	var r *Rule
	for _, i := range path {
		if i < 0 || i >= len(list) {
			return nil
		}
		r = list[i]
		list = r.Rules
	}
	return r
}

// list returns the rule list at path (the sheet's when path is empty) and
// whether rules in it are nested in a style rule.
func (s *Sheet) list(path []int) (*[]*Rule, bool, error) {
	if len(path) == 0 {
		return &s.Rules, false, nil
	}
	r := s.Rule(path)
	if r == nil || r.Kind == NestedDeclarations || r.Kind == AtRule && !r.Block {
		return nil, false, fmt.Errorf("%w: no rule list at %v", ErrIndex, path)
	}
	return &r.Rules, r.nested, nil
}

// InsertRule parses rule and inserts it at index into the rule list at path
// (the sheet's when path is empty), as CSSStyleSheet.insertRule and
// CSSGroupingRule.insertRule do. It fails with [ErrIndex] when index is
// outside 0..len, with [ErrSyntax] when rule is not exactly one rule.
func (s *Sheet) InsertRule(path []int, rule string, index int) error {
	list, nested, err := s.list(path)
	if err != nil {
		return err
	}
	if index < 0 || index > len(*list) {
		return fmt.Errorf("%w: %d in %d rules", ErrIndex, index, len(*list))
	}
	r, err := parseRule(rule, nested)
	if err != nil {
		return err
	}
	*list = append(*list, nil)
	copy((*list)[index+1:], (*list)[index:])
	(*list)[index] = r
	return nil
}

// DeleteRule removes the rule at index from the rule list at path, as
// CSSStyleSheet.deleteRule does. It fails with [ErrIndex] when there is none.
func (s *Sheet) DeleteRule(path []int, index int) error {
	list, _, err := s.list(path)
	if err != nil {
		return err
	}
	if index < 0 || index >= len(*list) {
		return fmt.Errorf("%w: %d in %d rules", ErrIndex, index, len(*list))
	}
	*list = append((*list)[:index], (*list)[index+1:]...)
	return nil
}

// parseRule parses exactly one rule, as the CSSOM's "parse a CSS rule".
func parseRule(src string, nested bool) (*Rule, error) {
	toks, err := tokens(src)
	if err != nil {
		return nil, err
	}
	p := &parser{src: src, toks: toks}
	i := p.skipSpace(0, len(toks))
	if i == len(toks) {
		return nil, fmt.Errorf("%w: no rule in %q", ErrSyntax, src)
	}
	var it *item
	if toks[i].typ == css.AtKeywordToken {
		it, i, err = p.atRule(i, len(toks), true)
	} else {
		it, i, err = p.qualified(i, len(toks), false)
	}
	if err != nil {
		return nil, err
	}
	if it.kind == itemJunk || p.skipSpace(i, len(toks)) != len(toks) {
		return nil, fmt.Errorf("%w: not one rule: %q", ErrSyntax, src)
	}
	return p.rule(it, nested), nil
}

// SetProperty sets a declaration of the rule, as
// CSSStyleDeclaration.setProperty does: an empty value removes it, a
// priority other than "" or "important" changes nothing.
func (r *Rule) SetProperty(property, value, priority string) {
	if value = strings.TrimSpace(value); value == "" {
		r.RemoveProperty(property)
		return
	}
	important := strings.EqualFold(priority, "important")
	if !important && priority != "" {
		return
	}
	property = propertyName(property)
	for i := range r.Style {
		if r.Style[i].Property == property {
			r.Style[i].Value, r.Style[i].Important = value, important
			return
		}
	}
	r.Style = append(r.Style, Declaration{Property: property, Value: value, Important: important})
}

// RemoveProperty removes a declaration of the rule, as
// CSSStyleDeclaration.removeProperty does.
func (r *Rule) RemoveProperty(property string) {
	property = propertyName(property)
	for i := range r.Style {
		if r.Style[i].Property == property {
			r.Style = append(r.Style[:i], r.Style[i+1:]...)
			return
		}
	}
}

func propertyName(s string) string {
	if strings.HasPrefix(s, "--") {
		return s
	}
	return strings.ToLower(s)
}

// Outline writes the rule list without declaration values, one rule a
// line indented by its depth: kind, name, prelude, and the names of the
// rule's properties. Two sheets with the same outline address the same
// rules at every index path.
func (s *Sheet) Outline() string {
	var b strings.Builder
	outline(&b, s.Rules, 0)
	return b.String()
}

func outline(b *strings.Builder, rules []*Rule, depth int) {
	for _, r := range rules {
		b.WriteString(strings.Repeat("  ", depth))
		b.WriteString(r.Kind.String())
		if r.Kind == AtRule {
			b.WriteString(" @" + r.Name)
		}
		if r.Prelude != "" {
			b.WriteString(" " + r.Prelude)
		}
		if r.Block {
			b.WriteString(" {}")
		}
		for _, d := range r.Style {
			b.WriteString(" " + d.Property)
			if d.Important {
				b.WriteString("!")
			}
		}
		b.WriteByte('\n')
		outline(b, r.Rules, depth+1)
	}
}
