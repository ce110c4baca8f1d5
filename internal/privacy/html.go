package privacy

import (
	"strings"
	"sync"

	"github.com/sessionreplay/replay/internal/cssrules"
	"github.com/tdewolff/minify/v2"
	mhtml "github.com/tdewolff/minify/v2/html"
	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// minifier is built once and shared: a *minify.M is safe for concurrent use.
var minifier = sync.OnceValue(func() *minify.M {
	m := minify.New()
	m.AddFunc("text/css", cssrules.MinifyFunc) // keeps every rule: rrweb addresses rules by index
	m.Add("text/html", &mhtml.Minifier{KeepDocumentTags: true, KeepEndTags: true, KeepQuotes: true, KeepDefaultAttrVals: true})
	return m
})

// rrSplit separates the parts of a style element that had several text
// nodes; the replayer needs the markers, the CSS minifier would drop them.
const rrSplit = "/* rr_split */"

// MinifyCSS minifies the CSS of an rrweb _cssText attribute. CSS is never
// scrubbed (a scrubbed stylesheet breaks the replay); CSS that does not
// minify is kept as it is.
func MinifyCSS(s string) string {
	if s == "" {
		return s
	}
	parts := strings.Split(s, rrSplit)
	for i, part := range parts {
		out, err := minifier().String("text/css", part)
		if err != nil {
			return s
		}
		parts[i] = out
	}
	out := strings.Join(parts, rrSplit)
	if len(out) > len(s) {
		return s
	}
	return out
}

// MaskHTML masks an HTML document or fragment by the policy with
// golang.org/x/net/html, then minifies it. Selectors are matched on the
// whole parsed tree. Script contents are dropped.
func (m *Masker) MaskHTML(s string) (string, error) {
	var roots []*html.Node
	lower := strings.ToLower(s)
	if strings.Contains(lower, "<html") || strings.Contains(lower, "<!doctype") || strings.Contains(lower, "<body") || strings.Contains(lower, "<head") {
		doc, err := html.Parse(strings.NewReader(s))
		if err != nil {
			return "", err
		}
		roots = []*html.Node{doc}
	} else {
		ctxNode := &html.Node{Type: html.ElementNode, Data: "body", DataAtom: atom.Body}
		nodes, err := html.ParseFragment(strings.NewReader(s), ctxNode)
		if err != nil {
			return "", err
		}
		for _, n := range nodes {
			ctxNode.AppendChild(n) // selectors see the fragment's siblings
		}
		roots = nodes
	}
	for _, n := range roots {
		m.maskHTMLNode(n, rootCtx, 0)
	}
	var b strings.Builder
	for _, n := range roots {
		if err := html.Render(&b, n); err != nil {
			return "", err
		}
	}
	return minifier().String("text/html", b.String())
}

func (m *Masker) maskHTMLNode(n *html.Node, c ctx, depth int) {
	switch n.Type {
	case html.ElementNode:
		get := func(k string) (string, bool) {
			for _, a := range n.Attr {
				if a.Namespace == "" && a.Key == k {
					return a.Val, true
				}
			}
			return "", false
		}
		bits := m.selfBits(n) | m.derivedBits(n.Data, lookupDerived(get))
		cc := c.enter(bits)
		attrs := n.Attr[:0]
		for _, a := range n.Attr {
			key := a.Key
			if a.Namespace != "" {
				key = a.Namespace + ":" + a.Key
			}
			if hidesState(n.Data, bits, cc, key) {
				continue
			}
			if v, keep := m.maskAttr(n.Data, bits, cc, key, a.Val); keep {
				a.Val = v
				attrs = append(attrs, a)
			}
		}
		n.Attr = attrs
		if cc.block || n.DataAtom == atom.Script || depth > maxMirrorDepth {
			for n.FirstChild != nil {
				n.RemoveChild(n.FirstChild)
			}
			return
		}
		c = cc
	case html.TextNode, html.CommentNode:
		n.Data = m.maskText(c, n.Data)
		return
	}
	for k := n.FirstChild; k != nil; k = k.NextSibling {
		m.maskHTMLNode(k, c, depth+1)
	}
}
