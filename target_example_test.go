package replay_test

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/sessionreplay/replay"
	"github.com/sessionreplay/replay/storage/memstore"
)

// A site keeps the visits that hit an error and the visits that went to
// checkout but never reached the thank-you page. The first kind is decided
// as the error arrives; the second only when the visit ends.
func ExampleTargeting() {
	sites, err := replay.LoadSites(strings.NewReader(`{"sites": [{"id": "shop", "targeting": {
		"rules": [
			{"name": "errors", "when": {"error": true}},
			{"name": "abandoned checkout", "when": {"all": [
				{"visited": "/checkout*"}, {"not": {"visited": "/thank-you*"}}]}}
		],
		"idleTimeout": "30m"}}]}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	rec, _ := replay.New(memstore.New(), sites, &replay.Options{Now: func() time.Time { return now }})
	ctx := context.Background()
	send := func(session, href string, extra string) {
		b, err := replay.DecodeBatch([]byte(`{"site": "shop", "session": "` + session + `", "window": "w1", "seq": 0, "events": [
			{"type": 4, "data": {"href": "` + href + `", "width": 1280, "height": 720}, "timestamp": 1767268800000}` + extra + `]}`))
		if err != nil {
			fmt.Println(err)
			return
		}
		if _, err := rec.Ingest(ctx, b, replay.Client{}); err != nil {
			fmt.Println(err)
		}
	}
	show := func() {
		for _, id := range []string{"visit-error", "visit-abandoned", "visit-converted"} {
			s, err := rec.Session(ctx, "shop", id)
			if err != nil {
				fmt.Printf("%s: deleted\n", id)
				continue
			}
			fmt.Printf("%s: %s %v\n", id, s.State, s.MatchedRules)
		}
	}

	send("visit-error", "https://shop.example/", `, {"type": 5, "data": {"tag": "$error",
		"payload": {"message": "TypeError: x is undefined"}}, "timestamp": 1767268801000}`)
	send("visit-abandoned", "https://shop.example/checkout", "")
	send("visit-converted", "https://shop.example/thank-you", "")
	show()

	fmt.Println("-- 31 minutes later")
	now = now.Add(31 * time.Minute)
	if _, err := rec.Sweep(ctx, now); err != nil {
		fmt.Println(err)
	}
	show()
	// Output:
	// visit-error: kept [errors]
	// visit-abandoned: pending []
	// visit-converted: pending []
	// -- 31 minutes later
	// visit-error: kept [errors]
	// visit-abandoned: kept [abandoned checkout]
	// visit-converted: deleted
}
