package rs

import "math/bits"

// bitset is a set of dense session ids. Adj-RIB-Out entries carry one per prefix and outgoing
// attribute set, so it grows only as far as the highest id it holds.
type bitset []uint64

func (b bitset) has(i int) bool {
	w := i >> 6
	return w < len(b) && b[w]&(1<<(uint(i)&63)) != 0
}

func (b *bitset) set(i int) {
	w := i >> 6
	if w >= len(*b) {
		n := make(bitset, w+1)
		copy(n, *b)
		*b = n
	}
	(*b)[w] |= 1 << (uint(i) & 63)
}

func (b bitset) clear(i int) {
	if w := i >> 6; w < len(b) {
		b[w] &^= 1 << (uint(i) & 63)
	}
}

func (b bitset) empty() bool {
	for _, w := range b {
		if w != 0 {
			return false
		}
	}
	return true
}

func (b bitset) count() int {
	n := 0
	for _, w := range b {
		n += bits.OnesCount64(w)
	}
	return n
}

// each calls f for every id in the set, in increasing order.
func (b bitset) each(f func(int)) {
	for wi, w := range b {
		for w != 0 {
			t := bits.TrailingZeros64(w)
			f(wi<<6 | t)
			w &^= 1 << uint(t)
		}
	}
}

func (b bitset) any() bool { return !b.empty() }

func (b bitset) equal(o bitset) bool {
	n := max(len(b), len(o))
	for i := 0; i < n; i++ {
		if b.word(i) != o.word(i) {
			return false
		}
	}
	return true
}

// word returns word i, zero beyond the end.
func (b bitset) word(i int) uint64 {
	if i < len(b) {
		return b[i]
	}
	return 0
}

func (b bitset) intersects(o bitset) bool {
	for i := range min(len(b), len(o)) {
		if b[i]&o[i] != 0 {
			return true
		}
	}
	return false
}

// hash mixes the set's words, trailing zero words ignored, so equal sets hash equal whatever
// their lengths.
func (b bitset) hash() uint64 {
	h := uint64(14695981039346656037)
	for i, w := range b {
		if w != 0 {
			h ^= w + uint64(i)*0x9e3779b97f4a7c15
			h *= 1099511628211
			h ^= h >> 29
		}
	}
	return h
}

// andInto sets dst to a ∩ b over dst's length.
func andInto(dst, a, b bitset) {
	for i := range dst {
		dst[i] = a.word(i) & b.word(i)
	}
}

// orInto adds src to dst over dst's length.
func orInto(dst, src bitset) {
	for i := range min(len(dst), len(src)) {
		dst[i] |= src[i]
	}
}

// resize returns b with length n, keeping its words and zero-extending.
func resize(b bitset, n int) bitset {
	if cap(b) >= n {
		old := len(b)
		b = b[:n]
		if n > old {
			clear(b[old:])
		}
		return b
	}
	nb := make(bitset, n)
	copy(nb, b)
	return nb
}

// trimmed returns b without its trailing zero words (empty for an empty set).
func (b bitset) trimmed() bitset {
	n := len(b)
	for n > 0 && b[n-1] == 0 {
		n--
	}
	return b[:n]
}

func trailingZeros(w uint64) int { return bits.TrailingZeros64(w) }
