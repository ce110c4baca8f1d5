package privacy

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/sessionreplay/replay/internal/jsonx"
	"github.com/stretchr/testify/require"
	"golang.org/x/net/html"
)

// posNode is an element of the model DOM of the position-selector property
// test.
type posNode struct {
	id     int
	tag    string
	class  string
	parent *posNode
	kids   []*posNode
}

func (n *posNode) serialize() string {
	attrs := ""
	if n.class != "" {
		attrs = `"class":` + pq(n.class)
	}
	kids := make([]string, len(n.kids))
	for i, k := range n.kids {
		kids[i] = k.serialize()
	}
	return pel(n.id, n.tag, attrs, kids...)
}

// posDOM is a model DOM under body (id 5) that random mutations change.
type posDOM struct {
	rng  *rand.Rand
	body *posNode
	next int
}

var (
	posTags    = []string{"div", "p", "span", "li", "label"}
	posClasses = []string{"", "", "a", "secret", "b"}
)

func (d *posDOM) newNode() *posNode {
	d.next++
	return &posNode{id: d.next, tag: posTags[d.rng.IntN(len(posTags))], class: posClasses[d.rng.IntN(len(posClasses))]}
}

func (d *posDOM) all() []*posNode {
	var out []*posNode
	var walk func(n *posNode)
	walk = func(n *posNode) {
		out = append(out, n)
		for _, k := range n.kids {
			walk(k)
		}
	}
	walk(d.body)
	return out
}

func (d *posDOM) insert(parent, n *posNode, at int) {
	n.parent = parent
	parent.kids = slices.Insert(parent.kids, at, n)
}

func (d *posDOM) detach(n *posNode) {
	p := n.parent
	i := slices.Index(p.kids, n)
	p.kids = slices.Delete(p.kids, i, i+1)
	n.parent = nil
}

func within(n, root *posNode) bool {
	for ; n != nil; n = n.parent {
		if n == root {
			return true
		}
	}
	return false
}

// addJSON is the add of n, already inserted, as rrweb writes it.
func addJSON(n *posNode) string {
	next := "null"
	if i := slices.Index(n.parent.kids, n); i+1 < len(n.parent.kids) {
		next = fmt.Sprint(n.parent.kids[i+1].id)
	}
	return fmt.Sprintf(`{"parentId":%d,"nextId":%s,"node":%s}`, n.parent.id, next, n.serialize())
}

// mutate applies one random mutation to the model and returns it as an
// rrweb event.
func (d *posDOM) mutate() string {
	nodes := d.all()
	pick := func() *posNode { return nodes[1+d.rng.IntN(len(nodes)-1)] }
	switch op := d.rng.IntN(10); {
	case op < 4 || len(nodes) < 3: // add
		parent := nodes[d.rng.IntN(len(nodes))]
		n := d.newNode()
		d.insert(parent, n, d.rng.IntN(len(parent.kids)+1))
		return pmut(`"texts":[],"removes":[],"attributes":[],"adds":[` + addJSON(n) + `]`)
	case op < 6: // remove
		n := pick()
		parent := n.parent
		d.detach(n)
		return pmut(fmt.Sprintf(`"texts":[],"attributes":[],"adds":[],"removes":[{"parentId":%d,"id":%d}]`, parent.id, n.id))
	case op < 8: // move
		n := pick()
		var to *posNode
		for range 10 {
			if c := nodes[d.rng.IntN(len(nodes))]; !within(c, n) {
				to = c
				break
			}
		}
		if to == nil {
			return pmut(`"texts":[],"attributes":[],"adds":[],"removes":[]`)
		}
		from := n.parent
		d.detach(n)
		d.insert(to, n, d.rng.IntN(len(to.kids)+1))
		return pmut(fmt.Sprintf(`"texts":[],"attributes":[],"removes":[{"parentId":%d,"id":%d}],"adds":[%s]`, from.id, n.id, addJSON(n)))
	default: // class change
		n := pick()
		n.class = posClasses[d.rng.IntN(len(posClasses))]
		return pmut(fmt.Sprintf(`"texts":[],"adds":[],"removes":[],"attributes":[{"id":%d,"attributes":{"class":%s}}]`, n.id, pq(n.class)))
	}
}

// scratch evaluates the policy's selectors on the model from scratch and
// returns each element's selector bits by id.
func (d *posDOM) scratch(m *Masker) map[int]uint16 {
	doc := &html.Node{Type: html.DocumentNode}
	root := &html.Node{Type: html.ElementNode, Data: "html", Attr: []html.Attribute{{Key: "lang", Val: "en"}}}
	doc.AppendChild(root)
	root.AppendChild(&html.Node{Type: html.ElementNode, Data: "head"})
	hs := map[int]*html.Node{}
	var build func(n *posNode, parent *html.Node)
	build = func(n *posNode, parent *html.Node) {
		h := &html.Node{Type: html.ElementNode, Data: n.tag}
		if n.class != "" {
			h.Attr = []html.Attribute{{Key: "class", Val: n.class}}
		}
		parent.AppendChild(h)
		hs[n.id] = h
		for _, k := range n.kids {
			build(k, h)
		}
	}
	build(d.body, root)
	out := map[int]uint16{}
	for id, h := range hs {
		out[id] = m.selfBits(h)
	}
	return out
}

// TestMirrorPositionSelectorsMatchFromScratch: after every random add,
// remove, move and class change, each element the incremental mirror does
// not mask in full (unsure) has the selector bits a from-scratch
// evaluation of the DOM gives it.
func TestMirrorPositionSelectorsMatchFromScratch(t *testing.T) {
	selectors := []string{"p:first-child", "li:nth-child(2n+1)", "label.secret + span", ".a ~ p", "div:first-child span",
		"li:last-child", "span:only-child", "div:nth-last-child(2) > p", "p:first-of-type", ".a + .b span", "div :nth-child(3)"}
	seeds, steps := 40, 30
	if testing.Short() {
		seeds = 10
	}
	for _, sel := range selectors {
		t.Run(sel, func(t *testing.T) {
			m, err := Compile(&Policy{MaskTextSelector: sel, UnmaskSelector: ".b:first-child"})
			require.NoError(t, err)
			for seed := range seeds {
				d := &posDOM{rng: rand.New(rand.NewPCG(uint64(seed), 7)), body: &posNode{id: 5, tag: "body"}, next: 5}
				for range 8 {
					parent := d.all()[d.rng.IntN(len(d.all()))]
					d.insert(parent, d.newNode(), d.rng.IntN(len(parent.kids)+1))
				}
				kids := make([]string, len(d.body.kids))
				for i, k := range d.body.kids {
					kids[i] = k.serialize()
				}
				ps := &pass{m: m, mr: NewMirror(), budget: reevalBudget}
				var log []string
				for step := 0; step <= steps; step++ {
					ev := psnap(kids...)
					if step > 0 {
						ev = d.mutate()
						ps.budget = reevalBudget
					}
					log = append(log, ev)
					var e Event
					require.NoError(t, json.Unmarshal([]byte(ev), &e))
					require.NoError(t, ps.maskEvent(&e))
					want := d.scratch(m)
					for _, n := range d.all() {
						mn := ps.mr.get(int32(n.id))
						require.NotNil(t, mn, "seed %d step %d: node %d is in the mirror", seed, step, n.id)
						if ps.mr.ctxOf(int32(n.id)).unsure {
							continue // masked in full
						}
						if got := mn.bits & (bBlock | bText | bUnmask); got != want[n.id] {
							t.Fatalf("seed %d step %d: node %d <%s class=%q>: mirror bits %b, from scratch %b\nevents:\n%s",
								seed, step, n.id, n.tag, n.class, got, want[n.id], strings.Join(log, "\n"))
						}
					}
				}
			}
		})
	}
}

// resolveAddsWithMaps is resolveAdds as it was first written, with maps
// for every size: the model the faster one is checked against.
func resolveAddsWithMaps(mr *Mirror, adds []*jsonx.Object) []int {
	if len(adds) == 0 {
		return nil
	}
	pending := map[int32]bool{}
	for _, it := range adds {
		if node, ok := it.Get("node").(*jsonx.Object); ok {
			if id, ok := intOf(node.Get("id")); ok {
				pending[id] = true
			}
		}
	}
	var out, queue []int
	waiting := map[int32][]int{}
	for i, it := range adds {
		parent, _ := intOf(it.Get("parentId"))
		node, _ := it.Get("node").(*jsonx.Object)
		if _, ok := intOf(node.Get("id")); !ok {
			continue
		}
		switch {
		case pending[parent]:
			waiting[parent] = append(waiting[parent], i)
		case mr.get(parent) != nil:
			queue = append(queue, i)
		}
	}
	for len(queue) > 0 {
		i := queue[0]
		queue = queue[1:]
		out = append(out, i)
		id, _ := intOf(adds[i].Get("node").(*jsonx.Object).Get("id"))
		queue = append(queue, waiting[id]...)
		delete(waiting, id)
	}
	return out
}

func TestResolveAddsMatchesTheModel(t *testing.T) {
	m, err := Compile(&Policy{})
	require.NoError(t, err)
	mr := NewMirror()
	var e Event
	require.NoError(t, json.Unmarshal([]byte(psnap(pel(10, "div", ""), pel(11, "div", ""))), &e))
	require.NoError(t, (&pass{m: m, mr: mr, budget: reevalBudget}).maskEvent(&e))
	rng := rand.New(rand.NewPCG(7, 12))
	for round := range 3000 {
		n := rng.IntN(80) // both sides of the small-list threshold
		adds := make([]*jsonx.Object, n)
		for i := range adds {
			it := &jsonx.Object{}
			// Parents among the known nodes, the other adds (ids 20-40, so
			// that some repeat) and unknown ids; some adds lack a node or id.
			it.Set("parentId", jsonNumber(fmt.Sprint([]int{1, 5, 10, 11, 99, 20 + rng.IntN(20)}[rng.IntN(6)])))
			switch rng.IntN(12) {
			case 0:
			case 1:
				it.Set("node", &jsonx.Object{})
			default:
				node := &jsonx.Object{}
				node.Set("id", jsonNumber(fmt.Sprint(20+rng.IntN(20))))
				it.Set("node", node)
			}
			adds[i] = it
		}
		require.Equal(t, resolveAddsWithMaps(mr, adds), mr.resolveAdds(adds), "round %d", round)
	}
}

// TestLoneMatchingEqualsTreeMatching masks the recorded corpus with
// policies whose selectors read nothing but the element, as MaskBatch does
// (each element matched alone), and again with trees built for matching as
// for any other policy: the stored events must be the same.
func TestLoneMatchingEqualsTreeMatching(t *testing.T) {
	visits := loadCorpus(t)
	for _, p := range []Policy{
		benchPolicies[0].p,
		{MaskTextSelector: ".card-title, h3, [data-widget], #sidebar-overlay", BlockSelector: "canvas, .chart, svg", UnmaskSelector: ".nav-link, li"},
		{MaskTextSelector: "section, .slides, [class~=present]", BlockSelector: "img, [role=img]", MaskAllInputs: true, Scrub: []string{"card", "email"}},
	} {
		lone, err := Compile(&p)
		require.NoError(t, err)
		require.False(t, lone.structural, "%+v", p)
		lone = lone.WithCSS(func(s string) string { return s })
		tree := *lone
		tree.structural = true
		masked := func(m *Masker, v corpusVisit) []string {
			var out []string
			events := decodeVisit(t, v)
			mr := NewMirror()
			for start := 0; start < len(events); start += 50 { // a batch every 50 events
				kept, fresh, err := mr.MaskBatch(m, events[start:min(start+50, len(events))], false)
				require.NoError(t, err)
				out = append(out, fmt.Sprintf("batch %d: %d kept, fresh %v, mirror %d", start, len(kept), fresh, mr.Len()))
				for _, e := range kept {
					b, err := jsonx.AppendRaw(nil, e.Tree)
					require.NoError(t, err)
					out = append(out, string(b))
				}
			}
			return out
		}
		marked := false
		for i, v := range visits {
			got := masked(lone, v)
			require.Equal(t, masked(&tree, v), got, "policy %+v, visit %d", p, i)
			marked = marked || strings.Contains(strings.Join(got, ""), `"`+markerAttr+`"`)
		}
		require.True(t, marked, "the selectors of %+v match somewhere in the corpus", p)
	}
}
