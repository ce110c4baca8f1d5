package transport

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sessionreplay/replay/storage"
)

func TestRateLimiterRefillsAndForgets(t *testing.T) {
	now := time.Unix(0, 0)
	l := newRateLimiter(2, 3, func() time.Time { return now })
	for range 3 {
		ok, _ := l.allow("a")
		require.True(t, ok)
	}
	ok, wait := l.allow("a")
	assert.False(t, ok)
	assert.Equal(t, time.Second, wait, "a token takes 0.5 s; Retry-After is at least 1 s")
	now = now.Add(500 * time.Millisecond)
	ok, _ = l.allow("a")
	assert.True(t, ok, "one token refilled")

	now = now.Add(time.Hour)
	_, _ = l.allow("b") // sweeps: "a" is full again and forgotten
	assert.NotContains(t, l.buckets, "a")
	assert.Contains(t, l.buckets, "b")
}

func TestRateKeyGroupsIPv6By64(t *testing.T) {
	assert.Equal(t, "192.0.2.7", rateKey("192.0.2.7"))
	assert.Equal(t, "2001:db8:1:2::/64", rateKey("2001:db8:1:2:aaaa::1"))
	assert.Equal(t, rateKey("2001:db8:1:2::1"), rateKey("2001:db8:1:2:ffff::9"))
	assert.Equal(t, "::ffff:192.0.2.7", rateKey("::ffff:192.0.2.7"))
	assert.Equal(t, "not-an-ip", rateKey("not-an-ip"))
}

func TestQueryValuesRoundTrip(t *testing.T) {
	q := storage.Query{
		From: time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC), To: time.Date(2026, 2, 2, 3, 4, 5, 0, time.UTC),
		Device: "mobile", OS: "iOS", Browser: "Safari", URL: "/a b/*", Event: "sign up", Error: true,
		Rule: "r", MinDuration: 1500 * time.Millisecond, User: "u&1", State: storage.FilterPending,
		Limit: 20, Cursor: "abc",
	}
	got, err := ParseQuery(queryValues(q))
	require.NoError(t, err)
	assert.True(t, got.From.Equal(q.From))
	assert.True(t, got.To.Equal(q.To))
	got.From, got.To = q.From, q.To
	assert.Equal(t, q, got)

	got, err = ParseQuery(queryValues(storage.Query{}))
	require.NoError(t, err)
	assert.Equal(t, storage.Query{}, got)
}
