package rs

import (
	"net/netip"
	"testing"

	"github.com/ixrs/ixrs/speaker"
)

// testRoute builds a candidate without a server: only what compareRoutes reads.
type rspec struct {
	lp       uint32
	path     []uint32
	origin   uint8
	med      uint32
	hasMED   bool
	routerID string
	addr     string
}

func (r rspec) route() *route {
	a := &speaker.Attrs{Origin: r.origin, MED: r.med, HasMED: r.hasMED,
		ASPath: speaker.ASPath{{Type: speaker.SegSequence, ASNs: r.path}}}
	p := pathOf(a)
	set := &attrSet{attrs: a, setIn: newSetIn(&p)}
	if a.HasMED {
		set.med = a.MED
	}
	rid, addr := r.routerID, r.addr
	if rid == "" {
		rid = "10.0.0.1"
	}
	if addr == "" {
		addr = "192.0.2.1"
	}
	return &route{set: set, localPref: r.lp,
		p: &session{routerID: netip.MustParseAddr(rid), addr: netip.MustParseAddr(addr)}}
}

func TestDecisionSteps(t *testing.T) {
	base := rspec{lp: 100, path: []uint32{64501, 65001}, routerID: "10.0.0.1", addr: "192.0.2.1"}
	with := func(f func(*rspec)) rspec { r := base; r.path = append([]uint32(nil), base.path...); f(&r); return r }
	tests := []struct {
		name          string
		better, worse rspec
		step          Step
	}{
		{"highest LOCAL_PREF wins over a shorter path",
			with(func(r *rspec) { r.lp = 200; r.path = []uint32{64501, 1, 2, 3} }), base, StepLocalPref},
		{"LOCAL_PREF 0 (graceful shutdown) loses",
			base, with(func(r *rspec) { r.lp = 0 }), StepLocalPref},
		{"shortest AS_PATH",
			with(func(r *rspec) { r.path = []uint32{64502}; r.origin = speaker.OriginIncomplete }), base, StepASPathLen},
		{"lowest ORIGIN",
			base, with(func(r *rspec) { r.origin = speaker.OriginEGP; r.routerID = "1.1.1.1" }), StepOrigin},
		{"lowest MED from the same neighbour AS",
			with(func(r *rspec) { r.med, r.hasMED = 10, true; r.routerID = "10.9.9.9" }),
			with(func(r *rspec) { r.med, r.hasMED = 20, true; r.routerID = "10.0.0.2" }), StepMED},
		{"missing MED counts as 0",
			with(func(r *rspec) { r.routerID = "10.9.9.9" }),
			with(func(r *rspec) { r.med, r.hasMED = 5, true }), StepMED},
		{"MED ignored between different neighbour ASes",
			with(func(r *rspec) { r.path = []uint32{64502, 65001}; r.med, r.hasMED = 50, true; r.routerID = "10.0.0.1" }),
			with(func(r *rspec) { r.med, r.hasMED = 1, true; r.routerID = "10.0.0.2" }), StepRouterID},
		{"lowest BGP identifier",
			base, with(func(r *rspec) { r.routerID = "10.0.0.2"; r.addr = "192.0.2.0" }), StepRouterID},
		{"lowest peer address",
			base, with(func(r *rspec) { r.addr = "192.0.2.2" }), StepPeerAddr},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := tt.better.route(), tt.worse.route()
			c, step := compareRoutes(a, b)
			if c >= 0 || step != tt.step {
				t.Errorf("compare(better, worse) = %d at %v, want < 0 at %v", c, step, tt.step)
			}
			c, step = compareRoutes(b, a)
			if c <= 0 || step != tt.step {
				t.Errorf("compare(worse, better) = %d at %v, want > 0 at %v", c, step, tt.step)
			}
			// Insertion order must not matter for a pair.
			for _, order := range [][]*route{{a, b}, {b, a}} {
				pe := &prefixEntry{}
				for _, r := range order {
					pe.insert(r)
				}
				if pe.candidates()[0] != a {
					t.Errorf("after inserting in this order the best is not the better route")
				}
			}
		})
	}
}

func TestCandidateList(t *testing.T) {
	pe := &prefixEntry{}
	r1 := rspec{lp: 100, path: []uint32{1, 2, 3}, routerID: "10.0.0.1"}.route()
	r2 := rspec{lp: 100, path: []uint32{2}, routerID: "10.0.0.2"}.route()
	r3 := rspec{lp: 100, path: []uint32{3, 4}, routerID: "10.0.0.3"}.route()
	rej := rspec{lp: 100, path: []uint32{4}}.route()
	rej.reasons = 1 << 8
	for _, r := range []*route{r1, rej, r2, r3} {
		pe.insert(r)
	}
	want := []*route{r2, r3, r1, rej}
	for i, r := range want {
		if pe.routes()[i] != r {
			t.Fatalf("routes[%d] wrong", i)
		}
	}
	if pe.nacc != 3 {
		t.Fatalf("nacc = %d", pe.nacc)
	}
	pe.remove(r3)
	pe.remove(rej)
	if len(pe.routes()) != 2 || pe.routes()[0] != r2 || pe.routes()[1] != r1 || pe.nacc != 2 {
		t.Fatalf("after remove: %d routes, nacc %d", len(pe.routes()), pe.nacc)
	}
}

// TestDeterministicMED: three routes where pairwise MED comparison is not transitive (A and B from AS
// 64501 with MED 10 and 20, C from AS 64502). Whatever order they arrive in, the list is C, A, B: the
// best of AS 64501 (A) competes with C on router ID and loses; B, beaten by A on MED, comes last. After
// A is withdrawn, B is the best of its AS and wins on router ID.
func TestDeterministicMED(t *testing.T) {
	mk := func(first uint32, med uint32, id, addr string) *route {
		return rspec{lp: 100, path: []uint32{first}, med: med, hasMED: true, routerID: id, addr: addr}.route()
	}
	perms := [][]int{{0, 1, 2}, {0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0}}
	for _, perm := range perms {
		a := mk(64501, 10, "10.0.0.3", "192.0.2.3")
		b := mk(64501, 20, "10.0.0.1", "192.0.2.1")
		c := mk(64502, 0, "10.0.0.2", "192.0.2.2")
		rs := []*route{a, b, c}
		pe := &prefixEntry{}
		for _, i := range perm {
			pe.insert(rs[i])
		}
		if got := pe.candidates(); got[0] != c || got[1] != a || got[2] != b {
			t.Fatalf("arrival order %v: candidates not C, A, B", perm)
		}
		if st := pe.steps(); st[0] != StepRouterID || st[1] != StepMED {
			t.Fatalf("steps %v, want router-id then med", st)
		}
		pe.remove(a)
		if got := pe.candidates(); got[0] != b || got[1] != c {
			t.Fatalf("arrival order %v: after A left, candidates not B, C", perm)
		}
	}
}
