package e2e

import (
	"context"
	"fmt"
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
	a := &member{name: "bird-a", start: peers.StartBIRD, addr: "127.0.1.61", as: 65061, routes: []peers.Announce{
		{Prefix: pfx("203.0.113.0/24"), NextHop: adr("192.0.2.61")},
		{Prefix: pfx("2001:db8:600::/48"), NextHop: adr("2001:db8:ff::61")},
	}}
	b := &member{name: "bird-b", start: peers.StartBIRD, addr: "127.0.1.62", as: 65062, routes: []peers.Announce{
		{Prefix: pfx("203.0.113.0/24"), NextHop: adr("192.0.2.62"), ASPathPrepend: []uint32{64512}},
		{Prefix: pfx("2001:db8:600::/48"), NextHop: adr("2001:db8:ff::62"), ASPathPrepend: []uint32{64512}},
	}}
	x := &member{name: "bird-x", start: peers.StartBIRD, addr: "127.0.1.63", as: 65063}
	n := &member{name: "bird-n", start: peers.StartBIRD, addr: "127.0.1.64", as: 65064}
	ms := []*member{a, b, x, n}
	cfg := strings.Replace(configFor(ms), "name = \"bird-x\"\n", "name = \"bird-x\"\nadd_path = \"send\"\nadd_path_limit = 4\n", 1)
	rs := startRouteServer(t, cfg)
	for _, m := range ms {
		m.peer = m.start(t, peers.Config{Dir: t.TempDir(), LocalAddr: adr(m.addr), LocalAS: m.as, PeerAddr: adr("127.0.0.1"),
			PeerPort: rs.port, PeerAS: 65000, Announce: m.routes, AddPathRx: m == x})
	}
	// paths returns the first AS of every path m holds, by prefix.
	paths := func(m *member) (map[netip.Prefix][]uint32, string) {
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
	v4, v6 := pfx("203.0.113.0/24"), pfx("2001:db8:600::/48")
	want := func(m *member, w map[netip.Prefix][]uint32) func() (bool, string) {
		return func() (bool, string) {
			got, s := paths(m)
			for p, as := range w {
				if !slices.Equal(got[p], as) {
					return false, s
				}
			}
			return true, s
		}
	}
	waitFor(t, "bird-x holds both paths", 60*time.Second, want(x, map[netip.Prefix][]uint32{v4: {65061, 65062}, v6: {65061, 65062}}))
	waitFor(t, "bird-n holds the best path only", 30*time.Second, want(n, map[netip.Prefix][]uint32{v4: {65061}, v6: {65061}}))

	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := a.peer.WithdrawRoutes(ctx, []netip.Prefix{v4}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "bird-x holds B's path alone", 30*time.Second, want(x, map[netip.Prefix][]uint32{v4: {65062}, v6: {65061, 65062}}))
	waitFor(t, "bird-n holds B's path", 30*time.Second, want(n, map[netip.Prefix][]uint32{v4: {65062}}))
}
