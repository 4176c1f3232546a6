package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The looking-glass mode (-lg): ixrs runs with its looking glass on a loopback listener, and HTTP
// clients in this process query it the way people and Alice-LG do, while the members converge and
// churn. Each repetition is two runs of the same workload:
//
//   - quiet: no client during the convergence phases; then, during the churn window, one client.
//   - loaded: -lg-clients clients from the first announcement to the end of the churn window.
//
// The phases of the quiet and the loaded run, side by side, are the clients' effect on convergence;
// the churn window's request latencies are what a looking-glass user sees while members churn.
// Clients run closed loops without think time (each sends its next request when the last answer is
// read). Two client models, each its own loaded run:
//
//   - users: N people using the looking glass. Each client has its own address (127.1.0.x, the
//     client's socket is bound to it) and is under the route server's default rate limits; a 429
//     or 503 is counted, and the client waits as its Retry-After says before its next request.
//   - exempt: the worst case, N Alice-LG hosts hammering. All clients come from one address that
//     rate_limit exempts, and a refused request (503 at max_concurrent) is counted and followed at
//     once by the next, so every request the route server lets in reaches the RIB.

// Query kinds, in the order each client cycles through them (client i starts at kind i).
const (
	lgPage   = "received page"
	lgLookup = "prefix lookup"
	lgOrigin = "origin ASN search"
	lgPath   = "AS-path search"
)

var lgKinds = []string{lgPage, lgLookup, lgOrigin, lgPath}

// Client models of a run (the quiet run has one exempt client in the churn window only).
const (
	lgQuiet  = "quiet"
	lgUsers  = "users"
	lgExempt = "exempt"
)

// lgParseModes parses -lg-modes: a comma-separated list of lgUsers and lgExempt, each once.
func lgParseModes(s string) ([]string, error) {
	var out []string
	for _, m := range strings.Split(s, ",") {
		m = strings.TrimSpace(m)
		if m != lgUsers && m != lgExempt {
			return nil, fmt.Errorf("unknown client model %q (users, exempt)", m)
		}
		if slices.Contains(out, m) {
			return nil, fmt.Errorf("client model %q twice", m)
		}
		out = append(out, m)
	}
	return out, nil
}

// lgMaxWait bounds a client's wait on a Retry-After, so that a bogus header cannot stall the run.
const lgMaxWait = 10 * time.Second

// lgPageSize is the page size of every route list requested: the API's default.
const lgPageSize = 100

// LGLatency is one query kind's latencies in a churn window, in milliseconds.
type LGLatency struct {
	Kind     string  `json:"kind"`
	N        int     `json:"n"`
	P50      float64 `json:"p50_ms"`
	P99      float64 `json:"p99_ms"`
	Max      float64 `json:"max_ms"`
	Routes   float64 `json:"routes_per_answer"` // mean routes in an answer
	Partial  int     `json:"partial"`           // answers cut short by the work budget (a cursor continues)
	Stale    int     `json:"stale"`             // 409: a cursor crossed a session flap
	Errors   int     `json:"errors"`
	Limited  int     `json:"rate_limited"` // 429: over the client's rate limit
	Busy     int     `json:"busy"`         // 503: the looking glass at max_concurrent
	LastErr  string  `json:"last_error,omitempty"`
	PerSecnd float64 `json:"per_second"`
}

// LGResult is one run of the looking-glass mode.
type LGResult struct {
	Result
	Mode         string      `json:"mode"`           // lgQuiet, lgUsers or lgExempt ("" in older results: by Clients)
	MaxConc      int         `json:"max_concurrent"` // [lookingglass] max_concurrent of the run (0: the default)
	Clients      int         `json:"clients"`        // during the convergence phases (0: quiet run)
	WindowClient int         `json:"window_clients"` // during the churn window
	Window       float64     `json:"window_s"`
	Cycles       []float64   `json:"churn_cycles_s"` // each withdraw + re-announce cycle in the window
	Latency      []LGLatency `json:"latency"`
	// Server is the route server's own view of the window (lgserver.go): request durations per
	// endpoint and the RIB loop's read gaps; ServerErr says why it is missing.
	Server       []LGServerLatency `json:"server,omitempty"`
	ServerErr    string            `json:"server_error,omitempty"`
	PhaseQueries int               `json:"phase_queries"` // requests answered during the convergence phases
}

// lgRun drives the looking glass of one daemon run.
type lgRun struct {
	w       *Workload
	mode    string
	maxConc int
	clients int // during the phases
	window  time.Duration
	wClient int // during the window
	base    string
	hc      *http.Client

	origins []uint32 // right-most ASNs of the workload's paths
	inPath  []uint32 // ASNs behind the members, for AS-path patterns

	stopc chan struct{}
	wg    sync.WaitGroup

	mu      sync.Mutex
	rec     map[string]*lgSamples
	started time.Time
	served  atomic.Int64

	// What the run measured, filled in by runOnce.
	phaseQueries int
	cycles       []float64
	latency      []LGLatency
	server       []LGServerLatency // from the route server's histograms (lgserver.go)
	serverErr    string
}

type lgSamples struct {
	d              []time.Duration
	routes         int
	partial, stale int
	errors         int
	limited, busy  int
	lastErr        string
}

func newLGRun(w *Workload, mode string, maxConc, clients, wClients int, window time.Duration) *lgRun {
	l := &lgRun{w: w, mode: mode, maxConc: maxConc, clients: clients, wClient: wClients, window: window}
	seen := map[uint32]bool{}
	for _, m := range w.Members {
		for _, g := range m.Groups {
			asns := g.Attrs.ASPath[0].ASNs
			l.origins = append(l.origins, asns[len(asns)-1])
			for _, a := range asns[1:] {
				if !seen[a] {
					seen[a] = true
					l.inPath = append(l.inPath, a)
				}
			}
		}
	}
	return l
}

// configure turns the looking glass on in the ixrs configuration in dir, on a free loopback port,
// with loopback clients exempt from the rate limits except in the users model, which has the
// route server's defaults.
func (l *lgRun) configure(dir string) error {
	port, err := freePort(rsAddr)
	if err != nil {
		return err
	}
	path := filepath.Join(dir, "config.toml")
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	const off = "[lookingglass]\nlisten = \"\"\n"
	if !strings.Contains(string(b), off) {
		return errors.New("lg: the ixrs configuration has no [lookingglass] table to turn on")
	}
	on := fmt.Sprintf("[lookingglass]\nlisten = \"%s:%d\"\nmax_concurrent = %d\n", rsAddr, port, l.maxConc)
	if l.mode != lgUsers {
		on += "\n[lookingglass.rate_limit]\nexempt = [\"127.0.0.0/8\"]\n"
	}
	if err := os.WriteFile(path, []byte(strings.Replace(string(b), off, on, 1)), 0o644); err != nil {
		return err
	}
	l.base = fmt.Sprintf("http://%s:%d", rsAddr, port)
	n := max(l.clients, l.wClient) + 1
	l.hc = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConns: n, MaxIdleConnsPerHost: n,
		MaxConnsPerHost: n, IdleConnTimeout: time.Minute}}
	return nil
}

// ready waits until the looking glass answers and the route server is ready.
func (l *lgRun) ready(deadline time.Time) error {
	var last error
	for time.Now().Before(deadline) {
		resp, err := l.hc.Get(l.base + "/api/v1/status")
		if err == nil {
			var st struct {
				Ready bool `json:"ready"`
			}
			err = json.NewDecoder(resp.Body).Decode(&st)
			resp.Body.Close()
			if err == nil && st.Ready {
				return nil
			}
			if err == nil {
				err = errors.New("not ready")
			}
		}
		last = err
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("looking glass at %s: %v", l.base, last)
}

// start starts n clients; record decides whether their latencies count.
func (l *lgRun) start(n int, record bool) {
	l.mu.Lock()
	l.rec = nil
	if record {
		l.rec = map[string]*lgSamples{}
	}
	l.started = time.Now()
	l.mu.Unlock()
	l.served.Store(0)
	l.stopc = make(chan struct{})
	for i := 0; i < n; i++ {
		l.wg.Add(1)
		go l.client(i, l.stopc)
	}
}

// stop stops the clients and waits for their last request (each bounded by the client timeout).
func (l *lgRun) stop() {
	if l.stopc == nil {
		return
	}
	close(l.stopc)
	l.wg.Wait()
	l.stopc = nil
}

func (l *lgRun) client(i int, stop <-chan struct{}) {
	defer l.wg.Done()
	hc := l.hc
	if l.mode == lgUsers {
		hc = userClient(userAddr(i))
		defer hc.CloseIdleConnections()
	}
	rng := rand.New(rand.NewPCG(uint64(i)+1, 0x1a))
	for k := i; ; k++ {
		select {
		case <-stop:
			return
		default:
		}
		var wait time.Duration
		switch kind := lgKinds[k%len(lgKinds)]; kind {
		case lgPage:
			// A member's received routes, first page and then, as a person paging on, up to two more.
			m := l.w.Members[rng.IntN(len(l.w.Members))]
			u := l.base + "/api/v1/sessions/" + m.Addr.String() + "/routes/received?limit=" + fmt.Sprint(lgPageSize)
			next := ""
			for pg := 1 + rng.IntN(3); pg > 0; pg-- {
				q := u
				if next != "" {
					q += "&cursor=" + url.QueryEscape(next)
				}
				if next, wait = l.get(hc, kind, q); next == "" {
					break
				}
			}
		case lgLookup:
			p := l.w.Prefixes[rng.IntN(len(l.w.Prefixes))]
			_, wait = l.get(hc, kind, l.base+"/api/v1/lookup?prefix="+url.QueryEscape(p.String()))
		case lgOrigin:
			a := l.origins[rng.IntN(len(l.origins))]
			_, wait = l.get(hc, kind, fmt.Sprintf("%s/api/v1/search/origin?q=AS%d&limit=%d", l.base, a, lgPageSize))
		case lgPath:
			a := l.inPath[rng.IntN(len(l.inPath))]
			_, wait = l.get(hc, kind, fmt.Sprintf("%s/api/v1/search/as-path?q=%s&limit=%d", l.base, url.QueryEscape(fmt.Sprintf("_%d_", a)), lgPageSize))
		}
		// A person's browser waits as told; the worst case (exempt) goes on at once.
		if wait > 0 && l.mode == lgUsers {
			t := time.NewTimer(min(wait, lgMaxWait))
			select {
			case <-stop:
				t.Stop()
				return
			case <-t.C:
			}
		}
	}
}

// userAddr is client i's own source address in the users model: 127.1.0.1, 127.1.0.2, ...
// (rsAddr, 127.1.255.254, is out of reach of any sensible client count).
func userAddr(i int) netip.Addr {
	return netip.AddrFrom4([4]byte{127, 1, byte(i / 250), byte(i%250 + 1)})
}

// userClient is an HTTP client whose connections come from addr, so that the route server's rate
// limits see it as a client of its own.
func userClient(addr netip.Addr) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: addr.AsSlice()}, Timeout: 5 * time.Second}
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DialContext: d.DialContext,
		MaxIdleConnsPerHost: 2, IdleConnTimeout: time.Minute}}
}

// retryAfter reads a Retry-After header in seconds; 1 s when absent or unreadable.
func retryAfter(h http.Header) time.Duration {
	n, err := strconv.Atoi(h.Get("Retry-After"))
	if err != nil || n < 1 {
		n = 1
	}
	return time.Duration(n) * time.Second
}

// get runs one request to its last byte and returns the answer's next cursor, and for a refused
// request (429 rate limited, 503 busy) how long the route server asked to wait.
func (l *lgRun) get(hc *http.Client, kind, u string) (string, time.Duration) {
	t0 := time.Now()
	resp, err := hc.Get(u)
	var page struct {
		Routes  []json.RawMessage `json:"routes"`
		Next    string            `json:"next_cursor"`
		Partial bool              `json:"partial"`
	}
	status := 0
	var wait time.Duration
	if err == nil {
		status = resp.StatusCode
		var body []byte
		body, err = io.ReadAll(resp.Body)
		resp.Body.Close()
		switch {
		case err != nil:
		case status == http.StatusOK:
			err = json.Unmarshal(body, &page)
		case status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable:
			wait = retryAfter(resp.Header)
		case status != http.StatusConflict:
			err = fmt.Errorf("HTTP %d: %.200s", status, body)
		}
	}
	d := time.Since(t0)
	l.served.Add(1)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.rec == nil {
		return page.Next, wait
	}
	s := l.rec[kind]
	if s == nil {
		s = &lgSamples{}
		l.rec[kind] = s
	}
	switch {
	case err != nil:
		s.errors++
		s.lastErr = err.Error()
	case status == http.StatusConflict:
		s.stale++
	case status == http.StatusTooManyRequests:
		s.limited++
	case status == http.StatusServiceUnavailable:
		s.busy++
	default:
		s.d = append(s.d, d)
		s.routes += len(page.Routes)
		if page.Partial {
			s.partial++
		}
	}
	return page.Next, wait
}

// latencies summarizes what the clients recorded since start.
func (l *lgRun) latencies() []LGLatency {
	l.mu.Lock()
	defer l.mu.Unlock()
	secs := time.Since(l.started).Seconds()
	var out []LGLatency
	for _, k := range lgKinds {
		s := l.rec[k]
		if s == nil {
			out = append(out, LGLatency{Kind: k})
			continue
		}
		slices.Sort(s.d)
		ms := func(q float64) float64 {
			if len(s.d) == 0 {
				return 0
			}
			i := int(math.Ceil(q*float64(len(s.d)))) - 1
			return float64(s.d[max(i, 0)].Microseconds()) / 1000
		}
		lt := LGLatency{Kind: k, N: len(s.d), P50: ms(0.50), P99: ms(0.99), Max: ms(1), Partial: s.partial, Stale: s.stale,
			Errors: s.errors, LastErr: s.lastErr, Limited: s.limited, Busy: s.busy, PerSecnd: float64(len(s.d)) / secs}
		if len(s.d) > 0 {
			lt.Routes = float64(s.routes) / float64(len(s.d))
		}
		out = append(out, lt)
	}
	return out
}

// churnWindow has every member withdraw and re-announce its churn routes, cycle after cycle, for the
// window, with wClient clients querying; each cycle waits until every member has converged.
func (l *lgRun) churnWindow(ss []*session, enc []*Encoded, w *Workload, tr *tracker, timeout time.Duration) error {
	all := w.AllActive()
	full := w.Expected(all, announcedAll)
	withdrawn := w.Expected(all, w.churnWithdrawn())
	before, err := l.scrapeHists()
	if err != nil {
		l.serverErr = err.Error()
	}
	l.start(l.wClient, true)
	defer l.stop()
	end := time.Now().Add(l.window)
	for time.Now().Before(end) {
		tr.chk.expect(all, w.churnWithdrawn(), nil)
		done := tr.phase(ss, withdrawn)
		go parallel(len(ss), len(ss), func(i int) error { return ss[i].send(enc[i].Withdraw) })
		if !wait(done, timeout) {
			return fmt.Errorf("churn window: withdraw did not converge within %s (%s)", timeout, progress(ss))
		}
		cycle := tr.elapsed()
		tr.chk.expect(all, announcedAll, nil)
		done = tr.phase(ss, full)
		go parallel(len(ss), len(ss), func(i int) error { return ss[i].send(enc[i].Reannounce) })
		if !wait(done, timeout) {
			return fmt.Errorf("churn window: re-announce did not converge within %s (%s)", timeout, progress(ss))
		}
		l.cycles = append(l.cycles, (cycle + tr.elapsed()).Seconds())
	}
	l.latency = l.latencies()
	if after, err := l.scrapeHists(); err != nil {
		l.serverErr = err.Error()
	} else if before != nil {
		l.server = serverLatency(before, after)
	}
	return nil
}
