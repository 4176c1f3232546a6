package rpki

import (
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
	MaxLength int
	ASN       uint32
}

func (v VRP) String() string { return fmt.Sprintf("%s-%d AS%d", v.Prefix, v.MaxLength, v.ASN) }

// Table is an immutable snapshot of VRPs indexed by prefix. The zero value and nil are empty
// tables (every route "not found").
type Table struct {
	t      bart.Table[[]VRP]
	n4, n6 int
}

// NewTable builds a snapshot. Duplicates are dropped; VRPs whose max length is shorter than their
// prefix or longer than an address are dropped (RFC 6482 makes them invalid ROAs).
func NewTable(vrps []VRP) *Table {
	t := &Table{}
	for _, v := range vrps {
		v.Prefix = v.Prefix.Masked()
		if !v.Prefix.IsValid() || v.MaxLength < v.Prefix.Bits() || v.MaxLength > v.Prefix.Addr().BitLen() {
			continue
		}
		old, _ := t.t.Get(v.Prefix)
		dup := false
		for _, o := range old {
			dup = dup || o == v
		}
		if dup {
			continue
		}
		t.t.Insert(v.Prefix, append(old, v))
		if v.Prefix.Addr().Is4() {
			t.n4++
		} else {
			t.n6++
		}
	}
	return t
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
	for _, vs := range t.t.Supernets(pfx.Masked()) {
		for _, v := range vs {
			covered = true
			if origin != 0 && v.ASN == origin && pfx.Bits() <= v.MaxLength {
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
	for _, vs := range t.t.Supernets(pfx.Masked()) {
		for _, v := range vs {
			if origin != 0 && v.ASN == origin && pfx.Bits() <= v.MaxLength {
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
	add := func(a, b *Table) {
		if a == nil {
			return
		}
		for p, vs := range a.t.All() {
			var other []VRP
			if b != nil {
				other, _ = b.t.Get(p)
			}
			for _, v := range vs {
				if !slices.Contains(other, v) {
					if !d.l.Get(p) {
						d.l.Insert(p)
						d.n++
					}
					break
				}
			}
		}
	}
	add(old, new)
	add(new, old)
	return d
}

// Diff is the set of VRP prefixes that differ between two snapshots.
type Diff struct {
	l bart.Lite
	n int
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
