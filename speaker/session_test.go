package speaker

import (
	"errors"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var (
	pfx = netip.MustParsePrefix
	adr = netip.MustParseAddr
)

// pair starts a passive listening speaker (AS 65000, 127.0.0.1) and an active client speaker connecting from
// from, and waits until both see the session established.
func pair(t *testing.T, from string, clientAS uint32, mod func(server, client *PeerConfig)) (sp, cl *Peer, sr, cr *recorder) {
	t.Helper()
	s, port := newTestSpeaker(t, 65000, "10.0.0.1", "127.0.0.1")
	c, _ := newTestSpeaker(t, clientAS, "10.0.0.2", "")
	scfg := PeerConfig{Name: "client", PeerAddr: adr(from), PeerAS: clientAS, Passive: true}
	ccfg := PeerConfig{Name: "server", PeerAddr: adr("127.0.0.1"), PeerPort: port, PeerAS: 65000, LocalAddr: adr(from),
		ConnectRetry: time.Second}
	if mod != nil {
		mod(&scfg, &ccfg)
	}
	sr, cr = newRecorder(), newRecorder()
	var err error
	if sp, err = s.AddPeer(scfg, sr); err != nil {
		t.Fatal(err)
	}
	if cl, err = c.AddPeer(ccfg, cr); err != nil {
		t.Fatal(err)
	}
	sp.Start()
	cl.Start()
	waitEstablished(t, sr, 15*time.Second)
	waitEstablished(t, cr, 15*time.Second)
	return sp, cl, sr, cr
}

func fullAttrs() *Attrs {
	return &Attrs{
		Origin:           OriginIGP,
		ASPath:           ASPath{{Type: SegSequence, ASNs: []uint32{65001, 4200000001, 64512}}},
		NextHop:          adr("192.0.2.11"),
		MPNextHop:        adr("2001:db8:ff::11"),
		MED:              42,
		HasMED:           true,
		Communities:      []uint32{65001<<16 | 100, 0<<16 | 65002},
		LargeCommunities: []LargeCommunity{{65001, 1, 2}, {4200000001, 7, 8}},
	}
}

func TestSessionRoutesBothFamilies(t *testing.T) {
	sp, cl, sr, _ := pair(t, "127.0.0.2", 65001, nil)
	if st := sp.State(); st != StateEstablished {
		t.Fatalf("server state %s", st)
	}
	if fams := sp.Families(); !slices.Equal(fams, []Family{IPv4Unicast, IPv6Unicast}) {
		t.Fatalf("families %v", fams)
	}
	opt, _ := sp.EncodeOptions()
	if !opt.FourOctetAS || opt.MaxMessage != MaxExtendedMessage {
		t.Fatalf("negotiated %+v, want four-octet AS and extended messages", opt)
	}
	a := fullAttrs()
	prefixes := []netip.Prefix{pfx("198.51.100.0/24"), pfx("203.0.113.0/25"), pfx("2001:db8:100::/48")}
	if err := cl.Announce(a, prefixes...); err != nil {
		t.Fatal(err)
	}
	ups := sr.waitUpdates(t, 10*time.Second, func(u []*Update) bool { return len(nlriOf(u)) == 3 })
	if got := nlriOf(ups); !slices.Equal(sortedPrefixes(got), sortedPrefixes(prefixes)) {
		t.Fatalf("NLRI %v, want %v", got, prefixes)
	}
	for _, u := range ups {
		want := *a
		if FamilyOf(u.NLRI[0]) == IPv4Unicast {
			want.MPNextHop = netip.Addr{}
		} else {
			want.NextHop = netip.Addr{}
		}
		if d := cmp.Diff(&want, u.Attrs, cmp.Comparer(func(x, y netip.Addr) bool { return x == y })); d != "" {
			t.Errorf("attributes differ (-sent +received):\n%s", d)
		}
	}
	if err := cl.Withdraw(prefixes[0], prefixes[2]); err != nil {
		t.Fatal(err)
	}
	sr.waitUpdates(t, 10*time.Second, func(u []*Update) bool {
		var w []netip.Prefix
		for _, x := range u {
			w = append(w, x.Withdrawn...)
		}
		return slices.Contains(w, prefixes[0]) && slices.Contains(w, prefixes[2])
	})
	if err := cl.SendEndOfRIB(IPv6Unicast); err != nil {
		t.Fatal(err)
	}
	sr.waitUpdates(t, 10*time.Second, func(u []*Update) bool {
		return slices.ContainsFunc(u, func(x *Update) bool { return x.EndOfRIB == IPv6Unicast })
	})
	st := sp.Stats()
	if st.Messages.Received[MsgUpdate] < 4 || st.Messages.Received[MsgOpen] != 1 {
		t.Fatalf("counters %+v", st.Messages)
	}
}

func nlriOf(us []*Update) []netip.Prefix {
	var out []netip.Prefix
	for _, u := range us {
		out = append(out, u.NLRI...)
	}
	return out
}

func sortedPrefixes(ps []netip.Prefix) []netip.Prefix {
	out := slices.Clone(ps)
	slices.SortFunc(out, func(a, b netip.Prefix) int { return a.Addr().Compare(b.Addr()) })
	return out
}

// TestTwoOctetPeer: a neighbor without the four-octet AS capability gets AS_TRANS with AS4_PATH, and what
// it decodes (merging AS4_PATH back, RFC 6793 §4.2.3) is the original path.
func TestTwoOctetPeer(t *testing.T) {
	sp, cl, _, cr := pair(t, "127.0.0.3", 65001, func(s, c *PeerConfig) { c.NoFourOctetAS = true })
	if opt, _ := sp.EncodeOptions(); opt.FourOctetAS {
		t.Fatal("server negotiated four-octet AS with a peer that did not offer it")
	}
	if o := sp.Stats().Remote; o.Caps.FourOctetAS || o.MyAS != 65001 {
		t.Fatalf("remote OPEN %+v", o)
	}
	a := fullAttrs()
	a.Aggregator = &Aggregator{AS: 4200000001, Addr: adr("192.0.2.99")}
	if err := sp.Announce(a, pfx("198.51.100.0/24")); err != nil {
		t.Fatal(err)
	}
	ups := cr.waitUpdates(t, 10*time.Second, func(u []*Update) bool { return len(nlriOf(u)) == 1 })
	got := ups[0].Attrs
	if got.ASPath.String() != "65001 4200000001 64512" {
		t.Errorf("AS path %q after AS4_PATH merge", got.ASPath)
	}
	if got.Aggregator == nil || got.Aggregator.AS != 4200000001 {
		t.Errorf("aggregator %+v after AS4_AGGREGATOR merge", got.Aggregator)
	}
	_ = cl
}

// TestAdminShutdownCommunication: RFC 9003 text sent by one side is reported by the other.
func TestAdminShutdownCommunication(t *testing.T) {
	sp, _, sr, cr := pair(t, "127.0.0.4", 65001, nil)
	msg := "maintenance until 14:00 UTC, ticket #4711"
	n := AdminShutdown(SubAdminShutdown, msg)
	sp.Stop(&n)
	err := waitDown(t, cr, 10*time.Second)
	var se *SessionError
	if !errors.As(err, &se) || se.Notification == nil || se.Sent {
		t.Fatalf("client down with %v, want a received NOTIFICATION", err)
	}
	if got, ok := se.Notification.ShutdownMessage(); !ok || got != msg {
		t.Fatalf("shutdown communication %q (%v), want %q", got, ok, msg)
	}
	waitDown(t, sr, 5*time.Second)
	if sp.State() != StateIdle {
		t.Fatalf("stopped peer in %s", sp.State())
	}
	// A stopped peer refuses the neighbor's reconnection attempts until started again.
	select {
	case <-sr.established:
		t.Fatal("stopped peer re-established")
	case <-time.After(2500 * time.Millisecond):
	}
	sp.Start()
	waitEstablished(t, sr, 15*time.Second)
}

// TestCollision: both sides connect to each other at once; exactly one session survives on each side and
// it stays up.
func TestCollision(t *testing.T) {
	for _, tc := range []struct{ name, idA, idB string }{{"higher-id-listens", "10.0.0.9", "10.0.0.1"}, {"lower-id-listens", "10.0.0.1", "10.0.0.9"}} {
		t.Run(tc.name, func(t *testing.T) {
			a, portA := newTestSpeaker(t, 65010, tc.idA, "127.0.0.21")
			b, portB := newTestSpeaker(t, 65020, tc.idB, "127.0.0.22")
			ra, rb := newRecorder(), newRecorder()
			pa, err := a.AddPeer(PeerConfig{PeerAddr: adr("127.0.0.22"), PeerPort: portB, PeerAS: 65020, LocalAddr: adr("127.0.0.21"), ConnectRetry: time.Second}, ra)
			if err != nil {
				t.Fatal(err)
			}
			pb, err := b.AddPeer(PeerConfig{PeerAddr: adr("127.0.0.21"), PeerPort: portA, PeerAS: 65010, LocalAddr: adr("127.0.0.22"), ConnectRetry: time.Second}, rb)
			if err != nil {
				t.Fatal(err)
			}
			pa.Start()
			pb.Start()
			waitEstablished(t, ra, 15*time.Second)
			waitEstablished(t, rb, 15*time.Second)
			// Give a losing connection time to surface as a second Established or a flap.
			time.Sleep(3 * time.Second)
			if len(ra.established) != 0 || len(rb.established) != 0 || len(ra.down) != 0 || len(rb.down) != 0 {
				t.Fatalf("extra events: established %d/%d, down %d/%d", len(ra.established), len(rb.established), len(ra.down), len(rb.down))
			}
			if pa.State() != StateEstablished || pb.State() != StateEstablished {
				t.Fatalf("states %s/%s", pa.State(), pb.State())
			}
			// The surviving handle works: a route goes through.
			if err := pa.Announce(fullAttrs(), pfx("198.51.100.0/24")); err != nil {
				t.Fatal(err)
			}
			rb.waitUpdates(t, 10*time.Second, func(u []*Update) bool { return len(nlriOf(u)) == 1 })
		})
	}
}

// TestHoldTimerExpiry: a neighbor that goes silent is detected by the hold timer (NOTIFICATION 4/0).
func TestHoldTimerExpiry(t *testing.T) {
	sp, port := newTestSpeaker(t, 65000, "10.0.0.1", "127.0.0.1")
	r := newRecorder()
	p, err := sp.AddPeer(PeerConfig{PeerAddr: adr("127.0.0.5"), PeerAS: 65005, Passive: true, HoldTime: 3 * time.Second}, r)
	if err != nil {
		t.Fatal(err)
	}
	p.Start()
	raw := dialRaw(t, "127.0.0.5", port)
	raw.handshake(rawOpen(65005, "10.0.0.5", 3))
	waitEstablished(t, r, 10*time.Second)
	// The raw peer sends nothing more: the hold timer must fire about 3 s later.
	raw.expectNotification(ErrHoldTimer, 0)
	err = waitDown(t, r, 10*time.Second)
	var se *SessionError
	if !errors.As(err, &se) || !se.Sent || se.Notification.Code != ErrHoldTimer {
		t.Fatalf("down reason %v", err)
	}
}

// TestKeepalivesKeepSessionUp: with a 3 s hold time, a neighbor that only sends keepalives stays up.
func TestKeepalivesKeepSessionUp(t *testing.T) {
	sp, cl, sr, cr := pair(t, "127.0.0.6", 65001, func(s, c *PeerConfig) { s.HoldTime = 3 * time.Second; c.HoldTime = 3 * time.Second })
	time.Sleep(7 * time.Second)
	if len(sr.down) != 0 || len(cr.down) != 0 || sp.State() != StateEstablished || cl.State() != StateEstablished {
		t.Fatalf("session did not survive on keepalives: %s/%s", sp.State(), cl.State())
	}
	if n := sp.Stats().Messages.Received[MsgKeepalive]; n < 3 {
		t.Fatalf("received %d keepalives in 7 s with hold time 3 s", n)
	}
}

// TestRefusedUnknownNeighbor: a connection from an address that is not a configured neighbor is closed and
// counted.
func TestRefusedUnknownNeighbor(t *testing.T) {
	sp, port := newTestSpeaker(t, 65000, "10.0.0.1", "127.0.0.1")
	raw := dialRaw(t, "127.0.0.99", port)
	if _, err := raw.next(5 * time.Second); err == nil {
		t.Fatal("unknown neighbor got a message instead of a closed connection")
	}
	deadline := time.Now().Add(5 * time.Second)
	for sp.Refused() != 1 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if sp.Refused() != 1 {
		t.Fatalf("refused = %d", sp.Refused())
	}
}

// TestBlockingHandlerKeepsSession: a handler that blocks for longer than the hold time (a busy RIB) must not
// make the hold timer expire: the neighbor is not silent, we are slow.
func TestBlockingHandlerKeepsSession(t *testing.T) {
	release := make(chan struct{})
	h := &blockingHandler{recorder: newRecorder(), release: release}
	s, port := newTestSpeaker(t, 65000, "10.0.0.1", "127.0.0.1")
	p, err := s.AddPeer(PeerConfig{PeerAddr: adr("127.0.0.7"), PeerAS: 65007, Passive: true, HoldTime: 3 * time.Second}, h)
	if err != nil {
		t.Fatal(err)
	}
	p.Start()
	c, _ := newTestSpeaker(t, 65007, "10.0.0.7", "")
	cr := newRecorder()
	cp, err := c.AddPeer(PeerConfig{PeerAddr: adr("127.0.0.1"), PeerPort: port, PeerAS: 65000, LocalAddr: adr("127.0.0.7"), HoldTime: 3 * time.Second}, cr)
	if err != nil {
		t.Fatal(err)
	}
	cp.Start()
	waitEstablished(t, h.recorder, 10*time.Second)
	waitEstablished(t, cr, 10*time.Second)
	if err := cp.Announce(fullAttrs(), pfx("198.51.100.0/24")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(7 * time.Second) // the handler blocks all this time
	if p.State() != StateEstablished || len(h.down) != 0 || len(cr.down) != 0 {
		t.Fatalf("session dropped while the handler was blocked: %s, notifications %+v %+v", p.State(), h.notifs, cr.notifs)
	}
	close(release)
	h.waitUpdates(t, 5*time.Second, func(u []*Update) bool { return len(u) == 1 })
}

type blockingHandler struct {
	*recorder
	release chan struct{}
}

func (h *blockingHandler) Update(p *Peer, u *Update, err *UpdateError) {
	<-h.release
	h.recorder.Update(p, u, err)
}

// TestGTSM: with TTL security (RFC 5082) on both sides the session comes up; a neighbor sending with an
// ordinary TTL never gets its OPEN through.
func TestGTSM(t *testing.T) {
	sp, _, _, _ := pair(t, "127.0.0.9", 65001, func(s, c *PeerConfig) { s.TTLSecurity = true; c.TTLSecurity = true })
	if sp.State() != StateEstablished {
		t.Fatal("GTSM session not established")
	}

	s, port := newTestSpeaker(t, 65000, "10.0.0.1", "127.0.0.1")
	r := newRecorder()
	p, err := s.AddPeer(PeerConfig{PeerAddr: adr("127.0.0.10"), PeerAS: 65010, Passive: true, TTLSecurity: true}, r)
	if err != nil {
		t.Fatal(err)
	}
	p.Start()
	raw := dialRaw(t, "127.0.0.10", port) // default TTL 64
	// The speaker may already have closed the connection: write errors are expected.
	raw.conn.Write(append(EncodeOpen(rawOpen(65010, "10.0.0.10", 90)), EncodeKeepalive()...))
	// Refused at once from its SYN's TTL, before anything it sent could be read.
	if _, err := raw.next(5 * time.Second); err == nil {
		t.Fatal("a neighbor sending with TTL 64 got a message instead of a closed connection")
	}
	select {
	case <-r.established:
		t.Fatal("established with a neighbor whose packets arrive with TTL < 255")
	default:
	}
	if st := p.State(); st != StateActive || s.Refused() != 1 {
		t.Fatalf("state %s, refused %d: want Active and the connection refused", st, s.Refused())
	}
}

// TestIPv6Transport: a session over IPv6 (both ends on ::1), with GTSM on both sides so the IPv6 hop-limit
// options are exercised, carrying routes of both families.
func TestIPv6Transport(t *testing.T) {
	s, port := newTestSpeaker(t, 65000, "10.0.0.1", "::1")
	c, _ := newTestSpeaker(t, 65001, "10.0.0.2", "")
	sr, cr := newRecorder(), newRecorder()
	sp, err := s.AddPeer(PeerConfig{PeerAddr: adr("::1"), PeerAS: 65001, Passive: true, TTLSecurity: true}, sr)
	if err != nil {
		t.Fatal(err)
	}
	cl, err := c.AddPeer(PeerConfig{PeerAddr: adr("::1"), PeerPort: port, PeerAS: 65000, TTLSecurity: true, ConnectRetry: time.Second}, cr)
	if err != nil {
		t.Fatal(err)
	}
	sp.Start()
	cl.Start()
	waitEstablished(t, sr, 15*time.Second)
	waitEstablished(t, cr, 15*time.Second)
	if err := cl.Announce(fullAttrs(), pfx("198.51.100.0/24"), pfx("2001:db8:100::/48")); err != nil {
		t.Fatal(err)
	}
	sr.waitUpdates(t, 10*time.Second, func(u []*Update) bool { return len(nlriOf(u)) == 2 })
}
