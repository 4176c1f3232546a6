package rs

import (
	"bytes"
	"net/netip"
	"testing"

	"github.com/ixrs/ixrs/speaker"
)

func addLimited(t *testing.T, s *Server, name string, asn uint32, addr string, mp MaxPrefix) *tmember {
	t.Helper()
	if err := s.addMember(MemberConfig{Name: name, ASN: asn, MaxPrefix: mp}); err != nil {
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

func announceN(m *tmember, base, n int) {
	for _, p := range seqPrefixes(base, n, false) {
		m.announce(m.attrs(), p.String())
	}
}

// TestMaxPrefix: one case per action, with a count under the limit (nothing happens) and over it.
func TestMaxPrefix(t *testing.T) {
	for _, tt := range []struct {
		action     MaxPrefixAction
		wantRoutes int // routes B holds from A after 5 announced against a limit of 3
		wantEvent  bool
	}{
		{MaxPrefixWarn, 5, false},
		{MaxPrefixBlock, 3, false},
		{MaxPrefixRestart, 3, true},
		{MaxPrefixShutdown, 3, true},
	} {
		t.Run(tt.action.String(), func(t *testing.T) {
			var events []MaxPrefixEvent
			s := newTestServer(t, func(c *Config) { c.OnMaxPrefix = func(e MaxPrefixEvent) { events = append(events, e) } })
			a := addLimited(t, s, "A", 64501, "192.0.2.11", MaxPrefix{IPv4: 3, WarnPercent: 50, Action: tt.action})
			b := addMember(t, s, "B", 64502, "192.0.2.12")
			announceN(a, 0, 3)
			readAll(t, s, a, b)
			if len(b.rib) != 3 || len(events) != 0 {
				t.Fatalf("at the limit: B has %d routes, %d events", len(b.rib), len(events))
			}
			// Re-announcing a held prefix is no new route.
			announceN(a, 0, 3)
			announceN(a, 3, 2)
			readAll(t, s, a, b)
			if len(b.rib) != tt.wantRoutes {
				t.Errorf("B has %d routes, want %d", len(b.rib), tt.wantRoutes)
			}
			if (len(events) == 1) != tt.wantEvent {
				t.Fatalf("events %v", events)
			}
			if tt.wantEvent {
				e := events[0]
				want := []byte{0, 1, 1, 0, 0, 0, 3} // AFI 1, SAFI 1, limit 3 (RFC 4486)
				if e.Peer != a.ss || e.Action != tt.action || e.Family != speaker.IPv4Unicast ||
					e.Notification.Code != speaker.ErrCease || e.Notification.Subcode != speaker.SubMaxPrefixes ||
					!bytes.Equal(e.Notification.Data, want) {
					t.Errorf("event %+v", e)
				}
				// The session layer closes the session: its routes go, and a new incarnation
				// starts clean.
				a.ss.Down()
				readAll(t, s, a, b)
				if len(b.rib) != 0 {
					t.Errorf("after Down B still has %d routes", len(b.rib))
				}
				a.up()
				announceN(a, 0, 2)
				readAll(t, s, a, b)
				if len(b.rib) != 2 {
					t.Errorf("after restart B has %d routes", len(b.rib))
				}
			}
		})
	}
}
