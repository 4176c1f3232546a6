package rs

import (
	"context"
	"slices"
	"testing"

	"github.com/ixrs/ixrs/policy"
	"github.com/ixrs/ixrs/rpki"
	"github.com/ixrs/ixrs/speaker"
)

// TestSetASPA: an ASPA change revalidates only the routes whose paths hold a changed customer AS
// after the announcing member's own; an invalid route is withdrawn from the other members and comes
// back when the ASPA that made it invalid goes, without a session reset; data that does not follow
// from the data in force revalidates everything.
func TestSetASPA(t *testing.T) {
	imp := &countingImport{Import: policy.Import{NextHop: policy.NextHopAny, ASPA: policy.ASPARejectInvalid}}
	s := newTestServer(t, func(c *Config) { c.Import = imp })
	a := addMember(t, s, "A", 64501, "192.0.2.11")
	b := addMember(t, s, "B", 64502, "192.0.2.12")
	a.announce(a.attrs(), "203.0.113.0/24")                          // A's own
	a.announce(a.attrs(65010), "198.51.100.0/24", "198.51.101.0/24") // A's customer 65010
	a.announce(a.attrs(65020, 65030), "192.0.2.0/24")                // learned from 65020, origin 65030
	readAll(t, s, a, b)
	if len(b.rib) != 4 {
		t.Fatalf("B has %d routes before, want 4", len(b.rib))
	}
	pA := a.ss.p
	set := func(u ASPAUpdate) (changed int, visited int64) {
		t.Helper()
		before := imp.calls.Load()
		changed = runInput(t, s, func(done chan int) error { return s.SetASPA(context.Background(), u, done) })
		readAll(t, s, a, b)
		return changed, imp.calls.Load() - before
	}
	state := func(prefix string) policy.ASPAState {
		t.Helper()
		for _, r := range pA.routes {
			if r != nil && r.pe.prefix().String() == prefix {
				return r.info.ASPA()
			}
		}
		t.Fatalf("A has no route for %s", prefix)
		return 0
	}

	// The first data: every route (not checked → a state).
	t0 := rpki.NewASPATable(map[uint32][]uint32{65010: {64501}, 64501: {174}})
	if changed, visited := set(ASPAUpdate{ASPA: t0}); changed != 4 || visited != 4 {
		t.Errorf("first ASPA: %d changed, %d visited; want 4 and 4", changed, visited)
	}
	if st := state("198.51.100.0/24"); st != policy.ASPAValid {
		t.Errorf("customer route %v, want valid", st)
	}
	if st := state("192.0.2.0/24"); st != policy.ASPAUnknown {
		t.Errorf("route via 65020 %v, want unknown", st)
	}
	// 65020 publishes an ASPA without 64501: A leaked 65020's route; only that route is visited.
	t1 := rpki.NewASPATable(map[uint32][]uint32{65010: {64501}, 64501: {174}, 65020: {3356}})
	if changed, visited := set(ASPAUpdate{ASPA: t1, Base: t0, ChangedCustomers: rpki.ASPAChanged(t0, t1)}); changed != 1 || visited != 1 {
		t.Errorf("65020's ASPA: %d changed, %d visited; want 1 and 1", changed, visited)
	}
	if b.has("192.0.2.0/24") != nil || b.has("198.51.100.0/24") == nil {
		t.Errorf("the leaked route should be gone from B, the others kept: %v", b.rib)
	}
	for _, r := range pA.routes {
		if r != nil && r.pe.prefix().String() == "192.0.2.0/24" && !r.reasons.Has(policy.ASPAInvalid) {
			t.Errorf("leaked route kept without reason 17: %v", r.reasons)
		}
	}
	// A's own ASPA changes: A is never a customer in the paths it sends, nothing is visited.
	t2 := rpki.NewASPATable(map[uint32][]uint32{65010: {64501}, 64501: {174, 3356}, 65020: {3356}})
	if changed, visited := set(ASPAUpdate{ASPA: t2, Base: t1, ChangedCustomers: rpki.ASPAChanged(t1, t2)}); changed != 0 || visited != 0 {
		t.Errorf("A's own ASPA: %d changed, %d visited; want 0 and 0", changed, visited)
	}
	// 65010 drops 64501: both customer routes become invalid.
	t3 := rpki.NewASPATable(map[uint32][]uint32{65010: {3356}, 64501: {174, 3356}, 65020: {3356}})
	if changed, visited := set(ASPAUpdate{ASPA: t3, Base: t2, ChangedCustomers: rpki.ASPAChanged(t2, t3)}); changed != 2 || visited != 2 {
		t.Errorf("65010 drops A: %d changed, %d visited; want 2 and 2", changed, visited)
	}
	if len(b.rib) != 1 {
		t.Errorf("B has %v, want A's own route only", b.rib)
	}
	// An update against another snapshot: everything.
	if _, visited := set(ASPAUpdate{ASPA: t0, Base: t1}); visited != 4 {
		t.Errorf("stale base: %d visited, want 4", visited)
	}
	if len(b.rib) != 4 {
		t.Errorf("back to t0: B has %d routes, want all 4", len(b.rib))
	}
	// No data any more: every route not checked, and accepted.
	if changed, _ := set(ASPAUpdate{}); changed != 4 {
		t.Errorf("no data: %d changed, want 4", changed)
	}
	if len(b.rib) != 4 || state("192.0.2.0/24") != policy.ASPANotChecked {
		t.Errorf("without ASPA data B has %d routes, want 4", len(b.rib))
	}
	if changed, visited := set(ASPAUpdate{}); changed != 0 || visited != 0 {
		t.Errorf("nil again: %d changed, %d visited; want nothing", changed, visited)
	}
	if a.ss.p != pA {
		t.Error("the session was reset")
	}
}

// TestSetASPAMerged: an ASPA change and a VRP change that land while a walk runs merge into the
// one waiting walk, which covers both.
func TestSetASPAMerged(t *testing.T) {
	imp := &countingImport{Import: policy.Import{NextHop: policy.NextHopAny, ASPA: policy.ASPARejectInvalid, RPKI: policy.RPKIRejectInvalid}}
	s := newTestServer(t, func(c *Config) { c.Import = imp })
	a := addMember(t, s, "A", 64501, "192.0.2.11")
	b := addMember(t, s, "B", 64502, "192.0.2.12")
	a.announce(a.attrs(65020), "192.0.2.0/24")
	a.announce(a.attrs(65030), "198.51.100.0/24")
	readAll(t, s, a, b)
	t0 := rpki.NewASPATable(map[uint32][]uint32{65030: {64501}})
	runInput(t, s, func(done chan int) error { return s.SetASPA(context.Background(), ASPAUpdate{ASPA: t0}, done) })
	v0 := rpki.NewTable(nil)
	runInput(t, s, func(done chan int) error { return s.SetVRPs(context.Background(), VRPUpdate{VRPs: v0}, done) })
	readAll(t, s, a, b)
	if len(b.rib) != 2 {
		t.Fatalf("B has %d routes, want 2", len(b.rib))
	}

	// Three inputs queued at once: the first starts a walk, the next two wait merged.
	t1 := rpki.NewASPATable(map[uint32][]uint32{65030: {64501}, 65020: {1}})
	v1 := rpki.NewTable([]rpki.VRP{{Prefix: mp("198.51.100.0/24"), MaxLength: 24, ASN: 1}})
	done := make(chan int, 3)
	errc := make(chan error, 3)
	go func() {
		errc <- s.Reevaluate(context.Background(), "B", done)
		errc <- s.SetASPA(context.Background(), ASPAUpdate{ASPA: t1, Base: t0, ChangedCustomers: rpki.ASPAChanged(t0, t1)}, done)
		errc <- s.SetVRPs(context.Background(), VRPUpdate{VRPs: v1, Base: v0, Changed: rpki.Changed(v0, v1).Prefixes()}, done)
	}()
	for i := 0; len(done) < 3; i++ {
		if i > 1_000_000 {
			t.Fatal("the walks never ended")
		}
		if n := s.revalCount(); n > 2 {
			t.Fatalf("%d walks running or waiting", n)
		}
		s.pass()
	}
	for range 3 {
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
	}
	readAll(t, s, a, b)
	if len(b.rib) != 0 {
		t.Errorf("B has %v; want both routes withdrawn (ASPA and RPKI invalid)", b.rib)
	}
}

// TestRPKIStateCommunity: with RPKIStateCommunity the members receive the RFC 8097 state of each
// route next to the informational large communities (RPKI's and ASPA's), a state a member sent
// itself is removed, and a route that was not checked gets no RFC 8097 community.
func TestRPKIStateCommunity(t *testing.T) {
	imp := &policy.Import{NextHop: policy.NextHopAny, RPKI: policy.RPKITag, ASPA: policy.ASPATag}
	s := newTestServer(t, func(c *Config) {
		c.Import = imp
		c.Export = &ControlCommunities{Control: policy.ExportControl{ASN: rsASN}, Informational: true, RPKIStateCommunity: true}
	})
	a := addMember(t, s, "A", 64501, "192.0.2.11")
	b := addMember(t, s, "B", 64502, "192.0.2.12")
	const rt = 0x0002<<48 | uint64(65000)<<32 | 1 // a member's own route target, passed on
	forged := a.attrs(65010)
	forged.ExtCommunities = []uint64{rt, 0x4300_0000_0000_0000} // "valid", from the member
	a.announce(forged, "203.0.113.0/24")
	readAll(t, s, a, b)
	if got := b.has("203.0.113.0/24").ExtCommunities; !slices.Equal(got, []uint64{rt}) {
		t.Errorf("before any data (not checked): B got %x, want the member's route target only", got)
	}

	vrps := rpki.NewTable([]rpki.VRP{{Prefix: mp("203.0.113.0/24"), MaxLength: 24, ASN: 64999}})
	runInput(t, s, func(done chan int) error { return s.SetVRPs(context.Background(), VRPUpdate{VRPs: vrps}, done) })
	aspa := rpki.NewASPATable(map[uint32][]uint32{65010: {64501}})
	runInput(t, s, func(done chan int) error { return s.SetASPA(context.Background(), ASPAUpdate{ASPA: aspa}, done) })
	readAll(t, s, a, b)
	got := b.has("203.0.113.0/24")
	if want := []uint64{rt, 0x4300_0000_0000_0002}; !slices.Equal(got.ExtCommunities, want) {
		t.Errorf("RPKI invalid (tag): B got %x, want %x", got.ExtCommunities, want)
	}
	wantLarge := []speaker.LargeCommunity{{Global: rsASN, Local1: 1000, Local2: 4}, {Global: rsASN, Local1: 1002, Local2: 1}}
	if !slices.Equal(got.LargeCommunities, wantLarge) {
		t.Errorf("informational communities %v, want %v", got.LargeCommunities, wantLarge)
	}
}
