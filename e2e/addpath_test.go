package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ixrs/ixrs/internal/peers"
)

// TestAddPath: a BIRD member with `add paths rx` and add_path = "send" receives every candidate of a
// prefix two other members announce (IPv4 and IPv6), a member without it only the best; when one of
// the two withdraws, the ADD-PATH member keeps the other path alone.
func TestAddPath(t *testing.T) {
	testAddPath(t, peers.StartBIRD, "bird")
}

// TestAddPathFRR is TestAddPath with FRR 8.4 members receiving: FRR advertises ADD-PATH receive for
// every family by default, so the member without add_path = "send" advertises it too and must still
// get the best path only.
func TestAddPathFRR(t *testing.T) {
	testAddPath(t, peers.StartFRR, "frr")
}

func testAddPath(t *testing.T, start func(testing.TB, peers.Config) peers.Peer, name string) {
	a := &member{name: "bird-a", start: peers.StartBIRD, addr: "127.0.1.61", as: 65061, routes: []peers.Announce{
		{Prefix: pfx("203.0.113.0/24"), NextHop: adr("192.0.2.61")},
		{Prefix: pfx("2001:db8:600::/48"), NextHop: adr("2001:db8:ff::61")},
	}}
	b := &member{name: "bird-b", start: peers.StartBIRD, addr: "127.0.1.62", as: 65062, routes: []peers.Announce{
		{Prefix: pfx("203.0.113.0/24"), NextHop: adr("192.0.2.62"), ASPathPrepend: []uint32{64512}},
		{Prefix: pfx("2001:db8:600::/48"), NextHop: adr("2001:db8:ff::62"), ASPathPrepend: []uint32{64512}},
	}}
	x := &member{name: name + "-x", start: start, addr: "127.0.1.63", as: 65063}
	n := &member{name: name + "-n", start: start, addr: "127.0.1.64", as: 65064}
	ms := []*member{a, b, x, n}
	cfg := strings.Replace(configFor(ms), "name = \""+x.name+"\"\n", "name = \""+x.name+"\"\nadd_path = \"send\"\nadd_path_limit = 4\n", 1)
	rs := startRouteServer(t, cfg)
	for _, m := range ms {
		// Both receivers advertise ADD-PATH receive; only x is configured to be sent paths.
		m.peer = m.start(t, peers.Config{Dir: t.TempDir(), LocalAddr: adr(m.addr), LocalAS: m.as, PeerAddr: adr("127.0.0.1"),
			PeerPort: rs.port, PeerAS: 65000, Announce: m.routes, AddPathRx: m == x || m == n})
	}
	v4, v6 := pfx("203.0.113.0/24"), pfx("2001:db8:600::/48")
	waitFor(t, x.name+" holds both paths", 60*time.Second, holdsPaths(x, map[netip.Prefix][]uint32{v4: {65061, 65062}, v6: {65061, 65062}}))
	waitFor(t, n.name+" holds the best path only", 30*time.Second, holdsPaths(n, map[netip.Prefix][]uint32{v4: {65061}, v6: {65061}}))
	// The looking glass's exported view lists what each was sent: x both paths with their
	// identifiers, n the best path without one.
	waitFor(t, "looking glass lists "+x.name+"'s paths", 30*time.Second, lgExported(rs, x, v4, "bird-a#", "bird-b#"))
	waitFor(t, "looking glass lists "+n.name+"'s best path", 30*time.Second, lgExported(rs, n, v4, "bird-a"))

	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := a.peer.WithdrawRoutes(ctx, []netip.Prefix{v4}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, x.name+" holds B's path alone", 30*time.Second, holdsPaths(x, map[netip.Prefix][]uint32{v4: {65062}, v6: {65061, 65062}}))
	waitFor(t, n.name+" holds B's path", 30*time.Second, holdsPaths(n, map[netip.Prefix][]uint32{v4: {65062}}))
}

// lgExported is a waitFor condition: the route server's looking glass lists, in m's exported view,
// routes of prefix p from the members in want, in this order; a name ending in "#" means the route
// has a path identifier, distinct from the others'.
func lgExported(rs *routeServer, m *member, p netip.Prefix, want ...string) func() (bool, string) {
	return func() (bool, string) {
		c := &http.Client{Timeout: 10 * time.Second}
		resp, err := c.Get(fmt.Sprintf("http://127.0.0.1:%d/api/v1/sessions/%s/routes/exported?limit=1000", rs.lgPort, m.addr))
		if err != nil {
			return false, err.Error()
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		if err != nil || resp.StatusCode != http.StatusOK {
			return false, fmt.Sprintf("status %d, %v: %s", resp.StatusCode, err, body)
		}
		var page struct {
			Routes []struct {
				Prefix string `json:"prefix"`
				Member string `json:"member"`
				PathID uint32 `json:"path_id"`
			} `json:"routes"`
		}
		if err := json.Unmarshal(body, &page); err != nil {
			return false, fmt.Sprintf("%v: %s", err, body)
		}
		var got []string
		ids := map[uint32]bool{}
		for _, r := range page.Routes {
			if r.Prefix != p.String() {
				continue
			}
			if r.PathID == 0 {
				got = append(got, r.Member)
				continue
			}
			if ids[r.PathID] {
				return false, fmt.Sprintf("path id %d twice: %s", r.PathID, body)
			}
			ids[r.PathID] = true
			got = append(got, r.Member+"#")
		}
		return slices.Equal(got, want), fmt.Sprintf("%s: %v", p, got)
	}
}

// heldPaths returns the first AS of every path m holds, by prefix, sorted, and m's routes as text.
func heldPaths(m *member) (map[netip.Prefix][]uint32, string) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	rs, err := m.peer.Received(ctx)
	out := map[netip.Prefix][]uint32{}
	var sb strings.Builder
	for _, r := range rs {
		if len(r.ASPath) > 0 {
			out[r.Prefix] = append(out[r.Prefix], r.ASPath[0])
		}
		fmt.Fprintf(&sb, "%s %v via %s\n", r.Prefix, r.ASPath, r.NextHop)
	}
	for _, v := range out {
		slices.Sort(v)
	}
	if err != nil {
		fmt.Fprintf(&sb, "error: %v\n", err)
	}
	return out, sb.String()
}

// holdsPaths is a waitFor condition: m holds exactly the paths w names (first AS of each) for each
// prefix of w.
func holdsPaths(m *member, w map[netip.Prefix][]uint32) func() (bool, string) {
	return func() (bool, string) {
		got, s := heldPaths(m)
		for p, as := range w {
			if !slices.Equal(got[p], as) {
				return false, s
			}
		}
		return true, s
	}
}
