package rs

import (
	"slices"
	"time"

	"github.com/ixrs/ixrs/policy"
	"github.com/ixrs/ixrs/speaker"
)

// Long-lived graceful restart, helper side (RFC 9494). A member restarting gracefully whose session
// negotiated LLGR (SessionInfo.LongLivedGR) keeps its routes past the graceful-restart time: when
// the restart time runs out and the member is not back, the stale routes of each family its
// capability lists with a non-zero long-lived stale time become long-lived stale instead of being
// removed; those of other families go as before. A route becomes long-lived stale by taking the
// LLGR_STALE community (65535:6), which makes its attribute set one the rest of the RIB treats as
// such wherever it comes from (§4.3, a member may send routes already marked):
//   - in the decision process it loses to every candidate without LLGR_STALE (StepLLGRStale);
//   - it is exported only to sessions that negotiated LLGR (exportMay); the others get the next
//     candidate, or a withdrawal;
//   - a route carrying NO_LLGR (65535:7) is removed instead of becoming long-lived stale.
//
// The change of each route runs as a walk (grsweep.go, the same job as the stale sweep), a bounded
// number of routes per loop pass. A timer per family (the long-lived stale time of the incarnation
// that went down last) removes the family's routes when it runs out. A member that comes back stops
// these timers: its routes, long-lived stale or not, then wait for its End-of-RIB like any stale
// route (gr.go), and its announcement of a prefix replaces the long-lived stale route.
//
// The capability's families outside the graceful-restart capability (gobgpd, for one, sends the
// graceful-restart capability without families when only LLGR is on) become long-lived stale as
// soon as the session goes down (§4.2), with their own timer; the restart time's end leaves them be.
//
// A member back while its routes of a family are long-lived stale keeps them (until End-of-RIB)
// only if its new OPEN's long-lived capability lists the family with the forwarding-state bit; else
// they go at once (§4.2), as gr.go does with the graceful-restart capability's bit for stale routes.

// The RFC 9494 well-known communities.
const (
	communityLLGRStale uint32 = 0xffff0006 // 65535:6
	communityNoLLGR    uint32 = 0xffff0007 // 65535:7
)

// llgrFlags reports whether communities hold LLGR_STALE and NO_LLGR.
func llgrFlags(communities []uint32) (stale, no bool) {
	for _, c := range communities {
		switch c {
		case communityLLGRStale:
			stale = true
		case communityNoLLGR:
			no = true
		}
	}
	return stale, no
}

// llgrKeep records, as p goes down gracefully, the long-lived stale time of each family p keeps.
func (s *Server) llgrKeep(p *session) {
	ss := p.ss
	ss.llgrTime = [numFams]uint32{}
	for _, f := range p.ib.info.LongLivedGR {
		if fi, ok := famIdxOf(f.Family); ok && p.staleFams[fi] {
			ss.llgrTime[fi] = f.StaleTime
		}
	}
}

// llgrRetains reports whether the long-lived capability keeps a family: the member then keeps its
// routes even with a restart time of 0 (RFC 9494 §4.2: straight to long-lived stale).
func llgrRetains(info *SessionInfo) bool {
	return slices.ContainsFunc(info.LongLivedGR, func(f speaker.LLGRFamily) bool { return f.StaleTime > 0 })
}

// llgrAtOnce turns the stale families of p that its graceful-restart capability does not list
// long-lived stale at once, as p goes down (keepStale).
func (s *Server) llgrAtOnce(p *session) {
	for fi := range numFams {
		if p.staleFams[fi] && p.ss.llgrTime[fi] > 0 && !slices.ContainsFunc(p.ib.info.GracefulRestart.Families,
			func(g speaker.GRFamily) bool { return g.Family == families[fi] }) {
			s.enterLLGR(p.ss, famIdx(fi))
		}
	}
}

// llgrForwarding applies the long-lived capability of p, the incarnation after stale ones, to keep
// (staleResume): a family whose stale routes are long-lived stale is kept only if the capability
// lists it with the forwarding-state bit.
func (s *Server) llgrForwarding(p *session, keep *[numFams]bool) {
	for fi := range numFams {
		if !slices.ContainsFunc(p.ss.stale, func(o *session) bool { return o.llgrFams[fi] }) {
			continue
		}
		keep[fi] = p.fams[fi] && slices.ContainsFunc(p.ib.info.LongLivedGR,
			func(f speaker.LLGRFamily) bool { return f.Family == families[fi] && f.ForwardingState })
	}
}

// restartExpired handles the end of the restart time of ss (the member is not back): families
// with a long-lived stale time become long-lived stale, the others are removed. A family already
// long-lived stale (llgrAtOnce) keeps its timer.
func (s *Server) restartExpired(ss *Peer) {
	for fi := range numFams {
		switch {
		case ss.llgrStop[fi] != nil:
		case ss.llgrTime[fi] == 0:
			s.sweepStale(ss, famIdx(fi), "restart time expired")
		default:
			s.enterLLGR(ss, famIdx(fi))
		}
	}
}

// enterLLGR starts the change of ss's stale routes of family fi to long-lived stale, and the
// timer that ends them.
func (s *Server) enterLLGR(ss *Peer, fi famIdx) {
	var incs []*session
	for _, o := range ss.stale {
		if o.staleFams[fi] && !o.sweeping[fi] && !o.llgrFams[fi] {
			o.llgrFams[fi] = true
			incs = append(incs, o)
		}
	}
	if len(incs) > 0 {
		s.sweeps = append(s.sweeps, &staleSweep{ss: ss, fi: fi, incs: incs, llgr: true,
			why: "restart time expired: long-lived stale"})
	}
	s.armLLGR(ss, fi, time.Duration(ss.llgrTime[fi])*time.Second)
	s.log.Info("restart time expired: routes kept long-lived stale", "member", ss.m.name, "neighbor", ss.addr,
		"afi", families[fi].String(), "long_lived_stale_time", ss.llgrTime[fi])
}

// markLLGRStale turns stale route r of incarnation o long-lived stale: the same route with
// LLGR_STALE added to its attributes, its verdict unchanged. cache maps a set to its long-lived
// stale twin for the walk (each entry holds a reference).
func (s *Server) markLLGRStale(o *session, r *route, cache map[*attrSet]*attrSet) {
	set := cache[r.set]
	if set == nil {
		a := *r.set.attrs
		a.Communities = append(slices.Clip(a.Communities), communityLLGRStale)
		set = s.sets.internFor(&a, o.m.prof)
		cache[r.set] = set
	}
	s.announceRoute(o, r.pe.prefix(), set, policy.Verdict{Reasons: r.reasons, LocalPref: r.localPref, Info: r.info})
	s.stats.llgrMarked++
}

// armLLGR (re)starts ss's long-lived stale timer of family fi.
func (s *Server) armLLGR(ss *Peer, fi famIdx, d time.Duration) {
	s.stopLLGR(ss, fi)
	ss.llgrGen[fi]++
	gen := ss.llgrGen[fi]
	after := s.cfg.afterFunc
	if after == nil {
		after = func(d time.Duration, f func()) func() bool { return time.AfterFunc(d, f).Stop }
	}
	ss.llgrStop[fi] = after(d, func() { s.mail.post(mailEvent{kind: evLLGRTimer, ss: ss, fi: fi, gen: gen}) })
}

func (s *Server) stopLLGR(ss *Peer, fi famIdx) {
	ss.llgrGen[fi]++ // a timer event already posted is ignored
	if ss.llgrStop[fi] != nil {
		ss.llgrStop[fi]()
		ss.llgrStop[fi] = nil
	}
}

func (s *Server) stopAllLLGR(ss *Peer) {
	for fi := range numFams {
		s.stopLLGR(ss, famIdx(fi))
	}
}

// llgrTimer handles the end of ss's long-lived stale time for family fi: its stale routes go.
func (s *Server) llgrTimer(ss *Peer, fi famIdx, gen uint64) {
	if gen != ss.llgrGen[fi] || len(ss.stale) == 0 {
		return
	}
	ss.llgrStop[fi] = nil // run out: restartExpired must not take the family for long-lived stale still
	s.stats.llgrExpired++
	s.sweepStale(ss, fi, "long-lived stale time expired")
}
