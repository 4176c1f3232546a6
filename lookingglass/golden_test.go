package lookingglass

import (
	"bytes"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// endpoint is one request of the golden set.
type endpoint struct {
	name   string
	path   string
	status int
}

// endpoints covers every path of the looking glass on the fixed RIB of newFake, and the errors.
var endpoints = []endpoint{
	{"api-status", "/api/v1/status", 200},
	{"api-reasons", "/api/v1/reasons", 200},
	{"api-sessions", "/api/v1/sessions", 200},
	{"api-session", "/api/v1/sessions/R_192_0_2_11", 200},
	{"api-session-by-address", "/api/v1/sessions/2001:db8:ffff::11", 200},
	{"api-session-down", "/api/v1/sessions/192.0.2.13", 200},
	{"api-received", "/api/v1/sessions/R_192_0_2_12/routes/received", 200},
	{"api-received-page1", "/api/v1/sessions/R_192_0_2_12/routes/received?limit=2", 200},
	{"api-received-page2", "/api/v1/sessions/R_192_0_2_12/routes/received?limit=2&cursor=g42.2", 200},
	{"api-received-sorted", "/api/v1/sessions/R_192_0_2_12/routes/received?sort=-prefix", 200},
	{"api-received-ipv6", "/api/v1/sessions/R_192_0_2_12/routes/received?family=ipv6", 200},
	{"api-accepted", "/api/v1/sessions/R_192_0_2_12/routes/accepted", 200},
	{"api-filtered", "/api/v1/sessions/R_192_0_2_12/routes/filtered", 200},
	{"api-exported", "/api/v1/sessions/R_192_0_2_12/routes/exported", 200},
	{"api-not-exported", "/api/v1/sessions/R_192_0_2_12/routes/not-exported", 200},
	{"api-exported-alpha", "/api/v1/sessions/R_192_0_2_11/routes/exported", 200},
	{"api-not-exported-alpha", "/api/v1/sessions/R_192_0_2_11/routes/not-exported", 200},
	{"api-explain-filtered", "/api/v1/sessions/R_192_0_2_12/explain?prefix=198.51.100.128/26", 200},
	{"api-explain-accepted", "/api/v1/sessions/R_192_0_2_11/explain?prefix=203.0.113.0/24", 200},
	{"api-lookup-exact", "/api/v1/lookup?prefix=198.51.100.0/24", 200},
	{"api-lookup-longest", "/api/v1/lookup?prefix=203.0.113.200", 200},
	{"api-lookup-more-specific", "/api/v1/lookup?prefix=198.51.100.0/24&match=more-specific", 200},
	{"api-lookup-hidden-only", "/api/v1/lookup?prefix=192.0.2.128/25", 200},
	{"api-search-origin", "/api/v1/search/origin?q=AS64501", 200},
	{"api-search-asn", "/api/v1/search/asn?q=64501", 200},
	{"api-search-as-path", "/api/v1/search/as-path?q=%5E64502%20", 200},
	{"api-search-community", "/api/v1/search/community?q=0:64502", 200},
	{"api-search-large", "/api/v1/search/large-community?q=64501:1:1", 200},
	{"api-search-ext", "/api/v1/search/ext-community?q=rt:64501:7", 200},
	{"api-search-next-hop", "/api/v1/search/next-hop?q=192.0.2.12&family=ipv4", 200},
	{"api-compare-alone", "/api/v1/compare/sessions/R_192_0_2_12?prefix=198.51.100.0/24", 200},
	{"api-compare-session", "/api/v1/compare/sessions/192.0.2.13", 200},
	{"api-err-compare-hidden", "/api/v1/compare/sessions/R_192_0_2_14", 404},
	{"api-err-bad-prefix", "/api/v1/lookup?prefix=198.51.100.1/24", 400},
	{"api-err-bad-asn", "/api/v1/search/origin?q=AS0", 400},
	{"api-err-bad-regex", "/api/v1/search/as-path?q=(64501", 400},
	{"api-err-expensive-regex", "/api/v1/search/as-path?q=((1%7C2%7C3)%7B1000%7D)%7B9%7D", 400},
	{"api-err-unknown-param", "/api/v1/sessions?verbose=1", 400},
	{"api-err-bad-limit", "/api/v1/sessions/R_192_0_2_12/routes/received?limit=1001", 400},
	{"api-err-bad-view", "/api/v1/sessions/R_192_0_2_12/routes/best", 400},
	{"api-err-unknown-session", "/api/v1/sessions/192.0.2.99/routes/received", 404},
	{"api-err-hidden-session", "/api/v1/sessions/R_192_0_2_14", 404},
	{"api-err-no-route", "/api/v1/sessions/R_192_0_2_11/explain?prefix=192.0.2.0/24", 404},
	{"api-err-stale-cursor", "/api/v1/sessions/R_192_0_2_12/routes/received?cursor=g41.2", 409},
	{"api-err-no-endpoint", "/api/v1/nothing", 404},

	{"birdwatcher-status", "/birdwatcher/status", 200},
	{"birdwatcher-protocols", "/birdwatcher/protocols/bgp", 200},
	{"birdwatcher-routes-protocol", "/birdwatcher/routes/protocol/R_192_0_2_12", 200},
	{"birdwatcher-routes-filtered", "/birdwatcher/routes/filtered/R_192_0_2_12", 200},
	{"birdwatcher-routes-noexport", "/birdwatcher/routes/noexport/R_192_0_2_12", 200},
	{"birdwatcher-table-master4", "/birdwatcher/routes/table/master4", 200},
	{"birdwatcher-table-master4-filtered", "/birdwatcher/routes/table/master4/filtered", 200},
	{"birdwatcher-table-master6", "/birdwatcher/routes/table/master6", 200},
	{"birdwatcher-table-master6-filtered", "/birdwatcher/routes/table/master6/filtered", 200},
	{"birdwatcher-err-unknown-protocol", "/birdwatcher/routes/protocol/R_192_0_2_99", 404},
	{"birdwatcher-err-hidden-protocol", "/birdwatcher/routes/protocol/R_192_0_2_14", 404},
	{"birdwatcher-err-unknown-table", "/birdwatcher/routes/table/t_other", 404},

	{"bgplgd-neighbors", "/bgplgd/neighbors", 200},
	{"bgplgd-rib", "/bgplgd/rib", 200},
	{"bgplgd-rib-neighbor", "/bgplgd/rib?neighbor=192.0.2.12", 200},
	{"bgplgd-err-bad-param", "/bgplgd/rib?as=64501", 400},

	{"birdseye-status", "/birdseye/status", 200},
	{"birdseye-protocols", "/birdseye/protocols/bgp", 200},
	{"birdseye-symbols", "/birdseye/symbols", 200},
	{"birdseye-table", "/birdseye/routes/table/master4", 200},
	{"birdseye-routes-protocol", "/birdseye/routes/protocol/R_192_0_2_11", 200},
	{"birdseye-routes-export", "/birdseye/routes/export/R_192_0_2_12?use_cache=0", 200},
	{"birdseye-route-protocol", "/birdseye/route/198.51.100.0%2F24/protocol/R_192_0_2_11", 200},
	{"birdseye-route-table", "/birdseye/route/198.51.100.0%2F24/table/master4", 200},
	{"birdseye-route-export", "/birdseye/route/198.51.100.0%2F24/export/R_192_0_2_12", 200},
	{"birdseye-lc-zwild", "/birdseye/routes/lc-zwild/protocol/R_192_0_2_12/64500/1101", 200},
}

// newTestServer returns a looking glass over f with the clock fixed.
func newTestServer(t testing.TB, f *fakeBackend) *Server {
	t.Helper()
	s := New(fakeCfg(t), f, nil)
	s.now = func() time.Time { return fakeNow }
	return s
}

// do sends one request from client (an address:port) and returns the status and body.
func do(t testing.TB, h http.Handler, method, path, client string) (int, http.Header, []byte) {
	t.Helper()
	req := httptest.NewRequest(method, path, nil)
	req.RemoteAddr = client
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	body, err := io.ReadAll(w.Result().Body)
	if err != nil {
		t.Fatal(err)
	}
	return w.Code, w.Result().Header, body
}

func TestGolden(t *testing.T) {
	s := newTestServer(t, newFake())
	h := s.Handler()
	seen := map[string]bool{}
	for _, ep := range endpoints {
		t.Run(ep.name, func(t *testing.T) {
			if seen[ep.name] {
				t.Fatalf("duplicate name %s", ep.name)
			}
			seen[ep.name] = true
			code, hdr, body := do(t, h, http.MethodGet, ep.path, "198.51.100.77:40000")
			if code != ep.status {
				t.Errorf("status %d, want %d: %s", code, ep.status, body)
			}
			if ct := hdr.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("Content-Type %q", ct)
			}
			var out bytes.Buffer
			if err := json.Indent(&out, body, "", "  "); err != nil {
				t.Fatalf("not JSON: %v\n%s", err, body)
			}
			got := "GET " + ep.path + "\n" + out.String() + "\n"
			file := filepath.Join("testdata", "golden", ep.name+".golden")
			if *update {
				if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(file)
			if err != nil {
				t.Fatalf("%v (run go test -run TestGolden -update)", err)
			}
			if got != string(want) {
				t.Errorf("response differs from %s (go test -run TestGolden -update to accept):\n%s", file, got)
			}
		})
	}
}
