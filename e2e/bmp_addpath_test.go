package e2e

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ixrs/ixrs/internal/peers"
)

// TestBMPAddPath: Adj-RIB-Out monitoring (RFC 8671) of a member sent ADD-PATH carries its best path
// only, without path identifiers, and a real pmacct pmbmpd decodes it as such although the Peer Up's
// OPENs negotiated ADD-PATH toward that member (docs/bmp.md).
func TestBMPAddPath(t *testing.T) {
	peers.Require(t, "bird", "birdc", "pmbmpd")
	bmpPort := peers.FreePort(t, adr("127.0.0.1"))
	col := peers.StartPmbmpd(t, t.TempDir(), bmpPort)
	a := &member{name: "bird-a", start: peers.StartBIRD, addr: "127.0.1.65", as: 65065, routes: []peers.Announce{
		{Prefix: pfx("203.0.113.0/24"), NextHop: adr("192.0.2.65")},
		{Prefix: pfx("2001:db8:650::/48"), NextHop: adr("2001:db8:ff::65")},
	}}
	b := &member{name: "bird-b", start: peers.StartBIRD, addr: "127.0.1.66", as: 65066, routes: []peers.Announce{
		{Prefix: pfx("203.0.113.0/24"), NextHop: adr("192.0.2.66"), ASPathPrepend: []uint32{64512}},
		{Prefix: pfx("2001:db8:650::/48"), NextHop: adr("2001:db8:ff::66"), ASPathPrepend: []uint32{64512}},
	}}
	x := &member{name: "bird-x", start: peers.StartBIRD, addr: "127.0.1.67", as: 65067}
	ms := []*member{a, b, x}
	cfg := strings.Replace(configFor(ms), "name = \"bird-x\"\n", "name = \"bird-x\"\nadd_path = \"send\"\n", 1) + fmt.Sprintf(`
[[bmp]]
address = "127.0.0.1:%d"
route_monitoring = ["adj-rib-out"]
`, bmpPort)
	rs := startRouteServer(t, cfg)
	for _, m := range ms {
		m.peer = m.start(t, peers.Config{Dir: t.TempDir(), LocalAddr: adr(m.addr), LocalAS: m.as, PeerAddr: adr("127.0.0.1"),
			PeerPort: rs.port, PeerAS: 65000, Announce: m.routes, AddPathRx: m == x})
	}
	waitFor(t, "bird-x holds both paths", 60*time.Second, holdsPaths(x, map[netip.Prefix][]uint32{
		pfx("203.0.113.0/24"): {65065, 65066}, pfx("2001:db8:650::/48"): {65065, 65066}}))
	want := []string{
		`127.0.1.66 out 2001:db8:650::/48 [65065] nh 2001:db8:ff::65 comms "" lcomms ""`,
		`127.0.1.66 out 203.0.113.0/24 [65065] nh 192.0.2.65 comms "" lcomms ""`,
		`127.0.1.67 out 2001:db8:650::/48 [65065] nh 2001:db8:ff::65 comms "" lcomms ""`,
		`127.0.1.67 out 203.0.113.0/24 [65065] nh 192.0.2.65 comms "" lcomms ""`,
	}
	waitFor(t, "Adj-RIB-Out at pmbmpd", 60*time.Second, func() (bool, string) {
		got := col.Records()
		var r []string
		for _, s := range bmpRoutes(got) {
			if !strings.HasPrefix(s, "127.0.1.65 ") { // A gets B's path: not what this test is about
				r = append(r, s)
			}
		}
		return slices.Equal(r, want), fmt.Sprintf("%d records; routes:\n%s", len(got), strings.Join(r, "\n"))
	})
}
