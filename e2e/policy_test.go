package e2e

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ixrs/ixrs/internal/peers"
)

// The policy tests use real address space (11.0.0.0/8, on loopback only) so that the default bogon
// check can run; member ASNs are private, so the bogon-ASN check is off.
const policyServer = `[server]
asn = 65000
router_id = "10.0.0.1"
listen = ["127.0.0.1:%%PORT%%"]
peering_lans = ["127.0.0.0/8", "192.0.2.0/24", "2001:db8:ff::/64"]
connect_retry = "2s"

[rpki]
vrp_file = %q

[defaults]
next_hop = "any"
irr = "off"
reject_bogon_asns = false
`

func memberConf(m *member, extra string) string {
	return fmt.Sprintf("\n[[member]]\nname = %q\nasn = %d\nneighbors = [%q]\npassive = true\n%s", m.name, m.as, m.addr, extra)
}

// waitFor polls cond until it holds or timeout passes.
func waitFor(t *testing.T, what string, timeout time.Duration, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not reached after %s; last state:\n%s", what, timeout, state)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

func receivedNow(t *testing.T, m *member) map[netip.Prefix]peers.Route {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	got, err := received(ctx, m.peer)
	if err != nil {
		t.Logf("%s: %v", m.name, err)
	}
	return got
}

func dump(rs map[netip.Prefix]peers.Route) string {
	var lines []string
	for _, r := range rs {
		lines = append(lines, r.String())
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

// TestPolicy: control communities steer exports (0:P, RS:101:0), filtered routes (bogon, too long,
// next hop outside the peering LANs, RPKI invalid) reach nobody, informational RPKI communities
// are added, and a changed IRR file applied with SIGHUP re-evaluates routes without resetting the
// session; a broken IRR file is refused.
func TestPolicy(t *testing.T) {
	peers.Require(t, "bird", "birdc", "/usr/lib/frr/bgpd", "vtysh", "gobgpd", "gobgp")
	dir := t.TempDir()
	vrps := filepath.Join(dir, "vrps.json")
	writeTestFile(t, vrps, `{"roas": [
  {"prefix": "11.1.5.0/24", "maxLength": 24, "asn": 64999},
  {"prefix": "11.1.1.0/24", "maxLength": 24, "asn": 65011}]}`)
	irrPrefixes := filepath.Join(dir, "d-prefixes.json")
	irrASNs := filepath.Join(dir, "d-asns.txt")
	writeTestFile(t, irrPrefixes, `{"NN": [{"prefix": "11.4.1.0/24", "exact": true}]}`)
	writeTestFile(t, irrASNs, "AS65014\n")

	nh := func(i int) netip.Addr { return netip.AddrFrom4([4]byte{192, 0, 2, byte(i)}) }
	a := &member{name: "bird-a", start: peers.StartBIRD, addr: "127.0.1.12", as: 65011, routes: []peers.Announce{
		{Prefix: pfx("11.1.1.0/24"), NextHop: nh(12), Communities: []string{"0:65013"}},
		{Prefix: pfx("11.1.2.0/24"), NextHop: nh(12), LargeCommunities: []string{"65000:101:0"}},
		{Prefix: pfx("10.1.0.0/16"), NextHop: nh(12)},                                   // bogon
		{Prefix: pfx("11.1.9.128/25"), NextHop: nh(12)},                                 // too long
		{Prefix: pfx("11.1.3.0/24"), NextHop: adr("198.51.100.12")},                     // next hop outside the peering LANs
		{Prefix: pfx("11.1.5.0/24"), NextHop: nh(12)},                                   // RPKI invalid
		{Prefix: pfx("11.1.6.0/24"), NextHop: nh(12), Communities: []string{"65535:0"}}, // graceful shutdown: still accepted
	}}
	b := &member{name: "frr-b", start: peers.StartFRR, addr: "127.0.1.13", as: 65013}
	c := &member{name: "gobgp-c", start: peers.StartGoBGP, addr: "127.0.1.15", as: 65015}
	d := &member{name: "bird-d", start: peers.StartBIRD, addr: "127.0.1.14", as: 65014, routes: []peers.Announce{
		{Prefix: pfx("11.4.1.0/24"), NextHop: nh(14)},
		{Prefix: pfx("11.4.2.0/24"), NextHop: nh(14)},
	}}
	ms := []*member{a, b, c, d}
	cfg := fmt.Sprintf(policyServer, vrps)
	for _, m := range ms[:3] {
		cfg += memberConf(m, "")
	}
	cfg += memberConf(d, fmt.Sprintf("irr = \"reject\"\nirr_prefix_file = %q\nirr_asn_file = %q\n", irrPrefixes, irrASNs))
	rs := startRouteServer(t, cfg)
	startMembers(t, rs, ms)

	has := func(m *member, p string) (peers.Route, bool) {
		r, ok := receivedNow(t, m)[pfx(p)]
		return r, ok
	}
	// Every receiver's view once settled: the accepted routes of the others, nothing filtered.
	waitFor(t, "tables", 90*time.Second, func() (bool, string) {
		gb, gc, gd := receivedNow(t, b), receivedNow(t, c), receivedNow(t, d)
		_, bHas1 := gb[pfx("11.1.1.0/24")]
		ok := !bHas1 && len(gb) == 3 && len(gc) == 4 && len(gd) == 3
		return ok, fmt.Sprintf("frr-b:\n%s\ngobgp-c:\n%s\nbird-d:\n%s", dump(gb), dump(gc), dump(gd))
	})
	for _, m := range []*member{b, c, d} {
		got := receivedNow(t, m)
		for _, p := range []string{"10.1.0.0/16", "11.1.9.128/25", "11.1.3.0/24", "11.1.5.0/24", "11.4.2.0/24"} {
			if _, ok := got[pfx(p)]; ok {
				t.Errorf("%s received filtered route %s", m.name, p)
			}
		}
		if r, ok := got[pfx("11.1.2.0/24")]; !ok || !slices.Equal(r.ASPath, []uint32{65011, 65011}) {
			t.Errorf("%s: 11.1.2.0/24 = %v, want the path prepended once (65000:101:0)", m.name, r)
		} else if slices.Contains(r.LargeCommunities, "65000:101:0") || !slices.Contains(r.LargeCommunities, "65000:1000:2") {
			t.Errorf("%s: 11.1.2.0/24 large communities %v: want the control community stripped and RPKI not-found added", m.name, r.LargeCommunities)
		}
	}
	if r, ok := has(c, "11.1.1.0/24"); !ok || !slices.Contains(r.LargeCommunities, "65000:1000:1") || len(r.Communities) != 0 {
		t.Errorf("gobgp-c: 11.1.1.0/24 = %v, want RPKI valid and 0:65013 stripped", r)
	}
	if _, ok := has(d, "11.1.1.0/24"); !ok {
		t.Errorf("bird-d lacks 11.1.1.0/24 (tagged not to AS65013 only)")
	}
	if rs.logContains("session down") {
		t.Fatalf("a session went down before the IRR change")
	}

	// A broken IRR file is refused; the data in force stays.
	writeTestFile(t, irrPrefixes, `{"NN": [{"prefix": "11.4.1.0/24", "exact": tru`)
	rs.cmd.Process.Signal(syscall.SIGHUP)
	waitFor(t, "broken IRR file refused", 30*time.Second, func() (bool, string) { return rs.logContains("IRR data refused"), "" })
	if _, ok := has(c, "11.4.1.0/24"); !ok {
		t.Errorf("a broken IRR file changed the routes in force")
	}
	// The fixed file lets 11.4.2.0/24 through, without a session reset.
	writeTestFile(t, irrPrefixes, `{"NN": [{"prefix": "11.4.0.0/16", "exact": false, "greater-equal": 24, "less-equal": 24}]}`)
	rs.cmd.Process.Signal(syscall.SIGHUP)
	waitFor(t, "IRR change applied", 60*time.Second, func() (bool, string) {
		gb, gc := receivedNow(t, b), receivedNow(t, c)
		_, okb := gb[pfx("11.4.2.0/24")]
		_, okc := gc[pfx("11.4.2.0/24")]
		return okb && okc, dump(gc)
	})
	if rs.logContains("session down") {
		t.Errorf("the IRR reload reset a session")
	}

	// New VRPs: the RPKI-invalid route becomes valid and reaches the others, tagged RS:1000:1.
	writeTestFile(t, vrps, `{"roas": [
  {"prefix": "11.1.5.0/24", "maxLength": 24, "asn": 65011},
  {"prefix": "11.1.1.0/24", "maxLength": 24, "asn": 65011}]}`)
	rs.cmd.Process.Signal(syscall.SIGHUP)
	waitFor(t, "VRP change applied", 60*time.Second, func() (bool, string) {
		r, ok := has(c, "11.1.5.0/24")
		return ok && slices.Contains(r.LargeCommunities, "65000:1000:1"), r.String()
	})
	if rs.logContains("session down") {
		t.Errorf("the VRP reload reset a session")
	}
}

// TestMaxPrefix: a member over its limit is closed with Cease/1, its routes leave everyone, and it
// comes back after max_prefix_restart_after.
func TestMaxPrefix(t *testing.T) {
	peers.Require(t, "bird", "birdc")
	nh := adr("192.0.2.21")
	m := &member{name: "bird-m", start: peers.StartBIRD, addr: "127.0.1.21", as: 65021, routes: []peers.Announce{
		{Prefix: pfx("11.2.1.0/24"), NextHop: nh}, {Prefix: pfx("11.2.2.0/24"), NextHop: nh},
	}}
	r := &member{name: "bird-r", start: peers.StartBIRD, addr: "127.0.1.22", as: 65022}
	dir := t.TempDir()
	vrps := filepath.Join(dir, "vrps.json")
	writeTestFile(t, vrps, `{"roas": []}`)
	cfg := fmt.Sprintf(policyServer, vrps) + memberConf(m, `max_prefix_ipv4 = 3
max_prefix_action = "restart"
max_prefix_restart_after = "3s"
`) + memberConf(r, "")
	rs := startRouteServer(t, cfg)
	startMembers(t, rs, []*member{m, r})
	count := func(want int) func() (bool, string) {
		return func() (bool, string) {
			got := receivedNow(t, r)
			return len(got) == want, dump(got)
		}
	}
	waitFor(t, "two routes", 60*time.Second, count(2))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	extra := []peers.Announce{{Prefix: pfx("11.2.3.0/24"), NextHop: nh}, {Prefix: pfx("11.2.4.0/24"), NextHop: nh}}
	if err := m.peer.AnnounceRoutes(ctx, extra); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "session closed over the limit", 30*time.Second, func() (bool, string) {
		return rs.logContains("max-prefix limit exceeded"), ""
	})
	waitFor(t, "routes withdrawn from the others", 30*time.Second, count(0))
	if err := m.peer.WithdrawRoutes(ctx, []netip.Prefix{pfx("11.2.3.0/24"), pfx("11.2.4.0/24")}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "member back after the restart interval", 60*time.Second, count(2))

	// Raising the limit on reload applies to the running session: no reset, and the routes that
	// were too many now get through.
	downs := rs.logCount("session down")
	path := rs.cmd.Args[2] // -config PATH
	old, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	writeTestFile(t, path, strings.Replace(string(old), "max_prefix_ipv4 = 3", "max_prefix_ipv4 = 10", 1))
	rs.cmd.Process.Signal(syscall.SIGHUP)
	waitFor(t, "reload", 30*time.Second, func() (bool, string) { return rs.logContains("policy_changed=1"), "" })
	if err := m.peer.AnnounceRoutes(ctx, extra); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "four routes under the raised limit", 60*time.Second, count(4))
	if n := rs.logCount("session down"); n != downs {
		t.Errorf("raising the limit reset a session (%d session downs, %d before)", n, downs)
	}
}

func (rs *routeServer) logCount(s string) int {
	b, _ := os.ReadFile(rs.log)
	return strings.Count(string(b), s)
}

func writeTestFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// maxPrefixSetup starts a BIRD member m with two routes and max-prefix limit 3 (action given), and a
// BIRD member r that receives them, and waits until r has both.
func maxPrefixSetup(t *testing.T, action string) (rs *routeServer, m, r *member, count func(...string) func() (bool, string)) {
	peers.Require(t, "bird", "birdc")
	nh := adr("192.0.2.21")
	m = &member{name: "bird-m", start: peers.StartBIRD, addr: "127.0.1.21", as: 65021, routes: []peers.Announce{
		{Prefix: pfx("11.2.1.0/24"), NextHop: nh}, {Prefix: pfx("11.2.2.0/24"), NextHop: nh},
	}}
	r = &member{name: "bird-r", start: peers.StartBIRD, addr: "127.0.1.22", as: 65022}
	vrps := filepath.Join(t.TempDir(), "vrps.json")
	writeTestFile(t, vrps, `{"roas": []}`)
	cfg := fmt.Sprintf(policyServer, vrps) + memberConf(m, fmt.Sprintf("max_prefix_ipv4 = 3\nmax_prefix_action = %q\n", action)) +
		memberConf(r, "")
	rs = startRouteServer(t, cfg)
	startMembers(t, rs, []*member{m, r})
	// count(p...) holds when r has exactly the prefixes p.
	count = func(want ...string) func() (bool, string) {
		return func() (bool, string) {
			got := receivedNow(t, r)
			if len(got) != len(want) {
				return false, dump(got)
			}
			for _, p := range want {
				if _, ok := got[pfx(p)]; !ok {
					return false, dump(got)
				}
			}
			return true, dump(got)
		}
	}
	waitFor(t, "two routes", 60*time.Second, count("11.2.1.0/24", "11.2.2.0/24"))
	return rs, m, r, count
}

// TestMaxPrefixShutdown: over the limit with action shutdown, the session is closed and stays
// down — no restart timer brings it back — until a reload changes the member's limit.
func TestMaxPrefixShutdown(t *testing.T) {
	rs, m, _, count := maxPrefixSetup(t, "shutdown")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	nh := adr("192.0.2.21")
	if err := m.peer.AnnounceRoutes(ctx, []peers.Announce{{Prefix: pfx("11.2.3.0/24"), NextHop: nh}, {Prefix: pfx("11.2.4.0/24"), NextHop: nh}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "session shut down over the limit", 30*time.Second, func() (bool, string) {
		return rs.logContains("max-prefix: session shut down until an operator clears it"), ""
	})
	waitFor(t, "routes withdrawn from the others", 30*time.Second, count())
	// BIRD retries within seconds (the harness's timers); the route server must refuse it. Watch
	// for twice the time the restart test needs to come back.
	ups := rs.logCount("session up")
	time.Sleep(8 * time.Second)
	if n := rs.logCount("session up"); n != ups {
		t.Fatalf("the shut-down session came back without an operator (%d session ups, %d before)", n, ups)
	}
	if ok, got := count()(); !ok {
		t.Fatalf("the others got routes from the shut-down member:\n%s", got)
	}

	// The operator raises the limit: the reload brings the session back, with all four routes.
	path := rs.cmd.Args[2] // -config PATH
	old, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	writeTestFile(t, path, strings.Replace(string(old), "max_prefix_ipv4 = 3", "max_prefix_ipv4 = 10", 1))
	rs.cmd.Process.Signal(syscall.SIGHUP)
	waitFor(t, "reload", 30*time.Second, func() (bool, string) { return rs.logContains("policy_changed=1"), "" })
	waitFor(t, "member back with four routes", 90*time.Second, count("11.2.1.0/24", "11.2.2.0/24", "11.2.3.0/24", "11.2.4.0/24"))
}

// TestMaxPrefixBlock: over the limit with action block, the session stays up and the routes beyond
// the limit are ignored; once the member withdraws enough to be under the limit, the route server
// sends it a ROUTE-REFRESH and the route it had ignored arrives.
func TestMaxPrefixBlock(t *testing.T) {
	rs, m, _, count := maxPrefixSetup(t, "block")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	nh := adr("192.0.2.21")
	downs := rs.logCount("session down")
	if err := m.peer.AnnounceRoutes(ctx, []peers.Announce{{Prefix: pfx("11.2.3.0/24"), NextHop: nh}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "third route", 60*time.Second, count("11.2.1.0/24", "11.2.2.0/24", "11.2.3.0/24"))
	if err := m.peer.AnnounceRoutes(ctx, []peers.Announce{{Prefix: pfx("11.2.4.0/24"), NextHop: nh}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the fourth route blocked", 30*time.Second, func() (bool, string) {
		return rs.logContains("max-prefix limit reached: further routes ignored"), ""
	})
	if ok, got := count("11.2.1.0/24", "11.2.2.0/24", "11.2.3.0/24")(); !ok {
		t.Fatalf("after the blocked route the others have:\n%s", got)
	}
	// Back under the limit: the route server asks for the routes again and 11.2.4.0/24 arrives.
	if err := m.peer.WithdrawRoutes(ctx, []netip.Prefix{pfx("11.2.1.0/24")}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "ROUTE-REFRESH sent", 30*time.Second, func() (bool, string) {
		return rs.logContains("max-prefix: ROUTE-REFRESH sent"), ""
	})
	waitFor(t, "the ignored route after the refresh", 60*time.Second, count("11.2.2.0/24", "11.2.3.0/24", "11.2.4.0/24"))
	if n := rs.logCount("session down"); n != downs {
		t.Errorf("action block reset a session (%d session downs, %d before)", n, downs)
	}
}
