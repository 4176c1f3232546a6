package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestMain lets the test binary be the looking-glass clients' process, as ixbench is in -lg.
func TestMain(m *testing.M) {
	if len(os.Args) == 2 && os.Args[1] == lgClientFlag {
		os.Exit(lgClientMain(os.Stdin, os.Stdout))
	}
	os.Exit(m.Run())
}

// fakeLG serves the four endpoints the clients call: received pages of two routes with a cursor
// to a last page of one (partial), lookups of one route, origin searches answered 500, AS-path
// searches alternately 409 (stale) and three routes. It counts the requests per kind.
type fakeLG struct {
	members  []string
	prefixes []string
	mu       sync.Mutex
	n        map[string]int
	bad      []string // requests for a member or prefix not in the spec
}

func (f *fakeLG) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p := r.URL.Path
	q := r.URL.Query()
	switch {
	case strings.HasPrefix(p, "/api/v1/sessions/") && strings.HasSuffix(p, "/routes/received"):
		f.n[lgPage]++
		m := strings.TrimSuffix(strings.TrimPrefix(p, "/api/v1/sessions/"), "/routes/received")
		if !slices.Contains(f.members, m) || q.Get("limit") != "100" {
			f.bad = append(f.bad, r.URL.String())
		}
		if q.Get("cursor") == "" {
			fmt.Fprint(w, `{"routes": [{}, {}], "next_cursor": "g7.2"}`)
		} else {
			fmt.Fprint(w, `{"routes": [{}], "partial": true}`)
		}
	case p == "/api/v1/lookup":
		f.n[lgLookup]++
		if !slices.Contains(f.prefixes, q.Get("prefix")) {
			f.bad = append(f.bad, r.URL.String())
		}
		fmt.Fprint(w, `{"routes": [{}]}`)
	case p == "/api/v1/search/origin":
		f.n[lgOrigin]++
		if q.Get("q") != "AS64999" {
			f.bad = append(f.bad, r.URL.String())
		}
		http.Error(w, `{"error": {"code": "internal", "message": "boom"}}`, http.StatusInternalServerError)
	case p == "/api/v1/search/as-path":
		f.n[lgPath]++
		if q.Get("q") != "_65001_" && q.Get("q") != "_65002_" {
			f.bad = append(f.bad, r.URL.String())
		}
		if f.n[lgPath]%2 == 1 {
			w.WriteHeader(http.StatusConflict)
			return
		}
		fmt.Fprint(w, `{"routes": [{}, {}, {}]}`)
	default:
		f.bad = append(f.bad, r.URL.String())
		http.NotFound(w, r)
	}
}

func (f *fakeLG) count(kind string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.n[kind]
}

// TestLGClientProcess runs the clients in their own process (this test binary, as ixbench runs
// itself) against a fake looking glass, and checks the report: the phases' mode only counts
// requests; the window's mode has every kind with its answers, routes, partial answers, stale
// cursors and errors, each count within the clients' in-flight requests of what the server saw.
func TestLGClientProcess(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeLG{members: []string{"127.1.0.1", "127.1.0.2"}, prefixes: []string{"192.0.2.0/24", "2001:db8::/48"}, n: map[string]int{}}
	srv := httptest.NewServer(f)
	defer srv.Close()
	const clients = 3
	l := &lgRun{mode: lgExempt, base: srv.URL, exe: exe, limit: 2 * time.Minute, sample: lgClientSpec{
		Members: f.members, Prefixes: f.prefixes, Origins: []uint32{64999}, InPath: []uint32{65001, 65002}}}
	// waitFor waits until the server has seen n requests of every kind (bounded: 60 s).
	waitFor := func(n int) {
		t.Helper()
		for end := time.Now().Add(time.Minute); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
			if f.count(lgPage) >= n && f.count(lgLookup) >= n && f.count(lgOrigin) >= n && f.count(lgPath) >= n {
				return
			}
		}
		t.Fatalf("the server did not see %d requests of each kind: %v", n, f.n)
	}

	// The phases: requests counted, no latency recorded.
	if err := l.start(clients, false); err != nil {
		t.Fatal(err)
	}
	waitFor(5)
	var res Result
	if err := l.endPhases(&res); err != nil {
		t.Fatal(err)
	}
	seen := f.count(lgPage) + f.count(lgLookup) + f.count(lgOrigin) + f.count(lgPath)
	if l.phaseQueries < 20 || l.phaseQueries > seen {
		t.Errorf("phases: %d requests reported, the server saw %d (at least 20)", l.phaseQueries, seen)
	}
	if res.GenCPU != l.phaseCPU {
		t.Errorf("the clients' CPU %.3f s is not in the generator's %.3f s", l.phaseCPU, res.GenCPU)
	}

	// The window: every kind recorded.
	f.mu.Lock()
	f.n = map[string]int{}
	f.mu.Unlock()
	if err := l.start(clients, true); err != nil {
		t.Fatal(err)
	}
	waitFor(20)
	rep, _, err := l.stop()
	if err != nil {
		t.Fatal(err)
	}
	if len(f.bad) > 0 {
		t.Errorf("requests outside the spec: %q", f.bad)
	}
	var kinds []string
	for _, lt := range rep.Latency {
		kinds = append(kinds, lt.Kind)
	}
	if !slices.Equal(kinds, lgKinds) {
		t.Fatalf("report kinds %q, want %q", kinds, lgKinds)
	}
	for _, lt := range rep.Latency {
		got := lt.N + lt.Errors + lt.Stale + lt.Limited + lt.Busy
		if s := f.count(lt.Kind); got > s || got < s-clients {
			t.Errorf("%s: %d requests reported, the server saw %d (%d clients)", lt.Kind, got, s, clients)
		}
		if lt.Limited != 0 || lt.Busy != 0 {
			t.Errorf("%s: refusals counted: %+v", lt.Kind, lt)
		}
		switch lt.Kind {
		case lgPage:
			// First pages of two routes, and as many second pages (one route, partial) as there were
			// requests to follow them.
			if lt.N == 0 || lt.Errors != 0 || lt.Partial == 0 || lt.Partial >= lt.N || lt.Routes <= 1 || lt.Routes >= 2 {
				t.Errorf("pages: %+v", lt)
			}
			if lt.P50 <= 0 || lt.P50 > lt.P99 || lt.P99 > lt.Max {
				t.Errorf("pages: percentiles out of order: %+v", lt)
			}
		case lgLookup:
			if lt.N == 0 || lt.Routes != 1 || lt.Errors != 0 || lt.Partial != 0 {
				t.Errorf("lookups: %+v", lt)
			}
		case lgOrigin:
			if lt.N != 0 || lt.Errors == 0 || !strings.Contains(lt.LastErr, "HTTP 500") {
				t.Errorf("origin searches answered 500: %+v", lt)
			}
		case lgPath:
			if lt.N == 0 || lt.Stale == 0 || lt.Routes != 3 || lt.Errors != 0 {
				t.Errorf("AS-path searches: %+v", lt)
			}
		}
	}
	if l.proc != nil {
		t.Error("the clients' process is still recorded as running")
	}
	if _, _, err := l.stop(); err != nil {
		t.Errorf("a second stop: %v", err)
	}
}

// TestLGClientMainInput: the clients' process refuses a spec without a time limit or without the
// samples its clients need, and stops when its input ends (ixbench gone) with a report.
func TestLGClientMainInput(t *testing.T) {
	for _, spec := range []string{"", "{", `{"clients": 1, "limit_s": 10}`, `{"clients": 0}`} {
		var out bytes.Buffer
		if rc := lgClientMain(strings.NewReader(spec+"\n"), &out); rc == 0 {
			t.Errorf("spec %q accepted: %s", spec, out.String())
		}
	}
	var out bytes.Buffer
	if rc := lgClientMain(strings.NewReader(`{"clients": 0, "record": true, "limit_s": 60}`), &out); rc != 0 {
		t.Fatalf("exit %d", rc)
	}
	var rep lgClientReport
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil || len(rep.Latency) != len(lgKinds) || rep.Served != 0 {
		t.Errorf("report %s: %v", out.String(), err)
	}
}

// TestLGSample: the clients' process gets every member and an even sample of at most
// lgMaxPrefixes prefixes.
func TestLGSample(t *testing.T) {
	w, err := Generate(Spec{Name: "t", Members: 5, Routes: 3000, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	l := newLGRun(w, lgExempt, 0, 2, 2, time.Second, time.Second)
	if len(l.sample.Members) != 5 || len(l.sample.Prefixes) != len(w.Prefixes) || len(l.sample.Origins) == 0 || len(l.sample.InPath) == 0 {
		t.Errorf("sample: %d members, %d of %d prefixes, %d origins, %d ASNs in paths", len(l.sample.Members),
			len(l.sample.Prefixes), len(w.Prefixes), len(l.sample.Origins), len(l.sample.InPath))
	}
	if _, err := netip.ParseAddr(l.sample.Members[0]); err != nil {
		t.Error(err)
	}
	w.Prefixes = make([]netip.Prefix, 3*lgMaxPrefixes+7)
	for i := range w.Prefixes {
		w.Prefixes[i] = netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), 32)
	}
	l = newLGRun(w, lgExempt, 0, 2, 2, time.Second, time.Second)
	if n := len(l.sample.Prefixes); n != lgMaxPrefixes {
		t.Errorf("%d prefixes sampled of %d, want %d", n, len(w.Prefixes), lgMaxPrefixes)
	}
	if l.sample.Prefixes[1] != w.Prefixes[3].String() {
		t.Errorf("sample not even: second prefix %s", l.sample.Prefixes[1])
	}
}

// TestRenderLGInProcess: the document says when its figures come from clients inside ixbench.
func TestRenderLGInProcess(t *testing.T) {
	r := LGResult{Mode: lgQuiet, WindowClient: 1, Latency: []LGLatency{{Kind: lgPage, N: 10}}}
	const note = "they ran inside ixbench"
	if out := renderLG(&lgDoc{Results: []LGResult{r}}); !strings.Contains(out, note) {
		t.Errorf("old results without the note:\n%s", out)
	}
	r.WindowClientCPU = 0.5
	if out := renderLG(&lgDoc{Results: []LGResult{r}}); strings.Contains(out, note) {
		t.Errorf("new results with the note:\n%s", out)
	}
}
