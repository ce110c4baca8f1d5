package filestore_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/sessionreplay/replay/internal/cputime"
	"github.com/sessionreplay/replay/storage"
	"github.com/sessionreplay/replay/storage/filestore"
	"github.com/sessionreplay/replay/storage/memstore"
)

// BenchmarkOpen measures a restart: Open of a directory holding 1000
// sessions of two chunks each opens the index and reads no session; see
// BenchmarkScale for a million.
func BenchmarkOpen(b *testing.B) {
	dir := b.TempDir()
	s, err := filestore.Open(dir, nil)
	if err != nil {
		b.Fatal(err)
	}
	for i := range 1000 {
		sess := session("shop", fmt.Sprintf("sess-%06d", i), base.Add(time.Duration(i)*time.Second))
		if err := s.PutSession(ctx, sess); err != nil {
			b.Fatal(err)
		}
		for seq := range 2 {
			if err := s.Append(ctx, storage.Key{Site: sess.Site, Session: sess.ID}, storage.Chunk{Window: "w1", Seq: seq, Data: []byte("x")}); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		s, err := filestore.Open(dir, nil)
		if err != nil {
			b.Fatal(err)
		}
		s.Close()
	}
}

// BenchmarkBatch measures what the Recorder asks of a store per batch,
// under one LockSession: read the session, append its chunk (64 KiB),
// reference the page's assets (8, of which a session's first batch
// stores 2 new) and write the session back; a session has 5 batches.
// memstore is the baseline, beside filestore (which syncs each batch).
// cpu-ns/op is the CPU time of the process per batch, which the load of
// other processes changes less than ns/op.
func BenchmarkBatch(b *testing.B) {
	for _, tc := range []struct {
		name string
		open func(b *testing.B) storage.Store
	}{
		{"memstore", func(*testing.B) storage.Store { return memstore.New() }},
		{"filestore", func(b *testing.B) storage.Store {
			s, err := filestore.Open(b.TempDir(), nil)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { s.Close() })
			return s
		}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			st := tc.open(b)
			data := make([]byte, 64<<10)
			rand.NewChaCha8([32]byte{1}).Read(data) // incompressible, as a chunk is
			asset := make([]byte, 4<<10)
			hashes := make([]string, 8)
			for i := range hashes {
				hashes[i] = fmt.Sprintf("%064x", i+1)
			}
			i := 0
			cpu0, _ := cputime.Process()
			for b.Loop() {
				key := storage.Key{Site: "shop", Session: fmt.Sprintf("sess-%08d", i/5)}
				seq := i % 5
				// Each session's first batch stores two assets of its own.
				own := []string{fmt.Sprintf("%064x", 1<<32+i), fmt.Sprintf("%064x", 2<<32+i)}
				i++
				err := storage.LockSession(ctx, st, key, func(st storage.Store) error {
					sess, err := st.Session(ctx, key)
					if errors.Is(err, storage.ErrNotFound) {
						sess = session(key.Site, key.Session, base)
					} else if err != nil {
						return err
					}
					if err := st.Append(ctx, key, storage.Chunk{Window: "w1", Seq: seq, Events: 100, Data: data}); err != nil {
						return err
					}
					as := st.(storage.AssetStore)
					refs := hashes
					if seq == 0 {
						refs = append(slices.Clone(hashes), own...)
					}
					missing, err := as.RefAssets(ctx, key, refs)
					if err != nil {
						return err
					}
					for _, h := range missing {
						if err := as.PutAsset(ctx, key, h, asset); err != nil {
							return err
						}
					}
					sess.LastSeen = base.Add(time.Duration(seq) * time.Second)
					sess.DurationMs = int64(seq) * 1000
					sess.Pages = append(sess.Pages, fmt.Sprintf("https://shop.example/p/%d", seq))
					return st.PutSession(ctx, sess)
				})
				if err != nil {
					b.Fatal(err)
				}
			}
			if cpu1, ok := cputime.Process(); ok {
				b.ReportMetric(float64(cpu1-cpu0)/float64(b.N), "cpu-ns/op")
			}
		})
	}
}
