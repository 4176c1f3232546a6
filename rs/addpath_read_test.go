package rs

import (
	"fmt"
	"net/netip"
	"testing"

	"github.com/ixrs/ixrs/policy"
)

// TestAddPathExportedView: the exported view of an ADD-PATH session lists every path it holds, each
// with its identifier and the member that announced it, and agrees with what the session was sent,
// whatever the page size (pages end inside a prefix's paths too); a family without ADD-PATH and a
// session without it list the best path alone, without an identifier.
func TestAddPathExportedView(t *testing.T) {
	s := newTestServer(t, func(c *Config) {
		c.Import = &policy.Import{NextHop: policy.NextHopAny, EnforceFirstAS: true}
	})
	a := addMember(t, s, "A", 64501, "192.0.2.11")
	b := addMember(t, s, "B", 64502, "192.0.2.12")
	c := addMember(t, s, "C", 64503, "192.0.2.13")
	n := addMember(t, s, "N", 64505, "192.0.2.15")
	x := addAPMember(t, s, "X", 64504, "192.0.2.14", 0)
	ms, aps := []*tmember{a, b, c, n}, []*apMember{x}
	readAllAP(t, s, aps, ms...)

	// Prefix i is announced by A, by B when i is even and by C when i is a multiple of 3, so the
	// paths per prefix run from one to three.
	for i := range 12 {
		p := fmt.Sprintf("198.51.%d.0/24", i)
		a.announce(a.attrs(), p)
		if i%2 == 0 {
			b.announce(b.attrs(65010), p)
		}
		if i%3 == 0 {
			c.announce(c.attrs(65010, 65011), p)
		}
	}
	a6 := a.attrs()
	a6.MPNextHop = netip.MustParseAddr("2001:db8::11")
	b6 := b.attrs(65010)
	b6.MPNextHop = netip.MustParseAddr("2001:db8::12")
	a.announce(a6, "2001:db8:100::/48")
	b.announce(b6, "2001:db8:100::/48")
	readAllAP(t, s, aps, ms...)

	ids := map[uint32]string{}
	for _, m := range []*tmember{a, b, c} {
		ids[uint32(m.ss.p.id)+1] = m.name
	}
	// sent is what X holds: by prefix, "member#id" for IPv4 paths, the member for IPv6.
	sent := map[netip.Prefix]map[string]bool{}
	for p, paths := range x.paths {
		sent[p] = map[string]bool{}
		for id := range paths {
			sent[p][fmt.Sprintf("%s#%d", ids[id], id)] = true
		}
	}
	v6 := netip.MustParsePrefix("2001:db8:100::/48")
	sent[v6] = map[string]bool{"A": true}
	if len(sent) != 13 || len(sent[netip.MustParsePrefix("198.51.0.0/24")]) != 3 {
		t.Fatalf("X holds %v, want 13 prefixes and three paths for 198.51.0.0/24", sent)
	}

	for _, limit := range []int{1, 2, 3, 5, 0} {
		got := map[netip.Prefix]map[string]bool{}
		q := RoutesQuery{Neighbor: x.addr, View: ViewExported, Limit: limit}
		for pages := 0; ; pages++ {
			if pages > 100 {
				t.Fatal("pages never end")
			}
			page, err := s.routes(q)
			if err != nil {
				t.Fatal(err)
			}
			if limit > 0 && len(page.Routes) > limit {
				t.Fatalf("limit %d: page of %d routes", limit, len(page.Routes))
			}
			for _, r := range page.Routes {
				k := r.Member
				if r.PathID != 0 {
					k = fmt.Sprintf("%s#%d", r.Member, r.PathID)
				}
				if r.Attrs == nil || r.Attrs.ASPath.First() != map[string]uint32{"A": 64501, "B": 64502, "C": 64503}[r.Member] {
					t.Errorf("limit %d: %s path %d from %q with attributes %v", limit, r.Prefix, r.PathID, r.Member, r.Attrs)
				}
				if got[r.Prefix] == nil {
					got[r.Prefix] = map[string]bool{}
				}
				if got[r.Prefix][k] {
					t.Errorf("limit %d: %s %s listed twice", limit, r.Prefix, k)
				}
				got[r.Prefix][k] = true
			}
			if !page.More {
				break
			}
			q.After = viaText(t, page.Cursor)
		}
		if fmt.Sprint(got) != fmt.Sprint(sent) {
			t.Errorf("limit %d: exported view\n%v\nX holds\n%v", limit, got, sent)
		}
	}

	// N, without ADD-PATH: the best path of each prefix, no identifiers.
	page, err := s.routes(RoutesQuery{Neighbor: n.addr, View: ViewExported, Limit: MaxPage})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Routes) != 13 {
		t.Errorf("N's exported view has %d routes, want 13", len(page.Routes))
	}
	for _, r := range page.Routes {
		if r.PathID != 0 || r.Member != "A" {
			t.Errorf("N's exported view: %s from %q with path id %d, want A's best path without one", r.Prefix, r.Member, r.PathID)
		}
	}
}
