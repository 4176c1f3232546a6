package rs

import (
	"context"
	"strconv"
	"testing"

	"github.com/ixrs/ixrs/policy"
	"github.com/ixrs/ixrs/rpki"
	"github.com/ixrs/ixrs/speaker"
)

// benchInput runs one typed input while the benchmark drives the loop, until the input's walk is
// over and every member has been sent what changed.
func benchInput(b *testing.B, s *Server, input func(done chan int) error) int {
	done := make(chan int, 1)
	errc := make(chan error, 1)
	go func() { errc <- input(done) }()
	for i := 0; len(done) == 0; i++ {
		if i > 100_000_000 {
			b.Fatal("the walk never ended")
		}
		s.pass()
	}
	for s.pass() {
	}
	if err := <-errc; err != nil {
		b.Fatal(err)
	}
	return <-done
}

// BenchmarkRevalidate: a route server holding R routes (IXRS_BENCH_ROUTES, default 1,000,000: 10
// members with R/10 prefixes each, origins in blocks of 100 prefixes, every route RPKI valid
// against one VRP per prefix and ASPA valid) receives a change to 1% of its VRPs, or to the ASPA
// of 1% of the origins, each turning 1% of the routes invalid and, in the next op, back, or every
// member's import policy is replaced by one accepting the same routes (policy-all: every route
// re-run, none changed, as a [defaults] change that filters nothing). One op is
// the typed input, the revalidation walk and the changes handed to the 9 other members (sockets
// that take everything at once). Reported: routes re-run through import policy (visited) and
// routes whose verdict changed per op, and the walk's own time (walk-ms, Stats.RevalidationTime).
func BenchmarkRevalidate(b *testing.B) {
	const members = 10
	routes := envInt("IXRS_BENCH_ROUTES", 1_000_000)
	per := routes / members
	imp := &countingImport{Import: policy.Import{NextHop: policy.NextHopAny, RPKI: policy.RPKIRejectInvalid, ASPA: policy.ASPARejectInvalid}}
	s := quietServer(b)
	s.cfg.Import = imp
	origin := func(k int) uint32 { return uint32(100_000 + k/100) }
	var vrps0, vrps1 []rpki.VRP
	aspa0, aspa1 := map[uint32][]uint32{}, map[uint32][]uint32{}
	for i := range members {
		p := benchPeer(b, s, i)
		ps := seqPrefixes(i*per, per, false)
		for j := 0; j < per; j += 100 {
			k := i*per + j
			a := &speaker.Attrs{NextHop: p.addr, ASPath: speaker.ASPath{{Type: speaker.SegSequence, ASNs: []uint32{p.m.asn, origin(k)}}}}
			s.importUpdate(p, &speaker.Update{Attrs: a, NLRI: ps[j:min(j+100, per)]})
			aspa0[origin(k)] = []uint32{p.m.asn}
			aspa1[origin(k)] = []uint32{p.m.asn}
			if k/100%100 == 0 {
				aspa1[origin(k)] = []uint32{1} // 1% of the origins no longer name the member
			}
		}
		for j, pfx := range ps {
			k := i*per + j
			v := rpki.VRP{Prefix: pfx, MaxLength: 24, ASN: origin(k)}
			vrps0 = append(vrps0, v)
			if k%100 == 0 {
				v.ASN = 1 // 1% of the VRPs name another origin
			}
			vrps1 = append(vrps1, v)
		}
		for s.pass() {
		}
	}
	v0, v1 := rpki.NewTable(vrps0), rpki.NewTable(vrps1)
	vChanged := rpki.Changed(v0, v1).Prefixes()
	a0, a1 := rpki.NewASPATable(aspa0), rpki.NewASPATable(aspa1)
	aChanged := rpki.ASPAChanged(a0, a1)
	ctx := context.Background()
	benchInput(b, s, func(done chan int) error { return s.SetVRPs(ctx, VRPUpdate{VRPs: v0}, done) })
	benchInput(b, s, func(done chan int) error { return s.SetASPA(ctx, ASPAUpdate{ASPA: a0}, done) })
	if st := s.snapshot(); st.Routes != members*per || s.stats.accepted != members*per {
		b.Fatalf("%d routes, %d accepted; want %d accepted", st.Routes, s.stats.accepted, members*per)
	}

	run := func(b *testing.B, input func(i int, done chan int) error, wantChanged int) {
		calls0, walk0 := imp.calls.Load(), s.stats.revalNanos
		changed := 0
		i := 0
		for b.Loop() {
			n := benchInput(b, s, func(done chan int) error { return input(i, done) })
			if n != wantChanged {
				b.Fatalf("%d routes changed, want %d", n, wantChanged)
			}
			changed += n
			i++
		}
		if i%2 == 1 { // leave the data as found for the next sub-benchmark
			benchInput(b, s, func(done chan int) error { return input(i, done) })
		}
		ops := float64(b.N)
		b.ReportMetric(float64(imp.calls.Load()-calls0)/ops, "visited/op")
		b.ReportMetric(float64(changed)/ops, "changed/op")
		b.ReportMetric(float64(s.stats.revalNanos-walk0)/1e6/ops, "walk-ms/op")
	}
	b.Run("vrp-1pct", func(b *testing.B) {
		run(b, func(i int, done chan int) error {
			u := VRPUpdate{VRPs: v1, Base: v0, Changed: vChanged}
			if i%2 == 1 {
				u = VRPUpdate{VRPs: v0, Base: v1, Changed: vChanged}
			}
			return s.SetVRPs(ctx, u, done)
		}, members*per/100)
	})
	// Every member's import policy replaced by one that accepts the same routes: the walk visits
	// every route and changes none. What it allocates per visit shows in B/op.
	b.Run("policy-all", func(b *testing.B) {
		run(b, func(i int, done chan int) error {
			imp.MaxPathLen = 64 * (i % 2) // the loop reads it after s.do hands it the change
			ps := make([]MemberPolicy, members)
			for k := range ps {
				ps[k] = MemberPolicy{Name: "m" + strconv.Itoa(k), Import: imp}
			}
			return s.SetMemberPolicies(ctx, ps, done)
		}, 0)
	})
	b.Run("aspa-1pct", func(b *testing.B) {
		run(b, func(i int, done chan int) error {
			u := ASPAUpdate{ASPA: a1, Base: a0, ChangedCustomers: aChanged}
			if i%2 == 1 {
				u = ASPAUpdate{ASPA: a0, Base: a1, ChangedCustomers: aChanged}
			}
			return s.SetASPA(ctx, u, done)
		}, members*per/100)
	})
}
