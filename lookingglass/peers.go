package lookingglass

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"net/url"
	"reflect"
	"slices"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
)

// Several route servers side by side: /api/v1/compare/sessions/{id} asks this route server and
// every [lookingglass] peer (other ixrs looking glasses, through their own /api/v1) for a session
// and, with ?prefix=, for the route it sent for the prefix, and lists what differs. Redundant route
// servers should give identical results (RFC 7948 §4.4); a difference is worth an operator's look.

const (
	peerTimeout = 5 * time.Second
	peerMaxBody = 4 << 20
)

// CompareJSON is /api/v1/compare/sessions/{id}.
type CompareJSON struct {
	SessionID string              `json:"session_id"`
	Prefix    string              `json:"prefix"`
	Servers   []CompareServerJSON `json:"servers"`
	// Agree reports that every server that answered says the same; Differences names what does
	// not agree ("session", "state", "counts", "route", or a route field such as "reasons").
	Agree       bool     `json:"agree"`
	Differences []string `json:"differences"`
}

// CompareServerJSON is what one route server says.
type CompareServerJSON struct {
	Name    string       `json:"name"`
	URL     string       `json:"url"`   // "" for this route server
	Error   string       `json:"error"` // why the server could not be asked; its data is then left out of the comparison
	Session *SessionJSON `json:"session"`
	Route   *RouteJSON   `json:"route"`
}

func (s *Server) apiCompare(c echo.Context) error {
	if err := query(c, "prefix"); err != nil {
		return err
	}
	a, err := s.sessionParam(c)
	if err != nil {
		return err
	}
	id := ProtocolID(a)
	prefix := ""
	if raw := c.QueryParam("prefix"); raw != "" {
		p, isAddr, err := ParsePrefix(raw)
		if err != nil {
			return err
		}
		if isAddr {
			return paramErr("prefix", raw, "a prefix is needed, not an address")
		}
		prefix = p.String()
	}

	// This route server.
	self := CompareServerJSON{Name: s.set.Load().name}
	all, err := s.visibleSessions(c)
	if err != nil {
		return err
	}
	for i := range all {
		if all[i].Neighbor == a {
			sj := s.sessionJSON(&all[i])
			self.Session = &sj
		}
	}
	if self.Session == nil {
		return ErrUnknownNeighbor
	}
	if prefix != "" {
		ctx, cancel := queryCtx(c)
		d, err := s.backend.Explain(ctx, a, netip.MustParsePrefix(prefix))
		cancel()
		switch {
		case err == nil && s.set.Load().visible(d.Route.Member, d.Route.Neighbor):
			rj := s.routeJSON(&d.Route)
			self.Route = &rj
		case err != nil && classify(err).status != http.StatusNotFound:
			return err
		}
	}

	out := CompareJSON{SessionID: id, Prefix: prefix, Servers: []CompareServerJSON{self}}
	peers := s.set.Load().peers
	releaseSlot(c) // the rest is waiting for the other route servers (up to peerTimeout)
	answers := make([]CompareServerJSON, len(peers))
	var wg sync.WaitGroup
	for i, base := range peers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			answers[i] = s.askPeer(c.Request().Context(), base, id, prefix)
		}()
	}
	wg.Wait()
	out.Servers = append(out.Servers, answers...)
	out.Differences = differences(out.Servers)
	out.Agree = len(out.Differences) == 0
	return c.JSON(http.StatusOK, out)
}

// askPeer fetches the session and route from another ixrs looking glass.
func (s *Server) askPeer(ctx context.Context, base, id, prefix string) CompareServerJSON {
	ctx, cancel := context.WithTimeout(ctx, peerTimeout)
	defer cancel()
	out := CompareServerJSON{Name: base, URL: base}
	var st StatusJSON
	if found, err := s.peerGet(ctx, base+"/api/v1/status", &st); err != nil || !found {
		out.Error = fmt.Sprint("status: ", errOr(err, "not found"))
		return out
	}
	out.Name = st.Name
	var ss SessionJSON
	found, err := s.peerGet(ctx, base+"/api/v1/sessions/"+url.PathEscape(id), &ss)
	if err != nil {
		out.Error = "session: " + err.Error()
		return out
	}
	if found {
		out.Session = &ss
	}
	if prefix != "" && found {
		var ex ExplainJSON
		found, err := s.peerGet(ctx, base+"/api/v1/sessions/"+url.PathEscape(id)+"/explain?prefix="+url.QueryEscape(prefix), &ex)
		if err != nil {
			out.Error = "route: " + err.Error()
			return out
		}
		if found {
			out.Route = &ex.Route
		}
	}
	return out
}

func errOr(err error, s string) string {
	if err != nil {
		return err.Error()
	}
	return s
}

var peerClient = &http.Client{Timeout: peerTimeout}

// peerGet decodes the JSON at u into v. found is false for a 404.
func (s *Server) peerGet(ctx context.Context, u string, v any) (found bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return false, err
	}
	resp, err := peerClient.Do(req)
	if err != nil {
		return false, fmt.Errorf("unreachable: %w", err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return false, nil
	case resp.StatusCode != http.StatusOK:
		return false, fmt.Errorf("HTTP status %d", resp.StatusCode)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, peerMaxBody)).Decode(v); err != nil {
		return false, fmt.Errorf("bad answer: %w", err)
	}
	return true, nil
}

// differences names what the servers that answered disagree on.
func differences(servers []CompareServerJSON) []string {
	var ok []CompareServerJSON
	for _, sv := range servers {
		if sv.Error == "" {
			ok = append(ok, sv)
		}
	}
	diff := []string{}
	add := func(name string, differs bool) {
		if differs && !slices.Contains(diff, name) {
			diff = append(diff, name)
		}
	}
	for _, sv := range ok[1:] {
		a, b := ok[0], sv
		add("session", (a.Session == nil) != (b.Session == nil))
		if a.Session != nil && b.Session != nil {
			add("state", a.Session.State != b.Session.State)
			add("counts", !sameCounts(a.Session.Families, b.Session.Families))
		}
		add("route", (a.Route == nil) != (b.Route == nil))
		if a.Route != nil && b.Route != nil {
			x, y := *a.Route, *b.Route
			add("accepted", x.Accepted != y.Accepted)
			add("reasons", !reflect.DeepEqual(codes(x.Reasons), codes(y.Reasons)))
			add("as_path", !slices.Equal(x.ASPath, y.ASPath))
			add("next_hop", x.NextHop != y.NextHop)
			add("med", !reflect.DeepEqual(x.MED, y.MED))
			add("local_pref", x.LocalPref != y.LocalPref)
			add("communities", !slices.Equal(x.Communities, y.Communities))
			add("ext_communities", !slices.Equal(x.ExtCommunities, y.ExtCommunities))
			add("large_communities", !slices.Equal(x.LargeCommunities, y.LargeCommunities))
			add("otc", !reflect.DeepEqual(x.OTC, y.OTC))
			add("rpki", x.RPKI != y.RPKI)
			add("irr", x.IRRPrefix != y.IRRPrefix || x.IRROrigin != y.IRROrigin)
		}
	}
	return diff
}

func codes(rs []ReasonJSON) []int {
	out := []int{}
	for _, r := range rs {
		out = append(out, r.Code)
	}
	return out
}

func sameCounts(a, b []FamilyJSON) bool {
	key := func(fs []FamilyJSON) map[string][3]int {
		m := map[string][3]int{}
		for _, f := range fs {
			m[f.Family] = [3]int{f.Received, f.Accepted, f.Filtered}
		}
		return m
	}
	return reflect.DeepEqual(key(a), key(b))
}
