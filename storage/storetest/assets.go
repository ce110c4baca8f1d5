package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/sessionreplay/replay/storage"
)

// The rules of [storage.AssetStore], run for stores that implement it.
var assetCases = []testCase{
	{
		name:        "AssetRoundTrip",
		explanation: withSource("Asset returns the bytes PutAsset stored, exactly: every byte value, an empty asset and a large one"),
		run:         testAssetRoundTrip,
		assets:      true,
	},
	{
		name:        "AssetPutIsIdempotent",
		explanation: withSource("PutAsset of a stored asset returns nil and leaves its bytes unchanged"),
		run:         testAssetPutIsIdempotent,
		assets:      true,
	},
	{
		name:        "AssetPerSite",
		explanation: withSource("assets are kept per site: another site's asset with the same hash is not found by Asset and is missing for RefAssets"),
		run:         testAssetPerSite,
		assets:      true,
	},
	{
		name:        "AssetNotFound",
		explanation: withSource("Asset of an unknown hash returns an error wrapping ErrNotFound; RefAssets returns the hashes that are not stored, in the order given"),
		run:         testAssetNotFound,
		assets:      true,
	},
	{
		name:        "AssetNotAliased",
		explanation: withSource("the store keeps its own copy of asset bytes: changing the slice passed to PutAsset or the one Asset returned changes nothing stored"),
		run:         testAssetNotAliased,
		assets:      true,
	},
	{
		name:        "AssetInvalidHash",
		explanation: withSource("PutAsset and RefAssets refuse a hash that is not 16-128 characters of [0-9a-f] with an error wrapping ErrInvalidKey"),
		run:         testAssetInvalidHash,
		assets:      true,
	},
	{
		name:        "AssetFreedWithLastSession",
		explanation: withSource("Delete of a session drops its asset references and removes the assets no other session references; an asset another session references stays"),
		run:         testAssetFreedWithLastSession,
		assets:      true,
	},
	{
		name:        "AssetRefsOnlySession",
		explanation: withSource("Delete of a session that has only asset references (no chunks, no metadata) frees its assets"),
		run:         testAssetRefsOnlySession,
		assets:      true,
	},
	{
		name:        "AssetConcurrent",
		explanation: withSource("an asset a session references is never freed by a concurrent Delete of other sessions, and is freed once every session that references it is deleted"),
		run:         testAssetConcurrent,
		assets:      true,
	},
	{
		name:        "AssetCancelledContext",
		explanation: withSource("PutAsset, RefAssets and Asset called with a cancelled context return an error wrapping context.Canceled and store nothing"),
		run:         testAssetCancelledContext,
		assets:      true,
	},
}

// hashOf returns a valid asset hash that names n.
func hashOf(n int) string { return fmt.Sprintf("%016x", 0xa55e7000+n) }

// wantAsset checks that Asset(site, hash) returns want.
func wantAsset(ctx context.Context, c *checker, s storage.AssetStore, site, hash string, want []byte) {
	got, err := s.Asset(ctx, site, hash)
	if !c.ok(err, "Asset "+site+"/"+hash) {
		return
	}
	if !bytes.Equal(got, want) {
		c.errorf("Asset %s/%s: got %d bytes %.40q, want %d bytes %.40q", site, hash, len(got), got, len(want), want)
	}
}

// wantNoAsset checks that Asset(site, hash) returns ErrNotFound.
func wantNoAsset(ctx context.Context, c *checker, s storage.AssetStore, site, hash, why string) {
	if got, err := s.Asset(ctx, site, hash); !errors.Is(err, storage.ErrNotFound) {
		c.errorf("Asset %s/%s %s: got %d bytes and error %v, want an error wrapping ErrNotFound", site, hash, why, len(got), err)
	}
}

func testAssetRoundTrip(ctx context.Context, c *checker, st storage.Store) {
	s := st.(storage.AssetStore)
	every := make([]byte, 256)
	for i := range every {
		every[i] = byte(i)
	}
	large := bytes.Repeat([]byte("body{color:red}\n"), 1<<16) // 1 MiB
	for i, data := range [][]byte{every, {}, large, []byte(`"quoted" \ text`)} {
		h := hashOf(i)
		if c.ok(s.PutAsset(ctx, key, h, data), "PutAsset "+h) {
			wantAsset(ctx, c, s, key.Site, h, data)
		}
	}
}

func testAssetPutIsIdempotent(ctx context.Context, c *checker, st storage.Store) {
	s := st.(storage.AssetStore)
	h := hashOf(1)
	if !c.ok(s.PutAsset(ctx, key, h, []byte("first")), "first PutAsset") {
		return
	}
	c.ok(s.PutAsset(ctx, key, h, []byte("second, longer")), "second PutAsset of the same session")
	other := storage.Key{Site: key.Site, Session: "sess-0002"}
	c.ok(s.PutAsset(ctx, other, h, []byte("third")), "PutAsset of the same asset by another session")
	wantAsset(ctx, c, s, key.Site, h, []byte("first"))
}

func testAssetPerSite(ctx context.Context, c *checker, st storage.Store) {
	s := st.(storage.AssetStore)
	h := hashOf(1)
	if !c.ok(s.PutAsset(ctx, key, h, []byte("shop's")), "PutAsset") {
		return
	}
	other := storage.Key{Site: "blog", Session: key.Session}
	wantNoAsset(ctx, c, s, other.Site, h, "of another site")
	missing, err := s.RefAssets(ctx, other, []string{h})
	if c.ok(err, "RefAssets of another site") && !slices.Equal(missing, []string{h}) {
		c.errorf("RefAssets of another site's hash: got missing %v, want [%s]", missing, h)
	}
	if c.ok(s.PutAsset(ctx, other, h, []byte("blog's")), "PutAsset of another site") {
		wantAsset(ctx, c, s, other.Site, h, []byte("blog's"))
		wantAsset(ctx, c, s, key.Site, h, []byte("shop's"))
	}
}

func testAssetNotFound(ctx context.Context, c *checker, st storage.Store) {
	s := st.(storage.AssetStore)
	wantNoAsset(ctx, c, s, key.Site, hashOf(9), "never stored")
	if !c.ok(s.PutAsset(ctx, key, hashOf(2), []byte("two")), "PutAsset") {
		return
	}
	in := []string{hashOf(3), hashOf(2), hashOf(1)}
	missing, err := s.RefAssets(ctx, storage.Key{Site: key.Site, Session: "sess-0002"}, in)
	if c.ok(err, "RefAssets") && !slices.Equal(missing, []string{hashOf(3), hashOf(1)}) {
		c.errorf("RefAssets(%v) with only %s stored: got missing %v, want [%s %s]", in, hashOf(2), missing, hashOf(3), hashOf(1))
	}
	missing, err = s.RefAssets(ctx, key, nil)
	if c.ok(err, "RefAssets of no hashes") && len(missing) > 0 {
		c.errorf("RefAssets of no hashes: got missing %v, want none", missing)
	}
}

func testAssetNotAliased(ctx context.Context, c *checker, st storage.Store) {
	s := st.(storage.AssetStore)
	h := hashOf(1)
	data := []byte("original")
	if !c.ok(s.PutAsset(ctx, key, h, data), "PutAsset") {
		return
	}
	copy(data, "CHANGED!")
	got, err := s.Asset(ctx, key.Site, h)
	if c.ok(err, "Asset") && len(got) > 0 {
		got[0] = 'X'
	}
	wantAsset(ctx, c, s, key.Site, h, []byte("original"))
}

func testAssetInvalidHash(ctx context.Context, c *checker, st storage.Store) {
	s := st.(storage.AssetStore)
	for _, h := range []string{"", "0123456789abcde", "../../etc/passwd0", "0123456789ABCDEF", "0123456789abcdef/", string(make([]byte, 129))} {
		if err := s.PutAsset(ctx, key, h, []byte("x")); !errors.Is(err, storage.ErrInvalidKey) {
			c.errorf("PutAsset with hash %q: got %v, want an error wrapping ErrInvalidKey", h, err)
		}
		if _, err := s.RefAssets(ctx, key, []string{h}); !errors.Is(err, storage.ErrInvalidKey) {
			c.errorf("RefAssets with hash %q: got %v, want an error wrapping ErrInvalidKey", h, err)
		}
	}
}

func testAssetFreedWithLastSession(ctx context.Context, c *checker, st storage.Store) {
	s := st.(storage.AssetStore)
	a := newSession("sess-0001", base)
	b := newSession("sess-0002", minutes(1))
	shared, own := hashOf(1), hashOf(2)
	if !putAll(ctx, c, s, a, b) || !appendAll(ctx, c, s, keyOf(a), chunk("w1", 0)) || !appendAll(ctx, c, s, keyOf(b), chunk("w1", 0)) {
		return
	}
	if !c.ok(s.PutAsset(ctx, keyOf(a), shared, []byte("shared")), "PutAsset shared") ||
		!c.ok(s.PutAsset(ctx, keyOf(a), own, []byte("a's own")), "PutAsset own") {
		return
	}
	missing, err := s.RefAssets(ctx, keyOf(b), []string{shared, shared})
	if !c.ok(err, "RefAssets") {
		return
	}
	if len(missing) > 0 {
		c.errorf("RefAssets of a stored asset: got missing %v", missing)
	}
	if !c.ok(s.Delete(ctx, keyOf(a)), "Delete a") {
		return
	}
	wantNoAsset(ctx, c, s, a.Site, own, "referenced only by a deleted session")
	wantAsset(ctx, c, s, a.Site, shared, []byte("shared"))
	// b referenced shared twice: a reference recorded twice counts once.
	if !c.ok(s.Delete(ctx, keyOf(b)), "Delete b") {
		return
	}
	wantNoAsset(ctx, c, s, a.Site, shared, "after every session that referenced it was deleted")
}

func testAssetRefsOnlySession(ctx context.Context, c *checker, st storage.Store) {
	s := st.(storage.AssetStore)
	k := storage.Key{Site: key.Site, Session: "sess-0009"}
	h := hashOf(1)
	if !c.ok(s.PutAsset(ctx, k, h, []byte("x")), "PutAsset") {
		return
	}
	if err := s.Delete(ctx, k); err != nil && !errors.Is(err, storage.ErrNotFound) {
		c.errorf("Delete of a session with only asset references: %v", err)
	}
	wantNoAsset(ctx, c, s, k.Site, h, "after its only session was deleted")
}

func testAssetConcurrent(ctx context.Context, c *checker, st storage.Store) {
	s := st.(storage.AssetStore)
	const sessions = 16
	h := hashOf(1)
	var wg sync.WaitGroup
	for i := range sessions {
		wg.Go(func() {
			k := storage.Key{Site: key.Site, Session: fmt.Sprintf("sess-%04d", i)}
			for round := range 8 {
				missing, err := s.RefAssets(ctx, k, []string{h})
				if !c.ok(err, "RefAssets") {
					return
				}
				if len(missing) > 0 && !c.ok(s.PutAsset(ctx, k, h, []byte("shared")), "PutAsset") {
					return
				}
				if i%2 == 0 && round == 7 {
					return // even sessions keep their reference
				}
				if got, err := s.Asset(ctx, k.Site, h); err != nil || string(got) != "shared" {
					c.errorf("Asset referenced by %s: got %q, %v", k.Session, got, err)
				}
				if err := s.Delete(ctx, k); err != nil && !errors.Is(err, storage.ErrNotFound) {
					c.errorf("Delete %s: %v", k.Session, err)
				}
			}
		})
	}
	wg.Wait()
	wantAsset(ctx, c, s, key.Site, h, []byte("shared"))
	for i := 0; i < sessions; i += 2 {
		k := storage.Key{Site: key.Site, Session: fmt.Sprintf("sess-%04d", i)}
		if err := s.Delete(ctx, k); err != nil && !errors.Is(err, storage.ErrNotFound) {
			c.errorf("Delete %s: %v", k.Session, err)
		}
	}
	wantNoAsset(ctx, c, s, key.Site, h, "after every session that referenced it was deleted")
}

func testAssetCancelledContext(ctx context.Context, c *checker, st storage.Store) {
	s := st.(storage.AssetStore)
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	want := func(what string, err error) {
		if !errors.Is(err, context.Canceled) {
			c.errorf("%s with a cancelled context: got %v, want an error wrapping context.Canceled", what, err)
		}
	}
	h := hashOf(1)
	want("PutAsset", s.PutAsset(cancelled, key, h, []byte("x")))
	wantNoAsset(ctx, c, s, key.Site, h, "after a cancelled PutAsset")
	_, err := s.RefAssets(cancelled, key, []string{h})
	want("RefAssets", err)
	_, err = s.Asset(cancelled, key.Site, h)
	want("Asset", err)
}
