package rs

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync/atomic"
	"testing"

	"github.com/ixrs/ixrs/policy"
	"github.com/ixrs/ixrs/rpki"
)

// runInput runs one typed input (it blocks until the RIB loop takes it) while the test drives the
// loop, and returns the number of routes whose verdict changed once its walk is over.
func runInput(t *testing.T, s *Server, input func(done chan int) error) int {
	t.Helper()
	done := make(chan int, 1)
	errc := make(chan error, 1)
	go func() { errc <- input(done) }()
	for i := 0; len(done) == 0; i++ {
		if i > 1_000_000 {
			t.Fatal("the walk never ended")
		}
		s.pass()
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	return <-done
}

func irrOf(asn uint32, prefixes ...string) *policy.IRR {
	list := []policy.IRRPrefix{}
	for _, p := range prefixes {
		pp := netip.MustParsePrefix(p)
		list = append(list, policy.IRRPrefix{Prefix: pp, Min: pp.Bits(), Max: pp.Bits()})
	}
	return policy.NewIRR(list, []uint32{asn})
}

// TestSetIRR: new IRR data applies to the routes already held, without a session reset: only the
// routes whose verdict changed are announced or withdrawn.
func TestSetIRR(t *testing.T) {
	s := newTestServer(t, nil)
	imp := &policy.Import{NextHop: policy.NextHopAny, IRR: policy.IRRReject}
	if err := s.addMember(MemberConfig{Name: "A", ASN: 64501, Import: imp, IRR: irrOf(64501, "203.0.113.0/24")}); err != nil {
		t.Fatal(err)
	}
	ss, err := s.addPeer("A", netip.MustParseAddr("192.0.2.11"))
	if err != nil {
		t.Fatal(err)
	}
	a := &tmember{t: t, name: "A", asn: 64501, addr: ss.addr, ss: ss, out: &fakeOut{}}
	a.up()
	b := addMember(t, s, "B", 64502, "192.0.2.12")
	a.announce(a.attrs(), "203.0.113.0/24", "198.51.100.0/24")
	readAll(t, s, a, b)
	if b.has("203.0.113.0/24") == nil || b.has("198.51.100.0/24") != nil {
		t.Fatalf("before: B has %v", b.rib)
	}
	pA := ss.p
	setIRR := func(irr *policy.IRR, want int) {
		t.Helper()
		if got := runInput(t, s, func(done chan int) error { return s.SetIRR(context.Background(), "A", irr, done) }); got != want {
			t.Errorf("%d routes changed, want %d", got, want)
		}
		readAll(t, s, a, b)
	}
	nmsg := len(b.msgs)
	setIRR(irrOf(64501, "203.0.113.0/24", "198.51.100.0/24"), 1)
	if b.has("203.0.113.0/24") == nil || b.has("198.51.100.0/24") == nil {
		t.Fatalf("after adding: B has %v", b.rib)
	}
	if got := len(b.msgs) - nmsg; got != 1 {
		t.Errorf("B got %d UPDATEs, want 1 (the newly accepted route only)", got)
	}
	setIRR(irrOf(64501, "198.51.100.0/24"), 1)
	if b.has("203.0.113.0/24") != nil || b.has("198.51.100.0/24") == nil {
		t.Fatalf("after removing: B has %v", b.rib)
	}
	setIRR(irrOf(64501, "198.51.100.0/24"), 0) // nothing changed: nothing sent
	if ss.p != pA {
		t.Errorf("the session was reset")
	}
	errc := make(chan error, 1)
	go func() { errc <- s.SetIRR(context.Background(), "nobody", nil, nil) }()
	for i := 0; len(errc) == 0 && i < 100_000; i++ {
		s.pass()
	}
	if err := <-errc; !errors.Is(err, ErrUnknownMember) {
		t.Errorf("SetIRR of an unknown member: %v", err)
	}
}

// TestSetMemberPolicy: a policy change applies to the routes already held, without a session reset.
func TestSetMemberPolicy(t *testing.T) {
	s := newTestServer(t, nil)
	a := addMember(t, s, "A", 64501, "192.0.2.11")
	b := addMember(t, s, "B", 64502, "192.0.2.12")
	long := make([]uint32, 40)
	for i := range long {
		long[i] = 65001
	}
	a.announce(a.attrs(long...), "203.0.113.0/24")
	a.announce(a.attrs(), "198.51.100.0/24")
	readAll(t, s, a, b)
	if b.has("203.0.113.0/24") != nil || b.has("198.51.100.0/24") == nil {
		t.Fatalf("before: B has %v", b.rib)
	}
	pA := a.ss.p
	n := runInput(t, s, func(done chan int) error {
		return s.SetMemberPolicy(context.Background(), "A", &policy.Import{NextHop: policy.NextHopStrict}, MaxPrefix{IPv4: 10}, done)
	})
	if n != 1 {
		t.Errorf("%d routes changed, want 1", n)
	}
	readAll(t, s, a, b)
	if b.has("203.0.113.0/24") == nil {
		t.Errorf("the path-length limit is gone but B lacks the route")
	}
	if a.ss.p != pA || pA.m.maxPrefix.IPv4 != 10 {
		t.Errorf("session reset or limit not applied")
	}
}

// countingImport counts the ImportRoute calls, so that tests see which routes a walk visited.
type countingImport struct {
	policy.Import
	calls atomic.Int64
}

func (c *countingImport) ImportRoute(s *policy.Session, d policy.Data, pfx netip.Prefix, p *policy.Path, pv policy.Verdict) policy.Verdict {
	c.calls.Add(1)
	return c.Import.ImportRoute(s, d, pfx, p, pv)
}

// TestSetVRPs: a VRP change revalidates only the routes a changed VRP covers — by probing the
// index for a narrow change, by one pass over the prefixes for a wide one — and new data that does
// not follow from the data in force revalidates everything.
func TestSetVRPs(t *testing.T) {
	imp := &countingImport{Import: policy.Import{NextHop: policy.NextHopAny, RPKI: policy.RPKIRejectInvalid}}
	s := newTestServer(t, func(c *Config) { c.Import = imp })
	a := addMember(t, s, "A", 64501, "192.0.2.11")
	b := addMember(t, s, "B", 64502, "192.0.2.12")
	// 256 IPv4 /24s under 10.0.0.0/16, plus an IPv6 /48 and a /32 under 2001:db8:100::/40.
	var v4 []string
	for i := range 256 {
		v4 = append(v4, netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 0, byte(i), 0}), 24).String())
	}
	a.announce(a.attrs(), v4...)
	a6 := a.attrs()
	a6.MPNextHop = netip.MustParseAddr("2001:db8::11")
	a.announce(a6, "2001:db8:100::/48", "2001:db8:1ff::/48", "2001:db8:100::/40")
	readAll(t, s, a, b)
	if len(b.rib) != 259 {
		t.Fatalf("B has %d routes before, want 259", len(b.rib))
	}

	set := func(u VRPUpdate) (changed int, visited int64) {
		t.Helper()
		before := imp.calls.Load()
		changed = runInput(t, s, func(done chan int) error { return s.SetVRPs(context.Background(), u, done) })
		readAll(t, s, a, b)
		return changed, imp.calls.Load() - before
	}
	// table builds a snapshot from "prefix asn" pairs; each VRP's max length is its prefix length.
	table := func(vrps ...string) *rpki.Table {
		var list []rpki.VRP
		for _, v := range vrps {
			var p string
			var asn uint32
			if _, err := fmt.Sscan(v, &p, &asn); err != nil {
				t.Fatal(err)
			}
			pp := netip.MustParsePrefix(p)
			list = append(list, rpki.VRP{Prefix: pp, MaxLength: uint8(pp.Bits()), ASN: asn})
		}
		return rpki.NewTable(list)
	}

	// The first data: every route is revalidated (not checked → not found changes every route's
	// informational state).
	t0 := table("192.0.2.0/24 65000")
	if changed, visited := set(VRPUpdate{VRPs: t0}); visited != 259 || changed != 259 {
		t.Errorf("first VRPs: %d changed, %d visited; want every route (259)", changed, visited)
	}
	// One /24 becomes invalid: the walk probes the index and visits that route only.
	t1 := table("192.0.2.0/24 65000", "10.0.7.0/24 65000")
	if changed, visited := set(VRPUpdate{VRPs: t1, Base: t0, Changed: rpki.Changed(t0, t1).Prefixes()}); changed != 1 || visited != 1 {
		t.Errorf("one /24: %d changed, %d visited; want 1 and 1", changed, visited)
	}
	if b.has("10.0.7.0/24") != nil || b.has("10.0.8.0/24") == nil {
		t.Errorf("10.0.7.0/24 should be gone from B, 10.0.8.0/24 kept")
	}
	// An IPv6 /40 VRP with max length 40: the /40 becomes valid, both /48s invalid. Probing the
	// /40 and /48 lengths takes 257 lookups, fewer than the table's prefixes.
	t2 := table("192.0.2.0/24 65000", "10.0.7.0/24 65000", "2001:db8:100::/40 64501")
	if changed, visited := set(VRPUpdate{VRPs: t2, Base: t1, Changed: rpki.Changed(t1, t2).Prefixes()}); changed != 3 || visited != 3 {
		t.Errorf("IPv6 /40: %d changed, %d visited; want 3 and 3", changed, visited)
	}
	if b.has("2001:db8:100::/40") == nil || b.has("2001:db8:100::/48") != nil {
		t.Errorf("after the /40 VRP B should have the /40 and not the /48s")
	}
	// A /8: probing would cost 2^16 lookups, more than one pass over the prefixes: the walk visits
	// each prefix entry once and revalidates the 256 covered ones.
	t3 := table("192.0.2.0/24 65000", "10.0.7.0/24 65000", "10.0.0.0/8 65000", "2001:db8:100::/40 64501")
	changed, visited := set(VRPUpdate{VRPs: t3, Base: t2, Changed: rpki.Changed(t2, t3).Prefixes()})
	if visited != 256 || changed != 255 { // 10.0.7.0/24 was invalid already
		t.Errorf("/8: %d changed, %d visited; want 255 and 256", changed, visited)
	}
	if n := len(b.rib); n != 1 {
		t.Errorf("B has %d routes after the /8 VRP, want the IPv6 /40 only", n)
	}
	// An update computed against another snapshot: everything.
	if _, visited := set(VRPUpdate{VRPs: t0, Base: t1, Changed: nil}); visited != 259 {
		t.Errorf("stale base: %d visited, want 259", visited)
	}
	if len(b.rib) != 259 {
		t.Errorf("back at t0: B has %d routes, want all 259", len(b.rib))
	}
}

// TestRevalidationMerge: inputs that arrive while a walk runs wait as one merged request: never
// more than one walk running and one waiting, and every caller hears when its change is applied.
func TestRevalidationMerge(t *testing.T) {
	s := newTestServer(t, func(c *Config) {
		c.Import = &policy.Import{NextHop: policy.NextHopAny, IRR: policy.IRRReject}
		c.WalkBatch = 4 // many passes per walk
	})
	a := addMember(t, s, "A", 64501, "192.0.2.11")
	b := addMember(t, s, "B", 64502, "192.0.2.12")
	var pfx []string
	for i := range 64 {
		pfx = append(pfx, netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 1, byte(i), 0}), 24).String())
	}
	a.announce(a.attrs(), pfx...)
	b.announce(b.attrs(), "198.51.100.0/24")
	readAll(t, s, a, b)
	var dones []chan int
	for i := range 10 {
		done := make(chan int, 1)
		dones = append(dones, done)
		member, irr := "A", irrOf(64501, pfx[:i*6]...)
		if i%3 == 2 {
			member, irr = "B", irrOf(64502, "198.51.100.0/24")
		}
		errc := make(chan error, 1)
		go func() { errc <- s.SetIRR(context.Background(), member, irr, done) }()
		for j := 0; len(errc) == 0; j++ {
			if j > 100_000 {
				t.Fatal("SetIRR not taken")
			}
			s.pass()
		}
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
		for range 3 {
			s.pass()
			if n := s.revalCount(); n > 2 {
				t.Fatalf("%d walks running or waiting", n)
			}
		}
	}
	for i := 0; s.revalCount() > 0; i++ {
		if i > 100_000 {
			t.Fatal("walks never ended")
		}
		s.pass()
	}
	for i, d := range dones {
		if len(d) != 1 {
			t.Errorf("input %d: no completion", i)
		}
	}
	readAll(t, s, a, b)
	if got := len(b.rib); got != 54 { // A's last IRR data: the first 54 prefixes
		t.Errorf("B has %d of A's routes, want 54", got)
	}
	if a.has("198.51.100.0/24") == nil {
		t.Errorf("A lacks B's route")
	}
}

func TestMoreSpecific(t *testing.T) {
	tests := []struct {
		v    string
		l    int
		n    uint64
		want string
	}{
		{"10.0.0.0/8", 8, 0, "10.0.0.0/8"},
		{"10.0.0.0/8", 16, 0, "10.0.0.0/16"},
		{"10.0.0.0/8", 16, 255, "10.255.0.0/16"},
		{"10.0.0.0/8", 24, 257, "10.1.1.0/24"},
		{"10.0.0.0/8", 32, 1<<24 - 1, "10.255.255.255/32"},
		{"2001:db8::/32", 48, 0xabcd, "2001:db8:abcd::/48"},
		{"2001:db8::/32", 64, 0x1_0002, "2001:db8:1:2::/64"},
		{"2001:db8::/32", 80, 0x1_0002_0003, "2001:db8:1:2:3::/80"},
		{"2001:db8::/32", 96, 1<<40 | 5, "2001:db8:0:100:0:5::/96"},
		{"2001:db8:0:0:1::/80", 128, 7, "2001:db8:0:0:1::7/128"},
		{"::/0", 64, 0x2001_0db8_0000_0001, "2001:db8:0:1::/64"},
	}
	for _, tt := range tests {
		if got := moreSpecific(netip.MustParsePrefix(tt.v), tt.l, tt.n); got != netip.MustParsePrefix(tt.want) {
			t.Errorf("moreSpecific(%s, %d, %#x) = %s, want %s", tt.v, tt.l, tt.n, got, tt.want)
		}
	}
}
