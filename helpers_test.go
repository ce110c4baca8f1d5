package replay

import (
	"bytes"
	"encoding/json"
	"strings"
	"unicode/utf16"

	"github.com/sessionreplay/replay/internal/privacy"
)

// stdEncode encodes v as masking did with encoding/json.
func stdEncode(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// privacyEvents copies events for the privacy engine.
func privacyEvents(events []Event) []privacy.Event {
	out := make([]privacy.Event, len(events))
	for i, e := range events {
		out[i] = privacy.Event{Type: int(e.Type), Timestamp: e.Timestamp, Data: e.Data, Extra: e.Extra}
	}
	return out
}

// rrwebMaskText masks text as rrweb (and the privacy engine) does: every
// UTF-16 code unit that is not JavaScript whitespace becomes '*'.
func rrwebMaskText(v string) string {
	var b strings.Builder
	for _, r := range v {
		switch {
		case r == '\t', r == '\n', r == '\v', r == '\f', r == '\r', r == ' ', r == 0xa0, r == 0x1680, r == 0x2028,
			r == 0x2029, r == 0x202f, r == 0x205f, r == 0x3000, r == 0xfeff, r >= 0x2000 && r <= 0x200a:
			b.WriteRune(r)
		case utf16.RuneLen(r) == 2:
			b.WriteString("**")
		default:
			b.WriteByte('*')
		}
	}
	return b.String()
}
