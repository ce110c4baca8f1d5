package replay

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sessionreplay/replay/storage"
)

func TestRuleParseErrorsNameThePath(t *testing.T) {
	tests := []struct {
		name, json, want string
	}{
		{"unknown condition deep inside", `{"rules":[{"name":"a","when":{"error":true}},{"name":"b","when":{"error":true}},
			{"name":"c","when":{"all":[{"error":true},{"visit":"/x"}]}}]}`,
			`rules[2].when.all[1]: unknown condition "visit"`},
		{"unknown field of targeting", `{"rule":[]}`, `rule: unknown field`},
		{"unknown field of a rule", `{"rules":[{"name":"a","when":{"error":true},"then":1}]}`, `rules[0].then: unknown field`},
		{"missing when", `{"rules":[{"name":"a"}]}`, `rules[0].when: missing`},
		{"two conditions in one object", `{"rules":[{"name":"a","when":{"error":true,"event":"x"}}]}`, `rules[0].when: want an object with exactly one condition, got 2 keys`},
		{"empty object", `{"rules":[{"name":"a","when":{}}]}`, `rules[0].when: want an object with exactly one condition, got 0 keys`},
		{"error false", `{"rules":[{"name":"a","when":{"error":false}}]}`, `rules[0].when.error: want true`},
		{"rageClick not a bool", `{"rules":[{"name":"a","when":{"rageClick":"yes"}}]}`, `rules[0].when.rageClick: want true`},
		{"empty all", `{"rules":[{"name":"a","when":{"all":[]}}]}`, `rules[0].when.all: want at least one condition`},
		{"any not an array", `{"rules":[{"name":"a","when":{"any":{"error":true}}}]}`, `rules[0].when.any: want an array of conditions`},
		{"not of nonsense", `{"rules":[{"name":"a","when":{"not":{"any":[{"error":true},{"device":"phone"}]}}}]}`,
			`rules[0].when.not.any[1].device: "phone": want one of desktop, mobile, tablet, bot`},
		{"sample out of range", `{"rules":[{"name":"a","when":{"sample":1.5}}]}`, `rules[0].when.sample: 1.5: want a fraction in (0, 1]`},
		{"sample zero", `{"rules":[{"name":"a","when":{"sample":0}}]}`, `rules[0].when: empty condition`},
		{"sample not a number", `{"rules":[{"name":"a","when":{"sample":"5%"}}]}`, `rules[0].when.sample: want a number in (0, 1]`},
		{"minDuration not a duration", `{"rules":[{"name":"a","when":{"minDuration":"30"}}]}`, `rules[0].when.minDuration: "30" is not a Go duration`},
		{"minDuration negative", `{"rules":[{"name":"a","when":{"minDuration":"-3s"}}]}`, `rules[0].when.minDuration: -3s: want a positive duration`},
		{"visited without slash", `{"rules":[{"name":"a","when":{"visited":"checkout"}}]}`, `rules[0].when.visited: "checkout": want a path glob`},
		{"visited not a string", `{"rules":[{"name":"a","when":{"visited":["/a"]}}]}`, `rules[0].when.visited: want a string`},
		{"attr empty", `{"rules":[{"name":"a","when":{"attr":{}}}]}`, `rules[0].when.attr: want at least one attribute`},
		{"attr not strings", `{"rules":[{"name":"a","when":{"attr":{"plan":1}}}]}`, `rules[0].when.attr: want an object of strings`},
		{"rules not an array", `{"rules":{}}`, `rules: want an array of rules`},
		{"idle timeout", `{"idleTimeout":"soon"}`, `idleTimeout: "soon" is not a positive Go duration`},
		{"pending bytes", `{"maxPendingBytes":-1}`, `maxPendingBytes: want a positive integer`},
		{"condition not an object", `{"rules":[{"name":"a","when":[{"error":true}]}]}`, `rules[0].when: want an object`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var tg Targeting
			err := json.Unmarshal([]byte(tt.json), &tg)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

func TestRuleCompileErrorsNameThePath(t *testing.T) {
	tests := []struct {
		name string
		t    Targeting
		want string
	}{
		{"missing name", Targeting{Rules: []Rule{{When: Cond{Error: true}}}}, "rules[0].name: missing"},
		{"duplicate name", Targeting{Rules: []Rule{{Name: "a", When: Cond{Error: true}}, {Name: "a", When: Cond{Error: true}}}},
			`rules[1].name: "a" appears twice`},
		{"control character in name", Targeting{Rules: []Rule{{Name: "a\nb", When: Cond{Error: true}}}}, "rules[0].name:"},
		{"empty condition", Targeting{Rules: []Rule{{Name: "a", When: Cond{All: []Cond{{Error: true}, {}}}}}},
			"rules[0].when.all[1]: empty condition"},
		{"two fields set", Targeting{Rules: []Rule{{Name: "a", When: Cond{Not: &Cond{Event: "x", Device: "mobile"}}}}},
			"rules[0].when.not: 2 conditions in one object"},
		{"nesting too deep", Targeting{Rules: []Rule{{Name: "a", When: nestedCond(40)}}}, "nested deeper than 32"},
		{"negative idle timeout", Targeting{IdleTimeout: -time.Second}, "idleTimeout: must not be negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.t.compile()
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

func nestedCond(depth int) Cond {
	c := Cond{Error: true}
	for range depth {
		inner := c
		c = Cond{Not: &inner}
	}
	return c
}

func TestLoadSitesRuleErrorIsPrefixedBySiteAndTargeting(t *testing.T) {
	doc := `{"sites":[{"id":"shop","targeting":{"rules":[{"name":"a","when":{"error":true}},{"name":"b","when":{"error":true}},
		{"name":"c","when":{"all":[{"error":true},{"visit":"/checkout*"}]}}]}}]}`
	_, err := LoadSites(strings.NewReader(doc))
	require.Error(t, err)
	assert.Equal(t, `sites[0].targeting.rules[2].when.all[1]: unknown condition "visit" (want one of `+strings.Join(condKeys, ", ")+`)`, err.Error())
}

func TestRuleJSONRoundTripsThroughGoValues(t *testing.T) {
	doc := `{"rules":[
		{"name":"errors","when":{"error":true}},
		{"name":"abandoned checkout","when":{"all":[{"visited":"/checkout*"},{"not":{"visited":"/thanks*"}}]}},
		{"name":"mobile sample","when":{"all":[{"device":"mobile"},{"sample":0.05}]}},
		{"name":"misc","when":{"any":[{"event":"signup"},{"os":"iOS"},{"browser":"Safari"},{"minDuration":"30s"},{"rageClick":true},{"attr":{"plan":"pro"}}]}}
	],"idleTimeout":"10m","maxDuration":"2h","maxPendingBytes":1048576}`
	var got Targeting
	require.NoError(t, json.Unmarshal([]byte(doc), &got))
	want := Targeting{
		Rules: []Rule{
			{Name: "errors", When: Cond{Error: true}},
			{Name: "abandoned checkout", When: Cond{All: []Cond{{Visited: "/checkout*"}, {Not: &Cond{Visited: "/thanks*"}}}}},
			{Name: "mobile sample", When: Cond{All: []Cond{{Device: "mobile"}, {Sample: 0.05}}}},
			{Name: "misc", When: Cond{Any: []Cond{{Event: "signup"}, {OS: "iOS"}, {Browser: "Safari"},
				{MinDuration: 30 * time.Second}, {RageClick: true}, {Attr: map[string]string{"plan": "pro"}}}}},
		},
		IdleTimeout: 10 * time.Minute, MaxDuration: 2 * time.Hour, MaxPendingBytes: 1 << 20,
	}
	assert.Equal(t, want, got)

	out, err := json.Marshal(want)
	require.NoError(t, err)
	var again Targeting
	require.NoError(t, json.Unmarshal(out, &again))
	assert.Equal(t, want, again)
	_, err = want.compile()
	assert.NoError(t, err)
}

// evalCase evaluates one condition on a session, live and ended.
func TestRuleEvaluationIsThreeValued(t *testing.T) {
	base := storage.Session{
		ID: "sess-0001", Device: "mobile", OS: "iOS", Browser: "Safari",
		Pages:      []string{"https://shop.example/", "https://shop.example/checkout/pay?x=1"},
		Errors:     0,
		Events:     map[string]int{"signup": 2},
		DurationMs: 45_000,
		RageClicks: 0,
		Attrs:      map[string]string{"plan": "pro", "userId": "u1"},
	}
	withErr := base
	withErr.Errors = 1
	tests := []struct {
		name        string
		when        Cond
		s           storage.Session
		live, ended outcome
	}{
		{"error absent: not yet, then fails", Cond{Error: true}, base, notYet, fails},
		{"error present holds", Cond{Error: true}, withErr, holds, holds},
		{"visited path glob", Cond{Visited: "/checkout*"}, base, holds, holds},
		{"visited glob ignores the query", Cond{Visited: "/checkout/pay"}, base, holds, holds},
		{"visited is not a substring match", Cond{Visited: "/check"}, base, notYet, fails},
		{"visited with scheme matches the whole URL", Cond{Visited: "https://shop.example/checkout*"}, base, holds, holds},
		{"visited with another host", Cond{Visited: "https://other.example/*"}, base, notYet, fails},
		{"not visited stays not yet while live", Cond{Not: &Cond{Visited: "/thanks*"}}, base, notYet, holds},
		{"not of what happened fails", Cond{Not: &Cond{Visited: "/checkout*"}}, base, fails, fails},
		{"event present", Cond{Event: "signup"}, base, holds, holds},
		{"event tags are exact", Cond{Event: "sign"}, base, notYet, fails},
		{"device is case-insensitive", Cond{Device: "MOBILE"}, base, holds, holds},
		{"device decided at start", Cond{Device: "desktop"}, base, fails, fails},
		{"os exact", Cond{OS: "ios"}, base, holds, holds},
		{"os never a substring", Cond{OS: "i"}, base, fails, fails},
		{"browser exact", Cond{Browser: "safari"}, base, holds, holds},
		{"browser other", Cond{Browser: "Chrome"}, base, fails, fails},
		{"minDuration reached", Cond{MinDuration: 30 * time.Second}, base, holds, holds},
		{"minDuration not yet", Cond{MinDuration: time.Minute}, base, notYet, fails},
		{"rageClick absent", Cond{RageClick: true}, base, notYet, fails},
		{"attr all match", Cond{Attr: map[string]string{"plan": "pro"}}, base, holds, holds},
		{"attr values are exact", Cond{Attr: map[string]string{"plan": "Pro"}}, base, notYet, fails},
		{"attr every key must match", Cond{Attr: map[string]string{"plan": "pro", "team": "x"}}, base, notYet, fails},
		{"sample 1 holds", Cond{Sample: 1}, base, holds, holds},
		{"all: one fails", Cond{All: []Cond{{Error: true}, {Device: "desktop"}}}, base, fails, fails},
		{"all: one not yet", Cond{All: []Cond{{Device: "mobile"}, {Error: true}}}, base, notYet, fails},
		{"any: one holds", Cond{Any: []Cond{{Error: true}, {Device: "mobile"}}}, base, holds, holds},
		{"any: rest fail", Cond{Any: []Cond{{Error: true}, {Device: "desktop"}}}, base, notYet, fails},
		{"not of a start fact", Cond{Not: &Cond{Device: "desktop"}}, base, holds, holds},
		{"seed 1: a visit that hit an error", Cond{Error: true}, withErr, holds, holds},
		{"seed 2: checkout without thank-you", Cond{All: []Cond{{Visited: "/checkout*"}, {Not: &Cond{Visited: "/thanks*"}}}},
			base, notYet, holds},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := compileCond(&tt.when, 0)
			require.NoError(t, err)
			s := tt.s
			assert.Equal(t, tt.live, n.eval(&facts{s: &s}), "live")
			assert.Equal(t, tt.ended, n.eval(&facts{s: &s, ended: true}), "ended")
		})
	}
}

func TestRuleDecisionKeepsOnAnyDropsOnAll(t *testing.T) {
	tests := []struct {
		outs []outcome
		want decision
	}{
		{nil, keep},
		{[]outcome{fails, holds}, keep},
		{[]outcome{fails, notYet}, undecided},
		{[]outcome{notYet, notYet}, undecided},
		{[]outcome{fails, fails}, drop},
		{[]outcome{notYet, holds}, keep},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, decide(tt.outs), "%v", tt.outs)
	}
}

func TestRuleSampleIsDeterministicAndFine(t *testing.T) {
	// The same id gives the same answer, in this process and any other: the
	// hash has no seed, so its values are fixed (a change here changes which
	// sessions every deployment keeps).
	pinned := map[string]float64{
		"sess-0001":    0.010774371220834245,
		"AAAAAAAA":     0.21211138574447586,
		"zzzzzzzzzzzz": 0.2713035912221269,
	}
	for id, h := range pinned {
		assert.Equal(t, h, sampleHash(id), id)
	}
	assert.True(t, sampled("sess-0001", 0.0108), "0.010774 < 0.0108")
	assert.False(t, sampled("sess-0001", 0.0107), "0.010774 >= 0.0107: 1e-4 steps decide")

	// Rates are honoured to better than 1e-4, and sampled sets nest.
	const n = 400_000
	counts := map[float64]int{}
	rates := []float64{0.0001, 0.0002, 0.05, 0.5}
	for i := range n {
		h := sampleHash(fmt.Sprintf("session-%08d", i))
		for _, r := range rates {
			if h < r {
				counts[r]++
			}
		}
	}
	for _, r := range rates {
		got := float64(counts[r]) / n
		// 5 standard deviations of a binomial proportion.
		tol := 5 * math.Sqrt(r*(1-r)/n)
		assert.InDelta(t, r, got, tol, "rate %v", r)
	}
	assert.Greater(t, counts[0.0002], counts[0.0001], "1e-4 steps are distinguished")
}

func TestRuleSampleSessionIDIsHashedNotCompared(t *testing.T) {
	// Ids that share a prefix spread over the whole range.
	var lo, hi int
	for i := range 1000 {
		if sampleHash(fmt.Sprintf("aaaaaaaa%d", i)) < 0.5 {
			lo++
		} else {
			hi++
		}
	}
	assert.InDelta(t, 500, lo, 80)
	assert.InDelta(t, 500, hi, 80)
}

func TestRuleDemoSitesShipBothKindsOfDecision(t *testing.T) {
	f, err := os.Open("examples/demo/sites.json")
	require.NoError(t, err)
	defer f.Close()
	sites, err := LoadSites(f)
	require.NoError(t, err)
	site, err := sites.Site(context.Background(), "demo")
	require.NoError(t, err)
	cs, err := site.compile()
	require.NoError(t, err)
	assert.Equal(t, []string{"errors", "abandoned checkout"}, cs.rules.names)
	assert.True(t, site.Privacy.MaskAllInputs, "the demo keeps its privacy settings")

	errored := storage.Session{ID: "demo-0001", Errors: 1, Pages: []string{"http://127.0.0.1:8080/"}}
	abandoned := storage.Session{ID: "demo-0002", Pages: []string{"http://127.0.0.1:8080/", "http://127.0.0.1:8080/checkout"}}
	converted := storage.Session{ID: "demo-0003", Pages: []string{"http://127.0.0.1:8080/checkout", "http://127.0.0.1:8080/thanks"}}
	for _, tt := range []struct {
		s           storage.Session
		live, ended decision
	}{
		{errored, keep, keep},        // decided as the error arrives
		{abandoned, undecided, keep}, // decided when the visit ends
		{converted, undecided, drop}, // deleted when it ends without an error
	} {
		s := tt.s
		assert.Equal(t, tt.live, decide(cs.rules.evaluate(&facts{s: &s})), s.ID)
		assert.Equal(t, tt.ended, decide(cs.rules.evaluate(&facts{s: &s, ended: true})), s.ID)
	}
}
