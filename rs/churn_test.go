package rs

import (
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/ixrs/ixrs/speaker"
)

// TestRandomChurn drives random announcements, withdrawals, control communities, session flaps
// and route refreshes through members that read their output at random moments, then checks that
// every member ends up holding exactly what the RIB says it should, and the invariants.
func TestRandomChurn(t *testing.T) {
	for seed := uint64(1); seed <= 4; seed++ {
		rng := rand.New(rand.NewPCG(seed, 99))
		s := newTestServer(t, func(c *Config) {
			c.InboundQueue = 1 << 12
			c.WalkBatch = 1 + rng.IntN(64)
			c.OutHighWater, c.OutLowWater = 1+rng.IntN(8192), 0
			c.PendingMax = 50 + rng.IntN(500)
			c.ClearBatch = 1 + rng.IntN(50)
		})
		var ms []*tmember
		for i := range 6 {
			addr := netip.AddrFrom4([4]byte{192, 0, 2, byte(11 + i)}).String()
			if i%3 == 2 {
				addr = netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 15: byte(11 + i)}).String()
			}
			ms = append(ms, addMember(t, s, string(rune('A'+i)), uint32(64501+i), addr))
		}
		ps := append(seqPrefixes(0, 40, false), seqPrefixes(0, 20, true)...)
		up := make([]bool, len(ms))
		for i := range up {
			up[i] = true
		}
		for step := range 3000 {
			m := ms[rng.IntN(len(ms))]
			i := int(m.asn - 64501)
			switch k := rng.IntN(100); {
			case k < 2:
				if up[i] {
					m.ss.Down()
				} else {
					m.out.take()
					m.up()
				}
				up[i] = !up[i]
			case k < 4 && up[i]:
				m.ss.RouteRefresh(speaker.IPv4Unicast)
			case k < 75 && up[i]:
				var nlri []netip.Prefix
				for range 1 + rng.IntN(5) {
					p := ps[rng.IntN(len(ps))]
					if p.Addr().Is4() == m.addr.Is4() {
						nlri = append(nlri, p)
					}
				}
				a := m.attrs(uint32(65000 + rng.IntN(3)))
				if rng.IntN(4) == 0 {
					a.ASPath[0].ASNs = append(a.ASPath[0].ASNs, 65000)
				}
				if rng.IntN(5) == 0 {
					a.Communities = []uint32{std(0, uint32(64501+rng.IntN(len(ms))))}
				}
				if rng.IntN(10) == 0 {
					a.NextHop = netip.MustParseAddr("192.0.2.250") // rejected
					a.MPNextHop = netip.MustParseAddr("2001:db8::250")
				}
				m.ss.Receive(&speaker.Update{Attrs: a, NLRI: nlri})
			case up[i]:
				m.ss.Receive(&speaker.Update{Withdrawn: []netip.Prefix{ps[rng.IntN(len(ps))]}})
			}
			if rng.IntN(3) == 0 {
				s.pass()
			}
			if rng.IntN(4) == 0 {
				ms[rng.IntN(len(ms))].read()
			}
			if step%500 == 0 {
				checkInvariants(t, s, false)
			}
		}
		var live []*tmember
		for i, m := range ms {
			if up[i] {
				live = append(live, m)
			}
		}
		readAll(t, s, live...) // checks the invariants, synced
		st := s.snapshot()
		t.Logf("seed %d: %d routes (%d filtered), %d prefixes, %d sets, %d in / %d out messages, %d dumps",
			seed, st.Routes, st.RoutesFiltered, st.Prefixes, st.AttrSets, st.MessagesIn, st.MessagesOut, st.DumpsStarted)
		if st.Routes == 0 || st.RoutesFiltered == 0 || st.DumpsStarted < 8 {
			t.Errorf("seed %d: the run exercised too little", seed)
		}
		for _, m := range live {
			p := m.ss.p
			for pfx, got := range m.rib {
				pe := s.prefixes.get(pfx)
				if pe == nil || pe.outFor(p.id) == nil {
					t.Fatalf("seed %d: %v holds %v, which it should not have", seed, m, pfx)
				}
				if want := pe.outFor(p.id).attrs; want.ASPath.String() != got.ASPath.String() {
					t.Fatalf("seed %d: %v holds %v via %v, should via %v", seed, m, pfx, got.ASPath, want.ASPath)
				}
			}
			for _, pe := range s.prefixes.m {
				if pe.outFor(p.id) != nil && m.rib[pe.pfx] == nil {
					t.Fatalf("seed %d: %v misses %v", seed, m, pe.pfx)
				}
			}
		}
	}
}
