package rs

import (
	"net/netip"

	"github.com/ixrs/ixrs/policy"
	"github.com/ixrs/ixrs/speaker"
)

// importUpdate applies one UPDATE from p to its Adj-RIB-In and the candidate lists. Withdrawals
// first, as in the message. The attribute set is interned once for the whole UPDATE and the
// path-level import checks run once per family; only ImportRoute runs per prefix.
func (s *Server) importUpdate(p *session, u *speaker.Update) {
	// A member back from a graceful restart replaces its stale routes prefix by prefix (gr.go).
	stale := len(p.ss.stale) > 0
	for _, pfx := range u.Withdrawn {
		s.withdrawRoute(p, pfx.Masked())
		if stale {
			s.replaceStale(p.ss, pfx.Masked())
		}
	}
	if len(u.NLRI) > 0 {
		if u.Attrs == nil {
			// NLRI without attributes cannot come from a correct decoder; treat as withdraw
			// (RFC 7606) rather than keep a route nothing is known about.
			for _, pfx := range u.NLRI {
				s.withdrawRoute(p, pfx.Masked())
				if stale {
					s.replaceStale(p.ss, pfx.Masked())
				}
			}
			return
		}
		set := s.sets.internFor(u.Attrs, p.m.prof)
		data := s.data(p.m)
		// The policy views live in the table's scratch: passed by pointer through the import
		// policy's interface, a local would escape to the heap on every UPDATE.
		paths := &s.sets.paths
		var verdicts [numFams]policy.Verdict
		var done [numFams]bool
		for _, pfx := range u.NLRI {
			pfx = pfx.Masked()
			if !pfx.IsValid() {
				continue
			}
			if stale {
				s.replaceStale(p.ss, pfx)
			}
			fi := famOf(pfx)
			if !done[fi] {
				paths[fi] = set.policyPath()
				paths[fi].NextHop = set.nextHop(fi)
				verdicts[fi] = s.pathVerdict(p, set, fi, &paths[fi])
				done[fi] = true
			}
			v := p.imp.ImportRoute(&p.polSess, data, pfx, &paths[fi], verdicts[fi])
			s.announceRoute(p, pfx, set, v)
		}
		*paths = [numFams]policy.Path{} // hold no references to the set's slices
		s.sets.unref(set)
	}
	if fi, ok := famIdxOf(u.EndOfRIB); ok {
		// The route server never waits for End-of-RIB before exporting, since FRR, GoBGP and
		// OpenBGPD send none without graceful restart; after one, it ends the family's stale routes.
		p.eorIn[fi] = true
		if stale {
			s.sweepStale(p.ss, fi, "End-of-RIB received")
		}
	}
}

// pathVerdict returns the path-level import verdict of set for p, from the set's cache when p was
// the last session to use it.
func (s *Server) pathVerdict(p *session, set *attrSet, fi famIdx, path *policy.Path) policy.Verdict {
	if set.impP[fi] != p {
		set.impP[fi] = p
		set.impV[fi] = p.imp.ImportPath(&p.polSess, path)
	}
	return set.impV[fi]
}

// announceRoute files (or replaces) p's route for pfx. An identical re-announcement changes
// nothing and costs no allocation.
func (s *Server) announceRoute(p *session, pfx netip.Prefix, set *attrSet, v policy.Verdict) {
	fi := famOf(pfx)
	pe := s.prefixes.getOrCreate(pfx)
	r := pe.find(p)
	wasAccepted := false
	if r != nil {
		p.unstale(r)
		if r.set == set {
			p.dupAnnounce++
		}
		if r.set == set && r.reasons == v.Reasons && r.localPref == v.LocalPref && r.info == v.Info {
			return
		}
		wasAccepted = r.accepted()
		pe.remove(r)
		s.sets.unlinkRoute(r)
		s.sets.unref(r.set)
		if wasAccepted {
			p.accepted[fi]--
			s.stats.accepted--
		} else {
			p.countFiltered(fi, r.reasons, -1)
		}
	} else {
		if !s.admitNew(p, fi) {
			if pe.unused() {
				s.prefixes.delete(pe)
			}
			return
		}
		r = &route{p: p}
		p.addRoute(r)
		p.received[fi]++
		s.stats.routes++
	}
	r.set = set
	s.sets.ref(set)
	s.sets.linkRoute(r)
	r.reasons, r.localPref, r.info, r.since = v.Reasons, v.LocalPref, v.Info, uint32(s.now)
	pe.insert(r)
	if r.accepted() {
		p.accepted[fi]++
		s.stats.accepted++
	} else {
		p.countFiltered(fi, r.reasons, 1)
	}
	if wasAccepted || r.accepted() {
		s.cl.touch(&pe.node)
	}
	s.feedAdjIn(r, false)
}

// withdrawRoute removes p's route for pfx, if any.
func (s *Server) withdrawRoute(p *session, pfx netip.Prefix) {
	pe := s.prefixes.get(pfx)
	if pe == nil {
		p.dupWithdraw++
		return
	}
	if r := pe.find(p); r != nil {
		s.dropRoute(r)
	} else {
		p.dupWithdraw++
	}
}

// dropRoute removes r from its prefix and its session's Adj-RIB-In.
func (s *Server) dropRoute(r *route) {
	pe, p := r.pe, r.p
	fi := pe.fam()
	p.unstale(r)
	pe.remove(r)
	if len(pe.routes()) == 0 {
		pe.releaseRoutes() // remove keeps the capacity for the re-insert of a replaced route
	}
	s.sets.unlinkRoute(r)
	s.sets.unref(r.set)
	p.removeRoute(r)
	p.received[fi]--
	s.rearm(p, fi)
	s.stats.routes--
	if r.accepted() {
		p.accepted[fi]--
		s.stats.accepted--
		s.cl.touch(&pe.node)
	} else {
		p.countFiltered(fi, r.reasons, -1)
		if pe.unused() {
			s.prefixes.delete(pe)
		}
	}
	s.feedAdjIn(r, true)
	r.set, r.pe = nil, nil
}
