package mrt

import (
	"encoding/binary"
	"net/netip"
	"testing"
	"time"

	gobgp "github.com/osrg/gobgp/v3/pkg/packet/bgp"
	gomrt "github.com/osrg/gobgp/v3/pkg/packet/mrt"
)

// FuzzAppendBGP4MP: whatever the message bytes and session, a record's length field covers exactly
// what was appended, and gobgp reads the record exactly when it reads the message alone, with the
// session's ASes and addresses.
func FuzzAppendBGP4MP(f *testing.F) {
	f.Add(uint32(64501), uint32(65000), true, false, keepalive())
	f.Add(uint32(64501), uint32(65000), false, false, []byte{0xff, 0, 23, 2, 0, 0, 0, 0})
	f.Add(uint32(4200000001), uint32(4200000000), false, true, []byte{})
	f.Fuzz(func(t *testing.T, peerAS, localAS uint32, four, v6 bool, msg []byte) {
		p := &UpdatePeer{PeerAS: peerAS, LocalAS: localAS, FourOctetAS: four,
			Peer: netip.MustParseAddr("192.0.2.11"), Local: netip.MustParseAddr("192.0.2.1")}
		if v6 {
			p.Peer, p.Local = netip.MustParseAddr("2001:db8::11"), netip.MustParseAddr("2001:db8::1")
		}
		rec := AppendBGP4MP([]byte{1, 2, 3}, time.Unix(1796385600, 5000), p, msg)[3:]
		if n := headerLen + int(binary.BigEndian.Uint32(rec[8:12])); n != len(rec) || countRecords(rec) != 1 {
			t.Fatalf("length field says %d bytes, record has %d", n, len(rec))
		}
		h := &gomrt.MRTHeader{}
		if err := h.DecodeFromBytes(rec[:headerLen]); err != nil {
			t.Fatal(err)
		}
		// gobgp does not read BGP4MP_ET's microseconds: hand it the rest as plain BGP4MP.
		h.Type, h.Len = gomrt.BGP4MP, h.Len-4
		m, err := gomrt.ParseMRTBody(h, rec[16:])
		if _, perr := gobgp.ParseBGPMessage(msg); err != nil || perr != nil {
			if (err == nil) != (perr == nil) {
				t.Fatalf("gobgp reads the record (err %v) but the message alone (err %v)", err, perr)
			}
			return // not a BGP message: gobgp reads neither
		}
		b := m.Body.(*gomrt.BGP4MPMessage)
		if b.PeerAS != as4or2(p, peerAS) || b.LocalAS != as4or2(p, localAS) || b.PeerIpAddress.String() != p.Peer.String() ||
			b.LocalIpAddress.String() != p.Local.String() {
			t.Errorf("header %+v, session %+v", b.BGP4MPHeader, p)
		}
	})
}

func keepalive() []byte {
	b := make([]byte, 19)
	for i := range 16 {
		b[i] = 0xff
	}
	b[17], b[18] = 19, 4
	return b
}
