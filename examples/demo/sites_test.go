package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sessionreplay/replay"
	"github.com/sessionreplay/replay/internal/demo"
	"github.com/sessionreplay/replay/storage/memstore"
)

// TestSitesDecideOnTheShopsOwnPages runs the embedded sites.json on visits to
// the demo shop's real pages: a visit that throws is kept at once, one that
// leaves the checkout is kept as "abandoned checkout" when it ends, and one
// that reaches the thank-you page is deleted when it ends.
func TestSitesDecideOnTheShopsOwnPages(t *testing.T) {
	sites, err := replay.LoadSites(bytes.NewReader(defaultSites))
	require.NoError(t, err)
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	rec, err := replay.New(memstore.New(), sites, &replay.Options{Now: func() time.Time { return now }})
	require.NoError(t, err)
	shop, err := demo.NewServer(rec, nil)
	require.NoError(t, err)
	ctx := context.Background()

	visit := func(session string, paths []string, extra string) {
		t.Helper()
		for i, path := range paths {
			w := httptest.NewRecorder()
			shop.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
			require.Equal(t, http.StatusOK, w.Code, "the shop serves %s", path)
			events := fmt.Sprintf(`{"type":4,"data":{"href":"http://127.0.0.1:8080%s","width":1280,"height":800},"timestamp":%d}`, path, 1767268800000+int64(i)*1000)
			if i == len(paths)-1 {
				events += extra
			}
			b, err := replay.DecodeBatch(fmt.Appendf(nil, `{"site":"demo","session":%q,"window":"w%d","seq":0,"events":[%s]}`, session, i, events))
			require.NoError(t, err)
			_, err = rec.Ingest(ctx, b, replay.Client{})
			require.NoError(t, err)
		}
	}
	visit("visit-error", []string{"/"}, `,{"type":5,"data":{"tag":"$error","payload":{"message":"boom"}},"timestamp":1767268800500}`)
	visit("visit-abandoned", []string{"/", "/checkout"}, "")
	visit("visit-bought", []string{"/", "/checkout", "/thanks"}, "")

	s, err := rec.Session(ctx, "demo", "visit-error")
	require.NoError(t, err)
	assert.Equal(t, []string{"errors"}, s.MatchedRules, "kept as the error arrives")

	now = now.Add(3 * time.Minute) // past the demo's idle timeout
	_, err = rec.Sweep(ctx, now)
	require.NoError(t, err)
	s, err = rec.Session(ctx, "demo", "visit-abandoned")
	require.NoError(t, err)
	assert.Equal(t, []string{"abandoned checkout"}, s.MatchedRules)
	_, err = rec.Session(ctx, "demo", "visit-bought")
	assert.Error(t, err, "a visit that bought is deleted when it ends")
}
