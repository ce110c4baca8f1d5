package filestore

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"slices"
)

// segments lists the journal's segment numbers in order.
func (s *Store) segments() ([]uint64, error) {
	entries, err := s.readDir(journalDir)
	if err != nil {
		return nil, err
	}
	var segs []uint64
	for _, e := range entries {
		if n, ok := parseSegName(e.Name()); ok && e.Type().IsRegular() {
			segs = append(segs, n)
		} else {
			s.log.Warn("filestore: ignoring stray file", "path", journalDir+"/"+e.Name())
		}
	}
	slices.Sort(segs)
	return segs, nil
}

// replayBatch is the number of groups Open applies per transaction.
const replayBatch = 2000

// openJournal replays the journal into the index from the position the
// index has applied (from the start for a new index), cuts a
// torn tail off the last segment, and opens the last segment for appends.
//
// A group with an unreadable record (erased or damaged) is applied
// without it when a later delete record of the journal lists the record:
// it was erased on purpose, and the delete that follows removes the rest.
// Otherwise the record is damaged: in the last segment, that is a write
// cut short by a crash (its sync never returned, so nothing after it was
// acknowledged), and the journal ends before its group; in an earlier
// segment, the group is skipped and the damage logged.
func (s *Store) openJournal(ctx context.Context) error {
	segs, err := s.segments()
	if err != nil {
		return err
	}
	startSeg, startOff := uint64(0), int64(0)
	if seg, off, ok, err := getApplied(ctx, s.db); err != nil {
		return err
	} else if ok {
		startSeg, startOff = seg, off
	}
	var todo []uint64
	for _, n := range segs {
		if n >= startSeg {
			todo = append(todo, n)
		}
	}
	from := func(n uint64) int64 {
		if n == startSeg {
			return startOff
		}
		return 0
	}
	read := func(n uint64) ([]byte, int64, error) {
		f, err := s.root.Open(segName(n))
		if err != nil {
			return nil, 0, err
		}
		defer f.Close()
		info, err := f.Stat()
		if err != nil {
			return nil, 0, err
		}
		off := from(n)
		if off > info.Size() {
			return nil, 0, fmt.Errorf("%s: the index has applied it up to %d, beyond its %d bytes", segName(n), off, info.Size())
		}
		b := make([]byte, info.Size()-off)
		if _, err := f.ReadAt(b, off); err != nil && !errors.Is(err, io.EOF) {
			return nil, 0, err
		}
		return b, off, nil
	}
	// Pass 1: the extents delete records list.
	erased := map[extent]bool{}
	for _, n := range todo {
		b, off, err := read(n)
		if err != nil {
			return err
		}
		scanJournal(b, n, off, func(g *jgroup) bool {
			for _, o := range g.ops {
				if o.typ == recDelete {
					for _, e := range o.extents {
						erased[e] = true
					}
				}
			}
			return true
		})
	}

	// Pass 2: apply.
	var (
		batch   []*jgroup
		lastSeg uint64
		lastEnd int64
		freed   []string
		applied int
	)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := s.write(ctx, func(tx *txn) error {
			for _, g := range batch {
				f, err := s.applyGroup(ctx, tx, g.ops, g.at)
				if err != nil {
					return err
				}
				freed = append(freed, f...)
			}
			return setApplied(ctx, tx, lastSeg, lastEnd)
		})
		applied += len(batch)
		batch = batch[:0]
		return err
	}
	for i, n := range todo {
		b, off, err := read(n)
		if err != nil {
			return err
		}
		last := i == len(todo)-1
		cut := int64(-1)
		end := scanJournal(b, n, off, func(g *jgroup) bool {
			for _, e := range g.bad {
				if erased[e] {
					continue
				}
				if last {
					cut = g.start
					return false
				}
				// Zeros are a record erased by a delete whose record went
				// with its segment: readable like any erased record. Anything
				// else is damage.
				if !zeros(b[e.off-off+recHeader : e.off-off+e.n]) {
					s.log.Error("filestore: skipping a damaged group of the journal", "segment", segName(n), "offset", g.start)
					return true
				}
			}
			batch = append(batch, g)
			lastSeg, lastEnd = n, g.end
			if len(batch) >= replayBatch {
				if err = flush(); err != nil {
					return false
				}
			}
			return true
		})
		if err != nil {
			return err
		}
		if cut >= 0 {
			end = cut
		}
		if err := flush(); err != nil {
			return err
		}
		size := off + int64(len(b))
		if end < size {
			if !last {
				s.log.Error("filestore: a segment of the journal ends in damage; skipping its end", "segment", segName(n), "offset", end, "size", size)
				continue
			}
			s.log.Warn("filestore: cutting a write that a crash interrupted off the journal", "segment", segName(n), "offset", end, "bytes", size-end)
			if err := s.truncate(n, end); err != nil {
				return err
			}
		}
		lastSeg, lastEnd = n, end
	}
	if applied > 0 {
		s.log.Info("filestore: applied the journal to the index", "groups", applied)
	}
	if len(freed) > 0 {
		s.dropFiles(ctx, freed)
	}

	// The segment to append to: the last, or a new first one.
	w := &jwriter{s: s}
	if len(segs) == 0 {
		if err := w.rotate(); err != nil {
			return err
		}
	} else {
		n := segs[len(segs)-1]
		f, err := s.root.OpenFile(segName(n), os.O_RDWR, filePerm)
		if err != nil {
			return err
		}
		size, err := f.Seek(0, io.SeekEnd)
		if err != nil {
			f.Close()
			return err
		}
		w.seg, w.f, w.size = n, f, size
	}
	s.jw = w
	if lastSeg != w.seg || lastEnd != w.size {
		// Record the end, so that the next Open starts there.
		return s.write(ctx, func(tx *txn) error { return setApplied(ctx, tx, w.seg, w.size) })
	}
	return nil
}

func (s *Store) truncate(seg uint64, size int64) error {
	f, err := s.root.OpenFile(segName(seg), os.O_RDWR, filePerm)
	if err != nil {
		return err
	}
	err = f.Truncate(size)
	if err == nil {
		err = f.Sync()
	}
	return errors.Join(err, f.Close())
}

// readRecord reads the record at e and returns its decoded op.
func readRecord(f *os.File, e extent) (*op, error) {
	if e.n < recHeader || e.n > maxRecBody+recHeader {
		return nil, fmt.Errorf("bad extent %d+%d", e.off, e.n)
	}
	b := make([]byte, e.n)
	if _, err := f.ReadAt(b, e.off); err != nil {
		return nil, fmt.Errorf("%s at %d: %w", segName(e.seg), e.off, err)
	}
	n := binary.BigEndian.Uint32(b)
	body := b[recHeader:]
	if int64(n) != e.n-recHeader || crc32.Checksum(body, castagnoli) != binary.BigEndian.Uint32(b[4:]) {
		return nil, fmt.Errorf("%s at %d: checksum mismatch", segName(e.seg), e.off)
	}
	o, err := decodeBody(body)
	if err != nil {
		return nil, fmt.Errorf("%s at %d: %w", segName(e.seg), e.off, err)
	}
	return o, nil
}

// finishErase overwrites the bodies of the records at exts with zeros,
// syncs them, clears their erasing rows and removes the segments that no
// longer hold a live record. Failures are logged: the rows stay, and the
// next Open erases again.
func (s *Store) finishErase(ctx context.Context, exts []extent) {
	if len(exts) == 0 {
		return
	}
	done, err := s.erase(exts)
	if err != nil {
		s.log.Warn("filestore: erasing the records of a deleted session", "err", err)
	}
	if err := s.write(ctx, func(tx *txn) error {
		for _, e := range done {
			if _, err := tx.ExecContext(ctx, `DELETE FROM erasing WHERE seg = ? AND off = ?`, int64(e.seg), e.off); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		s.log.Warn("filestore: clearing erased records", "err", err)
	}
	segs := map[uint64]bool{}
	for _, e := range exts {
		segs[e.seg] = true
	}
	s.dropDeadSegments(ctx, segs)
}

// erase zeroes the bodies of the records at exts (checking first that a
// record of that length starts there) and syncs each segment. It returns
// the extents done, including those whose segment is gone.
func (s *Store) erase(exts []extent) ([]extent, error) {
	bySeg := map[uint64][]extent{}
	for _, e := range exts {
		bySeg[e.seg] = append(bySeg[e.seg], e)
	}
	var (
		done []extent
		errs []error
	)
	zeros := make([]byte, 64<<10)
	for seg, es := range bySeg {
		f, err := s.root.OpenFile(segName(seg), os.O_RDWR, 0)
		if errors.Is(err, fs.ErrNotExist) {
			done = append(done, es...)
			continue
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		info, err := f.Stat()
		if err != nil {
			f.Close()
			errs = append(errs, err)
			continue
		}
		var mine []extent
		for _, e := range es {
			var h [4]byte
			if e.off+e.n > info.Size() || e.n < recHeader {
				mine = append(mine, e) // not a record of this segment
				continue
			}
			if _, err := f.ReadAt(h[:], e.off); err != nil || int64(binary.BigEndian.Uint32(h[:])) != e.n-recHeader {
				mine = append(mine, e)
				continue
			}
			ok := true
			for at := e.off + recHeader; at < e.off+e.n; {
				k := min(int64(len(zeros)), e.off+e.n-at)
				if _, err := f.WriteAt(zeros[:k], at); err != nil {
					errs = append(errs, err)
					ok = false
					break
				}
				at += k
			}
			if ok {
				mine = append(mine, e)
			}
		}
		if err := f.Sync(); err != nil {
			errs = append(errs, err)
			mine = nil
		}
		f.Close()
		done = append(done, mine...)
	}
	return done, errors.Join(errs...)
}

// finishErasing erases the records noted in the erasing table (by
// deletes, or what a crash left) and drops the segments left without a
// live record: those it erased in, or every segment when all is true.
func (s *Store) finishErasing(ctx context.Context, all bool) error {
	exts, err := s.queryExtents(ctx, `SELECT seg, off, len FROM erasing`)
	if err != nil {
		return err
	}
	s.finishErase(ctx, exts)
	if !all {
		return nil
	}
	segs, err := s.segments()
	if err != nil {
		return err
	}
	m := map[uint64]bool{}
	for _, n := range segs {
		m[n] = true
	}
	s.dropDeadSegments(ctx, m)
	return nil
}

// dropDeadSegments removes the segments of segs, but the one appended to,
// that hold no live record (a chunk, or the current metadata of a
// session). The index is synced first, so that the position it has
// applied never lies in a removed segment.
func (s *Store) dropDeadSegments(ctx context.Context, segs map[uint64]bool) {
	active := s.jw.active()
	var dead []uint64
	for seg := range segs {
		if seg >= active {
			continue
		}
		var live bool
		err := s.db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM chunks INDEXED BY c_seg WHERE seg = ?1)
			OR EXISTS (SELECT 1 FROM recs INDEXED BY r_seg WHERE seg = ?1 AND cur = 1)
			OR EXISTS (SELECT 1 FROM jassets INDEXED BY ja_seg WHERE seg = ?1)`, int64(seg)).Scan(&live)
		if err != nil {
			s.log.Warn("filestore: checking a journal segment", "segment", segName(seg), "err", err)
			continue
		}
		if !live {
			dead = append(dead, seg)
		}
	}
	if len(dead) == 0 {
		return
	}
	err := s.writeSynced(ctx, func(tx *txn) error {
		for _, seg := range dead {
			for _, q := range []string{`DELETE FROM recs WHERE seg = ?`, `DELETE FROM erasing WHERE seg = ?`} {
				if _, err := tx.ExecContext(ctx, q, int64(seg)); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		s.log.Warn("filestore: dropping empty journal segments", "err", err)
		return
	}
	for _, seg := range dead {
		if err := s.root.Remove(segName(seg)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			s.log.Warn("filestore: removing an empty journal segment", "segment", segName(seg), "err", err)
		}
	}
	if err := s.syncDir(journalDir); err != nil {
		s.log.Warn("filestore: removing empty journal segments", "err", err)
	}
}

func zeros(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
