package filestore_test

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sessionreplay/replay/storage"
	"github.com/sessionreplay/replay/storage/filestore"
)

// Close waits for the calls in flight: each call racing with Close either
// returns ErrClosed or completes, and what completed is there when the
// directory is opened again.
func TestCloseWaitsForCallsInFlight(t *testing.T) {
	dir := t.TempDir()
	s, err := filestore.Open(dir, nil)
	require.NoError(t, err)
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		written []storage.Key
		closed  atomic.Int64
		started = make(chan struct{})
		once    sync.Once
	)
	for g := range 4 {
		wg.Go(func() {
			defer once.Do(func() { close(started) })
			for i := 0; ; i++ {
				k := storage.Key{Site: "shop", Session: fmt.Sprintf("sess-%d-%04d", g, i)}
				err := s.Append(ctx, k, storage.Chunk{Window: "w1", Data: []byte(k.Session)})
				if err == nil {
					err = s.PutSession(ctx, session(k.Site, k.Session, base))
				}
				if err == nil {
					_, err = s.List(ctx, storage.Query{Site: "shop"})
				}
				if errors.Is(err, storage.ErrClosed) {
					closed.Add(1)
					return
				}
				if !assert.NoError(t, err) {
					return
				}
				mu.Lock()
				written = append(written, k)
				if len(written) == 8 {
					once.Do(func() { close(started) })
				}
				mu.Unlock()
			}
		})
	}
	<-started // Close while writes are in flight
	closeErr := make(chan error, 1)
	go func() { closeErr <- s.Close() }()
	// Another Store opening the directory meanwhile either finds it locked
	// or finds everything the first one acknowledged.
	var s2 *filestore.Store
	for {
		s2, err = filestore.Open(dir, nil)
		if !errors.Is(err, storage.ErrUnavailable) {
			break
		}
		runtime.Gosched()
	}
	require.NoError(t, err)
	t.Cleanup(func() { s2.Close() })
	require.NoError(t, <-closeErr)
	wg.Wait()
	assert.EqualValues(t, 4, closed.Load(), "every writer saw ErrClosed")

	require.NotEmpty(t, written)
	for _, k := range written {
		_, err := s2.Session(ctx, k)
		assert.NoError(t, err, "%s was written before Close", k.Session)
		assert.Len(t, chunks(t, s2, k), 1)
	}
}

// An iterator of Chunks that is running when the store closes ends with
// ErrClosed at its next chunk, and Close does not wait for its loop.
func TestCloseDuringChunks(t *testing.T) {
	s, err := filestore.Open(t.TempDir(), nil)
	require.NoError(t, err)
	for seq := range 3 {
		require.NoError(t, s.Append(ctx, key, storage.Chunk{Window: "w1", Seq: seq, Data: []byte("x")}))
	}
	var errs []error
	n := 0
	for _, err := range s.Chunks(ctx, key, "") {
		if err != nil {
			errs = append(errs, err)
			continue
		}
		n++
		if n == 1 {
			require.NoError(t, s.Close(), "Close inside the loop returns")
		}
	}
	assert.Equal(t, 1, n)
	require.Len(t, errs, 1)
	assert.ErrorIs(t, errs[0], storage.ErrClosed)
}

func TestClosedSweeper(t *testing.T) {
	s := open(t, t.TempDir(), nil)
	require.NoError(t, s.Close())
	_, err := s.SweepSites(ctx)
	assert.ErrorIs(t, err, storage.ErrClosed)
	_, err = s.Due(ctx, storage.DueQuery{Site: "shop", Kind: storage.DueIdle})
	assert.ErrorIs(t, err, storage.ErrClosed)
}
