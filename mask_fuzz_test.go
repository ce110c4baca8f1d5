package replay

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/sessionreplay/replay/internal/jsonx"
	"github.com/sessionreplay/replay/internal/privacy"
	"github.com/sessionreplay/replay/internal/rrwebtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// domGen writes random but rrweb-shaped sessions: a page with forms,
// password and card inputs, .pii regions and .rr-block regions, then
// mutations (adds, removes, moves, class toggles, text changes), input
// events and checkouts. It keeps its own model of the page, so it knows
// which values a policy that masks .pii text and blocks .rr-block must never
// let through: those are secrets, and it records them.
type domGen struct {
	rng     *rand.Rand
	next    int
	nodes   map[int]*gnode
	body    *gnode
	ts      int
	secrets []string
	benign  []string
}

type gnode struct {
	id     int
	tag    string // "" for text
	class  string
	typ    string // input type
	auto   string // autocomplete
	text   string
	everPw bool
	parent *gnode
	kids   []*gnode
}

func newDomGen(seed uint64) *domGen {
	g := &domGen{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), next: 7, nodes: map[int]*gnode{}, ts: 1000} // id 6 is the style element
	g.body = &gnode{id: 5, tag: "body"}
	g.nodes[5] = g.body
	return g
}

var genWords = []string{"Add", "to", "cart", "Shipping", "Total", "Your", "order", "Free", "returns", "Size", "Colour", "Checkout"}

func (g *domGen) word() string { return genWords[g.rng.IntN(len(genWords))] }

func (g *domGen) secret() string {
	const letters = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz"
	b := []byte("Sx")
	for range 12 {
		b = append(b, letters[g.rng.IntN(len(letters))])
	}
	s := string(b)
	g.secrets = append(g.secrets, s)
	return s
}

func (g *domGen) benignText() string {
	s := g.word() + " " + g.word()
	g.benign = append(g.benign, s)
	return s
}

// hidden reports whether text placed under n must never be stored.
func (g *domGen) hidden(n *gnode) bool {
	for ; n != nil; n = n.parent {
		if strings.Contains(n.class, "pii") || strings.Contains(n.class, "rr-block") {
			return true
		}
	}
	return false
}

func (g *domGen) newNode(parent *gnode) *gnode {
	n := &gnode{id: g.next, parent: parent}
	g.next++
	g.nodes[n.id] = n
	switch r := g.rng.IntN(20); {
	case r < 7:
		n.tag = "" // text
		if g.hidden(parent) {
			n.text = g.secret()
		} else {
			n.text = g.benignText()
		}
	case r < 9:
		n.tag, n.typ = "input", "password"
		n.everPw = true
	case r < 10:
		n.tag, n.typ, n.auto = "input", "text", "cc-number"
	case r < 12:
		n.tag, n.typ = "input", "text"
	case r < 13:
		n.tag, n.class = "div", "pii"
	case r < 14:
		n.tag, n.class = "div", "rr-block"
	default:
		n.tag = []string{"div", "section", "form", "ul", "li", "span", "p", "label"}[g.rng.IntN(8)]
		if g.rng.IntN(4) == 0 {
			n.class = "box"
		}
	}
	parent.kids = append(parent.kids, n)
	return n
}

func (g *domGen) containers() []*gnode {
	var out []*gnode
	for _, n := range g.nodes {
		if n.tag != "" && n.tag != "input" {
			out = append(out, n)
		}
	}
	slices.SortFunc(out, func(a, b *gnode) int { return a.id - b.id })
	return out
}

func (g *domGen) pick(filter func(*gnode) bool) *gnode {
	var ids []int
	for id, n := range g.nodes {
		if n != g.body && filter(n) {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	slices.Sort(ids)
	return g.nodes[ids[g.rng.IntN(len(ids))]]
}

// grow adds n random nodes to the model.
func (g *domGen) grow(n int) {
	for range n {
		cs := g.containers()
		g.newNode(cs[g.rng.IntN(len(cs))])
	}
}

func (g *domGen) serialize(n *gnode) map[string]any {
	if n.tag == "" {
		if !g.hidden(n.parent) && strings.HasPrefix(n.text, "Sx") {
			n.text = g.benignText() // its region was unmasked: the page shows new text
		}
		return map[string]any{"type": 3, "textContent": n.text, "id": n.id}
	}
	attrs := map[string]any{}
	if n.class != "" {
		attrs["class"] = n.class
	}
	if n.tag == "input" {
		attrs["type"] = n.typ
		if n.auto != "" {
			attrs["autocomplete"] = n.auto
		}
		if n.everPw || n.auto != "" || g.hidden(n) {
			attrs["value"] = g.secret()
		} else {
			attrs["value"] = g.word()
		}
	}
	kids := []any{}
	for _, k := range n.kids {
		kids = append(kids, g.serialize(k))
	}
	return map[string]any{"type": 2, "tagName": n.tag, "attributes": attrs, "childNodes": kids, "id": n.id}
}

func (g *domGen) event(typ int, data any) string {
	g.ts += 1 + g.rng.IntN(50)
	b, err := json.Marshal(map[string]any{"type": typ, "data": data, "timestamp": g.ts})
	if err != nil {
		panic(err)
	}
	return string(b)
}

// snapshot returns Meta and FullSnapshot events of the model's page.
func (g *domGen) snapshot() []string {
	css := ".box{display:flex;padding:4px 8px}.pii{color:#333}/* rr_split */input[type=password]{letter-spacing:2px}"
	head := map[string]any{"type": 2, "tagName": "head", "attributes": map[string]any{}, "id": 4, "childNodes": []any{
		map[string]any{"type": 2, "tagName": "style", "attributes": map[string]any{"_cssText": css}, "id": 6, "childNodes": []any{}}}}
	doc := map[string]any{"type": 0, "id": 1, "childNodes": []any{
		map[string]any{"type": 1, "name": "html", "publicId": "", "systemId": "", "id": 2},
		map[string]any{"type": 2, "tagName": "html", "attributes": map[string]any{"lang": "en"}, "id": 3,
			"childNodes": []any{head, g.serialize(g.body)}},
	}}
	return []string{
		g.event(4, map[string]any{"href": "https://shop.example/checkout?step=2", "width": 1280, "height": 720}),
		g.event(2, map[string]any{"node": doc, "initialOffset": map[string]any{"left": 0, "top": 0}}),
	}
}

func (g *domGen) remove(n *gnode) {
	p := n.parent
	p.kids = slices.DeleteFunc(p.kids, func(k *gnode) bool { return k == n })
	var drop func(*gnode)
	drop = func(k *gnode) {
		delete(g.nodes, k.id)
		for _, c := range k.kids {
			drop(c)
		}
	}
	drop(n)
}

// adds serializes n's subtree as rrweb adds: each node without children.
func (g *domGen) adds(n *gnode, out *[]any) {
	s := g.serialize(n)
	s["childNodes"] = []any{}
	*out = append(*out, map[string]any{"parentId": n.parent.id, "nextId": nil, "node": s})
	for _, k := range n.kids {
		g.adds(k, out)
	}
}

// batch returns ops random events.
func (g *domGen) batch(ops int) []string {
	var events []string
	mutation := func(adds, removes, texts, attrs []any) {
		events = append(events, g.event(3, map[string]any{"source": 0, "adds": adds, "removes": removes, "texts": texts, "attributes": attrs}))
	}
	for range ops {
		switch r := g.rng.IntN(100); {
		case r < 25: // a new subtree
			cs := g.containers()
			parent := cs[g.rng.IntN(len(cs))]
			n := g.newNode(parent)
			for range g.rng.IntN(3) {
				if n.tag != "" && n.tag != "input" {
					g.newNode(n)
				}
			}
			var adds []any
			g.adds(n, &adds)
			mutation(adds, []any{}, []any{}, []any{})
		case r < 32: // a removal
			if n := g.pick(func(*gnode) bool { return true }); n != nil {
				mutation([]any{}, []any{map[string]any{"parentId": n.parent.id, "id": n.id}}, []any{}, []any{})
				g.remove(n)
			}
		case r < 40: // a move of a text node
			n := g.pick(func(n *gnode) bool { return n.tag == "" })
			if n == nil {
				continue
			}
			cs := g.containers()
			to := cs[g.rng.IntN(len(cs))]
			removes := []any{map[string]any{"parentId": n.parent.id, "id": n.id}}
			n.parent.kids = slices.DeleteFunc(n.parent.kids, func(k *gnode) bool { return k == n })
			n.parent = to
			to.kids = append(to.kids, n)
			if g.hidden(to) {
				n.text = g.secret()
			} else {
				n.text = g.benignText()
			}
			var adds []any
			g.adds(n, &adds)
			mutation(adds, removes, []any{}, []any{})
		case r < 52: // a class toggle of .pii
			n := g.pick(func(n *gnode) bool { return n.tag != "" && n.tag != "input" && !strings.Contains(n.class, "rr-block") })
			if n == nil {
				continue
			}
			if strings.Contains(n.class, "pii") {
				n.class = "box"
			} else {
				n.class = "box pii"
			}
			mutation([]any{}, []any{}, []any{}, []any{map[string]any{"id": n.id, "attributes": map[string]any{"class": n.class}}})
		case r < 72: // a text change
			n := g.pick(func(n *gnode) bool { return n.tag == "" })
			if n == nil {
				continue
			}
			if g.hidden(n.parent) {
				n.text = g.secret()
			} else {
				n.text = g.benignText()
			}
			mutation([]any{}, []any{}, []any{map[string]any{"id": n.id, "value": n.text}}, []any{})
		case r < 94: // typing
			n := g.pick(func(n *gnode) bool { return n.tag == "input" })
			if n == nil {
				continue
			}
			text := g.word()
			if n.everPw || n.auto != "" || g.hidden(n) {
				text = g.secret()
			}
			events = append(events, g.event(3, map[string]any{"source": 5, "id": n.id, "text": text, "isChecked": false}))
		default: // show password
			n := g.pick(func(n *gnode) bool { return n.typ == "password" })
			if n == nil {
				continue
			}
			n.typ = "text"
			mutation([]any{}, []any{}, []any{}, []any{map[string]any{"id": n.id, "attributes": map[string]any{"type": "text"}}})
		}
	}
	return events
}

// session returns the batches of one window: a page, then batches of
// changes, with a checkout in the middle.
func (g *domGen) session(nodes, batches, ops int) [][]string {
	g.grow(nodes)
	out := [][]string{append(g.snapshot(), g.batch(ops)...)}
	for i := 1; i < batches; i++ {
		var b []string
		if i == batches/2 {
			b = g.snapshot()
		}
		out = append(out, append(b, g.batch(ops)...))
	}
	return out
}

// genPolicies all mask .pii text and block .rr-block, each in its own way.
var genPolicies = map[string]*Policy{
	"default":     {MaskAllInputs: true, MaskTextSelector: ".rr-mask, [data-private], .pii", BlockSelector: "iframe, frame, object, embed, .rr-block", Scrub: []string{"card"}},
	"inputs off":  {MaskTextSelector: ".pii", BlockSelector: ".rr-block"},
	"combinators": {MaskTextSelector: "body .pii, div.pii, section .pii, .box.pii", BlockSelector: "body .rr-block, div.rr-block", Scrub: []string{"email"}},
	"siblings":    {MaskTextSelector: ".pii, .box + .pii, li:first-child .pii", BlockSelector: "div.rr-block", MaskInputTypes: []string{"email"}},
}

// TestMaskPropertyNoSecretStored runs random sessions through every policy,
// with one Recorder and with Recorders that restart or take turns, and
// checks that no secret is ever stored and that all of them mask alike.
func TestMaskPropertyNoSecretStored(t *testing.T) {
	for name, p := range genPolicies {
		for seed := uint64(1); seed <= 4; seed++ {
			t.Run(fmt.Sprintf("%s/seed=%d", name, seed), func(t *testing.T) {
				g := newDomGen(seed)
				batches := g.session(150, 8, 25)

				one := newPrivEnv(t, p)
				for seq, b := range batches {
					one.ingest(one.r, "w1", seq, b...)
				}
				stored := one.stored()
				for _, s := range g.secrets {
					if i := strings.Index(stored, s); i >= 0 {
						t.Errorf("secret %s stored: …%s…", s, stored[max(0, i-300):min(len(stored), i+100)])
						break
					}
				}
				found := 0
				for _, s := range g.benign {
					if strings.Contains(stored, s) {
						found++
					}
				}
				assert.Greater(t, found, len(g.benign)/4, "benign text survives")

				turns := newPrivEnv(t, p)
				rs := []*Recorder{turns.recorder(), turns.recorder()}
				for seq, b := range batches {
					r := rs[seq%2]
					if seq == 5 {
						r = turns.recorder() // a restart
					}
					turns.ingest(r, "w1", seq, b...)
				}
				assertSameBytes(t, stored, turns.stored(), "Recorders taking turns mask as one does")
			})
		}
	}
}

// TestMaskPropertyOutOfOrderNoSecretStored ingests the random sessions with
// batches overtaking each other and one never arriving: gaps fail closed,
// so no secret is stored whatever the order.
func TestMaskPropertyOutOfOrderNoSecretStored(t *testing.T) {
	orders := map[string][]int{
		"swapped pairs": {0, 2, 1, 4, 3, 6, 5, 7},
		"one lost":      {0, 1, 2, 4, 5, 6, 7},
		"late first":    {0, 7, 6, 5, 4, 3, 2, 1},
	}
	for name, p := range genPolicies {
		for oname, order := range orders {
			for seed := uint64(1); seed <= 3; seed++ {
				t.Run(fmt.Sprintf("%s/%s/seed=%d", name, oname, seed), func(t *testing.T) {
					g := newDomGen(seed)
					batches := g.session(150, 8, 25)
					env := newPrivEnv(t, p)
					for i, seq := range order {
						r := env.r
						if i%3 == 2 {
							r = env.recorder() // another process
						}
						env.ingest(r, "w1", seq, batches[seq]...)
					}
					stored := env.stored()
					for _, s := range g.secrets {
						if i := strings.Index(stored, s); i >= 0 {
							t.Errorf("secret %s stored: …%s…", s, stored[max(0, i-300):min(len(stored), i+100)])
							break
						}
					}
				})
			}
		}
	}
}

// FuzzMask masks one arbitrary event on a page with a password input
// (id 10), then an Input event typed into it: whatever the event was (a new
// snapshot, a mutation that moves, retypes or re-adds the input, a client
// rr_mask attribute...), nothing panics, the masked event is JSON, and the
// password is masked.
func FuzzMask(f *testing.F) {
	g := newDomGen(7)
	for _, b := range g.session(30, 3, 10) {
		for _, ev := range b {
			var e struct {
				Type int             `json:"type"`
				Data json.RawMessage `json:"data"`
			}
			if json.Unmarshal([]byte(ev), &e) == nil {
				f.Add(e.Type, string(e.Data))
			}
		}
	}
	for _, e := range rrwebtest.RecordedEvents("testdata/recordings", 64<<10) {
		f.Add(e.Type, e.Data)
	}
	f.Add(3, `{"source":0,"adds":[{"parentId":5,"nextId":null,"node":{"type":2,"tagName":"input","attributes":{"type":"text","rr_mask":""},"childNodes":[],"id":10}}],"removes":[{"parentId":5,"id":10}],"texts":[],"attributes":[{"id":10,"attributes":{"type":"text","rr_mask":null}}]}`)
	const secret = "FuzzPasswordSecret"
	policies := []*Policy{DefaultPolicy(), genPolicies["inputs off"], genPolicies["siblings"]}
	f.Fuzz(func(t *testing.T, typ int, data string) {
		if !json.Valid([]byte(data)) || len(data) == 0 || data[0] != '{' {
			return
		}
		for _, p := range policies {
			m, err := p.compile()
			require.NoError(t, err)
			mr := privacy.NewMirror()
			var page Event
			require.NoError(t, json.Unmarshal([]byte(psnap(pel(10, "input", `"type":"password"`), pel(11, "p", `"class":"pii rr-mask"`, ptxt(12, "x")))), &page))
			_, _, err = mr.MaskBatch(m, privacyEvents([]Event{page}), false)
			require.NoError(t, err)

			kept, _, err := mr.MaskBatch(m, []privacy.Event{{Type: typ, Data: json.RawMessage(data)}}, false)
			if err != nil {
				continue // not an object the decoder takes: Ingest refuses it
			}
			for _, e := range kept {
				require.True(t, json.Valid(e.Data), "masked data is JSON: %s", e.Data)
			}

			var in Event
			require.NoError(t, json.Unmarshal([]byte(pinput(10, secret)), &in))
			kept, _, err = mr.MaskBatch(m, privacyEvents([]Event{in}), false)
			require.NoError(t, err)
			require.Len(t, kept, 1)
			require.NotContains(t, string(kept[0].Data), secret)
		}
	})
}

// assertSameBytes reports where two long strings first differ.
func assertSameBytes(t *testing.T, want, got, msg string) {
	t.Helper()
	if want == got {
		return
	}
	i := 0
	for i < len(want) && i < len(got) && want[i] == got[i] {
		i++
	}
	t.Errorf("%s: they differ at byte %d:\nwant …%s…\ngot  …%s…", msg, i,
		want[max(0, i-200):min(len(want), i+100)], got[max(0, i-200):min(len(got), i+100)])
}

// FuzzMaskArbitraryValues puts an arbitrary JSON value into every
// attribute position (snapshot, added node, attribute change) of elements
// whose values are masked, and then into the positions the masker does not
// model (an unknown top-level key, an unknown source, a plugin payload, a
// canvas argument). Objects and arrays in attributes are refused with a
// ValidationError naming the attribute; anything else is accepted, stored
// as JSON, a string or number in a masked position is not stored as sent,
// and the unknown top-level key is not stored.
func FuzzMaskArbitraryValues(f *testing.F) {
	for _, v := range []string{`"hunter2"`, `["hunter2"]`, `{"a":"hunter2"}`, `4111111111111111`, `true`, `null`, `"  "`, `"\u003cb\u003e"`, `1e400`} {
		f.Add(v, "note")
	}
	f.Add(`"x"`, "delay")
	f.Add(`1000`, "0") // the digits of a timestamp
	f.Fuzz(func(t *testing.T, v, key string) {
		if !json.Valid([]byte(v)) || len(v) > 1<<12 {
			return
		}
		var decoded any
		if json.Unmarshal([]byte(v), &decoded) != nil {
			return
		}
		env := newPrivEnv(t, DefaultPolicy())
		first := []string{pMeta,
			psnap(pel(10, "input", `"type":"password","value":`+v), pel(11, "div", `"class":"rr-mask","title":`+v, pel(13, "canvas", ""))),
			pmut(`"texts":[],"removes":[],"adds":[{"parentId":5,"nextId":null,"node":` + pel(20, "input", `"type":"password","value":`+v) + `}],"attributes":[{"id":10,"attributes":{"value":` + v + `,"title":` + v + `}}]`),
		}
		err := env.tryIngest(env.r, "w1", 0, first...)
		switch decoded.(type) {
		case map[string]any, []any:
			var ve *ValidationError
			require.ErrorAs(t, err, &ve)
			require.Contains(t, ve.Path, "attributes.")
			return
		}
		if err != nil {
			var ve *ValidationError
			require.ErrorAs(t, err, &ve, "only validation errors")
			return
		}
		stored := env.stored()
		switch d := decoded.(type) {
		case string:
			if len(d) >= 4 && rrwebMaskText(d) != d {
				enc := string(jsonx.AppendString(nil, d))
				require.NotContains(t, stored, enc[1:len(enc)-1], "a masked value is not stored as sent")
			}
		case float64:
			// The digits may stand elsewhere (in a timestamp): look for
			// them as the value of the masked attributes.
			n := strings.TrimSpace(v)
			for _, k := range []string{"value", "title"} {
				for _, as := range []string{n, `"` + n + `"`} {
					require.NotContains(t, stored, `"`+k+`":`+as, "a masked value is not stored as sent")
				}
			}
		}

		k, _ := json.Marshal(key)
		second := []string{
			`{"type":3,"data":{"source":1,"positions":[]},"timestamp":1300,` + string(k) + `:` + v + `}`,
			`{"type":3,"data":{"source":42,"id":13,"f":` + v + `},"timestamp":1301}`,
			`{"type":6,"data":{"plugin":"acme/x@1","payload":` + v + `},"timestamp":1302}`,
			`{"type":3,"data":{"source":9,"id":13,"type":0,"property":"fillText","args":[` + v + `]},"timestamp":1303}`,
		}
		if err := env.tryIngest(env.r, "w1", 1, second...); err != nil {
			var ve *ValidationError
			require.ErrorAs(t, err, &ve, "only validation errors")
			return
		}
		var events []map[string]any
		require.NoError(t, json.Unmarshal([]byte(env.read()), &events), "the read API serves JSON")
		for _, e := range events {
			if key != "type" && key != "data" && key != "timestamp" && !privacy.KeptEventKey(key, []byte(v)) {
				require.NotContains(t, e, key, "an unknown top-level key is dropped")
			}
		}
	})
}
