package transport_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/sessionreplay/replay"
	"github.com/sessionreplay/replay/storage/memstore"
	"github.com/sessionreplay/replay/transport"
)

// benchBatch is the body of a busy page load after the session id (the
// body's first field, so that each iteration can name a new session by
// writing only the prefix): a full snapshot of a few hundred nodes, then
// mouse moves, clicks, scrolls, inputs and mutations, about 300 KB of JSON.
func benchBatch() []byte {
	var nodes []string
	id := 6
	for i := range 300 {
		id++
		nodes = append(nodes, fmt.Sprintf(`{"type":2,"tagName":"div","attributes":{"class":"row r%d","data-x":"%d"},"childNodes":[{"type":3,"textContent":"Item number %d with some text","id":%d}],"id":%d}`, i, i, i, id+1, id))
		id++
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, `,"site":"demo","window":"w1","seq":0,"events":[`)
	fmt.Fprintf(&b, `{"type":4,"data":{"href":"https://shop.example/products?id=1","width":1280,"height":720},"timestamp":1780000000000},`)
	fmt.Fprintf(&b, `{"type":2,"data":{"node":{"type":0,"childNodes":[{"type":1,"name":"html","publicId":"","systemId":"","id":2},{"type":2,"tagName":"html","attributes":{"lang":"en"},"childNodes":[{"type":2,"tagName":"head","attributes":{},"childNodes":[],"id":4},{"type":2,"tagName":"body","attributes":{},"childNodes":[%s],"id":5}],"id":3}],"id":1},"initialOffset":{"left":0,"top":0}},"timestamp":1780000000003}`, joinComma(nodes))
	ts := int64(1780000000100)
	for i := range 600 {
		ts += 50
		n := 7 + 2*(i%300)
		switch i % 6 {
		case 0, 1:
			fmt.Fprintf(&b, `,{"type":3,"data":{"source":1,"positions":[{"x":%d,"y":%d,"id":%d,"timeOffset":-40},{"x":%d,"y":%d,"id":%d,"timeOffset":-10}]},"timestamp":%d}`, i, i*2, n, i+3, i*2+1, n, ts)
		case 2:
			fmt.Fprintf(&b, `,{"type":3,"data":{"source":2,"type":2,"id":%d,"x":%d,"y":%d,"pointerType":0},"timestamp":%d}`, n, i, i, ts)
		case 3:
			fmt.Fprintf(&b, `,{"type":3,"data":{"source":3,"id":1,"x":0,"y":%d},"timestamp":%d}`, i*10, ts)
		case 4:
			fmt.Fprintf(&b, `,{"type":3,"data":{"source":5,"text":"typed text %d","isChecked":false,"id":%d},"timestamp":%d}`, i, n, ts)
		case 5:
			fmt.Fprintf(&b, `,{"type":3,"data":{"source":0,"texts":[{"id":%d,"value":"updated %d"}],"attributes":[{"id":%d,"attributes":{"class":"row active"}}],"removes":[],"adds":[]},"timestamp":%d}`, n+1, i, n, ts)
		}
	}
	b.WriteString(`]}`)
	return b.Bytes()
}

func joinComma(s []string) string {
	var b bytes.Buffer
	for i, x := range s {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(x)
	}
	return b.String()
}

// withSession writes the body of iteration i: a new session each time, so
// that every batch goes through the whole pipeline rather than the retry
// path.
func withSession(buf []byte, i int, rest []byte) []byte {
	buf = append(buf[:0], `{"session":"bench-session-`...)
	buf = strconv.AppendInt(buf, int64(i), 10)
	buf = append(buf, '"')
	return append(buf, rest...)
}

func benchHandler(b *testing.B) http.Handler {
	sites, err := replay.NewStaticSites(&replay.Site{ID: "demo"})
	if err != nil {
		b.Fatal(err)
	}
	rec, err := replay.New(memstore.New(), sites, nil)
	if err != nil {
		b.Fatal(err)
	}
	return transport.NewHandler(rec, nil)
}

// BenchmarkDecodeBatch is the baseline: the same bodies through
// replay.DecodeBatch alone.
func BenchmarkDecodeBatch(b *testing.B) {
	rest := benchBatch()
	var buf []byte
	b.SetBytes(int64(len(withSession(nil, 0, rest))))
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		buf = withSession(buf, i, rest)
		if _, err := replay.DecodeBatch(buf); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkIngestHandler is the whole ingest path through the handler:
// limits, decompression, decoding, the Recorder's pipeline and a memstore.
// Throughput is of decompressed JSON.
func BenchmarkIngestHandler(b *testing.B) {
	rest := benchBatch()
	b.Run("plain", func(b *testing.B) {
		h := benchHandler(b)
		var buf []byte
		b.SetBytes(int64(len(withSession(nil, 0, rest))))
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			buf = withSession(buf, i, rest)
			serveIngest(b, h, buf, "")
		}
	})
	b.Run("plain-transport-only", func(b *testing.B) {
		// Refused by the origin check, which comes after decoding and
		// before the Recorder: this is the handler's own cost (limits,
		// reading, decoding, CORS), to compare with BenchmarkDecodeBatch.
		h := benchHandler(b)
		var buf []byte
		b.SetBytes(int64(len(withSession(nil, 0, rest))))
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			buf = withSession(buf, i, rest)
			req := httptest.NewRequest(http.MethodPost, "/v1/ingest", bytes.NewReader(buf))
			req.Header.Set("Origin", "https://elsewhere.example")
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != http.StatusForbidden {
				b.Fatalf("status %d: %s", w.Code, w.Body.Bytes())
			}
		}
	})
	b.Run("gzip", func(b *testing.B) {
		// Two gzip members: the session prefix, compressed per
		// iteration, then the rest, compressed once.
		h := benchHandler(b)
		tail := gz(b, rest)
		var buf, body []byte
		b.SetBytes(int64(len(withSession(nil, 0, rest))))
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			buf = withSession(buf, i, nil)
			body = append(append(body[:0], gz(b, buf)...), tail...)
			serveIngest(b, h, body, "gzip")
		}
	})
}

func serveIngest(b *testing.B, h http.Handler, body []byte, encoding string) {
	req := httptest.NewRequest(http.MethodPost, "/v1/ingest", bytes.NewReader(body))
	req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	if encoding != "" {
		req.Header.Set("Content-Encoding", encoding)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != http.StatusOK {
		b.Fatalf("status %d: %s", w.Code, w.Body.Bytes())
	}
	var res replay.Result
	if err := json.Unmarshal(w.Body.Bytes(), &res); err != nil || !res.Record {
		b.Fatalf("answer %s", w.Body.Bytes())
	}
}
