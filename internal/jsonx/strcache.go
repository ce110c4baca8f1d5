package jsonx

import (
	"hash/maphash"
	"sync"
	"unsafe"
)

// A StringCache keeps the decoded text of long strings with escapes, so
// that parsers decoding inputs that repeat one (a style sheet every visit
// of a page sends) unescape it once (see [Parser.CacheStrings]). An entry
// is found by a hash of the string as written and checked against it, so
// a text is only ever given for the very bytes it was decoded from. It
// holds at most its bound in bytes (of both forms) and forgets arbitrary
// entries beyond it. It is safe for concurrent use.
type StringCache struct {
	mu       sync.Mutex
	maxBytes int
	bytes    int
	entries  map[uint64]*cachedString
	byText   map[*byte]*cachedString // the entries by their text's bytes (see Key)
}

type cachedString struct {
	raw, text string
	key       *[32]byte // see Key
}

func (e *cachedString) size() int { return len(e.raw) + len(e.text) }

// cacheSeed is the seed of the StringCaches' hashes, chosen at random per
// process.
var cacheSeed = maphash.MakeSeed()

// NewStringCache returns a StringCache that holds at most maxBytes bytes.
func NewStringCache(maxBytes int) *StringCache {
	return &StringCache{maxBytes: maxBytes, entries: make(map[uint64]*cachedString), byText: make(map[*byte]*cachedString)}
}

// Key returns key(s), computed once for each text the cache gave and
// holds: s must be that very string (as Value decoded it), not merely an
// equal one, for the key to be remembered. Each text is a string of its
// own, so its bytes identify it.
func (c *StringCache) Key(s string, key func(string) [32]byte) [32]byte {
	if s == "" {
		return key(s)
	}
	c.mu.Lock()
	e := c.byText[unsafe.StringData(s)]
	if e != nil && len(e.text) == len(s) && e.key != nil {
		k := *e.key
		c.mu.Unlock()
		return k
	}
	c.mu.Unlock()
	k := key(s)
	if e != nil && len(e.text) == len(s) {
		c.mu.Lock()
		e.key = &k
		c.mu.Unlock()
	}
	return k
}

// get returns the text of the string written as raw (between its quotes),
// when the cache holds it.
func (c *StringCache) get(h uint64, raw []byte) (string, bool) {
	c.mu.Lock()
	e, ok := c.entries[h]
	c.mu.Unlock()
	if !ok || e.raw != string(raw) {
		return "", false
	}
	return e.text, true
}

// put keeps text as the decoded form of raw.
func (c *StringCache) put(h uint64, raw []byte, text string) {
	e := &cachedString{raw: string(raw), text: text}
	if e.size() > c.maxBytes/4 || text == "" {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.entries[h]; ok {
		c.drop(h, old)
	}
	c.entries[h] = e
	c.byText[unsafe.StringData(text)] = e
	c.bytes += e.size()
	for k, old := range c.entries {
		if c.bytes <= c.maxBytes {
			break
		}
		if k != h {
			c.drop(k, old)
		}
	}
}

// drop removes the entry e under h. The caller holds c.mu.
func (c *StringCache) drop(h uint64, e *cachedString) {
	delete(c.entries, h)
	if c.byText[unsafe.StringData(e.text)] == e {
		delete(c.byText, unsafe.StringData(e.text))
	}
	c.bytes -= e.size()
}

// text returns the text of a string body with escapes, raw, through the
// cache.
func (c *StringCache) text(raw []byte, ascii bool) string {
	h := maphash.Bytes(cacheSeed, raw)
	if s, ok := c.get(h, raw); ok {
		return s
	}
	s := unquote(raw, ascii)
	c.put(h, raw, s)
	return s
}
