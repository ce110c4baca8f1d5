package filestore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/sessionreplay/replay/storage"
)

// The journal: chunks, session metadata, asset references and deletions
// are records appended to segment files journal/<n>.log (n in 16 hex
// digits, counting up, never reused). The writes of one session's
// LockSession (or of one plain call) form a group: its records, then a
// commit record. A group is applied whole or not at all.
//
// A record is a header of 8 bytes, the length of its body (uint32, big
// endian) and the CRC-32C of its body, then the body: a type byte and the
// payload. The commit record's payload holds the number of records of the
// group, the CRC-32C of their headers and the time of the commit. Deleting
// a session overwrites the bodies of its records with zeros (their headers
// stay, so the commit record still vouches for the group's shape) after a
// delete record that lists them was synced: a record whose body is zeros,
// or whose checksum fails, is readable only as "erased", and is accepted
// as such only when a later delete record lists it (see scanJournal).

const (
	journalDir      = "journal"
	segExt          = ".log"
	recHeader       = 8
	maxRecBody      = 1 << 30 // a record body larger than this is damage
	defaultSegBytes = 64 << 20
)

// maxSegBytes is the size past which the journal starts a new segment.
var maxSegBytes int64 = defaultSegBytes

// Record types.
const (
	recChunk   = 1
	recSession = 2
	recRefs    = 3
	recAsset   = 4
	recDelete  = 5
	recCommit  = 6
)

// extent is where a record lies: segment, offset of its header, length of
// header and body.
type extent struct {
	seg uint64
	off int64
	n   int64
}

// op is one record of a group, decoded.
type op struct {
	typ     byte
	key     storage.Key
	chunk   storage.Chunk   // recChunk
	sess    storage.Session // recSession
	data    []byte          // recSession: sess encoded by encodeSession, if known
	hashes  []string        // recRefs
	hash    string          // recAsset (its data in chunk.Data)
	extents []extent        // recDelete
	at      extent          // where the record is, once written or read
}

func segName(n uint64) string { return journalDir + "/" + fmt.Sprintf("%016x", n) + segExt }

func parseSegName(name string) (uint64, bool) {
	hex, ok := strings.CutSuffix(name, segExt)
	if !ok || len(hex) != 16 {
		return 0, false
	}
	n, err := strconv.ParseUint(hex, 16, 64)
	return n, err == nil && n > 0
}

func appendStr(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// appendBody appends the body of o's record to b: type and payload.
func appendBody(b []byte, o *op) ([]byte, error) {
	b = append(b, o.typ)
	switch o.typ {
	case recChunk:
		b = appendStr(b, o.key.Site)
		b = appendStr(b, o.key.Session)
		b = appendStr(b, o.chunk.Window)
		b = binary.AppendUvarint(b, uint64(o.chunk.Seq))
		b = binary.AppendUvarint(b, uint64(o.chunk.Events))
		b = append(b, o.chunk.Data...)
	case recSession:
		data := o.data
		if data == nil {
			var err error
			if data, err = encodeSession(o.sess); err != nil {
				return nil, err
			}
		}
		b = append(b, data...)
	case recRefs:
		b = appendStr(b, o.key.Site)
		b = appendStr(b, o.key.Session)
		b = binary.AppendUvarint(b, uint64(len(o.hashes)))
		for _, h := range o.hashes {
			b = appendStr(b, h)
		}
	case recAsset:
		b = appendStr(b, o.key.Site)
		b = appendStr(b, o.hash)
		b = append(b, o.chunk.Data...)
	case recDelete:
		b = appendStr(b, o.key.Site)
		b = appendStr(b, o.key.Session)
		b = binary.AppendUvarint(b, uint64(len(o.extents)))
		for _, e := range o.extents {
			b = binary.AppendUvarint(b, e.seg)
			b = binary.AppendUvarint(b, uint64(e.off))
			b = binary.AppendUvarint(b, uint64(e.n))
		}
	default:
		return nil, fmt.Errorf("unknown record type %d", o.typ)
	}
	return b, nil
}

// encodeGroup appends the records of ops and their commit record to buf,
// which starts at offset base of segment seg, and sets each op's extent.
func encodeGroup(buf []byte, seg uint64, base int64, ops []*op, at time.Time) ([]byte, error) {
	start := len(buf)
	hcrc := crc32.New(castagnoli)
	for _, o := range ops {
		// The body is appended after room for the header, which is
		// filled in once the body's length and checksum are known.
		off := len(buf)
		buf = append(buf, make([]byte, recHeader)...)
		var err error
		if buf, err = appendBody(buf, o); err != nil {
			return buf[:start], err
		}
		body := buf[off+recHeader:]
		if len(body) > maxRecBody {
			return buf[:start], fmt.Errorf("record of %d bytes: too large", len(body))
		}
		binary.BigEndian.PutUint32(buf[off:], uint32(len(body)))
		binary.BigEndian.PutUint32(buf[off+4:], crc32.Checksum(body, castagnoli))
		hcrc.Write(buf[off : off+recHeader])
		o.at = extent{seg: seg, off: base + int64(off-start), n: int64(len(buf) - off)}
	}
	body := []byte{recCommit}
	body = binary.AppendUvarint(body, uint64(len(ops)))
	body = binary.BigEndian.AppendUint32(body, hcrc.Sum32())
	body = binary.AppendVarint(body, at.UnixNano())
	buf = binary.BigEndian.AppendUint32(buf, uint32(len(body)))
	buf = binary.BigEndian.AppendUint32(buf, crc32.Checksum(body, castagnoli))
	return append(buf, body...), nil
}

// reader reads the fields of a record body; the first error sticks.
type reader struct {
	b   []byte
	err error
}

func (r *reader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = errors.New("bad varint")
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) int() int {
	v := r.uvarint()
	if v > math.MaxInt32 {
		r.fail("number out of range")
		return 0
	}
	return int(v)
}

func (r *reader) str(max int) string {
	n := r.uvarint()
	if r.err != nil {
		return ""
	}
	if n > uint64(max) || n > uint64(len(r.b)) {
		r.fail("string too long")
		return ""
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}

func (r *reader) id(what string) string {
	s := r.str(64)
	if r.err == nil && !validID(s) {
		r.fail("invalid " + what)
	}
	return s
}

func (r *reader) fail(msg string) {
	if r.err == nil {
		r.err = errors.New(msg)
	}
}

// decodeBody reads the body of a record other than a commit. Data of a
// chunk aliases body.
func decodeBody(body []byte) (*op, error) {
	if len(body) == 0 {
		return nil, errors.New("empty record")
	}
	o := &op{typ: body[0]}
	r := &reader{b: body[1:]}
	switch o.typ {
	case recChunk:
		o.key.Site, o.key.Session = r.id("site"), r.id("session")
		o.chunk.Window = r.id("window")
		o.chunk.Seq, o.chunk.Events = r.int(), r.int()
		o.chunk.Data = r.b
		r.b = nil
	case recSession:
		s, err := decodeSession(r.b)
		if err != nil {
			return nil, err
		}
		if strings.HasPrefix(string(r.b), zstdMagic) {
			o.data = r.b // the index keeps it as it is
		}
		o.sess, o.key, r.b = s, storage.Key{Site: s.Site, Session: s.ID}, nil
	case recRefs:
		o.key.Site, o.key.Session = r.id("site"), r.id("session")
		n := r.int()
		if r.err == nil && n > len(r.b) {
			r.fail("too many hashes")
		}
		for range n {
			if h := r.str(128); r.err == nil {
				if !storage.ValidAssetHash(h) {
					r.fail("invalid asset hash")
				}
				o.hashes = append(o.hashes, h)
			}
		}
	case recAsset:
		o.key.Site = r.id("site")
		o.hash = r.str(128)
		if r.err == nil && !storage.ValidAssetHash(o.hash) {
			r.fail("invalid asset hash")
		}
		o.chunk.Data, r.b = r.b, nil
	case recDelete:
		o.key.Site, o.key.Session = r.id("site"), r.id("session")
		n := r.int()
		if r.err == nil && n > len(r.b) {
			r.fail("too many extents")
		}
		for range n {
			e := extent{seg: r.uvarint(), off: int64(r.uvarint()), n: int64(r.uvarint())}
			if r.err == nil && (e.off < 0 || e.n < recHeader || e.n > maxRecBody+recHeader) {
				r.fail("bad extent")
			}
			o.extents = append(o.extents, e)
		}
	default:
		return nil, fmt.Errorf("unknown record type %d", o.typ)
	}
	if r.err == nil && len(r.b) != 0 {
		r.fail("trailing bytes")
	}
	if r.err != nil {
		return nil, fmt.Errorf("record type %d: %w", o.typ, r.err)
	}
	return o, nil
}

// jgroup is a group as scanJournal reads it: ops holds the readable
// records, bad the extents of the unreadable ones (erased or damaged).
type jgroup struct {
	start, end int64 // offsets in the segment
	ops        []*op
	bad        []extent
	at         time.Time
}

// scanJournal reads the groups of b, the bytes of segment seg from offset
// base on, and calls fn for each whole group, in order. It returns the
// offset where the valid groups end: a group cut short, a record whose
// header or commit does not check out, or zeros where a header should be
// end the scan there (a torn tail). It never fails: damage is reported by
// the offset. The cost is one pass over b.
func scanJournal(b []byte, seg uint64, base int64, fn func(g *jgroup) bool) int64 {
	pos := 0
	g := &jgroup{start: base}
	hcrc := crc32.New(castagnoli)
	count := 0
	for {
		if len(b)-pos < recHeader {
			return g.start
		}
		n := int(binary.BigEndian.Uint32(b[pos:]))
		sum := binary.BigEndian.Uint32(b[pos+4:])
		if n == 0 || n > maxRecBody || n > len(b)-pos-recHeader {
			return g.start
		}
		body := b[pos+recHeader : pos+recHeader+n]
		at := extent{seg: seg, off: base + int64(pos), n: int64(recHeader + n)}
		ok := crc32.Checksum(body, castagnoli) == sum
		if ok && body[0] == recCommit {
			r := &reader{b: body[1:]}
			cnt := r.uvarint()
			var want uint32
			if len(r.b) >= 4 && r.err == nil {
				want = binary.BigEndian.Uint32(r.b)
				r.b = r.b[4:]
			} else {
				r.fail("short commit")
			}
			ns, k := binary.Varint(r.b)
			if k <= 0 || k != len(r.b) {
				r.fail("bad commit time")
			}
			if r.err != nil || cnt != uint64(count) || want != hcrc.Sum32() {
				return g.start
			}
			pos += recHeader + n
			g.end = base + int64(pos)
			g.at = time.Unix(0, ns).UTC()
			if !fn(g) {
				return g.end
			}
			g = &jgroup{start: g.end}
			hcrc.Reset()
			count = 0
			continue
		}
		hcrc.Write(b[pos : pos+recHeader])
		count++
		var o *op
		if ok {
			var err error
			if o, err = decodeBody(body); err != nil {
				o = nil
			}
		}
		if o != nil {
			o.at = at
			g.ops = append(g.ops, o)
		} else {
			g.bad = append(g.bad, at)
		}
		pos += recHeader + n
	}
}
