package cssrules

import (
	"io"
	"strings"

	"github.com/tdewolff/minify/v2"
	"github.com/tdewolff/minify/v2/css"
	pcss "github.com/tdewolff/parse/v2/css"
)

// declMinifier minifies a run of declarations. It keeps no state between
// calls and is shared.
var declMinifier = &css.Minifier{Inline: true}

// Minify returns the style sheet src minified with its rule list kept:
// the same rules, in the same order, nested the same way, empty rules and
// empty at-rules included (see the package doc). It returns src unchanged
// when src has a parse error, when the minified sheet would not have the
// same rule list, or when it would not be shorter. Minify is safe for
// concurrent use.
func Minify(src string) string {
	if src == "" {
		return src
	}
	p, items, err := parseItems(src)
	if err != nil {
		return src
	}
	out, err := write(p, items)
	if err != nil || len(out) >= len(src) {
		return src
	}
	p2, items2, err := parseItems(out)
	if err != nil || !sameShape(p, items, p2, items2) {
		return src
	}
	return out
}

// write writes parsed items minified.
func write(p *parser, items []*item) (string, error) {
	w := &writer{p: p, m: minify.New()}
	w.b.Grow(len(p.src))
	for _, it := range items {
		w.item(it, false)
	}
	return w.b.String(), w.err
}

// MinifyFunc minifies CSS for a *minify.M, registered with
// m.AddFunc("text/css", MinifyFunc): a style sheet (the text of a <style>
// element) with [Minify]; the declarations of a style attribute (params
// inline=1) with tdewolff's CSS minifier, as they hold no rules.
func MinifyFunc(m *minify.M, w io.Writer, r io.Reader, params map[string]string) error {
	if params["inline"] == "1" {
		return css.Minify(m, w, r, params)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	_, err = io.WriteString(w, Minify(string(b)))
	return err
}

// writer writes items minified.
type writer struct {
	p    *parser
	m    *minify.M
	b    strings.Builder
	srcb []byte // a copy of p.src, for declMinifier
	err  error
}

// runReader gives tdewolff's parser the bytes of a run without a copy
// (parse.NewInput takes them from Bytes).
type runReader struct {
	b   []byte
	off int
}

func (r *runReader) Bytes() []byte { return r.b }

func (r *runReader) Read(p []byte) (int, error) {
	if r.off >= len(r.b) {
		return 0, io.EOF
	}
	n := copy(p, r.b[r.off:])
	r.off += n
	return n, nil
}

// item writes one item of a rule list or block. style says whether
// declarations among its siblings are style declarations (minified by
// declMinifier) rather than descriptors.
func (w *writer) item(it *item, style bool) {
	p := w.p
	switch it.kind {
	case itemAt:
		w.b.WriteString(p.text(it.lo))
		putTokens(&w.b, p, it.lo+1, it.pre, it.lo, false)
		switch {
		case it.block:
			w.b.WriteByte('{')
			w.block(it.kids, style && groupRule(it.name))
			w.b.WriteByte('}')
		case it.semi:
			w.b.WriteByte(';')
		}
	case itemStyle:
		putTokens(&w.b, p, it.lo, it.pre, -1, true)
		w.b.WriteByte('{')
		w.block(it.kids, true)
		w.b.WriteByte('}')
	default: // a declaration or junk
		putTokens(&w.b, p, it.lo, it.hi, -1, false)
	}
}

// block writes the contents of a block. Runs of declarations (and junk
// among them) are written as one, a ';' after each but the last item.
func (w *writer) block(kids []*item, style bool) {
	for k := 0; k < len(kids); {
		if kind := kids[k].kind; kind == itemStyle || kind == itemAt {
			w.item(kids[k], style)
			k++
			continue
		}
		e := k
		for e < len(kids) && (kids[e].kind == itemDecl || kids[e].kind == itemJunk) {
			e++
		}
		w.decls(kids[k:e], style)
		if e < len(kids) {
			w.b.WriteByte(';')
		}
		k = e
	}
}

// decls writes a run of declarations: style declarations through
// declMinifier, unless a {}-block is among them; descriptors and
// the rest token by token.
func (w *writer) decls(run []*item, style bool) {
	p := w.p
	if style && !w.hasBrace(run) {
		lo, hi := p.toks[run[0].lo].lo, p.toks[run[len(run)-1].hi-1].hi
		if w.srcb == nil {
			w.srcb = []byte(p.src)
		}
		n := w.b.Len()
		// The minifier changes the bytes it reads: each run is read once.
		if err := declMinifier.Minify(w.m, &w.b, &runReader{b: w.srcb[lo:hi]}, nil); err != nil {
			w.err = err
		}
		if w.b.Len() > n {
			return
		}
		// Everything was dropped: keep the run as it is below, so that a
		// run that was a rule's declarations stays one.
	}
	for i, it := range run {
		if i > 0 {
			w.b.WriteByte(';')
		}
		if it.kind == itemDecl && strings.HasPrefix(p.text(it.lo), "--") {
			// A custom property's value is kept as written.
			w.b.WriteString(p.text(it.lo))
			w.b.WriteByte(':')
			lo := p.skipSpace(it.pre+1, it.hi)
			hi := it.hi
			for hi > lo && p.toks[hi-1].typ == pcss.WhitespaceToken {
				hi--
			}
			if lo < hi {
				w.b.WriteString(p.src[p.toks[lo].lo:p.toks[hi-1].hi])
			}
			continue
		}
		if it.kind == itemDecl { // the whitespace around its colon means nothing
			w.b.WriteString(p.text(it.lo))
			w.b.WriteByte(':')
			putTokens(&w.b, p, it.pre+1, it.hi, -1, false)
			continue
		}
		putTokens(&w.b, p, it.lo, it.hi, -1, false)
	}
}

func (w *writer) hasBrace(run []*item) bool {
	for _, it := range run {
		for i := it.lo; i < it.hi; i++ {
			if w.p.toks[i].typ == pcss.LeftBraceToken {
				return true
			}
		}
	}
	return false
}

// groupRule reports whether an at-rule of this name, nested in a style
// rule, holds style declarations.
func groupRule(name string) bool {
	switch name {
	case "media", "supports", "container", "layer", "scope", "starting-style", "document", "-moz-document":
		return true
	}
	return false
}

// putTokens writes tokens lo..hi minified: comments dropped (an empty
// comment kept where one glued two tokens), whitespace collapsed to one
// space, and dropped where no CSS grammar gives it a meaning. prev is the
// index of the token written before them, or -1. sel says the tokens are a
// selector list, where whitespace around combinators means nothing.
func putTokens(b *strings.Builder, p *parser, lo, hi, prev int, sel bool) {
	walkTokens(p, lo, hi, prev, sel, func(i int, space bool) {
		if i < 0 {
			if space {
				b.WriteByte(' ')
			} else {
				b.WriteString("/**/")
			}
			return
		}
		b.WriteString(p.text(i))
	})
}

// walkTokens calls fn for each token putTokens writes, and with i < 0 for
// a space (space true) or an empty comment between two of them.
func walkTokens(p *parser, lo, hi, prev int, sel bool, fn func(i int, space bool)) {
	space, depth := false, 0
	for i := lo; i < hi; i++ {
		t := p.toks[i]
		if t.typ == pcss.WhitespaceToken {
			space = prev >= 0
			continue
		}
		if prev >= 0 {
			if space && spaceNeeded(p, prev, i, sel && depth == 0) {
				fn(-1, true)
			} else if !space && t.glued {
				fn(-1, false)
			}
		}
		fn(i, false)
		switch t.typ {
		case pcss.LeftParenthesisToken, pcss.FunctionToken, pcss.LeftBracketToken, pcss.LeftBraceToken:
			depth++
		case pcss.RightParenthesisToken, pcss.RightBracketToken, pcss.RightBraceToken:
			depth = max(depth-1, 0)
		}
		prev, space = i, false
	}
}

// spaceNeeded reports whether whitespace between tokens a and b means
// something. sel says they are in a selector list, outside any function.
func spaceNeeded(p *parser, a, b int, sel bool) bool {
	switch p.toks[a].typ {
	case pcss.CommaToken, pcss.SemicolonToken, pcss.LeftBraceToken, pcss.RightBraceToken,
		pcss.LeftParenthesisToken, pcss.FunctionToken, pcss.LeftBracketToken:
		return false
	}
	switch p.toks[b].typ {
	case pcss.CommaToken, pcss.SemicolonToken, pcss.LeftBraceToken, pcss.RightBraceToken,
		pcss.RightParenthesisToken, pcss.RightBracketToken:
		return false
	}
	if sel && combinator(p, a) {
		return !unmergeable(p, b)
	}
	if sel && combinator(p, b) {
		return !unmergeable(p, a)
	}
	return true
}

// unmergeable reports whether token i, beside a combinator, stays the
// same token without the whitespace between them ("+ .5" would become
// the number "+.5", "-- >" the token "-->").
func unmergeable(p *parser, i int) bool {
	switch p.toks[i].typ {
	case pcss.IdentToken:
		return !strings.HasSuffix(p.text(i), "-")
	case pcss.HashToken, pcss.ColonToken, pcss.LeftBracketToken, pcss.RightBracketToken,
		pcss.RightParenthesisToken, pcss.FunctionToken:
		return true
	case pcss.DelimToken:
		s := p.text(i)
		return s == "." || s == "*" || s == "&"
	}
	return false
}

func combinator(p *parser, i int) bool {
	if p.toks[i].typ != pcss.DelimToken {
		return false
	}
	s := p.text(i)
	return s == ">" || s == "~" || s == "+"
}
