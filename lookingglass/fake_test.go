package lookingglass

import (
	"cmp"
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ixrs/ixrs/config"
)

// fakeBackend is an in-memory Backend over a fixed RIB, for unit and golden tests. It pages like
// a RIB walk: the cursor is the generation and the index to continue from, a changed generation
// makes it stale, and budget (when set) bounds the entries looked at per call, which yields
// partial pages.
type fakeBackend struct {
	status      Status
	sessions    []Session
	received    map[netip.Addr][]Route
	exported    map[netip.Addr][]Route
	notExported map[netip.Addr][]Route
	budget      int  // entries scanned per call; 0: unlimited
	ignoreHide  bool // behave like a careless adapter
	notReady    bool
}

var (
	fakeNow   = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	fakeStart = fakeNow.Add(-50 * time.Hour)
)

const fakeConfig = `
[server]
asn = 64500
router_id = "192.0.2.1"
[lookingglass]
name = "Example-IX RS1"
[lookingglass.rate_limit]
pages = 0
searches = 0
[defaults]
rpki = "off"
irr = "off"
[[member]]
name = "Alpha Networks"
asn = 64501
neighbors = ["192.0.2.11", "2001:db8:ffff::11"]
description = "Alpha, Frankfurt"
md5_password = "alpha-md5-secret"
[[member]]
name = "Beta Transit"
asn = 64502
neighbors = ["192.0.2.12"]
[[member]]
name = "Gamma"
asn = 64503
neighbors = ["192.0.2.13"]
[[member]]
name = "Secret Hidden"
asn = 64504
neighbors = ["192.0.2.14"]
md5_password = "hidden-md5-secret"
hidden = true
`

// leaks are strings that no response may contain: the hidden member and every password.
var leaks = []string{"Secret Hidden", "192.0.2.14", "R_192_0_2_14", "64504", "alpha-md5-secret", "hidden-md5-secret"}

func fakeCfg(t testing.TB) *config.Config {
	t.Helper()
	c, err := config.Parse("fake.toml", []byte(fakeConfig))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func addr(s string) netip.Addr      { return netip.MustParseAddr(s) }
func pfx(s string) netip.Prefix     { return netip.MustParsePrefix(s) }
func comm(a, b uint32) Community    { return Community(a<<16 | b) }
func ago(d time.Duration) time.Time { return fakeNow.Add(-d) }

func newFake() *fakeBackend {
	alpha4, alpha6, beta, gamma, hidden := addr("192.0.2.11"), addr("2001:db8:ffff::11"), addr("192.0.2.12"), addr("192.0.2.13"), addr("192.0.2.14")
	rt, _ := ParseExtCommunity("rt:64501:7")
	ro, _ := ParseExtCommunity("ro:192.0.2.11:9")
	route := func(p string, member string, asn uint32, n netip.Addr, path []uint32, nh string) Route {
		return Route{Prefix: pfx(p), Member: member, ASN: asn, Neighbor: n, ASPath: path, NextHop: addr(nh),
			Origin: "igp", LocalPref: 100, RPKI: "not-found", IRRPrefix: "not-checked", IRROrigin: "not-checked",
			Since: ago(3 * time.Hour), Communities: []Community{}, LargeCommunities: []LargeCommunity{}, ExtCommunities: []ExtCommunity{}}
	}
	a1 := route("198.51.100.0/24", "Alpha Networks", 64501, alpha4, []uint32{64501}, "192.0.2.11")
	a1.Communities = []Community{comm(64501, 100)}
	a1.LargeCommunities = []LargeCommunity{{64501, 1, 1}}
	a1.RPKI, a1.IRRPrefix, a1.IRROrigin, a1.Best, a1.MED, a1.HasMED = "valid", "in", "in", true, 10, true
	a2 := route("203.0.113.0/24", "Alpha Networks", 64501, alpha4, []uint32{64501, 64510}, "192.0.2.11")
	a2.Communities = []Community{comm(0, 64502)}
	a2.ExtCommunities = []ExtCommunity{rt, ro}
	a2.Best, a2.Origin = true, "incomplete"
	a4 := route("198.51.100.64/26", "Alpha Networks", 64501, alpha4, []uint32{64501}, "192.0.2.11")
	a4.Communities = []Community{comm(0, 64500)} // do not announce to any
	a4.Best = true
	a3 := route("2001:db8:100::/48", "Alpha Networks", 64501, alpha6, []uint32{64501}, "2001:db8:ffff::11")
	a3.Best, a3.Since = true, ago(26*time.Hour)

	b1 := route("198.51.100.0/24", "Beta Transit", 64502, beta, []uint32{64502, 64501}, "192.0.2.12")
	b2 := route("203.0.113.128/25", "Beta Transit", 64502, beta, []uint32{64502}, "192.0.2.12")
	b2.Best, b2.Since = true, ago(9*24*time.Hour)
	b3 := route("10.0.0.0/8", "Beta Transit", 64502, beta, []uint32{64502}, "192.0.2.12")
	b3.Reasons = []int{3}
	b4 := route("198.51.100.128/26", "Beta Transit", 64502, beta, []uint32{64502, 64520}, "192.0.2.12")
	b4.Reasons, b4.RPKI = []int{1, 13}, "invalid"
	b5 := route("2001:db8:200::/48", "Beta Transit", 64502, beta, []uint32{64502, 4200000001}, "2001:db8:ffff::12")
	b5.Reasons, b5.OTC = []int{16}, 64999
	b5.LargeCommunities = []LargeCommunity{{4200000001, 0, 64501}}

	h1 := route("198.51.100.0/24", "Secret Hidden", 64504, hidden, []uint32{64504}, "192.0.2.14")
	h2 := route("192.0.2.128/25", "Secret Hidden", 64504, hidden, []uint32{64504, 64599}, "192.0.2.14")
	h2.Best = true

	ne := func(r Route, code NotExportedReason) Route { r.NotExported = int(code); return r }
	// Beta is sent ADD-PATH for IPv4: its exported view lists its paths with their identifiers.
	withID := func(r Route, id uint32) Route { r.PathID = id; return r }
	fam := func(f string, rcv, acc, exp, pref, max int) FamilyCounts {
		return FamilyCounts{Family: f, Received: rcv, Accepted: acc, Filtered: rcv - acc, Exported: exp, Preferred: pref, MaxPrefix: max}
	}
	return &fakeBackend{
		status: Status{ASN: 64500, RouterID: addr("192.0.2.1"), Version: "0.1.0", Ready: true, StartTime: fakeStart,
			LastReconfig: fakeNow.Add(-2 * time.Hour), Generation: 42,
			RPKI: RPKIStatus{Caches: []RPKICache{{Address: "127.0.0.1:3323", Up: true, Serial: 7}}, VRPsIPv4: 500000, VRPsIPv6: 120000, ASPAs: 1200, LastUpdate: fakeNow.Add(-5 * time.Minute)}},
		sessions: []Session{
			{Member: "Alpha Networks", ASN: 64501, Description: "Alpha, Frankfurt", Neighbor: alpha4, State: "established",
				Since: ago(48 * time.Hour), RouterID: addr("198.51.100.1"), Capabilities: []string{"4-octet AS", "route refresh", "multiprotocol ipv4"},
				HoldTime: 90, Families: []FamilyCounts{fam("ipv4", 3, 3, 1, 3, 170000)}},
			{Member: "Alpha Networks", ASN: 64501, Description: "Alpha, Frankfurt", Neighbor: alpha6, State: "established",
				Since: ago(30 * time.Hour), RouterID: addr("198.51.100.1"), Capabilities: []string{"4-octet AS", "multiprotocol ipv6"},
				HoldTime: 90, Families: []FamilyCounts{fam("ipv6", 1, 1, 0, 1, 12000)}},
			{Member: "Beta Transit", ASN: 64502, Neighbor: beta, State: "established", Since: ago(200 * time.Hour),
				RouterID: addr("203.0.113.1"), Capabilities: []string{"4-octet AS", "ADD-PATH ipv4 receive", "ADD-PATH ipv4: all paths sent"}, HoldTime: 180,
				Families: []FamilyCounts{fam("ipv4", 4, 2, 1, 1, 100), fam("ipv6", 1, 0, 0, 0, 100)}},
			{Member: "Gamma", ASN: 64503, Neighbor: gamma, State: "idle", Since: ago(90 * time.Minute),
				LastError: "received NOTIFICATION 6/2 (administrative shutdown): maintenance until 14:00", Flaps: 3,
				LastNotificationSent:     "Hold Timer Expired",
				LastNotificationReceived: `Cease/Administrative Shutdown: "maintenance until 14:00"`},
			{Member: "Secret Hidden", ASN: 64504, Neighbor: hidden, State: "established", Since: ago(time.Hour),
				Families: []FamilyCounts{fam("ipv4", 2, 2, 2, 1, 0)}},
		},
		received: map[netip.Addr][]Route{alpha4: {a1, a2, a4}, alpha6: {a3}, beta: {b1, b2, b3, b4, b5}, hidden: {h1, h2}},
		exported: map[netip.Addr][]Route{
			alpha4: {b2, h2},
			beta:   {withID(a1, 1), withID(h2, 5)},
			hidden: {a1, a2, b2},
		},
		notExported: map[netip.Addr][]Route{
			alpha4: {ne(b1, NotExportedReceiverAS)},
			alpha6: {ne(b2, NotExportedFamily)},
			beta:   {ne(a2, NotExportedDenied), ne(a4, NotExportedDeniedAll), ne(a3, NotExportedFamily)},
		},
	}
}

func (f *fakeBackend) Status(ctx context.Context) (Status, error) {
	st := f.status
	st.Ready = !f.notReady
	return st, nil
}

func (f *fakeBackend) Sessions(ctx context.Context) ([]Session, error) {
	if f.notReady {
		return nil, ErrNotReady
	}
	return f.sessions, nil
}

// page returns one page of list, as a RIB walk would.
func (f *fakeBackend) page(list []Route, hide []netip.Addr, p Page) (RoutePage, error) {
	if f.notReady {
		return RoutePage{}, ErrNotReady
	}
	if !f.ignoreHide {
		list = slices.DeleteFunc(slices.Clone(list), func(r Route) bool { return slices.Contains(hide, r.Neighbor) })
	}
	i := 0
	if p.Cursor != "" {
		g, idx, ok := strings.Cut(p.Cursor, ".")
		gen, err1 := strconv.ParseUint(strings.TrimPrefix(g, "g"), 10, 64)
		n, err2 := strconv.Atoi(idx)
		if !ok || err1 != nil || err2 != nil || n < 0 || n > len(list) {
			return RoutePage{}, fmt.Errorf("cursor %q: %w", p.Cursor, ErrStaleCursor)
		}
		if gen != f.status.Generation {
			return RoutePage{}, ErrStaleCursor
		}
		i = n
	}
	out := RoutePage{Generation: f.status.Generation, Total: len(list)}
	scanned := 0
	for ; i < len(list) && len(out.Routes) < p.Limit; i++ {
		if f.budget > 0 && scanned >= f.budget {
			out.Partial = true
			break
		}
		scanned++
		out.Routes = append(out.Routes, list[i])
	}
	if i < len(list) {
		out.Next = fmt.Sprintf("g%d.%d", f.status.Generation, i)
	}
	return out, nil
}

func (f *fakeBackend) Routes(ctx context.Context, q RoutesQuery) (RoutePage, error) {
	if !slices.ContainsFunc(f.sessions, func(s Session) bool { return s.Neighbor == q.Neighbor }) {
		return RoutePage{}, ErrUnknownNeighbor
	}
	var list []Route
	switch q.View {
	case ViewReceived:
		list = f.received[q.Neighbor]
	case ViewAccepted:
		list = slices.DeleteFunc(slices.Clone(f.received[q.Neighbor]), func(r Route) bool { return !r.Accepted() })
	case ViewFiltered:
		list = slices.DeleteFunc(slices.Clone(f.received[q.Neighbor]), func(r Route) bool { return r.Accepted() })
	case ViewExported:
		list = f.exported[q.Neighbor]
	case ViewNotExported:
		list = f.notExported[q.Neighbor]
	}
	list = slices.DeleteFunc(slices.Clone(list), func(r Route) bool { return !familyOK(q.Family, r.Prefix) })
	return f.page(list, q.Hide, q.Page)
}

// all is every received route in prefix order, then by neighbor.
func (f *fakeBackend) all() []Route {
	var out []Route
	for _, rs := range f.received {
		out = append(out, rs...)
	}
	slices.SortFunc(out, func(a, b Route) int {
		return cmp.Or(a.Prefix.Addr().Compare(b.Prefix.Addr()), cmp.Compare(a.Prefix.Bits(), b.Prefix.Bits()), a.Neighbor.Compare(b.Neighbor))
	})
	return out
}

func (f *fakeBackend) Lookup(ctx context.Context, q LookupQuery) (RoutePage, error) {
	all := f.all()
	var list []Route
	switch q.Match {
	case MatchExact:
		list = slices.DeleteFunc(all, func(r Route) bool { return r.Prefix != q.Prefix })
	case MatchMoreSpecific:
		list = slices.DeleteFunc(all, func(r Route) bool { return !(r.Prefix.Bits() >= q.Prefix.Bits() && q.Prefix.Contains(r.Prefix.Addr())) })
	case MatchLongest:
		best := -1
		for _, r := range all {
			if r.Prefix.Contains(q.Prefix.Addr()) && r.Prefix.Bits() <= q.Prefix.Bits() && r.Prefix.Bits() > best &&
				(f.ignoreHide || !slices.Contains(q.Hide, r.Neighbor)) {
				best = r.Prefix.Bits()
			}
		}
		list = slices.DeleteFunc(all, func(r Route) bool { return r.Prefix.Bits() != best || !r.Prefix.Contains(q.Prefix.Addr()) })
	}
	return f.page(list, q.Hide, q.Page)
}

func (f *fakeBackend) Search(ctx context.Context, q SearchQuery) (RoutePage, error) {
	list := slices.DeleteFunc(f.all(), func(r Route) bool { return !q.Matches(&r) })
	return f.page(list, q.Hide, q.Page)
}

func (f *fakeBackend) Explain(ctx context.Context, n netip.Addr, p netip.Prefix) (RouteDetail, error) {
	if f.notReady {
		return RouteDetail{}, ErrNotReady
	}
	if !slices.ContainsFunc(f.sessions, func(s Session) bool { return s.Neighbor == n }) {
		return RouteDetail{}, ErrUnknownNeighbor
	}
	i := slices.IndexFunc(f.received[n], func(r Route) bool { return r.Prefix == p })
	if i < 0 {
		return RouteDetail{}, ErrNoRoute
	}
	r := f.received[n][i]
	d := RouteDetail{Route: r}
	steps := []struct {
		step   int
		name   string
		reason int
	}{{2, "next hop", 8}, {3, "AS path length", 5}, {7, "bogon prefix", 3}, {8, "prefix length", 1},
		{10, "RPKI", 13}, {11, "IRR prefix", 9}, {14, "OTC (RFC 9234)", 16}}
	for _, s := range steps {
		c := Check{Step: s.step, Name: s.name, Outcome: "pass", Detail: "detail of " + s.name}
		if slices.Contains(r.Reasons, s.reason) {
			c.Outcome, c.Reason = "fail", s.reason
		}
		d.Checks = append(d.Checks, c)
	}
	for _, s := range f.sessions {
		if s.State != "established" || s.Member == r.Member {
			continue
		}
		e := ExportDecision{Member: s.Member, ASN: s.ASN, Neighbor: s.Neighbor}
		if slices.ContainsFunc(f.exported[s.Neighbor], func(x Route) bool { return x.Prefix == p && x.Neighbor == n }) {
			e.Exported, e.Explain = true, "the best route is sent"
		} else if j := slices.IndexFunc(f.notExported[s.Neighbor], func(x Route) bool { return x.Prefix == p && x.Neighbor == n }); j >= 0 {
			e.Reason = f.notExported[s.Neighbor][j].NotExported
			e.Explain = "not sent: " + NotExportedReason(e.Reason).String()
		} else {
			e.Explain = "a better route is sent"
		}
		d.Exports = append(d.Exports, e)
	}
	return d, nil
}
