package rpki

import (
	"maps"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"
)

// randVRPs returns a source of VRPs drawn from few prefixes, so that draws repeat: IPv6 /40s, and
// IPv4 /16s to /24s, a max length up to spread-1 beyond the prefix's. With masked false, the IPv4
// prefixes keep host bits, for NewTable to mask.
func randVRPs(rng *rand.Rand, spread int, masked bool) func() VRP {
	return func() VRP {
		if rng.IntN(4) == 0 {
			a := netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, byte(rng.IntN(4))})
			return VRP{Prefix: netip.PrefixFrom(a, 40), MaxLength: 40 + rng.IntN(spread), ASN: uint32(rng.IntN(3))}
		}
		bits := 16 + rng.IntN(9)
		p := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(rng.IntN(8)), byte(rng.IntN(4) << 6), 7}), bits)
		if masked {
			p = p.Masked()
		}
		return VRP{Prefix: p, MaxLength: bits + rng.IntN(spread), ASN: uint32(rng.IntN(3))}
	}
}

// TestApplyMatchesRebuild: a chain of incremental snapshots, small (persistent path) and large
// (clone path) batches mixed, always equals a table built from scratch from the same VRP set (and
// validates alike), counts its dead prefixes right, and every earlier snapshot stays as it was.
func TestApplyMatchesRebuild(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	randVRP := randVRPs(rng, 9, true)
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
			switch rng.IntN(3) {
			case 0:
				adds = append(adds, v)
			case 1:
				dels = append(dels, v) // mostly absent
			default: // present: a prefix loses a VRP, often its last
				if len(set) > 0 {
					present := slices.SortedFunc(maps.Keys(set), func(a, b VRP) int { return strings.Compare(a.String(), b.String()) })
					v = present[rng.IntN(len(present))]
				}
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
		dead := 0
		for _, vs := range cur.trie().All() {
			if len(vs) == 0 {
				dead++
			}
		}
		if dead != cur.dead {
			t.Fatalf("step %d: %d prefixes without VRPs in the trie, dead says %d", step, dead, cur.dead)
		}
		for range 20 {
			v := randVRP()
			if g, w := cur.Validate(v.Prefix, v.ASN), want.Validate(v.Prefix, v.ASN); g != w {
				t.Fatalf("step %d: %v AS%d is %v, want %v", step, v.Prefix, v.ASN, g, w)
			}
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

// TestChangedSortedAgreesWithWalk: tables built from lists in rpki-client's order (compared by
// merging their sorted arrays) and the same VRPs in another order or built by apply (compared by
// walking the trie) give the same Changed and Equal, which are the prefixes of the VRPs in one
// set and not in the other; and each prefix's VRPs are found whatever the order.
func TestChangedSortedAgreesWithWalk(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	randVRP := randVRPs(rng, 3, false)
	build := func(vs []VRP) (sorted, shuffled, applied *Table) {
		s := slices.Clone(vs)
		slices.SortFunc(s, func(a, b VRP) int {
			a.Prefix, b.Prefix = a.Prefix.Masked(), b.Prefix.Masked()
			return compareVRP(a, b)
		})
		sh := slices.Clone(vs)
		rng.Shuffle(len(sh), func(i, j int) { sh[i], sh[j] = sh[j], sh[i] })
		shuffled = NewTable(sh)
		if len(sh) > 1 && slices.IsSortedFunc(sh, compareVRP) {
			shuffled = nil // rare: the shuffle left it sorted; skip that comparison
		}
		return NewTable(s), shuffled, (*Table)(nil).apply(vs, nil)
	}
	for round := range 300 {
		var a, b []VRP
		for range rng.IntN(60) {
			v := randVRP()
			switch rng.IntN(4) {
			case 0:
				a = append(a, v)
			case 1:
				b = append(b, v)
			default:
				a, b = append(a, v), append(b, v, v) // b lists it twice
			}
		}
		inA, inB := map[VRP]bool{}, map[VRP]bool{}
		for _, v := range a {
			v.Prefix = v.Prefix.Masked()
			inA[v] = true
		}
		for _, v := range b {
			v.Prefix = v.Prefix.Masked()
			inB[v] = true
		}
		want := map[netip.Prefix]bool{}
		for v := range inA {
			if !inB[v] {
				want[v.Prefix] = true
			}
		}
		for v := range inB {
			if !inA[v] {
				want[v.Prefix] = true
			}
		}
		sa, ua, pa := build(a)
		sb, ub, pb := build(b)
		if _, ok := sa.sortedVRPs(); !ok {
			t.Fatalf("round %d: a table built from a sorted list keeps no sorted array", round)
		}
		if _, ok := sb.sortedVRPs(); !ok {
			t.Fatalf("round %d: a table built from a sorted list keeps no sorted array", round)
		}
		for _, x := range []*Table{sa, ua, pa} {
			for _, y := range []*Table{sb, ub, pb} {
				if x == nil || y == nil {
					continue
				}
				got := Changed(x, y).Prefixes()
				slices.SortFunc(got, netip.Prefix.Compare)
				w := slices.SortedFunc(maps.Keys(want), netip.Prefix.Compare)
				if !slices.Equal(got, w) {
					t.Fatalf("round %d: Changed = %v, want %v (sorted arrays: %v, %v)", round, got, w, x.sorted != nil, y.sorted != nil)
				}
				if eq := Equal(x, y); eq != (len(want) == 0) {
					t.Fatalf("round %d: Equal = %v with %d differing prefixes", round, eq, len(want))
				}
			}
		}
		for _, x := range []*Table{sb, ub, pb} {
			if x == nil {
				continue
			}
			if v4, v6 := x.Len(); v4+v6 != len(inB) {
				t.Fatalf("round %d: %d VRPs counted, want %d", round, v4+v6, len(inB))
			}
			for v := range inB {
				if vs, _ := x.trie().Get(v.Prefix); !slices.Contains(vs, v) {
					t.Fatalf("round %d: %v not found", round, v)
				}
			}
		}
	}
}
