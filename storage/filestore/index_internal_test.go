package filestore

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sessionreplay/replay/storage"
)

// facetRows returns the facet rows of session (shop, id) as "k v start"
// strings, with the rowids that hold them.
func facetRows(t *testing.T, s *Store, id string) (rows []string, rowids []int64) {
	t.Helper()
	r, err := s.db.Query(`SELECT f.rowid, f.k, f.v, f.start FROM facets f JOIN sessions s ON s.n = f.n
		WHERE s.site = 'shop' AND s.id = ? ORDER BY f.k, f.v`, id)
	require.NoError(t, err)
	defer r.Close()
	for r.Next() {
		var (
			rowid, k, start int64
			v               string
		)
		require.NoError(t, r.Scan(&rowid, &k, &v, &start))
		rows = append(rows, fmt.Sprintf("%d %s %d", k, v, start))
		rowids = append(rowids, rowid)
	}
	require.NoError(t, r.Err())
	return rows, rowids
}

// facet is the row facetRows returns for facet k v starting at start.
func facet(k int, v string, start time.Time) string {
	return fmt.Sprintf("%d %s %d", k, v, timeKey(start))
}

// An update of a session rewrites its facet rows (custom events, rules)
// only when they change: the same events and rules keep their rows; a new
// event, a rule, a changed start or none at all rewrite them, and each
// filter finds what the session holds now.
func TestPutRowFacets(t *testing.T) {
	s, err := Open(t.TempDir(), nil)
	require.NoError(t, err)
	defer s.Close()
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	sess := storage.Session{ID: "sess-0001", Site: "shop", State: storage.StateKept, Start: start,
		Events: map[string]int{"signup": 1, "zero": 0}, MatchedRules: []string{"r2", "r1", "r2"}}
	require.NoError(t, s.PutSession(ctx, sess))
	rows, ids := facetRows(t, s, sess.ID)
	assert.Equal(t, []string{facet(facetEvent, "signup", start), facet(facetRule, "r1", start), facet(facetRule, "r2", start)}, rows)

	sess.DurationMs = 1000 // the facets stay
	require.NoError(t, s.PutSession(ctx, sess))
	rows2, ids2 := facetRows(t, s, sess.ID)
	assert.Equal(t, rows, rows2)
	assert.Equal(t, ids, ids2, "unchanged facets keep their rows")

	sess.Events["checkout"] = 2
	require.NoError(t, s.PutSession(ctx, sess))
	rows, _ = facetRows(t, s, sess.ID)
	assert.Equal(t, []string{facet(facetEvent, "checkout", start), facet(facetEvent, "signup", start), facet(facetRule, "r1", start), facet(facetRule, "r2", start)}, rows)

	sess.Start = start.Add(time.Minute)
	sess.MatchedRules = []string{"r1"}
	require.NoError(t, s.PutSession(ctx, sess))
	rows, _ = facetRows(t, s, sess.ID)
	assert.Equal(t, []string{facet(facetEvent, "checkout", sess.Start), facet(facetEvent, "signup", sess.Start), facet(facetRule, "r1", sess.Start)}, rows)
	for _, q := range []storage.Query{{Site: "shop", Event: "checkout"}, {Site: "shop", Rule: "r1"}, {Site: "shop", Event: "signup", From: sess.Start}} {
		page, err := s.List(ctx, q)
		require.NoError(t, err)
		require.Len(t, page.Sessions, 1, "%+v", q)
	}
	page, err := s.List(ctx, storage.Query{Site: "shop", Rule: "r2"})
	require.NoError(t, err)
	assert.Empty(t, page.Sessions)

	sess.Events, sess.MatchedRules = nil, nil
	require.NoError(t, s.PutSession(ctx, sess))
	rows, _ = facetRows(t, s, sess.ID)
	assert.Empty(t, rows)
}
