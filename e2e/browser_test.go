package e2e

import (
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ixrs/ixrs/demo"
	"github.com/ixrs/ixrs/internal/browser"
	"github.com/ixrs/ixrs/internal/peers"
)

var docScreenshots = flag.Bool("doc-screenshots", false, "TestBrowserDemo: copy screenshots of the main pages to docs/images")

// demoConfig is a route server on free loopback ports; -demo adds the simulated members.
const demoConfig = `[server]
asn = 64500
router_id = "192.0.2.1"
listen = ["127.0.0.1:%BGP%"]
peering_lans = ["127.0.0.0/8"]
[lookingglass]
listen = "127.0.0.1:%LG%"
name = "ixrs demo"
[lookingglass.rate_limit]
pages = 0
searches = 0
[defaults]
rpki = "off"
irr = "off"
`

// TestBrowserDemo runs the built binary with -demo and looks at its looking glass in headless
// Chromium, as a newcomer would: the members' sessions, a filtered route with its reason in words,
// an exported list, a search and a lookup, links followed, dark mode; on every page no request
// beyond loopback, no console error and the accessibility basics.
func TestBrowserDemo(t *testing.T) {
	b := browser.Start(t)
	lo := netip.MustParseAddr("127.0.0.1")
	bgp, lg := peers.FreePort(t, lo), peers.FreePort(t, lo)
	dir := t.TempDir()
	path := filepath.Join(dir, "config.toml")
	cfg := strings.NewReplacer("%BGP%", fmt.Sprint(bgp), "%LG%", fmt.Sprint(lg)).Replace(demoConfig)
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	logf, err := os.Create(filepath.Join(dir, "routeserver.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(binary, "-demo", "-config", path)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); logf.Close(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			out, _ := os.ReadFile(logf.Name())
			t.Logf("routeserver log:\n%s", tail(string(out), 4000))
		}
	})
	base := fmt.Sprintf("http://127.0.0.1:%d", lg)

	// Every demo session up and the tables in: the accepted total stops growing.
	type sessions struct {
		Sessions []struct {
			Member, State string
			Families      []struct{ Accepted int }
		}
	}
	last, stable := -1, 0
	for deadline := time.Now().Add(90 * time.Second); stable < 3; time.Sleep(time.Second) {
		if time.Now().After(deadline) {
			// -1: the looking glass never answered (routeserver must serve [lookingglass] listen).
			t.Fatalf("the demo did not settle within 90 s at %s (accepted routes %d; -1: no looking glass answered)", base, last)
		}
		var s sessions
		resp, err := http.Get(base + "/api/v1/sessions")
		if err != nil {
			continue
		}
		err = json.NewDecoder(resp.Body).Decode(&s)
		resp.Body.Close()
		if err != nil {
			continue
		}
		up, acc := 0, 0
		for _, ss := range s.Sessions {
			if ss.State == "established" {
				up++
			}
			for _, f := range ss.Families {
				acc += f.Accepted
			}
		}
		if up >= 11 && acc == last {
			stable++
		} else {
			stable = 0
		}
		last = acc
	}

	shots := t.ArtifactDir()
	check := func(name, path, title string, want ...string) {
		t.Helper()
		b.Open(base + path)
		if got := b.Title(); !strings.HasPrefix(got, title) {
			t.Errorf("%s: title %q, want %q…", name, got, title)
		}
		txt := b.Text("body")
		for _, w := range want {
			if !strings.Contains(txt, w) {
				t.Errorf("%s: a person does not see %q\n%.3000s", name, w, txt)
			}
		}
		for _, p := range b.A11y() {
			t.Errorf("%s: accessibility: %s", name, p)
		}
		img := b.Screenshot(shots, name)
		if img.Bounds().Dx() != 1280 || img.Bounds().Dy() < 400 {
			t.Errorf("%s: screenshot %v", name, img.Bounds())
		}
		b.Clean(name)
	}
	const northwind, oddity, mistral = "R_127_0_1_1", "R_127_0_1_12", "R_127_0_1_8"
	b.PreferDark(false)
	check("overview", "/", "Overview · ixrs demo", "ixrs demo", "AS64500", "sessions up", "routes filtered")
	check("sessions", "/sessions", "Sessions", "Northwind Transit", "Oddity Labs", "established", "demo", "AS1100100 Northwind Transit")
	check("session", "/sessions/"+oddity, "Oddity Labs", "Session details", "4-octet AS", "misconfigured router")
	check("filtered", "/sessions/"+oddity+"/filtered", "Oddity Labs · Filtered routes", "bogon prefix", "64500:1101:3",
		"prefix too long", "first AS not peer AS", "transit-free ASN in path", "route leak", "RPKI invalid", "origin not in IRR AS-SET")
	// Which members' routes fill the first page depends on the order their tables arrived in: any
	// member but Northwind itself will do.
	check("exported", "/sessions/"+northwind+"/exported", "Northwind Transit · Exported routes", "accepted")
	b.Open(base + "/sessions/" + northwind + "/exported")
	if txt := b.Text("body"); !slices.ContainsFunc(demo.DefaultMembers()[1:], func(m demo.Member) bool { return strings.Contains(txt, m.Name) }) {
		t.Errorf("exported: a person sees no other member's name:\n%.3000s", txt)
	}
	check("not-exported", "/sessions/R_127_0_1_9/not-exported", "Ridgeline Telecom · Not exported",
		"do not announce to this member (control community)", "Mistral CDN")
	check("search", "/search?kind=community&q=65535:666", "Search community 65535:666", "Mistral CDN", "BLACKHOLE (RFC 7999)")
	check("lookup", "/lookup?prefix=31.0.5.0/24", "Lookup 31.0.5.0/24", "Bluefin Cloud", "Northwind Transit", "best")

	// Follow links: sessions → Oddity Labs → filtered → one filtered route.
	b.Open(base + "/sessions")
	b.Follow(`#sessions a[href="/sessions/` + oddity + `"]`)
	b.Follow(`nav.tabs a[href="/sessions/` + oddity + `/filtered"]`)
	b.Follow(`table.routes td.prefix a`)
	if txt := b.Text("main"); !strings.Contains(txt, "Import checks") || !strings.Contains(txt, "fail") {
		t.Errorf("a filtered route's page lacks its failed check\n%.2000s", txt)
	}
	b.Clean("links")

	b.PreferDark(true)
	check("overview-dark", "/", "Overview", "ixrs demo")
	check("filtered-dark", "/sessions/"+oddity+"/filtered", "Oddity Labs", "bogon prefix")
	b.PreferDark(false)
	b.Viewport(390, 844, true)
	b.Open(base + "/sessions")
	b.Screenshot(shots, "sessions-phone")
	b.Viewport(1280, 900, false)
	b.Clean("phone")

	if *docScreenshots {
		for _, name := range []string{"overview", "sessions", "filtered", "overview-dark", "sessions-phone"} {
			data, err := os.ReadFile(filepath.Join(shots, name+".png"))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join("..", "docs", "images", "demo-"+name+".png"), data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}
