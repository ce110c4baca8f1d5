package filestore

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/klauspost/compress/zstd"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sessionreplay/replay/storage"
)

// segBytes returns the bytes of every segment of the journal, with the
// text of the zstd frames in them (see readable).
func segBytes(t *testing.T, dir string) []byte {
	t.Helper()
	segs, err := filepath.Glob(filepath.Join(dir, journalDir, "*"+segExt))
	require.NoError(t, err)
	var all []byte
	for _, p := range segs {
		b, err := os.ReadFile(p)
		require.NoError(t, err)
		all = append(all, readable(b)...)
	}
	return all
}

// readable returns b followed by the text of every zstd frame in it (the
// sessions' metadata), so a test can look for what a reader of the disk
// would find.
func readable(b []byte) []byte {
	out := slices.Clone(b)
	for i := 0; ; i++ {
		j := bytes.Index(b[i:], []byte(zstdMagic))
		if j < 0 {
			return out
		}
		i += j
		d, err := zstd.NewReader(bytes.NewReader(b[i:]), zstd.WithDecoderConcurrency(1))
		if err != nil {
			continue
		}
		text, _ := io.ReadAll(d) // up to the frame's end, or its damage
		d.Close()
		out = append(out, text...)
	}
}

// Delete frees the assets no session references any more and erases
// their records, and leaves nothing noted.
func TestAssetsFreedByDelete(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, nil)
	require.NoError(t, err)
	defer s.Close()
	a := storage.Key{Site: "shop", Session: "sess-000a"}
	b := storage.Key{Site: "shop", Session: "sess-000b"}
	require.NoError(t, s.PutAsset(ctx, a, hashN(1), []byte("shared asset")))
	require.NoError(t, s.PutAsset(ctx, a, hashN(2), []byte("a's own asset")))
	missing, err := s.RefAssets(ctx, b, []string{hashN(1), hashN(3), hashN(1)})
	require.NoError(t, err)
	assert.Equal(t, []string{hashN(3)}, missing)
	assert.Equal(t, 2, countRows(t, s, "jassets"))

	require.NoError(t, s.Delete(ctx, a))
	assert.Equal(t, 1, countRows(t, s, "jassets"))
	all := segBytes(t, dir)
	assert.False(t, bytes.Contains(all, []byte("a's own asset")), "the freed asset's record is erased")
	assert.True(t, bytes.Contains(all, []byte("shared asset")))
	got, err := s.Asset(ctx, "shop", hashN(1))
	require.NoError(t, err)
	assert.Equal(t, "shared asset", string(got))
	require.NoError(t, s.Delete(ctx, b))
	assert.False(t, bytes.Contains(segBytes(t, dir), []byte("shared asset")))
	for _, table := range []string{"asset_trash", "assets", "jassets", "asset_refs", "erasing", "orphans"} {
		assert.Zero(t, countRows(t, s, table), table)
	}
}

// A session that only references assets is an orphan until its metadata
// is written, so that the Sweep finds it if its writer never writes it.
func TestAssetRefsMakeAnOrphan(t *testing.T) {
	s, err := Open(t.TempDir(), nil)
	require.NoError(t, err)
	defer s.Close()
	k := storage.Key{Site: "shop", Session: "sess-000a"}
	require.NoError(t, s.PutAsset(ctx, k, hashN(1), []byte("x")))
	page, err := s.Due(ctx, storage.DueQuery{Site: "shop", Kind: storage.DueOrphaned, Before: s.now().Add(1)})
	require.NoError(t, err)
	assert.Equal(t, []storage.Key{k}, page.Keys)
	require.NoError(t, s.PutSession(ctx, storage.Session{Site: k.Site, ID: k.Session, State: storage.StateKept}))
	page, err = s.Due(ctx, storage.DueQuery{Site: "shop", Kind: storage.DueOrphaned, Before: s.now().Add(1)})
	require.NoError(t, err)
	assert.Empty(t, page.Keys)
	sites, err := s.SweepSites(ctx)
	require.NoError(t, err)
	assert.Equal(t, []string{"shop"}, sites)
}

// Open removes the asset files (of the format before the journal) a crash
// left noted in asset_trash: one a PutAsset was writing, one a Delete had
// freed; a stored asset stays.
func TestAssetTrashFinishedAtOpen(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, nil)
	require.NoError(t, err)
	k := storage.Key{Site: "shop", Session: "sess-000a"}
	require.NoError(t, s.PutAsset(ctx, k, hashN(1), []byte("kept")))
	require.NoError(t, os.MkdirAll(filepath.Join(dir, assetsDir, encodeName("shop")), 0o750))
	for _, name := range []string{hashN(2) + "-half.asset", hashN(3) + "-freed.asset"} {
		f := filepath.Join(assetsDir, encodeName("shop"), name)
		require.NoError(t, os.WriteFile(filepath.Join(dir, f), []byte("RPA1...."), 0o640))
		_, err := s.db.Exec(`INSERT INTO asset_trash (file) VALUES (?)`, filepath.ToSlash(f))
		require.NoError(t, err)
	}
	require.Len(t, assetFiles(t, dir, "shop"), 2)
	require.NoError(t, s.Close())

	s, err = Open(dir, nil)
	require.NoError(t, err)
	defer s.Close()
	assert.Empty(t, assetFiles(t, dir, "shop"))
	assert.Zero(t, countRows(t, s, "asset_trash"))
	got, err := s.Asset(ctx, "shop", hashN(1))
	require.NoError(t, err)
	assert.Equal(t, "kept", string(got))
}

// A PutAsset and a Delete that race on the same hash never lose an asset
// a session references.
func TestAssetPutDeleteRace(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, nil)
	require.NoError(t, err)
	defer s.Close()
	h := hashN(1)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for round := range 25 {
				k := storage.Key{Site: "shop", Session: fmt.Sprintf("sess-%d-%03d", g, round)}
				if !assert.NoError(t, s.PutAsset(ctx, k, h, []byte("shared"))) {
					return
				}
				got, err := s.Asset(ctx, "shop", h)
				if !assert.NoError(t, err, "an asset its session references") || !assert.Equal(t, "shared", string(got)) {
					return
				}
				if !assert.NoError(t, s.Delete(ctx, k)) {
					return
				}
			}
		})
	}
	wg.Wait()
	_, err = s.Asset(ctx, "shop", h)
	assert.ErrorIs(t, err, storage.ErrNotFound)
	assert.Zero(t, countRows(t, s, "jassets"))
	assert.Zero(t, countRows(t, s, "asset_refs"))
}

// A damaged asset record is an error, never wrong bytes.
func TestAssetDamaged(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, nil)
	require.NoError(t, err)
	defer s.Close()
	k := storage.Key{Site: "shop", Session: "sess-000a"}
	require.NoError(t, s.PutAsset(ctx, k, hashN(1), []byte("body{}")))
	segs, err := filepath.Glob(filepath.Join(dir, journalDir, "*"+segExt))
	require.NoError(t, err)
	require.Len(t, segs, 1)
	b, err := os.ReadFile(segs[0])
	require.NoError(t, err)
	at := bytes.Index(b, []byte("body{}"))
	require.Positive(t, at)
	b[at] ^= 1
	require.NoError(t, os.WriteFile(segs[0], b, 0o640))
	_, err = s.Asset(ctx, "shop", hashN(1))
	assert.ErrorContains(t, err, "checksum")
	_, err = s.Asset(ctx, "shop", "../../etc/passwd0")
	assert.ErrorIs(t, err, storage.ErrInvalidKey)
}

// When the index is lost, the rebuild restores the assets of the journal
// and the references it holds, and the site's recovered-assets orphan
// references every asset too (a reference's record may be gone with its
// segment); deleting it (as the Sweep does once retention has passed)
// leaves the assets that a session references.
func TestAssetsSurviveRebuild(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, nil)
	require.NoError(t, err)
	k := storage.Key{Site: "shop", Session: "sess-000a"}
	require.NoError(t, s.Append(ctx, k, storage.Chunk{Window: "w1", Data: []byte("refers to the assets")}))
	require.NoError(t, s.PutAsset(ctx, k, hashN(1), []byte("one")))
	require.NoError(t, s.PutAsset(ctx, k, hashN(2), []byte("two")))
	require.NoError(t, s.PutAsset(ctx, storage.Key{Site: "blog", Session: "sess-000b"}, hashN(1), []byte("blog's")))
	require.NoError(t, s.Close())
	removeIndex(dir)

	s, err = Open(dir, nil)
	require.NoError(t, err)
	defer s.Close()
	for site, want := range map[string]map[string]string{"shop": {hashN(1): "one", hashN(2): "two"}, "blog": {hashN(1): "blog's"}} {
		for h, data := range want {
			got, err := s.Asset(ctx, site, h)
			require.NoError(t, err, site+"/"+h)
			assert.Equal(t, data, string(got))
		}
	}
	page, err := s.Due(ctx, storage.DueQuery{Site: "shop", Kind: storage.DueOrphaned, Before: s.now().Add(1)})
	require.NoError(t, err)
	assert.ElementsMatch(t, []storage.Key{k, {Site: "shop", Session: recoveredAssets}}, page.Keys)

	require.NoError(t, s.Delete(ctx, storage.Key{Site: "shop", Session: recoveredAssets}))
	_, err = s.Asset(ctx, "shop", hashN(2))
	assert.NoError(t, err, "the journal restored the references of the session that stored it")
	require.NoError(t, s.Delete(ctx, k))
	_, err = s.Asset(ctx, "shop", hashN(2))
	assert.ErrorIs(t, err, storage.ErrNotFound, "freed with the last reference")
}

// An index of version 1 is upgraded in place: its sessions stay, and the
// assets and views work.
func TestIndexUpgradeFromVersion1(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, nil)
	require.NoError(t, err)
	sess := storage.Session{Site: "shop", ID: "sess-000a", State: storage.StateKept}
	require.NoError(t, s.PutSession(ctx, sess))
	require.NoError(t, s.write(ctx, func(tx *txn) error {
		for _, stmt := range []string{`DROP TABLE assets`, `DROP TABLE asset_refs`, `DROP TABLE asset_trash`, `DROP TABLE views`,
			`DROP INDEX s_count`, `UPDATE meta SET v = '1' WHERE k = 'version'`} {
			if _, err := tx.Exec(stmt); err != nil {
				return err
			}
		}
		return nil
	}))
	require.NoError(t, s.Close())

	s, err = Open(dir, nil)
	require.NoError(t, err)
	defer s.Close()
	_, err = s.Session(ctx, storage.Key{Site: "shop", Session: "sess-000a"})
	require.NoError(t, err, "the sessions of a version 1 index stay")
	var v string
	require.NoError(t, s.db.QueryRow(`SELECT v FROM meta WHERE k = 'version'`).Scan(&v))
	assert.Equal(t, "3", v)
	require.NoError(t, s.PutAsset(ctx, storage.Key{Site: "shop", Session: "sess-000a"}, hashN(1), []byte("x")))
	require.NoError(t, s.AddView(ctx, storage.Key{Site: "shop", Session: "sess-000a"}, storage.View{Principal: "alice"}))
}

// FuzzDecodeAsset feeds damaged asset files to the decoder and names to
// parseAssetName: they must never panic, what decodeAsset accepts must be
// what encodeAsset writes, and a hash parseAssetName returns is valid.
func FuzzDecodeAsset(f *testing.F) {
	f.Add(encodeAsset([]byte("body{}")), hashN(1)+"-abc"+assetExt)
	f.Add(encodeAsset(nil), "x.asset")
	f.Add([]byte("RPA1"), "../"+hashN(1)+"-a.asset")
	f.Fuzz(func(t *testing.T, b []byte, name string) {
		if h, ok := parseAssetName(name); ok && !storage.ValidAssetHash(h) {
			t.Fatalf("parseAssetName(%q) accepted hash %q", name, h)
		}
		data, err := decodeAsset(b)
		if err != nil {
			return
		}
		if !bytes.Equal(encodeAsset(data), b) {
			t.Fatalf("accepted %x, which is not what encodeAsset writes", b)
		}
	})
}
