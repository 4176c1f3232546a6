package rs

import (
	"testing"

	"github.com/ixrs/ixrs/speaker"
)

// BenchmarkFanoutFeed is BenchmarkFanout at 100 members with one subscriber taking Adj-RIB-In and
// Adj-RIB-Out events: one op is one changed prefix delivered to 99 members, and 1 route event plus
// 99 export events appended to the ring (drained every op, as a reader keeping up would).
func BenchmarkFanoutFeed(b *testing.B) {
	const n = 100
	s := quietServer(b)
	peers := make([]*session, n)
	for i := range peers {
		peers[i] = benchPeer(b, s, i)
	}
	src, other := peers[0], peers[1]
	pfx := seqPrefixes(0, 1, false)
	s.importUpdate(other, &speaker.Update{Attrs: benchAttrs(other, 99), NLRI: pfx})
	us := [2]*speaker.Update{{Attrs: benchAttrs(src, 1), NLRI: pfx}, {Attrs: benchAttrs(src, 2), NLRI: pfx}}
	for s.pass() {
	}
	sub := subscribeSync(s, SubscribeOptions{Size: 4096, Routes: true, Exports: true})
	b.ReportAllocs()
	b.ResetTimer()
	events := 0
	for i := 0; b.Loop(); i++ {
		s.importUpdate(src, us[i&1])
		s.stats.passes++ // outbound serves a session once per pass
		s.outbound()
		sub.mu.Lock()
		events += len(sub.ring)
		sub.ring = sub.ring[:0]
		sub.mu.Unlock()
	}
	if lost, _ := sub.Lost(); lost || events < b.N*n/2 {
		b.Fatalf("lost %v, %d events in %d ops", lost, events, b.N)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*(n-1)), "ns/member")
}
