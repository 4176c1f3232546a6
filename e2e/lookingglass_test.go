package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ixrs/ixrs/internal/peers"
)

// TestLookingGlass runs the built binary with real BIRD and FRR members and a filtered and two
// not-exported cases planted, and reads each case with its reason from the looking glass's own API
// and from the birdwatcher and bgplgd shapes that Alice-LG reads.
func TestLookingGlass(t *testing.T) {
	peers.Require(t, "bird", "birdc", "/usr/lib/frr/bgpd", "vtysh")
	nhA, nhB := adr("192.0.2.31"), adr("192.0.2.32")
	a := &member{name: "bird-a", start: peers.StartBIRD, addr: "127.0.1.31", as: 65031, routes: []peers.Announce{
		{Prefix: pfx("11.3.1.0/24"), NextHop: nhA},
		{Prefix: pfx("11.3.2.0/25"), NextHop: nhA},                                   // too long: filtered (RS:1101:1)
		{Prefix: pfx("11.3.3.0/24"), NextHop: nhA, Communities: []string{"0:65032"}}, // not to frr-b (RS:1102:1)
	}}
	b := &member{name: "frr-b", start: peers.StartFRR, addr: "127.0.1.32", as: 65032, routes: []peers.Announce{
		{Prefix: pfx("11.3.4.0/24"), NextHop: nhB, ASPathPrepend: []uint32{65031}}, // bird-a's AS in the path (RS:1102:3)
		{Prefix: pfx("11.3.5.0/24"), NextHop: nhB},
	}}
	lgPort := peers.FreePort(t, adr("127.0.0.1"))
	cfg := strings.Replace(configFor([]*member{a, b}), "[defaults]", fmt.Sprintf("[lookingglass]\nlisten = \"127.0.0.1:%d\"\nname = \"e2e\"\n\n[defaults]", lgPort), 1)
	rs := startRouteServer(t, cfg)
	startMembers(t, rs, []*member{a, b})
	base := fmt.Sprintf("http://127.0.0.1:%d", lgPort)
	client := &http.Client{Timeout: 15 * time.Second}
	get := func(path string, v any) (int, error) {
		resp, err := client.Get(base + path)
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			return resp.StatusCode, err
		}
		if resp.StatusCode == http.StatusOK {
			if err := json.Unmarshal(body, v); err != nil {
				return resp.StatusCode, fmt.Errorf("%s: %v: %.300s", path, err, body)
			}
		}
		return resp.StatusCode, nil
	}

	// Wait until both sessions are up and every route is in.
	type family struct {
		Family                       string
		Received, Accepted, Filtered int
	}
	type session struct {
		ID, Member, State string
		Families          []family
	}
	waitFor(t, "sessions up with their routes", 90*time.Second, func() (bool, string) {
		var r struct{ Sessions []session }
		code, err := get("/api/v1/sessions", &r)
		if err != nil || code != 200 {
			return false, fmt.Sprint(code, err)
		}
		n := 0
		for _, s := range r.Sessions {
			for _, f := range s.Families {
				if s.State == "established" && f.Family == "ipv4" {
					n += f.Received
				}
			}
		}
		return n == 5, fmt.Sprintf("%+v", r.Sessions)
	})

	type reason struct {
		Code      int
		Community string
	}
	type route struct {
		Prefix      string
		Member      string
		Accepted    bool
		Reasons     []reason
		NotExported *reason `json:"not_exported"`
	}
	routes := func(id, view string) map[string]route {
		t.Helper()
		var r struct{ Routes []route }
		if code, err := get("/api/v1/sessions/"+id+"/routes/"+view+"?limit=1000", &r); err != nil || code != 200 {
			t.Fatalf("%s %s: %d %v", id, view, code, err)
		}
		out := map[string]route{}
		for _, x := range r.Routes {
			out[x.Prefix] = x
		}
		return out
	}
	idA, idB := "R_127_0_1_31", "R_127_0_1_32"
	filtered := routes(idA, "filtered")
	if r, ok := filtered["11.3.2.0/25"]; !ok || len(filtered) != 1 || len(r.Reasons) == 0 || r.Reasons[0].Code != 1 ||
		r.Reasons[0].Community != "65000:1101:1" {
		t.Errorf("bird-a's filtered routes: %+v, want 11.3.2.0/25 with RS:1101:1 (prefix too long)", filtered)
	}
	if acc := routes(idA, "accepted"); len(acc) != 2 || acc["11.3.1.0/24"].Prefix == "" || acc["11.3.3.0/24"].Prefix == "" {
		t.Errorf("bird-a's accepted routes: %+v", acc)
	}
	notB := routes(idB, "not-exported")
	if r, ok := notB["11.3.3.0/24"]; !ok || r.NotExported == nil || r.NotExported.Code != 1 || r.NotExported.Community != "65000:1102:1" {
		t.Errorf("not exported to frr-b: %+v, want 11.3.3.0/24 with RS:1102:1", notB)
	}
	notA := routes(idA, "not-exported")
	if r, ok := notA["11.3.4.0/24"]; !ok || r.NotExported == nil || r.NotExported.Code != 3 {
		t.Errorf("not exported to bird-a: %+v, want 11.3.4.0/24 with RS:1102:3 (its AS in the path)", notA)
	}
	expB := routes(idB, "exported")
	if _, ok := expB["11.3.1.0/24"]; !ok || len(expB) != 1 {
		t.Errorf("exported to frr-b: %+v, want exactly 11.3.1.0/24", expB)
	}
	var ex struct {
		Checks []struct {
			Step    int
			Outcome string
			Reason  *reason
		}
	}
	if code, err := get("/api/v1/sessions/"+idA+"/explain?prefix=11.3.2.0/25", &ex); err != nil || code != 200 {
		t.Fatalf("route detail: %d %v", code, err)
	}
	failed := false
	for _, c := range ex.Checks {
		failed = failed || (c.Step == 8 && c.Outcome == "fail" && c.Reason != nil && c.Reason.Code == 1)
	}
	if !failed {
		t.Errorf("explain of 11.3.2.0/25 lacks the failed prefix-length check: %+v", ex.Checks)
	}

	// Alice-LG's birdwatcher source: the filtered route carries RS:1101:1, the not-exported one RS:1102:1.
	type bwRoute struct {
		Network string
		BGP     struct {
			LargeCommunities [][]int64 `json:"large_communities"`
		}
	}
	hasLarge := func(r bwRoute, lc []int64) bool {
		return slices.ContainsFunc(r.BGP.LargeCommunities, func(x []int64) bool { return slices.Equal(x, lc) })
	}
	var bw struct{ Routes []bwRoute }
	if code, err := get("/birdwatcher/routes/filtered/"+idA, &bw); err != nil || code != 200 {
		t.Fatalf("birdwatcher filtered: %d %v", code, err)
	}
	if len(bw.Routes) != 1 || bw.Routes[0].Network != "11.3.2.0/25" || !hasLarge(bw.Routes[0], []int64{65000, 1101, 1}) {
		t.Errorf("birdwatcher filtered routes of bird-a: %+v", bw.Routes)
	}
	bw.Routes = nil
	if code, err := get("/birdwatcher/routes/noexport/"+idB, &bw); err != nil || code != 200 {
		t.Fatalf("birdwatcher noexport: %d %v", code, err)
	}
	if !slices.ContainsFunc(bw.Routes, func(r bwRoute) bool { return r.Network == "11.3.3.0/24" && hasLarge(r, []int64{65000, 1102, 1}) }) {
		t.Errorf("birdwatcher not-exported routes of frr-b: %+v", bw.Routes)
	}
	var protos struct {
		Protocols map[string]struct {
			NeighborAS int `json:"neighbor_as"`
			Routes     struct{ Imported, Filtered int }
		}
	}
	if code, err := get("/birdwatcher/protocols/bgp", &protos); err != nil || code != 200 {
		t.Fatalf("birdwatcher protocols: %d %v", code, err)
	}
	if p := protos.Protocols[idA]; p.NeighborAS != 65031 || p.Routes.Imported != 2 || p.Routes.Filtered != 1 {
		t.Errorf("birdwatcher protocol %s: %+v", idA, p)
	}

	// OpenBGPD's bgplgd shape: the filtered route is present, tagged with its reason.
	var rib struct {
		Rib []struct {
			Prefix           string
			LargeCommunities []string `json:"large_communities"`
		}
	}
	if code, err := get("/bgplgd/rib?neighbor=127.0.1.31", &rib); err != nil || code != 200 {
		t.Fatalf("bgplgd rib: %d %v", code, err)
	}
	found := false
	for _, r := range rib.Rib {
		found = found || (r.Prefix == "11.3.2.0/25" && slices.Contains(r.LargeCommunities, "65000:1101:1"))
	}
	if !found {
		t.Errorf("bgplgd rib of 127.0.1.31 lacks the tagged filtered route: %+v", rib.Rib)
	}
}
