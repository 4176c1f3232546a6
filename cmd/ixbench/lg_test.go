package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// TestUserClientAddress: a users-model client connects from its own loopback address, which is
// what the route server's per-address rate limits key on.
func TestUserClientAddress(t *testing.T) {
	seen := make(chan string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen <- r.RemoteAddr
	}))
	defer srv.Close()
	hc := userClient(userAddr(6), 5*time.Second)
	defer hc.CloseIdleConnections()
	resp, err := hc.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	ap, err := netip.ParseAddrPort(<-seen)
	if err != nil {
		t.Fatal(err)
	}
	if want := netip.MustParseAddr("127.1.0.7"); ap.Addr() != want {
		t.Errorf("request came from %s, want %s", ap.Addr(), want)
	}
	if a := userAddr(250); a != netip.MustParseAddr("127.1.1.1") {
		t.Errorf("client 250's address %s, want 127.1.1.1", a)
	}
}

// TestLGRefusals: a 429 and a 503 are counted as refusals, not errors nor answers, and the wait
// comes from Retry-After.
func TestLGRefusals(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/limited":
			w.Header().Set("Retry-After", "3")
			w.WriteHeader(http.StatusTooManyRequests)
		case "/busy":
			w.WriteHeader(http.StatusServiceUnavailable) // no Retry-After: 1 s
		case "/broken":
			w.WriteHeader(http.StatusInternalServerError)
		default:
			w.Write([]byte(`{"routes": [{}, {}], "next_cursor": "g1.2"}`))
		}
	}))
	defer srv.Close()
	l := &lgClients{}
	l.start(0, true)
	hc := srv.Client()
	var buf bytes.Buffer
	if next, wait := l.get(hc, &buf, lgPage, srv.URL+"/ok"); next != "g1.2" || wait != 0 {
		t.Errorf("answer: next %q wait %s", next, wait)
	}
	if _, wait := l.get(hc, &buf, lgPage, srv.URL+"/limited"); wait.Seconds() != 3 {
		t.Errorf("429 with Retry-After 3: wait %s", wait)
	}
	if _, wait := l.get(hc, &buf, lgPage, srv.URL+"/busy"); wait.Seconds() != 1 {
		t.Errorf("503 without Retry-After: wait %s", wait)
	}
	l.get(hc, &buf, lgPage, srv.URL+"/broken")
	lat := l.latencies()[0]
	if lat.N != 1 || lat.Routes != 2 || lat.Limited != 1 || lat.Busy != 1 || lat.Errors != 1 {
		t.Errorf("recorded %+v, want one answer of 2 routes, one 429, one 503, one error", lat)
	}
}

func TestLGParseModes(t *testing.T) {
	if m, err := lgParseModes("users,exempt"); err != nil || len(m) != 2 || m[0] != lgUsers || m[1] != lgExempt {
		t.Errorf("users,exempt: %v %v", m, err)
	}
	for _, bad := range []string{"", "quiet", "users,users", "users,all"} {
		if _, err := lgParseModes(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// TestRenderLGModes: the document's section shows the quiet run and both client models, each
// loaded model's slowdown, and the refusals; a result from before the models counts as exempt.
func TestRenderLGModes(t *testing.T) {
	res := func(mode string, clients int, conv float64, lat LGLatency) LGResult {
		r := LGResult{Mode: mode, Clients: clients, WindowClient: max(clients, 1), Cycles: []float64{0.5}}
		r.Workload, r.Members, r.Routes, r.Rep = "lgs", 100, 200000, 1
		r.Converge, r.ChurnWithdraw, r.ChurnReannounce, r.FlapDown, r.FlapUp = conv, 0.2, 0.2, 0.1, 0.1
		r.CPU, r.GenCPU = 2*conv, conv
		lat.Kind = lgPage
		r.Latency = []LGLatency{lat, {Kind: lgLookup}, {Kind: lgOrigin}, {Kind: lgPath}}
		return r
	}
	g := &lgDoc{Run: map[string]string{}, Results: []LGResult{
		res(lgQuiet, 0, 1.0, LGLatency{N: 10, P99: 5}),
		res(lgUsers, 50, 1.05, LGLatency{N: 100, P99: 20, Limited: 77}),
		res("", 50, 4.0, LGLatency{N: 1000, P99: 300, Busy: 9}),
	}}
	out := renderLG(g)
	for _, want := range []string{
		"| quiet (0) | 1 |", "| users (50) | 1 |", "| exempt (50) | 1 |",
		"| slowdown, users (50) | | +5% |", "| slowdown, exempt (50) | | +300% |",
		"| received page | users (50) | 100 |", "| 77 | 0 | 0 |", "| 0 | 9 | 0 |",
		"exempt: p99 of a received page under load 300.0 ms", "exempt: converge slowed by 300%",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("rendered section lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "This run has no") {
		t.Errorf("both models ran, yet one is said to be absent:\n%s", out)
	}
	g.Results = g.Results[:1:1]
	g.Results = append(g.Results, res("", 50, 4.0, LGLatency{N: 1000, P99: 300}))
	if out := renderLG(g); !strings.Contains(out, "This run has no users model") {
		t.Errorf("an old run without the users model does not say so:\n%s", out)
	}
	if strings.Contains(out, "users: p99") || strings.Contains(out, "users: converge") {
		t.Errorf("users model within target reported as missed:\n%s", out)
	}
}
