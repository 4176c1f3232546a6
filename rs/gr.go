package rs

import (
	"net/netip"
	"time"

	"github.com/ixrs/ixrs/speaker"
)

// Graceful restart, helper side (RFC 4724 §4.2). When a session whose member advertised the
// graceful-restart capability (and to which the route server advertised it) ends without a
// NOTIFICATION, the member is presumed to be restarting with its forwarding state kept. Its
// incarnation then goes down for everything it receives (no output, its Adj-RIB-Out bits are
// cleared, it leaves every export bit set) but its Adj-RIB-In stays: its routes remain candidates,
// exported to the other members as before, and are stale. The incarnation is kept on its Peer's
// stale list, and in Server.peers under its id (so that table dumps and looking-glass walks still
// find its routes), until its last stale route is gone.
//
// A stale route leaves when
//   - the member's next incarnation announces or withdraws the prefix: the new route replaces it
//     in the same step, so a route re-announced with the same attributes changes nothing any other
//     member sees;
//   - the next incarnation sends End-of-RIB for the family (the sweep);
//   - the next incarnation comes up without the capability, without the family in it, or without
//     the forwarding-state bit for the family (RFC 4724 §4.2: removed at once; for routes already
//     long-lived stale the long-lived capability's bit decides, llgr.go);
//   - the member does not come back within the restart time its last OPEN advertised, or, once
//     back, sends no End-of-RIB within Config.StaleTime;
//   - the session is removed from the configuration.
//
// The sweep (End-of-RIB, a timer, a family without forwarding state) is a walk that drops a bounded
// number of routes per loop pass (grsweep.go); removal from the configuration drops them at once,
// like Down does.

// DownGraceful is DownWithReason for a session that ended as RFC 4724 lets a restarting member end
// it: the TCP connection failed or a new connection from the member replaced it, no NOTIFICATION.
// When graceful restart was negotiated (SessionInfo.GracefulRestart), the session's routes of the
// families in the member's capability stay, stale and still exported, for the restart time the
// member advertised; otherwise it is Down.
func (ss *Peer) DownGraceful(reason string) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ib := ss.cur.Load(); ib != nil {
		ss.downLocked(ib, reason, true)
	}
}

// retain decides, as p goes down, which of its families' routes stay stale, and reports whether
// any does. Called from down.
func (s *Server) retain(p *session) bool {
	gr := p.ib.info.GracefulRestart
	if !p.ib.graceful || gr == nil || (gr.RestartTime == 0 && !llgrRetains(&p.ib.info)) || s.sessions[p.addr] != p.ss {
		return false
	}
	any := false
	keep := func(f speaker.Family) {
		if fi, ok := famIdxOf(f); ok && p.fams[fi] && p.received[fi] > 0 {
			p.staleFams[fi] = true
			any = true
		}
	}
	for _, f := range gr.Families {
		keep(f.Family)
	}
	for _, f := range p.ib.info.LongLivedGR {
		if f.StaleTime > 0 {
			keep(f.Family) // long-lived stale at once when outside gr (llgr.go)
		}
	}
	return any
}

// keepStale finishes the graceful down of p (retain said yes): routes of families not retained
// go now, the rest stay on the Peer's stale list until the member's restart time runs out.
func (s *Server) keepStale(p *session) int {
	ss := p.ss
	p.blocked = [numFams]uint64{} // nothing will be asked of this incarnation again
	n := 0
	for _, r := range p.routes {
		if r != nil && !p.staleFams[r.pe.fam()] {
			s.dropRoute(r)
			n++
		}
	}
	ss.stale = append(ss.stale, p)
	s.llgrKeep(p)
	s.armGR(ss, time.Duration(p.ib.info.GracefulRestart.RestartTime)*time.Second)
	s.llgrAtOnce(p)
	s.log.Info("session down: member restarting gracefully, its routes kept as stale", "member", p.m.name,
		"asn", p.m.asn, "neighbor", p.addr, "stale_routes", p.nroutes,
		"restart_time", p.ib.info.GracefulRestart.RestartTime)
	return n
}

// staleResume applies RFC 4724 §4.2 to p, the incarnation after one or more stale ones: the stale
// routes of a family p did not keep forwarding state for go at once; the rest wait for p's
// End-of-RIB, at most Config.StaleTime.
func (s *Server) staleResume(p *session) {
	ss := p.ss
	if len(ss.stale) == 0 {
		return
	}
	s.stopAllLLGR(ss) // back: End-of-RIB or the stale time decides, long-lived stale or not
	var keep [numFams]bool
	if gr := p.ib.info.GracefulRestart; gr != nil {
		for _, f := range gr.Families {
			if fi, ok := famIdxOf(f.Family); ok && f.ForwardingState && p.fams[fi] {
				keep[fi] = true
			}
		}
	}
	s.llgrForwarding(p, &keep)
	for fi := range keep {
		if !keep[fi] {
			s.sweepStale(ss, famIdx(fi), "restarted without forwarding state for the family")
		}
	}
	if len(ss.stale) > 0 {
		s.armGR(ss, s.cfg.StaleTime)
	}
}

// replaceStale drops the stale routes of ss for pfx: the member's current incarnation has just
// announced or withdrawn it.
func (s *Server) replaceStale(ss *Peer, pfx netip.Prefix) {
	pe := s.prefixes.get(pfx)
	if pe == nil {
		return
	}
	for _, o := range ss.stale {
		if r := pe.find(o); r != nil {
			s.dropRoute(r)
			s.stats.staleReplaced++
		}
	}
}

// sweepStale starts the removal of every stale route of ss of family fi: a walk (grsweep.go) that
// drops them a bounded number per loop pass, so that a member with a large table does not stall the
// RIB loop. A family already being swept is not queued twice.
func (s *Server) sweepStale(ss *Peer, fi famIdx, why string) {
	var incs []*session
	for _, o := range ss.stale {
		if o.staleFams[fi] && !o.sweeping[fi] {
			o.sweeping[fi] = true
			incs = append(incs, o)
		}
	}
	if len(incs) > 0 {
		s.sweeps = append(s.sweeps, &staleSweep{ss: ss, fi: fi, incs: incs, why: why})
	}
}

// sweepAllStale starts the removal of every stale route of ss.
func (s *Server) sweepAllStale(ss *Peer, why string) {
	for fi := range numFams {
		s.sweepStale(ss, famIdx(fi), why)
	}
}

// sweepStaleNow drops every stale route of ss at once, as Down drops a session's routes: the
// session is leaving the configuration, and nothing may remain of it afterwards.
func (s *Server) sweepStaleNow(ss *Peer, why string) {
	n := 0
	for _, o := range ss.stale {
		for _, r := range o.routes {
			if r != nil {
				s.dropRoute(r)
				n++
			}
		}
		o.staleFams, o.sweeping, o.llgrFams = [numFams]bool{}, [numFams]bool{}, [numFams]bool{}
	}
	s.pruneStale(ss)
	s.stats.staleSwept += uint64(n)
	if n > 0 {
		s.log.Info("stale routes removed", "member", ss.m.name, "neighbor", ss.addr, "routes", n, "why", why)
	}
}

// pruneStale ends the stale incarnations of ss left without routes, and stops its timer when none
// is left.
func (s *Server) pruneStale(ss *Peer) {
	keep := ss.stale[:0]
	for _, o := range ss.stale {
		if o.nroutes > 0 {
			keep = append(keep, o)
		} else {
			s.staleEnded(o)
		}
	}
	clear(ss.stale[len(keep):])
	ss.stale = keep
	if len(keep) == 0 {
		s.stopGR(ss)
		s.stopAllLLGR(ss)
	}
}

// staleEnded ends a stale incarnation whose routes are all gone: its id is freed once its
// Adj-RIB-Out bits are cleared too.
func (s *Server) staleEnded(o *session) {
	o.stale = false
	o.staleFams, o.sweeping, o.llgrFams = [numFams]bool{}, [numFams]bool{}, [numFams]bool{}
	s.gen++
	if o.cleared {
		s.freeID(o)
	}
}

// cleared records that a departed session's Adj-RIB-Out bits are all cleared; its id is freed
// unless it still holds stale routes.
func (s *Server) cleared(p *session) {
	p.cleared = true
	if !p.stale {
		s.freeID(p)
	}
}

// armGR (re)starts ss's graceful-restart timer: when it runs out, every stale route of ss goes.
func (s *Server) armGR(ss *Peer, d time.Duration) {
	s.stopGR(ss)
	ss.grGen++
	gen := ss.grGen
	after := s.cfg.afterFunc
	if after == nil {
		after = func(d time.Duration, f func()) func() bool { return time.AfterFunc(d, f).Stop }
	}
	ss.grStop = after(d, func() { s.mail.post(mailEvent{kind: evGRTimer, ss: ss, gen: gen}) })
}

func (s *Server) stopGR(ss *Peer) {
	ss.grGen++ // a timer event already posted is ignored
	if ss.grStop != nil {
		ss.grStop()
		ss.grStop = nil
	}
}

// grTimer handles the expiry of ss's graceful-restart timer: the member did not come back within
// its restart time, or did not send End-of-RIB within Config.StaleTime.
func (s *Server) grTimer(ss *Peer, gen uint64) {
	if gen != ss.grGen || len(ss.stale) == 0 {
		return
	}
	s.stats.staleExpired++
	if ss.p != nil {
		s.sweepAllStale(ss, "no End-of-RIB within the stale time")
		return
	}
	s.restartExpired(ss) // long-lived stale where negotiated (llgr.go), removed elsewhere
}

// staleRoutes returns the number of stale routes ss holds.
func (ss *Peer) staleRoutes() int {
	n := 0
	for _, o := range ss.stale {
		n += o.nroutes
	}
	return n
}
