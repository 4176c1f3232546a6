package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ixrs/ixrs/internal/peers"
)

// The examples in docs/examples, run: the configuration generator of the operator guide and the
// member configurations of the member guide.

// TestConfigGenerator: docs/examples/ixf-to-ixrs.py turns the sample IX-F export into configurations
// for rs1 and rs2 that `routeserver -check` accepts and that differ only in what RFC 7948 §4.4 says
// must differ (router ID, listener, the looking glass's name).
func TestConfigGenerator(t *testing.T) {
	peers.Require(t, "python3")
	dir := t.TempDir()
	if err := os.CopyFS(filepath.Join(dir, "irr"), os.DirFS("../docs/examples/irr")); err != nil {
		t.Fatal(err)
	}
	gen := func(rid, listen string) string {
		out := filepath.Join(dir, rid+".toml")
		cmd := exec.Command("python3", "../docs/examples/ixf-to-ixrs.py", "--asn", "64500", "--router-id", rid,
			"--listen", listen, "--irr-dir", "irr", "--config-dir", dir, "../docs/examples/members.json")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		b, err := cmd.Output()
		if err != nil {
			t.Fatalf("generator: %v\n%s", err, stderr.String())
		}
		if err := os.WriteFile(out, b, 0o644); err != nil {
			t.Fatal(err)
		}
		if b, err := exec.Command(binary, "-check", "-config", out).CombinedOutput(); err != nil {
			t.Fatalf("routeserver -check %s: %v\n%s\n%s", out, err, b, numberedLines(out))
		}
		return out
	}
	rs1, rs2 := gen("192.0.2.1", "192.0.2.1:179"), gen("192.0.2.2", "192.0.2.2:179")
	a, _ := os.ReadFile(rs1)
	b, _ := os.ReadFile(rs2)
	la, lb := strings.Split(string(a), "\n"), strings.Split(string(b), "\n")
	if len(la) != len(lb) {
		t.Fatalf("rs1 and rs2 differ in length: %d, %d lines", len(la), len(lb))
	}
	for i := range la {
		if la[i] != lb[i] && !strings.HasPrefix(la[i], "router_id") && !strings.HasPrefix(la[i], "listen") &&
			!strings.HasPrefix(la[i], "name = \"AS64500") {
			t.Errorf("line %d differs: %q, %q", i+1, la[i], lb[i])
		}
	}
	// Members with routeserver=true and an active connection; IRR files where bgpq4 wrote them.
	for _, want := range []string{`name = "Example Networks"`, `neighbors = ["192.0.2.11", "2001:db8:ffff::11"]`,
		`irr_prefix_file = "irr/AS64501.prefixes"`, `name = "Another Network"`, "max_prefix_ipv4 = 5000"} {
		if !strings.Contains(string(a), want) {
			t.Errorf("generated configuration lacks %s", want)
		}
	}
	for _, unwanted := range []string{"No Route Server", "Leaving Member", "asn = 64500\nneighbors"} {
		if strings.Contains(string(a), unwanted) {
			t.Errorf("generated configuration has %q", unwanted)
		}
	}
}

func numberedLines(path string) string {
	b, _ := os.ReadFile(path)
	var sb strings.Builder
	for i, l := range strings.Split(string(b), "\n") {
		fmt.Fprintf(&sb, "%3d %s\n", i+1, l)
	}
	return sb.String()
}

// daemonProc runs a member daemon until the test ends; it is stopped by its process group.
func daemonProc(t *testing.T, dir, name string, argv ...string) {
	t.Helper()
	logf, err := os.Create(filepath.Join(dir, name+".out"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); logf.Close(); close(done) }()
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(dir, name+".out"))
			t.Logf("%s output:\n%s", name, b)
		}
	})
}

// guideConfig reads a member guide example and applies the test's rewrites, each a literal
// replacement that must apply (so the example cannot drift away from what the test runs).
func guideConfig(t *testing.T, name string, rewrites ...string) string {
	t.Helper()
	b, err := os.ReadFile("../docs/examples/" + name)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for i := 0; i+1 < len(rewrites); i += 2 {
		if !strings.Contains(s, rewrites[i]) {
			t.Fatalf("%s: %q not found; the test's rewrites no longer fit the example", name, rewrites[i])
		}
		s = strings.ReplaceAll(s, rewrites[i], rewrites[i+1])
	}
	return s
}

// TestMemberGuideConfigs: the BIRD and FRR configurations of docs/member-guide.md, run as members of
// a route server, announce their prefix to a third member and receive its route. The test changes
// only what a loopback test needs: addresses, ports, the route server's AS, BIRD's next hop, BIRD's multihop and bind, FRR's
// connected-check and import-check (there is no zebra), and drops the session to rs2.
func TestMemberGuideConfigs(t *testing.T) {
	peers.Require(t, "bird", "birdc", "/usr/lib/frr/bgpd", "vtysh")
	observer := &member{name: "observer", start: peers.StartBIRD, addr: "127.0.1.2", as: 65001, routes: []peers.Announce{
		{Prefix: pfx("198.51.102.0/24"), NextHop: adr("192.0.2.2")}, // FRR refuses a loopback next hop from a neighbor
	}}
	cfg := configFor([]*member{observer}) + `
[[member]]
name = "bird-guide"
asn = 64501
neighbors = ["127.0.8.1"]
passive = true

[[member]]
name = "frr-guide"
asn = 64502
neighbors = ["127.0.8.2"]
passive = true
`
	rs := startRouteServer(t, cfg)
	port := fmt.Sprint(rs.port)

	bdir := t.TempDir()
	bport := peers.FreePort(t, adr("127.0.8.1"))
	bconf := guideConfig(t, "member-bird.conf",
		"router id 192.0.2.11;", fmt.Sprintf("router id 192.0.2.11;\nlog %q all;", filepath.Join(bdir, "bird.log")),
		"local 192.0.2.11 as 64501;", fmt.Sprintf("local 127.0.8.1 port %d as 64501;\n\tstrict bind yes;\n\tmultihop 2;\n\tconnect delay time 1;\n\tconnect retry time 2;", bport),
		"neighbor 192.0.2.1 as 64500;", "neighbor 127.0.0.1 port "+port+" as 65000;", // the test route server's AS
		"protocol bgp rs2 from ixp_rs { neighbor 192.0.2.2 as 64500; }\n", "",
		// On the LAN the next hop is the router's own address; here that is a loopback address, which
		// FRR refuses from a neighbor: send a documentation address, as the other test members do.
		"then accept;", "then { bgp_next_hop = 192.0.2.11; accept; }")
	if err := os.WriteFile(filepath.Join(bdir, "bird.conf"), []byte(bconf), 0o644); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(bdir, "bird.ctl")
	daemonProc(t, bdir, "bird", "bird", "-f", "-c", filepath.Join(bdir, "bird.conf"), "-s", sock, "-P", filepath.Join(bdir, "bird.pid"))

	fdir := t.TempDir()
	vty := filepath.Join(fdir, "run")
	if err := os.MkdirAll(vty, 0o755); err != nil {
		t.Fatal(err)
	}
	fconf := guideConfig(t, "member-frr.conf",
		"bgp log-neighbor-changes", "bgp log-neighbor-changes\n no bgp network import-check",
		"remote-as 64500", "remote-as 65000",
		" neighbor 192.0.2.1 peer-group IXP-RS\n", " neighbor 127.0.0.1 peer-group IXP-RS\n neighbor 127.0.0.1 port "+port+
			"\n neighbor 127.0.0.1 update-source 127.0.8.2\n neighbor 127.0.0.1 disable-connected-check\n neighbor 127.0.0.1 timers connect 2\n",
		" neighbor 192.0.2.2 peer-group IXP-RS\n", "")
	if err := os.WriteFile(filepath.Join(fdir, "frr.conf"), []byte(fconf), 0o644); err != nil {
		t.Fatal(err)
	}
	daemonProc(t, fdir, "frr", "/usr/lib/frr/bgpd", "-f", filepath.Join(fdir, "frr.conf"), "-i", filepath.Join(fdir, "frr.pid"),
		"-S", "-Z", "-P", "0", "-p", "0", "--vty_socket", vty)

	startMembers(t, rs, []*member{observer})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	want := map[string]uint32{"198.51.100.0/24": 64501, "198.51.101.0/24": 64502}
	for {
		cctx, ccancel := context.WithTimeout(ctx, 15*time.Second)
		got, err := received(cctx, observer.peer)
		ccancel()
		ok := err == nil
		for p, asn := range want {
			r, has := got[pfx(p)]
			ok = ok && has && len(r.ASPath) == 1 && r.ASPath[0] == asn
		}
		if ok {
			break
		}
		if ctx.Err() != nil {
			bout, _ := exec.Command("birdc", "-s", sock, "show", "protocols", "all", "rs1").CombinedOutput()
			fout, _ := exec.Command("vtysh", "--vty_socket", vty, "-c", "show bgp summary").CombinedOutput()
			t.Fatalf("the observer did not get both guide members' prefixes: %v, %v\nBIRD:\n%s\nFRR:\n%s", got, err, bout, fout)
		}
		time.Sleep(500 * time.Millisecond)
	}
	// And the guide members got the observer's route through the route server.
	for ctx.Err() == nil {
		bout, _ := exec.CommandContext(ctx, "birdc", "-s", sock, "show", "route", "for", "198.51.102.0/24", "all").CombinedOutput()
		fout, _ := exec.CommandContext(ctx, "vtysh", "--vty_socket", vty, "-c", "show bgp ipv4 unicast 198.51.102.0/24").CombinedOutput()
		if bytes.Contains(bout, []byte("198.51.102.0/24")) && bytes.Contains(bout, []byte("65001")) &&
			bytes.Contains(fout, []byte("65001")) {
			return
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Fatal("the guide members did not receive the observer's route")
}
