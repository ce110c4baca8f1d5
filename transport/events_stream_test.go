package transport_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"iter"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sessionreplay/replay/storage"
	"github.com/sessionreplay/replay/storage/memstore"
	"github.com/sessionreplay/replay/transport"
)

// chunkFailStore fails the iteration of Chunks once it has yielded `after`
// chunks in all, counting across calls; after < 0 never fails.
type chunkFailStore struct {
	storage.Store
	after   atomic.Int64
	yielded atomic.Int64
}

func (s *chunkFailStore) Chunks(ctx context.Context, key storage.Key, window string) iter.Seq2[storage.Chunk, error] {
	return func(yield func(storage.Chunk, error) bool) {
		for c, err := range s.Store.Chunks(ctx, key, window) {
			if after := s.after.Load(); err == nil && after >= 0 && s.yielded.Add(1) > after {
				yield(storage.Chunk{}, fmt.Errorf("chunk store: %w", storage.ErrUnavailable))
				return
			}
			if !yield(c, err) {
				return
			}
		}
	}
}

// syncBuffer is a bytes.Buffer for logs written by the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestEventsStoreFailureMidStreamTruncatesAnswer(t *testing.T) {
	const chunks = 3
	tags := make([]string, 1200) // about 70 KiB of events a batch: more than one write
	for i := range tags {
		tags[i] = fmt.Sprintf("tag-%d", i%20)
	}
	for _, enc := range []string{"", "gzip"} {
		t.Run("encoding="+enc, func(t *testing.T) {
			var logs syncBuffer
			store := &chunkFailStore{Store: memstore.New()}
			store.after.Store(-1)
			e := newEnvStore(t, store, &transport.Options{
				Authorizer: transport.BearerToken(testToken),
				Logger:     slog.New(slog.NewTextHandler(&logs, nil)),
			})
			for seq := range chunks {
				resp, body := e.ingest(batch("demo", "session-stream-1", "w1", seq, int64(seq)*10_000, tags...), nil)
				require.Equal(t, http.StatusOK, resp.StatusCode, "body %s", body)
			}
			header := map[string]string{"Authorization": "Bearer " + testToken}
			if enc != "" {
				header["Accept-Encoding"] = enc
			}
			get := func() (*http.Response, []byte, error) {
				req, err := http.NewRequest(http.MethodGet, e.base+"/v1/sites/demo/sessions/session-stream-1/events", nil)
				require.NoError(t, err)
				for k, v := range header {
					req.Header.Set(k, v)
				}
				resp, err := e.srv.Client().Do(req)
				require.NoError(t, err)
				defer resp.Body.Close()
				body, err := io.ReadAll(resp.Body)
				return resp, body, err
			}

			store.yielded.Store(0)
			store.after.Store(1) // fails while Events checks the chunks: nothing sent yet
			resp, body, err := get()
			require.NoError(t, err)
			assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, "body %s", body)
			assert.Contains(t, resp.Header.Get("Content-Type"), "json")

			store.yielded.Store(0)
			store.after.Store(chunks + 1) // fails on the second chunk written
			resp, body, err = get()
			assert.Equal(t, http.StatusOK, resp.StatusCode, "the status was sent before the failure")
			assert.Error(t, err, "the answer is cut short (read %d bytes)", len(body))
			if enc == "" {
				assert.True(t, strings.HasPrefix(string(body), `[{"type":4`), "body starts %.40q", body)
			}
			assert.False(t, json.Valid(body), "a failed answer is never a valid array")
			assert.Contains(t, logs.String(), "events interrupted")
			assert.Contains(t, logs.String(), "unavailable")
		})
	}
}
