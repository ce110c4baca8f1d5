package replay

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/maphash"
	"slices"
	"sync"
	"time"

	"github.com/sessionreplay/replay/internal/splice"
	"github.com/sessionreplay/replay/storage"
)

// Assets: the large values of a batch that repeat across a site's sessions
// (style sheets, data URLs, big text, and the DOM trees of snapshots once
// those are cut out of them) are stored once per site, when the store is a
// [storage.AssetStore], and the chunk references them (chunk format
// version 2, chunk.go). They are cut out of the events at encode time,
// after masking, so an asset holds only what the policy lets through. An asset's key is a SHA-256 over the site and the content, so
// two sites never share one and a hash from one site finds nothing in
// another; reading verifies the hash before the asset is pasted back, which
// restores the events' JSON byte for byte.
//
// Bounds: a site may write at most Options.AssetBudget bytes of new assets
// per hour through one Recorder; beyond it, strings stay inline in the
// chunk (as with a store without assets), so a client sending a flood of
// distinct style sheets cannot grow the asset store faster than its chunks.
// New asset bytes count in the session's StoredBytes, so the bounds on
// stored bytes (maxPendingBytes) include them. Assets live as long as a
// session that references them: the store frees them with the last one.

// minAssetBytes is the shortest string (escaped) that becomes an asset.
const minAssetBytes = 1024

// assetKeys are the keys whose string values may become assets: style
// sheets (_cssText of style and link nodes, rules of StyleSheetRule and
// AdoptedStyleSheet events, replace and replaceSync), image and font data,
// text nodes (inline style and large page text) and SVG path data.
var assetKeys = map[string]bool{
	"_cssText": true, "rule": true, "replace": true, "replaceSync": true, "cssText": true,
	"rr_dataURL": true, "src": true, "fontSource": true, "textContent": true, "d": true,
}

func isAssetKey(key []byte) bool { return assetKeys[string(key)] }

func isAssetKeyString(key string) bool { return assetKeys[key] }

// defaultAssetBudget is the default of Options.AssetBudget.
const defaultAssetBudget = 64 << 20

// assetState is the Recorder's asset bookkeeping. The zero value is ready
// (no store); it is safe for concurrent use.
type assetState struct {
	store  storage.AssetStore // the store's assets, nil when it keeps none
	write  bool               // new chunks get assets (false: version 1, as Options.AssetBudget < 0 asks)
	budget int64              // bytes of new assets per site per hour
	hashes hashMemo
	mu     sync.Mutex
	sites  map[string]*assetBucket
}

// assetBucket is a site's token bucket of new asset bytes.
type assetBucket struct {
	tokens float64
	at     time.Time
}

// spend takes n bytes from site's budget at now, and reports false (taking
// nothing) when the budget does not have them.
func (a *assetState) spend(site string, n int, now time.Time) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.sites == nil {
		a.sites = make(map[string]*assetBucket)
	}
	b := a.sites[site]
	if b == nil {
		b = &assetBucket{tokens: float64(a.budget), at: now}
		a.sites[site] = b
	}
	if d := now.Sub(b.at); d > 0 {
		b.tokens = min(float64(a.budget), b.tokens+float64(a.budget)*d.Hours())
		b.at = now
	}
	if float64(n) > b.tokens {
		return false
	}
	b.tokens -= float64(n)
	return true
}

// hashMemo remembers the asset keys (SHA-256, see assetHash) of contents
// hashed lately, under seeded 64-bit hashes of the content chosen at random
// per process: the style sheets and DOM trees every visit of a page sends
// cost one pass of the runtime's AES hash each time and SHA-256 once.
// Entries are keyed by site as well, so a memo key two contents shared
// (which would take knowing the seeds) would make a value reference
// another asset of the same site, never one of another site. It is bounded
// (maxHashMemo entries, an arbitrary one evicted when full) and safe for
// concurrent use; the zero value is ready.
type hashMemo struct {
	mu sync.Mutex
	m  map[memoKey][sha256.Size]byte
}

type memoKey struct {
	site string
	a, b uint64
	n    int
}

// maxHashMemo bounds the entries of a hashMemo: about 100 bytes each.
const maxHashMemo = 1 << 14

// memoSeeds are the seeds of hashMemo's keys.
var memoSeeds = [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}

// hash returns assetHash(site, content), from the memo when it has it.
func (h *hashMemo) hash(site string, content []byte) [sha256.Size]byte {
	k := memoKey{site, maphash.Bytes(memoSeeds[0], content), maphash.Bytes(memoSeeds[1], content), len(content)}
	h.mu.Lock()
	sum, ok := h.m[k]
	h.mu.Unlock()
	if ok {
		return sum
	}
	sum = assetHash(site, content)
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.m == nil {
		h.m = make(map[memoKey][sha256.Size]byte)
	}
	if len(h.m) >= maxHashMemo {
		for old := range h.m {
			delete(h.m, old)
			break
		}
	}
	h.m[k] = sum
	return sum
}

// assetHash is the key of an asset of site with the given content: SHA-256
// over the site's length, the site and the content.
func assetHash(site string, content []byte) [sha256.Size]byte {
	h := sha256.New()
	var n [binary.MaxVarintLen64]byte
	h.Write(n[:binary.PutUvarint(n[:], uint64(len(site)))])
	h.Write([]byte(site))
	h.Write(content)
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	return sum
}

func isAssetObjectKey(key []byte) bool { return string(key) == "node" }

// encode returns the chunk of a batch's events, written by writeEvents.
// With an asset store, its large values become assets of the site,
// referenced by session key before the chunk is appended; assetBytes is
// what the assets stored for the first time take in the store. The values
// are found pass by pass: first the large strings (which writeEvents
// noted), then, in the text the strings were cut out of, the large DOM
// trees (the node of a FullSnapshot, of a Mutation's adds), which repeat
// across visits of a page even where their style sheets differ.
func (r *Recorder) encode(ctx context.Context, key storage.Key, bt *batchText) (data []byte, assetBytes int64, err error) {
	text := bt.js
	if !r.assets.write {
		return chunkEncoder.EncodeAll(text, nil), 0, nil
	}
	var passes [][]assetRef
	// The cut texts are transient: their buffers are reused.
	var bufs [2]*[]byte
	defer func() {
		for _, bp := range bufs {
			if bp != nil && cap(*bp) <= maxPooledBuffer {
				chunkBuffers.Put(bp)
			}
		}
	}()
	for pass := range 2 {
		var spans []splice.Span
		var from []string
		if pass == 0 {
			spans, from = bt.spans, bt.from
		} else {
			spans = splice.FindObjects(text, minAssetBytes, isAssetObjectKey)
		}
		if len(spans) == 0 {
			continue
		}
		kept, refs, n, err := r.storeAssets(ctx, key, text, spans, from)
		if err != nil {
			return nil, 0, err
		}
		assetBytes += n
		if len(kept) == 0 {
			continue
		}
		bp, _ := chunkBuffers.Get().(*[]byte)
		if bp == nil {
			bp = new([]byte)
		}
		cut, offsets := splice.AppendCut((*bp)[:0], text, kept)
		*bp, bufs[pass] = cut, bp
		for i := range refs {
			refs[i].off = offsets[i]
		}
		text = cut
		passes = append(passes, refs)
	}
	if len(passes) == 0 {
		return chunkEncoder.EncodeAll(text, nil), assetBytes, nil
	}
	return encodeChunkV2(text, passes), assetBytes, nil
}

// storeAssets makes the values of text at spans assets of session key: it
// references those the site has stored and stores the others, as far as
// the site's budget allows. It returns the spans that are assets now and
// their references (offsets not set), and the bytes stored. from, when not
// nil, names for each span the cached style sheet whose text it holds (see
// styleCache.assetHash), or "".
func (r *Recorder) storeAssets(ctx context.Context, key storage.Key, text []byte, spans []splice.Span, from []string) (kept []splice.Span, refs []assetRef, stored int64, err error) {
	as := r.assetsOf(ctx)
	hashes := make([][sha256.Size]byte, len(spans))
	first := make(map[string]int, len(spans)) // hex hash -> its first span
	var distinct []string
	for i, s := range spans {
		content := text[s.Start:s.End]
		if from != nil && from[i] != "" {
			hashes[i] = r.styles.assetHash(key.Site, from[i], content)
		} else {
			hashes[i] = r.assets.hashes.hash(key.Site, content)
		}
		h := hex.EncodeToString(hashes[i][:])
		if _, ok := first[h]; !ok {
			first[h] = i
			distinct = append(distinct, h)
		}
	}
	// One order for every batch, so two batches storing the same new
	// assets take their rows' locks in the same order.
	slices.Sort(distinct)
	missing, err := as.RefAssets(ctx, key, distinct)
	if err != nil {
		return nil, nil, 0, fmt.Errorf("reference assets of %s/%s: %w", key.Site, key.Session, err)
	}
	inline := make(map[[sha256.Size]byte]bool)
	now := r.now()
	for _, h := range missing {
		i, ok := first[h]
		if !ok {
			return nil, nil, 0, fmt.Errorf("reference assets of %s/%s: the store reports an asset missing that was not asked for", key.Site, key.Session)
		}
		content := text[spans[i].Start:spans[i].End]
		if !r.assets.spend(key.Site, len(content), now) {
			inline[hashes[i]] = true
			r.tstate.count(key.Site, func(c *SiteStats) { c.AssetsInline++ })
			continue
		}
		data := chunkEncoder.EncodeAll(content, nil)
		if err := as.PutAsset(ctx, key, h, data); err != nil {
			return nil, nil, 0, fmt.Errorf("put asset of %s/%s: %w", key.Site, key.Session, err)
		}
		stored += int64(len(data))
		r.tstate.count(key.Site, func(c *SiteStats) { c.AssetsStored++ })
	}
	for i, s := range spans {
		if !inline[hashes[i]] {
			kept = append(kept, s)
			refs = append(refs, assetRef{hash: hashes[i]})
		}
	}
	return kept, refs, stored, nil
}

// abandon cleans up after a batch of a new session that failed after its
// assets were referenced: it deletes what the store holds of the session
// (its references), so that no asset outlives it unreferenced by any
// session that can be listed. Errors are logged.
func (r *Recorder) abandon(ctx context.Context, key storage.Key, isNew bool) {
	if !isNew || !r.assets.write {
		return
	}
	err := r.storeOf(ctx).Delete(context.WithoutCancel(ctx), key)
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		r.log.Warn("replay: clean up after a failed batch", "site", key.Site, "session", key.Session, "err", err)
	}
}

// maxAssetMemo bounds the bytes of assets one read keeps in memory to
// paste them again; beyond it they are read from the store again.
const maxAssetMemo = 64 << 20

// assetReader returns what decodeChunkWith needs to read the chunks of a
// session of site: it reads assets from the store, verifies their hash and
// keeps them (up to maxAssetMemo bytes) for the rest of the read.
func (r *Recorder) assetReader(ctx context.Context, site string) func([sha256.Size]byte) ([]byte, error) {
	memo := make(map[[sha256.Size]byte][]byte)
	held := 0
	return func(h [sha256.Size]byte) ([]byte, error) {
		if b, ok := memo[h]; ok {
			return b, nil
		}
		hx := hex.EncodeToString(h[:])
		if r.assets.store == nil {
			return nil, fmt.Errorf("asset %s of site %s: the store keeps no assets", hx, site)
		}
		stored, err := r.assetsOf(ctx).Asset(ctx, site, hx)
		if err != nil {
			return nil, fmt.Errorf("asset %s of site %s: %w", hx, site, err)
		}
		b, err := chunkDecoder.DecodeAll(stored, nil)
		if err != nil {
			return nil, fmt.Errorf("asset %s of site %s: decompress: %w", hx, site, err)
		}
		if assetHash(site, b) != h {
			return nil, fmt.Errorf("asset %s of site %s: content does not match its hash", hx, site)
		}
		if held+len(b) <= maxAssetMemo {
			memo[h] = b
			held += len(b)
		}
		return b, nil
	}
}

// assetsOf returns the asset store to use under ctx: the locked view of the
// session's store when the Recorder holds the store's session lock (so the
// asset writes commit or roll back with the batch), else the store's own.
// It is nil when the store keeps no assets.
func (r *Recorder) assetsOf(ctx context.Context) storage.AssetStore {
	if r.assets.store == nil {
		return nil
	}
	if as, ok := r.storeOf(ctx).(storage.AssetStore); ok {
		return as
	}
	return r.assets.store
}
