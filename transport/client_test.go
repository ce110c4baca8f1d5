package transport_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sessionreplay/replay"
	"github.com/sessionreplay/replay/storage"
	"github.com/sessionreplay/replay/transport"
)

// fastRetries keeps the Client's backoff short in tests.
func fastRetries(token string) *transport.ClientOptions {
	return &transport.ClientOptions{Token: token, MinBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond}
}

func TestClientSendsAndReads(t *testing.T) {
	e := newEnv(t, nil)
	c := transport.NewClient(e.base+"/", fastRetries(testToken))
	ctx := context.Background()

	res, err := c.Send(ctx, batchValue(t, "demo", "session-client-1", "w1", 0, 0, "signup"))
	require.NoError(t, err)
	assert.Equal(t, replay.Result{Accepted: 4, Record: true}, res)
	res, err = c.Send(ctx, batchValue(t, "demo", "session-client-1", "w1", 1, 1000))
	require.NoError(t, err)
	assert.Equal(t, replay.Result{Accepted: 1, Record: true}, res)

	page, err := c.Sessions(ctx, "demo", storage.Query{Event: "signup", Limit: 10})
	require.NoError(t, err)
	require.Len(t, page.Sessions, 1)
	assert.Equal(t, "session-client-1", page.Sessions[0].ID)

	s, err := c.Session(ctx, "demo", "session-client-1")
	require.NoError(t, err)
	assert.Equal(t, 5, s.EventCount)

	events, err := c.Events(ctx, "demo", "session-client-1", "")
	require.NoError(t, err)
	assert.Len(t, events, 5)
	events, err = c.Events(ctx, "demo", "session-client-1", "w-other")
	require.NoError(t, err)
	assert.Empty(t, events)

	require.NoError(t, c.Delete(ctx, "demo", "session-client-1"))
	_, err = c.Session(ctx, "demo", "session-client-1")
	assert.ErrorIs(t, err, storage.ErrNotFound)
	var he *transport.HTTPError
	require.ErrorAs(t, err, &he)
	assert.Equal(t, http.StatusNotFound, he.Status)
	assert.Contains(t, he.Message, "not found")
	assert.ErrorIs(t, c.Delete(ctx, "demo", "session-client-1"), storage.ErrNotFound)

	res, err = c.Send(ctx, batchValue(t, "demo", "session-client-1", "w2", 0, 5000))
	require.NoError(t, err)
	assert.Equal(t, replay.Result{Accepted: 3, Record: false}, res)
}

// flakyServer answers the first fails requests with status (and a
// Retry-After of retryAfter when set) before passing them to h.
type flakyServer struct {
	h          http.Handler
	fails      int
	status     int
	retryAfter string

	mu    sync.Mutex
	times []time.Time
}

func (f *flakyServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.times = append(f.times, time.Now())
	n := len(f.times)
	f.mu.Unlock()
	if n <= f.fails {
		if f.retryAfter != "" {
			w.Header().Set("Retry-After", f.retryAfter)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(f.status)
		_, _ = w.Write([]byte(`{"error":"store: unavailable, retry later"}`))
		return
	}
	f.h.ServeHTTP(w, r)
}

func (f *flakyServer) attempts() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.times)
}

func TestClientRetriesFlakyServer(t *testing.T) {
	for _, status := range []int{http.StatusServiceUnavailable, http.StatusInternalServerError, http.StatusBadGateway} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			e := newEnv(t, nil)
			flaky := &flakyServer{h: transport.NewHandler(e.rec, nil), fails: 2, status: status}
			srv := httptest.NewServer(flaky)
			defer srv.Close()
			c := transport.NewClient(srv.URL, fastRetries(""))
			res, err := c.Send(context.Background(), batchValue(t, "demo", "session-flaky-1", "w1", 0, 0))
			require.NoError(t, err)
			assert.Equal(t, replay.Result{Accepted: 3, Record: true}, res)
			assert.Equal(t, 3, flaky.attempts())
		})
	}
}

func TestClientHonoursRetryAfter(t *testing.T) {
	e := newEnv(t, nil)
	flaky := &flakyServer{h: transport.NewHandler(e.rec, nil), fails: 1, status: http.StatusTooManyRequests, retryAfter: "1"}
	srv := httptest.NewServer(flaky)
	defer srv.Close()
	c := transport.NewClient(srv.URL, fastRetries(""))
	_, err := c.Send(context.Background(), batchValue(t, "demo", "session-429-1", "w1", 0, 0))
	require.NoError(t, err)
	require.Equal(t, 2, flaky.attempts())
	// A lower bound only: the client may not retry sooner than asked.
	assert.GreaterOrEqual(t, flaky.times[1].Sub(flaky.times[0]), time.Second)
}

func TestClientGivesUp(t *testing.T) {
	e := newEnv(t, nil)
	t.Run("at once on 400, with the server's message", func(t *testing.T) {
		flaky := &flakyServer{h: transport.NewHandler(e.rec, nil)}
		srv := httptest.NewServer(flaky)
		defer srv.Close()
		c := transport.NewClient(srv.URL, fastRetries(""))
		b := batchValue(t, "demo", "session-bad-1", "w1", 0, 0)
		b.Session = "short"
		_, err := c.Send(context.Background(), b)
		var he *transport.HTTPError
		require.ErrorAs(t, err, &he)
		assert.Equal(t, http.StatusBadRequest, he.Status)
		assert.True(t, strings.HasPrefix(he.Message, "session:"), "message %q", he.Message)
		assert.Equal(t, 1, flaky.attempts())
	})
	t.Run("at once on 403", func(t *testing.T) {
		flaky := &flakyServer{h: transport.NewHandler(e.rec, nil)}
		srv := httptest.NewServer(flaky)
		defer srv.Close()
		_, err := transport.NewClient(srv.URL, fastRetries("")).Send(context.Background(), batchValue(t, "nope", "session-bad-1", "w1", 0, 0))
		var he *transport.HTTPError
		require.ErrorAs(t, err, &he)
		assert.Equal(t, http.StatusForbidden, he.Status)
		assert.Equal(t, 1, flaky.attempts())
	})
	t.Run("after MaxAttempts of 503", func(t *testing.T) {
		flaky := &flakyServer{h: transport.NewHandler(e.rec, nil), fails: 100, status: http.StatusServiceUnavailable}
		srv := httptest.NewServer(flaky)
		defer srv.Close()
		opts := fastRetries("")
		opts.MaxAttempts = 4
		_, err := transport.NewClient(srv.URL, opts).Send(context.Background(), batchValue(t, "demo", "session-bad-2", "w1", 0, 0))
		assert.ErrorIs(t, err, storage.ErrUnavailable)
		assert.Equal(t, 4, flaky.attempts())
	})
	t.Run("when the wait would outlast ctx's deadline", func(t *testing.T) {
		flaky := &flakyServer{h: transport.NewHandler(e.rec, nil), fails: 100, status: http.StatusTooManyRequests, retryAfter: "3600"}
		srv := httptest.NewServer(flaky)
		defer srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_, err := transport.NewClient(srv.URL, fastRetries("")).Send(ctx, batchValue(t, "demo", "session-bad-3", "w1", 0, 0))
		var he *transport.HTTPError
		require.ErrorAs(t, err, &he)
		assert.Equal(t, http.StatusTooManyRequests, he.Status)
		assert.Equal(t, 1, flaky.attempts())
		assert.NoError(t, ctx.Err(), "gave up without waiting")
	})
	t.Run("after network errors", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		srv.Close() // nothing listens any more
		opts := fastRetries("")
		opts.MaxAttempts = 3
		_, err := transport.NewClient(srv.URL, opts).Send(context.Background(), batchValue(t, "demo", "session-bad-4", "w1", 0, 0))
		require.Error(t, err)
		var he *transport.HTTPError
		assert.False(t, errors.As(err, &he))
	})
}

// lostAnswerServer stores the first request but answers it 503, as when a
// proxy loses the answer; the retry must not store the batch twice.
type lostAnswerServer struct {
	h    http.Handler
	seen atomic.Int32
}

func (l *lostAnswerServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if l.seen.Add(1) == 1 {
		l.h.ServeHTTP(httptest.NewRecorder(), r)
		w.WriteHeader(http.StatusBadGateway)
		return
	}
	l.h.ServeHTTP(w, r)
}

func TestClientRetryAfterLostAnswerIsStoredOnce(t *testing.T) {
	e := newEnv(t, nil)
	srv := httptest.NewServer(&lostAnswerServer{h: transport.NewHandler(e.rec, nil)})
	defer srv.Close()
	res, err := transport.NewClient(srv.URL, fastRetries("")).Send(context.Background(), batchValue(t, "demo", "session-lost-1", "w1", 0, 0, "a", "b"))
	require.NoError(t, err)
	assert.Equal(t, replay.Result{Accepted: 5, Record: true}, res)
	s, err := e.store.Session(context.Background(), storage.Key{Site: "demo", Session: "session-lost-1"})
	require.NoError(t, err)
	assert.Equal(t, 5, s.EventCount)
}

func TestClientDeleteRetriedAfterLostAnswerSucceeds(t *testing.T) {
	e := newEnv(t, nil)
	_, body := e.ingest(batch("demo", "session-lostdel-1", "w1", 0, 0), nil)
	require.True(t, result(t, body).Record)
	srv := httptest.NewServer(&lostAnswerServer{h: transport.NewHandler(e.rec, &transport.Options{Authorizer: transport.BearerToken(testToken)})})
	defer srv.Close()
	require.NoError(t, transport.NewClient(srv.URL, fastRetries(testToken)).Delete(context.Background(), "demo", "session-lostdel-1"))
	_, err := e.rec.Session(context.Background(), "demo", "session-lostdel-1")
	assert.ErrorIs(t, err, storage.ErrNotFound)
}
