package filestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// jwriter appends groups to the journal with group commit: a caller that
// finds no commit under way becomes the leader, writes every group queued
// meanwhile in one write, syncs the segment once, applies the groups to
// the index in one transaction (in journal order, with the position they
// end at) and wakes their callers; callers that arrive meanwhile queue for
// the next round. So concurrent sessions share one fsync.
type jwriter struct {
	s *Store

	mu      sync.Mutex
	queue   []*commitReq
	leading bool
	err     error // sticky: after a failed sync or index update, every commit fails

	// Owned by the leader (or by Open and Close, when no call is in flight).
	seg  uint64
	f    *os.File
	size int64
	buf  []byte // the bytes of a round, kept for the next unless large
}

// maxKeptBuf is the largest round buffer a jwriter keeps for the next
// round; a larger one (a round of large chunks) goes to the collector.
const maxKeptBuf = 4 << 20

type commitReq struct {
	ops   []*op
	at    time.Time
	done  chan struct{}
	err   error
	freed []string // asset files freed by the group, to remove after
}

// commit appends ops as one group and applies them to the index; it
// returns once both are done (the group is synced).
func (w *jwriter) commit(ops []*op) (*commitReq, error) {
	req := &commitReq{ops: ops, at: w.s.now(), done: make(chan struct{})}
	w.mu.Lock()
	if w.err != nil {
		err := w.err
		w.mu.Unlock()
		return nil, err
	}
	w.queue = append(w.queue, req)
	if w.leading {
		w.mu.Unlock()
		<-req.done
		return req, req.err
	}
	w.leading = true
	for len(w.queue) > 0 {
		batch := w.queue
		w.queue = nil
		w.mu.Unlock()
		err := w.round(batch)
		w.mu.Lock()
		if err != nil && w.err == nil {
			w.err = err
		}
		for _, r := range batch {
			close(r.done)
		}
		if w.err != nil {
			for _, r := range w.queue {
				r.err = w.err
				close(r.done)
			}
			w.queue = nil
		}
	}
	w.leading = false
	w.mu.Unlock()
	<-req.done
	return req, req.err
}

// round writes, syncs and applies one batch of groups. An error it returns
// is sticky (the journal or the index can no longer be trusted to follow
// each other until the store is opened again); a group that cannot be
// encoded fails alone.
func (w *jwriter) round(batch []*commitReq) error {
	if roundHook != nil {
		roundHook(len(batch))
	}
	encode := func() ([]byte, []*commitReq) {
		buf := w.buf[:0]
		var ok []*commitReq
		for _, r := range batch {
			if r.err != nil {
				continue
			}
			var err error
			n := len(buf)
			if buf, err = encodeGroup(buf, w.seg, w.size+int64(len(buf)), r.ops, r.at); err != nil {
				r.err = fmt.Errorf("journal: %w", err)
				buf = buf[:n]
				continue
			}
			ok = append(ok, r)
		}
		return buf, ok
	}
	buf, ok := encode()
	defer func() {
		if cap(buf) <= maxKeptBuf {
			w.buf = buf[:0]
		} else {
			w.buf = nil
		}
	}()
	if len(ok) == 0 {
		return nil
	}
	if w.size > 0 && w.size+int64(len(buf)) > maxSegBytes {
		if err := w.rotate(); err != nil {
			for _, r := range ok {
				r.err = err
			}
			return nil // nothing written; the next round tries again
		}
		buf, ok = encode()
	}
	fail := func(err error) {
		for _, r := range ok {
			r.err = err
		}
	}
	if _, err := w.f.WriteAt(buf, w.size); err != nil {
		fail(err)
		if terr := w.f.Truncate(w.size); terr != nil {
			return fmt.Errorf("journal: undo a failed write: %w", errors.Join(err, terr))
		}
		return nil
	}
	if err := w.f.Sync(); err != nil {
		err = fmt.Errorf("journal: sync: %w", err)
		fail(err)
		return err
	}
	if err := w.s.applyRound(ok, w.seg, w.size+int64(len(buf))); err != nil {
		// The index refused the groups (a full disk, most likely): take
		// them out of the journal again, so that nothing of them stays.
		fail(fmt.Errorf("journal: update the index: %w", err))
		terr := w.f.Truncate(w.size)
		if terr == nil {
			terr = w.f.Sync()
		}
		if terr != nil {
			return fmt.Errorf("journal: undo writes the index refused (reopen the store to apply them): %w", errors.Join(err, terr))
		}
		return nil
	}
	w.size += int64(len(buf))
	return nil
}

// roundHook, when set (by tests), is called at the start of each round
// with its number of groups.
var roundHook func(groups int)

// rotate starts the next segment. The current one is synced already.
func (w *jwriter) rotate() error {
	f, err := w.s.root.OpenFile(segName(w.seg+1), os.O_CREATE|os.O_EXCL|os.O_RDWR, filePerm)
	if err != nil {
		return fmt.Errorf("journal: new segment: %w", err)
	}
	if err := w.s.syncDir(journalDir); err != nil {
		f.Close()
		return fmt.Errorf("journal: new segment: %w", err)
	}
	if w.f != nil {
		w.f.Close()
	}
	w.mu.Lock() // active reads seg
	w.f, w.seg, w.size = f, w.seg+1, 0
	w.mu.Unlock()
	return nil
}

// active returns the segment being appended to.
func (w *jwriter) active() uint64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.seg
}

func (w *jwriter) close() error {
	if w.f == nil {
		return nil
	}
	err := w.f.Close()
	w.f = nil
	return err
}

// applyRound applies the groups of one round to the index in one
// transaction, which also records the journal position they end at.
func (s *Store) applyRound(reqs []*commitReq, seg uint64, end int64) error {
	ctx := context.Background()
	return s.write(ctx, func(tx *txn) error {
		for _, r := range reqs {
			var err error
			r.freed, err = s.applyGroup(ctx, tx, r.ops, r.at)
			if err != nil {
				return err
			}
		}
		return setApplied(ctx, tx, seg, end)
	})
}

const metaApplied = "applied" // "<segment>:<offset>": the journal is applied up to there

func setApplied(ctx context.Context, tx *txn, seg uint64, end int64) error {
	_, err := tx.ExecContext(ctx, qSetMeta, metaApplied, strconv.FormatUint(seg, 10)+":"+strconv.FormatInt(end, 10))
	return err
}

func getApplied(ctx context.Context, db *sql.DB) (seg uint64, off int64, ok bool, err error) {
	var v string
	err = db.QueryRowContext(ctx, `SELECT v FROM meta WHERE k = ?`, metaApplied).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, 0, false, nil
	}
	if err != nil {
		return 0, 0, false, err
	}
	a, b, found := strings.Cut(v, ":")
	seg, err1 := strconv.ParseUint(a, 10, 64)
	off, err2 := strconv.ParseInt(b, 10, 64)
	if !found || err1 != nil || err2 != nil || off < 0 {
		return 0, 0, false, fmt.Errorf("index: bad journal position %q", v)
	}
	return seg, off, true, nil
}

// applyGroup applies the records of one group within tx. It returns the
// asset files that a delete freed (to remove once tx committed); the
// records of freed assets of the journal are noted in erasing.
func (s *Store) applyGroup(ctx context.Context, tx *txn, ops []*op, at time.Time) (freed []string, err error) {
	since := timeKey(at)
	for _, o := range ops {
		k := o.key
		switch o.typ {
		case recDelete:
			if _, err := deleteRow(ctx, tx, k); err != nil {
				return nil, err
			}
			f, _, err := dropRefs(ctx, tx, k)
			// Freed assets of the journal are erased too: their extents
			// are in erasing, which the caller erases.
			if err != nil {
				return nil, err
			}
			freed = append(freed, f...)
			for _, q := range []string{`DELETE FROM chunks WHERE site = ? AND id = ?`, `DELETE FROM recs WHERE site = ? AND id = ?`} {
				if _, err := tx.ExecContext(ctx, q, k.Site, k.Session); err != nil {
					return nil, err
				}
			}
			for _, e := range o.extents {
				if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO erasing (seg, off, len) VALUES (?, ?, ?)`, int64(e.seg), e.off, e.n); err != nil {
					return nil, err
				}
			}
		case recChunk:
			c := o.chunk
			if _, err := tx.ExecContext(ctx, qAddChunk,
				k.Site, k.Session, c.Window, c.Seq, c.Events, int64(o.at.seg), o.at.off, o.at.n); err != nil {
				return nil, err
			}
			if _, err := tx.ExecContext(ctx, qAddOrphan, k.Site, k.Session, since); err != nil {
				return nil, err
			}
			if _, err := tx.ExecContext(ctx, qAddSite, k.Site); err != nil {
				return nil, err
			}
		case recSession:
			if err := putRow(ctx, tx, o.sess, o.data); err != nil {
				return nil, err
			}
			if _, err := tx.ExecContext(ctx, qUncurRecs, k.Site, k.Session); err != nil {
				return nil, err
			}
			if err := addRec(ctx, tx, o, 1); err != nil {
				return nil, err
			}
		case recRefs:
			if err := s.refIfStored(ctx, tx, k, o.hashes); err != nil {
				return nil, err
			}
			if err := addRec(ctx, tx, o, 0); err != nil {
				return nil, err
			}
		case recAsset:
			res, err := tx.ExecContext(ctx, qAddAsset, k.Site, o.hash, len(o.chunk.Data))
			if err != nil {
				return nil, err
			}
			if n, _ := res.RowsAffected(); n == 1 {
				if _, err := tx.ExecContext(ctx, qAddJAsset,
					k.Site, o.hash, int64(o.at.seg), o.at.off, o.at.n); err != nil {
					return nil, err
				}
			} // else stored by another group first: this record is dead
		}
	}
	return freed, nil
}

// addRec records where a record of a session is, so that Delete can
// erase it; cur marks the session's current metadata, which keeps its
// segment.
func addRec(ctx context.Context, tx *txn, o *op, cur int) error {
	_, err := tx.ExecContext(ctx, qAddRec,
		o.key.Site, o.key.Session, int64(o.at.seg), o.at.off, o.at.n, cur)
	return err
}
