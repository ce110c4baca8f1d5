package filestore

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"slices"
	"strings"

	"github.com/sessionreplay/replay/storage"
)

// Assets (see [storage.AssetStore]) are files under assets/<site>/, one
// per asset, named "<hash>-<random>.asset": a name is never reused, so a
// Delete that removes the file of a freed asset can never remove the file
// of a PutAsset of the same hash that runs at the same time. The index
// maps (site, hash) to the file (table assets) and holds the references
// (table asset_refs); asset_trash lists the files that no asset row owns
// and may exist, which Open removes.

const (
	assetsDir   = "assets"
	assetExt    = ".asset"
	assetMagic  = "RPA1"
	maxAssetTry = 3
)

// encodeAsset returns the file contents of an asset: the magic, the
// CRC-32C of the data (4 bytes, big endian), then the data.
func encodeAsset(data []byte) []byte {
	b := make([]byte, 0, len(assetMagic)+4+len(data))
	b = append(b, assetMagic...)
	b = binary.BigEndian.AppendUint32(b, crc32.Checksum(data, castagnoli))
	return append(b, data...)
}

// decodeAsset reads a file written by encodeAsset; the data aliases b.
func decodeAsset(b []byte) ([]byte, error) {
	if len(b) < len(assetMagic)+4 || string(b[:len(assetMagic)]) != assetMagic {
		return nil, errors.New("not an asset file (bad magic or truncated)")
	}
	sum, data := binary.BigEndian.Uint32(b[len(assetMagic):]), b[len(assetMagic)+4:]
	if crc32.Checksum(data, castagnoli) != sum {
		return nil, errors.New("checksum mismatch")
	}
	return data, nil
}

// parseAssetName returns the hash of an asset file name, or false.
func parseAssetName(name string) (string, bool) {
	rest, ok := strings.CutSuffix(name, assetExt)
	if !ok {
		return "", false
	}
	hash, _, ok := strings.Cut(rest, "-")
	return hash, ok && storage.ValidAssetHash(hash)
}

func checkAssetKey(site, hash string) error {
	if !validID(site) {
		return fmt.Errorf("site %q: %w", site, storage.ErrInvalidKey)
	}
	if !storage.ValidAssetHash(hash) {
		return fmt.Errorf("asset hash %.140q: %w", hash, storage.ErrInvalidKey)
	}
	return nil
}

// refIfStored records that key references each asset of hashes that
// key.Site has, within tx. A session without
// metadata that references an asset is recorded as an orphan, as its
// first chunk would be, so that a writer that crashes before it writes the
// session's metadata leaves nothing that the Sweep does not find.
func (s *Store) refIfStored(ctx context.Context, tx *txn, key storage.Key, hashes []string) error {
	if len(hashes) == 0 {
		return nil
	}
	// One statement: it adds the references to the stored assets that
	// are new, and does nothing for the others.
	res, err := tx.ExecContext(ctx, qAddRefs, key.Site, key.Session, hashList(hashes))
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil
	}
	return s.addedRef(ctx, tx, key)
}

// refIfStoredNew is refIfStored that also reports whether the reference
// is new.
func (s *Store) refIfStoredNew(ctx context.Context, tx *txn, key storage.Key, hash string) (stored, added bool, err error) {
	var one int
	err = tx.QueryRowContext(ctx, qAssetExists, key.Site, hash).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, false, nil
	}
	if err != nil {
		return false, false, err
	}
	added, err = s.addRef(ctx, tx, key, hash)
	return true, added, err
}

// addRef records the reference of key to a stored asset, within tx, and
// reports whether it is new.
func (s *Store) addRef(ctx context.Context, tx *txn, key storage.Key, hash string) (bool, error) {
	res, err := tx.ExecContext(ctx, qAddRef, key.Site, key.Session, hash)
	if err != nil {
		return false, err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return false, nil // referenced already
	}
	return true, s.addedRef(ctx, tx, key)
}

// addedRef records, within tx, what a new reference of key implies: an
// orphan record when the session has no metadata, and its site.
func (s *Store) addedRef(ctx context.Context, tx *txn, key storage.Key) error {
	if _, err := tx.ExecContext(ctx, qAddOrphan, key.Site, key.Session, timeKey(s.now())); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, qAddSite, key.Site)
	return err
}

// PutAsset implements [storage.AssetStore.PutAsset]. When the site has the
// asset, it records the reference in the index. Otherwise the asset is a
// record of the journal, in the group of the call (or of the LockSession
// function that makes it), and the asset and the reference are recorded
// in the index when that group is applied; when a concurrent PutAsset of
// the same hash was applied first, the reference goes to that one and
// this record is dead space. Either way the reference is in the group
// too, synced when PutAsset returns (under LockSession, with the
// function's other writes), so a replay restores it. A full disk is an
// error wrapping [storage.ErrFull], and nothing is recorded.
func (s *Store) PutAsset(ctx context.Context, key storage.Key, hash string, data []byte) error {
	if err := checkKey(key); err != nil {
		return wrapErr("put asset", err)
	}
	if err := s.begin(ctx); err != nil {
		return wrapErr("put asset", err)
	}
	defer s.end()
	return s.runView(ctx, key, func(st storage.Store) error {
		return st.(*view).PutAsset(ctx, key, hash, data)
	})
}

// putAsset is PutAsset within view v.
func (s *Store) putAsset(ctx context.Context, v *view, key storage.Key, hash string, data []byte) error {
	if err := checkAssetKey(key.Site, hash); err != nil {
		return wrapErr("put asset", err)
	}
	if _, ok := v.assets[hash]; ok {
		return nil
	}
	if err := s.begin(ctx); err != nil {
		return wrapErr("put asset", err)
	}
	defer s.end()
	// A read first: the Recorder puts the assets that RefAssets found
	// missing, so the site mostly does not have it, and then there is
	// nothing to write until the group is applied.
	var one int
	err := s.queryRow(ctx, qAssetExists, key.Site, hash).Scan(&one)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return wrapErr("put asset", err)
	}
	stored, added := false, false
	if err == nil {
		if err := s.write(ctx, func(tx *txn) (err error) {
			stored, added, err = s.refIfStoredNew(ctx, tx, key, hash)
			return err
		}); err != nil {
			return wrapErr("put asset", err)
		}
	}
	if !stored {
		data = slices.Clone(data)
		if v.assets == nil {
			v.assets = map[string][]byte{}
		}
		v.assets[hash] = data
		v.ops = append(v.ops, &op{typ: recAsset, key: storage.Key{Site: key.Site, Session: key.Session}, hash: hash, chunk: storage.Chunk{Data: data}})
	}
	v.noteRef(hash, added)
	return nil
}

// noteRef records in v that its session references hash: the reference
// goes into v's group, and when added (new in the index), it is removed
// again if v's function fails.
func (v *view) noteRef(hash string, added bool) {
	if !slices.Contains(v.refs, hash) {
		v.refs = append(v.refs, hash)
	}
	if added && !slices.Contains(v.added, hash) {
		v.added = append(v.added, hash)
	}
}

// RefAssets implements [storage.AssetStore.RefAssets]: one read of the
// index for the references the session holds already, one write
// transaction for the others (none when it holds them all), and a record
// of the journal synced when it returns (under LockSession, with the
// function's other writes).
func (s *Store) RefAssets(ctx context.Context, key storage.Key, hashes []string) ([]string, error) {
	if err := checkKey(key); err != nil {
		return nil, wrapErr("ref assets", err)
	}
	if err := s.begin(ctx); err != nil {
		return nil, wrapErr("ref assets", err)
	}
	defer s.end()
	var missing []string
	err := s.runView(ctx, key, func(st storage.Store) (err error) {
		missing, err = st.(*view).RefAssets(ctx, key, hashes)
		return err
	})
	return missing, err
}

// refAssets is RefAssets within view v.
func (s *Store) refAssets(ctx context.Context, v *view, key storage.Key, hashes []string) ([]string, error) {
	for _, h := range hashes {
		if err := checkAssetKey(key.Site, h); err != nil {
			return nil, wrapErr("ref assets", err)
		}
	}
	if len(hashes) == 0 {
		return nil, nil
	}
	if err := s.begin(ctx); err != nil {
		return nil, wrapErr("ref assets", err)
	}
	defer s.end()
	// The hashes the session references already need no write: one read
	// finds them (a later batch of a session references mostly the
	// assets of its earlier ones).
	var ask []string
	for _, h := range hashes {
		if _, ok := v.assets[h]; !ok {
			ask = append(ask, h)
		}
	}
	heldSet := map[string]bool{}
	if len(ask) > 0 {
		held, err := s.queryStrings(ctx, nil, qHeldRefs, key.Site, key.Session, hashList(ask))
		if err != nil {
			return nil, wrapErr("ref assets", err)
		}
		for _, h := range held {
			heldSet[h] = true
		}
	}
	var todo []string
	for _, h := range ask {
		if !heldSet[h] {
			todo = append(todo, h)
		}
	}
	// The others: those the site does not have are missing; a reference
	// to each of the rest is added, in one write transaction. Each of
	// those is new in the index unless a call without the session's lock
	// added it since the read; then none is taken as new, so that undoing
	// this view's references never removes one that another call made
	// (a reference kept that way goes with the session).
	var (
		missing []string
		isNew   bool
	)
	if len(todo) > 0 {
		list := hashList(todo)
		err := s.write(ctx, func(tx *txn) (err error) {
			if missing, err = s.queryStrings(ctx, tx, qMissingAssets, key.Site, list); err != nil {
				return err
			}
			res, err := tx.ExecContext(ctx, qAddRefs, key.Site, key.Session, list)
			if err != nil {
				return err
			}
			n, _ := res.RowsAffected()
			isNew = n == int64(len(todo)-len(missing))
			if n > 0 {
				return s.addedRef(ctx, tx, key)
			}
			return nil
		})
		if err != nil {
			return nil, wrapErr("ref assets", err)
		}
	}
	for _, h := range hashes {
		if !slices.Contains(missing, h) {
			v.noteRef(h, isNew && slices.Contains(todo, h))
		}
	}
	return missing, nil
}

// hashList is hashes (valid asset hashes, hex digits) as a JSON array,
// for the statements that take a set of hashes (json_each).
func hashList(hashes []string) string {
	var b strings.Builder
	b.WriteByte('[')
	for i, h := range hashes {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('"')
		b.WriteString(h)
		b.WriteByte('"')
	}
	b.WriteByte(']')
	return b.String()
}

// Asset implements [storage.AssetStore.Asset]: it reads the asset's file
// and checks its checksum. An invalid site or hash is an error wrapping
// [storage.ErrInvalidKey].
func (s *Store) Asset(ctx context.Context, site, hash string) ([]byte, error) {
	if err := checkAssetKey(site, hash); err != nil {
		return nil, wrapErr("asset", err)
	}
	if err := s.begin(ctx); err != nil {
		return nil, wrapErr("asset", err)
	}
	defer s.end()
	for try := 0; ; try++ {
		var (
			file        string
			seg, off, n sql.NullInt64
		)
		err := s.db.QueryRowContext(ctx, `SELECT a.file, j.seg, j.off, j.len FROM assets a LEFT JOIN jassets j ON j.site = a.site AND j.hash = a.hash
			WHERE a.site = ? AND a.hash = ?`, site, hash).Scan(&file, &seg, &off, &n)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, wrapErr("asset", fmt.Errorf("%s/%s: %w", site, hash, storage.ErrNotFound))
		}
		if err != nil {
			return nil, wrapErr("asset", err)
		}
		if file == "" {
			if !seg.Valid {
				return nil, wrapErr("asset", fmt.Errorf("%s/%s: no record of it in the journal", site, hash))
			}
			data, err := s.readAsset(extent{seg: uint64(seg.Int64), off: off.Int64, n: n.Int64}, site, hash)
			if errors.Is(err, fs.ErrNotExist) && try < maxAssetTry {
				continue // freed since the query; look again
			}
			if err != nil {
				return nil, wrapErr("asset", err)
			}
			return data, nil
		}
		b, err := s.root.ReadFile(file)
		if errors.Is(err, fs.ErrNotExist) && try < maxAssetTry {
			// A Delete freed the asset since the query; look again, a
			// PutAsset may have stored it anew.
			continue
		}
		if err != nil {
			return nil, wrapErr("asset", err)
		}
		data, err := decodeAsset(b)
		if err != nil {
			return nil, wrapErr("asset", fmt.Errorf("%s: %w", file, err))
		}
		return data, nil
	}
}

// readAsset reads the record of asset hash of site at e.
func (s *Store) readAsset(e extent, site, hash string) ([]byte, error) {
	f, err := s.root.Open(segName(e.seg))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	o, err := readRecord(f, e)
	if err != nil {
		return nil, err
	}
	if o.typ != recAsset || o.key.Site != site || o.hash != hash {
		return nil, fmt.Errorf("%s at %d: not the record of asset %s/%s", segName(e.seg), e.off, site, hash)
	}
	return o.chunk.Data, nil
}

// dropRefs removes the asset references and views of key within tx, and
// the asset rows that no session references any more (see freeAsset).
// It returns the files of the freed assets kept as files; any reports
// whether there was a reference or a view.
func dropRefs(ctx context.Context, tx *txn, key storage.Key) (freed []string, any bool, err error) {
	rows, err := tx.QueryContext(ctx, `DELETE FROM asset_refs WHERE site = ? AND session = ? RETURNING hash`, key.Site, key.Session)
	if err != nil {
		return nil, false, err
	}
	var hashes []string
	for rows.Next() {
		var h string
		if err := rows.Scan(&h); err != nil {
			rows.Close()
			return nil, false, err
		}
		hashes = append(hashes, h)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, false, err
	}
	for _, h := range hashes {
		file, err := freeAsset(ctx, tx, key.Site, h)
		if err != nil {
			return nil, false, err
		}
		if file != "" {
			freed = append(freed, file)
		}
	}
	res, err := tx.ExecContext(ctx, `DELETE FROM views WHERE site = ? AND session = ?`, key.Site, key.Session)
	if err != nil {
		return nil, false, err
	}
	n, _ := res.RowsAffected()
	return freed, len(hashes) > 0 || n > 0, nil
}

// freeAsset removes asset hash of site within tx when no session
// references it: an asset file is noted in asset_trash and returned, to
// remove after the commit; the record of an asset of the journal is noted
// in erasing.
func freeAsset(ctx context.Context, tx *txn, site, hash string) (string, error) {
	var file string
	err := tx.QueryRowContext(ctx, `DELETE FROM assets WHERE site = ?1 AND hash = ?2
		AND NOT EXISTS (SELECT 1 FROM asset_refs WHERE site = ?1 AND hash = ?2) RETURNING file`, site, hash).Scan(&file)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil // another session references it
	}
	if err != nil {
		return "", err
	}
	if file != "" {
		_, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO asset_trash (file) VALUES (?)`, file)
		return file, err
	}
	var seg, off, n int64
	err = tx.QueryRowContext(ctx, `DELETE FROM jassets WHERE site = ? AND hash = ? RETURNING seg, off, len`, site, hash).Scan(&seg, &off, &n)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	_, err = tx.ExecContext(ctx, `INSERT OR IGNORE INTO erasing (seg, off, len) VALUES (?, ?, ?)`, seg, off, n)
	return "", err
}

// dropSomeRefs removes the references of key to hashes within tx, and the
// assets that no session references any more (see freeAsset), and returns
// the files of those kept as files.
func dropSomeRefs(ctx context.Context, tx *txn, key storage.Key, hashes []string) (freed []string, err error) {
	for _, h := range hashes {
		if _, err := tx.ExecContext(ctx, `DELETE FROM asset_refs WHERE site = ? AND session = ? AND hash = ?`, key.Site, key.Session, h); err != nil {
			return nil, err
		}
		file, err := freeAsset(ctx, tx, key.Site, h)
		if err != nil {
			return nil, err
		}
		if file != "" {
			freed = append(freed, file)
		}
	}
	return freed, nil
}

// dropFiles removes files noted in asset_trash, then their notes. A file
// that cannot be removed keeps its note, for the next Open.
func (s *Store) dropFiles(ctx context.Context, files []string) {
	done := files[:0:0]
	for _, f := range files {
		if !strings.HasPrefix(f, assetsDir+"/") {
			s.log.Warn("filestore: ignoring an asset file outside assets/", "path", f)
			done = append(done, f)
			continue
		}
		if err := s.root.Remove(f); err != nil && !errors.Is(err, fs.ErrNotExist) {
			s.log.Warn("filestore: removing an asset file", "path", f, "err", err)
			continue
		}
		done = append(done, f)
	}
	if len(done) == 0 {
		return
	}
	if err := s.write(ctx, func(tx *txn) error {
		for _, f := range done {
			if _, err := tx.ExecContext(ctx, `DELETE FROM asset_trash WHERE file = ?`, f); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		s.log.Warn("filestore: clearing removed asset files from the index", "err", err)
	}
}

// finishAssetTrash removes the asset files that a crash left noted in
// asset_trash.
func (s *Store) finishAssetTrash(ctx context.Context) error {
	rows, err := s.db.QueryContext(ctx, `SELECT file FROM asset_trash`)
	if err != nil {
		return err
	}
	var files []string
	for rows.Next() {
		var f string
		if err := rows.Scan(&f); err != nil {
			rows.Close()
			return err
		}
		files = append(files, f)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if len(files) > 0 {
		s.dropFiles(ctx, files)
	}
	return nil
}

// writeFile writes b to a new file name, syncs it and closes it. On error
// it leaves no file behind.
func (s *Store) writeFile(name string, b []byte) error {
	f, err := s.root.OpenFile(name, os.O_CREATE|os.O_EXCL|os.O_WRONLY, filePerm)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		s.root.Remove(name)
	}
	return err
}

var _ storage.AssetStore = (*Store)(nil)
