package speaker

// Codec benchmarks. The typical UPDATE is ORIGIN, AS_PATH of four 4-octet ASNs, NEXT_HOP, three
// communities, one large community and ten /24s (125 bytes); BenchmarkGobgpParseUpdate measures gobgp's
// own parser on the same message on this machine.

import (
	"net/netip"
	"testing"

	"github.com/osrg/gobgp/v3/pkg/packet/bgp"
)

func benchAttrs() *Attrs {
	return &Attrs{
		ASPath:           ASPath{{Type: SegSequence, ASNs: []uint32{4200000001, 65001, 4200000002, 65002}}},
		NextHop:          netip.MustParseAddr("192.0.2.10"),
		Communities:      []uint32{65000<<16 | 1, 65000<<16 | 100, 0xffffff01},
		LargeCommunities: []LargeCommunity{{Global: 4200000001, Local1: 1, Local2: 2}},
	}
}

func benchPrefixes(n int) []netip.Prefix {
	ps := make([]netip.Prefix, n)
	for i := range ps {
		ps[i] = netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i >> 8), byte(i), 0}), 24)
	}
	return ps
}

func benchMessage(b *testing.B, n int) []byte {
	block := AppendAttrs(nil, benchAttrs(), IPv4Unicast, EncodeOptions{FourOctetAS: true})
	msg, k := AppendAnnounce(nil, IPv4Unicast, block, netip.Addr{}, netip.Addr{}, benchPrefixes(n), MaxMessageLen)
	if k != n {
		b.Fatalf("only %d of %d prefixes fit", k, n)
	}
	return msg
}

func benchDecode(b *testing.B, n int) {
	msg := benchMessage(b, n)
	body := msg[HeaderLen:]
	opt := DecodeOptions{FourOctetAS: true}
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		u, err := DecodeUpdate(body, opt)
		if err != nil || len(u.NLRI) != n {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeUpdate decodes the typical 125-byte UPDATE.
func BenchmarkDecodeUpdate(b *testing.B) { benchDecode(b, 10) }

// BenchmarkDecodeUpdate1000 decodes an UPDATE with 1000 /24s (4,081 bytes).
func BenchmarkDecodeUpdate1000(b *testing.B) { benchDecode(b, 1000) }

// BenchmarkGobgpParseUpdate is gobgp's ParseBGPMessage on the same typical UPDATE, for comparison.
func BenchmarkGobgpParseUpdate(b *testing.B) {
	msg := benchMessage(b, 10)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := bgp.ParseBGPMessage(msg); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAppendAttrs encodes the typical attribute set into a reused buffer (once per attribute set
// in the route server).
func BenchmarkAppendAttrs(b *testing.B) {
	a := benchAttrs()
	opt := EncodeOptions{FourOctetAS: true}
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendAttrs(buf[:0], a, IPv4Unicast, opt)
	}
}

// BenchmarkAppendAttrs2Octet is the same for a 2-octet session (AS_TRANS plus AS4_PATH).
func BenchmarkAppendAttrs2Octet(b *testing.B) {
	a := benchAttrs()
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendAttrs(buf[:0], a, IPv4Unicast, EncodeOptions{})
	}
}

// BenchmarkAppendAnnounce builds the typical UPDATE from a cached attribute block and ten prefixes into a
// reused buffer: the route server's per-member cost. Must not allocate.
func BenchmarkAppendAnnounce(b *testing.B) {
	block := AppendAttrs(nil, benchAttrs(), IPv4Unicast, EncodeOptions{FourOctetAS: true})
	ps := benchPrefixes(10)
	buf := make([]byte, 0, MaxMessageLen)
	b.ReportAllocs()
	for b.Loop() {
		var n int
		buf, n = AppendAnnounce(buf[:0], IPv4Unicast, block, netip.Addr{}, netip.Addr{}, ps, MaxMessageLen)
		if n != len(ps) {
			b.Fatal(n)
		}
	}
}

// BenchmarkAppendAnnounce6 is the IPv6 variant (MP_REACH_NLRI with a link-local next hop, ten /48s).
func BenchmarkAppendAnnounce6(b *testing.B) {
	a := benchAttrs()
	block := AppendAttrs(nil, a, IPv6Unicast, EncodeOptions{FourOctetAS: true})
	ps := make([]netip.Prefix, 10)
	for i := range ps {
		ps[i] = netip.PrefixFrom(netip.AddrFrom16([16]byte{0x20, 1, 0xd, 0xb8, 0, byte(i)}), 48)
	}
	nh, ll := netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("fe80::1")
	buf := make([]byte, 0, MaxMessageLen)
	b.ReportAllocs()
	for b.Loop() {
		var n int
		buf, n = AppendAnnounce(buf[:0], IPv6Unicast, block, nh, ll, ps, MaxMessageLen)
		if n != len(ps) {
			b.Fatal(n)
		}
	}
}

// BenchmarkAppendAnnounce1000 packs 1000 /24s into full 4096-byte UPDATEs appended to one buffer.
func BenchmarkAppendAnnounce1000(b *testing.B) {
	block := AppendAttrs(nil, benchAttrs(), IPv4Unicast, EncodeOptions{FourOctetAS: true})
	ps := benchPrefixes(1000)
	buf := make([]byte, 0, 2*MaxMessageLen)
	b.ReportAllocs()
	for b.Loop() {
		buf = buf[:0]
		for rest := ps; len(rest) > 0; {
			var n int
			buf, n = AppendAnnounce(buf, IPv4Unicast, block, netip.Addr{}, netip.Addr{}, rest, MaxMessageLen)
			rest = rest[n:]
		}
	}
}
