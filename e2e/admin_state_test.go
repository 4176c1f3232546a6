package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ixrs/ixrs/internal/peers"
)

// TestAdminStateAcrossRestart: with [server] state_dir, a member shut down with rsctl and graceful
// shutdown switched on stay so across a restart of the route server binary (SIGTERM, then a new
// process on the same configuration): the real BIRD member stays down and rsctl shows why, until
// enabled; the routes it then receives carry GRACEFUL_SHUTDOWN until it is switched off.
func TestAdminStateAcrossRestart(t *testing.T) {
	peers.Require(t, "bird", "birdc")
	dir := t.TempDir()
	bin := filepath.Join(dir, "rsctl")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/rsctl").CombinedOutput(); err != nil {
		t.Fatalf("go build rsctl: %v\n%s", err, out)
	}
	a := &member{name: "bird-a", start: peers.StartBIRD, addr: "127.0.1.71", as: 65071, routes: []peers.Announce{
		{Prefix: pfx("11.7.1.0/24"), NextHop: adr("192.0.2.71")},
	}}
	b := &member{name: "bird-b", start: peers.StartBIRD, addr: "127.0.1.72", as: 65072, routes: []peers.Announce{
		{Prefix: pfx("11.7.2.0/24"), NextHop: adr("192.0.2.72")},
	}}
	ms := []*member{a, b}
	socket := filepath.Join(dir, "admin.sock")
	// Both processes listen on one port, so that the members reconnect to the second.
	port := peers.FreePort(t, netip.MustParseAddr("127.0.0.1"))
	cfg := strings.Replace(configFor(ms), "[defaults]",
		fmt.Sprintf("[admin]\nsocket = %q\n\n[defaults]", socket), 1)
	cfg = strings.Replace(cfg, "connect_retry = \"2s\"\n", fmt.Sprintf("connect_retry = \"2s\"\nstate_dir = %q\n", filepath.Join(dir, "state")), 1)
	cfg = strings.ReplaceAll(cfg, "%PORT%", fmt.Sprint(port))
	rs1 := startRouteServer(t, cfg)
	rs1.port = port
	startMembers(t, rs1, ms)
	ctl := rsctlCmd{bin: bin, socket: socket}

	type summary struct {
		GracefulShutdown bool `json:"graceful_shutdown"`
		Neighbors        []struct {
			Member, State string
			AdminDown     bool   `json:"admin_down"`
			AdminMessage  string `json:"admin_message"`
		}
	}
	states := func() (summary, map[string]string) {
		var s summary
		out, _, code := ctl.run(t, "-json", "show", "summary")
		if code == 0 {
			if err := json.Unmarshal([]byte(out), &s); err != nil {
				t.Fatalf("show summary -json: %v\n%s", err, out)
			}
		}
		st := map[string]string{}
		for _, n := range s.Neighbors {
			st[n.Member] = n.State
		}
		return s, st
	}
	bothUp := func() (bool, string) {
		s, st := states()
		return st["bird-a"] == "established" && st["bird-b"] == "established", fmt.Sprintf("%+v", s)
	}
	waitFor(t, "both sessions up", 90*time.Second, bothUp)

	const msg = "ixrs e2e ticket 7171"
	ctl.must(t, 0, append([]string{"neighbor", "bird-a", "shutdown"}, strings.Fields(msg)...)...)
	ctl.must(t, 0, "graceful-shutdown", "on")

	rs1.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-rs1.done:
	case <-time.After(15 * time.Second):
		t.Fatal("route server did not stop on SIGTERM")
	}

	rs2 := startRouteServer(t, cfg)
	rs2.port = port
	waitFor(t, "bird-b back at the new process", 90*time.Second, func() (bool, string) {
		s, st := states()
		return st["bird-b"] == "established", fmt.Sprintf("%+v", s)
	})
	s, st := states()
	if !s.GracefulShutdown || st["bird-a"] == "established" {
		t.Fatalf("after the restart: %+v", s)
	}
	for _, n := range s.Neighbors {
		if n.Member == "bird-a" && (!n.AdminDown || n.AdminMessage != msg) {
			t.Errorf("bird-a after the restart: %+v", n)
		}
	}
	if out := ctl.must(t, 0, "show", "summary"); !strings.Contains(out, "admin down: "+msg) || !strings.Contains(out, "graceful shutdown ON") {
		t.Errorf("show summary after the restart:\n%s", out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if up, err := a.peer.Established(ctx); err != nil || up {
		t.Fatalf("bird-a established %v (%v) while shut down", up, err)
	}

	hasRoute := func(m *member, prefix, community string, want bool) func() (bool, string) {
		return func() (bool, string) {
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			got, err := received(ctx, m.peer)
			r, ok := got[pfx(prefix)]
			if err != nil || !ok {
				return false, fmt.Sprint(got, err)
			}
			return slices.Contains(r.Communities, community) == want, fmt.Sprint(r)
		}
	}
	ctl.must(t, 0, "neighbor", "bird-a", "enable")
	waitFor(t, "bird-a up with bird-b's route carrying 65535:0", 90*time.Second, hasRoute(a, "11.7.2.0/24", "65535:0", true))
	ctl.must(t, 0, "graceful-shutdown", "off")
	waitFor(t, "bird-a has bird-b's route without 65535:0", 60*time.Second, hasRoute(a, "11.7.2.0/24", "65535:0", false))
}
