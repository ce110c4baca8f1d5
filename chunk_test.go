package replay

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEventTimestamp(t *testing.T) {
	tests := []struct {
		name, raw string
		want      float64
		err       bool
	}{
		{"as stored", `{"type":3,"data":{"timestamp":5},"timestamp":1700000000123.5}`, 1700000000123.5, false},
		{"none", `{"type":3,"data":{}}`, 0, false},
		{"null", `{"timestamp":null}`, 0, false},
		{"the last of two", `{"timestamp":1,"timestamp":2}`, 2, false},
		{"key matched exactly", `{"timestamp":7,"Timestamp":"x","TIMESTAMP":9}`, 7, false},
		{"not a number", `{"timestamp":"1"}`, 0, true},
		{"not an object", `[1]`, 0, true},
		{"trailing bytes", `{"timestamp":1} x`, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := eventTimestamp([]byte(tt.raw))
			if tt.err {
				assert.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestDecodeChunkReturnsEventsAsStored(t *testing.T) {
	events := []Event{
		{Type: Meta, Timestamp: 1, Data: []byte(`{"href":"https://shop.test/","width":1,"height":2}`)},
		{Type: Custom, Timestamp: 2.5, Data: []byte(`{"tag":"t","payload":[1,"\u003c",{"a":null}]}`)},
	}
	data, err := encodeChunk(events)
	require.NoError(t, err)
	raws, err := decodeChunk(data)
	require.NoError(t, err)
	require.Len(t, raws, len(events))
	for i, e := range events {
		want, err := e.MarshalJSON()
		require.NoError(t, err)
		assert.Equal(t, string(want), string(raws[i]))
	}

	for _, bad := range []string{`{}`, `[1,]`, `[1] x`, `[`} {
		_, err := decodeChunk(chunkEncoder.EncodeAll([]byte(bad), nil))
		assert.Error(t, err, bad)
	}
}
