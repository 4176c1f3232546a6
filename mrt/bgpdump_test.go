package mrt

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ixrs/ixrs/internal/rstest"
)

// bgpdumpBin returns bgpdump's path; missing, the test is skipped, or fails under CI=true.
func bgpdumpBin(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("bgpdump")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("bgpdump not installed (Debian package bgpdump)")
		}
		t.Skip("bgpdump not installed (Debian package bgpdump)")
	}
	return p
}

// readBack runs bgpdump -m on file and returns its lines without the timestamp field.
func readBack(t *testing.T, bin, file string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "-q", "-m", file).Output()
	if err != nil {
		t.Fatalf("bgpdump %s: %v", file, err)
	}
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if l == "" {
			continue
		}
		f := strings.Split(l, "|")
		if len(f) < 3 {
			t.Fatalf("bgpdump line %q", l)
		}
		lines = append(lines, f[0]+"|"+strings.Join(f[2:], "|"))
	}
	slices.Sort(lines)
	return lines
}

// TestBGPDumpReadsDump: bgpdump reads both files of a dump back, and the routes are those the
// members sent, IPv4 and IPv6, from a 2-octet and a 4-octet AS member, accepted and filtered apart;
// a withdrawn route is gone. A second and third dump rotate the first away.
func TestBGPDumpReadsDump(t *testing.T) {
	bin := bgpdumpBin(t)
	s := rstest.StartRIB(t, 8)
	a := rstest.AddMember(t, s, "A", 64501, "192.0.2.11")
	b := rstest.AddMember(t, s, "B", 4200000001, "192.0.2.12")
	a.Announce(a.Attrs(64512), "203.0.113.0/24", "2001:db8:100::/48", "198.51.100.0/25")
	a.Announce(a.Attrs(1, 2, 3, 4, 5, 6, 7, 8), "198.51.100.0/24") // 9 ASNs: filtered (path too long)
	b.Announce(b.Attrs(65536), "203.0.113.0/24", "2001:db8:200::/48")
	rstest.Settle(t, s, 6)
	a.Withdraw("198.51.100.0/25")
	rstest.Settle(t, s, 5)

	dir := t.TempDir()
	times := []time.Time{time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC), time.Date(2026, 12, 4, 11, 0, 0, 0, time.UTC),
		time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)}
	i := 0
	d := New(s, Config{Dir: dir, Keep: 2, RouterID: a.Addr, Logger: quiet, Now: func() time.Time { return times[i] }})
	var res Result
	for i = range times {
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		var err error
		res, err = d.Dump(ctx)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
	}
	if res.Peers != 2 || res.AcceptedRoutes != 4 || res.FilteredRoutes != 1 || res.Prefixes != 4 {
		t.Errorf("result %+v: want 2 peers, 4 accepted and 1 filtered route, 4 records", res)
	}
	if got, want := filepath.Base(res.Accepted), "ixrs-rib-20261204T120000Z.accepted.mrt"; got != want {
		t.Errorf("file %s, want %s", got, want)
	}

	accepted := []string{
		"TABLE_DUMP2|B|192.0.2.11|64501|2001:db8:100::/48|64501 64512|IGP|2001:db8:ffff::11|0|0|64501:100|NAG||",
		"TABLE_DUMP2|B|192.0.2.11|64501|203.0.113.0/24|64501 64512|IGP|192.0.2.11|0|0|64501:100|NAG||",
		"TABLE_DUMP2|B|192.0.2.12|4200000001|2001:db8:200::/48|4200000001 65536|IGP|2001:db8:ffff::12|0|0|23456:100|NAG||",
		"TABLE_DUMP2|B|192.0.2.12|4200000001|203.0.113.0/24|4200000001 65536|IGP|192.0.2.12|0|0|23456:100|NAG||",
	}
	filtered := []string{
		"TABLE_DUMP2|B|192.0.2.11|64501|198.51.100.0/24|64501 1 2 3 4 5 6 7 8|IGP|192.0.2.11|0|0|64501:100|NAG||",
	}
	if got := readBack(t, bin, res.Accepted); !slices.Equal(got, accepted) {
		t.Errorf("accepted file reads back as\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(accepted, "\n"))
	}
	if got := readBack(t, bin, res.Filtered); !slices.Equal(got, filtered) {
		t.Errorf("filtered file reads back as\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(filtered, "\n"))
	}

	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	want := []string{"ixrs-rib-20261204T110000Z.accepted.mrt", "ixrs-rib-20261204T110000Z.filtered.mrt",
		"ixrs-rib-20261204T120000Z.accepted.mrt", "ixrs-rib-20261204T120000Z.filtered.mrt"}
	if !slices.Equal(names, want) {
		t.Errorf("after three dumps with keep = 2 the directory holds %v, want %v (no temporary file either)", names, want)
	}
	for _, n := range names {
		readBack(t, bin, filepath.Join(dir, n)) // every file kept is readable
	}
}
