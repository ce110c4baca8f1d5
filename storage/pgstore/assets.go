package pgstore

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"
	"gocloud.dev/gcerrors"

	"github.com/sessionreplay/replay/storage"
)

// Assets (storage.AssetStore) are rows of the assets table, their bytes in
// the row or, when Options.Chunks is set, in an object of the bucket whose
// key is unique per write. asset_refs records which session references
// which asset.
//
// Concurrency: a session that references an asset first takes a share lock
// on its row (SELECT ... FOR SHARE); Delete takes an update lock on the
// rows of the assets the deleted session referenced, in hash order, and
// only then, in a later statement that sees every reference committed
// meanwhile, deletes those no reference names. So a reference made by a
// transaction in flight keeps its asset, and one that waited for a Delete
// finds the asset gone and reports it missing (or stores it anew).

// PutAsset implements [storage.AssetStore.PutAsset] in one transaction.
func (s *Store) PutAsset(ctx context.Context, key storage.Key, hash string, data []byte) error {
	const op = "put asset"
	if err := s.check(op, ctx); err != nil {
		return err
	}
	if err := checkAsset(key, hash); err != nil {
		return err
	}
	var written []string
	err := s.inTx(ctx, op, func(tx pgx.Tx) error {
		return s.putAsset(ctx, tx, &written, key, hash, data)
	})
	if err != nil {
		s.removeBlobs(written)
	}
	return err
}

// RefAssets implements [storage.AssetStore.RefAssets] in one transaction.
func (s *Store) RefAssets(ctx context.Context, key storage.Key, hashes []string) ([]string, error) {
	const op = "ref assets"
	if err := s.check(op, ctx); err != nil {
		return nil, err
	}
	if err := checkAssets(key, hashes); err != nil {
		return nil, err
	}
	var missing []string
	err := s.inTx(ctx, op, func(tx pgx.Tx) error {
		var err error
		missing, err = refAssets(ctx, tx, key, hashes)
		return err
	})
	if err != nil {
		return nil, err
	}
	return missing, nil
}

// Asset implements [storage.AssetStore.Asset].
func (s *Store) Asset(ctx context.Context, site, hash string) ([]byte, error) {
	if err := s.check("asset", ctx); err != nil {
		return nil, err
	}
	return s.asset(ctx, s.pool, site, hash)
}

// checkAsset refuses a key or hash the store cannot hold.
func checkAsset(key storage.Key, hash string) error {
	if err := validKey(key); err != nil {
		return err
	}
	if !storage.ValidAssetHash(hash) {
		return fmt.Errorf("pgstore: asset hash %.140q: %w", hash, storage.ErrInvalidKey)
	}
	return nil
}

func checkAssets(key storage.Key, hashes []string) error {
	if err := validKey(key); err != nil {
		return err
	}
	for _, h := range hashes {
		if !storage.ValidAssetHash(h) {
			return fmt.Errorf("pgstore: asset hash %.140q: %w", h, storage.ErrInvalidKey)
		}
	}
	return nil
}

// assetBlobKey returns a new object key for an asset: unique per write, so
// that a PutAsset racing the Delete that frees the same asset never has
// its object removed under it.
func assetBlobKey(site, hash string) string {
	return fmt.Sprintf("assets/%s/%s-%s", site, hash, randHex())
}

// putAsset stores the asset unless it is stored, and the reference, in tx.
// In blob mode it writes the object first; an object that no row names in
// the end is removed, and one that a row names is listed in *written, for
// the caller to remove if tx rolls back.
func (s *Store) putAsset(ctx context.Context, tx pgx.Tx, written *[]string, key storage.Key, hash string, data []byte) error {
	const op = "put asset"
	var (
		bkey  *string
		bytes []byte
	)
	if s.bucket != nil {
		k := assetBlobKey(key.Site, hash)
		if err := s.bucket.WriteAll(ctx, k, data, nil); err != nil {
			return wrap(op, blobError{err})
		}
		bkey = &k
	} else {
		bytes = data
		if bytes == nil {
			bytes = []byte{}
		}
	}
	inserted := false
	defer func() {
		if bkey == nil {
			return
		}
		if inserted {
			*written = append(*written, *bkey)
		} else {
			s.removeBlobs([]string{*bkey})
		}
	}()
	// Insert the asset, or take a share lock on the stored one so that no
	// Delete frees it before this transaction ends. A stored asset that a
	// Delete removes between the two statements is inserted anew.
	for attempt := 0; ; attempt++ {
		tag, err := tx.Exec(ctx, `INSERT INTO assets (site, hash, data, blob_key) VALUES ($1, $2, $3, $4)
			ON CONFLICT DO NOTHING`, key.Site, hash, bytes, bkey)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 1 {
			inserted = true
			break
		}
		tag, err = tx.Exec(ctx, `SELECT 1 FROM assets WHERE site = $1 AND hash = $2 FOR SHARE`, key.Site, hash)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 1 {
			break
		}
		if attempt == 10 {
			return fmt.Errorf("%w: asset %s of %s deleted and stored again %d times", storage.ErrUnavailable, hash, key.Site, attempt)
		}
	}
	_, err := tx.Exec(ctx, `INSERT INTO asset_refs (site, session, hash) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
		key.Site, key.Session, hash)
	return err
}

// refAssets records the references of key to the stored assets of hashes,
// under a share lock of each, and returns the others in the order given.
func refAssets(ctx context.Context, tx pgx.Tx, key storage.Key, hashes []string) ([]string, error) {
	if len(hashes) == 0 {
		return nil, nil
	}
	rows, err := tx.Query(ctx, `SELECT hash FROM assets WHERE site = $1 AND hash = ANY($2) FOR SHARE`, key.Site, hashes)
	if err != nil {
		return nil, err
	}
	stored, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, err
	}
	if len(stored) > 0 {
		_, err = tx.Exec(ctx, `INSERT INTO asset_refs (site, session, hash) SELECT $1, $2, unnest($3::text[])
			ON CONFLICT DO NOTHING`, key.Site, key.Session, stored)
		if err != nil {
			return nil, err
		}
	}
	var missing []string
	for _, h := range hashes {
		if !slices.Contains(stored, h) {
			missing = append(missing, h)
		}
	}
	return missing, nil
}

// asset reads an asset's bytes.
func (s *Store) asset(ctx context.Context, q querier, site, hash string) ([]byte, error) {
	const op = "asset"
	if err := checkCtx(op, ctx); err != nil {
		return nil, err
	}
	notFound := fmt.Errorf("pgstore: asset %.140s of %q: %w", hash, site, storage.ErrNotFound)
	if !storage.ValidAssetHash(hash) || clean(site) != site {
		return nil, notFound
	}
	var (
		data []byte
		bkey *string
	)
	err := q.QueryRow(ctx, `SELECT data, blob_key FROM assets WHERE site = $1 AND hash = $2`, site, hash).Scan(&data, &bkey)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound
	}
	if err != nil {
		return nil, wrap(op, err)
	}
	if bkey == nil {
		if data == nil {
			data = []byte{}
		}
		return data, nil
	}
	if s.bucket == nil {
		return nil, fmt.Errorf("pgstore: asset %s of %s is in a blob bucket, but the store has none (Options.Chunks)", hash, site)
	}
	b, err := s.bucket.ReadAll(ctx, *bkey)
	if gcerrors.Code(err) == gcerrors.NotFound {
		return nil, notFound // freed since the row was read
	}
	if err != nil {
		return nil, wrap(op, blobError{err})
	}
	if b == nil {
		b = []byte{}
	}
	return b, nil
}

// deleteAssetRefs drops a session's references and deletes the assets of
// its site that no session references any more, in tx, and returns the
// object keys of those deleted, to be removed once tx commits, and the
// number of references dropped.
func deleteAssetRefs(ctx context.Context, tx querier, key storage.Key) ([]string, int, error) {
	rows, err := tx.Query(ctx, `DELETE FROM asset_refs WHERE site = $1 AND session = $2 RETURNING hash`, key.Site, key.Session)
	if err != nil {
		return nil, 0, err
	}
	hashes, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil || len(hashes) == 0 {
		return nil, 0, err
	}
	// Lock the assets in hash order (every Delete does, so two never
	// deadlock), waiting for the transactions that reference them now;
	// the next statement sees their references.
	if _, err := tx.Exec(ctx, `SELECT 1 FROM assets WHERE site = $1 AND hash = ANY($2) ORDER BY hash FOR UPDATE`, key.Site, hashes); err != nil {
		return nil, 0, err
	}
	rows, err = tx.Query(ctx, `DELETE FROM assets a WHERE a.site = $1 AND a.hash = ANY($2)
		AND NOT EXISTS (SELECT 1 FROM asset_refs r WHERE r.site = a.site AND r.hash = a.hash)
		RETURNING blob_key`, key.Site, hashes)
	if err != nil {
		return nil, 0, err
	}
	keys, err := pgx.CollectRows(rows, pgx.RowTo[*string])
	if err != nil {
		return nil, 0, err
	}
	var blobs []string
	for _, k := range keys {
		if k != nil {
			blobs = append(blobs, *k)
		}
	}
	return blobs, len(hashes), nil
}

// PutAsset implements [storage.AssetStore.PutAsset] in the transaction of
// LockSession, in a savepoint so that an error leaves the transaction
// usable. The asset and its reference are committed with the function's
// other writes.
func (t *txStore) PutAsset(ctx context.Context, key storage.Key, hash string, data []byte) error {
	const op = "put asset"
	if err := t.check(); err != nil {
		return err
	}
	if err := checkCtx(op, ctx); err != nil {
		return err
	}
	if err := checkAsset(key, hash); err != nil {
		return err
	}
	var written []string
	err := t.savepoint(ctx, op, func(sp pgx.Tx) error {
		return t.s.putAsset(ctx, sp, &written, key, hash, data)
	})
	if err != nil {
		t.s.removeBlobs(written)
		return err
	}
	t.written = append(t.written, written...)
	return nil
}

// RefAssets implements [storage.AssetStore.RefAssets] in the transaction
// of LockSession.
func (t *txStore) RefAssets(ctx context.Context, key storage.Key, hashes []string) ([]string, error) {
	const op = "ref assets"
	if err := t.check(); err != nil {
		return nil, err
	}
	if err := checkCtx(op, ctx); err != nil {
		return nil, err
	}
	if err := checkAssets(key, hashes); err != nil {
		return nil, err
	}
	var missing []string
	err := t.savepoint(ctx, op, func(sp pgx.Tx) error {
		var err error
		missing, err = refAssets(ctx, sp, key, hashes)
		return err
	})
	return missing, err
}

// Asset implements [storage.AssetStore.Asset] in the transaction of
// LockSession: it sees the function's own writes.
func (t *txStore) Asset(ctx context.Context, site, hash string) ([]byte, error) {
	if err := t.check(); err != nil {
		return nil, err
	}
	return t.s.asset(ctx, t.tx, site, hash)
}

// savepoint runs fn in a savepoint of the transaction, released when fn
// returns nil and rolled back otherwise.
func (t *txStore) savepoint(ctx context.Context, op string, fn func(sp pgx.Tx) error) error {
	sp, err := t.tx.Begin(ctx)
	if err != nil {
		return wrap(op, err)
	}
	if err := fn(sp); err != nil {
		_ = sp.Rollback(context.WithoutCancel(ctx))
		return wrap(op, err)
	}
	return wrap(op, sp.Commit(ctx))
}

var (
	_ storage.AssetStore = (*Store)(nil)
	_ storage.AssetStore = (*txStore)(nil)
)
