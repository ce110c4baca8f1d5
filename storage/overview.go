package storage

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"time"
)

// Bucket counts the sessions that start within one interval of an overview:
// [Start, Start+step). Kept and Pending count sessions by state; Errors
// counts those of them with at least one error. It is a plain value, safe
// to copy and share.
type Bucket struct {
	Start   time.Time `json:"start"`
	Kept    int       `json:"kept"`
	Pending int       `json:"pending"`
	Errors  int       `json:"errors"`
}

// MaxBuckets bounds the number of buckets of one overview.
const MaxBuckets = 1000

// ErrInvalidOverview reports an overview request [Counter.Count] cannot
// answer: see [CheckOverview].
var ErrInvalidOverview = errors.New("storage: invalid overview range")

// Counter is an optional interface of a [Store]: a store that implements it
// counts sessions per interval itself (an index, a GROUP BY), for the
// overview chart of the read API. A store without it still works: package
// transport then pages through [Store.List], up to a bound, and says so in
// its answer.
//
// Count may be called concurrently. The conformance suite (package
// storetest) checks these rules for stores that implement Counter.
type Counter interface {
	// Count returns the sessions that match q (every filter of [Query]:
	// its Cursor and Limit are ignored) counted per bucket of width step,
	// the buckets starting at q.From, q.From+step, ... while before q.To,
	// every bucket present, empty ones too, in time order. A session is
	// in the bucket its Start falls in. A range [CheckOverview] refuses is
	// an error wrapping [ErrInvalidOverview].
	Count(ctx context.Context, q Query, step time.Duration) ([]Bucket, error)
}

// CheckOverview returns the number of buckets of an overview of q with
// buckets of width step, or an error wrapping [ErrInvalidOverview] when
// step is not positive, q.From or q.To is zero, q.To is not after q.From, or
// there would be more than [MaxBuckets] buckets.
func CheckOverview(q Query, step time.Duration) (int, error) {
	switch {
	case step <= 0:
		return 0, fmt.Errorf("%w: step %s is not positive", ErrInvalidOverview, step)
	case q.From.IsZero() || q.To.IsZero():
		return 0, fmt.Errorf("%w: from and to are required", ErrInvalidOverview)
	case !q.To.After(q.From):
		return 0, fmt.Errorf("%w: to is not after from", ErrInvalidOverview)
	}
	span := q.To.Sub(q.From)
	n := span / step
	if span%step != 0 {
		n++
	}
	if n > MaxBuckets {
		return 0, fmt.Errorf("%w: %d buckets of %s, over %d", ErrInvalidOverview, n, step, MaxBuckets)
	}
	return int(n), nil
}

// CountSessions answers [Counter.Count] for a store that filters in memory:
// sessions yields every stored session, in any order.
func CountSessions(q Query, step time.Duration, sessions iter.Seq[*Session]) ([]Bucket, error) {
	n, err := CheckOverview(q, step)
	if err != nil {
		return nil, err
	}
	q.Cursor = ""
	buckets := make([]Bucket, n)
	for i := range buckets {
		buckets[i].Start = q.From.Add(time.Duration(i) * step)
	}
	for s := range sessions {
		if !q.Match(*s) {
			continue
		}
		AddToBucket(buckets, q.From, step, s)
	}
	return buckets, nil
}

// AddToBucket counts s in the bucket of buckets (which start at from, step
// apart) its Start falls in; a session outside them is left out.
func AddToBucket(buckets []Bucket, from time.Time, step time.Duration, s *Session) {
	d := s.Start.Sub(from)
	if d < 0 {
		return
	}
	i := int(d / step)
	if i >= len(buckets) {
		return
	}
	b := &buckets[i]
	switch s.State {
	case StateKept:
		b.Kept++
	case StatePending:
		b.Pending++
	default:
		return
	}
	if s.Errors > 0 {
		b.Errors++
	}
}
