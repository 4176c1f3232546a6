package rpki

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/ixrs/ixrs/policy"
)

// randVRPs returns a source of VRPs drawn from few prefixes, so that draws repeat: IPv6 /40s, and
// IPv4 /16s to /24s, a max length up to spread-1 beyond the prefix's. With masked false, the IPv4
// prefixes keep host bits, for NewTable to mask.
func randVRPs(rng *rand.Rand, spread int, masked bool) func() VRP {
	return func() VRP {
		if rng.IntN(4) == 0 {
			a := netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, byte(rng.IntN(4))})
			return VRP{Prefix: netip.PrefixFrom(a, 40), MaxLength: uint8(40 + rng.IntN(spread)), ASN: uint32(rng.IntN(3))}
		}
		bits := 16 + rng.IntN(9)
		p := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(rng.IntN(8)), byte(rng.IntN(4) << 6), 7}), bits)
		if masked {
			p = p.Masked()
		}
		return VRP{Prefix: p, MaxLength: uint8(bits + rng.IntN(spread)), ASN: uint32(rng.IntN(3))}
	}
}

// TestApplyMatchesRebuild: a chain of incremental snapshots, small batches (a serial's) and large
// ones mixed, always equals a table built from scratch from the same VRP set (and validates alike),
// and every earlier snapshot stays as it was.
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
			n = 300 // a reset's worth
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

// TestChangedSortedAgreesWithWalk: tables built from lists in rpki-client's order, in another
// order, and by apply keep their VRPs in order without duplicates and give the same Changed and
// Equal, which are the prefixes of the VRPs in one set and not in the other; and each prefix's VRPs
// are found whatever the order.
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
		for _, x := range []*Table{sa, ua, pa, sb, ub, pb} {
			if s := x.sortedVRPs(); !strictlySorted(s) {
				t.Fatalf("round %d: VRPs out of order or repeated: %v", round, s)
			}
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
					t.Fatalf("round %d: Changed = %v, want %v ", round, got, w)
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
				if vs := x.get(v.Prefix); !slices.Contains(vs, v) {
					t.Fatalf("round %d: %v not found", round, v)
				}
			}
		}
	}
}

// TestCoveringMatchesBruteForce: origin validation and its explanation through a sorted table's
// index (index.go), built from a list or by apply, agree with RFC 6811 worked out over the VRP list, for
// routes anywhere (inside VRP prefixes, around them, shorter and longer, other families), over
// tables of nested prefixes from /0 up, with runs of VRPs a fence key does not tell apart.
func TestCoveringMatchesBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	addr := func(v6 bool) netip.Addr {
		if v6 {
			// Addresses that differ only after the 63 bits a fence key holds, too.
			return netip.AddrFrom16([16]byte{0x20 | byte(rng.IntN(2)<<7), 0x01, 0x0d, 0xb8, byte(rng.IntN(4) << 6), byte(rng.IntN(2)), 7: byte(rng.IntN(2)), 8: byte(rng.IntN(2) << 7), 15: byte(rng.IntN(2))})
		}
		return netip.AddrFrom4([4]byte{10, byte(rng.IntN(4) << 6), byte(rng.IntN(4) << 6), byte(rng.IntN(2) << 7)})
	}
	prefix := func() netip.Prefix {
		v6 := rng.IntN(3) == 0
		bits := rng.IntN(33)
		if v6 {
			bits = rng.IntN(129)
		}
		return netip.PrefixFrom(addr(v6), bits).Masked()
	}
	for round := range 300 {
		var vrps []VRP
		for range rng.IntN(200) { // up to a dozen fences (fenceStep)
			p := prefix()
			vrps = append(vrps, VRP{Prefix: p, MaxLength: uint8(p.Bits() + rng.IntN(p.Addr().BitLen()-p.Bits()+1)), ASN: uint32(rng.IntN(4))})
		}
		sorted, applied := NewTable(vrps), (*Table)(nil).apply(vrps, nil)
		// Each prefix's link is to the longest prefix strictly covering it: the walk visits no more
		// prefixes than the route has covering it, and those on the way to them.
		s := sorted.sorted
		for i := range s {
			want := int32(-1)
			for j := range i {
				if (j == 0 || s[j-1].Prefix != s[j].Prefix) && covers(s[j].Prefix, s[i].Prefix) {
					want = int32(j) // later ones are longer
				}
			}
			if sorted.up[i] != want {
				t.Fatalf("round %d: link of %v is %d, want %d (table %v)", round, s[i], sorted.up[i], want, s)
			}
		}
		for range 50 {
			r, origin := prefix(), uint32(rng.IntN(4))
			want := policy.RPKINotFound
			var cover []VRP
			for _, v := range vrps {
				if v.Prefix.Bits() <= r.Bits() && v.Prefix.Contains(r.Addr()) {
					cover = append(cover, v)
					if want != policy.RPKIValid {
						want = policy.RPKIInvalidState
					}
					if origin != 0 && v.ASN == origin && r.Bits() <= int(v.MaxLength) {
						want = policy.RPKIValid
					}
				}
			}
			var found []VRP
			for vs := range sorted.covering(r) {
				found = append(found, vs...)
			}
			slices.SortFunc(cover, compareVRP)
			cover = slices.Compact(cover)
			slices.SortFunc(found, compareVRP)
			if !slices.Equal(found, cover) {
				t.Fatalf("round %d: VRPs covering %v: %v, want %v (table %v)", round, r, found, cover, vrps)
			}
			for _, x := range []*Table{sorted, applied} {
				if got := x.Validate(r, origin); got != want {
					t.Fatalf("round %d: Validate(%v, AS%d) = %v, want %v (table %v)", round, r, origin, got, want, vrps)
				}
			}
			// The explanation names the VRPs of the longest covering prefix first.
			slices.SortStableFunc(cover, func(a, b VRP) int { return b.Prefix.Bits() - a.Prefix.Bits() })
			wantWhy := "no covering VRP"
			var names []string
			for _, v := range cover {
				if origin != 0 && v.ASN == origin && r.Bits() <= int(v.MaxLength) {
					names = nil
					wantWhy = "VRP " + v.String()
					break
				}
				names = append(names, v.String())
			}
			if len(names) > 5 {
				wantWhy = "covering VRPs " + strings.Join(names[:5], ", ") + fmt.Sprintf(" and %d more", len(names)-5)
			} else if len(names) > 0 {
				wantWhy = "covering VRPs " + strings.Join(names, ", ")
			}
			if st, why := sorted.Explain(r, origin); st != want || why != wantWhy {
				t.Fatalf("round %d: Explain(%v, AS%d) = %v %q, want %v %q", round, r, origin, st, why, want, wantWhy)
			}
			if st, _ := applied.Explain(r, origin); st != want {
				t.Fatalf("round %d: Explain(%v, AS%d) built by apply = %v, want %v", round, r, origin, st, want)
			}
		}
	}
}

// strictlySorted reports whether s is in compareVRP's order without repeats.
func strictlySorted(s []VRP) bool {
	for i := 1; i < len(s); i++ {
		if compareVRP(s[i-1], s[i]) >= 0 {
			return false
		}
	}
	return true
}
