package replay

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
)

// encodeEvents encodes events as a JSON array with Event.MarshalJSON.
func encodeEvents(t *testing.T, events []Event) []byte {
	var buf bytes.Buffer
	buf.WriteByte('[')
	for i := range events {
		if i > 0 {
			buf.WriteByte(',')
		}
		out, err := events[i].MarshalJSON()
		if err != nil {
			t.Fatalf("events[%d]: MarshalJSON: %v", i, err)
		}
		buf.Write(out)
	}
	buf.WriteByte(']')
	return buf.Bytes()
}

// isValidationError reports whether err is a *ValidationError.
func isValidationError(err error) bool {
	var ve *ValidationError
	return errors.As(err, &ve)
}

func FuzzDecodeBatch(f *testing.F) {
	for _, name := range recordings(f) {
		if name == "catalog" {
			continue // too big to mutate usefully
		}
		f.Add(batchBody(string(recording(f, name))))
	}
	f.Add(batchBody(`[{"type":2,"data":{"node":{"type":0,"id":1,"childNodes":[{"type":2,"tagName":"p","id":2}]}},"timestamp":1}]`))
	f.Add(batchBody(`[{"type":3,"data":{"source":0,"adds":[{"parentId":1,"nextId":null,"node":{"type":3,"textContent":"x","id":4}}],"texts":[],"removes":[],"attributes":[]},"timestamp":1.5,"_sid":1}]`))
	f.Add(batchBody(`[{"type":99,"data":{},"timestamp":-0},"x\u009c"]`))
	f.Add([]byte(`{"attrs":{"a":"b"},"seq":1e2,"events":[]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := DecodeBatch(data)
		owned, ownedErr := DecodeBatchOwned(bytes.Clone(data))
		if fmt.Sprint(err) != fmt.Sprint(ownedErr) {
			t.Fatalf("DecodeBatch: %v; DecodeBatchOwned: %v", err, ownedErr)
		}
		if err == nil && !bytes.Equal(encodeEvents(t, b.Events), encodeEvents(t, owned.Events)) {
			t.Fatal("DecodeBatchOwned decoded other events than DecodeBatch")
		}
		if err != nil {
			if !isValidationError(err) {
				t.Fatalf("DecodeBatch: %T %v, want a *ValidationError", err, err)
			}
			return
		}
		if err := b.Validate(); err != nil && !isValidationError(err) {
			t.Fatalf("Validate: %T %v, want a *ValidationError", err, err)
		}
		// What decoded encodes, and decodes again to the same events.
		again, err := DecodeBatch(batchBody(string(encodeEvents(t, b.Events))))
		if err != nil {
			t.Fatalf("decoding re-encoded events: %v", err)
		}
		if len(again.Events) != len(b.Events) {
			t.Fatalf("re-encoded: %d events, want %d", len(again.Events), len(b.Events))
		}
		for i, e := range b.Events {
			g := again.Events[i]
			if g.Type != e.Type || g.Timestamp != e.Timestamp || !bytes.Equal(g.Data, e.Data) || len(g.Extra) != len(e.Extra) {
				t.Fatalf("events[%d] changed in a round trip:\n%+v\n%+v", i, e, g)
			}
			for k, v := range e.Extra {
				if !bytes.Equal(g.Extra[k], v) {
					t.Fatalf("events[%d].%s changed in a round trip: %s, want %s", i, k, g.Extra[k], v)
				}
			}
			// Data is JSON the standard library reads too.
			var x any
			if err := json.Unmarshal(e.Data, &x); err != nil {
				t.Fatalf("events[%d].data: encoding/json: %v", i, err)
			}
		}
	})
}

func FuzzUnpack(f *testing.F) {
	var packed []string
	if err := json.Unmarshal(recording(f, "search-packed"), &packed); err != nil {
		f.Fatal(err)
	}
	for _, s := range packed {
		f.Add(s)
	}
	f.Add(`{"type":0,"data":{},"timestamp":1}`)
	f.Add("x\u009c\u0003\u0000\u0000\u0000\u0000\u0001")
	f.Fuzz(func(t *testing.T, s string) {
		e, err := UnpackEvent(s)
		if err != nil {
			if !isValidationError(err) {
				t.Fatalf("UnpackEvent: %T %v, want a *ValidationError", err, err)
			}
			return
		}
		repacked, err := PackEvent(e)
		if err != nil {
			t.Fatalf("PackEvent: %v", err)
		}
		got, err := UnpackEvent(repacked)
		if err != nil {
			t.Fatalf("unpacking a packed event: %v", err)
		}
		delete(e.Extra, "v")
		delete(got.Extra, "v")
		if got.Type != e.Type || got.Timestamp != e.Timestamp || !bytes.Equal(got.Data, e.Data) || len(got.Extra) != len(e.Extra) {
			t.Fatalf("changed in a round trip:\n%+v\n%+v", e, got)
		}
	})
}
