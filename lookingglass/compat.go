package lookingglass

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/ixrs/ixrs/policy"
	"github.com/labstack/echo/v4"
)

// What the birdwatcher, bgplgd and Bird's Eye shapes share: whole-list walks streamed page by
// page, and routes whose verdicts travel as large communities (docs/lookingglass.md).

// Bounds of one compatibility walk. Their clients cannot page, so a list is read from the Backend
// page by page and streamed; these stop a walk that would never end.
const (
	maxCompatRoutes = 2_000_000
	maxWalkPages    = 20_000
	walkTimeout     = 2 * time.Minute
)

// Time layouts of the birdwatcher shape (Alice-LG's servertime settings).
const (
	bwTime      = time.RFC3339Nano      // servertime
	bwTimeShort = "2006-01-02 15:04:05" // servertime_short and servertime_ext
)

// walk reads a whole list: fetch is called with "" and then each Next until the list ends. The
// first page is fetched before anything is written, so that its error becomes the response's
// status; after that, an error ends the list early (logged), since the status is already sent.
// Each visible route for which keep is true is written with enc between head and tail.
func (s *Server) walk(c echo.Context, head, tail []byte, fetch fetcher, keep func(*Route) bool,
	enc func([]byte, *Route) []byte, limit int) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), walkTimeout)
	defer cancel()
	// Every page is built in the same storage (Page.Buf): a page is written before the next is
	// fetched. At a million routes the walk allocated a gigabyte, mostly pages and conversions.
	pb := make([]Route, 0, MaxPageSize)
	page, err := fetch(ctx, "", pb)
	if err != nil {
		return err
	}
	w := c.Response()
	w.Header().Set(echo.HeaderContentType, echo.MIMEApplicationJSON)
	w.WriteHeader(http.StatusOK)
	buf := append(make([]byte, 0, 80<<10), head...)
	set := s.set.Load()
	n := 0
	for pages := 0; ; pages++ {
		for i := range page.Routes {
			r := &page.Routes[i]
			if n >= limit || !set.visible(r.Member, r.Neighbor) || (keep != nil && !keep(r)) {
				continue
			}
			if n > 0 {
				buf = append(buf, ',')
			}
			buf = enc(buf, r)
			n++
		}
		if len(buf) > 64<<10 {
			if _, err := w.Write(buf); err != nil {
				return nil // the client went away
			}
			buf = buf[:0]
		}
		if page.Next == "" || n >= limit || pages >= maxWalkPages {
			break
		}
		if page, err = fetch(ctx, page.Next, pb); err != nil {
			s.log.Warn("looking glass: list cut short", "path", c.Request().URL.Path, "routes", n, "err", err)
			break
		}
	}
	buf = append(buf, tail...)
	_, _ = w.Write(buf)
	return nil
}

// fetcher reads a page of a list from the Backend, building it in buf (Page.Buf).
type fetcher func(ctx context.Context, cursor string, buf []Route) (RoutePage, error)

// marshalled is an encoder for walk of what conv returns, through encoding/json (whose encoding of
// these plain structs cannot fail).
func marshalled(conv func(*Route) any) func([]byte, *Route) []byte {
	return func(b []byte, r *Route) []byte {
		j, _ := json.Marshal(conv(r))
		return append(b, j...)
	}
}

// routesFetcher reads a session's view page by page.
func (s *Server) routesFetcher(a netip.Addr, v View, family string) fetcher {
	hide := s.set.Load().hide
	return func(ctx context.Context, cursor string, buf []Route) (RoutePage, error) {
		qctx, cancel := context.WithTimeout(ctx, queryTimeout)
		defer cancel()
		return s.backend.Routes(qctx, RoutesQuery{Neighbor: a, View: v, Family: family, Hide: hide,
			Page: Page{Cursor: cursor, Limit: MaxPageSize, Buf: buf}})
	}
}

// lookupFetcher reads the routes for a prefix (or, with 0.0.0.0/0 and more-specific, a whole table).
func (s *Server) lookupFetcher(p netip.Prefix, m Match) fetcher {
	hide := s.set.Load().hide
	return func(ctx context.Context, cursor string, buf []Route) (RoutePage, error) {
		qctx, cancel := context.WithTimeout(ctx, queryTimeout)
		defer cancel()
		return s.backend.Lookup(qctx, LookupQuery{Prefix: p, Match: m, Hide: hide, Page: Page{Cursor: cursor, Limit: MaxPageSize, Buf: buf}})
	}
}

// tables maps the birdwatcher table names to the prefixes whose more-specifics they hold.
var tables = map[string][]netip.Prefix{
	"master4": {netip.MustParsePrefix("0.0.0.0/0")},
	"master6": {netip.MustParsePrefix("::/0")},
	"master":  {netip.MustParsePrefix("0.0.0.0/0"), netip.MustParsePrefix("::/0")},
}

// tableFetcher walks every prefix of a table, one root after the other.
func (s *Server) tableFetcher(roots []netip.Prefix) fetcher {
	// The cursor is the root's index, a dot, and the Backend's cursor within it.
	return func(ctx context.Context, cursor string, buf []Route) (RoutePage, error) {
		i := 0
		if cursor != "" {
			idx, rest, _ := strings.Cut(cursor, ".")
			i, _ = strconv.Atoi(idx)
			cursor = rest
		}
		p, err := s.lookupFetcher(roots[i], MatchMoreSpecific)(ctx, cursor, buf)
		if err != nil {
			return p, err
		}
		switch {
		case p.Next != "":
			p.Next = strconv.Itoa(i) + "." + p.Next
		case i+1 < len(roots):
			p.Next = strconv.Itoa(i+1) + "."
		}
		return p, nil
	}
}

// largeCommunities are a route's large communities with its verdicts appended, as the
// compatibility shapes carry them: RS:1101:N per filter reason, RS:1000:N for the RPKI state and
// RS:1102:N for a not-exported reason.
func (s *Server) largeCommunities(r *Route) []LargeCommunity {
	return s.verdictCommunities(append([]LargeCommunity(nil), r.LargeCommunities...), r)
}

// verdictCommunities appends to dst the large communities that carry the route's verdicts: filter
// reasons, RPKI state, why it is not exported.
func (s *Server) verdictCommunities(dst []LargeCommunity, r *Route) []LargeCommunity {
	rs := s.set.Load().rsASN
	for _, c := range r.Reasons {
		dst = append(dst, LargeCommunity{rs, policy.EuroIXFunction, uint32(c)})
	}
	if n, ok := rpkiCodes[r.RPKI]; ok {
		dst = append(dst, LargeCommunity{rs, policy.InfoRPKIFunction, uint32(n)})
	}
	if r.NotExported != 0 {
		dst = append(dst, LargeCommunity{rs, NotExportedFunction, uint32(r.NotExported)})
	}
	return dst
}

// bgpState names an FSM state as BIRD and OpenBGPD print it.
func bgpState(state string) string {
	switch state {
	case "idle":
		return "Idle"
	case "connect":
		return "Connect"
	case "active":
		return "Active"
	case "opensent":
		return "OpenSent"
	case "openconfirm":
		return "OpenConfirm"
	case "established":
		return "Established"
	}
	return "Down"
}

// birdOrigin names ORIGIN as BIRD and OpenBGPD print it.
func birdOrigin(o string) string {
	switch o {
	case "igp":
		return "IGP"
	case "egp":
		return "EGP"
	}
	return "Incomplete"
}

func totals(ss *Session) (imported, filtered, exported, preferred, limit int) {
	for _, f := range ss.Families {
		imported += f.Accepted
		filtered += f.Filtered
		exported += f.Exported
		preferred += f.Preferred
		limit += f.MaxPrefix
	}
	return
}

// version is what the compatibility shapes report as their API version. It is remembered from
// the last status the Backend gave, so that a birdwatcher route list does not cost a second query.
func (s *Server) version(ctx context.Context) string {
	if v, ok := s.versionSeen.Load().(string); ok {
		return v
	}
	st, err := s.backend.Status(ctx)
	if err != nil {
		return "ixrs"
	}
	return s.rememberVersion(&st)
}

// backendStatus asks the backend for the route server's status and remembers its version for the
// compatibility envelopes.
func (s *Server) backendStatus(ctx context.Context) (Status, error) {
	st, err := s.backend.Status(ctx)
	if err == nil {
		s.rememberVersion(&st)
	}
	return st, err
}

// compatStatus is status for birdwatcher's and Bird's Eye's /status: with the message they show
// and the last reconfiguration (the start when the configuration was never reloaded).
func (s *Server) compatStatus(ctx context.Context) (st Status, msg string, reconf time.Time, err error) {
	if st, err = s.backendStatus(ctx); err != nil {
		return st, "", time.Time{}, err
	}
	msg = "ixrs is up and running"
	if !st.Ready {
		msg = "ixrs is starting"
	}
	reconf = st.LastReconfig
	if reconf.IsZero() {
		reconf = st.StartTime
	}
	return st, msg, reconf, nil
}

func (s *Server) rememberVersion(st *Status) string {
	v := "ixrs"
	if st.Version != "" {
		v = "ixrs " + st.Version
	}
	s.versionSeen.Store(v)
	return v
}

// noQuery refuses every parameter but the cache switches the clients send (use_cache, Bird's Eye).
func noQuery(c echo.Context) error { return query(c, "use_cache") }

// formatUpdown is bgpctl's time frame: hh:mm:ss under a day, 1d02h03m under a week, 01w2d03h after.
func formatUpdown(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	t := int64(d / time.Second)
	const day, week = 86400, 7 * 86400
	switch {
	case t < day:
		return fmt.Sprintf("%02d:%02d:%02d", t/3600, t%3600/60, t%60)
	case t < week:
		return fmt.Sprintf("%dd%02dh%02dm", t/day, t%day/3600, t%3600/60)
	}
	return fmt.Sprintf("%02dw%01dd%02dh", t/week, t%week/day, t%day/3600)
}
