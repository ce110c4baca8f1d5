package pgstore_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/sessionreplay/replay/storage"
	"github.com/sessionreplay/replay/storage/pgstore"
)

// Each kind of Due is a range scan of its own index: with many ended,
// kept sessions stored, the plan reads the kind's index and never the
// sessions of other kinds.
func TestDueUsesIndexes(t *testing.T) {
	needDB(t)
	schema := newSchema(t)
	s := openStore(t, schema, nil)
	ctx := t.Context()
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	conn, err := pgx.Connect(ctx, testDSN)
	require.NoError(t, err)
	defer conn.Close(context.Background())
	// 20,000 ended, kept sessions (what a site keeps), 20 open ones.
	_, err = conn.Exec(ctx, fmt.Sprintf(`INSERT INTO %[1]s.sessions SELECT site, 'ended-' || g, 'kept', $1::timestamptz, $1::timestamptz, 0, 0, '{}', '{}', '{}',
		'', '', '', '', '', '', '', 0, 0, 0, '{}', '{}', '{}', 0, 0, 0, '{}', 0, 0, 0, '{}', '', $1::timestamptz + g * interval '1 second', $1::timestamptz + g * interval '1 second', true, ''
		FROM generate_series(1, 20000) g, (VALUES ('shop')) v(site)`, schema), base)
	require.NoError(t, err)
	for i := range 20 {
		sess := storage.Session{Site: "shop", ID: fmt.Sprintf("open-%02d", i), State: storage.StatePending,
			Start: base, FirstSeen: base, LastSeen: base.Add(time.Duration(i) * time.Minute)}
		require.NoError(t, s.PutSession(ctx, sess))
	}
	_, err = conn.Exec(ctx, "ANALYZE "+schema+".sessions")
	require.NoError(t, err)
	_, err = conn.Exec(ctx, "SET search_path = "+schema)
	require.NoError(t, err)
	for _, tc := range []struct {
		kind  storage.DueKind
		index string
	}{
		{storage.DueIdle, "sessions_due_idle"},
		{storage.DueLong, "sessions_due_long"},
		{storage.DueUndecided, "sessions_due_undecided"},
		{storage.DueExpired, "sessions_seen"},
		{storage.DueOrphaned, "orphans_since"},
	} {
		sql, args, err := pgstore.DueQuery(storage.DueQuery{Site: "shop", Kind: tc.kind, Before: base.Add(time.Hour), Limit: 10})
		require.NoError(t, err)
		var plan []byte
		require.NoError(t, conn.QueryRow(ctx, "EXPLAIN (FORMAT JSON) "+sql, args...).Scan(&plan))
		var v any
		require.NoError(t, json.Unmarshal(plan, &v), "plan %s", plan)
		require.Contains(t, string(plan), `"Index Name": "`+tc.index+`"`, "kind %d: plan %s", tc.kind, plan)
		require.NotContains(t, string(plan), "Seq Scan", "kind %d: plan %s", tc.kind, plan)
	}
}
