package replay

import (
	"container/list"
	"context"
	"fmt"
	"sync"

	"github.com/sessionreplay/replay/internal/privacy"
	"github.com/sessionreplay/replay/storage"
)

// The cache of mirrors between batches.

type mirrorKey struct{ site, session, window string }

// windowState is a mirror and the next batch it expects.
type windowState struct {
	key      mirrorKey
	mr       *privacy.Mirror
	next     int  // seq of the batch that may continue this mirror
	complete bool // built from every batch 0..next-1
	size     int  // the mirror's bytes when it was cached
}

// maxCacheBytes bounds the memory of the cached mirrors together, whatever
// their number.
const maxCacheBytes = 512 << 20

// mirrorCache keeps the mirrors of recently active windows, least recently
// used first out. It is safe for concurrent use.
type mirrorCache struct {
	mu    sync.Mutex
	max   int
	bytes int        // sum of the cached states' sizes
	ll    *list.List // of *windowState, most recent at the front
	m     map[mirrorKey]*list.Element
}

func newMirrorCache(max int) *mirrorCache {
	return &mirrorCache{max: max, ll: list.New(), m: map[mirrorKey]*list.Element{}}
}

// take removes and returns the state of a window, or nil.
func (c *mirrorCache) take(k mirrorKey) *windowState {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[k]
	if !ok {
		return nil
	}
	c.drop(e)
	return e.Value.(*windowState)
}

func (c *mirrorCache) drop(e *list.Element) {
	ws := e.Value.(*windowState)
	c.ll.Remove(e)
	delete(c.m, ws.key)
	c.bytes -= ws.size
}

// put stores the state of a window, evicting the least recently used.
func (c *mirrorCache) put(ws *windowState) {
	ws.size = ws.mr.Bytes()
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[ws.key]; ok {
		c.drop(e)
	}
	c.m[ws.key] = c.ll.PushFront(ws)
	c.bytes += ws.size
	for c.ll.Len() > c.max || c.bytes > maxCacheBytes && c.ll.Len() > 1 {
		c.drop(c.ll.Back())
	}
}

// forget drops every mirror of a session.
func (c *mirrorCache) forget(key storage.Key) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, e := range c.m {
		if k.site == key.Site && k.session == key.Session {
			c.drop(e)
		}
	}
}

// windowMirror returns the mirror that batch seq of a window continues:
// the cached one when the batch it masked last was seq-1, else one rebuilt
// from the stored (masked) chunks of the window before seq. A late batch
// (seq below what the cached mirror has seen) thus gets a mirror of the
// chunks below it only. The state is incomplete when a chunk below seq is
// missing or unreadable after the last FullSnapshot stored below seq, or
// when the cached mirror was: the batch is then masked failing closed
// until its own first FullSnapshot (see privacy.Mirror.MaskBatch). An incomplete cached
// mirror is reused as it is, so a gap costs no rebuild per batch: a
// missing batch that arrives here replaces the cached state (the next
// batch then rebuilds, complete); one that another process takes leaves
// this one failing closed, which over-masks but never leaks, until the
// window's next FullSnapshot or until the state leaves the cache.
func (r *Recorder) windowMirror(ctx context.Context, m *privacy.Masker, key storage.Key, window string, seq int) (*windowState, error) {
	k := mirrorKey{key.Site, key.Session, window}
	if ws := r.mirrors.take(k); ws != nil && ws.next == seq {
		return ws, nil
	}
	ws := &windowState{key: k, mr: privacy.NewMirror(), complete: true}
	if seq == 0 {
		return ws, nil
	}
	want := 0
	for c, err := range r.storeOf(ctx).Chunks(ctx, key, window) {
		if err != nil {
			return nil, fmt.Errorf("rebuild privacy mirror of %s/%s/%s: %w", key.Site, key.Session, window, err)
		}
		if c.Seq >= seq {
			break
		}
		if c.Seq != want {
			ws.complete = false
		}
		want = c.Seq + 1
		events, err := decodeChunkEvents(c.Data, r.assetReader(ctx, key.Site))
		if err != nil {
			r.log.Warn("replay: stored chunk unreadable; masking without it",
				"site", key.Site, "session", key.Session, "window", window, "seq", c.Seq, "err", err)
			ws.complete = false
			continue
		}
		for i := range events {
			err := ws.mr.ApplyStored(m, &privacy.Event{Type: int(events[i].Type), Data: events[i].Data})
			switch {
			case err != nil:
				ws.complete = false
			case events[i].Type == FullSnapshot:
				ws.complete = true // rebuilt from the whole page: what came before no longer matters
			}
		}
	}
	if want != seq {
		ws.complete = false
	}
	return ws, nil
}
