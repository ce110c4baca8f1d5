package replay

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// FuzzLoadSites reads arbitrary site configuration: it is refused with an
// error that names where (a JSON decoding error or a field path under
// "sites[i]."), or every site it returns has compiled and can be asked
// for its browser options. It never panics.
func FuzzLoadSites(f *testing.F) {
	f.Add([]byte(`{"sites":[{"id":"demo","enabled":true,"origins":["http://localhost:8080"],
		"privacy":{"maskAllInputs":true,"maskInputTypes":["password"],"unmaskSelector":".search input",
		"maskTextSelector":".rr-mask, [data-private]","blockSelector":"iframe","scrub":["card","email","ssn"],
		"scrubPatterns":{"ssn":"\\d{3}-\\d{2}-\\d{4}"},"scrubQueryParams":["token"]},
		"targeting":{"rules":[{"name":"errors","when":{"error":true}}],"idleTimeout":"30m","maxDuration":"4h"},
		"retention":"720h"}]}`))
	f.Add([]byte(`{"sites":[{"id":"a"},{"id":"a"}]}`))
	f.Add([]byte(`{"sites":[{"id":"x","privacy":{"blockSelector":"div:has(p)"}}]}`))
	f.Add([]byte(`{"sites":[{"id":"x","retention":"-1h"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		sites, err := LoadSites(bytes.NewReader(data))
		if err != nil {
			if !strings.HasPrefix(err.Error(), "site configuration: ") && !strings.HasPrefix(err.Error(), "sites[") {
				t.Fatalf("error does not say where: %v", err)
			}
			return
		}
		for id, s := range sites {
			cs, err := s.compile()
			if err != nil {
				t.Fatalf("site %q loaded but does not compile: %v", id, err)
			}
			_ = cs.masker.RecordOptions()
			if _, err := sites.Site(t.Context(), id); err != nil {
				t.Fatalf("site %q loaded but not found: %v", id, err)
			}
		}
		if _, err := sites.Site(t.Context(), "no such site id"); !errors.Is(err, ErrUnknownSite) {
			t.Fatalf("unknown site: %v", err)
		}
	})
}
