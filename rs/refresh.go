package rs

import (
	"time"

	"github.com/ixrs/ixrs/speaker"
)

// Enhanced route refresh (RFC 7313), both directions, when SessionInfo.EnhancedRouteRefresh says
// both sides advertised the capability.
//
// Sending. A refresh of family f (the member's ROUTE-REFRESH, or one the route server starts)
// queues a BoRR for f in the session's pending state, sent before anything else of the next flush,
// and restarts the table dump with force; when the dump ends, an EoRR for f is due, sent like
// End-of-RIB once nothing is pending and before anything new is pulled. While such a dump runs, the
// change-list pulls for f also force: a prefix whose route moved during the dump to a slab the dump
// had already passed, with the same attributes, would otherwise not be sent again between BoRR and
// EoRR, and the member would purge it at EoRR.
//
// Receiving. A BoRR for f marks every route of the session's current incarnation of family f stale
// (route.rrStale); any announcement of the prefix by the session clears the mark (an identical one
// too, which changes nothing else), a withdrawal removes the route anyway; at EoRR the routes still
// marked are removed, all at once, like Down removes a session's routes. A second BoRR marks again
// and restarts the timer; an EoRR without a BoRR is ignored. If the EoRR does not come within
// Config.StaleTime the marked routes are removed then. A session that goes down drops its marks
// with its incarnation: its routes go (or stay stale for a graceful restart, gr.go) as they would
// anyway. BoRR and EoRR from a session without the capability negotiated are ignored.

// RefreshMessage hands a received ROUTE-REFRESH to the route server: subtype 0 is RouteRefresh;
// a BoRR or EoRR (RFC 7313) starts or ends the member's re-advertisement of the family. Like
// Receive it is queued behind the UPDATEs already received. Other subtypes are ignored (RFC 7313
// §5).
func (ss *Peer) RefreshMessage(rr speaker.RouteRefresh) error {
	if rr.Subtype > speaker.RefreshEoRR {
		return nil
	}
	return ss.send(inMsg{refresh: rr.Family, rrSub: rr.Subtype})
}

// refreshIn handles a ROUTE-REFRESH taken from p's inbox.
func (s *Server) refreshIn(p *session, f speaker.Family, sub uint8) {
	if sub == speaker.RefreshNormal {
		s.refresh(p, f)
		return
	}
	fi, ok := famIdxOf(f)
	if !ok || !p.fams[fi] || !p.ib.info.EnhancedRouteRefresh {
		return
	}
	if sub == speaker.RefreshBoRR {
		s.borrIn(p, fi)
	} else if p.rrActive[fi] {
		s.sweepRefresh(p, fi, "EoRR received")
	}
}

// borrIn marks p's routes of family fi stale until its EoRR.
func (s *Server) borrIn(p *session, fi famIdx) {
	n := 0
	for _, r := range p.routes {
		if r != nil && r.pe.fam() == fi {
			if !r.rrStale {
				r.rrStale = true
				p.rrStale[fi]++
			}
			n++
		}
	}
	p.rrActive[fi] = true
	s.stats.borrIn++
	s.armRefresh(p, fi)
	s.log.Info("member re-advertises its routes (BoRR)", "member", p.m.name, "neighbor", p.addr,
		"afi", families[fi].String(), "routes", n)
}

// unstale clears r's refresh mark: its session announced the prefix again. Called before r is
// replaced or dropped.
func (p *session) unstale(r *route) {
	if r.rrStale {
		r.rrStale = false
		p.rrStale[r.pe.fam()]--
	}
}

// sweepRefresh ends p's refresh of family fi: the routes it did not announce again go.
func (s *Server) sweepRefresh(p *session, fi famIdx, why string) {
	p.rrActive[fi] = false
	p.rrGen[fi]++
	if p.rrStop[fi] != nil {
		p.rrStop[fi]()
		p.rrStop[fi] = nil
	}
	n := 0
	for _, r := range p.routes {
		if p.rrStale[fi] == 0 {
			break
		}
		if r != nil && r.rrStale && r.pe.fam() == fi {
			s.dropRoute(r) // clears the mark
			n++
		}
	}
	s.stats.refreshSwept += uint64(n)
	s.log.Info("member's refresh ended", "member", p.m.name, "neighbor", p.addr, "afi", families[fi].String(),
		"removed", n, "why", why)
}

// armRefresh (re)starts the timer that ends p's refresh of fi if no EoRR comes.
func (s *Server) armRefresh(p *session, fi famIdx) {
	if p.rrStop[fi] != nil {
		p.rrStop[fi]()
	}
	p.rrGen[fi]++
	gen := p.rrGen[fi]
	after := s.cfg.afterFunc
	if after == nil {
		after = func(d time.Duration, f func()) func() bool { return time.AfterFunc(d, f).Stop }
	}
	ib := p.ib
	p.rrStop[fi] = after(s.cfg.StaleTime, func() {
		s.mail.post(mailEvent{kind: evRefreshTimer, ib: ib, fi: fi, gen: gen})
	})
}

// refreshTimer handles the expiry of a refresh timer armed by armRefresh.
func (s *Server) refreshTimer(ib *inbox, fi famIdx, gen uint64) {
	p := ib.p
	if p == nil || p.down || !p.rrActive[fi] || p.rrGen[fi] != gen {
		return
	}
	p.rrStop[fi] = nil
	s.stats.refreshExpired++
	s.sweepRefresh(p, fi, "no EoRR within the stale time")
}

// stopRefresh stops p's refresh timers (p went down).
func (p *session) stopRefresh() {
	for fi, stop := range p.rrStop {
		if stop != nil {
			stop()
			p.rrStop[fi] = nil
		}
		p.rrGen[fi]++
		p.rrActive[fi] = false
	}
}
