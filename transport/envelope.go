package transport

import (
	"bytes"

	"github.com/go-json-experiment/json/jsontext"
)

// readEnvelope reads the site and session of an ingest body, stopping as
// soon as it has both: recorder.js writes them first, so the events are not
// read at all. Members before them are skipped (checked for syntax, not
// decoded). ok is false when the body is not an object, a member before
// them is malformed, or either is missing or not a string; the caller then
// leaves the body to [replay.DecodeBatch], which names what is wrong.
func readEnvelope(body []byte) (site, session string, ok bool) {
	d := jsontext.NewDecoder(bytes.NewBuffer(body))
	if t, err := d.ReadToken(); err != nil || t.Kind() != '{' {
		return "", "", false
	}
	var haveSite, haveSession bool
	for !haveSite || !haveSession {
		if d.PeekKind() != '"' {
			return "", "", false // the end of the object, or an error
		}
		k, err := d.ReadToken()
		if err != nil {
			return "", "", false
		}
		switch name := k.String(); {
		case name == "site" || name == "session":
			if d.PeekKind() != '"' {
				return "", "", false
			}
			v, err := d.ReadToken()
			if err != nil {
				return "", "", false
			}
			if name == "site" {
				site, haveSite = v.String(), true
			} else {
				session, haveSession = v.String(), true
			}
		default:
			if d.SkipValue() != nil {
				return "", "", false
			}
		}
	}
	return site, session, true
}

// countEvents counts the elements of the body's top-level "events" array
// without decoding them; ok is false when the body is malformed up to the
// end of that array or has none.
func countEvents(body []byte) (n int, ok bool) {
	d := jsontext.NewDecoder(bytes.NewBuffer(body))
	if t, err := d.ReadToken(); err != nil || t.Kind() != '{' {
		return 0, false
	}
	for d.PeekKind() == '"' {
		k, err := d.ReadToken()
		if err != nil {
			return 0, false
		}
		if k.String() != "events" {
			if d.SkipValue() != nil {
				return 0, false
			}
			continue
		}
		if t, err := d.ReadToken(); err != nil || t.Kind() != '[' {
			return 0, false
		}
		for d.PeekKind() != ']' {
			if d.SkipValue() != nil {
				return 0, false
			}
			n++
		}
		return n, true
	}
	return 0, false
}
