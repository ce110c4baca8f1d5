//go:build darwin || dragonfly || freebsd || linux || netbsd || openbsd

package filestore

import (
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"

	"github.com/sessionreplay/replay/storage"
)

// lockDir takes an exclusive advisory lock (flock) on f, the directory's
// LOCK file. The kernel drops it when the process exits. It tries for up
// to lockWait: a process that starts another while a Store is open (or
// being opened or closed) shares the lock's open file with the new process
// from its fork until its exec, so a Store closed in that moment keeps the
// lock held a little longer than its Close.
func lockDir(f *os.File) error {
	deadline := time.Now().Add(lockWait)
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s is open in another Store or process: %w", f.Name(), storage.ErrUnavailable)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// lockWait is how long Open tries to take the directory's lock.
const lockWait = time.Second
