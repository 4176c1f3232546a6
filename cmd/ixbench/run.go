package main

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
	"syscall"
	"time"
)

// Result is one run of one workload against one daemon. Durations are seconds; a phase that did not
// finish within the phase timeout is recorded as -1 with the reason in Failed.
type Result struct {
	Daemon   string `json:"daemon"`
	Workload string `json:"workload"`
	Members  int    `json:"members"`
	Routes   int    `json:"routes"`
	Prefixes int    `json:"prefixes"`
	Rep      int    `json:"rep"`

	SessionsUp      float64 `json:"sessions_up_s"`
	Converge        float64 `json:"converge_s"`
	ChurnWithdraw   float64 `json:"churn_withdraw_s"`
	ChurnReannounce float64 `json:"churn_reannounce_s"`
	FlapDown        float64 `json:"flap_down_s"`
	FlapUp          float64 `json:"flap_up_s"`
	// BestMove is the best-move phase: the best routes of Moved multi-homed prefixes worsen (AS
	// prepended) and every member must switch to the next best; BestBack restores them.
	BestMove float64 `json:"best_move_s"`
	BestBack float64 `json:"best_back_s"`
	Moved    int     `json:"moved_prefixes,omitempty"`

	CPUConverge float64 `json:"cpu_converge_s"` // daemon CPU during initial convergence
	CPU         float64 `json:"cpu_s"`          // daemon CPU for the whole run
	PeakRSS     int64   `json:"peak_mem_bytes"` // peak of the daemon's memory summed over its processes (memory.go)
	// LegacyHWM is the memory of results from before the sampler: VmHWM summed over the processes.
	LegacyHWM int64   `json:"peak_rss_bytes,omitempty"`
	GenCPU    float64 `json:"generator_cpu_s"` // this program's CPU from the first announcement on
	Load1     float64 `json:"load1"`           // 1-minute load average before the run
	Unknown   int     `json:"unknown_prefixes,omitempty"`
	// Shared is the share of the UPDATEs the members received that they took from their shared cache
	// (rxcache.go); absent from results measured before it was recorded.
	Shared float64 `json:"shared_updates,omitempty"`
	Failed string  `json:"failed,omitempty"`
}

// Churn returns the churn burst's total (withdraw plus re-announce), or -1.
func (r *Result) Churn() float64 {
	if r.ChurnWithdraw < 0 || r.ChurnReannounce < 0 {
		return -1
	}
	return r.ChurnWithdraw + r.ChurnReannounce
}

// BestMoves returns the best-move phase's total (move plus back), or -1.
func (r *Result) BestMoves() float64 {
	if r.BestMove < 0 || r.BestBack < 0 {
		return -1
	}
	return r.BestMove + r.BestBack
}

// runOnce runs every phase of w against d.
// With profileDir set, ixrs writes its CPU profile of the run and its heap profile at the end there.
// With lg set (ixrs only), the looking glass is on and lg's clients query it (lg.go).
func runOnce(d *daemon, w *Workload, enc []*Encoded, ix *index, timeout time.Duration, keep bool, rep int, profileDir string,
	lg *lgRun, logf func(string, ...any)) (res Result) {
	res = Result{Daemon: d.name, Workload: w.Spec.Name, Members: len(w.Members), Routes: w.Spec.Routes,
		Prefixes: len(w.Prefixes), Rep: rep, Converge: -1, ChurnWithdraw: -1, ChurnReannounce: -1, FlapDown: -1, FlapUp: -1, BestMove: -1, BestBack: -1}
	res.Load1 = load1()
	if d.floor && w.Policy != nil {
		// The floor filters nothing: it is checked against the unfiltered table of the same routes.
		wf := *w
		wf.Policy = nil
		w = &wf
	}
	dir, err := os.MkdirTemp("", "ixbench-"+d.name+"-")
	if err != nil {
		res.Failed = err.Error()
		return res
	}
	if keep {
		logf("  %s: files in %s", d.name, dir)
	} else {
		defer os.RemoveAll(dir)
	}
	os.Chmod(dir, 0o755) // OpenBGPD's unprivileged processes open the control socket's directory
	port, err := freePort(rsAddr)
	if err != nil {
		res.Failed = err.Error()
		return res
	}
	argv, err := d.config(dir, port, w)
	if err != nil {
		res.Failed = err.Error()
		return res
	}
	if lg != nil {
		if err := lg.configure(dir); err != nil {
			res.Failed = err.Error()
			return res
		}
	}
	if profileDir != "" && d.name == "ixrs" {
		base := filepath.Join(profileDir, fmt.Sprintf("ixrs-%s-%d", w.Spec.Name, rep))
		argv = append(argv, "-cpuprofile", base+".cpu.pprof", "-memprofile", base+".heap.pprof")
		if hasFlag(argv[0], "trace") {
			argv = append(argv, "-trace", base+".trace")
			logf("  profiles: %s.{cpu,heap}.pprof, execution trace %s.trace", base, base)
		} else {
			logf("  profiles: %s.{cpu,heap}.pprof (this routeserver has no -trace)", base)
		}
	}
	var rtrBefore float64
	if w.Policy != nil {
		rtrBefore = w.Policy.rtrQueries()
	}
	p, fail, err := startUnderTest(argv, dir, d.multiProcess, &res, &res.Failed, &res.CPU, &res.PeakRSS)
	if err != nil {
		res.Failed = err.Error()
		return res
	}
	defer p.stop()

	chk := newChecker(w)
	chk.anyRoute = d.floor
	moves, worse := chk.bestMoves()
	w.encodeMoves(enc, moves)
	for _, m := range moves {
		res.Moved += len(m)
	}
	tr := &tracker{chk: chk}
	ss := make([]*session, len(w.Members))
	own := w.Own()
	for i, m := range w.Members {
		ss[i] = newSession(m, enc[i], ix, tr, own[i])
	}
	defer closeSessions(ss)
	raddr := netip.AddrPortFrom(rsAddr, uint16(port))

	// Sessions first, without routes: convergence is timed from the first announcement.
	t0 := time.Now()
	if err := parallel(len(ss), 16, func(i int) error { return ss[i].connect(raddr, t0.Add(timeout)) }); err != nil {
		return fail("sessions: %v", err)
	}
	res.SessionsUp = time.Since(t0).Seconds()
	if w.Policy != nil {
		// Routes go out only once the daemon holds the VRPs (not timed).
		if err := w.Policy.waitRTR(rtrBefore, time.Now().Add(timeout)); err != nil {
			return fail("%v", err)
		}
	}
	if lg != nil {
		if err := lg.ready(time.Now().Add(timeout)); err != nil {
			return fail("%v", err)
		}
		if err := lg.start(lg.clients, false); err != nil {
			return fail("%v", err)
		}
		defer lg.stop()
	}

	all := w.AllActive()
	full := w.Expected(all, announcedAll)
	cpu0, _ := p.usage()
	gen0 := selfCPU()

	// Phase 1: initial convergence.
	chk.expect(all, announcedAll, nil)
	done := tr.phase(ss, full)
	go parallel(len(ss), len(ss), func(i int) error { return ss[i].send(enc[i].Table) })
	if !wait(done, timeout) {
		return fail("initial convergence: did not converge within %s (%s)", timeout, progress(ss))
	}
	res.Converge = tr.elapsed().Seconds()
	cpu1, _ := p.usage()
	res.CPUConverge = cpu1 - cpu0
	logf("  %s: converged in %.2fs", d.name, res.Converge)
	if profileDir != "" {
		// To find the phase in the execution trace, whose clock snapshots are wall time.
		logf("  profiles: initial convergence from %s for %.3fs", tr.startedAt().UTC().Format("15:04:05.000000"), res.Converge)
	}
	if d.floor {
		// The forwarder is no route server: a withdrawal by one of several announcers would withdraw
		// the prefix (forward.go). Its figure is the initial convergence.
		res.GenCPU = selfCPU() - gen0
		res.CPU, res.PeakRSS = p.usage()
		res.Shared = updatesShared(ss)
		return res
	}

	// Phase 2: churn burst, 5% of all routes withdrawn, then announced again.
	chk.expect(all, w.churnWithdrawn(), nil)
	done = tr.phase(ss, w.Expected(all, w.churnWithdrawn()))
	go parallel(len(ss), len(ss), func(i int) error { return ss[i].send(enc[i].Withdraw) })
	if !wait(done, timeout) {
		return fail("churn withdraw: did not converge within %s (%s)", timeout, progress(ss))
	}
	res.ChurnWithdraw = tr.elapsed().Seconds()
	chk.expect(all, announcedAll, nil)
	done = tr.phase(ss, full)
	go parallel(len(ss), len(ss), func(i int) error { return ss[i].send(enc[i].Reannounce) })
	if !wait(done, timeout) {
		return fail("churn re-announce: did not converge within %s (%s)", timeout, progress(ss))
	}
	res.ChurnReannounce = tr.elapsed().Seconds()

	// Phase 3: the best route of multi-homed prefixes moves to another member and back. No prefix
	// count changes; only the routes' check (check.go) sees when the members have switched.
	chk.expect(all, announcedAll, worse)
	done = tr.phase(ss, full)
	go parallel(len(ss), len(ss), func(i int) error { return ss[i].send(enc[i].Worsen) })
	if !wait(done, timeout) {
		return fail("best move: did not converge within %s (%s)", timeout, progress(ss))
	}
	res.BestMove = tr.elapsed().Seconds()
	chk.expect(all, announcedAll, nil)
	done = tr.phase(ss, full)
	go parallel(len(ss), len(ss), func(i int) error { return ss[i].send(enc[i].Restore) })
	if !wait(done, timeout) {
		return fail("best back: did not converge within %s (%s)", timeout, progress(ss))
	}
	res.BestBack = tr.elapsed().Seconds()

	// Phase 4: the largest member's session flaps.
	big := w.Largest()
	active := w.AllActive()
	active[big] = false
	chk.expect(active, announcedAll, nil)
	done = tr.phase(ss, w.Expected(active, announcedAll))
	ss[big].drop()
	ss[big].reset()
	if !wait(done, timeout) {
		return fail("flap down: did not converge within %s (%s)", timeout, progress(ss))
	}
	res.FlapDown = tr.elapsed().Seconds()
	if err := ss[big].connect(raddr, time.Now().Add(timeout)); err != nil {
		return fail("flap: reconnect: %v", err)
	}
	chk.expect(all, announcedAll, nil)
	done = tr.phase(ss, full)
	go ss[big].send(enc[big].Table)
	if !wait(done, timeout) {
		return fail("flap up: did not converge within %s (%s)", timeout, progress(ss))
	}
	res.FlapUp = tr.elapsed().Seconds()

	res.GenCPU = selfCPU() - gen0
	res.CPU, res.PeakRSS = p.usage()
	for _, s := range ss {
		s.mu.Lock()
		res.Unknown += s.unknown
		s.mu.Unlock()
	}
	res.Shared = updatesShared(ss)
	// The looking glass's churn window comes after the CPU and memory figures, which are the phases'.
	if lg != nil {
		if err := lg.endPhases(&res); err != nil {
			res.Failed = err.Error()
		} else if err := lg.churnWindow(ss, enc, w, tr, timeout); err != nil {
			res.Failed = err.Error()
		}
	}
	if p.exited() {
		res.Failed = "daemon exited: " + p.tail(5)
	}
	return res
}

// progress summarizes how far the members got, for a timeout report.
func progress(ss []*session) string {
	var have, want, bad int64
	complete := 0
	for _, s := range ss {
		c, t, b := s.snapshot()
		if t < 0 {
			continue
		}
		have += int64(c)
		want += int64(t)
		bad += int64(b)
		if c == t && b == 0 {
			complete++
		}
	}
	out := fmt.Sprintf("%d of %d members complete, %d of %d prefixes held, %d prefixes missing, extra or with the wrong route",
		complete, len(ss), have, want, bad)
	for _, s := range ss {
		s.mu.Lock()
		wrong := s.wrong
		s.mu.Unlock()
		if wrong != "" {
			out += "; first wrong route: " + wrong
			break
		}
	}
	return out
}

func wait(done <-chan struct{}, timeout time.Duration) bool {
	select {
	case <-done:
		return true
	case <-time.After(timeout):
		return false
	}
}

// parallel runs f(0..n-1) with at most width at a time and returns the first error.
func parallel(n, width int, f func(int) error) error {
	sem := make(chan struct{}, width)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	for i := 0; i < n; i++ {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := f(i); err != nil {
				mu.Lock()
				first = errors.Join(first, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return first
}

// selfCPU returns this process's CPU seconds (user+system).
func selfCPU() float64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

func load1() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return -1
	}
	var l float64
	fmt.Sscan(string(b), &l)
	return l
}

func netListen(addr netip.Addr) (net.Listener, error) {
	return net.Listen("tcp", netip.AddrPortFrom(addr, 0).String())
}

// running holds the daemons started and not yet stopped, so that an interrupt stops them.
var running = struct {
	sync.Mutex
	m map[*proc]bool
}{m: map[*proc]bool{}}

func registerProc(p *proc) {
	running.Lock()
	running.m[p] = true
	running.Unlock()
}

func unregisterProc(p *proc) {
	running.Lock()
	delete(running.m, p)
	running.Unlock()
}

// stopAll stops every daemon still running (on interrupt).
func stopAll() {
	running.Lock()
	ps := make([]*proc, 0, len(running.m))
	for p := range running.m {
		ps = append(ps, p)
	}
	running.Unlock()
	for _, p := range ps {
		p.stop()
	}
}

// hasFlag reports whether the program bin lists the flag -name in its usage (bin -h). A route server
// built from an older commit (scripts/benchmark --rev) may lack a newer flag, and would refuse to
// start with it.
func hasFlag(bin, name string) bool {
	out, _ := exec.Command(bin, "-h").CombinedOutput()
	return regexp.MustCompile(`(?m)^\s+-` + regexp.QuoteMeta(name) + `(\s|$)`).Match(out)
}

// updatesShared returns the share of the UPDATEs the members received that they took from their shared
// cache (rxcache.go).
func updatesShared(ss []*session) float64 {
	var all, shared int
	for _, s := range ss {
		s.mu.Lock()
		all, shared = all+s.updates, shared+s.shared
		s.mu.Unlock()
	}
	if all == 0 {
		return 0
	}
	return float64(shared) / float64(all)
}
