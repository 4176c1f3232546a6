package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ixrs/ixrs/internal/peers"
)

// traceLines returns the route server's packet trace lines that contain every one of parts.
func (rs *routeServer) traceLines(parts ...string) []string {
	b, _ := os.ReadFile(rs.log)
	var out []string
next:
	for _, l := range strings.Split(string(b), "\n") {
		if !strings.Contains(l, `msg="bgp message"`) {
			continue
		}
		for _, p := range parts {
			if !strings.Contains(l, p) {
				continue next
			}
		}
		out = append(out, l)
	}
	return out
}

// TestAdminTrace drives `rsctl trace` against the built route server with two real BIRD members: a
// trace switched on at run time logs the UPDATEs and ROUTE-REFRESHes of a soft reset in both
// directions, decoded; off stops it; a reload that adds trace keys to the file applies them without
// resetting a session; and the exit codes of bad requests.
func TestAdminTrace(t *testing.T) {
	peers.Require(t, "bird", "birdc")
	dir := t.TempDir()
	bin := filepath.Join(dir, "rsctl")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/rsctl").CombinedOutput(); err != nil {
		t.Fatalf("go build rsctl: %v\n%s", err, out)
	}
	a := &member{name: "bird-a", start: peers.StartBIRD, addr: "127.0.1.51", as: 65051, routes: []peers.Announce{
		{Prefix: pfx("11.5.1.0/24"), NextHop: adr("192.0.2.51")},
	}}
	b := &member{name: "bird-b", start: peers.StartBIRD, addr: "127.0.1.52", as: 65052, routes: []peers.Announce{
		{Prefix: pfx("11.5.2.0/24"), NextHop: adr("192.0.2.52"), Communities: []string{"65052:7"}},
	}}
	ms := []*member{a, b}
	socket := filepath.Join(dir, "admin.sock")
	cfg := strings.Replace(configFor(ms), "[defaults]", fmt.Sprintf("[admin]\nsocket = %q\n\n[defaults]", socket), 1)
	rs := startRouteServer(t, cfg)
	cfgPath := filepath.Join(filepath.Dir(rs.log), "config.toml")
	startMembers(t, rs, ms)
	ctl := rsctlCmd{bin: bin, socket: socket}
	waitFor(t, "bird-b has bird-a's route", 90*time.Second, func() (bool, string) {
		got := receivedNow(t, b)
		_, ok := got[pfx("11.5.1.0/24")]
		return ok, fmt.Sprint(got)
	})
	if l := rs.traceLines(); len(l) != 0 {
		t.Fatalf("traced with no trace key set:\n%s", strings.Join(l, "\n"))
	}

	// On at run time: a soft reset of bird-b makes it send its table again (received UPDATE) after
	// the route server's ROUTE-REFRESH (sent refresh), and the route server sends it bird-a's route.
	var res struct {
		Member string
		Types  []string
		Raw    bool
	}
	if err := json.Unmarshal([]byte(ctl.must(t, 0, "-json", "trace", "bird-b", "on", "update", "refresh", "raw")), &res); err != nil ||
		res.Member != "bird-b" || strings.Join(res.Types, ",") != "update,refresh" || !res.Raw {
		t.Fatalf("trace on -json: %+v %v", res, err)
	}
	ctl.must(t, 0, "neighbor", "bird-b", "reset", "soft")
	waitFor(t, "bird-b's UPDATEs traced both ways", 60*time.Second, func() (bool, string) {
		in := rs.traceLines("member=bird-b", "dir=received", "type=update", "11.5.2.0/24", `as_path=65052`, "65052:7", "raw=ffff")
		out := rs.traceLines("member=bird-b", "dir=sent", "type=update", "11.5.1.0/24")
		rr := rs.traceLines("member=bird-b", "dir=sent", "type=refresh", "family=ipv4-unicast")
		return len(in) > 0 && len(out) > 0 && len(rr) > 0, strings.Join(rs.traceLines("member=bird-b"), "\n")
	})
	if l := rs.traceLines("member=bird-a"); len(l) != 0 {
		t.Errorf("bird-a traced:\n%s", strings.Join(l, "\n"))
	}

	// Off.
	if out := ctl.must(t, 0, "trace", "bird-b", "off"); !strings.Contains(out, "bird-b: packet trace off") {
		t.Errorf("trace off:\n%s", out)
	}
	before := len(rs.traceLines())
	ctl.must(t, 0, "neighbor", "bird-b", "reset", "soft")
	// The soft reset's ROUTE-REFRESH reaches BIRD and its UPDATE comes back; once bird-a's route is
	// exported to bird-b again nothing more is traced. A bounded wait, then the count.
	time.Sleep(3 * time.Second)
	if after := len(rs.traceLines()); after != before {
		t.Errorf("%d lines traced after off", after-before)
	}

	// A reload that adds trace keys to the file: applied, no session reset.
	written, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	next := strings.Replace(string(written), "name = \"bird-a\"\n", "name = \"bird-a\"\ntrace = [\"refresh\"]\n", 1)
	if err := os.WriteFile(cfgPath, []byte(next), 0o644); err != nil {
		t.Fatal(err)
	}
	out := ctl.must(t, 0, "reload")
	if !strings.Contains(out, "0 sessions reset") || !strings.Contains(out, "update bird-a: [trace]") {
		t.Errorf("reload:\n%s", out)
	}
	ctl.must(t, 0, "neighbor", "bird-a", "reset", "soft")
	waitFor(t, "bird-a's ROUTE-REFRESH traced", 60*time.Second, func() (bool, string) {
		return len(rs.traceLines("member=bird-a", "dir=sent", "type=refresh")) > 0, strings.Join(rs.traceLines("member=bird-a"), "\n")
	})
	if l := rs.traceLines("member=bird-a", "type=update"); len(l) != 0 {
		t.Errorf("bird-a's UPDATEs traced with trace = [\"refresh\"]:\n%s", strings.Join(l, "\n"))
	}
	var sum struct {
		Neighbors []struct {
			Member string
			Flaps  int
			State  string
		}
	}
	if err := json.Unmarshal([]byte(ctl.must(t, 0, "-json", "show", "summary")), &sum); err != nil {
		t.Fatal(err)
	}
	for _, n := range sum.Neighbors {
		if n.Flaps != 0 || n.State != "established" {
			t.Errorf("%s: %d flaps, %s: tracing must not reset a session", n.Member, n.Flaps, n.State)
		}
	}

	// Exit codes.
	ctl.must(t, 1, "trace", "nobody", "on")
	ctl.must(t, 1, "trace", "bird-a", "on", "updates")
	ctl.must(t, 2, "trace", "bird-a")
	ctl.must(t, 2, "trace", "bird-a", "off", "update")
	if out := ctl.must(t, 0, "completion", "bash"); !strings.Contains(out, "trace") {
		t.Error("completion bash: no trace")
	}
}
