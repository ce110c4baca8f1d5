package replay

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sessionreplay/replay/storage"
	"github.com/sessionreplay/replay/storage/memstore"
)

// failingPuts is a store whose next PutSession fails when fail is set.
type failingPuts struct {
	storage.Store
	fail bool
}

func (s *failingPuts) PutSession(ctx context.Context, sess storage.Session) error {
	if s.fail {
		s.fail = false
		return fmt.Errorf("disk on fire: %w", storage.ErrUnavailable)
	}
	return s.Store.PutSession(ctx, sess)
}

// A batch whose chunk was appended but whose session metadata could not be
// written is answered with an error; when the browser retries it, the chunk
// is not stored twice and its facts are written then.
func TestIngestRetryAfterFailedPutSessionKeepsTheFacts(t *testing.T) {
	store := &failingPuts{Store: memstore.New()}
	sites, err := NewStaticSites(&Site{ID: "shop"})
	require.NoError(t, err)
	rec, err := New(store, sites, nil)
	require.NoError(t, err)
	ctx := context.Background()
	send := func(window string, events ...string) error {
		b, err := DecodeBatch(fmt.Appendf(nil, `{"site":"shop","session":"visit-0001","window":%q,"seq":0,"events":[%s]}`,
			window, joinEvents(events)))
		require.NoError(t, err)
		_, err = rec.Ingest(ctx, b, Client{})
		return err
	}

	require.NoError(t, send("w1", metaEv(0, "https://shop.example/"), fullEv(1)))
	store.fail = true
	err = send("w2", metaEv(5000, "https://shop.example/checkout"), fullEv(5001))
	require.True(t, errors.Is(err, storage.ErrUnavailable), "the browser is told to retry: %v", err)
	require.NoError(t, send("w2", metaEv(5000, "https://shop.example/checkout"), fullEv(5001)), "the retry")

	s, err := rec.Session(ctx, "shop", "visit-0001")
	require.NoError(t, err)
	assert.Equal(t, []string{"w1", "w2"}, s.WindowIDs)
	assert.Equal(t, []string{"https://shop.example/", "https://shop.example/checkout"}, s.Pages)
	assert.Equal(t, 4, s.EventCount)

	// A plain retry of a batch whose facts were written counts nothing twice.
	require.NoError(t, send("w2", metaEv(5000, "https://shop.example/checkout"), fullEv(5001)))
	s, err = rec.Session(ctx, "shop", "visit-0001")
	require.NoError(t, err)
	assert.Equal(t, 4, s.EventCount)
}

func joinEvents(events []string) string {
	out := ""
	for i, e := range events {
		if i > 0 {
			out += ","
		}
		out += e
	}
	return out
}
