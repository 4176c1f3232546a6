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
// A table is one of two kinds. NewTable's keeps its VRPs in one sorted array with an index of
// which prefix covers which (index.go): the VRP file's tables, rebuilt whole on every change. apply's
// keep them in a persistent trie: an RTR serial changes a few VRPs of a table at a time, and its
// new table shares the trie's untouched nodes with the one before.
type Table struct {
	// sorted is every VRP of a NewTable table in compareVRP's order, without duplicates; up[i],
	// for the first VRP i of each prefix, is the index of the first VRP of the longest prefix in
	// sorted that strictly covers it, -1 for none. Two sorted tables are compared by merging
	// (Changed, Equal).
	sorted []VRP
	up     []int32
	fence  []uint64           // sorted tables: the key of every fenceStep-th VRP (index.go)
	t      *bart.Table[[]VRP] // apply's tables; never modified once the Table is handed out
	n4, n6 int
	// dead counts the prefixes of t left with no VRPs (apply); they match nothing.
	dead int
}

// trie returns t's VRPs as a trie apply may build on: t's own, or a new one.
func (t *Table) trie() *bart.Table[[]VRP] {
	if t != nil && t.t != nil {
		return t.t
	}
	tr := new(bart.Table[[]VRP])
	for p, vs := range t.prefixes() {
		tr.Insert(p, vs)
	}
	return tr
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
func newTable(vrps []VRP) *Table {
	all := vrps[:0] // filtered in place: each VRP is written at or before where it was read
	for _, v := range vrps {
		v.Prefix = v.Prefix.Masked()
		if !v.Prefix.IsValid() || int(v.MaxLength) < v.Prefix.Bits() || int(v.MaxLength) > v.Prefix.Addr().BitLen() {
			continue
		}
		all = append(all, v)
	}
	if !slices.IsSortedFunc(all, compareVRP) {
		slices.SortFunc(all, compareVRP)
	}
	t := &Table{sorted: slices.Compact(all)}
	if len(t.sorted) == 0 {
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

// sortedVRPs returns every VRP of t in compareVRP's order, if t keeps them so (a table without
// VRPs does, however built).
func (t *Table) sortedVRPs() ([]VRP, bool) {
	if t == nil || t.n4+t.n6 == 0 {
		return nil, true
	}
	return t.sorted, t.t == nil
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
	if a, ok := old.sortedVRPs(); ok {
		if b, ok := new.sortedVRPs(); ok {
			d.merge(a, b)
			return d
		}
	}
	add := func(a, b *Table) {
		for p, vs := range a.prefixes() {
			other := b.get(p)
			for _, v := range vs {
				if !slices.Contains(other, v) {
					d.add(p)
					break
				}
			}
		}
	}
	add(old, new)
	add(new, old)
	return d
}

// Equal reports whether two snapshots hold the same VRPs. It stops at the first difference, so
// telling a changed VRP file from an unchanged one costs far less than Changed.
func Equal(a, b *Table) bool {
	a4, a6 := a.Len()
	b4, b6 := b.Len()
	if a4 != b4 || a6 != b6 {
		return false
	}
	if as, ok := a.sortedVRPs(); ok {
		if bs, ok := b.sortedVRPs(); ok {
			return slices.Equal(as, bs)
		}
	}
	// Snapshots hold no duplicates: as many VRPs, all of a's in b, is the same set.
	for p, vs := range a.prefixes() {
		other := b.get(p)
		for _, v := range vs {
			if !slices.Contains(other, v) {
				return false
			}
		}
	}
	return true
}

// Diff is the set of VRP prefixes that differ between two snapshots.
type Diff struct {
	l bart.Lite
	n int
}

// merge adds the prefixes of the VRPs in one of a and b and not in the other, both in compareVRP's
// order without duplicates: one pass over both, where looking every VRP up in the other table's
// trie took a tenth of a second for 400,000 VRPs (BenchmarkVRPFile400k).
func (d *Diff) merge(a, b []VRP) {
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
			d.add(a[0].Prefix)
			a = a[1:]
		case c > 0:
			d.add(b[0].Prefix)
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

// apply returns a snapshot with dels removed and adds inserted and leaves t unchanged. Invalid
// VRPs, adds already present and dels absent are skipped. VRP slices are never modified in place,
// as both snapshots may hold them.
//
// A few changes (a serial's) are gathered per prefix and merged into t in one persistent union,
// which copies each trie node on their paths once and shares the rest with t: one copy per change
// (a root node of 4 KB each time, 89 MB for a 1% serial of 700,000 VRPs) was enough garbage to
// start a collection of the whole RIB's heap. A prefix whose last VRP goes stays in the trie with
// no VRPs (dead), as taking it out would copy its path again; apply sweeps them out when they are
// an eighth of the table's VRPs. Many changes (a reset) clone the trie once and change it in place.
func (t *Table) apply(adds, dels []VRP) *Table {
	nt := &Table{t: t.trie()}
	owned := t == nil || t.t == nil // the trie was built for nt
	if t != nil {
		nt.n4, nt.n6, nt.dead = t.n4, t.n6, t.dead
	}
	persist := len(adds)+len(dels) < (nt.n4+nt.n6)/8
	if !persist && !owned {
		nt.t = nt.t.Clone()
		nt.sweep()
	}
	var batch map[netip.Prefix][]VRP // persist: the prefixes' new VRPs
	if persist {
		batch = make(map[netip.Prefix][]VRP, len(adds)+len(dels))
	}
	get := func(p netip.Prefix) []VRP {
		if vs, ok := batch[p]; ok {
			return vs
		}
		vs, _ := nt.t.Get(p)
		return vs
	}
	put := func(p netip.Prefix, vs []VRP) {
		switch {
		case persist:
			batch[p] = vs
		case len(vs) == 0:
			nt.t.Delete(p)
		default:
			nt.t.Insert(p, vs)
		}
	}
	for _, v := range dels {
		v.Prefix = v.Prefix.Masked()
		old := get(v.Prefix)
		i := slices.Index(old, v)
		if i < 0 {
			continue
		}
		nt.count(v, -1)
		put(v.Prefix, slices.Delete(slices.Clone(old), i, i+1))
	}
	for _, v := range adds {
		v.Prefix = v.Prefix.Masked()
		if !v.Prefix.IsValid() || int(v.MaxLength) < v.Prefix.Bits() || int(v.MaxLength) > v.Prefix.Addr().BitLen() {
			continue
		}
		old := get(v.Prefix)
		if slices.Contains(old, v) {
			continue
		}
		nt.count(v, 1)
		put(v.Prefix, append(slices.Clip(old), v))
	}
	if len(batch) > 0 {
		o := new(bart.Table[[]VRP])
		for p, vs := range batch {
			was, ok := nt.t.Get(p)
			switch {
			case len(vs) == 0 && (!ok || len(was) > 0):
				nt.dead++
			case len(vs) > 0 && ok && len(was) == 0:
				nt.dead--
			}
			o.Insert(p, vs)
		}
		nt.t = nt.t.UnionPersist(o)
		if nt.dead > (nt.n4+nt.n6)/8 {
			nt.t = nt.t.Clone()
			nt.sweep()
		}
	}
	return nt
}

// sweep takes the dead prefixes (apply) out of t's trie, which t owns.
func (t *Table) sweep() {
	if t.dead == 0 {
		return
	}
	var gone []netip.Prefix
	for p, vs := range t.t.All() {
		if len(vs) == 0 {
			gone = append(gone, p)
		}
	}
	for _, p := range gone {
		t.t.Delete(p)
	}
	t.dead = 0
}

// All calls yield for every VRP of the snapshot until it returns false: in compareVRP's order for
// NewTable's tables, in no particular order for apply's.
func (t *Table) All(yield func(VRP) bool) {
	if vs, ok := t.sortedVRPs(); ok {
		for _, v := range vs {
			if !yield(v) {
				return
			}
		}
		return
	}
	for _, vs := range t.prefixes() {
		for _, v := range vs {
			if !yield(v) {
				return
			}
		}
	}
}
