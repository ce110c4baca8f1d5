package replay

import (
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sessionreplay/replay/storage"
)

func TestSessionLocksNeverShareALockBetweenSessions(t *testing.T) {
	var l sessionLocks
	own := storage.Key{Site: "shop", Session: "own-session"}
	unlock := l.lock(own)
	// Thousands of other sessions: with any fixed number of shared slots,
	// some would land on the caller's own.
	for i := range 10000 {
		other := storage.Key{Site: "shop", Session: fmt.Sprintf("other-%05d", i)}
		u, ok := l.tryLock(other)
		require.True(t, ok, "session %s refused while only %s is held", other.Session, own.Session)
		u()
	}
	_, ok := l.tryLock(own)
	assert.False(t, ok, "a held session's lock is busy")
	unlock()
	u, ok := l.tryLock(own)
	require.True(t, ok, "a released session's lock is free")
	u()
	assert.Zero(t, l.held(), "no lock outlives its last holder")
}

func TestSessionLocksSerialiseOneSession(t *testing.T) {
	var l sessionLocks
	key := storage.Key{Site: "shop", Session: "busy-session"}
	var wg sync.WaitGroup
	inside, most := 0, 0
	var mu sync.Mutex
	for range 8 {
		wg.Go(func() {
			for range 200 {
				unlock := l.lock(key)
				mu.Lock()
				inside++
				most = max(most, inside)
				mu.Unlock()
				mu.Lock()
				inside--
				mu.Unlock()
				unlock()
			}
		})
	}
	wg.Wait()
	assert.Equal(t, 1, most, "two goroutines held one session at once")
	assert.Zero(t, l.held())
}
