package rs

// Shared Adj-RIB-Out (DESIGN.md choice 3). What every session has been sent for a prefix is stored
// once per distinct outgoing attribute set, with the set of sessions that have it, instead of one
// copy per session: at an IXP nearly every member receives the same best route, so a prefix usually
// has one or two entries however many members there are.
//
// Invariant: a session id is in at most one entry of a prefix, and an entry's bit set is never
// empty. A session's bits are updated when a change for it is queued (pending.go), so the
// Adj-RIB-Out is "sent or about to be sent", which is what the next change has to be compared with.

// adjOut is one Adj-RIB-Out entry: an outgoing attribute set (holding a reference) and the sessions
// that have it.
type adjOut struct {
	set  *attrSet
	bits bitset
}

// outFor returns the set session id has for pe, or nil.
func (pe *prefixEntry) outFor(id int) *attrSet {
	for i := range pe.out {
		if pe.out[i].bits.has(id) {
			return pe.out[i].set
		}
	}
	return nil
}

// adjoutSet records that p has set for pe, moving p's bit from any other entry.
func (s *Server) adjoutSet(pe *prefixEntry, p *peer, set *attrSet) {
	fi := famOf(pe.pfx)
	if s.adjoutDrop(pe, p.id) {
		p.exported[fi]--
	}
	for i := range pe.out {
		if pe.out[i].set == set {
			pe.out[i].bits.set(p.id)
			p.exported[fi]++
			return
		}
	}
	// Sized for every current id at once: bits are set one session at a time, and growing by
	// doubling would leave up to half of every bit set unused.
	e := adjOut{set: set, bits: make(bitset, (len(s.peers)+63)/64)}
	e.bits.set(p.id)
	s.sets.ref(set)
	pe.out = append(pe.out, e)
	s.stats.adjOutEntries++
	p.exported[fi]++
}

// adjoutClear records that p has nothing for pe.
func (s *Server) adjoutClear(pe *prefixEntry, p *peer) {
	if s.adjoutDrop(pe, p.id) {
		p.exported[famOf(pe.pfx)]--
	}
}

// adjoutDrop removes id from pe's entries, dropping an entry left empty. It reports whether id had
// an entry.
func (s *Server) adjoutDrop(pe *prefixEntry, id int) bool {
	for i := range pe.out {
		e := &pe.out[i]
		if !e.bits.has(id) {
			continue
		}
		e.bits.clear(id)
		if e.bits.empty() {
			s.sets.unref(e.set)
			last := len(pe.out) - 1
			pe.out[i] = pe.out[last]
			pe.out[last] = adjOut{}
			pe.out = pe.out[:last]
			if last == 0 {
				pe.out = nil
			}
			s.stats.adjOutEntries--
		}
		return true
	}
	return false
}
