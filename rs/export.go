package rs

import "github.com/ixrs/ixrs/policy"

// Per-member export without path hiding (RFC 7947 §2.3): a member receives the first candidate, in
// decision order, that it may receive. Everything checked here is either per route (the announcing
// session) or precomputed on the attribute set, so the check is a few comparisons.

// ExportCheck says whether a candidate may be sent to a member, and if not, why.
type ExportCheck uint8

// Export check results.
const (
	ExportOK         ExportCheck = iota
	ExportOwnRoute               // announced by the receiving member itself
	ExportReceiverAS             // the receiver's AS is in the AS path: it would drop the route as a loop
	ExportRSASInPath             // the route server's AS is in the path: never redistributed
	ExportDenied                 // export policy (control communities) denies it to this member
	ExportFamily                 // the family is not negotiated on the receiving session
	ExportRejected               // rejected by import policy: not a candidate
	ExportNotBest                // allowed, but a better candidate is sent instead
)

var exportCheckNames = [...]string{
	ExportOK: "exported", ExportOwnRoute: "own route", ExportReceiverAS: "receiver AS in path",
	ExportRSASInPath: "route server AS in path", ExportDenied: "denied by export policy",
	ExportFamily: "family not negotiated", ExportRejected: "rejected on import",
	ExportNotBest: "better route exported",
}

func (c ExportCheck) String() string {
	if int(c) < len(exportCheckNames) {
		return exportCheckNames[c]
	}
	return "unknown"
}

// exportCheck decides whether candidate r may go to p. The member test covers "never send a route
// back to the member that announced it" for all of the member's sessions; the AS-path test makes it
// hold even when a member's route comes back through another member.
// With ExportOK it also returns the variant of the attributes p gets (prepend, NO_EXPORT ... toward
// p), read from the set's summary in constant time.
func exportCheck(r *route, p *session) (ExportCheck, policy.Variant) {
	switch {
	case r.p.m == p.m:
		return ExportOwnRoute, 0
	case r.set.rsInPath:
		return ExportRSASInPath, 0
	case r.set.path.Contains(p.m.asn):
		return ExportReceiverAS, 0
	}
	ok, v := r.set.exp.Decide(p.m.asn)
	if !ok {
		return ExportDenied, 0
	}
	return ExportOK, v
}

// bestFor returns the route p should have for pe, or nil, and the variant p gets it with.
func bestFor(pe *prefixEntry, p *session) (*route, policy.Variant) {
	if !p.fams[pe.fam()] {
		return nil, 0
	}
	for _, r := range pe.candidates() {
		if c, v := exportCheck(r, p); c == ExportOK {
			return r, v
		}
	}
	return nil, 0
}

// wantFor returns the set p should have for pe (nil: none).
func (s *Server) wantFor(pe *prefixEntry, p *session) *attrSet {
	r, v := bestFor(pe, p)
	if r == nil {
		return nil
	}
	return s.sets.variant(r.set.out, r.info, v)
}

// reconcile brings p's Adj-RIB-Out state for pe in line with the route p should have, queuing the
// announce or withdraw that gets it there. With force the announce is queued even when p already
// has the set (route refresh).
func (s *Server) reconcile(pe *prefixEntry, p *session, force bool) {
	s.reconcileTo(pe, p, s.wantFor(pe, p), force)
}

func (s *Server) reconcileTo(pe *prefixEntry, p *session, want *attrSet, force bool) {
	have := pe.outFor(p.id)
	if want == have && !force {
		return
	}
	if want == nil {
		if have != nil {
			s.adjoutClear(pe, p)
			s.feedAdjOutOne(pe, p, nil)
			p.pend.withdraw(pe)
		}
		return
	}
	if want != have {
		s.adjoutSet(pe, p, want)
		s.feedAdjOutOne(pe, p, want)
	}
	p.pend.announce(pe, want)
}
