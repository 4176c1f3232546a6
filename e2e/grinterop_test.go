package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ixrs/ixrs/internal/peers"
)

// Graceful restart, long-lived graceful restart and BGP roles with FRR and gobgpd as members (BIRD's
// side is in gr_test.go and llgr_test.go). docs/operations.md lists what is tested with which daemon.

// grConfig is configFor(ms) with a metrics listener on metricsPort, no looking glass, and
// llgr_stale_time for the members in llgr.
func grConfig(ms []*member, metricsPort int, llgr map[string]bool) string {
	cfg := strings.Replace(configFor(ms), "[defaults]",
		fmt.Sprintf("[lookingglass]\nlisten = \"\"\n\n[metrics]\nlisten = \"127.0.0.1:%d\"\n\n[defaults]", metricsPort), 1)
	for _, m := range ms {
		if llgr[m.name] {
			cfg = strings.Replace(cfg, fmt.Sprintf("neighbors = [%q]\n", m.addr),
				fmt.Sprintf("neighbors = [%q]\nllgr_stale_time = \"1h\"\n", m.addr), 1)
		}
	}
	return cfg
}

// updatesSent reads the number of UPDATEs the route server sent to member name from its metrics.
func updatesSent(t *testing.T, metricsPort int, name string) int {
	t.Helper()
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", metricsPort))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`ixrs_messages_sent_total\{[^}]*member="` + regexp.QuoteMeta(name) + `"[^}]*type="update"[^}]*\} (\d+)`)
	sm := re.FindSubmatch(body)
	if sm == nil {
		t.Fatalf("no UPDATE count for %s in the metrics", name)
	}
	n, _ := strconv.Atoi(string(sm[1]))
	return n
}

func holds(t *testing.T, m *member, want map[netip.Prefix]peers.Route) func() (bool, string) {
	return func() (bool, string) {
		got := receivedNow(t, m)
		return cmp.Equal(want, got, addrCmp), cmp.Diff(want, got, addrCmp)
	}
}

// killMember ends m's daemon with SIGKILL: the kernel closes the connection, no NOTIFICATION is sent,
// which is how a router restarting gracefully looks to its neighbor.
func killMember(t *testing.T, m *member) {
	t.Helper()
	if err := syscall.Kill(-m.peer.PID(), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
}

func startMember(t *testing.T, rs *routeServer, m *member, c peers.Config) {
	t.Helper()
	c.Dir, c.LocalAddr, c.LocalAS, c.PeerAddr, c.PeerPort, c.PeerAS, c.Announce = t.TempDir(), adr(m.addr), m.as,
		adr("127.0.0.1"), rs.port, 65000, m.routes
	m.peer = m.start(t, c)
}

// restartGracefully runs the scenario of TestGracefulRestart with restarter's daemon: killed, its
// routes stay at watcher; started again by restart with one route changed and one not announced, its
// End-of-RIB sweeps that one. The watcher gets at most two UPDATEs for all of it.
func restartGracefully(t *testing.T, rs *routeServer, metricsPort int, ms []*member, restarter, watcher *member,
	change peers.Announce, drop netip.Prefix, restart func()) {
	t.Helper()
	full := expected(ms, watcher, nil)
	before := updatesSent(t, metricsPort, watcher.name)
	killMember(t, restarter)
	waitFor(t, "the route server keeps the restarter's routes as stale", 30*time.Second, func() (bool, string) {
		return rs.logContains("its routes kept as stale"), ""
	})
	if got := receivedNow(t, watcher); !cmp.Equal(full, got, addrCmp) {
		t.Fatalf("the watcher lost routes of a member restarting gracefully: %s", cmp.Diff(full, got, addrCmp))
	}
	var routes []peers.Announce
	for _, a := range restarter.routes {
		switch a.Prefix {
		case change.Prefix:
			routes = append(routes, change)
		case drop:
		default:
			routes = append(routes, a)
		}
	}
	restarter.routes = routes
	restart()
	waitFor(t, "the restarter's End-of-RIB sweeps its stale route", 120*time.Second, holds(t, watcher, expected(ms, watcher, nil)))
	waitFor(t, "the sweep logged", 10*time.Second, func() (bool, string) {
		return rs.logContains(`why="End-of-RIB received"`), ""
	})
	if rs.logContains("restarted without forwarding state") {
		t.Errorf("the restarter came back without forwarding state: its stale routes were removed at once")
	}
	n := updatesSent(t, metricsPort, watcher.name) - before
	t.Logf("UPDATEs at the watcher across the restart: %d", n)
	if n > 2 {
		t.Errorf("the watcher got %d UPDATEs for one changed and one withdrawn route across a graceful restart, want at most 2", n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if ok, err := restarter.peer.Established(ctx); !ok || err != nil {
		t.Fatalf("restarter: established %v, %v", ok, err)
	}
}

// TestGracefulRestartFRR: an FRR member with `bgp graceful-restart` (and preserve-fw-state) is killed
// and started again; a watching BIRD member keeps its routes throughout and sees only the difference.
func TestGracefulRestartFRR(t *testing.T) {
	peers.Require(t, "bird", "birdc", "/usr/lib/frr/bgpd", "vtysh")
	metricsPort := peers.FreePort(t, netip.MustParseAddr("127.0.0.1"))
	nh := adr("192.0.2.71")
	restarter := &member{name: "frr", start: peers.StartFRR, addr: "127.0.1.71", as: 65071, med0: true, routes: []peers.Announce{
		{Prefix: pfx("198.51.100.0/24"), NextHop: nh, MED: 1, HasMED: true},
		{Prefix: pfx("198.51.101.0/24"), NextHop: nh, MED: 1, HasMED: true},
		{Prefix: pfx("198.51.102.0/24"), NextHop: nh, MED: 1, HasMED: true},
		{Prefix: pfx("2001:db8:71::/48"), NextHop: adr("2001:db8:ff::71")},
	}}
	watcher := &member{name: "watcher", start: peers.StartBIRD, addr: "127.0.1.72", as: 65072}
	ms := []*member{restarter, watcher}
	rs := startRouteServer(t, grConfig(ms, metricsPort, nil))
	startMember(t, rs, restarter, peers.Config{GracefulRestart: 60})
	startMember(t, rs, watcher, peers.Config{})
	waitTables(t, ms, nil, nil, 90*time.Second)

	restartGracefully(t, rs, metricsPort, ms, restarter, watcher,
		peers.Announce{Prefix: pfx("198.51.101.0/24"), NextHop: nh, MED: 2, HasMED: true}, pfx("198.51.102.0/24"),
		func() { startMember(t, rs, restarter, peers.Config{GracefulRestart: 60}) })
}

// TestGracefulRestartGoBGP: the same with a gobgpd member (graceful-restart and mp-graceful-restart
// on), started again with -r.
func TestGracefulRestartGoBGP(t *testing.T) {
	peers.Require(t, "bird", "birdc", "gobgpd", "gobgp")
	metricsPort := peers.FreePort(t, netip.MustParseAddr("127.0.0.1"))
	nh := adr("192.0.2.73")
	restarter := &member{name: "gobgp", start: peers.StartGoBGP, addr: "127.0.1.73", as: 4200000073, routes: []peers.Announce{
		{Prefix: pfx("198.51.100.0/24"), NextHop: nh, MED: 1, HasMED: true},
		{Prefix: pfx("198.51.101.0/24"), NextHop: nh, MED: 1, HasMED: true},
		{Prefix: pfx("198.51.102.0/24"), NextHop: nh, MED: 1, HasMED: true},
		{Prefix: pfx("2001:db8:73::/48"), NextHop: adr("2001:db8:ff::73")},
	}}
	watcher := &member{name: "watcher", start: peers.StartBIRD, addr: "127.0.1.74", as: 65074}
	ms := []*member{restarter, watcher}
	rs := startRouteServer(t, grConfig(ms, metricsPort, nil))
	startMember(t, rs, restarter, peers.Config{GracefulRestart: 60})
	startMember(t, rs, watcher, peers.Config{})
	waitTables(t, ms, nil, nil, 90*time.Second)

	restartGracefully(t, rs, metricsPort, ms, restarter, watcher,
		peers.Announce{Prefix: pfx("198.51.101.0/24"), NextHop: nh, MED: 2, HasMED: true}, pfx("198.51.102.0/24"),
		func() { startMember(t, rs, restarter, peers.Config{GracefulRestart: 60, GRRecovery: true}) })
}

// TestLongLivedGracefulRestartGoBGP: a gobgpd member with graceful restart (3 s) and long-lived
// graceful restart is killed. After its restart time its routes are long-lived stale: a BIRD watcher
// that negotiated LLGR holds them with LLGR_STALE (65535:6), a BIRD watcher that did not gets
// withdrawals. Started again with -r, its routes return to both without the community.
func TestLongLivedGracefulRestartGoBGP(t *testing.T) {
	peers.Require(t, "bird", "birdc", "gobgpd", "gobgp")
	metricsPort := peers.FreePort(t, netip.MustParseAddr("127.0.0.1"))
	nh := adr("192.0.2.75")
	restarter := &member{name: "gobgp", start: peers.StartGoBGP, addr: "127.0.1.75", as: 4200000075, routes: []peers.Announce{
		{Prefix: pfx("198.51.100.0/24"), NextHop: nh},
		{Prefix: pfx("2001:db8:75::/48"), NextHop: adr("2001:db8:ff::75")},
	}}
	llgrWatcher := &member{name: "llgr-watcher", start: peers.StartBIRD, addr: "127.0.1.76", as: 65076}
	plainWatcher := &member{name: "plain-watcher", start: peers.StartBIRD, addr: "127.0.1.77", as: 65077}
	ms := []*member{restarter, llgrWatcher, plainWatcher}
	rs := startRouteServer(t, grConfig(ms, metricsPort, map[string]bool{"gobgp": true, "llgr-watcher": true}))
	gr := peers.Config{GracefulRestart: 3, LLGRStaleTime: 3600}
	startMember(t, rs, restarter, gr)
	startMember(t, rs, llgrWatcher, peers.Config{GracefulRestart: 60, LLGRStaleTime: 3600})
	startMember(t, rs, plainWatcher, peers.Config{})
	waitTables(t, ms, nil, nil, 90*time.Second)

	killMember(t, restarter)
	waitFor(t, "the restart time runs out and the routes become long-lived stale", 60*time.Second, func() (bool, string) {
		return rs.logContains("routes kept long-lived stale"), ""
	})
	stale := map[netip.Prefix]peers.Route{}
	for _, a := range restarter.routes {
		r := restarter.asReceived(a)
		r.Communities = []string{"65535:6"}
		stale[a.Prefix] = r
	}
	waitFor(t, "the LLGR watcher holds the long-lived stale routes", 30*time.Second, holds(t, llgrWatcher, stale))
	waitFor(t, "the plain watcher got withdrawals", 30*time.Second, holds(t, plainWatcher, map[netip.Prefix]peers.Route{}))

	gr.GRRecovery = true
	startMember(t, rs, restarter, gr)
	waitFor(t, "back: the LLGR watcher holds the routes without LLGR_STALE", 120*time.Second,
		holds(t, llgrWatcher, expected(ms, llgrWatcher, nil)))
	waitFor(t, "back: the plain watcher holds them again", 30*time.Second, holds(t, plainWatcher, expected(ms, plainWatcher, nil)))
	if rs.logContains("restarted without forwarding state") {
		// gobgpd -r sets the forwarding-state bit in both capabilities: the long-lived stale routes
		// wait for its End-of-RIB instead of going at once (RFC 9494 §4.2).
		t.Errorf("gobgpd came back without forwarding state for a family")
	}
}

// TestRolesFRR: BGP roles (RFC 9234) with FRR members, against a route server advertising the role
// rs. `local-role rs-client` comes up, also with FRR's own strict-mode; `local-role provider` is
// refused with OPEN Message Error/Role Mismatch (2/11) when the route server has strict_role set.
func TestRolesFRR(t *testing.T) {
	peers.Require(t, "/usr/lib/frr/bgpd", "vtysh")
	ms := []*member{
		{name: "client", start: peers.StartFRR, addr: "127.0.1.81", as: 65081},
		{name: "client-strict", start: peers.StartFRR, addr: "127.0.1.82", as: 65082},
		{name: "provider", start: peers.StartFRR, addr: "127.0.1.83", as: 65083},
	}
	cfg := configFor(ms)
	for _, m := range ms {
		cfg = strings.Replace(cfg, fmt.Sprintf("neighbors = [%q]\n", m.addr),
			fmt.Sprintf("neighbors = [%q]\nstrict_role = true\n", m.addr), 1)
	}
	rs := startRouteServer(t, cfg)
	conf := map[string]peers.Config{
		"client":        {Role: "rs_client"},
		"client-strict": {Role: "rs_client", StrictRole: true},
		"provider":      {Role: "provider"},
	}
	for _, m := range ms {
		startMember(t, rs, m, conf[m.name])
	}
	established := func(m *member) bool {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		ok, _ := m.peer.Established(ctx)
		return ok
	}
	for _, m := range ms[:2] {
		waitFor(t, m.name+" established", 60*time.Second, func() (bool, string) { return established(m), "" })
	}
	waitFor(t, "provider refused with Role Mismatch", 60*time.Second, func() (bool, string) {
		return roleMismatchLogged(t, rs, ms[2].addr), ""
	})
	if established(ms[2]) {
		t.Errorf("provider: established despite the role mismatch")
	}
	for _, m := range ms[:2] {
		if roleMismatchLogged(t, rs, m.addr) {
			t.Errorf("%s: Role Mismatch logged for a member with role rs-client", m.name)
		}
	}
}
