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
