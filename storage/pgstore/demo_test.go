package pgstore_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sessionreplay/replay/internal/demo"
	"github.com/sessionreplay/replay/transport"
)

// Two demo processes opened with the same -db and -blob, behind no session
// affinity, serve one set of sessions: a batch taken by either is listed by
// both, and a delete through one is honoured by the other.
func TestDemoProcessesShareOneStore(t *testing.T) {
	needDB(t)
	schema := newSchema(t)
	conn, err := pgx.Connect(t.Context(), testDSN)
	require.NoError(t, err)
	_, err = conn.Exec(t.Context(), "CREATE SCHEMA "+schema)
	conn.Close(context.Background())
	require.NoError(t, err)
	u, err := url.Parse(testDSN)
	require.NoError(t, err)
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	blobURL := "file://" + t.TempDir()

	var servers []*httptest.Server
	for range 2 {
		store, closeDB, err := demo.OpenDB(t.Context(), u.String(), blobURL)
		require.NoError(t, err)
		t.Cleanup(func() { closeDB() })
		rec := newRecorder(t, store)
		srv := httptest.NewServer(transport.NewHandler(rec, &transport.Options{Authorizer: transport.BearerToken("tok")}))
		t.Cleanup(srv.Close)
		servers = append(servers, srv)
	}
	call := func(srv *httptest.Server, method, path, body string) (int, string) {
		t.Helper()
		req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer tok")
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("User-Agent", client.UserAgent)
		res, err := srv.Client().Do(req)
		require.NoError(t, err)
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	listed := func(srv *httptest.Server) []string {
		status, body := call(srv, http.MethodGet, "/v1/sites/shop/sessions", "")
		require.Equal(t, http.StatusOK, status, body)
		var page struct{ Sessions []struct{ ID string } }
		require.NoError(t, json.Unmarshal([]byte(body), &page))
		var ids []string
		for _, s := range page.Sessions {
			ids = append(ids, s.ID)
		}
		return ids
	}

	_, steps := workload(t)
	// The batches of two sessions, each alternating between the servers.
	for _, id := range []string{"visit-0000", "visit-0001"} {
		for i, s := range steps[id][:6] {
			status, body := call(servers[i%2], http.MethodPost, "/v1/ingest", string(s.batch))
			require.Equal(t, http.StatusOK, status, body)
			assert.Contains(t, body, `"record":true`)
		}
	}
	for _, srv := range servers {
		assert.Equal(t, []string{"visit-0001", "visit-0000"}, listed(srv))
	}
	status, body := call(servers[1], http.MethodDelete, "/v1/sites/shop/sessions/visit-0000", "")
	require.Equal(t, http.StatusNoContent, status, body)
	for _, srv := range servers {
		assert.Equal(t, []string{"visit-0001"}, listed(srv))
		status, _ := call(srv, http.MethodGet, "/v1/sites/shop/sessions/visit-0000/events", "")
		assert.Equal(t, http.StatusNotFound, status)
	}
	status, body = call(servers[0], http.MethodPost, "/v1/ingest", string(steps["visit-0000"][6].batch))
	require.Equal(t, http.StatusOK, status, body)
	assert.Contains(t, body, `"record":false`, "a batch after the delete, through the other server")
	assert.Equal(t, []string{"visit-0001"}, listed(servers[1]))
	status, body = call(servers[0], http.MethodGet, "/v1/sites/shop/sessions/visit-0001/events", "")
	assert.Equal(t, http.StatusOK, status)
	assert.Contains(t, body, `"type":2`, "events served from the bucket")
}
