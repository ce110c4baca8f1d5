package privacy

import (
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestScrubCards(t *testing.T) {
	tests := []struct{ in, want string }{
		{"4111111111111111", "****************"},
		{"card 4111 1111 1111 1111 ok", "card **** **** **** **** ok"},
		{"4111-1111-1111-1111", "****-****-****-****"},
		{"amex 378282246310005.", "amex ***************."},
		{"4111111111111112", "4111111111111112"},         // fails Luhn
		{"order 1234567890123", "order 1234567890123"},   // 13 digits, fails Luhn
		{"4111  1111 1111 1111", "4111  1111 1111 1111"}, // a double space ends the run
		{"call 555 0100 or pay 4111111111111111", "call 555 0100 or pay ****************"},
		{"4111 1111 1111 1111, 2", "**** **** **** ****, 2"},
		{"ts 1718000000000 and 42", "ts 1718000000000 and 42"},
		{"", ""},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, scrubCards(tt.in), tt.in)
	}
}

func TestCountDigits(t *testing.T) {
	count := func(v string) int { // the model: a byte at a time
		n := 0
		for i := 0; i < len(v); i++ {
			if v[i] >= '0' && v[i] <= '9' {
				n++
			}
		}
		return n
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for range 20000 {
		b := make([]byte, rng.IntN(40))
		for i := range b {
			switch rng.IntN(3) {
			case 0:
				b[i] = byte('0' + rng.IntN(10))
			case 1: // the bytes around the digits
				b[i] = []byte{'/', ':', 0x2f + 0x80, 0x30 + 0x80, 0x39 + 0x80, 0x3a + 0x80, 0, 0xff, 0x7f}[rng.IntN(9)]
			default:
				b[i] = byte(rng.IntN(256))
			}
		}
		require.Equal(t, count(string(b)), countDigits(string(b)), "%q", b)
	}
	for c := range 256 {
		s := strings.Repeat(string([]byte{byte(c)}), 17)
		require.Equal(t, count(s), countDigits(s), "byte %#x", c)
	}
}

func TestScrubText(t *testing.T) {
	s := &scrubber{card: true, email: true}
	assert.Equal(t, "mail ****.***@*******.*** now", s.text("mail jane.doe@example.com now"))
	assert.Equal(t, "no secrets here", s.text("no secrets here"))
}

func TestScrubURL(t *testing.T) {
	s := &scrubber{params: map[string]bool{"token": true, "email": true}}
	tests := []struct{ in, want string }{
		{"https://x.example/a?token=abc&b=2", "https://x.example/a?token=***&b=2"},
		{"/a?b=2&Token=abc#top", "/a?b=2&Token=***#top"},
		{"/a#access=1&token=abc", "/a#access=1&token=***"},
		{"/a#/route?email=j%40x.com", "/a#/route?email=***"},
		{"/a?%74oken=abc", "/a?%74oken=***"},
		{"/plain/path", "/plain/path"},
		{"data:text/plain,token=abc", "data:text/plain,token=abc"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, s.url(tt.in), tt.in)
	}
}

func TestScrubJSONStringStaysJSON(t *testing.T) {
	s := &scrubber{card: true, email: true}
	for _, in := range []string{
		`{"card":4111111111111111,"n":[1,"jane@example.com"]}`,
		`"4111 1111 1111 1111"`,
		`not json 4111111111111111`,
		`123n`,
	} {
		out := s.jsonString(in)
		assert.NotContains(t, out, "4111")
		assert.NotContains(t, out, "jane@")
		if json.Valid([]byte(in)) {
			assert.True(t, json.Valid([]byte(out)), "%s stays JSON: %s", in, out)
		}
	}
}

func TestMaskValues(t *testing.T) {
	assert.Equal(t, "**** ***", maskTextValue("Jane Doe"))
	assert.Equal(t, "********", maskInputValue("Jane Doe"))
	assert.Equal(t, "**\t*", maskTextValue("😀\té"), "an astral character is two UTF-16 units")
	assert.Equal(t, "***", maskInputValue("😀é"))
}
