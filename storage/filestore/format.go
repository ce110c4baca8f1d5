package filestore

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"strconv"
	"strings"

	"github.com/klauspost/compress/zstd"

	"github.com/sessionreplay/replay/storage"
)

// File formats. Everything read back from disk is checked: a damaged file is
// an error naming what is wrong, never a wrong chunk or session.

// chunkMagic starts every chunk file; the digit is the format version.
const chunkMagic = "RPC1"

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// encodeChunk returns the file contents for c: the magic, the event count
// (uvarint), the CRC-32C of the data (4 bytes, big endian), then the data.
func encodeChunk(c storage.Chunk) []byte {
	b := make([]byte, 0, len(chunkMagic)+binary.MaxVarintLen64+4+len(c.Data))
	b = append(b, chunkMagic...)
	b = binary.AppendUvarint(b, uint64(c.Events))
	b = binary.BigEndian.AppendUint32(b, crc32.Checksum(c.Data, castagnoli))
	return append(b, c.Data...)
}

// decodeChunk reads a file written by encodeChunk into c's Events and Data;
// Data aliases b.
func decodeChunk(b []byte, c *storage.Chunk) error {
	if !strings.HasPrefix(string(b[:min(len(b), len(chunkMagic))]), chunkMagic) {
		return errors.New("not a chunk file (bad magic)")
	}
	b = b[len(chunkMagic):]
	events, n := binary.Uvarint(b)
	if n <= 0 || events > math.MaxInt {
		return errors.New("bad event count")
	}
	b = b[n:]
	if len(b) < 4 {
		return errors.New("truncated checksum")
	}
	sum, data := binary.BigEndian.Uint32(b), b[4:]
	if crc32.Checksum(data, castagnoli) != sum {
		return errors.New("checksum mismatch")
	}
	c.Events, c.Data = int(events), data
	return nil
}

// chunkName is the file name of chunk (window, seq) in its session's
// directory: "<window>.<seq>.chunk", the window encoded by encodeName.
func chunkName(window string, seq int) string {
	return encodeName(window) + "." + strconv.Itoa(seq) + chunkExt
}

const chunkExt = ".chunk"

// parseChunkName is the inverse of chunkName.
func parseChunkName(name string) (window string, seq int, ok bool) {
	rest, ok := strings.CutSuffix(name, chunkExt)
	if !ok {
		return "", 0, false
	}
	w, s, ok := strings.Cut(rest, ".")
	if !ok {
		return "", 0, false
	}
	seq, err := strconv.Atoi(s)
	if err != nil || seq < 0 || strconv.Itoa(seq) != s {
		return "", 0, false
	}
	window, ok = decodeName(w)
	return window, seq, ok
}

// sessionFile is the JSON document of session.json. Opaque has its own
// field because storage.Session leaves it out of its JSON. The session is
// kept as storedSession, without the wire form's MarshalJSON, so a session
// reads back exactly as it was put (nil lists stay nil).
type sessionFile struct {
	Version int           `json:"v"`
	Session storedSession `json:"session"`
	Opaque  []byte        `json:"opaque,omitempty"`
}

type storedSession storage.Session

const sessionVersion = 1

// A session's metadata is kept, in the index and in the journal, as the
// JSON of sessionFile compressed with zstd: a typical session's 800 bytes
// take 470. Metadata written as plain JSON (session.json files, indexes
// and journals of earlier releases) still reads.

// maxSessionBytes bounds the decompressed metadata of one session, so
// that a damaged record cannot make the decoder allocate without limit.
const maxSessionBytes = 64 << 20

var (
	sessionEncoder = must(zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest),
		zstd.WithEncoderConcurrency(1), zstd.WithZeroFrames(true)))
	sessionDecoder = must(zstd.NewReader(nil, zstd.WithDecoderConcurrency(0),
		zstd.WithDecoderMaxMemory(maxSessionBytes)))
)

func must[T any](v T, err error) T {
	if err != nil {
		panic("filestore: " + err.Error())
	}
	return v
}

// zstdMagic starts every zstd frame; JSON never starts with it.
const zstdMagic = "\x28\xb5\x2f\xfd"

func encodeSession(s storage.Session) ([]byte, error) {
	b, err := json.Marshal(sessionFile{Version: sessionVersion, Session: storedSession(s), Opaque: s.Opaque})
	if err != nil {
		return nil, err
	}
	return sessionEncoder.EncodeAll(b, nil), nil
}

// decodeSession reads a session's metadata, compressed or plain JSON. The
// session must carry a valid site and id; the caller checks they are the
// ones its record names.
func decodeSession(b []byte) (storage.Session, error) {
	if strings.HasPrefix(string(b), zstdMagic) {
		var err error
		if b, err = sessionDecoder.DecodeAll(b, nil); err != nil {
			return storage.Session{}, fmt.Errorf("session metadata: %w", err)
		}
	}
	var f sessionFile
	if err := json.Unmarshal(b, &f); err != nil {
		return storage.Session{}, fmt.Errorf("session file: %w", err)
	}
	if f.Version != sessionVersion {
		return storage.Session{}, fmt.Errorf("session file: version %d, want %d", f.Version, sessionVersion)
	}
	s := storage.Session(f.Session)
	if !validID(s.Site) || !validID(s.ID) {
		return storage.Session{}, fmt.Errorf("session file: invalid key %q/%q", s.Site, s.ID)
	}
	s.Opaque = f.Opaque
	return s, nil
}

// validID reports whether id is one the store can hold: the charset and
// length of storage.ValidID, at least one character.
func validID(id string) bool { return storage.ValidID(id, 1) }

// encodeName maps a valid id to a file name that no two ids share, even on
// a case-insensitive file system: lower-case letters, digits and '-' stay,
// '_' becomes "__" and an upper-case letter X becomes "_x". The result never
// contains '.', so it is never "." or ".." and never looks like a temp file.
func encodeName(id string) string {
	var b strings.Builder
	b.Grow(len(id) + 4)
	for i := 0; i < len(id); i++ {
		switch c := id[i]; {
		case c == '_':
			b.WriteString("__")
		case 'A' <= c && c <= 'Z':
			b.WriteByte('_')
			b.WriteByte(c + 'a' - 'A')
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// decodeName is the inverse of encodeName; ok is false for a name that
// encodeName does not make from a valid id.
func decodeName(name string) (id string, ok bool) {
	var b strings.Builder
	b.Grow(len(name))
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c == '_':
			i++
			switch {
			case i == len(name):
				return "", false
			case name[i] == '_':
				b.WriteByte('_')
			case 'a' <= name[i] && name[i] <= 'z':
				b.WriteByte(name[i] - 'a' + 'A')
			default:
				return "", false
			}
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-':
			b.WriteByte(c)
		default:
			return "", false
		}
	}
	id = b.String()
	return id, validID(id)
}
