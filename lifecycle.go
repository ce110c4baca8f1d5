package replay

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sessionreplay/replay/storage"
)

// SweepStats counts what a Sweep did.
type SweepStats struct {
	Ended   int // sessions that ended (idle or too long)
	Kept    int // pending sessions kept when they ended
	Dropped int // pending sessions deleted when they ended
	Expired int // sessions deleted because their retention passed
}

// Sweep ends the sessions that have been idle longer than their site's idle
// timeout or run longer than its maximum duration, resolves the rules of
// pending ones with the session closed, and deletes sessions past their
// site's retention. now is the server's clock. Call it periodically; it is
// safe to run beside Ingest. Cancelling ctx stops the sweep between sessions.
func (r *Recorder) Sweep(ctx context.Context, now time.Time) (SweepStats, error) {
	var stats SweepStats
	q := storage.Query{State: storage.FilterAny, Limit: 500}
	for {
		page, err := r.store.List(ctx, q)
		if err != nil {
			return stats, fmt.Errorf("sweep: %w", err)
		}
		for _, s := range page.Sessions {
			if err := ctx.Err(); err != nil {
				return stats, err
			}
			if err := r.sweepSession(ctx, s, now, &stats); err != nil {
				return stats, err
			}
		}
		if page.Next == "" {
			return stats, nil
		}
		q.Cursor = page.Next
	}
}

func (r *Recorder) sweepSession(ctx context.Context, listed storage.Session, now time.Time, stats *SweepStats) error {
	site, cs, err := r.site(ctx, listed.Site)
	if errors.Is(err, ErrUnknownSite) {
		return nil // a site removed from the configuration keeps its data until someone deletes it
	}
	if err != nil {
		return err
	}
	key := storage.Key{Site: listed.Site, Session: listed.ID}
	defer r.locks.lock(key)()
	s, err := r.store.Session(ctx, key)
	if errors.Is(err, storage.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("sweep: %w", err)
	}
	if now.Sub(s.LastSeen) > site.retention() {
		if err := r.store.Delete(ctx, key); err != nil && !errors.Is(err, storage.ErrNotFound) {
			return fmt.Errorf("sweep: %w", err)
		}
		r.mirrors.forget(key)
		stats.Expired++
		return nil
	}
	if s.Ended || s.State == storage.StateDropped {
		return nil
	}
	if now.Sub(s.LastSeen) <= cs.rules.idleTimeout() && now.Sub(s.FirstSeen) <= cs.rules.maxDuration() {
		return nil
	}
	stats.Ended++
	wasPending := s.State == storage.StatePending
	switch r.target(cs.rules, &s, true) {
	case drop:
		stats.Dropped++
		return r.drop(ctx, key, &s, false)
	default:
		if wasPending {
			stats.Kept++
		}
		s.State = storage.StateKept
	}
	s.Ended = true
	r.mirrors.forget(key)
	if err := r.store.PutSession(ctx, s); err != nil {
		return fmt.Errorf("sweep: %w", err)
	}
	return nil
}
