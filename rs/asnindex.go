package rs

import "slices"

// The AS index: for every AS number, the received attribute sets whose AS path carries it, and for
// every received set, the routes filed with it (a list through the routes). A search by origin, by
// an AS in the path, or by an AS-path pattern that requires an AS reads the sets of that AS and
// their routes, nothing else: its work follows the number of sets with the AS and the routes it
// returns, not the size of the table or of a member's Adj-RIB-In. (An index of the members whose
// sets carry the AS, which it replaces, still read all of such a member's routes: at 300 members
// and 1M routes an origin search with a five-route answer visited the whole Adj-RIB-In of a large
// member and often came back partial.)
//
// A set is indexed while at least one route is filed with it: linkRoute indexes it with its first
// route and unlinkRoute forgets it with its last, so the index holds exactly the sets routes use.
// The cost is two pointers per route (the list), and per set one entry for each distinct AS of its
// path.

// asnSets are the sets carrying one AS: a short slice while there are few (most ASes are in a
// handful of sets), a map beyond asnFew so that adding and removing a set stays O(1) for an AS
// that thousands of sets carry (a member's own AS).
type asnSets struct {
	few  []*attrSet
	many map[*attrSet]struct{}
}

// asnFew is the most sets asnSets keeps in its slice.
const asnFew = 32

// len returns the number of sets; 0 for a nil entry.
func (e *asnSets) len() int {
	if e == nil {
		return 0
	}
	return len(e.few) + len(e.many)
}

func (e *asnSets) add(s *attrSet) {
	if e.many != nil {
		e.many[s] = struct{}{}
		return
	}
	if len(e.few) < asnFew {
		e.few = append(e.few, s)
		return
	}
	e.many = make(map[*attrSet]struct{}, 2*asnFew)
	for _, x := range e.few {
		e.many[x] = struct{}{}
	}
	e.many[s] = struct{}{}
	e.few = nil
}

func (e *asnSets) remove(s *attrSet) {
	if e.many != nil {
		delete(e.many, s)
		return
	}
	for i, x := range e.few {
		if x == s {
			last := len(e.few) - 1
			e.few[i] = e.few[last]
			e.few[last] = nil
			e.few = e.few[:last]
			return
		}
	}
}

// each calls f for every set; f must not change the index.
func (e *asnSets) each(f func(*attrSet)) {
	for _, s := range e.few {
		f(s)
	}
	for s := range e.many {
		f(s)
	}
}

// linkRoute files r in the route list of its set (a received set), at the end, indexing the set
// when r is its first route. Called where r.set is assigned.
func (t *attrTable) linkRoute(r *route) {
	in := r.set.setIn
	h := in.routes
	if h == nil {
		r.setPrev, r.setNext = r, r
		in.routes = r
		t.indexSet(r.set, true)
		return
	}
	tail := h.setPrev // the list is circular: the head's previous is the tail
	r.setPrev, r.setNext = tail, h
	tail.setNext = r
	h.setPrev = r
}

// unlinkRoute removes r from its set's route list, forgetting the set in the index when r was its
// last route. Called before r.set is released.
func (t *attrTable) unlinkRoute(r *route) {
	in := r.set.setIn
	if r.setNext == r {
		in.routes = nil
		t.indexSet(r.set, false)
	} else {
		r.setPrev.setNext = r.setNext
		r.setNext.setPrev = r.setPrev
		if in.routes == r {
			in.routes = r.setNext
		}
	}
	r.setPrev, r.setNext = nil, nil
}

// indexSet adds s to (or removes it from) the entry of every distinct AS of its path, and of
// every term of the term index once that is built.
func (t *attrTable) indexSet(s *attrSet, add bool) {
	if t.byTerm != nil {
		t.byTerm.index(s, add)
	}
	asns := s.setIn.asns
	for i, a := range asns {
		if a == 0 || slices.Contains(asns[:i], a) {
			continue // once per set
		}
		if t.byASN == nil {
			t.byASN = map[uint32]*asnSets{}
		}
		fileSet(t.byASN, a, s, add)
	}
}

// fileSet adds s to (or removes it from) m's entry for key k, the entry of an index (the AS index,
// the term index), creating and dropping entries as they gain their first set and lose their last.
func fileSet[K comparable](m map[K]*asnSets, k K, s *attrSet, add bool) {
	e := m[k]
	switch {
	case add && e == nil:
		m[k] = &asnSets{few: []*attrSet{s}}
	case add:
		e.add(s)
	case e != nil:
		if e.remove(s); e.len() == 0 {
			delete(m, k)
		}
	}
}

// setsWith returns the sets with routes whose path carries a, or nil. The caller must not keep it
// past the current loop step.
func (t *attrTable) setsWith(a uint32) *asnSets { return t.byASN[a] }

// eachRoute calls f for the routes filed with received set s, in the order they were filed, until
// f returns false.
func (s *attrSet) eachRoute(f func(*route) bool) {
	h := s.setIn.routes
	if h == nil {
		return
	}
	for r := h; ; {
		next := r.setNext
		if !f(r) || next == h {
			return
		}
		r = next
	}
}
