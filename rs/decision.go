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
)

var stepNames = [...]string{
	StepLocalPref: "local-pref", StepASPathLen: "as-path-length", StepOrigin: "origin",
	StepMED: "med", StepRouterID: "router-id", StepPeerAddr: "peer-address", StepTie: "tie",
}

func (s Step) String() string {
	if int(s) < len(stepNames) && stepNames[s] != "" {
		return stepNames[s]
	}
	return "unknown"
}

// compareRoutes returns a negative number when a is preferred over b, a positive one when b is,
// and the step that decided.
//
// MED is compared only between routes whose first AS is the same, so this is not a total order
// over three routes from two neighbour ASes (the well-known MED non-transitivity). Candidates are
// kept in a list where a new route goes before the first route it beats, as OpenBGPD does; the
// result is deterministic for a given arrival order, and identical inputs on rs1 and rs2 give
// identical lists.
func compareRoutes(a, b *route) (int, Step) {
	if c := cmp.Compare(b.localPref, a.localPref); c != 0 {
		return c, StepLocalPref
	}
	sa, sb := a.set, b.set
	if c := cmp.Compare(sa.path.Len, sb.path.Len); c != 0 {
		return c, StepASPathLen
	}
	if c := cmp.Compare(sa.attrs.Origin, sb.attrs.Origin); c != 0 {
		return c, StepOrigin
	}
	if sa.path.First == sb.path.First {
		if c := cmp.Compare(sa.med, sb.med); c != 0 {
			return c, StepMED
		}
	}
	if c := a.p.routerID.Compare(b.p.routerID); c != 0 {
		return c, StepRouterID
	}
	if c := a.p.addr.Compare(b.p.addr); c != 0 {
		return c, StepPeerAddr
	}
	return 0, StepTie
}

// insert files r in pe.routes: before the first candidate it beats when accepted, at the end
// when rejected.
func (pe *prefixEntry) insert(r *route) {
	r.pe = pe
	if !r.accepted() {
		pe.routes = append(pe.routes, r)
		return
	}
	i := 0
	for ; i < int(pe.nacc); i++ {
		if c, _ := compareRoutes(r, pe.routes[i]); c < 0 {
			break
		}
	}
	pe.routes = append(pe.routes, nil)
	copy(pe.routes[i+1:], pe.routes[i:])
	pe.routes[i] = r
	pe.nacc++
}

// remove takes r out of pe.routes, keeping the candidates in order.
func (pe *prefixEntry) remove(r *route) {
	i := 0
	for pe.routes[i] != r {
		i++
	}
	if i < int(pe.nacc) {
		pe.nacc--
	}
	copy(pe.routes[i:], pe.routes[i+1:])
	pe.routes[len(pe.routes)-1] = nil
	pe.routes = pe.routes[:len(pe.routes)-1]
}
