package speaker

import (
	"bytes"
	"net/netip"
	"testing"
)

// dumpStream encodes 4,000 /24s with attrs into full 4,096-byte UPDATEs, the shape of a table dump.
func dumpStream(a *Attrs) []byte {
	block := AppendAttrs(nil, a, IPv4Unicast, EncodeOptions{FourOctetAS: true, MaxMessage: MaxMessageLen})
	var prefixes []netip.Prefix
	for i := range 4000 {
		prefixes = append(prefixes, netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i >> 8), byte(i), 0}), 24))
	}
	var stream []byte
	for rest := prefixes; len(rest) > 0; {
		var n int
		stream, n = AppendAnnounce(stream, IPv4Unicast, block, netip.Addr{}, netip.Addr{}, rest, MaxMessageLen)
		rest = rest[n:]
	}
	return stream
}

// BenchmarkFraming measures the framer alone over a stream of full 4,096-byte UPDATEs (the shape of a
// table dump): bytes per second through newFramer/next, messages handed out in batches.
func BenchmarkFraming(b *testing.B) {
	stream := dumpStream(&Attrs{Origin: OriginIGP, ASPath: ASPath{{Type: SegSequence, ASNs: []uint32{65001, 65002}}},
		NextHop: netip.MustParseAddr("192.0.2.1")})
	for len(stream) < 4<<20 {
		stream = append(stream, stream...)
	}
	b.SetBytes(int64(len(stream)))
	b.ReportAllocs()
	var msgs []message
	r := bytes.NewReader(stream)
	for b.Loop() {
		r.Reset(stream)
		fr := newFramer(r, func() int { return MaxMessageLen })
		for {
			var err error
			if msgs, err = fr.next(msgs); err != nil {
				break
			}
		}
	}
}

// BenchmarkFramingDecode is framing plus DecodeUpdate of every message: what a session's reader does per
// byte received during a table dump.
func BenchmarkFramingDecode(b *testing.B) {
	stream := dumpStream(&Attrs{Origin: OriginIGP, ASPath: ASPath{{Type: SegSequence, ASNs: []uint32{65001, 65002}}},
		NextHop: netip.MustParseAddr("192.0.2.1"), Communities: []uint32{65001<<16 | 1}, LargeCommunities: []LargeCommunity{{65001, 1, 1}}})
	b.SetBytes(int64(len(stream)))
	b.ReportAllocs()
	var msgs []message
	r := bytes.NewReader(stream)
	opt := DecodeOptions{FourOctetAS: true}
	n := 0
	for b.Loop() {
		r.Reset(stream)
		fr := newFramer(r, func() int { return MaxMessageLen })
		for {
			var err error
			msgs, err = fr.next(msgs)
			for _, m := range msgs {
				u, _ := DecodeUpdate(m.body, opt)
				n += len(u.NLRI)
			}
			if err != nil {
				break
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/prefix")
}
