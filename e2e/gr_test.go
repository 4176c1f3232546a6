package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"os"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ixrs/ixrs/internal/peers"
)

// TestGracefulRestart: the route server as a graceful-restart helper (RFC 4724), seen by a
// watching BIRD member.
//
//   - A BIRD member with graceful restart is killed (its TCP connection closes, no NOTIFICATION)
//     and started again in recovery mode (bird -R): meanwhile its routes stay at the watcher; once
//     back it announces one route changed and one not at all, and its End-of-RIB removes that one.
//     The watcher gets two UPDATEs for all of it, not a withdrawal and re-announcement of the table.
//   - A BIRD member with a 3 s restart time is killed and never comes back: its routes are
//     withdrawn once the restart time runs out.
func TestGracefulRestart(t *testing.T) {
	peers.Require(t, "bird", "birdc")
	metricsPort := peers.FreePort(t, netip.MustParseAddr("127.0.0.1"))
	nhR, nhG := adr("192.0.2.41"), adr("192.0.2.42")
	restarter := &member{name: "restarter", start: peers.StartBIRD, addr: "127.0.1.41", as: 65041, routes: []peers.Announce{
		{Prefix: pfx("198.51.100.0/24"), NextHop: nhR, MED: 1, HasMED: true},
		{Prefix: pfx("198.51.101.0/24"), NextHop: nhR, MED: 1, HasMED: true},
		{Prefix: pfx("198.51.102.0/24"), NextHop: nhR, MED: 1, HasMED: true},
		{Prefix: pfx("2001:db8:41::/48"), NextHop: adr("2001:db8:ff::41")},
	}}
	gone := &member{name: "gone", start: peers.StartBIRD, addr: "127.0.1.42", as: 65042, routes: []peers.Announce{
		{Prefix: pfx("203.0.113.0/24"), NextHop: nhG},
	}}
	watcher := &member{name: "watcher", start: peers.StartBIRD, addr: "127.0.1.43", as: 65043}
	ms := []*member{restarter, gone, watcher}
	cfg := strings.Replace(configFor(ms), "[defaults]",
		fmt.Sprintf("[lookingglass]\nlisten = \"\"\n\n[metrics]\nlisten = \"127.0.0.1:%d\"\n\n[defaults]", metricsPort), 1)
	rs := startRouteServer(t, cfg)
	grTime := map[string]int{"restarter": 60, "gone": 3}
	for _, m := range ms {
		m.peer = m.start(t, peers.Config{Dir: t.TempDir(), LocalAddr: adr(m.addr), LocalAS: m.as, PeerAddr: adr("127.0.0.1"),
			PeerPort: rs.port, PeerAS: 65000, Announce: m.routes, GracefulRestart: grTime[m.name]})
	}
	waitTables(t, ms, nil, nil, 90*time.Second)

	updates := func() int {
		t.Helper()
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", metricsPort))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		re := regexp.MustCompile(`ixrs_messages_sent_total\{[^}]*member="watcher"[^}]*type="update"[^}]*\} (\d+)`)
		sm := re.FindSubmatch(body)
		if sm == nil {
			t.Fatalf("no UPDATE count for the watcher in the metrics")
		}
		n, _ := strconv.Atoi(string(sm[1]))
		return n
	}
	watcherHas := func(want map[netip.Prefix]peers.Route) func() (bool, string) {
		return func() (bool, string) {
			got := receivedNow(t, watcher)
			return cmp.Equal(want, got, addrCmp), cmp.Diff(want, got, addrCmp)
		}
	}
	kill := func(m *member) {
		t.Helper()
		// SIGKILL: the kernel closes the connection; BIRD sends no NOTIFICATION.
		if err := syscall.Kill(-m.peer.PID(), syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
	}
	full := expected(ms, watcher, nil)
	before := updates()

	// 1. The restarter restarts gracefully.
	kill(restarter)
	waitFor(t, "the route server keeps the restarter's routes as stale", 30*time.Second, func() (bool, string) {
		return rs.logContains("its routes kept as stale"), ""
	})
	if got := receivedNow(t, watcher); !cmp.Equal(full, got, addrCmp) {
		t.Fatalf("the watcher lost routes of a member restarting gracefully: %s", cmp.Diff(full, got, addrCmp))
	}
	restarter.routes = []peers.Announce{
		restarter.routes[0],
		{Prefix: pfx("198.51.101.0/24"), NextHop: nhR, MED: 2, HasMED: true}, // changed
		restarter.routes[3], // 198.51.102.0/24 not announced again
	}
	restarter.peer = peers.StartBIRD(t, peers.Config{Dir: t.TempDir(), LocalAddr: adr(restarter.addr), LocalAS: restarter.as,
		PeerAddr: adr("127.0.0.1"), PeerPort: rs.port, PeerAS: 65000, Announce: restarter.routes, GracefulRestart: 60, GRRecovery: true})
	waitFor(t, "the restarter's End-of-RIB sweeps its stale route", 90*time.Second, watcherHas(expected(ms, watcher, nil)))
	waitFor(t, "the sweep logged", 10*time.Second, func() (bool, string) {
		return rs.logContains(`why="End-of-RIB received"`), ""
	})
	n := updates() - before
	t.Logf("UPDATEs at the watcher across the restart: %d", n)
	if n > 2 {
		t.Errorf("the watcher got %d UPDATEs for one changed and one withdrawn route across a graceful restart, want at most 2", n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if ok, err := restarter.peer.Established(ctx); !ok || err != nil {
		t.Fatalf("restarter: established %v, %v", ok, err)
	}

	// 2. A member that never comes back: withdrawn after its restart time.
	kill(gone)
	waitFor(t, "the gone member's routes kept as stale", 30*time.Second, func() (bool, string) {
		return strings.Count(readLog(t, rs), "its routes kept as stale") == 2, ""
	})
	waitFor(t, "the gone member's routes withdrawn after its restart time", 60*time.Second,
		watcherHas(expected(ms, watcher, map[string]bool{"gone": true})))
	if !rs.logContains(`why="restart time expired"`) {
		t.Errorf("no log of the restart time expiring")
	}
}

func readLog(t *testing.T, rs *routeServer) string {
	t.Helper()
	b, err := os.ReadFile(rs.log)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
