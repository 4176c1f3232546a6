package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ixrs/ixrs/internal/peers"
)

// rsctlCmd runs the rsctl binary against socket and returns its stdout, stderr and exit code.
type rsctlCmd struct {
	bin, socket string
}

func (r rsctlCmd) run(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, r.bin, append([]string{"-socket", r.socket}, args...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("rsctl %v: %v", args, err)
	}
	return out.String(), errb.String(), code
}

// must runs rsctl and requires exit code want.
func (r rsctlCmd) must(t *testing.T, want int, args ...string) string {
	t.Helper()
	out, errs, code := r.run(t, args...)
	if code != want {
		t.Fatalf("rsctl %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, want, out, errs)
	}
	return out
}

// TestAdminCLI drives rsctl against the built route server with two real BIRD members: the tables and
// their JSON, explain, graceful shutdown seen by a member as GRACEFUL_SHUTDOWN on every route, an
// administrative shutdown whose RFC 9003 text reaches BIRD and that holds across a reload until
// enable, diff and reload of a changed file (and refusal of a broken one, with its line), soft reset,
// and the exit codes scripts rely on.
func TestAdminCLI(t *testing.T) {
	peers.Require(t, "bird", "birdc")
	dir := t.TempDir()
	bin := filepath.Join(dir, "rsctl")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/rsctl").CombinedOutput(); err != nil {
		t.Fatalf("go build rsctl: %v\n%s", err, out)
	}
	a := &member{name: "bird-a", start: peers.StartBIRD, addr: "127.0.1.41", as: 65041, routes: []peers.Announce{
		{Prefix: pfx("11.4.1.0/24"), NextHop: adr("192.0.2.41")},
		{Prefix: pfx("11.4.2.0/25"), NextHop: adr("192.0.2.41")}, // too long: filtered
	}}
	b := &member{name: "bird-b", start: peers.StartBIRD, addr: "127.0.1.42", as: 65042, routes: []peers.Announce{
		{Prefix: pfx("11.4.3.0/24"), NextHop: adr("192.0.2.42"), Communities: []string{"65042:1"}},
	}}
	ms := []*member{a, b}
	socket := filepath.Join(dir, "admin.sock")
	adminTOML := fmt.Sprintf("[admin]\nsocket = %q\n\n[defaults]", socket)
	cfg := strings.Replace(configFor(ms), "[defaults]", adminTOML, 1)
	rs := startRouteServer(t, cfg)
	cfgPath := filepath.Join(filepath.Dir(rs.log), "config.toml")
	startMembers(t, rs, ms)
	ctl := rsctlCmd{bin: bin, socket: socket}

	type summary struct {
		GracefulShutdown bool `json:"graceful_shutdown"`
		Neighbors        []struct {
			Member, State string
			AdminDown     bool   `json:"admin_down"`
			AdminMessage  string `json:"admin_message"`
			Families      []struct{ Received, Accepted, Filtered, Exported int }
		}
	}
	readSummary := func() summary {
		var s summary
		out, _, code := ctl.run(t, "-json", "show", "summary")
		if code == 0 {
			if err := json.Unmarshal([]byte(out), &s); err != nil {
				t.Fatalf("show summary -json: %v\n%s", err, out)
			}
		}
		return s
	}
	waitFor(t, "both sessions up with their routes", 90*time.Second, func() (bool, string) {
		s := readSummary()
		n := 0
		for _, nb := range s.Neighbors {
			for _, f := range nb.Families {
				if nb.State == "established" {
					n += f.Received
				}
			}
		}
		return n == 3, fmt.Sprintf("%+v", s)
	})
	hasRoute := func(m *member, prefix, community string) func() (bool, string) {
		return func() (bool, string) {
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			got, err := received(ctx, m.peer)
			r, ok := got[pfx(prefix)]
			if err != nil || !ok {
				return false, fmt.Sprint(got, err)
			}
			return community == "" || slices.Contains(r.Communities, community), fmt.Sprint(r)
		}
	}
	lacks := func(m *member, prefix, community string) func() (bool, string) {
		return func() (bool, string) {
			ok, s := hasRoute(m, prefix, "")()
			if !ok {
				return false, s
			}
			ok, _ = hasRoute(m, prefix, community)()
			return !ok, s
		}
	}
	waitFor(t, "bird-b has bird-a's route", 60*time.Second, hasRoute(b, "11.4.1.0/24", ""))

	// Tables.
	out := ctl.must(t, 0, "show", "summary")
	for _, want := range []string{"127.0.1.41", "bird-a", "65042", "established", "Accepted"} {
		if !strings.Contains(out, want) {
			t.Errorf("show summary lacks %q:\n%s", want, out)
		}
	}
	out = ctl.must(t, 0, "show", "neighbor", "bird-a")
	if !strings.Contains(out, "BGP neighbor 127.0.1.41, member bird-a, AS65041") || strings.Contains(out, "bird-b") {
		t.Errorf("show neighbor bird-a:\n%s", out)
	}
	out = ctl.must(t, 0, "show", "routes", "filtered", "bird-a")
	if !strings.Contains(out, "11.4.2.0/25") || strings.Contains(out, "11.4.1.0/24") || !strings.Contains(out, "1 route(s)") {
		t.Errorf("show routes filtered bird-a:\n%s", out)
	}
	out = ctl.must(t, 0, "show", "routes", "exported", "127.0.1.42")
	if !strings.Contains(out, "11.4.1.0/24") || strings.Contains(out, "11.4.3.0/24") {
		t.Errorf("show routes exported to bird-b:\n%s", out)
	}
	out = ctl.must(t, 0, "show", "routes", "member", "bird-a")
	if !strings.Contains(out, "11.4.1.0/24") || !strings.Contains(out, "11.4.2.0/25") {
		t.Errorf("show routes member bird-a:\n%s", out)
	}
	out = ctl.must(t, 0, "show", "routes", "prefix", "11.4.3.0/24")
	if !strings.Contains(out, "bird-b") || !strings.Contains(out, "65042:1") {
		t.Errorf("show routes prefix:\n%s", out)
	}
	var routes struct {
		Pages []struct{ Routes []struct{ Prefix string } }
	}
	if err := json.Unmarshal([]byte(ctl.must(t, 0, "-json", "show", "routes", "accepted", "bird-a")), &routes); err != nil ||
		len(routes.Pages) != 1 || len(routes.Pages[0].Routes) != 1 || routes.Pages[0].Routes[0].Prefix != "11.4.1.0/24" {
		t.Errorf("show routes accepted -json: %+v, %v", routes, err)
	}
	out = ctl.must(t, 0, "explain", "11.4.2.0/25")
	if !strings.Contains(out, "11.4.2.0/25 from bird-a") || !strings.Contains(out, "rejected") {
		t.Errorf("explain of a filtered route:\n%s", out)
	}
	ctl.must(t, 1, "explain", "10.99.0.0/16")
	if out := ctl.must(t, 0, "version"); !strings.Contains(out, "route server") {
		t.Errorf("version:\n%s", out)
	}

	// Graceful shutdown: bird-b sees GRACEFUL_SHUTDOWN on bird-a's route, then no more.
	ctl.must(t, 0, "graceful-shutdown", "on")
	waitFor(t, "bird-b sees 65535:0", 60*time.Second, hasRoute(b, "11.4.1.0/24", "65535:0"))
	waitFor(t, "bird-a sees 65535:0", 60*time.Second, hasRoute(a, "11.4.3.0/24", "65535:0"))
	if s := readSummary(); !s.GracefulShutdown {
		t.Error("summary: graceful shutdown not shown")
	}
	ctl.must(t, 0, "graceful-shutdown", "off")
	waitFor(t, "bird-b's route without 65535:0", 60*time.Second, lacks(b, "11.4.1.0/24", "65535:0"))

	// Administrative shutdown with a message, kept across a reload until enabled.
	const msg = "ixrs e2e maintenance 7"
	ctl.must(t, 0, append([]string{"neighbor", "bird-a", "shutdown"}, strings.Fields(msg)...)...)
	waitFor(t, "BIRD logs the shutdown communication", 30*time.Second, func() (bool, string) {
		bs, _ := os.ReadFile(a.peer.LogPath())
		return strings.Contains(string(bs), msg), ""
	})
	waitFor(t, "bird-a's route gone from bird-b", 30*time.Second, func() (bool, string) {
		ok, s := hasRoute(b, "11.4.1.0/24", "")()
		return !ok, s
	})
	if out := ctl.must(t, 0, "show", "summary"); !strings.Contains(out, "admin down: "+msg) {
		t.Errorf("summary does not show the shutdown:\n%s", out)
	}

	written, err := os.ReadFile(cfgPath) // with the port filled in
	if err != nil {
		t.Fatal(err)
	}
	next := strings.Replace(string(written), "name = \"bird-b\"\n", "name = \"bird-b\"\ndescription = \"changed\"\n", 1)
	nextPath := filepath.Join(dir, "next.toml")
	if err := os.WriteFile(nextPath, []byte(next), 0o644); err != nil {
		t.Fatal(err)
	}
	out = ctl.must(t, 4, "diff", "-config", nextPath)
	if !strings.Contains(out, "update bird-b: [description]") {
		t.Errorf("diff:\n%s", out)
	}
	ctl.must(t, 0, "diff", "-config", cfgPath)

	if err := os.WriteFile(cfgPath, []byte(next+"\n[[member]]\nname = \"x\"\nasn = \"bad\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, errs, code := ctl.run(t, "reload")
	if code != 1 || !strings.Contains(errs, "config.toml:") || !strings.Contains(errs, "configuration refused") {
		t.Errorf("reload of a broken file: exit %d\n%s", code, errs)
	}
	if err := os.WriteFile(cfgPath, []byte(next), 0o644); err != nil {
		t.Fatal(err)
	}
	out = ctl.must(t, 0, "reload")
	if !strings.Contains(out, "0 sessions reset") || !strings.Contains(out, "update bird-b") {
		t.Errorf("reload:\n%s", out)
	}
	time.Sleep(3 * time.Second) // BIRD retries; the route server must keep refusing it
	if s := readSummary(); s.Neighbors[0].Member != "bird-a" || !s.Neighbors[0].AdminDown || s.Neighbors[0].State == "established" {
		t.Errorf("bird-a after reload: %+v", s.Neighbors[0])
	}
	ctl.must(t, 0, "neighbor", "bird-a", "enable")
	waitFor(t, "bird-a's route back at bird-b", 90*time.Second, hasRoute(b, "11.4.1.0/24", ""))

	// Soft reset: ROUTE-REFRESH in, table out; the session stays.
	ctl.must(t, 0, "neighbor", "127.0.1.42", "reset", "soft")
	if ok, _ := hasRoute(b, "11.4.1.0/24", "")(); !ok {
		t.Error("bird-b lost bird-a's route on a soft reset")
	}

	// Exit codes.
	ctl.must(t, 1, "neighbor", "nobody", "enable")
	ctl.must(t, 2, "neighbor")
	ctl.must(t, 2, "frobnicate")
	if _, _, code := (rsctlCmd{bin: bin, socket: filepath.Join(dir, "none.sock")}).run(t, "version"); code != 3 {
		t.Errorf("unreachable route server: exit %d, want 3", code)
	}
	if out := ctl.must(t, 0, "completion", "bash"); !strings.Contains(out, "complete -F _rsctl rsctl") {
		t.Error("completion bash: no complete line")
	}
}
