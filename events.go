package replay

import (
	"cmp"
	"container/heap"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"iter"
	"slices"

	"github.com/sessionreplay/replay/storage"
)

// flushBytes is how much of the answer Events buffers before it writes.
const flushBytes = 64 << 10

// Events writes a session's stored (masked) events to w as one JSON array,
// in timestamp order; events with equal timestamps keep the order they arrived
// in (window by window in order of arrival, then by seq, then within the
// batch). With window != "" only that window's events are written. An
// unknown session is an error wrapping [storage.ErrNotFound], reported before
// anything is written.
//
// The events are streamed: a first pass reads the chunks one at a time to
// find the session's windows and check that each window's events are stored
// in timestamp order (rrweb emits them so, but a clock jump or batches stored
// out of order break it); errors of that pass, such as a chunk that does not
// decode, are reported before anything is written. A second pass merges the
// windows, holding one decoded chunk per window, and writes to w every 64 KiB.
// A window whose events are out of order is read into memory and sorted (its
// decoded events, about the size of its event JSON); the others still stream.
//
// An error after the first write leaves w with an unfinished array: callers
// that have already sent part of it must cut the answer short rather than
// end it, so that the reader sees the failure.
func (r *Recorder) Events(ctx context.Context, site, id, window string, w io.Writer) error {
	sess, err := r.Session(ctx, site, id)
	if err != nil {
		return err
	}
	key := storage.Key{Site: site, Session: id}
	assets := r.assetReader(ctx, site)
	windows, err := r.scanWindows(ctx, key, window, sess.WindowIDs, assets)
	if err != nil {
		return err
	}
	sources := make([]iter.Seq2[stamped, error], len(windows))
	for i, win := range windows {
		sources[i] = r.chunkEvents(ctx, key, win.id, win.seqs, assets)
		if win.unordered {
			events, err := sortedEvents(sources[i])
			if err != nil {
				return err
			}
			sources[i] = slicesSeq2(events)
		}
	}
	return writeMerged(w, sources)
}

// stamped is a stored event with its chunk and timestamp.
type stamped struct {
	window string
	seq    int
	ts     float64
	raw    json.RawMessage
}

// chunkEvents yields the events of a session's chunks (of one window when
// window != "") in stored order, reading and decoding one chunk at a time.
// With seqs != nil (ascending) only the chunks of those seqs are read, so
// that a chunk appended since seqs were listed is left out. assets reads
// the assets the chunks reference. An error is yielded once and ends the
// sequence.
func (r *Recorder) chunkEvents(ctx context.Context, key storage.Key, window string, seqs []int, assets func([sha256.Size]byte) ([]byte, error)) iter.Seq2[stamped, error] {
	return func(yield func(stamped, error) bool) {
		todo := seqs
		for c, err := range r.store.Chunks(ctx, key, window) {
			if err != nil {
				yield(stamped{}, fmt.Errorf("read %s/%s: %w", key.Site, key.Session, err))
				return
			}
			if seqs != nil {
				for len(todo) > 0 && todo[0] < c.Seq {
					todo = todo[1:] // gone since the scan: the session was deleted
				}
				if len(todo) == 0 {
					return
				}
				if todo[0] != c.Seq {
					continue // appended since the scan
				}
				todo = todo[1:]
			}
			raws, err := decodeChunkWith(c.Data, assets)
			if err != nil {
				yield(stamped{}, fmt.Errorf("read %s/%s/%s/%d: %w", key.Site, key.Session, c.Window, c.Seq, err))
				return
			}
			for _, raw := range raws {
				ts, err := eventTimestamp(raw)
				if err != nil {
					yield(stamped{}, fmt.Errorf("read %s/%s/%s/%d: %w", key.Site, key.Session, c.Window, c.Seq, err))
					return
				}
				if !yield(stamped{c.Window, c.Seq, ts, raw}, nil) {
					return
				}
			}
		}
	}
}

// scannedWindow is what scanWindows found of one window.
type scannedWindow struct {
	id        string
	seqs      []int // the seqs of its chunks that hold events, ascending
	unordered bool  // its events are not stored in timestamp order
}

// scanWindows reads a session's chunks once (one window's when window != "")
// and returns the windows that hold events, in replay order: those listed in
// the session's metadata in order of arrival, then any others (stored but not
// listed, as past the cap on listed windows) in stored order. It keeps the
// seqs of the chunks it read (8 bytes a chunk), so that the merge reads the
// same chunks even while batches are being appended.
func (r *Recorder) scanWindows(ctx context.Context, key storage.Key, window string, listed []string, assets func([sha256.Size]byte) ([]byte, error)) ([]scannedWindow, error) {
	var windows []scannedWindow
	var last float64 // timestamp of the last event of windows[len-1]
	for e, err := range r.chunkEvents(ctx, key, window, nil, assets) {
		if err != nil {
			return nil, err
		}
		n := len(windows)
		if n == 0 || windows[n-1].id != e.window { // the store yields window by window
			windows = append(windows, scannedWindow{id: e.window, seqs: []int{e.seq}})
			last = e.ts
			continue
		}
		win := &windows[n-1]
		if s := win.seqs; s[len(s)-1] != e.seq {
			win.seqs = append(win.seqs, e.seq)
		}
		if e.ts < last {
			win.unordered = true
		} else {
			last = e.ts
		}
	}
	rank := make(map[string]int, len(listed))
	for i, w := range listed {
		if _, dup := rank[w]; !dup {
			rank[w] = i
		}
	}
	order := func(w scannedWindow) int {
		if i, ok := rank[w.id]; ok {
			return i
		}
		return len(listed)
	}
	slices.SortStableFunc(windows, func(a, b scannedWindow) int { return cmp.Compare(order(a), order(b)) })
	return windows, nil
}

// sortedEvents reads all the events of src into memory and stable-sorts them
// by timestamp.
func sortedEvents(src iter.Seq2[stamped, error]) ([]stamped, error) {
	var all []stamped
	for e, err := range src {
		if err != nil {
			return nil, err
		}
		all = append(all, e)
	}
	slices.SortStableFunc(all, func(a, b stamped) int { return cmp.Compare(a.ts, b.ts) })
	return all, nil
}

// slicesSeq2 yields the events of s with no error.
func slicesSeq2(s []stamped) iter.Seq2[stamped, error] {
	return func(yield func(stamped, error) bool) {
		for _, e := range s {
			if !yield(e, nil) {
				return
			}
		}
	}
}

// writeMerged writes the events of sources to w as one JSON array, merged by
// timestamp: each source must yield its events in timestamp order, and equal
// timestamps are written in the order of their sources, then of each
// source. Only the next event of each source is held.
func writeMerged(w io.Writer, sources []iter.Seq2[stamped, error]) error {
	h := make(mergeHeap, 0, len(sources))
	for rank, src := range sources {
		next, stop := iter.Pull2(src)
		defer stop()
		e, err, ok := next()
		if err != nil {
			return err
		}
		if ok {
			h = append(h, mergeHead{e: e, rank: rank, next: next})
		}
	}
	heap.Init(&h)
	out := eventWriter{w: w, buf: make([]byte, 0, flushBytes+4<<10)}
	out.buf = append(out.buf, '[')
	for len(h) > 0 {
		top := &h[0]
		if err := out.event(top.e.raw); err != nil {
			return err
		}
		e, err, ok := top.next()
		switch {
		case err != nil:
			return err
		case ok:
			top.e = e
			heap.Fix(&h, 0)
		default:
			heap.Pop(&h)
		}
	}
	out.buf = append(out.buf, ']')
	return out.flush()
}

// mergeHead is the next event of one source of writeMerged.
type mergeHead struct {
	e    stamped
	rank int // the source's place: ties go to the lower rank
	next func() (stamped, error, bool)
}

// mergeHeap is a min-heap of sources by (next timestamp, rank).
type mergeHeap []mergeHead

func (h mergeHeap) Len() int { return len(h) }
func (h mergeHeap) Less(i, j int) bool {
	return cmp.Or(cmp.Compare(h[i].e.ts, h[j].e.ts), cmp.Compare(h[i].rank, h[j].rank)) < 0
}
func (h mergeHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *mergeHeap) Push(x any)   { *h = append(*h, x.(mergeHead)) }
func (h *mergeHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// eventWriter writes the elements of a JSON array, buffering up to
// flushBytes; an event that is larger on its own is written unbuffered.
type eventWriter struct {
	w   io.Writer
	buf []byte
	n   int // events written
}

func (o *eventWriter) event(raw []byte) error {
	if o.n > 0 {
		o.buf = append(o.buf, ',')
	}
	o.n++
	if len(raw) >= flushBytes {
		if err := o.flush(); err != nil {
			return err
		}
		_, err := o.w.Write(raw)
		return err
	}
	o.buf = append(o.buf, raw...)
	if len(o.buf) >= flushBytes {
		return o.flush()
	}
	return nil
}

func (o *eventWriter) flush() error {
	if len(o.buf) == 0 {
		return nil
	}
	_, err := o.w.Write(o.buf)
	o.buf = o.buf[:0]
	return err
}
