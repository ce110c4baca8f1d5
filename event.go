package replay

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/sessionreplay/replay/storage"
)

// EventType is the type of an rrweb event (the `type` field).
type EventType int

// The rrweb 2.x event types.
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

// Event is one rrweb event. Type and Timestamp are decoded; Data is kept as
// the JSON it arrived as, and every other top-level key (delay, _sid, the
// packer's v, keys of future rrweb versions) is kept in Extra, so an event
// decodes and encodes without loss.
type Event struct {
	Type      EventType
	Timestamp float64 // milliseconds since the Unix epoch, as the browser sent it
	Data      json.RawMessage
	Extra     map[string]json.RawMessage
}

// Time returns the event's timestamp as a time.Time.
func (e *Event) Time() time.Time {
	return time.UnixMicro(int64(e.Timestamp * 1000))
}

// MarshalJSON encodes the event with its Extra keys.
func (e Event) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(len(e.Data) + 48)
	buf.WriteString(`{"type":`)
	buf.WriteString(strconv.Itoa(int(e.Type)))
	buf.WriteString(`,"data":`)
	if len(e.Data) == 0 {
		buf.WriteString("{}")
	} else {
		buf.Write(e.Data)
	}
	buf.WriteString(`,"timestamp":`)
	buf.WriteString(strconv.FormatFloat(e.Timestamp, 'f', -1, 64))
	for k, v := range e.Extra {
		buf.WriteByte(',')
		kb, err := json.Marshal(k)
		if err != nil {
			return nil, err
		}
		buf.Write(kb)
		buf.WriteByte(':')
		buf.Write(v)
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

// UnmarshalJSON decodes an event object, keeping unknown keys in Extra.
// It checks only the envelope; see [Batch.Validate] for the rest.
func (e *Event) UnmarshalJSON(b []byte) error {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(b, &fields); err != nil {
		return fmt.Errorf("want an object")
	}
	*e = Event{}
	for k, v := range fields {
		switch k {
		case "type":
			var t int
			if err := json.Unmarshal(v, &t); err != nil {
				return &ValidationError{Path: "type", Msg: "want an integer"}
			}
			e.Type = EventType(t)
		case "timestamp":
			if err := json.Unmarshal(v, &e.Timestamp); err != nil {
				return &ValidationError{Path: "timestamp", Msg: "want a number"}
			}
		case "data":
			if len(v) == 0 || v[0] != '{' {
				return &ValidationError{Path: "data", Msg: "want an object"}
			}
			e.Data = v
		default:
			if e.Extra == nil {
				e.Extra = make(map[string]json.RawMessage)
			}
			e.Extra[k] = v
		}
	}
	if _, ok := fields["type"]; !ok {
		return &ValidationError{Path: "type", Msg: "missing"}
	}
	if _, ok := fields["timestamp"]; !ok {
		return &ValidationError{Path: "timestamp", Msg: "missing"}
	}
	return nil
}

// Batch is one ingest request: a window's events with its sequence number.
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
// the offending field, as in `events[12].data.source: want a number`.
type ValidationError struct {
	Path string
	Msg  string
}

func (e *ValidationError) Error() string { return e.Path + ": " + e.Msg }

// DecodeBatch decodes an ingest body (already decompressed) into a Batch.
// It checks the JSON shape of the envelope and of each event; Validate checks
// the rest.
func DecodeBatch(data []byte) (*Batch, error) {
	var b Batch
	if err := json.Unmarshal(data, &b); err != nil {
		return nil, &ValidationError{Path: "body", Msg: err.Error()}
	}
	b.Bytes = len(data)
	return &b, nil
}

// Validate checks the batch's ids and the shape of its events.
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
	}
	return nil
}
