package rs

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/ixrs/ixrs/policy"
	"github.com/ixrs/ixrs/speaker"
)

// readSync submits read job t through the mailbox, as the public methods do, and runs loop
// passes until it is over: the test's stand-in for a caller waiting while Run turns.
func (s *Server) readSync(t readTask, j *readJob) error {
	j.ctx, j.done = context.Background(), make(chan struct{})
	s.mail.postRead(t)
	for i := 0; i < 1_000_000; i++ {
		s.pass()
		select {
		case <-j.done:
			return j.err
		default:
		}
	}
	panic("read job never ends")
}

// The synchronous forms of the query methods, for tests that drive the loop themselves.

func (s *Server) routes(q RoutesQuery) (RoutesPage, error) {
	j := newRoutesJob(q)
	err := s.readSync(j, &j.readJob)
	return j.page, err
}

func (s *Server) lookup(q LookupQuery) (LookupPage, error) {
	j, err := newLookupJob(q)
	if err != nil {
		return LookupPage{}, err
	}
	err = s.readSync(j, &j.readJob)
	return j.page, err
}

// viaText returns c after a round trip through its text form, as HTTP clients carry it.
func viaText(t testing.TB, c Cursor) Cursor {
	t.Helper()
	b, err := c.MarshalText()
	if err != nil {
		t.Fatal(err)
	}
	var out Cursor
	if err := out.UnmarshalText(b); err != nil {
		t.Fatal(err)
	}
	return out
}

func (s *Server) search(q SearchQuery) (RoutesPage, error) {
	j, err := newSearchJob(q)
	if err != nil {
		return RoutesPage{}, err
	}
	err = s.readSync(j, &j.readJob)
	return j.page, err
}

func (s *Server) explainRoute(neighbor netip.Addr, pfx netip.Prefix) (RouteExplain, error) {
	j := &explainJob{neighbor: neighbor, pfx: pfx.Masked()}
	if err := s.readSync(j, &j.readJob); err != nil {
		return RouteExplain{}, err
	}
	if e, ok := j.imp.(Explainer); ok {
		j.ex.Checks = e.Explain(&j.sess, j.data, j.ex.Route.Prefix, &j.path)
	}
	return j.ex, nil
}

func (s *Server) prefixSync(pfx netip.Prefix) (PrefixInfo, bool) {
	j := &prefixJob{pfx: pfx}
	if err := s.readSync(j, &j.readJob); err != nil {
		panic(err)
	}
	return j.info, j.ok
}

// allRoutes pages through q with the Cursor form and returns every route, as prefix → member, and
// the number of partial pages (short of the limit, yet with more to come).
func allRoutes(t *testing.T, s *Server, q RoutesQuery) (map[netip.Prefix][]string, int) {
	t.Helper()
	got := map[netip.Prefix][]string{}
	pages, partial := 0, 0
	for {
		page, err := s.routes(q)
		if err != nil {
			t.Fatal(err)
		}
		if q.Limit > 0 && len(page.Routes) > q.Limit {
			t.Fatalf("page of %d routes over the limit %d", len(page.Routes), q.Limit)
		}
		for _, r := range page.Routes {
			got[r.Prefix] = append(got[r.Prefix], r.Member)
		}
		if pages++; pages > 10000 {
			t.Fatal("pages never end")
		}
		if !page.More {
			if page.Next != -1 || !page.Cursor.IsZero() {
				t.Fatalf("last page with a cursor: %+v", page.Cursor)
			}
			return got, partial
		}
		if len(page.Routes) < pageLimit(q.Limit) {
			partial++
		}
		q.After = viaText(t, page.Cursor) // as a client hands it back
	}
}

func count(m map[netip.Prefix][]string) int {
	n := 0
	for _, v := range m {
		n += len(v)
	}
	return n
}

func TestRoutesPages(t *testing.T) {
	s := newTestServer(t, nil)
	a := addMember(t, s, "A", 64501, "192.0.2.11")
	b := addMember(t, s, "B", 64502, "192.0.2.12")
	ps := seqPrefixes(0, 250, false)
	if err := a.ss.Receive(&speaker.Update{Attrs: a.attrs(), NLRI: ps}); err != nil {
		t.Fatal(err)
	}
	bad := a.attrs()
	bad.NextHop = netip.MustParseAddr("192.0.2.99")
	a.announce(bad, "203.0.113.0/24")
	readAll(t, s, a, b)

	legacy := func(q RoutesQuery) int {
		n, pages := 0, 0
		for q.Cursor >= 0 {
			page, err := s.routes(q)
			if err != nil {
				t.Fatal(err)
			}
			n += len(page.Routes)
			q.Cursor = page.Next
			q.Buf = page.Routes // reused by the next page, as the looking glass's pages do
			if pages++; pages > 100 {
				t.Fatal("pages never end")
			}
		}
		return n
	}
	for _, tt := range []struct {
		q    RoutesQuery
		want int
	}{
		{RoutesQuery{Neighbor: a.addr, View: ViewReceived, Limit: 7}, 251},
		{RoutesQuery{Neighbor: a.addr, View: ViewAccepted, Limit: 100}, 250},
		{RoutesQuery{Neighbor: a.addr, View: ViewFiltered}, 1},
		{RoutesQuery{Neighbor: a.addr, View: ViewReceived, Family: speaker.IPv6Unicast}, 0},
		{RoutesQuery{Neighbor: b.addr, View: ViewExported, Limit: 33}, 250},
		{RoutesQuery{Neighbor: a.addr, View: ViewExported}, 0},
		{RoutesQuery{Neighbor: b.addr, View: ViewReceived}, 0},
		{RoutesQuery{Neighbor: b.addr, View: ViewNotExported}, 0},
		{RoutesQuery{Neighbor: a.addr, View: ViewNotExported}, 0}, // B announces nothing
	} {
		if got := legacy(tt.q); got != tt.want {
			t.Errorf("%v of %v (integer cursor): %d routes, want %d", tt.q.View, tt.q.Neighbor, got, tt.want)
		}
		if got, _ := allRoutes(t, s, tt.q); count(got) != tt.want {
			t.Errorf("%v of %v: %d routes, want %d", tt.q.View, tt.q.Neighbor, count(got), tt.want)
		}
	}
	if _, err := s.routes(RoutesQuery{Neighbor: netip.MustParseAddr("192.0.2.200")}); !errors.Is(err, ErrUnknownPeer) {
		t.Errorf("unknown neighbor: %v", err)
	}
	page, _ := s.routes(RoutesQuery{Neighbor: b.addr, View: ViewExported, Limit: 1})
	if r := page.Routes[0]; r.Member != "A" || r.ASN != 64501 || r.Attrs == nil || page.Incarnation == 0 || page.Gen == 0 {
		t.Errorf("exported route %+v, page %+v", r, page)
	}
	page, _ = s.routes(RoutesQuery{Neighbor: a.addr, View: ViewFiltered})
	if r := page.Routes[0]; r.Prefix != netip.MustParsePrefix("203.0.113.0/24") || !r.Reasons.Has(policy.NextHopNotPeerIP) {
		t.Errorf("filtered route %+v", r)
	}
}

// TestPartialPages: with a tiny per-page work bound and per-pass budget, pages come back partial
// (fewer routes than asked, with a cursor), and their union is exactly the full answer.
func TestPartialPages(t *testing.T) {
	full := newTestServer(t, nil)
	tiny := newTestServer(t, func(c *Config) { c.ReadLimit, c.ReadBudget = 5, 3 })
	for _, s := range []*Server{full, tiny} {
		a := addMember(t, s, "A", 64501, "192.0.2.11")
		b := addMember(t, s, "B", 64502, "192.0.2.12")
		c := addMember(t, s, "C", 64503, "192.0.2.13")
		a.announce(a.attrs(), "11.0.0.0/24", "11.0.1.0/24", "11.0.2.0/24", "11.0.3.0/25", "10.0.0.0/8")
		b.announce(b.attrs(65001), "11.0.0.0/24", "11.0.1.0/24", "11.0.4.0/24")
		cc := c.attrs()
		cc.Communities = []uint32{std(0, 64501)}
		c.announce(cc, "11.0.0.0/24", "11.0.5.0/24")
		// Holes in the slabs: partial pages must step over them.
		a.withdraw("11.0.1.0/24")
		b.announce(b.attrs(), "2001:db8:1::/48")
		readAll(t, s, a, b, c)
	}
	partials := 0
	for _, q := range []RoutesQuery{
		{Neighbor: netip.MustParseAddr("192.0.2.11"), View: ViewReceived, Limit: 2},
		{Neighbor: netip.MustParseAddr("192.0.2.11"), View: ViewFiltered, Limit: 2},
		{Neighbor: netip.MustParseAddr("192.0.2.11"), View: ViewExported, Limit: 2},
		{Neighbor: netip.MustParseAddr("192.0.2.11"), View: ViewNotExported, Limit: 1},
		{Neighbor: netip.MustParseAddr("192.0.2.12"), View: ViewNotExported, Limit: 1},
		{Neighbor: netip.MustParseAddr("192.0.2.13"), View: ViewExported, Limit: 100},
	} {
		want, fullPartial := allRoutes(t, full, q)
		got, partial := allRoutes(t, tiny, q)
		partials += partial
		if fullPartial != 0 {
			t.Errorf("%v of %v: %d partial pages without a work bound", q.View, q.Neighbor, fullPartial)
		}
		for _, m := range got {
			slices.Sort(m)
		}
		for _, m := range want {
			slices.Sort(m)
		}
		if !mapsEqual(got, want) {
			t.Errorf("%v of %v: partial pages give %v, want %v", q.View, q.Neighbor, got, want)
		}
	}
	if partials == 0 {
		t.Errorf("no partial page with a work bound of 5 entries")
	}
}

func mapsEqual(a, b map[netip.Prefix][]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if !slices.Equal(v, b[k]) {
			return false
		}
	}
	return true
}

func TestNotExported(t *testing.T) {
	s := newTestServer(t, nil)
	a := addMember(t, s, "A", 64501, "192.0.2.11")
	b := addMember(t, s, "B", 64502, "192.0.2.12")
	c := addMember(t, s, "C", 64503, "192.0.2.13")
	d := addMember(t, s, "D", 64504, "192.0.2.14", func(i *SessionInfo) { i.Families = []speaker.Family{speaker.IPv6Unicast} })
	e := addMember(t, s, "E", 64505, "192.0.2.15")
	const p = "11.0.0.0/24"
	aa := a.attrs()
	aa.Communities = []uint32{std(0, 64503)} // not to C
	a.announce(aa, p)
	b.announce(b.attrs(65001), p)             // second best
	a.announce(a.attrs(64503), "11.1.0.0/24") // C's AS in the path
	an := a.attrs()
	an.Communities = []uint32{std(0, rsASN), std(rsASN, 64505)} // to nobody but E
	a.announce(an, "11.2.0.0/24")
	readAll(t, s, a, b, c, d, e)

	type nx struct {
		pfx, from string
		c         ExportCheck
	}
	view := func(m *tmember) []nx {
		var out []nx
		q := RoutesQuery{Neighbor: m.addr, View: ViewNotExported, Limit: 1}
		for i := 0; i < 100; i++ {
			page, err := s.routes(q)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range page.Routes {
				out = append(out, nx{r.Prefix.String(), r.Member, r.Export})
			}
			if !page.More {
				break
			}
			q.After = viaText(t, page.Cursor) // as a client hands it back
		}
		slices.SortFunc(out, func(x, y nx) int { return strings.Compare(x.pfx+x.from, y.pfx+y.from) })
		return out
	}
	for _, tt := range []struct {
		m    *tmember
		want []nx
	}{
		{a, nil}, // it gets B's route; its own are not listed
		{b, []nx{{"11.2.0.0/24", "A", ExportDeniedAll}}},
		{e, []nx{{p, "B", ExportNotBest}}},
		{c, []nx{{p, "A", ExportDenied}, {"11.1.0.0/24", "A", ExportReceiverAS}, {"11.2.0.0/24", "A", ExportDeniedAll}}},
		{d, []nx{{p, "A", ExportFamily}, {p, "B", ExportFamily}, {"11.1.0.0/24", "A", ExportFamily}, {"11.2.0.0/24", "A", ExportFamily}}},
	} {
		if got := view(tt.m); !slices.Equal(got, tt.want) {
			t.Errorf("%s: not exported %v, want %v", tt.m.name, got, tt.want)
		}
	}
	if c.from(p) != 64502 {
		t.Errorf("C holds %v from AS%d, want B's", p, c.from(p))
	}
}

func TestPrefixExplain(t *testing.T) {
	s := newTestServer(t, nil)
	a := addMember(t, s, "A", 64501, "192.0.2.11")
	b := addMember(t, s, "B", 64502, "192.0.2.12")
	c := addMember(t, s, "C", 64503, "192.0.2.13")
	const p = "203.0.113.0/24"
	aa := a.attrs()
	aa.Communities = []uint32{std(0, 64503)}
	a.announce(aa, p)
	b.announce(b.attrs(65002), p)
	readAll(t, s, a, b, c)

	info, ok := s.prefixSync(netip.MustParsePrefix(p))
	if !ok || len(info.Routes) != 2 || info.Routes[0].ASN != 64501 || len(info.Steps) != 1 || info.Steps[0] != StepASPathLen {
		t.Fatalf("routes %+v steps %v", info.Routes, info.Steps)
	}
	got := map[string]int{}
	for i, e := range info.Exports {
		got[e.Member] = i
	}
	want := map[string]struct {
		route  int
		checks []ExportCheck
	}{
		"A": {1, []ExportCheck{ExportOwnRoute, ExportOK}},
		"B": {0, []ExportCheck{ExportOK, ExportOwnRoute}},
		"C": {1, []ExportCheck{ExportDenied, ExportOK}},
	}
	for name, w := range want {
		e := info.Exports[got[name]]
		if e.Route != w.route || !slices.Equal(e.Checks, w.checks) || !e.InSync {
			t.Errorf("%s: %+v", name, e)
		}
	}
	if ex := info.Explain(got["C"]); !strings.Contains(ex, "tagged do-not-announce-to 64503") || !strings.Contains(ex, "AS64502") {
		t.Errorf("C's explanation: %q", ex)
	}
	if _, ok := s.prefixSync(netip.MustParsePrefix("198.51.100.0/24")); ok {
		t.Errorf("a prefix nobody announced was found")
	}
}

// TestCursorStale: a cursor crosses a flap of the session it pages through.
func TestCursorStale(t *testing.T) {
	s := newTestServer(t, nil)
	a := addMember(t, s, "A", 64501, "192.0.2.11")
	b := addMember(t, s, "B", 64502, "192.0.2.12")
	if err := a.ss.Receive(&speaker.Update{Attrs: a.attrs(), NLRI: seqPrefixes(0, 20, false)}); err != nil {
		t.Fatal(err)
	}
	readAll(t, s, a, b)
	for _, v := range []View{ViewReceived, ViewExported, ViewNotExported} {
		m := a
		if v == ViewExported {
			m = b
		}
		page, err := s.routes(RoutesQuery{Neighbor: m.addr, View: v, Limit: 5})
		if err != nil || (v != ViewNotExported && !page.More) {
			t.Fatalf("%v: first page %+v, %v", v, page, err)
		}
		cur := page.Cursor
		if page.Cursor.IsZero() {
			cur = Cursor{set: true, inc: page.Incarnation} // not-exported of A has nothing: make one
		}
		m.ss.DownWithReason("hold timer expired")
		settle(t, s)
		if _, err := s.routes(RoutesQuery{Neighbor: m.addr, View: v, After: cur}); !errors.Is(err, ErrCursorStale) {
			t.Errorf("%v: cursor while down: %v, want ErrCursorStale", v, err)
		}
		m.up()
		readAll(t, s, a, b)
		if m == a {
			if err := a.ss.Receive(&speaker.Update{Attrs: a.attrs(), NLRI: seqPrefixes(0, 20, false)}); err != nil {
				t.Fatal(err)
			}
			readAll(t, s, a, b)
		}
		if _, err := s.routes(RoutesQuery{Neighbor: m.addr, View: v, After: cur}); !errors.Is(err, ErrCursorStale) {
			t.Errorf("%v: cursor across a flap: %v, want ErrCursorStale", v, err)
		}
		if _, err := s.routes(RoutesQuery{Neighbor: m.addr, View: v}); err != nil {
			t.Errorf("%v: first page after the flap: %v", v, err)
		}
	}
	st := sessionsSync(s)
	if st[0].Member != "A" || st[0].LastDownReason != "hold timer expired" || st[0].LastDown.IsZero() || st[0].Incarnation <= 2 {
		t.Errorf("A's status after flaps: %+v", st[0])
	}
}

func sessionsSync(s *Server) []SessionStatus {
	j := &sessionsJob{}
	if err := s.readSync(j, &j.readJob); err != nil {
		panic(err)
	}
	sortSessions(j.out)
	return j.out
}

func TestLookup(t *testing.T) {
	for _, tiny := range []bool{false, true} {
		s := newTestServer(t, func(c *Config) {
			if tiny {
				c.ReadLimit, c.ReadBudget = 2, 1
			}
		})
		a := addMember(t, s, "A", 64501, "192.0.2.11")
		b := addMember(t, s, "B", 64502, "192.0.2.12")
		a.announce(a.attrs(), "11.0.0.0/16", "11.0.1.0/24", "11.0.1.128/25", "11.2.0.0/24")
		bad := a.attrs()
		bad.NextHop = netip.MustParseAddr("192.0.2.99")
		a.announce(bad, "10.0.0.0/8")
		b.announce(b.attrs(), "11.0.1.0/24", "11.0.3.0/24")
		b.announce(b.attrs(), "2001:db8::/32")
		readAll(t, s, a, b)

		look := func(q LookupQuery) map[string]int {
			t.Helper()
			got := map[string]int{}
			for i := 0; ; i++ {
				page, err := s.lookup(q)
				if err != nil {
					t.Fatal(err)
				}
				for _, pr := range page.Prefixes {
					if _, dup := got[pr.Prefix.String()]; dup {
						t.Errorf("%v twice", pr.Prefix)
					}
					got[pr.Prefix.String()] = len(pr.Routes)
				}
				if !page.More {
					return got
				}
				if i > 1000 {
					t.Fatal("pages never end")
				}
				q.After = viaText(t, page.Cursor) // as a client hands it back
			}
		}
		P := netip.MustParsePrefix
		for _, tt := range []struct {
			q    LookupQuery
			want map[string]int
		}{
			{LookupQuery{Prefix: P("11.0.1.0/24")}, map[string]int{"11.0.1.0/24": 2}},
			{LookupQuery{Prefix: P("11.0.9.0/24")}, map[string]int{}},
			{LookupQuery{Prefix: P("11.0.1.200/32"), Match: MatchLongest}, map[string]int{"11.0.1.128/25": 1}},
			{LookupQuery{Prefix: P("11.0.9.0/24"), Match: MatchLongest}, map[string]int{"11.0.0.0/16": 1}},
			{LookupQuery{Prefix: P("12.0.0.0/24"), Match: MatchLongest}, map[string]int{}},
			{LookupQuery{Prefix: P("11.0.0.0/16"), Match: MatchOrLonger, Limit: 1},
				map[string]int{"11.0.0.0/16": 1, "11.0.1.0/24": 2, "11.0.1.128/25": 1, "11.0.3.0/24": 1}},
			{LookupQuery{Prefix: P("10.0.0.0/8"), Match: MatchOrLonger, View: ViewFiltered}, map[string]int{"10.0.0.0/8": 1}},
			{LookupQuery{Prefix: P("10.0.0.0/8"), Match: MatchOrLonger, View: ViewAccepted}, map[string]int{}},
			{LookupQuery{Prefix: P("2001:db8:1::/48"), Match: MatchLongest}, map[string]int{"2001:db8::/32": 1}},
			{LookupQuery{Prefix: P("::/0"), Match: MatchOrLonger}, map[string]int{"2001:db8::/32": 1}},
		} {
			if got := look(tt.q); len(got) != len(tt.want) || !mapsEqualInt(got, tt.want) {
				t.Errorf("tiny=%v lookup %v match %d view %v: %v, want %v", tiny, tt.q.Prefix, tt.q.Match, tt.q.View, got, tt.want)
			}
		}
		if _, err := s.lookup(LookupQuery{}); err == nil {
			t.Errorf("invalid prefix: no error")
		}
	}
}

func mapsEqualInt(a, b map[string]int) bool {
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return len(a) == len(b)
}

func TestSearch(t *testing.T) {
	for _, tiny := range []bool{false, true} {
		s := newTestServer(t, func(c *Config) {
			if tiny {
				c.ReadLimit, c.ReadBudget = 3, 2
			}
		})
		a := addMember(t, s, "A", 64501, "192.0.2.11")
		b := addMember(t, s, "B", 64502, "192.0.2.12")
		c := addMember(t, s, "C", 64503, "2001:db8:ff::3")
		a1 := a.attrs(65010)
		a1.Communities = []uint32{std(64501, 1)}
		a.announce(a1, "11.0.0.0/24", "11.0.1.0/24")
		a2 := a.attrs(65020, 65010)
		a2.LargeCommunities = []speaker.LargeCommunity{{Global: 64501, Local1: 2, Local2: 3}}
		a2.ExtCommunities = []uint64{0x0002fbf500000001}
		a.announce(a2, "11.0.2.0/24")
		b1 := b.attrs(65010)
		b1.NextHop = netip.MustParseAddr("192.0.2.99") // filtered: not the peer's address
		b.announce(b1, "11.0.3.0/24")
		b.announce(b.attrs(), "11.0.4.0/24")
		c.announce(c.attrs(65010), "2001:db8:1::/48")
		readAll(t, s, a, b, c)

		calls := 0
		path := func(p speaker.ASPath) bool {
			calls++
			asns := p[0].ASNs
			return len(asns) >= 2 && asns[len(asns)-1] == 65010 // "_65010$"
		}
		for _, tt := range []struct {
			name string
			q    SearchQuery
			want []string
		}{
			{"origin", SearchQuery{Origin: 65010}, []string{"11.0.0.0/24", "11.0.1.0/24", "11.0.2.0/24", "11.0.3.0/24", "2001:db8:1::/48"}},
			{"origin accepted v4", SearchQuery{Origin: 65010, View: ViewAccepted, Family: speaker.IPv4Unicast},
				[]string{"11.0.0.0/24", "11.0.1.0/24", "11.0.2.0/24"}},
			{"filtered", SearchQuery{View: ViewFiltered}, []string{"11.0.3.0/24"}},
			{"asn", SearchQuery{ASN: 65020}, []string{"11.0.2.0/24"}},
			{"path", SearchQuery{Path: path, Limit: 1}, []string{"11.0.0.0/24", "11.0.1.0/24", "11.0.2.0/24", "11.0.3.0/24", "2001:db8:1::/48"}},
			{"community", SearchQuery{Communities: []uint32{std(64501, 1)}}, []string{"11.0.0.0/24", "11.0.1.0/24"}},
			{"large", SearchQuery{LargeCommunities: []speaker.LargeCommunity{{Global: 64501, Local1: 2, Local2: 3}}}, []string{"11.0.2.0/24"}},
			{"ext", SearchQuery{ExtCommunities: []uint64{0x0002fbf500000001}}, []string{"11.0.2.0/24"}},
			{"next hop", SearchQuery{NextHop: netip.MustParseAddr("192.0.2.12")}, []string{"11.0.4.0/24"}},
			{"next hop v6", SearchQuery{NextHop: netip.MustParseAddr("2001:db8:ff::3")}, []string{"2001:db8:1::/48"}},
			{"nothing", SearchQuery{ASN: 1}, nil},
		} {
			calls = 0
			var got []string
			q := tt.q
			for i := 0; ; i++ {
				page, err := s.search(q)
				if err != nil {
					t.Fatal(err)
				}
				if q.Limit > 0 && len(page.Routes) > q.Limit {
					t.Errorf("%s: page of %d", tt.name, len(page.Routes))
				}
				for _, r := range page.Routes {
					got = append(got, r.Prefix.String())
				}
				if !page.More {
					break
				}
				if i > 1000 {
					t.Fatal("pages never end")
				}
				q.After = viaText(t, page.Cursor) // as a client hands it back
			}
			slices.Sort(got)
			if !slices.Equal(got, tt.want) {
				t.Errorf("tiny=%v search %s: %v, want %v", tiny, tt.name, got, tt.want)
			}
			// Four distinct sets match or not, whatever the number of routes; a page may see a
			// set again.
			if tt.name == "path" && (calls == 0 || calls > 2*len(tt.want)) {
				t.Errorf("path matcher called %d times", calls)
			}
		}
		if _, err := s.search(SearchQuery{View: ViewExported}); err == nil {
			t.Errorf("search of the exported view: no error")
		}
	}
}

// TestPathMatcherOncePerSet: the matcher runs once per attribute set per page, not per route.
func TestPathMatcherOncePerSet(t *testing.T) {
	s := newTestServer(t, nil)
	a := addMember(t, s, "A", 64501, "192.0.2.11")
	if err := a.ss.Receive(&speaker.Update{Attrs: a.attrs(65010), NLRI: seqPrefixes(0, 300, false)}); err != nil {
		t.Fatal(err)
	}
	if err := a.ss.Receive(&speaker.Update{Attrs: a.attrs(65020), NLRI: seqPrefixes(300, 300, false)}); err != nil {
		t.Fatal(err)
	}
	readAll(t, s, a)
	calls := 0
	page, err := s.search(SearchQuery{Path: func(speaker.ASPath) bool { calls++; return true }, Limit: MaxPage})
	if err != nil || len(page.Routes) != 600 || page.More {
		t.Fatalf("%d routes, more %v, %v", len(page.Routes), page.More, err)
	}
	if calls != 2 {
		t.Errorf("matcher called %d times for 2 attribute sets", calls)
	}
}

func TestExplainRouteDetail(t *testing.T) {
	s := newTestServer(t, nil)
	a := addMember(t, s, "A", 64501, "192.0.2.11")
	b := addMember(t, s, "B", 64502, "192.0.2.12")
	c := addMember(t, s, "C", 64503, "192.0.2.13")
	const p = "11.0.0.0/24"
	a.announce(a.attrs(), p)
	b.announce(b.attrs(65001), p)
	readAll(t, s, a, b, c)
	ex, err := s.explainRoute(b.addr, netip.MustParsePrefix(p))
	if err != nil {
		t.Fatal(err)
	}
	if ex.Rank != 1 || ex.Step != StepASPathLen || ex.Candidates != 2 || ex.ExportedTo != 1 || ex.Route.Member != "B" || len(ex.Checks) == 0 {
		t.Errorf("B's route: %+v", ex)
	}
	ex, _ = s.explainRoute(a.addr, netip.MustParsePrefix(p))
	if ex.Rank != 0 || ex.ExportedTo != 2 { // B and C
		t.Errorf("A's route: %+v", ex)
	}
	if _, err := s.explainRoute(c.addr, netip.MustParsePrefix(p)); !errors.Is(err, ErrNoRoute) {
		t.Errorf("C has no route: %v", err)
	}
}

// TestReadsDoNotIntern: no read changes any counter of Stats, with variants (informational
// communities, prepends) that a careless read would intern.
func TestReadsDoNotIntern(t *testing.T) {
	s := newTestServer(t, func(c *Config) {
		c.Export = &ControlCommunities{Control: policy.ExportControl{ASN: rsASN}, Informational: true, AddOTC: true}
	})
	a := addMember(t, s, "A", 64501, "192.0.2.11")
	b := addMember(t, s, "B", 64502, "192.0.2.12")
	c := addMember(t, s, "C", 64503, "192.0.2.13")
	aa := a.attrs()
	aa.Communities = []uint32{std(65511, 64502)} // prepend toward B
	a.announce(aa, "11.0.0.0/24", "11.0.1.0/24")
	b.announce(b.attrs(), "11.0.0.0/24", "11.0.2.0/24")
	readAll(t, s, a, b, c)
	// C goes down: its variants stay cached; the others' do not exist yet for it.
	before := s.snapshot()
	before.Passes, before.IdlePasses, before.ControlTime, before.InboundTime, before.OutboundTime, before.BackgroundTime = 0, 0, 0, 0, 0, 0
	before.PhaseHistogram, before.ReadGaps, before.ReadGapTime = [NumPhases]PhaseHistogram{}, PhaseHistogram{}, 0 // time, not objects
	for _, m := range []*tmember{a, b, c} {
		for v := ViewReceived; v <= ViewNotExported; v++ {
			allRoutes(t, s, RoutesQuery{Neighbor: m.addr, View: v})
		}
		s.explainRoute(m.addr, netip.MustParsePrefix("11.0.0.0/24"))
	}
	s.prefixSync(netip.MustParsePrefix("11.0.0.0/24"))
	s.lookup(LookupQuery{Prefix: netip.MustParsePrefix("0.0.0.0/0"), Match: MatchOrLonger})
	s.search(SearchQuery{Origin: 64501})
	after := s.snapshot()
	after.Passes, after.IdlePasses, after.ControlTime, after.InboundTime, after.OutboundTime, after.BackgroundTime = 0, 0, 0, 0, 0, 0
	after.PhaseHistogram, after.ReadGaps, after.ReadGapTime = [NumPhases]PhaseHistogram{}, PhaseHistogram{}, 0
	if before != after {
		t.Errorf("reads changed the stats:\nbefore %+v\nafter  %+v", before, after)
	}
	checkInvariants(t, s, true)

	// A route imported but not yet reconciled for anyone: the variants it needs (prepend toward
	// C) are not cached, and reading its prefix must not create them. The jobs are stepped
	// directly, without the outbound phase that would create them itself.
	aa = a.attrs()
	aa.Communities = []uint32{std(65512, 64503)}
	a.announce(aa, "11.0.9.0/24")
	s.events()
	s.inbound()
	sets := s.sets.len()
	pj := &prefixJob{pfx: netip.MustParsePrefix("11.0.9.0/24")}
	rj := newRoutesJob(RoutesQuery{Neighbor: c.addr, View: ViewNotExported})
	for _, j := range []struct {
		t readTask
		j *readJob
	}{{pj, &pj.readJob}, {rj, &rj.readJob}} {
		j.j.ctx = context.Background()
		for i := 0; ; i++ {
			if _, done := j.t.step(s, 1000); done {
				break
			}
			if i > 1000 {
				t.Fatal("read never ends")
			}
		}
	}
	if !pj.ok || s.sets.len() != sets {
		t.Errorf("reading a prefix in transit: %d attribute sets, %d before (found %v)", s.sets.len(), sets, pj.ok)
	}
	for i, e := range pj.info.Exports {
		if e.Member == "C" && (e.InSync || e.Variant.Prepend() != 2 || !strings.Contains(pj.info.Explain(i), "prepend")) {
			t.Errorf("C: %+v %q", e, pj.info.Explain(i))
		}
	}
}

func TestSessionsOrder(t *testing.T) {
	s := newTestServer(t, nil)
	addMember(t, s, "Zeta", 64509, "192.0.2.19")
	m := addMember(t, s, "Alpha", 64501, "192.0.2.21")
	if _, err := s.addPeer("Alpha", netip.MustParseAddr("192.0.2.3")); err != nil {
		t.Fatal(err)
	}
	settle(t, s)
	st := sessionsSync(s)
	var got []string
	for _, x := range st {
		got = append(got, x.Member+" "+x.Neighbor.String())
	}
	if want := []string{"Alpha 192.0.2.3", "Alpha 192.0.2.21", "Zeta 192.0.2.19"}; !slices.Equal(got, want) {
		t.Errorf("order %v, want %v", got, want)
	}
	if st[0].Up || st[0].Incarnation != 0 || !st[1].Up || st[1].Incarnation == 0 || st[1].Incarnation == st[2].Incarnation {
		t.Errorf("status %+v", st)
	}
	inc := st[1].Incarnation
	m.ss.DownWithReason("NOTIFICATION cease")
	m.up()
	settle(t, s)
	if x := sessionsSync(s)[1]; x.Incarnation <= inc || x.LastDownReason != "NOTIFICATION cease" {
		t.Errorf("after a flap: %+v", x)
	}
}
