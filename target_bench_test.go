package replay

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sessionreplay/replay/storage"
	"github.com/sessionreplay/replay/storage/memstore"
)

// benchRules is a realistic site configuration: the two seed rules and a
// few more that stay undecided for a live session without errors, so every
// batch evaluates all of them.
func benchRules() Targeting {
	tg := demoRules()
	tg.Rules = append(tg.Rules,
		Rule{Name: "mobile sample", When: Cond{All: []Cond{{Device: "mobile"}, {Sample: 0.05}}}},
		Rule{Name: "pro signups", When: Cond{All: []Cond{{Event: "signup"}, {Attr: map[string]string{"plan": "pro"}}}}},
		Rule{Name: "long and angry", When: Cond{All: []Cond{{MinDuration: time.Hour}, {RageClick: true}}}},
		Rule{Name: "not safari", When: Cond{All: []Cond{{Not: &Cond{Browser: "Safari"}}, {Visited: "https://shop.test/admin/*"}}}},
	)
	return tg
}

// benchIngest ingests batches of a real recording (testdata/recordings/
// form.json, 99 events) into one session: its first batch once, then its
// incremental events again and again under new sequence numbers.
func benchIngest(b *testing.B, tg Targeting) {
	raw, err := os.ReadFile("testdata/recordings/form.json")
	require.NoError(b, err)
	var events []json.RawMessage
	require.NoError(b, json.Unmarshal(raw, &events))
	sites, err := NewStaticSites(&Site{ID: "shop", Targeting: tg})
	require.NoError(b, err)
	rec, err := New(memstore.New(), sites, nil)
	require.NoError(b, err)
	body := func(seq int, evs []json.RawMessage) []byte {
		out, err := json.Marshal(map[string]any{"site": "shop", "session": "bench-0001", "window": "w1", "seq": seq, "events": evs})
		require.NoError(b, err)
		return out
	}
	ctx := context.Background()
	client := Client{UserAgent: uaDesktop}
	first, err := DecodeBatch(body(0, events))
	require.NoError(b, err)
	_, err = rec.Ingest(ctx, first, client)
	require.NoError(b, err)
	var incr []json.RawMessage
	for _, e := range events {
		var head struct{ Type int }
		require.NoError(b, json.Unmarshal(e, &head))
		if head.Type == int(IncrementalSnapshot) || head.Type == int(Custom) {
			incr = append(incr, e)
		}
	}
	bodies := make([][]byte, b.N)
	for i := range bodies {
		bodies[i] = body(i+1, incr)
	}
	b.SetBytes(int64(len(bodies[0])))
	b.ResetTimer()
	for i := range b.N {
		batch, err := DecodeBatch(bodies[i])
		if err != nil {
			b.Fatal(err)
		}
		if _, err := rec.Ingest(ctx, batch, client); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	s, err := rec.Session(ctx, "shop", "bench-0001")
	require.NoError(b, err)
	if len(tg.Rules) > 0 && s.State != storage.StatePending {
		b.Fatalf("state %s: the rules must stay undecided so that every batch evaluates them", s.State)
	}
}

// BenchmarkIngestNoRules is the baseline of BenchmarkIngestWithRules: the
// same batches through the whole pipeline, with a site that keeps everything.
func BenchmarkIngestNoRules(b *testing.B) { benchIngest(b, Targeting{}) }

// BenchmarkIngestWithRules is the same with six undecided rules.
func BenchmarkIngestWithRules(b *testing.B) { benchIngest(b, benchRules()) }

// benchSession is the facts of a live session with 20 pages.
func benchSession() storage.Session {
	s := storage.Session{ID: "bench-0001", Site: "shop", State: storage.StatePending,
		Device: "desktop", OS: "Linux", Browser: "Chrome", DurationMs: 600_000, Clicks: 40,
		Events: map[string]int{"cart": 3, "search": 7}, Attrs: map[string]string{"userId": "u1", "plan": "free"}}
	for i := range 20 {
		s.Pages = append(s.Pages, fmt.Sprintf("https://shop.test/product/%d?ref=home", i))
	}
	return s
}

func benchTarget(b *testing.B, tg Targeting) {
	rs, err := tg.compile()
	require.NoError(b, err)
	r := factsRecorder(b)
	s := benchSession()
	b.ResetTimer()
	for range b.N {
		if r.target(rs, &s, false) == drop {
			b.Fatal("dropped")
		}
	}
}

// BenchmarkTargetNoRules is the baseline of BenchmarkTargetRules: the
// target step alone, with no rules.
func BenchmarkTargetNoRules(b *testing.B) { benchTarget(b, Targeting{}) }

// BenchmarkTargetRules is the target step alone with six undecided rules on
// a session of 20 pages.
func BenchmarkTargetRules(b *testing.B) { benchTarget(b, benchRules()) }
