package replay

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/sessionreplay/replay/internal/cssrules"
	"github.com/sessionreplay/replay/storage/memstore"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tdewolff/minify/v2"
	"github.com/tdewolff/minify/v2/css"
)

// A sheet as a browser serializes cssRules (what rrweb puts in _cssText):
// empty rules, an empty @supports, nested rules and declarations after them.
const ruleIndexCSS = ".a { }\n.b { color: red; }\n@media print {\n  .c { }\n}\n@supports (display: grid) { }\n" +
	".d { top: 0px; }\n.e { color: red; &:hover { } margin: 0px; }"

// ruleIndexEvents change the sheet of node 5 by rule index, as rrweb
// records insertRule, deleteRule and setProperty, on rules that follow
// empty rules and empty at-rules.
var ruleIndexEvents = []string{
	`{"source":8,"id":5,"removes":[{"index":1}]}`,                                                       // .b
	`{"source":8,"id":5,"adds":[{"rule":".f { left: 1px; }","index":[1,1]}]}`,                           // after .c in @media print
	`{"source":13,"id":5,"index":[3],"set":{"property":"color","value":"blue","priority":"important"}}`, // .d
	`{"source":13,"id":5,"index":[3],"remove":{"property":"top"}}`,                                      // .d
	`{"source":8,"id":5,"adds":[{"rule":".g { }","index":[2,0]}]}`,                                      // into @supports
	`{"source":13,"id":5,"index":[4,1],"set":{"property":"padding","value":"2px"}}`,                     // .e's nested declarations
	`{"source":8,"id":5,"adds":[{"rule":".h { }","index":5}],"removes":[{"index":[1,0]}]}`,              // append; drop .c
	`{"source":8,"id":5,"adds":[{"rule":"@media screen { }"}]}`,                                         // no index: at 0
	`{"source":8,"id":5,"adds":[{"rule":".i { }","index":[0,0]}]}`,                                      // into the new @media
}

// applyRuleEvent changes sheet as rrweb 2.2.2's replayer applies a
// StyleSheetRule or StyleDeclaration event (applyStyleSheetRule,
// applyStyleDeclaration): errors are ignored, as the replayer ignores them.
func applyRuleEvent(t *testing.T, sheet *cssrules.Sheet, e *Event) {
	t.Helper()
	src, err := e.Source()
	require.NoError(t, err)
	switch src {
	case SourceStyleSheetRule:
		d, err := e.StyleSheetRule()
		require.NoError(t, err)
		for _, a := range d.Adds {
			switch idx := a.Index.(type) {
			case nil:
				_ = sheet.InsertRule(nil, a.Rule, 0)
			case float64:
				_ = sheet.InsertRule(nil, a.Rule, min(int(idx), len(sheet.Rules)))
			case []any:
				if path := indexPath(t, idx); len(path) > 1 {
					_ = sheet.InsertRule(path[:len(path)-1], a.Rule, path[len(path)-1])
				}
			}
		}
		for _, r := range d.Removes {
			switch idx := r.Index.(type) {
			case float64:
				_ = sheet.DeleteRule(nil, int(idx))
			case []any:
				if path := indexPath(t, idx); len(path) > 1 {
					_ = sheet.DeleteRule(path[:len(path)-1], path[len(path)-1])
				}
			}
		}
	case SourceStyleDeclaration:
		d, err := e.StyleDeclaration()
		require.NoError(t, err)
		r := sheet.Rule(d.Index)
		if r == nil {
			return
		}
		if d.Set != nil {
			value := ""
			if d.Set.Value != nil {
				value = *d.Set.Value
			}
			r.SetProperty(d.Set.Property, value, d.Set.Priority)
		}
		if d.Remove != nil {
			r.RemoveProperty(d.Remove.Property)
		}
	}
}

func indexPath(t *testing.T, idx []any) []int {
	t.Helper()
	path := make([]int, len(idx))
	for i, v := range idx {
		f, ok := v.(float64)
		require.True(t, ok, "index %v", idx)
		path[i] = int(f)
	}
	return path
}

// replayRules parses css and applies the rule events to it.
func replayRules(t *testing.T, css string, events []Event) *cssrules.Sheet {
	t.Helper()
	sheet, err := cssrules.Parse(css)
	require.NoError(t, err, "%q", css)
	for i := range events {
		applyRuleEvent(t, sheet, &events[i])
	}
	return sheet
}

// findCSSText returns the _cssText of the node with id in a snapshot.
func findCSSText(n *Node, id int) (string, bool) {
	if n.ID == id {
		s, ok := n.Attributes["_cssText"].(string)
		return s, ok
	}
	for i := range n.ChildNodes {
		if s, ok := findCSSText(&n.ChildNodes[i], id); ok {
			return s, true
		}
	}
	return "", false
}

// What the Recorder stores for a style sheet keeps its rule list: rrweb's
// rule-index events replayed on the stored sheet reach the same rules as on
// the recorded one.
func TestStoredStyleSheetKeepsRuleIndices(t *testing.T) {
	sites, err := NewStaticSites(&Site{ID: "shop"})
	require.NoError(t, err)
	rec, err := New(memstore.New(), sites, nil)
	require.NoError(t, err)
	ctx := context.Background()

	cssText, err := json.Marshal(ruleIndexCSS)
	require.NoError(t, err)
	events := []string{
		metaEv(0, "https://shop.example/"),
		fmt.Sprintf(`{"type":2,"data":{"node":{"type":0,"id":1,"childNodes":[{"type":2,"tagName":"html","id":2,"attributes":{},"childNodes":[`+
			`{"type":2,"tagName":"head","id":3,"attributes":{},"childNodes":[{"type":2,"tagName":"style","id":5,"attributes":{"_cssText":%s},"childNodes":[]}]},`+
			`{"type":2,"tagName":"body","id":4,"attributes":{},"childNodes":[]}]}]},"initialOffset":{"left":0,"top":0}},"timestamp":%d}`, cssText, t0+1),
	}
	for i, d := range ruleIndexEvents {
		events = append(events, fmt.Sprintf(`{"type":3,"data":%s,"timestamp":%d}`, d, t0+10+i))
	}
	b := mkBatch(t, "visit-0001", "w1", 0, events...)
	recorded := append([]Event(nil), b.Events[2:]...)
	_, err = rec.Ingest(ctx, b, Client{})
	require.NoError(t, err)

	var out bytes.Buffer
	require.NoError(t, rec.Events(ctx, "shop", "visit-0001", "", &out))
	var stored []Event
	require.NoError(t, json.Unmarshal(out.Bytes(), &stored))
	require.Len(t, stored, len(events))
	snap, err := stored[1].FullSnapshot()
	require.NoError(t, err)
	storedCSS, ok := findCSSText(&snap.Node, 5)
	require.True(t, ok, "the style element is stored")
	assert.Less(t, len(storedCSS), len(ruleIndexCSS), "the stored sheet is minified: %q", storedCSS)

	want := replayRules(t, ruleIndexCSS, recorded)
	got := replayRules(t, storedCSS, stored[2:])
	assert.Equal(t, "at @media screen {}\n  style .i {}\nstyle .a {}\nat @media print {}\n  style .f {} left\n"+
		"at @supports (display: grid) {}\n  style .g {}\nstyle .d {} color!\nstyle .e {} color\n  style &:hover {}\n"+
		"  nested-declarations margin padding\nstyle .h {}\n", want.Outline(), "the events reach the rules they meant")
	assert.Equal(t, want.Outline(), got.Outline(), "the stored sheet replays as the recorded one")
	assert.Equal(t, []cssrules.Declaration{{Property: "color", Value: "blue", Important: true}}, got.Rule([]int{4}).Style)

	// The minifier used before drops the empty rules: the same events then
	// reach other rules, which this test sees.
	m := minify.New()
	m.AddFunc("text/css", css.Minify)
	oldCSS, err := m.String("text/css", ruleIndexCSS)
	require.NoError(t, err)
	assert.NotEqual(t, want.Outline(), replayRules(t, oldCSS, recorded).Outline(), "tdewolff's CSS minifier alone: %q", oldCSS)
}
