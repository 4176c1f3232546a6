package rs

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/ixrs/ixrs/speaker"
)

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

	count := func(q RoutesQuery) int {
		n, pages := 0, 0
		for q.Cursor >= 0 {
			page, err := s.routes(q)
			if err != nil {
				t.Fatal(err)
			}
			n += len(page.Routes)
			q.Cursor = page.Next
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
	} {
		if got := count(tt.q); got != tt.want {
			t.Errorf("%v of %v: %d routes, want %d", tt.q.View, tt.q.Neighbor, got, tt.want)
		}
	}
	if _, err := s.routes(RoutesQuery{Neighbor: netip.MustParseAddr("192.0.2.200")}); err == nil {
		t.Errorf("unknown neighbor: no error")
	}
	page, _ := s.routes(RoutesQuery{Neighbor: b.addr, View: ViewExported, Limit: 1})
	if r := page.Routes[0]; r.Member != "A" || r.ASN != 64501 || r.Attrs == nil {
		t.Errorf("exported route %+v", r)
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

	info := s.prefixInfo(s.prefixes.get(netip.MustParsePrefix(p)))
	if len(info.Routes) != 2 || info.Routes[0].ASN != 64501 || len(info.Steps) != 1 || info.Steps[0] != StepASPathLen {
		t.Fatalf("routes %+v steps %v", info.Routes, info.Steps)
	}
	got := map[string]MemberExport{}
	for _, e := range info.Exports {
		got[e.Member] = e
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
		e := got[name]
		if e.Route != w.route || len(e.Checks) != 2 || e.Checks[0] != w.checks[0] || e.Checks[1] != w.checks[1] || !e.InSync {
			t.Errorf("%s: %+v", name, e)
		}
	}
	if ex := got["C"].Explain; !strings.Contains(ex, "tagged do-not-announce-to 64503") || !strings.Contains(ex, "AS64502") {
		t.Errorf("C's explanation: %q", ex)
	}
	t.Log(got["C"].Explain)
}
