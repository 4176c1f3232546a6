package bmp

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ixrs/ixrs/internal/peers"
	"github.com/ixrs/ixrs/internal/rstest"
	"github.com/ixrs/ixrs/speaker"
)

type pmRecord = peers.BMPRecord

// waitFor polls the log until ok holds for the records (every 100 ms, for testTimeout).
func waitFor(t *testing.T, p *peers.Pmbmpd, what string, ok func([]pmRecord) bool) []pmRecord {
	t.Helper()
	deadline := time.Now().Add(testTimeout)
	for {
		rs := p.Records()
		if ok(rs) {
			return rs
		}
		if time.Now().After(deadline) {
			var b strings.Builder
			for _, r := range rs {
				if r.Type != "stats" {
					fmt.Fprintf(&b, "%+v\n", r)
				}
			}
			t.Fatalf("pmbmpd: no %s within %v; log (without stats):\n%s\nroutes:\n%s", what, testTimeout, b.String(),
				strings.Join(routes(rs), "\n"))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// routes returns "peer pre|post prefix path comms" for the announced routes in the log, applying
// withdrawals and peer downs in order.
func routes(rs []pmRecord) []string {
	tab := map[string]string{}
	for _, r := range rs {
		switch {
		case r.Type == "route_monitor":
			pol := "pre"
			if r.IsPost == 1 {
				pol = "post"
			}
			if r.IsOut == 1 {
				pol = "out"
			}
			key := r.PeerIP + " " + pol + " " + r.Prefix
			if r.LogType == "withdraw" || r.LogType == "delete" {
				delete(tab, key)
			} else {
				tab[key] = fmt.Sprintf("%s [%s] nh %s comms %q lcomms %q origin %s", key, r.ASPath, r.NextHop, r.Comms, r.LComms, r.Origin)
			}
		case r.Type == "peer_down":
			for k := range tab {
				if strings.HasPrefix(k, r.PeerIP+" ") {
					delete(tab, k)
				}
			}
		}
	}
	var out []string
	for _, v := range tab {
		out = append(out, v)
	}
	slices.Sort(out)
	return out
}

func count(rs []pmRecord, typ string) int {
	n := 0
	for _, r := range rs {
		if r.Type == typ {
			n++
		}
	}
	return n
}

// TestPmbmpd runs a real pmacct pmbmpd: peer up and down, every route pre- and post-policy with
// its attributes, the filtered one pre-policy only, Adj-RIB-Out, statistics; then the collector is
// killed and restarted and gets the same table again.
func TestPmbmpd(t *testing.T) {
	s := rstest.StartRIB(t, 32)
	a := rstest.AddMember(t, s, "A", 64501, "192.0.2.11")
	b := rstest.AddMember(t, s, "B", 4200000002, "192.0.2.12")
	la := a.Attrs()
	la.LargeCommunities = []speaker.LargeCommunity{{Global: 64501, Local1: 1, Local2: 2}}
	a.Announce(la, "11.0.0.0/24", "11.0.1.0/24")
	bad := a.Attrs()
	bad.ASPath = speaker.ASPath{{Type: speaker.SegSequence, ASNs: []uint32{64666}}}
	a.Announce(bad, "11.0.2.0/24") // first AS not the member's: filtered
	ba := b.Attrs(64999)
	ba.MPNextHop = netip.MustParseAddr("2001:db8:ffff::12")
	b.Announce(ba, "12.0.0.0/16", "2a00:1::/32")

	dir := t.TempDir()
	port := peers.FreePort(t, netip.MustParseAddr("127.0.0.1"))
	col := peers.StartPmbmpd(t, dir, port)
	runExporter(t, s, Config{Address: fmt.Sprintf("127.0.0.1:%d", port), PrePolicy: true, PostPolicy: true, AdjRIBOut: true,
		SysName: "rs1", SysDescr: "ixrs test", StatsInterval: 500 * time.Millisecond, BackoffMin: 100 * time.Millisecond,
		BackoffMax: 500 * time.Millisecond})

	want := []string{
		`192.0.2.11 out 12.0.0.0/16 [4200000002 64999] nh 192.0.2.12 comms "23456:100" lcomms "" origin i`,
		`192.0.2.11 out 2a00:1::/32 [4200000002 64999] nh 2001:db8:ffff::12 comms "23456:100" lcomms "" origin i`,
		`192.0.2.11 post 11.0.0.0/24 [64501] nh 192.0.2.11 comms "64501:100" lcomms "64501:1:2" origin i`,
		`192.0.2.11 post 11.0.1.0/24 [64501] nh 192.0.2.11 comms "64501:100" lcomms "64501:1:2" origin i`,
		`192.0.2.11 pre 11.0.0.0/24 [64501] nh 192.0.2.11 comms "64501:100" lcomms "64501:1:2" origin i`,
		`192.0.2.11 pre 11.0.1.0/24 [64501] nh 192.0.2.11 comms "64501:100" lcomms "64501:1:2" origin i`,
		`192.0.2.11 pre 11.0.2.0/24 [64666] nh 192.0.2.11 comms "64501:100" lcomms "" origin i`,
		`192.0.2.12 out 11.0.0.0/24 [64501] nh 192.0.2.11 comms "64501:100" lcomms "64501:1:2" origin i`,
		`192.0.2.12 out 11.0.1.0/24 [64501] nh 192.0.2.11 comms "64501:100" lcomms "64501:1:2" origin i`,
		`192.0.2.12 post 12.0.0.0/16 [4200000002 64999] nh 192.0.2.12 comms "23456:100" lcomms "" origin i`,
		`192.0.2.12 post 2a00:1::/32 [4200000002 64999] nh 2001:db8:ffff::12 comms "23456:100" lcomms "" origin i`,
		`192.0.2.12 pre 12.0.0.0/16 [4200000002 64999] nh 192.0.2.12 comms "23456:100" lcomms "" origin i`,
		`192.0.2.12 pre 2a00:1::/32 [4200000002 64999] nh 2001:db8:ffff::12 comms "23456:100" lcomms "" origin i`,
	}
	check := func(col *peers.Pmbmpd, what string) []pmRecord {
		t.Helper()
		return waitFor(t, col, what, func(rs []pmRecord) bool {
			return count(rs, "peer_up") == 2 && slices.Equal(routes(rs), want) && count(rs, "stats") > 0
		})
	}
	rs := check(col, "full table")
	for _, r := range rs {
		if r.Type == "route_monitor" && r.Prefix == "11.0.2.0/24" && r.IsPost == 1 {
			t.Errorf("filtered route post-policy: %+v", r)
		}
	}
	if count(rs, "init") != 1 {
		t.Errorf("%d init messages, want 1", count(rs, "init"))
	}

	// Kill the collector and start it again on the same port: the exporter reconnects and the
	// new collector gets the whole table.
	col.Stop()
	dir2 := t.TempDir()
	col2 := peers.StartPmbmpd(t, dir2, port)
	check(col2, "full table after the collector restarted")

	// A's session goes down: a peer down, and its routes leave every table.
	a.Peer.DownWithReason("received NOTIFICATION Cease/Administrative Shutdown")
	waitFor(t, col2, "peer down", func(rs []pmRecord) bool { return count(rs, "peer_down") == 1 })
}
