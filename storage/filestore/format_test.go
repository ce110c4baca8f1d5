package filestore

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sessionreplay/replay/storage"
)

func TestNamesAreDistinctIgnoringCase(t *testing.T) {
	tests := []struct{ id, name string }{
		{"abc", "abc"},
		{"ABC", "_a_b_c"},
		{"a_b", "a__b"},
		{"_A", "___a"},
		{"sess-09", "sess-09"},
	}
	seen := map[string]string{}
	for _, tt := range tests {
		got := encodeName(tt.id)
		assert.Equal(t, tt.name, got, tt.id)
		back, ok := decodeName(got)
		assert.True(t, ok)
		assert.Equal(t, tt.id, back)
		folded := strings.ToLower(got)
		assert.NotContains(t, seen, folded, "%s and %s share a file name ignoring case", tt.id, seen[folded])
		seen[folded] = tt.id
	}
	for _, bad := range []string{"", "A", "_", "a_", "_1", "a.b", ".tmp-x", "..", "a/b"} {
		_, ok := decodeName(bad)
		assert.False(t, ok, "%q is no encoded name", bad)
	}
}

func TestChunkNames(t *testing.T) {
	name := chunkName("Win_1", 12)
	assert.Equal(t, "_win__1.12.chunk", name)
	w, seq, ok := parseChunkName(name)
	assert.True(t, ok)
	assert.Equal(t, "Win_1", w)
	assert.Equal(t, 12, seq)
	for _, bad := range []string{"w.1", "w.01.chunk", "w.-1.chunk", "w.+1.chunk", "w..chunk", ".1.chunk", "session.json", ".tmp-w.1.chunk", "w.1.2.chunk"} {
		_, _, ok := parseChunkName(bad)
		assert.False(t, ok, bad)
	}
}

func TestChunkFormat(t *testing.T) {
	in := storage.Chunk{Window: "w", Seq: 3, Events: 300, Data: []byte("\x00compressed\xff")}
	b := encodeChunk(in)
	var out storage.Chunk
	require.NoError(t, decodeChunk(b, &out))
	assert.Equal(t, in.Events, out.Events)
	assert.Equal(t, in.Data, out.Data)

	for name, damaged := range map[string][]byte{
		"empty":       nil,
		"bad magic":   append([]byte("XXXX"), b[4:]...),
		"truncated":   b[:len(b)-1],
		"flipped bit": append(b[:len(b)-1:len(b)-1], b[len(b)-1]^0x80),
		"no checksum": b[:6],
	} {
		assert.Error(t, decodeChunk(damaged, &out), name)
	}
}

func TestSessionFormat(t *testing.T) {
	in := storage.Session{ID: "sess-0001", Site: "shop", Start: time.Date(2026, 3, 1, 12, 0, 0, 5e6, time.UTC), Opaque: []byte{0, 0xff}}
	b, err := encodeSession(in)
	require.NoError(t, err)
	out, err := decodeSession(b)
	require.NoError(t, err)
	assert.Equal(t, in, out)

	for name, bad := range map[string]string{
		"torn":        `{"v":1,"session":{"id":"sess-0001"`,
		"no version":  `{"session":{"id":"sess-0001","site":"shop"}}`,
		"bad key":     `{"v":1,"session":{"id":"../x","site":"shop"}}`,
		"no site":     `{"v":1,"session":{"id":"sess-0001"}}`,
		"not base64":  `{"v":1,"session":{"id":"sess-0001","site":"shop"},"opaque":"!!"}`,
		"wrong types": `{"v":1,"session":{"id":1,"site":"shop"}}`,
	} {
		_, err := decodeSession([]byte(bad))
		assert.Error(t, err, name)
	}

	// Metadata is kept compressed; plain JSON, as earlier releases wrote
	// it, still reads.
	typical := benchSession(7, 1000)
	b, err = encodeSession(typical)
	require.NoError(t, err)
	plain, err := json.Marshal(sessionFile{Version: sessionVersion, Session: storedSession(typical), Opaque: typical.Opaque})
	require.NoError(t, err)
	assert.Less(t, len(b), len(plain)*2/3)
	for _, enc := range [][]byte{b, plain} {
		out, err := decodeSession(enc)
		require.NoError(t, err)
		assert.Equal(t, typical, out)
	}
	_, err = decodeSession(b[:len(b)-3])
	assert.Error(t, err, "a torn frame")
}

// A full disk is reported as storage.ErrFull. /dev/full answers every write
// with ENOSPC, the error a full file system gives.
func TestFullDiskIsErrFull(t *testing.T) {
	f, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Skip("no /dev/full on this system:", err)
	}
	defer f.Close()
	_, werr := f.Write([]byte("x"))
	require.Error(t, werr)
	err = wrapErr("append", werr)
	assert.ErrorIs(t, err, storage.ErrFull)
	assert.ErrorContains(t, err, "no space left on device")
	assert.NotErrorIs(t, wrapErr("append", os.ErrPermission), storage.ErrFull)
}

// FuzzDecodeChunk feeds damaged chunk files to the decoder: it must never
// panic, and what it accepts must be what encodeChunk writes.
func FuzzDecodeChunk(f *testing.F) {
	f.Add(encodeChunk(storage.Chunk{Events: 3, Data: []byte("data")}))
	f.Add(encodeChunk(storage.Chunk{}))
	f.Add([]byte("RPC1"))
	f.Add([]byte("RPC1\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"))
	f.Fuzz(func(t *testing.T, b []byte) {
		var c storage.Chunk
		if err := decodeChunk(b, &c); err != nil {
			return
		}
		if c.Events < 0 {
			t.Fatalf("negative event count %d", c.Events)
		}
		if !bytes.HasSuffix(b, c.Data) {
			t.Fatalf("decoded data %x is not the end of the file %x", c.Data, b)
		}
		var again storage.Chunk
		if err := decodeChunk(encodeChunk(c), &again); err != nil || again.Events != c.Events || !bytes.Equal(again.Data, c.Data) {
			t.Fatalf("accepted %x, which does not survive a round trip: %v", b, err)
		}
	})
}

// FuzzDecodeSession feeds damaged session.json files to the decoder: it must
// never panic, and a session it accepts has a key that is safe as a path.
func FuzzDecodeSession(f *testing.F) {
	good, _ := encodeSession(storage.Session{ID: "sess-0001", Site: "shop", Pages: []string{"/"}, Opaque: []byte{1}})
	f.Add(good)
	f.Add([]byte(`{"v":1,"session":{"id":"..","site":"shop"}}`))
	f.Add([]byte(`{"v":1,"session":{"id":"sess-0001","site":"shop","events":{"a":1},"start":"2026-03-01T12:00:00Z"}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := decodeSession(b)
		if err != nil {
			return
		}
		if !storage.ValidID(s.Site, 1) || !storage.ValidID(s.ID, 1) {
			t.Fatalf("accepted invalid key %q/%q", s.Site, s.ID)
		}
		if _, err := encodeSession(s); err != nil {
			t.Fatalf("accepted a session it cannot write back: %v", err)
		}
	})
}

// FuzzName checks that decodeName accepts only what encodeName makes.
func FuzzName(f *testing.F) {
	for _, s := range []string{"abc", "_a", "a__b", "_", "A", "..", "a.b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		id, ok := decodeName(name)
		if !ok {
			return
		}
		if !storage.ValidID(id, 1) {
			t.Fatalf("decodeName(%q) = invalid id %q", name, id)
		}
		if enc := encodeName(id); enc != name {
			t.Fatalf("decodeName(%q) = %q, which encodes as %q", name, id, enc)
		}
	})
}
