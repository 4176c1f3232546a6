package rs

import (
	"net/netip"
	"slices"
	"testing"

	"github.com/ixrs/ixrs/policy"
	"github.com/ixrs/ixrs/speaker"
)

// infoPolicy is a test import policy that marks every route RPKI valid.
type infoPolicy struct{ policy.Import }

func (im *infoPolicy) ImportRoute(s *policy.Session, d policy.Data, pfx netip.Prefix, p *policy.Path, pv policy.Verdict) policy.Verdict {
	v := im.Import.ImportRoute(s, d, pfx, p, pv)
	v.Info = 1 // RPKI valid
	return v
}

// newInfoServer is a test server whose export policy adds OTC and informational communities and
// whose import policy marks every route RPKI valid; mod, when not nil, changes the rest.
func newInfoServer(t *testing.T, mod func(*Config)) *Server {
	return newTestServer(t, func(c *Config) {
		c.Export = &ControlCommunities{Control: policy.ExportControl{ASN: rsASN}, AddOTC: true, Informational: true}
		c.Import = &infoPolicy{*policy.DefaultImport()}
		if mod != nil {
			mod(c)
		}
	})
}

// TestExportVariants: prepend toward any and toward one member, NO_EXPORT and NO_ADVERTISE
// toward one member, informational communities and OTC, each member getting its own variant while
// members with the same variant share one set and one encoding.
func TestExportVariants(t *testing.T) {
	s := newInfoServer(t, nil)
	a := addMember(t, s, "A", 64501, "192.0.2.11")
	b := addMember(t, s, "B", 64502, "192.0.2.12")
	c := addMember(t, s, "C", 64503, "192.0.2.13")
	d := addMember(t, s, "D", 64504, "192.0.2.14")
	all := []*tmember{a, b, c, d}
	path := func(m *tmember) []uint32 {
		return m.has("203.0.113.0/24").ASPath[0].ASNs
	}
	valid := speaker.LargeCommunity{Global: rsASN, Local1: 1000, Local2: 1}

	aa := a.attrs(65010)
	aa.LargeCommunities = []speaker.LargeCommunity{{Global: rsASN, Local1: 101, Local2: 0}, {Global: 64501, Local1: 7, Local2: 7}}
	aa.Communities = []uint32{std(65512, 64503), std(65281, 64504)}
	aa.ExtCommunities = []uint64{0x0002<<48 | uint64(65282)<<32 | 64502} // rt:65282:64502
	a.announce(aa, "203.0.113.0/24")
	readAll(t, s, all...)

	if got := path(b); !slices.Equal(got, []uint32{64501, 64501, 65010}) {
		t.Errorf("B path %v, want prepended once (RS:101:0)", got)
	}
	if got := path(c); !slices.Equal(got, []uint32{64501, 64501, 64501, 65010}) {
		t.Errorf("C path %v, want prepended twice (65512:C replaces RS:101:0)", got)
	}
	if got := path(d); !slices.Equal(got, []uint32{64501, 64501, 65010}) {
		t.Errorf("D path %v", got)
	}
	for _, tt := range []struct {
		m    *tmember
		want []uint32
	}{{b, []uint32{policy.CommunityNoAdvertise}}, {c, nil}, {d, []uint32{policy.CommunityNoExport}}} {
		got := tt.m.has("203.0.113.0/24")
		if !slices.Equal(got.Communities, tt.want) {
			t.Errorf("%v communities %x, want %x", tt.m, got.Communities, tt.want)
		}
		if len(got.ExtCommunities) != 0 {
			t.Errorf("%v got the rt: control community", tt.m)
		}
		if !slices.Equal(got.LargeCommunities, []speaker.LargeCommunity{{Global: 64501, Local1: 7, Local2: 7}, valid}) {
			t.Errorf("%v large communities %v", tt.m, got.LargeCommunities)
		}
		if !got.HasOTC || got.OTC != rsASN {
			t.Errorf("%v: OTC %v %d, want the route server's AS", tt.m, got.HasOTC, got.OTC)
		}
	}
	// Three variants for three members (B, C, D all differ), each encoded once.
	pe := s.prefixes.get(netip.MustParsePrefix("203.0.113.0/24"))
	if len(pe.out()) != 3 {
		t.Errorf("%d Adj-RIB-Out entries, want 3", len(pe.out()))
	}
	if s.sets.derived != 3 {
		t.Errorf("%d derived sets, want 3", s.sets.derived)
	}

	// A member forging an informational community gets it scrubbed: the route server's own
	// state is what receivers see.
	bb := b.attrs()
	bb.LargeCommunities = []speaker.LargeCommunity{{Global: rsASN, Local1: 1000, Local2: 4}}
	b.announce(bb, "198.51.100.0/24")
	readAll(t, s, all...)
	if got := c.has("198.51.100.0/24").LargeCommunities; !slices.Equal(got, []speaker.LargeCommunity{valid}) {
		t.Errorf("forged informational community: C got %v", got)
	}
	// The variant cache holds references that die with the routes.
	a.withdraw("203.0.113.0/24")
	b.withdraw("198.51.100.0/24")
	readAll(t, s, all...)
	if n := s.sets.len(); n != 0 || s.sets.derived != 0 {
		t.Errorf("%d sets (%d derived) left after everything was withdrawn", n, s.sets.derived)
	}
}

// TestBlackholeExport: a blackhole route gets NO_EXPORT and the configured next hop.
func TestBlackholeExport(t *testing.T) {
	nh := netip.MustParseAddr("192.0.2.66")
	export := &ControlCommunities{Control: policy.ExportControl{ASN: rsASN}, ExportProfile: ExportProfile{Blackhole: true, BlackholeNextHop4: nh}}
	s := newTestServer(t, func(c *Config) { c.Export = export })
	a := addMember(t, s, "A", 64501, "192.0.2.11")
	b := addMember(t, s, "B", 64502, "192.0.2.12")
	aa := a.attrs()
	aa.Communities = []uint32{policy.CommunityBlackhole}
	a.announce(aa, "203.0.113.7/32")
	a.announce(a.attrs(), "203.0.113.0/24")
	readAll(t, s, a, b)
	got := b.has("203.0.113.7/32")
	if got == nil || got.NextHop != nh || !slices.Equal(got.Communities, []uint32{policy.CommunityBlackhole, policy.CommunityNoExport}) {
		t.Errorf("blackhole route as received: %+v", got)
	}
	if got := b.has("203.0.113.0/24"); got == nil || got.NextHop != a.addr || got.Communities != nil {
		t.Errorf("ordinary route changed: %+v", got)
	}
}

// TestExportProfile: a member's own export settings (blackhole next hop, community stripping)
// apply to its routes only, even when another member sends identical attributes.
func TestExportProfile(t *testing.T) {
	nh, own := netip.MustParseAddr("192.0.2.66"), netip.MustParseAddr("192.0.2.77")
	export := &ControlCommunities{Control: policy.ExportControl{ASN: rsASN}, ExportProfile: ExportProfile{Blackhole: true, BlackholeNextHop4: nh}}
	s := newTestServer(t, func(c *Config) {
		c.Export = export
		c.Import = &policy.Import{NextHop: policy.NextHopAny}
	})
	add := func(name string, asn uint32, addr string, prof *ExportProfile) *tmember {
		if err := s.addMember(MemberConfig{Name: name, ASN: asn, Export: prof}); err != nil {
			t.Fatal(err)
		}
		ss, err := s.addPeer(name, netip.MustParseAddr(addr))
		if err != nil {
			t.Fatal(err)
		}
		m := &tmember{t: t, name: name, asn: asn, addr: ss.addr, ss: ss, out: &fakeOut{}}
		m.up()
		return m
	}
	a := add("A", 64501, "192.0.2.11", nil)
	b := add("B", 64502, "192.0.2.12", &ExportProfile{Blackhole: true, BlackholeNextHop4: own, MaxCommunities: 2})
	c := add("C", 64503, "192.0.2.13", &ExportProfile{Blackhole: true, BlackholeNextHop4: own, MaxCommunities: 2})
	// Identical attributes from A and B (same next hop, path from the same AS is impossible, so
	// the paths differ only in the first AS, which the profile does not touch).
	bh := func(m *tmember) *speaker.Attrs {
		x := m.attrs()
		x.NextHop = netip.MustParseAddr("192.0.2.99")
		x.Communities = []uint32{policy.CommunityBlackhole}
		return x
	}
	a.announce(bh(a), "203.0.113.7/32")
	b.announce(bh(b), "203.0.113.8/32")
	many := b.attrs()
	many.Communities = []uint32{std(64502, 1), std(64502, 2), std(64502, 3)}
	b.announce(many, "198.51.100.0/24")
	readAll(t, s, a, b, c)
	if got := c.has("203.0.113.7/32"); got == nil || got.NextHop != nh {
		t.Errorf("A's blackhole with the default profile: %+v", got)
	}
	if got := c.has("203.0.113.8/32"); got == nil || got.NextHop != own {
		t.Errorf("B's blackhole with its own profile: %+v", got)
	}
	if got := c.has("198.51.100.0/24"); got == nil || got.Communities != nil {
		t.Errorf("B's over-limit communities not stripped: %+v", got)
	}
	if len(s.profiles) != 1 {
		t.Errorf("%d profiles for two members with equal settings", len(s.profiles))
	}
}

// TestLazyVariant: a variant that only adds informational communities keeps no attributes of its
// own (setOut.base), and the wire, the exported view and the event feed all show it with them.
func TestLazyVariant(t *testing.T) {
	s := newInfoServer(t, nil)
	a := addMember(t, s, "A", 64501, "192.0.2.11")
	b := addMember(t, s, "B", 64502, "192.0.2.12")
	sub := subscribeSync(s, SubscribeOptions{Size: 64, Exports: true})
	own := speaker.LargeCommunity{Global: 64501, Local1: 7, Local2: 7}
	valid := speaker.LargeCommunity{Global: rsASN, Local1: 1000, Local2: 1}
	want := []speaker.LargeCommunity{own, valid}
	aa := a.attrs(65010)
	aa.LargeCommunities = []speaker.LargeCommunity{own}
	a.announce(aa, "203.0.113.0/24")
	readAll(t, s, a, b)

	check := func(where string, got *speaker.Attrs) {
		t.Helper()
		if got == nil || !slices.Equal(got.LargeCommunities, want) || !got.HasOTC || got.OTC != rsASN ||
			got.ASPath.String() != "64501 65010" || got.NextHop != a.addr {
			t.Errorf("%s: %+v, want A's attributes with OTC and large communities %v", where, got, want)
		}
	}
	check("on the wire", b.has("203.0.113.0/24"))
	pe := s.prefixes.get(netip.MustParsePrefix("203.0.113.0/24"))
	out := pe.out()
	if len(out) != 1 || !out[0].set.lazy() || s.sets.lazies != 1 || s.sets.derived != 1 {
		t.Fatalf("Adj-RIB-Out %d entries, lazy %v; %d lazy of %d derived sets", len(out), len(out) == 1 && out[0].set.lazy(), s.sets.lazies, s.sets.derived)
	}
	lz := out[0].set
	if base := lz.setOut.base; lz.attrs != base.attrs || base.otc != rsASN {
		t.Errorf("lazy variant does not share its base's attributes, or the base is not sent with OTC added")
	}
	page, err := s.routes(RoutesQuery{Neighbor: b.addr, View: ViewExported})
	if err != nil || len(page.Routes) != 1 {
		t.Fatalf("exported view: %v, %d routes", err, len(page.Routes))
	}
	check("exported view", page.Routes[0].Attrs)
	// checkFeed checks the export events of the prefix that sub holds: one, shown as sent.
	checkFeed := func(where string, sub *Subscription) {
		t.Helper()
		evs, err := drain(t, sub)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, ev := range evs {
			if ev.Kind == EventExport && ev.Prefix == pe.prefix() {
				check(where, ev.Attrs)
				n++
			}
		}
		if n != 1 {
			t.Errorf("%s: %d export events for the prefix, want 1", where, n)
		}
	}
	checkFeed("event feed", sub)
	// A subscriber that joins now and resyncs gets the Adj-RIB-Out in the replay.
	late := subscribeSync(s, SubscribeOptions{Size: 64, Exports: true})
	late.startResync()
	for i := 0; i < 100 && s.pass(); i++ {
	}
	checkFeed("event feed's resync", late)
	checkInvariants(t, s, true)

	// The base leaves with the route; the lazy variant goes with it.
	a.withdraw("203.0.113.0/24")
	readAll(t, s, a, b)
	if n := s.sets.len(); n != 0 || s.sets.derived != 0 || s.sets.lazies != 0 {
		t.Errorf("%d sets (%d derived, %d lazy) left after the withdrawal", n, s.sets.derived, s.sets.lazies)
	}
}

// TestLazyVariantOutlivesBase: a session that has fallen behind still holds a lazy variant after
// its base set has left the table with the last route; the exported view shows it as it was sent,
// and it goes once the session catches up.
func TestLazyVariantOutlivesBase(t *testing.T) {
	s := newInfoServer(t, func(c *Config) {
		c.InboundQueue = 1000
		c.OutHighWater = 4 << 10
	})
	a := addMember(t, s, "A", 64501, "192.0.2.11")
	b := addMember(t, s, "B", 64502, "192.0.2.12")
	slow := addMember(t, s, "Slow", 64503, "192.0.2.13")
	p := netip.MustParsePrefix("203.0.113.0/24")
	aa := a.attrs(65010)
	a.announce(aa, p.String())
	readAll(t, s, a, b, slow)
	pe := s.prefixes.get(p)
	lz := pe.outFor(slow.ss.p.id)
	if lz == nil || !lz.lazy() {
		t.Fatalf("Slow holds %v for %v, want a lazy variant", lz, p)
	}
	base := lz.setOut.base

	// Slow stops reading: a table from B fills its output past the high water mark, so it is
	// served no more. A then withdraws its route, whose set (the base) has no other.
	const n = 3000
	ps := seqPrefixes(0, n, false)
	for i := 0; i < n; i += 100 {
		if err := b.ss.Receive(&speaker.Update{Attrs: b.attrs(), NLRI: ps[i : i+100]}); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 10000 && len(a.rib) < n; i++ {
		s.pass()
		a.read()
		b.read()
	}
	if len(a.rib) != n || !s.sessionStatus(slow.ss).Throttled {
		t.Fatalf("A holds %d of %d routes; Slow throttled: %v", len(a.rib), n, s.sessionStatus(slow.ss).Throttled)
	}
	a.withdraw(p.String())
	for i := 0; i < 10000 && b.has(p.String()) != nil; i++ {
		s.pass()
		a.read()
		b.read()
	}
	if b.has(p.String()) != nil {
		t.Fatalf("B still has %v", p)
	}
	if s.prefixes.get(p) == nil || s.prefixes.get(p).outFor(slow.ss.p.id) != lz {
		t.Fatalf("Slow is not behind with the lazy variant for %v", p)
	}
	if base.refs != 0 || lz.refs != 1 {
		t.Errorf("base %d references, lazy variant %d: want the base gone and the variant held by Slow alone", base.refs, lz.refs)
	}
	var shown *speaker.Attrs
	for c := (Cursor{}); ; {
		page, err := s.routes(RoutesQuery{Neighbor: slow.addr, View: ViewExported, After: c})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range page.Routes {
			if r.Prefix == p {
				shown = r.Attrs
			}
		}
		if !page.More {
			break
		}
		c = page.Cursor
	}
	valid := speaker.LargeCommunity{Global: rsASN, Local1: 1000, Local2: 1}
	if shown == nil || !slices.Equal(shown.LargeCommunities, []speaker.LargeCommunity{valid}) || shown.OTC != rsASN ||
		shown.ASPath.String() != "64501 65010" {
		t.Errorf("Slow's exported view of %v: %+v", p, shown)
	}

	readAll(t, s, a, b, slow)
	if slow.has(p.String()) != nil || len(slow.rib) != n {
		t.Errorf("Slow after catching up: %v still held, %d of %d of B's routes", p, len(slow.rib), n)
	}
	// B's routes are sent as a lazy variant of their own; A's is gone.
	if lz.refs != 0 || lz.setOut != nil || s.sets.lazies != 1 {
		t.Errorf("A's lazy variant: %d references, send state %v; %d lazy variants in the table, want B's only", lz.refs, lz.setOut != nil, s.sets.lazies)
	}
}
