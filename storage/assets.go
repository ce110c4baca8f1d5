package storage

import "context"

// AssetStore is a [Store] that also keeps assets: large strings that repeat
// across the sessions of a site (style sheets, data URLs), stored once per
// site under a hash of their content and referenced from chunks. It is an
// optional interface, in the style of io/fs and database/sql/driver: package
// replay finds it with a type assertion,
//
//	if as, ok := store.(storage.AssetStore); ok { ... }
//
// and a Store without it keeps working: the Recorder then writes every
// string inline in its chunks, as it always did.
//
// # References
//
// Assets are kept per site and counted by session. [AssetStore.PutAsset]
// and [AssetStore.RefAssets] record that a session references an asset;
// [Store.Delete] of a session drops the session's references together with
// its chunks and metadata, and in the same atomic step removes every asset
// of the site that no session references any more. An asset therefore lives
// exactly as long as one session that uses it, and a session being written
// concurrently holds its references from the moment PutAsset or RefAssets
// returned, before its chunk is appended: no delete of another session can
// free them. References are a set per session: recording one twice counts
// once.
//
// # Keys and bytes
//
// A hash is opaque to the store: 16 to 128 characters of [0-9a-f] (see
// [ValidAssetHash]; package replay uses hex SHA-256 over the site and the
// asset's content, and verifies it when it reads the asset). A store
// refuses any other hash with [ErrInvalidKey]. Asset bytes are opaque too
// and, like chunk bytes, copied on the way in and out.
//
// Any method may be called concurrently with any other, Store methods
// included. The conformance suite in package storetest checks these rules
// for every store that implements AssetStore.
type AssetStore interface {
	Store

	// PutAsset stores data as asset hash of key.Site unless it is stored
	// already, and records that session key references it. It is
	// idempotent: when the asset is stored it leaves its bytes unchanged
	// (whatever data holds) and only records the reference, returning nil.
	// A store with no room left returns an error wrapping [ErrFull] and
	// records nothing.
	PutAsset(ctx context.Context, key Key, hash string, data []byte) error

	// RefAssets records that session key references each asset of
	// hashes that key.Site has stored, and returns, in the order given,
	// the hashes that are not stored (for which nothing is recorded; the
	// caller puts them with PutAsset). All or none of the references are
	// recorded when it returns an error.
	RefAssets(ctx context.Context, key Key, hashes []string) (missing []string, err error)

	// Asset returns the bytes of asset hash of site, or an error wrapping
	// [ErrNotFound] when site has no such asset (another site's asset with
	// the same hash is not found).
	Asset(ctx context.Context, site, hash string) ([]byte, error)
}

// ValidAssetHash reports whether h is a valid asset hash: 16 to 128
// characters of [0-9a-f]. Stores may rely on it to map a hash to a file
// name or a key.
func ValidAssetHash(h string) bool {
	if len(h) < 16 || len(h) > 128 {
		return false
	}
	for i := 0; i < len(h); i++ {
		if c := h[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
