package rs

import (
	"net/netip"
	"testing"

	"github.com/ixrs/ixrs/policy"
	"github.com/ixrs/ixrs/rpki"
	"github.com/ixrs/ixrs/speaker"
)

// BenchmarkImportFullChain is BenchmarkImportUpdate with the whole default chain of docs/policy.md:
// path checks once per set, then per prefix bogons, lengths, RPKI against 100,000 VRPs and the
// member's IRR prefix list. Every route is accepted.
func BenchmarkImportFullChain(b *testing.B) {
	ps := make([]netip.Prefix, 100)
	var vrps []rpki.VRP
	var irr []policy.IRRPrefix
	for i := range 100_000 {
		p := netip.PrefixFrom(netip.AddrFrom4([4]byte{11, byte(i >> 8), byte(i), 0}), 24)
		vrps = append(vrps, rpki.VRP{Prefix: p, MaxLength: 24, ASN: 15169})
		if i < len(ps) {
			ps[i] = p
			irr = append(irr, policy.IRRPrefix{Prefix: p, Min: 24, Max: 24})
		}
	}
	im := policy.Full()
	im.RejectBogonASNs = false // the benchmark member's ASN is private
	s := quietServer(b)
	s.cfg.Import = im
	p := benchPeer(b, s, 1)
	s.rov = rpki.NewTable(vrps)
	p.m.irr = policy.NewIRR(irr, []uint32{15169})
	attrs := func(k uint32) *speaker.Attrs {
		return &speaker.Attrs{NextHop: p.addr, ASPath: speaker.ASPath{{Type: speaker.SegSequence, ASNs: []uint32{p.m.asn, 15169}}},
			Communities: []uint32{p.m.asn<<16 | k}}
	}
	us := [2]*speaker.Update{{Attrs: attrs(1), NLRI: ps}, {Attrs: attrs(2), NLRI: ps}}
	s.importUpdate(p, us[0])
	if p.accepted[0] != len(ps) {
		b.Fatalf("%d of %d routes accepted", p.accepted[0], len(ps))
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		s.importUpdate(p, us[i&1])
		s.trim()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(ps)), "ns/prefix")
}

// BenchmarkFanoutVariants is BenchmarkFanout with the export steps of docs/policy.md on (OTC added,
// informational communities) and a route asking for a prepend toward every member plus NO_EXPORT
// toward one member in ten: every member's set comes from the variant cache, and the distinct
// variants are encoded once each.
func BenchmarkFanoutVariants(b *testing.B) {
	const n = 1000
	s := newTestServer(b, func(c *Config) {
		c.OutHighWater = 1 << 30
		c.Export = &ControlCommunities{Control: policy.ExportControl{ASN: rsASN}, AddOTC: true, Informational: true}
		c.Import = &infoPolicy{*policy.DefaultImport()}
	})
	peers := make([]*session, n)
	for i := range peers {
		peers[i] = benchPeer(b, s, i)
	}
	src, other := peers[0], peers[1]
	pfx := seqPrefixes(0, 1, false)
	s.importUpdate(other, &speaker.Update{Attrs: benchAttrs(other, 99), NLRI: pfx})
	attrs := func(k uint32) *speaker.Attrs {
		a := benchAttrs(src, k)
		a.LargeCommunities = []speaker.LargeCommunity{{Global: rsASN, Local1: 101, Local2: 0}}
		for i := 0; i < n; i += 10 {
			a.LargeCommunities = append(a.LargeCommunities, speaker.LargeCommunity{Global: rsASN, Local1: 65281, Local2: peers[i].m.asn})
		}
		return a
	}
	us := [2]*speaker.Update{{Attrs: attrs(1), NLRI: pfx}, {Attrs: attrs(2), NLRI: pfx}}
	for s.pass() {
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		s.importUpdate(src, us[i&1])
		s.stats.passes++ // outbound serves a session once per pass
		s.outbound()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*(n-1)), "ns/member")
}
