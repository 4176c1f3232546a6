package rs

import (
	"encoding/binary"
	"slices"
)

// Shared Adj-RIB-Out (docs/architecture.md, design choice 3). What every session has been sent for a prefix is stored
// once per distinct outgoing attribute set, with the set of sessions that have it, instead of one
// copy per session: at an IXP nearly every member receives the same best route, so a prefix usually
// has one or two entries however many members there are.
//
// Invariant: a session id is in at most one entry of a prefix, and an entry's bit set is never
// empty. A session's bits are updated when a change for it is queued (pending.go), so the
// Adj-RIB-Out is "sent or about to be sent", which is what the next change has to be compared with.

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

// with returns the interned x plus id, releasing x.
func (t *bitsTable) with(x *ibits, id int) *ibits {
	b := t.work(x)
	b.set(id) // may grow past tmp
	t.tmp = b
	t.release(x)
	return t.intern(b)
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

// adjoutSet records that p has set for pe, moving p's bit from any other entry.
func (s *Server) adjoutSet(pe *prefixEntry, p *session, set *attrSet) {
	fi := pe.fam()
	if s.adjoutDrop(pe, p.id) {
		p.exported[fi]--
	}
	for i := range pe.out {
		if e := &pe.out[i]; e.set == set {
			e.bits = s.bits.with(e.bits, p.id)
			p.exported[fi]++
			return
		}
	}
	s.sets.ref(set)
	pe.out = append(pe.out, adjOut{set: set, bits: s.bits.with(nil, p.id)})
	s.stats.adjOutEntries++
	p.exported[fi]++
}

// adjoutClear records that p has nothing for pe.
func (s *Server) adjoutClear(pe *prefixEntry, p *session) {
	if s.adjoutDrop(pe, p.id) {
		p.exported[pe.fam()]--
	}
}

// adjoutDrop removes id from pe's entries, dropping an entry left empty. It reports whether id had
// an entry.
func (s *Server) adjoutDrop(pe *prefixEntry, id int) bool {
	for i := range pe.out {
		e := &pe.out[i]
		if !e.bits.b.has(id) {
			continue
		}
		if e.bits = s.bits.without(e.bits, id); e.bits == nil {
			s.removeOut(pe, i)
		}
		return true
	}
	return false
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
