package rs

import (
	"slices"
)

// Shared Adj-RIB-Out (docs/architecture.md, design choice 3). What every session has been sent for a prefix is stored
// once per distinct outgoing attribute set, with the set of sessions that have it, instead of one
// copy per session: at an IXP nearly every member receives the same best route, so a prefix usually
// has one or two entries however many members there are.
//
// Invariant: a session id is in at most one entry of a prefix, and an entry's bit set is never
// empty. Every change goes through adjoutApply or adjoutMove (below), when the change is decided
// and before it is encoded (queued in pending, or packed by a cohort), so the Adj-RIB-Out is "sent
// or about to be sent", which is what the next change has to be compared with. A route that cannot
// be sent to a session is not recorded for it: the session is sent a withdrawal instead (export.go:
// fit, reconcileTo).

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
	h    uint64 // b.hash() >> bitsTable.shift, its key in bitsTable.m
	next *ibits // the next set of the same hash
}

// bitsTable interns bit sets by their words: a map from the words' hash to the chain of sets with
// that hash, compared word by word. (Until 2026-12-06 the map was keyed by the words as a string,
// which cost every set a second copy of its words: 96 bytes at 700 sessions, and 57 MB of the
// allocation while 700 members converged on 400,000 routes.)
type bitsTable struct {
	m    map[uint64]*ibits
	n    int // sets interned
	tmp  bitset
	refs int // references held on all sets
	// shift drops low bits of the hash: 0 but in tests, where 64 puts every set in one chain.
	shift uint
}

// intern returns the interned copy of b with a reference taken, or nil when b is empty. b is not
// retained.
func (t *bitsTable) intern(b bitset) *ibits {
	if b = b.trimmed(); len(b) == 0 {
		return nil
	}
	h := b.hash() >> t.shift
	t.refs++
	for x := t.m[h]; x != nil; x = x.next {
		if x.b.equal(b) {
			x.refs++
			return x
		}
	}
	if t.m == nil {
		t.m = make(map[uint64]*ibits)
	}
	x := &ibits{b: slices.Clone(b), refs: 1, h: h, next: t.m[h]}
	t.m[h] = x
	t.n++
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
		if first := t.m[x.h]; first == x {
			if x.next == nil {
				delete(t.m, x.h)
			} else {
				t.m[x.h] = x.next
			}
		} else {
			p := first
			for p.next != x {
				p = p.next
			}
			p.next = x.next
		}
		x.next = nil
		t.n--
	} else if x.refs < 0 {
		panic("rs: bit set reference count below zero")
	}
}

// union returns the interned x plus the ids in b, releasing x.
func (t *bitsTable) union(x *ibits, b bitset) *ibits {
	u := t.work(x)
	u = resize(u, max(len(u), len(b)))
	orInto(u, b)
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
	out := pe.out()
	for i := range out {
		if out[i].bits.b.has(id) {
			return out[i].set
		}
	}
	return nil
}

// The only ways the Adj-RIB-Out changes. A change is decided for a prefix and a set of sessions
// (export.go) and applied here: adjoutApply for a cohort, a word of session bits at a time,
// adjoutMove for one session. Either reports every change through adjoutChanged, the one place
// where a change is final, and the caller sends it: a session serving on its own queues it in its
// pending state, a cohort packs it once per group of receivers.

// adjoutChange is one change of a prefix's Adj-RIB-Out: the sessions in bits now have set, or
// nothing when set is nil (withdrawn).
type adjoutChange struct {
	set  *attrSet
	bits bitset
}

// adjoutChanged is called for every change of pe's Adj-RIB-Out once it is made: the sessions in
// ids (or session id alone when ids is nil) now have set, or nothing when set is nil.
// It bumps the RIB generation and publishes the change to the event feed (feed.go).
func (s *Server) adjoutChanged(pe *prefixEntry, set *attrSet, ids bitset, id int) {
	if ids != nil {
		s.feedAdjOut(pe, ids, set)
		return
	}
	s.gen++
	if s.feed.out {
		s.publishAdjOut(pe, nil, id, set)
	}
}

// adjoutMove moves session p, which has set have for pe (nil: nothing), to want (nil: nothing).
func (s *Server) adjoutMove(pe *prefixEntry, p *session, have, want *attrSet) {
	fi := pe.fam()
	if have != nil {
		out := pe.out()
		for i := range out {
			e := &out[i]
			if e.set != have {
				continue
			}
			if e.bits = s.bits.without(e.bits, p.id); e.bits == nil {
				s.removeOut(pe, i)
			}
			break
		}
		s.exported[fi].sub(p.id>>6, 1<<(p.id&63))
	}
	if want != nil {
		s.adjoutAdd(pe, p.id, want)
		s.exported[fi].add(p.id>>6, 1<<(p.id&63))
	}
	s.adjoutChanged(pe, want, nil, p.id)
}

// adjoutAdd adds id (in no entry of pe) to the entry of set, creating it.
func (s *Server) adjoutAdd(pe *prefixEntry, id int, set *attrSet) {
	out := pe.out()
	for i := range out {
		if e := &out[i]; e.set == set {
			e.bits = s.bits.with(e.bits, id)
			return
		}
	}
	s.sets.ref(set)
	pe.setOut(append(out, adjOut{set: set, bits: s.bits.with(nil, id)}))
	s.stats.adjOutEntries++
}

// adjoutClear removes p (which has gone down: nothing is sent) from pe's Adj-RIB-Out.
func (s *Server) adjoutClear(pe *prefixEntry, p *session) {
	if have := pe.outFor(p.id); have != nil {
		s.adjoutMove(pe, p, have, nil)
	}
}

// adjoutApply makes pe's Adj-RIB-Out for the sessions in e what decision d says they should have
// (nothing for a session of e in no want), and returns the changes to send: announcements in the
// order of d's wants, then the withdrawal. A session is in a change only if what it has differs.
// The result is valid until the next call with d.
func (s *Server) adjoutApply(pe *prefixEntry, e bitset, d *exportDecision) []adjoutChange {
	fi := pe.fam()
	exported := &s.exported[fi]
	words := d.words
	d.changes = d.changes[:0]

	// What e's sessions have now.
	had := d.change(nil)
	for _, o := range pe.out() {
		orInto(had, o.bits.b)
	}
	andInto(had, had, e)

	// Sessions leave the entries of sets they should not have.
	for i := 0; i < len(pe.out()); {
		ent := &pe.out()[i]
		keep := d.wantOf(ent.set)
		var nb bitset
		for w := 0; w < min(words, len(ent.bits.b)); w++ {
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
		out := pe.out()
		for j := range out {
			if out[j].set == w.set {
				ent = &out[j]
				break
			}
		}
		var old bitset
		if ent != nil {
			old = ent.bits.b
		}
		news := d.change(w.set)
		added := false
		for j := 0; j < words; j++ {
			nw := w.bits[j] &^ old.word(j)
			// Sessions that had nothing now export one more prefix.
			if nb := nw &^ had[j]; nb != 0 {
				exported.add(j, nb)
			}
			had[j] &^= w.bits[j] // left: the sessions that had something and now get nothing
			news[j] = nw
			added = added || nw != 0
		}
		if !added {
			d.changes = d.changes[:len(d.changes)-1]
			continue
		}
		if ent == nil {
			pe.setOut(append(out, adjOut{set: w.set}))
			out = pe.out()
			ent = &out[len(out)-1]
			s.sets.ref(w.set)
			s.stats.adjOutEntries++
		}
		ent.bits = s.bits.union(ent.bits, w.bits)
	}

	// had now holds the sessions that had a route and should have none.
	for j, hw := range had {
		if hw != 0 {
			exported.sub(j, hw)
		}
	}
	// The withdrawal goes last: move it behind the announcements (or out, keeping its bits for
	// the next call).
	wd := d.changes[0]
	copy(d.changes, d.changes[1:])
	d.changes[len(d.changes)-1] = wd
	if !had.any() {
		d.changes = d.changes[:len(d.changes)-1]
	}
	for _, c := range d.changes {
		s.adjoutChanged(pe, c.set, c.bits, -1)
	}
	return d.changes
}

// change adds a change for set to d with a cleared bit set, and returns the bits.
func (d *exportDecision) change(set *attrSet) bitset {
	n := len(d.changes)
	if n < cap(d.changes) {
		d.changes = d.changes[:n+1]
	} else {
		d.changes = append(d.changes, adjoutChange{})
	}
	c := &d.changes[n]
	c.set = set
	c.bits = resize(c.bits, d.words)
	clear(c.bits)
	return c.bits
}

// removeOut deletes pe's entry i, whose bit set is already released.
func (s *Server) removeOut(pe *prefixEntry, i int) {
	out := pe.out()
	s.sets.unref(out[i].set)
	last := len(out) - 1
	out[i] = out[last]
	out[last] = adjOut{}
	pe.setOut(out[:last])
	s.stats.adjOutEntries--
}
