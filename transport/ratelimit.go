package transport

import (
	"math"
	"sync"
	"time"
)

// rateLimiter is a token bucket per client: each holds up to burst tokens,
// refills at rate tokens a second, and a request takes one. A full bucket is
// the same as none, so buckets that refilled are forgotten and memory stays
// proportional to the clients active in the last moments.
type rateLimiter struct {
	rate  float64
	burst float64
	now   func() time.Time

	mu        sync.Mutex
	buckets   map[string]*bucket
	lastSweep time.Time
}

type bucket struct {
	tokens float64
	last   time.Time
}

// sweepEvery is how often, at most, full buckets are forgotten; maxBuckets
// forces a sweep sooner.
const (
	sweepEvery = time.Minute
	maxBuckets = 1 << 16
)

func newRateLimiter(rate float64, burst int, now func() time.Time) *rateLimiter {
	if burst <= 0 {
		burst = max(1, int(math.Ceil(2*rate)))
	}
	if now == nil {
		now = time.Now
	}
	return &rateLimiter{rate: rate, burst: float64(burst), now: now, buckets: make(map[string]*bucket)}
}

// allow takes a token of key's bucket. When there is none it returns false
// and how long until there is one (at least a second, the unit of
// Retry-After).
func (l *rateLimiter) allow(key string) (bool, time.Duration) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.lastSweep) >= sweepEvery || len(l.buckets) >= maxBuckets {
		l.sweep(now)
	}
	b := l.buckets[key]
	if b == nil {
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[key] = b
	}
	b.tokens = l.refill(b, now)
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	wait := time.Duration((1 - b.tokens) / l.rate * float64(time.Second))
	return false, max(time.Second, wait)
}

func (l *rateLimiter) refill(b *bucket, now time.Time) float64 {
	elapsed := now.Sub(b.last).Seconds()
	if elapsed < 0 {
		elapsed = 0
	}
	return min(l.burst, b.tokens+elapsed*l.rate)
}

// sweep forgets the buckets that are full again.
func (l *rateLimiter) sweep(now time.Time) {
	l.lastSweep = now
	for k, b := range l.buckets {
		if l.refill(b, now) >= l.burst {
			delete(l.buckets, k)
		}
	}
}
