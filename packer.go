package replay

import (
	"bytes"
	"compress/zlib"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/sessionreplay/replay/internal/jsonx"
	"github.com/sessionreplay/replay/internal/privacy"
)

// Events packed by @rrweb/packer arrive as JSON strings in the events array:
// the event with an added "v":"v1", as JSON, zlib-compressed, each byte one
// character of the string (latin1). This file unpacks them, and packs events
// the same way.

// Limits on unpacking, so a zlib bomb costs nothing: one packed event may
// not inflate beyond maxPackedEvent, nor a batch's packed events together
// beyond maxPackedTotal.
const (
	maxPackedEvent = 32 << 20
	maxPackedTotal = 100 << 20
)

// packMark is the value of the "v" key the packer adds; the masker keeps
// the key with that value only.
const packMark = privacy.PackMark

// UnpackEvent decodes an event packed by @rrweb/packer's pack. Like the
// packer's unpack, it also accepts the event's plain JSON. The event keeps
// the packer's "v" key in Extra. Errors are [*ValidationError]s.
func UnpackEvent(packed string) (Event, error) {
	var e Event
	d := newDecoder(maxPackedEvent, maxPackedEvent)
	err := d.unpack(packed, &e, "")
	return e, err
}

// PackEvent encodes an event as @rrweb/packer's pack does: with "v":"v1"
// added, as JSON, zlib-compressed, each byte one character of the returned
// string.
func PackEvent(e Event) (string, error) {
	extra := make(map[string]json.RawMessage, len(e.Extra)+1)
	for k, v := range e.Extra {
		extra[k] = v
	}
	extra["v"] = json.RawMessage(`"` + packMark + `"`)
	e.Extra = extra
	js, err := e.MarshalJSON()
	if err != nil {
		return "", err
	}
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	zw.Write(js)
	if err := zw.Close(); err != nil {
		return "", err
	}
	r := make([]rune, z.Len())
	for i, c := range z.Bytes() {
		r[i] = rune(c)
	}
	return string(r), nil
}

// size formats a limit in bytes.
func size(n int) string {
	if n >= 1<<20 && n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}

// unpack decodes the packed event s into e, counting what it inflates
// against d's budget. path names the event in errors.
func (d *decoder) unpack(s string, e *Event, path string) error {
	if path == "" {
		path = "event"
	}
	fail := func(format string, args ...any) error {
		return &ValidationError{Path: path, Msg: "packed event: " + fmt.Sprintf(format, args...)}
	}
	var js []byte
	plain := false
	if t := bytes.TrimLeft([]byte(s), " \t\r\n"); len(t) > 0 && t[0] == '{' {
		// Plain JSON, which unpack accepts too.
		js, plain = t, true
	} else {
		raw := make([]byte, 0, len(s))
		for i, r := range s {
			if r > 0xff { // and utf8.RuneError for invalid UTF-8
				return fail("character %U at %d is not a byte", r, i)
			}
			raw = append(raw, byte(r))
		}
		limit := min(d.packMax, d.packBudget)
		zr, err := zlib.NewReader(bytes.NewReader(raw))
		if err != nil {
			return fail("%v", err)
		}
		js, err = io.ReadAll(io.LimitReader(zr, int64(limit)+1))
		if err != nil {
			return fail("%v", err)
		}
		if len(js) > limit {
			if limit < d.packMax {
				return fail("packed events exceed %s in total once inflated", size(d.packTotal))
			}
			return fail("over %s once inflated", size(d.packMax))
		}
		d.packBudget -= len(js)
	}
	p := jsonx.NewParser(js)
	if p.Kind() != "object" {
		return fail("want a JSON object")
	}
	err := d.event(p, e, path)
	if err == nil {
		err = p.End()
	}
	var se *jsonx.SyntaxError
	if errors.As(err, &se) {
		return fail("invalid JSON: %v", se)
	}
	if err != nil || plain {
		return err
	}
	var mark string
	if v, ok := e.Extra["v"]; !ok || json.Unmarshal(v, &mark) != nil || mark != packMark {
		return fail(`want "v": %q`, packMark)
	}
	return nil
}
