package policy

import (
	"net/netip"
	"testing"
)

// benchSetup is the full default chain with RPKI and IRR data, and a typical member route.
func benchSetup() (*Import, *Session, Data, Path, []netip.Prefix) {
	im := Full()
	im.PeeringLANs = []netip.Prefix{netip.MustParsePrefix("1.9.0.0/24")}
	var list []IRRPrefix
	prefixes := make([]netip.Prefix, 1024)
	for i := range prefixes {
		prefixes[i] = netip.PrefixFrom(netip.AddrFrom4([4]byte{1, byte(i >> 8), byte(i), 0}), 24)
		list = append(list, IRRPrefix{prefixes[i], 24, 24})
	}
	s := &Session{ASN: 3000, Addr: netip.MustParseAddr("1.9.0.11")}
	d := Data{ROV: testROV, IRR: NewIRR(list, []uint32{3000, 5001})}
	p := Path{ASNs: []uint32{3000, 5001}, Len: 2, First: 3000, NextHop: s.Addr,
		Communities: []uint32{3000<<16 | 1, 3000<<16 | 2}, LargeCommunities: []LargeCommunity{{3000, 1, 1}}}
	return im, s, d, p, prefixes
}

// BenchmarkImportPath is the per-attribute-set half of the chain.
func BenchmarkImportPath(b *testing.B) {
	im, s, _, p, _ := benchSetup()
	b.ReportAllocs()
	for b.Loop() {
		im.ImportPath(s, &p)
	}
}

// BenchmarkImportRoute is the per-prefix half: bogons, lengths, RPKI, IRR.
func BenchmarkImportRoute(b *testing.B) {
	im, s, d, p, prefixes := benchSetup()
	pv := im.ImportPath(s, &p)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		im.ImportRoute(s, d, prefixes[i&1023], &p, pv)
		i++
	}
}

// BenchmarkExplain is the on-demand explanation of one route.
func BenchmarkExplain(b *testing.B) {
	im, s, d, p, prefixes := benchSetup()
	b.ReportAllocs()
	for b.Loop() {
		im.Explain(s, d, prefixes[7], &p)
	}
}
