package replay

import (
	"bytes"
	"encoding/json"
	"runtime"
	"slices"
	"testing"

	"github.com/sessionreplay/replay/internal/jsonx"
	"github.com/sessionreplay/replay/internal/privacy"
)

// The masking benchmarks run on a synthetic page (a 2 000-node snapshot,
// then 200 mutations and input events) and on the catalog page recorded in
// Chromium. BenchmarkMask masks the events; BenchmarkTreeDecodeEncode only
// decodes each event's data and encodes it again the same way, which is the
// work masking rides on, and BenchmarkDecodeEncodeBaseline does that with
// encoding/json. Compare their ns/op (or MB/s):
//
//	go test -run '^$' -bench 'Mask$|DecodeEncode|Mirror' -benchmem .
func benchInputs(b *testing.B) map[string][]Event {
	return map[string][]Event{
		"synthetic": genEvents(b, 2000),
		"catalog":   recordingEvents(b, "catalog.json"),
	}
}

func dataBytes(events []Event) int64 {
	var n int64
	for _, e := range events {
		n += int64(len(e.Data))
	}
	return n
}

func BenchmarkMask(b *testing.B) {
	m, err := DefaultPolicy().compile()
	if err != nil {
		b.Fatal(err)
	}
	for name, events := range benchInputs(b) {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(dataBytes(events))
			in := privacyEvents(events)
			work := make([]privacy.Event, len(in))
			for b.Loop() {
				copy(work, in)
				if _, _, err := privacy.NewMirror().MaskBatch(m, work, false); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDecodeEncodeBaseline decodes and encodes each event's data with
// encoding/json (numbers as json.Number, no HTML escaping), as masking did
// before it had a decoder of its own: the baseline of BenchmarkTreeDecodeEncode.
func BenchmarkDecodeEncodeBaseline(b *testing.B) {
	benchDecodeEncode(b, func(data []byte) ([]byte, error) {
		var d map[string]any
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		if err := dec.Decode(&d); err != nil {
			return nil, err
		}
		return stdEncode(d)
	})
}

// BenchmarkTreeDecodeEncode does the same with jsonx.Decode and jsonx.Marshal.
func BenchmarkTreeDecodeEncode(b *testing.B) {
	benchDecodeEncode(b, func(data []byte) ([]byte, error) {
		d, err := jsonx.Decode(data)
		if err != nil {
			return nil, err
		}
		return jsonx.Marshal(d)
	})
}

func benchDecodeEncode(b *testing.B, roundTrip func([]byte) ([]byte, error)) {
	for name, events := range benchInputs(b) {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(dataBytes(events))
			work := make([]Event, len(events))
			for b.Loop() {
				copy(work, events)
				for i := range work {
					var err error
					if work[i].Data, err = roundTrip(work[i].Data); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}

// BenchmarkMirror reports the heap a window's mirror holds, per node.
func BenchmarkMirror(b *testing.B) {
	p := &Policy{MaskAllInputs: true, MaskTextSelector: ".pii, .account .balance"}
	for name, events := range benchInputs(b) {
		b.Run(name, func(b *testing.B) {
			var perNode float64
			for b.Loop() {
				size, nodes := mirrorHeap(b, p, events)
				perNode = float64(size) / float64(nodes)
			}
			b.ReportMetric(perNode, "B/node")
		})
	}
}

// mirrorHeap measures the heap a mirror of events holds: the live heap with
// it minus the live heap once it is gone.
func mirrorHeap(tb testing.TB, p *Policy, events []Event) (size int64, nodes int) {
	heap := func() int64 {
		var m runtime.MemStats
		runtime.GC()
		runtime.GC()
		runtime.ReadMemStats(&m)
		return int64(m.HeapAlloc)
	}
	mr := mirrorOf(tb, p, slices.Clone(events))
	nodes = mr.Len()
	with := heap()
	runtime.KeepAlive(mr)
	mr = nil
	return with - heap(), nodes
}
