package rs

import (
	"context"
	"errors"
	"fmt"
	"net/netip"

	"github.com/ixrs/ixrs/policy"
)

// Explainer is an Importer that can explain its verdict check by check (policy.Import is one).
// Explain runs on the caller's goroutine of ExplainRoute, concurrently with the RIB loop's use of
// the same Importer: it must be safe for that (policy.Import is immutable once in use, and its
// data sources are read atomically).
type Explainer interface {
	Explain(s *policy.Session, d policy.Data, pfx netip.Prefix, p *policy.Path) []policy.CheckResult
}

// RouteExplain is the detail of one received route: the route with its verdict codes, its place in
// the decision, how many sessions hold it, and every check of the import chain with its outcome
// and the data behind it.
type RouteExplain struct {
	Route  Route
	Checks []policy.CheckResult // nil when the member's policy cannot explain itself
	Info   policy.Info          // RPKI and IRR state, as the informational communities carry it
	// Rank is the route's place among the prefix's candidates (0: best), -1 when rejected; Step
	// is the decision step that ranks it below the one before (0 for the best or a rejected
	// route).
	Rank int
	Step Step
	// Candidates is the number of accepted routes for the prefix; ExportedTo the number of
	// sessions whose Adj-RIB-Out holds one of this route's sets.
	Candidates, ExportedTo int
	Gen                    uint64 // RIB generation
}

// ErrNoRoute is returned by ExplainRoute when the session holds no route for the prefix.
var ErrNoRoute = errors.New("no such route")

// ExplainRoute returns the detail of the route neighbor sent for pfx and explains its import
// verdict. The RIB loop copies the route and the inputs of the import checks, the policy data in
// force (VRPs, the member's IRR data) included; the checks run again on the caller's goroutine
// against that snapshot (the RIB keeps only the reasons). While a revalidation walk has not yet
// reached the route they describe the verdict it will get.
func (s *Server) ExplainRoute(ctx context.Context, neighbor netip.Addr, pfx netip.Prefix) (RouteExplain, error) {
	j := &explainJob{neighbor: neighbor, pfx: pfx.Masked()}
	if err := s.read(ctx, j, &j.readJob); err != nil {
		return RouteExplain{}, err
	}
	if e, ok := j.imp.(Explainer); ok {
		j.ex.Checks = e.Explain(&j.sess, j.data, j.ex.Route.Prefix, &j.path)
	}
	return j.ex, nil
}

// explainJob copies one route and what its import checks read.
type explainJob struct {
	readJob
	neighbor netip.Addr
	pfx      netip.Prefix
	ex       RouteExplain
	imp      policy.Importer
	sess     policy.Session // its slices are immutable once the session is up
	data     policy.Data    // immutable snapshots
	path     policy.Path    // shares the attribute set's immutable slices
}

func (j *explainJob) step(s *Server, _ int) (int, bool) {
	ss := s.sessions[j.neighbor]
	if ss == nil {
		j.err = fmt.Errorf("neighbor %s: %w", j.neighbor, ErrUnknownPeer)
		return 1, true
	}
	p := ss.p
	pe := s.prefixes.get(j.pfx)
	var r *route
	if p != nil && pe != nil {
		r = pe.find(p)
	}
	if r == nil {
		j.err = fmt.Errorf("neighbor %s, %s: %w", j.neighbor, j.pfx, ErrNoRoute)
		return 1, true
	}
	j.ex = RouteExplain{Route: routeView(r), Info: r.info, Rank: -1, Candidates: int(pe.nacc), Gen: s.gen}
	for i, c := range pe.candidates() {
		if c == r {
			j.ex.Rank = i
			if i > 0 {
				j.ex.Step = pe.steps()[i-1]
			}
		}
	}
	for _, e := range pe.out() {
		if e.set == r.set.out || s.isVariantOf(e.set, r) {
			j.ex.ExportedTo += e.bits.b.count()
		}
	}
	j.imp, j.sess, j.data = p.imp, p.polSess, s.data(p.m)
	j.path = r.set.policyPath()
	j.path.NextHop = r.set.nextHop(pe.fam())
	return len(pe.routes()) + len(pe.out()), true
}

// isVariantOf reports whether set is one of the cached variants of r's out set with r's info.
func (s *Server) isVariantOf(set *attrSet, r *route) bool {
	o := r.set.out.setOut
	if o == nil {
		return false
	}
	for _, e := range o.variants() {
		if e.set == set && policy.Info(e.key>>4&0xff) == r.info {
			return true
		}
	}
	return false
}
