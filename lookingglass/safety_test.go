package lookingglass

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// TestNoLeaks sends every golden request, with a Backend that honours Hide and with one that
// ignores it, and requires that no response mentions the hidden member or any password.
func TestNoLeaks(t *testing.T) {
	for _, ignore := range []bool{false, true} {
		f := newFake()
		f.ignoreHide = ignore
		h := newTestServer(t, f).Handler()
		extra := []string{"/birdseye/routes/export/R_192_0_2_11", "/api/v1/lookup?prefix=192.0.2.200", "/api/v1/search/origin?q=64504",
			"/birdseye/route/192.0.2.128%2F25/table/master4", "/api/v1/sessions/R_192_0_2_14/routes/received", "/bgplgd/rib?neighbor=192.0.2.14"}
		paths := extra
		for _, ep := range endpoints {
			paths = append(paths, ep.path)
		}
		for _, p := range paths {
			_, _, body := do(t, h, http.MethodGet, p, "198.51.100.77:1")
			for _, l := range leaks {
				if strings.Contains(string(body), l) {
					t.Errorf("ignoreHide=%v %s: response contains %q", ignore, p, l)
				}
			}
		}
	}
}

// TestHiddenFromQueries checks that the looking glass passes the hidden neighbors to the Backend.
func TestHiddenFromQueries(t *testing.T) {
	rec := &recordingBackend{fakeBackend: newFake()}
	s := newTestServer(t, newFake())
	s.backend = rec
	h := s.Handler()
	for _, p := range []string{"/api/v1/lookup?prefix=198.51.100.0/24", "/api/v1/search/asn?q=64501", "/api/v1/sessions/R_192_0_2_11/routes/exported"} {
		do(t, h, http.MethodGet, p, "198.51.100.77:1")
	}
	if len(rec.hides) != 3 {
		t.Fatalf("%d queries recorded", len(rec.hides))
	}
	for _, hide := range rec.hides {
		if len(hide) != 1 || hide[0] != addr("192.0.2.14") {
			t.Errorf("Hide = %v, want [192.0.2.14]", hide)
		}
	}
}

type recordingBackend struct {
	*fakeBackend
	hides [][]netip.Addr
}

func (r *recordingBackend) Routes(ctx context.Context, q RoutesQuery) (RoutePage, error) {
	r.hides = append(r.hides, q.Hide)
	return r.fakeBackend.Routes(ctx, q)
}

func (r *recordingBackend) Lookup(ctx context.Context, q LookupQuery) (RoutePage, error) {
	r.hides = append(r.hides, q.Hide)
	return r.fakeBackend.Lookup(ctx, q)
}

func (r *recordingBackend) Search(ctx context.Context, q SearchQuery) (RoutePage, error) {
	r.hides = append(r.hides, q.Hide)
	return r.fakeBackend.Search(ctx, q)
}

func TestReadOnly(t *testing.T) {
	h := newTestServer(t, newFake()).Handler()
	for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch} {
		code, hdr, body := do(t, h, m, "/api/v1/sessions", "198.51.100.77:1")
		if code != http.StatusMethodNotAllowed || hdr.Get("Allow") != "GET, HEAD" || !strings.Contains(string(body), "method_not_allowed") {
			t.Errorf("%s: %d %q %s", m, code, hdr.Get("Allow"), body)
		}
	}
}

// TestStarting: while the route server starts, status answers (ready false) and the rest is 503
// with Retry-After, in each shape's error format.
func TestStarting(t *testing.T) {
	f := newFake()
	f.notReady = true
	h := newTestServer(t, f).Handler()
	code, _, body := do(t, h, http.MethodGet, "/api/v1/status", "198.51.100.77:1")
	if code != 200 || !strings.Contains(string(body), `"ready":false`) {
		t.Errorf("status while starting: %d %s", code, body)
	}
	for path, want := range map[string]string{
		"/api/v1/sessions": `{"error":{"code":"starting","message":"the route server is starting"}}`,
		"/api/v1/sessions/R_192_0_2_11/routes/received": `{"error":{"code":"starting","message":"the route server is starting"}}`,
		"/birdwatcher/protocols/bgp":                    `{"error":"the route server is starting"}`,
		"/birdwatcher/routes/table/master4":             `{"error":"the route server is starting"}`,
		"/bgplgd/neighbors":                             `{"error":"the route server is starting"}`,
	} {
		code, hdr, body := do(t, h, http.MethodGet, path, "198.51.100.77:1")
		if code != 503 || hdr.Get("Retry-After") == "" || strings.TrimSpace(string(body)) != want {
			t.Errorf("%s: %d Retry-After %q %s", path, code, hdr.Get("Retry-After"), body)
		}
	}
}

func TestPartialPages(t *testing.T) {
	f := newFake()
	f.budget = 1
	h := newTestServer(t, f).Handler()
	var got []string
	cursor := ""
	for i := 0; i < 10; i++ {
		code, _, body := do(t, h, http.MethodGet, "/api/v1/sessions/R_192_0_2_12/routes/received?limit=3&cursor="+cursor, "198.51.100.77:1")
		var p RoutePageJSON
		if code != 200 || json.Unmarshal(body, &p) != nil {
			t.Fatalf("%d %s", code, body)
		}
		for _, r := range p.Routes {
			got = append(got, r.Prefix)
		}
		if p.NextCursor != "" && !p.Partial {
			t.Errorf("page %d: a short page with a next cursor must be partial", i)
		}
		if cursor = p.NextCursor; cursor == "" {
			break
		}
	}
	if len(got) != 5 || got[0] != "198.51.100.0/24" || got[4] != "2001:db8:200::/48" {
		t.Errorf("walked %v", got)
	}
}

func TestRateLimit(t *testing.T) {
	cfg := fakeCfg(t)
	cfg.LookingGlass.RateLimit.Pages, cfg.LookingGlass.RateLimit.PagesBurst = 1, 3
	cfg.LookingGlass.RateLimit.Searches, cfg.LookingGlass.RateLimit.SearchesBurst = 0.1, 1
	cfg.LookingGlass.RateLimit.Exempt = []netip.Prefix{pfx("192.0.2.50/32")}
	s := New(cfg, newFake(), nil)
	clock := fakeNow
	s.now = func() time.Time { return clock }
	h := s.Handler()
	status := func(path, client string) int {
		code, hdr, _ := do(t, h, http.MethodGet, path, client)
		if code == 429 && hdr.Get("Retry-After") == "" {
			t.Errorf("429 without Retry-After")
		}
		return code
	}
	for i := 0; i < 3; i++ {
		if c := status("/api/v1/sessions", "198.51.100.1:1"); c != 200 {
			t.Fatalf("request %d within the burst: %d", i, c)
		}
	}
	if c := status("/api/v1/sessions", "198.51.100.1:2"); c != 429 {
		t.Errorf("request over the burst: %d, want 429", c)
	}
	if c := status("/api/v1/sessions", "198.51.100.2:1"); c != 200 {
		t.Errorf("another client: %d", c)
	}
	// Searches have their own, tighter bucket.
	if c := status("/api/v1/search/asn?q=64501", "198.51.100.1:1"); c != 200 {
		t.Errorf("first search: %d", c)
	}
	if c := status("/api/v1/search/asn?q=64501", "198.51.100.1:1"); c != 429 {
		t.Errorf("second search: %d, want 429", c)
	}
	clock = clock.Add(time.Second) // one page token back, no search token yet
	if c := status("/api/v1/sessions", "198.51.100.1:1"); c != 200 {
		t.Errorf("after a second: %d", c)
	}
	if c := status("/api/v1/search/asn?q=64501", "198.51.100.1:1"); c != 429 {
		t.Errorf("search after a second: %d, want 429", c)
	}
	// IPv6 clients share a bucket per /64.
	for i, a := range []string{"[2001:db8:1:2::1]:1", "[2001:db8:1:2::2]:1", "[2001:db8:1:2::3]:1"} {
		if c := status("/api/v1/sessions", a); c != 200 {
			t.Errorf("v6 request %d: %d", i, c)
		}
	}
	if c := status("/api/v1/sessions", "[2001:db8:1:2::ffff]:1"); c != 429 {
		t.Errorf("fourth request from the /64: %d, want 429", c)
	}
	for i := 0; i < 10; i++ {
		if c := status("/api/v1/search/asn?q=64501", "192.0.2.50:1"); c != 200 {
			t.Fatalf("exempt client request %d: %d", i, c)
		}
	}
}

func TestClientAddr(t *testing.T) {
	cfg := fakeCfg(t)
	cfg.LookingGlass.TrustedProxies = []netip.Prefix{pfx("127.0.0.0/8"), pfx("10.1.0.0/16")}
	s := New(cfg, newFake(), nil)
	for _, tc := range []struct {
		remote string
		xff    []string
		want   string
	}{
		{"198.51.100.7:1", nil, "198.51.100.7"},
		{"198.51.100.7:1", []string{"203.0.113.1"}, "198.51.100.7"},         // not a proxy: header ignored
		{"127.0.0.1:1", []string{"203.0.113.1"}, "203.0.113.1"},             // proxy names the client
		{"127.0.0.1:1", []string{"6.6.6.6, 203.0.113.1"}, "203.0.113.1"},    // left of the client is forgeable
		{"127.0.0.1:1", []string{"203.0.113.1, 10.1.2.3"}, "203.0.113.1"},   // a chain of trusted proxies
		{"127.0.0.1:1", []string{"203.0.113.1", "10.1.2.3"}, "203.0.113.1"}, // several headers
		{"127.0.0.1:1", []string{"10.1.2.3"}, "10.1.2.3"},                   // only proxies: the left-most
		{"127.0.0.1:1", []string{"203.0.113.1, garbage"}, "127.0.0.1"},      // unreadable: the last good hop
		{"[::ffff:127.0.0.1]:1", []string{"2001:db8::5"}, "2001:db8::5"},    // mapped proxy address
		{"127.0.0.1:1", []string{"[2001:db8::5]:80"}, "127.0.0.1"},          // ports are not addresses
		{"not an address", []string{"203.0.113.1"}, "0.0.0.0"},
	} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.RemoteAddr = tc.remote
		for _, x := range tc.xff {
			r.Header.Add("X-Forwarded-For", x)
		}
		if got := s.clientAddr(r).String(); got != tc.want {
			t.Errorf("%s %v: %s, want %s", tc.remote, tc.xff, got, tc.want)
		}
	}
}

// TestServe runs the looking glass on a loopback listener and stops it through its context.
func TestServe(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := newTestServer(t, newFake())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, l) }()
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Get("http://" + l.Addr().String() + "/api/v1/status")
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"name":"Example-IX RS1"`) {
		t.Errorf("%d %s", resp.StatusCode, body)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve returned %v after cancel", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return within 10 s of cancel")
	}
}

// TestReload: a reload that hides a member takes effect on the next request.
func TestReload(t *testing.T) {
	s := newTestServer(t, newFake())
	h := s.Handler()
	if code, _, _ := do(t, h, http.MethodGet, "/api/v1/sessions/R_192_0_2_12", "198.51.100.77:1"); code != 200 {
		t.Fatalf("before: %d", code)
	}
	cfg := fakeCfg(t)
	cfg.Members[1].Hidden = true
	s.Reload(cfg)
	if code, _, _ := do(t, h, http.MethodGet, "/api/v1/sessions/R_192_0_2_12", "198.51.100.77:1"); code != 404 {
		t.Errorf("after hiding: %d, want 404", code)
	}
	_, _, body := do(t, h, http.MethodGet, "/birdwatcher/routes/table/master4", "198.51.100.77:1")
	if strings.Contains(string(body), "192.0.2.12") {
		t.Errorf("hidden member's routes still in the table")
	}
}

// TestPanicRecovered: a Backend that panics yields a 500, not a crashed route server.
func TestPanicRecovered(t *testing.T) {
	s := newTestServer(t, newFake())
	s.backend = panicBackend{}
	code, _, body := do(t, s.Handler(), http.MethodGet, "/api/v1/sessions", "198.51.100.77:1")
	if code != 500 || !strings.Contains(string(body), `"internal"`) {
		t.Errorf("%d %s", code, body)
	}
}

type panicBackend struct{ Backend }

func (panicBackend) Sessions(context.Context) ([]Session, error) { panic("boom") }

func TestTimeout(t *testing.T) {
	s := newTestServer(t, newFake())
	s.backend = slowBackend{}
	req := httptest.NewRequest(http.MethodGet, "/api/v1/sessions", nil)
	ctx, cancel := context.WithTimeout(req.Context(), time.Millisecond)
	defer cancel()
	req = req.WithContext(ctx)
	req.RemoteAddr = "198.51.100.77:1"
	w := httptest.NewRecorder()
	s.Handler().ServeHTTP(w, req)
	if w.Code != 504 {
		t.Errorf("%d %s", w.Code, w.Body)
	}
}

type slowBackend struct{ Backend }

func (slowBackend) Sessions(ctx context.Context) ([]Session, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

// TestDoubleSlash: a client whose base URL ends in a slash still reaches the endpoints.
func TestDoubleSlash(t *testing.T) {
	h := newTestServer(t, newFake()).Handler()
	for _, p := range []string{"/birdwatcher//status", "//birdwatcher/protocols/bgp", "/bgplgd//neighbors", "/birdseye//route/198.51.100.0%2F24/protocol/R_192_0_2_11"} {
		if code, _, body := do(t, h, http.MethodGet, p, "198.51.100.77:1"); code != 200 {
			t.Errorf("%s: %d %s", p, code, body)
		}
	}
}

func TestHead(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go newTestServer(t, newFake()).Serve(ctx, l)
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Head("http://" + l.Addr().String() + "/api/v1/sessions")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || len(body) != 0 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Errorf("HEAD: %d, %d bytes, %q", resp.StatusCode, len(body), resp.Header.Get("Content-Type"))
	}
}

func TestIsSearch(t *testing.T) {
	for path, want := range map[string]bool{
		"/api/v1/search/asn?q=1": true, "/api/v1/lookup?prefix=192.0.2.0/24": true, "/api/v1/compare/sessions/R_1_2_3_4": true,
		"/birdwatcher/routes/table/master4": true, "/bgplgd/rib": true, "/bgplgd/rib?neighbor=192.0.2.12": false,
		"/birdseye/route/192.0.2.0%2F24/table/master4": true, "/birdseye/routes/lc-zwild/protocol/R_1_2_3_4/1/2": true,
		"/api/v1/sessions": false, "/api/v1/sessions/R_192_0_2_12/routes/received": false, "/birdwatcher/routes/protocol/R_1_2_3_4": false,
	} {
		if got := isSearch(httptest.NewRequest(http.MethodGet, path, nil)); got != want {
			t.Errorf("isSearch(%s) = %v", path, got)
		}
	}
}
