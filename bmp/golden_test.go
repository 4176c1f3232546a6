package bmp

import (
	"encoding/hex"
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	gobmp "github.com/osrg/gobgp/v3/pkg/packet/bmp"

	"github.com/ixrs/ixrs/speaker"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// goldenTS is a fixed timestamp with a microsecond fraction.
var goldenTS = time.Unix(1795316355, 123456000)

func goldenPeer() Peer {
	return Peer{Addr: netip.MustParseAddr("192.0.2.11"), ASN: 4200000001, RouterID: netip.MustParseAddr("192.0.2.11")}
}

func goldenAttrs() *speaker.Attrs {
	return &speaker.Attrs{Origin: speaker.OriginIGP,
		ASPath:  speaker.ASPath{{Type: speaker.SegSequence, ASNs: []uint32{4200000001, 64512}}},
		NextHop: netip.MustParseAddr("192.0.2.11"),
		MED:     10, HasMED: true,
		Communities:      []uint32{65000<<16 | 1},
		LargeCommunities: []speaker.LargeCommunity{{Global: 4200000001, Local1: 1, Local2: 2}}}
}

// goldenMessages builds one message of each type (and the flag variants of Route Monitoring).
func goldenMessages(t *testing.T) map[string][]byte {
	t.Helper()
	must := func(b []byte, err error) []byte {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	mustU := func(b [][]byte, err error) [][]byte {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	p := goldenPeer()
	p2 := Peer{Addr: netip.MustParseAddr("192.0.2.7"), ASN: 65007, RouterID: netip.MustParseAddr("192.0.2.7"), TwoOctetAS: true}
	ann2 := mustU(encodeUpdate(netip.MustParsePrefix("198.51.100.0/24"), goldenAttrs(), true))
	p6 := Peer{Addr: netip.MustParseAddr("2001:db8:ffff::11"), ASN: 65011, RouterID: netip.MustParseAddr("10.0.0.11")}
	ann := mustU(encodeUpdate(netip.MustParsePrefix("198.51.100.0/24"), goldenAttrs(), false))
	a6 := goldenAttrs()
	a6.MPNextHop = netip.MustParseAddr("2001:db8:ffff::11")
	ann6 := mustU(encodeUpdate(netip.MustParsePrefix("2001:db8:100::/48"), a6, false))
	wd := mustU(encodeUpdate(netip.MustParsePrefix("198.51.100.0/24"), nil, false))
	sent := speaker.EncodeOpen(&speaker.Open{Version: 4, MyAS: 65000, HoldTime: 90, RouterID: netip.MustParseAddr("192.0.2.1"),
		Caps: speaker.Capabilities{Families: []speaker.Family{speaker.IPv4Unicast}, FourOctetAS: true, AS4: 65000}})
	recv := speaker.EncodeOpen(&speaker.Open{Version: 4, MyAS: speaker.ASTrans, HoldTime: 180, RouterID: p.RouterID,
		Caps: speaker.Capabilities{Families: []speaker.Family{speaker.IPv4Unicast}, FourOctetAS: true, AS4: p.ASN}})
	// Sessions with known endpoints: the route server listened on port 179, the member dialled.
	pc := p
	pc.Local, pc.Remote = netip.MustParseAddrPort("192.0.2.1:179"), netip.MustParseAddrPort("192.0.2.11:40123")
	pc6 := p6
	pc6.Local, pc6.Remote = netip.MustParseAddrPort("[2001:db8:ffff::1]:179"), netip.MustParseAddrPort("[2001:db8:ffff::11]:40124")
	note := speaker.AdminShutdown(speaker.SubAdminShutdown, "maintenance")
	return map[string][]byte{
		"initiation":              must(appendInitiation(nil, "rs1.example.net", "ixrs route server")),
		"termination":             must(appendTermination(nil, "route server shutting down")),
		"peer-up":                 appendPeerUp(nil, p, goldenTS, sent, recv),
		"peer-up-ipv6":            appendPeerUp(nil, p6, goldenTS, sent, recv),
		"peer-up-ports":           appendPeerUp(nil, pc, goldenTS, sent, recv),
		"peer-up-ipv6-ports":      appendPeerUp(nil, pc6, goldenTS, sent, recv),
		"peer-down-sent":          must(appendPeerDown(nil, p, goldenTS, &note, true)),
		"peer-down-received":      must(appendPeerDown(nil, p, goldenTS, &note, false)),
		"peer-down-local":         must(appendPeerDown(nil, p, goldenTS, nil, true)),
		"peer-down-remote":        must(appendPeerDown(nil, p, goldenTS, nil, false)),
		"route-monitoring-pre":    appendRouteMonitoring(nil, p, tablePre, goldenTS, ann),
		"route-monitoring-post":   appendRouteMonitoring(nil, p, tablePost, goldenTS, ann),
		"route-monitoring-out":    appendRouteMonitoring(nil, p, tableAdjOut, goldenTS, ann),
		"route-monitoring-ipv6":   appendRouteMonitoring(nil, p6, tablePre, goldenTS, ann6),
		"route-monitoring-2octet": appendRouteMonitoring(nil, p2, tablePre, goldenTS, ann2),
		"route-monitoring-wd":     appendRouteMonitoring(nil, p, tablePost, goldenTS, wd),
		"route-monitoring-eor":    appendRouteMonitoring(nil, p, tablePre, goldenTS, [][]byte{speaker.AppendEndOfRIB(nil, speaker.IPv6Unicast)}),
		"statistics":              must(appendStats(nil, p, goldenTS, Stats{Rejected: 3, DuplicatePrefixes: 5, DuplicateWithdraws: 1, Families: []FamilyStats{{speaker.IPv4Unicast, 10, 7}, {speaker.IPv6Unicast, 2, 2}}})),
	}
}

// TestGolden pins the encoding of every message type (hex, 32 bytes a line, in testdata/*.hex;
// go test -run Golden -update rewrites them) and checks that gobgp's decoder reads each back.
func TestGolden(t *testing.T) {
	for name, msg := range goldenMessages(t) {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join("testdata", name+".hex")
			var b strings.Builder
			for i := 0; i < len(msg); i += 32 {
				b.WriteString(hex.EncodeToString(msg[i:min(i+32, len(msg))]) + "\n")
			}
			if *update {
				if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if b.String() != string(want) {
				t.Errorf("encoding changed:\n%s\nwant:\n%s", b.String(), want)
			}
			m, err := gobmp.ParseBMPMessage(msg)
			if err != nil {
				t.Fatalf("gobgp cannot decode it: %v", err)
			}
			if int(m.Header.Length) != len(msg) {
				t.Errorf("length %d, message %d bytes", m.Header.Length, len(msg))
			}
		})
	}
}
