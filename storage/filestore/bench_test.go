package filestore_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/sessionreplay/replay/storage"
	"github.com/sessionreplay/replay/storage/filestore"
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
