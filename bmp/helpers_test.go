package bmp

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	gobmp "github.com/osrg/gobgp/v3/pkg/packet/bmp"

	"github.com/ixrs/ixrs/policy"
	"github.com/ixrs/ixrs/rs"
	"github.com/ixrs/ixrs/speaker"
)

const testTimeout = 20 * time.Second

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// startRIB runs a route server RIB until the test ends.
func startRIB(t *testing.T) *rs.Server {
	t.Helper()
	// Next hops are not checked (IPv6 routes come over IPv4 sessions here); the first AS is.
	s := rs.New(rs.Config{ASN: 65000, RouterID: netip.MustParseAddr("192.0.2.1"), Logger: quiet,
		Import: &policy.Import{NextHop: policy.NextHopAny, EnforceFirstAS: true, MaxPathLen: 32}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return s
}

// sink is a member session's output that nobody reads: the tests look at the RIB's feed only.
type sink struct{}

func (sink) Queue(b []byte) (int, error) { return 0, nil }

// member is a member with one session on the test RIB.
type member struct {
	t    *testing.T
	name string
	asn  uint32
	addr netip.Addr
	peer *rs.Peer
	info rs.SessionInfo
}

func addMember(t *testing.T, s *rs.Server, name string, asn uint32, addr string) *member {
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
	sent := speaker.EncodeOpen(&speaker.Open{Version: 4, MyAS: 65000, HoldTime: 90, RouterID: netip.MustParseAddr("192.0.2.1"),
		Caps: speaker.Capabilities{Families: []speaker.Family{speaker.IPv4Unicast, speaker.IPv6Unicast}, FourOctetAS: true, AS4: 65000}})
	recv := speaker.EncodeOpen(&speaker.Open{Version: 4, MyAS: uint16(min(asn, speaker.ASTrans)), HoldTime: 180, RouterID: a,
		Caps: speaker.Capabilities{Families: []speaker.Family{speaker.IPv4Unicast, speaker.IPv6Unicast}, FourOctetAS: true, AS4: asn}})
	m := &member{t: t, name: name, asn: asn, addr: a, peer: p, info: rs.SessionInfo{RouterID: a,
		Families: []speaker.Family{speaker.IPv4Unicast, speaker.IPv6Unicast},
		Encode:   speaker.EncodeOptions{FourOctetAS: true, MaxMessage: speaker.MaxMessageLen},
		OpenSent: sent, OpenReceived: recv,
		Local: netip.AddrPortFrom(netip.MustParseAddr("192.0.2.1"), 179), Remote: netip.AddrPortFrom(a, 40000+uint16(a.As4()[3]))}}
	m.up()
	return m
}

func (m *member) up() {
	if err := m.peer.Up(sink{}, m.info); err != nil {
		m.t.Fatal(err)
	}
}

// attrs are the member's usual attributes: its AS first, a community, its own address as next hop.
func (m *member) attrs(path ...uint32) *speaker.Attrs {
	a := &speaker.Attrs{Origin: speaker.OriginIGP,
		ASPath:      speaker.ASPath{{Type: speaker.SegSequence, ASNs: append([]uint32{m.asn}, path...)}},
		NextHop:     m.addr,
		Communities: []uint32{m.asn<<16 | 100}}
	return a
}

func (m *member) announce(a *speaker.Attrs, prefixes ...string) {
	m.t.Helper()
	u := &speaker.Update{Attrs: a}
	for _, p := range prefixes {
		pp := netip.MustParsePrefix(p)
		u.NLRI = append(u.NLRI, pp)
		if pp.Addr().Is6() && !a.MPNextHop.IsValid() {
			c := *a
			c.MPNextHop = netip.MustParseAddr("2001:db8:ffff::" + m.addr.String()[len("192.0.2."):])
			u.Attrs = &c
		}
	}
	if err := m.peer.Receive(u); err != nil {
		m.t.Fatal(err)
	}
}

// collector is a BMP collector decoding with gobgp: every message it reads goes to msgs.
type collector struct {
	ln   net.Listener
	msgs chan *gobmp.BMPMessage
	mu   sync.Mutex
	conn net.Conn
	// stall: the next connection is accepted and never read.
	stall bool
}

func newCollector(t *testing.T) *collector {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &collector{ln: ln, msgs: make(chan *gobmp.BMPMessage, 1<<16)}
	t.Cleanup(func() {
		ln.Close()
		c.mu.Lock()
		if c.conn != nil {
			c.conn.Close()
		}
		c.mu.Unlock()
	})
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			c.mu.Lock()
			c.conn = conn
			stall := c.stall
			c.stall = false
			c.mu.Unlock()
			if stall {
				conn.(*net.TCPConn).SetReadBuffer(4096)
				continue // keep it open, read nothing
			}
			c.read(t, conn)
		}
	}()
	return c
}

func (c *collector) read(t *testing.T, conn net.Conn) {
	sc := bufio.NewScanner(conn)
	sc.Buffer(make([]byte, 1<<16), 1<<20)
	sc.Split(gobmp.SplitBMP)
	for sc.Scan() {
		m, err := gobmp.ParseBMPMessage(sc.Bytes())
		if err != nil {
			t.Errorf("collector: %v", err)
			return
		}
		c.msgs <- m
	}
}

// until reads messages until ok says done; it fails the test after testTimeout.
func (c *collector) until(t *testing.T, what string, ok func(*gobmp.BMPMessage) bool) []*gobmp.BMPMessage {
	t.Helper()
	var got []*gobmp.BMPMessage
	timer := time.NewTimer(testTimeout)
	defer timer.Stop()
	for {
		select {
		case m := <-c.msgs:
			got = append(got, m)
			if ok(m) {
				return got
			}
		case <-timer.C:
			t.Fatalf("collector: no %s within %v (%d messages read)", what, testTimeout, len(got))
		}
	}
}

func runExporter(t *testing.T, src Source, cfg Config) *Exporter {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = quiet
	}
	e := New(src, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { e.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return e
}

type speakerUpdate = speaker.Update

func mustWithdraw(prefixes ...string) *speaker.Update {
	u := &speaker.Update{}
	for _, p := range prefixes {
		u.Withdrawn = append(u.Withdrawn, netip.MustParsePrefix(p))
	}
	return u
}
