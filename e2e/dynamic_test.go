package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ixrs/ixrs/internal/peers"
)

// TestDynamicMembers: BIRD members connecting from inside a [[member_range]] are accepted with the AS
// of their OPEN and exchange routes with a listed member, and rsctl marks them dynamic (table and
// -json); a BIRD from outside every range is refused.
func TestDynamicMembers(t *testing.T) {
	peers.Require(t, "bird", "birdc")
	dir := t.TempDir()
	bin := filepath.Join(dir, "rsctl")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/rsctl").CombinedOutput(); err != nil {
		t.Fatalf("go build rsctl: %v\n%s", err, out)
	}
	socket := filepath.Join(dir, "admin.sock")
	static := &member{name: "static", start: peers.StartBIRD, addr: "127.0.1.2", as: 65001, routes: []peers.Announce{
		{Prefix: pfx("198.51.100.0/24"), NextHop: adr("192.0.2.2")},
	}}
	dyn1 := &member{name: "dyn1", start: peers.StartBIRD, addr: "127.0.6.2", as: 65020, routes: []peers.Announce{
		{Prefix: pfx("198.51.120.0/24"), NextHop: adr("192.0.2.20")},
		{Prefix: pfx("2001:db8:120::/48"), NextHop: adr("2001:db8:ff::20")},
	}}
	dyn2 := &member{name: "dyn2", start: peers.StartBIRD, addr: "127.0.6.3", as: 65021, routes: []peers.Announce{
		{Prefix: pfx("198.51.121.0/24"), NextHop: adr("192.0.2.21")},
	}}
	outside := &member{name: "outside", start: peers.StartBIRD, addr: "127.0.7.2", as: 65020, routes: []peers.Announce{
		{Prefix: pfx("198.51.122.0/24"), NextHop: adr("192.0.2.22")},
	}}
	cfg := strings.Replace(configFor([]*member{static}), "[defaults]", fmt.Sprintf("[admin]\nsocket = %q\n\n[defaults]", socket), 1) + `
[[member_range]]
name = "lan"
prefixes = ["127.0.6.0/24"]
asns = [65020]
max_sessions = 10
description = "self-service"

[[member_range.neighbor]]
address = "127.0.6.3"
asn = 65021
`
	rs := startRouteServer(t, cfg)
	ms := []*member{static, dyn1, dyn2}
	startMembers(t, rs, append(ms, outside))
	waitTables(t, ms, nil, nil, 90*time.Second)

	if !logLine(rs, `msg="dynamic member established"`, "member=lan-AS65020-127.0.6.2", "asn=65020") {
		t.Error("no log line for the dynamic member lan-AS65020-127.0.6.2")
	}
	checkRsctlDynamic(t, rsctlCmd{bin: bin, socket: socket})
	deadline := time.Now().Add(30 * time.Second)
	for !logLine(rs, `msg="refused connection from an address that is not a configured neighbor"`, "remote=127.0.7.2:") {
		if time.Now().After(deadline) {
			t.Fatal("the member outside every range was not refused")
		}
		time.Sleep(300 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if up, err := outside.peer.Established(ctx); err != nil || up {
		t.Fatalf("member outside every range: established %v, %v", up, err)
	}
	// A dynamic member that leaves has its routes withdrawn everywhere.
	if err := dyn1.peer.Stop(); err != nil {
		t.Fatal(err)
	}
	waitTables(t, ms, map[string]bool{"dyn1": true}, nil, 60*time.Second)
}

// checkRsctlDynamic: show summary and show neighbor, as tables and -json, mark the two dynamic members
// with their range, and only them.
func checkRsctlDynamic(t *testing.T, ctl rsctlCmd) {
	t.Helper()
	var s struct {
		Neighbors []struct {
			Member, Neighbor string
			ASN              uint32
			Dynamic          bool   `json:"dynamic"`
			Range            string `json:"range"`
		}
	}
	out := ctl.must(t, 0, "-json", "show", "summary")
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatalf("show summary -json: %v\n%s", err, out)
	}
	want := map[string]string{"lan-AS65020-127.0.6.2": "lan", "lan-AS65021-127.0.6.3": "lan", "static": ""}
	got := map[string]string{}
	for _, n := range s.Neighbors {
		if n.Dynamic != (n.Range != "") {
			t.Errorf("%s: dynamic %v, range %q", n.Member, n.Dynamic, n.Range)
		}
		got[n.Member] = n.Range
	}
	if !maps.Equal(got, want) {
		t.Errorf("show summary -json: member → range %v, want %v\n%s", got, want, out)
	}
	table := ctl.must(t, 0, "show", "summary")
	for _, line := range strings.Split(table, "\n") {
		if strings.Contains(line, "127.0.6.") != strings.Contains(line, "dynamic (lan)") {
			t.Errorf("show summary: a dynamic member unmarked or a static one marked:\n%s", table)
			break
		}
	}
	if out := ctl.must(t, 0, "show", "neighbor", "127.0.6.2"); !strings.Contains(out, "Dynamic member of member_range lan") {
		t.Errorf("show neighbor 127.0.6.2 does not say dynamic:\n%s", out)
	}
	if out := ctl.must(t, 0, "show", "neighbor", "static"); strings.Contains(out, "Dynamic") {
		t.Errorf("show neighbor static says dynamic:\n%s", out)
	}
}

// logLine reports whether one line of the route server's log contains every one of parts.
func logLine(rs *routeServer, parts ...string) bool {
	b, _ := os.ReadFile(rs.log)
	for _, line := range strings.Split(string(b), "\n") {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(line, p)
		}
		if all {
			return true
		}
	}
	return false
}
