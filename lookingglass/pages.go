package lookingglass

import (
	"cmp"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/labstack/echo/v4"
)

// The web UI: server-rendered pages from the same Backend as the JSON API (templates in package
// web), with lg.js refreshing session states and counters from /api/v1/sessions. Every URL is a
// bookmark: a session's tabs, filters, sorts, lookups and searches are all in the path and query.
// Bad input in any URL gets a page saying what is wrong, with status 400 or 404.

// DemoDescriptionPrefix starts the description of the members the demo simulates (package demo);
// the pages mark those members as such.
const DemoDescriptionPrefix = "simulated by the ixrs demo"

// rpkiExpiry is how old RPKI data may get before the overview raises the alarm: RFC 8210's default
// Expire Interval, after which a router must stop using data it could not refresh.
const rpkiExpiry = 2 * time.Hour

// pageRoutes registers the pages on e.
func (s *Server) pageRoutes(e *echo.Echo) {
	get := func(path string, h echo.HandlerFunc) {
		e.GET(path, h)
		e.HEAD(path, h)
	}
	get("/", s.pageOverview)
	get("/sessions", s.pageSessions)
	get("/sessions/:id", s.pageSession)
	get("/sessions/:id/route", s.pageRoute)
	get("/sessions/:id/:tab", s.pageSession)
	get("/lookup", s.pageLookup)
	get("/search", s.pageSearch)
	get("/static/*", staticHandler())
}

// isPagePath reports whether errors on path are answered with an HTML page rather than JSON.
func isPagePath(p string) bool {
	for _, api := range []string{"/api/", "/birdwatcher/", "/bgplgd/", "/birdseye/", "/metrics"} {
		if strings.HasPrefix(p, api) {
			return false
		}
	}
	return true
}

// errorView is the content of the error page.
type errorView struct {
	Status     int
	StatusText string
	Message    string
}

// pageError answers an error on a page path with the error page; it never shows more than the
// classified message (no stack trace, no internal error text).
func (s *Server) pageError(c echo.Context, ae *apiError) error {
	msg := ae.msg
	switch {
	case ae.code == "not_found" && msg == "no such path":
		msg = "There is no page at this address."
	case ae.status == http.StatusMethodNotAllowed:
		msg = "The looking glass is read-only: only GET and HEAD are answered."
	case ae.status == http.StatusInternalServerError:
		msg = "Something went wrong on the route server; the error has been logged."
	}
	if ae.retryAfter > 0 {
		c.Response().Header().Set("Retry-After", fmt.Sprint(ae.retryAfter))
	}
	return s.render(c, ae.status, "error", &pageFrame{Title: http.StatusText(ae.status), Page: "error",
		C: errorView{Status: ae.status, StatusText: http.StatusText(ae.status), Message: msg}})
}

// --- sessions -------------------------------------------------------------------------------------

// sessionView is one session as the pages show it.
type sessionView struct {
	ID          string
	Member      string
	ASN         uint32
	Description string
	Neighbor    string
	State       string
	Up          bool
	Since       string // "up 2d 3h" / "down 5m 2s"
	SinceSecs   int64
	LastError   string
	Demo        bool
	Families    []familyView
	received    int
	accepted    int
	filtered    int
	exported    int
	maxUsed     float64
}

type familyView struct {
	Family    string // "ipv4", "ipv6"
	Label     string // "IPv4"
	Received  int
	Accepted  int
	Filtered  int
	Exported  int
	Preferred int
	MaxPrefix int
	Used      float64 // received as a percentage of MaxPrefix
	UsedClass string  // "ok", "warn" (≥ 80%), "alarm" (≥ 90%)
}

func familyLabel(f string) string {
	switch f {
	case "ipv4":
		return "IPv4"
	case "ipv6":
		return "IPv6"
	}
	return f
}

func usedClass(used float64) string {
	switch {
	case used >= 90:
		return "alarm"
	case used >= 80:
		return "warn"
	}
	return "ok"
}

func (s *Server) sessionView(ss *Session) sessionView {
	v := sessionView{ID: ProtocolID(ss.Neighbor), Member: ss.Member, ASN: ss.ASN, Description: ss.Description,
		Neighbor: addrString(ss.Neighbor), State: ss.State, Up: ss.State == "established", LastError: ss.LastError,
		Demo: strings.HasPrefix(ss.Description, DemoDescriptionPrefix)}
	if v.State == "" {
		v.State = "idle"
	}
	word := "down"
	if v.Up {
		word = "up"
	}
	if ss.Since.IsZero() {
		v.Since = word
	} else {
		d := s.now().Sub(ss.Since)
		v.SinceSecs = int64(d / time.Second)
		v.Since = word + " " + formatDuration(d)
	}
	for _, f := range ss.Families {
		fv := familyView{Family: f.Family, Label: familyLabel(f.Family), Received: f.Received, Accepted: f.Accepted,
			Filtered: f.Filtered, Exported: f.Exported, Preferred: f.Preferred, MaxPrefix: f.MaxPrefix}
		if f.MaxPrefix > 0 {
			fv.Used = float64(int(float64(f.Received)*1000/float64(f.MaxPrefix))) / 10
			fv.UsedClass = usedClass(fv.Used)
			v.maxUsed = max(v.maxUsed, fv.Used)
		}
		v.Families = append(v.Families, fv)
		v.received += f.Received
		v.accepted += f.Accepted
		v.filtered += f.Filtered
		v.exported += f.Exported
	}
	return v
}

// sessionColumn is a sortable column heading of the sessions table.
type sessionColumn struct {
	Key, Label string
	Num        bool
	URL        string
	AriaSort   string
}

var sessionColumns = []sessionColumn{
	{Key: "member", Label: "Member"}, {Key: "asn", Label: "AS"}, {Key: "neighbor", Label: "Address"},
	{Key: "state", Label: "State"}, {Key: "since", Label: "Up / down for"},
	{Key: "received", Label: "Received", Num: true}, {Key: "accepted", Label: "Accepted", Num: true},
	{Key: "filtered", Label: "Filtered", Num: true}, {Key: "exported", Label: "Exported", Num: true},
	{Key: "max-prefix", Label: "Max-prefix"},
}

func sessionLess(key string) func(a, b sessionView) int {
	return func(a, b sessionView) int {
		switch key {
		case "asn":
			return cmp.Compare(a.ASN, b.ASN)
		case "neighbor":
			return netip.MustParseAddr(a.Neighbor).Compare(netip.MustParseAddr(b.Neighbor))
		case "state":
			return cmp.Compare(a.State, b.State)
		case "since":
			return cmp.Compare(a.SinceSecs, b.SinceSecs)
		case "received":
			return cmp.Compare(a.received, b.received)
		case "accepted":
			return cmp.Compare(a.accepted, b.accepted)
		case "filtered":
			return cmp.Compare(a.filtered, b.filtered)
		case "exported":
			return cmp.Compare(a.exported, b.exported)
		case "max-prefix":
			return cmp.Compare(a.maxUsed, b.maxUsed)
		}
		return cmp.Compare(strings.ToLower(a.Member), strings.ToLower(b.Member))
	}
}

// parseSessionSort parses the sessions table's sort: a column key, "-" in front for descending.
func parseSessionSort(s string) (key string, desc bool, err error) {
	key, desc = strings.CutPrefix(s, "-")
	if key == "" && !desc {
		return "", false, nil
	}
	if slices.ContainsFunc(sessionColumns, func(c sessionColumn) bool { return c.Key == key }) {
		return key, desc, nil
	}
	keys := make([]string, len(sessionColumns))
	for i, c := range sessionColumns {
		keys[i] = c.Key
	}
	return "", false, paramErr("sort", s, "must be one of %s, with - in front for descending", strings.Join(keys, ", "))
}

// parseText checks a free-text filter: printable, at most 100 characters.
func parseText(param, s string) (string, error) {
	if len(s) > 100 {
		return "", paramErr(param, s, "longer than 100 characters")
	}
	if strings.ContainsFunc(s, func(r rune) bool { return !unicode.IsPrint(r) }) {
		return "", paramErr(param, s, "contains control characters")
	}
	return strings.TrimSpace(s), nil
}

type sessionsView struct {
	Rows                   []sessionView
	Q, State, Sort         string
	NAll, NUp, NDown       int
	AllURL, UpURL, DownURL string
	Columns                []sessionColumn
}

func sessionsURL(q, state, sort string) string {
	v := url.Values{}
	if q != "" {
		v.Set("q", q)
	}
	if state != "" {
		v.Set("state", state)
	}
	if sort != "" {
		v.Set("sort", sort)
	}
	if len(v) == 0 {
		return "/sessions"
	}
	return "/sessions?" + v.Encode()
}

func (s *Server) pageSessions(c echo.Context) error {
	if err := query(c, "q", "state", "sort"); err != nil {
		return err
	}
	q, err := parseText("q", c.QueryParam("q"))
	if err != nil {
		return err
	}
	state := c.QueryParam("state")
	if state != "" && state != "up" && state != "down" {
		return paramErr("state", state, "must be up or down")
	}
	sortKey, desc, err := parseSessionSort(c.QueryParam("sort"))
	if err != nil {
		return err
	}
	all, err := s.visibleSessions(c)
	if err != nil {
		return err
	}
	v := sessionsView{Q: q, State: state, Sort: c.QueryParam("sort")}
	lq := strings.ToLower(q)
	for i := range all {
		sv := s.sessionView(&all[i])
		if lq != "" && !strings.Contains(strings.ToLower(strings.Join([]string{sv.Member, fmt.Sprint("as", sv.ASN), sv.Neighbor,
			sv.State, sv.Description, s.set.Load().asnNames[sv.ASN]}, " ")), lq) {
			continue
		}
		v.NAll++
		if sv.Up {
			v.NUp++
		} else {
			v.NDown++
		}
		if (state == "up" && !sv.Up) || (state == "down" && sv.Up) {
			continue
		}
		v.Rows = append(v.Rows, sv)
	}
	if sortKey != "" {
		less := sessionLess(sortKey)
		slices.SortStableFunc(v.Rows, func(a, b sessionView) int {
			if desc {
				return less(b, a)
			}
			return less(a, b)
		})
	}
	v.AllURL, v.UpURL, v.DownURL = sessionsURL(q, "", v.Sort), sessionsURL(q, "up", v.Sort), sessionsURL(q, "down", v.Sort)
	for _, col := range sessionColumns {
		next := col.Key
		if col.Key == sortKey {
			col.AriaSort = "ascending"
			if desc {
				col.AriaSort = "descending"
			} else {
				next = "-" + col.Key
			}
		}
		col.URL = sessionsURL(q, state, next)
		v.Columns = append(v.Columns, col)
	}
	st, _ := s.status(c)
	return s.render(c, http.StatusOK, "sessions", &pageFrame{Title: "Sessions", Page: "sessions", Banners: s.banners(st, all), C: v})
}

// status asks the Backend for the status; nil when it cannot say (the page goes on without it).
func (s *Server) status(c echo.Context) (*Status, error) {
	ctx, cancel := queryCtx(c)
	defer cancel()
	st, err := s.backendStatus(ctx)
	if err != nil {
		return nil, err
	}
	return &st, nil
}

// maxBanners bounds the max-prefix banners; the rest are counted in one more line.
const maxBanners = 5

// banners are the loud lines about the route server as a whole: starting, RPKI data missing or
// expired, sessions at their max-prefix limit.
func (s *Server) banners(st *Status, sessions []Session) []banner {
	var out []banner
	if st != nil {
		if !st.Ready {
			out = append(out, banner{"warn", "The route server is starting: sessions and routes are still coming up."})
		}
		r := st.RPKI
		if len(r.Caches) > 0 || r.VRPsIPv4+r.VRPsIPv6 > 0 || !r.LastUpdate.IsZero() {
			switch age := s.now().Sub(r.LastUpdate); {
			case r.LastUpdate.IsZero():
				out = append(out, banner{"alarm", "No RPKI data yet: routes cannot be validated."})
			case age > rpkiExpiry:
				out = append(out, banner{"alarm", fmt.Sprintf("RPKI data expired: last updated %s ago (at %s).", formatDuration(age), formatTime(r.LastUpdate))})
			}
			if len(r.Caches) > 0 && !slices.ContainsFunc(r.Caches, func(c RPKICache) bool { return c.Up }) {
				out = append(out, banner{"warn", "No RPKI cache is reachable."})
			}
		}
	}
	atMax := 0
	for i := range sessions {
		for _, f := range sessions[i].Families {
			if f.MaxPrefix > 0 && f.Received >= f.MaxPrefix {
				atMax++
				if atMax <= maxBanners {
					out = append(out, banner{"alarm", fmt.Sprintf("%s (AS%d, %s) is at its %s max-prefix limit: %s of %s routes.",
						sessions[i].Member, sessions[i].ASN, addrString(sessions[i].Neighbor), familyLabel(f.Family),
						formatCount(f.Received), formatCount(f.MaxPrefix))})
				}
			}
		}
	}
	if atMax > maxBanners {
		out = append(out, banner{"alarm", fmt.Sprintf("… and %d more sessions at their max-prefix limit.", atMax-maxBanners)})
	}
	return out
}

// --- overview -------------------------------------------------------------------------------------

type overviewView struct {
	ASN                                    uint32
	RouterID, Version, Uptime, Started     string
	LastReconfig                           string
	Ready                                  bool
	Members, Up, Down                      int
	Received, Accepted, Filtered, Exported int
	Prefixes                               int
	RPKIOff                                bool
	RPKICache                              *RPKICache
	Caches                                 []RPKICache
	VRPs4, VRPs6, ASPAs                    int
	RPKIAge                                string
	RPKIFile                               bool // the data in force comes from a VRP file
	DownSessions                           []sessionView
}

func (s *Server) pageOverview(c echo.Context) error {
	if err := query(c); err != nil {
		return err
	}
	st, err := s.status(c)
	if err != nil {
		return err
	}
	all, err := s.visibleSessions(c)
	if err != nil && !errors.Is(err, ErrNotReady) {
		return err
	}
	now := s.now()
	v := overviewView{ASN: st.ASN, RouterID: addrString(st.RouterID), Version: st.Version, Ready: st.Ready,
		Started: formatTime(st.StartTime), LastReconfig: formatTime(st.LastReconfig),
		Caches: st.RPKI.Caches, VRPs4: st.RPKI.VRPsIPv4, VRPs6: st.RPKI.VRPsIPv6, ASPAs: st.RPKI.ASPAs}
	if !st.StartTime.IsZero() {
		v.Uptime = formatDuration(now.Sub(st.StartTime))
	}
	r := st.RPKI
	v.RPKIOff = len(r.Caches) == 0 && r.VRPsIPv4+r.VRPsIPv6 == 0 && r.LastUpdate.IsZero()
	v.RPKIFile = r.Source == "file"
	for i := range r.Caches {
		if r.Caches[i].Up {
			v.RPKICache = &r.Caches[i]
			break
		}
	}
	v.RPKIAge = "no data yet"
	if !r.LastUpdate.IsZero() {
		v.RPKIAge = formatDuration(now.Sub(r.LastUpdate)) + " (updated " + formatTime(r.LastUpdate) + ")"
	}
	members := map[string]bool{}
	for i := range all {
		sv := s.sessionView(&all[i])
		members[sv.Member] = true
		if sv.Up {
			v.Up++
		} else {
			v.Down++
			v.DownSessions = append(v.DownSessions, sv)
		}
		v.Received += sv.received
		v.Accepted += sv.accepted
		v.Filtered += sv.filtered
		v.Exported += sv.exported
		for _, f := range sv.Families {
			v.Prefixes += f.Preferred
		}
	}
	v.Members = len(members)
	if st.Prefixes > 0 {
		v.Prefixes = st.Prefixes // the RIB's own count, when the backend knows it
	}
	return s.render(c, http.StatusOK, "overview", &pageFrame{Title: "Overview", Page: "overview", Version: st.Version,
		Name: cmp.Or(st.Name, s.set.Load().name), Banners: s.banners(st, all), C: v})
}
