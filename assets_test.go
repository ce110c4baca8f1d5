package replay

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sessionreplay/replay/internal/corpus"
	"github.com/sessionreplay/replay/internal/jsonx"
	"github.com/sessionreplay/replay/internal/privacy"
	"github.com/sessionreplay/replay/internal/splice"
	"github.com/sessionreplay/replay/storage"
	"github.com/sessionreplay/replay/storage/memstore"
)

// plainStore hides the asset methods of a store: a Recorder writes version
// 1 chunks (every string inline) to it, as before assets.
type plainStore struct{ storage.Store }

// bigCSS returns a style sheet of about n bytes, the same for the same seed.
func bigCSS(seed string, n int) string {
	var b strings.Builder
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, ".%s-%d > a:hover { color: #%06x; background: url(\"/img/%s-%d.png\"); margin: %dpx auto; }\n", seed, i, i*7919%0xffffff, seed, i, i%17)
	}
	return b.String()
}

func quoted(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// styledPage returns the events of a visit of a page with three large style
// sheets (a <style>, a <link> and an inserted rule), an adopted sheet, a
// large text node and 40 more elements; ms shifts its timestamps.
func styledPage(ms int, style, link, rule, adopted, text string) []string {
	var items []string
	for i := range 40 {
		items = append(items, fmt.Sprintf(`{"type":2,"tagName":"div","attributes":{"class":"item item-%d"},"childNodes":[],"id":%d}`, i, 100+i))
	}
	return []string{
		metaEv(ms, "https://shop.example/"),
		fmt.Sprintf(`{"type":2,"data":{"node":{"type":0,"childNodes":[{"type":1,"name":"html","publicId":"","systemId":"","id":2},`+
			`{"type":2,"tagName":"html","attributes":{},"childNodes":[{"type":2,"tagName":"head","attributes":{},"childNodes":[`+
			`{"type":2,"tagName":"style","attributes":{"_cssText":%s},"childNodes":[{"type":3,"textContent":"","id":8}],"id":7},`+
			`{"type":2,"tagName":"link","attributes":{"rel":"stylesheet","_cssText":%s},"childNodes":[],"id":9}],"id":4},`+
			`{"type":2,"tagName":"body","attributes":{},"childNodes":[{"type":2,"tagName":"p","attributes":{},"childNodes":[{"type":3,"textContent":%s,"id":10}],"id":6},%s],"id":5}],"id":3}],"id":1},`+
			`"initialOffset":{"left":0,"top":0}},"timestamp":%d}`, quoted(style), quoted(link), quoted(text), strings.Join(items, ","), t0+ms+1),
		fmt.Sprintf(`{"type":3,"data":{"source":8,"id":7,"adds":[{"rule":%s,"index":0}]},"timestamp":%d}`, quoted(rule), t0+ms+2),
		fmt.Sprintf(`{"type":3,"data":{"source":15,"id":1,"styleIds":[1],"styles":[{"styleId":1,"rules":[{"rule":%s,"index":0}]}]},"timestamp":%d}`, quoted(adopted), t0+ms+3),
		clickEv(ms+4, 10, 20),
	}
}

// sharedPage is a visit of the shop's page: the same style sheets every time.
func sharedPage(ms int) []string {
	return styledPage(ms, bigCSS("style", 8000), bigCSS("link", 20000), bigCSS("rule", 3000), bigCSS("adopted", 2000), strings.Repeat("Our terms. ", 200))
}

// assetEnv is a Recorder on a store with assets and one on a store without,
// fed the same batches.
type assetEnv struct {
	t            testing.TB
	mem          *memstore.Store
	rec, plain   *Recorder
	sites        Sites
	clock        *fakeClock
	sendPlainToo bool
}

func newAssetEnv(t testing.TB, opts *Options, sites ...*Site) *assetEnv {
	t.Helper()
	if len(sites) == 0 {
		sites = []*Site{{ID: "shop"}}
	}
	ss, err := NewStaticSites(sites...)
	require.NoError(t, err)
	e := &assetEnv{t: t, mem: memstore.New(), sites: ss, clock: newFakeClock(), sendPlainToo: true}
	o := Options{Now: e.clock.Now}
	if opts != nil {
		o = *opts
		o.Now = e.clock.Now
	}
	e.rec, err = New(e.mem, ss, &o)
	require.NoError(t, err)
	e.plain, err = New(plainStore{memstore.New()}, ss, &o)
	require.NoError(t, err)
	return e
}

// send ingests one batch into both Recorders.
func (e *assetEnv) send(site, session, window string, seq int, events ...string) error {
	body := fmt.Sprintf(`{"site":%q,"session":%q,"window":%q,"seq":%d,"events":[%s]}`, site, session, window, seq, strings.Join(events, ","))
	b, err := DecodeBatch([]byte(body))
	require.NoError(e.t, err)
	if e.sendPlainToo {
		pb, err := DecodeBatch([]byte(body))
		require.NoError(e.t, err)
		_, err = e.plain.Ingest(context.Background(), pb, Client{})
		require.NoError(e.t, err)
	}
	_, err = e.rec.Ingest(context.Background(), b, Client{})
	return err
}

// events reads a session's events from rec.
func readEvents(t testing.TB, rec *Recorder, site, session string) []byte {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, rec.Events(context.Background(), site, session, "", &buf))
	return buf.Bytes()
}

// sameEvents checks that the session reads back byte for byte as from the
// store without assets.
func (e *assetEnv) sameEvents(site, session string) {
	e.t.Helper()
	want := readEvents(e.t, e.plain, site, session)
	got := readEvents(e.t, e.rec, site, session)
	require.Equal(e.t, string(want), string(got), "events of %s/%s", site, session)
}

// refs returns the hex hashes the stored chunks of a session reference.
func (e *assetEnv) refs(site, session string) []string {
	e.t.Helper()
	var out []string
	for c, err := range e.mem.Chunks(context.Background(), storage.Key{Site: site, Session: session}, "") {
		require.NoError(e.t, err)
		_, passes, err := parseChunk(c.Data)
		require.NoError(e.t, err)
		for _, refs := range passes {
			for _, r := range refs {
				out = append(out, hex.EncodeToString(r.hash[:]))
			}
		}
	}
	return out
}

func (e *assetEnv) hasAsset(site, hash string) bool {
	_, err := e.mem.Asset(context.Background(), site, hash)
	if errors.Is(err, storage.ErrNotFound) {
		return false
	}
	require.NoError(e.t, err)
	return true
}

func TestAssetsReadBackByteIdentical(t *testing.T) {
	e := newAssetEnv(t, nil)
	for i := range 3 {
		s := fmt.Sprintf("visit-%04d", i)
		require.NoError(t, e.send("shop", s, "w1", 0, sharedPage(i*1000)...))
		require.NoError(t, e.send("shop", s, "w1", 1, clickEv(i*1000+50, 1, 2)))
		e.sameEvents("shop", s)
	}
	// The style sheets, the rules and the text are assets, stored once.
	refs := e.refs("shop", "visit-0001")
	assert.Len(t, refs, 6, "style, link, rule, adopted rule, text, then the DOM tree")
	assert.Equal(t, refs, e.refs("shop", "visit-0002"), "every visit references the same assets")
	st := e.rec.Stats()["shop"]
	assert.Equal(t, int64(6), st.AssetsStored, "stored once")
	assert.Equal(t, int64(2), st.StyleMisses, "the two _cssText sheets processed once")
	assert.Equal(t, int64(4), st.StyleHits, "and found in the cache by the next two visits")

	sess, err := e.rec.Session(context.Background(), "shop", "visit-0002")
	require.NoError(t, err)
	plain, err := e.plain.Session(context.Background(), "shop", "visit-0002")
	require.NoError(t, err)
	assert.Less(t, sess.StoredBytes*3, plain.StoredBytes, "a later visit stores far less than with inline sheets")
}

// Every recording, ingested in batches, reads back exactly as without
// assets; and its chunk JSON with every string of a kept key cut out (even
// short ones) restores exactly through the version 2 format.
func TestRecordingsReadBackByteIdentical(t *testing.T) {
	for _, name := range recordings(t) {
		t.Run(name, func(t *testing.T) {
			var raws []json.RawMessage
			require.NoError(t, json.Unmarshal(recording(t, name), &raws))
			e := newAssetEnv(t, nil)
			for seq := 0; seq*25 < len(raws); seq++ {
				var evs []string
				for _, r := range raws[seq*25 : min(len(raws), seq*25+25)] {
					evs = append(evs, string(r))
				}
				require.NoError(t, e.send("shop", "visit-0001", "w1", seq, evs...))
			}
			e.sameEvents("shop", "visit-0001")

			b, err := DecodeBatch(batchBody(string(recording(t, name))))
			require.NoError(t, err)
			js, err := eventsJSON(b.Events)
			require.NoError(t, err)
			assets := map[[sha256.Size]byte][]byte{}
			var passes [][]assetRef
			cut := js
			for _, find := range []func([]byte) []splice.Span{
				func(b []byte) []splice.Span { return splice.Find(b, 1, isAssetKey) },
				func(b []byte) []splice.Span { return splice.FindObjects(b, 1, isAssetObjectKey) },
			} {
				spans := find(cut)
				refs := make([]assetRef, len(spans))
				for i, s := range spans {
					refs[i].hash = assetHash("shop", cut[s.Start:s.End])
					assets[refs[i].hash] = cut[s.Start:s.End]
				}
				var offsets []int
				cut, offsets = splice.Cut(cut, spans)
				for i := range refs {
					refs[i].off = offsets[i]
				}
				passes = append(passes, refs)
			}
			got, err := decodeChunkWith(encodeChunkV2(cut, passes), func(h [sha256.Size]byte) ([]byte, error) { return assets[h], nil })
			require.NoError(t, err)
			want, err := decodeChunk(chunkEncoder.EncodeAll(js, nil))
			require.NoError(t, err)
			assert.Equal(t, want, got)
		})
	}
}

// A chunk written before assets (testdata/chunks/v1.zst, made by the
// encoder of that time) reads as it did (v1.json).
func TestVersion1ChunksStillRead(t *testing.T) {
	data, err := os.ReadFile("testdata/chunks/v1.zst")
	require.NoError(t, err)
	want, err := os.ReadFile("testdata/chunks/v1.json")
	require.NoError(t, err)
	raws, err := decodeChunkWith(data, func([sha256.Size]byte) ([]byte, error) {
		return nil, errors.New("a version 1 chunk references no asset")
	})
	require.NoError(t, err)
	var joined []byte
	for i, r := range raws {
		if i > 0 {
			joined = append(joined, ',')
		}
		joined = append(joined, r...)
	}
	assert.Equal(t, string(want), "["+string(joined)+"]")

	// Through the Recorder, beside version 2 chunks of the same session.
	e := newAssetEnv(t, nil)
	e.sendPlainToo = false
	key := storage.Key{Site: "shop", Session: "visit-0001"}
	require.NoError(t, e.send("shop", key.Session, "w2", 0, sharedPage(10_000_000)...))
	require.NoError(t, e.mem.Append(context.Background(), key, storage.Chunk{Window: "w1", Seq: 0, Events: len(raws), Data: data}))
	got := readEvents(t, e.rec, "shop", key.Session)
	assert.Contains(t, string(got), string(want[1:len(want)-1]), "the old chunk's events, unchanged")
	assert.Contains(t, string(got), "a:hover{color:#17900d;background:url(/img/link-195.png)", "the new chunk's assets, restored")
}

// The same style sheet on two sites is two assets: the hash covers the
// site, and an asset read under another site's hash does not verify.
func TestAssetsAreKeptPerSite(t *testing.T) {
	e := newAssetEnv(t, nil, &Site{ID: "shop"}, &Site{ID: "blog"})
	require.NoError(t, e.send("shop", "visit-0001", "w1", 0, sharedPage(0)...))
	require.NoError(t, e.send("blog", "visit-0001", "w1", 0, sharedPage(0)...))
	shop, blog := e.refs("shop", "visit-0001"), e.refs("blog", "visit-0001")
	require.Len(t, shop, 6)
	for i := range shop {
		assert.NotEqual(t, shop[i], blog[i])
		assert.False(t, e.hasAsset("blog", shop[i]))
	}
	e.sameEvents("shop", "visit-0001")
	e.sameEvents("blog", "visit-0001")

	// A store that hands out other bytes under a hash is caught on read.
	ctx := context.Background()
	other := storage.Key{Site: "shop", Session: "visit-0002"}
	forged := chunkEncoder.EncodeAll([]byte("body{color:red}"), nil)
	require.NoError(t, e.mem.Delete(ctx, storage.Key{Site: "shop", Session: "visit-0001"}))
	require.NoError(t, e.mem.PutAsset(ctx, other, shop[0], forged))
	require.NoError(t, e.send("shop", "visit-0003", "w1", 0, sharedPage(0)...))
	err := e.rec.Events(ctx, "shop", "visit-0003", "", &bytes.Buffer{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "does not match its hash")
}

// Deleting a session frees the assets only it used; shared ones stay while
// a session uses them; retention frees them the same way.
func TestDeleteAndRetentionFreeAssets(t *testing.T) {
	e := newAssetEnv(t, nil)
	own := styledPage(0, bigCSS("mine", 5000), bigCSS("link", 20000), bigCSS("rule", 3000), bigCSS("adopted", 2000), strings.Repeat("Our terms. ", 200))
	require.NoError(t, e.send("shop", "visit-0001", "w1", 0, own...))
	require.NoError(t, e.send("shop", "visit-0002", "w1", 0, sharedPage(0)...))
	r1, r2 := e.refs("shop", "visit-0001"), e.refs("shop", "visit-0002")
	mine := r1[0]
	require.NotContains(t, r2, mine)

	require.NoError(t, e.rec.Delete(context.Background(), "shop", "visit-0001"))
	assert.False(t, e.hasAsset("shop", mine), "the deleted session's own style sheet is gone")
	for _, h := range r2 {
		assert.True(t, e.hasAsset("shop", h), "shared assets stay while visit-0002 uses them")
	}
	e.sameEvents("shop", "visit-0002")

	e.clock.Advance(DefaultRetention + time.Hour)
	_, err := e.rec.Sweep(context.Background(), e.clock.Now())
	require.NoError(t, err)
	for _, h := range append(r1, r2...) {
		assert.False(t, e.hasAsset("shop", h), "retention freed every asset")
	}
}

// Sessions written and deleted concurrently never lose an asset a
// remaining session uses.
func TestAssetsSurviveConcurrentDeletes(t *testing.T) {
	e := newAssetEnv(t, nil)
	e.sendPlainToo = false
	var wg sync.WaitGroup
	for i := range 12 {
		wg.Go(func() {
			s := fmt.Sprintf("visit-%04d", i)
			for seq := range 3 {
				if err := e.send("shop", s, "w1", seq, sharedPage(i*1000+seq*100)...); err != nil {
					t.Errorf("send %s: %v", s, err)
					return
				}
			}
			if i%2 == 1 {
				if err := e.rec.Delete(context.Background(), "shop", s); err != nil {
					t.Errorf("delete %s: %v", s, err)
				}
			}
		})
	}
	wg.Wait()
	for i := 0; i < 12; i += 2 {
		got := readEvents(t, e.rec, "shop", fmt.Sprintf("visit-%04d", i))
		assert.Contains(t, string(got), "a:hover{color:#17900d;background:url(/img/link-195.png)")
	}
	for i := 0; i < 12; i += 2 {
		require.NoError(t, e.rec.Delete(context.Background(), "shop", fmt.Sprintf("visit-%04d", i)))
	}
	for _, h := range e.refs("shop", "visit-0000") {
		assert.False(t, e.hasAsset("shop", h))
	}
}

// Beyond a site's asset budget new strings stay inline; the events still
// read back the same.
func TestAssetBudgetKeepsNewStringsInline(t *testing.T) {
	e := newAssetEnv(t, &Options{AssetBudget: 40_000})
	for i := range 4 {
		page := styledPage(i*1000, bigCSS(fmt.Sprint("s", i), 8000), bigCSS(fmt.Sprint("l", i), 8000), bigCSS("rule", 3000), bigCSS("adopted", 2000), "short")
		require.NoError(t, e.send("shop", fmt.Sprintf("visit-%04d", i), "w1", 0, page...))
		e.sameEvents("shop", fmt.Sprintf("visit-%04d", i))
	}
	st := e.rec.Stats()["shop"]
	assert.Positive(t, st.AssetsInline)
	assert.Less(t, st.AssetsStored, int64(4*2+2), "fewer than every distinct sheet")
	assert.Len(t, e.refs("shop", "visit-0003"), 2, "only the rules, stored before the budget ran out, are assets; the new sheets and the DOM tree holding them stay inline")

	e.clock.Advance(time.Hour)
	require.NoError(t, e.send("shop", "visit-0009", "w1", 0, styledPage(0, bigCSS("new", 8000), "", "", "", "")...))
	assert.Len(t, e.refs("shop", "visit-0009"), 2, "the budget refills: the new sheet and the DOM tree")
}

// fullAssets is a store whose PutAsset reports a full store.
type fullAssets struct{ *memstore.Store }

func (fullAssets) PutAsset(context.Context, storage.Key, string, []byte) error {
	return fmt.Errorf("quota: %w", storage.ErrFull)
}

// A full asset store is an error the client sees (507), and the batch
// leaves nothing behind.
func TestFullAssetStoreRefusesTheBatch(t *testing.T) {
	mem := memstore.New()
	sites, err := NewStaticSites(&Site{ID: "shop"})
	require.NoError(t, err)
	rec, err := New(fullAssets{mem}, sites, nil)
	require.NoError(t, err)
	b, err := DecodeBatch(fmt.Appendf(nil, `{"site":"shop","session":"visit-0001","window":"w1","seq":0,"events":[%s]}`, strings.Join(sharedPage(0), ",")))
	require.NoError(t, err)
	_, err = rec.Ingest(context.Background(), b, Client{})
	require.ErrorIs(t, err, storage.ErrFull)
	err = mem.Delete(context.Background(), storage.Key{Site: "shop", Session: "visit-0001"})
	assert.ErrorIs(t, err, storage.ErrNotFound, "nothing of the session is stored")
}

func TestStyleCacheIsBoundedAndFair(t *testing.T) {
	c := newStyleCache(64 * (styleEntryOverhead + 100 + 102)) // text and its JSON
	var pol [sha256.Size]byte
	text := strings.Repeat("x", 100)
	key := func(i int) [sha256.Size]byte { return sha256.Sum256(fmt.Append(nil, i)) }
	c.put("shop", pol, key(1), text)
	c.put("shop", pol, key(2), text)
	for i := range 10_000 {
		c.put("flood", pol, key(i+100), text)
	}
	n, size := c.len()
	assert.LessOrEqual(t, size, c.maxBytes)
	assert.Equal(t, 64, n)
	assert.Len(t, c.byText, 64, "the entries by text follow the evictions")
	got, ok := c.get("shop", pol, key(1))
	assert.True(t, ok, "the flooding site evicts its own entries")
	q, ok := c.quoted(got)
	assert.True(t, ok)
	assert.Equal(t, `"`+text+`"`, q)
	_, ok = c.quoted(strings.Clone(got))
	assert.False(t, ok, "an equal string that is not the entry's")
	_, ok = c.get("flood", pol, key(100))
	assert.False(t, ok)

	_, ok = c.get("blog", pol, key(1))
	assert.False(t, ok, "never another site's entry")
	other := sha256.Sum256([]byte("another policy"))
	_, ok = c.get("shop", other, key(1))
	assert.False(t, ok, "never an entry made under another policy")
	c.put("shop", other, key(3), text)
	_, ok = c.get("shop", pol, key(1))
	assert.False(t, ok, "a new policy empties the site's entries")
	_, ok = c.quoted(got)
	assert.False(t, ok, "and forgets their texts")
}

// A Recorder whose site's policy changes does not serve style sheets
// processed under the old one.
func TestStyleCacheFollowsThePolicy(t *testing.T) {
	e := newAssetEnv(t, nil)
	require.NoError(t, e.send("shop", "visit-0001", "w1", 0, sharedPage(0)...))
	m1, err := DefaultPolicy().compile()
	require.NoError(t, err)
	p := DefaultPolicy()
	p.Scrub = append(p.Scrub, "email")
	m2, err := p.compile()
	require.NoError(t, err)
	a := e.rec.masker("shop", m1)
	assert.Same(t, a, e.rec.masker("shop", m1), "made once per compiled masker")
	b := e.rec.masker("shop", m2)
	css := bigCSS("x", 1000)
	a.CSSText(css)
	b.CSSText(css)
	st := e.rec.Stats()["shop"]
	assert.Equal(t, int64(2+2), st.StyleMisses, "each policy processes the sheet itself")
}

// Visitors who start at once with the same style sheet have it processed
// once: the others wait for that result instead of processing it too.
func TestStyleCacheProcessesASheetOnceForConcurrentMisses(t *testing.T) {
	e := newAssetEnv(t, nil)
	m, err := DefaultPolicy().compile()
	require.NoError(t, err)
	masker := e.rec.masker("shop", m)
	css := bigCSS("x", 1000)
	want := masker.CSSText(css) // through a fresh Recorder below
	e = newAssetEnv(t, nil)
	masker = e.rec.masker("shop", m)
	var wg sync.WaitGroup
	got := make([]string, 16)
	for i := range got {
		wg.Go(func() { got[i] = masker.CSSText(css) })
	}
	wg.Wait()
	for _, g := range got {
		assert.Equal(t, want, g)
	}
	st := e.rec.Stats()["shop"]
	assert.Equal(t, int64(1), st.StyleMisses)
	assert.Equal(t, int64(len(got)-1), st.StyleHits)
}

func TestStyleCacheMissIsProcessedByTheFirstCaller(t *testing.T) {
	c := newStyleCache(1 << 20)
	var pol [sha256.Size]byte
	key := sha256.Sum256([]byte("sheet"))
	_, ok, wait := c.getOrJoin("shop", pol, key)
	require.False(t, ok)
	require.Nil(t, wait, "the first caller processes the sheet")
	_, ok, wait = c.getOrJoin("shop", pol, key)
	require.False(t, ok)
	require.NotNil(t, wait, "the second waits for the first")
	_, _, other := c.getOrJoin("blog", pol, key)
	assert.Nil(t, other, "another site's sheet is its own flight")
	c.land("shop", pol, key, "a{}", true)
	<-wait.done
	assert.True(t, wait.ok)
	assert.Equal(t, "a{}", wait.text)
	text, ok, wait := c.getOrJoin("shop", pol, key)
	assert.True(t, ok)
	assert.Nil(t, wait)
	assert.Equal(t, "a{}", text)

	// A flight that failed is not cached; its waiters process it themselves.
	failed := sha256.Sum256([]byte("failed"))
	c.getOrJoin("shop", pol, failed)
	_, _, wait = c.getOrJoin("shop", pol, failed)
	c.land("shop", pol, failed, "", false)
	<-wait.done
	assert.False(t, wait.ok)
	_, ok, wait = c.getOrJoin("shop", pol, failed)
	assert.False(t, ok)
	assert.Nil(t, wait, "the next caller processes it again")
}

// FuzzDecodeChunk checks that stored chunk bytes, whatever they are, decode
// or fail cleanly, and that what decodes is a JSON array.
func FuzzDecodeChunk(f *testing.F) {
	v1, err := os.ReadFile("testdata/chunks/v1.zst")
	require.NoError(f, err)
	f.Add(v1)
	js := []byte(`[{"type":2,"data":{"_cssText":""},"timestamp":1}]`)
	f.Add(encodeChunkV2(js, [][]assetRef{{{off: 26}}}))
	f.Add(encodeChunkV2([]byte(`[{"node":{}}]`), [][]assetRef{{}, {{off: 10}}}))
	f.Add([]byte(chunkV2Magic + "\x01\x05"))
	f.Fuzz(func(t *testing.T, data []byte) {
		raws, err := decodeChunkWith(data, func([sha256.Size]byte) ([]byte, error) { return []byte(`a\"b`), nil })
		if err != nil {
			return
		}
		for _, r := range raws {
			if !json.Valid(r) {
				t.Fatalf("decoded an invalid event %q", r)
			}
		}
	})
}

// A Recorder that did not see a window's earlier batches (another process,
// a restart) rebuilds its privacy mirror from chunks whose DOM tree is an
// asset, and masks the next batch as the first Recorder would have.
func TestMirrorRebuildReadsAssets(t *testing.T) {
	e := newAssetEnv(t, nil)
	e.sendPlainToo = false
	page := sharedPage(0)
	require.NoError(t, e.send("shop", "visit-0001", "w1", 0, page...))
	require.NotEmpty(t, e.refs("shop", "visit-0001"))
	var objects int
	for c, err := range e.mem.Chunks(context.Background(), storage.Key{Site: "shop", Session: "visit-0001"}, "") {
		require.NoError(t, err)
		_, passes, err := parseChunk(c.Data)
		require.NoError(t, err)
		if len(passes) == 2 {
			objects += len(passes[1])
		}
	}
	require.Equal(t, 1, objects, "the snapshot's DOM tree is an asset")

	later, err := New(e.mem, e.sites, &Options{Now: e.clock.Now})
	require.NoError(t, err)
	text := fmt.Sprintf(`{"type":3,"data":{"source":0,"texts":[{"id":10,"value":"Visible words"}],"attributes":[],"removes":[],"adds":[]},"timestamp":%d}`, t0+100)
	b, err := DecodeBatch(fmt.Appendf(nil, `{"site":"shop","session":"visit-0001","window":"w1","seq":1,"events":[%s]}`, text))
	require.NoError(t, err)
	_, err = later.Ingest(context.Background(), b, Client{})
	require.NoError(t, err)
	got := readEvents(t, later, "shop", "visit-0001")
	assert.Contains(t, string(got), `"value":"Visible words"`, "a complete mirror: the text of an unmasked node is kept")
}

// storedText returns what a store holds of a session: each chunk
// decompressed (with its assets cut out, for version 2) and the contents of
// each asset it references, one per line, so that a test can check that
// nothing stored holds what the policy protects.
func storedText(t testing.TB, store storage.Store, key storage.Key) string {
	t.Helper()
	var all bytes.Buffer
	for c, err := range store.Chunks(context.Background(), key, "") {
		require.NoError(t, err)
		raw, passes, err := parseChunk(c.Data)
		require.NoError(t, err)
		all.Write(raw)
		all.WriteByte('\n')
		for _, refs := range passes {
			for _, r := range refs {
				as, ok := store.(storage.AssetStore)
				require.True(t, ok, "a chunk with assets in a store without them")
				data, err := as.Asset(context.Background(), key.Site, hex.EncodeToString(r.hash[:]))
				require.NoError(t, err)
				content, err := chunkDecoder.DecodeAll(data, nil)
				require.NoError(t, err)
				all.Write(content)
				all.WriteByte('\n')
			}
		}
	}
	return all.String()
}

// TestHashStringTellsSheetsApart checks the style cache's key: the same
// sheet gets the same key, and sheets that differ in one byte, or in
// length only, get different ones.
func TestHashStringTellsSheetsApart(t *testing.T) {
	seen := map[[sha256.Size]byte]string{}
	for _, n := range []int{0, 1, 16 << 10, 16<<10 + 1, 100_000} {
		s := strings.Repeat("a{b:c}", n/6+1)[:n]
		variants := []string{s, s + " ", s + "\x00"}
		if n > 0 {
			variants = append(variants, s[:n-1]+"d", "d"+s[1:])
		}
		for _, v := range variants {
			k := hashString(v)
			assert.Equal(t, k, hashString(strings.Clone(v)), "the same sheet, the same key")
			if other, ok := seen[k]; ok {
				assert.Equal(t, other, v, "two sheets, one key")
			}
			seen[k] = v
		}
	}
}

// With assets turned off, new chunks are written inline and chunks written
// with assets still read.
func TestAssetsOffStillReadsAssets(t *testing.T) {
	e := newAssetEnv(t, nil)
	require.NoError(t, e.send("shop", "visit-0001", "w1", 0, sharedPage(0)...))
	off, err := New(e.mem, e.sites, &Options{AssetBudget: -1})
	require.NoError(t, err)
	b, err := DecodeBatch(fmt.Appendf(nil, `{"site":"shop","session":"visit-0002","window":"w1","seq":0,"events":[%s]}`, strings.Join(sharedPage(0), ",")))
	require.NoError(t, err)
	_, err = off.Ingest(context.Background(), b, Client{})
	require.NoError(t, err)
	assert.Empty(t, e.refs("shop", "visit-0002"))
	assert.Equal(t, string(readEvents(t, e.plain, "shop", "visit-0001")), string(readEvents(t, off, "shop", "visit-0001")))
}

// TestWriteEventsFindsWhatSpliceFinds checks the text a batch is stored as,
// written from the masked trees: each event's data is the same JSON value
// as its tree encoded whole, and the strings writeEvents notes as it
// writes are those splice.Find finds scanning the text, on the recordings
// and on the corpus's real pages.
func TestWriteEventsFindsWhatSpliceFinds(t *testing.T) {
	var bodies [][]byte
	for _, name := range recordings(t) {
		bodies = append(bodies, batchBody(string(recording(t, name))))
	}
	dir, err := corpus.Dir()
	require.NoError(t, err)
	visits, err := corpus.Load(dir)
	require.NoError(t, err)
	for _, v := range visits[:min(len(visits), 3)] {
		for _, b := range v.Batches("demo", "sess-0001", "w1") {
			bodies = append(bodies, b.Body)
		}
	}
	m, err := DefaultPolicy().compile()
	require.NoError(t, err)
	found, quotedBy := 0, 0
	for i, body := range bodies {
		b, err := DecodeBatch(body)
		require.NoError(t, err)
		events := make([]privacy.Event, len(b.Events))
		for j, e := range b.Events {
			events[j] = privacy.Event{Type: int(e.Type), Timestamp: e.Timestamp, Data: e.Data, Extra: e.Extra, Tree: e.tree}
		}
		kept, _, err := privacy.NewMirror().MaskBatch(m, events, false)
		require.NoError(t, err)
		evs := make([]Event, len(kept))
		for j, e := range kept {
			evs[j] = Event{Type: EventType(e.Type), Timestamp: e.Timestamp, Extra: e.Extra, tree: e.Tree}
		}
		bt, err := writeEvents(evs, nil)
		require.NoError(t, err)
		require.Equal(t, splice.Find(bt.js, minAssetBytes, isAssetKey), bt.spans, "body %d", i)
		found += len(bt.spans)
		for j := range evs {
			whole, err := jsonx.Marshal(kept[j].Tree)
			require.NoError(t, err)
			require.Equal(t, jsonValue(t, whole), jsonValue(t, evs[j].Data), "body %d event %d", i, j)
		}

		// Written again with every other long string's text given by a
		// quoter, the same text, and each span knows where it came from.
		n := 0
		quote := func(s string) (string, bool) {
			if n++; n%2 == 0 {
				return "", false
			}
			quotedBy++
			return string(jsonx.AppendString(nil, s)), true
		}
		again, err := writeEvents(evs, quote)
		require.NoError(t, err)
		require.Equal(t, string(bt.js), string(again.js))
		require.Equal(t, bt.spans, again.spans)
		require.Len(t, again.from, len(again.spans))
		for k, from := range again.from {
			if from != "" {
				q := jsonx.AppendString(nil, from)
				require.Equal(t, string(q[1:len(q)-1]), string(again.js[again.spans[k].Start:again.spans[k].End]), "body %d span %d", i, k)
			}
		}
	}
	assert.NotZero(t, found, "the corpus has strings that become assets")
	assert.NotZero(t, quotedBy, "and strings quoted")
}

func TestHashMemoGivesTheAssetHash(t *testing.T) {
	var m hashMemo
	sheet := []byte(strings.Repeat("p{color:red}", 200))
	for range 2 { // computed, then remembered
		assert.Equal(t, assetHash("shop", sheet), m.hash("shop", sheet))
		assert.Equal(t, assetHash("blog", sheet), m.hash("blog", sheet), "keyed by site too")
	}
	other := bytes.Clone(sheet)
	other[0] = 'q'
	assert.Equal(t, assetHash("shop", other), m.hash("shop", other))
	assert.Len(t, m.m, 3)

	for i := range maxHashMemo + 10 {
		m.hash("shop", fmt.Appendf(nil, "content %d", i))
	}
	assert.Len(t, m.m, maxHashMemo, "bounded")
	assert.Equal(t, assetHash("shop", sheet), m.hash("shop", sheet))
}

func TestStyleCacheRemembersAssetHashes(t *testing.T) {
	c := newStyleCache(1 << 20)
	var pol [sha256.Size]byte
	sheet := strings.Repeat("p{color:\"red\"}", 100)
	c.put("shop", pol, hashString(sheet), sheet)
	text, ok := c.get("shop", pol, hashString(sheet))
	require.True(t, ok)
	q, ok := c.quoted(text)
	require.True(t, ok)
	content := []byte(q[1 : len(q)-1])

	assert.Equal(t, assetHash("shop", content), c.assetHash("shop", text, content))
	assert.Equal(t, assetHash("shop", content), c.assetHash("shop", text, []byte("not looked at")), "remembered")
	assert.Equal(t, assetHash("blog", content), c.assetHash("blog", text, content), "for its site only")

	other, ok := c.get("shop", pol, hashString(sheet))
	require.True(t, ok)
	d := newStyleCache(1 << 20)
	assert.Equal(t, assetHash("shop", []byte("x")), d.assetHash("shop", other, []byte("x")), "without the entry, the content is hashed")
	wrong := []byte("something else")
	e := newStyleCache(1 << 20)
	e.put("shop", pol, hashString(sheet), sheet)
	etext, _ := e.get("shop", pol, hashString(sheet))
	assert.Equal(t, assetHash("shop", wrong), e.assetHash("shop", etext, wrong))
	assert.Equal(t, assetHash("shop", content), e.assetHash("shop", etext, content), "content that is not the entry's is never remembered")
}
