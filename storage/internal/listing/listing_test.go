package listing_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sessionreplay/replay/storage"
	"github.com/sessionreplay/replay/storage/internal/listing"
)

func sessions(n int) []*storage.Session {
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	out := make([]*storage.Session, n)
	for i := range out {
		// Pairs share a Start; ids are shuffled against their order.
		out[i] = &storage.Session{ID: fmt.Sprintf("s%03d", (i*37)%n), Site: "shop", State: storage.StateKept, Start: at.Add(time.Duration(i/2) * time.Second)}
	}
	return out
}

func TestPageNextOnlyWhenMore(t *testing.T) {
	all := sessions(10)
	page, err := listing.Page(storage.Query{Limit: 10}, slices.Values(all))
	require.NoError(t, err)
	assert.Len(t, page.Sessions, 10)
	assert.Empty(t, page.Next, "no Next when the page holds every match")

	page, err = listing.Page(storage.Query{Limit: 9}, slices.Values(all))
	require.NoError(t, err)
	assert.Len(t, page.Sessions, 9)
	assert.NotEmpty(t, page.Next)
}

func TestPageWalk(t *testing.T) {
	all := sessions(101)
	want := slices.Clone(all)
	slices.SortFunc(want, func(a, b *storage.Session) int {
		if storage.Newer(*a, *b) {
			return -1
		}
		return 1
	})
	for _, limit := range []int{1, 7, 50, 101} {
		var got []string
		q := storage.Query{Limit: limit}
		for range 200 {
			page, err := listing.Page(q, slices.Values(all))
			require.NoError(t, err)
			for _, s := range page.Sessions {
				got = append(got, s.ID)
			}
			if page.Next == "" {
				break
			}
			q.Cursor = page.Next
		}
		var wantIDs []string
		for _, s := range want {
			wantIDs = append(wantIDs, s.ID)
		}
		assert.Equal(t, wantIDs, got, "limit %d", limit)
	}
}

func TestPageReturnsClones(t *testing.T) {
	all := sessions(1)
	all[0].Pages = []string{"/a"}
	page, err := listing.Page(storage.Query{}, slices.Values(all))
	require.NoError(t, err)
	page.Sessions[0].Pages[0] = "/changed"
	assert.Equal(t, "/a", all[0].Pages[0])
}

func TestPageBadCursor(t *testing.T) {
	_, err := listing.Page(storage.Query{Cursor: "x"}, slices.Values(sessions(1)))
	assert.ErrorIs(t, err, storage.ErrInvalidCursor)
}
