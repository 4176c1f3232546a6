package rs

import (
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/ixrs/ixrs/speaker"
)

// Graceful restart helper (gr.go). The timers are fake: a test fires them.

type fakeTimers struct {
	ts []*fakeTimer
}

type fakeTimer struct {
	d       time.Duration
	f       func()
	stopped bool
}

func (ft *fakeTimers) after(d time.Duration, f func()) func() bool {
	t := &fakeTimer{d: d, f: f}
	ft.ts = append(ft.ts, t)
	return func() bool { was := !t.stopped; t.stopped = true; return was }
}

// live returns the timers not stopped.
func (ft *fakeTimers) live() []*fakeTimer {
	var out []*fakeTimer
	for _, t := range ft.ts {
		if !t.stopped {
			out = append(out, t)
		}
	}
	return out
}

// fire runs the one live timer, which must run for d.
func (ft *fakeTimers) fire(t testing.TB, d time.Duration) {
	t.Helper()
	live := ft.live()
	if len(live) != 1 || live[0].d != d {
		var ds []time.Duration
		for _, x := range live {
			ds = append(ds, x.d)
		}
		t.Fatalf("live timers %v, want one of %v", ds, d)
	}
	live[0].stopped = true
	live[0].f()
}

func newGRServer(t testing.TB) (*Server, *fakeTimers) {
	ft := &fakeTimers{}
	s := newTestServer(t, func(c *Config) { c.afterFunc = ft.after; c.StaleTime = 42 * time.Second })
	return s, ft
}

// withGR gives the session the member's graceful-restart capability: restart time secs, both
// families, forwarding state kept for those in fwd.
func withGR(secs uint16, fwd ...speaker.Family) func(*SessionInfo) {
	return func(info *SessionInfo) {
		gr := &speaker.GracefulRestart{RestartTime: secs}
		for _, f := range []speaker.Family{speaker.IPv4Unicast, speaker.IPv6Unicast} {
			gr.Families = append(gr.Families, speaker.GRFamily{Family: f, ForwardingState: slices.Contains(fwd, f)})
		}
		info.GracefulRestart = gr
	}
}

var both = []speaker.Family{speaker.IPv4Unicast, speaker.IPv6Unicast}

func (m *tmember) eorIn(f speaker.Family) {
	m.t.Helper()
	if err := m.ss.Receive(&speaker.Update{EndOfRIB: f}); err != nil {
		m.t.Fatal(err)
	}
}

// grSetup: A (graceful restart, 120 s) announces four prefixes, B watches.
func grSetup(t *testing.T) (*Server, *fakeTimers, *tmember, *tmember) {
	s, ft := newGRServer(t)
	// A has an IPv6 neighbor address too (not up), so that its IPv6 next hop passes import.
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
	a.up(withGR(120, both...))
	b := addMember(t, s, "B", 64502, "192.0.2.12")
	a.announce(a.attrs(), "10.0.1.0/24", "10.0.2.0/24", "10.0.3.0/24")
	a.announce(&speaker.Attrs{ASPath: speaker.ASPath{{Type: speaker.SegSequence, ASNs: []uint32{64501}}},
		MPNextHop: netip.MustParseAddr("2001:db8::11")}, "2001:db8:1::/48")
	readAll(t, s, a, b)
	if len(b.rib) != 4 {
		t.Fatalf("B holds %d routes, want 4", len(b.rib))
	}
	return s, ft, a, b
}

// TestGRStaleSweptAtEndOfRIB: a member restarting gracefully keeps its routes at the others
// without a single UPDATE; back, it re-announces some (unchanged: nothing sent; changed: one
// UPDATE), withdraws one, and its End-of-RIB removes the one it did not announce again.
func TestGRStaleSweptAtEndOfRIB(t *testing.T) {
	s, ft, a, b := grSetup(t)
	before := len(b.msgs)
	a.ss.DownGraceful("connection reset")
	readAll(t, s, a, b)
	if st := s.sessionStatus(a.ss); len(b.rib) != 4 || st.StaleRoutes != 4 || st.Up {
		t.Fatalf("after the graceful down: B holds %d routes, A has %d stale routes, up %v", len(b.rib), st.StaleRoutes, st.Up)
	}
	if n := len(b.msgs) - before; n != 0 {
		t.Fatalf("B got %d UPDATEs for a graceful restart", n)
	}
	if st := s.snapshot(); st.StaleRoutes != 4 || st.SessionsUp != 1 {
		t.Fatalf("Stats: %d stale routes, %d sessions up", st.StaleRoutes, st.SessionsUp)
	}
	if live := ft.live(); len(live) != 1 || live[0].d != 120*time.Second {
		t.Fatalf("restart timer: %v", live)
	}

	a.up(withGR(120, both...))
	readAll(t, s, a, b)
	if live := ft.live(); len(live) != 1 || live[0].d != 42*time.Second {
		t.Fatalf("back up: the stale timer should run, %v", live)
	}
	a.announce(a.attrs(), "10.0.1.0/24")      // unchanged
	a.announce(a.attrs(65010), "10.0.2.0/24") // changed
	a.withdraw("10.0.3.0/24")                 // gone
	readAll(t, s, a, b)
	if got := b.from("10.0.1.0/24"); got != 64501 || b.has("10.0.3.0/24") != nil || b.has("2001:db8:1::/48") == nil {
		t.Fatalf("before End-of-RIB: B holds %v", b.rib)
	}
	if p := b.has("10.0.2.0/24"); p == nil || len(p.ASPath[0].ASNs) != 2 {
		t.Fatalf("the changed route did not reach B: %v", p)
	}
	if n := len(b.msgs) - before; n != 2 {
		t.Fatalf("B got %d UPDATEs for one changed and one withdrawn route, want 2", n)
	}
	a.eorIn(speaker.IPv4Unicast)
	readAll(t, s, a, b)
	if n := len(b.msgs) - before; n != 2 || len(b.rib) != 3 {
		t.Fatalf("End-of-RIB for IPv4 swept an IPv4 route nothing stale was left for: %d UPDATEs, B holds %v", n, b.rib)
	}
	if st := s.sessionStatus(a.ss); st.StaleRoutes != 1 {
		t.Fatalf("stale routes left %d, want the IPv6 one", st.StaleRoutes)
	}
	a.eorIn(speaker.IPv6Unicast)
	readAll(t, s, a, b)
	if b.has("2001:db8:1::/48") != nil || len(b.rib) != 2 || len(b.msgs)-before != 3 {
		t.Fatalf("after End-of-RIB: B holds %v after %d UPDATEs", b.rib, len(b.msgs)-before)
	}
	if st := s.sessionStatus(a.ss); st.StaleRoutes != 0 || len(a.ss.stale) != 0 || len(ft.live()) != 0 {
		t.Fatalf("after the sweep: %d stale routes, %d stale incarnations, %d timers", st.StaleRoutes, len(a.ss.stale), len(ft.live()))
	}
	if st := s.snapshot(); st.StaleReplaced != 3 || st.StaleSwept != 1 || st.StaleRoutes != 0 {
		t.Fatalf("Stats: replaced %d swept %d stale %d", st.StaleReplaced, st.StaleSwept, st.StaleRoutes)
	}
	checkFreed(t, s)
}

// checkFreed: every session slot is held by an established session or by one still clearing.
func checkFreed(t *testing.T, s *Server) {
	t.Helper()
	for id, p := range s.peers {
		if p != nil && p.down && p.cleared {
			t.Errorf("id %d held by a departed session with nothing left", id)
		}
	}
}

// TestGRRestartTimeExpires: a member that does not come back loses its routes when its restart
// time runs out; a timer that was stopped before changes nothing.
func TestGRRestartTimeExpires(t *testing.T) {
	s, ft, a, b := grSetup(t)
	a.ss.DownGraceful("connection reset")
	readAll(t, s, a, b)
	stale := ft.live()[0]
	stale.f() // the timer ran out just as it was (not) stopped: the event of the live one counts
	readAll(t, s, a, b)
	if len(b.rib) != 0 {
		t.Fatalf("after the restart time: B still holds %v", b.rib)
	}
	if st := s.snapshot(); st.StaleTimersExpired != 1 || st.StaleSwept != 4 {
		t.Fatalf("Stats: %d expired, %d swept", st.StaleTimersExpired, st.StaleSwept)
	}
	checkFreed(t, s)
}

// TestGRTimerAfterReturnIgnored: the restart timer of a member that came back in time fires late
// (its event was already posted): it is ignored; the stale timer then decides.
func TestGRTimerAfterReturnIgnored(t *testing.T) {
	s, ft, a, b := grSetup(t)
	a.ss.DownGraceful("connection reset")
	readAll(t, s, a, b)
	restart := ft.live()[0]
	a.up(withGR(120, both...))
	readAll(t, s, a, b)
	restart.f()
	readAll(t, s, a, b)
	if len(b.rib) != 4 {
		t.Fatalf("a late restart timer removed stale routes: B holds %d", len(b.rib))
	}
	a.announce(a.attrs(), "10.0.1.0/24")
	ft.fire(t, 42*time.Second) // no End-of-RIB within the stale time
	readAll(t, s, a, b)
	if len(b.rib) != 1 || b.has("10.0.1.0/24") == nil {
		t.Fatalf("after the stale time: B holds %v", b.rib)
	}
	checkFreed(t, s)
}

// TestGRNotGraceful: a session that ends with a NOTIFICATION, or whose member did not negotiate
// graceful restart, or advertised a restart time of 0, takes its routes with it at once.
func TestGRNotGraceful(t *testing.T) {
	for _, tc := range []struct {
		name string
		gr   func(*SessionInfo)
		down func(*Peer)
	}{
		{"notification", withGR(120, both...), func(ss *Peer) { ss.DownWithReason("received NOTIFICATION 6/2") }},
		{"no capability", func(*SessionInfo) {}, func(ss *Peer) { ss.DownGraceful("connection reset") }},
		{"restart time 0", withGR(0, both...), func(ss *Peer) { ss.DownGraceful("connection reset") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, ft := newGRServer(t)
			a := addMember(t, s, "A", 64501, "192.0.2.11", tc.gr)
			b := addMember(t, s, "B", 64502, "192.0.2.12")
			a.announce(a.attrs(), "10.0.1.0/24", "10.0.2.0/24")
			readAll(t, s, a, b)
			tc.down(a.ss)
			readAll(t, s, a, b)
			if len(b.rib) != 0 || len(ft.ts) != 0 || len(a.ss.stale) != 0 {
				t.Fatalf("B holds %v, %d timers, %d stale incarnations", b.rib, len(ft.ts), len(a.ss.stale))
			}
			checkFreed(t, s)
		})
	}
}

// TestGRForwardingStateLost: back without the forwarding-state bit for IPv4 (or without the
// capability at all), the member's stale IPv4 routes go at once (RFC 4724 §4.2); IPv6 waits.
func TestGRForwardingStateLost(t *testing.T) {
	s, ft, a, b := grSetup(t)
	a.ss.DownGraceful("connection reset")
	readAll(t, s, a, b)
	a.up(withGR(120, speaker.IPv6Unicast))
	readAll(t, s, a, b)
	if len(b.rib) != 1 || b.has("2001:db8:1::/48") == nil {
		t.Fatalf("B holds %v, want the IPv6 route only", b.rib)
	}
	if live := ft.live(); len(live) != 1 || live[0].d != 42*time.Second {
		t.Fatalf("timers %v", live)
	}
	a.ss.DownGraceful("connection reset again")
	readAll(t, s, a, b)
	a.up() // no capability this time
	readAll(t, s, a, b)
	if len(b.rib) != 0 || len(a.ss.stale) != 0 || len(ft.live()) != 0 {
		t.Fatalf("back without graceful restart: B holds %v, %d stale incarnations", b.rib, len(a.ss.stale))
	}
	checkFreed(t, s)
}

// TestGRRestartAgain: the member restarts again before its End-of-RIB: both incarnations' stale
// routes stay until the third one's End-of-RIB, and a third member coming up meanwhile gets them.
func TestGRRestartAgain(t *testing.T) {
	s, ft, a, b := grSetup(t)
	a.ss.DownGraceful("reset")
	readAll(t, s, a, b)
	a.up(withGR(90, both...))
	a.announce(a.attrs(65010), "10.0.1.0/24")
	a.announce(a.attrs(), "10.0.9.0/24")
	readAll(t, s, a, b)
	a.ss.DownGraceful("reset again")
	readAll(t, s, a, b)
	if len(a.ss.stale) != 2 || len(b.rib) != 5 {
		t.Fatalf("%d stale incarnations, B holds %d routes", len(a.ss.stale), len(b.rib))
	}
	if live := ft.live(); len(live) != 1 || live[0].d != 90*time.Second {
		t.Fatalf("the restart time is the last OPEN's: %v", live)
	}
	c := addMember(t, s, "C", 64503, "192.0.2.13")
	readAll(t, s, a, b, c)
	if len(c.rib) != 5 {
		t.Fatalf("a member coming up during the restart got %d routes, want the 5 stale ones", len(c.rib))
	}
	a.up(withGR(90, both...))
	a.announce(a.attrs(), "10.0.2.0/24", "10.0.9.0/24")
	a.eorIn(speaker.IPv4Unicast)
	a.eorIn(speaker.IPv6Unicast)
	readAll(t, s, a, b, c)
	for _, m := range []*tmember{b, c} {
		if len(m.rib) != 2 || m.has("10.0.2.0/24") == nil || m.has("10.0.9.0/24") == nil {
			t.Fatalf("%v holds %v", m, m.rib)
		}
	}
	if len(a.ss.stale) != 0 || len(ft.live()) != 0 {
		t.Fatalf("%d stale incarnations, %d timers", len(a.ss.stale), len(ft.live()))
	}
	checkFreed(t, s)
}

// TestGRRemovedWhileStale: a session removed from the configuration while restarting takes its
// stale routes with it.
func TestGRRemovedWhileStale(t *testing.T) {
	s, ft, a, b := grSetup(t)
	a.ss.DownGraceful("reset")
	readAll(t, s, a, b)
	a.ss.removed.Store(true)
	delete(s.sessions, a.addr) // what RemovePeer's loop side does after the sweep
	s.sweepAllStale(a.ss, "removed")
	readAll(t, s, a, b)
	if len(b.rib) != 0 || len(ft.live()) != 0 {
		t.Fatalf("B holds %v, %d timers", b.rib, len(ft.live()))
	}
	checkFreed(t, s)
}

// TestGRReplacedConnection: Up while the previous incarnation is still up (the member restarted
// and reconnected before the old connection was seen to fail) is a graceful restart.
func TestGRReplacedConnection(t *testing.T) {
	s, _, a, b := grSetup(t)
	before := len(b.msgs)
	a.up(withGR(120, both...))
	readAll(t, s, a, b)
	if len(b.rib) != 4 || len(b.msgs) != before || len(a.ss.stale) != 1 {
		t.Fatalf("B holds %d routes after %d UPDATEs, %d stale incarnations", len(b.rib), len(b.msgs)-before, len(a.ss.stale))
	}
}

// incModel is the Adj-RIB-In a feed subscriber builds, keyed by incarnation: during a graceful
// restart two incarnations of one neighbor hold routes.
type incModel map[uint64]map[netip.Prefix]string

func (m incModel) apply(t *testing.T, ev Event) {
	switch ev.Kind {
	case EventSyncStart:
		clear(m)
	case EventSessionUp:
		m[ev.Incarnation] = map[netip.Prefix]string{}
	case EventSessionDown:
		if !ev.Session.Stale {
			delete(m, ev.Incarnation)
		}
	case EventRoute:
		tab := m[ev.Incarnation]
		if tab == nil {
			t.Fatalf("route event %v of an incarnation not up", ev.short())
		}
		if ev.Attrs == nil {
			delete(tab, ev.Prefix)
		} else {
			tab[ev.Prefix] = attrsKey(ev.Attrs, ev.Reasons)
		}
	}
	for inc, tab := range m {
		if len(tab) == 0 && ev.Kind == EventRoute && ev.Incarnation == inc && ev.Attrs == nil {
			delete(m, inc) // a stale incarnation ends with its last route
		}
	}
}

// ribIncModel reads the same from the RIB.
func ribIncModel(s *Server) incModel {
	m := incModel{}
	for _, p := range s.peers {
		if p == nil || (p.down && !p.stale) {
			continue
		}
		tab := map[netip.Prefix]string{}
		for _, r := range p.routes {
			if r != nil {
				tab[r.pe.prefix()] = attrsKey(r.set.attrs, r.reasons)
			}
		}
		m[p.inc] = tab
	}
	return m
}

func (m incModel) equal(o incModel) bool {
	if len(m) != len(o) {
		return false
	}
	for inc, tab := range m {
		if len(tab) != len(o[inc]) {
			return false
		}
		for k, v := range tab {
			if o[inc][k] != v {
				return false
			}
		}
	}
	return true
}

// TestGRFeed: a subscriber following a graceful restart live, and one that subscribes while the
// routes are stale (the replay), both hold the RIB's Adj-RIB-In at every step.
func TestGRFeed(t *testing.T) {
	s, _ := newGRServer(t)
	live := subscribeSync(s, SubscribeOptions{Routes: true})
	liveM := incModel{}
	// grSetup's steps, with the subscription in place from the start.
	a, b := func() (*tmember, *tmember) {
		if err := s.addMember(MemberConfig{Name: "A", ASN: 64501}); err != nil {
			t.Fatal(err)
		}
		v4 := netip.MustParseAddr("192.0.2.11")
		ss, err := s.addPeer("A", v4)
		if err != nil {
			t.Fatal(err)
		}
		a := &tmember{t: t, name: "A", asn: 64501, addr: v4, ss: ss, out: &fakeOut{}}
		a.up(withGR(120, both...))
		return a, addMember(t, s, "B", 64502, "192.0.2.12")
	}()
	a.announce(a.attrs(), "10.0.1.0/24", "10.0.2.0/24", "10.0.3.0/24")
	b.announce(b.attrs(), "10.0.3.0/24")
	readAll(t, s, a, b)

	var late *Subscription
	lateM := incModel{}
	check := func(step string) {
		t.Helper()
		readAll(t, s, a, b)
		want := ribIncModel(s)
		for _, x := range []struct {
			sub *Subscription
			m   incModel
		}{{live, liveM}, {late, lateM}} {
			if x.sub == nil {
				continue
			}
			evs, err := drain(t, x.sub)
			if err != nil {
				t.Fatal(err)
			}
			for _, ev := range evs {
				x.m.apply(t, ev)
			}
			if !x.m.equal(want) {
				t.Fatalf("%s: subscriber holds %v, RIB %v", step, x.m, want)
			}
		}
	}
	check("before")
	a.ss.DownGraceful("reset")
	check("stale")
	if len(liveM) != 2 {
		t.Fatalf("the stale incarnation is not in the subscriber's model: %v", liveM)
	}
	late = subscribeSync(s, SubscribeOptions{Routes: true})
	late.startResync()
	check("replayed while stale")
	a.up(withGR(120, both...))
	a.announce(a.attrs(65010), "10.0.1.0/24")
	check("one replaced")
	a.eorIn(speaker.IPv4Unicast)
	check("swept")
	if len(liveM) != 2 || len(lateM) != 2 {
		t.Fatalf("the stale incarnation outlived its routes: %v / %v", liveM, lateM)
	}
}
