// Package rstest runs a route server RIB (rs.Server) for the tests of the packages that read it
// (bmp, mrt, daemon), with members whose sessions are up without a speaker or a socket: a test
// hands UPDATEs to the RIB directly and looks at what the package under test makes of the result.
// Only tests import it.
package rstest

import (
	"context"
	"io"
	"log/slog"
	"net/netip"
	"testing"
	"time"

	"github.com/ixrs/ixrs/policy"
	"github.com/ixrs/ixrs/rs"
	"github.com/ixrs/ixrs/speaker"
)

// Timeout bounds every wait of a helper here; tests use it for their own waits too.
const Timeout = 20 * time.Second

// ASN and RouterID are the RIB's.
const ASN = 65000

var RouterID = netip.MustParseAddr("192.0.2.1")

// Quiet is a logger that writes nothing.
var Quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// StartRIB runs a RIB until the test ends. Its import policy checks the first AS and filters paths
// longer than maxPathLen, but not next hops: members here send IPv6 routes over IPv4 sessions.
func StartRIB(t testing.TB, maxPathLen int) *rs.Server {
	t.Helper()
	s := rs.New(rs.Config{ASN: ASN, RouterID: RouterID, Logger: Quiet,
		Import: &policy.Import{NextHop: policy.NextHopAny, EnforceFirstAS: true, MaxPathLen: maxPathLen}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return s
}

// sink is a member session's output that nobody reads: tests look at the RIB, not at what it sends.
type sink struct{}

func (sink) Queue(b []byte) (int, error) { return 0, nil }

// Member is a member of the RIB with one session, from an IPv4 address of 192.0.2.0/24.
type Member struct {
	T    testing.TB
	Name string
	ASN  uint32
	Addr netip.Addr
	Peer *rs.Peer
	// Info is what Up tells the RIB about the session: both unicast families, four-octet ASNs,
	// the OPENs exchanged, and the session's ends (RouterID:179 and Addr:40000+last octet).
	Info rs.SessionInfo
}

// AddMember configures member name of AS asn with a session from addr and brings it up.
func AddMember(t testing.TB, s *rs.Server, name string, asn uint32, addr string) *Member {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	if err := s.AddMember(ctx, rs.MemberConfig{Name: name, ASN: asn}); err != nil {
		t.Fatal(err)
	}
	a := netip.MustParseAddr(addr)
	p, err := s.AddPeer(ctx, name, a)
	if err != nil {
		t.Fatal(err)
	}
	fams := []speaker.Family{speaker.IPv4Unicast, speaker.IPv6Unicast}
	sent := speaker.EncodeOpen(&speaker.Open{Version: 4, MyAS: ASN, HoldTime: 90, RouterID: RouterID,
		Caps: speaker.Capabilities{Families: fams, FourOctetAS: true, AS4: ASN}})
	recv := speaker.EncodeOpen(&speaker.Open{Version: 4, MyAS: twoOctet(asn), HoldTime: 180, RouterID: a,
		Caps: speaker.Capabilities{Families: fams, FourOctetAS: true, AS4: asn}})
	m := &Member{T: t, Name: name, ASN: asn, Addr: a, Peer: p, Info: rs.SessionInfo{RouterID: a, Families: fams,
		Encode:   speaker.EncodeOptions{FourOctetAS: true, MaxMessage: speaker.MaxMessageLen},
		OpenSent: sent, OpenReceived: recv,
		Local: netip.AddrPortFrom(RouterID, 179), Remote: netip.AddrPortFrom(a, 40000+uint16(a.As4()[3]))}}
	m.Up()
	return m
}

// Up brings the member's session up (again).
func (m *Member) Up() {
	m.T.Helper()
	if err := m.Peer.Up(sink{}, m.Info); err != nil {
		m.T.Fatal(err)
	}
}

// Attrs are the member's usual attributes: its AS first, then path; the community AS:100 of its AS
// (AS_TRANS for a four-octet one), which the route server passes on; its own address as next hop.
func (m *Member) Attrs(path ...uint32) *speaker.Attrs {
	return &speaker.Attrs{Origin: speaker.OriginIGP,
		ASPath:      speaker.ASPath{{Type: speaker.SegSequence, ASNs: append([]uint32{m.ASN}, path...)}},
		NextHop:     m.Addr,
		Communities: []uint32{uint32(twoOctet(m.ASN))<<16 | 100}}
}

// MPNextHop is the member's IPv6 next hop: 2001:db8:ffff:: followed by the last octet of its
// address written out, so 192.0.2.12 has 2001:db8:ffff::12.
func (m *Member) MPNextHop() netip.Addr {
	return netip.MustParseAddr("2001:db8:ffff::" + m.Addr.String()[len("192.0.2."):])
}

// Announce sends one UPDATE of prefixes with a; if a has no IPv6 next hop and a prefix is IPv6, a
// copy of a with MPNextHop goes instead.
func (m *Member) Announce(a *speaker.Attrs, prefixes ...string) {
	m.T.Helper()
	u := &speaker.Update{Attrs: a}
	for _, p := range prefixes {
		pp := netip.MustParsePrefix(p)
		u.NLRI = append(u.NLRI, pp)
		if pp.Addr().Is6() && !u.Attrs.MPNextHop.IsValid() {
			c := *a
			c.MPNextHop = m.MPNextHop()
			u.Attrs = &c
		}
	}
	if err := m.Peer.Receive(u); err != nil {
		m.T.Fatal(err)
	}
}

// Withdraw sends one UPDATE withdrawing prefixes.
func (m *Member) Withdraw(prefixes ...string) {
	m.T.Helper()
	if err := m.Peer.Receive(Withdrawal(prefixes...)); err != nil {
		m.T.Fatal(err)
	}
}

// Withdrawal is an UPDATE withdrawing prefixes.
func Withdrawal(prefixes ...string) *speaker.Update {
	u := &speaker.Update{}
	for _, p := range prefixes {
		u.Withdrawn = append(u.Withdrawn, netip.MustParsePrefix(p))
	}
	return u
}

// Settle waits until the RIB holds want routes in all (received, over all sessions); it fails the
// test after Timeout.
func Settle(t testing.TB, s *rs.Server, want int) {
	t.Helper()
	deadline := time.Now().Add(Timeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), Timeout)
		st, err := s.Sessions(ctx)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, ss := range st {
			for _, f := range ss.Families {
				n += f.Received
			}
		}
		if n == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("RIB holds %d routes, want %d", n, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// twoOctet is asn where a two-octet AS number goes: itself, or AS_TRANS for a four-octet one (RFC 6793).
func twoOctet(asn uint32) uint16 {
	if asn > 0xffff {
		return speaker.ASTrans
	}
	return uint16(asn)
}
