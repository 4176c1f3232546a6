package rs

// The stale sweep as a walk. When a member back from a graceful restart sends End-of-RIB (or its
// timer runs out, or it came back without forwarding state for a family), every stale route of
// the family that it did not announce again must go. A member may hold a million of them; dropping
// them in one step would keep the RIB loop from every other member's messages for that long. So a
// sweep is a job, like a revalidation walk: it holds the incarnations it sweeps and a cursor into
// their Adj-RIB-In slabs, and the background phase advances the jobs, oldest first, by at most
// Config.ReadBudget slab slots per loop pass. The routes it has not reached yet stay what they
// were: stale candidates, replaced if the member announces the prefix meanwhile.

// staleSweep is one running sweep: family fi of the stale incarnations incs of ss.
type staleSweep struct {
	ss       *Peer
	fi       famIdx
	incs     []*session
	i, slot  int // cursor: incarnation, then slot in its slab
	n        int // routes dropped
	why      string
	finished bool
	// llgr: the walk turns the routes long-lived stale instead of removing them (llgr.go), with
	// the twin sets it interned so far.
	llgr  bool
	twins map[*attrSet]*attrSet
}

// sweepStep advances the sweeps by up to budget slab slots in total.
func (s *Server) sweepStep(budget int) {
	for budget > 0 && len(s.sweeps) > 0 {
		w := s.sweeps[0]
		budget = s.sweepAdvance(w, budget)
		if w.finished {
			s.sweeps[0] = nil
			s.sweeps = s.sweeps[1:]
		}
	}
	if len(s.sweeps) == 0 {
		s.sweeps = nil
	}
}

// sweepAdvance moves w on by up to budget slots and returns what is left of the budget.
func (s *Server) sweepAdvance(w *staleSweep, budget int) int {
	for budget > 0 {
		if w.i >= len(w.incs) {
			s.sweepDone(w)
			return budget
		}
		o := w.incs[w.i]
		if w.slot >= len(o.routes) {
			if !w.llgr {
				// The incarnation's family is gone; it may be still stale for another.
				o.staleFams[w.fi], o.sweeping[w.fi], o.llgrFams[w.fi] = false, false, false
			}
			w.i, w.slot = w.i+1, 0
			budget--
			continue
		}
		r := o.routes[w.slot]
		w.slot++
		budget--
		if r == nil || !o.stale || r.pe.fam() != w.fi {
			continue
		}
		switch {
		case !w.llgr || r.set.noLLGR:
			s.dropRoute(r)
			w.n++
		case !r.set.llgrStale:
			if w.twins == nil {
				w.twins = map[*attrSet]*attrSet{}
			}
			s.markLLGRStale(o, r, w.twins)
		}
	}
	return budget
}

// sweepDone ends w: the incarnations left without routes end, and the timer stops when none is
// left.
func (s *Server) sweepDone(w *staleSweep) {
	w.finished = true
	for _, set := range w.twins {
		s.sets.unref(set) // the routes hold their own references
	}
	w.twins = nil
	s.pruneStale(w.ss)
	s.stats.staleSwept += uint64(w.n)
	if w.n > 0 {
		s.log.Info("stale routes removed", "member", w.ss.m.name, "neighbor", w.ss.addr,
			"afi", families[w.fi].String(), "routes", w.n, "why", w.why)
	}
}
