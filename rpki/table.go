package rpki

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/gaissmai/bart"

	"github.com/ixrs/ixrs/policy"
)

// VRP is one validated ROA payload (RFC 6811 §2).
type VRP struct {
	Prefix    netip.Prefix
	MaxLength uint8
	ASN       uint32
}

func (v VRP) String() string { return fmt.Sprintf("%s-%d AS%d", v.Prefix, v.MaxLength, v.ASN) }

// Table is an immutable snapshot of VRPs indexed by prefix. The zero value and nil are empty
// tables (every route "not found").
//
// A table keeps its VRPs in one array sorted in compareVRP's order, with an index of which prefix
// covers which (index.go): 40 bytes a VRP and 4.5 of index, in three allocations, where a trie of
// windows on the array took about 70 bytes more and an allocation per prefix. Two tables are
// compared by merging their arrays (Changed, Equal), and a change is merged into a new array
// (apply).
type Table struct {
	// sorted is every VRP in compareVRP's order, without duplicates; up[i], for the first VRP i
	// of each prefix, is the index of the first VRP of the longest prefix in sorted that strictly
	// covers it, -1 for none.
	sorted []VRP
	up     []int32
	fence  []uint64 // the key of every fenceStep-th VRP (index.go)
	n4, n6 int
}

// NewTable builds a snapshot. Duplicates are dropped; VRPs whose max length is shorter than their
// prefix or longer than an address are dropped (RFC 6482 makes them invalid ROAs).
//
// The VRPs are copied into one array in compareVRP's order (by address family, address, length),
// the order rpki-client writes them in, in which case the sort is a check; origin validation looks
// the array up through an index of 4 bytes per VRP (index.go) where a trie took 70 bytes and an
// allocation per prefix, and the next version of the same file is compared with the table by one
// merge (Changed).
func NewTable(vrps []VRP) *Table { return newTable(slices.Clone(vrps)) }

// newTable is NewTable keeping vrps, which the caller gives up, as the table's array.
func newTable(vrps []VRP) *Table { return tableOf(sortVRPs(vrps, true)) }

// sortVRPs masks vrps' prefixes, drops the VRPs usable does not accept when checked is set, and
// puts the rest in compareVRP's order without duplicates, all in place.
func sortVRPs(vrps []VRP, checked bool) []VRP {
	all := vrps[:0] // filtered in place: each VRP is written at or before where it was read
	for _, v := range vrps {
		v.Prefix = v.Prefix.Masked()
		if checked && !usable(v) {
			continue
		}
		all = append(all, v)
	}
	if !slices.IsSortedFunc(all, compareVRP) {
		slices.SortFunc(all, compareVRP)
	}
	return slices.Compact(all)
}

// usable reports whether v, its prefix masked, can be in a table: a valid prefix and a max length
// from the prefix's length to an address's (RFC 6482 makes other ROAs invalid).
func usable(v VRP) bool {
	return v.Prefix.IsValid() && int(v.MaxLength) >= v.Prefix.Bits() && int(v.MaxLength) <= v.Prefix.Addr().BitLen()
}

// tableOf returns the table of sorted, VRPs in compareVRP's order without duplicates, which it
// keeps.
func tableOf(sorted []VRP) *Table {
	t := &Table{sorted: sorted}
	if len(sorted) == 0 {
		t.sorted = nil
	}
	t.index()
	return t
}

// count adds n VRPs of v's family to t's counts.
func (t *Table) count(v VRP, n int) {
	if v.Prefix.Addr().Is4() {
		t.n4 += n
	} else {
		t.n6 += n
	}
}

// compareVRP orders VRPs by address family, address, prefix length, max length and AS.
func compareVRP(a, b VRP) int {
	if c := a.Prefix.Addr().Compare(b.Prefix.Addr()); c != 0 {
		return c
	}
	if c := a.Prefix.Bits() - b.Prefix.Bits(); c != 0 {
		return c
	}
	if c := int(a.MaxLength) - int(b.MaxLength); c != 0 {
		return c
	}
	return cmp.Compare(a.ASN, b.ASN)
}

// sortedVRPs returns every VRP of t in compareVRP's order.
func (t *Table) sortedVRPs() []VRP {
	if t == nil {
		return nil
	}
	return t.sorted
}

// Len returns the number of IPv4 and IPv6 VRPs.
func (t *Table) Len() (v4, v6 int) {
	if t == nil {
		return 0, 0
	}
	return t.n4, t.n6
}

// Validate is RFC 6811 origin validation: valid when a covering VRP has the origin and a max
// length at least the route's; invalid when VRPs cover it but none matches; else not found.
// origin 0 is NONE (an AS_SET-terminated path): it matches no VRP, AS0 ones included.
func (t *Table) Validate(pfx netip.Prefix, origin uint32) policy.RPKIState {
	if t == nil {
		return policy.RPKINotFound
	}
	covered := false
	for vs := range t.covering(pfx.Masked()) {
		for _, v := range vs {
			covered = true
			if origin != 0 && v.ASN == origin && pfx.Bits() <= int(v.MaxLength) {
				return policy.RPKIValid
			}
		}
	}
	if covered {
		return policy.RPKIInvalidState
	}
	return policy.RPKINotFound
}

// Explain is Validate with the VRPs behind the answer: the matching one for valid, the covering
// ones (at most five) for invalid.
func (t *Table) Explain(pfx netip.Prefix, origin uint32) (policy.RPKIState, string) {
	if t == nil {
		return policy.RPKINotFound, "no VRPs loaded"
	}
	var cover []string
	for vs := range t.covering(pfx.Masked()) {
		for _, v := range vs {
			if origin != 0 && v.ASN == origin && pfx.Bits() <= int(v.MaxLength) {
				return policy.RPKIValid, "VRP " + v.String()
			}
			cover = append(cover, v.String())
		}
	}
	if len(cover) == 0 {
		return policy.RPKINotFound, "no covering VRP"
	}
	more := ""
	if len(cover) > 5 {
		more = fmt.Sprintf(" and %d more", len(cover)-5)
		cover = cover[:5]
	}
	return policy.RPKIInvalidState, "covering VRPs " + strings.Join(cover, ", ") + more
}

// Store holds the current snapshot for import policy. It implements policy.OriginValidator; each
// call reads one snapshot. Safe for concurrent use.
type Store struct{ p atomic.Pointer[Table] }

// Load returns the current snapshot (nil before the first Set).
func (s *Store) Load() *Table { return s.p.Load() }

// Set replaces the snapshot.
func (s *Store) Set(t *Table) { s.p.Store(t) }

// Validate implements policy.OriginValidator. Before any data has been loaded every route is
// "not checked" (RS:1000:3), not "not found": nothing was checked.
func (s *Store) Validate(pfx netip.Prefix, origin uint32) policy.RPKIState {
	t := s.p.Load()
	if t == nil {
		return policy.RPKINotChecked
	}
	return t.Validate(pfx, origin)
}

// Explain implements policy.OriginValidator.
func (s *Store) Explain(pfx netip.Prefix, origin uint32) (policy.RPKIState, string) {
	t := s.p.Load()
	if t == nil {
		return policy.RPKINotChecked, "no VRPs loaded yet"
	}
	return t.Explain(pfx, origin)
}

var _ policy.OriginValidator = (*Store)(nil)

// Changed returns the prefixes of the VRPs in one snapshot and not in the other: a route's
// validation state can change only if one of them covers it (RFC 6811 looks at covering VRPs
// only). nil snapshots are empty; the result is never nil.
func Changed(old, new *Table) *Diff {
	d := &Diff{}
	d.merge(old.sortedVRPs(), new.sortedVRPs())
	return d
}

// Equal reports whether two snapshots hold the same VRPs. It stops at the first difference, so
// telling a changed VRP file from an unchanged one costs far less than Changed.
func Equal(a, b *Table) bool { return slices.Equal(a.sortedVRPs(), b.sortedVRPs()) }

// Diff is the set of VRP prefixes that differ between two snapshots.
type Diff struct {
	l bart.Lite
	n int
}

// merge adds the prefixes of the VRPs in one of a and b and not in the other, both in compareVRP's
// order without duplicates: one pass over both, where looking every VRP up in the other table's
// trie took a tenth of a second for 400,000 VRPs (BenchmarkVRPFile400k).
func (d *Diff) merge(a, b []VRP) { eachChanged(a, b, d.add) }

// eachChanged calls note with the prefix of each VRP in only one of a and b, both in compareVRP's
// order without duplicates, in that order.
func eachChanged(a, b []VRP, note func(netip.Prefix)) {
	for len(a) > 0 || len(b) > 0 {
		var c int
		switch {
		case len(a) == 0:
			c = 1
		case len(b) == 0:
			c = -1
		default:
			c = compareVRP(a[0], b[0])
		}
		switch {
		case c < 0:
			note(a[0].Prefix)
			a = a[1:]
		case c > 0:
			note(b[0].Prefix)
			b = b[1:]
		default:
			a, b = a[1:], b[1:]
		}
	}
}

func (d *Diff) add(p netip.Prefix) {
	if !d.l.Get(p) {
		d.l.Insert(p)
		d.n++
	}
}

// Len returns the number of differing VRP prefixes.
func (d *Diff) Len() int { return d.n }

// Covers reports whether a differing VRP covers pfx, that is whether pfx's validation state may
// have changed.
func (d *Diff) Covers(pfx netip.Prefix) bool { return d.n > 0 && d.l.LookupPrefix(pfx.Masked()) }

// Prefixes returns the differing VRP prefixes, for rs.VRPUpdate.
func (d *Diff) Prefixes() []netip.Prefix {
	out := make([]netip.Prefix, 0, d.n)
	for p := range d.l.All() {
		out = append(out, p)
	}
	return out
}

// apply returns a snapshot with dels removed, then adds inserted (a VRP in both is there after),
// and leaves t unchanged. Invalid VRPs, adds already present and dels absent are skipped.
//
// The changes are sorted and merged with t's array into a new one, which is indexed anew: for a 1%
// serial of a 700,000-VRP cache, 40 ms and a 34 MB array (BenchmarkSerial), whatever the number of
// changes. The persistent trie this replaced took 9 ms and 5 MB a serial, but about 47 bytes more
// per VRP for as long as the cache's data is held (BenchmarkCacheMemory: 158.5 B/VRP, then 111.5),
// and serials come minutes apart.
func (t *Table) apply(adds, dels []VRP) *Table {
	adds, dels = sortVRPs(slices.Clone(adds), true), sortVRPs(slices.Clone(dels), false)
	old := t.sortedVRPs()
	out := make([]VRP, 0, len(old)+len(adds))
	for len(old) > 0 || len(adds) > 0 {
		var v VRP
		added := true
		switch {
		case len(old) == 0:
			v, adds = adds[0], adds[1:]
		case len(adds) == 0:
			v, old, added = old[0], old[1:], false
		default:
			c := compareVRP(old[0], adds[0])
			if c < 0 {
				v, old, added = old[0], old[1:], false
			} else {
				v, adds = adds[0], adds[1:]
				if c == 0 {
					old = old[1:]
				}
			}
		}
		for len(dels) > 0 && compareVRP(dels[0], v) < 0 {
			dels = dels[1:] // absent
		}
		if len(dels) > 0 && dels[0] == v {
			dels = dels[1:]
			if !added {
				continue
			}
		}
		out = append(out, v)
	}
	return tableOf(out)
}

// All calls yield for every VRP of the snapshot, in compareVRP's order, until it returns false.
func (t *Table) All(yield func(VRP) bool) {
	for _, v := range t.sortedVRPs() {
		if !yield(v) {
			return
		}
	}
}
