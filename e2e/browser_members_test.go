package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ixrs/ixrs/internal/browser"
	"github.com/ixrs/ixrs/internal/peers"
)

// TestBrowserBIRDMembers looks, in headless Chromium, at the looking glass of the built binary with
// real BIRD members (not the demo's simulated ones): each page loads, a member's row shows its state,
// a filtered route shows its reason in words, the exported and not-exported lists hold the planted
// cases, a search and a lookup find the members' routes, links lead from the sessions table to a
// filtered route's checks, and a member that shut its session down shows the flap and the
// NOTIFICATION it sent. Every page: no request beyond loopback, no console error, the accessibility
// basics; screenshots of each under the test's artifact directory.
func TestBrowserBIRDMembers(t *testing.T) {
	peers.Require(t, "bird", "birdc")
	b := browser.Start(t)
	nhA, nhB, nhC := adr("192.0.2.41"), adr("192.0.2.42"), adr("192.0.2.43")
	a := &member{name: "bird-a", start: peers.StartBIRD, addr: "127.0.1.41", as: 65041, routes: []peers.Announce{
		{Prefix: pfx("11.4.1.0/24"), NextHop: nhA},
		{Prefix: pfx("11.4.2.0/25"), NextHop: nhA},                                   // too long: filtered (RS:1101:1)
		{Prefix: pfx("11.4.3.0/24"), NextHop: nhA, Communities: []string{"0:65042"}}, // not to bird-b (RS:1102:1)
	}}
	bb := &member{name: "bird-b", start: peers.StartBIRD, addr: "127.0.1.42", as: 65042, routes: []peers.Announce{
		{Prefix: pfx("11.4.4.0/24"), NextHop: nhB, ASPathPrepend: []uint32{65041}}, // bird-a's AS in the path (RS:1102:3)
		{Prefix: pfx("11.4.5.0/24"), NextHop: nhB},
	}}
	c := &member{name: "bird-c", start: peers.StartBIRD, addr: "127.0.1.43", as: 65043, routes: []peers.Announce{
		{Prefix: pfx("11.4.6.0/24"), NextHop: nhC},
	}}
	lgPort := peers.FreePort(t, adr("127.0.0.1"))
	lgTable := fmt.Sprintf("[lookingglass]\nlisten = \"127.0.0.1:%d\"\nname = \"e2e BIRD\"\n[lookingglass.rate_limit]\npages = 0\nsearches = 0\n\n[defaults]", lgPort)
	rs := startRouteServer(t, strings.Replace(configFor([]*member{a, bb, c}), "[defaults]", lgTable, 1))
	startMembers(t, rs, []*member{a, bb, c})
	base := fmt.Sprintf("http://127.0.0.1:%d", lgPort)

	type session struct {
		Member, State string
		Flaps         int
		Received      string `json:"last_notification_received"`
		Families      []struct{ Received int }
	}
	sessions := func() (map[string]session, error) {
		resp, err := http.Get(base + "/api/v1/sessions")
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		var r struct{ Sessions []session }
		if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
			return nil, err
		}
		out := map[string]session{}
		for _, s := range r.Sessions {
			out[s.Member] = s
		}
		return out, nil
	}
	received := func(s session) (n int) {
		for _, f := range s.Families {
			n += f.Received
		}
		return n
	}
	waitFor(t, "the three BIRD sessions up with their routes", 90*time.Second, func() (bool, string) {
		ss, err := sessions()
		if err != nil {
			return false, err.Error()
		}
		up := ss["bird-a"].State == "established" && ss["bird-b"].State == "established" && ss["bird-c"].State == "established"
		return up && received(ss["bird-a"]) == 3 && received(ss["bird-b"]) == 2 && received(ss["bird-c"]) == 1, fmt.Sprintf("%+v", ss)
	})
	// bird-c shuts down: BIRD sends a Cease NOTIFICATION.
	if err := c.peer.Stop(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "bird-c's flap seen", 30*time.Second, func() (bool, string) {
		ss, err := sessions()
		if err != nil {
			return false, err.Error()
		}
		s := ss["bird-c"]
		return s.State != "established" && s.Flaps == 1 && s.Received != "", fmt.Sprintf("%+v", s)
	})
	// bird-b holds bird-a's exported route: the export side has converged too.
	waitFor(t, "bird-b has 11.4.1.0/24", 30*time.Second, func() (bool, string) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		rr, err := bb.peer.Received(ctx)
		for _, r := range rr {
			if r.Prefix == pfx("11.4.1.0/24") {
				return true, ""
			}
		}
		return false, fmt.Sprint(rr, err)
	})

	shots := t.ArtifactDir()
	check := func(name, path, title string, want, not []string) {
		t.Helper()
		b.Open(base + path)
		if got := b.Title(); !strings.HasPrefix(got, title) {
			t.Errorf("%s: title %q, want %q…", name, got, title)
		}
		txt := strings.Join(strings.Fields(b.Text("body")), " ") // as read: the layout's line breaks are spaces
		for _, w := range want {
			if !strings.Contains(txt, w) {
				t.Errorf("%s: a person does not see %q\n%.3000s", name, w, txt)
			}
		}
		for _, w := range not {
			if strings.Contains(txt, w) {
				t.Errorf("%s: the page shows %q\n%.3000s", name, w, txt)
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
	const idA, idB, idC = "R_127_0_1_41", "R_127_0_1_42", "R_127_0_1_43"
	b.PreferDark(false)
	check("overview", "/", "Overview · e2e BIRD", []string{"e2e BIRD", "AS65000", "sessions up", "routes filtered", "Sessions down", "bird-c"}, nil)
	check("sessions", "/sessions", "Sessions", []string{"bird-a", "bird-b", "bird-c", "AS65041", "127.0.1.41"}, nil)
	// The members' rows: bird-a up with its counts, bird-c down with the NOTIFICATION it sent.
	rowA := b.Text(`#sessions tr:has(a[href="/sessions/` + idA + `"])`)
	if !strings.Contains(rowA, "established") || !strings.Contains(rowA, "AS65041") || !strings.Contains(rowA, "127.0.1.41") {
		t.Errorf("bird-a's row in the sessions table: %q", rowA)
	}
	rowC := b.Text(`#sessions tr:has(a[href="/sessions/` + idC + `"])`)
	if strings.Contains(rowC, "established") || !strings.Contains(rowC, "Cease") {
		t.Errorf("bird-c's row in the sessions table: %q, want it down with its Cease", rowC)
	}
	b.Clean("rows")
	check("session-down", "/sessions/"+idC, "bird-c", []string{"Session details", "Flaps 1", "Last NOTIFICATION received Cease"}, nil)
	check("session", "/sessions/"+idA, "bird-a", []string{"Session details", "4-octet AS", "Flaps 0", "Received (3)", "Filtered (1)"}, nil)
	check("filtered", "/sessions/"+idA+"/filtered", "bird-a · Filtered routes", []string{"11.4.2.0/25", "prefix too long", "65000:1101:1"},
		[]string{"11.4.1.0/24"})
	check("accepted", "/sessions/"+idA+"/accepted", "bird-a · Accepted routes", []string{"11.4.1.0/24", "11.4.3.0/24"}, []string{"11.4.2.0/25"})
	check("exported", "/sessions/"+idB+"/exported", "bird-b · Exported routes", []string{"11.4.1.0/24", "bird-a"},
		[]string{"11.4.3.0/24", "11.4.2.0/25"})
	check("not-exported", "/sessions/"+idB+"/not-exported", "bird-b · Not exported", []string{"11.4.3.0/24",
		"do not announce to this member (control community)", "65000:1102:1"}, nil)
	check("not-exported-own-as", "/sessions/"+idA+"/not-exported", "bird-a · Not exported", []string{"11.4.4.0/24", "65000:1102:3"}, nil)
	check("search", "/search?kind=origin&q=AS65042", "Search origin AS65042", []string{"11.4.5.0/24", "bird-b"}, []string{"11.4.1.0/24"})
	check("search-as-path", "/search?kind=as-path&q=_65041_", "Search as-path", []string{"11.4.1.0/24", "11.4.4.0/24"}, nil)
	check("lookup", "/lookup?prefix=11.4.1.0/24", "Lookup 11.4.1.0/24", []string{"bird-a", "best"}, nil)

	// Follow links: sessions → bird-a → filtered → the filtered route → the same prefix everywhere.
	b.Open(base + "/sessions")
	b.Follow(`#sessions a[href="/sessions/` + idA + `"]`)
	b.Follow(`nav.tabs a[href="/sessions/` + idA + `/filtered"]`)
	b.Follow(`table.routes td.prefix a`)
	if txt := b.Text("main"); !strings.Contains(txt, "11.4.2.0/25") || !strings.Contains(txt, "Import checks") ||
		!strings.Contains(txt, "fail") || !strings.Contains(txt, "prefix too long") {
		t.Errorf("the filtered route's page lacks its failed check\n%.2000s", txt)
	}
	b.Screenshot(shots, "route")
	b.Clean("links")

	b.PreferDark(true)
	check("filtered-dark", "/sessions/"+idA+"/filtered", "bird-a", []string{"prefix too long"}, nil)
	b.PreferDark(false)
}
