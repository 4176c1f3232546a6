package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ixrs/ixrs/admin"
	"github.com/ixrs/ixrs/internal/peers"
	"github.com/ixrs/ixrs/lookingglass"
)

// commandsOfUsage returns the first word of every command the usage text lists.
func commandsOfUsage() []string {
	var out []string
	in := false
	for _, line := range strings.Split(usage, "\n") {
		switch {
		case line == "Commands:":
			in = true
		case in && line == "":
			return out
		case in && strings.HasPrefix(line, "   "):
			// the continuation of the line above
		case in:
			if w := strings.Fields(line); len(w) > 0 && !slices.Contains(out, w[0]) {
				out = append(out, w[0])
			}
		}
	}
	return out
}

// complete runs the bash completion for words (the last one being completed) with a stand-in
// rsctl that prints summary and records its arguments in argsFile, and returns the candidates.
func complete(t *testing.T, summary []byte, argsFile string, words ...string) []string {
	t.Helper()
	dir := t.TempDir()
	sum := filepath.Join(dir, "summary.json")
	if err := os.WriteFile(sum, summary, 0o600); err != nil {
		t.Fatal(err)
	}
	script := bashCompletion + `
rsctl() { printf '%s\n' "$*" >> "$ARGS"; cat "$SUMMARY"; }
COMP_WORDS=("$@")
COMP_CWORD=$(( $# - 1 ))
_rsctl
printf '%s\n' "${COMPREPLY[@]}"
`
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", append([]string{"-c", script, "bash", "rsctl"}, words...)...)
	cmd.Env = append(os.Environ(), "SUMMARY="+sum, "ARGS="+argsFile)
	cmd.Dir = dir // compgen -f completes file names from here
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil || stderr.Len() > 0 {
		t.Fatalf("bash completion of %q: %v\n%s", words, err, stderr.String())
	}
	got := strings.Fields(string(out))
	slices.Sort(got)
	return got
}

// TestBashCompletion: the completion offers every command of the usage text, each command's
// subcommands, and member names and neighbor addresses read from the route server's summary —
// asked with the -socket given on the command line.
func TestBashCompletion(t *testing.T) {
	peers.Require(t, "bash")
	var sum admin.Summary
	for _, s := range []struct{ member, addr string }{{"A", "192.0.2.1"}, {"B", "192.0.2.2"}, {"A", "2001:db8::1"}} {
		sum.Neighbors = append(sum.Neighbors, admin.Neighbor{Session: lookingglass.Session{Member: s.member, Neighbor: netip.MustParseAddr(s.addr)}})
	}
	summary, err := json.MarshalIndent(sum, "", "  ") // as the admin server writes it
	if err != nil {
		t.Fatal(err)
	}
	argsFile := filepath.Join(t.TempDir(), "args")
	members := []string{"192.0.2.1", "192.0.2.2", "2001:db8::1", "A", "B"}
	slices.Sort(members)

	top := complete(t, summary, argsFile, "")
	for _, c := range commandsOfUsage() {
		if !slices.Contains(top, c) {
			t.Errorf("command %q of the usage text is not completed (completion offers %v)", c, top)
		}
	}
	for _, tc := range []struct {
		words []string
		want  []string
	}{
		{[]string{"sh"}, []string{"show"}},
		{[]string{"-"}, []string{"-json", "-socket", "-timeout", "-token-file", "-url"}},
		{[]string{"show", ""}, []string{"neighbor", "routes", "summary"}},
		{[]string{"show", "routes", ""}, []string{"accepted", "exported", "filtered", "member", "not-exported", "prefix", "received"}},
		{[]string{"show", "neighbor", ""}, members},
		{[]string{"-socket", "/x.sock", "neighbor", ""}, members},
		{[]string{"neighbor", "A", ""}, []string{"enable", "reset", "shutdown"}},
		{[]string{"neighbor", "A", "reset", ""}, []string{"soft"}},
		{[]string{"max-prefix", ""}, []string{"clear"}},
		{[]string{"max-prefix", "clear", "B"}, []string{"B"}},
		{[]string{"graceful-shutdown", ""}, []string{"off", "on"}},
		{[]string{"mrt", ""}, []string{"dump"}},
		{[]string{"diff", ""}, []string{"-config"}},
		{[]string{"completion", ""}, []string{"bash"}},
		{[]string{"show", "routes", "accepted", "A", "ipv"}, []string{"ipv4", "ipv6"}},
	} {
		if got := complete(t, summary, argsFile, tc.words...); !slices.Equal(got, tc.want) {
			t.Errorf("rsctl %s<TAB>: %v, want %v", strings.Join(tc.words, " "), got, tc.want)
		}
	}
	b, err := os.ReadFile(argsFile)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "-socket /x.sock -json show summary") {
		t.Errorf("members not asked with the -socket given; rsctl was called as:\n%s", b)
	}
}
