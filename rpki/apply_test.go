package rpki

import (
	"math/rand/v2"
	"net/netip"
	"testing"
)

// TestApplyMatchesRebuild: a chain of incremental snapshots, small (persistent path) and large
// (clone path) batches mixed, always equals a table built from scratch from the same VRP set, and
// every earlier snapshot stays as it was.
func TestApplyMatchesRebuild(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	randVRP := func() VRP {
		if rng.IntN(4) == 0 {
			a := netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, byte(rng.IntN(4))})
			return VRP{Prefix: netip.PrefixFrom(a, 40), MaxLength: 40 + rng.IntN(9), ASN: uint32(rng.IntN(3))}
		}
		bits := 16 + rng.IntN(9)
		a := netip.AddrFrom4([4]byte{10, byte(rng.IntN(8)), byte(rng.IntN(4) << 6), 0})
		p := netip.PrefixFrom(a, bits).Masked()
		return VRP{Prefix: p, MaxLength: bits + rng.IntN(33-bits), ASN: uint32(rng.IntN(3))}
	}
	set := map[VRP]bool{}
	var cur *Table
	type snap struct {
		t   *Table
		set map[VRP]bool
	}
	var snaps []snap
	for step := range 200 {
		n := 1 + rng.IntN(5)
		if step%20 == 0 {
			n = 300 // a batch large enough for the clone path
		}
		var adds, dels []VRP
		for range n {
			v := randVRP()
			if rng.IntN(2) == 0 {
				adds = append(adds, v)
			} else {
				dels = append(dels, v)
			}
		}
		for _, v := range dels {
			delete(set, v)
		}
		for _, v := range adds {
			set[v] = true
		}
		cur = cur.apply(adds, dels)
		cp := make(map[VRP]bool, len(set))
		var all []VRP
		for v := range set {
			cp[v] = true
			all = append(all, v)
		}
		snaps = append(snaps, snap{cur, cp})
		want := NewTable(all)
		if d := Changed(want, cur); d.Len() != 0 {
			t.Fatalf("step %d: incremental table differs at %v", step, d.Prefixes())
		}
		if w4, w6 := want.Len(); func() bool { g4, g6 := cur.Len(); return g4 != w4 || g6 != w6 }() {
			t.Fatalf("step %d: counts differ", step)
		}
	}
	for i, s := range snaps {
		n := 0
		for v := range s.t.All {
			n++
			if !s.set[v] {
				t.Fatalf("snapshot %d changed: has %v", i, v)
			}
		}
		if n != len(s.set) {
			t.Fatalf("snapshot %d changed: %d VRPs, want %d", i, n, len(s.set))
		}
	}
}
