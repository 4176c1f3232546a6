package lookingglass

import (
	"cmp"
	"fmt"
	"net/http"
	"net/netip"
	"slices"
	"time"

	"github.com/ixrs/ixrs/policy"
	"github.com/labstack/echo/v4"
)

// The /api/v1 JSON types. Field names are the public interface (openapi.json describes them);
// times are RFC 3339 in UTC, empty when unknown.

// StatusJSON is /api/v1/status.
type StatusJSON struct {
	Name         string   `json:"name"`
	ASN          uint32   `json:"asn"`
	RouterID     string   `json:"router_id"`
	Version      string   `json:"version"`
	Ready        bool     `json:"ready"`
	ServerTime   string   `json:"server_time"`
	StartTime    string   `json:"start_time"`
	LastReconfig string   `json:"last_reconfig"`
	Generation   uint64   `json:"generation"`
	RPKI         RPKIJSON `json:"rpki"`
}

// RPKIJSON summarises the RPKI data in use.
type RPKIJSON struct {
	Caches     []RPKICacheJSON `json:"caches"`
	VRPsIPv4   int             `json:"vrps_ipv4"`
	VRPsIPv6   int             `json:"vrps_ipv6"`
	ASPAs      int             `json:"aspas"`
	LastUpdate string          `json:"last_update"`
}

// RPKICacheJSON is one RTR cache.
type RPKICacheJSON struct {
	Address string `json:"address"`
	Up      bool   `json:"up"`
	Serial  uint32 `json:"serial"`
}

// SessionJSON is one member session.
type SessionJSON struct {
	ID            string `json:"id"`
	Member        string `json:"member"`
	ASN           uint32 `json:"asn"`
	Description   string `json:"description"`
	Neighbor      string `json:"neighbor"`
	State         string `json:"state"`
	Since         string `json:"since"`
	UptimeSeconds int64  `json:"uptime_seconds"` // time in the current state
	LastError     string `json:"last_error"`
	Flaps         uint64 `json:"flaps"`
	// LastNotificationSent/Received are the last NOTIFICATIONs in each direction, in words.
	LastNotificationSent     string       `json:"last_notification_sent"`
	LastNotificationReceived string       `json:"last_notification_received"`
	RouterID                 string       `json:"router_id"`
	Capabilities             []string     `json:"capabilities"`
	HoldTime                 int          `json:"hold_time"`
	Families                 []FamilyJSON `json:"families"`
}

// FamilyJSON are a session's counts for one address family.
type FamilyJSON struct {
	Family   string `json:"family"`
	Received int    `json:"received"`
	Accepted int    `json:"accepted"`
	Filtered int    `json:"filtered"`
	Exported int    `json:"exported"`
	// Preferred counts the accepted routes that are the best route of their prefix.
	Preferred int `json:"preferred"`
	MaxPrefix int `json:"max_prefix"`
	// MaxPrefixUsed is received as a percentage of MaxPrefix; 0 without a limit.
	MaxPrefixUsed float64 `json:"max_prefix_used"`
}

// SessionsJSON is /api/v1/sessions.
type SessionsJSON struct {
	Sessions []SessionJSON `json:"sessions"`
}

// ReasonJSON names one reason code with the large community that carries it in the compatibility
// APIs.
type ReasonJSON struct {
	Code      int    `json:"code"`
	Name      string `json:"name"`
	Community string `json:"community"`
}

// RouteJSON is one route.
type RouteJSON struct {
	Prefix           string       `json:"prefix"`
	Member           string       `json:"member"`
	ASN              uint32       `json:"asn"`
	Neighbor         string       `json:"neighbor"`
	SessionID        string       `json:"session_id"`
	ASPath           []uint32     `json:"as_path"`
	ASSet            bool         `json:"as_set"`
	NextHop          string       `json:"next_hop"`
	MED              *uint32      `json:"med"`
	Origin           string       `json:"origin"`
	LocalPref        uint32       `json:"local_pref"`
	Communities      []string     `json:"communities"`
	ExtCommunities   []string     `json:"ext_communities"`
	LargeCommunities []string     `json:"large_communities"`
	OTC              *uint32      `json:"otc"`
	RPKI             string       `json:"rpki"`
	IRRPrefix        string       `json:"irr_prefix"`
	IRROrigin        string       `json:"irr_origin"`
	Since            string       `json:"since"`
	AgeSeconds       int64        `json:"age_seconds"`
	Best             bool         `json:"best"`
	Accepted         bool         `json:"accepted"`
	Reasons          []ReasonJSON `json:"reasons"`
	NotExported      *ReasonJSON  `json:"not_exported"`
	// PathID is set only in the exported view of an ADD-PATH session (Route.PathID).
	PathID uint32 `json:"path_id,omitempty"`
}

// RoutePageJSON is one page of routes.
type RoutePageJSON struct {
	Routes     []RouteJSON `json:"routes"`
	NextCursor string      `json:"next_cursor"`
	Generation uint64      `json:"generation"`
	Total      int         `json:"total"`
	Partial    bool        `json:"partial"`
	Limit      int         `json:"limit"`
}

// ExplainJSON is /api/v1/sessions/{id}/explain.
type ExplainJSON struct {
	Route   RouteJSON    `json:"route"`
	Checks  []CheckJSON  `json:"checks"`
	Exports []ExportJSON `json:"exports"`
}

// CheckJSON is one import check.
type CheckJSON struct {
	Step    int         `json:"step"`
	Name    string      `json:"name"`
	Outcome string      `json:"outcome"`
	Reason  *ReasonJSON `json:"reason"`
	Detail  string      `json:"detail"`
}

// ExportJSON is the export decision toward one session.
type ExportJSON struct {
	Member    string      `json:"member"`
	ASN       uint32      `json:"asn"`
	Neighbor  string      `json:"neighbor"`
	SessionID string      `json:"session_id"`
	Exported  bool        `json:"exported"`
	Reason    *ReasonJSON `json:"reason"`
	Explain   string      `json:"explain"`
}

// ReasonsJSON is /api/v1/reasons: every code the looking glass shows.
type ReasonsJSON struct {
	Filtered    []ReasonJSON `json:"filtered"`
	NotExported []ReasonJSON `json:"not_exported"`
	RPKI        []ReasonJSON `json:"rpki"`
}

func timeString(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func addrString(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}

func (s *Server) filterReason(code int) ReasonJSON {
	return ReasonJSON{Code: code, Name: policy.Reason(code).String(),
		Community: fmt.Sprintf("%d:%d:%d", s.set.Load().rsASN, policy.EuroIXFunction, code)}
}

func (s *Server) notExportedReason(code int) ReasonJSON {
	return ReasonJSON{Code: code, Name: NotExportedReason(code).String(),
		Community: fmt.Sprintf("%d:%d:%d", s.set.Load().rsASN, NotExportedFunction, code)}
}

// rpkiCodes are the Euro-IX informational values RS:1000:N.
var rpkiCodes = map[string]int{"valid": 1, "not-found": 2, "not-checked": 3, "invalid": 4}

func strs[T fmt.Stringer](v []T) []string {
	out := make([]string, len(v))
	for i, x := range v {
		out[i] = x.String()
	}
	return out
}

func (s *Server) routeJSON(r *Route) RouteJSON {
	var n neighborNames
	return s.routeJSONAt(r, s.now(), &n)
}

// neighborNames remembers the strings of the last neighbor seen: the routes of a page mostly share
// one (a session's list), and two strings per route were a fifth of a page's allocations.
type neighborNames struct {
	addr     netip.Addr
	str, id  string
	assigned bool
}

func (n *neighborNames) of(a netip.Addr) (str, id string) {
	if !n.assigned || n.addr != a {
		n.addr, n.str, n.id, n.assigned = a, addrString(a), ProtocolID(a), true
	}
	return n.str, n.id
}

// routeJSONAt is routeJSON with the clock read once per page. The JSON aliases r's slices: it is
// encoded and dropped while r is alive and unchanged.
func (s *Server) routeJSONAt(r *Route, now time.Time, names *neighborNames) RouteJSON {
	nstr, nid := names.of(r.Neighbor)
	j := RouteJSON{
		Prefix: r.Prefix.String(), Member: r.Member, ASN: r.ASN, Neighbor: nstr,
		SessionID: nid, ASPath: r.ASPath, ASSet: r.ASSet,
		NextHop: addrString(r.NextHop), Origin: r.Origin, LocalPref: r.LocalPref,
		Communities: strs(r.Communities), ExtCommunities: strs(r.ExtCommunities),
		LargeCommunities: strs(r.LargeCommunities), RPKI: r.RPKI, IRRPrefix: r.IRRPrefix,
		IRROrigin: r.IRROrigin, Since: timeString(r.Since), Best: r.Best, Accepted: r.Accepted(),
		Reasons: []ReasonJSON{}, PathID: r.PathID,
	}
	if j.ASPath == nil {
		j.ASPath = []uint32{}
	}
	if !r.Since.IsZero() {
		j.AgeSeconds = int64(now.Sub(r.Since) / time.Second)
	}
	if r.HasMED {
		j.MED = &r.MED
	}
	if r.OTC != 0 {
		j.OTC = &r.OTC
	}
	for _, c := range r.Reasons {
		j.Reasons = append(j.Reasons, s.filterReason(c))
	}
	if r.NotExported != 0 {
		ne := s.notExportedReason(r.NotExported)
		j.NotExported = &ne
	}
	return j
}

func (s *Server) sessionJSON(ss *Session) SessionJSON {
	j := SessionJSON{
		ID: ProtocolID(ss.Neighbor), Member: ss.Member, ASN: ss.ASN, Description: ss.Description,
		Neighbor: addrString(ss.Neighbor), State: ss.State, Since: timeString(ss.Since),
		LastError: ss.LastError, Flaps: ss.Flaps, LastNotificationSent: ss.LastNotificationSent,
		LastNotificationReceived: ss.LastNotificationReceived, RouterID: addrString(ss.RouterID),
		Capabilities: slices.Clone(ss.Capabilities), HoldTime: ss.HoldTime, Families: []FamilyJSON{},
	}
	if j.Capabilities == nil {
		j.Capabilities = []string{}
	}
	if !ss.Since.IsZero() {
		j.UptimeSeconds = int64(s.now().Sub(ss.Since) / time.Second)
	}
	for _, f := range ss.Families {
		fj := FamilyJSON{Family: f.Family, Received: f.Received, Accepted: f.Accepted, Filtered: f.Filtered,
			Exported: f.Exported, Preferred: f.Preferred, MaxPrefix: f.MaxPrefix}
		if f.MaxPrefix > 0 {
			fj.MaxPrefixUsed = float64(int(float64(f.Received)*1000/float64(f.MaxPrefix))) / 10
		}
		j.Families = append(j.Families, fj)
	}
	return j
}

// visibleRoutes drops routes of hidden members, whatever the Backend did with Hide.
func (s *Server) visibleRoutes(rs []Route) []Route {
	set := s.set.Load()
	return slices.DeleteFunc(slices.Clone(rs), func(r Route) bool { return !set.visible(r.Member, r.Neighbor) })
}

func sortRoutes(rs []Route, k SortKey) {
	if k.Field == "" {
		return
	}
	slices.SortStableFunc(rs, func(a, b Route) int {
		var c int
		switch k.Field {
		case "prefix":
			c = cmp.Or(a.Prefix.Addr().Compare(b.Prefix.Addr()), cmp.Compare(a.Prefix.Bits(), b.Prefix.Bits()))
		case "age":
			c = b.Since.Compare(a.Since) // older first: oldest routes have the greatest age
		case "as-path-length":
			c = cmp.Compare(len(a.ASPath), len(b.ASPath))
		case "local-pref":
			c = cmp.Compare(a.LocalPref, b.LocalPref)
		case "neighbor":
			c = a.Neighbor.Compare(b.Neighbor)
		}
		if k.Desc {
			c = -c
		}
		return c
	})
}

// session finds the visible session with the id in the path.
func (s *Server) sessionParam(c echo.Context) (netip.Addr, error) {
	a, err := ParseSessionID(c.Param("id"))
	if err != nil {
		return netip.Addr{}, err
	}
	if s.set.Load().hidden[a] {
		return netip.Addr{}, ErrUnknownNeighbor
	}
	return a, nil
}

func (s *Server) apiStatus(c echo.Context) error {
	if err := query(c); err != nil {
		return err
	}
	ctx, cancel := queryCtx(c)
	defer cancel()
	st, err := s.backendStatus(ctx)
	if err != nil {
		return err
	}
	return writeJSON(c, http.StatusOK, s.statusJSON(&st))
}

func (s *Server) statusJSON(st *Status) StatusJSON {
	j := StatusJSON{
		Name: cmp.Or(st.Name, s.set.Load().name), ASN: st.ASN, RouterID: addrString(st.RouterID), Version: st.Version,
		Ready: st.Ready, ServerTime: timeString(s.now()), StartTime: timeString(st.StartTime),
		LastReconfig: timeString(st.LastReconfig), Generation: st.Generation,
		RPKI: RPKIJSON{Caches: []RPKICacheJSON{}, VRPsIPv4: st.RPKI.VRPsIPv4, VRPsIPv6: st.RPKI.VRPsIPv6,
			ASPAs: st.RPKI.ASPAs, LastUpdate: timeString(st.RPKI.LastUpdate)},
	}
	for _, c := range st.RPKI.Caches {
		j.RPKI.Caches = append(j.RPKI.Caches, RPKICacheJSON{Address: c.Address, Up: c.Up, Serial: c.Serial})
	}
	return j
}

func (s *Server) apiReasons(c echo.Context) error {
	if err := query(c); err != nil {
		return err
	}
	j := ReasonsJSON{}
	for code := 1; code <= int(policy.ASPAInvalid); code++ {
		j.Filtered = append(j.Filtered, s.filterReason(code))
	}
	for code := 1; code < numNotExportedReasonCodes; code++ {
		j.NotExported = append(j.NotExported, s.notExportedReason(code))
	}
	for _, name := range []string{"valid", "not-found", "not-checked", "invalid"} {
		n := rpkiCodes[name]
		j.RPKI = append(j.RPKI, ReasonJSON{Code: n, Name: name,
			Community: fmt.Sprintf("%d:%d:%d", s.set.Load().rsASN, policy.InfoRPKIFunction, n)})
	}
	return c.JSON(http.StatusOK, j)
}

// visibleSessions fetches the sessions and drops hidden ones.
func (s *Server) visibleSessions(c echo.Context) ([]Session, error) {
	ctx, cancel := queryCtx(c)
	defer cancel()
	all, err := s.backend.Sessions(ctx)
	if err != nil {
		return nil, err
	}
	set := s.set.Load()
	return slices.DeleteFunc(slices.Clone(all), func(ss Session) bool { return !set.visible(ss.Member, ss.Neighbor) }), nil
}

func (s *Server) apiSessions(c echo.Context) error {
	if err := query(c); err != nil {
		return err
	}
	all, err := s.visibleSessions(c)
	if err != nil {
		return err
	}
	j := SessionsJSON{Sessions: make([]SessionJSON, 0, len(all))}
	for i := range all {
		j.Sessions = append(j.Sessions, s.sessionJSON(&all[i]))
	}
	return c.JSON(http.StatusOK, j)
}

func (s *Server) apiSession(c echo.Context) error {
	if err := query(c); err != nil {
		return err
	}
	a, err := s.sessionParam(c)
	if err != nil {
		return err
	}
	all, err := s.visibleSessions(c)
	if err != nil {
		return err
	}
	for i := range all {
		if all[i].Neighbor == a {
			return writeJSON(c, http.StatusOK, s.sessionJSON(&all[i]))
		}
	}
	return ErrUnknownNeighbor
}

func (s *Server) apiRoutes(c echo.Context) error {
	if err := query(c, "family", "limit", "cursor", "sort"); err != nil {
		return err
	}
	a, err := s.sessionParam(c)
	if err != nil {
		return err
	}
	view, err := ParseView(c.Param("view"))
	if err != nil {
		return err
	}
	fam, err := ParseFamily(c.QueryParam("family"))
	if err != nil {
		return err
	}
	page, sk, err := pageParams(c)
	if err != nil {
		return err
	}
	ctx, cancel := queryCtx(c)
	defer cancel()
	return s.answerPage(c, page, sk, func(page Page) (RoutePage, error) {
		return s.backend.Routes(ctx, RoutesQuery{Neighbor: a, View: view, Family: fam, Hide: s.set.Load().hide, Page: page})
	})
}

func (s *Server) apiExplain(c echo.Context) error {
	if err := query(c, "prefix"); err != nil {
		return err
	}
	a, err := s.sessionParam(c)
	if err != nil {
		return err
	}
	pfx, isAddr, err := ParsePrefix(c.QueryParam("prefix"))
	if err != nil {
		return err
	}
	if isAddr {
		return paramErr("prefix", c.QueryParam("prefix"), "a prefix is needed, not an address")
	}
	ctx, cancel := queryCtx(c)
	defer cancel()
	d, err := s.backend.Explain(ctx, a, pfx)
	if err != nil {
		return err
	}
	set := s.set.Load()
	if !set.visible(d.Route.Member, d.Route.Neighbor) {
		return ErrNoRoute
	}
	j := ExplainJSON{Route: s.routeJSON(&d.Route), Checks: []CheckJSON{}, Exports: []ExportJSON{}}
	for _, ch := range d.Checks {
		cj := CheckJSON{Step: ch.Step, Name: ch.Name, Outcome: ch.Outcome, Detail: ch.Detail}
		if ch.Reason != 0 {
			r := s.filterReason(ch.Reason)
			cj.Reason = &r
		}
		j.Checks = append(j.Checks, cj)
	}
	for _, e := range d.Exports {
		if !set.visible(e.Member, e.Neighbor) {
			continue
		}
		ej := ExportJSON{Member: e.Member, ASN: e.ASN, Neighbor: addrString(e.Neighbor), SessionID: ProtocolID(e.Neighbor),
			Exported: e.Exported, Explain: e.Explain}
		if e.Reason != 0 {
			r := s.notExportedReason(e.Reason)
			ej.Reason = &r
		}
		j.Exports = append(j.Exports, ej)
	}
	return c.JSON(http.StatusOK, j)
}

func (s *Server) apiLookup(c echo.Context) error {
	if err := query(c, "prefix", "match", "limit", "cursor", "sort"); err != nil {
		return err
	}
	pfx, isAddr, err := ParsePrefix(c.QueryParam("prefix"))
	if err != nil {
		return err
	}
	m, err := ParseMatch(c.QueryParam("match"), isAddr)
	if err != nil {
		return err
	}
	page, sk, err := pageParams(c)
	if err != nil {
		return err
	}
	ctx, cancel := queryCtx(c)
	defer cancel()
	return s.answerPage(c, page, sk, func(page Page) (RoutePage, error) {
		return s.backend.Lookup(ctx, LookupQuery{Prefix: pfx, Match: m, Hide: s.set.Load().hide, Page: page})
	})
}

func (s *Server) apiSearch(c echo.Context) error {
	if err := query(c, "q", "family", "limit", "cursor", "sort"); err != nil {
		return err
	}
	kind, err := ParseSearchKind(c.Param("kind"))
	if err != nil {
		return err
	}
	q, err := ParseSearch(kind, c.QueryParam("q"))
	if err != nil {
		return err
	}
	if q.Family, err = ParseFamily(c.QueryParam("family")); err != nil {
		return err
	}
	page, sk, err := pageParams(c)
	if err != nil {
		return err
	}
	q.Hide = s.set.Load().hide
	ctx, cancel := queryCtx(c)
	defer cancel()
	return s.answerPage(c, page, sk, func(page Page) (RoutePage, error) {
		q.Page = page
		return s.backend.Search(ctx, q)
	})
}
