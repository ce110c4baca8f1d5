package filestore

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// The helpers of the tests inside the package.

var ctx = context.Background()

// hashN returns a valid asset hash that names n.
func hashN(n int) string { return fmt.Sprintf("%016x", 0xa55e7000+n) }

// assetFiles lists the files under assets/<site>.
func assetFiles(t *testing.T, dir, site string) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(dir, assetsDir, encodeName(site)))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func countRows(t *testing.T, s *Store, table string) int {
	t.Helper()
	var n int
	require.NoError(t, s.db.QueryRow(`SELECT count(*) FROM `+table).Scan(&n))
	return n
}

// removeIndex deletes the index of the closed store in dir, with its
// write-ahead log, as a lost disk would.
func removeIndex(dir string) {
	for _, ext := range []string{"", "-wal", "-shm"} {
		os.Remove(filepath.Join(dir, indexFile+ext))
	}
}

// restoreIndex puts back the index file old of the closed store in dir,
// without the log written since: an index that lags the journal.
func restoreIndex(t *testing.T, dir string, old []byte) {
	t.Helper()
	removeIndex(dir)
	require.NoError(t, os.WriteFile(filepath.Join(dir, indexFile), old, 0o640))
}
