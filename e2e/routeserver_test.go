// Package e2e runs the routeserver binary with real BGP daemons from Debian's packages as members, all
// on loopback, each member from its own 127.0.1.x address.
package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/ixrs/ixrs/internal/peers"
)

var binary string // the routeserver binary, built once by TestMain

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "ixrs-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "routeserver")
	out, err := exec.Command("go", "build", "-o", binary, "../cmd/routeserver").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// routeServer is a running routeserver process.
type routeServer struct {
	cmd    *exec.Cmd
	log    string
	port   int
	lgPort int // the looking glass's port when startRouteServer chose it (0: the test's config sets it)
	done   chan struct{}
}

// startRouteServer writes cfg (with %PORT% replaced by a free port) and runs the binary on it until the
// test ends.
func startRouteServer(t *testing.T, cfg string) *routeServer {
	t.Helper()
	dir := t.TempDir()
	port := peers.FreePort(t, netip.MustParseAddr("127.0.0.1"))
	cfg = strings.ReplaceAll(cfg, "%PORT%", fmt.Sprint(port))
	lgPort := 0
	if !strings.Contains(cfg, "[lookingglass]") {
		// The looking glass's default listener is 127.0.0.1:8080: give each route server its own port,
		// so that tests never compete for one.
		lgPort = peers.FreePort(t, netip.MustParseAddr("127.0.0.1"))
		cfg += fmt.Sprintf("\n[lookingglass]\nlisten = \"127.0.0.1:%d\"\n", lgPort)
	}
	path := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	rs := &routeServer{log: filepath.Join(dir, "routeserver.log"), port: port, lgPort: lgPort, done: make(chan struct{})}
	logf, err := os.Create(rs.log)
	if err != nil {
		t.Fatal(err)
	}
	rs.cmd = exec.Command(binary, "-config", path, "-log-level", "debug")
	rs.cmd.Stdout, rs.cmd.Stderr = logf, logf
	rs.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := rs.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { rs.cmd.Wait(); logf.Close(); close(rs.done) }()
	t.Cleanup(func() {
		rs.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-rs.done:
		case <-time.After(10 * time.Second):
			rs.cmd.Process.Kill()
			<-rs.done
		}
		if t.Failed() {
			b, _ := os.ReadFile(rs.log)
			lines := strings.Split(string(b), "\n")
			if len(lines) > 80 {
				lines = lines[len(lines)-80:]
			}
			t.Logf("routeserver log (last lines):\n%s", strings.Join(lines, "\n"))
		}
	})
	return rs
}

func (rs *routeServer) logContains(s string) bool {
	b, _ := os.ReadFile(rs.log)
	return bytes.Contains(b, []byte(s))
}

type member struct {
	name   string
	start  func(testing.TB, peers.Config) peers.Peer
	addr   string
	as     uint32
	noAS4  bool
	med0   bool // FRR sends MED 0 for the networks it originates without one
	routes []peers.Announce
	peer   peers.Peer
}

func pfx(s string) netip.Prefix { return netip.MustParsePrefix(s) }
func adr(s string) netip.Addr   { return netip.MustParseAddr(s) }

var addrCmp = cmpopts.EquateComparable(netip.Prefix{}, netip.Addr{})

// members returns the test IXP: BIRD, FRR, GoBGP (4-octet AS) and a BIRD without the four-octet AS
// capability. Two of them announce the same prefix with different paths, so best-path selection runs.
func members() []*member {
	return []*member{
		{name: "bird", start: peers.StartBIRD, addr: "127.0.1.2", as: 65001, routes: []peers.Announce{
			{Prefix: pfx("198.51.100.0/24"), NextHop: adr("192.0.2.2"), MED: 10, HasMED: true,
				Communities: []string{"65001:100"}, LargeCommunities: []string{"65001:1:1"}},
			{Prefix: pfx("203.0.113.0/24"), NextHop: adr("192.0.2.2"), ASPathPrepend: []uint32{64512}},
			{Prefix: pfx("2001:db8:100::/48"), NextHop: adr("2001:db8:ff::2"), Communities: []string{"65001:6"}},
		}},
		{name: "frr", start: peers.StartFRR, addr: "127.0.1.4", as: 65003, med0: true, routes: []peers.Announce{
			{Prefix: pfx("198.51.103.0/24"), NextHop: adr("192.0.2.4"), MED: 30, HasMED: true, LargeCommunities: []string{"65003:3:3"}},
			{Prefix: pfx("203.0.113.0/24"), NextHop: adr("192.0.2.4")}, // shorter path than BIRD's: the best
			{Prefix: pfx("2001:db8:300::/48"), NextHop: adr("2001:db8:ff::4")},
		}},
		{name: "gobgp", start: peers.StartGoBGP, addr: "127.0.1.3", as: 4200000002, routes: []peers.Announce{
			{Prefix: pfx("198.51.102.0/24"), NextHop: adr("192.0.2.3"), Communities: []string{"64999:1", "64999:2"}},
			{Prefix: pfx("2001:db8:200::/48"), NextHop: adr("2001:db8:ff::3"), LargeCommunities: []string{"4200000002:7:7"}},
		}},
		{name: "bird-2octet", start: peers.StartBIRD, addr: "127.0.1.7", as: 65007, noAS4: true, routes: []peers.Announce{
			{Prefix: pfx("198.51.107.0/24"), NextHop: adr("192.0.2.7"), MED: 70, HasMED: true},
		}},
	}
}

func configFor(ms []*member) string {
	var b strings.Builder
	b.WriteString(`[server]
asn = 65000
router_id = "10.0.0.1"
listen = ["127.0.0.1:%PORT%"]
peering_lans = ["127.0.0.0/8", "192.0.2.0/24", "2001:db8:ff::/64"]
hold_time = 90
connect_retry = "2s"

[defaults]
# Members announce documentation-range next hops (some daemons refuse loopback ones from a neighbor), so
# the next-hop check cannot require the session address here; they must still lie in the peering LANs.
next_hop = "any"
rpki = "off"
irr = "off"
# The test IXP uses private ASNs and documentation prefixes, which the default chain rejects as bogons.
reject_bogon_asns = false
reject_bogon_prefixes = false
`)
	for _, m := range ms {
		fmt.Fprintf(&b, "\n[[member]]\nname = %q\nasn = %d\nneighbors = [%q]\npassive = true\n", m.name, m.as, m.addr)
	}
	return b.String()
}

func startMembers(t *testing.T, rs *routeServer, ms []*member) {
	for _, m := range ms {
		m.peer = m.start(t, peers.Config{Dir: t.TempDir(), LocalAddr: adr(m.addr), LocalAS: m.as, PeerAddr: adr("127.0.0.1"),
			PeerPort: rs.port, PeerAS: 65000, NoFourOctetAS: m.noAS4, Announce: m.routes})
	}
}

// asReceived is the route as another member must see it through a transparent route server.
func (m *member) asReceived(a peers.Announce) peers.Route {
	return peers.Route{Prefix: a.Prefix, NextHop: a.NextHop, ASPath: append([]uint32{m.as}, a.ASPathPrepend...),
		MED: a.MED, HasMED: a.HasMED || m.med0, Communities: a.Communities, LargeCommunities: a.LargeCommunities}
}

// expected computes what member target should hold: per prefix the best route (shortest AS path, then
// lowest ORIGIN, MED, router ID...) among the other members' routes.
func expected(ms []*member, target *member, skip map[string]bool) map[netip.Prefix]peers.Route {
	out := map[netip.Prefix]peers.Route{}
	for _, m := range ms {
		if m == target || skip[m.name] {
			continue
		}
		for _, a := range m.routes {
			r := m.asReceived(a)
			if old, ok := out[a.Prefix]; ok && len(old.ASPath) <= len(r.ASPath) {
				continue
			}
			out[a.Prefix] = r
		}
	}
	return out
}

func received(ctx context.Context, p peers.Peer) (map[netip.Prefix]peers.Route, error) {
	rs, err := p.Received(ctx)
	out := map[netip.Prefix]peers.Route{}
	for _, r := range rs {
		out[r.Prefix] = r
	}
	return out, err
}

// waitTables waits until every member holds exactly its expected table. Members in gone are down: their
// routes must have disappeared everywhere. Members in unchecked are up but their own table is not read
// (a frozen daemon cannot answer).
func waitTables(t *testing.T, ms []*member, gone, unchecked map[string]bool, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for _, m := range ms {
		if gone[m.name] || unchecked[m.name] {
			continue
		}
		want := expected(ms, m, gone)
		var got map[netip.Prefix]peers.Route
		var err error
		for {
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			got, err = received(ctx, m.peer)
			cancel()
			if err == nil && cmp.Equal(want, got, addrCmp) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: table not as expected after %s (err %v); -want +got:\n%s", m.name, timeout, err, cmp.Diff(want, got, addrCmp))
			}
			time.Sleep(300 * time.Millisecond)
		}
	}
}

// TestRouteServer: every member receives the best of the others' routes, IPv4 and IPv6, with AS path,
// next hop, MED and communities as announced; withdrawals and session loss propagate; a member that stops
// reading does not hold up the others.
func TestRouteServer(t *testing.T) {
	peers.Require(t, "bird", "birdc", "/usr/lib/frr/bgpd", "vtysh", "gobgpd", "gobgp")
	ms := members()
	rs := startRouteServer(t, configFor(ms))
	startMembers(t, rs, ms)
	waitTables(t, ms, nil, nil, 90*time.Second)

	// A withdrawal reaches everyone; the next-best route for a prefix two members announced takes over.
	frr := ms[1]
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := frr.peer.WithdrawRoutes(ctx, []netip.Prefix{pfx("203.0.113.0/24"), pfx("2001:db8:300::/48")}); err != nil {
		t.Fatal(err)
	}
	frr.routes = slices.DeleteFunc(frr.routes, func(a peers.Announce) bool {
		return a.Prefix == pfx("203.0.113.0/24") || a.Prefix == pfx("2001:db8:300::/48")
	})
	waitTables(t, ms, nil, nil, 60*time.Second)

	// A member that stops reading (SIGSTOP) does not delay the others: a new route still reaches them.
	gobgp := ms[2]
	if err := gobgp.peer.Pause(); err != nil {
		t.Fatal(err)
	}
	newRoute := peers.Announce{Prefix: pfx("198.51.111.0/24"), NextHop: adr("192.0.2.2"), Communities: []string{"65001:111"}}
	bird := ms[0]
	if err := bird.peer.AnnounceRoutes(ctx, []peers.Announce{newRoute}); err != nil {
		t.Fatal(err)
	}
	bird.routes = append(bird.routes, newRoute)
	waitTables(t, ms, nil, map[string]bool{"gobgp": true}, 60*time.Second)
	if err := gobgp.peer.Resume(); err != nil {
		t.Fatal(err)
	}
	waitTables(t, ms, nil, nil, 60*time.Second)

	// Session loss: the member's routes are withdrawn from everyone.
	if err := frr.peer.Stop(); err != nil {
		t.Fatal(err)
	}
	waitTables(t, ms, map[string]bool{"frr": true}, nil, 60*time.Second)
}
