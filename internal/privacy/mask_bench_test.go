package privacy

import (
	"encoding/json"
	"testing"

	"github.com/sessionreplay/replay/internal/corpus"
	"github.com/sessionreplay/replay/internal/jsonx"
)

// benchPolicies are the policies the corpus benchmarks mask with: the
// root package's default one, and one whose selectors depend on ancestors
// and siblings, with every scrub detector.
var benchPolicies = []struct {
	name string
	p    Policy
}{
	{"default", Policy{
		MaskAllInputs:    true,
		MaskInputTypes:   []string{"password", "email", "tel"},
		MaskTextSelector: ".rr-mask, [data-private]",
		BlockSelector:    "iframe, frame, object, embed, .rr-block",
		Scrub:            []string{"card"},
	}},
	{"selectors", Policy{
		MaskTextSelector: ".card-body p, li:first-child, [data-private], table td + td",
		BlockSelector:    ".rr-block, #secret, img[alt~=avatar]",
		UnmaskSelector:   "nav, .breadcrumb",
		Scrub:            []string{"card", "email", "digits"},
		ScrubPatterns:    map[string]string{"digits": `\d{6,}`},
		ScrubQueryParams: []string{"token", "q"},
	}},
}

// corpusVisit is one visit of testdata/corpus: its events with their data
// as text, decoded again before every pass.
type corpusVisit struct {
	events []Event
	bytes  int64
}

func loadCorpus(tb testing.TB) []corpusVisit {
	tb.Helper()
	dir, err := corpus.Dir()
	if err != nil {
		tb.Skip(err)
	}
	visits, err := corpus.Load(dir)
	if err != nil {
		tb.Fatal(err)
	}
	var out []corpusVisit
	for _, v := range visits {
		var cv corpusVisit
		for _, raw := range v.Events {
			var e struct {
				Type      int             `json:"type"`
				Timestamp float64         `json:"timestamp"`
				Data      json.RawMessage `json:"data"`
			}
			if err := json.Unmarshal(raw, &e); err != nil {
				tb.Fatal(err)
			}
			cv.events = append(cv.events, Event{Type: e.Type, Timestamp: e.Timestamp, Data: e.Data})
			cv.bytes += int64(len(e.Data))
		}
		out = append(out, cv)
	}
	return out
}

// decodeVisit returns the events of v with their data decoded into trees,
// as the Recorder hands them to MaskBatch.
func decodeVisit(tb testing.TB, v corpusVisit) []Event {
	events := make([]Event, len(v.events))
	for i, e := range v.events {
		d, err := jsonx.Decode(e.Data)
		if err != nil {
			tb.Fatal(err)
		}
		e.Tree, _ = d.(*jsonx.Object)
		events[i] = e
	}
	return events
}

// BenchmarkMaskCorpus masks the recorded visits of testdata/corpus as
// decoded trees, one window and one batch per visit, as the Recorder does
// after DecodeBatch. Style sheets are left as they are (the Recorder
// processes them through its own cache), so the figure is the masking
// pass's own. Decoding is not timed.
//
//	go test -run '^$' -bench MaskCorpus -benchtime 20x ./internal/privacy
func BenchmarkMaskCorpus(b *testing.B) {
	visits := loadCorpus(b)
	var total int64
	for _, v := range visits {
		total += v.bytes
	}
	for _, bp := range benchPolicies {
		b.Run(bp.name, func(b *testing.B) {
			m, err := Compile(&bp.p)
			if err != nil {
				b.Fatal(err)
			}
			m = m.WithCSS(func(s string) string { return s })
			b.SetBytes(total)
			b.ReportAllocs()
			for b.Loop() {
				b.StopTimer()
				batches := make([][]Event, len(visits))
				for i, v := range visits {
					batches[i] = decodeVisit(b, v)
				}
				b.StartTimer()
				for _, events := range batches {
					if _, _, err := NewMirror().MaskBatch(m, events, false); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}
