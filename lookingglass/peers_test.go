package lookingglass

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestCompare runs a second looking glass (rs2) on loopback that filtered a route rs1 accepted,
// and one peer that does not answer, and checks that /api/v1/compare shows all three and flags
// the disagreement.
func TestCompare(t *testing.T) {
	f2 := newFake()
	beta := addr("192.0.2.12")
	f2.received[beta][0].Reasons = []int{10} // 198.51.100.0/24: origin not in IRR on rs2
	f2.sessions[2].Families[0].Accepted, f2.sessions[2].Families[0].Filtered = 1, 3
	cfg2 := fakeCfg(t)
	cfg2.LookingGlass.Name = "Example-IX RS2"
	rs2 := New(cfg2, f2, nil)
	rs2.now = func() time.Time { return fakeNow }
	peer := httptest.NewServer(rs2.Handler())
	defer peer.Close()
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close() // nothing listens there any more

	cfg := fakeCfg(t)
	cfg.LookingGlass.Peers = []string{peer.URL, deadURL}
	s := New(cfg, newFake(), nil)
	s.now = func() time.Time { return fakeNow }
	h := s.Handler()

	code, _, body := do(t, h, http.MethodGet, "/api/v1/compare/sessions/R_192_0_2_12?prefix=198.51.100.0/24", "198.51.100.77:1")
	var c CompareJSON
	if code != 200 || json.Unmarshal(body, &c) != nil {
		t.Fatalf("%d %s", code, body)
	}
	if len(c.Servers) != 3 || c.Servers[0].Name != "Example-IX RS1" || c.Servers[1].Name != "Example-IX RS2" || c.Servers[1].URL != peer.URL {
		t.Fatalf("servers %+v", c.Servers)
	}
	if c.Servers[2].Error == "" || c.Servers[2].Session != nil {
		t.Errorf("the dead peer: %+v", c.Servers[2])
	}
	if r := c.Servers[1].Route; r == nil || r.Accepted || len(r.Reasons) != 1 || r.Reasons[0].Code != 10 {
		t.Errorf("rs2's route: %+v", r)
	}
	if c.Agree || !slices.Equal(c.Differences, []string{"counts", "accepted", "reasons"}) {
		t.Errorf("agree %v, differences %v", c.Agree, c.Differences)
	}

	// A route both agree on.
	_, _, body = do(t, h, http.MethodGet, "/api/v1/compare/sessions/R_192_0_2_11?prefix=203.0.113.0/24", "198.51.100.77:1")
	c = CompareJSON{}
	if err := json.Unmarshal(body, &c); err != nil || !c.Agree || len(c.Servers) != 3 || c.Servers[1].Route == nil {
		t.Errorf("agreeing route: %s", body)
	}
	// A route only one has.
	_, _, body = do(t, h, http.MethodGet, "/api/v1/compare/sessions/R_192_0_2_11?prefix=192.0.2.0/24", "198.51.100.77:1")
	if !strings.Contains(string(body), `"agree":true`) {
		t.Errorf("a route neither has: %s", body)
	}
	delete(f2.received, addr("192.0.2.11"))
	_, _, body = do(t, h, http.MethodGet, "/api/v1/compare/sessions/R_192_0_2_11?prefix=203.0.113.0/24", "198.51.100.77:1")
	c = CompareJSON{}
	if err := json.Unmarshal(body, &c); err != nil || c.Agree || !slices.Equal(c.Differences, []string{"route"}) {
		t.Errorf("a route only rs1 has: %s", body)
	}
}
