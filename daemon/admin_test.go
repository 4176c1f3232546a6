package daemon

import (
	"context"
	"net/netip"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/ixrs/ixrs/policy"
	"github.com/ixrs/ixrs/speaker"
)

// lastNotif returns the last NOTIFICATION m received and its RFC 9003 text.
func (m *tmember) lastNotif() (speaker.Notification, string, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.notifs) == 0 {
		return speaker.Notification{}, "", false
	}
	n := m.notifs[len(m.notifs)-1]
	msg, _ := n.ShutdownMessage()
	return n, msg, true
}

func (m *tmember) notified(subcode uint8, msg string) func() bool {
	return func() bool {
		n, text, ok := m.lastNotif()
		return ok && n.Code == speaker.ErrCease && n.Subcode == subcode && text == msg
	}
}

// TestDaemonReloadSessionResets: a reload resets exactly the sessions whose keys changed, and
// counts them: a neighbor address removed from a member ends that session only (Administrative
// Shutdown "removed from configuration"), the member's other session stays up; a changed session key
// (passive) resets that member's session with an Administrative Reset; a removed member is told
// "removed from configuration"; everyone else keeps the session it had. Diff announced the same.
func TestDaemonReloadSessionResets(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.toml")
	a2 := "\n[[member]]\nname = \"A\"\nasn = 65001\nneighbors = [\"127.0.3.1\", \"127.0.3.4\"]\npassive = true\n"
	base := testServer + a2 + memberTOML("B", 65002, "127.0.3.2", "") + memberTOML("C", 65003, "127.0.3.3", "")
	writeConfig(t, path, base)
	d, port := testDaemon(t, path)
	a := startMember(t, port, "127.0.3.1", 65001)
	a4 := startMember(t, port, "127.0.3.4", 65001)
	b := startMember(t, port, "127.0.3.2", 65002)
	c := startMember(t, port, "127.0.3.3", 65003)
	all := []*tmember{a, a4, b, c}
	eventually(t, "sessions up", func() bool {
		for _, m := range all {
			if up, _, _, _ := m.state(); !up {
				return false
			}
		}
		return true
	})

	bActive := "\n[[member]]\nname = \"B\"\nasn = 65002\nneighbors = [\"127.0.3.2\"]\npassive = false\n"
	next := testServer + memberTOML("A", 65001, "127.0.3.1", "") + bActive +
		memberTOML("C", 65003, "127.0.3.3", "description = \"new\"\n")
	writeConfig(t, path, next)
	cfg, err := d.opts.Load()
	if err != nil {
		t.Fatal(err)
	}
	diff, _, err := d.Diff(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	res, err := d.Reload(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(diff, res.Changes) {
		t.Errorf("Diff said %v, Reload did %v", diff, res.Changes)
	}
	want := []Change{
		{Member: "A", Action: "remove-session", Neighbor: "127.0.3.4", Detail: msgRemoved},
		{Member: "B", Action: "reset-session", Neighbor: "127.0.3.2", Detail: "[passive]"},
		{Member: "C", Action: "update", Detail: "[description]"},
	}
	if !slices.Equal(res.Changes, want) {
		t.Errorf("changes %v, want %v", res.Changes, want)
	}
	if res.SessionsReset != 1 {
		t.Errorf("%d sessions reset, want 1", res.SessionsReset)
	}
	eventually(t, "A's second session told why", a4.notified(speaker.SubAdminShutdown, msgRemoved))
	eventually(t, "B reset", b.notified(speaker.SubAdminReset, msgChanged))
	eventually(t, "B back", func() bool { up, ups, _, _ := b.state(); return up && ups == 2 })
	for _, m := range []*tmember{a, c} {
		if up, ups, _, _ := m.state(); !up || ups != 1 {
			t.Errorf("%s: up %v after %d ups, want the first session still up", m.peer.Config().LocalAddr, up, ups)
		}
	}

	writeConfig(t, path, testServer+memberTOML("A", 65001, "127.0.3.1", "")+bActive)
	if res, err = d.Reload(context.Background()); err != nil || res.Removed != 1 || res.SessionsReset != 0 {
		t.Fatalf("reload: %+v, %v; want C removed, nothing reset", res, err)
	}
	eventually(t, "C told why", c.notified(speaker.SubAdminShutdown, msgRemoved))
	if _, ups, _, _ := a.state(); ups != 1 {
		t.Errorf("A reset by another member's removal")
	}
}

// TestDaemonAdminShutdown: a member shut down with a message receives it (RFC 9003) and stays down,
// through a reload that re-creates it, until enabled.
func TestDaemonAdminShutdown(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.toml")
	writeConfig(t, path, testServer+memberTOML("A", 65001, "127.0.3.1", "")+memberTOML("B", 65002, "127.0.3.2", ""))
	d, port := testDaemon(t, path)
	a := startMember(t, port, "127.0.3.1", 65001)
	b := startMember(t, port, "127.0.3.2", 65002)
	eventually(t, "sessions up", func() bool { ua, _, _, _ := a.state(); ub, _, _, _ := b.state(); return ua && ub })
	ctx := context.Background()
	const msg = "maintenance, ticket 4711"
	if name, err := d.ShutdownMember(ctx, "127.0.3.1", msg); err != nil || name != "A" {
		t.Fatalf("ShutdownMember by address: %q, %v", name, err)
	}
	eventually(t, "A told why", a.notified(speaker.SubAdminShutdown, msg))
	// A re-created by a reload (a new export profile): still down.
	writeConfig(t, path, testServer+memberTOML("A", 65001, "127.0.3.1", "blackhole_next_hop_ipv4 = \"127.0.3.66\"\n")+
		memberTOML("B", 65002, "127.0.3.2", ""))
	if res, err := d.Reload(ctx); err != nil || len(res.Changes) != 1 || res.Changes[0].Action != "recreate" {
		t.Fatalf("reload: %+v, %v; want A re-created", res, err)
	}
	time.Sleep(2 * time.Second) // A retries every second
	if up, ups, _, _ := a.state(); up || ups != 1 {
		t.Fatalf("A came back while shut down (up %v, %d ups)", up, ups)
	}
	st, err := d.AdminStatus(ctx)
	if err != nil || len(st.Members) != 2 || !st.Members[0].Down || st.Members[0].Message != msg || st.Members[1].Down {
		t.Fatalf("AdminStatus: %+v, %v", st, err)
	}
	if _, n, err := d.ResetMember(ctx, "A", true, ""); err != nil || n != 0 {
		t.Errorf("reset of a member shut down: %d, %v", n, err)
	}
	if _, was, err := d.EnableMember(ctx, "A"); err != nil || !was {
		t.Fatalf("EnableMember: %v, %v", was, err)
	}
	eventually(t, "A back", func() bool { up, ups, _, _ := a.state(); return up && ups == 2 })
	if _, _, err := d.EnableMember(ctx, "nobody"); err == nil {
		t.Error("EnableMember(nobody) succeeded")
	}
}

// TestDaemonResetAndGracefulShutdown: a soft reset sends ROUTE-REFRESH without ending the session,
// a hard one ends it with an Administrative Reset; graceful shutdown re-announces every route with
// GRACEFUL_SHUTDOWN and off takes it away again.
func TestDaemonResetAndGracefulShutdown(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.toml")
	writeConfig(t, path, testServer+memberTOML("A", 65001, "127.0.3.1", "")+memberTOML("B", 65002, "127.0.3.2", ""))
	d, port := testDaemon(t, path)
	a := startMember(t, port, "127.0.3.1", 65001)
	b := startMember(t, port, "127.0.3.2", 65002)
	eventually(t, "sessions up", func() bool { ua, _, _, _ := a.state(); ub, _, _, _ := b.state(); return ua && ub })
	a.announce(t, 65001, "11.0.1.0/24")
	eventually(t, "B has A's route", func() bool { _, _, n, _ := b.state(); return n == 1 })
	ctx := context.Background()

	if _, n, err := d.ResetMember(ctx, "A", true, ""); err != nil || n != 1 {
		t.Fatalf("soft reset: %d, %v", n, err)
	}
	eventually(t, "ROUTE-REFRESH to A", func() bool { _, _, _, rr := a.state(); return rr >= 1 })
	if up, ups, _, _ := a.state(); !up || ups != 1 {
		t.Errorf("soft reset ended A's session")
	}

	gshut := func(m *tmember, want bool) func() bool {
		return func() bool {
			m.mu.Lock()
			defer m.mu.Unlock()
			at := m.rib[mustPrefix("11.0.1.0/24")]
			return at != nil && slices.Contains(at.Communities, policy.CommunityGracefulShutdown) == want
		}
	}
	if err := d.SetGracefulShutdown(ctx, true); err != nil {
		t.Fatal(err)
	}
	eventually(t, "B has A's route with GRACEFUL_SHUTDOWN", gshut(b, true))
	if st, _ := d.AdminStatus(ctx); !st.GracefulShutdown {
		t.Error("AdminStatus: graceful shutdown off")
	}
	if err := d.SetGracefulShutdown(ctx, false); err != nil {
		t.Fatal(err)
	}
	eventually(t, "B has A's route without GRACEFUL_SHUTDOWN", gshut(b, false))

	if _, n, err := d.ResetMember(ctx, "B", false, "reset by test"); err != nil || n != 1 {
		t.Fatalf("hard reset: %d, %v", n, err)
	}
	eventually(t, "B reset", b.notified(speaker.SubAdminReset, "reset by test"))
	eventually(t, "B back with A's route", func() bool { up, ups, n, _ := b.state(); return up && ups == 2 && n == 1 })
}

func mustPrefix(s string) netip.Prefix { return netip.MustParsePrefix(s) }
