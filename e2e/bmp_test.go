package e2e

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ixrs/ixrs/internal/peers"
)

// bmpRoutes returns "peer table prefix [path] nh comms lcomms" for the routes pmbmpd holds after
// applying its log in order (withdrawals and peer downs remove).
func bmpRoutes(rs []peers.BMPRecord) []string {
	tab := map[string]string{}
	for _, r := range rs {
		switch r.Type {
		case "route_monitor":
			table := "pre"
			if r.IsPost == 1 {
				table = "post"
			}
			if r.IsOut == 1 {
				table = "out"
			}
			key := r.PeerIP + " " + table + " " + r.Prefix
			if r.LogType == "withdraw" || r.LogType == "delete" {
				delete(tab, key)
			} else {
				tab[key] = fmt.Sprintf("%s [%s] nh %s comms %q lcomms %q", key, r.ASPath, r.NextHop, r.Comms, r.LComms)
			}
		case "peer_down":
			for k := range tab {
				if strings.HasPrefix(k, r.PeerIP+" ") {
					delete(tab, k)
				}
			}
		}
	}
	var out []string
	for _, v := range tab {
		out = append(out, v)
	}
	slices.Sort(out)
	return out
}

// TestBMP: the routeserver binary exports to a real pmacct pmbmpd: peer up for each BIRD member,
// every route they announced pre- and post-policy with its attributes, the filtered one (a /25,
// longer than the default limit) pre-policy only; a member stopping gives a peer down.
func TestBMP(t *testing.T) {
	peers.Require(t, "bird", "birdc", "pmbmpd")
	bmpPort := peers.FreePort(t, adr("127.0.0.1"))
	col := peers.StartPmbmpd(t, t.TempDir(), bmpPort)
	ms := []*member{
		{name: "bird", start: peers.StartBIRD, addr: "127.0.1.2", as: 65001, routes: []peers.Announce{
			{Prefix: pfx("198.51.100.0/24"), NextHop: adr("192.0.2.2"), Communities: []string{"65001:100"}, LargeCommunities: []string{"65001:1:1"}},
			{Prefix: pfx("203.0.113.128/25"), NextHop: adr("192.0.2.2")}, // filtered: longer than /24
			{Prefix: pfx("2001:db8:100::/48"), NextHop: adr("2001:db8:ff::2")},
		}},
		{name: "bird-2octet", start: peers.StartBIRD, addr: "127.0.1.7", as: 65007, noAS4: true, routes: []peers.Announce{
			{Prefix: pfx("198.51.107.0/24"), NextHop: adr("192.0.2.7"), ASPathPrepend: []uint32{64512}},
		}},
	}
	cfg := configFor(ms) + fmt.Sprintf(`
[lookingglass]
listen = ""

[[bmp]]
address = "127.0.0.1:%d"
route_monitoring = ["pre-policy", "post-policy"]
stats_interval = "1s"
`, bmpPort)
	rs := startRouteServer(t, cfg)
	startMembers(t, rs, ms)

	want := []string{
		`127.0.1.2 post 198.51.100.0/24 [65001] nh 192.0.2.2 comms "65001:100" lcomms "65001:1:1"`,
		`127.0.1.2 post 2001:db8:100::/48 [65001] nh 2001:db8:ff::2 comms "" lcomms ""`,
		`127.0.1.2 pre 198.51.100.0/24 [65001] nh 192.0.2.2 comms "65001:100" lcomms "65001:1:1"`,
		`127.0.1.2 pre 2001:db8:100::/48 [65001] nh 2001:db8:ff::2 comms "" lcomms ""`,
		`127.0.1.2 pre 203.0.113.128/25 [65001] nh 192.0.2.2 comms "" lcomms ""`,
		`127.0.1.7 post 198.51.107.0/24 [65007 64512] nh 192.0.2.7 comms "" lcomms ""`,
		`127.0.1.7 pre 198.51.107.0/24 [65007 64512] nh 192.0.2.7 comms "" lcomms ""`,
	}
	var got []peers.BMPRecord
	waitFor(t, "BMP table at pmbmpd", 60*time.Second, func() (bool, string) {
		got = col.Records()
		r := bmpRoutes(got)
		return slices.Equal(r, want), fmt.Sprintf("%d records; routes:\n%s", len(got), strings.Join(r, "\n"))
	})
	ups := map[string]uint32{}
	for _, r := range got {
		switch r.Type {
		case "peer_up":
			ups[r.PeerIP] = r.PeerASN
		case "route_monitor":
			// Post-policy, a filtered route is at most withdrawn (RFC 7854 §5: the post-policy
			// table is what policy accepted).
			if r.Prefix == "203.0.113.128/25" && r.IsPost == 1 && r.LogType != "withdraw" {
				t.Errorf("filtered route sent post-policy: %+v", r)
			}
		}
	}
	if ups["127.0.1.2"] != 65001 || ups["127.0.1.7"] != 65007 {
		t.Errorf("peer ups: %v", ups)
	}

	// A member goes away: its peer down reaches the collector and its routes leave the tables.
	if err := ms[1].peer.Stop(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "peer down at pmbmpd", 60*time.Second, func() (bool, string) {
		got = col.Records()
		for _, r := range got {
			if r.Type == "peer_down" && r.PeerIP == "127.0.1.7" {
				return true, ""
			}
		}
		return false, strings.Join(bmpRoutes(got), "\n")
	})
}
