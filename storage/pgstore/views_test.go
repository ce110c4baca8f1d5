package pgstore_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sessionreplay/replay/storage"
	"github.com/sessionreplay/replay/storage/pgstore"
)

// Count agrees with storage.CountSessions (the in-memory rule) on random
// sessions, sessions that start exactly on a bucket's edge included, for
// steps from an hour down to nanoseconds.
func TestCountAgreesWithCountSessions(t *testing.T) {
	needDB(t)
	s := newStore(t, nil)
	ctx := t.Context()
	base := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	r := rand.New(rand.NewPCG(1, 2))
	states := []storage.State{storage.StateKept, storage.StateKept, storage.StatePending, storage.StateDropped}
	var all []*storage.Session
	for i := range 400 {
		start := base.Add(time.Duration(r.IntN(6*60)) * time.Minute) // on minute edges
		if i%3 == 0 {
			start = start.Add(time.Duration(r.IntN(60_000_000)) * time.Microsecond)
		}
		if i%50 == 0 {
			start = base.Add(time.Duration(r.IntN(1000)) * time.Microsecond)
		}
		sess := storage.Session{
			Site: []string{"shop", "blog"}[r.IntN(2)], ID: fmt.Sprintf("sess-%04d", i), State: states[r.IntN(len(states))],
			Start: start, Device: []string{"desktop", "Mobile"}[r.IntN(2)], Errors: r.IntN(3) / 2,
		}
		require.NoError(t, s.PutSession(ctx, sess))
		all = append(all, &sess)
	}
	for _, tc := range []struct {
		q    storage.Query
		step time.Duration
	}{
		{storage.Query{Site: "shop", State: storage.FilterAll, From: base, To: base.Add(6 * time.Hour)}, time.Hour},
		{storage.Query{Site: "shop", From: base, To: base.Add(6 * time.Hour)}, 7 * time.Minute},
		{storage.Query{State: storage.FilterAny, From: base.Add(-time.Hour), To: base.Add(5 * time.Hour)}, time.Minute},
		{storage.Query{Site: "blog", State: storage.FilterPending, Device: "MOBILE", Error: true, From: base, To: base.Add(6 * time.Hour)}, 30 * time.Minute},
		{storage.Query{Site: "shop", State: storage.FilterAll, From: base, To: base.Add(time.Millisecond)}, time.Microsecond},
		{storage.Query{State: storage.FilterAll, From: base, To: base.Add(time.Microsecond)}, 3 * time.Nanosecond},
		{storage.Query{State: storage.FilterDropped, From: base, To: base.Add(6 * time.Hour)}, time.Hour},
	} {
		want, err := storage.CountSessions(tc.q, tc.step, slices.Values(all))
		require.NoError(t, err)
		got, err := s.Count(ctx, tc.q, tc.step)
		require.NoError(t, err)
		require.Len(t, got, len(want), "%+v step %s", tc.q, tc.step)
		for i := range want {
			assert.True(t, want[i].Start.Equal(got[i].Start), "bucket %d of %+v step %s", i, tc.q, tc.step)
			want[i].Start = got[i].Start
		}
		assert.Equal(t, want, got, "%+v step %s", tc.q, tc.step)
	}
}

// Count is one GROUP BY over the listing's index, not a sequential scan.
func TestCountUsesIndex(t *testing.T) {
	needDB(t)
	schema := newSchema(t)
	s := openStore(t, schema, nil)
	ctx := t.Context()
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 50 {
		require.NoError(t, s.PutSession(ctx, storage.Session{Site: "shop", ID: fmt.Sprintf("sess-%02d", i), State: storage.StateKept, Start: base}))
	}
	conn, err := pgx.Connect(ctx, testDSN)
	require.NoError(t, err)
	defer conn.Close(ctx)
	// The planner sees a table of a million sessions over a year.
	_, err = conn.Exec(ctx, fmt.Sprintf(`INSERT INTO %[1]s.sessions SELECT 'shop', 'bulk-' || g, 'kept', $1::timestamptz - g * interval '30 seconds', $1, 0, 0, '{}', '{}', '{}',
		'', '', '', '', '', '', '', 0, 0, 0, '{}', '{}', '{}', 0, 0, 0, '{}', 0, 0, 0, '{}', '', $1, $1, true, ''
		FROM generate_series(1, 200000) g`, schema), base)
	require.NoError(t, err)
	_, err = conn.Exec(ctx, "ANALYZE "+schema+".sessions")
	require.NoError(t, err)
	_, err = conn.Exec(ctx, "SET search_path = "+schema)
	require.NoError(t, err)
	for _, q := range []storage.Query{
		{Site: "shop", From: base.Add(-24 * time.Hour), To: base},
		{Site: "shop", State: storage.FilterAll, Device: "mobile", From: base.Add(-24 * time.Hour), To: base},
		{From: base.Add(-24 * time.Hour), To: base},
	} {
		starts := []time.Time{q.From, q.From.Add(12 * time.Hour)}
		sql, args := pgstore.CountQuery(q, starts)
		var plan []byte
		require.NoError(t, conn.QueryRow(ctx, "EXPLAIN (FORMAT JSON) "+sql, args...).Scan(&plan))
		assert.Contains(t, string(plan), "Index", "%+v: %s", q, plan)
		assert.NotContains(t, string(plan), "Seq Scan", "%+v: %s", q, plan)
	}
}

// A session read in a loop keeps MinViewsKept views, not one row per read.
func TestViewsBounded(t *testing.T) {
	needDB(t)
	schema := newSchema(t)
	s := openStore(t, schema, nil)
	ctx := t.Context()
	key := storage.Key{Site: "shop", Session: "sess-1"}
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 3 * storage.MinViewsKept {
		require.NoError(t, s.AddView(ctx, key, storage.View{Principal: fmt.Sprint("p", i), At: base.Add(time.Duration(i) * time.Second)}))
	}
	views, err := s.Views(ctx, key)
	require.NoError(t, err)
	require.Len(t, views, storage.MinViewsKept)
	assert.Equal(t, fmt.Sprint("p", 3*storage.MinViewsKept-1), views[len(views)-1].Principal)
	conn, err := pgx.Connect(ctx, testDSN)
	require.NoError(t, err)
	defer conn.Close(ctx)
	var rows int
	require.NoError(t, conn.QueryRow(ctx, "SELECT count(*) FROM "+schema+".views").Scan(&rows))
	assert.Equal(t, storage.MinViewsKept, rows)

	// A session with views only is deleted with them.
	require.NoError(t, s.Delete(ctx, key))
	views, err = s.Views(ctx, key)
	require.NoError(t, err)
	assert.Empty(t, views)
	assert.ErrorIs(t, s.AddView(ctx, storage.Key{Site: "shop", Session: "a\x00"}, storage.View{}), storage.ErrInvalidKey)
}
