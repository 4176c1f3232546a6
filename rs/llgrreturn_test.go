package rs

import (
	"net/netip"
	"testing"
	"time"

	"github.com/ixrs/ixrs/speaker"
)

// The long-lived graceful-restart rules on a member's return and for families outside its
// graceful-restart capability (llgr.go).

// withLLGRFwd is withLLGR with the forwarding-state bit set for every family.
func withLLGRFwd(secs uint32) func(*SessionInfo) {
	return func(info *SessionInfo) {
		withLLGR(secs)(info)
		for i := range info.LongLivedGR {
			info.LongLivedGR[i].ForwardingState = true
		}
	}
}

// TestLLGRReturnWithoutForwardingState: a member back while its routes are long-lived stale, whose
// new OPEN's LLGR capability lacks the forwarding-state bit for the family (or the family, or the
// capability), lost them: they go at once (RFC 9494 §4.2), without waiting for End-of-RIB. With the
// bit they wait for End-of-RIB.
func TestLLGRReturnWithoutForwardingState(t *testing.T) {
	for _, tc := range []struct {
		name  string
		llgr  func(*SessionInfo)
		swept bool
	}{
		{"F bit clear", withLLGR(3600), true},
		{"no LLGR capability", func(*SessionInfo) {}, true},
		{"F bit set", withLLGRFwd(3600), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, ft, a, b, c, d := llgrSetup(t, 120)
			a.ss.DownGraceful("connection reset")
			readAll(t, s, a, b, c, d)
			ft.fire(t, 120*time.Second)
			readAll(t, s, a, b, c, d)
			if !llgrStale(b.has("10.0.2.0/24")) {
				t.Fatalf("not long-lived stale: B holds %v", b.rib)
			}
			a.up(withGR(120, both...), tc.llgr)
			readAll(t, s, a, b, c, d)
			if got := b.has("10.0.2.0/24") == nil; got != tc.swept {
				t.Fatalf("back: 10.0.2.0/24 removed at B %v, want %v (B holds %v)", got, tc.swept, b.rib)
			}
			if tc.swept {
				if b.from("10.0.1.0/24") != 64504 || len(a.ss.stale) != 0 || len(ft.live()) != 0 {
					t.Fatalf("B %v, %d stale incarnations, %d timers", b.rib, len(a.ss.stale), len(ft.live()))
				}
				checkFreed(t, s)
				return
			}
			a.eorIn(speaker.IPv4Unicast)
			readAll(t, s, a, b, c, d)
			if b.has("10.0.2.0/24") != nil || len(a.ss.stale) != 0 {
				t.Fatalf("after End-of-RIB: B %v, %d stale incarnations", b.rib, len(a.ss.stale))
			}
			checkFreed(t, s)
		})
	}
}

// TestLLGRFamilyOutsideGR: a family in the member's LLGR capability but not in its graceful-restart
// capability becomes long-lived stale as soon as the session goes down (RFC 9494 §4.2), with its
// own long-lived stale time; the family in both waits for the restart time first. The restart
// time's expiry does not restart the first family's long-lived stale timer.
func TestLLGRFamilyOutsideGR(t *testing.T) {
	s, ft := newGRServer(t)
	if err := s.addMember(MemberConfig{Name: "A", ASN: 64501}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.addPeer("A", netip.MustParseAddr("2001:db8::11")); err != nil {
		t.Fatal(err)
	}
	v4 := netip.MustParseAddr("192.0.2.11")
	ss, err := s.addPeer("A", v4)
	if err != nil {
		t.Fatal(err)
	}
	a := &tmember{t: t, name: "A", asn: 64501, addr: v4, ss: ss, out: &fakeOut{}}
	v4only := func(info *SessionInfo) {
		info.GracefulRestart = &speaker.GracefulRestart{RestartTime: 120,
			Families: []speaker.GRFamily{{Family: speaker.IPv4Unicast, ForwardingState: true}}}
	}
	a.up(v4only, withLLGR(3600))
	b := addMember(t, s, "B", 64502, "192.0.2.12", withLLGR(60))
	c := addMember(t, s, "C", 64503, "192.0.2.13")
	a.announce(a.attrs(), "10.0.1.0/24")
	a.announce(&speaker.Attrs{ASPath: speaker.ASPath{{Type: speaker.SegSequence, ASNs: []uint32{64501}}},
		MPNextHop: netip.MustParseAddr("2001:db8::11")}, "2001:db8:1::/48")
	readAll(t, s, a, b, c)
	if len(b.rib) != 2 || len(c.rib) != 2 {
		t.Fatalf("before: B %v, C %v", b.rib, c.rib)
	}
	a.ss.DownGraceful("connection reset")
	readAll(t, s, a, b, c)
	if !llgrStale(b.has("2001:db8:1::/48")) || llgrStale(b.has("10.0.1.0/24")) || b.has("10.0.1.0/24") == nil {
		t.Fatalf("down: B holds %v, want the IPv6 route long-lived stale, the IPv4 one stale", b.rib)
	}
	if c.has("2001:db8:1::/48") != nil || c.has("10.0.1.0/24") == nil {
		t.Fatalf("down: C (no LLGR) holds %v", c.rib)
	}
	if live := ft.live(); len(live) != 2 {
		t.Fatalf("down: want the restart timer and the IPv6 long-lived stale timer, have %d", len(live))
	}
	// The restart time runs out: IPv4 turns long-lived stale; the IPv6 timer is not restarted.
	var grTimer *fakeTimer
	for _, x := range ft.live() {
		if x.d == 120*time.Second {
			grTimer = x
		}
	}
	if grTimer == nil {
		t.Fatal("no restart timer")
	}
	grTimer.stopped = true
	grTimer.f()
	readAll(t, s, a, b, c)
	if !llgrStale(b.has("10.0.1.0/24")) || c.has("10.0.1.0/24") != nil {
		t.Fatalf("restart time out: B %v, C %v", b.rib, c.rib)
	}
	if st := s.snapshot(); st.LLGRMarked != 2 {
		t.Fatalf("%d routes marked, want 2", st.LLGRMarked)
	}
	if n := len(ft.ts); n != 3 {
		t.Fatalf("%d timers armed in all, want 3 (restart, IPv6 and IPv4 long-lived)", n)
	}
	for _, x := range ft.live() {
		x.stopped = true
		x.f()
	}
	readAll(t, s, a, b, c)
	if len(b.rib) != 0 || len(a.ss.stale) != 0 {
		t.Fatalf("long-lived stale times out: B %v, %d stale incarnations", b.rib, len(a.ss.stale))
	}
	checkFreed(t, s)
}
