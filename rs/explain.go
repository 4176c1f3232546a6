package rs

import (
	"context"
	"errors"
	"fmt"
	"net/netip"

	"github.com/ixrs/ixrs/policy"
)

// Explainer is an Importer that can explain its verdict check by check (policy.Import is one).
type Explainer interface {
	Explain(s *policy.Session, d policy.Data, pfx netip.Prefix, p *policy.Path) []policy.CheckResult
}

// RouteExplain is the import decision for one received route: the route, and every check of the
// chain with its outcome and the data behind it.
type RouteExplain struct {
	Route  Route
	Checks []policy.CheckResult // nil when the member's policy cannot explain itself
	Info   policy.Info          // RPKI and IRR state, as the informational communities carry it
}

// ExplainRoute explains the import verdict of the route neighbor sent for pfx. The checks are run
// again against the current data (the RIB keeps only the reasons), so after a data change they
// describe the verdict the next re-evaluation gives.
func (s *Server) ExplainRoute(ctx context.Context, neighbor netip.Addr, pfx netip.Prefix) (RouteExplain, error) {
	var ex RouteExplain
	var err error
	if derr := s.do(ctx, func() { ex, err = s.explainRoute(neighbor, pfx) }); derr != nil {
		return RouteExplain{}, derr
	}
	return ex, err
}

// ErrNoRoute is returned by ExplainRoute when the session holds no route for the prefix.
var ErrNoRoute = errors.New("no such route")

func (s *Server) explainRoute(neighbor netip.Addr, pfx netip.Prefix) (RouteExplain, error) {
	ss := s.sessions[neighbor]
	if ss == nil {
		return RouteExplain{}, fmt.Errorf("neighbor %s: %w", neighbor, ErrUnknownPeer)
	}
	p := ss.p
	pe := s.prefixes.get(pfx.Masked())
	if p == nil || pe == nil || pe.find(p) == nil {
		return RouteExplain{}, fmt.Errorf("neighbor %s, %s: %w", neighbor, pfx, ErrNoRoute)
	}
	r := pe.find(p)
	ex := RouteExplain{Route: routeView(r), Info: r.info}
	if e, ok := p.imp.(Explainer); ok {
		path := r.set.path
		path.NextHop = r.set.nextHop(pe.fam())
		ex.Checks = e.Explain(&p.polSess, s.data(p.m), pe.prefix(), &path)
	}
	return ex, nil
}
