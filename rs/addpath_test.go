package rs

import (
	"encoding/binary"
	"net/netip"
	"testing"

	"github.com/ixrs/ixrs/policy"
	"github.com/ixrs/ixrs/speaker"
)

// apMember is a member that negotiated ADD-PATH receive for IPv4: it keeps every path by
// identifier, and counts the path announcements and withdrawals it was sent.
type apMember struct {
	*tmember
	paths          map[netip.Prefix]map[uint32]*speaker.Attrs
	announced, wdn int
}

func addAPMember(t *testing.T, s *Server, name string, asn uint32, addr string, limit int) *apMember {
	t.Helper()
	m := addMember(t, s, name, asn, addr, func(i *SessionInfo) {
		i.AddPath, i.AddPathLimit = []speaker.Family{speaker.IPv4Unicast}, limit
	})
	return &apMember{tmember: m, paths: map[netip.Prefix]map[uint32]*speaker.Attrs{}}
}

// apNLRI parses IPv4 ADD-PATH NLRI: path identifier, length, prefix bytes.
func apNLRI(t testing.TB, b []byte) []speaker.PathNLRI {
	var out []speaker.PathNLRI
	for len(b) > 0 {
		if len(b) < 5 {
			t.Fatalf("truncated ADD-PATH NLRI %x", b)
		}
		id, bits := binary.BigEndian.Uint32(b), int(b[4])
		l := (bits + 7) / 8
		var a [4]byte
		copy(a[:], b[5:5+l])
		out = append(out, speaker.PathNLRI{ID: id, Prefix: netip.PrefixFrom(netip.AddrFrom4(a), bits)})
		b = b[5+l:]
	}
	return out
}

// read decodes what the route server queued for m (IPv4 with path identifiers) and returns the
// number of UPDATEs.
func (m *apMember) read() int {
	t := m.t
	t.Helper()
	b := m.out.take()
	n := 0
	for len(b) > 0 {
		l := int(binary.BigEndian.Uint16(b[16:18]))
		if b[18] != speaker.MsgUpdate {
			t.Fatalf("%s: message type %d", m.name, b[18])
		}
		body := b[speaker.HeaderLen:l]
		b = b[l:]
		u, uerr := speaker.DecodeUpdate(body, speaker.DecodeOptions{FourOctetAS: true,
			AddPath: map[speaker.Family]bool{speaker.IPv4Unicast: true}})
		if uerr != nil {
			t.Fatalf("%s: route server sent a bad UPDATE: %v", m.name, uerr)
		}
		n++
		if u.EndOfRIB != 0 {
			m.eor[u.EndOfRIB]++
		}
		// IPv6 is not ADD-PATH here: plain prefixes, in MP_REACH/MP_UNREACH.
		for _, p := range u.Withdrawn {
			if p.Addr().Is6() {
				delete(m.rib, p)
			}
		}
		for _, p := range u.NLRI {
			if p.Addr().Is6() {
				m.rib[p] = u.Attrs
			}
		}
		wl := int(binary.BigEndian.Uint16(body))
		al := int(binary.BigEndian.Uint16(body[2+wl:]))
		for _, x := range apNLRI(t, body[2:2+wl]) {
			delete(m.paths[x.Prefix], x.ID)
			if len(m.paths[x.Prefix]) == 0 {
				delete(m.paths, x.Prefix)
			}
			m.wdn++
		}
		for _, x := range apNLRI(t, body[4+wl+al:]) {
			if m.paths[x.Prefix] == nil {
				m.paths[x.Prefix] = map[uint32]*speaker.Attrs{}
			}
			m.paths[x.Prefix][x.ID] = u.Attrs
			m.announced++
		}
	}
	if n > 0 {
		m.ss.Drained()
	}
	return n
}

// firstASes returns the first AS of every path m holds for prefix, by path identifier.
func (m *apMember) firstASes(prefix string) map[uint32]uint32 {
	out := map[uint32]uint32{}
	for id, a := range m.paths[netip.MustParsePrefix(prefix)] {
		out[id] = a.ASPath.First()
	}
	return out
}

func readAllAP(t *testing.T, s *Server, ap []*apMember, ms ...*tmember) {
	t.Helper()
	for i := 0; i < 100000; i++ {
		settle(t, s)
		n := 0
		for _, m := range ms {
			n += m.read()
		}
		for _, m := range ap {
			n += m.read()
		}
		if n == 0 && !s.pass() {
			checkInvariants(t, s, true)
			return
		}
	}
	t.Fatal("members never stop receiving")
}

func sameIDs(got map[uint32]uint32, want map[uint32]uint32) bool {
	if len(got) != len(want) {
		return false
	}
	for k, v := range want {
		if got[k] != v {
			return false
		}
	}
	return true
}

// TestAddPathSend: an ADD-PATH member gets every candidate export allows it, each under the
// announcing session's identifier; changes reach it as deltas under the same identifiers, and a
// member without ADD-PATH still gets only the best path.
func TestAddPathSend(t *testing.T) {
	for _, cohorts := range []bool{true, false} {
		s := newTestServer(t, func(c *Config) {
			c.noCohorts = !cohorts
			c.Import = &policy.Import{NextHop: policy.NextHopAny, EnforceFirstAS: true} // IPv6 next hops of IPv4 sessions
		})
		a := addMember(t, s, "A", 64501, "192.0.2.11")
		b := addMember(t, s, "B", 64502, "192.0.2.12")
		c := addMember(t, s, "C", 64503, "192.0.2.13")
		n := addMember(t, s, "N", 64505, "192.0.2.15")
		x := addAPMember(t, s, "X", 64504, "192.0.2.14", 0)
		ms, aps := []*tmember{a, b, c, n}, []*apMember{x}
		readAllAP(t, s, aps, ms...)
		id := func(m *tmember) uint32 { return uint32(m.ss.p.id) + 1 }
		const p = "203.0.113.0/24"

		// IPv6, without ADD-PATH on X's session: the best path only, as before.
		a6, b6 := a.attrs(), b.attrs()
		a6.MPNextHop, b6.MPNextHop = netip.MustParseAddr("2001:db8::11"), netip.MustParseAddr("2001:db8::12")
		a.announce(a6, "2001:db8:100::/48")
		b.announce(b6, "2001:db8:100::/48")
		a.announce(a.attrs(), p)
		b.announce(b.attrs(65001), p)
		// C's route says "do not announce to AS64504" (0:peer-as): X must not get it.
		ca := c.attrs()
		ca.Communities = []uint32{std(0, 64504)}
		c.announce(ca, p)
		readAllAP(t, s, aps, ms...)
		want := map[uint32]uint32{id(a): 64501, id(b): 64502}
		if got := x.firstASes(p); !sameIDs(got, want) {
			t.Fatalf("cohorts=%v: X holds %v, want %v", cohorts, got, want)
		}
		if x.from("2001:db8:100::/48") != 64501 {
			t.Errorf("cohorts=%v: X holds IPv6 route from AS%d, want AS64501", cohorts, x.from("2001:db8:100::/48"))
		}
		if n.from(p) != 64501 || len(n.msgs) == 0 {
			t.Errorf("cohorts=%v: member without ADD-PATH holds a route from AS%d, want the best (AS64501)", cohorts, n.from(p))
		}

		// An attribute change of one path: re-announced under the same identifier, nothing else.
		x.announced, x.wdn = 0, 0
		a.announce(a.attrs(65002), p)
		readAllAP(t, s, aps, ms...)
		if x.announced != 1 || x.wdn != 0 || len(x.paths[netip.MustParsePrefix(p)][id(a)].ASPath[0].ASNs) != 2 {
			t.Errorf("cohorts=%v: after A's change X got %d announcements, %d withdrawals, A's path %v",
				cohorts, x.announced, x.wdn, x.paths[netip.MustParsePrefix(p)][id(a)].ASPath)
		}

		// A path that goes is withdrawn by its identifier; the others keep theirs.
		x.announced, x.wdn = 0, 0
		b.withdraw(p)
		readAllAP(t, s, aps, ms...)
		if got := x.firstASes(p); x.announced != 0 || x.wdn != 1 || !sameIDs(got, map[uint32]uint32{id(a): 64501}) {
			t.Errorf("cohorts=%v: after B's withdrawal X holds %v (%d announced, %d withdrawn)", cohorts, got, x.announced, x.wdn)
		}

		// A new path comes under its own identifier; the others' do not change.
		x.announced, x.wdn = 0, 0
		b.announce(b.attrs(), p)
		readAllAP(t, s, aps, ms...)
		want = map[uint32]uint32{id(a): 64501, id(b): 64502}
		if got := x.firstASes(p); x.announced != 1 || x.wdn != 0 || !sameIDs(got, want) {
			t.Errorf("cohorts=%v: after B's return X holds %v (%d announced, %d withdrawn), want %v", cohorts, got, x.announced, x.wdn, want)
		}

		// C lifts its restriction: its path joins.
		c.announce(c.attrs(), p)
		readAllAP(t, s, aps, ms...)
		want[id(c)] = 64503
		if got := x.firstASes(p); !sameIDs(got, want) {
			t.Errorf("cohorts=%v: X holds %v, want %v", cohorts, got, want)
		}

		// X's own route never comes back to it; everyone else gets it.
		x.announce(x.attrs(), "198.51.100.0/24")
		readAllAP(t, s, aps, ms...)
		if len(x.paths[netip.MustParsePrefix("198.51.100.0/24")]) != 0 || a.from("198.51.100.0/24") != 64504 {
			t.Errorf("cohorts=%v: X's own route: X holds %v, A from AS%d", cohorts, x.paths, a.from("198.51.100.0/24"))
		}

		// Everyone withdraws: X holds nothing for the prefix.
		for _, m := range []*tmember{a, b, c} {
			m.withdraw(p)
		}
		readAllAP(t, s, aps, ms...)
		if len(x.paths[netip.MustParsePrefix(p)]) != 0 {
			t.Errorf("cohorts=%v: X still holds %v", cohorts, x.paths[netip.MustParsePrefix(p)])
		}
	}
}

// TestAddPathLimit: at most the limit's paths per prefix, the best in decision order; when one of
// them goes, the next candidate takes its place.
func TestAddPathLimit(t *testing.T) {
	s := newTestServer(t, nil)
	var ms []*tmember
	for i := range 4 {
		ms = append(ms, addMember(t, s, string(rune('A'+i)), uint32(64501+i), netip.AddrFrom4([4]byte{192, 0, 2, byte(11 + i)}).String()))
	}
	x := addAPMember(t, s, "X", 64510, "192.0.2.20", 2)
	aps := []*apMember{x}
	id := func(m *tmember) uint32 { return uint32(m.ss.p.id) + 1 }
	const p = "203.0.113.0/24"
	// Longer AS paths rank lower: A best, then B, C, D.
	for i, m := range ms {
		path := make([]uint32, i)
		for j := range path {
			path[j] = 65000 + uint32(j)
		}
		m.announce(m.attrs(path...), p)
	}
	readAllAP(t, s, aps, ms...)
	if got, want := x.firstASes(p), map[uint32]uint32{id(ms[0]): 64501, id(ms[1]): 64502}; !sameIDs(got, want) {
		t.Fatalf("limit 2: X holds %v, want %v", got, want)
	}
	ms[0].withdraw(p)
	readAllAP(t, s, aps, ms...)
	if got, want := x.firstASes(p), map[uint32]uint32{id(ms[1]): 64502, id(ms[2]): 64503}; !sameIDs(got, want) {
		t.Errorf("after the best left: X holds %v, want %v", got, want)
	}
	// A route refresh sends every path again, under the same identifiers.
	x.announced, x.wdn = 0, 0
	if err := x.ss.RouteRefresh(speaker.IPv4Unicast); err != nil {
		t.Fatal(err)
	}
	readAllAP(t, s, aps, ms...)
	if got, want := x.firstASes(p), map[uint32]uint32{id(ms[1]): 64502, id(ms[2]): 64503}; x.announced != 2 || x.wdn != 0 || !sameIDs(got, want) {
		t.Errorf("after a refresh: X holds %v (%d announced, %d withdrawn), want %v", got, x.announced, x.wdn, want)
	}
	// A session that goes down takes its paths with it.
	ms[1].ss.Down()
	readAllAP(t, s, aps, ms...)
	if got, want := x.firstASes(p), map[uint32]uint32{id(ms[2]): 64503, id(ms[3]): 64504}; !sameIDs(got, want) {
		t.Errorf("after B went down: X holds %v, want %v", got, want)
	}
	// X flaps: its new incarnation gets the table again, with the same identifiers.
	x.ss.Down()
	settle(t, s)
	x.out.take()
	x.paths = map[netip.Prefix]map[uint32]*speaker.Attrs{}
	x.up(func(i *SessionInfo) { i.AddPath, i.AddPathLimit = []speaker.Family{speaker.IPv4Unicast}, 2 })
	readAllAP(t, s, aps, ms...)
	if got, want := x.firstASes(p), map[uint32]uint32{id(ms[2]): 64503, id(ms[3]): 64504}; !sameIDs(got, want) {
		t.Errorf("after X's flap: X holds %v, want %v", got, want)
	}
	if x.eor[speaker.IPv4Unicast] != 1 || x.eor[speaker.IPv6Unicast] != 1 {
		t.Errorf("X's End-of-RIB markers after its table: %v", x.eor)
	}
}
