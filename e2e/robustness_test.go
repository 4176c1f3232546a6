package e2e

import (
	"context"
	be "encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ixrs/ixrs/internal/peers"
	"github.com/ixrs/ixrs/speaker"
)

// libMember is a member router built on our own speaker package, so that a test can send the route
// server exactly the bytes it wants, malformed ones included.
type libMember struct {
	speaker.NopHandler
	peer *speaker.Peer

	mu     sync.Mutex
	rib    map[netip.Prefix]*speaker.Attrs
	ups    int
	downs  []error
	estab  chan struct{}
	notifs []speaker.Notification
}

func startLibMember(t *testing.T, rs *routeServer, addr string, as uint32) *libMember {
	t.Helper()
	sp, err := speaker.New(speaker.Config{ASN: as, RouterID: adr("10.9.9.9"), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sp.Close)
	m := &libMember{rib: map[netip.Prefix]*speaker.Attrs{}, estab: make(chan struct{}, 16)}
	m.peer, err = sp.AddPeer(speaker.PeerConfig{Name: "rs", PeerAddr: adr("127.0.0.1"), PeerPort: uint16(rs.port), PeerAS: 65000,
		LocalAddr: adr(addr), ConnectRetry: time.Second}, m)
	if err != nil {
		t.Fatal(err)
	}
	m.peer.Start()
	return m
}

func (m *libMember) Established(*speaker.Peer, *speaker.Open) {
	m.mu.Lock()
	m.ups++
	m.mu.Unlock()
	m.estab <- struct{}{}
}

func (m *libMember) Update(_ *speaker.Peer, u *speaker.Update, _ *speaker.UpdateError) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, p := range u.Withdrawn {
		delete(m.rib, p)
	}
	for _, p := range u.NLRI {
		m.rib[p] = u.Attrs
	}
}

func (m *libMember) Notification(_ *speaker.Peer, n speaker.Notification, sent bool) {
	if !sent {
		m.mu.Lock()
		m.notifs = append(m.notifs, n)
		m.mu.Unlock()
	}
}

func (m *libMember) Down(_ *speaker.Peer, err error) {
	m.mu.Lock()
	m.downs = append(m.downs, err)
	m.mu.Unlock()
}

func (m *libMember) has(p netip.Prefix) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.rib[p]
	return ok
}

func (m *libMember) counts() (ups, downs int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.ups, len(m.downs)
}

func (m *libMember) waitUp(t *testing.T) {
	t.Helper()
	select {
	case <-m.estab:
	case <-time.After(60 * time.Second):
		t.Fatal("library member: session to the route server not established")
	}
}

func poll(t *testing.T, what string, timeout time.Duration, cond func() (bool, error)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last error
	for time.Now().Before(deadline) {
		ok, err := cond()
		if ok {
			return
		}
		last = err
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("timed out after %s waiting for %s (last error: %v)", timeout, what, last)
}

func birdHas(t *testing.T, p peers.Peer, pfx netip.Prefix) func() (bool, error) {
	return func() (bool, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		rs, err := p.Received(ctx)
		return slices.ContainsFunc(rs, func(r peers.Route) bool { return r.Prefix == pfx }), err
	}
}

func not(f func() (bool, error)) func() (bool, error) {
	return func() (bool, error) { ok, err := f(); return !ok && err == nil, err }
}

// malformedUpdate is an UPDATE for 203.0.113.0/24 whose attributes are ORIGIN, AS_PATH (as), NEXT_HOP,
// then the extra attribute bytes, and whose NLRI field is nlri.
func malformedUpdate(as uint32, extra []byte, nlri []byte) []byte {
	var attrs []byte
	attrs = append(attrs, 0x40, 1, 1, 0)                       // ORIGIN IGP
	attrs = append(attrs, 0x40, 2, 6, 2, 1)                    // AS_PATH, one AS_SEQUENCE of 1
	attrs = be.BigEndian.AppendUint32(attrs, as)               //
	attrs = append(attrs, 0x40, 3, 4, 192, 0, 2, 20)           // NEXT_HOP
	attrs = append(attrs, extra...)                            //
	body := be.BigEndian.AppendUint16(nil, 0)                  // no withdrawn routes
	body = be.BigEndian.AppendUint16(body, uint16(len(attrs))) //
	body = append(append(body, attrs...), nlri...)             //
	msg := []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, speaker.MsgUpdate}
	be.BigEndian.PutUint16(msg[16:], uint16(len(msg)+len(body)))
	return append(msg, body...)
}

// TestMalformedUpdateIsolated: a member's malformed UPDATEs get exactly their RFC 7606 treatment at the
// route server, and the other members' sessions and routes are untouched.
func TestMalformedUpdateIsolated(t *testing.T) {
	peers.Require(t, "bird", "birdc")
	bird := &member{name: "bird", start: peers.StartBIRD, addr: "127.0.1.32", as: 65032, routes: []peers.Announce{
		{Prefix: pfx("198.51.100.0/24"), NextHop: adr("192.0.2.32")}}}
	lib := &member{name: "lib", addr: "127.0.1.33", as: 65033}
	rs := startRouteServer(t, configFor([]*member{bird, lib}))
	startMembers(t, rs, []*member{bird})
	m := startLibMember(t, rs, lib.addr, lib.as)
	m.waitUp(t)
	poll(t, "the library member to get BIRD's route", 60*time.Second, func() (bool, error) { return m.has(pfx("198.51.100.0/24")), nil })

	ours := pfx("203.0.113.0/24")
	attrs := &speaker.Attrs{Origin: speaker.OriginIGP, ASPath: speaker.ASPath{{Type: speaker.SegSequence, ASNs: []uint32{lib.as}}},
		NextHop: adr("192.0.2.20")}
	if err := m.peer.Announce(attrs, ours); err != nil {
		t.Fatal(err)
	}
	poll(t, "BIRD to get the library member's route", 60*time.Second, birdHas(t, bird.peer, ours))

	// Treat-as-withdraw (RFC 7606 §7.8: COMMUNITIES of length 3): the route goes, the session stays.
	if _, err := m.peer.Queue(malformedUpdate(lib.as, []byte{0xc0, 8, 3, 1, 2, 3}, []byte{24, 203, 0, 113})); err != nil {
		t.Fatal(err)
	}
	poll(t, "BIRD to lose the route withdrawn by the malformed UPDATE", 60*time.Second, not(birdHas(t, bird.peer, ours)))
	if ups, downs := m.counts(); ups != 1 || downs != 0 {
		t.Fatalf("treat-as-withdraw reset the session: %d ups, %d downs", ups, downs)
	}

	// Session reset (an NLRI of /33): the route server sends UPDATE Message Error and closes; the
	// process and BIRD's session and routes carry on.
	if err := m.peer.Announce(attrs, ours); err != nil {
		t.Fatal(err)
	}
	poll(t, "BIRD to get the route again", 60*time.Second, birdHas(t, bird.peer, ours))
	if _, err := m.peer.Queue(malformedUpdate(lib.as, nil, []byte{33, 203, 0, 113, 0, 0})); err != nil {
		t.Fatal(err)
	}
	poll(t, "the route server to reset the library member's session", 30*time.Second, func() (bool, error) {
		_, downs := m.counts()
		return downs == 1, nil
	})
	m.mu.Lock()
	var se *speaker.SessionError
	if !errors.As(m.downs[0], &se) || se.Notification == nil || se.Notification.Code != speaker.ErrUpdate {
		t.Errorf("reset with %v, want an UPDATE Message Error NOTIFICATION", m.downs[0])
	}
	m.mu.Unlock()
	poll(t, "BIRD to lose the reset member's route", 60*time.Second, not(birdHas(t, bird.peer, ours)))
	poll(t, "BIRD to keep its session", 15*time.Second, func() (bool, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return bird.peer.Established(ctx)
	})
	// The library member reconnects and gets BIRD's route again: the route server is alive and well.
	m.waitUp(t)
	poll(t, "BIRD's route after the reconnect", 60*time.Second, func() (bool, error) { return m.has(pfx("198.51.100.0/24")), nil })
}

// TestReloadKeepsSessions: a broken configuration on SIGHUP is refused with the line that is wrong and the
// running one stays in force; a valid one adds a member without touching the others' sessions.
func TestReloadKeepsSessions(t *testing.T) {
	peers.Require(t, "bird", "birdc")
	bird := &member{name: "bird", start: peers.StartBIRD, addr: "127.0.1.42", as: 65042, routes: []peers.Announce{
		{Prefix: pfx("198.51.100.0/24"), NextHop: adr("192.0.2.42")}}}
	lib := &member{name: "lib", addr: "127.0.1.43", as: 65043}
	base := configFor([]*member{bird, lib})
	rs := startRouteServer(t, base)
	startMembers(t, rs, []*member{bird})
	m := startLibMember(t, rs, lib.addr, lib.as)
	m.waitUp(t)
	poll(t, "BIRD's route", 60*time.Second, func() (bool, error) { return m.has(pfx("198.51.100.0/24")), nil })

	cfgPath := filepath.Join(filepath.Dir(rs.log), "config.toml")
	running := fmt.Sprintf("%s", mustRead(t, cfgPath))
	broken := running + "\n[[member]]\nname = \"typo\"\nasn = 65044\nneighbors = [\"127.0.1.44\"]\npasive = true\n"
	if err := os.WriteFile(cfgPath, []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}
	brokenLine := len(splitLines(broken)) - 1 // the misspelt key
	rs.cmd.Process.Signal(syscall.SIGHUP)
	poll(t, "the route server to refuse the broken configuration", 30*time.Second, func() (bool, error) {
		return rs.logContains(fmt.Sprintf("config.toml:%d", brokenLine)) && rs.logContains("pasive"), nil
	})
	if !rs.logContains("configuration refused; the running configuration stays in force") {
		t.Fatal("refusal not logged")
	}

	// A valid change: a new member (another library speaker) comes up; the others are not reset.
	added := running + "\n[[member]]\nname = \"new\"\nasn = 65045\nneighbors = [\"127.0.1.45\"]\npassive = true\n"
	if err := os.WriteFile(cfgPath, []byte(added), 0o644); err != nil {
		t.Fatal(err)
	}
	rs.cmd.Process.Signal(syscall.SIGHUP)
	n := startLibMember(t, rs, "127.0.1.45", 65045)
	n.waitUp(t)
	poll(t, "the new member to get BIRD's route", 60*time.Second, func() (bool, error) { return n.has(pfx("198.51.100.0/24")), nil })
	if ups, downs := m.counts(); ups != 1 || downs != 0 {
		t.Fatalf("an unchanged member's session was reset by the reloads: %d ups, %d downs", ups, downs)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if ok, err := bird.peer.Established(ctx); !ok {
		t.Fatalf("BIRD's session went down: %v", err)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func splitLines(s string) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}
