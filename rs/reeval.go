package rs

import (
	"context"
	"fmt"
	"net/netip"

	"github.com/ixrs/ixrs/policy"
)

// Re-evaluation: when the data import policy reads changes (a member's IRR data, the VRPs), every
// route it may affect is run through ImportRoute again, and only routes whose verdict changed
// move in or out of the candidate lists; the change list then carries exactly those prefixes to
// the members. No session is reset. The walk advances by its share of Config.ReadBudget routes per
// loop pass, like every long job (DESIGN.md choice 5), and holds integer cursors only.

// reevalJob walks the Adj-RIB-In slabs of the sessions of one member, or of all members.
type reevalJob struct {
	m       *member                 // nil: every member
	only    func(netip.Prefix) bool // nil: every route
	peer    int                     // index in Server.peers
	slot    int                     // index in that peer's routes
	changed int
	done    chan int // receives changed when the walk ends; may be nil
}

// Reevaluate re-runs import policy on the routes of member name ("" for every member) against
// the policy's current data, re-announcing or withdrawing only the routes whose verdict changed.
// It returns once the walk is queued; the walk itself advances in bounded slices. If done is not
// nil (it must be buffered) it receives the number of routes whose verdict changed when the walk is over.
func (s *Server) Reevaluate(ctx context.Context, name string, done chan int) error {
	var err error
	derr := s.do(ctx, func() {
		j := &reevalJob{done: done}
		if name != "" {
			j.m = s.members[name]
			if j.m == nil {
				err = fmt.Errorf("member %s: %w", name, ErrUnknownMember)
				return
			}
		}
		s.reevals = append(s.reevals, j)
	})
	if derr != nil {
		return derr
	}
	return err
}

// ReevaluatePrefixes is Reevaluate for every member's routes whose prefix satisfies affected
// (called on the RIB loop; it must be pure and cheap): after an RPKI update, the routes covered by a
// changed VRP (rpki.Diff.Covers). The walk still visits every route, but runs import policy only
// for the affected ones.
func (s *Server) ReevaluatePrefixes(ctx context.Context, affected func(netip.Prefix) bool, done chan int) error {
	return s.do(ctx, func() { s.reevals = append(s.reevals, &reevalJob{only: affected, done: done}) })
}

// reevalStep advances j by up to budget routes and reports whether it is done.
func (s *Server) reevalStep(j *reevalJob, budget int) bool {
	for budget > 0 {
		if j.peer >= len(s.peers) {
			select {
			case j.done <- j.changed: // never blocks the loop: done must be buffered
			default:
			}
			if j.changed > 0 {
				s.log.Info("re-evaluation done", "routes_changed", j.changed)
			}
			return true
		}
		p := s.peers[j.peer]
		if p == nil || p.down || (j.m != nil && p.m != j.m) || j.slot >= len(p.routes) {
			j.peer++
			j.slot = 0
			budget--
			continue
		}
		r := p.routes[j.slot]
		j.slot++
		budget--
		if r == nil || j.only != nil && !j.only(r.pe.prefix()) {
			continue
		}
		if s.reevalRoute(p, r) {
			j.changed++
			s.stats.routesReevaluated++
		}
	}
	return false
}

// reevalRoute re-runs import policy for r and files the new verdict if it differs.
func (s *Server) reevalRoute(p *session, r *route) bool {
	fi := r.pe.fam()
	path := r.set.path
	path.NextHop = r.set.nextHop(fi)
	pv := s.pathVerdict(p, r.set, fi, &path)
	v := p.imp.ImportRoute(&p.polSess, r.pe.prefix(), &path, pv)
	if v.Reasons == r.reasons && v.LocalPref == r.localPref && v.Info == r.info {
		return false
	}
	// announceRoute drops the route's reference before taking the new one: hold one across it, as
	// an UPDATE's interned set is held, or a set used by this route alone would be freed.
	set := r.set
	s.sets.ref(set)
	s.announceRoute(p, r.pe.prefix(), set, v)
	s.sets.unref(set)
	return true
}

// SetMemberPolicy replaces member name's import policy (nil: Config.Import) and max-prefix limits
// without touching its sessions, then re-evaluates its routes like Reevaluate (done likewise). A
// lower limit applies from the next new route on; nothing already held is dropped for it.
func (s *Server) SetMemberPolicy(ctx context.Context, name string, imp policy.Importer, mp MaxPrefix, done chan int) error {
	var err error
	derr := s.do(ctx, func() {
		m := s.members[name]
		if m == nil {
			err = fmt.Errorf("member %s: %w", name, ErrUnknownMember)
			return
		}
		if imp == nil {
			imp = s.cfg.Import
		}
		m.imp, m.maxPrefix = imp, mp
		for _, ss := range m.sessions {
			if p := ss.p; p != nil {
				p.imp = imp
				p.warned, p.overWarned = [numFams]bool{}, [numFams]bool{}
			}
		}
		// Path verdicts cached for the member's sessions came from the old policy. The table has
		// far fewer sets than routes, and a policy change is rare: one pass over it is cheap.
		for _, set := range s.sets.m {
			if set.setIn == nil {
				continue
			}
			for fi := range set.imp {
				if c := &set.imp[fi]; c.p != nil && c.p.m == m {
					c.p = nil
				}
			}
		}
		s.reevals = append(s.reevals, &reevalJob{m: m, done: done})
	})
	if derr != nil {
		return derr
	}
	return err
}
