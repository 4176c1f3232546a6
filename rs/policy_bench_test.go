package rs

import (
	"net/netip"
	"testing"

	"github.com/ixrs/ixrs/policy"
	"github.com/ixrs/ixrs/rpki"
	"github.com/ixrs/ixrs/speaker"
)

// BenchmarkImportFullChain is BenchmarkImportUpdate with the whole default chain of POLICY.md:
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
	var store rpki.Store
	store.Set(rpki.NewTable(vrps))
	im := policy.Full()
	im.ROV = &store
	im.RejectBogonASNs = false // the benchmark member's ASN is private
	s := quietServer(b)
	s.cfg.Import = im
	p := benchPeer(b, s, 1)
	src := &policy.IRRSource{}
	src.Store(policy.NewIRR(irr, []uint32{15169}))
	p.polSess.IRR = src
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
