package rs

import "cmp"

// Decision process of a route server (RFC 4271 §9.1.2.2 as RFC 7947 leaves it): every route is
// eBGP, there is no IGP cost, so the steps are the ones below, in this order. The order of a prefix's
// candidates is the same for every member; what differs per member is which candidates it may
// receive (export.go), and it gets the first of those.

// Step names a decision step: the step that decided between two routes.
type Step uint8

// Decision steps, in order.
const (
	StepLocalPref Step = iota + 1 // highest LOCAL_PREF (set by import policy only)
	StepASPathLen                 // shortest AS_PATH
	StepOrigin                    // lowest ORIGIN (IGP < EGP < INCOMPLETE)
	StepMED                       // lowest MED, only between routes from the same neighbour AS
	StepRouterID                  // lowest BGP identifier of the announcing session
	StepPeerAddr                  // lowest peer address
	StepTie                       // nothing left to compare (the same session)
	// StepLLGRStale is compared first: a route without LLGR_STALE wins over one with it (RFC 9494
	// §4.3). Numbered last so that the values of the other steps stay as they were.
	StepLLGRStale
)

var stepNames = [...]string{
	StepLocalPref: "local-pref", StepASPathLen: "as-path-length", StepOrigin: "origin",
	StepMED: "med", StepRouterID: "router-id", StepPeerAddr: "peer-address", StepTie: "tie",
	StepLLGRStale: "llgr-stale",
}

func (s Step) String() string {
	if int(s) < len(stepNames) && stepNames[s] != "" {
		return stepNames[s]
	}
	return "unknown"
}

// compareRoutes compares two routes alone, pairwise: a negative number when a is preferred over b, a
// positive one when b is, and the step that decided. MED counts only between routes whose first AS is
// the same.
//
// Pairwise MED comparison is not transitive over three routes from two neighbour ASes, so it cannot
// order a candidate list: inserted one by one, the order (and the best route) would depend on the
// order the routes arrived in, and two redundant route servers could disagree (RFC 7948 §4.4). The
// list is ordered by compareRanked instead; for two routes the two agree.
func compareRoutes(a, b *route) (int, Step) {
	var buf [2]int32
	r := medRanks([]*route{a, b}, buf[:0])
	return compareRanked(a, r[0], b, r[1])
}

// compareRanked is the total order of a candidate list ("deterministic MED"). rank is a route's MED rank
// (medRanks): how many routes from the same neighbour AS, equal on the steps before MED, have a lower
// MED. The MED step compares ranks, so the best route of each neighbour AS competes with the best of the
// others on the later steps, and a route that loses on MED within its AS comes after every AS's best.
// The order depends only on the set of routes, not on the order they arrived in.
func compareRanked(a *route, ra int32, b *route, rb int32) (int, Step) {
	if a.set.llgrStale != b.set.llgrStale {
		if a.set.llgrStale {
			return 1, StepLLGRStale
		}
		return -1, StepLLGRStale
	}
	if c := cmp.Compare(b.localPref, a.localPref); c != 0 {
		return c, StepLocalPref
	}
	sa, sb := a.set, b.set
	if c := cmp.Compare(sa.plen, sb.plen); c != 0 {
		return c, StepASPathLen
	}
	if c := cmp.Compare(sa.attrs.Origin, sb.attrs.Origin); c != 0 {
		return c, StepOrigin
	}
	if c := cmp.Compare(ra, rb); c != 0 {
		return c, StepMED
	}
	if c := a.p.routerID.Compare(b.p.routerID); c != 0 {
		return c, StepRouterID
	}
	if c := a.p.addr.Compare(b.p.addr); c != 0 {
		return c, StepPeerAddr
	}
	return 0, StepTie
}

// medRanks appends to dst the MED rank of each route of c (see compareRanked).
func medRanks(c []*route, dst []int32) []int32 {
	for _, r := range c {
		n := int32(0)
		for _, o := range c {
			if o.set.first == r.set.first && o.set.med < r.set.med && o.localPref == r.localPref &&
				o.set.llgrStale == r.set.llgrStale &&
				o.set.plen == r.set.plen && o.set.attrs.Origin == r.set.attrs.Origin {
				n++
			}
		}
		dst = append(dst, n)
	}
	return dst
}

// order sorts the candidates by compareRanked. Lists are short and, after one insertion or removal,
// nearly sorted, so an insertion sort is close to linear.
func (pe *prefixEntry) order() {
	c := pe.candidates()
	if len(c) < 2 {
		return
	}
	var buf [16]int32
	ranks := medRanks(c, buf[:0])
	for i := 1; i < len(c); i++ {
		for j := i; j > 0; j-- {
			if x, _ := compareRanked(c[j], ranks[j], c[j-1], ranks[j-1]); x >= 0 {
				break
			}
			c[j], c[j-1] = c[j-1], c[j]
			ranks[j], ranks[j-1] = ranks[j-1], ranks[j]
		}
	}
}

// steps returns, for each pair of neighbouring candidates, the decision step that orders them.
func (pe *prefixEntry) steps() []Step {
	c := pe.candidates()
	ranks := medRanks(c, nil)
	var out []Step
	for i := 0; i+1 < len(c); i++ {
		_, st := compareRanked(c[i], ranks[i], c[i+1], ranks[i+1])
		out = append(out, st)
	}
	return out
}

// insert files r in pe.routes(): among the candidates in decision order when accepted, at the end when
// rejected.
func (pe *prefixEntry) insert(r *route) {
	r.pe = pe
	if !r.accepted() {
		pe.setRoutes(append(pe.routes(), r))
		return
	}
	was := pe.best()
	rs := append(pe.routes(), nil)
	copy(rs[pe.nacc+1:], rs[pe.nacc:])
	rs[pe.nacc] = r
	pe.setRoutes(rs)
	pe.nacc++
	pe.order()
	pe.preferredMoved(was)
}

// best returns the first candidate, or nil.
func (pe *prefixEntry) best() *route {
	if pe.nacc == 0 {
		return nil
	}
	return pe.routes()[0]
}

// preferredMoved keeps the sessions' preferred counts (the routes that are their prefix's first
// candidate, the looking glass's "preferred"/"best") after the candidates changed and was, the
// first candidate before, may have lost its place. Counting here, where the order changes, costs
// two comparisons per change instead of a walk per status read.
func (pe *prefixEntry) preferredMoved(was *route) {
	now := pe.best()
	if now == was {
		return
	}
	fi := pe.fam()
	if was != nil {
		was.p.preferred[fi]--
	}
	if now != nil {
		now.p.preferred[fi]++
	}
}

// remove takes r out of pe.routes(), keeping the candidates in order (a removal can change the MED
// ranks of the routes left).
func (pe *prefixEntry) remove(r *route) {
	rs := pe.routes()
	i := 0
	for rs[i] != r {
		i++
	}
	wasCandidate := i < int(pe.nacc)
	was := pe.best()
	if wasCandidate {
		pe.nacc--
	}
	copy(rs[i:], rs[i+1:])
	rs[len(rs)-1] = nil
	pe.setRoutes(rs[:len(rs)-1])
	if wasCandidate {
		pe.order()
		pe.preferredMoved(was)
	}
}
