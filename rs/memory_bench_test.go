package rs

import (
	"math/rand/v2"
	"net/netip"
	"os"
	"runtime"
	"runtime/pprof"
	"testing"

	"github.com/ixrs/ixrs/policy"
	"github.com/ixrs/ixrs/speaker"
)

// The memory benchmarks measure what the RIB holds, in live heap bytes after a collection, per route and
// per attribute set. They use the daemon's export policy (control communities stripped, OTC added), and
// attributes drawn like cmd/ixbench's workload: AS paths of 1 to 6 ASNs, up to 3 standard and 2 large
// communities, sometimes a MED. None carries a control community, so export policy only adds OTC
// and each received set is its own out set.

// memAttrs draws one attribute set for member p the way cmd/ixbench's workload does.
func memAttrs(rng *rand.Rand, p *session) *speaker.Attrs {
	n := 1 + rng.IntN(6)
	asns := []uint32{p.m.asn}
	for len(asns) < n {
		asns = append(asns, 1000+uint32(rng.IntN(60000)))
	}
	a := &speaker.Attrs{NextHop: p.addr, ASPath: speaker.ASPath{{Type: speaker.SegSequence, ASNs: asns}}}
	if rng.IntN(4) == 0 {
		a.HasMED, a.MED = true, uint32(rng.IntN(100))
	}
	for k := rng.IntN(4); k > 0; k-- {
		a.Communities = append(a.Communities, uint32(64600+rng.IntN(100))<<16|uint32(rng.IntN(1000)))
	}
	for k := rng.IntN(3); k > 0; k-- {
		a.LargeCommunities = append(a.LargeCommunities, speaker.LargeCommunity{Global: p.m.asn, Local1: 1, Local2: uint32(rng.IntN(1000))})
	}
	return a
}

// memServer is a route server with the daemon's export policy and two established members: sender
// announces, the other receives (so out sets are encoded, as in a running route server).
func memServer(b testing.TB) (*Server, *session) {
	s := newTestServer(b, func(c *Config) {
		c.OutHighWater = 1 << 30
		c.Export = &ControlCommunities{Control: policy.ExportControl{ASN: c.ASN}, AddOTC: true, Informational: true}
	})
	sender := benchPeer(b, s, 1)
	benchPeer(b, s, 2)
	return s, sender
}

// liveHeap returns the live heap after a full collection.
func liveHeap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// writeHeapProfile writes the heap profile to the file IXRS_BENCH_HEAPPROFILE names, if set, while the
// table is live (go test -memprofile writes it after the benchmark, when the table is gone). Run with
// -memprofilerate 1 for exact sizes.
func writeHeapProfile(b *testing.B) {
	name := os.Getenv("IXRS_BENCH_HEAPPROFILE")
	if name == "" {
		return
	}
	f, err := os.Create(name)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	runtime.GC()
	if err := pprof.WriteHeapProfile(f); err != nil {
		b.Fatal(err)
	}
}

// loadSets has sender announce n prefixes in UPDATEs of per prefixes, each UPDATE with an attribute set
// of its own, runs the loop until every route is sent, and returns the live heap the load added.
func loadSets(b *testing.B, n, per int) (heap float64, sets int) {
	h0 := liveHeap()
	s, p := memServer(b)
	rng := rand.New(rand.NewPCG(1, 2))
	ps := seqPrefixes(0, n, false)
	for j := 0; j < n; j += per {
		s.importUpdate(p, &speaker.Update{Attrs: memAttrs(rng, p), NLRI: ps[j:min(j+per, n)]})
	}
	for s.pass() {
	}
	h1 := liveHeap()
	st := s.snapshot()
	if st.Routes != n || st.Pending != 0 {
		b.Fatalf("routes %d of %d, pending %d", st.Routes, n, st.Pending)
	}
	runtime.KeepAlive(s)
	return float64(h1) - float64(h0), st.AttrSets
}

// BenchmarkSetMemory reports the heap one received attribute set costs with everything derived from it
// (decoded attributes, policy view, its out set if it has one and the encoding, the intern table's
// entries): the same 20,000 routes are loaded once with one set per route and once with one set per
// 100 routes, and the difference is divided by the difference in received sets. sets/received-set
// is how many sets of the table each one adds (2 when each has an out set of its own).
func BenchmarkSetMemory(b *testing.B) {
	const n, per = 20_000, 100
	for b.Loop() {
		many, manySets := loadSets(b, n, 1)
		few, fewSets := loadSets(b, n, per)
		received := float64(n - n/per)
		b.ReportMetric((many-few)/received, "B/received-set")
		b.ReportMetric(float64(manySets-fewSets)/received, "sets/received-set")
		b.ReportMetric(few/n, "B/route")
	}
}

// BenchmarkTableMemory loads an ixbench-like table (IXRS_BENCH_MEMBERS members, IXRS_BENCH_ROUTES routes,
// about 12 routes per attribute set, 6% of the prefixes announced by a second member) into a route
// server with every session established and synced, and reports the live heap per route and per
// prefix, the sets, and what the term index adds per route once built.
func BenchmarkTableMemory(b *testing.B) {
	members, routes := envInt("IXRS_BENCH_MEMBERS", 100), envInt("IXRS_BENCH_ROUTES", 100_000)
	for b.Loop() {
		h0 := liveHeap()
		s, total := memTable(b, members, routes)
		heap := float64(liveHeap()) - float64(h0)
		st := s.snapshot()
		b.ReportMetric(heap/float64(total), "B/route")
		b.ReportMetric(heap/float64(st.Prefixes), "B/prefix")
		b.ReportMetric(float64(st.AttrSets), "sets")
		writeHeapProfile(b)
		// The term index, which the first search by community or next hop builds (termindex.go).
		s.sets.terms()
		b.ReportMetric((float64(liveHeap())-float64(h0)-heap)/float64(total), "B/route-terms")
		runtime.KeepAlive(s)
	}
}

// BenchmarkTermIndexBuild is the step in which the first search by community or next hop builds
// the term index, on BenchmarkTableMemory's table: one pass over every set with routes.
func BenchmarkTermIndexBuild(b *testing.B) {
	s, _ := memTable(b, envInt("IXRS_BENCH_MEMBERS", 100), envInt("IXRS_BENCH_ROUTES", 100_000))
	for b.Loop() {
		s.sets.byTerm = nil
		s.sets.terms()
	}
	b.ReportMetric(float64(s.sets.len()), "sets")
}

// memTable loads BenchmarkTableMemory's table and returns the server, synced, and its routes.
func memTable(b *testing.B, members, routes int) (*Server, int) {
	s := newTestServer(b, func(c *Config) {
		c.OutHighWater = 1 << 30
		c.Export = &ControlCommunities{Control: policy.ExportControl{ASN: c.ASN}, AddOTC: true, Informational: true}
		if envInt("IXRS_BENCH_INFO", 0) != 0 {
			c.Import = &mixedInfoPolicy{*policy.DefaultImport()}
		}
	})
	peers := make([]*session, members)
	for i := range peers {
		peers[i] = benchPeer(b, s, i)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	per := routes / members
	total := 0
	for i, p := range peers {
		own := seqPrefixes(i*per, per, false)
		for j := 0; j < len(own); {
			g := min(1+rng.IntN(23), len(own)-j) // mean 12 prefixes per set
			s.importUpdate(p, &speaker.Update{Attrs: memAttrs(rng, p), NLRI: own[j : j+g]})
			j += g
			total += g
		}
		next := (i + 1) % members
		dup := seqPrefixes(next*per, per*6/100, false)
		if len(dup) > 0 {
			s.importUpdate(p, &speaker.Update{Attrs: memAttrs(rng, p), NLRI: dup})
			total += len(dup)
		}
	}
	for s.pass() {
	}
	if st := s.snapshot(); st.Routes != total || st.Pending != 0 {
		b.Fatalf("routes %d of %d, pending %d", st.Routes, total, st.Pending)
	}
	return s, total
}

// mixedInfoPolicy tags routes as the realistic workload's RPKI validation does, roughly: two in
// three RPKI valid, the rest not found, so that a received set is sent as one or two variants that
// add informational communities (IXRS_BENCH_INFO=1 in BenchmarkTableMemory).
type mixedInfoPolicy struct{ policy.Import }

func (im *mixedInfoPolicy) ImportRoute(s *policy.Session, d policy.Data, pfx netip.Prefix, p *policy.Path, pv policy.Verdict) policy.Verdict {
	v := im.Import.ImportRoute(s, d, pfx, p, pv)
	if v.Reasons == 0 {
		v.Info = policy.Info(policy.RPKIValid)
		if pfx.Addr().As16()[14]%3 == 2 {
			v.Info = policy.Info(policy.RPKINotFound)
		}
	}
	return v
}
