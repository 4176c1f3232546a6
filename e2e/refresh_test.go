package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ixrs/ixrs/internal/peers"
)

// TestEnhancedRouteRefresh: enhanced route refresh (RFC 7313) with a real FRR member, which
// advertises the capability.
//
//   - FRR asks for a refresh (clear bgp … soft in): the route server sends it BoRR and EoRR around
//     the table, per family, and FRR, which purges at EoRR what it did not receive again, keeps the
//     whole table.
//   - The route server asks FRR for a refresh (rsctl soft reset): FRR answers with BoRR, its
//     routes, EoRR; the route server marks and sweeps, removing nothing, and the watching BIRD
//     member keeps FRR's routes.
func TestEnhancedRouteRefresh(t *testing.T) {
	peers.Require(t, "bird", "birdc", "/usr/lib/frr/bgpd", "vtysh")
	dir := t.TempDir()
	bin := filepath.Join(dir, "rsctl")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/rsctl").CombinedOutput(); err != nil {
		t.Fatalf("go build rsctl: %v\n%s", err, out)
	}
	metricsPort := peers.FreePort(t, netip.MustParseAddr("127.0.0.1"))
	fr := &member{name: "frr", start: peers.StartFRR, addr: "127.0.1.51", as: 65051, med0: true, routes: []peers.Announce{
		{Prefix: pfx("198.51.100.0/24"), NextHop: adr("192.0.2.51")},
		{Prefix: pfx("198.51.101.0/24"), NextHop: adr("192.0.2.51")},
		{Prefix: pfx("2001:db8:51::/48"), NextHop: adr("2001:db8:ff::51")},
	}}
	watcher := &member{name: "watcher", start: peers.StartBIRD, addr: "127.0.1.52", as: 65052, routes: []peers.Announce{
		{Prefix: pfx("203.0.113.0/24"), NextHop: adr("192.0.2.52")},
		{Prefix: pfx("2001:db8:52::/48"), NextHop: adr("2001:db8:ff::52")},
	}}
	ms := []*member{fr, watcher}
	socket := filepath.Join(dir, "admin.sock")
	cfg := strings.Replace(configFor(ms), "[defaults]", fmt.Sprintf(
		"[admin]\nsocket = %q\n\n[lookingglass]\nlisten = \"\"\n\n[metrics]\nlisten = \"127.0.0.1:%d\"\n\n[defaults]", socket, metricsPort), 1)
	rs := startRouteServer(t, cfg)
	startMembers(t, rs, ms)
	waitTables(t, ms, nil, nil, 90*time.Second)
	vty := fr.peer.(interface {
		Vtysh(context.Context, ...string) ([]byte, error)
	})

	refreshes := func(dir string) int {
		t.Helper()
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", metricsPort))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		re := regexp.MustCompile(`ixrs_messages_` + dir + `_total\{[^}]*member="frr"[^}]*type="refresh"[^}]*\} (\d+)`)
		sm := re.FindSubmatch(body)
		if sm == nil {
			return 0
		}
		n, _ := strconv.Atoi(string(sm[1]))
		return n
	}

	// FRR asks: BoRR + EoRR for each of its two families.
	sent0 := refreshes("sent")
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	out, err := vty.Vtysh(ctx, "clear bgp 127.0.0.1 soft in")
	cancel()
	if err != nil {
		t.Fatalf("vtysh: %v\n%s", err, out)
	}
	waitFor(t, "BoRR and EoRR sent to FRR", 30*time.Second, func() (bool, string) {
		n := refreshes("sent")
		return n >= sent0+4, fmt.Sprintf("ROUTE-REFRESH messages sent to frr: %d (before: %d)", n, sent0)
	})
	waitTables(t, ms, nil, nil, 30*time.Second)

	// The route server asks: FRR re-advertises between BoRR and EoRR; nothing is removed.
	recv0 := refreshes("received")
	ctl := rsctlCmd{bin: bin, socket: socket}
	ctl.must(t, 0, "neighbor", "frr", "reset", "soft")
	waitFor(t, "FRR's BoRR and EoRR", 30*time.Second, func() (bool, string) {
		n := refreshes("received")
		return n >= recv0+4 && rs.logContains("member's refresh ended"),
			fmt.Sprintf("ROUTE-REFRESH messages from frr: %d (before: %d)", n, recv0)
	})
	if !rs.logContains("member re-advertises its routes (BoRR)") {
		t.Error("no BoRR from FRR in the route server's log")
	}
	waitTables(t, ms, nil, nil, 30*time.Second)
	b, _ := os.ReadFile(rs.log)
	ends := regexp.MustCompile(`member's refresh ended.* removed=(\d+)`).FindAllSubmatch(b, -1)
	if len(ends) != 2 {
		t.Errorf("%d refreshes of FRR ended, want 2 (IPv4, IPv6)", len(ends))
	}
	for _, e := range ends {
		if string(e[1]) != "0" {
			t.Errorf("the route server removed %s routes FRR had re-advertised: %s", e[1], e[0])
		}
	}
}
