package e2e

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ixrs/ixrs/internal/peers"
)

// TestDynamicMembers: BIRD members connecting from inside a [[member_range]] are accepted with the AS
// of their OPEN and exchange routes with a listed member; a BIRD from outside every range is refused.
func TestDynamicMembers(t *testing.T) {
	peers.Require(t, "bird", "birdc")
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
	cfg := configFor([]*member{static}) + `
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
