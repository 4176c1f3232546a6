package lookingglass

import (
	"context"
	"encoding/json"
	"net/http"
	"net/netip"
	"net/url"
	"slices"

	"github.com/labstack/echo/v4"
)

// The Bird's Eye shape that IXP Manager's looking glass reads: birdwatcher's protocol and route
// objects under a different envelope, plus single-route lookups. Bird's Eye caps route lists at
// api.max_routes; IXP Manager links a list only when the session's count is below it.

// birdseyeMaxRoutes is the api.max_routes reported, and the longest list served.
const birdseyeMaxRoutes = 100_000

type beAPI struct {
	FromCache bool   `json:"from_cache"`
	Version   string `json:"version"`
	MaxRoutes int    `json:"max_routes"`
}

type beStatus struct {
	Version      string `json:"version"`
	RouterID     string `json:"router_id"`
	ServerTime   string `json:"server_time"`
	LastReboot   string `json:"last_reboot"`
	LastReconfig string `json:"last_reconfig"`
	Message      string `json:"message"`
}

func (s *Server) beEnvelope(ctx context.Context) beAPI {
	return beAPI{Version: s.version(ctx), MaxRoutes: birdseyeMaxRoutes}
}

func (s *Server) beStatus(c echo.Context) error {
	if err := noQuery(c); err != nil {
		return err
	}
	ctx, cancel := queryCtx(c)
	defer cancel()
	st, msg, reconf, err := s.compatStatus(ctx)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"api": s.beEnvelope(ctx), "status": beStatus{
		Version: st.Version, RouterID: addrString(st.RouterID), ServerTime: timeString(s.now()),
		LastReboot: timeString(st.StartTime), LastReconfig: timeString(reconf), Message: msg,
	}})
}

func (s *Server) beProtocols(c echo.Context) error {
	protocols, err := s.protocols(c)
	if err != nil {
		return err
	}
	ctx, cancel := queryCtx(c)
	defer cancel()
	return c.JSON(http.StatusOK, map[string]any{"api": s.beEnvelope(ctx), "protocols": protocols})
}

func (s *Server) beSymbols(c echo.Context) error {
	if err := noQuery(c); err != nil {
		return err
	}
	all, err := s.visibleSessions(c)
	if err != nil {
		return err
	}
	ids := make([]string, 0, len(all))
	for i := range all {
		ids = append(ids, ProtocolID(all[i].Neighbor))
	}
	ctx, cancel := queryCtx(c)
	defer cancel()
	return c.JSON(http.StatusOK, map[string]any{"api": s.beEnvelope(ctx), "symbols": map[string][]string{
		"routing table": {"master4", "master6"}, "protocol": ids,
	}})
}

func (s *Server) beHead(ctx context.Context) []byte {
	a, _ := json.Marshal(s.beEnvelope(ctx))
	return append(append([]byte(`{"api":`), a...), `,"routes":[`...)
}

func (s *Server) beTable(c echo.Context) error {
	if err := noQuery(c); err != nil {
		return err
	}
	roots, ok := tables[c.Param("table")]
	if !ok {
		return errNotFound("no such table (master4, master6, master)")
	}
	keep := func(r *Route) bool { return r.Accepted() }
	return s.walk(c, s.beHead(c.Request().Context()), []byte("]}"), s.tableFetcher(roots), keep, s.appendBWRoute, birdseyeMaxRoutes)
}

func (s *Server) beRoutes(v View) echo.HandlerFunc {
	return func(c echo.Context) error {
		if err := noQuery(c); err != nil {
			return err
		}
		a, err := s.sessionParam(c)
		if err != nil {
			return err
		}
		return s.walk(c, s.beHead(c.Request().Context()), []byte("]}"), s.routesFetcher(a, v, ""), nil, s.appendBWRoute, birdseyeMaxRoutes)
	}
}

// beLargeWild serves /routes/lc-zwild/protocol/{p}/{x}/{y}: the session's received routes with a
// large community x:y:*, the verdict communities included (so RS:1101 lists the filtered ones).
func (s *Server) beLargeWild(c echo.Context) error {
	if err := noQuery(c); err != nil {
		return err
	}
	a, err := s.sessionParam(c)
	if err != nil {
		return err
	}
	x, err := parseUint32Param("x", c.Param("x"))
	if err != nil {
		return err
	}
	y, err := parseUint32Param("y", c.Param("y"))
	if err != nil {
		return err
	}
	keep := func(r *Route) bool {
		return slices.ContainsFunc(s.largeCommunities(r), func(l LargeCommunity) bool { return l.Global == x && l.Local1 == y })
	}
	return s.walk(c, s.beHead(c.Request().Context()), []byte("]}"), s.routesFetcher(a, ViewReceived, ""), keep, s.appendBWRoute, birdseyeMaxRoutes)
}

// netParam is the prefix in a Bird's Eye route path, which IXP Manager sends URL-encoded
// (192.0.2.0%2F24).
func netParam(c echo.Context) (LookupQuery, error) {
	raw, err := url.PathUnescape(c.Param("net"))
	if err != nil {
		return LookupQuery{}, paramErr("net", c.Param("net"), "bad URL encoding")
	}
	p, isAddr, err := ParsePrefix(raw)
	if err != nil {
		return LookupQuery{}, err
	}
	m := MatchExact
	if isAddr {
		m = MatchLongest
	}
	return LookupQuery{Prefix: p, Match: m, Page: Page{Limit: MaxPageSize}}, nil
}

// beLookup writes the first page of routes for a prefix that pass keep.
func (s *Server) beLookup(c echo.Context, keep func(*Route) bool) error {
	q, err := netParam(c)
	if err != nil {
		return err
	}
	q.Hide = s.set.Load().hide
	ctx, cancel := queryCtx(c)
	defer cancel()
	p, err := s.backend.Lookup(ctx, q)
	if err != nil {
		return err
	}
	routes := []json.RawMessage{}
	for _, r := range s.visibleRoutes(p.Routes) {
		if keep(&r) {
			routes = append(routes, s.appendBWRoute(nil, &r))
		}
	}
	return c.JSON(http.StatusOK, map[string]any{"api": s.beEnvelope(ctx), "routes": routes})
}

func (s *Server) beRouteProtocol(c echo.Context) error {
	if err := noQuery(c); err != nil {
		return err
	}
	a, err := s.sessionParam(c)
	if err != nil {
		return err
	}
	return s.beLookup(c, func(r *Route) bool { return r.Neighbor == a })
}

func (s *Server) beRouteTable(c echo.Context) error {
	if err := noQuery(c); err != nil {
		return err
	}
	roots, ok := tables[c.Param("table")]
	if !ok {
		return errNotFound("no such table (master4, master6, master)")
	}
	return s.beLookup(c, func(r *Route) bool {
		return r.Accepted() && inRoots(roots, r)
	})
}

// inRoots reports whether the route is of a family of the table.
func inRoots(roots []netip.Prefix, r *Route) bool {
	for _, p := range roots {
		if p.Addr().Is4() == r.Prefix.Addr().Is4() {
			return true
		}
	}
	return false
}

// beRouteExport serves /route/{net}/export/{p}: the route for the prefix that session p is sent.
// The candidates of one prefix are few (one per announcing session), so each is explained.
func (s *Server) beRouteExport(c echo.Context) error {
	if err := noQuery(c); err != nil {
		return err
	}
	a, err := s.sessionParam(c)
	if err != nil {
		return err
	}
	return s.beLookup(c, func(r *Route) bool {
		if !r.Accepted() {
			return false
		}
		ctx, cancel := queryCtx(c)
		defer cancel()
		d, err := s.backend.Explain(ctx, r.Neighbor, r.Prefix)
		if err != nil {
			return false
		}
		return slices.ContainsFunc(d.Exports, func(e ExportDecision) bool { return e.Neighbor == a && e.Exported })
	})
}
