package speaker

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/ixrs/ixrs/internal/peers"
)

// Interop tests run the speaker against real BGP daemons from Debian's packages on loopback, each daemon
// from its own 127.0.1.x address. The daemons announce documentation-range next hops (some refuse
// loopback next hops from their neighbor).

type daemon struct {
	name  string
	start func(testing.TB, peers.Config) peers.Peer
	addr  string
	as    uint32
	noAS4 bool // can run without the four-octet AS capability
	med0  bool // sends MED 0 on routes it originates without a MED (FRR)
	// noShutText: cannot decode an RFC 9003 shutdown communication. ExaBGP 4.2.21 formats it with
	// b'...%s' % str in bgp/message/notification.py, which raises under Python 3, so it resets instead.
	noShutText bool
}

var daemons = []daemon{
	{"bird", peers.StartBIRD, "127.0.1.2", 65001, true, false, false},
	{"gobgp", peers.StartGoBGP, "127.0.1.3", 4200000002, false, false, false},
	{"frr", peers.StartFRR, "127.0.1.4", 65003, false, true, false},
	{"exabgp", peers.StartExaBGP, "127.0.1.5", 65004, true, false, true},
	{"openbgpd", peers.StartOpenBGPD, "127.0.1.6", 65005, true, false, false},
}

// memberRoutes are what each daemon announces: IPv4 and IPv6, MED, standard and large communities.
func memberRoutes(d daemon, i int) []peers.Announce {
	return []peers.Announce{
		{Prefix: pfx(fmt.Sprintf("198.51.%d.0/24", 100+i)), NextHop: adr(fmt.Sprintf("192.0.2.%d", 10+i)),
			MED: 50, HasMED: true, Communities: []string{fmt.Sprintf("%d:%d", 65000, 100+i)},
			LargeCommunities: []string{fmt.Sprintf("%d:1:%d", d.as, i)}},
		{Prefix: pfx(fmt.Sprintf("203.0.%d.0/25", 113+i)), NextHop: adr(fmt.Sprintf("192.0.2.%d", 10+i))},
		{Prefix: pfx(fmt.Sprintf("2001:db8:%x::/48", 0x100+i)), NextHop: adr(fmt.Sprintf("2001:db8:ff::%x", 10+i)),
			Communities: []string{"65000:7"}},
	}
}

// expectedRoutes is what the speaker must decode from the daemon's announcements.
func expectedRoutes(d daemon, anns []peers.Announce) map[netip.Prefix]peers.Route {
	out := map[netip.Prefix]peers.Route{}
	for _, a := range anns {
		out[a.Prefix] = peers.Route{Prefix: a.Prefix, NextHop: a.NextHop, ASPath: []uint32{d.as}, MED: a.MED, HasMED: a.HasMED || d.med0,
			Communities: a.Communities, LargeCommunities: a.LargeCommunities}
	}
	return out
}

// asRoute turns what the speaker received into the harness's Route form.
func asRoute(p netip.Prefix, a *Attrs) peers.Route {
	r := peers.Route{Prefix: p, MED: a.MED, HasMED: a.HasMED}
	if p.Addr().Is4() {
		r.NextHop = a.NextHop
	} else {
		r.NextHop = a.MPNextHop
	}
	for _, s := range a.ASPath {
		r.ASPath = append(r.ASPath, s.ASNs...)
	}
	for _, c := range a.Communities {
		r.Communities = append(r.Communities, fmt.Sprintf("%d:%d", c>>16, c&0xffff))
	}
	for _, c := range a.LargeCommunities {
		r.LargeCommunities = append(r.LargeCommunities, c.String())
	}
	slices.Sort(r.Communities)
	slices.Sort(r.LargeCommunities)
	return r
}

// ribOf replays the updates into prefix -> route.
func ribOf(us []*Update) map[netip.Prefix]peers.Route {
	rib := map[netip.Prefix]peers.Route{}
	for _, u := range us {
		for _, p := range u.Withdrawn {
			delete(rib, p)
		}
		for _, p := range u.NLRI {
			rib[p] = asRoute(p, u.Attrs)
		}
	}
	return rib
}

// ourRoutes are what the speaker announces to the daemon: a transparent route-server path (not starting
// with our AS), a 4-octet ASN, MED, communities, large communities, both families.
func ourAttrs(v6 bool) *Attrs {
	a := &Attrs{
		Origin:           OriginIGP,
		ASPath:           ASPath{{Type: SegSequence, ASNs: []uint32{64999, 4200000001, 65010}}},
		NextHop:          adr("192.0.2.254"),
		MED:              77,
		HasMED:           true,
		Communities:      []uint32{64999<<16 | 1, 65010<<16 | 2},
		LargeCommunities: []LargeCommunity{{4200000001, 1, 1}},
	}
	if v6 {
		a.NextHop = netip.Addr{}
		a.MPNextHop = adr("2001:db8:ff::fe")
	}
	return a
}

var addrCmp = cmpopts.EquateComparable(netip.Prefix{}, netip.Addr{})

var ourPrefixes4 = []netip.Prefix{pfx("10.99.0.0/24"), pfx("10.99.1.0/24")}
var ourPrefixes6 = []netip.Prefix{pfx("2001:db8:9900::/48")}

func wantOurs(p netip.Prefix) peers.Route {
	return asRoute(p, ourAttrs(p.Addr().Is6()))
}

func interopSpeaker(t *testing.T) (*Speaker, uint16) {
	return newTestSpeaker(t, 65000, "10.0.0.1", "127.0.0.1")
}

func waitDaemon(t *testing.T, what string, timeout time.Duration, cond func(ctx context.Context) (bool, error)) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var last error
	for {
		ok, err := cond(ctx)
		if ok {
			return
		}
		last = err
		select {
		case <-ctx.Done():
			t.Fatalf("timed out after %s waiting for %s (last error: %v)", timeout, what, last)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// TestInterop runs, for each daemon: the daemon connects to us; its routes arrive decoded exactly; ours are
// accepted by it exactly; an Administrative Shutdown with a message reaches it; after a restart, freezing it
// (SIGSTOP) is detected by our hold timer.
func TestInterop(t *testing.T) {
	for i, d := range daemons {
		t.Run(d.name, func(t *testing.T) {
			sp, port := interopSpeaker(t)
			rec := newRecorder()
			p, err := sp.AddPeer(PeerConfig{Name: d.name, PeerAddr: adr(d.addr), PeerAS: d.as, Passive: true, HoldTime: 6 * time.Second}, rec)
			if err != nil {
				t.Fatal(err)
			}
			p.Start()
			anns := memberRoutes(d, i)
			m := d.start(t, peers.Config{Dir: t.TempDir(), LocalAddr: adr(d.addr), LocalAS: d.as, PeerAddr: adr("127.0.0.1"),
				PeerPort: int(port), PeerAS: 65000, HoldTime: 6, Announce: anns})
			remote := waitEstablished(t, rec, 60*time.Second)
			t.Logf("%s OPEN: hold %d, families %v, 4-octet %v, ext-msg %v, route-refresh %v, GR %v, add-path %v, role %v, unknown %d",
				d.name, remote.HoldTime, remote.Caps.Families, remote.Caps.FourOctetAS, remote.Caps.ExtendedMessage,
				remote.Caps.RouteRefresh, remote.Caps.GracefulRestart != nil, remote.Caps.AddPath, remote.Caps.HasRole, len(remote.Caps.Unknown))
			if remote.ASN() != d.as {
				t.Fatalf("OPEN AS %d, want %d", remote.ASN(), d.as)
			}

			// Their routes arrive decoded exactly.
			want := expectedRoutes(d, anns)
			var got map[netip.Prefix]peers.Route
			rec.waitUpdates(t, 30*time.Second, func(us []*Update) bool {
				got = ribOf(us)
				return len(got) >= len(want)
			})
			if diff := cmp.Diff(want, got, addrCmp); diff != "" {
				t.Errorf("routes from %s (-announced +decoded):\n%s", d.name, diff)
			}

			// Ours are accepted exactly.
			if err := p.Announce(ourAttrs(false), ourPrefixes4...); err != nil {
				t.Fatal(err)
			}
			if err := p.Announce(ourAttrs(true), ourPrefixes6...); err != nil {
				t.Fatal(err)
			}
			wantThem := map[netip.Prefix]peers.Route{}
			for _, q := range append(slices.Clone(ourPrefixes4), ourPrefixes6...) {
				wantThem[q] = wantOurs(q)
			}
			var theirs map[netip.Prefix]peers.Route
			waitDaemon(t, d.name+" to receive our routes", 30*time.Second, func(ctx context.Context) (bool, error) {
				rs, err := m.Received(ctx)
				theirs = map[netip.Prefix]peers.Route{}
				for _, r := range rs {
					theirs[r.Prefix] = r
				}
				return len(theirs) >= len(wantThem), err
			})
			if diff := cmp.Diff(wantThem, theirs, addrCmp); diff != "" {
				t.Errorf("routes %s accepted from us (-sent +theirs):\n%s", d.name, diff)
			}

			// An Administrative Shutdown with a message reaches them.
			msg := fmt.Sprintf("ixrs interop %s maintenance 42", d.name)
			n := AdminShutdown(SubAdminShutdown, msg)
			if d.noShutText {
				n = Notification{Code: ErrCease, Subcode: SubAdminShutdown}
			}
			p.Stop(&n)
			waitDown(t, rec, 10*time.Second)
			waitDaemon(t, d.name+" to report the shutdown communication", 20*time.Second, func(ctx context.Context) (bool, error) {
				if nh, ok := m.(peers.NotificationHistory); ok {
					ns, err := nh.Notifications(ctx)
					return slices.ContainsFunc(ns, func(x peers.Notification) bool {
						return x.Code == n.Code && x.Subcode == n.Subcode && (d.noShutText || x.ShutdownMessage() == msg)
					}), err
				}
				b, err := os.ReadFile(m.LogPath())
				return strings.Contains(string(b), msg), err
			})

			// Back up, then freeze the daemon: our hold timer (6 s) must notice.
			p.Start()
			waitEstablished(t, rec, 60*time.Second)
			if err := m.Pause(); err != nil {
				t.Fatal(err)
			}
			defer m.Resume()
			err = waitDown(t, rec, 20*time.Second)
			var se *SessionError
			if !errors.As(err, &se) || se.Notification == nil || !se.Sent || se.Notification.Code != ErrHoldTimer {
				t.Fatalf("frozen %s: down with %v, want our Hold Timer Expired", d.name, err)
			}
		})
	}
}

// TestInteropWeConnect: the daemon is passive; we connect to it.
func TestInteropWeConnect(t *testing.T) {
	for i, d := range daemons {
		t.Run(d.name, func(t *testing.T) {
			sp, _ := newTestSpeaker(t, 65000, "10.0.0.1", "")
			lport := peers.FreePort(t, adr(d.addr))
			anns := memberRoutes(d, i)[:1]
			d.start(t, peers.Config{Dir: t.TempDir(), LocalAddr: adr(d.addr), LocalAS: d.as, PeerAddr: adr("127.0.0.1"),
				PeerAS: 65000, Passive: true, ListenPort: lport, Announce: anns})
			rec := newRecorder()
			p, err := sp.AddPeer(PeerConfig{Name: d.name, PeerAddr: adr(d.addr), PeerPort: uint16(lport), PeerAS: d.as,
				LocalAddr: adr("127.0.0.1"), ConnectRetry: 2 * time.Second}, rec)
			if err != nil {
				t.Fatal(err)
			}
			p.Start()
			waitEstablished(t, rec, 60*time.Second)
			rec.waitUpdates(t, 30*time.Second, func(us []*Update) bool { return len(ribOf(us)) == 1 })
		})
	}
}

// TestInteropTwoOctetPeer: daemons running without the four-octet AS capability: our 4-octet path reaches
// them through AS4_PATH and theirs reaches us.
func TestInteropTwoOctetPeer(t *testing.T) {
	for i, d := range daemons {
		if !d.noAS4 {
			continue
		}
		t.Run(d.name, func(t *testing.T) {
			sp, port := interopSpeaker(t)
			rec := newRecorder()
			p, err := sp.AddPeer(PeerConfig{Name: d.name, PeerAddr: adr(d.addr), PeerAS: d.as, Passive: true}, rec)
			if err != nil {
				t.Fatal(err)
			}
			p.Start()
			anns := memberRoutes(d, i)[:1]
			if d.name != "openbgpd" {
				anns[0].ASPathPrepend = []uint32{64512, 65010}
			}
			m := d.start(t, peers.Config{Dir: t.TempDir(), LocalAddr: adr(d.addr), LocalAS: d.as, PeerAddr: adr("127.0.0.1"),
				PeerPort: int(port), PeerAS: 65000, NoFourOctetAS: true, Announce: anns})
			remote := waitEstablished(t, rec, 60*time.Second)
			if remote.Caps.FourOctetAS {
				t.Fatalf("%s still advertised the four-octet AS capability", d.name)
			}
			if opt, _ := p.EncodeOptions(); opt.FourOctetAS {
				t.Fatal("negotiated four-octet AS")
			}
			var got map[netip.Prefix]peers.Route
			rec.waitUpdates(t, 30*time.Second, func(us []*Update) bool { got = ribOf(us); return len(got) == 1 })
			wantPath := append([]uint32{d.as}, anns[0].ASPathPrepend...)
			if r := got[anns[0].Prefix]; !slices.Equal(r.ASPath, wantPath) {
				t.Errorf("path from 2-octet %s: %v, want %v", d.name, r.ASPath, wantPath)
			}
			if err := p.Announce(ourAttrs(false), ourPrefixes4...); err != nil {
				t.Fatal(err)
			}
			waitDaemon(t, d.name+" to receive our 4-octet path", 30*time.Second, func(ctx context.Context) (bool, error) {
				rs, err := m.Received(ctx)
				for _, r := range rs {
					if r.Prefix == ourPrefixes4[0] {
						if !slices.Equal(r.ASPath, []uint32{64999, 4200000001, 65010}) {
							return false, fmt.Errorf("path %v", r.ASPath)
						}
						return true, nil
					}
				}
				return false, err
			})
		})
	}
}

// TestInteropCollision: both sides connect at once; exactly one session remains.
func TestInteropCollision(t *testing.T) {
	for _, d := range daemons {
		if d.name == "exabgp" {
			continue // ExaBGP 4.2 either listens or connects per neighbor ("passive"); it cannot do both.
		}
		t.Run(d.name, func(t *testing.T) {
			sp, port := interopSpeaker(t)
			lport := peers.FreePort(t, adr(d.addr))
			rec := newRecorder()
			p, err := sp.AddPeer(PeerConfig{Name: d.name, PeerAddr: adr(d.addr), PeerPort: uint16(lport), PeerAS: d.as,
				LocalAddr: adr("127.0.0.1"), ConnectRetry: 2 * time.Second}, rec)
			if err != nil {
				t.Fatal(err)
			}
			p.Start()
			m := d.start(t, peers.Config{Dir: t.TempDir(), LocalAddr: adr(d.addr), LocalAS: d.as, PeerAddr: adr("127.0.0.1"),
				PeerPort: int(port), PeerAS: 65000, ListenPort: lport})
			waitEstablished(t, rec, 60*time.Second)
			time.Sleep(5 * time.Second) // a losing connection would show up as a flap by now
			if len(rec.down) != 0 || len(rec.established) != 0 || p.State() != StateEstablished {
				t.Fatalf("after collision: %d downs, %d extra establishments, state %s", len(rec.down), len(rec.established), p.State())
			}
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			if ok, err := m.Established(ctx); !ok {
				t.Fatalf("%s does not see the session established: %v", d.name, err)
			}
		})
	}
}

// TestInteropMD5: a TCP-MD5 protected session with BIRD comes up; with a wrong password it does not.
func TestInteropMD5(t *testing.T) {
	for _, tc := range []struct {
		name, ours string
		up         bool
	}{{"match", "s3cret-md5", true}, {"mismatch", "wrong", false}} {
		t.Run(tc.name, func(t *testing.T) {
			requireKernelMD5(t)
			sp, port := interopSpeaker(t)
			rec := newRecorder()
			p, err := sp.AddPeer(PeerConfig{Name: "bird", PeerAddr: adr("127.0.1.12"), PeerAS: 65012, Passive: true, MD5Password: tc.ours}, rec)
			if err != nil {
				t.Fatal(err)
			}
			p.Start()
			peers.StartBIRD(t, peers.Config{Dir: t.TempDir(), LocalAddr: adr("127.0.1.12"), LocalAS: 65012, PeerAddr: adr("127.0.0.1"),
				PeerPort: int(port), PeerAS: 65000, MD5Password: "s3cret-md5"})
			if tc.up {
				waitEstablished(t, rec, 60*time.Second)
				return
			}
			select {
			case <-rec.established:
				t.Fatal("established with a mismatched MD5 password")
			case <-time.After(8 * time.Second):
			}
		})
	}
}
