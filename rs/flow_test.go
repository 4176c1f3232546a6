package rs

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/ixrs/ixrs/policy"
	"github.com/ixrs/ixrs/speaker"
)

// busy makes a member's socket busy: the route server stops encoding for it after its first
// bytes until it reads, as when the member's router is slower than the churn.
func busy(c *Config) { c.OutHighWater, c.OutLowWater, c.InboundQueue = 1, 0, 256 }

// TestCoalescing: announce, withdraw, announce of one prefix in one burst (while the member's
// socket is busy) reaches it once, in its final state; announce then withdraw of a new prefix
// reaches it not at all; and the backlog is one change-list entry per prefix, however much churn.
func TestCoalescing(t *testing.T) {
	s := newTestServer(t, busy)
	a := addMember(t, s, "A", 64501, "192.0.2.11")
	b := addMember(t, s, "B", 64502, "192.0.2.12")
	readAll(t, s, a, b)
	a.announce(a.attrs(), "192.0.2.128/25")
	settle(t, s) // B is sent this one and is busy from now on
	before := len(b.msgs)

	a.announce(a.attrs(65001), "203.0.113.0/24", "198.51.100.0/24")
	a.withdraw("203.0.113.0/24")
	a.announce(a.attrs(65002), "203.0.113.0/24")
	a.withdraw("198.51.100.0/24")
	for i := range 50 {
		a.announce(a.attrs(uint32(65100+i)), "192.0.2.0/25")
	}
	settle(t, s)
	if st := s.snapshot(); st.ChangeList != 3 || st.Pending != 0 {
		t.Errorf("while B is busy: change list %d (want 3), pending %d", st.ChangeList, st.Pending)
	}
	readAll(t, s, a, b)

	got := b.msgs[before+1:] // after the UPDATE sent before the burst
	if len(got) != 2 {
		t.Fatalf("B received %d UPDATEs for the burst, want 2 (two attribute sets)", len(got))
	}
	announced := map[netip.Prefix]string{}
	for _, u := range got {
		if len(u.Withdrawn) != 0 {
			t.Errorf("B received withdrawals %v", u.Withdrawn)
		}
		for _, p := range u.NLRI {
			if _, dup := announced[p]; dup {
				t.Errorf("%v announced twice", p)
			}
			announced[p] = u.Attrs.ASPath.String()
		}
	}
	want := map[netip.Prefix]string{
		netip.MustParsePrefix("203.0.113.0/24"): "64501 65002",
		netip.MustParsePrefix("192.0.2.0/25"):   "64501 65149",
	}
	if len(announced) != len(want) {
		t.Errorf("B received %v", announced)
	}
	for p, path := range want {
		if announced[p] != path {
			t.Errorf("%v: B received path %q, want the final %q", p, announced[p], path)
		}
	}
}

// TestWithdrawalsFirst: in one batch, withdrawals go out before announcements, whatever their
// order of arrival.
func TestWithdrawalsFirst(t *testing.T) {
	s := newTestServer(t, busy)
	a := addMember(t, s, "A", 64501, "192.0.2.11")
	b := addMember(t, s, "B", 64502, "192.0.2.12")
	a.announce(a.attrs(), "203.0.113.0/24")
	readAll(t, s, a, b)
	a.announce(a.attrs(), "192.0.2.0/24")
	settle(t, s)
	before := len(b.msgs)
	a.announce(a.attrs(65001), "198.51.100.0/24")
	a.withdraw("203.0.113.0/24")
	readAll(t, s, a, b)
	got := b.msgs[before+1:]
	if len(got) != 2 || len(got[0].Withdrawn) != 1 || len(got[1].NLRI) != 1 {
		t.Fatalf("B received %d UPDATEs; the first withdraws %d", len(got), len(got[0].Withdrawn))
	}
}

// TestPacking: a table reaches a member in full messages, every prefix exactly once, for IPv4 NLRI
// and MP_REACH alike, at 4096 and 65535 bytes; both when the member comes up after the table is
// there (table dump) and when the table arrives while its socket is busy (change list).
func TestPacking(t *testing.T) {
	for _, tc := range []struct {
		name string
		v6   bool
		max  int
		dump bool
	}{
		{"ipv4-4096-dump", false, 4096, true}, {"ipv6-4096-dump", true, 4096, true},
		{"ipv4-65535-dump", false, 65535, true}, {"ipv6-65535-dump", true, 65535, true},
		{"ipv4-4096-busy", false, 4096, false}, {"ipv6-65535-busy", true, 65535, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newTestServer(t, nil)
			addr := "192.0.2.11"
			if tc.v6 {
				addr = "2001:db8::11"
			}
			a := addMember(t, s, "A", 64501, addr)
			var b *tmember
			info := func(i *SessionInfo) { i.Encode.MaxMessage = tc.max }
			if !tc.dump {
				b = addMember(t, s, "B", 64502, "192.0.2.12", info)
				readAll(t, s, a, b)
				// One UPDATE sits unread in B's buffer: B is busy while the table arrives.
				s.cfg.OutHighWater, s.cfg.OutLowWater = 1, 0
				a.announce(a.attrs(), "192.0.2.0/24")
				settle(t, s)
			}
			const n = 20000
			ps := seqPrefixes(0, n, tc.v6)
			at := a.attrs(65001, 65002)
			at.Communities = []uint32{std(64501, 1), std(64501, 2)}
			for i := 0; i < n; i += 500 {
				if err := a.ss.Receive(&speaker.Update{Attrs: at, NLRI: ps[i : i+500]}); err != nil {
					t.Fatal(err)
				}
				settle(t, s)
			}
			if tc.dump {
				b = addMember(t, s, "B", 64502, "192.0.2.12", info)
			} else {
				s.cfg.OutHighWater, s.cfg.OutLowWater = 256<<10, 64<<10
			}
			before := len(b.msgs)
			readAll(t, s, a, b)
			seen := make(map[netip.Prefix]int)
			for _, u := range b.msgs[before:] {
				for _, p := range u.NLRI {
					seen[p]++
				}
			}
			for _, p := range ps {
				if seen[p] != 1 {
					t.Fatalf("%v received %d times", p, seen[p])
				}
			}
			sizes := b.sizes[before:]
			per := 4 // bytes per /24
			if tc.v6 {
				per = 7 // per /48
			}
			full := 0
			for _, sz := range sizes {
				if sz > tc.max-per {
					full++
				}
			}
			// All but the last UPDATE of the table, and the End-of-RIB markers, are full.
			if extra := len(sizes) - full; extra > 3 {
				t.Errorf("%d of %d UPDATEs not full: sizes %v", extra, len(sizes), sizes)
			}
			t.Logf("%d prefixes in %d UPDATEs (%d full)", n, len(sizes), full)
		})
	}
}

// TestTwoOctetReceiver: a member without the four-octet AS capability gets AS_TRANS in AS_PATH and
// the real path in AS4_PATH, which its decoder merges back; its encoding is cached apart.
func TestTwoOctetReceiver(t *testing.T) {
	s := newTestServer(t, nil)
	a := addMember(t, s, "A", 4200000001, "192.0.2.11")
	b := addMember(t, s, "B", 64502, "192.0.2.12", func(i *SessionInfo) { i.Encode.FourOctetAS = false })
	c := addMember(t, s, "C", 64503, "192.0.2.13")
	a.announce(a.attrs(65001, 4200000002), "203.0.113.0/24")
	readAll(t, s, a, b, c)
	for _, m := range []*tmember{b, c} {
		got := m.has("203.0.113.0/24")
		if got == nil || got.ASPath.String() != "4200000001 65001 4200000002" {
			t.Errorf("%v decoded path %v", m, got)
		}
	}
	set := s.prefixes.get(netip.MustParsePrefix("203.0.113.0/24")).routes()[0].set.out
	two, four := set.cachedEnc(encIndex(0, speaker.EncodeOptions{})), set.cachedEnc(encIndex(0, speaker.EncodeOptions{FourOctetAS: true}))
	if two == nil || four == nil || string(two) == string(four) {
		t.Fatalf("expected two different cached encodings")
	}
	u, uerr := speaker.DecodeUpdate(append([]byte{0, 0, byte(len(two) >> 8), byte(len(two))}, two...),
		speaker.DecodeOptions{FourOctetAS: true}) // read the 2-octet bytes as if 4-octet: no merge
	if uerr == nil && u.Attrs != nil && u.Attrs.ASPath.Contains(4200000001) {
		t.Errorf("2-octet encoding carries the 4-octet AS in AS_PATH")
	}
}

// TestSessionDown: a member's routes are withdrawn from everyone when its session goes down, the
// next best route takes over, and its id is reused once its Adj-RIB-Out bits are cleared.
func TestSessionDown(t *testing.T) {
	s := newTestServer(t, func(c *Config) { c.ClearBatch = 3 })
	a := addMember(t, s, "A", 64501, "192.0.2.11")
	b := addMember(t, s, "B", 64502, "192.0.2.12")
	c := addMember(t, s, "C", 64503, "192.0.2.13")
	a.announce(a.attrs(), "203.0.113.0/24", "198.51.100.0/24", "192.0.2.128/25")
	b.announce(b.attrs(65002), "203.0.113.0/24")
	readAll(t, s, a, b, c)
	if c.from("203.0.113.0/24") != 64501 || len(c.rib) != 3 {
		t.Fatalf("C has %d routes", len(c.rib))
	}
	aID := a.ss.p.id
	a.ss.Down()
	readAll(t, s, a, b, c)
	if len(c.rib) != 1 || c.from("203.0.113.0/24") != 64502 {
		t.Errorf("after A went down C has %v", c.rib)
	}
	if len(b.rib) != 0 {
		t.Errorf("after A went down B has %v", b.rib)
	}
	if st := s.snapshot(); st.ClearWalks != 0 || st.Routes != 1 || st.Prefixes != 1 {
		t.Errorf("after down: %+v", st)
	}
	// A comes back: it gets the table again (B's route) and End-of-RIB, and the lowest free id.
	a.up()
	readAll(t, s, a, b, c)
	if a.ss.p.id != aID {
		t.Errorf("A got id %d, want the freed %d", a.ss.p.id, aID)
	}
	if a.from("203.0.113.0/24") != 64502 || a.eor[speaker.IPv4Unicast] != 1 {
		t.Errorf("A after coming back: %v, eor %v", a.rib, a.eor)
	}
	if err := a.ss.Receive(&speaker.Update{}); err != nil {
		t.Errorf("Receive after Up: %v", err)
	}
	a.ss.Down()
	if err := a.ss.Receive(&speaker.Update{}); !errors.Is(err, ErrNotUp) {
		t.Errorf("Receive after Down = %v", err)
	}
}

// TestRouteRefresh: a refresh sends everything the member should have again, only for the family
// asked.
func TestRouteRefresh(t *testing.T) {
	s := newTestServer(t, nil)
	a := addMember(t, s, "A", 64501, "192.0.2.11")
	b := addMember(t, s, "B", 64502, "192.0.2.12")
	a6ss, _ := s.addPeer("A", netip.MustParseAddr("2001:db8::11"))
	a6 := &tmember{t: t, name: "A6", asn: 64501, addr: a6ss.addr, ss: a6ss, out: &fakeOut{}}
	a6.up()
	a.announce(a.attrs(), "203.0.113.0/24", "198.51.100.0/24")
	a6.announce(a6.attrs(), "2001:db8:1::/48")
	readAll(t, s, a, b, a6)
	before := len(b.msgs)
	if err := b.ss.RouteRefresh(speaker.IPv4Unicast); err != nil {
		t.Fatal(err)
	}
	readAll(t, s, a, b, a6)
	n4, n6 := 0, 0
	for _, u := range b.msgs[before:] {
		for _, p := range u.NLRI {
			if p.Addr().Is4() {
				n4++
			} else {
				n6++
			}
		}
	}
	if n4 != 2 || n6 != 0 {
		t.Errorf("refresh re-sent %d IPv4 and %d IPv6 prefixes, want 2 and 0", n4, n6)
	}
	if len(b.rib) != 3 {
		t.Errorf("B has %d routes", len(b.rib))
	}
}

// TestSlowMemberDoesNotDelayOthers: a member that never reads gets throttled with bounded pending
// state while the others receive everything.
func TestSlowMemberDoesNotDelayOthers(t *testing.T) {
	s := newTestServer(t, func(c *Config) { c.InboundQueue = 1000; c.OutHighWater = 64 << 10 })
	a := addMember(t, s, "A", 64501, "192.0.2.11")
	b := addMember(t, s, "B", 64502, "192.0.2.12")
	slow := addMember(t, s, "Slow", 64503, "192.0.2.13")
	const n = 50000
	ps := seqPrefixes(0, n, false)
	for i := 0; i < n; i += 1000 {
		a.ss.Receive(&speaker.Update{Attrs: a.attrs(), NLRI: ps[i : i+1000]})
	}
	for i := 0; i < 10000 && len(b.rib) < n; i++ {
		s.pass()
		b.read() // B reads; Slow never does
	}
	if len(b.rib) != n {
		t.Fatalf("B received %d of %d routes", len(b.rib), n)
	}
	st := s.sessionStatus(slow.ss)
	if !st.Throttled {
		t.Errorf("Slow is not throttled")
	}
	if st.OutBuffered > s.cfg.OutHighWater+speaker.MaxMessageLen || st.Pending > s.cfg.PendingMax+s.cfg.WalkBatch {
		t.Errorf("Slow holds %d bytes out and %d pending", st.OutBuffered, st.Pending)
	}
	if cl := s.snapshot().ChangeList; cl > n {
		t.Errorf("change list %d longer than the table", cl)
	}
	// Once Slow reads, it catches up completely.
	readAll(t, s, a, b, slow)
	if len(slow.rib) != n {
		t.Errorf("Slow received %d of %d routes after catching up", len(slow.rib), n)
	}
}

// TestFairness: a member with 100,000 routes queued does not delay another member's withdrawal:
// counted in loop passes and in UPDATEs received, not in time.
func TestFairness(t *testing.T) {
	s := newTestServer(t, func(c *Config) { c.InboundQueue = 200 })
	a := addMember(t, s, "A", 64501, "192.0.2.11")
	b := addMember(t, s, "B", 64502, "192.0.2.12")
	c := addMember(t, s, "C", 64503, "192.0.2.13")
	b.announce(b.attrs(), "198.51.100.0/24")
	readAll(t, s, a, b, c)
	if c.has("198.51.100.0/24") == nil {
		t.Fatal("C does not have B's route")
	}
	before := len(c.msgs)

	const n = 100000
	ps := seqPrefixes(0, n, false)
	for i := 0; i < n; i += 1000 {
		if err := a.ss.Receive(&speaker.Update{Attrs: a.attrs(), NLRI: ps[i : i+1000]}); err != nil {
			t.Fatal(err)
		}
	}
	b.withdraw("198.51.100.0/24")
	passes := 0
	for c.has("198.51.100.0/24") != nil {
		if passes++; passes > 10 {
			t.Fatalf("withdrawal not at C after %d passes", passes)
		}
		s.pass()
		c.read()
		a.read()
		b.read()
	}
	upd := 0
	for i, u := range c.msgs[before:] {
		if len(u.Withdrawn) > 0 {
			upd = i + 1
			break
		}
	}
	t.Logf("withdrawal at C after %d passes, in UPDATE %d of its stream", passes, upd)
	if passes > 2 || upd != 1 {
		t.Errorf("withdrawal took %d passes and came as UPDATE %d", passes, upd)
	}
	readAll(t, s, a, b, c)
	if len(c.rib) != n {
		t.Errorf("C has %d routes", len(c.rib))
	}
}

// TestFilteredRoutesKept: rejected routes stay in the Adj-RIB-In with every reason and go to nobody.
func TestFilteredRoutesKept(t *testing.T) {
	s := newTestServer(t, nil)
	a := addMember(t, s, "A", 64501, "192.0.2.11")
	b := addMember(t, s, "B", 64502, "192.0.2.12")
	bad := a.attrs()
	bad.NextHop = netip.MustParseAddr("192.0.2.99")
	bad.ASPath[0].ASNs[0] = 64999
	a.announce(bad, "203.0.113.0/24")
	a.announce(a.attrs(), "198.51.100.0/24")
	readAll(t, s, a, b)
	if b.has("203.0.113.0/24") != nil || b.has("198.51.100.0/24") == nil {
		t.Fatalf("B has %v", b.rib)
	}
	page, err := s.routes(RoutesQuery{Neighbor: a.addr, View: ViewFiltered})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Routes) != 1 || page.Next != -1 {
		t.Fatalf("filtered page: %+v", page)
	}
	want := policy.Reasons(0).Add(policy.NextHopNotPeerIP).Add(policy.FirstASNotPeerAS)
	if got := page.Routes[0].Reasons; got != want {
		t.Errorf("reasons %v, want %v", got, want)
	}
	st := s.sessionStatus(a.ss)
	if fc := st.Families[0]; fc.Received != 2 || fc.Accepted != 1 || fc.Filtered != 1 || fc.FilteredBy[policy.NextHopNotPeerIP] != 1 {
		t.Errorf("counts %+v", fc)
	}
	// Fixing the route makes it a candidate; breaking it again withdraws it.
	a.announce(a.attrs(), "203.0.113.0/24")
	readAll(t, s, a, b)
	if b.has("203.0.113.0/24") == nil {
		t.Errorf("fixed route not sent")
	}
	a.announce(bad, "203.0.113.0/24")
	readAll(t, s, a, b)
	if b.has("203.0.113.0/24") != nil {
		t.Errorf("route rejected again still at B")
	}
}

// TestIdenticalReannouncement costs nothing downstream.
func TestIdenticalReannouncement(t *testing.T) {
	s := newTestServer(t, nil)
	a := addMember(t, s, "A", 64501, "192.0.2.11")
	b := addMember(t, s, "B", 64502, "192.0.2.12")
	a.announce(a.attrs(), "203.0.113.0/24")
	readAll(t, s, a, b)
	before := len(b.msgs)
	a.announce(a.attrs(), "203.0.113.0/24") // equal attributes, a different *Attrs
	readAll(t, s, a, b)
	if len(b.msgs) != before {
		t.Errorf("identical re-announcement sent %d UPDATEs", len(b.msgs)-before)
	}
	if st := s.snapshot(); st.AttrSets != 1 || st.Routes != 1 {
		t.Errorf("%d sets, %d routes", st.AttrSets, st.Routes)
	}
}

// TestFamilies: a session without IPv6 gets no IPv6 routes and no IPv6 End-of-RIB.
func TestFamilies(t *testing.T) {
	s := newTestServer(t, nil)
	a := addMember(t, s, "A", 64501, "2001:db8::11")
	b := addMember(t, s, "B", 64502, "192.0.2.12", func(i *SessionInfo) { i.Families = []speaker.Family{speaker.IPv4Unicast} })
	c := addMember(t, s, "C", 64503, "2001:db8::13")
	a.announce(a.attrs(), "2001:db8:1::/48")
	readAll(t, s, a, b, c)
	if len(b.rib) != 0 || b.eor[speaker.IPv6Unicast] != 0 || b.eor[speaker.IPv4Unicast] != 1 {
		t.Errorf("B: rib %v eor %v", b.rib, b.eor)
	}
	if got := c.has("2001:db8:1::/48"); got == nil || got.MPNextHop != a.addr {
		t.Errorf("C: %v", got)
	}
}

// TestEndOfRIBUnderChurn: a member coming up while another keeps changing routes still gets its
// End-of-RIB, after the whole table.
func TestEndOfRIBUnderChurn(t *testing.T) {
	s := newTestServer(t, func(c *Config) { c.WalkBatch = 64 })
	a := addMember(t, s, "A", 64501, "192.0.2.11")
	ps := seqPrefixes(0, 5000, false)
	for i := 0; i < len(ps); i += 500 {
		a.ss.Receive(&speaker.Update{Attrs: a.attrs(), NLRI: ps[i : i+500]})
		settle(t, s)
	}
	b := addMember(t, s, "B", 64502, "192.0.2.12")
	for i := 0; b.eor[speaker.IPv4Unicast] == 0; i++ {
		if i > 1000 {
			t.Fatalf("no End-of-RIB after %d passes of churn; B has %d routes", i, len(b.rib))
		}
		a.announce(a.attrs(uint32(i)), "198.51.100.0/24", "198.51.101.0/24")
		s.pass()
		b.read()
	}
	if len(b.rib) < len(ps) {
		t.Errorf("End-of-RIB after %d of %d routes", len(b.rib), len(ps))
	}
}
