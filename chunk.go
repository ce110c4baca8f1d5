package replay

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/klauspost/compress/zstd"
)

// Chunks are stored as a zstd frame holding a JSON array of events. The
// encoder and decoder are safe for concurrent use through EncodeAll and
// DecodeAll and are built once.
//
// The level is zstd's fastest: on the recorded corpus it encodes chunks in
// about 60% of the CPU time of the default level for 2% more bytes, and
// better compression costs twice the time for 10% fewer bytes
// (BenchmarkEncodeChunk).
var (
	chunkEncoder, _ = zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1))
	chunkDecoder, _ = zstd.NewReader(nil, zstd.WithDecoderConcurrency(0), zstd.WithDecoderMaxMemory(maxChunkBytes))
)

// maxChunkBytes bounds a decompressed chunk; the ingest limits keep real
// chunks far below it.
const maxChunkBytes = 256 << 20

// encodeChunk encodes events as a compressed JSON array.
func encodeChunk(events []Event) ([]byte, error) {
	return encodeChunkWith(chunkEncoder, events)
}

// chunkBuffers reuses the JSON buffers of encodeChunk: the JSON is
// transient, only its compressed copy is kept.
var chunkBuffers sync.Pool

// maxPooledBuffer is the largest buffer kept for reuse.
const maxPooledBuffer = 4 << 20

// encodeChunkWith is encodeChunk with the encoder given. The events are
// written one after the other into one buffer, which is compressed.
func encodeChunkWith(enc *zstd.Encoder, events []Event) ([]byte, error) {
	size := 2
	for i := range events {
		size += len(events[i].Data) + 64
	}
	bp, _ := chunkBuffers.Get().(*[]byte)
	if bp == nil {
		bp = new([]byte)
	}
	buf := slices.Grow((*bp)[:0], size)
	buf = append(buf, '[')
	for i := range events {
		if i > 0 {
			buf = append(buf, ',')
		}
		var err error
		if buf, err = events[i].appendJSON(buf); err != nil {
			return nil, fmt.Errorf("events[%d]: %w", i, err)
		}
	}
	buf = append(buf, ']')
	out := enc.EncodeAll(buf, nil)
	if cap(buf) <= maxPooledBuffer {
		*bp = buf
		chunkBuffers.Put(bp)
	}
	return out, nil
}

// decodeChunk returns the events of a stored chunk as raw JSON, in the order
// they were stored. The raw events share the decompressed chunk's memory.
func decodeChunk(data []byte) ([]json.RawMessage, error) {
	raw, err := chunkDecoder.DecodeAll(data, nil)
	if err != nil {
		return nil, fmt.Errorf("decompress chunk: %w", err)
	}
	p := &parser{b: raw}
	var events []json.RawMessage
	err = p.array(func(int) error {
		e, err := p.raw()
		events = append(events, e)
		return err
	})
	if err == nil {
		err = p.end()
	}
	if err != nil {
		return nil, fmt.Errorf("decode chunk: %w", err)
	}
	return events, nil
}

// eventTimestamp reads the timestamp of a stored event: its top-level
// "timestamp" key (the last one, matched exactly), 0 when it has none.
func eventTimestamp(raw []byte) (float64, error) {
	p := &parser{b: raw}
	var ts float64
	err := p.object(func(key string) error {
		if key != "timestamp" || p.kind() == "null" {
			return p.skip()
		}
		f, err := p.num()
		if err == errWrongType {
			return errors.New("timestamp: want a number")
		}
		ts = f
		return err
	})
	if err == nil {
		err = p.end()
	}
	return ts, err
}

// decodeChunkEvents is decodeChunk with each event decoded.
func decodeChunkEvents(data []byte) ([]Event, error) {
	raws, err := decodeChunk(data)
	if err != nil {
		return nil, err
	}
	events := make([]Event, len(raws))
	for i, r := range raws {
		if err := events[i].UnmarshalJSON(r); err != nil {
			return nil, fmt.Errorf("decode chunk: events[%d]: %w", i, err)
		}
	}
	return events, nil
}
