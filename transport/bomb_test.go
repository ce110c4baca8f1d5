package transport_test

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"hash/crc32"
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// zeroBomb returns a gzip file (one member, one fixed-Huffman deflate block)
// that inflates to size zero bytes: a literal zero, then matches of length
// 258 at distance 1, 13 bits each, so 1 GiB takes under 7 MB. Writing it by
// hand takes milliseconds, where compressing 1 GiB would take seconds (and
// minutes under the race detector).
func zeroBomb(size int64) []byte {
	out := []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff} // gzip header: deflate, no name, unknown OS
	var acc uint64                                       // bits not yet written, LSB first
	var n uint
	flush := func() {
		for n >= 8 {
			out = append(out, byte(acc))
			acc >>= 8
			n -= 8
		}
	}
	bits := func(v uint64, width uint) { // a value, LSB first (block header)
		acc |= v << n
		n += width
		flush()
	}
	code := func(c uint64, width uint) { // a Huffman code, MSB first
		var r uint64
		for i := range width {
			r |= (c >> i & 1) << (width - 1 - i)
		}
		bits(r, width)
	}
	bits(1, 1) // BFINAL
	bits(1, 2) // BTYPE 01: fixed Huffman codes
	const literalZero, length258, distance1, endOfBlock = 0x30, 0xc5, 0, 0
	left := size
	if left > 0 {
		code(literalZero, 8)
		left--
	}
	for ; left >= 258; left -= 258 {
		code(length258, 8)
		code(distance1, 5)
	}
	for ; left > 0; left-- {
		code(literalZero, 8)
	}
	code(endOfBlock, 7)
	if n > 0 {
		out = append(out, byte(acc))
	}

	crc := uint32(0)
	zeros := make([]byte, 1<<20)
	for left := size; left > 0; left -= int64(len(zeros)) {
		crc = crc32.Update(crc, crc32.IEEETable, zeros[:min(left, int64(len(zeros)))])
	}
	out = binary.LittleEndian.AppendUint32(out, crc)
	return binary.LittleEndian.AppendUint32(out, uint32(size))
}

func TestZeroBombIsValidGzip(t *testing.T) {
	for _, size := range []int64{0, 1, 258, 259, 1000, 1 << 20} {
		zr, err := gzip.NewReader(bytes.NewReader(zeroBomb(size)))
		require.NoError(t, err)
		got, err := io.ReadAll(zr) // checks the CRC and the size too
		require.NoError(t, err, "size %d", size)
		assert.Equal(t, make([]byte, size), got, "size %d", size)
	}
}
