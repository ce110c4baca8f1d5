// Package rrwebtest writes rrweb events as JSON for tests: a page's full
// snapshot, its elements and text, mutations and input. The builders are
// shared by the tests of the Recorder and of the privacy engine so that
// both speak of the same page.
package rrwebtest

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Quote returns s as a JSON string.
func Quote(s string) string { b, _ := json.Marshal(s); return string(b) }

// Element is a serialized element; attrs is the inside of a JSON object.
func Element(id int, tag, attrs string, kids ...string) string {
	return fmt.Sprintf(`{"type":2,"tagName":%q,"attributes":{%s},"childNodes":[%s],"id":%d}`, tag, attrs, strings.Join(kids, ","), id)
}

// Text is a serialized text node.
func Text(id int, s string) string {
	return fmt.Sprintf(`{"type":3,"textContent":%s,"id":%d}`, Quote(s), id)
}

// Meta is the Meta event of a checkout page, at 1000 ms.
const Meta = `{"type":4,"data":{"href":"https://shop.example/checkout","width":1280,"height":720},"timestamp":1000}`

// Snapshot is a FullSnapshot, at 1001 ms, whose body (id 5) holds body;
// ids 1-5 are taken.
func Snapshot(body ...string) string {
	return `{"type":2,"data":{"node":{"type":0,"id":1,"childNodes":[{"type":1,"name":"html","publicId":"","systemId":"","id":2},` +
		Element(3, "html", `"lang":"en"`, Element(4, "head", ""), Element(5, "body", "", body...)) +
		`]},"initialOffset":{"left":0,"top":0}},"timestamp":1001}`
}

// Mutation is a mutation event, at 1100 ms; body is the inside of its data
// after "source".
func Mutation(body string) string {
	return `{"type":3,"data":{"source":0,` + body + `},"timestamp":1100}`
}

// Recorded is the type and data of an event of a recorded page.
type Recorded struct {
	Type int
	Data string
}

// RecordedEvents returns the events of the recorded pages in dir (the
// repository's testdata/recordings), of the files at most maxFile bytes
// long: seeds for fuzz targets. Packed events are left out; a file that
// cannot be read or decoded adds nothing.
func RecordedEvents(dir string, maxFile int) []Recorded {
	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	var out []Recorded
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil || len(data) > maxFile {
			continue
		}
		var events []struct {
			Type int             `json:"type"`
			Data json.RawMessage `json:"data"`
		}
		if json.Unmarshal(data, &events) != nil {
			continue
		}
		for _, e := range events {
			out = append(out, Recorded{e.Type, string(e.Data)})
		}
	}
	return out
}
