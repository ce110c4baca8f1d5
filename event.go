package replay

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"
	"unsafe"

	"github.com/sessionreplay/replay/internal/jsonx"
	"github.com/sessionreplay/replay/storage"
)

// EventType is the type of an rrweb event (the `type` field).
type EventType int

// The rrweb 2.x event types. Other values are accepted and kept as they are.
const (
	DomContentLoaded    EventType = 0
	Load                EventType = 1
	FullSnapshot        EventType = 2
	IncrementalSnapshot EventType = 3
	Meta                EventType = 4
	Custom              EventType = 5
	Plugin              EventType = 6
	Asset               EventType = 7
)

var eventTypeNames = [...]string{"DomContentLoaded", "Load", "FullSnapshot",
	"IncrementalSnapshot", "Meta", "Custom", "Plugin", "Asset"}

// String returns the rrweb name of t, or its number for unknown types.
func (t EventType) String() string {
	if t >= 0 && int(t) < len(eventTypeNames) {
		return eventTypeNames[t]
	}
	return "EventType(" + strconv.Itoa(int(t)) + ")"
}

// Limits on what one batch may hold, so that its cost is bounded whatever
// the browser sends.
const (
	// MaxBatchEvents is the most events one batch may hold.
	MaxBatchEvents = 100_000
	// MaxNodeDepth is the deepest nesting of serialized DOM nodes accepted
	// in a FullSnapshot or a Mutation.
	MaxNodeDepth = 1000
)

// Event is one rrweb event. Type and Timestamp are decoded; Data is kept as
// the JSON it arrived as, and every other top-level key (delay, _sid, the
// packer's v, keys of future rrweb versions) is kept in Extra, so an event
// decodes and encodes without loss. Data is the source of truth; the typed
// accessors ([Event.Meta], [Event.Mutation], ...) decode it for reading.
// [DecodeBatch] and [Batch.Validate] keep Data decoded in the event for the
// steps after them, which read it so. To change an event's Data, give it a
// new slice: the decoded form then goes, and the new Data is decoded and
// checked. Never write into Data's bytes, which the decoded form shares.
//
// An Event is a value; methods that only read it may be called concurrently.
type Event struct {
	Type      EventType
	Timestamp float64 // milliseconds since the Unix epoch, as the browser sent it
	Data      json.RawMessage
	Extra     map[string]json.RawMessage

	tree   *jsonx.Object // Data decoded once; validation, masking, facts and encoding read it
	treeOf []byte        // the Data tree was decoded from: tree holds for no other
}

// decoded returns e's Data decoded, or nil when it has not been decoded
// since Data was last given a new slice.
func (e *Event) decoded() *jsonx.Object {
	if e.tree == nil || len(e.Data) != len(e.treeOf) || unsafe.SliceData(e.Data) != unsafe.SliceData(e.treeOf) {
		return nil
	}
	return e.tree
}

// setTree records t as e's Data decoded.
func (e *Event) setTree(t *jsonx.Object) { e.tree, e.treeOf = t, e.Data }

// Time returns the event's timestamp as a time.Time.
func (e *Event) Time() time.Time {
	return time.UnixMicro(int64(e.Timestamp * 1000))
}

// MarshalJSON encodes the event: type, data, timestamp, then the Extra keys
// in sorted order. An event without Data is encoded with an empty object.
func (e Event) MarshalJSON() ([]byte, error) {
	n := len(e.Data) + 64
	for k, v := range e.Extra {
		n += len(k) + len(v) + 4
	}
	return e.appendJSON(make([]byte, 0, n))
}

// appendJSON appends the event's JSON, as MarshalJSON writes it, to buf.
func (e *Event) appendJSON(buf []byte) ([]byte, error) {
	buf = e.appendHead(buf)
	if len(e.Data) == 0 {
		buf = append(buf, "{}"...)
	} else {
		buf = append(buf, e.Data...)
	}
	return e.appendTail(buf)
}

// appendHead appends the start of the event's JSON, up to its data.
func (e *Event) appendHead(buf []byte) []byte {
	buf = append(buf, `{"type":`...)
	buf = strconv.AppendInt(buf, int64(e.Type), 10)
	return append(buf, `,"data":`...)
}

// appendTail appends the rest of the event's JSON, after its data.
func (e *Event) appendTail(buf []byte) ([]byte, error) {
	if math.IsNaN(e.Timestamp) || math.IsInf(e.Timestamp, 0) {
		return nil, errors.New("replay: event timestamp is not a finite number")
	}
	buf = append(buf, `,"timestamp":`...)
	buf = strconv.AppendFloat(buf, e.Timestamp, 'f', -1, 64)
	if len(e.Extra) > 0 {
		keys := make([]string, 0, len(e.Extra))
		for k := range e.Extra {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			v := e.Extra[k]
			if !json.Valid(v) {
				return nil, fmt.Errorf("replay: event key %q holds invalid JSON", k)
			}
			kb, err := json.Marshal(k)
			if err != nil {
				return nil, err
			}
			buf = append(buf, ',')
			buf = append(buf, kb...)
			buf = append(buf, ':')
			buf = append(buf, v...)
		}
	}
	buf = append(buf, '}')
	return buf, nil
}

// UnmarshalJSON decodes an event object, keeping unknown keys in Extra. A
// JSON string is taken as an event packed by @rrweb/packer and unpacked.
// It checks only the envelope (type, timestamp, data); see
// [Batch.Validate] for the rest. Errors are [*ValidationError]s.
func (e *Event) UnmarshalJSON(b []byte) error {
	d := newDecoder(maxPackedEvent, maxPackedEvent)
	p := jsonx.NewParser(bytes.Clone(b))
	if err := d.event(p, e, ""); err != nil {
		return err
	}
	if err := p.End(); err != nil {
		return &ValidationError{Path: "event", Msg: "invalid JSON: " + err.Error()}
	}
	return nil
}

// Batch is one ingest request: a window's events with its sequence number.
// A Batch is not safe for concurrent modification.
type Batch struct {
	Site    string            `json:"site"`
	Session string            `json:"session"`
	Window  string            `json:"window"`
	Seq     int               `json:"seq"`
	Events  []Event           `json:"events"`
	Attrs   map[string]string `json:"attrs,omitempty"`

	// Bytes is the size of the JSON the batch was decoded from, counted in
	// the session's facts; DecodeBatch sets it.
	Bytes int `json:"-"`
}

// ValidationError reports a batch that is not rrweb-shaped, naming the path of
// the offending field, as in `events[12].data.source: want a number`. Like
// any value, it may be read concurrently.
type ValidationError struct {
	Path string
	Msg  string
}

// Error returns "path: msg".
func (e *ValidationError) Error() string { return e.Path + ": " + e.Msg }

// DecodeBatch decodes an ingest body (already decompressed) into a Batch.
// It checks the JSON syntax, the types of the batch's fields and the
// envelope of each event (type, timestamp, data); [Batch.Validate] checks
// the rest. Events packed by @rrweb/packer (JSON strings in the events
// array) are unpacked. Every error is a [*ValidationError] naming the field.
//
// The events' Data and Extra share one copy of data (and so do the strings
// of each event's data, decoded once here for the pipeline to read); data
// itself is not retained.
func DecodeBatch(data []byte) (*Batch, error) {
	// One copy of data, as a string: the events' Data and the strings of
	// their trees share it.
	return decodeBatch(string(data))
}

// DecodeBatchOwned decodes as [DecodeBatch] does, but takes ownership of
// data instead of copying it: the batch's events share data itself, and
// so may what a Recorder keeps of them after Ingest returns (its DOM
// mirrors), so the caller must never change or reuse data after the call.
// An HTTP handler that reads each body into a buffer of its own saves a
// copy of the body with it.
func DecodeBatchOwned(data []byte) (*Batch, error) {
	return decodeBatch(unsafe.String(unsafe.SliceData(data), len(data)))
}

func decodeBatch(text string) (*Batch, error) {
	d := newDecoder(maxPackedEvent, maxPackedTotal)
	d.trees = true
	return d.batch(text)
}

// batch decodes a batch; see DecodeBatch.
func (d *decoder) batch(text string) (*Batch, error) {
	p := jsonx.NewParserString(text)
	defer p.Release()
	b := &Batch{Bytes: len(text)}
	if p.Kind() != "object" {
		if err := p.Skip(); err != nil {
			return nil, bodyError(err)
		}
		return nil, &ValidationError{Path: "body", Msg: "want a JSON object"}
	}
	var sawEvents bool
	err := p.Object(func(key string) error {
		var err error
		switch key {
		case "site":
			b.Site, err = p.Text()
		case "session":
			b.Session, err = p.Text()
		case "window":
			b.Window, err = p.Text()
		case "seq":
			var f float64
			if f, err = p.Num(); err == nil && (f != math.Trunc(f) || f < 0 || f > math.MaxInt32) {
				err = jsonx.ErrWrongType
			}
			b.Seq = int(f)
			if err == jsonx.ErrWrongType {
				return &ValidationError{Path: "seq", Msg: "want an integer >= 0"}
			}
			return err
		case "attrs":
			return d.attrs(p, b)
		case "events":
			sawEvents = true
			return d.events(p, b)
		default:
			return p.Skip()
		}
		if err == jsonx.ErrWrongType {
			return &ValidationError{Path: key, Msg: "want a string"}
		}
		return err
	})
	if err == nil {
		err = p.End()
	}
	if err != nil {
		return nil, bodyError(err)
	}
	if !sawEvents {
		return nil, &ValidationError{Path: "events", Msg: "missing"}
	}
	return b, nil
}

// bodyError turns a syntax error into a ValidationError on the body.
func bodyError(err error) error {
	var se *jsonx.SyntaxError
	if errors.As(err, &se) {
		return &ValidationError{Path: "body", Msg: "invalid JSON: " + se.Error()}
	}
	return err
}

// decoder holds what DecodeBatch keeps across events.
type decoder struct {
	packMax    int  // most bytes one packed event may inflate to
	packTotal  int  // most bytes all packed events may inflate to
	packBudget int  // what is left of packTotal
	trees      bool // decode each event's Data into its tree too
}

func newDecoder(packMax, packTotal int) *decoder {
	return &decoder{packMax: packMax, packTotal: packTotal, packBudget: packTotal}
}

func (d *decoder) attrs(p *jsonx.Parser, b *Batch) error {
	switch p.Kind() {
	case "null":
		return p.Skip()
	case "object":
	default:
		if err := p.Skip(); err != nil {
			return err
		}
		return &ValidationError{Path: "attrs", Msg: "want an object of strings"}
	}
	b.Attrs = make(map[string]string)
	return p.Object(func(key string) error {
		s, err := p.Text()
		if err == jsonx.ErrWrongType {
			return &ValidationError{Path: "attrs." + jsonx.Abbrev(key), Msg: "want a string"}
		}
		b.Attrs[key] = s
		return err
	})
}

func (d *decoder) events(p *jsonx.Parser, b *Batch) error {
	if p.Kind() != "array" {
		if err := p.Skip(); err != nil {
			return err
		}
		return &ValidationError{Path: "events", Msg: "want an array"}
	}
	b.Events = b.Events[:0]
	return p.Array(func(i int) error {
		if i >= MaxBatchEvents {
			return &ValidationError{Path: "events", Msg: fmt.Sprintf("more than %d events", MaxBatchEvents)}
		}
		b.Events = append(b.Events, Event{})
		path := "events[" + strconv.Itoa(i) + "]"
		err := d.event(p, &b.Events[i], path)
		var se *jsonx.SyntaxError
		if errors.As(err, &se) {
			return &ValidationError{Path: path, Msg: "invalid JSON: " + se.Error()}
		}
		return err
	})
}

// event decodes one event object, or a packed event string, into e. path
// names the event in errors ("" for a lone event).
func (d *decoder) event(p *jsonx.Parser, e *Event, path string) error {
	at := func(field string) string {
		if path == "" {
			return field
		}
		return path + "." + field
	}
	switch p.Kind() {
	case "object":
	case "string":
		s, err := p.Str()
		if err != nil {
			return err
		}
		return d.unpack(s, e, path)
	default:
		if err := p.Skip(); err != nil {
			return err
		}
		if path == "" {
			path = "event"
		}
		return &ValidationError{Path: path, Msg: "want an object"}
	}
	*e = Event{}
	var sawType, sawTimestamp bool
	err := p.Object(func(key string) error {
		switch key {
		case "type":
			sawType = true
			t, err := p.Integer()
			if err == jsonx.ErrWrongType {
				return &ValidationError{Path: at("type"), Msg: "want an integer"}
			}
			e.Type = EventType(t)
			return err
		case "timestamp":
			sawTimestamp = true
			t, err := p.Num()
			if err == jsonx.ErrWrongType {
				return &ValidationError{Path: at("timestamp"), Msg: "want a number"}
			}
			e.Timestamp = t
			return err
		case "data":
			if p.Kind() != "object" {
				if err := p.Skip(); err != nil {
					return err
				}
				return &ValidationError{Path: at("data"), Msg: "want an object"}
			}
			if d.trees {
				p.Mark(isAssetKeyString, minAssetBytes)
				p.CacheStrings(styleTexts, isStyleKey, minAssetBytes)
				v, raw, err := p.ValueRaw()
				if err != nil {
					return err
				}
				e.Data = raw
				e.setTree(v.(*jsonx.Object))
				return nil
			}
			raw, err := p.Raw()
			e.Data = raw[:len(raw):len(raw)]
			return err
		default:
			raw, err := p.Raw()
			if err != nil {
				return err
			}
			if e.Extra == nil {
				e.Extra = make(map[string]json.RawMessage)
			}
			e.Extra[key] = raw[:len(raw):len(raw)]
			return nil
		}
	})
	switch {
	case err != nil:
		return err
	case !sawType:
		return &ValidationError{Path: at("type"), Msg: "missing"}
	case !sawTimestamp:
		return &ValidationError{Path: at("timestamp"), Msg: "missing"}
	case e.Data == nil:
		return &ValidationError{Path: at("data"), Msg: "missing"}
	}
	return nil
}

// Validate checks the batch's ids, its size, and the shape of its events:
// the envelope, and in Data the fields of the rrweb event model by event
// type and incremental source (schema.go). Unknown event types and sources
// pass, as do unknown fields; of a key given twice the last counts, as in
// the player. The error is a [*ValidationError] naming the first offending
// field. Validate keeps each event's Data decoded, for the steps after it,
// so it changes the batch.
func (b *Batch) Validate() error {
	switch {
	case !storage.ValidID(b.Site, 1):
		return &ValidationError{Path: "site", Msg: "want 1-64 characters of [A-Za-z0-9_-]"}
	case !storage.ValidID(b.Session, 8):
		return &ValidationError{Path: "session", Msg: "want 8-64 characters of [A-Za-z0-9_-]"}
	case !storage.ValidID(b.Window, 1):
		return &ValidationError{Path: "window", Msg: "want 1-64 characters of [A-Za-z0-9_-]"}
	case b.Seq < 0:
		return &ValidationError{Path: "seq", Msg: "want an integer >= 0"}
	case len(b.Events) > MaxBatchEvents:
		return &ValidationError{Path: "events", Msg: fmt.Sprintf("more than %d events", MaxBatchEvents)}
	}
	for i := range b.Events {
		if err := b.Events[i].validate(); err != nil {
			prefixPath(err, "events["+strconv.Itoa(i)+"]")
			return err
		}
	}
	return nil
}

// prefixPath puts prefix in front of a ValidationError's path.
func prefixPath(err error, prefix string) {
	var ve *ValidationError
	if !errors.As(err, &ve) {
		return
	}
	switch {
	case ve.Path == "":
		ve.Path = prefix
	case ve.Path[0] == '[':
		ve.Path = prefix + ve.Path
	default:
		ve.Path = prefix + "." + ve.Path
	}
}
