package replay

import (
	"bytes"
	"compress/flate"
	"compress/zlib"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// latin1 turns bytes into a string of one character per byte, as the
// packer's strFromU8(bytes, true) does.
func latin1(b []byte) string {
	r := make([]rune, len(b))
	for i, c := range b {
		r[i] = rune(c)
	}
	return string(r)
}

// zlibString compresses data as the packer does, as a latin1 string.
func zlibString(t testing.TB, data []byte) string {
	t.Helper()
	var z bytes.Buffer
	zw, err := zlib.NewWriterLevel(&z, zlib.BestCompression)
	require.NoError(t, err)
	_, err = zw.Write(data)
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	return latin1(z.Bytes())
}

func TestUnpackRecordingPackedByRRWebPacker(t *testing.T) {
	// search-packed.json is search.json packed by @rrweb/packer's pack.
	packed, err := DecodeBatch(batchBody(string(recording(t, "search-packed"))))
	require.NoError(t, err)
	require.NoError(t, packed.Validate())
	plain, err := DecodeBatch(batchBody(string(recording(t, "search"))))
	require.NoError(t, err)

	require.Len(t, packed.Events, len(plain.Events))
	for i := range plain.Events {
		p, e := packed.Events[i], plain.Events[i]
		assert.JSONEq(t, `"v1"`, string(p.Extra["v"]), "the unpacked event keeps its v key")
		delete(p.Extra, "v")
		if len(p.Extra) == 0 {
			p.Extra = nil
		}
		pj, err := json.Marshal(p)
		require.NoError(t, err)
		ej, err := json.Marshal(e)
		require.NoError(t, err)
		assert.Equal(t, jsonValue(t, ej), jsonValue(t, pj), "event %d", i)
	}
}

func TestPackEventRoundTrip(t *testing.T) {
	for _, e := range decodeRecording(t, "form") {
		s, err := PackEvent(e)
		require.NoError(t, err)
		assert.True(t, strings.HasPrefix(s, "x\u009c") || strings.HasPrefix(s, "x"), "zlib header")
		got, err := UnpackEvent(s)
		require.NoError(t, err)
		assert.JSONEq(t, `"v1"`, string(got.Extra["v"]))
		delete(got.Extra, "v")
		if len(got.Extra) == 0 {
			got.Extra = nil
		}
		e.tree, e.treeOf = nil, nil // the decoded data; got is compared through Data
		assert.Equal(t, e, got)
	}
}

func TestUnpackEvent(t *testing.T) {
	event := `{"type":5,"data":{"tag":"t","payload":{"é":"ü€"}},"timestamp":1718000000000,"v":"v1"}`
	tests := []struct {
		name   string
		packed string
		want   string // the event's JSON, or "" when an error is expected
		err    string
	}{
		{"packed", zlibString(t, []byte(event)), event, ""},
		{"plain JSON without v", `{"type":4,"data":{"href":"h"},"timestamp":1}`, `{"type":4,"data":{"href":"h"},"timestamp":1}`, ""},
		{"plain JSON with white space", " \n{\"type\":0,\"data\":{},\"timestamp\":1}", `{"type":0,"data":{},"timestamp":1}`, ""},
		{"no v", zlibString(t, []byte(`{"type":0,"data":{},"timestamp":1}`)), "", `event: packed event: want "v": "v1"`},
		{"other v", zlibString(t, []byte(`{"type":0,"data":{},"timestamp":1,"v":"v2"}`)), "", `event: packed event: want "v": "v1"`},
		{"not zlib", "hello", "", "event: packed event: zlib: invalid header"},
		{"truncated", zlibString(t, []byte(event))[:20], "", "event: packed event: unexpected EOF"},
		{"not latin1", "x\u0100", "", "event: packed event: character U+0100 at 1 is not a byte"},
		{"not an object", zlibString(t, []byte(`[1]`)), "", "event: packed event: want a JSON object"},
		{"bad JSON inside", zlibString(t, []byte(`{"type":0,`)), "", "event: packed event: invalid JSON: unexpected end of JSON input at offset 10"},
		{"bad envelope inside", zlibString(t, []byte(`{"type":"0","data":{},"timestamp":1,"v":"v1"}`)), "", "event.type: want an integer"},
		{"packed twice", zlibString(t, []byte(`"x"`)), "", "event: packed event: want a JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := UnpackEvent(tt.packed)
			if tt.err != "" {
				var ve *ValidationError
				require.ErrorAs(t, err, &ve)
				assert.Equal(t, tt.err, err.Error())
				return
			}
			require.NoError(t, err)
			out, err := json.Marshal(e)
			require.NoError(t, err)
			assert.JSONEq(t, tt.want, string(out))
		})
	}
}

func TestDecodeBatchMixesPackedAndPlainEvents(t *testing.T) {
	packed, err := PackEvent(Event{Type: Custom, Timestamp: 2, Data: json.RawMessage(`{"tag":"x"}`)})
	require.NoError(t, err)
	ps, err := json.Marshal(packed)
	require.NoError(t, err)
	b, err := DecodeBatch(batchBody(`[{"type":4,"data":{"href":"h"},"timestamp":1},` + string(ps) + `]`))
	require.NoError(t, err)
	require.NoError(t, b.Validate())
	require.Len(t, b.Events, 2)
	c, err := b.Events[1].Custom()
	require.NoError(t, err)
	assert.Equal(t, "x", c.Tag)
}

func TestDecodeBatchPackedErrorsNameTheEvent(t *testing.T) {
	bad, err := json.Marshal(zlibString(t, []byte(`{"type":0,"data":{},"timestamp":"x","v":"v1"}`)))
	require.NoError(t, err)
	ok := `{"type":0,"data":{},"timestamp":1}`
	_, err = DecodeBatch(batchBody(`[` + ok + `,` + ok + `,` + ok + `,` + ok + `,` + string(bad) + `]`))
	assert.EqualError(t, err, "events[4].timestamp: want a number")

	_, err = DecodeBatch(batchBody(`[` + ok + `,"garbage"]`))
	assert.EqualError(t, err, "events[1]: packed event: zlib: invalid header")
}

const bombPrefix = `{"type":5,"timestamp":1,"v":"v1","data":{"tag":"`

// bomb returns a packed event that inflates to n bytes.
func bomb(t testing.TB, n int) string {
	t.Helper()
	suffix := `"}}`
	data := bombPrefix + strings.Repeat("a", n-len(bombPrefix)-len(suffix)) + suffix
	return zlibString(t, []byte(data))
}

// hugeBomb returns the start of a packed event that inflates to more than
// n bytes: it repeats one compressed megabyte, so building it is cheap.
func hugeBomb(t testing.TB, n int) string {
	t.Helper()
	block := func(data []byte) []byte {
		var b bytes.Buffer
		fw, err := flate.NewWriter(&b, flate.BestCompression)
		require.NoError(t, err)
		fw.Write(data)
		require.NoError(t, fw.Flush()) // ends the block on a byte boundary
		return b.Bytes()
	}
	mb := block(bytes.Repeat([]byte("a"), 1<<20))
	z := append([]byte{0x78, 0x9c}, block([]byte(bombPrefix))...)
	for range n>>20 + 1 {
		z = append(z, mb...)
	}
	return latin1(z)
}

func TestUnpackBoundsInflation(t *testing.T) {
	huge := hugeBomb(t, maxPackedEvent)
	assert.Less(t, len(huge), 200<<10, "a bomb is small on the wire")
	_, err := UnpackEvent(huge)
	assert.EqualError(t, err, "event: packed event: over 32 MiB once inflated")
	js, err := json.Marshal(huge)
	require.NoError(t, err)
	_, err = DecodeBatch(batchBody(`[` + string(js) + `]`))
	assert.EqualError(t, err, "events[0]: packed event: over 32 MiB once inflated")
}

func TestUnpackBoundsInflationPerEventAndPerBatch(t *testing.T) {
	d := newDecoder(1<<20, 3<<20)
	var e Event
	require.NoError(t, d.unpack(bomb(t, 1<<20), &e, "events[0]"), "exactly the limit")
	assert.Len(t, e.Data, 1<<20-len(`{"type":5,"timestamp":1,"v":"v1","data":`)-1)
	err := d.unpack(bomb(t, 1<<20+1), &e, "events[1]")
	assert.EqualError(t, err, "events[1]: packed event: over 1 MiB once inflated")

	// A batch may inflate 3 MiB: three events of 900 KiB fit, four do not.
	one, err := json.Marshal(bomb(t, 900<<10))
	require.NoError(t, err)
	d = newDecoder(1<<20, 3<<20)
	events := "[" + strings.Repeat(string(one)+",", 3) + string(one) + "]"
	_, err = d.batch(string(batchBody(events)))
	assert.EqualError(t, err, "events[3]: packed event: packed events exceed 3 MiB in total once inflated")
	d = newDecoder(1<<20, 3<<20)
	events = "[" + strings.Repeat(string(one)+",", 2) + string(one) + "]"
	b, err := d.batch(string(batchBody(events)))
	require.NoError(t, err)
	assert.Len(t, b.Events, 3)
}
