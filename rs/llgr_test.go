package rs

import (
	"slices"
	"testing"
	"time"

	"github.com/ixrs/ixrs/speaker"
)

// Long-lived graceful restart (llgr.go). The timers are fake: a test fires them.

// withLLGR gives the session the long-lived graceful-restart capability: both families, secs.
func withLLGR(secs uint32) func(*SessionInfo) {
	return func(info *SessionInfo) {
		info.LongLivedGR = []speaker.LLGRFamily{{Family: speaker.IPv4Unicast, StaleTime: secs},
			{Family: speaker.IPv6Unicast, StaleTime: secs}}
	}
}

func llgrStale(a *speaker.Attrs) bool {
	return a != nil && slices.Contains(a.Communities, communityLLGRStale)
}

// llgrSetup: A (graceful restart 120 s, long-lived 3600 s) announces 10.0.1.0/24 and 10.0.2.0/24,
// and 10.0.3.0/24 with NO_LLGR; D announces 10.0.1.0/24 too, with a longer path (A's is best). B
// negotiated LLGR, C did not.
func llgrSetup(t *testing.T, restart uint16) (s *Server, ft *fakeTimers, a, b, c, d *tmember) {
	s, ft = newGRServer(t)
	a = addMember(t, s, "A", 64501, "192.0.2.11", withGR(restart, both...), withLLGR(3600))
	b = addMember(t, s, "B", 64502, "192.0.2.12", withLLGR(60))
	c = addMember(t, s, "C", 64503, "192.0.2.13")
	d = addMember(t, s, "D", 64504, "192.0.2.14")
	a.announce(a.attrs(), "10.0.1.0/24", "10.0.2.0/24")
	no := a.attrs()
	no.Communities = []uint32{communityNoLLGR}
	a.announce(no, "10.0.3.0/24")
	d.announce(d.attrs(65010, 65011), "10.0.1.0/24")
	readAll(t, s, a, b, c, d)
	for _, m := range []*tmember{b, c} {
		if len(m.rib) != 3 || m.from("10.0.1.0/24") != 64501 {
			t.Fatalf("before: %v holds %v", m, m.rib)
		}
	}
	return s, ft, a, b, c, d
}

// TestLLGRAfterRestartTime: the restart time runs out with the member still away: its routes
// become long-lived stale — LLGR_STALE added, kept at B (LLGR) only, withdrawn from C, beaten by
// D's route; the NO_LLGR route is removed. The long-lived stale time ends them all.
func TestLLGRAfterRestartTime(t *testing.T) {
	s, ft, a, b, c, d := llgrSetup(t, 120)
	a.ss.DownGraceful("connection reset")
	readAll(t, s, a, b, c, d)
	if len(b.rib) != 3 || len(c.rib) != 3 || llgrStale(b.has("10.0.2.0/24")) {
		t.Fatalf("within the restart time: B %v, C %v", b.rib, c.rib)
	}
	ft.fire(t, 120*time.Second)
	readAll(t, s, a, b, c, d)
	if !llgrStale(b.has("10.0.2.0/24")) || b.from("10.0.1.0/24") != 64504 || b.has("10.0.3.0/24") != nil || len(b.rib) != 2 {
		t.Fatalf("long-lived stale: B holds %v", b.rib)
	}
	if llgrStale(b.has("10.0.1.0/24")) {
		t.Errorf("B got D's route with LLGR_STALE")
	}
	if c.has("10.0.2.0/24") != nil || c.from("10.0.1.0/24") != 64504 || len(c.rib) != 1 {
		t.Fatalf("long-lived stale: C (no LLGR) holds %v", c.rib)
	}
	if st := s.snapshot(); st.LLGRMarked != 2 || st.StaleRoutes != 2 || st.StaleSwept != 1 {
		t.Fatalf("Stats: %d marked, %d stale, %d swept", st.LLGRMarked, st.StaleRoutes, st.StaleSwept)
	}
	// D (no LLGR) had A's route for its own prefix: now it has none.
	if d.has("10.0.1.0/24") != nil || d.has("10.0.2.0/24") != nil {
		t.Fatalf("D holds %v", d.rib)
	}
	ft.fire(t, 3600*time.Second)
	readAll(t, s, a, b, c, d)
	if len(b.rib) != 1 || b.from("10.0.1.0/24") != 64504 || len(a.ss.stale) != 0 {
		t.Fatalf("after the long-lived stale time: B holds %v, %d stale incarnations", b.rib, len(a.ss.stale))
	}
	if st := s.snapshot(); st.LLGRTimersExpired != 1 || st.StaleRoutes != 0 {
		t.Fatalf("Stats: %d LLGR timers expired, %d stale routes", st.LLGRTimersExpired, st.StaleRoutes)
	}
	checkFreed(t, s)
}

// TestLLGRReturnDuringGR: back within the restart time, nothing becomes long-lived stale: no LLGR
// timer is armed, End-of-RIB sweeps as for graceful restart alone.
func TestLLGRReturnDuringGR(t *testing.T) {
	s, ft, a, b, c, d := llgrSetup(t, 120)
	a.ss.DownGraceful("connection reset")
	readAll(t, s, a, b, c, d)
	a.up(withGR(120, both...), withLLGR(3600))
	a.announce(a.attrs(), "10.0.2.0/24")
	a.eorIn(speaker.IPv4Unicast)
	readAll(t, s, a, b, c, d)
	if len(ft.live()) != 0 || s.snapshot().LLGRMarked != 0 {
		t.Fatalf("timers %d, marked %d", len(ft.live()), s.snapshot().LLGRMarked)
	}
	if len(b.rib) != 2 || b.from("10.0.1.0/24") != 64504 || llgrStale(b.has("10.0.2.0/24")) || len(c.rib) != 2 {
		t.Fatalf("after End-of-RIB: B %v, C %v", b.rib, c.rib)
	}
	checkFreed(t, s)
}

// TestLLGRReturnDuringLLGR: back while long-lived stale, the LLGR timer stops and the stale timer
// runs; a re-announced route replaces its long-lived stale one (without LLGR_STALE, to C again),
// End-of-RIB sweeps the rest.
func TestLLGRReturnDuringLLGR(t *testing.T) {
	s, ft, a, b, c, d := llgrSetup(t, 120)
	a.ss.DownGraceful("connection reset")
	readAll(t, s, a, b, c, d)
	ft.fire(t, 120*time.Second)
	readAll(t, s, a, b, c, d)
	a.up(withGR(120, both...), withLLGRFwd(3600)) // forwarding state kept (TestLLGRReturnWithoutForwardingState)
	readAll(t, s, a, b, c, d)
	if live := ft.live(); len(live) != 1 || live[0].d != 42*time.Second {
		t.Fatalf("back: want the stale timer alone, have %d timers", len(live))
	}
	a.announce(a.attrs(), "10.0.2.0/24")
	readAll(t, s, a, b, c, d)
	if llgrStale(b.has("10.0.2.0/24")) || c.has("10.0.2.0/24") == nil {
		t.Fatalf("re-announced: B %v, C %v", b.has("10.0.2.0/24"), c.has("10.0.2.0/24"))
	}
	if st := s.sessionStatus(a.ss); st.StaleRoutes != 1 {
		t.Fatalf("A has %d stale routes, want 1 (10.0.1.0/24)", st.StaleRoutes)
	}
	a.eorIn(speaker.IPv4Unicast)
	readAll(t, s, a, b, c, d)
	if len(b.rib) != 2 || b.from("10.0.1.0/24") != 64504 || len(a.ss.stale) != 0 || len(ft.live()) != 0 {
		t.Fatalf("after End-of-RIB: B %v, %d stale incarnations, %d timers", b.rib, len(a.ss.stale), len(ft.live()))
	}
	checkFreed(t, s)
}

// TestLLGRRestartTimeZero: with a restart time of 0 and LLGR the routes become long-lived stale at
// once (RFC 9494 §4.2); without LLGR they go at once (TestGRNotGraceful).
func TestLLGRRestartTimeZero(t *testing.T) {
	s, ft, a, b, c, d := llgrSetup(t, 0)
	a.ss.DownGraceful("connection reset")
	readAll(t, s, a, b, c, d)
	ft.fire(t, 0)
	readAll(t, s, a, b, c, d)
	if !llgrStale(b.has("10.0.2.0/24")) || c.has("10.0.2.0/24") != nil {
		t.Fatalf("B %v, C %v", b.rib, c.rib)
	}
	if live := ft.live(); len(live) != 1 || live[0].d != 3600*time.Second {
		t.Fatalf("want the long-lived stale timer, have %d timers", len(live))
	}
}

// TestLLGRStaleReceived: a route a member sends with LLGR_STALE (RFC 9494 §4.3) is treated as long-
// lived stale: it loses to any other route and goes only to members that negotiated LLGR.
func TestLLGRStaleReceived(t *testing.T) {
	s, _ := newGRServer(t)
	a := addMember(t, s, "A", 64501, "192.0.2.11")
	b := addMember(t, s, "B", 64502, "192.0.2.12", withLLGR(60))
	c := addMember(t, s, "C", 64503, "192.0.2.13")
	d := addMember(t, s, "D", 64504, "192.0.2.14")
	st := a.attrs()
	st.Communities = []uint32{communityLLGRStale}
	a.announce(st, "10.0.1.0/24", "10.0.2.0/24")
	d.announce(d.attrs(65010, 65011), "10.0.1.0/24")
	readAll(t, s, a, b, c, d)
	if !llgrStale(b.has("10.0.2.0/24")) || b.from("10.0.1.0/24") != 64504 {
		t.Fatalf("B holds %v", b.rib)
	}
	if c.has("10.0.2.0/24") != nil || c.from("10.0.1.0/24") != 64504 {
		t.Fatalf("C holds %v", c.rib)
	}
	// D's route goes: B gets A's long-lived stale one, C a withdrawal.
	d.withdraw("10.0.1.0/24")
	readAll(t, s, a, b, c, d)
	if b.from("10.0.1.0/24") != 64501 || c.has("10.0.1.0/24") != nil {
		t.Fatalf("after D's withdrawal: B %v, C %v", b.rib, c.rib)
	}
}
