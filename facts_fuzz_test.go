package replay

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/sessionreplay/replay/storage"
	"github.com/sessionreplay/replay/storage/memstore"
)

// FuzzFacts folds arbitrary batches, with arbitrary state left by earlier
// batches, into a session: the facts must stay within their bounds and
// never panic, whatever the events' data and the stored state hold.
func FuzzFacts(f *testing.F) {
	a, b := twoWindows()
	for _, evs := range [][]string{a, b, {clickEv(0, 1, 1), clickEv(1, 1, 1), clickEv(2, 1, 1)},
		{consoleErrEv(5, "error", "x"), resizeEv(6, 1, 2)}} {
		body := `{"site":"shop","session":"sess-0001","window":"w1","seq":0,"events":[`
		for i, e := range evs {
			if i > 0 {
				body += ","
			}
			body += e
		}
		f.Add([]byte(body+"]}"), []byte(`{"v":1,"pt":[[0,1]],"rb":{"w1":null},"ar":[[5,1]]}`))
	}
	f.Add([]byte(`{"site":"shop","session":"sess-0001","window":"w1","seq":0,"events":[{"type":3,"data":{"source":2,"type":2,"x":"a"},"timestamp":1}]}`), []byte(`null`))
	f.Fuzz(func(t *testing.T, body, opaque []byte) {
		batch, err := DecodeBatch(body)
		if err != nil {
			return
		}
		r, err := New(memstore.New(), StaticSites{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		s := storage.Session{ID: "sess-0001", Site: "shop", Opaque: opaque, Pages: []string{"/x"}}
		for range 2 {
			r.updateFacts(&s, loadFactState(&s), batch, Client{UserAgent: uaIPhone}, time.Unix(0, 0))
		}
		switch {
		case len(s.Pages) > maxPages:
			t.Fatalf("%d pages", len(s.Pages))
		case len(s.ErrorMessages) > maxErrorMessages || s.Errors < len(s.ErrorMessages):
			t.Fatalf("%d errors, %d messages", s.Errors, len(s.ErrorMessages))
		case s.RageClicks > s.Clicks:
			t.Fatalf("%d rage clicks of %d clicks", s.RageClicks, s.Clicks)
		case s.ActiveMs < 0:
			t.Fatalf("active %d ms", s.ActiveMs)
		case len(s.Events) > maxEventTags || len(s.Attrs) > maxAttrs:
			t.Fatalf("%d tags, %d attrs", len(s.Events), len(s.Attrs))
		case len(s.Pages) > 0 && s.EntryURL == "":
			t.Fatal("pages without an entry URL")
		}
		var st factState
		if err := json.Unmarshal(s.Opaque, &st); err != nil || len(st.PageTimes) != len(s.Pages) {
			t.Fatalf("state does not fit the facts: %v", err)
		}

		// Of a valid batch, the facts read from the tree validation keeps
		// are those read from Data.
		fromData := storage.Session{ID: "sess-0001", Site: "shop"}
		r.updateFacts(&fromData, loadFactState(&fromData), batch, Client{}, time.Unix(0, 0))
		if batch.Validate() != nil {
			return
		}
		fromTree := storage.Session{ID: "sess-0001", Site: "shop"}
		r.updateFacts(&fromTree, loadFactState(&fromTree), batch, Client{}, time.Unix(0, 0))
		if !reflect.DeepEqual(fromData, fromTree) {
			t.Fatalf("facts from Data:\n%+v\nfrom the tree:\n%+v", fromData, fromTree)
		}
	})
}

// FuzzTargetingJSON reads arbitrary targeting configuration: it is refused
// with a path or compiles, never panics, and what compiles round-trips.
func FuzzTargetingJSON(f *testing.F) {
	f.Add([]byte(`{"rules":[{"name":"a","when":{"all":[{"visited":"/checkout*"},{"not":{"visited":"/thank-you*"}}]}}],"idleTimeout":"1m"}`))
	f.Add([]byte(`{"rules":[{"name":"a","when":{"any":[{"sample":0.5},{"attr":{"k":"v"}},{"minDuration":"3s"}]}}]}`))
	f.Add([]byte(`{"rules":[{"name":"a","when":{"not":{"not":{"not":{"error":true}}}}}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var tg Targeting
		if err := json.Unmarshal(data, &tg); err != nil {
			return
		}
		rs, err := tg.compile()
		if err != nil {
			return
		}
		s := storage.Session{ID: "sess-0001", Pages: []string{"https://x/checkout"}}
		for _, ended := range []bool{false, true} {
			outs := rs.evaluate(&facts{s: &s, ended: ended})
			if ended {
				for _, o := range outs {
					if o == notYet {
						t.Fatal("a closed session left a rule undecided")
					}
				}
			}
		}
		out, err := json.Marshal(tg)
		if err != nil {
			t.Fatal(err)
		}
		var again Targeting
		if err := json.Unmarshal(out, &again); err != nil {
			t.Fatalf("%s does not read back: %v", out, err)
		}
	})
}
