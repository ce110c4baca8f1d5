package jsonx

import (
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestKnownKeyFindsEveryKnownKeyOnly(t *testing.T) {
	n := 0
	for _, slot := range knownKeys {
		for _, k := range slot {
			got, ok := knownKey([]byte(k))
			assert.True(t, ok, k)
			assert.Equal(t, k, got)
			n++
		}
	}
	assert.Greater(t, n, 50)
	for _, k := range []string{"", "Type", "typ", "types", "ID", "x1", "tagname"} {
		_, ok := knownKey([]byte(k))
		assert.False(t, ok, k)
	}
}

func TestSmallIntMatchesParseFloat(t *testing.T) {
	for _, s := range []string{"0", "-0", "7", "-12", "123456789012345", "-999999999999999", "1234567890123456", "1.5", "1e3", "-", ""} {
		got, ok := smallInt([]byte(s))
		want, err := strconv.ParseFloat(s, 64)
		if len(strings.TrimPrefix(s, "-")) > 15 || strings.ContainsAny(s, ".e") || err != nil {
			assert.False(t, ok, s)
			continue
		}
		require.True(t, ok, s)
		assert.Equal(t, math.Float64bits(want), math.Float64bits(got), s)
	}
}

// TestStringScanStopsAtEachByte checks that reading a string stops at the
// byte that ends or escapes it, or that is refused, wherever it falls in
// the 8 bytes read at a time and in a long run looked through apart,
// behind ASCII or not, and that an error names that byte's offset.
func TestStringScanStopsAtEachByte(t *testing.T) {
	pad := strings.Repeat(" ", 100) // so that long runs are looked through apart
	for _, lead := range []string{"", "é", "\xff"} {
		for n := range 200 {
			pre := strings.Repeat("a", n) + lead
			p := NewParser([]byte(`"` + pre + `\n` + pre + `"` + pre + pad))
			s, err := p.Str()
			require.NoError(t, err)
			want := strings.ReplaceAll(pre, "\xff", "\ufffd")
			assert.Equal(t, want+"\n"+want, s)
			assert.Equal(t, 1+2*len(pre)+3, p.i, "%q", pre)

			in := `"` + pre + "\x01" + pre + `"` + pad
			_, err = Decode([]byte(in))
			var se *SyntaxError
			require.ErrorAs(t, err, &se, "%q", in)
			assert.Equal(t, 1+len(pre), se.off, "%q", in)
			assert.Contains(t, se.msg, "invalid character")
		}
	}
}
