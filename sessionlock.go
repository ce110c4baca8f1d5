package replay

import (
	"sync"

	"github.com/sessionreplay/replay/storage"
)

// sessionLocks serialises the work on one session within this process:
// batches, deletes and evictions of a session run one at a time.
//
// Each session has a lock of its own, made when first wanted and freed when
// the last holder or waiter lets go, so the locks of two sessions never
// share anything: a caller holding its own session's lock may lock, or try
// to lock, any other session without being refused or deadlocked by its
// own hold. The rule for callers that need two sessions is one order only:
// hold the batch's own session, then try (never wait for) another. The
// zero value is ready to use.
type sessionLocks struct {
	mu   sync.Mutex
	keys map[storage.Key]*keyLock
}

// keyLock is one session's lock and the number of goroutines holding or
// waiting for it; the entry leaves the map when that count reaches zero.
type keyLock struct {
	sync.Mutex
	refs int
}

// lock waits for the session's lock and returns its release.
func (l *sessionLocks) lock(k storage.Key) (unlock func()) {
	kl := l.ref(k)
	kl.Lock()
	return func() { kl.Unlock(); l.unref(k, kl) }
}

// tryLock is lock without waiting: ok is false when another goroutine
// holds the session (a batch of it is being ingested).
func (l *sessionLocks) tryLock(k storage.Key) (unlock func(), ok bool) {
	kl := l.ref(k)
	if !kl.TryLock() {
		l.unref(k, kl)
		return nil, false
	}
	return func() { kl.Unlock(); l.unref(k, kl) }, true
}

func (l *sessionLocks) ref(k storage.Key) *keyLock {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.keys == nil {
		l.keys = make(map[storage.Key]*keyLock)
	}
	kl := l.keys[k]
	if kl == nil {
		kl = new(keyLock)
		l.keys[k] = kl
	}
	kl.refs++
	return kl
}

func (l *sessionLocks) unref(k storage.Key, kl *keyLock) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if kl.refs--; kl.refs == 0 {
		delete(l.keys, k)
	}
}

// held reports how many sessions have a lock entry (held or waited for).
func (l *sessionLocks) held() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.keys)
}
