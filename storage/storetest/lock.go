package storetest

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/sessionreplay/replay/storage"
)

// The rules of storage.SessionLocker. They run for every store and pass at
// once for a store that does not implement it (its fallback is documented
// by storage.LockSession).
var lockCases = []testCase{
	{
		name:        "LockSessionSerialises",
		explanation: withSource("(SessionLocker) functions run under LockSession of one key never overlap: concurrent read-modify-writes of one session through st lose nothing"),
		run:         testLockSerialises,
	},
	{
		name:        "LockSessionAtomic",
		explanation: withSource("(SessionLocker) what fn writes through st is kept all together when fn returns nil, none of it when fn returns an error or panics; fn reads its own writes"),
		run:         testLockAtomic,
	},
	{
		name:        "LockSessionDeleteWaits",
		explanation: withSource("(SessionLocker) Delete of a session waits for a LockSession of it in flight, so what that LockSession wrote is deleted, never resurrected"),
		run:         testLockDeleteWaits,
	},
}

func testLockSerialises(ctx context.Context, c *checker, s storage.Store) {
	l, ok := s.(storage.SessionLocker)
	if !ok {
		return
	}
	const writers, rounds = 6, 5
	var wg sync.WaitGroup
	for range writers {
		wg.Go(func() {
			for range rounds {
				err := l.LockSession(ctx, key, func(st storage.Store) error {
					n := 0
					sess, err := st.Session(ctx, key)
					switch {
					case err == nil:
						n = sess.EventCount
					case !errors.Is(err, storage.ErrNotFound):
						return err
					}
					runtime.Gosched() // let another writer in, if the lock would
					if err := st.Append(ctx, key, chunk("w1", n)); err != nil {
						return fmt.Errorf("append w1/%d: %w", n, err)
					}
					next := newSession(key.Session, base)
					next.EventCount = n + 1
					return st.PutSession(ctx, next)
				})
				c.ok(err, "LockSession")
			}
		})
	}
	wg.Wait()
	sess, err := s.Session(ctx, key)
	if !c.ok(err, "Session") {
		return
	}
	if sess.EventCount != writers*rounds {
		c.errorf("%d read-modify-writes under LockSession counted %d", writers*rounds, sess.EventCount)
	}
	var want []storage.Chunk
	for n := range writers * rounds {
		want = append(want, chunk("w1", n))
	}
	wantChunks(ctx, c, s, key, "w1", want...)
}

var errRollback = errors.New("storetest: fn failed on purpose")

func testLockAtomic(ctx context.Context, c *checker, s storage.Store) {
	l, ok := s.(storage.SessionLocker)
	if !ok {
		return
	}
	sess := newSession(key.Session, base)
	write := func(st storage.Store) error {
		if err := st.Append(ctx, key, chunk("w1", 0)); err != nil {
			return err
		}
		if err := st.PutSession(ctx, sess); err != nil {
			return err
		}
		got, err := collect(ctx, c, st, key, "")
		if err != nil || len(got) != 1 {
			c.errorf("inside LockSession, Chunks after Append: %d chunks, error %v; want the chunk appended", len(got), err)
		}
		if _, err := st.Session(ctx, key); err != nil {
			c.errorf("inside LockSession, Session after PutSession: %v", err)
		}
		return nil
	}
	nothing := func(what string) {
		if _, err := s.Session(ctx, key); !errors.Is(err, storage.ErrNotFound) {
			c.errorf("after %s, Session: got %v, want ErrNotFound (nothing kept)", what, err)
		}
		wantChunks(ctx, c, s, key, "")
	}

	err := l.LockSession(ctx, key, func(st storage.Store) error {
		if err := write(st); err != nil {
			return err
		}
		return errRollback
	})
	if !errors.Is(err, errRollback) {
		c.errorf("LockSession whose fn failed: got %v, want fn's error", err)
	}
	nothing("a LockSession whose fn returned an error")

	func() {
		defer func() {
			if recover() == nil {
				c.errorf("LockSession swallowed fn's panic")
			}
		}()
		_ = l.LockSession(ctx, key, func(st storage.Store) error {
			if err := write(st); err != nil {
				return err
			}
			panic("storetest: fn panics on purpose")
		})
	}()
	nothing("a LockSession whose fn panicked")

	if c.ok(l.LockSession(ctx, key, write), "LockSession") {
		wantSession(ctx, c, s, sess)
		wantChunks(ctx, c, s, key, "", chunk("w1", 0))
	}
}

func testLockDeleteWaits(ctx context.Context, c *checker, s storage.Store) {
	l, ok := s.(storage.SessionLocker)
	if !ok {
		return
	}
	if !putAll(ctx, c, s, newSession(key.Session, base)) {
		return
	}
	entered := make(chan struct{})
	deleted := make(chan error, 1)
	var wg sync.WaitGroup
	wg.Go(func() {
		err := l.LockSession(ctx, key, func(st storage.Store) error {
			close(entered)
			// Give a Delete that does not wait the time to return; one
			// that waits makes this wait its full length.
			select {
			case err := <-deleted:
				c.errorf("Delete returned (%v) while a LockSession of the session was running", err)
			case <-time.After(100 * time.Millisecond):
			}
			if err := st.Append(ctx, key, chunk("w1", 0)); err != nil {
				return err
			}
			sess := newSession(key.Session, base)
			sess.EventCount = 1
			return st.PutSession(ctx, sess)
		})
		c.ok(err, "LockSession")
	})
	<-entered
	wg.Go(func() { deleted <- s.Delete(ctx, key) })
	wg.Wait()
	select {
	case err := <-deleted:
		c.ok(err, "Delete")
	default: // reported inside the LockSession
	}
	if got, err := s.Session(ctx, key); !errors.Is(err, storage.ErrNotFound) {
		c.errorf("a session written under LockSession while a Delete waited is still there after the Delete (EventCount %d, error %v): resurrected", got.EventCount, err)
	}
	wantChunks(ctx, c, s, key, "")
}
