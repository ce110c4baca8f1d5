// Package corpus loads the recorded visits of testdata/corpus and cuts them
// into the batches recorder.js would send: a batch every 5 seconds, or as
// soon as the buffered events reach 512 KiB, whichever comes first, each
// body the JSON recorder.js writes.
//
// The functions are safe for concurrent use; a Visit and its batches are
// read-only once made.
package corpus

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
)

// recorder.js's defaults (transport/assets/recorder.js).
const (
	FlushInterval = 5000       // ms between flushes
	MaxBatchBytes = 512 * 1024 // a flush as soon as the buffer holds this much
)

// Visit is one recorded visit: its events as rrweb emitted them.
type Visit struct {
	Name   string
	Events []json.RawMessage
}

// Batch is one ingest request body, uncompressed, as recorder.js sends it.
type Batch struct {
	Seq    int
	Events int    // how many events it holds
	Body   []byte // {"site":..,"session":..,"window":..,"seq":..,"events":[..],"attrs":{}}
}

// Dir finds testdata/corpus from the working directory or its parents, so
// that the tools run from anywhere in the module.
func Dir() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := wd; ; d = filepath.Dir(d) {
		c := filepath.Join(d, "testdata", "corpus")
		if _, err := os.Stat(filepath.Join(c, "README.md")); err == nil {
			return c, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no testdata/corpus in %s or its parents", wd)
		}
	}
}

// Load reads every <visit>.json.gz of dir, sorted by name.
func Load(dir string) ([]Visit, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.json.gz"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no *.json.gz in %s", dir)
	}
	slices.Sort(files)
	var visits []Visit
	for _, f := range files {
		v, err := loadFile(f)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		visits = append(visits, v)
	}
	return visits, nil
}

func loadFile(name string) (Visit, error) {
	f, err := os.Open(name)
	if err != nil {
		return Visit{}, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return Visit{}, err
	}
	data, err := io.ReadAll(zr)
	if err != nil {
		return Visit{}, err
	}
	v := Visit{Name: filepath.Base(name[:len(name)-len(".json.gz")])}
	if err := json.Unmarshal(data, &v.Events); err != nil {
		return Visit{}, err
	}
	return v, nil
}

// Bytes is the size of the visit's event JSON.
func (v Visit) Bytes() int {
	n := 0
	for _, e := range v.Events {
		n += len(e)
	}
	return n
}

// Batches cuts the visit into the batches recorder.js would send for it as
// site, session and window: the flush timer runs every FlushInterval from
// the first event, and a batch is flushed as soon as its events reach
// MaxBatchBytes (so a batch may hold one event more than that).
func (v Visit) Batches(site, session, window string) []Batch {
	var (
		batches []Batch
		buf     []json.RawMessage
		bytes   int
		next    float64
	)
	flush := func() {
		if len(buf) == 0 {
			return
		}
		batches = append(batches, Batch{Seq: len(batches), Events: len(buf),
			Body: Body(site, session, window, len(batches), buf)})
		buf, bytes = nil, 0
	}
	for i, e := range v.Events {
		ts := timestamp(e)
		if i == 0 {
			next = ts + FlushInterval
		}
		for ts >= next {
			flush()
			next += FlushInterval
		}
		buf = append(buf, e)
		bytes += len(e) + 1
		if bytes >= MaxBatchBytes {
			flush()
		}
	}
	flush()
	return batches
}

// Body writes a batch body as recorder.js writes it.
func Body(site, session, window string, seq int, events []json.RawMessage) []byte {
	n := 128
	for _, e := range events {
		n += len(e) + 1
	}
	b := bytes.NewBuffer(make([]byte, 0, n))
	s, _ := json.Marshal(site)
	fmt.Fprintf(b, `{"site":%s,"session":"%s","window":"%s","seq":%s,"events":[`, s, session, window, strconv.Itoa(seq))
	for i, e := range events {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(e)
	}
	b.WriteString(`],"attrs":{}}`)
	return b.Bytes()
}

// timestamp reads an event's timestamp.
func timestamp(e json.RawMessage) float64 {
	var t struct {
		Timestamp float64 `json:"timestamp"`
	}
	json.Unmarshal(e, &t)
	return t.Timestamp
}
