package rs

import (
	"fmt"
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"testing"

	"github.com/ixrs/ixrs/speaker"
)

// discardOut is an Output whose socket is infinitely fast: it counts and drops.
type discardOut struct{ bytes, msgs int }

func (o *discardOut) Queue(b []byte) (int, error) {
	o.bytes += len(b)
	return 0, nil
}

// benchPeer brings up a member with a discarding output, IPv4 only.
func benchPeer(b testing.TB, s *Server, i int) *session {
	name := "m" + strconv.Itoa(i)
	asn := uint32(64512 + i)
	addr := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
	if err := s.addMember(MemberConfig{Name: name, ASN: asn}); err != nil {
		b.Fatal(err)
	}
	ss, err := s.addPeer(name, addr)
	if err != nil {
		b.Fatal(err)
	}
	if err := ss.Up(&discardOut{}, SessionInfo{RouterID: addr, Families: []speaker.Family{speaker.IPv4Unicast},
		Encode: speaker.EncodeOptions{FourOctetAS: true, MaxMessage: 4096}}); err != nil {
		b.Fatal(err)
	}
	s.events()
	return ss.p
}

func benchAttrs(p *session, k uint32) *speaker.Attrs {
	return &speaker.Attrs{
		NextHop:     p.addr,
		ASPath:      speaker.ASPath{{Type: speaker.SegSequence, ASNs: []uint32{p.m.asn, 65000 + k%100, 3356, 15169}}},
		Communities: []uint32{p.m.asn<<16 | 1, p.m.asn<<16 | k%7},
		MED:         k % 3, HasMED: true,
	}
}

func quietServer(b testing.TB) *Server {
	return newTestServer(b, func(c *Config) { c.OutHighWater = 1 << 30 })
}

// BenchmarkImportUpdate: one UPDATE of 100 prefixes whose attributes change every time (so every
// route is replaced and its prefix touched), without receivers.
func BenchmarkImportUpdate(b *testing.B) {
	s := quietServer(b)
	p := benchPeer(b, s, 1)
	ps := seqPrefixes(0, 100, false)
	us := [2]*speaker.Update{{Attrs: benchAttrs(p, 1), NLRI: ps}, {Attrs: benchAttrs(p, 2), NLRI: ps}}
	s.importUpdate(p, us[0])
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		s.importUpdate(p, us[i&1])
		s.trim()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(ps)), "ns/prefix")
}

// BenchmarkImportUnchanged: the same UPDATE again (an implicit re-announcement).
func BenchmarkImportUnchanged(b *testing.B) {
	s := quietServer(b)
	p := benchPeer(b, s, 1)
	u := &speaker.Update{Attrs: benchAttrs(p, 1), NLRI: seqPrefixes(0, 100, false)}
	s.importUpdate(p, u)
	b.ReportAllocs()
	for b.Loop() {
		s.importUpdate(p, &speaker.Update{Attrs: benchAttrs(p, 1), NLRI: u.NLRI})
	}
}

// BenchmarkFanout: one member changes one prefix; every other member is sent the change (decision,
// export check, Adj-RIB-Out update, pending, encoding, Queue). One op is one changed prefix
// delivered to N-1 members.
func BenchmarkFanout(b *testing.B) {
	for _, n := range []int{100, 1000} {
		b.Run(fmt.Sprintf("members=%d", n), func(b *testing.B) {
			s := quietServer(b)
			peers := make([]*session, n)
			for i := range peers {
				peers[i] = benchPeer(b, s, i)
			}
			src := peers[0]
			// A second candidate, so the source member itself is sent something too.
			other := peers[1]
			pfx := seqPrefixes(0, 1, false)
			s.importUpdate(other, &speaker.Update{Attrs: benchAttrs(other, 99), NLRI: pfx})
			us := [2]*speaker.Update{{Attrs: benchAttrs(src, 1), NLRI: pfx}, {Attrs: benchAttrs(src, 2), NLRI: pfx}}
			for s.pass() {
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				s.importUpdate(src, us[i&1])
				s.outbound()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*(n-1)), "ns/member")
		})
	}
}

// BenchmarkPacking encodes 10,000 pending /24s of one attribute set into full UPDATEs.
func BenchmarkPacking(b *testing.B) {
	s := quietServer(b)
	src := benchPeer(b, s, 1)
	dst := benchPeer(b, s, 2)
	for s.pass() {
	}
	set := s.sets.intern(benchAttrs(src, 1))
	ps := seqPrefixes(0, 10000, false)
	pes := make([]*prefixEntry, len(ps))
	for i, p := range ps {
		pes[i] = s.prefixes.getOrCreate(p)
		s.adjoutMove(pes[i], dst, nil, set)
	}
	out := dst.out.(*discardOut)
	b.ReportAllocs()
	for b.Loop() {
		for _, pe := range pes {
			dst.pend.announce(pe, set)
		}
		s.flush(dst, false)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(ps)), "ns/prefix")
	b.ReportMetric(float64(out.bytes)/float64(b.N), "bytes/op")
}

// BenchmarkMemory loads a table from M members into a route server with all M sessions
// established and synced, and reports the heap per route. Every member announces R/M prefixes of
// its own, a quarter of which a second member announces too, in UPDATEs of 100 prefixes with a
// few attribute sets per member. IXRS_BENCH_MEMBERS and IXRS_BENCH_ROUTES change the size (the
// design target is 1000 and 1,000,000).
func BenchmarkMemory(b *testing.B) {
	members, routes := envInt("IXRS_BENCH_MEMBERS", 100), envInt("IXRS_BENCH_ROUTES", 200_000)
	for b.Loop() {
		runtime.GC()
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		s := quietServer(b)
		peers := make([]*session, members)
		for i := range peers {
			peers[i] = benchPeer(b, s, i)
		}
		per := routes / members * 4 / 5 // 80% own prefixes, 20% announced by a second member too
		total := 0
		for i, p := range peers {
			own := seqPrefixes(i*per, per, false)
			for j := 0; j < len(own); j += 100 {
				s.importUpdate(p, &speaker.Update{Attrs: benchAttrs(p, uint32(j/100%5)), NLRI: own[j:min(j+100, len(own))]})
				total += min(100, len(own)-j)
			}
			next := (i + 1) % members
			dup := seqPrefixes(next*per, per/4, false)
			for j := 0; j < len(dup); j += 100 {
				s.importUpdate(p, &speaker.Update{Attrs: benchAttrs(p, 7), NLRI: dup[j:min(j+100, len(dup))]})
				total += min(100, len(dup)-j)
			}
		}
		for s.pass() {
		}
		runtime.GC()
		runtime.ReadMemStats(&m1)
		st := s.snapshot()
		if st.Routes != total || st.Pending != 0 {
			b.Fatalf("routes %d of %d, pending %d", st.Routes, total, st.Pending)
		}
		heap := float64(m1.HeapAlloc - m0.HeapAlloc)
		b.ReportMetric(heap/float64(total), "B/route")
		b.ReportMetric(heap/float64(st.Prefixes), "B/prefix")
		b.ReportMetric(float64(st.AdjOutEntries)/float64(st.Prefixes), "adjout/prefix")
		b.ReportMetric(float64(st.AttrSets), "sets")
		runtime.KeepAlive(s)
	}
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// BenchmarkSessionDown: a member with 100,000 routes goes down; its routes leave every candidate
// list at once (the withdrawals then flow through the change list). One op is the whole down.
func BenchmarkSessionDown(b *testing.B) {
	const n = 100_000
	ps := seqPrefixes(0, n, false)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		s := quietServer(b)
		src := benchPeer(b, s, 1)
		for j := 2; j < 12; j++ {
			benchPeer(b, s, j)
		}
		for j := 0; j < n; j += 100 {
			s.importUpdate(src, &speaker.Update{Attrs: benchAttrs(src, uint32(j/100%5)), NLRI: ps[j : j+100]})
		}
		for s.pass() {
		}
		b.StartTimer()
		s.down(src)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/route")
}
