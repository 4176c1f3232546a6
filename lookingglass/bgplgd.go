package lookingglass

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"
)

// The bgplgd shape (OpenBGPD's looking-glass daemon) that Alice-LG's openbgpd-bgplgd source reads.
// It has no not-exported view; filtered routes are in the rib, tagged with RS:1101:N.

type lgdNeighbor struct {
	RemoteAddr  string   `json:"remote_addr"`
	RemoteAS    string   `json:"remote_as"`
	Description string   `json:"description"`
	State       string   `json:"state"`
	LastUpdown  string   `json:"last_updown"`
	Stats       lgdStats `json:"stats"`
}

type lgdStats struct {
	Prefixes struct {
		Received int `json:"received"`
		Sent     int `json:"sent"`
	} `json:"prefixes"`
}

type lgdRoute struct {
	Prefix              string         `json:"prefix"`
	ASPath              string         `json:"aspath"`
	TrueNexthop         string         `json:"true_nexthop"`
	Nexthop             string         `json:"nexthop"`
	Neighbor            lgdRibNeighbor `json:"neighbor"`
	Origin              string         `json:"origin"`
	Localpref           uint32         `json:"localpref"`
	Metric              uint32         `json:"metric"`
	Best                bool           `json:"best"`
	Filtered            bool           `json:"filtered"`
	LastUpdate          string         `json:"last_update"`
	Communities         []string       `json:"communities"`
	LargeCommunities    []string       `json:"large_communities"`
	ExtendedCommunities []string       `json:"extended_communities"`
}

type lgdRibNeighbor struct {
	RemoteAddr string `json:"remote_addr"`
	RemoteAS   string `json:"remote_as"`
}

func (s *Server) lgdNeighbors(c echo.Context) error {
	if err := query(c); err != nil {
		return err
	}
	all, err := s.visibleSessions(c)
	if err != nil {
		return err
	}
	out := make([]lgdNeighbor, 0, len(all))
	for i := range all {
		ss := &all[i]
		n := lgdNeighbor{RemoteAddr: addrString(ss.Neighbor), RemoteAS: strconv.FormatUint(uint64(ss.ASN), 10),
			Description: ss.Member, State: bgpState(ss.State), LastUpdown: "Never"}
		if !ss.Since.IsZero() {
			n.LastUpdown = formatUpdown(s.now().Sub(ss.Since))
		}
		imp, filt, exp, _, _ := totals(ss)
		n.Stats.Prefixes.Received, n.Stats.Prefixes.Sent = imp+filt, exp
		out = append(out, n)
	}
	return c.JSON(http.StatusOK, map[string]any{"neighbors": out})
}

func (s *Server) lgdRoute(r *Route) any {
	path := make([]string, len(r.ASPath))
	for i, a := range r.ASPath {
		path[i] = strconv.FormatUint(uint64(a), 10)
	}
	j := lgdRoute{
		Prefix: r.Prefix.String(), ASPath: strings.Join(path, " "), TrueNexthop: addrString(r.NextHop),
		Nexthop: addrString(r.NextHop), Origin: birdOrigin(r.Origin), Localpref: r.LocalPref, Metric: r.MED,
		Neighbor:    lgdRibNeighbor{RemoteAddr: addrString(r.Neighbor), RemoteAS: strconv.FormatUint(uint64(r.ASN), 10)},
		Best:        r.Best && r.Accepted(),
		Filtered:    !r.Accepted(),
		Communities: strs(r.Communities), LargeCommunities: strs(s.largeCommunities(r)),
		ExtendedCommunities: make([]string, len(r.ExtCommunities)), LastUpdate: "Never",
	}
	if j.Origin == "Incomplete" {
		j.Origin = "incomplete"
	}
	if !r.Since.IsZero() {
		j.LastUpdate = formatUpdown(s.now().Sub(r.Since))
	}
	for i, c := range r.ExtCommunities {
		k, g, l := c.Parts()
		j.ExtendedCommunities[i] = k + " " + g + ":" + l
	}
	return j
}

// lgdRib serves /rib (every route of every member, accepted and filtered) and /rib?neighbor=ADDR.
func (s *Server) lgdRib(c echo.Context) error {
	if err := query(c, "neighbor"); err != nil {
		return err
	}
	head, tail := []byte(`{"rib":[`), []byte("]}")
	if n := c.QueryParam("neighbor"); n != "" {
		a, err := ParseSessionID(n)
		if err != nil {
			return err
		}
		if s.set.Load().hidden[a] {
			return ErrUnknownNeighbor
		}
		return s.walk(c, head, tail, s.routesFetcher(a, ViewReceived, ""), nil, marshalled(s.lgdRoute), maxCompatRoutes)
	}
	return s.walk(c, head, tail, s.tableFetcher(tables["master"]), nil, marshalled(s.lgdRoute), maxCompatRoutes)
}
