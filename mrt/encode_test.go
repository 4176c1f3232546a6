package mrt

import (
	"bytes"
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/osrg/gobgp/v3/pkg/packet/bgp"
	gomrt "github.com/osrg/gobgp/v3/pkg/packet/mrt"

	"github.com/ixrs/ixrs/speaker"
)

var update = flag.Bool("update", false, "rewrite the golden files")

var goldenTime = time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)

func goldenAttrs(asn uint32, nh string) *speaker.Attrs {
	return &speaker.Attrs{Origin: speaker.OriginIGP,
		ASPath:           speaker.ASPath{{Type: speaker.SegSequence, ASNs: []uint32{asn, 65536}}},
		NextHop:          netip.MustParseAddr("192.0.2.11"),
		MPNextHop:        netip.MustParseAddr(nh),
		MED:              10,
		HasMED:           true,
		Communities:      []uint32{65000<<16 | 100},
		LargeCommunities: []speaker.LargeCommunity{{Global: 65000, Local1: 1, Local2: 2}}}
}

// goldenFile is a small dump: two peers (2- and 4-octet ASN, IPv4 and IPv6 addresses), an IPv4
// record with both and an IPv6 record with a link-local next hop.
func goldenFile(t testing.TB) []byte {
	peers := []Peer{{Addr: netip.MustParseAddr("192.0.2.11"), ASN: 64501, RouterID: netip.MustParseAddr("192.0.2.11")},
		{Addr: netip.MustParseAddr("2001:db8:ffff::12"), ASN: 4200000001}}
	b, err := AppendPeerIndexTable(nil, goldenTime, netip.MustParseAddr("192.0.2.1"), "adj-rib-in", peers)
	if err != nil {
		t.Fatal(err)
	}
	a6 := goldenAttrs(4200000001, "2001:db8:ffff::12")
	a6.MPLinkLocal = netip.MustParseAddr("fe80::12")
	b, err = AppendRIB(b, goldenTime, 0, netip.MustParsePrefix("203.0.113.0/24"), []Entry{
		{Peer: 0, Originated: goldenTime.Add(-time.Hour), Attrs: goldenAttrs(64501, "2001:db8:ffff::11")},
		{Peer: 1, Originated: goldenTime.Add(-time.Minute), Attrs: goldenAttrs(4200000001, "2001:db8:ffff::12")}})
	if err != nil {
		t.Fatal(err)
	}
	b, err = AppendRIB(b, goldenTime, 1, netip.MustParsePrefix("2001:db8:200::/48"), []Entry{{Peer: 1, Attrs: a6}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestGolden(t *testing.T) {
	got := goldenFile(t)
	path := filepath.Join("testdata", "dump.mrt")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("encoding differs from %s (go test ./mrt -run Golden -update rewrites it after review)", path)
	}
}

// parseAll decodes a file with gobgp's MRT decoder.
func parseAll(t testing.TB, b []byte) []*gomrt.MRTMessage {
	t.Helper()
	var out []*gomrt.MRTMessage
	for len(b) > 0 {
		h := &gomrt.MRTHeader{}
		if err := h.DecodeFromBytes(b); err != nil {
			t.Fatalf("header: %v", err)
		}
		end := headerLen + int(h.Len)
		if end > len(b) {
			t.Fatalf("record of %d bytes, %d left", end, len(b))
		}
		m, err := gomrt.ParseMRTBody(h, b[headerLen:end])
		if err != nil {
			t.Fatalf("record: %v", err)
		}
		out = append(out, m)
		b = b[end:]
	}
	return out
}

// TestGobgpDecodes: gobgp's decoder reads the golden dump with the fields that were encoded.
func TestGobgpDecodes(t *testing.T) {
	msgs := parseAll(t, goldenFile(t))
	if len(msgs) != 3 {
		t.Fatalf("%d records, want 3", len(msgs))
	}
	pit := msgs[0].Body.(*gomrt.PeerIndexTable)
	if len(pit.Peers) != 2 || pit.Peers[0].AS != 64501 || pit.Peers[1].AS != 4200000001 ||
		pit.Peers[1].IpAddress.String() != "2001:db8:ffff::12" || pit.ViewName != "adj-rib-in" {
		t.Errorf("peer index table %+v", pit)
	}
	r4 := msgs[1].Body.(*gomrt.Rib)
	if r4.Prefix.String() != "203.0.113.0/24" || len(r4.Entries) != 2 || r4.Entries[1].PeerIndex != 1 ||
		r4.Entries[0].OriginatedTime != uint32(goldenTime.Add(-time.Hour).Unix()) {
		t.Errorf("IPv4 record %+v", r4)
	}
	var path []uint32
	for _, a := range r4.Entries[1].PathAttributes {
		if p, ok := a.(*bgp.PathAttributeAsPath); ok {
			for _, v := range p.Value {
				path = append(path, v.GetAS()...)
			}
		}
	}
	if len(path) != 2 || path[0] != 4200000001 || path[1] != 65536 {
		t.Errorf("AS path %v, want [4200000001 65536]", path)
	}
	r6 := msgs[2].Body.(*gomrt.Rib)
	if msgs[2].Header.SubType != subRIBIPv6Unicast || r6.Prefix.String() != "2001:db8:200::/48" || r6.SequenceNumber != 1 {
		t.Errorf("IPv6 record %+v", r6)
	}
	found := false
	for _, a := range r6.Entries[0].PathAttributes {
		if mp, ok := a.(*bgp.PathAttributeMpReachNLRI); ok {
			found = true
			if mp.Nexthop.String() != "2001:db8:ffff::12" || mp.LinkLocalNexthop.String() != "fe80::12" {
				t.Errorf("MP_REACH next hops %s %s", mp.Nexthop, mp.LinkLocalNexthop)
			}
		}
	}
	if !found {
		t.Error("IPv6 entry without MP_REACH_NLRI")
	}
}

// FuzzAppendRIB: any UPDATE the speaker decodes, dumped as RIB records, is read back by gobgp's
// decoder with the prefix, the peer index and the AS path that went in.
func FuzzAppendRIB(f *testing.F) {
	for _, a := range []*speaker.Attrs{goldenAttrs(64501, "2001:db8:ffff::11"), goldenAttrs(4200000001, "2001:db8::1")} {
		for _, p := range []string{"203.0.113.0/24", "2001:db8:200::/48", "0.0.0.0/0", "2001:db8::1/128"} {
			u := &speaker.Update{NLRI: []netip.Prefix{netip.MustParsePrefix(p)}, Attrs: a}
			msgs, err := speaker.EncodeUpdate(u, speaker.EncodeOptions{FourOctetAS: true, MaxMessage: speaker.MaxMessageLen})
			if err != nil {
				f.Fatal(err)
			}
			f.Add(msgs[0][speaker.HeaderLen:], uint16(3))
		}
	}
	f.Fuzz(func(t *testing.T, body []byte, peer uint16) {
		u, uerr := speaker.DecodeUpdate(body, speaker.DecodeOptions{FourOctetAS: true})
		if uerr != nil || u == nil || u.Attrs == nil || len(u.NLRI) == 0 {
			return
		}
		for _, p := range u.NLRI {
			b, err := AppendRIB(nil, goldenTime, 7, p, []Entry{{Peer: peer, Attrs: u.Attrs}})
			if err != nil {
				continue // too long for the record's length fields: refused, not garbled
			}
			msgs := parseAll(t, b)
			r := msgs[0].Body.(*gomrt.Rib)
			if r.Prefix.String() != p.Masked().String() || r.SequenceNumber != 7 || len(r.Entries) != 1 || r.Entries[0].PeerIndex != peer {
				t.Fatalf("%s read back as %s seq %d entries %d", p, r.Prefix, r.SequenceNumber, len(r.Entries))
			}
			var got []uint32
			for _, a := range r.Entries[0].PathAttributes {
				if ap, ok := a.(*bgp.PathAttributeAsPath); ok {
					for _, v := range ap.Value {
						got = append(got, v.GetAS()...)
					}
				}
			}
			var want []uint32
			for _, s := range u.Attrs.ASPath {
				want = append(want, s.ASNs...)
			}
			if len(got) != len(want) {
				t.Fatalf("AS path %v read back as %v", want, got)
			}
			for i := range got {
				if got[i] != want[i] {
					t.Fatalf("AS path %v read back as %v", want, got)
				}
			}
		}
	})
}
