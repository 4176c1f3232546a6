package rs

import (
	"net/netip"
	"slices"
	"testing"

	"github.com/ixrs/ixrs/policy"
	"github.com/ixrs/ixrs/speaker"
)

func std(hi, lo uint32) uint32 { return hi<<16 | lo }

// TestNoPathHiding is RFC 7947 §2.3: A's route is best but tagged "not to C"; C must get B's route
// instead of nothing, while B gets A's and A gets B's.
func TestNoPathHiding(t *testing.T) {
	s := newTestServer(t, nil)
	a := addMember(t, s, "A", 64501, "192.0.2.11")
	b := addMember(t, s, "B", 64502, "192.0.2.12")
	c := addMember(t, s, "C", 64503, "192.0.2.13")
	all := []*tmember{a, b, c}
	readAll(t, s, all...)

	const p = "203.0.113.0/24"
	aa := a.attrs()
	aa.Communities = []uint32{std(0, 64503), std(64501, 42)}
	a.announce(aa, p)
	b.announce(b.attrs(65002), p) // longer path: worse
	readAll(t, s, all...)

	tests := []struct {
		m    *tmember
		from uint32
	}{{a, 64502}, {b, 64501}, {c, 64502}}
	for _, tt := range tests {
		if got := tt.m.from(p); got != tt.from {
			t.Errorf("%v gets the route from AS%d, want AS%d", tt.m, got, tt.from)
		}
	}
	// The control community is stripped, the member's own community is passed on.
	if got := b.has(p).Communities; !slices.Equal(got, []uint32{std(64501, 42)}) {
		t.Errorf("B received communities %v", got)
	}

	// A drops the tag: C now gets A's route.
	a.announce(a.attrs(), p)
	readAll(t, s, all...)
	if got := c.from(p); got != 64501 {
		t.Errorf("after untagging C gets AS%d", got)
	}
	// A withdraws: B gets nothing (its own route is the only one), C falls back to B.
	a.withdraw(p)
	readAll(t, s, all...)
	if b.has(p) != nil || c.from(p) != 64502 || a.from(p) != 64502 {
		t.Errorf("after withdrawal: A %d, B %v, C %d", a.from(p), b.has(p), c.from(p))
	}
}

// TestExportControlCommunities checks the three functions of the test scheme end to end.
func TestExportControlCommunities(t *testing.T) {
	s := newTestServer(t, nil)
	a := addMember(t, s, "A", 64501, "192.0.2.11")
	b := addMember(t, s, "B", 64502, "192.0.2.12")
	c := addMember(t, s, "C", 64503, "192.0.2.13")
	all := []*tmember{a, b, c}
	tests := []struct {
		name       string
		std        []uint32
		large      []speaker.LargeCommunity
		toB, toC   bool
		keepInSent []uint32
	}{
		{name: "none", toB: true, toC: true},
		{name: "0:C", std: []uint32{std(0, 64503)}, toB: true},
		{name: "0:RS", std: []uint32{std(0, rsASN)}},
		{name: "0:RS and RS:C", std: []uint32{std(0, rsASN), std(rsASN, 64503)}, toC: true},
		{name: "RS:0:B large", large: []speaker.LargeCommunity{{Global: rsASN, Local1: 0, Local2: 64502}}, toC: true},
		{name: "unrelated kept", std: []uint32{std(65535, 65281)}, toB: true, toC: true, keepInSent: []uint32{std(65535, 65281)}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := netip.PrefixFrom(netip.AddrFrom4([4]byte{198, 51, byte(i), 0}), 24).String()
			at := a.attrs()
			at.Communities, at.LargeCommunities = tt.std, tt.large
			a.announce(at, p)
			readAll(t, s, all...)
			if (b.has(p) != nil) != tt.toB || (c.has(p) != nil) != tt.toC {
				t.Errorf("B has it: %v, C has it: %v; want %v, %v", b.has(p) != nil, c.has(p) != nil, tt.toB, tt.toC)
			}
			for _, m := range []*tmember{b, c} {
				if got := m.has(p); got != nil {
					if !slices.Equal(got.Communities, tt.keepInSent) || len(got.LargeCommunities) != 0 {
						t.Errorf("%v received communities %v %v", m, got.Communities, got.LargeCommunities)
					}
				}
			}
		})
	}
}

// medPolicy is a test export policy through the hook: MED 666 means "not to AS 64503", and the
// MED is reset to 0 on export. It shows the hook can deny per target and rewrite the attributes.
type medPolicy struct{ calls int }

func (m *medPolicy) Prepare(a *speaker.Attrs, _ *policy.Path) (policy.Export, *speaker.Attrs) {
	m.calls++
	if !a.HasMED || a.MED != 666 {
		return policy.Export{}, nil
	}
	c := policy.ExportControl{ASN: rsASN}
	send := *a
	send.MED = 0
	return c.Summarize(&policy.Path{Communities: []uint32{std(0, 64503)}}), &send
}

func TestExportHook(t *testing.T) {
	pol := &medPolicy{}
	s := newTestServer(t, func(c *Config) { c.Export = pol })
	a := addMember(t, s, "A", 64501, "192.0.2.11")
	b := addMember(t, s, "B", 64502, "192.0.2.12")
	c := addMember(t, s, "C", 64503, "192.0.2.13")
	at := a.attrs()
	at.MED, at.HasMED = 666, true
	a.announce(at, "203.0.113.0/24", "203.0.113.0/25", "203.0.113.128/25")
	readAll(t, s, a, b, c)
	if c.has("203.0.113.0/24") != nil {
		t.Errorf("C received a route the policy denies it")
	}
	got := b.has("203.0.113.0/24")
	if got == nil || got.MED != 0 || !got.HasMED {
		t.Fatalf("B received %+v, want MED rewritten to 0", got)
	}
	// Prepare runs once per received set, not per prefix or member, and never on the rewritten
	// set, which is only sent.
	if pol.calls != 1 {
		t.Errorf("Prepare called %d times, want 1", pol.calls)
	}
}

func TestLoopPrevention(t *testing.T) {
	s := newTestServer(t, nil)
	a := addMember(t, s, "A", 64501, "192.0.2.11")
	b := addMember(t, s, "B", 64502, "192.0.2.12")
	c := addMember(t, s, "C", 64503, "192.0.2.13")
	all := []*tmember{a, b, c}
	// A's route went through C: C would drop it as a loop, so C gets B's longer route instead.
	a.announce(a.attrs(64503), "203.0.113.0/24")
	b.announce(b.attrs(65002, 65003), "203.0.113.0/24")
	// A route carrying the route server's AS (an FRR member re-advertising what it learnt from
	// us) goes to nobody.
	a.announce(a.attrs(rsASN, 65009), "198.51.100.0/24")
	readAll(t, s, all...)
	if got := c.from("203.0.113.0/24"); got != 64502 {
		t.Errorf("C gets the route from AS%d, want B's", got)
	}
	if got := b.from("203.0.113.0/24"); got != 64501 {
		t.Errorf("B gets the route from AS%d, want A's", got)
	}
	for _, m := range all {
		if m.has("198.51.100.0/24") != nil {
			t.Errorf("%v received a route with the route server's AS in its path", m)
		}
	}
	info := s.prefixInfo(s.prefixes.get(netip.MustParsePrefix("203.0.113.0/24")))
	for _, e := range info.Exports {
		if e.Neighbor == c.addr && e.Checks[0] != ExportReceiverAS {
			t.Errorf("C's check of A's route = %v", e.Checks[0])
		}
		if !e.InSync {
			t.Errorf("%s not in sync after settling", e.Member)
		}
	}
}

// TestSameMemberTwoSessions: a member's route never goes to its other session.
func TestSameMemberTwoSessions(t *testing.T) {
	s := newTestServer(t, nil)
	a := addMember(t, s, "A", 64501, "192.0.2.11")
	b := addMember(t, s, "B", 64502, "192.0.2.12")
	a2ss, err := s.addPeer("A", netip.MustParseAddr("2001:db8::11"))
	if err != nil {
		t.Fatal(err)
	}
	a2 := &tmember{t: t, name: "A2", asn: 64501, addr: a2ss.addr, ss: a2ss, out: &fakeOut{}}
	a2.up()
	// The member's IPv6 session announces an IPv4 prefix with an IPv4 next hop of the member's
	// other address: accepted (same member), and sent to B but not to A's first session.
	at := a2.attrs()
	at.MPNextHop = netip.Addr{}
	at.NextHop = a.addr
	a2.announce(at, "203.0.113.0/24")
	readAll(t, s, a, b, a2)
	if b.from("203.0.113.0/24") != 64501 {
		t.Errorf("B did not get the route")
	}
	if a.has("203.0.113.0/24") != nil {
		t.Errorf("the member's other session got its own route")
	}
}

// gshut is a test import policy: graceful shutdown (65535:0) sets LOCAL_PREF 0 (RFC 8326).
type gshut struct{ policy.Import }

func (g *gshut) ImportPath(s *policy.Session, p *policy.Path) policy.Verdict {
	v := g.Import.ImportPath(s, p)
	if slices.Contains(p.Communities, std(65535, 0)) {
		v.LocalPref = 0
	}
	return v
}

// TestLocalPref: LOCAL_PREF comes from import policy only; a member's own is ignored and none is
// ever sent.
func TestLocalPref(t *testing.T) {
	s := newTestServer(t, func(c *Config) { c.Import = &gshut{*policy.DefaultImport()} })
	a := addMember(t, s, "A", 64501, "192.0.2.11")
	b := addMember(t, s, "B", 64502, "192.0.2.12")
	c := addMember(t, s, "C", 64503, "192.0.2.13")
	const p = "203.0.113.0/24"
	aa := a.attrs(65001, 65002)
	aa.LocalPref, aa.HasLocalPref = 1000, true
	a.announce(aa, p)
	b.announce(b.attrs(), p)
	readAll(t, s, a, b, c)
	if got := c.has(p); got == nil || got.ASPath.First() != 64502 || got.HasLocalPref {
		t.Fatalf("C has %+v, want B's route without LOCAL_PREF", got)
	}
	bb := b.attrs()
	bb.Communities = []uint32{std(65535, 0)}
	b.announce(bb, p)
	readAll(t, s, a, b, c)
	if got := c.from(p); got != 64501 {
		t.Errorf("with B in graceful shutdown C gets AS%d, want A's", got)
	}
	if got := c.has(p); got.HasLocalPref {
		t.Errorf("LOCAL_PREF sent to C")
	}
}

// TestSentSetReceived: a set first interned as another set's out set (sent only, no received
// state) is later received as it is: it gains its received state and stays its own out set, and
// everything is released when the routes go.
func TestSentSetReceived(t *testing.T) {
	s := newTestServer(t, func(c *Config) {
		c.Export = &ControlCommunities{Control: policy.ExportControl{ASN: rsASN}, AddOTC: true}
	})
	a := addMember(t, s, "A", 64501, "192.0.2.11")
	b := addMember(t, s, "B", 64502, "192.0.2.12")
	c := addMember(t, s, "C", 64503, "192.0.2.13")
	// A large community in a range only the route server sets: stripped on export, so A's set has
	// an out set of its own (with OTC added too).
	at := a.attrs(65001)
	at.LargeCommunities = []speaker.LargeCommunity{{Global: rsASN, Local1: 1000, Local2: 1}}
	a.announce(at, "203.0.113.0/24")
	readAll(t, s, a, b, c)
	got := c.has("203.0.113.0/24")
	if got == nil || !got.HasOTC || got.OTC != rsASN || len(got.LargeCommunities) != 0 {
		t.Fatalf("C received %+v, want OTC %d added and the large community stripped", got, rsASN)
	}
	out := s.prefixes.get(netip.MustParsePrefix("203.0.113.0/24")).routes()[0].set.out
	if out.setIn != nil {
		t.Fatalf("the out set has received state before anyone sent it")
	}
	// B sends exactly what the route server sends for A's route (import rejects it: the next hop is
	// A's, and OTC marks a leak; rejected routes are kept, with their set).
	sent := *at
	sent.LargeCommunities = nil
	sent.OTC, sent.HasOTC = rsASN, true
	b.announce(&sent, "198.51.100.0/24")
	readAll(t, s, a, b, c)
	r := s.prefixes.get(netip.MustParsePrefix("198.51.100.0/24")).routes()[0]
	if r.set != out || out.setIn == nil || out.out != out {
		t.Fatalf("B's route: set %p (out set %p), received state %v, its out set %p", r.set, out, out.setIn != nil, out.out)
	}
	a.withdraw("203.0.113.0/24")
	b.withdraw("198.51.100.0/24")
	readAll(t, s, a, b, c)
	if n := s.sets.len(); n != 0 {
		t.Errorf("%d sets left after every route was withdrawn", n)
	}
}
