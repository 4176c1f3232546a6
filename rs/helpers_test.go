package rs

import (
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"sync"
	"testing"

	"github.com/ixrs/ixrs/speaker"
)

// The tests drive the RIB loop synchronously: they call pass() themselves instead of running Run,
// so that "how many passes until X" is a number, not a timing.

const rsASN = 64500

func newTestServer(t testing.TB, mod func(*Config)) *Server {
	t.Helper()
	cfg := Config{ASN: rsASN, RouterID: netip.MustParseAddr("192.0.2.1"),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if mod != nil {
		mod(&cfg)
	}
	return New(cfg)
}

// settle runs passes until one does nothing and returns how many ran.
func settle(t testing.TB, s *Server) int {
	t.Helper()
	for i := 1; i < 1_000_000; i++ {
		if !s.pass() {
			return i
		}
	}
	t.Fatal("RIB loop never settles")
	return 0
}

// fakeOut is a session's output buffer. A stuck one is never read: it models a member that stops
// reading its socket.
type fakeOut struct {
	mu    sync.Mutex
	buf   []byte
	err   error
	total int
}

func (o *fakeOut) Queue(b []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.err != nil {
		return 0, o.err
	}
	o.buf = append(o.buf, b...)
	o.total += len(b)
	return len(o.buf), nil
}

func (o *fakeOut) take() []byte {
	o.mu.Lock()
	defer o.mu.Unlock()
	b := o.buf
	o.buf = nil
	return b
}

// tmember is a member router as the tests see it: it announces through its Peer and keeps the
// routes it receives, decoded from the bytes the route server queued.
type tmember struct {
	t    testing.TB
	name string
	asn  uint32
	addr netip.Addr
	ss   *Peer
	out  *fakeOut
	opts speaker.EncodeOptions

	rib  map[netip.Prefix]*speaker.Attrs
	eor  map[speaker.Family]int
	msgs []*speaker.Update // every UPDATE received, in order
	// sizes of the UPDATEs received
	sizes []int
	mods  []func(*SessionInfo) // applied again when the session comes back up
	// rr are the ROUTE-REFRESH messages received (BoRR, EoRR), each with len(msgs) when it came.
	rr []seenRefresh
}

type seenRefresh struct {
	speaker.RouteRefresh
	at int
}

// addMember configures a member with one session at addr and brings it up (4-octet AS, 4096-byte
// messages, both families unless opts say otherwise).
func addMember(t testing.TB, s *Server, name string, asn uint32, addr string, mods ...func(*SessionInfo)) *tmember {
	t.Helper()
	if err := s.addMember(MemberConfig{Name: name, ASN: asn}); err != nil {
		t.Fatal(err)
	}
	a := netip.MustParseAddr(addr)
	ss, err := s.addPeer(name, a)
	if err != nil {
		t.Fatal(err)
	}
	m := &tmember{t: t, name: name, asn: asn, addr: a, ss: ss, out: &fakeOut{}}
	m.up(mods...)
	return m
}

func (m *tmember) up(mods ...func(*SessionInfo)) {
	info := SessionInfo{
		RouterID: m.addr,
		Families: []speaker.Family{speaker.IPv4Unicast, speaker.IPv6Unicast},
		Encode:   speaker.EncodeOptions{FourOctetAS: true, MaxMessage: speaker.MaxMessageLen},
	}
	if m.addr.Is6() {
		info.RouterID = netip.AddrFrom4([4]byte{10, 0, 0, byte(m.asn)})
	}
	for _, f := range mods {
		f(&info)
	}
	m.opts = info.Encode
	m.rib = make(map[netip.Prefix]*speaker.Attrs)
	m.eor = make(map[speaker.Family]int)
	if err := m.ss.Up(m.out, info); err != nil {
		m.t.Fatal(err)
	}
}

// attrs returns attributes as m's router would send them: next hop its own address, AS path
// starting with its AS.
func (m *tmember) attrs(path ...uint32) *speaker.Attrs {
	a := &speaker.Attrs{ASPath: speaker.ASPath{{Type: speaker.SegSequence, ASNs: append([]uint32{m.asn}, path...)}}}
	if m.addr.Is4() {
		a.NextHop = m.addr
	} else {
		a.MPNextHop = m.addr
	}
	return a
}

func (m *tmember) announce(a *speaker.Attrs, prefixes ...string) {
	m.t.Helper()
	if err := m.ss.Receive(&speaker.Update{Attrs: a, NLRI: pfxs(prefixes...)}); err != nil {
		m.t.Fatal(err)
	}
}

func (m *tmember) withdraw(prefixes ...string) {
	m.t.Helper()
	if err := m.ss.Receive(&speaker.Update{Withdrawn: pfxs(prefixes...)}); err != nil {
		m.t.Fatal(err)
	}
}

// read decodes everything queued for m, applies it to m.rib and tells the route server the
// buffer drained. It returns the number of UPDATEs read.
func (m *tmember) read() int {
	m.t.Helper()
	b := m.out.take()
	any := len(b) > 0
	n := 0
	for len(b) > 0 {
		if len(b) < speaker.HeaderLen {
			m.t.Fatalf("%s: truncated message", m.name)
		}
		l := int(binary.BigEndian.Uint16(b[16:18]))
		if l > m.opts.MaxMessage {
			m.t.Fatalf("%s: message of %d bytes over the limit %d", m.name, l, m.opts.MaxMessage)
		}
		if b[18] == speaker.MsgRouteRefresh {
			rr, n := speaker.DecodeRouteRefresh(b[speaker.HeaderLen:l])
			if n != nil {
				m.t.Fatalf("%s: route server sent a bad ROUTE-REFRESH: %v", m.name, n)
			}
			m.rr = append(m.rr, seenRefresh{rr, len(m.msgs)})
			b = b[l:]
			continue
		}
		if b[18] != speaker.MsgUpdate {
			m.t.Fatalf("%s: message type %d", m.name, b[18])
		}
		u, uerr := speaker.DecodeUpdate(b[speaker.HeaderLen:l], speaker.DecodeOptions{FourOctetAS: m.opts.FourOctetAS})
		if uerr != nil {
			m.t.Fatalf("%s: route server sent a bad UPDATE: %v", m.name, uerr)
		}
		m.apply(u)
		m.sizes = append(m.sizes, l)
		b = b[l:]
		n++
	}
	if any {
		m.ss.Drained()
	}
	return n
}

func (m *tmember) apply(u *speaker.Update) {
	m.msgs = append(m.msgs, u)
	for _, p := range u.Withdrawn {
		delete(m.rib, p)
	}
	for _, p := range u.NLRI {
		m.rib[p] = u.Attrs
	}
	if u.EndOfRIB != 0 {
		m.eor[u.EndOfRIB]++
	}
}

// has returns the attributes m holds for prefix, or nil.
func (m *tmember) has(prefix string) *speaker.Attrs { return m.rib[netip.MustParsePrefix(prefix)] }

// from returns the first AS of the path m holds for prefix, or 0.
func (m *tmember) from(prefix string) uint32 {
	if a := m.has(prefix); a != nil {
		return a.ASPath.First()
	}
	return 0
}

func pfxs(ss ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParsePrefix(s)
	}
	return out
}

// seqPrefixes returns n distinct IPv4 /24s (or IPv6 /48s) starting from a base index.
func seqPrefixes(base, n int, v6 bool) []netip.Prefix {
	out := make([]netip.Prefix, n)
	for i := range out {
		k := base + i
		if v6 {
			out[i] = netip.PrefixFrom(netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, byte(k >> 16), byte(k >> 8), byte(k)}), 48)
		} else {
			out[i] = netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(10 + k>>16), byte(k >> 8), byte(k), 0}), 24)
		}
	}
	return out
}

// readAll reads every member until the route server has nothing left for them.
func readAll(t testing.TB, s *Server, ms ...*tmember) {
	t.Helper()
	for i := 0; i < 100000; i++ {
		settle(t, s)
		n := 0
		for _, m := range ms {
			n += m.read()
		}
		if n == 0 && !s.pass() {
			checkInvariants(t, s, true)
			return
		}
	}
	t.Fatal("members never stop receiving")
}

func (m *tmember) String() string { return fmt.Sprintf("%s(AS%d)", m.name, m.asn) }
