package memstore_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/sessionreplay/replay/storage"
	"github.com/sessionreplay/replay/storage/memstore"
)

func ExampleNew() {
	ctx := context.Background()
	s := memstore.New()
	key := storage.Key{Site: "shop", Session: "sess-0001"}

	if err := s.Append(ctx, key, storage.Chunk{Window: "w1", Seq: 0, Events: 2, Data: []byte("compressed events")}); err != nil {
		log.Fatal(err)
	}
	// A retried batch is stored once.
	err := s.Append(ctx, key, storage.Chunk{Window: "w1", Seq: 0, Events: 2, Data: []byte("compressed events")})
	fmt.Println("retry:", err)

	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	if err := s.PutSession(ctx, storage.Session{ID: key.Session, Site: key.Site, State: storage.StateKept, Start: start, Device: "mobile"}); err != nil {
		log.Fatal(err)
	}
	page, err := s.List(ctx, storage.Query{Site: "shop", Device: "Mobile"})
	if err != nil {
		log.Fatal(err)
	}
	for _, sess := range page.Sessions {
		fmt.Println(sess.ID, sess.Start.Format(time.RFC3339))
	}
	for c, err := range s.Chunks(ctx, key, "") {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%s/%d: %d events, %q\n", c.Window, c.Seq, c.Events, c.Data)
	}
	// Output:
	// retry: memstore: append shop/sess-0001 window w1 seq 0: storage: chunk already stored
	// sess-0001 2026-03-01T12:00:00Z
	// w1/0: 2 events, "compressed events"
}
