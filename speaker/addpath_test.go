package speaker

import (
	"net/netip"
	"testing"

	"github.com/osrg/gobgp/v3/pkg/packet/bgp"
)

// TestAddPathRoundTrip encodes announcements and withdrawals with path identifiers and decodes them
// with gobgp's codec told to expect them: every prefix comes back with its identifier, and a message
// holds as many as fit.
func TestAddPathRoundTrip(t *testing.T) {
	attrs := &Attrs{Origin: 0, ASPath: ASPath{{Type: SegSequence, ASNs: []uint32{65001, 4200000001}}},
		NextHop: netip.MustParseAddr("192.0.2.1"), MPNextHop: netip.MustParseAddr("2001:db8::1")}
	var v4, v6 []PathNLRI
	for i := range 1500 {
		v4 = append(v4, PathNLRI{ID: uint32(i%7 + 1), Prefix: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i >> 8), byte(i), 0}), 24)})
		v6 = append(v6, PathNLRI{ID: uint32(1<<31 + i), Prefix: netip.PrefixFrom(netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, byte(i >> 8), byte(i)}), 48)})
	}
	opt := &bgp.MarshallingOption{AddPath: map[bgp.RouteFamily]bgp.BGPAddPathMode{
		bgp.RF_IPv4_UC: bgp.BGP_ADD_PATH_RECEIVE, bgp.RF_IPv6_UC: bgp.BGP_ADD_PATH_RECEIVE}}
	for _, tc := range []struct {
		f     Family
		paths []PathNLRI
	}{{IPv4Unicast, v4}, {IPv6Unicast, v6}} {
		for _, withdraw := range []bool{false, true} {
			var got []PathNLRI
			rest, msgs := tc.paths, 0
			for len(rest) > 0 && msgs < 100 {
				var msg []byte
				var n int
				if withdraw {
					msg, n = AppendWithdrawPaths(nil, tc.f, rest, 0)
				} else {
					block := AppendAttrs(nil, attrs, tc.f, EncodeOptions{FourOctetAS: true})
					msg, n = AppendAnnouncePaths(nil, tc.f, block, attrs.MPNextHop, netip.Addr{}, rest, 0)
				}
				if n == 0 || len(msg) > MaxMessageLen {
					t.Fatalf("%v withdraw=%v: consumed %d, %d bytes", tc.f, withdraw, n, len(msg))
				}
				rest = rest[n:]
				msgs++
				m, err := bgp.ParseBGPMessage(msg, opt)
				if err != nil {
					t.Fatalf("%v withdraw=%v: gobgp: %v", tc.f, withdraw, err)
				}
				u := m.Body.(*bgp.BGPUpdate)
				var nlris []bgp.AddrPrefixInterface
				switch {
				case tc.f == IPv4Unicast && withdraw:
					for _, x := range u.WithdrawnRoutes {
						nlris = append(nlris, x)
					}
				case tc.f == IPv4Unicast:
					for _, x := range u.NLRI {
						nlris = append(nlris, x)
					}
				default:
					for _, a := range u.PathAttributes {
						switch a := a.(type) {
						case *bgp.PathAttributeMpReachNLRI:
							nlris = append(nlris, a.Value...)
						case *bgp.PathAttributeMpUnreachNLRI:
							nlris = append(nlris, a.Value...)
						}
					}
				}
				for _, x := range nlris {
					got = append(got, PathNLRI{ID: x.PathIdentifier(), Prefix: netip.MustParsePrefix(x.String())})
				}
			}
			if msgs < 2 {
				t.Errorf("%v withdraw=%v: %d messages: the test wants more than one", tc.f, withdraw, msgs)
			}
			if len(got) != len(tc.paths) {
				t.Fatalf("%v withdraw=%v: decoded %d paths, want %d", tc.f, withdraw, len(got), len(tc.paths))
			}
			for i := range got {
				if got[i] != tc.paths[i] {
					t.Fatalf("%v withdraw=%v: path %d = %v, want %v", tc.f, withdraw, i, got[i], tc.paths[i])
				}
			}
		}
	}
}

// TestAddPathNegotiation: we send path identifiers only for families we advertised send for, the
// neighbor advertised receive for, and both negotiated.
func TestAddPathNegotiation(t *testing.T) {
	o := &Open{Caps: Capabilities{AddPath: map[Family]uint8{IPv4Unicast: AddPathSend, IPv6Unicast: AddPathBoth}}}
	ours := []Family{IPv4Unicast, IPv6Unicast}
	if got := negotiatedAddPathSend(ours, ours, o); len(got) != 1 || got[0] != IPv6Unicast {
		t.Errorf("neighbor sends only for IPv4, both for IPv6: got %v, want [IPv6]", got)
	}
	if got := negotiatedAddPathSend(ours, []Family{IPv4Unicast}, o); len(got) != 0 {
		t.Errorf("IPv6 not negotiated: got %v", got)
	}
	o.Caps.AddPath[IPv4Unicast] = AddPathReceive
	if got := negotiatedAddPathSend([]Family{IPv4Unicast}, ours, o); len(got) != 1 || got[0] != IPv4Unicast {
		t.Errorf("got %v, want [IPv4]", got)
	}
	if got := negotiatedAddPathSend(nil, ours, o); len(got) != 0 {
		t.Errorf("not advertised by us: got %v", got)
	}
}
