package filestore

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sessionreplay/replay/storage"
)

// TestCountMatchesList checks Count, whichever index serves its filters
// and whether SQLite or Go computes the buckets, against counting the
// same sessions in memory with storage.CountSessions.
func TestCountMatchesList(t *testing.T) {
	const n = 3000
	s, err := Open(t.TempDir(), nil)
	require.NoError(t, err)
	defer s.Close()
	bulkLoad(t, s, 0, n, n)
	all := make([]*storage.Session, n)
	for i := range all {
		sess := benchSession(i, n)
		all[i] = &sess
	}
	month := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	r := rand.New(rand.NewPCG(3, 4))
	for _, f := range benchFilters {
		for _, state := range []storage.StateFilter{"", storage.FilterAll, storage.FilterPending, storage.FilterDropped, storage.FilterAny} {
			q := f.q(r, n)
			q.Site, q.State = benchSite, state
			if q.From.IsZero() {
				q.From, q.To = month, month.AddDate(0, 1, 0)
			}
			q.Limit, q.Cursor = 1, "ignored"
			for _, step := range []time.Duration{time.Hour, 24 * time.Hour, 7 * 24 * time.Hour} {
				want, err := storage.CountSessions(q, step, slices.Values(all))
				require.NoError(t, err)
				got, err := s.Count(t.Context(), q, step)
				require.NoError(t, err, "%s %s %s", f.name, state, step)
				assert.Equal(t, want, got, "%s, state %q, step %s", f.name, state, step)
			}
		}
	}
	// A range of 300 years, too long for SQLite to compute its buckets
	// (over 2^63 ns): Go does.
	q := storage.Query{Site: benchSite, State: storage.FilterAll, From: time.Date(1740, 1, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2040, 1, 1, 0, 0, 0, 0, time.UTC)}
	step := 365 * 24 * time.Hour
	want, err := storage.CountSessions(q, step, slices.Values(all))
	require.NoError(t, err)
	got, err := s.Count(t.Context(), q, step)
	require.NoError(t, err)
	assert.Equal(t, want, got)
	total := 0
	for _, b := range got {
		total += b.Kept + b.Pending
	}
	assert.Greater(t, total, n*9/10, "the sessions of the store are counted")
}
