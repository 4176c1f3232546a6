package e2e

import (
	"bufio"
	"context"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ixrs/ixrs/internal/peers"
)

// TestLongLivedGracefulRestart: the route server as a long-lived graceful-restart helper (RFC 9494),
// seen by two watching BIRD members, one that negotiated LLGR and one that did not.
//
// A BIRD member with graceful restart (3 s) and LLGR is killed. After its restart time its routes
// become long-lived stale: the LLGR watcher holds them with LLGR_STALE (65535:6), except the one
// tagged NO_LLGR (65535:7), which is withdrawn; the other watcher gets withdrawals. Started again
// (recovering), the member's routes return to both without the community.
func TestLongLivedGracefulRestart(t *testing.T) {
	peers.Require(t, "bird", "birdc")
	nh := adr("192.0.2.51")
	restarter := &member{name: "restarter", start: peers.StartBIRD, addr: "127.0.1.51", as: 65051, routes: []peers.Announce{
		{Prefix: pfx("198.51.100.0/24"), NextHop: nh},
		{Prefix: pfx("198.51.101.0/24"), NextHop: nh, Communities: []string{"65535:7"}}, // NO_LLGR
		{Prefix: pfx("2001:db8:51::/48"), NextHop: adr("2001:db8:ff::51")},
	}}
	llgrWatcher := &member{name: "llgr-watcher", start: peers.StartBIRD, addr: "127.0.1.52", as: 65052}
	plainWatcher := &member{name: "plain-watcher", start: peers.StartBIRD, addr: "127.0.1.53", as: 65053}
	ms := []*member{restarter, llgrWatcher, plainWatcher}
	cfg := configFor(ms)
	for _, m := range []*member{restarter, llgrWatcher} {
		cfg = strings.Replace(cfg, fmt.Sprintf("neighbors = [%q]\n", m.addr),
			fmt.Sprintf("neighbors = [%q]\nllgr_stale_time = \"1h\"\n", m.addr), 1)
	}
	rs := startRouteServer(t, cfg)
	conf := map[string]peers.Config{
		"restarter":     {GracefulRestart: 3, LLGRStaleTime: 3600},
		"llgr-watcher":  {GracefulRestart: 60, LLGRStaleTime: 3600},
		"plain-watcher": {},
	}
	for _, m := range ms {
		c := conf[m.name]
		c.Dir, c.LocalAddr, c.LocalAS, c.PeerAddr, c.PeerPort, c.PeerAS, c.Announce = t.TempDir(), adr(m.addr), m.as,
			adr("127.0.0.1"), rs.port, 65000, m.routes
		m.peer = m.start(t, c)
	}
	waitTables(t, ms, nil, nil, 90*time.Second)

	has := func(m *member, want map[netip.Prefix]peers.Route) func() (bool, string) {
		return func() (bool, string) {
			got := receivedNow(t, m)
			return cmp.Equal(want, got, addrCmp), cmp.Diff(want, got, addrCmp)
		}
	}
	// SIGKILL: the kernel closes the connection; BIRD sends no NOTIFICATION.
	if err := syscall.Kill(-restarter.peer.PID(), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the restart time runs out and the routes become long-lived stale", 60*time.Second, func() (bool, string) {
		return rs.logContains("routes kept long-lived stale"), ""
	})
	stale := map[netip.Prefix]peers.Route{}
	for _, a := range []peers.Announce{restarter.routes[0], restarter.routes[2]} {
		r := restarter.asReceived(a)
		r.Communities = []string{"65535:6"}
		stale[a.Prefix] = r
	}
	waitFor(t, "the LLGR watcher holds the long-lived stale routes, not the NO_LLGR one", 30*time.Second, has(llgrWatcher, stale))
	waitFor(t, "the plain watcher got withdrawals", 30*time.Second, has(plainWatcher, map[netip.Prefix]peers.Route{}))

	restarter.peer = peers.StartBIRD(t, peers.Config{Dir: t.TempDir(), LocalAddr: adr(restarter.addr), LocalAS: restarter.as,
		PeerAddr: adr("127.0.0.1"), PeerPort: rs.port, PeerAS: 65000, Announce: restarter.routes,
		GracefulRestart: 3, LLGRStaleTime: 3600, GRRecovery: true})
	waitFor(t, "back: the LLGR watcher holds the routes without LLGR_STALE", 90*time.Second, has(llgrWatcher, expected(ms, llgrWatcher, nil)))
	waitFor(t, "back: the plain watcher holds them again", 30*time.Second, has(plainWatcher, expected(ms, plainWatcher, nil)))
	if rs.logContains("restarted without forwarding state") {
		t.Errorf("BIRD came back without forwarding state for a family (RFC 9494 §4.2: its long-lived stale routes went at once)")
	}
}

// TestStrictRole: BGP roles (RFC 9234) with BIRD members. The route server advertises the role rs: a
// member with role rs_client comes up; one advertising provider (incompatible with rs) is refused
// with OPEN Message Error/Role Mismatch (2/11); with strict_role = true a member advertising no role
// is refused the same way, while without strict_role it comes up.
func TestStrictRole(t *testing.T) {
	peers.Require(t, "bird", "birdc")
	ms := []*member{
		{name: "client", start: peers.StartBIRD, addr: "127.0.1.61", as: 65061},
		{name: "provider", start: peers.StartBIRD, addr: "127.0.1.62", as: 65062},
		{name: "norole-strict", start: peers.StartBIRD, addr: "127.0.1.63", as: 65063},
		{name: "norole", start: peers.StartBIRD, addr: "127.0.1.64", as: 65064},
	}
	cfg := configFor(ms)
	for _, m := range ms[:3] {
		cfg = strings.Replace(cfg, fmt.Sprintf("neighbors = [%q]\n", m.addr),
			fmt.Sprintf("neighbors = [%q]\nstrict_role = true\n", m.addr), 1)
	}
	rs := startRouteServer(t, cfg)
	role := map[string]string{"client": "rs_client", "provider": "provider"}
	for _, m := range ms {
		m.peer = m.start(t, peers.Config{Dir: t.TempDir(), LocalAddr: adr(m.addr), LocalAS: m.as, PeerAddr: adr("127.0.0.1"),
			PeerPort: rs.port, PeerAS: 65000, Role: role[m.name]})
	}
	established := func(m *member) bool {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		ok, _ := m.peer.Established(ctx)
		return ok
	}
	for _, m := range []*member{ms[0], ms[3]} {
		waitFor(t, m.name+" established", 60*time.Second, func() (bool, string) { return established(m), "" })
	}
	for _, m := range []*member{ms[1], ms[2]} {
		waitFor(t, m.name+" refused with Role Mismatch", 60*time.Second, func() (bool, string) {
			return roleMismatchLogged(t, rs, m.addr), ""
		})
		if established(m) {
			t.Errorf("%s: established despite the role mismatch", m.name)
		}
	}
}

// roleMismatchLogged reports whether the route server's log has a NOTIFICATION Role Mismatch, sent
// (refused OPEN) or received, for the neighbor at addr.
func roleMismatchLogged(t *testing.T, rs *routeServer, addr string) bool {
	f, err := os.Open(rs.log)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		l := sc.Text()
		if strings.Contains(l, "Role Mismatch") && strings.Contains(l, "neighbor="+addr) {
			return true
		}
	}
	return false
}
