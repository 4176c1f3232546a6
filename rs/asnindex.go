package rs

// The AS index: for every AS number, the members whose routes carry it somewhere in the AS path,
// so that a search by origin or by an AS in the path reads only those members' sessions instead
// of every route of the RIB (at 300 members and 1M routes, a page of an origin search visited
// 100,000 routes and came back partial).
//
// It is kept per attribute set, not per route: a received set records the members that have filed
// a route with it (setIn.owners, almost always one: the attributes carry the member's next hop and
// AS), and the index counts, per AS, the sets of each member that carry it. A set's owners only
// grow while it exists, and the index forgets them when the set is freed, so the index is a
// superset of the members that hold such a route now: a search still checks every route it
// reads, and never misses one. The cost is a comparison per route filed and a few slice updates
// per set created or freed.

// asnOwners are the members with sets carrying one AS, and how many sets each.
type asnOwners []struct {
	m    *member
	sets int32
}

// own records that m filed a route with s (a received set).
func (t *attrTable) own(s *attrSet, m *member) {
	in := s.setIn
	for _, o := range in.owners {
		if o == m {
			return
		}
	}
	in.owners = append(in.owners, m)
	t.indexSet(s, m, 1)
}

// indexSet adds d to m's count for every distinct AS of s's path.
func (t *attrTable) indexSet(s *attrSet, m *member, d int32) {
	asns := s.setIn.asns
	for i, a := range asns {
		if a == 0 || indexOf(asns[:i], a) >= 0 {
			continue // counted once per set
		}
		t.indexASN(a, m, d)
	}
}

func indexOf(s []uint32, v uint32) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}

func (t *attrTable) indexASN(a uint32, m *member, d int32) {
	if t.byASN == nil {
		t.byASN = map[uint32]asnOwners{}
	}
	o := t.byASN[a]
	for i := range o {
		if o[i].m == m {
			if o[i].sets += d; o[i].sets == 0 {
				o[i] = o[len(o)-1]
				o = o[:len(o)-1]
			}
			if len(o) == 0 {
				delete(t.byASN, a)
			} else {
				t.byASN[a] = o
			}
			return
		}
	}
	if d > 0 {
		t.byASN[a] = append(o, struct {
			m    *member
			sets int32
		}{m, d})
	}
}

// unindex forgets a set that is being freed.
func (t *attrTable) unindex(s *attrSet) {
	if s.setIn == nil {
		return
	}
	for _, m := range s.setIn.owners {
		t.indexSet(s, m, -1)
	}
	s.setIn.owners = nil
}

// membersWith returns the members that may hold a route with a in its path.
func (t *attrTable) membersWith(a uint32) map[*member]bool {
	out := map[*member]bool{}
	for _, o := range t.byASN[a] {
		out[o.m] = true
	}
	return out
}
