package transport_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/sessionreplay/replay"
	"github.com/sessionreplay/replay/storage/memstore"
	"github.com/sessionreplay/replay/transport"
)

// FuzzIngest sends arbitrary bodies, encodings and content types through the
// ingest handler: it must never panic nor answer 500, and every answer is
// either a result or an {"error": ...} with a status of API.md.
func FuzzIngest(f *testing.F) {
	valid := mustJSON(f, batch("demo", "session-fuzz-1", "w1", 0, 0, "signup"))
	f.Add(valid, "", "text/plain;charset=UTF-8", false)
	f.Add(gz(f, valid), "gzip", "application/json", false)
	f.Add(gz(f, valid), "", "", true)
	f.Add(gz(f, bytes.Repeat([]byte{0}, 1<<20)), "", "", false)
	f.Add([]byte(`{"site":"demo","session":"session-fuzz-2","window":"w","seq":0,"events":[{"type":3,"timestamp":1,"data":{"source":5,"id":99,"text":"x"}}]}`), "", "", false)
	f.Add([]byte(`{"site":"demo","session":"session-fuzz-2","window":"w","seq":1e30,"events":null}`), "", "", false)
	f.Add([]byte(`{"site":"nope","events":[{}]}`), "", "text/plain", false)
	f.Add([]byte{0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 0xff}, "x-gzip", "", false)
	f.Add([]byte(""), "br", "image/png", true)

	sites, err := replay.NewStaticSites(&replay.Site{ID: "demo", Origins: []string{shopOrigin}})
	if err != nil {
		f.Fatal(err)
	}
	rec, err := replay.New(memstore.New(), sites, nil)
	if err != nil {
		f.Fatal(err)
	}
	h := transport.NewHandler(rec, &transport.Options{MaxBodyBytes: 64 << 10, MaxDecodedBytes: 256 << 10})
	allowed := map[int]bool{200: true, 400: true, 403: true, 413: true, 415: true}

	f.Fuzz(func(t *testing.T, body []byte, encoding, contentType string, encQuery bool) {
		target := "/v1/ingest"
		if encQuery {
			target += "?enc=gzip"
		}
		req := httptest.NewRequest(http.MethodPost, target, bytes.NewReader(body))
		if encoding != "" {
			req.Header.Set("Content-Encoding", encoding)
		}
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if !allowed[w.Code] {
			t.Fatalf("status %d, body %s", w.Code, w.Body.Bytes())
		}
		var answer map[string]any
		if err := json.Unmarshal(w.Body.Bytes(), &answer); err != nil {
			t.Fatalf("answer is not JSON: %q", w.Body.Bytes())
		}
		if w.Code == 200 {
			if _, ok := answer["accepted"]; !ok {
				t.Fatalf("200 without accepted: %s", w.Body.Bytes())
			}
		} else if msg, _ := answer["error"].(string); msg == "" || len(answer) != 1 {
			t.Fatalf("error answer %s", w.Body.Bytes())
		}
	})
}
