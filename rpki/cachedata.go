package rpki

import (
	"net/netip"
	"slices"
)

// cacheData is what one RTR cache has sent, as committed at its last End of Data, and the snapshot
// built from it. It is owned by the cache's goroutine; only the snapshots (Table, ASPATable) leave
// it, and those are immutable.
//
// A response in progress is a delta on top of it: the changes are checked as they arrive (a
// withdrawal of a record that is not there, an announcement of one that is) and applied only at
// End of Data, all at once, so a response that breaks off leaves nothing half applied
// (RFC 8210 §5).
//
// The VRPs are held once, as the snapshot: a decoded Prefix PDU is always a usable VRP (a prefix
// without host bits, a max length from its length to the address's; decodePrefix), so the table
// holds exactly the records the cache has announced, and an announcement or withdrawal is checked
// by looking the record up in it. Until 2026-12-06 a map of the records sat beside the table for
// that check, 67 of the 111.5 bytes a VRP cost (BenchmarkCacheMemory: 44.5 B/VRP now).
type cacheData struct {
	aspa  map[uint32][]uint32
	keys  map[string]bool
	table *Table     // every VRP record, as a snapshot
	aspas *ASPATable // aspa as a snapshot
}

// vrpKey is a VRP as the protocol carries it, 24 bytes, the key of a response's changes.
type vrpKey struct {
	addr      [16]byte
	bits, max uint8
	v6        bool
	asn       uint32
}

func keyOf(p *PrefixPDU) vrpKey {
	k := vrpKey{bits: uint8(p.Prefix.Bits()), max: p.MaxLength, asn: p.ASN, v6: !p.Prefix.Addr().Is4()}
	if k.v6 {
		k.addr = p.Prefix.Addr().As16()
	} else {
		a := p.Prefix.Addr().As4()
		copy(k.addr[:], a[:])
	}
	return k
}

func (k vrpKey) vrp() VRP {
	var a netip.Addr
	if k.v6 {
		a = netip.AddrFrom16(k.addr)
	} else {
		a = netip.AddrFrom4([4]byte(k.addr[:4]))
	}
	return VRP{Prefix: netip.PrefixFrom(a, int(k.bits)), MaxLength: k.max, ASN: k.asn}
}

func routerKeyID(p *RouterKey) string {
	b := make([]byte, 0, 24+len(p.SPKI))
	b = append(b, p.SKI[:]...)
	b = append(b, byte(p.ASN>>24), byte(p.ASN>>16), byte(p.ASN>>8), byte(p.ASN))
	return string(append(b, p.SPKI...))
}

func newCacheData() *cacheData {
	return &cacheData{aspa: map[uint32][]uint32{}, keys: map[string]bool{}, table: NewTable(nil), aspas: &ASPATable{}}
}

// records is how many records the cache data holds.
func (d *cacheData) records() int {
	v4, v6 := d.table.Len()
	return v4 + v6 + len(d.aspa) + len(d.keys)
}

// hasVRP reports whether the committed data holds the VRP record k.
func (d *cacheData) hasVRP(k vrpKey) bool {
	v := k.vrp()
	return slices.Contains(d.table.get(v.Prefix), v)
}

// delta is a response in progress.
type delta struct {
	sessionID uint16
	reset     bool // answering a Reset Query: the committed data is replaced, not changed
	vrps      map[vrpKey]bool
	aspa      map[uint32][]uint32 // nil slice: withdrawn
	keys      map[string]bool
}

func newDelta(reset bool) *delta {
	return &delta{reset: reset, vrps: map[vrpKey]bool{}, aspa: map[uint32][]uint32{}, keys: map[string]bool{}}
}

func (x *delta) records() int { return len(x.vrps) + len(x.aspa) + len(x.keys) }

// add checks one record PDU against the committed data and the delta, and records it. It returns
// a *PDUError with code 6 or 7 for a withdrawal of an unknown record or a duplicate announcement.
func (d *cacheData) add(x *delta, p PDU) error {
	switch p := p.(type) {
	case *PrefixPDU:
		k := keyOf(p)
		present, inDelta := x.vrps[k]
		if !inDelta && !x.reset {
			present = d.hasVRP(k)
		}
		switch {
		case p.Announce && present:
			return pduErr(CodeDuplicate, "announcement of %s-%d AS%d, which is already there", p.Prefix, p.MaxLength, p.ASN)
		case !p.Announce && !present:
			return pduErr(CodeUnknownWithdrawal, "withdrawal of %s-%d AS%d, which is not there", p.Prefix, p.MaxLength, p.ASN)
		}
		if x.reset && !p.Announce {
			delete(x.vrps, k)
		} else if !x.reset && inDelta {
			delete(x.vrps, k) // back to the committed state
		} else {
			x.vrps[k] = p.Announce
		}
	case *ASPA:
		old, inDelta := x.aspa[p.Customer]
		present := old != nil
		if !inDelta && !x.reset {
			present = d.aspa[p.Customer] != nil
		}
		if !p.Announce && !present {
			return pduErr(CodeUnknownWithdrawal, "ASPA withdrawal of AS%d, which is not there", p.Customer)
		}
		// An announcement for a customer already there replaces its provider list
		// (draft-ietf-sidrops-8210bis §5.12).
		x.aspa[p.Customer] = p.Providers
	case *RouterKey:
		id := routerKeyID(p)
		present, inDelta := x.keys[id]
		if !inDelta && !x.reset {
			present = d.keys[id]
		}
		switch {
		case p.Announce && present:
			return pduErr(CodeDuplicate, "announcement of a router key of AS%d that is already there", p.ASN)
		case !p.Announce && !present:
			return pduErr(CodeUnknownWithdrawal, "withdrawal of a router key of AS%d that is not there", p.ASN)
		}
		x.keys[id] = p.Announce
	}
	return nil
}

// commit applies a complete response and returns the VRP prefixes whose table entries changed.
// The previous snapshots stay valid.
func (d *cacheData) commit(x *delta) []netip.Prefix {
	changed := d.commitVRPs(x)
	if x.reset {
		d.aspa = map[uint32][]uint32{}
		d.keys = map[string]bool{}
	}
	aspaChanged := x.reset || len(x.aspa) > 0
	for c, ps := range x.aspa {
		if ps == nil {
			delete(d.aspa, c)
		} else {
			d.aspa[c] = ps
		}
	}
	for id, ann := range x.keys {
		if ann {
			d.keys[id] = true
		} else {
			delete(d.keys, id)
		}
	}
	if aspaChanged {
		d.aspas = newASPATable(d.aspa)
	}
	return changed
}

// commitVRPs makes the table hold x's VRP records and returns the VRP prefixes that changed. A
// table that would not change stays: nothing new for the RIB.
func (d *cacheData) commitVRPs(x *delta) []netip.Prefix {
	if x.reset {
		// Every record of a reset's delta is an announcement (a withdrawal in it deletes one).
		all := make([]VRP, 0, len(x.vrps))
		for k := range x.vrps {
			all = append(all, k.vrp())
		}
		next := newTable(all)
		changed := changedPrefixes(d.table.sortedVRPs(), next.sortedVRPs())
		if len(changed) > 0 {
			d.table = next
		}
		return changed
	}
	var adds, dels []VRP
	seen := make(map[netip.Prefix]struct{}, len(x.vrps))
	changed := make([]netip.Prefix, 0, len(x.vrps))
	for k, ann := range x.vrps {
		v := k.vrp()
		if ann {
			adds = append(adds, v)
		} else {
			dels = append(dels, v)
		}
		if _, ok := seen[v.Prefix]; !ok {
			seen[v.Prefix] = struct{}{}
			changed = append(changed, v.Prefix)
		}
	}
	if len(changed) > 0 {
		d.table = d.table.apply(adds, dels)
	}
	return changed
}

// ASPATable is an immutable snapshot of ASPA records (draft-ietf-sidrops-aspa-profile): for each
// customer AS, the provider ASes it authorizes. The zero value and nil are empty.
type ASPATable struct{ m map[uint32][]uint32 }

func newASPATable(m map[uint32][]uint32) *ASPATable {
	t := &ASPATable{m: make(map[uint32][]uint32, len(m))}
	for c, ps := range m {
		t.m[c] = ps // provider slices come from decoded PDUs and are never modified
	}
	return t
}

// Len returns the number of customer ASes with an ASPA.
func (t *ASPATable) Len() int {
	if t == nil {
		return 0
	}
	return len(t.m)
}

// Providers returns customer's providers (sorted ascending) and whether it has an ASPA at all. The
// slice must not be modified.
func (t *ASPATable) Providers(customer uint32) ([]uint32, bool) {
	if t == nil {
		return nil, false
	}
	ps, ok := t.m[customer]
	return ps, ok
}

// Authorized reports whether provider is among customer's providers.
func (t *ASPATable) Authorized(customer, provider uint32) bool {
	ps, _ := t.Providers(customer)
	_, found := slices.BinarySearch(ps, provider)
	return found
}

// changedPrefixes returns, once each and in order, the prefixes whose VRPs differ between a and b,
// both in compareVRP's order. In that order a prefix's VRPs are next to each other, in either
// array and in the merge of the two, so a prefix found again is the last one found. The merge runs
// twice, to count and to fill: a first load of 400,000 VRPs changes as many prefixes, and a list
// grown by appending took 64 MB.
func changedPrefixes(a, b []VRP) []netip.Prefix {
	n := 0
	var last netip.Prefix
	eachChanged(a, b, func(p netip.Prefix) {
		if n == 0 || p != last {
			n++
			last = p
		}
	})
	out := make([]netip.Prefix, 0, n)
	eachChanged(a, b, func(p netip.Prefix) {
		if k := len(out); k == 0 || out[k-1] != p {
			out = append(out, p)
		}
	})
	return out
}
