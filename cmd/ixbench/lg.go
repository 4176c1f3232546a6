package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
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
// read), the heaviest load N clients can make; the rate limits are lifted for loopback (rate_limit
// exempt) as for an Alice-LG host, so every request reaches the RIB.

// Query kinds, in the order each client cycles through them (client i starts at kind i).
const (
	lgPage   = "received page"
	lgLookup = "prefix lookup"
	lgOrigin = "origin ASN search"
	lgPath   = "AS-path search"
)

var lgKinds = []string{lgPage, lgLookup, lgOrigin, lgPath}

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
	LastErr  string  `json:"last_error,omitempty"`
	PerSecnd float64 `json:"per_second"`
}

// LGResult is one run of the looking-glass mode.
type LGResult struct {
	Result
	Clients      int         `json:"clients"`        // during the convergence phases (0: quiet run)
	WindowClient int         `json:"window_clients"` // during the churn window
	Window       float64     `json:"window_s"`
	Cycles       []float64   `json:"churn_cycles_s"` // each withdraw + re-announce cycle in the window
	Latency      []LGLatency `json:"latency"`
	PhaseQueries int         `json:"phase_queries"` // requests answered during the convergence phases
}

// lgRun drives the looking glass of one daemon run.
type lgRun struct {
	w       *Workload
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
}

type lgSamples struct {
	d              []time.Duration
	routes         int
	partial, stale int
	errors         int
	lastErr        string
}

func newLGRun(w *Workload, clients, wClients int, window time.Duration) *lgRun {
	l := &lgRun{w: w, clients: clients, wClient: wClients, window: window}
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
// with loopback clients exempt from the rate limits.
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
	on := fmt.Sprintf("[lookingglass]\nlisten = \"%s:%d\"\n\n[lookingglass.rate_limit]\nexempt = [\"127.0.0.0/8\"]\n", rsAddr, port)
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
	rng := rand.New(rand.NewPCG(uint64(i)+1, 0x1a))
	for k := i; ; k++ {
		select {
		case <-stop:
			return
		default:
		}
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
				if next = l.get(kind, q); next == "" {
					break
				}
			}
		case lgLookup:
			p := l.w.Prefixes[rng.IntN(len(l.w.Prefixes))]
			l.get(kind, l.base+"/api/v1/lookup?prefix="+url.QueryEscape(p.String()))
		case lgOrigin:
			a := l.origins[rng.IntN(len(l.origins))]
			l.get(kind, fmt.Sprintf("%s/api/v1/search/origin?q=AS%d&limit=%d", l.base, a, lgPageSize))
		case lgPath:
			a := l.inPath[rng.IntN(len(l.inPath))]
			l.get(kind, fmt.Sprintf("%s/api/v1/search/as-path?q=%s&limit=%d", l.base, url.QueryEscape(fmt.Sprintf("_%d_", a)), lgPageSize))
		}
	}
}

// get runs one request to its last byte and returns the answer's next cursor.
func (l *lgRun) get(kind, u string) string {
	t0 := time.Now()
	resp, err := l.hc.Get(u)
	var page struct {
		Routes  []json.RawMessage `json:"routes"`
		Next    string            `json:"next_cursor"`
		Partial bool              `json:"partial"`
	}
	status := 0
	if err == nil {
		status = resp.StatusCode
		var body []byte
		body, err = io.ReadAll(resp.Body)
		resp.Body.Close()
		if err == nil && status == http.StatusOK {
			err = json.Unmarshal(body, &page)
		} else if err == nil && status != http.StatusConflict {
			err = fmt.Errorf("HTTP %d: %.200s", status, body)
		}
	}
	d := time.Since(t0)
	l.served.Add(1)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.rec == nil {
		return page.Next
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
	default:
		s.d = append(s.d, d)
		s.routes += len(page.Routes)
		if page.Partial {
			s.partial++
		}
	}
	return page.Next
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
			Errors: s.errors, LastErr: s.lastErr, PerSecnd: float64(len(s.d)) / secs}
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
	return nil
}
