package replay

import (
	"container/list"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"hash/maphash"
	"strings"
	"sync"
	"unsafe"

	"github.com/sessionreplay/replay/internal/jsonx"
	"github.com/sessionreplay/replay/internal/privacy"
)

// Style sheets are processed once: the Recorder keeps, per site, the
// processed (minified) text of the _cssText values it has seen, keyed by
// hashes of the raw text (see hashString), so a style sheet seen before costs a hash and a
// lookup. The cache is keyed by everything its output depends on: the site
// and a fingerprint of its privacy policy (a site whose policy changes
// starts with an empty cache), and the raw text. It is bounded in bytes,
// each entry counted with a fixed overhead besides its text, so the bound
// also caps the number of entries; when full, the site holding the most bytes gives up its least recently
// used entry, so a site flooding it with distinct style sheets evicts its
// own entries before anyone else's.

// styleTexts keeps the decoded text of the style sheets batches bring,
// so that DecodeBatch unescapes a sheet that visit after visit sends once
// per process, not once per visit. An entry is checked against the bytes
// it was decoded from; the cache holds at most 16 MiB.
var styleTexts = jsonx.NewStringCache(16 << 20)

// isStyleKey reports whether key's string value is a style sheet: the
// _cssText of a style or link node, or the rules of a style sheet event.
func isStyleKey(key string) bool {
	switch key {
	case "_cssText", "rule", "cssText", "replace", "replaceSync":
		return true
	}
	return false
}

// minCachedCSS is the shortest style sheet worth a cache entry: shorter
// ones are minified every time.
const minCachedCSS = 256

// styleEntryOverhead is what the cache counts for an entry besides its
// text: the key, the list element and the map slot.
const styleEntryOverhead = 128

// styleCache is the Recorder's cache of processed style sheets. It is safe
// for concurrent use.
type styleCache struct {
	mu       sync.Mutex
	maxBytes int
	bytes    int
	sites    map[string]*styleSite
	flights  map[flightKey]*styleFlight // misses being processed
	byText   map[*byte]*styleEntry      // the entries by their text's bytes (see quoted)
}

// A styleFlight is a style sheet the cache missed, being processed by one
// caller; others that miss the same sheet meanwhile wait for its text
// instead of processing it too (many visitors of a site start at once).
type styleFlight struct {
	done chan struct{}
	text string
	ok   bool // false when processing panicked: the waiters process it themselves
}

type flightKey struct {
	site        string
	policy, key [sha256.Size]byte
}

// styleSite is one site's part of the cache.
type styleSite struct {
	policy [sha256.Size]byte // fingerprint of the policy the entries were made with
	lru    list.List         // of *styleEntry, most recently used first
	byKey  map[[sha256.Size]byte]*list.Element
	bytes  int
}

type styleEntry struct {
	key    [sha256.Size]byte
	text   string
	quoted string // text as a JSON string, as jsonx.AppendString writes it

	// The asset key of quoted's contents for the entry's site, once
	// computed (see assetHash); under styleCache.mu.
	assetSite string
	asset     [sha256.Size]byte
}

func (e *styleEntry) size() int { return len(e.text) + len(e.quoted) + styleEntryOverhead }

func newStyleCache(maxBytes int) *styleCache {
	return &styleCache{maxBytes: maxBytes, sites: make(map[string]*styleSite), byText: make(map[*byte]*styleEntry)}
}

// quoted returns the JSON text of s when s is the text of an entry (the
// very string get returned, not merely an equal one): a processed sheet is
// written into the chunks of every visit, and encoded once. Each entry's
// text is a string of its own, so its bytes identify it.
func (c *styleCache) quoted(s string) (string, bool) {
	if s == "" {
		return "", false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.byText[unsafe.StringData(s)]
	if e == nil || len(e.text) != len(s) {
		return "", false
	}
	return e.quoted, true
}

// get returns the processed text of the raw style sheet with hash key.
func (c *styleCache) get(site string, policy, key [sha256.Size]byte) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.sites[site]
	if s == nil || s.policy != policy {
		return "", false
	}
	el := s.byKey[key]
	if el == nil {
		return "", false
	}
	s.lru.MoveToFront(el)
	return el.Value.(*styleEntry).text, true
}

// getOrJoin returns the processed text of the raw style sheet with hash key
// when the cache has it. Otherwise, when another caller is processing the
// same sheet, it returns that flight to wait on; when none is, it returns
// a nil flight and the caller must process the sheet and call land.
func (c *styleCache) getOrJoin(site string, policy, key [sha256.Size]byte) (text string, ok bool, wait *styleFlight) {
	if text, ok := c.get(site, policy, key); ok {
		return text, true, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	fk := flightKey{site, policy, key}
	if f := c.flights[fk]; f != nil {
		return "", false, f
	}
	if c.flights == nil {
		c.flights = make(map[flightKey]*styleFlight)
	}
	c.flights[fk] = &styleFlight{done: make(chan struct{})}
	return "", false, nil
}

// land caches the processed text of the sheet a getOrJoin missed, when ok,
// and hands it to the callers waiting for it.
func (c *styleCache) land(site string, policy, key [sha256.Size]byte, text string, ok bool) {
	if ok {
		c.put(site, policy, key, text)
	}
	c.mu.Lock()
	fk := flightKey{site, policy, key}
	f := c.flights[fk]
	delete(c.flights, fk)
	c.mu.Unlock()
	if f != nil {
		f.text, f.ok = text, ok
		close(f.done)
	}
}

// assetHash returns assetHash(site, content), where content is what the
// chunk writer copied from the quoted text of the entry whose text is s (a
// string quoted gave): computed once per entry and site, not per visit.
// Without such an entry it hashes content.
func (c *styleCache) assetHash(site, s string, content []byte) [sha256.Size]byte {
	c.mu.Lock()
	e := c.byText[unsafe.StringData(s)]
	if e != nil && len(e.text) == len(s) && e.assetSite == site && site != "" {
		h := e.asset
		c.mu.Unlock()
		return h
	}
	c.mu.Unlock()
	h := assetHash(site, content)
	if e != nil && len(e.text) == len(s) && string(content) == e.quoted[1:len(e.quoted)-1] {
		c.mu.Lock()
		e.assetSite, e.asset = site, h
		c.mu.Unlock()
	}
	return h
}

// put adds the processed text of the raw style sheet with hash key and
// evicts until the cache fits its bound.
func (c *styleCache) put(site string, policy, key [sha256.Size]byte, text string) {
	if c.maxBytes <= 0 || 2*len(text)+styleEntryOverhead > c.maxBytes/4 {
		return // too large to be worth a quarter of the cache
	}
	// A copy of its own: the text may be the raw sheet, a piece of a
	// request's body, and the entry is found by its bytes (see quoted).
	text = strings.Clone(text)
	e := &styleEntry{key: key, text: text, quoted: string(jsonx.AppendString(nil, text))}
	if e.size() > c.maxBytes/4 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.sites[site]
	if s != nil && s.policy != policy {
		c.dropSite(site, s)
		s = nil
	}
	if s == nil {
		s = &styleSite{policy: policy, byKey: make(map[[sha256.Size]byte]*list.Element)}
		c.sites[site] = s
	}
	if _, ok := s.byKey[key]; ok {
		return
	}
	s.byKey[key] = s.lru.PushFront(e)
	if text != "" {
		c.byText[unsafe.StringData(text)] = e
	}
	s.bytes += e.size()
	c.bytes += e.size()
	for c.bytes > c.maxBytes {
		c.evictOne()
	}
}

// evictOne removes the least recently used entry of the site holding the
// most bytes. The caller holds c.mu.
func (c *styleCache) evictOne() {
	var (
		victim     *styleSite
		victimSite string
	)
	for id, s := range c.sites {
		if victim == nil || s.bytes > victim.bytes {
			victim, victimSite = s, id
		}
	}
	el := victim.lru.Back()
	e := el.Value.(*styleEntry)
	victim.lru.Remove(el)
	delete(victim.byKey, e.key)
	delete(c.byText, unsafe.StringData(e.text))
	victim.bytes -= e.size()
	c.bytes -= e.size()
	if victim.lru.Len() == 0 {
		delete(c.sites, victimSite)
	}
}

// dropSite removes a site's entries. The caller holds c.mu.
func (c *styleCache) dropSite(id string, s *styleSite) {
	for el := s.lru.Front(); el != nil; el = el.Next() {
		delete(c.byText, unsafe.StringData(el.Value.(*styleEntry).text))
	}
	c.bytes -= s.bytes
	delete(c.sites, id)
}

// len returns the number of entries and bytes the cache holds.
func (c *styleCache) len() (entries, bytes int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range c.sites {
		entries += s.lru.Len()
	}
	return entries, c.bytes
}

// policyFingerprint identifies what a policy makes of the events: two
// policies with the same fingerprint process a style sheet the same way.
func policyFingerprint(p *Policy) [sha256.Size]byte {
	b, err := json.Marshal(p)
	if err != nil {
		panic("replay: policy does not encode: " + err.Error()) // plain fields only
	}
	return sha256.Sum256(b)
}

// siteMaskers gives each site's compiled masker a copy that processes
// style sheets through the Recorder's cache. It is safe for concurrent use.
type siteMaskers struct {
	mu    sync.Mutex
	sites map[string]siteMasker
}

type siteMasker struct {
	orig, withCache *privacy.Masker
}

// masker returns m, compiled for site, with its style sheets processed
// through r's cache. The copies are made once per compiled masker.
func (r *Recorder) masker(site string, m *privacy.Masker) *privacy.Masker {
	if r.styles.maxBytes <= 0 {
		return m
	}
	sm := &r.siteMaskers
	sm.mu.Lock()
	defer sm.mu.Unlock()
	if e, ok := sm.sites[site]; ok && e.orig == m {
		return e.withCache
	}
	p := Policy(m.Policy())
	fp := policyFingerprint(&p)
	c := m.WithCSS(func(s string) string { return r.processCSS(site, fp, s) })
	if sm.sites == nil {
		sm.sites = make(map[string]siteMasker)
	}
	sm.sites[site] = siteMasker{orig: m, withCache: c}
	return c
}

// processCSS returns the processed text of the raw style sheet s of site,
// from the cache when it holds it.
func (r *Recorder) processCSS(site string, policy [sha256.Size]byte, s string) string {
	if len(s) < minCachedCSS {
		return privacy.MinifyCSS(s)
	}
	key := styleTexts.Key(s, hashString) // hashed once for the sheets decoding keeps
	out, ok, wait := r.styles.getOrJoin(site, policy, key)
	if wait != nil {
		<-wait.done
		if !wait.ok {
			return privacy.MinifyCSS(s)
		}
		out, ok = wait.text, true
	}
	if ok {
		r.tstate.count(site, func(c *SiteStats) { c.StyleHits++ })
		return out
	}
	// Land whatever happens, so that no caller waits for a flight that
	// never ends (when MinifyCSS panics, the panic goes on).
	done := false
	defer func() { r.styles.land(site, policy, key, out, done) }()
	out = privacy.MinifyCSS(s)
	done = true
	r.tstate.count(site, func(c *SiteStats) { c.StyleMisses++ })
	return out
}

// styleSeeds are the seeds of the style sheets' keys, chosen at random
// per process.
var styleSeeds = [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}

// hashString returns the cache key of the raw style sheet s: two 64-bit
// hashes of it with seeds chosen at random per process, and its length.
// A key that two sheets share (for which one would have to know the
// seeds) would give a site one of its own sheets for another, processed
// by the same policy: CSS is never scrubbed, so no text of the page that
// would be masked is at stake.
func hashString(s string) [sha256.Size]byte {
	var key [sha256.Size]byte
	binary.LittleEndian.PutUint64(key[0:], maphash.String(styleSeeds[0], s))
	binary.LittleEndian.PutUint64(key[8:], maphash.String(styleSeeds[1], s))
	binary.LittleEndian.PutUint64(key[16:], uint64(len(s)))
	return key
}
