package stats

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"math/bits"
	"slices"
)

// Bitset records one bit per image, in data order: which images a sub-network classified
// correctly. Two sub-networks evaluated on the same images are compared pairwise through it.
type Bitset struct {
	N     int      // images
	Words []uint64 // bit i of the set is Words[i/64] >> (i%64) & 1
}

// NewBitset makes an all-zero set of n bits.
func NewBitset(n int) Bitset { return Bitset{N: n, Words: make([]uint64, (n+63)/64)} }

// Set sets bit i.
func (b Bitset) Set(i int) { b.Words[i/64] |= 1 << (i % 64) }

// Get reports bit i.
func (b Bitset) Get(i int) bool { return b.Words[i/64]>>(i%64)&1 == 1 }

// Count is the number of set bits.
func (b Bitset) Count() int {
	c := 0
	for _, w := range b.Words {
		c += bits.OnesCount64(w)
	}
	return c
}

// Prefix is the set of the first n bits (n ≤ N), sharing nothing with b.
func (b Bitset) Prefix(n int) Bitset {
	p := NewBitset(n)
	copy(p.Words, b.Words)
	if r := n % 64; r != 0 {
		p.Words[len(p.Words)-1] &= 1<<r - 1
	}
	return p
}

// Encode writes the set compactly for journals and exports: base64 (standard, padded) of
// the bits packed little-endian, 8 images a byte. The length is kept elsewhere (the record's
// image count), so 10,000 images take 1,668 characters.
func (b Bitset) Encode() string {
	buf := make([]byte, len(b.Words)*8)
	for i, w := range b.Words {
		binary.LittleEndian.PutUint64(buf[8*i:], w)
	}
	return base64.StdEncoding.EncodeToString(buf[:(b.N+7)/8])
}

// DecodeBitset reads what Encode wrote for n images; bits past n must be zero.
func DecodeBitset(s string, n int) (Bitset, error) {
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return Bitset{}, fmt.Errorf("per-image results: %w", err)
	}
	if len(raw) != (n+7)/8 {
		return Bitset{}, fmt.Errorf("per-image results: %d bytes for %d images, want %d", len(raw), n, (n+7)/8)
	}
	// Only the last byte can hold bits past image n.
	if r := n % 8; r != 0 && raw[len(raw)-1]>>r != 0 {
		return Bitset{}, fmt.Errorf("per-image results: bits set past image %d", n)
	}
	b := NewBitset(n)
	buf := make([]byte, len(b.Words)*8)
	copy(buf, raw)
	for i := range b.Words {
		b.Words[i] = binary.LittleEndian.Uint64(buf[8*i:])
	}
	return b, nil
}

// PairedOf compares the per-image results of A and B on the same images.
func PairedOf(a, b Bitset) (Paired, error) {
	if a.N != b.N {
		return Paired{}, fmt.Errorf("per-image results on %d and %d images: a paired comparison needs the same images", a.N, b.N)
	}
	var both, onlyA, onlyB int
	for i := range a.Words {
		both += bits.OnesCount64(a.Words[i] & b.Words[i])
		onlyA += bits.OnesCount64(a.Words[i] &^ b.Words[i])
		onlyB += bits.OnesCount64(b.Words[i] &^ a.Words[i])
	}
	return ComparePaired(both, onlyA, onlyB, a.N-both-onlyA-onlyB), nil
}

// Equal reports whether b and o hold the same bits for the same number of images.
func (b Bitset) Equal(o Bitset) bool { return b.N == o.N && slices.Equal(b.Words, o.Words) }
