package filestore

import (
	"context"
	"io/fs"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/sessionreplay/replay/storage"
)

// scanBatch is the number of sessions scan writes per transaction.
const scanBatch = 1000

// scan reads the files into a new index: the session.json of each session
// of the format before the index is imported (and removed once the index
// holds it), a session directory with chunks and no metadata becomes an
// orphan (since its newest chunk's modification time), temp files of
// that format are removed, and the asset files are recorded (see
// scanAssets). It runs when Open makes a new index, whether
// the directory is new, of the old format, or its index was lost or
// damaged; it is done again at the next Open if it does not finish.
func (s *Store) scan(ctx context.Context) error {
	var (
		sessions []storage.Session
		orphans  []orphan
		metas    []string // session.json files imported
		imported int
	)
	flush := func() error {
		if len(sessions) == 0 && len(orphans) == 0 {
			return nil
		}
		err := s.write(ctx, func(tx *txn) error {
			for _, sess := range sessions {
				if err := putRow(ctx, tx, sess, nil); err != nil {
					return err
				}
			}
			for _, o := range orphans {
				if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO orphans (site, id, since)
					SELECT ?1, ?2, ?3 WHERE NOT EXISTS (SELECT 1 FROM sessions WHERE site = ?1 AND id = ?2)`,
					o.key.Site, o.key.Session, o.since); err != nil {
					return err
				}
				if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO sites (site) VALUES (?)`, o.key.Site); err != nil {
					return err
				}
			}
			return nil
		})
		imported += len(sessions)
		sessions, orphans = sessions[:0], orphans[:0]
		return err
	}

	sites, err := s.readDir(sitesDir)
	if err != nil {
		return err
	}
	for _, site := range sites {
		siteID, ok := decodeName(site.Name())
		if !ok || !site.IsDir() {
			s.log.Warn("filestore: ignoring stray file", "path", path.Join(sitesDir, site.Name()))
			continue
		}
		entries, err := s.readDir(path.Join(sitesDir, site.Name()))
		if err != nil {
			return err
		}
		for _, e := range entries {
			id, ok := decodeName(e.Name())
			if !ok || !e.IsDir() {
				s.log.Warn("filestore: ignoring stray file", "path", path.Join(sitesDir, site.Name(), e.Name()))
				continue
			}
			key := storage.Key{Site: siteID, Session: id}
			sess, meta, o, err := s.scanSession(key)
			switch {
			case err != nil:
				return err
			case meta != "":
				sessions = append(sessions, sess)
				metas = append(metas, meta)
			case o != nil:
				orphans = append(orphans, *o)
			}
			if len(sessions)+len(orphans) >= scanBatch {
				if err := flush(); err != nil {
					return err
				}
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}
	if err := s.scanAssets(ctx); err != nil {
		return err
	}
	if err := s.holdJournalAssets(ctx); err != nil {
		return err
	}
	// The index holds them now; the old files go, then the scan is marked
	// done. A crash in between redoes the scan, which finds the sessions
	// whose file is gone in the index and leaves them alone.
	for _, m := range metas {
		if err := s.root.Remove(m); err != nil {
			return err
		}
	}
	if imported > 0 {
		s.log.Info("filestore: moved session metadata into the index", "sessions", imported)
	}
	return s.write(ctx, func(tx *txn) error {
		_, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO meta (k, v) VALUES (?, ?)`, metaScanned, time.Now().UTC().Format(time.RFC3339))
		return err
	})
}

type orphan struct {
	key   storage.Key
	since int64
}

// scanSession reads one session directory. It returns the session and
// the path of its session.json when it has a readable one, else an orphan
// when it has chunks.
func (s *Store) scanSession(key storage.Key) (storage.Session, string, *orphan, error) {
	dir := sessionDir(key)
	entries, err := s.readDir(dir)
	if err != nil {
		return storage.Session{}, "", nil, err
	}
	var (
		newest time.Time
		chunks bool
		sess   storage.Session
		meta   string
	)
	for _, e := range entries {
		name := e.Name()
		switch {
		case strings.HasPrefix(name, tempPrefix):
			if err := s.root.Remove(path.Join(dir, name)); err != nil {
				return storage.Session{}, "", nil, err
			}
		case name == metaFile:
			p := path.Join(dir, name)
			b, err := s.root.ReadFile(p)
			if err != nil {
				return storage.Session{}, "", nil, err
			}
			got, err := decodeSession(b)
			if err == nil && (got.Site != key.Site || got.ID != key.Session) {
				err = errFor(got)
			}
			if err != nil {
				s.log.Warn("filestore: skipping unreadable session metadata", "path", p, "err", err)
				continue
			}
			sess, meta = got, p
		default:
			if _, _, ok := parseChunkName(name); ok {
				chunks = true
				if info, err := e.Info(); err == nil && info.ModTime().After(newest) {
					newest = info.ModTime()
				}
			}
		}
	}
	if meta != "" {
		return sess, meta, nil, nil
	}
	if chunks {
		return storage.Session{}, "", &orphan{key: key, since: timeKey(newest)}, nil
	}
	return storage.Session{}, "", nil, nil
}

type wrongKeyError struct{ site, id string }

func (e wrongKeyError) Error() string { return "holds session " + e.site + "/" + e.id }

func errFor(s storage.Session) error { return wrongKeyError{s.Site, s.ID} }

// recoveredAssets is the session that holds, per site, the references to
// the assets a scan finds on disk. Its id is not one package replay
// makes for a session (those are random), and it is recorded as an
// orphan, so the Sweep deletes it once the site's retention has passed
// since the scan, which frees the assets no newer session references.
const recoveredAssets = "recovered-assets"

// scanAssets reads the asset files into the index: for each (site, hash)
// the first file by name becomes the asset, referenced by the site's
// recoveredAssets session; further files of the same asset are removed.
// The chunks that reference an asset cannot be read by the store (they
// are opaque), so every asset found is kept until that session expires,
// which is no earlier than the sessions the scan recovered as orphans.
func (s *Store) scanAssets(ctx context.Context) error {
	sites, err := s.readDir(assetsDir)
	if err != nil {
		return err
	}
	since := timeKey(s.now())
	for _, site := range sites {
		siteID, ok := decodeName(site.Name())
		if !ok || !site.IsDir() {
			s.log.Warn("filestore: ignoring stray file", "path", path.Join(assetsDir, site.Name()))
			continue
		}
		dir := path.Join(assetsDir, site.Name())
		entries, err := s.readDir(dir)
		if err != nil {
			return err
		}
		type found struct {
			file string
			size int64
		}
		var (
			assets = map[string]found{}
			others = map[string][]string{} // further files of each asset
			extra  []string
		)
		slices.SortFunc(entries, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
		for _, e := range entries {
			name := path.Join(dir, e.Name())
			hash, ok := parseAssetName(e.Name())
			if !ok || !e.Type().IsRegular() {
				s.log.Warn("filestore: ignoring stray file", "path", name)
				continue
			}
			if _, dup := assets[hash]; dup {
				others[hash] = append(others[hash], name)
				continue
			}
			var size int64
			if info, err := e.Info(); err == nil {
				size = max(info.Size()-int64(len(assetMagic)+4), 0)
			}
			assets[hash] = found{name, size}
		}
		if len(assets) == 0 {
			continue
		}
		key := storage.Key{Site: siteID, Session: recoveredAssets}
		err = s.write(ctx, func(tx *txn) error {
			for hash, a := range assets {
				if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO assets (site, hash, file, size) VALUES (?, ?, ?, ?)`, siteID, hash, a.file, a.size); err != nil {
					return err
				}
				var file string
				if err := tx.QueryRowContext(ctx, `SELECT file FROM assets WHERE site = ? AND hash = ?`, siteID, hash).Scan(&file); err != nil {
					return err
				}
				// The file the index holds (of the journal, or of an
				// earlier scan) stays; the others go.
				for _, f := range append([]string{a.file}, others[hash]...) {
					if f != file {
						extra = append(extra, f)
					}
				}
				if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO asset_refs (site, session, hash) VALUES (?, ?, ?)`, siteID, recoveredAssets, hash); err != nil {
					return err
				}
			}
			for _, f := range extra {
				if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO asset_trash (file) VALUES (?)`, f); err != nil {
					return err
				}
			}
			if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO orphans (site, id, since)
				SELECT ?1, ?2, ?3 WHERE NOT EXISTS (SELECT 1 FROM sessions WHERE site = ?1 AND id = ?2)`, key.Site, key.Session, since); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO sites (site) VALUES (?)`, key.Site)
			return err
		})
		if err != nil {
			return err
		}
		if len(extra) > 0 {
			s.dropFiles(ctx, extra)
		}
		if len(assets) > 0 {
			s.log.Info("filestore: recovered assets from their files", "site", siteID, "assets", len(assets), "heldBy", recoveredAssets)
		}
	}
	return nil
}

// holdJournalAssets makes the recoveredAssets session of each site
// reference every asset of the site that the journal held, as scanAssets
// does for asset files: the references of the sessions that use them may
// have been in segments since removed.
func (s *Store) holdJournalAssets(ctx context.Context) error {
	since := timeKey(s.now())
	return s.write(ctx, func(tx *txn) error {
		for _, q := range []string{
			`INSERT OR IGNORE INTO asset_refs (site, session, hash) SELECT site, ?1, hash FROM assets WHERE file = ''`,
			`INSERT OR IGNORE INTO orphans (site, id, since) SELECT DISTINCT a.site, ?1, ?2 FROM assets a WHERE a.file = ''
				AND NOT EXISTS (SELECT 1 FROM sessions s WHERE s.site = a.site AND s.id = ?1)`,
		} {
			if _, err := tx.ExecContext(ctx, q, recoveredAssets, since); err != nil {
				return err
			}
		}
		return nil
	})
}
