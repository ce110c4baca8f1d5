package replay

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/klauspost/compress/zstd"
)

// Chunks are stored as a zstd frame holding a JSON array of events. The
// encoder and decoder are safe for concurrent use through EncodeAll and
// DecodeAll and are built once.
var (
	chunkEncoder, _ = zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedDefault), zstd.WithEncoderConcurrency(1))
	chunkDecoder, _ = zstd.NewReader(nil, zstd.WithDecoderConcurrency(0), zstd.WithDecoderMaxMemory(maxChunkBytes))
)

// maxChunkBytes bounds a decompressed chunk; the ingest limits keep real
// chunks far below it.
const maxChunkBytes = 256 << 20

// encodeChunk encodes events as a compressed JSON array.
func encodeChunk(events []Event) ([]byte, error) {
	size := 2
	for i := range events {
		size += len(events[i].Data) + 64
	}
	var buf bytes.Buffer
	buf.Grow(size)
	buf.WriteByte('[')
	for i := range events {
		if i > 0 {
			buf.WriteByte(',')
		}
		b, err := events[i].MarshalJSON()
		if err != nil {
			return nil, fmt.Errorf("events[%d]: %w", i, err)
		}
		buf.Write(b)
	}
	buf.WriteByte(']')
	return chunkEncoder.EncodeAll(buf.Bytes(), nil), nil
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
