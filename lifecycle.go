package replay

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/sessionreplay/replay/storage"
)

// A session's lifecycle: it is pending from its first batch until a rule
// holds (kept) or every rule fails (dropped: chunks deleted, a tombstone
// left so later batches are refused). It ends when no batch arrived for the
// site's idle timeout or it outlived its maximum duration; Sweep then
// decides what was not yet decided, with the session closed.

// SweepStats counts what a Sweep did. It is a plain value.
type SweepStats struct {
	Ended   int // sessions that ended (idle or too long)
	Kept    int // pending sessions kept when they ended
	Dropped int // pending sessions deleted when they ended
	Expired int // sessions deleted because their retention passed
	Failed  int // sessions (or sites) that could not be swept; each is logged
}

// SiteStats counts the targeting decisions of one site made by one Recorder
// since it started, and the work its style sheets and assets took. It is a
// plain value: [Recorder.Stats] returns copies.
type SiteStats struct {
	Kept    int64 // sessions that became kept (a rule held, or no rules)
	Dropped int64 // sessions dropped because every rule failed
	Evicted int64 // pending sessions dropped, oldest first, to respect maxPendingBytes

	StyleHits    int64 // style sheets found processed in the cache
	StyleMisses  int64 // style sheets processed (minified) and cached
	AssetsStored int64 // assets stored for the first time
	AssetsInline int64 // new assets left inline because the site's AssetBudget was spent
}

// Stats returns the counts of [SiteStats] per site id. It is safe to call at any
// time; the counts cover this Recorder only, not others sharing its Store.
func (r *Recorder) Stats() map[string]SiteStats {
	t := &r.tstate
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make(map[string]SiteStats, len(t.stats))
	for site, s := range t.stats {
		out[site] = *s
	}
	return out
}

// targetState is the Recorder's in-memory help for targeting: counts, a
// cache of tombstones, and the pending bytes per site. Everything in it can
// be rebuilt from the Store; it is an accelerator, never the truth. The zero
// value is ready to use.
type targetState struct {
	mu      sync.Mutex
	stats   map[string]*SiteStats
	tombs   map[storage.Key]struct{}
	pending map[string]*pendingSite
}

// maxTombCache bounds the tombstone cache; when full it is emptied.
const maxTombCache = 1 << 16

// pendingSite tracks the stored bytes of one site's pending sessions.
type pendingSite struct {
	load     sync.Mutex // held while the index is read from the store
	loaded   bool
	total    int64
	sessions map[string]pendingEntry // by session id
}

type pendingEntry struct {
	bytes     int64
	firstSeen time.Time
}

func (t *targetState) count(site string, f func(*SiteStats)) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stats == nil {
		t.stats = make(map[string]*SiteStats)
	}
	s := t.stats[site]
	if s == nil {
		s = &SiteStats{}
		t.stats[site] = s
	}
	f(s)
}

func (t *targetState) noteDropped(k storage.Key) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.tombs == nil || len(t.tombs) >= maxTombCache {
		t.tombs = make(map[storage.Key]struct{})
	}
	t.tombs[k] = struct{}{}
}

func (t *targetState) isDropped(k storage.Key) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	_, ok := t.tombs[k]
	return ok
}

func (t *targetState) site(id string) *pendingSite {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.pending == nil {
		t.pending = make(map[string]*pendingSite)
	}
	p := t.pending[id]
	if p == nil {
		p = &pendingSite{sessions: make(map[string]pendingEntry)}
		t.pending[id] = p
	}
	return p
}

// setPending records a pending session's stored bytes; forgetPending
// removes a session that is no longer pending.
func (t *targetState) setPending(k storage.Key, e pendingEntry) (total int64) {
	p := t.site(k.Site)
	t.mu.Lock()
	defer t.mu.Unlock()
	p.total += e.bytes - p.sessions[k.Session].bytes
	p.sessions[k.Session] = e
	return p.total
}

func (t *targetState) forgetPending(k storage.Key) {
	t.mu.Lock()
	defer t.mu.Unlock()
	p := t.pending[k.Site]
	if p == nil {
		return
	}
	if e, ok := p.sessions[k.Session]; ok {
		p.total -= e.bytes
		delete(p.sessions, k.Session)
	}
}

// oldestPending returns the pending sessions of a site, oldest first by
// first batch, leaving out skip; at most n of them.
func (t *targetState) oldestPending(site, skip string, n int) []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	p := t.pending[site]
	if p == nil {
		return nil
	}
	type cand struct {
		id string
		at time.Time
	}
	var best []cand
	for id, e := range p.sessions {
		if id == skip {
			continue
		}
		c := cand{id, e.firstSeen}
		i := len(best)
		for i > 0 && (c.at.Before(best[i-1].at) || c.at.Equal(best[i-1].at) && c.id < best[i-1].id) {
			i--
		}
		if i < n {
			best = append(best, cand{})
			copy(best[i+1:], best[i:])
			best[i] = c
			if len(best) > n {
				best = best[:n]
			}
		}
	}
	ids := make([]string, len(best))
	for i, c := range best {
		ids[i] = c.id
	}
	return ids
}

// loadPending reads the site's pending sessions from the store once, so
// that the bound counts what earlier runs (or other processes) left.
func (r *Recorder) loadPending(ctx context.Context, site string) error {
	p := r.tstate.site(site)
	p.load.Lock()
	defer p.load.Unlock()
	if p.loaded {
		return nil
	}
	q := storage.Query{Site: site, State: storage.FilterPending, Limit: 500}
	found := make(map[string]pendingEntry)
	for {
		page, err := r.store.List(ctx, q)
		if err != nil {
			return fmt.Errorf("list pending sessions of %s: %w", site, err)
		}
		for _, s := range page.Sessions {
			found[s.ID] = pendingEntry{bytes: s.StoredBytes, firstSeen: s.FirstSeen}
		}
		if page.Next == "" {
			break
		}
		q.Cursor = page.Next
	}
	r.tstate.mu.Lock()
	for id, e := range found {
		if _, known := p.sessions[id]; !known {
			p.sessions[id] = e
			p.total += e.bytes
		}
	}
	p.loaded = true
	r.tstate.mu.Unlock()
	return nil
}

// afterStore runs once a batch's session metadata is stored: it accounts a
// pending session's bytes and, when the site's pending data passed its
// bound, drops the oldest pending sessions (never s itself, whose lock the
// caller holds) until it fits again. Errors are logged: the batch itself
// was stored.
func (r *Recorder) afterStore(ctx context.Context, rs *ruleSet, s *storage.Session) {
	key := storage.Key{Site: s.Site, Session: s.ID}
	if s.State != storage.StatePending {
		r.tstate.forgetPending(key)
		return
	}
	ctx = context.WithoutCancel(ctx)
	if pc, ok := r.store.(storage.PendingCounter); ok {
		r.boundSharedPending(ctx, pc, rs, s)
		return
	}
	if err := r.loadPending(ctx, s.Site); err != nil {
		r.log.Warn("replay: pending bound not enforced", "site", s.Site, "err", err)
		return
	}
	total := r.tstate.setPending(key, pendingEntry{bytes: s.StoredBytes, firstSeen: s.FirstSeen})
	limit := rs.maxPendingBytes()
	for total > limit {
		victims := r.tstate.oldestPending(s.Site, s.ID, 8)
		if len(victims) == 0 {
			return
		}
		progress := false
		for _, id := range victims {
			if total <= limit {
				return
			}
			freed, ok := r.evict(ctx, storage.Key{Site: s.Site, Session: id})
			if ok {
				progress = true
				total -= freed
			}
		}
		if !progress {
			return // every candidate is busy; the next batch tries again
		}
		total = r.tstate.setPending(key, pendingEntry{bytes: s.StoredBytes, firstSeen: s.FirstSeen})
	}
}

// boundSharedPending is afterStore's bound for a store that counts the
// pending bytes itself ([storage.PendingCounter]): the total is the
// store's, written by every Recorder sharing it, and so are the oldest
// pending sessions it drops (never s itself), until the total fits or a
// round frees nothing.
func (r *Recorder) boundSharedPending(ctx context.Context, pc storage.PendingCounter, rs *ruleSet, s *storage.Session) {
	limit := rs.maxPendingBytes()
	total, err := pc.PendingBytes(ctx, s.Site)
	for err == nil && total > limit {
		var victims []storage.Key
		victims, err = pc.OldestPending(ctx, s.Site, 9) // 8 besides s
		if err != nil {
			break
		}
		freed := int64(0)
		for _, k := range victims {
			if k.Session == s.ID || total-freed <= limit {
				continue
			}
			if n, ok := r.evict(ctx, k); ok {
				freed += n
			}
		}
		before := total
		if total, err = pc.PendingBytes(ctx, s.Site); err == nil && freed == 0 && total >= before {
			return // every candidate is busy or s alone is over; the next batch tries again
		}
	}
	if err != nil {
		r.log.Warn("replay: pending bound not enforced", "site", s.Site, "err", err)
	}
}

// evict drops one pending session to make room. It reports the bytes freed
// and false when the session's lock is busy (another batch of it is being
// ingested) so that the caller tries the next one.
func (r *Recorder) evict(ctx context.Context, key storage.Key) (int64, bool) {
	unlock, ok := r.locks.tryLock(key)
	if !ok {
		return 0, false
	}
	defer unlock()
	var s storage.Session
	dropped := false
	err := r.locked(ctx, key, func(ctx context.Context) error {
		var err error
		s, err = r.storeOf(ctx).Session(ctx, key)
		if errors.Is(err, storage.ErrNotFound) || err == nil && s.State != storage.StatePending {
			return nil // stale: deleted, kept or dropped meanwhile
		}
		if err != nil {
			return fmt.Errorf("load session: %w", err)
		}
		if err := r.drop(ctx, key, &s, false); err != nil {
			return err
		}
		dropped = true
		return nil
	})
	if err != nil {
		r.log.Warn("replay: pending bound", "site", key.Site, "session", key.Session, "err", err)
		return 0, false
	}
	if !dropped {
		r.tstate.forgetPending(key)
		return 0, true
	}
	r.tstate.noteDropped(key)
	r.tstate.forgetPending(key)
	r.tstate.count(key.Site, func(c *SiteStats) { c.Evicted++ })
	r.log.Warn("replay: pending session dropped to respect maxPendingBytes",
		"site", key.Site, "session", key.Session, "storedBytes", s.StoredBytes)
	return s.StoredBytes, true
}

// Refuses reports whether batches of a session are refused (answered
// record false, not stored) because the session was dropped or deleted. It
// needs only the site and session ids, so a handler can call it before it
// decodes a batch's events; it answers from memory for sessions this
// Recorder dropped and otherwise reads the session's metadata. Errors are
// the store's.
func (r *Recorder) Refuses(ctx context.Context, site, session string) (bool, error) {
	key := storage.Key{Site: site, Session: session}
	if r.tstate.isDropped(key) {
		return true, nil
	}
	if !storage.ValidID(site, 1) || !storage.ValidID(session, 8) {
		return false, nil // Ingest reports the invalid id
	}
	s, err := r.store.Session(ctx, key)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("session %s/%s: %w", site, session, err)
	case s.State == storage.StateDropped:
		r.tstate.noteDropped(key)
		return true, nil
	}
	return false, nil
}

// Sweep ends the sessions that have been idle longer than their site's idle
// timeout or run longer than its maximum duration, resolves the rules of
// pending ones with the session closed (so "not visited" now holds) and
// keeps or deletes them, and deletes sessions past their site's retention,
// tombstones included. now is the server's clock. Call it periodically
// (every minute or so); it is safe to run beside Ingest and beside other
// Recorders' Sweeps on the same Store. Cancelling ctx stops the sweep
// between sessions.
//
// On a store that implements [storage.Sweeper] (filestore does), Sweep asks
// it, site by site, only for the sessions it has to act on: open and idle,
// open and too long, pending and ended, past retention, and orphans (chunks
// whose session record was never written, deleted by retention). Its cost
// follows the work to do, not the number of ended sessions kept. On any
// other store it pages through every session with [storage.Store.List].
//
// A session Sweep cannot handle (a store error) is logged and counted in
// [SweepStats.Failed], and the sweep goes on; the error returned then names
// how many failed and wraps the first failure. A site no longer in the
// configuration keeps its data until someone deletes it.
func (r *Recorder) Sweep(ctx context.Context, now time.Time) (SweepStats, error) {
	var (
		stats SweepStats
		err   error
		first error // the first failure of a session or site
	)
	fail := func(what string, key storage.Key, ferr error) {
		stats.Failed++
		r.log.Warn("replay: sweep: "+what, "site", key.Site, "session", key.Session, "err", ferr)
		if first == nil {
			first = ferr
		}
	}
	if sw, ok := r.store.(storage.Sweeper); ok {
		err = r.sweepDue(ctx, sw, now, &stats, fail)
	} else {
		err = r.sweepAll(ctx, now, &stats, fail)
	}
	if stats != (SweepStats{}) {
		r.log.Info("replay: sweep", "ended", stats.Ended, "kept", stats.Kept,
			"dropped", stats.Dropped, "expired", stats.Expired, "failed", stats.Failed)
	}
	if err == nil && first != nil {
		err = fmt.Errorf("sweep: %d sessions or sites could not be swept (each is logged), the first: %w", stats.Failed, first)
	}
	return stats, err
}

// sweepDue sweeps with the store's index: per site, the sessions due for
// each kind of work.
func (r *Recorder) sweepDue(ctx context.Context, sw storage.Sweeper, now time.Time, stats *SweepStats, fail func(string, storage.Key, error)) error {
	sites, err := sw.SweepSites(ctx)
	if err != nil {
		return fmt.Errorf("sweep: %w", err)
	}
	for _, id := range sites {
		site, cs, err := r.site(ctx, id)
		if errors.Is(err, ErrUnknownSite) {
			continue
		}
		if err != nil {
			fail("site not swept", storage.Key{Site: id}, err)
			continue
		}
		ret := site.retention()
		for _, k := range []struct {
			kind   storage.DueKind
			before time.Time
		}{
			{storage.DueExpired, now.Add(-ret)},
			{storage.DueOrphaned, now.Add(-ret)},
			{storage.DueIdle, now.Add(-cs.rules.idleTimeout())},
			{storage.DueLong, now.Add(-cs.rules.maxDuration())},
			{storage.DueUndecided, time.Time{}},
		} {
			q := storage.DueQuery{Site: id, Kind: k.kind, Before: k.before, Limit: 500}
			for {
				page, err := sw.Due(ctx, q)
				if err != nil {
					if ctx.Err() != nil {
						return ctx.Err()
					}
					fail("listing due sessions", storage.Key{Site: id}, err)
					break
				}
				for _, key := range page.Keys {
					if err := ctx.Err(); err != nil {
						return err
					}
					if k.kind == storage.DueOrphaned {
						err = r.sweepOrphan(ctx, key, stats)
					} else {
						err = r.sweepKey(ctx, site, cs, key, now, stats)
					}
					if err != nil {
						fail("session not swept", key, err)
					}
				}
				if page.Next == "" {
					break
				}
				q.Cursor = page.Next
			}
		}
	}
	return nil
}

// sweepAll sweeps a store without an index for it: it lists every session.
func (r *Recorder) sweepAll(ctx context.Context, now time.Time, stats *SweepStats, fail func(string, storage.Key, error)) error {
	q := storage.Query{State: storage.FilterAny, Limit: 500}
	for {
		page, err := r.store.List(ctx, q)
		if err != nil {
			return fmt.Errorf("sweep: %w", err)
		}
		for _, s := range page.Sessions {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := r.sweepSession(ctx, s, now, stats); err != nil {
				fail("session not swept", storage.Key{Site: s.Site, Session: s.ID}, err)
			}
		}
		if page.Next == "" {
			return nil
		}
		q.Cursor = page.Next
	}
}

// sweepSession skips a listed session that needs no work without taking
// its lock, and sweeps the others.
func (r *Recorder) sweepSession(ctx context.Context, listed storage.Session, now time.Time, stats *SweepStats) error {
	site, cs, err := r.site(ctx, listed.Site)
	if errors.Is(err, ErrUnknownSite) {
		return nil // a site removed from the configuration keeps its data until someone deletes it
	}
	if err != nil {
		return err
	}
	idle, maxDur, ret := cs.rules.idleTimeout(), cs.rules.maxDuration(), site.retention()
	expired := now.Sub(listed.LastSeen) > ret
	undecided := listed.Ended && listed.State == storage.StatePending
	if !expired && !undecided && (listed.Ended || listed.State == storage.StateDropped) {
		return nil
	}
	if !expired && !undecided && now.Sub(listed.LastSeen) <= idle && now.Sub(listed.FirstSeen) <= maxDur {
		return nil
	}
	return r.sweepKey(ctx, site, cs, storage.Key{Site: listed.Site, Session: listed.ID}, now, stats)
}

// sweepKey does what one session needs, under its lock, from its stored
// metadata: delete it past retention, else end it when idle or too long
// and resolve its rules when it is pending.
func (r *Recorder) sweepKey(ctx context.Context, site *Site, cs *compiledSite, key storage.Key, now time.Time, stats *SweepStats) error {
	defer r.locks.lock(key)()
	return r.locked(ctx, key, func(ctx context.Context) error {
		return r.sweepLocked(ctx, site, cs, key, now, stats)
	})
}

// sweepLocked is the part of sweepKey that runs under the session's locks.
func (r *Recorder) sweepLocked(ctx context.Context, site *Site, cs *compiledSite, key storage.Key, now time.Time, stats *SweepStats) error {
	s, err := r.storeOf(ctx).Session(ctx, key)
	if errors.Is(err, storage.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if now.Sub(s.LastSeen) > site.retention() {
		if err := r.storeOf(ctx).Delete(ctx, key); err != nil && !errors.Is(err, storage.ErrNotFound) {
			return err
		}
		r.mirrors.forget(key)
		r.tstate.forgetPending(key)
		stats.Expired++
		return nil
	}
	if s.State == storage.StateDropped || s.Ended && s.State != storage.StatePending {
		return nil
	}
	if !s.Ended && now.Sub(s.LastSeen) <= cs.rules.idleTimeout() && now.Sub(s.FirstSeen) <= cs.rules.maxDuration() {
		return nil // a batch arrived since the listing
	}
	if !s.Ended {
		stats.Ended++
	}
	wasPending := s.State == storage.StatePending
	if r.target(cs.rules, &s, true) == drop {
		stats.Dropped++
		return r.drop(ctx, key, &s, false)
	}
	if wasPending && s.State == storage.StateKept {
		stats.Kept++
	}
	s.Ended = true
	r.mirrors.forget(key)
	return r.storeOf(ctx).PutSession(ctx, s)
}

// sweepOrphan deletes the chunks of a session whose metadata was never
// written, once its site's retention passed (the store found it due).
func (r *Recorder) sweepOrphan(ctx context.Context, key storage.Key, stats *SweepStats) error {
	defer r.locks.lock(key)()
	return r.locked(ctx, key, func(ctx context.Context) error {
		return r.sweepOrphanLocked(ctx, key, stats)
	})
}

// sweepOrphanLocked is the part of sweepOrphan that runs under the
// session's locks.
func (r *Recorder) sweepOrphanLocked(ctx context.Context, key storage.Key, stats *SweepStats) error {
	_, err := r.storeOf(ctx).Session(ctx, key)
	if err == nil {
		return nil // its metadata was written since
	}
	if !errors.Is(err, storage.ErrNotFound) {
		return err
	}
	if err := r.storeOf(ctx).Delete(ctx, key); err != nil && !errors.Is(err, storage.ErrNotFound) {
		return err
	}
	r.mirrors.forget(key)
	stats.Expired++
	return nil
}
