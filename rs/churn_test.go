package rs

import (
	"math/rand/v2"
	"net/netip"
	"reflect"
	"testing"

	"github.com/ixrs/ixrs/speaker"
)

// TestRandomChurn drives random announcements, withdrawals, control communities, session flaps
// and route refreshes through members that read their output at random moments, then checks that
// every member ends up holding exactly what the RIB says it should, and the invariants.
func TestRandomChurn(t *testing.T) {
	for seed := uint64(1); seed <= 4; seed++ {
		randomChurn(t, seed, 6, false)
	}
}

// TestCohortMatchesSingle runs the same random churn with caught-up sessions served as cohorts and
// with every session served on its own: each member must end up with exactly the same routes and
// attributes. The members mix encodings (2- and 4-octet AS, 4,096- and 65,535-byte messages),
// families, and members with two sessions.
func TestCohortMatchesSingle(t *testing.T) {
	for seed := uint64(1); seed <= 6; seed++ {
		co := randomChurn(t, seed, 12, false)
		single := randomChurn(t, seed, 12, true)
		if len(co.ribs) != len(single.ribs) {
			t.Fatalf("seed %d: %d members up with cohorts, %d without", seed, len(co.ribs), len(single.ribs))
		}
		for name, rib := range single.ribs {
			got := co.ribs[name]
			if len(got) != len(rib) {
				t.Fatalf("seed %d: %s holds %d prefixes with cohorts, %d without", seed, name, len(got), len(rib))
			}
			for p, a := range rib {
				if b := got[p]; b == nil || !reflect.DeepEqual(*a, *b) {
					t.Fatalf("seed %d: %s holds %v as %+v with cohorts, %+v without", seed, name, p, b, a)
				}
			}
		}
		if co.stats.CohortPulls == 0 || single.stats.CohortPulls != 0 {
			t.Fatalf("seed %d: cohort pulls %d with cohorts, %d without", seed, co.stats.CohortPulls, single.stats.CohortPulls)
		}
		t.Logf("seed %d: %d cohort pulls served %d sessions; messages out %d with cohorts, %d without", seed,
			co.stats.CohortPulls, co.stats.CohortSessions, co.stats.MessagesOut, single.stats.MessagesOut)
	}
}

type churnResult struct {
	ribs  map[string]map[netip.Prefix]*speaker.Attrs // of the members up at the end
	stats Stats
}

func randomChurn(t *testing.T, seed uint64, members int, noCohorts bool) churnResult {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 99))
	s := newTestServer(t, func(c *Config) {
		c.InboundQueue = 1 << 12
		c.WalkBatch = 1 + rng.IntN(64)
		c.OutHighWater, c.OutLowWater = 1+rng.IntN(8192), 0
		c.PendingMax = 50 + rng.IntN(500)
		c.ClearBatch = 1 + rng.IntN(50)
		c.noCohorts = noCohorts
	})
	var ms []*tmember
	for i := range members {
		addr := netip.AddrFrom4([4]byte{192, 0, 2, byte(11 + i)}).String()
		if i%3 == 2 {
			addr = netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 15: byte(11 + i)}).String()
		}
		var mods []func(*SessionInfo)
		switch {
		case members <= 6:
		case i%4 == 1:
			mods = append(mods, func(si *SessionInfo) { si.Encode.FourOctetAS = false })
		case i%4 == 3:
			mods = append(mods, func(si *SessionInfo) { si.Encode.MaxMessage = 65535 })
		case i%5 == 4:
			mods = append(mods, func(si *SessionInfo) { si.Families = si.Families[:1] })
		}
		m := addMember(t, s, string(rune('A'+i)), uint32(64501+i), addr, mods...)
		m.mods = mods
		ms = append(ms, m)
	}
	if members > 6 {
		// A second session of member A, on the other family's transport.
		a2, err := s.addPeer("A", netip.MustParseAddr("2001:db8::99"))
		if err != nil {
			t.Fatal(err)
		}
		m := &tmember{t: t, name: "A2", asn: ms[0].asn, addr: a2.addr, ss: a2, out: &fakeOut{}}
		m.up()
		ms = append(ms, m)
	}
	ps := append(seqPrefixes(0, 40, false), seqPrefixes(0, 20, true)...)
	up := make([]bool, len(ms))
	for i := range up {
		up[i] = true
	}
	for step := range 3000 {
		i := rng.IntN(len(ms))
		m := ms[i]
		switch k := rng.IntN(100); {
		case k < 2:
			if up[i] {
				m.ss.Down()
			} else {
				m.out.take()
				m.up(m.mods...)
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
			if rng.IntN(8) == 0 {
				// Another member's AS in the path: that member must not get the route.
				a.ASPath[0].ASNs = append(a.ASPath[0].ASNs, uint32(64501+rng.IntN(members)))
			}
			if rng.IntN(5) == 0 {
				a.Communities = []uint32{std(0, uint32(64501+rng.IntN(members)))}
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
	res := churnResult{ribs: map[string]map[netip.Prefix]*speaker.Attrs{}, stats: st}
	for _, m := range live {
		res.ribs[m.name] = m.rib
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
		for _, pe := range s.prefixes.all() {
			if pe.outFor(p.id) != nil && m.rib[pe.prefix()] == nil {
				t.Fatalf("seed %d: %v misses %v", seed, m, pe.prefix())
			}
		}
	}
	return res
}
