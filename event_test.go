package replay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sessionreplay/replay/storage/memstore"
)

// The recordings in testdata/recordings were made with rrweb 2.2.2 in
// Chromium by `go run ./internal/fixtures`.

// recording returns the events of a recorded page, as rrweb emitted them.
func recording(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "recordings", name+".json"))
	require.NoError(t, err)
	return data
}

// recordings lists the recorded pages.
func recordings(t testing.TB) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "recordings", "*.json"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	var names []string
	for _, f := range files {
		names = append(names, strings.TrimSuffix(filepath.Base(f), ".json"))
	}
	return names
}

// batchBody wraps events (a JSON array) in an ingest body.
func batchBody(events string) []byte {
	return []byte(`{"site":"demo","session":"sess-0001","window":"w1","seq":0,"events":` + events + `}`)
}

// jsonValue decodes JSON text for comparison as a value.
func jsonValue(t testing.TB, data []byte) any {
	t.Helper()
	var v any
	require.NoError(t, json.Unmarshal(data, &v), "%s", data)
	return v
}

func TestDecodeBatchRecordingsRoundTrip(t *testing.T) {
	for _, name := range recordings(t) {
		if strings.HasSuffix(name, "-packed") {
			continue // packer_test.go
		}
		t.Run(name, func(t *testing.T) {
			events := recording(t, name)
			b, err := DecodeBatch(batchBody(string(events)))
			require.NoError(t, err)
			require.NoError(t, b.Validate())
			out, err := json.Marshal(b.Events)
			require.NoError(t, err)
			assert.Equal(t, jsonValue(t, events), jsonValue(t, out))
		})
	}
}

func TestRecordingsStaySmall(t *testing.T) {
	for _, name := range recordings(t) {
		assert.Less(t, len(recording(t, name)), 200<<10, name)
	}
}

func TestDecodeBatchFields(t *testing.T) {
	b, err := DecodeBatch([]byte(`{"site":"demo","session":"sess-0001","window":"w-1","seq":7,
		"attrs":{"userId":"u1","plan":"pro"},"events":[],"future":{"x":[1,2]}}`))
	require.NoError(t, err)
	assert.Equal(t, "demo", b.Site)
	assert.Equal(t, "sess-0001", b.Session)
	assert.Equal(t, "w-1", b.Window)
	assert.Equal(t, 7, b.Seq)
	assert.Equal(t, map[string]string{"userId": "u1", "plan": "pro"}, b.Attrs)
	assert.Empty(t, b.Events)
	assert.Greater(t, b.Bytes, 100)
	assert.NoError(t, b.Validate())
}

func TestDecodeBatchKeepsUnknownsLosslessly(t *testing.T) {
	events := `[
	 {"type":7,"data":{"url":"https://x.test/a.css","payload":{"rr_type":"CssText","cssTexts":["a{}"]}},"timestamp":1718000000000},
	 {"type":99,"data":{"whatever":[1,{"deep":null}]},"timestamp":1718000000001.25,"future":true},
	 {"type":3,"data":{"source":42,"novel":{"a":"b"}},"timestamp":1718000000002,"_sid":12,"delay":-3.5},
	 {"type":3,"data":{"source":2,"type":2,"id":-1,"x":310.5,"y":2e2,"pointerType":0,"extra":"kept"},"timestamp":1718000000003.5},
	 {"type":3,"data":{"source":5,"id":9,"text":"\u00e9\ud83d\ude00\"\\","isChecked":false,"newField":[]},"timestamp":1.718e12},
	 {"type":0,"data":{},"timestamp":0},
	 {"type":2,"data":{"node":{"type":0,"childNodes":[{"type":2,"tagName":"p","attributes":{"rr_scrollTop":10.5,"checked":true},
	    "childNodes":[],"id":2,"futureNodeField":{"z":1}}],"id":1,"compatMode":"BackCompat"},"initialOffset":{"left":0,"top":1.5}},"timestamp":5}
	]`
	b, err := DecodeBatch(batchBody(events))
	require.NoError(t, err)
	require.NoError(t, b.Validate())
	assert.Equal(t, EventType(99), b.Events[1].Type)
	assert.Equal(t, 1718000000001.25, b.Events[1].Timestamp)
	assert.JSONEq(t, `true`, string(b.Events[1].Extra["future"]))
	assert.JSONEq(t, `12`, string(b.Events[2].Extra["_sid"]))
	out, err := json.Marshal(b.Events)
	require.NoError(t, err)
	assert.Equal(t, jsonValue(t, []byte(events)), jsonValue(t, out))
}

func TestDecodeBatchErrors(t *testing.T) {
	ev := func(s string) string { return string(batchBody("[" + s + "]")) }
	ok := `{"type":4,"data":{"href":"https://x.test/"},"timestamp":1}`
	tests := []struct {
		name, body, want string
	}{
		{"not an object", `[]`, "body: want a JSON object"},
		{"not JSON", `{"site":`, "body: invalid JSON: unexpected end of JSON input at offset 8"},
		{"trailing garbage", `{"events":[]} x`, "body: invalid JSON: invalid character 'x' after top-level value at offset 14"},
		{"site not a string", `{"site":1,"events":[]}`, "site: want a string"},
		{"session not a string", `{"session":null,"events":[]}`, "session: want a string"},
		{"negative seq", `{"seq":-1,"events":[]}`, "seq: want an integer >= 0"},
		{"fractional seq", `{"seq":1.5,"events":[]}`, "seq: want an integer >= 0"},
		{"seq as a string", `{"seq":"1","events":[]}`, "seq: want an integer >= 0"},
		{"attr not a string", `{"attrs":{"userId":"u","plan":1},"events":[]}`, "attrs.plan: want a string"},
		{"long attr name abbreviated", `{"attrs":{"` + strings.Repeat("k", 100) + `":1},"events":[]}`, "attrs." + strings.Repeat("k", 64) + "...: want a string"},
		{"attrs not an object", `{"attrs":["x"],"events":[]}`, "attrs: want an object of strings"},
		{"events missing", `{"site":"demo"}`, "events: missing"},
		{"events not an array", `{"events":{}}`, "events: want an array"},
		{"event not an object", ev(ok + `,1`), "events[1]: want an object"},
		{"type as a string", ev(`{"type":"3","data":{},"timestamp":1}`), "events[0].type: want an integer"},
		{"fractional type", ev(`{"type":3.5,"data":{},"timestamp":1}`), "events[0].type: want an integer"},
		{"type missing", ev(`{"data":{},"timestamp":1}`), "events[0].type: missing"},
		{"timestamp as a string", ev(ok + `,` + ok + `,` + ok + `,{"type":3,"data":{},"timestamp":"now"}`), "events[3].timestamp: want a number"},
		{"timestamp missing", ev(`{"type":3,"data":{}}`), "events[0].timestamp: missing"},
		{"timestamp out of range", ev(`{"type":3,"data":{},"timestamp":1e999}`), "events[0]: invalid JSON: number 1e999 out of range at offset 101"},
		{"data not an object", ev(`{"type":3,"data":[],"timestamp":1}`), "events[0].data: want an object"},
		{"data missing", ev(`{"type":0,"timestamp":1}`), "events[0].data: missing"},
		{"bad JSON in an event", ev(ok + `,{"type":3,"data":{"a":tru},"timestamp":1}`), "events[1]: invalid JSON: invalid character '}' at offset 153"},
		{"bad escape", ev(`{"type":3,"data":{"a":"\x"},"timestamp":1}`), "events[0]: invalid JSON: invalid escape in string at offset 93"},
		{"control character in a string", ev("{\"type\":3,\"data\":{\"a\":\"\n\"},\"timestamp\":1}"), `events[0]: invalid JSON: invalid character '\n' in string literal at offset 92`},
		{"packed event not latin1", ev(`"x€"`), "events[0]: packed event: character U+20AC at 1 is not a byte"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeBatch([]byte(tt.body))
			var ve *ValidationError
			require.ErrorAs(t, err, &ve)
			assert.Equal(t, tt.want, err.Error())
		})
	}
}

func TestDecodeBatchLimitsEvents(t *testing.T) {
	ev := `{"type":0,"data":{},"timestamp":1}`
	events := "[" + strings.Repeat(ev+",", MaxBatchEvents) + ev + "]"
	_, err := DecodeBatch(batchBody(events))
	assert.EqualError(t, err, "events: more than 100000 events")

	events = "[" + strings.Repeat(ev+",", MaxBatchEvents-1) + ev + "]"
	b, err := DecodeBatch(batchBody(events))
	require.NoError(t, err)
	assert.Len(t, b.Events, MaxBatchEvents)
}

func TestDecodeBatchDeepJSONIsAnError(t *testing.T) {
	deep := strings.Repeat("[", 20000) + strings.Repeat("]", 20000)
	_, err := DecodeBatch(batchBody(`[{"type":99,"data":{"a":` + deep + `},"timestamp":1}]`))
	var ve *ValidationError
	require.ErrorAs(t, err, &ve)
	assert.Contains(t, err.Error(), "events[0]: invalid JSON: exceeded max depth")
}

// nested returns a FullSnapshot whose nodes are nested depth deep.
func nested(depth int) string {
	var b strings.Builder
	b.WriteString(`{"type":2,"timestamp":1,"data":{"initialOffset":{"left":0,"top":0},"node":`)
	for i := range depth {
		fmt.Fprintf(&b, `{"type":2,"tagName":"div","attributes":{},"id":%d,"childNodes":[`, i+1)
	}
	b.WriteString(strings.Repeat("]}", depth))
	b.WriteString(`}}`)
	return b.String()
}

func TestValidate(t *testing.T) {
	ev := func(s string) string { return "[" + s + "]" }
	ok := `{"type":4,"data":{"href":"https://x.test/","width":1024,"height":700},"timestamp":1}`
	inc := func(data string) string { return ev(`{"type":3,"timestamp":1,"data":` + data + `}`) }
	tests := []struct {
		name, events, want string // want "" means valid
	}{
		{"unknown type passes", ev(`{"type":99,"data":{"source":"x"},"timestamp":1}`), ""},
		{"unknown source passes", inc(`{"source":42,"id":"x"}`), ""},
		{"asset event passes", ev(`{"type":7,"data":{"url":"u","failed":{"message":"m"}},"timestamp":1}`), ""},
		{"negative and float numbers pass", inc(`{"source":2,"type":2,"id":-1,"x":1.5,"y":-0.25}`), ""},
		{"integral float id passes", inc(`{"source":3,"id":5.0,"x":0,"y":0}`), ""},

		{"meta href missing", ev(`{"type":4,"data":{"width":1},"timestamp":1}`), "events[0].data.href: missing, want a string"},
		{"meta href not a string", ev(ok + `,{"type":4,"data":{"href":1},"timestamp":1}`), "events[1].data.href: want a string"},
		{"meta width not a number", ev(`{"type":4,"data":{"href":"h","width":"1"},"timestamp":1}`), "events[0].data.width: want a number"},

		{"source missing", inc(`{"id":1}`), "events[0].data.source: missing, want an integer"},
		{"source not a number", inc(`{"source":"0"}`), "events[0].data.source: want an integer"},
		{"source fractional", inc(`{"source":0.5}`), "events[0].data.source: want an integer"},
		// Of a key given twice the last counts, as in the player's JSON.parse.
		{"source given twice, the last counts", inc(`{"source":0,"adds":[],"source":5}`), "events[0].data.id: missing, want an integer"},
		{"field given twice, the last counts", inc(`{"source":5,"id":"x","text":"a","id":1}`), ""},

		{"snapshot node missing", ev(`{"type":2,"data":{},"timestamp":1}`), "events[0].data.node: missing, want an object"},
		{"snapshot node not an object", ev(`{"type":2,"data":{"node":[]},"timestamp":1}`), "events[0].data.node: want an object"},
		{"snapshot node id not a number", ev(`{"type":2,"data":{"node":{"type":0,"id":"1","childNodes":[]}},"timestamp":1}`), "events[0].data.node.id: want an integer"},
		{"snapshot node id missing", ev(`{"type":2,"data":{"node":{"type":0,"childNodes":[]}},"timestamp":1}`), "events[0].data.node.id: missing, want an integer"},
		{"snapshot child bad", ev(`{"type":2,"data":{"node":{"type":0,"id":1,"childNodes":[{"type":1,"id":2},{"type":2,"tagName":"html","id":3,"childNodes":[{"type":3,"id":"x"}]}]}},"timestamp":1}`),
			"events[0].data.node.childNodes[1].childNodes[0].id: want an integer"},
		{"element without tag name", ev(`{"type":2,"data":{"node":{"type":2,"id":1}},"timestamp":1}`), "events[0].data.node.tagName: missing, want a string"},
		{"text content not a string", ev(`{"type":2,"data":{"node":{"type":3,"id":1,"textContent":5}},"timestamp":1}`), "events[0].data.node.textContent: want a string or null"},
		{"attributes not an object", ev(`{"type":2,"data":{"node":{"type":2,"tagName":"p","id":1,"attributes":[]}},"timestamp":1}`), "events[0].data.node.attributes: want an object"},
		{"scalar attribute values pass", ev(`{"type":2,"data":{"node":{"type":2,"tagName":"p","id":1,"attributes":{"a":"s","b":1,"c":true,"d":null}}},"timestamp":1}`), ""},
		{"array attribute value", ev(`{"type":2,"data":{"node":{"type":0,"id":1,"childNodes":[{"type":2,"tagName":"input","id":2,"attributes":{"type":"password","value":["hunter2"]}}]}},"timestamp":1}`),
			"events[0].data.node.childNodes[0].attributes.value: want a string, number, boolean or null"},
		{"object attribute value in an add", inc(`{"source":0,"adds":[{"parentId":1,"nextId":null,"node":{"type":2,"tagName":"p","id":4,"attributes":{"title":{"t":"x"}}}}]}`),
			"events[0].data.adds[0].node.attributes.title: want a string, number, boolean or null"},
		{"array attribute value in a change", inc(`{"source":0,"attributes":[{"id":1,"attributes":{"value":"a"}},{"id":2,"attributes":{"value":[]}}]}`),
			"events[0].data.attributes[1].attributes.value: want a string, number, boolean or null"},
		{"style change as properties passes", inc(`{"source":0,"attributes":[{"id":1,"attributes":{"style":{"color":"red","width":false,"top":["0","important"],"left":null}}}]}`), ""},
		{"style property of a bad type", inc(`{"source":0,"attributes":[{"id":1,"attributes":{"style":{"color":{"x":"4111"}}}}]}`),
			"events[0].data.attributes[0].attributes.style.color: want a string, false or [value, priority]"},
		{"style priority pair too long", inc(`{"source":0,"attributes":[{"id":1,"attributes":{"style":{"top":["0","important","x"]}}}]}`),
			"events[0].data.attributes[0].attributes.style.top: want [value, priority] strings"},
		{"attribute change not an object", inc(`{"source":0,"attributes":[{"id":1,"attributes":"x"}]}`), "events[0].data.attributes[0].attributes: want an object"},
		{"nodes 1000 deep pass", ev(nested(MaxNodeDepth)), ""},
		{"nodes 1001 deep fail", ev(nested(MaxNodeDepth + 1)), "events[0].data.node: nodes nested deeper than 1000"},

		{"mutation texts not an array", inc(`{"source":0,"texts":{},"attributes":[],"removes":[],"adds":[]}`), "events[0].data.texts: want an array"},
		{"mutation text value not a string", inc(`{"source":0,"texts":[{"id":1,"value":null},{"id":2,"value":3}]}`), "events[0].data.texts[1].value: want a string or null"},
		{"mutation attribute id missing", inc(`{"source":0,"attributes":[{"attributes":{}}]}`), "events[0].data.attributes[0].id: missing, want an integer"},
		{"mutation remove parent not a number", inc(`{"source":0,"removes":[{"parentId":1,"id":2},{"parentId":"1","id":3}]}`), "events[0].data.removes[1].parentId: want an integer"},
		{"mutation add node id bad", inc(`{"source":0,"adds":[{"parentId":1,"nextId":null,"node":{"type":3,"id":"x"}}]}`), "events[0].data.adds[0].node.id: want an integer"},
		{"mutation add node missing", inc(`{"source":0,"adds":[{"parentId":1,"nextId":null}]}`), "events[0].data.adds[0].node: missing, want an object"},
		{"mutation add next id bad", inc(`{"source":0,"adds":[{"parentId":1,"nextId":"2","node":{"type":3,"id":4}}]}`), "events[0].data.adds[0].nextId: want an integer or null"},

		{"input text not a string", inc(`{"source":5,"id":3,"text":5,"isChecked":false}`), "events[0].data.text: want a string"},
		{"input id missing", inc(`{"source":5,"text":"a"}`), "events[0].data.id: missing, want an integer"},
		{"first missing field named", inc(`{"source":5}`), "events[0].data.id: missing, want an integer"},
		{"input isChecked not a boolean", inc(`{"source":5,"id":1,"text":"a","isChecked":"no"}`), "events[0].data.isChecked: want a boolean"},
		{"click type not a number", inc(`{"source":2,"type":"click","id":1}`), "events[0].data.type: want an integer"},
		{"click id missing", inc(`{"source":2,"type":2}`), "events[0].data.id: missing, want an integer"},
		{"mouse move position bad", inc(`{"source":1,"positions":[{"x":1,"y":2,"id":3,"timeOffset":-5},{"x":"1"}]}`), "events[0].data.positions[1].x: want a number"},
		{"scroll id missing", inc(`{"source":3,"x":0,"y":0}`), "events[0].data.id: missing, want an integer"},
		{"viewport width missing", inc(`{"source":4,"height":3}`), "events[0].data.width: missing, want a number"},
		{"selection range bad", inc(`{"source":14,"ranges":[{"start":1,"end":"2"}]}`), "events[0].data.ranges[0].end: want an integer"},

		{"custom tag missing", ev(`{"type":5,"data":{"payload":{}},"timestamp":1}`), "events[0].data.tag: missing, want a string"},
		{"custom tag not a string", ev(`{"type":5,"data":{"tag":["a"]},"timestamp":1}`), "events[0].data.tag: want a string"},
		{"plugin name not a string", ev(`{"type":6,"data":{"plugin":6,"payload":{}},"timestamp":1}`), "events[0].data.plugin: want a string"},
		{"other plugin payload passes", ev(`{"type":6,"data":{"payload":5,"plugin":"rrweb/network@1"},"timestamp":1}`), ""},
		{"console level missing", ev(`{"type":6,"data":{"payload":{"payload":[]},"plugin":"rrweb/console@1"},"timestamp":1}`), "events[0].data.payload.level: missing, want a string"},
		{"console argument not a string", ev(`{"type":6,"data":{"plugin":"rrweb/console@1","payload":{"level":"log","trace":[],"payload":["\"a\"",{}]}},"timestamp":1}`),
			"events[0].data.payload.payload[1]: want a string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := DecodeBatch(batchBody(tt.events))
			require.NoError(t, err)
			err = b.Validate()
			assertValidation(t, err, tt.want)
		})
	}
}

func TestValidateBatchFields(t *testing.T) {
	valid := func() *Batch { return &Batch{Site: "demo", Session: "sess-0001", Window: "w1"} }
	tests := []struct {
		name   string
		change func(b *Batch)
		want   string
	}{
		{"valid", func(*Batch) {}, ""},
		{"empty site", func(b *Batch) { b.Site = "" }, "site: want 1-64 characters of [A-Za-z0-9_-]"},
		{"short session", func(b *Batch) { b.Session = "short" }, "session: want 8-64 characters of [A-Za-z0-9_-]"},
		{"session with a slash", func(b *Batch) { b.Session = "../../etc/passwd" }, "session: want 8-64 characters of [A-Za-z0-9_-]"},
		{"long window", func(b *Batch) { b.Window = strings.Repeat("w", 65) }, "window: want 1-64 characters of [A-Za-z0-9_-]"},
		{"negative seq", func(b *Batch) { b.Seq = -1 }, "seq: want an integer >= 0"},
		{"too many events", func(b *Batch) { b.Events = make([]Event, MaxBatchEvents+1) }, "events: more than 100000 events"},
		{"NaN timestamp", func(b *Batch) { b.Events = []Event{{Type: Load, Data: []byte(`{}`), Timestamp: math.NaN()}} }, "events[0].timestamp: want a number"},
		{"no data", func(b *Batch) { b.Events = []Event{{Type: Load}} }, "events[0].data: want an object"},
		{"invalid data", func(b *Batch) { b.Events = []Event{{Type: Meta, Data: []byte(`{"href":"a",}`)}} },
			"events[0].data: invalid JSON: invalid character '}' at offset 12"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := valid()
			tt.change(b)
			err := b.Validate()
			assertValidation(t, err, tt.want)
		})
	}
}

func TestEventUnmarshalJSON(t *testing.T) {
	var e Event
	require.NoError(t, json.Unmarshal([]byte(`{"timestamp":2.5,"data":{"tag":"x"},"type":5,"v":"v1"}`), &e))
	assert.Equal(t, Custom, e.Type)
	assert.Equal(t, 2.5, e.Timestamp)
	assert.JSONEq(t, `{"tag":"x"}`, string(e.Data))
	assert.Equal(t, map[string]json.RawMessage{"v": json.RawMessage(`"v1"`)}, e.Extra)

	err := json.Unmarshal([]byte(`{"type":"x","data":{},"timestamp":1}`), &e)
	var ve *ValidationError
	require.ErrorAs(t, err, &ve)
	assert.Equal(t, "type: want an integer", ve.Error())

	err = e.UnmarshalJSON([]byte(`[]`))
	require.ErrorAs(t, err, &ve)
	assert.Equal(t, "event: want an object", ve.Error())
}

func TestEventUnmarshalJSONDoesNotAliasInput(t *testing.T) {
	in := []byte(`{"type":5,"data":{"tag":"x"},"timestamp":1}`)
	var e Event
	require.NoError(t, e.UnmarshalJSON(in))
	copy(in, strings.Repeat("#", len(in)))
	assert.Equal(t, `{"tag":"x"}`, string(e.Data))
}

func TestEventMarshalJSON(t *testing.T) {
	e := Event{Type: Custom, Timestamp: 1718000000000.5, Data: json.RawMessage(`{"tag":"t"}`),
		Extra: map[string]json.RawMessage{"z": json.RawMessage(`1`), "a": json.RawMessage(`"x"`), "_sid": json.RawMessage(`2`)}}
	out, err := json.Marshal(e)
	require.NoError(t, err)
	assert.Equal(t, `{"type":5,"data":{"tag":"t"},"timestamp":1718000000000.5,"_sid":2,"a":"x","z":1}`, string(out))

	_, err = json.Marshal(Event{Timestamp: math.Inf(1)})
	assert.Error(t, err)
	_, err = json.Marshal(Event{Data: json.RawMessage(`{}`), Extra: map[string]json.RawMessage{"a": json.RawMessage(`{`)}})
	assert.Error(t, err)
}

func TestDecodeBatchDataIsCapped(t *testing.T) {
	// Appending to one event's Data must not write into the next event.
	b, err := DecodeBatch(batchBody(`[{"type":5,"data":{"tag":"a"},"timestamp":1},{"type":5,"data":{"tag":"b"},"timestamp":2}]`))
	require.NoError(t, err)
	_ = append(b.Events[0].Data, "XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"...)
	assert.Equal(t, `{"tag":"b"}`, string(b.Events[1].Data))
}

func TestEventSource(t *testing.T) {
	tests := []struct {
		event string
		want  Source
		err   string
	}{
		{`{"type":3,"data":{"source":5,"id":1,"text":""},"timestamp":1}`, SourceInput, ""},
		{`{"type":3,"data":{"id":1,"source":16},"timestamp":1}`, SourceCustomElement, ""},
		{`{"type":3,"data":{"source":77},"timestamp":1}`, Source(77), ""},
		{`{"type":4,"data":{"href":"h"},"timestamp":1}`, 0, "replay: type Meta has no source"},
		{`{"type":3,"data":{"id":1},"timestamp":1}`, 0, "replay: data: source: missing, want an integer"},
	}
	for _, tt := range tests {
		var e Event
		require.NoError(t, json.Unmarshal([]byte(tt.event), &e))
		s, err := e.Source()
		if tt.err != "" {
			assert.EqualError(t, err, tt.err, tt.event)
			continue
		}
		assert.NoError(t, err)
		assert.Equal(t, tt.want, s, tt.event)
	}
}

func TestEventTypedAccessMatchesKeysExactly(t *testing.T) {
	// A browser reads "text"; so must we, whatever "TEXT" says.
	var e Event
	require.NoError(t, json.Unmarshal([]byte(`{"type":3,"timestamp":1,"data":{"source":5,"id":3,"text":"secret","TEXT":"decoy","Text":"decoy"}}`), &e))
	in, err := e.Input()
	require.NoError(t, err)
	assert.Equal(t, "secret", in.Text)
	assert.Equal(t, 3, in.ID)
}

func TestEventTypedAccessWrongKind(t *testing.T) {
	var e Event
	require.NoError(t, json.Unmarshal([]byte(`{"type":3,"timestamp":1,"data":{"source":3,"id":1,"x":0,"y":0}}`), &e))
	_, err := e.Input()
	assert.EqualError(t, err, "replay: want source Input, have Scroll")
	_, err = e.Meta()
	assert.EqualError(t, err, "replay: want type Meta, have IncrementalSnapshot")
	e.Data = json.RawMessage(`{"source":3,"id":"one"}`)
	_, err = e.Scroll()
	assert.EqualError(t, err, "replay: IncrementalSnapshot data: id: want an integer, got string")
}

// decodeRecording decodes and validates a recorded page.
func decodeRecording(t *testing.T, name string) []Event {
	t.Helper()
	b, err := DecodeBatch(batchBody(string(recording(t, name))))
	require.NoError(t, err)
	require.NoError(t, b.Validate())
	return b.Events
}

// bySource returns the events of a source.
func bySource(t *testing.T, events []Event, s Source) []Event {
	t.Helper()
	var out []Event
	for _, e := range events {
		if e.Type != IncrementalSnapshot {
			continue
		}
		got, err := e.Source()
		require.NoError(t, err)
		if got == s {
			out = append(out, e)
		}
	}
	return out
}

func TestTypedAccessOnEveryRecordedEvent(t *testing.T) {
	for _, name := range recordings(t) {
		t.Run(name, func(t *testing.T) {
			for i, e := range decodeRecording(t, name) {
				var err error
				switch e.Type {
				case Meta:
					_, err = e.Meta()
				case FullSnapshot:
					_, err = e.FullSnapshot()
				case Custom:
					_, err = e.Custom()
				case Plugin:
					_, err = e.Plugin()
				case IncrementalSnapshot:
					var s Source
					s, err = e.Source()
					require.NoError(t, err)
					err = map[Source]func() error{
						SourceMutation:          func() error { _, err := e.Mutation(); return err },
						SourceMouseMove:         func() error { _, err := e.MouseMove(); return err },
						SourceMouseInteraction:  func() error { _, err := e.MouseInteraction(); return err },
						SourceScroll:            func() error { _, err := e.Scroll(); return err },
						SourceViewportResize:    func() error { _, err := e.ViewportResize(); return err },
						SourceInput:             func() error { _, err := e.Input(); return err },
						SourceStyleSheetRule:    func() error { _, err := e.StyleSheetRule(); return err },
						SourceStyleDeclaration:  func() error { _, err := e.StyleDeclaration(); return err },
						SourceSelection:         func() error { _, err := e.Selection(); return err },
						SourceAdoptedStyleSheet: func() error { _, err := e.AdoptedStyleSheet(); return err },
						SourceCustomElement:     func() error { _, err := e.CustomElement(); return err },
					}[s]()
				}
				assert.NoError(t, err, "event %d", i)
			}
		})
	}
}

func TestTypedAccessForm(t *testing.T) {
	events := decodeRecording(t, "form")
	var meta MetaData
	var snap FullSnapshotData
	for _, e := range events {
		switch e.Type {
		case Meta:
			meta, _ = e.Meta()
		case FullSnapshot:
			snap, _ = e.FullSnapshot()
		}
	}
	assert.Equal(t, "http://shop.test/form.html", meta.Href)
	assert.Equal(t, 1024.0, meta.Width)
	assert.Equal(t, 1, snap.Node.ID)
	assert.Equal(t, DocumentNode, snap.Node.Type)
	require.Len(t, snap.Node.ChildNodes, 2)
	assert.Equal(t, DocumentTypeNode, snap.Node.ChildNodes[0].Type)
	assert.Equal(t, "html", snap.Node.ChildNodes[0].Name)
	assert.Equal(t, "html", snap.Node.ChildNodes[1].TagName)

	// Find the inputs by id attribute, to read their Input events.
	ids := map[string]int{}
	var walk func(n Node)
	walk = func(n Node) {
		if id, ok := n.Attributes["id"].(string); ok {
			ids[id] = n.ID
		}
		for _, c := range n.ChildNodes {
			walk(c)
		}
	}
	walk(snap.Node)
	last := map[int]InputData{}
	for _, e := range bySource(t, events, SourceInput) {
		in, err := e.Input()
		require.NoError(t, err)
		last[in.ID] = in
	}
	assert.Equal(t, "Jane Doe", last[ids["name"]].Text)
	assert.Equal(t, "jane@example.com", last[ids["email"]].Text)
	assert.Equal(t, "*******", last[ids["pw"]].Text, "rrweb masks passwords by default")
	assert.Equal(t, "fr", last[ids["country"]].Text)
	assert.True(t, last[ids["terms"]].IsChecked)
	assert.True(t, last[ids["express"]].IsChecked)

	var clicks int
	for _, e := range bySource(t, events, SourceMouseInteraction) {
		mi, err := e.MouseInteraction()
		require.NoError(t, err)
		if mi.Type == Click {
			clicks++
			require.NotNil(t, mi.X)
			require.NotNil(t, mi.PointerType)
			assert.Equal(t, PointerMouse, *mi.PointerType)
		}
	}
	assert.GreaterOrEqual(t, clicks, 5)
}

func TestTypedAccessMutations(t *testing.T) {
	muts := bySource(t, decodeRecording(t, "mutations"), SourceMutation)
	require.NotEmpty(t, muts)
	m, err := muts[0].Mutation()
	require.NoError(t, err)
	assert.NotEmpty(t, m.Adds)
	assert.NotEmpty(t, m.Removes)
	assert.NotEmpty(t, m.Texts)
	require.NotEmpty(t, m.Attributes)
	var sawStyle bool
	for _, a := range m.Attributes {
		if _, ok := a.Attributes["style"]; ok {
			sawStyle = true
		}
	}
	assert.True(t, sawStyle, "style attribute change recorded")

	attach := bySource(t, decodeRecording(t, "iframe"), SourceMutation)
	var attached bool
	for _, e := range attach {
		m, err := e.Mutation()
		require.NoError(t, err)
		if m.IsAttachIframe {
			attached = true
			require.Len(t, m.Adds, 1)
			assert.Equal(t, DocumentNode, m.Adds[0].Node.Type)
			assert.Nil(t, m.Adds[0].NextID)
			assert.NotZero(t, m.Adds[0].Node.ChildNodes[0].RootID)
		}
	}
	assert.True(t, attached, "iframe attached by a mutation")
}

func TestTypedAccessConsoleAndCustom(t *testing.T) {
	var levels []string
	var tags []string
	for _, e := range decodeRecording(t, "console") {
		switch e.Type {
		case Plugin:
			c, err := e.Console()
			require.NoError(t, err)
			levels = append(levels, c.Level)
			for _, arg := range c.Payload {
				assert.True(t, json.Valid([]byte(arg)), "console arguments are JSON: %s", arg)
			}
		case Custom:
			c, err := e.Custom()
			require.NoError(t, err)
			tags = append(tags, c.Tag)
		}
	}
	assert.Equal(t, []string{"log", "warn", "error", "error", "error"}, levels)
	assert.Equal(t, []string{"$pageview", "signup"}, tags)
}

func TestTypedAccessStyleAndScroll(t *testing.T) {
	style := decodeRecording(t, "style")
	d, err := bySource(t, style, SourceStyleDeclaration)[0].StyleDeclaration()
	require.NoError(t, err)
	require.NotNil(t, d.Set)
	assert.Equal(t, "color", d.Set.Property)
	assert.Equal(t, "important", d.Set.Priority)
	a, err := bySource(t, style, SourceAdoptedStyleSheet)[0].AdoptedStyleSheet()
	require.NoError(t, err)
	assert.NotEmpty(t, a.StyleIDs)
	ce, err := bySource(t, style, SourceCustomElement)[0].CustomElement()
	require.NoError(t, err)
	assert.Equal(t, "my-card", ce.Define.Name)

	scroll := decodeRecording(t, "scroll")
	mm, err := bySource(t, scroll, SourceMouseMove)[0].MouseMove()
	require.NoError(t, err)
	require.NotEmpty(t, mm.Positions)
	assert.LessOrEqual(t, mm.Positions[0].TimeOffset, 0.0)
	s, err := bySource(t, scroll, SourceScroll)[0].Scroll()
	require.NoError(t, err)
	assert.InDelta(t, 400.5, s.Y, 1)
	vr, err := bySource(t, scroll, SourceViewportResize)[0].ViewportResize()
	require.NoError(t, err)
	assert.Equal(t, ViewportResizeData{Width: 900, Height: 500}, vr)
	sel, err := bySource(t, scroll, SourceSelection)[0].Selection()
	require.NoError(t, err)
	require.Len(t, sel.Ranges, 1)
	assert.Equal(t, 7, sel.Ranges[0].StartOffset)
}

func TestEventTypeAndSourceNames(t *testing.T) {
	assert.Equal(t, "IncrementalSnapshot", IncrementalSnapshot.String())
	assert.Equal(t, "EventType(99)", EventType(99).String())
	assert.Equal(t, "CustomElement", SourceCustomElement.String())
	assert.Equal(t, "Source(-1)", Source(-1).String())
}

func TestValidationErrorIsReturnedAsIs(t *testing.T) {
	_, err := DecodeBatch([]byte(`{"events":[{"type":"x"}]}`))
	var ve *ValidationError
	require.True(t, errors.As(err, &ve))
	assert.Equal(t, "events[0].type", ve.Path)
	assert.Equal(t, "want an integer", ve.Msg)
}

// The benchmarks decode the catalogue recording (a 250-product page with
// inputs and mutations, 170 KB) as one batch. BenchmarkDecodeBatchStdJSON
// is the baseline: encoding/json into maps, checking nothing.

func BenchmarkDecodeBatch(b *testing.B) {
	body := batchBody(string(recording(b, "catalog")))
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		batch, err := DecodeBatch(body)
		if err != nil {
			b.Fatal(err)
		}
		if err := batch.Validate(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeBatchStdJSON(b *testing.B) {
	body := batchBody(string(recording(b, "catalog")))
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		var batch struct {
			Site, Session, Window string
			Seq                   int
			Events                []map[string]any
			Attrs                 map[string]string
		}
		if err := json.Unmarshal(body, &batch); err != nil {
			b.Fatal(err)
		}
	}
}

func ExampleDecodeBatch() {
	body := []byte(`{"site":"demo","session":"sess-0001","window":"w1","seq":0,"events":[
		{"type":4,"data":{"href":"https://shop.example/cart","width":1280,"height":720},"timestamp":1718000000000},
		{"type":3,"data":{"source":5,"id":42,"text":"Jane","isChecked":false},"timestamp":1718000000510,"_sid":7}]}`)
	b, err := DecodeBatch(body)
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := b.Validate(); err != nil {
		fmt.Println(err)
		return
	}
	meta, _ := b.Events[0].Meta()
	in, _ := b.Events[1].Input()
	fmt.Println(meta.Href, in.ID, in.Text, string(b.Events[1].Extra["_sid"]))

	_, err = DecodeBatch([]byte(`{"session":"sess-0001","events":[{"type":3,"data":{},"timestamp":"soon"}]}`))
	fmt.Println(err)
	// Output:
	// https://shop.example/cart 42 Jane 7
	// events[0].timestamp: want a number
}

func TestTypedAccessSourcesNotInRecordings(t *testing.T) {
	event := func(data string) *Event {
		var e Event
		require.NoError(t, json.Unmarshal([]byte(`{"type":3,"timestamp":1,"data":`+data+`}`), &e))
		b := Batch{Site: "demo", Session: "sess-0001", Window: "w1", Events: []Event{e}}
		require.NoError(t, b.Validate())
		return &e
	}
	media, err := event(`{"source":7,"type":3,"id":12,"currentTime":1.5,"volume":0.5,"muted":true}`).MediaInteraction()
	require.NoError(t, err)
	assert.Equal(t, MediaVolumeChange, media.Type)
	assert.Equal(t, 0.5, *media.Volume)
	assert.True(t, *media.Muted)
	assert.Nil(t, media.Loop)

	canvas, err := event(`{"source":9,"id":3,"type":0,"commands":[{"property":"clearRect","args":[0,0,10,10]},
		{"property":"drawImage","args":[{"rr_type":"ImageBitmap","args":[]},0,0]}]}`).CanvasMutation()
	require.NoError(t, err)
	assert.Equal(t, Canvas2D, canvas.Type)
	require.Len(t, canvas.Commands, 2)
	assert.JSONEq(t, `{"rr_type":"ImageBitmap","args":[]}`, string(canvas.Commands[1].Args[0]))

	legacy, err := event(`{"source":9,"id":3,"type":1,"property":"fillStyle","args":["red"],"setter":true}`).CanvasMutation()
	require.NoError(t, err)
	assert.Equal(t, "fillStyle", legacy.Property)
	assert.True(t, legacy.Setter)

	font, err := event(`{"source":10,"family":"Inter","fontSource":"https://x.test/f.woff2","buffer":false}`).Font()
	require.NoError(t, err)
	assert.Equal(t, "Inter", font.Family)

	rule, err := event(`{"source":8,"styleId":2,"adds":[{"rule":"a{}","index":[0,1]}],"removes":[{"index":3}]}`).StyleSheetRule()
	require.NoError(t, err)
	assert.Equal(t, 2, *rule.StyleID)
	assert.Equal(t, []any{0.0, 1.0}, rule.Adds[0].Index)
	assert.Equal(t, 3.0, rule.Removes[0].Index)

	touch, err := event(`{"source":6,"positions":[{"x":1,"y":2,"id":-1,"timeOffset":0}]}`).MouseMove()
	require.NoError(t, err)
	assert.Equal(t, -1, touch.Positions[0].ID)

	log, err := event(`{"source":11,"level":"error","trace":[],"payload":["\"x\""]}`).Console()
	require.NoError(t, err)
	assert.Equal(t, "error", log.Level)

	_, err = event(`{"source":5,"id":1,"text":"a"}`).Console()
	assert.EqualError(t, err, "replay: want source Log, have Input")
}

// assertValidation checks that err is nil when want is empty, and otherwise
// a *ValidationError whose message is want.
func assertValidation(t *testing.T, err error, want string) {
	t.Helper()
	if want == "" {
		assert.NoError(t, err)
		return
	}
	var ve *ValidationError
	require.ErrorAs(t, err, &ve)
	assert.Equal(t, want, err.Error())
}

func TestDecodeBatchOwnedSharesTheBody(t *testing.T) {
	body := batchBody(`[{"type":4,"data":{"href":"https://shop.test/","width":1,"height":2},"timestamp":1}]`)
	copied, err := DecodeBatch(body)
	require.NoError(t, err)
	owned, err := DecodeBatchOwned(body)
	require.NoError(t, err)
	assert.Equal(t, encodeEvents(t, copied.Events), encodeEvents(t, owned.Events))
	assert.Equal(t, copied.Bytes, owned.Bytes)

	// The owned batch's data is the body's own bytes; the other is a copy.
	within := func(b []byte) bool {
		p := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
		start := uintptr(unsafe.Pointer(unsafe.SliceData(body)))
		return p >= start && p < start+uintptr(len(body))
	}
	assert.True(t, within(owned.Events[0].Data), "owned data points into the body")
	assert.False(t, within(copied.Events[0].Data), "copied data points into the body")
}

// A caller that gives an event new Data after DecodeBatch has the new Data
// checked, masked and stored, not the data the batch arrived with.
func TestNewDataAfterDecodeIsWhatIsStored(t *testing.T) {
	b, err := DecodeBatch(batchBody(`[{"type":4,"data":{"href":"https://shop.test/?token=secret","width":1,"height":2},"timestamp":1}]`))
	require.NoError(t, err)
	b.Events[0].Data = json.RawMessage(`{"href":"https://shop.test/","width":1,"height":2}`)
	sites, err := NewStaticSites(&Site{ID: "demo"})
	require.NoError(t, err)
	rec, err := New(memstore.New(), sites, nil)
	require.NoError(t, err)
	_, err = rec.Ingest(context.Background(), b, Client{})
	require.NoError(t, err)
	got := string(readEvents(t, rec, "demo", "sess-0001"))
	assert.NotContains(t, got, "secret")
	assert.Contains(t, got, `"href":"https://shop.test/"`)

	b, err = DecodeBatch(batchBody(`[{"type":4,"data":{"href":"https://shop.test/","width":1,"height":2},"timestamp":1}]`))
	require.NoError(t, err)
	b.Events[0].Data = json.RawMessage(`{"href":7}`)
	assert.ErrorContains(t, b.Validate(), "events[0].data.href", "the new Data is checked")
}
