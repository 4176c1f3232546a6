package daemon

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ixrs/ixrs/policy"
	"github.com/ixrs/ixrs/speaker"
)

// stateServer is testServer keeping its state in "state" next to the configuration file.
var stateServer = strings.Replace(testServer, "connect_retry = \"1s\"\n", "connect_retry = \"1s\"\nstate_dir = \"state\"\n", 1)

// runDaemon runs a daemon on the configuration in file path until stop is called or the test ends.
func runDaemon(t *testing.T, path string) (d *Daemon, port int, stop func()) {
	t.Helper()
	return runDaemonLogging(t, path, slog.New(slog.NewTextHandler(io.Discard, nil)))
}

func readState(t *testing.T, path string) savedState {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	st, err := decodeState(b)
	if err != nil {
		t.Fatalf("state file: %v\n%s", err, b)
	}
	return st
}

// TestDaemonStateAcrossRestart: a member shut down and graceful shutdown switched on stay so when
// the route server is stopped and a new one started on the same state_dir — the member's session
// is not started, every route goes out with GRACEFUL_SHUTDOWN — until enabled and switched off; a
// member removed from the configuration meanwhile is dropped from the state.
func TestDaemonStateAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.toml")
	statePath := filepath.Join(dir, "state", stateFile)
	members := memberTOML("A", 65001, "127.0.3.1", "") + memberTOML("B", 65002, "127.0.3.2", "")
	writeConfig(t, path, stateServer+members+memberTOML("C", 65003, "127.0.3.3", ""))
	ctx := context.Background()
	const msg = "maintenance, ticket 4711"

	d1, port, stop := runDaemon(t, path)
	a := startMember(t, port, "127.0.3.1", 65001)
	b := startMember(t, port, "127.0.3.2", 65002)
	eventually(t, "sessions up", func() bool { ua, _, _, _ := a.state(); ub, _, _, _ := b.state(); return ua && ub })
	if _, err := d1.ShutdownMember(ctx, "A", msg); err != nil {
		t.Fatal(err)
	}
	if _, err := d1.ShutdownMember(ctx, "C", "gone soon"); err != nil {
		t.Fatal(err)
	}
	if err := d1.SetGracefulShutdown(ctx, true); err != nil {
		t.Fatal(err)
	}
	eventually(t, "A told why", a.notified(speaker.SubAdminShutdown, msg))
	st := readState(t, statePath)
	if !st.GracefulShutdown || len(st.ShutdownMembers) != 2 || st.ShutdownMembers[0].Member != "A" ||
		st.ShutdownMembers[0].Message != msg || st.ShutdownMembers[0].Since.IsZero() {
		t.Fatalf("state written: %+v", st)
	}
	stop()

	// C left the configuration while the route server was stopped.
	writeConfig(t, path, stateServer+members)
	d2, port, _ := runDaemon(t, path)
	adm, err := d2.AdminStatus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !adm.GracefulShutdown || adm.StateProblem != "" || len(adm.Members) != 2 {
		t.Fatalf("after restart: %+v", adm)
	}
	if ma := adm.Members[0]; ma.Member != "A" || !ma.Down || ma.Message != msg || !ma.Since.Equal(st.ShutdownMembers[0].Since) ||
		ma.Sessions[0].State != speaker.StateIdle.String() {
		t.Fatalf("A after restart: %+v", ma)
	}
	if st := readState(t, statePath); len(st.ShutdownMembers) != 1 || st.ShutdownMembers[0].Member != "A" {
		t.Errorf("state after restart still lists a member no longer configured: %+v", st)
	}
	a2 := startMember(t, port, "127.0.3.1", 65001)
	b2 := startMember(t, port, "127.0.3.2", 65002)
	eventually(t, "B up", func() bool { up, _, _, _ := b2.state(); return up })
	b2.announce(t, 65002, "11.0.2.0/24")
	if up, ups, _, _ := a2.state(); up || ups != 0 {
		t.Fatalf("A came up while shut down (up %v, %d ups)", up, ups)
	}

	if _, was, err := d2.EnableMember(ctx, "A"); err != nil || !was {
		t.Fatalf("EnableMember: %v, %v", was, err)
	}
	gshut := func(want bool) func() bool {
		return func() bool {
			a2.mu.Lock()
			defer a2.mu.Unlock()
			at := a2.rib[mustPrefix("11.0.2.0/24")]
			return at != nil && slices.Contains(at.Communities, policy.CommunityGracefulShutdown) == want
		}
	}
	eventually(t, "A up with B's route carrying GRACEFUL_SHUTDOWN", gshut(true))
	if err := d2.SetGracefulShutdown(ctx, false); err != nil {
		t.Fatal(err)
	}
	eventually(t, "B's route without GRACEFUL_SHUTDOWN", gshut(false))
	if st := readState(t, statePath); st.GracefulShutdown || len(st.ShutdownMembers) != 0 {
		t.Errorf("state after enable and off: %+v", st)
	}
}

// TestDaemonStateCorrupt: a state file that does not decode is reported (AdminStatus) and moved
// aside; the route server starts with every member enabled, and the next change writes a good file.
func TestDaemonStateCorrupt(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.toml")
	statePath := filepath.Join(dir, "state", stateFile)
	writeConfig(t, path, stateServer+memberTOML("A", 65001, "127.0.3.1", ""))
	if err := os.MkdirAll(filepath.Dir(statePath), 0o700); err != nil {
		t.Fatal(err)
	}
	const garbage = `{"version": 1, "shutdown_members": [{"member": "A"`
	if err := os.WriteFile(statePath, []byte(garbage), 0o600); err != nil {
		t.Fatal(err)
	}
	d, port, _ := runDaemon(t, path)
	ctx := context.Background()
	adm, err := d.AdminStatus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(adm.StateProblem, "state file refused") || adm.Members[0].Down {
		t.Fatalf("after a corrupt state file: %+v", adm)
	}
	if b, err := os.ReadFile(statePath + ".corrupt"); err != nil || string(b) != garbage {
		t.Errorf("corrupt file not kept aside: %q, %v", b, err)
	}
	a := startMember(t, port, "127.0.3.1", 65001)
	eventually(t, "A up", func() bool { up, _, _, _ := a.state(); return up })
	if _, err := d.ShutdownMember(ctx, "A", "x"); err != nil {
		t.Fatal(err)
	}
	if st := readState(t, statePath); len(st.ShutdownMembers) != 1 {
		t.Errorf("state after shutdown: %+v", st)
	}
	if adm, _ := d.AdminStatus(ctx); adm.StateProblem != "" {
		t.Errorf("problem still reported after a good write: %q", adm.StateProblem)
	}
}

// TestDaemonStateUnwritable: a state directory that cannot be written does not stop the route
// server; the operator's action takes effect and the problem is reported.
func TestDaemonStateUnwritable(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.toml")
	// state_dir is a regular file: neither created nor written, whoever runs the test.
	if err := os.WriteFile(filepath.Join(dir, "state"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	writeConfig(t, path, stateServer+memberTOML("A", 65001, "127.0.3.1", ""))
	d, _, _ := runDaemon(t, path)
	ctx := context.Background()
	if _, err := d.ShutdownMember(ctx, "A", "x"); err != nil {
		t.Fatal(err)
	}
	adm, err := d.AdminStatus(ctx)
	if err != nil || !adm.Members[0].Down || !strings.Contains(adm.StateProblem, "not written") {
		t.Fatalf("AdminStatus: %+v, %v", adm, err)
	}
}

func TestDecodeState(t *testing.T) {
	good := `{"version": 1, "graceful_shutdown": true, "shutdown_members": [{"member": "A", "message": "m", "since": "2026-01-02T03:04:05Z"}]}`
	st, err := decodeState([]byte(good))
	if err != nil || !st.GracefulShutdown || len(st.ShutdownMembers) != 1 || st.ShutdownMembers[0].Member != "A" ||
		st.ShutdownMembers[0].Since.Year() != 2026 {
		t.Fatalf("good: %+v, %v", st, err)
	}
	for name, in := range map[string]string{
		"empty":         ``,
		"not an object": `[]`,
		"truncated":     `{"version": 1`,
		"no version":    `{"graceful_shutdown": true}`,
		"version 2":     `{"version": 2}`,
		"unknown field": `{"version": 1, "shutdown": []}`,
		"no name":       `{"version": 1, "shutdown_members": [{"message": "m"}]}`,
		"twice":         `{"version": 1, "shutdown_members": [{"member": "A"}, {"member": "A"}]}`,
		"bad time":      `{"version": 1, "shutdown_members": [{"member": "A", "since": "yesterday"}]}`,
		"trailing":      `{"version": 1} {}`,
	} {
		if st, err := decodeState([]byte(in)); err == nil {
			t.Errorf("%s: accepted as %+v", name, st)
		}
	}
}

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	for _, content := range []string{"one", "two, longer"} {
		if err := writeFileAtomic(path, []byte(content)); err != nil {
			t.Fatal(err)
		}
		if b, err := os.ReadFile(path); err != nil || string(b) != content {
			t.Fatalf("read %q, %v; want %q", b, err, content)
		}
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("temporary files left: %v", ents)
	}
	if err := writeFileAtomic(filepath.Join(dir, "missing", "f"), []byte("x")); err == nil {
		t.Error("write into a missing directory succeeded")
	}
}

// FuzzDecodeState: decoding never panics, and what decodes encodes to a file that decodes to the
// same state.
func FuzzDecodeState(f *testing.F) {
	f.Add([]byte(`{"version": 1, "graceful_shutdown": false, "shutdown_members": []}`))
	f.Add([]byte(`{"version": 1, "graceful_shutdown": true, "shutdown_members": [{"member": "A", "message": "m", "since": "2026-01-02T03:04:05Z"}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := decodeState(b)
		if err != nil {
			return
		}
		again, err := decodeState(encodeState(st))
		if err != nil {
			t.Fatalf("re-encoded state refused: %v", err)
		}
		if again.GracefulShutdown != st.GracefulShutdown || len(again.ShutdownMembers) != len(st.ShutdownMembers) {
			t.Fatalf("round trip: %+v != %+v", again, st)
		}
		for i, s := range st.ShutdownMembers {
			g := again.ShutdownMembers[i]
			if g.Member != s.Member || g.Message != s.Message || !g.Since.Equal(s.Since) {
				t.Fatalf("round trip: %+v != %+v", g, s)
			}
		}
	})
}
