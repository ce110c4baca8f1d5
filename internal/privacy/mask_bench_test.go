package privacy

import (
	"testing"
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
