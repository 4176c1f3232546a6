package bmp

import (
	"net/netip"
	"testing"
	"time"

	"github.com/osrg/gobgp/v3/pkg/packet/bgp"
	gobmp "github.com/osrg/gobgp/v3/pkg/packet/bmp"

	"github.com/ixrs/ixrs/speaker"
)

// FuzzRouteMonitoringRoundTrip encodes a Route Monitoring message from fuzzed peer, table, prefix
// and attributes, and requires gobgp's decoder to read back the same peer header, prefix, AS path and
// communities. The seeds (f.Add) are the shapes of the golden files: IPv4 and IPv6 peers, each
// table, announcement and withdrawal.
func FuzzRouteMonitoringRoundTrip(f *testing.F) {
	f.Add([]byte{192, 0, 2, 11}, uint32(4200000001), uint8(0), []byte{198, 51, 100, 0}, uint8(24), false, uint32(64512), uint32(1), int64(1795316355), uint32(123456))
	f.Add([]byte{0x20, 1, 0xd, 0xb8, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x11}, uint32(65011), uint8(1),
		[]byte{0x20, 1, 0xd, 0xb8, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, uint8(48), false, uint32(0), uint32(0), int64(0), uint32(0))
	f.Add([]byte{192, 0, 2, 12}, uint32(65012), uint8(2), []byte{11, 0, 0, 0}, uint8(8), true, uint32(7), uint32(9), int64(5), uint32(999999))
	f.Fuzz(func(t *testing.T, peerAddr []byte, asn uint32, tab uint8, pfx []byte, bits uint8, wd bool, path2, comm uint32, sec int64, usec uint32) {
		addr, ok := netip.AddrFromSlice(peerAddr)
		if !ok {
			return
		}
		paddr, ok := netip.AddrFromSlice(pfx)
		if !ok || int(bits) > paddr.BitLen() {
			return
		}
		prefix := netip.PrefixFrom(paddr, int(bits)).Masked()
		p := Peer{Addr: addr, ASN: asn, RouterID: netip.AddrFrom4([4]byte{10, 0, 0, 1})}
		t3 := [3]table{tablePre, tablePost, tableAdjOut}[int(tab)%3]
		ts := time.Unix(sec&0xffffffff, int64(usec%1_000_000)*1000)
		var attrs *speaker.Attrs
		if !wd {
			attrs = &speaker.Attrs{ASPath: speaker.ASPath{{Type: speaker.SegSequence, ASNs: []uint32{asn, path2}}},
				Communities: []uint32{comm}}
			if prefix.Addr().Is4() {
				attrs.NextHop = netip.AddrFrom4([4]byte{192, 0, 2, 1})
			} else {
				attrs.MPNextHop = netip.MustParseAddr("2001:db8::1")
			}
		}
		ups, err := encodeUpdate(prefix, attrs, false)
		if err != nil {
			t.Fatalf("encode %s: %v", prefix, err)
		}
		msg := appendRouteMonitoring(nil, p, t3, ts, ups)
		m, err := gobmp.ParseBMPMessage(msg)
		if err != nil {
			t.Fatalf("gobgp: %v (%x)", err, msg)
		}
		h := m.PeerHeader
		wantAddr := addr.Unmap()
		if addr.Is6() && !addr.Is4In6() {
			wantAddr = addr
		}
		gotAddr, _ := netip.AddrFromSlice(h.PeerAddress)
		if gotAddr.Unmap() != wantAddr.Unmap() || h.PeerAS != asn || h.IsPostPolicy() != (t3 != tablePre) ||
			h.IsAdjRIBOut() != (t3 == tableAdjOut) || h.Flags&flagA != 0 {
			t.Fatalf("peer header %+v for %+v table %x", h, p, t3)
		}
		if uint32(h.Timestamp) != uint32(ts.Unix()) {
			t.Fatalf("timestamp %v, want %d", h.Timestamp, ts.Unix())
		}
		rm := m.Body.(*gobmp.BMPRouteMonitoring)
		u := rm.BGPUpdate.Body.(*bgp.BGPUpdate)
		var got []string
		for _, n := range u.NLRI {
			got = append(got, n.String())
		}
		for _, n := range u.WithdrawnRoutes {
			got = append(got, "-"+n.String())
		}
		var gotPath []uint32
		var gotComm []uint32
		for _, a := range u.PathAttributes {
			switch a := a.(type) {
			case *bgp.PathAttributeMpReachNLRI:
				for _, n := range a.Value {
					got = append(got, n.String())
				}
			case *bgp.PathAttributeMpUnreachNLRI:
				for _, n := range a.Value {
					got = append(got, "-"+n.String())
				}
			case *bgp.PathAttributeAsPath:
				for _, s := range a.Value {
					gotPath = append(gotPath, s.GetAS()...)
				}
			case *bgp.PathAttributeCommunities:
				gotComm = a.Value
			}
		}
		want := prefix.String()
		if wd {
			want = "-" + want
		}
		if len(got) != 1 || got[0] != want {
			t.Fatalf("prefixes %v, want %s", got, want)
		}
		if !wd {
			if len(gotPath) != 2 || gotPath[0] != asn || gotPath[1] != path2 || len(gotComm) != 1 || gotComm[0] != comm {
				t.Fatalf("path %v communities %v, want [%d %d] [%d]", gotPath, gotComm, asn, path2, comm)
			}
		}
	})
}
