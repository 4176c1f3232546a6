package rs

import (
	"net/netip"
	"slices"

	"github.com/ixrs/ixrs/speaker"
)

// The term index: for every standard, extended and large community and every next hop, the
// received sets with routes that carry it, kept like the AS index (asnindex.go) and read the same
// way by a search (search.go), so that a search by community or next hop reads the sets that carry
// it and their routes rather than every member's Adj-RIB-In.
//
// Unlike the AS index it is built only when a search first asks for one of these terms: every set
// with routes is filed then, in one step of that search, and linkRoute and unlinkRoute keep it up
// to date from then on. A route server whose looking glass is never asked such a question holds
// none of it; one that is holds about one slice slot per (set, term) and one entry per distinct
// term (measured in docs/lookingglass.md, "What a search costs").
type termIndex struct {
	comm  map[uint32]*asnSets
	ext   map[uint64]*asnSets
	large map[speaker.LargeCommunity]*asnSets
	nh    map[netip.Addr]*asnSets
}

// terms returns the term index, building it from every set with routes the first time.
func (t *attrTable) terms() *termIndex {
	if t.byTerm != nil {
		return t.byTerm
	}
	x := &termIndex{
		comm:  map[uint32]*asnSets{},
		ext:   map[uint64]*asnSets{},
		large: map[speaker.LargeCommunity]*asnSets{},
		nh:    map[netip.Addr]*asnSets{},
	}
	for s := range t.all() {
		if s.setIn != nil && s.setIn.routes != nil {
			x.index(s, true)
		}
	}
	t.byTerm = x
	return x
}

// index adds s to (or removes it from) the entry of every distinct term it carries.
func (x *termIndex) index(s *attrSet, add bool) {
	a := s.attrs
	for i, c := range a.Communities {
		if !slices.Contains(a.Communities[:i], c) {
			fileSet(x.comm, c, s, add)
		}
	}
	for i, c := range a.ExtCommunities {
		if !slices.Contains(a.ExtCommunities[:i], c) {
			fileSet(x.ext, c, s, add)
		}
	}
	for i, c := range a.LargeCommunities {
		if !slices.Contains(a.LargeCommunities[:i], c) {
			fileSet(x.large, c, s, add)
		}
	}
	if a.NextHop.IsValid() {
		fileSet(x.nh, a.NextHop, s, add)
	}
	if a.MPNextHop.IsValid() && a.MPNextHop != a.NextHop {
		fileSet(x.nh, a.MPNextHop, s, add)
	}
}

// hasTerms reports whether q names a term of the term index.
func (q *SearchQuery) hasTerms() bool {
	return len(q.Communities) > 0 || len(q.ExtCommunities) > 0 || len(q.LargeCommunities) > 0 || q.NextHop.IsValid()
}

// entries calls f with the term index entry of every term q names (nil for a term no set
// carries).
func (x *termIndex) entries(q *SearchQuery, f func(*asnSets)) {
	for _, c := range q.Communities {
		f(x.comm[c])
	}
	for _, c := range q.ExtCommunities {
		f(x.ext[c])
	}
	for _, c := range q.LargeCommunities {
		f(x.large[c])
	}
	if q.NextHop.IsValid() {
		f(x.nh[q.NextHop])
	}
}
