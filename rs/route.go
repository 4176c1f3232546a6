package rs

import (
	"github.com/ixrs/ixrs/policy"
)

// route is one row of a session's Adj-RIB-In: a prefix as received from one session, with the
// import verdict. Rejected routes are kept (RFC 7947 §2.1) with every failing reason; they are never
// candidates.
type route struct {
	pe        *prefixEntry
	p         *session
	set       *attrSet
	reasons   policy.Reasons
	localPref uint32
	slot      int32  // index in p.routes
	since     uint32 // unix seconds of the last change
	// info is the RPKI/IRR validation state export turns into informational communities.
	info policy.Info
	// rrStale: the session sent BoRR for the family and has not announced this prefix since
	// (refresh.go). Fits in the struct's padding.
	rrStale bool
	// setPrev and setNext link the routes filed with set (asnindex.go), so that a search by an AS
	// reads the routes of the sets carrying it and no others.
	setPrev, setNext *route
}

func (r *route) accepted() bool { return r.reasons == 0 }

// addRoute files r in p's Adj-RIB-In slab. The slab gives every route of a session a stable index,
// which is what resumable walks (table dumps, looking-glass pages) hold across loop passes.
func (p *session) addRoute(r *route) {
	if n := len(p.free); n > 0 {
		r.slot = p.free[n-1]
		p.free = p.free[:n-1]
		p.routes[r.slot] = r
	} else {
		r.slot = int32(len(p.routes))
		p.routes = append(p.routes, r)
	}
	p.nroutes++
}

func (p *session) removeRoute(r *route) {
	p.routes[r.slot] = nil
	p.free = append(p.free, r.slot)
	p.nroutes--
	if p.nroutes == 0 {
		// A session that withdrew everything gives its slab back.
		p.routes, p.free = nil, nil
	}
}
