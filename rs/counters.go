package rs

// bitCounters is one counter per session id, kept bit-sliced: for each word of 64 ids, plane k
// holds bit k of the 64 counters. Adding one to every counter of a set of ids in one word is a
// binary increment of the planes, which stops when no carry is left: a handful of word operations
// for up to 64 sessions, where one increment per session cost a loop iteration each. adjoutApply
// counts every prefix that reaches a session this way (exported per session and family): ten
// million counts while 100 members converge on 100,000 routes.
type bitCounters struct {
	planes [][counterBits]uint64 // per word of session ids
}

// counterBits is the width of a counter; a count never goes below zero or past 2^32-1.
const counterBits = 32

// grow makes room for ids below n.
func (c *bitCounters) grow(n int) {
	for len(c.planes)*64 < n {
		c.planes = append(c.planes, [counterBits]uint64{})
	}
}

// add adds one to the counter of every id j*64+b for the bits b of m.
func (c *bitCounters) add(j int, m uint64) {
	pl := &c.planes[j]
	for k := 0; m != 0 && k < counterBits; k++ {
		carry := pl[k] & m
		pl[k] ^= m
		m = carry
	}
}

// sub takes one from the counter of every id j*64+b for the bits b of m.
func (c *bitCounters) sub(j int, m uint64) {
	pl := &c.planes[j]
	for k := 0; m != 0 && k < counterBits; k++ {
		borrow := ^pl[k] & m
		pl[k] ^= m
		m = borrow
	}
}

// get returns id's counter.
func (c *bitCounters) get(id int) int {
	if id>>6 >= len(c.planes) {
		return 0
	}
	pl := &c.planes[id>>6]
	b := uint(id & 63)
	n := 0
	for k := range pl {
		n |= int(pl[k]>>b&1) << k
	}
	return n
}

// zero reports whether id's counter is zero.
func (c *bitCounters) zero(id int) bool {
	if id>>6 >= len(c.planes) {
		return true
	}
	pl := &c.planes[id>>6]
	var any uint64
	for k := range pl {
		any |= pl[k]
	}
	return any>>uint(id&63)&1 == 0
}
