package lookingglass

import (
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"
)

// The pages with route lists: a session's tabs, a route's detail, prefix lookup and search.

// routeView is one route as a table row or the detail page shows it.
type routeView struct {
	Prefix      string
	DetailURL   string
	SessionID   string // of the session that announced it
	Member      string
	ASN         uint32
	Neighbor    string
	Demo        bool
	ASPath      []uint32
	ASSet       bool
	OriginAS    uint32
	NextHop     string
	Origin      string
	LocalPref   uint32
	MED         string
	OTC         uint32
	Comms       []commView
	RPKI        string
	RPKIClass   string
	IRRPrefix   string
	IRROrigin   string
	Age         string
	Since       string
	Best        bool
	Accepted    bool
	Reasons     []ReasonJSON
	NotExported *ReasonJSON
	PathID      uint32 // ADD-PATH path identifier, exported view only
}

func rpkiClass(state string) string {
	switch state {
	case "valid":
		return "ok"
	case "invalid":
		return "bad"
	case "not-found":
		return "warn"
	}
	return "muted"
}

func routeDetailURL(id string, p netip.Prefix) string {
	return "/sessions/" + id + "/route?" + url.Values{"prefix": {p.String()}}.Encode()
}

// routeView prepares r; demo tells which sessions belong to simulated members.
func (s *Server) routeView(r *Route, demo map[netip.Addr]bool) routeView {
	set := s.set.Load()
	id := ProtocolID(r.Neighbor)
	v := routeView{Prefix: r.Prefix.String(), DetailURL: routeDetailURL(id, r.Prefix), SessionID: id, Member: r.Member,
		ASN: r.ASN, Neighbor: addrString(r.Neighbor), Demo: demo[r.Neighbor], ASPath: r.ASPath, ASSet: r.ASSet,
		NextHop: addrString(r.NextHop), Origin: r.Origin, LocalPref: r.LocalPref, OTC: r.OTC,
		Comms: communityViews(r, set.rsASN), RPKI: r.RPKI, RPKIClass: rpkiClass(r.RPKI), IRRPrefix: r.IRRPrefix,
		IRROrigin: r.IRROrigin, Since: formatTime(r.Since), Best: r.Best, Accepted: r.Accepted(), PathID: r.PathID}
	if v.RPKI == "" {
		v.RPKI = "not-checked"
	}
	if !r.ASSet && len(r.ASPath) > 0 {
		v.OriginAS = r.ASPath[len(r.ASPath)-1]
	}
	if r.HasMED {
		v.MED = fmt.Sprint(r.MED)
	}
	if !r.Since.IsZero() {
		v.Age = formatDuration(s.now().Sub(r.Since))
	}
	for _, code := range r.Reasons {
		v.Reasons = append(v.Reasons, s.filterReason(code))
	}
	if r.NotExported != 0 {
		ne := s.notExportedReason(r.NotExported)
		v.NotExported = &ne
	}
	return v
}

// routesTable is the "routes" partial's input.
type routesTable struct {
	Caption     string
	Routes      []routeView
	ShowFrom    bool // a column for the announcing member
	NotExported bool // the last column says why a route is not exported
	Empty       string
	Pager       *pagerView
}

type pagerView struct {
	Summary     string
	First, Next string
}

// pager links the first and next pages of a list at base (a path with its query minus cursor).
func pager(base url.Values, path string, p RoutePage, shown int, cursor string) *pagerView {
	pv := &pagerView{Summary: fmt.Sprintf("%s on this page", plural(shown, "route"))}
	if p.Total >= 0 {
		pv.Summary += fmt.Sprintf(", %s in all", formatCount(p.Total))
	}
	if p.Partial {
		pv.Summary += " (the route server's work budget for one page ran out: continue on the next page)"
	}
	pv.Summary += "."
	link := func(c string) string {
		v := url.Values{}
		for k, vs := range base {
			v[k] = vs
		}
		if c != "" {
			v.Set("cursor", c)
		}
		if len(v) == 0 {
			return path
		}
		return path + "?" + v.Encode()
	}
	if cursor != "" {
		pv.First = link("")
	}
	if p.Next != "" {
		pv.Next = link(p.Next)
	}
	return pv
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return formatCount(n) + " " + word + "s"
}

// demoSessions are the neighbors of simulated members, from the session list.
func demoSessions(all []Session) map[netip.Addr]bool {
	m := map[netip.Addr]bool{}
	for i := range all {
		if strings.HasPrefix(all[i].Description, DemoDescriptionPrefix) {
			m[all[i].Neighbor] = true
		}
	}
	return m
}

// listParams are the query parameters of a route list: what the pager keeps besides the cursor.
func listParams(c echo.Context, keep ...string) url.Values {
	v := url.Values{}
	for _, k := range keep {
		if x := c.QueryParam(k); x != "" {
			v.Set(k, x)
		}
	}
	return v
}

// --- a session and its tabs -----------------------------------------------------------------------

type tabView struct {
	Key, Label, URL string
	Count           int // -1: not known without a walk
	Current         bool
}

type linkView struct {
	Label, URL string
	Current    bool
}

type sessionPageView struct {
	S            sessionView
	Others       []sessionView
	Tab          string
	Tabs         []tabView
	TabTitle     string
	TabHint      string
	SinceTime    string
	RouterID     string
	HoldTime     int
	Capabilities []string
	Flaps        int
	// LastSent and LastReceived are the last NOTIFICATIONs in each direction, in words.
	LastSent, LastReceived string
	Families               []familyView
	FamilyLinks            []linkView
	Routes                 routesTable
}

var sessionTabs = []struct {
	view        View
	label, hint string
}{
	{"", "Session", ""},
	{ViewReceived, "Received", "Every route this session announced to the route server, accepted or filtered."},
	{ViewAccepted, "Accepted", "The routes import policy accepted; the route server offers them to the other members."},
	{ViewFiltered, "Filtered", "The routes import policy rejected, each with its reasons in words and as the Euro-IX community RS:1101:N."},
	{ViewExported, "Exported", "What the route server sends to this session, attributes as sent."},
	{ViewNotExported, "Not exported", "Other members' accepted routes this session is not sent, and why. Routes passed over only because a better one is sent are not listed."},
}

func (s *Server) pageSession(c echo.Context) error {
	tab := c.Param("tab")
	var view View
	if tab != "" {
		v, err := ParseView(tab)
		if err != nil {
			return errNotFound(fmt.Sprintf("A session has no tab %q: the tabs are received, accepted, filtered, exported and not-exported.", cut(tab, 40)))
		}
		view = v
	}
	allowed := []string{}
	if view != "" {
		allowed = []string{"family", "limit", "cursor", "sort"}
	}
	if err := query(c, allowed...); err != nil {
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
	var ss *Session
	for i := range all {
		if all[i].Neighbor == a {
			ss = &all[i]
		}
	}
	if ss == nil {
		return ErrUnknownNeighbor
	}
	sv := s.sessionView(ss)
	pv := sessionPageView{S: sv, Tab: string(view), Families: sv.Families, SinceTime: formatTime(ss.Since),
		RouterID: addrString(ss.RouterID), HoldTime: ss.HoldTime, Capabilities: ss.Capabilities, Flaps: int(min(ss.Flaps, 1<<62)),
		LastSent: ss.LastNotificationSent, LastReceived: ss.LastNotificationReceived}
	if view == "" {
		pv.Tab = "details"
	}
	for i := range all {
		if all[i].Member == ss.Member && all[i].Neighbor != a {
			pv.Others = append(pv.Others, s.sessionView(&all[i]))
		}
	}
	counts := map[View]int{ViewReceived: sv.received, ViewAccepted: sv.accepted, ViewFiltered: sv.filtered, ViewExported: sv.exported, ViewNotExported: -1}
	title := ss.Member
	for _, t := range sessionTabs {
		tv := tabView{Key: string(t.view), Label: t.label, URL: "/sessions/" + sv.ID, Count: -1, Current: t.view == view}
		if t.view != "" {
			tv.URL += "/" + string(t.view)
			tv.Count = counts[t.view]
		}
		if tv.Current {
			pv.TabTitle, pv.TabHint = t.label+" routes", t.hint
			if t.view != "" {
				title = ss.Member + " · " + t.label + " routes"
			}
		}
		pv.Tabs = append(pv.Tabs, tv)
	}
	if view != "" {
		if err := s.sessionRoutes(c, &pv, a, view, all); err != nil {
			return err
		}
	}
	return s.render(c, http.StatusOK, "session", &pageFrame{Title: title + " (" + sv.Neighbor + ")", Page: "sessions", C: pv})
}

// sessionRoutes fills the route list of a session's tab.
func (s *Server) sessionRoutes(c echo.Context, pv *sessionPageView, a netip.Addr, view View, all []Session) error {
	fam, err := ParseFamily(c.QueryParam("family"))
	if err != nil {
		return err
	}
	page, sk, err := pageParams(c)
	if err != nil {
		return err
	}
	base := "/sessions/" + pv.S.ID + "/" + string(view)
	for _, f := range []struct{ v, label string }{{"", "All families"}, {"ipv4", "IPv4"}, {"ipv6", "IPv6"}} {
		u := base
		if f.v != "" {
			u += "?family=" + f.v
		}
		pv.FamilyLinks = append(pv.FamilyLinks, linkView{Label: f.label, URL: u, Current: f.v == fam})
	}
	ctx, cancel := queryCtx(c)
	defer cancel()
	p, err := s.backend.Routes(ctx, RoutesQuery{Neighbor: a, View: view, Family: fam, Hide: s.set.Load().hide, Page: page})
	if err != nil {
		return err
	}
	rs := s.visibleRoutes(p.Routes)
	sortRoutes(rs, sk)
	demo := demoSessions(all)
	t := routesTable{Caption: pv.TabTitle, ShowFrom: view == ViewExported || view == ViewNotExported,
		NotExported: view == ViewNotExported, Empty: "No routes in this list."}
	for i := range rs {
		t.Routes = append(t.Routes, s.routeView(&rs[i], demo))
	}
	t.Pager = pager(listParams(c, "family", "limit", "sort"), base, p, len(rs), page.Cursor)
	pv.Routes = t
	return nil
}

// --- one route ------------------------------------------------------------------------------------

type checkView struct {
	Step    int
	Name    string
	Outcome string
	Class   string
	Reason  *ReasonJSON
	Detail  string
}

type exportView struct {
	Member    string
	ASN       uint32
	Neighbor  string
	SessionID string
	Exported  bool
	Reason    *ReasonJSON
	Explain   string
}

type routePageView struct {
	R       routeView
	Checks  []checkView
	Exports []exportView
}

func (s *Server) pageRoute(c echo.Context) error {
	if err := query(c, "prefix"); err != nil {
		return err
	}
	a, err := s.sessionParam(c)
	if err != nil {
		return err
	}
	raw := c.QueryParam("prefix")
	if raw == "" {
		return paramErr("prefix", raw, "a prefix is needed (…/route?prefix=203.0.113.0/24)")
	}
	pfx, isAddr, err := ParsePrefix(raw)
	if err != nil {
		return err
	}
	if isAddr {
		return paramErr("prefix", raw, "a prefix is needed, not an address")
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
	all, err := s.visibleSessions(c)
	if err != nil {
		return err
	}
	v := routePageView{R: s.routeView(&d.Route, demoSessions(all))}
	for _, ch := range d.Checks {
		cv := checkView{Step: ch.Step, Name: ch.Name, Outcome: ch.Outcome, Detail: ch.Detail, Class: "muted"}
		switch ch.Outcome {
		case "pass":
			cv.Class = "ok"
		case "fail":
			cv.Class = "bad"
		case "applied":
			cv.Class = "info"
		}
		if ch.Reason != 0 {
			r := s.filterReason(ch.Reason)
			cv.Reason = &r
		}
		v.Checks = append(v.Checks, cv)
	}
	for _, e := range d.Exports {
		if !set.visible(e.Member, e.Neighbor) {
			continue
		}
		ev := exportView{Member: e.Member, ASN: e.ASN, Neighbor: addrString(e.Neighbor), SessionID: ProtocolID(e.Neighbor),
			Exported: e.Exported, Explain: e.Explain}
		if e.Reason != 0 {
			r := s.notExportedReason(e.Reason)
			ev.Reason = &r
		}
		v.Exports = append(v.Exports, ev)
	}
	return s.render(c, http.StatusOK, "route", &pageFrame{Title: pfx.String() + " from " + d.Route.Member, Page: "lookup", C: v})
}

// --- lookup and search ----------------------------------------------------------------------------

type optionView struct {
	Value, Label string
	Selected     bool
}

type lookupView struct {
	Prefix  string
	Matches []optionView
	Error   string
	Results *routesTable
}

// formError is the text a form shows for a parameter that did not parse.
func formError(err error) (string, bool) {
	if pe, ok := err.(*ParamError); ok {
		return fmt.Sprintf("%s %q: %s.", pe.Param, pe.Value, pe.Msg), true
	}
	return "", false
}

func (s *Server) pageLookup(c echo.Context) error {
	if err := query(c, "prefix", "match", "limit", "cursor", "sort"); err != nil {
		return err
	}
	raw, match := strings.TrimSpace(c.QueryParam("prefix")), c.QueryParam("match")
	v := lookupView{Prefix: raw}
	for _, m := range []struct{ v, l string }{{"", "automatic"}, {"exact", "exact prefix"}, {"longest", "longest match"}, {"more-specific", "and more specifics"}} {
		v.Matches = append(v.Matches, optionView{Value: m.v, Label: m.l, Selected: m.v == match})
	}
	status := http.StatusOK
	if raw != "" || match != "" {
		if err := s.lookupResults(c, &v, raw, match); err != nil {
			msg, ok := formError(err)
			if !ok {
				return err
			}
			v.Error, status = msg, http.StatusBadRequest
		}
	}
	title := "Prefix lookup"
	if raw != "" && v.Error == "" {
		title = "Lookup " + raw
	}
	return s.render(c, status, "lookup", &pageFrame{Title: title, Page: "lookup", C: v})
}

func (s *Server) lookupResults(c echo.Context, v *lookupView, raw, match string) error {
	if raw == "" {
		return paramErr("prefix", raw, "enter a prefix (203.0.113.0/24) or an address")
	}
	pfx, isAddr, err := ParsePrefix(raw)
	if err != nil {
		return err
	}
	m, err := ParseMatch(match, isAddr)
	if err != nil {
		return err
	}
	page, sk, err := pageParams(c)
	if err != nil {
		return err
	}
	all, err := s.visibleSessions(c)
	if err != nil {
		return err
	}
	ctx, cancel := queryCtx(c)
	defer cancel()
	p, err := s.backend.Lookup(ctx, LookupQuery{Prefix: pfx, Match: m, Hide: s.set.Load().hide, Page: page})
	if err != nil {
		return err
	}
	rs := s.visibleRoutes(p.Routes)
	sortRoutes(rs, sk)
	demo := demoSessions(all)
	t := &routesTable{Caption: fmt.Sprintf("Routes for %s (%s match)", pfx, m), ShowFrom: true,
		Empty: "No member announces a route for " + pfx.String() + "."}
	for i := range rs {
		t.Routes = append(t.Routes, s.routeView(&rs[i], demo))
	}
	t.Pager = pager(listParams(c, "prefix", "match", "limit", "sort"), "/lookup", p, len(rs), page.Cursor)
	v.Results = t
	return nil
}

type searchView struct {
	Q        string
	Kinds    []optionView
	Families []optionView
	Error    string
	Results  *routesTable
}

var searchKinds = []struct {
	k     SearchKind
	label string
}{
	{SearchOrigin, "origin AS"}, {SearchASN, "AS in path"}, {SearchASPath, "AS path pattern"},
	{SearchCommunity, "community"}, {SearchLarge, "large community"}, {SearchExt, "extended community"},
	{SearchNextHop, "next hop"},
}

func (s *Server) pageSearch(c echo.Context) error {
	if err := query(c, "kind", "q", "family", "limit", "cursor", "sort"); err != nil {
		return err
	}
	kind, q, fam := c.QueryParam("kind"), strings.TrimSpace(c.QueryParam("q")), c.QueryParam("family")
	v := searchView{Q: q}
	for _, k := range searchKinds {
		v.Kinds = append(v.Kinds, optionView{Value: string(k.k), Label: k.label, Selected: string(k.k) == kind})
	}
	for _, f := range []struct{ v, l string }{{"", "both"}, {"ipv4", "IPv4"}, {"ipv6", "IPv6"}} {
		v.Families = append(v.Families, optionView{Value: f.v, Label: f.l, Selected: f.v == fam})
	}
	status := http.StatusOK
	if q != "" || kind != "" {
		if err := s.searchResults(c, &v, kind, q, fam); err != nil {
			msg, ok := formError(err)
			if !ok {
				return err
			}
			v.Error, status = msg, http.StatusBadRequest
		}
	}
	title := "Search"
	if q != "" && v.Error == "" {
		title = "Search " + kind + " " + q
	}
	return s.render(c, status, "search", &pageFrame{Title: title, Page: "search", C: v})
}

func (s *Server) searchResults(c echo.Context, v *searchView, kind, q, fam string) error {
	k, err := ParseSearchKind(kind)
	if err != nil {
		return err
	}
	if q == "" {
		return paramErr("q", q, "enter what to search for")
	}
	sq, err := ParseSearch(k, q)
	if err != nil {
		return err
	}
	if sq.Family, err = ParseFamily(fam); err != nil {
		return err
	}
	page, sk, err := pageParams(c)
	if err != nil {
		return err
	}
	all, err := s.visibleSessions(c)
	if err != nil {
		return err
	}
	sq.Page, sq.Hide = page, s.set.Load().hide
	ctx, cancel := queryCtx(c)
	defer cancel()
	p, err := s.backend.Search(ctx, sq)
	if err != nil {
		return err
	}
	rs := s.visibleRoutes(p.Routes)
	sortRoutes(rs, sk)
	demo := demoSessions(all)
	label := kind
	for _, x := range searchKinds {
		if x.k == k {
			label = x.label
		}
	}
	t := &routesTable{Caption: fmt.Sprintf("Routes with %s %s", label, q), ShowFrom: true, Empty: "No route matches."}
	for i := range rs {
		t.Routes = append(t.Routes, s.routeView(&rs[i], demo))
	}
	t.Pager = pager(listParams(c, "kind", "q", "family", "limit", "sort"), "/search", p, len(rs), page.Cursor)
	v.Results = t
	return nil
}
