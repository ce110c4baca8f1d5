package privacy

import (
	"encoding/json"
	"testing"

	"github.com/sessionreplay/replay/internal/corpus"
	"github.com/sessionreplay/replay/internal/jsonx"
	"github.com/sessionreplay/replay/internal/rrwebtest"
)

// The event builders of package rrwebtest, by their short names here.
var (
	pq    = rrwebtest.Quote
	pel   = rrwebtest.Element
	ptxt  = rrwebtest.Text
	psnap = rrwebtest.Snapshot
	pmut  = rrwebtest.Mutation
)

const pMeta = rrwebtest.Meta

// maskEvent masks one event with a pass, for tests that need no dropping.
func (p *pass) maskEvent(e *Event) error {
	_, err := p.event(e)
	return err
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
		tb.Fatal(err)
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
