package lookingglass

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
)

// The birdwatcher single_table shape that Alice-LG polls (source type birdwatcher, type =
// single_table). Alice-LG type-asserts what it reads, so every type here is the one it expects:
// numbers as numbers, as_path, local_pref and med as strings, protocols as a map keyed by id.

type bwAPI struct {
	Version         string        `json:"Version"`
	ResultFromCache bool          `json:"result_from_cache"`
	CacheStatus     bwCacheStatus `json:"cache_status"`
}

type bwCacheStatus struct {
	CachedAt struct {
		Date         string `json:"date"`
		TimezoneType string `json:"timezone_type"`
		Timezone     string `json:"timezone"`
	} `json:"cached_at"`
}

type bwStatus struct {
	CurrentServer string `json:"current_server"`
	LastReboot    string `json:"last_reboot"`
	LastReconfig  string `json:"last_reconfig"`
	Version       string `json:"version"`
	Message       string `json:"message"`
	RouterID      string `json:"router_id"`
}

type bwRouteCounts struct {
	Imported  int `json:"imported"`
	Filtered  int `json:"filtered"`
	Exported  int `json:"exported"`
	Preferred int `json:"preferred"`
}

type bwProtocol struct {
	BirdProtocol         string        `json:"bird_protocol"`
	Table                string        `json:"table"`
	State                string        `json:"state"`
	BGPState             string        `json:"bgp_state"`
	Connection           string        `json:"connection"`
	NeighborAddress      string        `json:"neighbor_address"`
	NeighborAS           uint32        `json:"neighbor_as"`
	NeighborID           string        `json:"neighbor_id"`
	NeighborCapabilities []string      `json:"neighbor_capabilities"`
	Description          string        `json:"description"`
	StateChanged         string        `json:"state_changed"`
	LastError            string        `json:"last_error"`
	HoldTimer            int           `json:"hold_timer"`
	ImportLimit          int           `json:"import_limit,omitempty"`
	RouteLimitAt         int           `json:"route_limit_at,omitempty"`
	Routes               bwRouteCounts `json:"routes"`
}

// birdTime is t as the birdwatcher shape writes most times; "" when unknown.
func birdTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(bwTimeShort)
}

// bwEnvelope is the api and ttl every birdwatcher response carries.
func (s *Server) bwEnvelope(ctx context.Context) (bwAPI, string) {
	now := s.now().UTC()
	a := bwAPI{Version: s.version(ctx)}
	a.CacheStatus.CachedAt.Date = now.Format(bwTime)
	a.CacheStatus.CachedAt.TimezoneType = "UTC"
	a.CacheStatus.CachedAt.Timezone = "UTC"
	return a, now.Format(bwTime)
}

func (s *Server) bwStatus(c echo.Context) error {
	if err := noQuery(c); err != nil {
		return err
	}
	ctx, cancel := queryCtx(c)
	defer cancel()
	st, msg, reconf, err := s.compatStatus(ctx)
	if err != nil {
		return err
	}
	api, ttl := s.bwEnvelope(ctx)
	return c.JSON(http.StatusOK, map[string]any{"api": api, "ttl": ttl, "status": bwStatus{
		CurrentServer: s.now().UTC().Format(bwTimeShort),
		LastReboot:    birdTime(st.StartTime),
		LastReconfig:  birdTime(reconf),
		Version:       st.Version,
		Message:       msg,
		RouterID:      addrString(st.RouterID),
	}})
}

func (s *Server) bwProtocol(ss *Session) bwProtocol {
	imp, filt, exp, pref, limit := totals(ss)
	state := "down"
	switch ss.State {
	case "established":
		state = "up"
	case "connect", "active", "opensent", "openconfirm":
		state = "start"
	}
	table := "master6"
	if ss.Neighbor.Is4() {
		table = "master4"
	}
	p := bwProtocol{
		BirdProtocol: "BGP", Table: table, State: state, BGPState: bgpState(ss.State),
		Connection: bgpState(ss.State), NeighborAddress: addrString(ss.Neighbor), NeighborAS: ss.ASN,
		NeighborID: addrString(ss.RouterID), NeighborCapabilities: ss.Capabilities,
		Description: ss.Member, StateChanged: birdTime(ss.Since),
		LastError: ss.LastError, HoldTimer: ss.HoldTime,
		Routes: bwRouteCounts{Imported: imp, Filtered: filt, Exported: exp, Preferred: pref},
	}
	if ss.Description != "" {
		p.Description = ss.Member + " (" + ss.Description + ")"
	}
	if p.NeighborCapabilities == nil {
		p.NeighborCapabilities = []string{}
	}
	if limit > 0 {
		p.ImportLimit, p.RouteLimitAt = limit, imp+filt
	}
	return p
}

// protocols is the map of visible sessions by protocol id that birdwatcher's and Bird's Eye's
// /protocols/bgp answer.
func (s *Server) protocols(c echo.Context) (map[string]bwProtocol, error) {
	if err := noQuery(c); err != nil {
		return nil, err
	}
	all, err := s.visibleSessions(c)
	if err != nil {
		return nil, err
	}
	protocols := make(map[string]bwProtocol, len(all))
	for i := range all {
		protocols[ProtocolID(all[i].Neighbor)] = s.bwProtocol(&all[i])
	}
	return protocols, nil
}

func (s *Server) bwProtocols(c echo.Context) error {
	protocols, err := s.protocols(c)
	if err != nil {
		return err
	}
	ctx, cancel := queryCtx(c)
	defer cancel()
	api, ttl := s.bwEnvelope(ctx)
	return c.JSON(http.StatusOK, map[string]any{"api": api, "ttl": ttl, "protocols": protocols})
}

// appendBWRoute appends a route in the birdwatcher shape (Alice-LG's and IXP Manager's): what
// encoding/json writes for the bwRoute of the route (bwroute_test.go, TestBWRouteMatchesEncoder and
// FuzzBWRoute). Gateway is the session's address, as BIRD shows the routes of a BGP protocol, and
// Alice-LG matches filtered routes to received ones by it. Written by hand: a whole table at a
// million routes through encoding/json was a gigabyte of garbage per poll.
func (s *Server) appendBWRoute(b []byte, r *Route) []byte {
	var nb [2 + 46]byte
	nbr := appendAddr(nb[:0], r.Neighbor) // quoted
	b = append(b, `{"network":`...)
	b = appendPrefix(b, r.Prefix)
	b = append(b, `,"gateway":`...)
	b = append(b, nbr...)
	b = append(b, `,"interface":"","from_protocol":`...)
	if r.Neighbor.Zone() != "" { // a zone is any string
		b = appendJSONString(b, ProtocolID(r.Neighbor))
	} else {
		b = append(appendProtocolID(append(b, '"'), r.Neighbor), '"')
	}
	b = append(b, `,"age":"`...)
	if !r.Since.IsZero() {
		b = r.Since.UTC().AppendFormat(b, bwTimeShort)
	}
	b = append(b, `","learnt_from":`...)
	b = append(b, nbr...)
	b = append(b, `,"primary":`...)
	b = strconv.AppendBool(b, r.Best && r.Accepted())
	b = append(b, `,"metric":100,"type":["BGP","univ"],"bgp":{"origin":"`...)
	b = append(b, birdOrigin(r.Origin)...)
	b = append(b, `","as_path":[`...)
	for i, a := range r.ASPath {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(strconv.AppendUint(append(b, '"'), uint64(a), 10), '"')
	}
	b = append(b, `],"next_hop":`...)
	b = appendAddr(b, r.NextHop)
	b = append(b, `,"local_pref":"`...)
	b = strconv.AppendUint(b, uint64(r.LocalPref), 10)
	b = append(b, `","med":"`...)
	b = strconv.AppendUint(b, uint64(r.MED), 10)
	b = append(b, '"')
	if r.OTC != 0 {
		b = append(b, `,"otc":"`...)
		b = append(strconv.AppendUint(b, uint64(r.OTC), 10), '"')
	}
	b = append(b, `,"communities":[`...)
	b = appendCommunities(b, r.Communities, "[,]")
	b = append(b, `],"large_communities":[`...)
	var vb [4]LargeCommunity
	b = appendLarge(b, r.LargeCommunities, "[,,]")
	if v := s.verdictCommunities(vb[:0], r); len(v) > 0 {
		if len(r.LargeCommunities) > 0 {
			b = append(b, ',')
		}
		b = appendLarge(b, v, "[,,]")
	}
	b = append(b, `],"ext_communities":[`...)
	for i, c := range r.ExtCommunities {
		if i > 0 {
			b = append(b, ',')
		}
		k, g, l := c.Parts()
		b = append(b, '[')
		b = appendJSONString(b, k)
		b = append(b, ',')
		b = appendJSONString(b, g)
		b = append(b, ',')
		b = appendJSONString(b, l)
		b = append(b, ']')
	}
	return append(b, "]}}"...)
}

// bwHead is the start of a birdwatcher route list: the envelope and the opening of "routes".
func (s *Server) bwHead(ctx context.Context) []byte {
	api, ttl := s.bwEnvelope(ctx)
	a, _ := json.Marshal(api)
	t, _ := json.Marshal(ttl)
	return append(append(append(append([]byte(`{"api":`), a...), `,"ttl":`...), t...), `,"routes":[`...)
}

// bwRoutes serves /routes/protocol (accepted), /routes/filtered and /routes/noexport of a session.
func (s *Server) bwRoutes(v View) echo.HandlerFunc {
	return func(c echo.Context) error {
		if err := noQuery(c); err != nil {
			return err
		}
		a, err := s.sessionParam(c)
		if err != nil {
			return err
		}
		return s.walk(c, s.bwHead(c.Request().Context()), []byte("]}"), s.routesFetcher(a, v, ""), nil, s.appendBWRoute, maxCompatRoutes)
	}
}

// bwTable serves /routes/table/{t} (accepted routes) and /routes/table/{t}/filtered.
func (s *Server) bwTable(filtered bool) echo.HandlerFunc {
	return func(c echo.Context) error {
		if err := noQuery(c); err != nil {
			return err
		}
		roots, ok := tables[c.Param("table")]
		if !ok {
			return errNotFound("no such table (master4, master6, master)")
		}
		keep := func(r *Route) bool { return r.Accepted() != filtered }
		return s.walk(c, s.bwHead(c.Request().Context()), []byte("]}"), s.tableFetcher(roots), keep, s.appendBWRoute, maxCompatRoutes)
	}
}
