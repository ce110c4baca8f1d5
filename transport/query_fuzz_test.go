package transport_test

import (
	"errors"
	"net/url"
	"testing"

	"github.com/sessionreplay/replay/transport"
)

// FuzzParseQuery feeds the read API's query string parser arbitrary input:
// it returns a query within the documented bounds or an error naming the
// parameter, and never panics.
func FuzzParseQuery(f *testing.F) {
	f.Add("from=2026-01-01T00:00:00Z&to=2026-02-01T00:00:00Z&device=mobile&url=/checkout*&error=true&minDuration=30s&state=all&limit=500")
	f.Add("limit=-1&cursor=%%%")
	f.Add("minDuration=forever&state=dropped")
	f.Fuzz(func(t *testing.T, raw string) {
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		q, err := transport.ParseQuery(v)
		if err != nil {
			var qe *transport.QueryError
			if !errors.As(err, &qe) || qe.Param == "" {
				t.Fatalf("error is not a *QueryError: %T %v", err, err)
			}
			return
		}
		if q.Limit < 0 || q.Limit > 500 {
			t.Fatalf("limit %d out of bounds", q.Limit)
		}
		if q.MinDuration < 0 {
			t.Fatalf("negative minDuration %v", q.MinDuration)
		}
	})
}
