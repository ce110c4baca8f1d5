package pgstore_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gocloud.dev/blob"
	"gocloud.dev/blob/memblob"

	"github.com/sessionreplay/replay/storage"
)

const assetHash = "00112233445566778899aabbccddeeff"

// objects lists the keys of bucket under prefix.
func objects(t *testing.T, b *blob.Bucket, prefix string) []string {
	t.Helper()
	var keys []string
	it := b.List(&blob.ListOptions{Prefix: prefix})
	for {
		obj, err := it.Next(t.Context())
		if err != nil {
			require.ErrorIs(t, err, io.EOF)
			return keys
		}
		keys = append(keys, obj.Key)
	}
}

// Assets put and referenced through LockSession's view are kept with the
// function's other writes or not at all.
func TestAssetsInLockSession(t *testing.T) {
	needDB(t)
	b := memblob.OpenBucket(nil)
	t.Cleanup(func() { b.Close() })
	s := newStore(t, b)
	ctx := t.Context()
	key := storage.Key{Site: "shop", Session: "sess-1"}

	// A function that fails keeps nothing: no row, no object.
	boom := errors.New("boom")
	err := s.LockSession(ctx, key, func(st storage.Store) error {
		as, ok := st.(storage.AssetStore)
		require.True(t, ok, "the view of LockSession implements AssetStore")
		require.NoError(t, as.PutAsset(ctx, key, assetHash, []byte("body{}")))
		got, err := as.Asset(ctx, key.Site, assetHash)
		require.NoError(t, err)
		assert.Equal(t, []byte("body{}"), got, "the view reads its own writes")
		return boom
	})
	require.ErrorIs(t, err, boom)
	_, err = s.Asset(ctx, key.Site, assetHash)
	require.ErrorIs(t, err, storage.ErrNotFound)
	assert.Empty(t, objects(t, b, "assets/"), "the object of a rolled back PutAsset is removed")

	// One that returns nil keeps the asset and its reference.
	require.NoError(t, s.LockSession(ctx, key, func(st storage.Store) error {
		as := st.(storage.AssetStore)
		missing, err := as.RefAssets(ctx, key, []string{assetHash})
		require.NoError(t, err)
		require.Equal(t, []string{assetHash}, missing)
		return as.PutAsset(ctx, key, assetHash, []byte("body{}"))
	}))
	got, err := s.Asset(ctx, key.Site, assetHash)
	require.NoError(t, err)
	assert.Equal(t, []byte("body{}"), got)
	assert.Len(t, objects(t, b, "assets/"), 1)

	// Delete frees it, and removes its object once committed.
	require.NoError(t, s.Delete(ctx, key))
	_, err = s.Asset(ctx, key.Site, assetHash)
	require.ErrorIs(t, err, storage.ErrNotFound)
	assert.Empty(t, objects(t, b, "assets/"))
}

// A pool of one connection: LockSession's view needs no second one.
func TestAssetsInLockSessionOneConnection(t *testing.T) {
	needDB(t)
	s := openStoreDSN(t, testDSN+"&pool_max_conns=1", newSchema(t))
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute) // a second connection would wait here forever
	defer cancel()
	key := storage.Key{Site: "shop", Session: "sess-1"}
	require.NoError(t, s.LockSession(ctx, key, func(st storage.Store) error {
		as := st.(storage.AssetStore)
		if err := as.PutAsset(ctx, key, assetHash, []byte("x")); err != nil {
			return err
		}
		_, err := as.RefAssets(ctx, key, []string{assetHash})
		return err
	}))
	got, err := s.Asset(ctx, key.Site, assetHash)
	require.NoError(t, err)
	assert.Equal(t, []byte("x"), got)
}

// A reference made in a LockSession still in flight keeps its asset from
// a concurrent Delete of the asset's other session, whichever runs first:
// either the Delete waits and the asset stays, or the reference waited and
// reports the asset missing, and PutAsset stores it again. Even rounds
// reference first; odd ones race freely.
func TestAssetRefInFlightSurvivesDelete(t *testing.T) {
	needDB(t)
	for _, bucket := range []bool{false, true} {
		t.Run(map[bool]string{false: "rows", true: "memblob"}[bucket], func(t *testing.T) {
			var b *blob.Bucket
			if bucket {
				b = memblob.OpenBucket(nil)
				t.Cleanup(func() { b.Close() })
			}
			s := newStore(t, b)
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			defer cancel()
			for round := range 20 {
				owner := storage.Key{Site: "shop", Session: "owner-" + itoa(round)}
				user := storage.Key{Site: "shop", Session: "user-" + itoa(round)}
				require.NoError(t, s.PutAsset(ctx, owner, assetHash, []byte("shared")))
				referenced := make(chan struct{})
				var wg sync.WaitGroup
				wg.Add(1)
				go func() {
					defer wg.Done()
					if round%2 == 0 {
						<-referenced
					}
					assert.NoError(t, s.Delete(ctx, owner))
				}()
				err := s.LockSession(ctx, user, func(st storage.Store) error {
					as := st.(storage.AssetStore)
					missing, err := as.RefAssets(ctx, user, []string{assetHash})
					if err != nil {
						return err
					}
					close(referenced)
					if len(missing) > 0 {
						return as.PutAsset(ctx, user, assetHash, []byte("shared"))
					}
					return nil
				})
				require.NoError(t, err)
				wg.Wait()
				got, err := s.Asset(ctx, "shop", assetHash)
				require.NoError(t, err, "round %d: the asset of a committed reference is kept", round)
				assert.Equal(t, []byte("shared"), got)
				require.NoError(t, s.Delete(ctx, user))
				_, err = s.Asset(ctx, "shop", assetHash)
				require.ErrorIs(t, err, storage.ErrNotFound, "round %d: freed with its last session", round)
			}
			if b != nil {
				assert.Empty(t, objects(t, b, "assets/"), "every object of a freed asset is removed")
			}
		})
	}
}

func TestAssetBadInput(t *testing.T) {
	needDB(t)
	s := newStore(t, nil)
	ctx := t.Context()
	for _, key := range []storage.Key{{Site: "", Session: "a"}, {Site: "shop\x00", Session: "a"}, {Site: "shop", Session: "\xff"}} {
		assert.ErrorIs(t, s.PutAsset(ctx, key, assetHash, nil), storage.ErrInvalidKey)
		_, err := s.RefAssets(ctx, key, []string{assetHash})
		assert.ErrorIs(t, err, storage.ErrInvalidKey)
	}
	for _, site := range []string{"shop\x00", "\xff", ""} {
		_, err := s.Asset(ctx, site, assetHash)
		assert.ErrorIs(t, err, storage.ErrNotFound)
	}
	_, err := s.Asset(ctx, "shop", strings.Repeat("A", 32))
	assert.ErrorIs(t, err, storage.ErrNotFound)
}
