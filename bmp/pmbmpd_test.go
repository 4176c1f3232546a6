package bmp

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ixrs/ixrs/internal/peers"
	"github.com/ixrs/ixrs/speaker"
)

// pmbmpd is a running pmacct BMP collector writing one JSON object per message to log.
type pmbmpd struct {
	cmd  *exec.Cmd
	dir  string
	log  string
	done chan struct{}
}

// startPmbmpd runs pmbmpd on 127.0.0.1:port until stop or the end of the test.
func startPmbmpd(t *testing.T, dir string, port int) *pmbmpd {
	t.Helper()
	p := &pmbmpd{dir: dir, log: filepath.Join(dir, "bmp-msglog.json"), done: make(chan struct{})}
	conf := fmt.Sprintf(`daemonize: false
pidfile: %[1]s/pmbmpd.pid
logfile: %[1]s/pmbmpd.log
bmp_daemon_ip: 127.0.0.1
bmp_daemon_port: %[2]d
bmp_daemon_max_peers: 10
bmp_daemon_msglog_file: %[1]s/bmp-msglog.json
bmp_daemon_msglog_output: json
`, dir, port)
	path := filepath.Join(dir, "pmbmpd.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	p.cmd = exec.Command("pmbmpd", "-f", path)
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.stop(t)
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(dir, "pmbmpd.log"))
			t.Logf("pmbmpd log:\n%s", b)
		}
	})
	return p
}

// stop ends pmbmpd with SIGINT (it ignores SIGTERM for a long while), then SIGKILL after 10 s.
func (p *pmbmpd) stop(t *testing.T) {
	select {
	case <-p.done:
		return
	default:
	}
	p.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
	}
}

// pmRecord is the part of a pmbmpd JSON log line the tests read.
type pmRecord struct {
	Type     string `json:"bmp_msg_type"`
	LogType  string `json:"log_type"`
	PeerIP   string `json:"peer_ip"`
	IsPost   int    `json:"is_post"`
	IsOut    int    `json:"is_out"`
	Prefix   string `json:"ip_prefix"`
	ASPath   string `json:"as_path"`
	NextHop  string `json:"bgp_nexthop"`
	Comms    string `json:"comms"`
	LComms   string `json:"lcomms"`
	Origin   string `json:"origin"`
	Reason   string `json:"reason_str"`
	Counter  string `json:"counter_type_str"`
	Value    any    `json:"counter_value"`
	PeerASN  uint32 `json:"peer_asn"`
	BGPID    string `json:"bgp_id"`
	LocalRID string `json:"local_bgp_id"`
}

func (p *pmbmpd) records(t *testing.T) []pmRecord {
	t.Helper()
	f, err := os.Open(p.log)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []pmRecord
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<16), 1<<20)
	for sc.Scan() {
		var r pmRecord
		if json.Unmarshal(sc.Bytes(), &r) == nil {
			out = append(out, r)
		}
	}
	return out
}

// waitFor polls the log until ok holds for the records (every 100 ms, for testTimeout).
func (p *pmbmpd) waitFor(t *testing.T, what string, ok func([]pmRecord) bool) []pmRecord {
	t.Helper()
	deadline := time.Now().Add(testTimeout)
	for {
		rs := p.records(t)
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
	peers.Require(t, "pmbmpd")
	s := startRIB(t)
	a := addMember(t, s, "A", 64501, "192.0.2.11")
	b := addMember(t, s, "B", 4200000002, "192.0.2.12")
	la := a.attrs()
	la.LargeCommunities = []speaker.LargeCommunity{{Global: 64501, Local1: 1, Local2: 2}}
	a.announce(la, "11.0.0.0/24", "11.0.1.0/24")
	bad := a.attrs()
	bad.ASPath = speaker.ASPath{{Type: speaker.SegSequence, ASNs: []uint32{64666}}}
	a.announce(bad, "11.0.2.0/24") // first AS not the member's: filtered
	ba := b.attrs(64999)
	ba.MPNextHop = netip.MustParseAddr("2001:db8:ffff::12")
	b.announce(ba, "12.0.0.0/16", "2a00:1::/32")

	dir := t.TempDir()
	port := peers.FreePort(t, netip.MustParseAddr("127.0.0.1"))
	col := startPmbmpd(t, dir, port)
	runExporter(t, s, Config{Address: fmt.Sprintf("127.0.0.1:%d", port), PrePolicy: true, PostPolicy: true, AdjRIBOut: true,
		SysName: "rs1", SysDescr: "ixrs test", StatsInterval: 500 * time.Millisecond, BackoffMin: 100 * time.Millisecond,
		BackoffMax: 500 * time.Millisecond})

	want := []string{
		`192.0.2.11 out 12.0.0.0/16 [4200000002 64999] nh 192.0.2.12 comms "59906:100" lcomms "" origin i`,
		`192.0.2.11 out 2a00:1::/32 [4200000002 64999] nh 2001:db8:ffff::12 comms "59906:100" lcomms "" origin i`,
		`192.0.2.11 post 11.0.0.0/24 [64501] nh 192.0.2.11 comms "64501:100" lcomms "64501:1:2" origin i`,
		`192.0.2.11 post 11.0.1.0/24 [64501] nh 192.0.2.11 comms "64501:100" lcomms "64501:1:2" origin i`,
		`192.0.2.11 pre 11.0.0.0/24 [64501] nh 192.0.2.11 comms "64501:100" lcomms "64501:1:2" origin i`,
		`192.0.2.11 pre 11.0.1.0/24 [64501] nh 192.0.2.11 comms "64501:100" lcomms "64501:1:2" origin i`,
		`192.0.2.11 pre 11.0.2.0/24 [64666] nh 192.0.2.11 comms "64501:100" lcomms "" origin i`,
		`192.0.2.12 out 11.0.0.0/24 [64501] nh 192.0.2.11 comms "64501:100" lcomms "64501:1:2" origin i`,
		`192.0.2.12 out 11.0.1.0/24 [64501] nh 192.0.2.11 comms "64501:100" lcomms "64501:1:2" origin i`,
		`192.0.2.12 post 12.0.0.0/16 [4200000002 64999] nh 192.0.2.12 comms "59906:100" lcomms "" origin i`,
		`192.0.2.12 post 2a00:1::/32 [4200000002 64999] nh 2001:db8:ffff::12 comms "59906:100" lcomms "" origin i`,
		`192.0.2.12 pre 12.0.0.0/16 [4200000002 64999] nh 192.0.2.12 comms "59906:100" lcomms "" origin i`,
		`192.0.2.12 pre 2a00:1::/32 [4200000002 64999] nh 2001:db8:ffff::12 comms "59906:100" lcomms "" origin i`,
	}
	check := func(col *pmbmpd, what string) []pmRecord {
		t.Helper()
		return col.waitFor(t, what, func(rs []pmRecord) bool {
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
	col.stop(t)
	dir2 := t.TempDir()
	col2 := startPmbmpd(t, dir2, port)
	check(col2, "full table after the collector restarted")

	// A's session goes down: a peer down, and its routes leave every table.
	a.peer.DownWithReason("received NOTIFICATION Cease/Administrative Shutdown")
	col2.waitFor(t, "peer down", func(rs []pmRecord) bool { return count(rs, "peer_down") == 1 })
}
