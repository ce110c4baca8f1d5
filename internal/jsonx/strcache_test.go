package jsonx

import (
	"fmt"
	"hash/maphash"
	"strings"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func isCSS(key string) bool { return key == "_cssText" }

// decodeCached decodes data with c caching the _cssText strings of at
// least 8 bytes.
func decodeCached(t *testing.T, c *StringCache, data string) *Object {
	t.Helper()
	p := NewParser([]byte(data))
	p.CacheStrings(c, isCSS, 8)
	v, err := p.Value()
	require.NoError(t, err)
	require.NoError(t, p.End())
	return v.(*Object)
}

func TestCacheStringsUnescapesOnce(t *testing.T) {
	c := NewStringCache(1 << 20)
	const doc = `{"_cssText":"a::before { content: \"\u00e9\" }\n","title":"x\ny","short":"\"s\""}`
	first := decodeCached(t, c, doc)
	second := decodeCached(t, c, doc)
	plain, err := Decode([]byte(doc))
	require.NoError(t, err)
	assert.Equal(t, stdValue(plain), stdValue(first))
	assert.Equal(t, stdValue(plain), stdValue(second))

	a, b := first.Get("_cssText").(string), second.Get("_cssText").(string)
	assert.Equal(t, "a::before { content: \"é\" }\n", a)
	assert.Same(t, unsafe.StringData(a), unsafe.StringData(b), "the second decode shares the first's text")
	assert.Len(t, c.entries, 1, "only the values of the keys asked for")

	// Written again, the tree is what it was.
	out, err := AppendRaw(nil, second)
	require.NoError(t, err)
	assert.Equal(t, doc, string(out))
}

func TestStringCacheChecksTheText(t *testing.T) {
	c := NewStringCache(1 << 20)
	raw := []byte(`a\nb`)
	c.put(7, raw, "a\nb")
	got, ok := c.get(7, raw)
	assert.True(t, ok)
	assert.Equal(t, "a\nb", got)
	_, ok = c.get(7, []byte(`a\nc`))
	assert.False(t, ok, "another string under the same hash is not given its text")
}

func TestStringCacheIsBounded(t *testing.T) {
	c := NewStringCache(64 << 10)
	for i := range 1000 {
		raw := fmt.Sprintf(`sheet %d\n%s`, i, strings.Repeat("x", 200))
		c.text([]byte(raw), true)
		require.LessOrEqual(t, c.bytes, c.maxBytes)
	}
	n := 0
	for _, e := range c.entries {
		n += e.size()
	}
	assert.Equal(t, n, c.bytes)
	assert.NotEmpty(t, c.entries)

	huge := []byte(strings.Repeat(`\n`, 10<<10))
	assert.Equal(t, strings.Repeat("\n", 10<<10), c.text(huge, true))
	_, ok := c.get(maphash.Bytes(cacheSeed, huge), huge)
	assert.False(t, ok, "an entry over a quarter of the bound is not kept")
}

func TestStringCacheKeysItsTexts(t *testing.T) {
	c := NewStringCache(1 << 20)
	const doc = `{"_cssText":"p { color: \"red\" }\n"}`
	text := decodeCached(t, c, doc).Get("_cssText").(string)
	calls := 0
	key := func(s string) (k [32]byte) {
		calls++
		copy(k[:], s)
		return k
	}
	want := key(text)
	calls = 0
	assert.Equal(t, want, c.Key(text, key))
	assert.Equal(t, want, c.Key(decodeCached(t, c, doc).Get("_cssText").(string), key))
	assert.Equal(t, 1, calls, "computed once for the cache's text")
	assert.Equal(t, want, c.Key(strings.Clone(text), key))
	assert.Equal(t, 2, calls, "an equal string of its own is keyed afresh")
}
