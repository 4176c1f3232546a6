package rs

import (
	"math/rand/v2"
	"testing"
)

// TestBitCounters runs random adds and subtracts of random masks (never below zero) against plain
// counters, across words and up to carries through every plane.
func TestBitCounters(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const ids = 200
	var c bitCounters
	c.grow(ids)
	want := make([]int, ids)
	for step := range 20000 {
		j := rng.IntN((ids + 63) / 64)
		m := rng.Uint64()
		if rng.IntN(8) == 0 {
			m = 1 << rng.IntN(64)
		}
		if j*64+64 > ids {
			m &= 1<<(ids-j*64) - 1
		}
		if rng.IntN(3) == 0 {
			for b := range 64 {
				if m>>b&1 == 1 && want[j*64+b] == 0 {
					m &^= 1 << b // a count never goes below zero
				}
			}
			c.sub(j, m)
			for b := range 64 {
				if m>>b&1 == 1 {
					want[j*64+b]--
				}
			}
		} else {
			c.add(j, m)
			for b := range 64 {
				if m>>b&1 == 1 {
					want[j*64+b]++
				}
			}
		}
		if step%97 == 0 {
			for id := range ids {
				if got := c.get(id); got != want[id] || c.zero(id) != (want[id] == 0) {
					t.Fatalf("step %d: id %d counts %d (zero %v), want %d", step, id, got, c.zero(id), want[id])
				}
			}
		}
	}
	// Carries through every plane: 2^31 and then one more, one counter only.
	var d bitCounters
	d.grow(64)
	d.planes[0][counterBits-1] = 1 << 5
	for k := 0; k < counterBits-1; k++ {
		d.planes[0][k] = 1 << 5
	}
	d.sub(0, 1<<5)
	d.add(0, 1<<5|1<<6)
	if d.get(5) != 1<<32-1 || d.get(6) != 1 || d.get(7) != 0 {
		t.Errorf("after the carries: %d %d %d", d.get(5), d.get(6), d.get(7))
	}
	if d.get(1000) != 0 || !d.zero(1000) {
		t.Errorf("an id past the counters counts")
	}
}
