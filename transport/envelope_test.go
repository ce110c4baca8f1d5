package transport

import (
	"testing"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/stretchr/testify/assert"

	"github.com/sessionreplay/replay"
)

func TestReadEnvelopeStopsBeforeTheEvents(t *testing.T) {
	// The events are not JSON at all: reading stops before them.
	site, session, ok := readEnvelope([]byte(`{"site":"demo","session":"s-12345678","events":[{not json`))
	assert.True(t, ok)
	assert.Equal(t, "demo", site)
	assert.Equal(t, "s-12345678", session)

	site, session, ok = readEnvelope([]byte(`{"seq":1,"attrs":{"a":"b"},"session":"s\u002d1","window":"w","site":"d"}`))
	assert.True(t, ok, "members before them are skipped")
	assert.Equal(t, "d", site)
	assert.Equal(t, "s-1", session)

	for _, body := range []string{``, `[]`, `{"site":"demo"}`, `{"site":1,"session":"s"}`,
		`{"site":"demo","session":null}`, `{"x":[1,2,}`, `{"site":"a"` + "\x00"} {
		_, _, ok := readEnvelope([]byte(body))
		assert.False(t, ok, "%q", body)
	}
}

func TestCountEvents(t *testing.T) {
	n, ok := countEvents([]byte(`{"site":"demo","events":[{"a":[1,{"b":2}]},"packed",3],"attrs":{}}`))
	assert.True(t, ok)
	assert.Equal(t, 3, n)
	n, ok = countEvents([]byte(`{"events":[]}`))
	assert.True(t, ok)
	assert.Equal(t, 0, n)
	for _, body := range []string{`{"site":"demo"}`, `{"events":{}}`, `{"events":[1,}`, `[1]`} {
		_, ok := countEvents([]byte(body))
		assert.False(t, ok, "%q", body)
	}
}

// FuzzEnvelope checks the envelope reader against DecodeBatch: on a valid
// body without duplicate names both read the same site and session, and
// countEvents counts the events DecodeBatch decodes. Neither may panic.
func FuzzEnvelope(f *testing.F) {
	f.Add([]byte(`{"site":"demo","session":"s-12345678","window":"w","seq":0,"events":[{"type":4,"data":{"href":"x","width":1,"height":1},"timestamp":1}],"attrs":{}}`))
	f.Add([]byte(`{"events":[],"session":"s","site":"x"}`))
	f.Add([]byte(`{"site":"a","site":"b","session":"s","events":[]}`))
	f.Add([]byte(`{"site":"\ud800","session":"s","events":[]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		site, session, ok := readEnvelope(body)
		n, counted := countEvents(body)
		if !jsontext.Value(body).IsValid() {
			return
		}
		b, err := replay.DecodeBatch(body)
		if err != nil {
			return
		}
		if ok && (site != b.Site || session != b.Session) {
			t.Fatalf("envelope %q %q, DecodeBatch %q %q", site, session, b.Site, b.Session)
		}
		if !counted || n != len(b.Events) {
			t.Fatalf("counted %d (%v), DecodeBatch %d", n, counted, len(b.Events))
		}
	})
}
