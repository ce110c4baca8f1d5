package corpus

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

func TestBatchesFlushEveryIntervalAndAtTheSizeLimit(t *testing.T) {
	ev := func(ts int, pad int) json.RawMessage {
		return json.RawMessage(fmt.Sprintf(`{"type":3,"data":{"p":"%s"},"timestamp":%d}`, strings.Repeat("x", pad), ts))
	}
	v := Visit{Name: "t", Events: []json.RawMessage{
		ev(1000, 0), ev(2000, 0), // the first batch: the timer fires at 6000
		ev(6000, 0),             // starts the second,
		ev(7000, MaxBatchBytes), // which reaches 512 KiB: flushed at once
		ev(7001, 0),             // the third, flushed by the timer at 11000
		ev(20000, 0),            // the last
	}}
	got := v.Batches("site", "session-1", "w1")
	var sizes []int
	for i, b := range got {
		if b.Seq != i {
			t.Fatalf("batch %d has seq %d", i, b.Seq)
		}
		var body struct {
			Site    string            `json:"site"`
			Session string            `json:"session"`
			Events  []json.RawMessage `json:"events"`
			Attrs   map[string]string `json:"attrs"`
		}
		if err := json.Unmarshal(b.Body, &body); err != nil {
			t.Fatalf("batch %d: %v", i, err)
		}
		if body.Site != "site" || body.Session != "session-1" || len(body.Events) != b.Events {
			t.Fatalf("batch %d: %+v", i, body)
		}
		sizes = append(sizes, b.Events)
	}
	if fmt.Sprint(sizes) != "[2 2 1 1]" {
		t.Fatalf("batch sizes %v, want [2 2 1 1]", sizes)
	}
}

func TestLoadReadsTheCommittedCorpus(t *testing.T) {
	dir, err := Dir()
	if err != nil {
		t.Fatal(err)
	}
	visits, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(visits) < 6 {
		t.Fatalf("%d visits", len(visits))
	}
	for _, v := range visits {
		if len(v.Events) < 20 || len(v.Batches("s", "session-1", "w")) < 2 {
			t.Errorf("%s: %d events", v.Name, len(v.Events))
		}
	}
}
