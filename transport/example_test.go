package transport_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/sessionreplay/replay"
	"github.com/sessionreplay/replay/storage"
	"github.com/sessionreplay/replay/storage/memstore"
	"github.com/sessionreplay/replay/transport"
)

// A host application mounts the handler under /replay, and a Go client sends
// a batch and reads it back through the read API.
func Example() {
	sites, err := replay.NewStaticSites(&replay.Site{ID: "shop", Origins: []string{"https://shop.example"}})
	if err != nil {
		log.Fatal(err)
	}
	rec, err := replay.New(memstore.New(), sites, nil)
	if err != nil {
		log.Fatal(err)
	}
	h := transport.NewHandler(rec, &transport.Options{Authorizer: transport.BearerToken("read-token")})

	mux := http.NewServeMux()
	mux.Handle("/replay/", http.StripPrefix("/replay", h))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	ctx := context.Background()
	c := transport.NewClient(srv.URL+"/replay", &transport.ClientOptions{Token: "read-token"})
	b, err := replay.DecodeBatch([]byte(`{"site":"shop","session":"visit-0001","window":"page-1","seq":0,"events":[
		{"type":4,"data":{"href":"https://shop.example/","width":1280,"height":720},"timestamp":1780000000000},
		{"type":5,"data":{"tag":"signup","payload":{}},"timestamp":1780000001000}]}`))
	if err != nil {
		log.Fatal(err)
	}
	res, err := c.Send(ctx, b)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("accepted %d, record %t\n", res.Accepted, res.Record)

	page, err := c.Sessions(ctx, "shop", storage.Query{Event: "signup"})
	if err != nil {
		log.Fatal(err)
	}
	for _, s := range page.Sessions {
		fmt.Println(s.ID, s.EventCount, "events")
	}
	// Output:
	// accepted 2, record true
	// visit-0001 2 events
}
