package rs

import (
	"net/netip"
	"slices"
	"testing"

	"github.com/ixrs/ixrs/policy"
)

// TestFilteredKept: with the full chain, routes that fail are kept in the Adj-RIB-In with every
// reason (RFC 7947 §2.1), sent to nobody, and shown by the filtered view.
func TestFilteredKept(t *testing.T) {
	im := policy.Full()
	im.IRR = policy.IRROff
	im.RejectBogonASNs = false // the test members use private ASNs
	im.PeeringLANs = []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}
	s := newTestServer(t, func(c *Config) { c.Import = im })
	a := addMember(t, s, "A", 64501, "192.0.2.11")
	b := addMember(t, s, "B", 64502, "192.0.2.12")
	a.announce(a.attrs(), "11.0.0.0/24", "10.0.0.0/8", "11.0.1.128/25")
	wrong := a.attrs()
	wrong.NextHop = netip.MustParseAddr("198.51.100.1")
	a.announce(wrong, "11.0.2.0/24")
	readAll(t, s, a, b)
	if len(b.rib) != 1 || b.has("11.0.0.0/24") == nil {
		t.Fatalf("B has %v, want only the accepted route", b.rib)
	}
	page, err := s.routes(RoutesQuery{Neighbor: a.addr, View: ViewFiltered})
	if err != nil {
		t.Fatal(err)
	}
	want := map[netip.Prefix][]policy.Reason{
		netip.MustParsePrefix("10.0.0.0/8"):    {policy.BogonPrefix},
		netip.MustParsePrefix("11.0.1.128/25"): {policy.PrefixTooLong},
		netip.MustParsePrefix("11.0.2.0/24"):   {policy.NextHopNotPeerIP},
	}
	if len(page.Routes) != len(want) {
		t.Fatalf("filtered view: %d routes, want %d", len(page.Routes), len(want))
	}
	for _, r := range page.Routes {
		if got := r.Reasons.List(); !slices.Equal(got, want[r.Prefix]) {
			t.Errorf("%v: reasons %v, want %v", r.Prefix, got, want[r.Prefix])
		}
	}
	// Explain gives the data behind the reason.
	ex, err := s.explainRoute(a.addr, netip.MustParsePrefix("10.0.0.0/8"))
	if err != nil {
		t.Fatal(err)
	}
	if ex.Route.Reasons.Primary() != policy.BogonPrefix || !containsCheck(ex.Checks, 7, policy.Fail, "bogon list: 10.0.0.0/8") {
		t.Errorf("explain: %+v", ex)
	}
}

func containsCheck(cs []policy.CheckResult, step int, o policy.Outcome, detail string) bool {
	for _, c := range cs {
		if c.Step == step && c.Outcome == o && c.Detail == detail {
			return true
		}
	}
	return false
}

// TestExplainExport: for (prefix, member) the route sent and why the better ones were not.
func TestExplainExport(t *testing.T) {
	s := newTestServer(t, nil)
	a := addMember(t, s, "A", 64501, "192.0.2.11")
	b := addMember(t, s, "B", 64502, "192.0.2.12")
	c := addMember(t, s, "C", 64503, "192.0.2.13")
	aa := a.attrs()
	aa.Communities = []uint32{std(0, 64503), std(65511, 64502)}
	a.announce(aa, "203.0.113.0/24")
	b.announce(b.attrs(65010), "203.0.113.0/24")
	readAll(t, s, a, b, c)
	info := s.prefixInfo(s.prefixes.get(netip.MustParsePrefix("203.0.113.0/24")))
	want := map[string]string{
		"C": "the best route from AS64501 (192.0.2.11) is tagged do-not-announce-to 64503 (0:64503 or RS:0:64503); the next best from AS64502 (192.0.2.12) is sent",
		"B": "the best route from AS64501 (192.0.2.11) is sent (prepend 1x)",
		"A": "the best route from AS64501 (192.0.2.11) is the member's own; the next best from AS64502 (192.0.2.12) is sent",
	}
	for i, e := range info.Exports {
		if got := info.Explain(i); got != want[e.Member] || !e.InSync {
			t.Errorf("%s: %q (in sync %v), want %q", e.Member, got, e.InSync, want[e.Member])
		}
	}
}
