package rs

import (
	"encoding/binary"
	"slices"
)

// Shared Adj-RIB-Out (DESIGN.md choice 3). What every session has been sent for a prefix is stored
// once per distinct outgoing attribute set, with the set of sessions that have it, instead of one
// copy per session: at an IXP nearly every member receives the same best route, so a prefix usually
// has one or two entries however many members there are.
//
// Invariant: a session id is in at most one entry of a prefix, and an entry's bit set is never
// empty. Every change goes through adjoutApply, when the change is decided and before it is encoded
// (queued in pending, or packed by a cohort), so the Adj-RIB-Out is "sent or about to be sent",
// which is what the next change has to be compared with. A route whose attributes a session cannot
// be sent is not recorded for it: the session is sent a withdrawal instead (export.go, fit).

// adjOut is one Adj-RIB-Out entry: an outgoing attribute set (holding a reference) and the sessions
// that have it, an interned bit set (holding a reference).
type adjOut struct {
	set  *attrSet
	bits *ibits
}

// Interned bit sets. The session sets of Adj-RIB-Out entries repeat across prefixes: nearly every
// prefix of member A is held by "every session but A's", so one copy of each distinct set is kept,
// with a count of the entries using it, and entries point to it. An entry costs two pointers instead
// of a bit set of its own (40 bytes at 300 sessions, 128 at 1,000, for every prefix), and a change
// interns the resulting set instead of modifying one in place.

// ibits is an interned, immutable bit set: no trailing zero words, never empty.
type ibits struct {
	b    bitset
	refs int32
	key  string
}

// bitsTable interns bit sets by their words.
type bitsTable struct {
	m       map[string]*ibits
	scratch []byte
	tmp     bitset
	refs    int // references held on all sets
}

// intern returns the interned copy of b with a reference taken, or nil when b is empty. b is not
// retained.
func (t *bitsTable) intern(b bitset) *ibits {
	n := len(b)
	for n > 0 && b[n-1] == 0 {
		n--
	}
	if n == 0 {
		return nil
	}
	b = b[:n]
	k := t.scratch[:0]
	for _, w := range b {
		k = binary.LittleEndian.AppendUint64(k, w)
	}
	t.scratch = k
	t.refs++
	if x, ok := t.m[string(k)]; ok {
		x.refs++
		return x
	}
	if t.m == nil {
		t.m = make(map[string]*ibits)
	}
	x := &ibits{b: slices.Clone(b), refs: 1, key: string(k)}
	t.m[x.key] = x
	return x
}

// release drops a reference taken by intern (nil is ignored).
func (t *bitsTable) release(x *ibits) {
	if x == nil {
		return
	}
	t.refs--
	x.refs--
	if x.refs == 0 {
		delete(t.m, x.key)
	} else if x.refs < 0 {
		panic("rs: bit set reference count below zero")
	}
}

// union returns the interned x plus the ids in words [lo, hi) of b, releasing x.
func (t *bitsTable) union(x *ibits, b bitset, lo, hi int) *ibits {
	u := t.work(x)
	u = resize(u, max(len(u), hi))
	for i := lo; i < hi; i++ {
		u[i] |= b[i]
	}
	t.tmp = u
	t.release(x)
	return t.intern(u)
}

// with returns the interned x plus id, releasing x.
func (t *bitsTable) with(x *ibits, id int) *ibits {
	b := t.work(x)
	b.set(id) // may grow past tmp
	t.tmp = b
	t.release(x)
	return t.intern(b)
}

// without returns the interned x minus id (nil when empty), releasing x.
func (t *bitsTable) without(x *ibits, id int) *ibits {
	b := t.work(x)
	b.clear(id)
	t.release(x)
	return t.intern(b)
}

// work returns a scratch copy of x's words, valid until the next call.
func (t *bitsTable) work(x *ibits) bitset {
	if x == nil {
		t.tmp = t.tmp[:0]
	} else {
		t.tmp = append(t.tmp[:0], x.b...)
	}
	return t.tmp
}

// outFor returns the set session id has for pe, or nil.
func (pe *prefixEntry) outFor(id int) *attrSet {
	for i := range pe.out {
		if pe.out[i].bits.b.has(id) {
			return pe.out[i].set
		}
	}
	return nil
}

// The one way the Adj-RIB-Out changes. A change is decided for a prefix and a set of sessions
// (export.go: decide, then fit), applied here, and the result is what those sessions must be sent:
// the sessions serving one at a time queue it in their pending state, a cohort encodes it once per
// group of receivers. Sessions that leave are cleared the same way.

// adjoutChange is one final change of a prefix's Adj-RIB-Out: the sessions in bits now have set,
// or nothing when set is nil (withdrawn).
type adjoutChange struct {
	set  *attrSet
	bits bitset
}

// adjoutApply makes pe's Adj-RIB-Out for the sessions in e what decision d says they should have
// (nothing for a session of e in no want), and returns the changes to send, announcements in the
// order of d's wants, then the withdrawal: a session is in a change only if what it has differs
// (with force, every session with a set is announced again: route refresh). Only words
// [d.lo, d.hi) of e and of d's bit sets are read. The result is valid until the next call with d.
func (s *Server) adjoutApply(pe *prefixEntry, e bitset, d *exportDecision, force bool) []adjoutChange {
	d.changes = d.changes[:0]
	if w := e.word(d.lo); d.hi-d.lo == 1 && w&(w-1) == 0 {
		s.adjoutApplyOne(pe, d.lo<<6|trailingZeros(w), d, force)
	} else {
		s.adjoutApplyMany(pe, e, d, force)
	}
	// feed hook: the changes are final here. The event feed will publish each one as "Adj-RIB-Out
	// of pe.prefix() changed for the sessions in c.bits: now c.set, or withdrawn when c.set is nil".
	return d.changes
}

// adjoutApplyOne is adjoutApply for one session, id: the common case of a session served on its
// own, where moving one bit beats the word arithmetic of adjoutApplyMany.
func (s *Server) adjoutApplyOne(pe *prefixEntry, id int, d *exportDecision, force bool) {
	w, bit := id>>6, uint64(1)<<(id&63)
	var want *attrSet
	for k := 0; k < d.nwant; k++ {
		if d.wants[k].bits[w]&bit != 0 {
			want = d.wants[k].set
			break
		}
	}
	have := pe.outFor(id)
	if want == have && (!force || want == nil) {
		return
	}
	if want != have {
		fi := pe.fam()
		p := s.peers[id]
		if have != nil {
			s.adjoutDrop(pe, id)
			p.exported[fi]--
		}
		if want != nil {
			s.adjoutAdd(pe, id, want)
			p.exported[fi]++
		}
	}
	d.change(want)[w] = bit
}

// adjoutDrop removes id from pe's entries, dropping an entry left empty.
func (s *Server) adjoutDrop(pe *prefixEntry, id int) {
	for i := range pe.out {
		e := &pe.out[i]
		if !e.bits.b.has(id) {
			continue
		}
		if e.bits = s.bits.without(e.bits, id); e.bits == nil {
			s.removeOut(pe, i)
		}
		return
	}
}

// adjoutAdd adds id (in no entry of pe) to the entry of set, creating it.
func (s *Server) adjoutAdd(pe *prefixEntry, id int, set *attrSet) {
	for i := range pe.out {
		if e := &pe.out[i]; e.set == set {
			e.bits = s.bits.with(e.bits, id)
			return
		}
	}
	s.sets.ref(set)
	pe.out = append(pe.out, adjOut{set: set, bits: s.bits.with(nil, id)})
	s.stats.adjOutEntries++
}

// adjoutApplyMany is adjoutApply for any set of sessions, a word of session bits at a time.
func (s *Server) adjoutApplyMany(pe *prefixEntry, e bitset, d *exportDecision, force bool) {
	fi := pe.fam()
	lo, hi := d.lo, d.hi

	// What e's sessions have now.
	had := d.change(nil)
	for i := range pe.out {
		b := pe.out[i].bits.b
		for w := lo; w < min(hi, len(b)); w++ {
			had[w] |= b[w]
		}
	}
	for w := lo; w < hi; w++ {
		had[w] &= e.word(w)
	}

	// Sessions leave the entries of sets they should not have.
	for i := 0; i < len(pe.out); {
		ent := &pe.out[i]
		keep := d.wantOf(ent.set)
		var nb bitset
		for w := lo; w < min(hi, len(ent.bits.b)); w++ {
			leave := ent.bits.b[w] & e.word(w)
			if keep != nil {
				leave &^= keep[w]
			}
			if leave != 0 {
				if nb == nil {
					nb = s.bits.work(ent.bits)
				}
				nb[w] &^= leave
			}
		}
		if nb != nil {
			s.bits.release(ent.bits)
			if ent.bits = s.bits.intern(nb); ent.bits == nil {
				s.removeOut(pe, i)
				continue
			}
		}
		i++
	}

	// Sessions join the entries of the sets they should have; those that did not have it yet get
	// an announcement.
	for k := 0; k < d.nwant; k++ {
		w := &d.wants[k]
		var ent *adjOut
		for j := range pe.out {
			if pe.out[j].set == w.set {
				ent = &pe.out[j]
				break
			}
		}
		var old bitset
		if ent != nil {
			old = ent.bits.b
		}
		news := d.change(w.set)
		added, sent := false, false
		for j := lo; j < hi; j++ {
			nw := w.bits[j] &^ old.word(j)
			// Sessions that had nothing now export one more prefix.
			for nb := nw &^ had[j]; nb != 0; nb &= nb - 1 {
				s.peers[j<<6|trailingZeros(nb)].exported[fi]++
			}
			had[j] &^= w.bits[j] // left: the sessions that had something and now get nothing
			added = added || nw != 0
			if force {
				nw = w.bits[j]
			}
			news[j] = nw
			sent = sent || nw != 0
		}
		if added {
			if ent == nil {
				pe.out = append(pe.out, adjOut{set: w.set})
				ent = &pe.out[len(pe.out)-1]
				s.sets.ref(w.set)
				s.stats.adjOutEntries++
			}
			ent.bits = s.bits.union(ent.bits, w.bits, lo, hi)
		}
		if !sent {
			d.changes = d.changes[:len(d.changes)-1]
		}
	}

	// had now holds the sessions that had a route and should have none.
	gone := false
	for j := lo; j < hi; j++ {
		for hw := had[j]; hw != 0; hw &= hw - 1 {
			s.peers[j<<6|trailingZeros(hw)].exported[fi]--
		}
		gone = gone || had[j] != 0
	}
	// The withdrawal goes last: move it behind the announcements (or out, keeping its bits for
	// the next call).
	wd := d.changes[0]
	copy(d.changes, d.changes[1:])
	d.changes[len(d.changes)-1] = wd
	if !gone {
		d.changes = d.changes[:len(d.changes)-1]
	}
}

// change adds a change for set to d with a bit set cleared over d's words, and returns the bits.
func (d *exportDecision) change(set *attrSet) bitset {
	n := len(d.changes)
	if n < cap(d.changes) {
		d.changes = d.changes[:n+1]
	} else {
		d.changes = append(d.changes, adjoutChange{})
	}
	c := &d.changes[n]
	c.set = set
	if len(c.bits) != d.words {
		c.bits = resize(c.bits, d.words)
	}
	for i := d.lo; i < d.hi; i++ {
		c.bits[i] = 0
	}
	return c.bits
}

// adjoutClear removes p (which has gone down: nothing is sent) from pe's Adj-RIB-Out.
func (s *Server) adjoutClear(pe *prefixEntry, p *session) {
	d := &s.one
	w := p.id >> 6
	d.reset((len(s.peers)+63)/64, w, w+1)
	d.single(p.id)
	s.adjoutApply(pe, d.e, &d.exportDecision, false)
}

// removeOut deletes pe's entry i, whose bit set is already released.
func (s *Server) removeOut(pe *prefixEntry, i int) {
	s.sets.unref(pe.out[i].set)
	last := len(pe.out) - 1
	pe.out[i] = pe.out[last]
	pe.out[last] = adjOut{}
	pe.out = pe.out[:last]
	if last == 0 {
		pe.out = nil
	}
	s.stats.adjOutEntries--
}
