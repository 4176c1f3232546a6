package main

import (
	"bufio"
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// binary is the routeserver built once for all tests, by TestMain.
var binary string

const testVersion = "v0.0.0-test"

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "routeserver-test")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "routeserver")
	code := 1
	if out, err := exec.Command("go", "build", "-ldflags", "-X main.version="+testVersion, "-o", binary, ".").CombinedOutput(); err != nil {
		os.Stderr.Write(out)
		os.Stderr.WriteString("go build: " + err.Error() + "\n")
	} else {
		code = m.Run()
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

// runBinary runs the binary and returns its exit code, stdout and stderr.
func runBinary(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(binary, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0, stdout.String(), stderr.String()
	case errors.As(err, &exit):
		return exit.ExitCode(), stdout.String(), stderr.String()
	}
	t.Fatalf("run %v: %v", args, err)
	return 0, "", ""
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestVersion(t *testing.T) {
	code, stdout, stderr := runBinary(t, "-version")
	want := "routeserver " + testVersion + " (" + runtime.Version() + ")\n"
	if code != 0 || stdout != want || stderr != "" {
		t.Errorf("-version: exit %d, stdout %q, stderr %q; want 0, %q, nothing", code, stdout, stderr, want)
	}
}

const goodConfig = `[server]
asn = 64500
router_id = "192.0.2.1"
peering_lans = ["192.0.2.0/24", "2001:db8:ffff::/64"]

[rpki]
caches = [{ address = "127.0.0.1:3323" }]

[[member]]
name = "Alpha"
asn = 64501
neighbors = ["192.0.2.11", "2001:db8:ffff::11"]
irr = "tag"

[[member]]
name = "Beta"
asn = 64502
neighbors = ["192.0.2.12"]
irr = "off"
`

func TestCheckGood(t *testing.T) {
	path := writeFile(t, "config.toml", goodConfig)
	code, stdout, stderr := runBinary(t, "-check", "-config", path)
	if code != 0 || stdout != "config OK: 2 members, 3 sessions\n" || stderr != "" {
		t.Errorf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}

func TestCheckEmbeddedDefault(t *testing.T) {
	code, stdout, stderr := runBinary(t, "-check")
	if code != 0 || stdout != "config OK: 0 members, 0 sessions\n" || stderr != "" {
		t.Errorf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}

// TestCheckWarnings checks that warnings are printed and do not fail -check.
func TestCheckWarnings(t *testing.T) {
	path := writeFile(t, "config.toml", strings.Replace(goodConfig, "irr = \"off\"\n", "", 1))
	code, stdout, stderr := runBinary(t, "-check", "-config", path)
	want := path + `:15: warning: member "Beta" (asn 64502): irr = "reject" and neither irr_prefix_file nor irr_asn_file: every route of this member will be filtered` + "\n"
	if code != 0 || stdout != "config OK: 2 members, 3 sessions\n" || stderr != want {
		t.Errorf("exit %d, stdout %q, stderr %q; want stderr %q", code, stdout, stderr, want)
	}
}

// TestCheckBroken checks that every problem is printed, one per line.
func TestCheckBroken(t *testing.T) {
	path := writeFile(t, "config.toml", `[server]
asn = 64500
router_id = "192.0.2.1"
peering_lans = ["192.0.2.0/24"]
hold_tme = 90

[[member]]
name = "Alpha"
asn = 64501
neighbors = ["192.0.2.11", "192.0.2.300"]

[[member]]
name = "Beta"
asn = 64500
neighbors = ["192.0.2.11"]
`)
	code, stdout, stderr := runBinary(t, "-check", "-config", path)
	want := []string{
		path + `:5: unknown key "server.hold_tme" (did you mean "hold_time"?)`,
		path + `:10: member "Alpha" (asn 64501): neighbors[1] "192.0.2.300": not an IP address`,
		path + `:14: member "Beta" (asn 64500): asn 64500: is the route server's own ASN (server.asn)`,
		path + `:15: member "Beta" (asn 64500): neighbors[0] "192.0.2.11": already a neighbor of member "Alpha" (asn 64501, line 7)`,
		`routeserver: 4 problem(s) in the configuration`,
	}
	if got := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n"); code != 1 || stdout != "" || strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("exit %d, stdout %q, stderr:\n%s\nwant exit 1 and stderr:\n%s", code, stdout, stderr, strings.Join(want, "\n"))
	}
}

func TestCheckSyntaxError(t *testing.T) {
	path := writeFile(t, "config.toml", "[server]\nasn = 64500\nrouter_id = \"192.0.2.1\n")
	code, _, stderr := runBinary(t, "-check", "-config", path)
	if want := path + ":3:23: syntax error: strings cannot contain newlines\n"; code != 1 || !strings.HasPrefix(stderr, want) {
		t.Errorf("exit %d, stderr %q; want 1, %q…", code, stderr, want)
	}
}

func TestCheckMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope.toml")
	code, _, stderr := runBinary(t, "-check", "-config", path)
	if want := "routeserver: config: open " + path + ": no such file or directory\n"; code != 1 || stderr != want {
		t.Errorf("exit %d, stderr %q; want 1, %q", code, stderr, want)
	}
}

func TestBadCommandLine(t *testing.T) {
	for _, args := range [][]string{
		{"-log-level", "loud", "-check"},
		{"-log-format", "xml", "-check"},
		{"-nonsense"},
		{"-check", "config.toml"},
	} {
		if code, _, stderr := runBinary(t, args...); code != 2 || stderr == "" {
			t.Errorf("%q: exit %d, stderr %q; want 2 and a message", args, code, stderr)
		}
	}
}

// TestSignals runs the route server and checks that SIGHUP reloads the configuration — a broken
// file is refused with its line and the process lives on, a good one is applied (the new member is
// added) — and that SIGTERM stops it cleanly.
func TestSignals(t *testing.T) {
	base := `[server]
asn = 64500
router_id = "192.0.2.1"
listen = ["127.0.0.1:0"]
[lookingglass]
listen = "127.0.0.1:0"
[defaults]
rpki = "off"
`
	path := writeFile(t, "config.toml", base)
	cmd := exec.Command(binary, "-config", path, "-log-format", "json")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	lines := make(chan string, 1000)
	var mu sync.Mutex
	var logs bytes.Buffer
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			mu.Lock()
			logs.WriteString(sc.Text() + "\n")
			mu.Unlock()
			select {
			case lines <- sc.Text():
			default:
			}
		}
		exited <- cmd.Wait()
	}()
	defer func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			<-exited
		}
	}()
	logText := func() string { mu.Lock(); defer mu.Unlock(); return logs.String() }
	// waitFor waits for a log line containing every one of want.
	waitFor := func(what string, want ...string) {
		t.Helper()
		deadline := time.After(10 * time.Second)
		for {
			select {
			case l := <-lines:
				ok := true
				for _, w := range want {
					ok = ok && strings.Contains(l, w)
				}
				if ok {
					return
				}
			case err := <-exited:
				t.Fatalf("exited while waiting for %s: %v\n%s", what, err, logText())
			case <-deadline:
				t.Fatalf("no %s log line within 10s\n%s", what, logText())
			}
		}
	}
	waitFor("running", `"msg":"route server running"`)

	// A broken file: refused with its line, the process lives on.
	if err := os.WriteFile(path, []byte(base+"[[member]]\nname = \"B\"\nasn = \"x\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd.Process.Signal(syscall.SIGHUP)
	waitFor("refusal", `configuration refused`, `config.toml:11`)

	// A good one: applied.
	if err := os.WriteFile(path, []byte(base+"[[member]]\nname = \"B\"\nasn = 64502\nneighbors = [\"127.0.9.2\"]\npassive = true\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd.Process.Signal(syscall.SIGHUP)
	waitFor("reload", `"msg":"configuration reloaded"`, `"members":1`, `"added":1`)

	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("after SIGTERM: %v, want exit status 0\n%s", err, logText())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("still running 10s after SIGTERM")
	}
}
