package cssrules

import (
	"bytes"
	"maps"
	"slices"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/tdewolff/minify/v2"
	"github.com/tdewolff/minify/v2/css"
)

// BenchmarkMinify measures Minify beside the minifier used before
// (tdewolff's CSS minifier on the whole sheet, which drops empty rules)
// and beside storing sheets raw. Besides time it reports, summed over the
// sheets: bytes out, bytes gzipped and zstd-compressed one sheet at a
// time, and rules-lost, how many rules the output has fewer than the input.
// Set CSSRULES_CORPUS to a directory of .css files to measure on them too.
func BenchmarkMinify(b *testing.B) {
	sets := corpus(b)
	m := minify.New()
	m.AddFunc("text/css", css.Minify)
	for _, set := range slices.Sorted(maps.Keys(sets)) {
		sheets := sets[set]
		for _, method := range []struct {
			name string
			fn   func(string) string
		}{
			{"raw", func(s string) string { return s }},
			{"tdewolff", func(s string) string {
				out, err := m.String("text/css", s)
				if err != nil {
					return s
				}
				return out
			}},
			{"cssrules", Minify},
		} {
			b.Run(set+"/"+method.name, func(b *testing.B) {
				in := 0
				var out, gz, zst, lost float64
				for _, s := range sheets {
					in += len(s)
					o := method.fn(s)
					out += float64(len(o))
					gz += float64(gzipSize(b, o))
					zst += float64(zstdSize(b, o))
					lost += float64(ruleCount(s) - ruleCount(o))
				}
				b.SetBytes(int64(in))
				for b.Loop() {
					for _, s := range sheets {
						method.fn(s)
					}
				}
				b.ReportMetric(out, "out-B")
				b.ReportMetric(gz, "gzip-B")
				b.ReportMetric(zst, "zstd-B")
				b.ReportMetric(lost, "rules-lost")
			})
		}
	}
}

// ruleCount counts the rules of a sheet, nested ones included; -1 when it
// does not parse.
func ruleCount(s string) int {
	sheet, err := Parse(s)
	if err != nil {
		return -1
	}
	return len(flatten(sheet.Rules))
}

func gzipSize(b *testing.B, s string) int {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	if _, err := w.Write([]byte(s)); err != nil {
		b.Fatal(err)
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	return buf.Len()
}

func zstdSize(b *testing.B, s string) int {
	enc, err := zstd.NewWriter(nil)
	if err != nil {
		b.Fatal(err)
	}
	defer enc.Close()
	return len(enc.EncodeAll([]byte(s), nil))
}
