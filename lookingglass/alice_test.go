package lookingglass

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The compatibility shapes are read by clients that type-assert JSON values (Alice-LG panics on a
// mismatch, and the refresh of that source fails). These tests decode responses generically and
// assert the types and fields those clients read, as docs/lookingglass.md lists them.

func getJSON(t *testing.T, path string) map[string]any {
	t.Helper()
	h := newTestServer(t, newFake()).Handler()
	code, _, body := do(t, h, http.MethodGet, path, "198.51.100.77:1")
	if code != 200 {
		t.Fatalf("%s: status %d: %s", path, code, body)
	}
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return m
}

// typed fetches m[key] as a T, failing the test when it is missing or of another type.
func typed[T any](t *testing.T, where string, m map[string]any, key string) T {
	t.Helper()
	v, ok := m[key]
	if !ok {
		t.Fatalf("%s: %q missing", where, key)
	}
	x, ok := v.(T)
	if !ok {
		var zero T
		t.Fatalf("%s: %q is %T (%v), want %T", where, key, v, v, zero)
	}
	return x
}

func parseTime(t *testing.T, where, layout, s string) {
	t.Helper()
	if _, err := time.Parse(layout, s); err != nil {
		t.Errorf("%s: %q does not parse as %q", where, s, layout)
	}
}

// checkBirdwatcherAPI checks the envelope Alice-LG reads from every birdwatcher response.
func checkBirdwatcherAPI(t *testing.T, path string, m map[string]any) {
	api := typed[map[string]any](t, path, m, "api")
	typed[string](t, path+" api", api, "Version")
	typed[bool](t, path+" api", api, "result_from_cache")
	cs := typed[map[string]any](t, path+" api", api, "cache_status")
	at := typed[map[string]any](t, path+" cache_status", cs, "cached_at")
	parseTime(t, path+" cached_at.date", bwTime, typed[string](t, path, at, "date"))
	parseTime(t, path+" ttl", bwTime, typed[string](t, path, m, "ttl"))
}

func TestAliceBirdwatcherTypes(t *testing.T) {
	st := getJSON(t, "/birdwatcher/status")
	checkBirdwatcherAPI(t, "/status", st)
	status := typed[map[string]any](t, "/status", st, "status")
	parseTime(t, "current_server", bwTimeShort, typed[string](t, "status", status, "current_server"))
	parseTime(t, "last_reboot", bwTimeShort, typed[string](t, "status", status, "last_reboot"))
	parseTime(t, "last_reconfig", bwTimeShort, typed[string](t, "status", status, "last_reconfig"))
	for _, k := range []string{"version", "message", "router_id"} {
		typed[string](t, "status", status, k)
	}

	pr := getJSON(t, "/birdwatcher/protocols/bgp")
	checkBirdwatcherAPI(t, "/protocols/bgp", pr)
	protocols := typed[map[string]any](t, "/protocols/bgp", pr, "protocols")
	if len(protocols) != 4 {
		t.Errorf("%d protocols, want the 4 visible sessions", len(protocols))
	}
	for id, v := range protocols {
		p, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("protocol %s is %T", id, v)
		}
		if !strings.HasPrefix(id, "R_") {
			t.Errorf("protocol id %q", id)
		}
		routes := typed[map[string]any](t, id, p, "routes")
		for _, k := range []string{"imported", "filtered", "exported", "preferred"} {
			typed[float64](t, id+" routes", routes, k)
		}
		typed[float64](t, id, p, "neighbor_as")
		for _, k := range []string{"neighbor_address", "state", "description", "last_error", "bird_protocol"} {
			typed[string](t, id, p, k)
		}
		parseTime(t, id+" state_changed", bwTimeShort, typed[string](t, id, p, "state_changed"))
		if addr, _ := ParseSessionID(id); addr.String() != p["neighbor_address"] {
			t.Errorf("protocol %s has neighbor_address %v", id, p["neighbor_address"])
		}
	}
	if p := protocols["R_192_0_2_13"].(map[string]any); p["state"] != "down" || !strings.Contains(p["last_error"].(string), "NOTIFICATION 6/2") {
		t.Errorf("the idle session: state %v, last_error %v", p["state"], p["last_error"])
	}

	for _, path := range []string{"/birdwatcher/routes/protocol/R_192_0_2_12", "/birdwatcher/routes/filtered/R_192_0_2_12",
		"/birdwatcher/routes/noexport/R_192_0_2_12", "/birdwatcher/routes/table/master4", "/birdwatcher/routes/table/master4/filtered",
		"/birdwatcher/routes/table/master6"} {
		m := getJSON(t, path)
		checkBirdwatcherAPI(t, path, m)
		routes := typed[[]any](t, path, m, "routes")
		if len(routes) == 0 {
			t.Errorf("%s: no routes", path)
		}
		for i, v := range routes {
			checkBirdwatcherRoute(t, path, i, v.(map[string]any), protocols)
		}
	}
}

func checkBirdwatcherRoute(t *testing.T, path string, i int, r map[string]any, protocols map[string]any) {
	where := path + " route " + r["network"].(string)
	for _, k := range []string{"network", "gateway", "interface", "learnt_from"} {
		typed[string](t, where, r, k)
	}
	if _, ok := protocols[typed[string](t, where, r, "from_protocol")]; !ok {
		t.Errorf("%s: from_protocol %v is not a protocol id", where, r["from_protocol"])
	}
	parseTime(t, where+" age", bwTimeShort, typed[string](t, where, r, "age"))
	typed[bool](t, where, r, "primary")
	typed[float64](t, where, r, "metric")
	for _, x := range typed[[]any](t, where, r, "type") {
		if _, ok := x.(string); !ok {
			t.Errorf("%s: type element %T", where, x)
		}
	}
	bgp := typed[map[string]any](t, where, r, "bgp")
	for _, k := range []string{"origin", "next_hop", "local_pref", "med"} {
		typed[string](t, where+" bgp", bgp, k)
	}
	for _, a := range typed[[]any](t, where+" bgp", bgp, "as_path") {
		if _, ok := a.(string); !ok {
			t.Errorf("%s: as_path element %T, want string", where, a)
		}
	}
	for key, n := range map[string]int{"communities": 2, "large_communities": 3} {
		for _, c := range typed[[]any](t, where+" bgp", bgp, key) {
			parts, ok := c.([]any)
			if !ok || len(parts) != n {
				t.Fatalf("%s: %s element %v", where, key, c)
			}
			for _, p := range parts {
				if _, ok := p.(float64); !ok {
					t.Errorf("%s: %s value %T, want a number", where, key, p)
				}
			}
		}
	}
	for _, c := range typed[[]any](t, where+" bgp", bgp, "ext_communities") {
		parts, ok := c.([]any)
		if !ok || len(parts) != 3 {
			t.Fatalf("%s: ext community %v", where, c)
		}
		for _, p := range parts {
			if _, ok := p.(string); !ok {
				t.Errorf("%s: ext community value %T, want a string", where, p)
			}
		}
	}
}

// hasLarge reports whether a birdwatcher route carries RS:fn:* (any value when n is 0).
func hasLarge(r map[string]any, rs, fn, n float64) bool {
	for _, c := range r["bgp"].(map[string]any)["large_communities"].([]any) {
		p := c.([]any)
		if p[0] == rs && p[1] == fn && (n == 0 || p[2] == n) {
			return true
		}
	}
	return false
}

// TestAliceReasonCommunities checks what Alice-LG's rejection_reasons, noexport_reasons and rpki
// settings map: every filtered route has RS:1101:N, no accepted one does, every not-exported route
// has RS:1102:N, and every route has its RPKI state as RS:1000:N.
func TestAliceReasonCommunities(t *testing.T) {
	for path, want := range map[string]float64{
		"/birdwatcher/routes/protocol/R_192_0_2_12": 0, "/birdwatcher/routes/filtered/R_192_0_2_12": 1101,
		"/birdwatcher/routes/noexport/R_192_0_2_12": 1102, "/birdwatcher/routes/table/master4/filtered": 1101,
	} {
		for _, v := range getJSON(t, path)["routes"].([]any) {
			r := v.(map[string]any)
			if hasLarge(r, 64500, 1101, 0) != (want == 1101) {
				t.Errorf("%s %s: RS:1101 present %v", path, r["network"], !(want == 1101))
			}
			if want == 1102 && !hasLarge(r, 64500, 1102, 0) {
				t.Errorf("%s %s: no RS:1102 reason", path, r["network"])
			}
			if !hasLarge(r, 64500, 1000, 0) {
				t.Errorf("%s %s: no RPKI state RS:1000:N", path, r["network"])
			}
		}
	}
	// The planted cases, each with its reason.
	want := map[string]float64{"10.0.0.0/8": 3, "198.51.100.128/26": 13, "2001:db8:200::/48": 16}
	for _, v := range getJSON(t, "/birdwatcher/routes/filtered/R_192_0_2_12")["routes"].([]any) {
		r := v.(map[string]any)
		n := r["network"].(string)
		if !hasLarge(r, 64500, 1101, want[n]) {
			t.Errorf("filtered %s: missing RS:1101:%v", n, want[n])
		}
		delete(want, n)
	}
	if len(want) != 0 {
		t.Errorf("filtered routes missing: %v", want)
	}
	ne := map[string]float64{"203.0.113.0/24": 1, "2001:db8:100::/48": 5}
	for _, v := range getJSON(t, "/birdwatcher/routes/noexport/R_192_0_2_12")["routes"].([]any) {
		r := v.(map[string]any)
		if n := r["network"].(string); !hasLarge(r, 64500, 1102, ne[n]) {
			t.Errorf("not exported %s: missing RS:1102:%v", n, ne[n])
		}
	}
}

func TestAliceBgplgdTypes(t *testing.T) {
	updown := regexp.MustCompile(`^(\d\d:\d\d:\d\d|\d+d\d\dh\d\dm|\d\dw\dd\d\dh|Never)$`)
	m := getJSON(t, "/bgplgd/neighbors")
	for _, v := range typed[[]any](t, "/neighbors", m, "neighbors") {
		n := v.(map[string]any)
		where := "neighbor " + n["remote_addr"].(string)
		for _, k := range []string{"remote_addr", "remote_as", "description", "state", "last_updown"} {
			typed[string](t, where, n, k)
		}
		if !updown.MatchString(n["last_updown"].(string)) {
			t.Errorf("%s: last_updown %q", where, n["last_updown"])
		}
		p := typed[map[string]any](t, where, typed[map[string]any](t, where, n, "stats"), "prefixes")
		typed[float64](t, where, p, "received")
		typed[float64](t, where, p, "sent")
	}
	filtered := 0
	for _, path := range []string{"/bgplgd/rib", "/bgplgd/rib?neighbor=192.0.2.12"} {
		for _, v := range typed[[]any](t, path, getJSON(t, path), "rib") {
			r := v.(map[string]any)
			where := path + " " + r["prefix"].(string)
			for _, k := range []string{"prefix", "aspath", "true_nexthop", "origin", "last_update"} {
				typed[string](t, where, r, k)
			}
			typed[string](t, where, typed[map[string]any](t, where, r, "neighbor"), "remote_addr")
			typed[float64](t, where, r, "localpref")
			typed[bool](t, where, r, "best")
			for _, k := range []string{"communities", "large_communities", "extended_communities"} {
				for _, c := range typed[[]any](t, where, r, k) {
					if _, ok := c.(string); !ok {
						t.Errorf("%s: %s element %T", where, k, c)
					}
				}
			}
			for _, c := range r["large_communities"].([]any) {
				if strings.HasPrefix(c.(string), "64500:1101:") {
					filtered++
					break
				}
			}
		}
	}
	if filtered != 6 { // Beta's three filtered routes, in /rib and in /rib?neighbor=
		t.Errorf("%d filtered routes tagged RS:1101, want 6", filtered)
	}
}

// TestBirdsEyeTypes checks what IXP Manager reads: api.max_routes an integer, protocols keyed by
// id with neighbor_as and routes.imported integers, large communities as numbers (it compares the
// first with the route server's ASN strictly).
func TestBirdsEyeTypes(t *testing.T) {
	m := getJSON(t, "/birdseye/protocols/bgp")
	api := typed[map[string]any](t, "api", m, "api")
	typed[float64](t, "api", api, "max_routes")
	typed[bool](t, "api", api, "from_cache")
	for id, v := range typed[map[string]any](t, "protocols", m, "protocols") {
		p := v.(map[string]any)
		typed[float64](t, id, p, "neighbor_as")
		typed[float64](t, id, typed[map[string]any](t, id, p, "routes"), "imported")
		typed[string](t, id, p, "table")
	}
	st := typed[map[string]any](t, "status", getJSON(t, "/birdseye/status"), "status")
	for _, k := range []string{"server_time", "last_reboot", "last_reconfig"} {
		parseTime(t, k, time.RFC3339, typed[string](t, "status", st, k))
	}
	for _, v := range getJSON(t, "/birdseye/routes/lc-zwild/protocol/R_192_0_2_12/64500/1101")["routes"].([]any) {
		if !hasLarge(v.(map[string]any), 64500, 1101, 0) {
			t.Errorf("lc-zwild returned %v without 64500:1101:*", v.(map[string]any)["network"])
		}
	}
}
