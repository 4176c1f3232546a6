package mrt

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

const testTimeout = 20 * time.Second

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// startRIB runs a route server RIB until the test ends. Next hops are not checked (IPv6 routes
// come over IPv4 sessions here); the first AS is, and paths longer than 8 are filtered.
func startRIB(t testing.TB) *rs.Server {
	t.Helper()
	s := rs.New(rs.Config{ASN: 65000, RouterID: netip.MustParseAddr("192.0.2.1"), Logger: quiet,
		Import: &policy.Import{NextHop: policy.NextHopAny, EnforceFirstAS: true, MaxPathLen: 8}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return s
}

type sink struct{}

func (sink) Queue(b []byte) (int, error) { return 0, nil }

type member struct {
	t    testing.TB
	asn  uint32
	addr netip.Addr
	peer *rs.Peer
}

func addMember(t testing.TB, s *rs.Server, name string, asn uint32, addr string) *member {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if err := s.AddMember(ctx, rs.MemberConfig{Name: name, ASN: asn}); err != nil {
		t.Fatal(err)
	}
	a := netip.MustParseAddr(addr)
	p, err := s.AddPeer(ctx, name, a)
	if err != nil {
		t.Fatal(err)
	}
	info := rs.SessionInfo{RouterID: a, Families: []speaker.Family{speaker.IPv4Unicast, speaker.IPv6Unicast},
		Encode: speaker.EncodeOptions{FourOctetAS: true, MaxMessage: speaker.MaxMessageLen}}
	if err := p.Up(sink{}, info); err != nil {
		t.Fatal(err)
	}
	return &member{t: t, asn: asn, addr: a, peer: p}
}

// attrs are the member's usual attributes: its AS first, then path, a community, its own address
// (or for IPv6 an address of 2001:db8:ffff::/64) as next hop.
func (m *member) attrs(path ...uint32) *speaker.Attrs {
	last := m.addr.As4()[3]
	return &speaker.Attrs{Origin: speaker.OriginIGP,
		ASPath:      speaker.ASPath{{Type: speaker.SegSequence, ASNs: append([]uint32{m.asn}, path...)}},
		NextHop:     m.addr,
		MPNextHop:   netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0xff, 0xff, 15: last}),
		Communities: []uint32{65000<<16 | 100}}
}

func (m *member) announce(a *speaker.Attrs, prefixes ...string) {
	m.t.Helper()
	u := &speaker.Update{Attrs: a}
	for _, p := range prefixes {
		u.NLRI = append(u.NLRI, netip.MustParsePrefix(p))
	}
	if err := m.peer.Receive(u); err != nil {
		m.t.Fatal(err)
	}
}

func (m *member) withdraw(prefixes ...string) {
	m.t.Helper()
	u := &speaker.Update{}
	for _, p := range prefixes {
		u.Withdrawn = append(u.Withdrawn, netip.MustParsePrefix(p))
	}
	if err := m.peer.Receive(u); err != nil {
		m.t.Fatal(err)
	}
}

// settle waits until the RIB holds want routes in all (received, across sessions).
func settle(t testing.TB, s *rs.Server, want int) {
	t.Helper()
	deadline := time.Now().Add(testTimeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
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
