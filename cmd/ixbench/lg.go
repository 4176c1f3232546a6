package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// The looking-glass mode (-lg): ixrs runs with its looking glass on a loopback listener, and HTTP
// clients in a process of their own (lgclient.go) query it the way people and Alice-LG do, while
// the members converge and churn. Each repetition is two runs of the same workload:
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
	// ClientCPU is the CPU seconds of the clients' process during the phases, also counted in GenCPU;
	// WindowClientCPU its CPU seconds in the churn window (0 in results from before the clients had
	// a process of their own).
	ClientCPU       float64 `json:"client_cpu_s,omitempty"`
	WindowClientCPU float64 `json:"window_client_cpu_s,omitempty"`
}

// lgRun drives the looking glass of one daemon run. Its clients run in a process of their own
// (lgclient.go), started for the phases and again for the churn window.
type lgRun struct {
	w       *Workload
	mode    string
	maxConc int
	clients int // during the phases
	window  time.Duration
	wClient int // during the window
	base    string
	hc      *http.Client // ixbench's own requests: readiness, /metrics
	exe     string       // the clients' program: this one (os.Executable), or a test binary
	limit   time.Duration

	sample lgClientSpec // the query samples every clients' process gets
	proc   *lgProc

	// What the run measured, filled in by runOnce.
	phaseQueries int
	phaseCPU     float64 // CPU seconds of the phases' clients' process (counted in Result.GenCPU too)
	windowCPU    float64 // CPU seconds of the window's clients' process
	cycles       []float64
	latency      []LGLatency
	server       []LGServerLatency // from the route server's histograms (lgserver.go)
	serverErr    string
}

// lgMaxPrefixes bounds the prefixes handed to the clients' process: an even sample of the table is
// as good a source of random lookups as the whole table, and keeps the spec small at 1M routes.
const lgMaxPrefixes = 1 << 16

func newLGRun(w *Workload, mode string, maxConc, clients, wClients int, window, timeout time.Duration) *lgRun {
	l := &lgRun{w: w, mode: mode, maxConc: maxConc, clients: clients, wClient: wClients, window: window}
	// Every phase (five, and the churn window's cycles) is bounded by timeout; the clients' process
	// stops by itself well after the longest run could end.
	l.limit = 10*timeout + 2*window + time.Minute
	seen := map[uint32]bool{}
	for _, m := range w.Members {
		l.sample.Members = append(l.sample.Members, m.Addr.String())
		for _, g := range m.Groups {
			asns := g.Attrs.ASPath[0].ASNs
			l.sample.Origins = append(l.sample.Origins, asns[len(asns)-1])
			for _, a := range asns[1:] {
				if !seen[a] {
					seen[a] = true
					l.sample.InPath = append(l.sample.InPath, a)
				}
			}
		}
	}
	n := min(len(w.Prefixes), lgMaxPrefixes)
	for i := 0; i < n; i++ {
		l.sample.Prefixes = append(l.sample.Prefixes, w.Prefixes[i*len(w.Prefixes)/n].String())
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
	l.hc = &http.Client{Timeout: 30 * time.Second}
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

// lgProc is a running clients' process.
type lgProc struct {
	cmd  *exec.Cmd
	in   io.WriteCloser
	out  io.ReadCloser
	errs *tailBuffer
}

// start starts the clients' process with n clients; record decides whether their latencies count.
// No client, no process.
func (l *lgRun) start(n int, record bool) error {
	l.stop()
	if n == 0 {
		return nil
	}
	exe := l.exe
	if exe == "" {
		var err error
		if exe, err = os.Executable(); err != nil {
			return err
		}
	}
	spec := l.sample
	spec.Base, spec.Mode, spec.Clients, spec.Record, spec.LimitS = l.base, l.mode, n, record, l.limit.Seconds()
	line, err := json.Marshal(spec)
	if err != nil {
		return err
	}
	cmd := exec.Command(exe, lgClientFlag)
	p := &lgProc{cmd: cmd, errs: &tailBuffer{}}
	cmd.Stderr = p.errs
	if p.in, err = cmd.StdinPipe(); err != nil {
		return err
	}
	if p.out, err = cmd.StdoutPipe(); err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("looking-glass clients: %w", err)
	}
	l.proc = p
	if _, err := p.in.Write(append(line, '\n')); err != nil {
		l.stop()
		return fmt.Errorf("looking-glass clients: the spec: %w", err)
	}
	return nil
}

// stop tells the clients' process to stop and returns its report and its CPU seconds (user and
// system, from the kernel when it exited). Without a process, the report is empty.
func (l *lgRun) stop() (lgClientReport, float64, error) {
	p := l.proc
	if p == nil {
		return lgClientReport{}, 0, nil
	}
	l.proc = nil
	io.WriteString(p.in, "stop\n")
	p.in.Close()
	var rep lgClientReport
	derr := json.NewDecoder(p.out).Decode(&rep)
	io.Copy(io.Discard, p.out)
	werr := p.cmd.Wait()
	cpu := 0.0
	if st := p.cmd.ProcessState; st != nil {
		cpu = (st.UserTime() + st.SystemTime()).Seconds()
	}
	if err := errors.Join(derr, werr); err != nil {
		return rep, cpu, fmt.Errorf("looking-glass clients: %v: %s", err, p.errs.String())
	}
	return rep, cpu, nil
}

// endPhases stops the phases' clients and takes their request count, and adds their process's CPU
// seconds to ixbench's: the generator's column counts the members and the clients, both processes.
func (l *lgRun) endPhases(res *Result) error {
	rep, cpu, err := l.stop()
	l.phaseQueries = int(rep.Served)
	l.phaseCPU = cpu
	res.GenCPU += cpu
	return err
}

// tailBuffer keeps the last 2 KiB written to it (a child's standard error, for an error message).
type tailBuffer struct {
	mu sync.Mutex
	b  []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if n := len(t.b) - 2048; n > 0 {
		t.b = slices.Clone(t.b[n:])
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.TrimSpace(string(t.b))
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
	if err := l.start(l.wClient, true); err != nil {
		return err
	}
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
	rep, cpu, err := l.stop()
	if err != nil {
		return err
	}
	l.latency, l.windowCPU = rep.Latency, cpu
	if after, err := l.scrapeHists(); err != nil {
		l.serverErr = err.Error()
	} else if before != nil {
		l.server = serverLatency(before, after)
	}
	return nil
}
