package pgstore_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sessionreplay/replay/storage"
)

// PendingBytes sums the stored bytes of a site's pending sessions only, as
// every writer left them; OldestPending names them oldest first.
func TestPendingBytes(t *testing.T) {
	needDB(t)
	s := newStore(t, nil)
	other := newStore(t, nil) // another schema: nothing shared
	ctx := t.Context()
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	put := func(site, id string, state storage.State, bytes int64, first int) {
		t.Helper()
		require.NoError(t, s.PutSession(ctx, storage.Session{Site: site, ID: id, State: state, StoredBytes: bytes,
			Start: base, FirstSeen: base.Add(time.Duration(first) * time.Minute), LastSeen: base}))
	}
	put("shop", "p-b", storage.StatePending, 100, 2)
	put("shop", "p-a", storage.StatePending, 10, 2)
	put("shop", "p-c", storage.StatePending, 1, 1)
	put("shop", "kept", storage.StateKept, 1000, 0)
	put("shop", "tomb", storage.StateDropped, 5000, 0)
	put("blog", "p-x", storage.StatePending, 7, 0)

	n, err := s.PendingBytes(ctx, "shop")
	require.NoError(t, err)
	assert.Equal(t, int64(111), n)
	keys, err := s.OldestPending(ctx, "shop", 10)
	require.NoError(t, err)
	assert.Equal(t, []storage.Key{{Site: "shop", Session: "p-c"}, {Site: "shop", Session: "p-a"}, {Site: "shop", Session: "p-b"}}, keys)
	keys, err = s.OldestPending(ctx, "shop", 0)
	require.NoError(t, err)
	assert.Len(t, keys, 1)

	// A session kept, grown or deleted counts as it is now.
	put("shop", "p-b", storage.StateKept, 100, 2)
	put("shop", "p-a", storage.StatePending, 20, 2)
	require.NoError(t, s.Delete(ctx, storage.Key{Site: "shop", Session: "p-c"}))
	n, err = s.PendingBytes(ctx, "shop")
	require.NoError(t, err)
	assert.Equal(t, int64(20), n)

	for _, site := range []string{"nosuch", "a\x00"} {
		n, err = other.PendingBytes(ctx, site)
		require.NoError(t, err)
		assert.Zero(t, n, fmt.Sprintf("site %q", site))
	}
}
