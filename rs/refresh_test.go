package rs

import (
	"net/netip"
	"testing"
	"time"

	"github.com/ixrs/ixrs/policy"
	"github.com/ixrs/ixrs/speaker"
)

// Enhanced route refresh (refresh.go).

func withERR(i *SessionInfo) { i.EnhancedRouteRefresh = true }

func (m *tmember) refreshMsg(f speaker.Family, sub uint8) {
	m.t.Helper()
	if err := m.ss.RefreshMessage(speaker.RouteRefresh{Family: f, Subtype: sub}); err != nil {
		m.t.Fatal(err)
	}
}

// resent returns the prefixes of family f announced to m in its UPDATEs msgs[from:to].
func (m *tmember) resent(from, to int, v4 bool) map[netip.Prefix]int {
	out := map[netip.Prefix]int{}
	for _, u := range m.msgs[from:to] {
		for _, p := range u.NLRI {
			if p.Addr().Is4() == v4 {
				out[p]++
			}
		}
	}
	return out
}

// TestEnhancedRefreshSend: a member with the capability that asks for a refresh receives BoRR, the
// family's table, EoRR, in that order, and nothing of the other family; one without it receives
// the table alone.
func TestEnhancedRefreshSend(t *testing.T) {
	s := newTestServer(t, nil)
	a := addMember(t, s, "A", 64501, "192.0.2.11")
	b := addMember(t, s, "B", 64502, "192.0.2.12", withERR)
	c := addMember(t, s, "C", 64503, "192.0.2.13")
	a.announce(a.attrs(), "203.0.113.0/24", "198.51.100.0/24")
	a.announce(&speaker.Attrs{ASPath: a.attrs().ASPath, MPNextHop: netip.MustParseAddr("2001:db8::11")}, "2001:db8:1::/48")
	readAll(t, s, a, b, c)
	if len(b.rr) != 0 || len(c.rr) != 0 {
		t.Fatalf("ROUTE-REFRESH messages before any refresh: B %v, C %v", b.rr, c.rr)
	}
	before := len(b.msgs)
	b.refreshMsg(speaker.IPv4Unicast, speaker.RefreshNormal)
	c.refreshMsg(speaker.IPv4Unicast, speaker.RefreshNormal)
	readAll(t, s, a, b, c)

	if len(b.rr) != 2 {
		t.Fatalf("B received %d ROUTE-REFRESH messages, want BoRR and EoRR: %v", len(b.rr), b.rr)
	}
	borr, eorr := b.rr[0], b.rr[1]
	if borr.Subtype != speaker.RefreshBoRR || eorr.Subtype != speaker.RefreshEoRR ||
		borr.Family != speaker.IPv4Unicast || eorr.Family != speaker.IPv4Unicast {
		t.Fatalf("B received %v, want BoRR then EoRR for IPv4 unicast", b.rr)
	}
	if borr.at != before || eorr.at != len(b.msgs) {
		t.Errorf("BoRR after %d of the refresh's UPDATEs, EoRR before %d of them (of %d)",
			borr.at-before, len(b.msgs)-eorr.at, len(b.msgs)-before)
	}
	if got := b.resent(before, len(b.msgs), true); len(got) != 2 {
		t.Errorf("between BoRR and EoRR B received %v, want both IPv4 prefixes", got)
	}
	if got := b.resent(before, len(b.msgs), false); len(got) != 0 {
		t.Errorf("an IPv4 refresh re-sent IPv6 %v", got)
	}
	if len(c.rr) != 0 {
		t.Errorf("C, without the capability, received %v", c.rr)
	}
	for _, m := range []*tmember{b, c} {
		if m.eor[speaker.IPv4Unicast] != 1 {
			t.Errorf("%v received End-of-RIB %d times, want once (after the initial table only)", m, m.eor[speaker.IPv4Unicast])
		}
	}
	if st := s.snapshot(); st.RefreshesEnhanced != 1 {
		t.Errorf("RefreshesEnhanced %d, want 1", st.RefreshesEnhanced)
	}
}

// TestEnhancedRefreshMovedRoute: during the refresh's table dump, a prefix's route moves to a slab
// the dump has already passed with the very same attributes (two sessions of one member, one
// takes over the other's prefix). B's Adj-RIB-Out does not change, but the prefix must still be
// sent between BoRR and EoRR, or B purges it at EoRR.
func TestEnhancedRefreshMovedRoute(t *testing.T) {
	s := newTestServer(t, func(c *Config) { c.WalkBatch = 2; c.ReadBudget = 2 })
	imp := policy.DefaultImport()
	imp.NextHop = policy.NextHopSameAS // M's routers may name each other as next hop
	if err := s.addMember(MemberConfig{Name: "M", ASN: 64501, Import: imp}); err != nil {
		t.Fatal(err)
	}
	var ms [2]*tmember
	for i, addr := range []string{"192.0.2.11", "192.0.2.21"} {
		ss, err := s.addPeer("M", netip.MustParseAddr(addr))
		if err != nil {
			t.Fatal(err)
		}
		ms[i] = &tmember{t: t, name: "M" + addr, asn: 64501, addr: ss.addr, ss: ss, out: &fakeOut{}}
		ms[i].up()
	}
	m1, m2 := ms[0], ms[1]
	b := addMember(t, s, "B", 64502, "192.0.2.12", withERR)
	shared := m2.attrs() // next hop 192.0.2.21, a neighbor address of M: both sessions may use it
	m2.announce(shared, "10.0.0.0/24", "10.0.1.0/24", "10.0.2.0/24", "10.0.3.0/24")
	m2.announce(shared, "203.0.113.0/24")
	readAll(t, s, m1, m2, b)
	if b.has("203.0.113.0/24") == nil {
		t.Fatal("B lacks the prefix before the refresh")
	}

	before := len(b.msgs)
	b.refreshMsg(speaker.IPv4Unicast, speaker.RefreshNormal)
	s.pass() // the refresh starts; the dump passes M1's empty slab and M2's first route
	if !s.peers[b.ss.p.id].walk.active {
		t.Fatal("the dump finished in one pass; the test needs it in progress")
	}
	m1.announce(shared, "203.0.113.0/24")
	m2.withdraw("203.0.113.0/24")
	readAll(t, s, m1, m2, b)

	if len(b.rr) != 2 || b.rr[0].Subtype != speaker.RefreshBoRR || b.rr[1].Subtype != speaker.RefreshEoRR {
		t.Fatalf("B received %v, want BoRR and EoRR", b.rr)
	}
	got := b.resent(b.rr[0].at, b.rr[1].at, true)
	for _, p := range pfxs("10.0.0.0/24", "10.0.1.0/24", "10.0.2.0/24", "10.0.3.0/24", "203.0.113.0/24") {
		if got[p] == 0 {
			t.Errorf("%v not sent between BoRR and EoRR (sent %v)", p, got)
		}
	}
	if b.rr[0].at != before {
		t.Errorf("%d UPDATEs before the BoRR", b.rr[0].at-before)
	}
}

// TestEnhancedRefreshReceive: a member's BoRR marks its routes of the family stale; what it
// announces again stays (an identical re-announcement reaches no other member), what it does not
// is removed at its EoRR; the other family is untouched.
func TestEnhancedRefreshReceive(t *testing.T) {
	s := newTestServer(t, nil)
	a := addMember(t, s, "A", 64501, "192.0.2.11", withERR)
	b := addMember(t, s, "B", 64502, "192.0.2.12")
	a6ss, _ := s.addPeer("A", netip.MustParseAddr("2001:db8::11"))
	a6 := &tmember{t: t, name: "A6", asn: 64501, addr: a6ss.addr, ss: a6ss, out: &fakeOut{}}
	a6.up(withERR)
	a.announce(a.attrs(), "203.0.113.0/24", "198.51.100.0/24", "192.0.2.128/25")
	a.announce(a.attrs(65001), "10.1.0.0/16")
	a6.announce(a6.attrs(), "2001:db8:1::/48")
	readAll(t, s, a, b, a6)
	before := len(b.msgs)

	a.refreshMsg(speaker.IPv4Unicast, speaker.RefreshBoRR)
	a.announce(a.attrs(), "203.0.113.0/24")       // identical
	a.announce(a.attrs(65002), "198.51.100.0/24") // changed
	a.withdraw("10.1.0.0/16")                     // withdrawn during the refresh
	readAll(t, s, a, b, a6)
	if b.has("192.0.2.128/25") == nil {
		t.Fatal("a route not yet re-announced was removed before EoRR")
	}
	a.refreshMsg(speaker.IPv4Unicast, speaker.RefreshEoRR)
	readAll(t, s, a, b, a6)

	for p, want := range map[string]bool{"203.0.113.0/24": true, "198.51.100.0/24": true,
		"192.0.2.128/25": false, "10.1.0.0/16": false, "2001:db8:1::/48": true} {
		if (b.has(p) != nil) != want {
			t.Errorf("after EoRR B has %v: %v, want %v", p, b.has(p) != nil, want)
		}
	}
	if b.from("198.51.100.0/24") != 64501 || b.has("198.51.100.0/24").ASPath.String() != "64501 65002" {
		t.Errorf("198.51.100.0/24 at B: %v", b.has("198.51.100.0/24").ASPath)
	}
	for _, u := range b.msgs[before:] {
		for _, p := range append(u.NLRI, u.Withdrawn...) {
			if p == netip.MustParsePrefix("203.0.113.0/24") {
				t.Errorf("the identical re-announcement reached B: %v", u)
			}
		}
	}
	if st := s.snapshot(); st.BoRRReceived != 1 || st.RefreshSwept != 1 {
		t.Errorf("BoRRReceived %d RefreshSwept %d, want 1 and 1", st.BoRRReceived, st.RefreshSwept)
	}

	// An EoRR without a BoRR, and a second EoRR, change nothing.
	a.refreshMsg(speaker.IPv4Unicast, speaker.RefreshEoRR)
	readAll(t, s, a, b, a6)
	if len(b.rib) != 3 {
		t.Errorf("B has %d routes after a lone EoRR, want 3", len(b.rib))
	}
}

// TestEnhancedRefreshIgnored: BoRR and EoRR from a member without the capability, and a subtype
// RFC 7313 does not define, are ignored.
func TestEnhancedRefreshIgnored(t *testing.T) {
	s := newTestServer(t, nil)
	a := addMember(t, s, "A", 64501, "192.0.2.11")
	b := addMember(t, s, "B", 64502, "192.0.2.12")
	a.announce(a.attrs(), "203.0.113.0/24", "198.51.100.0/24")
	readAll(t, s, a, b)
	a.refreshMsg(speaker.IPv4Unicast, speaker.RefreshBoRR)
	a.refreshMsg(speaker.IPv4Unicast, speaker.RefreshEoRR)
	a.refreshMsg(speaker.IPv4Unicast, 7)
	readAll(t, s, a, b)
	if len(b.rib) != 2 || len(a.rr) != 0 {
		t.Errorf("B has %d routes (want 2), A received %v", len(b.rib), a.rr)
	}
}

// TestEnhancedRefreshTimer: without EoRR, the marked routes go when Config.StaleTime runs out; a
// second BoRR marks again and restarts the timer; a session that goes down leaves no timer.
func TestEnhancedRefreshTimer(t *testing.T) {
	ft := &fakeTimers{}
	s := newTestServer(t, func(c *Config) { c.afterFunc = ft.after; c.StaleTime = 42 * time.Second })
	a := addMember(t, s, "A", 64501, "192.0.2.11", withERR)
	b := addMember(t, s, "B", 64502, "192.0.2.12")
	a.announce(a.attrs(), "203.0.113.0/24", "198.51.100.0/24", "192.0.2.128/25")
	readAll(t, s, a, b)

	a.refreshMsg(speaker.IPv4Unicast, speaker.RefreshBoRR)
	a.announce(a.attrs(), "203.0.113.0/24")
	readAll(t, s, a, b)
	a.refreshMsg(speaker.IPv4Unicast, speaker.RefreshBoRR) // starts over: 203.0.113.0/24 is marked again
	a.announce(a.attrs(), "198.51.100.0/24")
	readAll(t, s, a, b)
	if n := len(ft.live()); n != 1 {
		t.Fatalf("%d live refresh timers, want 1", n)
	}
	ft.fire(t, 42*time.Second)
	readAll(t, s, a, b)
	if b.has("198.51.100.0/24") == nil || b.has("203.0.113.0/24") != nil || b.has("192.0.2.128/25") != nil {
		t.Errorf("after the timer B has %v, want only 198.51.100.0/24", b.rib)
	}
	if st := s.snapshot(); st.RefreshTimersExpired != 1 || st.RefreshSwept != 2 {
		t.Errorf("RefreshTimersExpired %d RefreshSwept %d, want 1 and 2", st.RefreshTimersExpired, st.RefreshSwept)
	}

	// A late EoRR changes nothing; a BoRR then a session down leaves no timer running.
	a.refreshMsg(speaker.IPv4Unicast, speaker.RefreshEoRR)
	a.refreshMsg(speaker.IPv4Unicast, speaker.RefreshBoRR)
	readAll(t, s, a, b)
	if len(ft.live()) != 1 || b.has("198.51.100.0/24") == nil {
		t.Fatalf("%d live timers, B has %v", len(ft.live()), b.rib)
	}
	a.ss.Down()
	readAll(t, s, a, b)
	if n := len(ft.live()); n != 0 {
		t.Errorf("%d refresh timers live after the session went down", n)
	}
}
