package transport_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sessionreplay/replay"
	"github.com/sessionreplay/replay/storage"
	"github.com/sessionreplay/replay/storage/memstore"
	"github.com/sessionreplay/replay/transport"
)

type overviewBody struct {
	From, To time.Time
	Step     string
	StepMs   int64
	Buckets  []storage.Bucket
	Complete bool
}

var ovBase = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

// putOverviewSessions stores sessions of site demo over three days.
func putOverviewSessions(t *testing.T, store storage.Store) {
	t.Helper()
	put := func(id string, at time.Duration, state storage.State, errs int, device string) {
		require.NoError(t, store.PutSession(t.Context(), storage.Session{
			ID: id, Site: "demo", State: state, Start: ovBase.Add(at), Errors: errs, Device: device,
		}))
	}
	put("sess-day0-a", 1*time.Hour, storage.StateKept, 0, "desktop")
	put("sess-day0-b", 1*time.Hour+30*time.Minute, storage.StateKept, 3, "mobile")
	put("sess-day0-c", 23*time.Hour, storage.StatePending, 1, "desktop")
	put("sess-day1-a", 25*time.Hour, storage.StateDropped, 1, "desktop")
	put("sess-day2-a", 50*time.Hour, storage.StateKept, 0, "mobile")
	require.NoError(t, store.PutSession(t.Context(), storage.Session{ID: "sess-other", Site: "other", State: storage.StateKept, Start: ovBase.Add(time.Hour)}))
}

func getOverview(t *testing.T, e *env, query string) overviewBody {
	t.Helper()
	resp, body := e.read(http.MethodGet, "/v1/sites/demo/overview?"+query)
	require.Equal(t, http.StatusOK, resp.StatusCode, "body %s", body)
	var o overviewBody
	require.NoError(t, json.Unmarshal(body, &o))
	return o
}

func TestOverviewCountsPerBucket(t *testing.T) {
	for _, tc := range []struct {
		name  string
		store storage.Store
	}{
		{"store counts", memstore.New()},
		{"handler pages through the list", plainStore{memstore.New()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			putOverviewSessions(t, tc.store)
			e := newEnvStore(t, tc.store, nil)
			rng := url.Values{"from": {ovBase.Format(time.RFC3339)}, "to": {ovBase.Add(72 * time.Hour).Format(time.RFC3339)}}

			o := getOverview(t, e, rng.Encode()+"&state=all")
			assert.Equal(t, "day", o.Step, "three days: daily")
			assert.Equal(t, int64(86400000), o.StepMs)
			assert.True(t, o.Complete)
			assert.True(t, o.From.Equal(ovBase))
			assert.True(t, o.To.Equal(ovBase.Add(72*time.Hour)))
			require.Len(t, o.Buckets, 3)
			assert.Equal(t, storage.Bucket{Start: ovBase, Kept: 2, Pending: 1, Errors: 2}, utc(o.Buckets[0]))
			assert.Equal(t, storage.Bucket{Start: ovBase.Add(24 * time.Hour)}, utc(o.Buckets[1]), "the dropped session is not counted")
			assert.Equal(t, storage.Bucket{Start: ovBase.Add(48 * time.Hour), Kept: 1}, utc(o.Buckets[2]))

			// The list's filters: kept only by default, device.
			o = getOverview(t, e, rng.Encode()+"&device=mobile")
			assert.Equal(t, []int{1, 0, 1}, []int{o.Buckets[0].Kept, o.Buckets[1].Kept, o.Buckets[2].Kept})
			assert.Zero(t, o.Buckets[0].Pending)

			// A day: hourly.
			day := url.Values{"from": {ovBase.Format(time.RFC3339)}, "to": {ovBase.Add(24 * time.Hour).Format(time.RFC3339)}, "state": {"all"}}
			o = getOverview(t, e, day.Encode())
			assert.Equal(t, "hour", o.Step)
			require.Len(t, o.Buckets, 24)
			assert.Equal(t, 2, o.Buckets[1].Kept)
			assert.Equal(t, 1, o.Buckets[1].Errors)
			assert.Equal(t, 1, o.Buckets[23].Pending)

			// Without a range: the last 14 days, in whole days (UTC).
			o = getOverview(t, e, "")
			assert.Equal(t, "day", o.Step)
			assert.Contains(t, []int{14, 15}, len(o.Buckets))
			assert.True(t, o.From.Equal(o.From.Truncate(24*time.Hour)), "from %v on a day boundary", o.From)
			assert.False(t, o.To.Before(time.Now()))
			o = getOverview(t, e, "step=hour")
			assert.Contains(t, []int{48, 49}, len(o.Buckets))
		})
	}
}

func utc(b storage.Bucket) storage.Bucket {
	b.Start = b.Start.UTC()
	return b
}

func TestOverviewRefusesBadRequests(t *testing.T) {
	e := newEnv(t, nil)
	for _, tc := range []struct{ query, want string }{
		{"step=year", "step: want hour, day or week"},
		{"from=2026-03-02T00:00:00Z&to=2026-03-01T00:00:00Z", "to: want a time after from"},
		{"from=2000-01-01T00:00:00Z&to=2026-03-01T00:00:00Z&step=hour", "from: the range holds too many buckets of a hour"},
		{"from=yesterday", "from: want an RFC 3339 time"},
		{"state=dropped", "state: want kept, pending or all"},
	} {
		resp, body := e.read(http.MethodGet, "/v1/sites/demo/overview?"+tc.query)
		assert.Equal(t, http.StatusBadRequest, resp.StatusCode, tc.query)
		assert.Contains(t, errorOf(t, body), tc.want, tc.query)
	}
	resp, _ := e.read(http.MethodGet, "/v1/sites/nosuchsite/overview")
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)
	resp, _ = e.do(http.MethodGet, "/v1/sites/demo/overview", nil, nil)
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	resp, _ = e.read(http.MethodDelete, "/v1/sites/demo/overview")
	assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
}

// TestOverviewFallbackIsBounded: a store that cannot count is paged through
// up to 10 000 sessions, and the answer says it stopped short.
func TestOverviewFallbackIsBounded(t *testing.T) {
	store := plainStore{memstore.New()}
	for i := range 10_001 {
		require.NoError(t, store.PutSession(t.Context(), storage.Session{
			ID: fmt.Sprintf("sess-%06d", i), Site: "demo", State: storage.StateKept, Start: ovBase.Add(time.Duration(i) * time.Second),
		}))
	}
	e := newEnvStore(t, store, nil)
	rng := url.Values{"from": {ovBase.Format(time.RFC3339)}, "to": {ovBase.Add(24 * time.Hour).Format(time.RFC3339)}}
	o := getOverview(t, e, rng.Encode())
	assert.False(t, o.Complete)
	n := 0
	for _, b := range o.Buckets {
		n += b.Kept
	}
	assert.Equal(t, 10_000, n, "counted up to the bound")

	// memstore counts them all.
	all := memstore.New()
	for i := range 10_001 {
		require.NoError(t, all.PutSession(t.Context(), storage.Session{
			ID: fmt.Sprintf("sess-%06d", i), Site: "demo", State: storage.StateKept, Start: ovBase.Add(time.Duration(i) * time.Second),
		}))
	}
	o = getOverview(t, newEnvStore(t, all, nil), rng.Encode())
	assert.True(t, o.Complete)
	n = 0
	for _, b := range o.Buckets {
		n += b.Kept
	}
	assert.Equal(t, 10_001, n)
}

// FuzzOverviewQuery sends the overview arbitrary query strings: it answers
// 200 with at most storage.MaxBuckets buckets, or 400 naming a parameter.
func FuzzOverviewQuery(f *testing.F) {
	f.Add("from=2026-03-01T00:00:00Z&to=2026-03-04T00:00:00Z&state=all")
	f.Add("step=week&from=1900-01-01T00:00:00Z")
	f.Add("step=hour&to=0001-01-01T00:00:01Z")
	f.Add("from=2026-03-01T00:00:00.999999999+14:00&to=2026-03-01T00:00:01-12:00&step=hour")
	sites, err := replay.NewStaticSites(&replay.Site{ID: "demo"})
	require.NoError(f, err)
	rec, err := replay.New(memstore.New(), sites, nil)
	require.NoError(f, err)
	h := transport.NewHandler(rec, &transport.Options{Authorizer: transport.BearerToken(testToken)})
	f.Fuzz(func(t *testing.T, raw string) {
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		req := httptest.NewRequest(http.MethodGet, "/v1/sites/demo/overview?"+v.Encode(), nil)
		req.Header.Set("Authorization", "Bearer "+testToken)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		body := w.Body.Bytes()
		switch w.Code {
		case http.StatusOK:
			var o overviewBody
			require.NoError(t, json.Unmarshal(body, &o))
			if len(o.Buckets) == 0 || len(o.Buckets) > storage.MaxBuckets {
				t.Fatalf("%d buckets", len(o.Buckets))
			}
		case http.StatusBadRequest:
			if errorOf(t, body) == "" {
				t.Fatalf("400 without an error: %s", body)
			}
		default:
			t.Fatalf("status %d: %s", w.Code, body)
		}
	})
}
