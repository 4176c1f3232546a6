package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/ixrs/ixrs/config"
	"github.com/ixrs/ixrs/speaker"
)

// The daemon runs in the test process: members are routers built on the speaker package, connecting
// over loopback to the daemon's listener.

const testServer = `[server]
asn = 65000
router_id = "10.0.0.1"
listen = ["127.0.0.1:0"]
connect_retry = "1s"

[defaults]
next_hop = "any"
irr = "off"
rpki = "off"
reject_bogon_asns = false
reject_bogon_prefixes = false
`

func memberTOML(name string, asn uint32, addr, extra string) string {
	return fmt.Sprintf("\n[[member]]\nname = %q\nasn = %d\nneighbors = [%q]\npassive = true\n%s", name, asn, addr, extra)
}

// testDaemon runs a daemon on the configuration in file path until the test ends.
func testDaemon(t *testing.T, path string) (*Daemon, int) {
	t.Helper()
	return testDaemonLogging(t, path, slog.New(slog.NewTextHandler(io.Discard, nil)))
}

// testDaemonLogging is testDaemon logging to log.
func testDaemonLogging(t *testing.T, path string, log *slog.Logger) (*Daemon, int) {
	t.Helper()
	d, port, _ := runDaemonLogging(t, path, log)
	return d, port
}

// runDaemonLogging runs a daemon on the configuration in file path, logging to log, until stop is
// called or the test ends. A reload reads path again.
func runDaemonLogging(t *testing.T, path string, log *slog.Logger) (d *Daemon, port int, stop func()) {
	t.Helper()
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	d, err = New(cfg, Options{Logger: log, Load: func() (*config.Config, error) {
		return config.Load(path)
	}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			t.Error("daemon did not stop")
		}
	}
	t.Cleanup(stop)
	select {
	case <-d.Ready():
	case err := <-done:
		t.Fatalf("daemon stopped: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("daemon not ready")
	}
	addrs, err := d.ListenAddrs(context.Background())
	if err != nil || len(addrs) != 1 {
		t.Fatalf("listen addrs %v, %v", addrs, err)
	}
	return d, addrs[0].(*net.TCPAddr).Port, stop
}

// tmember is a member router on the speaker package.
type tmember struct {
	speaker.NopHandler
	peer *speaker.Peer

	mu     sync.Mutex
	rib    map[netip.Prefix]*speaker.Attrs
	up     bool
	ups    int
	notifs []speaker.Notification
	rr     int // ROUTE-REFRESH messages received
}

func startMember(t *testing.T, port int, addr string, asn uint32) *tmember {
	t.Helper()
	sp, err := speaker.New(speaker.Config{ASN: asn, RouterID: netip.MustParseAddr(addr), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sp.Close)
	m := &tmember{rib: map[netip.Prefix]*speaker.Attrs{}}
	m.peer, err = sp.AddPeer(speaker.PeerConfig{Name: "rs", PeerAddr: netip.MustParseAddr("127.0.0.1"), PeerPort: uint16(port),
		PeerAS: 65000, LocalAddr: netip.MustParseAddr(addr), ConnectRetry: time.Second}, m)
	if err != nil {
		t.Fatal(err)
	}
	m.peer.Start()
	return m
}

func (m *tmember) Established(*speaker.Peer, *speaker.Open) {
	m.mu.Lock()
	m.up, m.ups = true, m.ups+1
	clear(m.rib)
	m.mu.Unlock()
}

func (m *tmember) Down(*speaker.Peer, error) { m.mu.Lock(); m.up = false; m.mu.Unlock() }

func (m *tmember) Update(_ *speaker.Peer, u *speaker.Update, _ *speaker.UpdateError) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, p := range u.Withdrawn {
		delete(m.rib, p)
	}
	for _, p := range u.NLRI {
		m.rib[p] = u.Attrs
	}
}

func (m *tmember) RouteRefresh(_ *speaker.Peer, rr speaker.RouteRefresh) {
	m.mu.Lock()
	m.rr++
	m.mu.Unlock()
}

func (m *tmember) Notification(_ *speaker.Peer, n speaker.Notification, sent bool) {
	if !sent {
		m.mu.Lock()
		m.notifs = append(m.notifs, n)
		m.mu.Unlock()
	}
}

func (m *tmember) state() (up bool, ups, routes, rr int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.up, m.ups, len(m.rib), m.rr
}

func (m *tmember) announce(t *testing.T, asn uint32, prefixes ...string) {
	t.Helper()
	a := &speaker.Attrs{NextHop: m.peer.Config().LocalAddr, ASPath: speaker.ASPath{{Type: speaker.SegSequence, ASNs: []uint32{asn}}}}
	var ps []netip.Prefix
	for _, p := range prefixes {
		ps = append(ps, netip.MustParsePrefix(p))
	}
	if err := m.peer.Announce(a, ps...); err != nil {
		t.Fatal(err)
	}
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not reached in 30s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func writeConfig(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestDaemonReload: routes flow between members; a broken configuration is refused with its line and
// changes nothing; a good one adds a member and applies a policy change without resetting anyone.
func TestDaemonReload(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.toml")
	base := testServer + memberTOML("A", 65001, "127.0.3.1", "") + memberTOML("B", 65002, "127.0.3.2", "")
	writeConfig(t, path, base)
	d, port := testDaemon(t, path)
	a := startMember(t, port, "127.0.3.1", 65001)
	b := startMember(t, port, "127.0.3.2", 65002)
	eventually(t, "sessions up", func() bool { ua, _, _, _ := a.state(); ub, _, _, _ := b.state(); return ua && ub })
	a.announce(t, 65001, "11.0.1.0/24", "11.0.2.0/24")
	eventually(t, "B has A's routes", func() bool { _, _, n, _ := b.state(); return n == 2 })

	writeConfig(t, path, base+"\n[[member]]\nname = \"C\"\nasn = \"x\"\n")
	_, err := d.Reload(context.Background())
	var errs *config.Errors
	if !errors.As(err, &errs) || len(*errs) == 0 || (*errs)[0].Line == 0 {
		t.Fatalf("broken configuration: %v, want problems with lines", err)
	}

	writeConfig(t, path, base+memberTOML("C", 65003, "127.0.3.3", "")+"")
	res, err := d.Reload(context.Background())
	if err != nil || res.Added != 1 || res.Removed != 0 || res.Changed != 0 {
		t.Fatalf("reload: %+v, %v; want one member added", res, err)
	}
	c := startMember(t, port, "127.0.3.3", 65003)
	eventually(t, "C has A's routes", func() bool { _, _, n, _ := c.state(); return n == 2 })

	// A policy change (maximum path length 0 → A's routes are fine; prefix length filter drops /24s)
	// applies without a reset.
	writeConfig(t, path, testServer+memberTOML("A", 65001, "127.0.3.1", "prefix_lengths_ipv4 = [8, 23]\n")+
		memberTOML("B", 65002, "127.0.3.2", "")+memberTOML("C", 65003, "127.0.3.3", ""))
	res, err = d.Reload(context.Background())
	if err != nil || res.PolicyChanged != 1 {
		t.Fatalf("reload: %+v, %v; want one policy change", res, err)
	}
	eventually(t, "A's /24s filtered", func() bool { _, _, n, _ := b.state(); return n == 0 })
	if _, ups, _, _ := a.state(); ups != 1 {
		t.Errorf("A's session was reset by a policy change (%d ups)", ups)
	}
}

// TestDaemonMaxPrefixShutdown: action shutdown closes the session with Cease/1 and keeps it down;
// ClearMaxPrefix brings it back.
func TestDaemonMaxPrefixShutdown(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.toml")
	writeConfig(t, path, testServer+memberTOML("A", 65001, "127.0.3.1", "max_prefix_ipv4 = 2\nmax_prefix_action = \"shutdown\"\n")+
		memberTOML("B", 65002, "127.0.3.2", ""))
	d, port := testDaemon(t, path)
	a := startMember(t, port, "127.0.3.1", 65001)
	b := startMember(t, port, "127.0.3.2", 65002)
	eventually(t, "sessions up", func() bool { ua, _, _, _ := a.state(); ub, _, _, _ := b.state(); return ua && ub })
	a.announce(t, 65001, "11.0.1.0/24", "11.0.2.0/24", "11.0.3.0/24")
	eventually(t, "A closed", func() bool {
		a.mu.Lock()
		defer a.mu.Unlock()
		return len(a.notifs) > 0 && a.notifs[0].Code == speaker.ErrCease && a.notifs[0].Subcode == speaker.SubMaxPrefixes
	})
	eventually(t, "A's routes gone from B", func() bool { _, _, n, _ := b.state(); return n == 0 })
	// A retries every second; the route server refuses it until cleared.
	time.Sleep(3 * time.Second)
	if up, ups, _, _ := a.state(); up || ups != 1 {
		t.Fatalf("A came back by itself (up %v, %d ups)", up, ups)
	}
	if n, err := d.ClearMaxPrefix(context.Background(), "A"); n != 1 || err != nil {
		t.Fatalf("ClearMaxPrefix: %d, %v", n, err)
	}
	eventually(t, "A back", func() bool { up, ups, _, _ := a.state(); return up && ups == 2 })
	if _, err := d.ClearMaxPrefix(context.Background(), "nobody"); !errors.Is(err, ErrUnknownMember) {
		t.Errorf("ClearMaxPrefix(nobody): %v", err)
	}
}

// TestDaemonMaxPrefixBlock: action block ignores routes beyond the limit and asks for them again
// (ROUTE-REFRESH) once the member is back under it.
func TestDaemonMaxPrefixBlock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.toml")
	writeConfig(t, path, testServer+memberTOML("A", 65001, "127.0.3.1", "max_prefix_ipv4 = 2\nmax_prefix_action = \"block\"\n")+
		memberTOML("B", 65002, "127.0.3.2", ""))
	_, port := testDaemon(t, path)
	a := startMember(t, port, "127.0.3.1", 65001)
	b := startMember(t, port, "127.0.3.2", 65002)
	eventually(t, "sessions up", func() bool { ua, _, _, _ := a.state(); ub, _, _, _ := b.state(); return ua && ub })
	a.announce(t, 65001, "11.0.1.0/24", "11.0.2.0/24", "11.0.3.0/24")
	eventually(t, "B has two of A's routes", func() bool { _, _, n, _ := b.state(); return n == 2 })
	if _, _, _, rr := a.state(); rr != 0 {
		t.Fatalf("ROUTE-REFRESH before A went under its limit")
	}
	if err := a.peer.Withdraw(netip.MustParsePrefix("11.0.1.0/24")); err != nil {
		t.Fatal(err)
	}
	eventually(t, "ROUTE-REFRESH to A", func() bool { _, _, _, rr := a.state(); return rr == 1 })
	if up, ups, _, _ := a.state(); !up || ups != 1 {
		t.Errorf("block reset A's session")
	}
}
