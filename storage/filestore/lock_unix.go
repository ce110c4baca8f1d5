//go:build darwin || dragonfly || freebsd || linux || netbsd || openbsd

package filestore

import (
	"errors"
	"fmt"
	"os"
	"syscall"

	"github.com/sessionreplay/replay/storage"
)

// lockDir takes an exclusive advisory lock (flock) on f, the directory's
// LOCK file, without waiting. The kernel drops it when the process exits.
func lockDir(f *os.File) error {
	err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return fmt.Errorf("%s is open in another Store or process: %w", f.Name(), storage.ErrUnavailable)
	}
	return err
}
