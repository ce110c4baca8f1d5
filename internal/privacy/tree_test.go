package privacy

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/sessionreplay/replay/internal/jsonx"
	"github.com/sessionreplay/replay/internal/rrwebtest"
	"github.com/stretchr/testify/require"
)

// FuzzTreeMaskMatchesData masks one arbitrary event after a page, once
// from its data (decoded and encoded whole, as MaskBatch does without a
// tree) and once on a tree given with it, written with jsonx.AppendRaw,
// which copies the text of the objects masking did not change: the two
// must be the same JSON value, so that nothing masking changed in place
// without recording it is stored as it came.
func FuzzTreeMaskMatchesData(f *testing.F) {
	for _, s := range []struct {
		typ  int
		data string
	}{
		{3, `{"source":0,"texts":[{"id":12,"value":"typed secret"}],"attributes":[{"id":11,"attributes":{"title":"a secret title","class":"x"}}],"removes":[],"adds":[{"parentId":11,"nextId":null,"node":{"type":3,"textContent":"added secret","id":40}},{"parentId":11,"nextId":null,"node":{"type":2,"tagName":"input","attributes":{"value":"v secret","type":"text"},"childNodes":[],"id":41}}]}`},
		{3, `{"source":5,"id":10,"text":"hunter2","isChecked":false}`},
		{3, `{"source":9,"id":13,"type":0,"property":"fillText","args":["card 4111111111111111",1,2]}`},
		{3, `{"source":42,"id":12,"nested":{"deep":[{"id":11,"x":"4111111111111111"}],"keep":{"a":1}}}`},
		{3, `{"source":11,"level":"log","payload":["\"4111111111111111\"","{\"a\":\"b\"}"],"trace":["at x"]}`},
		{6, `{"plugin":"rrweb/console@1","payload":{"level":"error","payload":["\"mail me@example.com\""],"trace":["f (https://x/?token=1)"]}}`},
		{6, `{"plugin":"acme/x@1","payload":{"email":"me@example.com","n":[1,{"c":"4111111111111111"}]}}`},
		{5, `{"tag":"$pageview","payload":{"href":"https://x/?q=1","list":["me@example.com",{"k":"v"}]}}`},
		{4, `{"href":"https://x/?token=abc","width":1,"height":2}`},
		{9, `{"whatever":{"a":["me@example.com"]},"id":12}`},
		{2, `{"node":{"type":0,"childNodes":[{"type":2,"tagName":"html","attributes":{},"childNodes":[{"type":2,"tagName":"body","attributes":{"style":"a"},"childNodes":[{"type":2,"tagName":"input","attributes":{"type":"password","value":"pw secret"},"childNodes":[],"id":5},{"type":2,"tagName":"p","attributes":{"class":"rr-mask"},"childNodes":[{"type":3,"textContent":"masked secret","id":7}],"id":6},{"type":2,"tagName":"style","attributes":{"_cssText":"a  {  color : red }"},"childNodes":[],"id":8}],"id":4}],"id":3}],"id":1},"initialOffset":{"left":0,"top":0}}`},
	} {
		f.Add(s.typ, s.data)
	}
	for _, e := range rrwebtest.RecordedEvents("../../testdata/recordings", 64<<10) {
		f.Add(e.Type, e.Data)
	}
	page := psnap(pel(10, "input", `"type":"password"`), pel(11, "p", `"class":"pii rr-mask"`, ptxt(12, "x")), pel(13, "canvas", ""), pel(14, "div", "", ptxt(15, "plain")))
	var policies []*Masker
	for _, p := range []*Policy{
		{MaskAllInputs: true, MaskTextSelector: ".rr-mask", BlockSelector: ".rr-block", Scrub: []string{"card", "email"}, ScrubQueryParams: []string{"token", "q"}},
		{MaskTextSelector: "p + div, div:first-child", Scrub: []string{"email"}},
	} {
		m, err := Compile(p)
		require.NoError(f, err)
		policies = append(policies, m)
	}
	f.Fuzz(func(t *testing.T, typ int, data string) {
		if !json.Valid([]byte(data)) || len(data) == 0 || data[0] != '{' {
			return
		}
		if typ == incrementalSnapshot {
			v, err := jsonx.Decode([]byte(data))
			if err != nil {
				return
			}
			s1, ok1 := peekSource([]byte(data))
			s2, ok2 := treeSource(v.(*jsonx.Object))
			if s1 != s2 || ok1 != ok2 {
				return // a source given twice, the last one null: the tree masks it as unknown
			}
		}
		for _, m := range policies {
			run := func(withTree bool) (out []byte, ok bool) {
				mr := NewMirror()
				var pe Event
				require.NoError(t, json.Unmarshal([]byte(page), &pe))
				_, _, err := mr.MaskBatch(m, []Event{pe}, false)
				require.NoError(t, err)
				e := Event{Type: typ, Data: json.RawMessage(data)}
				if withTree {
					v, err := jsonx.Decode([]byte(data))
					if err != nil {
						return nil, false
					}
					e.Tree = v.(*jsonx.Object)
				}
				kept, _, err := mr.MaskBatch(m, []Event{e}, false)
				if err != nil {
					return nil, false
				}
				if len(kept) == 0 {
					return []byte("dropped"), true
				}
				if !withTree {
					return kept[0].Data, true
				}
				out, err = jsonx.AppendRaw(nil, kept[0].Tree)
				require.NoError(t, err)
				return out, true
			}
			fromData, ok1 := run(false)
			fromTree, ok2 := run(true)
			require.Equal(t, ok1, ok2)
			if !ok1 {
				continue
			}
			require.Equal(t, jsonAny(t, fromData), jsonAny(t, fromTree), "from data: %s\nfrom tree: %s", fromData, fromTree)
		}
	})
}

// jsonAny decodes JSON text for comparison as a value, numbers as written.
func jsonAny(t *testing.T, b []byte) any {
	if string(b) == "dropped" {
		return "dropped"
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	require.NoError(t, dec.Decode(&v), "%s", b)
	return v
}
