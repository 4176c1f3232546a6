package rs

import "net/netip"

// prefixEntry is everything the route server holds for one prefix: every route received for it
// (the Adj-RIB-In rows of all sessions), the Adj-RIB-Out state, and its place in the change list.
type prefixEntry struct {
	pfx netip.Prefix
	// routes holds the accepted routes first, in decision order (the candidates), then the
	// rejected ones in no particular order.
	routes []*route
	nacc   int32
	slot   int32    // index in prefixTable.slab
	out    []adjOut // Adj-RIB-Out: one entry per outgoing attribute set
	node   clNode   // change list
}

// candidates returns the accepted routes, best first.
func (pe *prefixEntry) candidates() []*route { return pe.routes[:pe.nacc] }

// find returns p's route for this prefix, or nil. A prefix has a handful of routes, so a scan
// beats any index.
func (pe *prefixEntry) find(p *peer) *route {
	for _, r := range pe.routes {
		if r.p == p {
			return r
		}
	}
	return nil
}

// unused reports whether the entry holds nothing and can be deleted.
func (pe *prefixEntry) unused() bool {
	return len(pe.routes) == 0 && len(pe.out) == 0 && !pe.node.linked()
}

// prefixTable maps prefixes to entries. Entries also sit in a slab so that long walks (clearing a
// departed session's Adj-RIB-Out bits, looking-glass pages) can resume at an index across loop
// passes; freed slots are reused, and a walk that misses an entry created behind it loses
// nothing, because new entries are on the change list.
type prefixTable struct {
	m    map[netip.Prefix]*prefixEntry
	slab []*prefixEntry
	free []int32
}

func newPrefixTable() *prefixTable {
	return &prefixTable{m: make(map[netip.Prefix]*prefixEntry)}
}

func (t *prefixTable) get(p netip.Prefix) *prefixEntry { return t.m[p] }

func (t *prefixTable) getOrCreate(p netip.Prefix) *prefixEntry {
	if pe := t.m[p]; pe != nil {
		return pe
	}
	pe := &prefixEntry{pfx: p}
	pe.node.pe = pe
	if n := len(t.free); n > 0 {
		pe.slot = t.free[n-1]
		t.free = t.free[:n-1]
		t.slab[pe.slot] = pe
	} else {
		pe.slot = int32(len(t.slab))
		t.slab = append(t.slab, pe)
	}
	t.m[p] = pe
	return pe
}

// delete removes an unused entry.
func (t *prefixTable) delete(pe *prefixEntry) {
	if !pe.unused() {
		panic("rs: deleting a prefix entry still in use: " + pe.pfx.String())
	}
	delete(t.m, pe.pfx)
	t.slab[pe.slot] = nil
	t.free = append(t.free, pe.slot)
}

func (t *prefixTable) len() int { return len(t.m) }
