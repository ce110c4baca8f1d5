package replay_test

import (
	"bytes"
	"context"
	"fmt"
	"log"
	"strings"

	"github.com/sessionreplay/replay"
	"github.com/sessionreplay/replay/storage/memstore"
)

// A batch from a page whose rrweb did no masking at all: the password typed
// into the form arrives in the clear. The Recorder masks it before anything
// is stored, and the read side serves the masked events.
func Example() {
	sites, err := replay.NewStaticSites(&replay.Site{ID: "shop"}) // the strict default policy
	if err != nil {
		log.Fatal(err)
	}
	rec, err := replay.New(memstore.New(), sites, nil)
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()

	b, err := replay.DecodeBatch([]byte(`{"site": "shop", "session": "visit-0001", "window": "w1", "seq": 0, "events": [
		{"type": 4, "data": {"href": "https://shop.example/login", "width": 1280, "height": 720}, "timestamp": 1767268800000},
		{"type": 2, "data": {"node": {"type": 0, "id": 1, "childNodes": [
			{"type": 2, "id": 2, "tagName": "html", "attributes": {}, "childNodes": [
				{"type": 2, "id": 3, "tagName": "body", "attributes": {}, "childNodes": [
					{"type": 2, "id": 4, "tagName": "input", "attributes": {"type": "password"}, "childNodes": []}]}]}]},
			"initialOffset": {"left": 0, "top": 0}}, "timestamp": 1767268800010},
		{"type": 3, "data": {"source": 5, "id": 4, "text": "hunter2", "isChecked": false}, "timestamp": 1767268801000}]}`))
	if err != nil {
		log.Fatal(err)
	}
	res, err := rec.Ingest(ctx, b, replay.Client{UserAgent: "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("accepted %d, record %v\n", res.Accepted, res.Record)

	s, err := rec.Session(ctx, "shop", "visit-0001")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(s.State, s.Pages, s.Browser, s.OS)

	var events bytes.Buffer
	if err := rec.Events(ctx, "shop", "visit-0001", "", &events); err != nil {
		log.Fatal(err)
	}
	fmt.Println("password stored:", strings.Contains(events.String(), "hunter2"))
	fmt.Println("masked input stored:", strings.Contains(events.String(), `"text":"*******"`))
	// Output:
	// accepted 3, record true
	// kept [https://shop.example/login] Chrome Linux
	// password stored: false
	// masked input stored: true
}
