package transport_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sessionreplay/replay/storage"
	"github.com/sessionreplay/replay/storage/memstore"
	"github.com/sessionreplay/replay/transport"
)

// plainStore is a store with none of the optional interfaces.
type plainStore struct{ storage.Store }

type viewsBody struct {
	Views   []storage.View `json:"views"`
	Durable bool           `json:"durable"`
}

func getViews(t *testing.T, e *env, id string, header map[string]string) viewsBody {
	t.Helper()
	resp, body := e.do(http.MethodGet, "/v1/sites/demo/sessions/"+id+"/views", nil, header)
	require.Equal(t, http.StatusOK, resp.StatusCode, "body %s", body)
	var v viewsBody
	require.NoError(t, json.Unmarshal(body, &v))
	require.NotNil(t, v.Views, "views is a list, never null: %s", body)
	return v
}

// userAuth allows requests with the bearer token and names the principal in
// the X-User header.
var userAuth = transport.PrincipalFunc(func(r *http.Request) (string, error) {
	if r.Header.Get("Authorization") != "Bearer "+testToken {
		return "", transport.ErrUnauthenticated
	}
	return r.Header.Get("X-User"), nil
})

func TestViewsRecordEachReadOfEvents(t *testing.T) {
	for _, tc := range []struct {
		name    string
		store   storage.Store
		durable bool
	}{
		{"store keeps the log", memstore.New(), true},
		{"handler keeps the log", plainStore{memstore.New()}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnvStore(t, tc.store, &transport.Options{Authorizer: userAuth})
			const id = "session-views-1"
			resp, body := e.ingest(batch("demo", id, "w1", 0, 0, "a"), nil)
			require.Equal(t, http.StatusOK, resp.StatusCode, "body %s", body)
			as := func(user string) map[string]string {
				return map[string]string{"Authorization": "Bearer " + testToken, "X-User": user}
			}

			v := getViews(t, e, id, as("alice"))
			assert.Empty(t, v.Views, "no read yet")
			assert.Equal(t, tc.durable, v.Durable)

			before := time.Now().Add(-time.Second)
			for _, user := range []string{"alice", "bob <b@example.com>", "alice"} {
				resp, body := e.do(http.MethodGet, "/v1/sites/demo/sessions/"+id+"/events", nil, as(user))
				require.Equal(t, http.StatusOK, resp.StatusCode, "body %s", body)
			}
			// Reading the metadata, the list or the views is no view; a
			// failed read of events is none either.
			e.do(http.MethodGet, "/v1/sites/demo/sessions/"+id, nil, as("carol"))
			e.do(http.MethodGet, "/v1/sites/demo/sessions", nil, as("carol"))
			resp, _ = e.do(http.MethodGet, "/v1/sites/demo/sessions/"+id+"/events?window=bad!", nil, as("carol"))
			assert.Equal(t, http.StatusBadRequest, resp.StatusCode)

			v = getViews(t, e, id, as("dave"))
			require.Len(t, v.Views, 3)
			assert.Equal(t, []string{"alice", "bob <b@example.com>", "alice"},
				[]string{v.Views[0].Principal, v.Views[1].Principal, v.Views[2].Principal}, "oldest first")
			for _, view := range v.Views {
				assert.True(t, view.At.After(before) && !view.At.After(time.Now()), "time of the view: %v", view.At)
			}

			// Clients cannot write the log.
			for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
				resp, body := e.do(m, "/v1/sites/demo/sessions/"+id+"/views", strings.NewReader(`{"principal":"mallory"}`), as("mallory"))
				assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode, "%s: %s", m, body)
				assert.Equal(t, "GET, HEAD", resp.Header.Get("Allow"))
			}
			assert.Len(t, getViews(t, e, id, as("dave")).Views, 3)

			// The log needs the read API's credentials, and a session.
			resp, _ = e.do(http.MethodGet, "/v1/sites/demo/sessions/"+id+"/views", nil, nil)
			assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
			resp, _ = e.do(http.MethodGet, "/v1/sites/demo/sessions/session-unknown/views", nil, as("alice"))
			assert.Equal(t, http.StatusNotFound, resp.StatusCode)

			// Deleting the session deletes its views.
			resp, _ = e.do(http.MethodDelete, "/v1/sites/demo/sessions/"+id, nil, as("alice"))
			require.Equal(t, http.StatusNoContent, resp.StatusCode)
			resp, _ = e.ingest(batch("demo", id, "w1", 0, 0, "a"), nil) // refused: a tombstone
			require.Equal(t, http.StatusOK, resp.StatusCode)
			if l, ok := tc.store.(storage.ViewLog); ok {
				views, err := l.Views(t.Context(), storage.Key{Site: "demo", Session: id})
				require.NoError(t, err)
				assert.Empty(t, views)
			}
		})
	}
}

func TestViewsPrincipals(t *testing.T) {
	// BearerToken names a fixed principal.
	e := newEnv(t, nil)
	const id = "session-views-2"
	resp, body := e.ingest(batch("demo", id, "w1", 0, 0, "a"), nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, "body %s", body)
	resp, _ = e.read(http.MethodGet, "/v1/sites/demo/sessions/"+id+"/events")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	auth := map[string]string{"Authorization": "Bearer " + testToken}
	v := getViews(t, e, id, auth)
	require.Len(t, v.Views, 1)
	assert.Equal(t, transport.BearerPrincipal, v.Views[0].Principal)

	// An Authorizer that names nobody: the principal is "". A long one is
	// cut, at a character boundary.
	for _, tc := range []struct {
		auth transport.Authorizer
		want string
	}{
		{transport.AuthorizerFunc(func(*http.Request) error { return nil }), ""},
		{transport.PrincipalFunc(func(*http.Request) (string, error) { return strings.Repeat("é", 200), nil }), strings.Repeat("é", 128)},
	} {
		e := newEnv(t, &transport.Options{Authorizer: tc.auth})
		resp, body := e.ingest(batch("demo", id, "w1", 0, 0, "a"), nil)
		require.Equal(t, http.StatusOK, resp.StatusCode, "body %s", body)
		resp, _ = e.do(http.MethodGet, "/v1/sites/demo/sessions/"+id+"/events", nil, nil)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		v := getViews(t, e, id, nil)
		require.Len(t, v.Views, 1)
		assert.Equal(t, tc.want, v.Views[0].Principal)
	}

	// A refusal of a PrincipalAuthorizer is answered as Authorize's.
	e = newEnv(t, &transport.Options{Authorizer: transport.PrincipalFunc(func(*http.Request) (string, error) {
		return "x", assert.AnError
	})})
	resp, _ = e.do(http.MethodGet, "/v1/sites/demo/sessions/"+id+"/views", nil, nil)
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)
}

func TestClientViewsAndOverview(t *testing.T) {
	store := memstore.New()
	putOverviewSessions(t, store)
	e := newEnvStore(t, store, nil)
	c := transport.NewClient(e.base, fastRetries(testToken))
	ctx := t.Context()

	const id = "session-views-3"
	resp, body := e.ingest(batch("demo", id, "w1", 0, 0, "a"), nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, "body %s", body)
	_, err := c.Events(ctx, "demo", id, "")
	require.NoError(t, err)
	views, err := c.Views(ctx, "demo", id)
	require.NoError(t, err)
	require.Len(t, views, 1)
	assert.Equal(t, transport.BearerPrincipal, views[0].Principal)
	_, err = c.Views(ctx, "demo", "session-unknown")
	assert.ErrorIs(t, err, storage.ErrNotFound)

	o, err := c.Overview(ctx, "demo", storage.Query{State: storage.FilterAll, From: ovBase, To: ovBase.Add(72 * time.Hour), Limit: 3, Cursor: "x"}, "day")
	require.NoError(t, err)
	assert.Equal(t, "day", o.Step)
	require.Len(t, o.Buckets, 3)
	assert.Equal(t, 2, o.Buckets[0].Kept)
	assert.True(t, o.Complete)
	_, err = c.Overview(ctx, "demo", storage.Query{}, "year")
	var herr *transport.HTTPError
	require.ErrorAs(t, err, &herr)
	assert.Equal(t, http.StatusBadRequest, herr.Status)
}
