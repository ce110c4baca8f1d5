package storage_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessionreplay/replay/storage"
	"github.com/sessionreplay/replay/storage/filestore"
	"github.com/sessionreplay/replay/storage/memstore"
)

// The back ends side by side: memstore is the baseline, so each filestore
// result reads as a ratio to it.

type backend struct {
	name string
	open func(b *testing.B) storage.Store
}

var backends = []backend{
	{"memstore", func(*testing.B) storage.Store { return memstore.New() }},
	{"filestore", func(b *testing.B) storage.Store {
		s, err := filestore.Open(b.TempDir(), nil)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { s.Close() })
		return s
	}},
}

// chunkData is the size of a typical chunk: a batch of a few seconds of
// events, zstd-compressed.
var chunkData = make([]byte, 16<<10)

// BenchmarkAppend appends 16 KiB chunks to one session, one after another,
// as the batches of one browser arrive. For filestore each Append is two
// fsyncs (file and directory), so this measures the disk's sync latency.
func BenchmarkAppend(b *testing.B) {
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			s := be.open(b)
			key := storage.Key{Site: "shop", Session: "sess-0001"}
			ctx := context.Background()
			b.SetBytes(int64(len(chunkData)))
			seq := 0
			for b.Loop() {
				if err := s.Append(ctx, key, storage.Chunk{Window: "w1", Seq: seq, Events: 100, Data: chunkData}); err != nil {
					b.Fatal(err)
				}
				if seq++; seq == 256 {
					// Bound the memory the benchmark holds, untimed.
					b.StopTimer()
					if err := s.Delete(ctx, key); err != nil {
						b.Fatal(err)
					}
					seq = 0
					b.StartTimer()
				}
			}
		})
	}
}

// BenchmarkAppendParallel appends from many goroutines, each its own
// session, as many browsers do at once. Every 256 chunks a goroutine deletes
// its session, which is timed here.
func BenchmarkAppendParallel(b *testing.B) {
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			s := be.open(b)
			ctx := context.Background()
			var sessions atomic.Int64
			b.SetBytes(int64(len(chunkData)))
			b.RunParallel(func(pb *testing.PB) {
				key := storage.Key{Site: "shop", Session: fmt.Sprintf("sess-%04d", sessions.Add(1))}
				for seq := 0; pb.Next(); seq++ {
					if err := s.Append(ctx, key, storage.Chunk{Window: "w1", Seq: seq, Events: 100, Data: chunkData}); err != nil {
						b.Error(err)
						return
					}
					if seq == 255 {
						// Bound the memory the benchmark holds.
						if err := s.Delete(ctx, key); err != nil {
							b.Error(err)
							return
						}
						seq = -1
					}
				}
			})
		})
	}
}

// BenchmarkList lists the first page (50) of a site among n sessions with
// no filter, with a filter that one session in four passes, and the last
// page of a walk by 500 (what the Recorder's Sweep does). Both back ends
// answer List from memory; filestore is filled with fewer sessions because
// each PutSession syncs the disk.
func BenchmarkList(b *testing.B) {
	for _, be := range backends {
		for _, n := range []int{1_000, 10_000} {
			if be.name == "filestore" && n > 1_000 && testing.Short() {
				continue
			}
			b.Run(fmt.Sprintf("%s/sessions=%d", be.name, n), func(b *testing.B) {
				s := be.open(b)
				fill(b, s, n)
				ctx := context.Background()
				for _, q := range []struct {
					name string
					q    storage.Query
				}{
					{"first", storage.Query{Site: "shop"}},
					{"filtered", storage.Query{Site: "shop", Device: "MOBILE", URL: "/checkout*"}},
					{"sweep", storage.Query{State: storage.FilterAny, Limit: 500}},
				} {
					b.Run(q.name, func(b *testing.B) {
						if q.name == "sweep" {
							// Start from the cursor of the second-to-last page.
							page, err := s.List(ctx, storage.Query{State: storage.FilterAny, Limit: n - 500})
							if err != nil {
								b.Fatal(err)
							}
							q.q.Cursor = page.Next
						}
						for b.Loop() {
							page, err := s.List(ctx, q.q)
							if err != nil || len(page.Sessions) == 0 {
								b.Fatal(err, len(page.Sessions))
							}
						}
					})
				}
			})
		}
	}
}

// fill puts n sessions: a quarter of them mobile on /checkout.
func fill(b *testing.B, s storage.Store, n int) {
	b.Helper()
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for i := range n {
		sess := storage.Session{
			ID: fmt.Sprintf("sess-%06d", i), Site: "shop", State: storage.StateKept,
			Start: start.Add(time.Duration(i) * time.Second), Device: "desktop",
			Pages:  []string{"https://shop.example/", "https://shop.example/products/42"},
			Events: map[string]int{"view": 3}, Attrs: map[string]string{"userId": "u"},
		}
		if i%4 == 0 {
			sess.Device = "mobile"
			sess.Pages = append(sess.Pages, "https://shop.example/checkout?step=1")
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := s.PutSession(context.Background(), sess); err != nil {
				b.Error(err)
			}
		}()
	}
	wg.Wait()
}
