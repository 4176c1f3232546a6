package rs

import (
	"context"
	"net/netip"
	"testing"

	"github.com/ixrs/ixrs/policy"
)

// TestReevaluate: new IRR data applies to the routes already held, without a session reset: only
// the routes whose verdict changed are announced or withdrawn.
func TestReevaluate(t *testing.T) {
	s := newTestServer(t, nil)
	irr := &policy.IRRSource{}
	irrOf := func(prefixes ...string) *policy.IRR {
		var list []policy.IRRPrefix
		for _, p := range prefixes {
			pp := netip.MustParsePrefix(p)
			list = append(list, policy.IRRPrefix{Prefix: pp, Min: pp.Bits(), Max: pp.Bits()})
		}
		return policy.NewIRR(list, []uint32{64501})
	}
	irr.Store(irrOf("203.0.113.0/24"))
	imp := &policy.Import{NextHop: policy.NextHopAny, IRR: policy.IRRReject}
	if err := s.addMember(MemberConfig{Name: "A", ASN: 64501, Import: imp, IRR: irr}); err != nil {
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
	reeval := func(want int) {
		t.Helper()
		done := make(chan int, 1)
		errc := make(chan error, 1)
		go func() { errc <- s.Reevaluate(context.Background(), "A", done) }()
		for len(done) == 0 {
			s.pass()
		}
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
		if got := <-done; got != want {
			t.Errorf("%d routes changed, want %d", got, want)
		}
		readAll(t, s, a, b)
	}
	nmsg := len(b.msgs)
	irr.Store(irrOf("203.0.113.0/24", "198.51.100.0/24"))
	reeval(1)
	if b.has("203.0.113.0/24") == nil || b.has("198.51.100.0/24") == nil {
		t.Fatalf("after adding: B has %v", b.rib)
	}
	if got := len(b.msgs) - nmsg; got != 1 {
		t.Errorf("B got %d UPDATEs, want 1 (the newly accepted route only)", got)
	}
	irr.Store(irrOf("198.51.100.0/24"))
	reeval(1)
	if b.has("203.0.113.0/24") != nil || b.has("198.51.100.0/24") == nil {
		t.Fatalf("after removing: B has %v", b.rib)
	}
	reeval(0) // nothing changed: nothing sent
	if ss.p != pA {
		t.Errorf("the session was reset")
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
	done := make(chan int, 1)
	errc := make(chan error, 1)
	go func() {
		errc <- s.SetMemberPolicy(context.Background(), "A", &policy.Import{NextHop: policy.NextHopStrict}, MaxPrefix{IPv4: 10}, done)
	}()
	for len(done) == 0 {
		s.pass()
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if n := <-done; n != 1 {
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

// TestReevaluatePrefixes: only the routes the filter selects are run through policy again.
func TestReevaluatePrefixes(t *testing.T) {
	irr := &policy.IRRSource{}
	irr.Store(policy.NewIRR([]policy.IRRPrefix{}, []uint32{64501}))
	s := newTestServer(t, func(c *Config) { c.Import = &policy.Import{NextHop: policy.NextHopAny, IRR: policy.IRRReject} })
	if err := s.addMember(MemberConfig{Name: "A", ASN: 64501, IRR: irr}); err != nil {
		t.Fatal(err)
	}
	ss, _ := s.addPeer("A", netip.MustParseAddr("192.0.2.11"))
	a := &tmember{t: t, name: "A", asn: 64501, addr: ss.addr, ss: ss, out: &fakeOut{}}
	a.up()
	b := addMember(t, s, "B", 64502, "192.0.2.12")
	a.announce(a.attrs(), "203.0.113.0/24", "198.51.100.0/24")
	readAll(t, s, a, b)
	if len(b.rib) != 0 {
		t.Fatalf("B has %v before the data change", b.rib)
	}
	irr.Store(policy.NewIRR([]policy.IRRPrefix{
		{Prefix: netip.MustParsePrefix("203.0.113.0/24"), Min: 24, Max: 24},
		{Prefix: netip.MustParsePrefix("198.51.100.0/24"), Min: 24, Max: 24},
	}, []uint32{64501}))
	only := netip.MustParsePrefix("203.0.113.0/24")
	done := make(chan int, 1)
	errc := make(chan error, 1)
	go func() {
		errc <- s.ReevaluatePrefixes(context.Background(), func(p netip.Prefix) bool { return p == only }, done)
	}()
	for len(done) == 0 {
		s.pass()
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	readAll(t, s, a, b)
	if b.has("203.0.113.0/24") == nil || b.has("198.51.100.0/24") != nil {
		t.Errorf("B has %v: want only the selected route re-evaluated", b.rib)
	}
}
