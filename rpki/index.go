package rpki

import (
	"iter"
	"net/netip"
)

// The index of a table. In compareVRP's order a prefix comes before every prefix it covers, and
// those follow it before any later prefix it does not cover: the order is a walk of the prefix tree,
// each prefix before what it covers. So the prefixes that cover a route are found from one
// binary search: let e be the last VRP whose (address, length) is at most the route's. Every prefix
// Q that covers the route is at or before e, and e's prefix lies inside Q (e starts within Q's
// addresses, and two prefixes are nested or disjoint), so Q is e's prefix or one covering it. Each
// prefix's first VRP records the first VRP of the longest prefix strictly covering it (Table.up),
// and the walk from e along those links meets every covering prefix, the longest first, as a trie's
// supernet walk does. The links cost 4 bytes a VRP, one allocation for all, and nothing for the
// collector to scan; a trie took about 70 bytes and an allocation per prefix, 29 MB for 400,000 VRPs.

// fenceStep is how many VRPs of a sorted table one fence key stands for.
const fenceStep = 16

// fenceKey is a's place in compareVRP's order in 64 bits: IPv4 before IPv6, and within a family the
// address, IPv6 to its first 63 bits. Addresses in order have keys in order, so the key of a VRP less
// than the sought one says the answer is at it or after, a greater key that it is before.
func fenceKey(a netip.Addr) uint64 {
	if a.Is4() {
		b := a.As4()
		return uint64(b[0])<<24 | uint64(b[1])<<16 | uint64(b[2])<<8 | uint64(b[3])
	}
	b := a.As16()
	hi := uint64(b[0])<<56 | uint64(b[1])<<48 | uint64(b[2])<<40 | uint64(b[3])<<32 |
		uint64(b[4])<<24 | uint64(b[5])<<16 | uint64(b[6])<<8 | uint64(b[7])
	return 1<<63 | hi>>1
}

// index sets t's counts, up links and fences from t.sorted.
func (t *Table) index() {
	s := t.sorted
	if len(s) == 0 {
		return
	}
	t.fence = make([]uint64, (len(s)+fenceStep-1)/fenceStep)
	for i := range t.fence {
		t.fence[i] = fenceKey(s[i*fenceStep].Prefix.Addr())
	}
	t.up = make([]int32, len(s))
	var chain []int32 // the first VRPs of the prefixes covering the one before, the longest last
	for i := 0; i < len(s); {
		p := s[i].Prefix
		j := i + 1
		for j < len(s) && s[j].Prefix == p {
			j++
		}
		for len(chain) > 0 && !covers(s[chain[len(chain)-1]].Prefix, p) {
			chain = chain[:len(chain)-1]
		}
		up := int32(-1)
		if len(chain) > 0 {
			up = chain[len(chain)-1]
		}
		for k := i; k < j; k++ {
			t.up[k] = up
		}
		chain = append(chain, int32(i))
		t.count(s[i], j-i)
		i = j
	}
}

// covers reports whether a strictly covers b.
func covers(a, b netip.Prefix) bool { return a.Bits() < b.Bits() && a.Contains(b.Addr()) }

// lastAtMost returns the index of the last VRP of t.sorted whose prefix's (address, length) is at
// most (a, bits), -1 for none. The fences narrow it to a few blocks of fenceStep VRPs first: a binary
// search over the 16 MB of 400,000 VRPs missed the cache at nearly every step, one over their 200 KB
// of fences does not.
func (t *Table) lastAtMost(a netip.Addr, bits int) int {
	k := fenceKey(a)
	f, n := len(t.fence), len(t.sorted)
	lo := 0
	for lo < f { // the first fence not below k
		m := int(uint(lo+f) >> 1)
		if t.fence[m] < k {
			lo = m + 1
		} else {
			f = m
		}
	}
	hi := lo
	for hi < len(t.fence) && t.fence[hi] == k {
		hi++
	}
	// The answer is at or after the fence before the first not below k, and before the first
	// fence above k.
	base := max(0, (lo-1)*fenceStep)
	return base + lastAtMostIn(t.sorted[base:min(n, hi*fenceStep)], a, bits)
}

// lastAtMostIn is lastAtMost within s.
func lastAtMostIn(s []VRP, a netip.Addr, bits int) int {
	lo, hi := 0, len(s)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		p := s[m].Prefix
		if c := p.Addr().Compare(a); c < 0 || c == 0 && p.Bits() <= bits {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo - 1
}

// group returns the VRPs of s's prefix at i, from its first one, and where that one is.
func group(s []VRP, i int) ([]VRP, int) {
	p := s[i].Prefix
	g, end := i, i+1
	for g > 0 && s[g-1].Prefix == p {
		g--
	}
	for end < len(s) && s[end].Prefix == p {
		end++
	}
	return s[g:end:end], g
}

// covering yields the VRPs of each prefix of t that covers pfx (masked), the longest prefix first.
func (t *Table) covering(pfx netip.Prefix) iter.Seq[[]VRP] {
	return func(yield func([]VRP) bool) {
		if t == nil {
			return
		}
		s := t.sorted
		a, bits := pfx.Addr(), pfx.Bits()
		i := t.lastAtMost(a, bits)
		if i < 0 {
			return
		}
		_, g := group(s, i)
		for g >= 0 {
			// A prefix on the walk that holds the route's address is no longer than the route:
			// one longer would hold the route, and so come after e.
			if s[g].Prefix.Contains(a) {
				vs, _ := group(s, g)
				if !yield(vs) {
					return
				}
			}
			g = int(t.up[g])
		}
	}
}

// get returns the VRPs of prefix p (masked) in t.
func (t *Table) get(p netip.Prefix) []VRP {
	if t == nil {
		return nil
	}
	s := t.sorted
	i := t.lastAtMost(p.Addr(), p.Bits())
	if i < 0 || s[i].Prefix != p {
		return nil
	}
	vs, _ := group(s, i)
	return vs
}

// prefixes yields each prefix of t with its VRPs, in compareVRP's order.
func (t *Table) prefixes() iter.Seq2[netip.Prefix, []VRP] {
	return func(yield func(netip.Prefix, []VRP) bool) {
		if t == nil {
			return
		}
		for i := 0; i < len(t.sorted); {
			vs, _ := group(t.sorted, i)
			if !yield(vs[0].Prefix, vs) {
				return
			}
			i += len(vs)
		}
	}
}
