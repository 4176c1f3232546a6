package rs

import "github.com/ixrs/ixrs/speaker"

// Long work advances as resumable walks, a bounded number of entries per loop pass (docs/architecture.md,
// choice 5). A walk holds integer cursors into slabs, never pointers, so entries may come and go
// between passes; whatever changes behind a cursor is on the change list and reaches the session
// that way.

// dumpWalk sends a session the table: on session up (then End-of-RIB per family) and on route
// refresh (with force, so that routes the session already has are sent again).
//
// It walks the Adj-RIB-In slabs of all other sessions rather than the prefix table: a member's
// routes sit in its slab in arrival order, which is UPDATE order, so consecutive routes mostly share
// one attribute set and the pending groups fill whole messages. A prefix is sent when the walk
// reaches the route the session should have for it, so each prefix is visited once per candidate
// but sent once.
type dumpWalk struct {
	active bool
	fams   [numFams]bool
	force  bool
	eor    [numFams]bool // send End-of-RIB for these families at the end
	eorr   [numFams]bool // send EoRR for these families at the end (refresh.go)
	peer   int           // index in Server.peers
	slot   int           // index in that peer's routes
}

// startWalk (re)starts p's dump for fams. A refresh arriving during the initial dump restarts it
// with force for the union of the families; the End-of-RIB still due is kept.
func (s *Server) startWalk(p *session, fams [numFams]bool, force, eor bool) {
	w := &p.walk
	var eors, eorrs [numFams]bool // still due: only a walk in progress owes them
	if w.active {
		for fi := range fams {
			fams[fi] = fams[fi] || w.fams[fi]
		}
		force = force || w.force
		eors, eorrs = w.eor, w.eorr
	}
	*w = dumpWalk{active: true, fams: fams, force: force, eor: eors, eorr: eorrs}
	if eor {
		w.eor = fams
	}
	s.stats.dumpsStarted++
}

// walkStep advances p's dump by up to budget entries and returns how many it visited (at least 1,
// so the caller always progresses).
func (s *Server) walkStep(p *session, budget int) int {
	w := &p.walk
	n := 0
	for n < budget {
		if w.peer >= len(s.peers) {
			w.active = false
			for fi, due := range w.eor {
				if due {
					p.pend.endOfRIB(famIdx(fi))
				}
			}
			for fi, due := range w.eorr {
				if due {
					p.pend.eorr[fi] = true
				}
			}
			s.stats.dumpsFinished++
			return max(n, 1)
		}
		q := s.peers[w.peer]
		if q == nil || q.m == p.m || w.slot >= len(q.routes) {
			// Own routes are never sent back; skip the whole slab.
			w.peer++
			w.slot = 0
			n++
			continue
		}
		r := q.routes[w.slot]
		w.slot++
		n++
		if r == nil || !r.accepted() || !w.fams[r.pe.fam()] {
			continue
		}
		if best, want := s.decideOne(r.pe, p); best == r {
			s.reconcileTo(r.pe, p, want, w.force)
		}
	}
	return n
}

// refresh handles a ROUTE-REFRESH: everything of family f that p should have is sent again, between
// BoRR and EoRR when the session negotiated enhanced route refresh (refresh.go).
func (s *Server) refresh(p *session, f speaker.Family) {
	fi, ok := famIdxOf(f)
	if !ok || !p.fams[fi] {
		return
	}
	p.refreshes++
	var fams [numFams]bool
	fams[fi] = true
	s.startWalk(p, fams, true, false)
	if p.ib.info.EnhancedRouteRefresh {
		p.pend.borr[fi] = true
		p.pend.eorr[fi] = false // an EoRR not yet sent ends the refresh that starts now instead
		p.walk.eorr[fi] = true
		s.stats.borrOut++
	}
}

// clearJob clears a departed session's bits from the Adj-RIB-Out. Its id is not reused until
// done, so a new session never inherits them.
type clearJob struct {
	p    *session
	slot int // index in prefixTable.slab
}

// clearStep advances j by up to Config.ClearBatch prefixes and reports whether it is done.
func (s *Server) clearStep(j *clearJob) bool {
	p := j.p
	slab := s.prefixes.slab
	end := min(j.slot+s.cfg.ClearBatch, len(slab))
	for ; j.slot < end; j.slot++ {
		// Done once p exports nothing. The count is read from bit planes (counters.go), 64
		// words, so not at every prefix: clearing a few more prefixes that p does not have
		// costs less.
		if j.slot%64 == 0 && !s.exportsAny(p) {
			break
		}
		pe := slab[j.slot]
		if pe == nil {
			continue
		}
		s.adjoutClear(pe, p)
		if pe.unused() {
			s.prefixes.delete(pe)
		}
	}
	if j.slot < len(slab) && s.exportsAny(p) {
		return false
	}
	s.cleared(p)
	return true
}
