package replay

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/klauspost/compress/zstd"
	"github.com/sessionreplay/replay/internal/jsonx"
	"github.com/sessionreplay/replay/internal/splice"
)

// Chunks are stored in one of two formats.
//
// Version 1, every chunk written before assets and every chunk of a store
// without them, is a zstd frame holding the JSON array of the events.
//
// Version 2 holds a chunk whose large values are assets of the site (see
// assets.go): chunkV2Magic, a uvarint p (1 to maxCutPasses), then p passes
// of references, each a uvarint n and n references (a uvarint offset,
// relative to the previous one, and the 32-byte hash of the asset), then a
// zstd frame of the JSON array with the contents of the referenced strings
// and objects cut out, quotes and braces kept. Each pass cut its values out
// of the text the previous pass left; reading pastes the passes back in
// reverse order, each asset's bytes at its offset, which gives the
// version 1 JSON exactly. The references come before the compressed part,
// so they can be listed without decompressing.
//
// A zstd frame starts with 0x28, so the two never mix up. The encoder and
// decoder are safe for concurrent use through EncodeAll and DecodeAll and
// are built once.
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

// chunkV2Magic starts a version 2 chunk.
const chunkV2Magic = "rpc\x02"

// maxCutPasses bounds the passes of references of a version 2 chunk.
const maxCutPasses = 4

// assetRef is a reference of a version 2 chunk: the asset with this hash
// goes at offset off of the cut JSON.
type assetRef struct {
	off  int
	hash [sha256.Size]byte
}

// encodeChunk encodes events as a compressed JSON array (version 1).
func encodeChunk(events []Event) ([]byte, error) {
	return encodeChunkWith(chunkEncoder, events)
}

// chunkBuffers reuses the JSON buffers of encodeChunk: the JSON is
// transient, only its compressed copy is kept.
var chunkBuffers sync.Pool

// maxPooledBuffer is the largest buffer kept for reuse.
const maxPooledBuffer = 4 << 20

// encodeChunkWith is encodeChunk with the encoder given. The events are
// written one after the other into one pooled buffer, which is compressed.
func encodeChunkWith(enc *zstd.Encoder, events []Event) ([]byte, error) {
	bp, _ := chunkBuffers.Get().(*[]byte)
	if bp == nil {
		bp = new([]byte)
	}
	js, err := appendEventsJSON((*bp)[:0], events)
	var out []byte
	if err == nil {
		out = enc.EncodeAll(js, nil)
	}
	if cap(js) <= maxPooledBuffer {
		*bp = js
		chunkBuffers.Put(bp)
	}
	return out, err
}

// encodeChunkV2 returns a version 2 chunk of cut, the JSON array of the
// events with the values of passes cut out (each pass's references in
// ascending offset, in the text the previous pass left).
func encodeChunkV2(cut []byte, passes [][]assetRef) []byte {
	n := 0
	for _, refs := range passes {
		n += len(refs)
	}
	out := make([]byte, 0, len(chunkV2Magic)+binary.MaxVarintLen64*(1+len(passes)+n)+n*sha256.Size+len(cut)/4)
	out = append(out, chunkV2Magic...)
	out = binary.AppendUvarint(out, uint64(len(passes)))
	for _, refs := range passes {
		out = binary.AppendUvarint(out, uint64(len(refs)))
		prev := 0
		for _, r := range refs {
			out = binary.AppendUvarint(out, uint64(r.off-prev))
			out = append(out, r.hash[:]...)
			prev = r.off
		}
	}
	return chunkEncoder.EncodeAll(cut, out)
}

// parseChunk returns the JSON of a stored chunk, decompressed, and the
// passes of its asset references (none for version 1).
func parseChunk(data []byte) (js []byte, passes [][]assetRef, err error) {
	if rest, ok := bytes.CutPrefix(data, []byte(chunkV2Magic)); ok {
		np, k := binary.Uvarint(rest)
		if k <= 0 || np < 1 || np > maxCutPasses {
			return nil, nil, errors.New("decode chunk: bad asset reference passes")
		}
		rest = rest[k:]
		passes = make([][]assetRef, np)
		for p := range passes {
			n, k := binary.Uvarint(rest)
			if k <= 0 || n > uint64(len(rest)/(1+sha256.Size)) {
				return nil, nil, errors.New("decode chunk: bad asset reference count")
			}
			rest = rest[k:]
			refs := make([]assetRef, n)
			off := uint64(0)
			for i := range refs {
				d, k := binary.Uvarint(rest)
				if k <= 0 || len(rest) < k+sha256.Size || d > maxChunkBytes {
					return nil, nil, fmt.Errorf("decode chunk: bad asset reference %d", i)
				}
				if off += d; off > maxChunkBytes {
					return nil, nil, fmt.Errorf("decode chunk: bad asset reference %d", i)
				}
				refs[i].off = int(off)
				copy(refs[i].hash[:], rest[k:])
				rest = rest[k+sha256.Size:]
			}
			passes[p] = refs
		}
		data = rest
	}
	js, err = chunkDecoder.DecodeAll(data, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("decompress chunk: %w", err)
	}
	return js, passes, nil
}

// batchText is the JSON array of a batch's events as the chunk stores it,
// and where its strings that may become assets are: the spans
// splice.Find(js, minAssetBytes, isAssetKey) returns.
type batchText struct {
	js    []byte
	spans []splice.Span
	from  []string // for each span, the cached style sheet it was written from, or ""
}

// writeEvents writes the JSON array of events, each from its tree when it
// has one (jsonx.AppendRaw: the text of what masking did not change is
// copied), notes where the strings that may become assets went as it
// writes, and sets each event's Data to its data in the text. quoted, when
// not nil, gives the JSON text of strings encoded before (see
// jsonx.Writer.Quoted).
func writeEvents(events []Event, quoted func(string) (string, bool)) (*batchText, error) {
	size := 2
	for i := range events {
		size += len(events[i].Data) + 64
	}
	w := jsonx.Writer{Buf: make([]byte, 0, size+size/16), Keys: isAssetKeyString, Min: minAssetBytes, Quoted: quoted}
	find := func(raw []byte, at int) {
		for _, s := range splice.Find(raw, minAssetBytes, isAssetKey) {
			w.Spans = append(w.Spans, jsonx.Span{Start: at + s.Start, End: at + s.End})
		}
	}
	w.Marked = find
	datas := make([][2]int, len(events))
	w.Buf = append(w.Buf, '[')
	for i := range events {
		e := &events[i]
		if i > 0 {
			w.Buf = append(w.Buf, ',')
		}
		w.Buf = e.appendHead(w.Buf)
		start := len(w.Buf)
		switch {
		case e.decoded() != nil:
			if err := w.Append(e.tree); err != nil {
				return nil, fmt.Errorf("events[%d]: %w", i, err)
			}
		case len(e.Data) == 0:
			w.Buf = append(w.Buf, "{}"...)
		default:
			w.Buf = append(w.Buf, e.Data...)
			find(w.Buf[start:], start)
		}
		end := len(w.Buf)
		datas[i] = [2]int{start, end}
		var err error
		if w.Buf, err = e.appendTail(w.Buf); err != nil {
			return nil, fmt.Errorf("events[%d]: %w", i, err)
		}
		if len(e.Extra) > 0 {
			find(w.Buf[end:], end)
		}
	}
	w.Buf = append(w.Buf, ']')
	// The events' Data are slices of the text, which is therefore never
	// reused.
	for i, d := range datas {
		e := &events[i]
		tree := e.decoded()
		e.Data = w.Buf[d[0]:d[1]:d[1]]
		e.setTree(tree) // what it was written from
	}
	t := &batchText{js: w.Buf}
	for _, s := range w.Spans {
		t.spans = append(t.spans, splice.Span{Start: s.Start, End: s.End})
		t.from = append(t.from, s.Quoted)
	}
	return t, nil
}

// eventsJSON encodes events as a JSON array.
func eventsJSON(events []Event) ([]byte, error) {
	return appendEventsJSON(nil, events)
}

// appendEventsJSON appends the JSON array of events to buf.
func appendEventsJSON(buf []byte, events []Event) ([]byte, error) {
	size := 2
	for i := range events {
		size += len(events[i].Data) + 64
	}
	buf = slices.Grow(buf, size)
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
	return buf, nil
}

// decodeChunk returns the events of a stored chunk as raw JSON, in the order
// they were stored. The raw events share the decompressed chunk's memory.
// The strings of a version 2 chunk that are assets are left empty; see
// decodeChunkWith.
func decodeChunk(data []byte) ([]json.RawMessage, error) {
	return decodeChunkWith(data, nil)
}

// decodeChunkWith is decodeChunk that restores the assets of a version 2
// chunk: asset returns the contents of the string or object with a hash
// (verified against it). With asset nil they are left empty.
func decodeChunkWith(data []byte, asset func(hash [sha256.Size]byte) ([]byte, error)) ([]json.RawMessage, error) {
	raw, passes, err := parseChunk(data)
	if err != nil {
		return nil, err
	}
	for p := len(passes) - 1; p >= 0 && asset != nil; p-- {
		if raw, err = pasteAssets(raw, passes[p], asset); err != nil {
			return nil, err
		}
	}
	p := jsonx.NewParser(raw)
	var events []json.RawMessage
	err = p.Array(func(int) error {
		e, err := p.Raw()
		events = append(events, e)
		return err
	})
	if err == nil {
		err = p.End()
	}
	if err != nil {
		return nil, fmt.Errorf("decode chunk: %w", err)
	}
	return events, nil
}

// pasteAssets pastes the assets of one pass of references into raw.
func pasteAssets(raw []byte, refs []assetRef, asset func(hash [sha256.Size]byte) ([]byte, error)) ([]byte, error) {
	if len(refs) == 0 {
		return raw, nil
	}
	offsets := make([]int, len(refs))
	parts := make([][]byte, len(refs))
	for i, r := range refs {
		if r.off == 0 || r.off >= len(raw) {
			return nil, errors.New("decode chunk: asset reference out of the chunk")
		}
		open, end := raw[r.off-1], raw[r.off]
		if !(open == '"' && end == '"' || open == '{' && end == '}') {
			return nil, errors.New("decode chunk: asset reference not at an empty string or object")
		}
		b, err := asset(r.hash)
		if err != nil {
			return nil, err
		}
		if open == '"' && !quotesEscaped(b) {
			return nil, errors.New("decode chunk: asset is not the contents of a JSON string")
		}
		offsets[i], parts[i] = r.off, b
	}
	out, ok := splice.Paste(raw, offsets, parts)
	if !ok {
		return nil, errors.New("decode chunk: asset references out of order")
	}
	return out, nil
}

// quotesEscaped reports whether every quote in s is escaped, so that s is
// safe between the quotes of a JSON string.
func quotesEscaped(s []byte) bool {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			return false
		}
	}
	return true
}

// eventTimestamp reads the timestamp of a stored event: its top-level
// "timestamp" key (the last one, matched exactly), 0 when it has none.
func eventTimestamp(raw []byte) (float64, error) {
	p := jsonx.NewParser(raw)
	var ts float64
	err := p.Object(func(key string) error {
		if key != "timestamp" || p.Kind() == "null" {
			return p.Skip()
		}
		f, err := p.Num()
		if err == jsonx.ErrWrongType {
			return errors.New("timestamp: want a number")
		}
		ts = f
		return err
	})
	if err == nil {
		err = p.End()
	}
	return ts, err
}

// decodeChunkEvents is decodeChunkWith with each event decoded.
func decodeChunkEvents(data []byte, asset func(hash [sha256.Size]byte) ([]byte, error)) ([]Event, error) {
	raws, err := decodeChunkWith(data, asset)
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
