package rs

import (
	"context"
	"net/netip"
	"testing"

	"github.com/ixrs/ixrs/policy"
)

// TestGRStaleRevalidated: revalidation of a member (new IRR data, a new policy) covers the stale
// routes of its restarting incarnation too: a stale route whose verdict changes is withdrawn from
// the others (or comes back), and the stale incarnation keeps counting what it holds.
func TestGRStaleRevalidated(t *testing.T) {
	s, ft := newGRServer(t)
	imp := &policy.Import{NextHop: policy.NextHopAny, IRR: policy.IRRReject}
	if err := s.addMember(MemberConfig{Name: "A", ASN: 64501, Import: imp,
		IRR: irrOf(64501, "203.0.113.0/24", "198.51.100.0/24")}); err != nil {
		t.Fatal(err)
	}
	ss, err := s.addPeer("A", netip.MustParseAddr("192.0.2.11"))
	if err != nil {
		t.Fatal(err)
	}
	a := &tmember{t: t, name: "A", asn: 64501, addr: ss.addr, ss: ss, out: &fakeOut{}}
	a.up(withGR(120, both...))
	b := addMember(t, s, "B", 64502, "192.0.2.12")
	a.announce(a.attrs(), "203.0.113.0/24", "198.51.100.0/24")
	readAll(t, s, a, b)
	if len(b.rib) != 2 {
		t.Fatalf("before: B holds %v", b.rib)
	}
	a.ss.DownGraceful("connection reset")
	readAll(t, s, a, b)

	if got := runInput(t, s, func(done chan int) error {
		return s.SetIRR(context.Background(), "A", irrOf(64501, "198.51.100.0/24"), done)
	}); got != 1 {
		t.Errorf("SetIRR: %d routes changed, want 1", got)
	}
	readAll(t, s, a, b)
	if b.has("203.0.113.0/24") != nil || b.has("198.51.100.0/24") == nil {
		t.Fatalf("after the IRR change: B holds %v", b.rib)
	}
	if st := s.sessionStatus(a.ss); st.StaleRoutes != 2 {
		t.Errorf("A holds %d stale routes, want 2 (one filtered)", st.StaleRoutes)
	}

	// A policy without the IRR check accepts it again, on the stale incarnation too (both routes
	// change: their IRR state is part of the verdict).
	if got := runInput(t, s, func(done chan int) error {
		return s.SetMemberPolicy(context.Background(), "A", &policy.Import{NextHop: policy.NextHopAny}, MaxPrefix{}, done)
	}); got != 2 {
		t.Errorf("SetMemberPolicy: %d routes changed, want 2", got)
	}
	readAll(t, s, a, b)
	if len(b.rib) != 2 {
		t.Fatalf("after the policy change: B holds %v", b.rib)
	}

	// Back and End-of-RIB: the sweep takes both, as for any stale route.
	a.up(withGR(120, both...))
	a.eorIn(both[0])
	a.eorIn(both[1])
	readAll(t, s, a, b)
	if len(b.rib) != 0 || len(ft.live()) != 0 {
		t.Fatalf("after End-of-RIB: B holds %v, %d timers", b.rib, len(ft.live()))
	}
	checkFreed(t, s)
}
