package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The MRT dump-cost mode (-mrt-dump-every): ixrs runs alone with an admin socket and an MRT dump
// directory, and each repetition is two runs of the same workload under the same configuration:
//
//   - quiet: no dump during the phases.
//   - dumping: from the first announcement until the churn burst has converged, ixbench asks for a
//     TABLE_DUMP_V2 dump through the admin interface (POST /v1/mrt/dump), one after the other with the
//     given period between their starts, or back to back with period 0.
//
// The phases side by side are what dumps cost convergence (issue 14: a dump is a walk job and must
// not add more than a few percent on the medium table). After the phases every run, quiet or not,
// writes one more dump at rest, and bgpdump reads it back: its routes must be exactly the
// workload's (each member's prefixes, with the member's address and AS), so the benchmark measures
// real, complete dumps. The last dump written during the phases is read back too, and must hold the
// routes the route server reported for it, all of them the workload's.

// MRTResult is one run of the MRT dump-cost mode.
type MRTResult struct {
	Workload string  `json:"workload"`
	Members  int     `json:"members"`
	Routes   int     `json:"routes"`
	Prefixes int     `json:"prefixes"`
	Rep      int     `json:"rep"`
	Dumping  bool    `json:"dumping"`
	Every    float64 `json:"every_s"`      // period between dump starts; 0: back to back
	At       string  `json:"at,omitempty"` // one dump at this point of the initial convergence (-mrt-dump-at)

	Converge        float64 `json:"converge_s"`
	ChurnWithdraw   float64 `json:"churn_withdraw_s"`
	ChurnReannounce float64 `json:"churn_reannounce_s"`
	CPU             float64 `json:"cpu_s"` // daemon CPU for the phases and the dumps
	// ConvergeCPU is the daemon's CPU from the first announcement until convergence: what a dump
	// that runs during convergence adds to it there, and nothing else, however loaded the machine.
	ConvergeCPU float64 `json:"converge_cpu_s,omitempty"`
	PeakRSS     int64   `json:"peak_rss_bytes"`
	Load1       float64 `json:"load1"`

	// The dumps asked for during the phases (dumping runs): completed, refused as busy (409), failed.
	Dumps      int     `json:"dumps"`
	Busy       int     `json:"busy,omitempty"`
	DumpErrors int     `json:"dump_errors,omitempty"`
	LastErr    string  `json:"last_error,omitempty"`
	DumpP50    float64 `json:"dump_p50_s"`  // the route server's duration of a dump (median)
	DumpMax    float64 `json:"dump_max_s"`  // and the longest
	Share      float64 `json:"dump_share"`  // share of the phases' time during which a dump ran
	BytesLast  int64   `json:"bytes_last"`  // size of the last dump of the phases (both files)
	RoutesLast int     `json:"routes_last"` // its accepted routes
	Resyncs    int     `json:"resyncs"`     // walks that started over, summed over the dumps
	CheckLast  string  `json:"check_last"`  // bgpdump's reading of the last dump of the phases
	RestSecs   float64 `json:"rest_dump_s"` // the dump at rest: duration
	RestBytes  int64   `json:"rest_bytes"`  // and size
	RestCheck  string  `json:"rest_check"`  // bgpdump's reading of it against the workload
	Failed     string  `json:"failed,omitempty"`
}

// Churn returns the churn burst's total, or -1.
func (r *MRTResult) Churn() float64 {
	if r.ChurnWithdraw < 0 || r.ChurnReannounce < 0 {
		return -1
	}
	return r.ChurnWithdraw + r.ChurnReannounce
}

// parseDumpEvery reads -mrt-dump-every: "" is off; "0" or "back-to-back" dumps back to back; a
// positive duration is the period between dump starts.
func parseDumpEvery(s string) (every time.Duration, on bool, err error) {
	switch s = strings.TrimSpace(s); s {
	case "":
		return 0, false, nil
	case "0", "back-to-back":
		return 0, true, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, false, fmt.Errorf("-mrt-dump-every %q: a duration, 0 or back-to-back", s)
	}
	if d < 0 {
		return 0, false, fmt.Errorf("-mrt-dump-every %s: must not be negative", s)
	}
	return d, true, nil
}

// mrtDumpAnswer is the admin interface's answer to POST /v1/mrt/dump (docs/admin.md).
type mrtDumpAnswer struct {
	Accepted       string  `json:"accepted"`
	Filtered       string  `json:"filtered"`
	Prefixes       int     `json:"prefixes"`
	AcceptedRoutes int     `json:"accepted_routes"`
	FilteredRoutes int     `json:"filtered_routes"`
	Bytes          int64   `json:"bytes"`
	Seconds        float64 `json:"seconds"`
	Resyncs        int     `json:"resyncs"`
}

// adminClient speaks the admin protocol over the route server's unix socket.
func adminClient(socket string) *http.Client {
	return &http.Client{Timeout: 5 * time.Minute, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socket)
		},
	}}
}

// errBusy is a dump refused because another one is being written (409).
var errBusy = errors.New("busy")

// mrtDump asks for a dump and waits for it.
func mrtDump(hc *http.Client) (mrtDumpAnswer, error) {
	var a mrtDumpAnswer
	resp, err := hc.Post("http://ixrs/v1/mrt/dump", "application/json", strings.NewReader("{}"))
	if err != nil {
		return a, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return a, err
	}
	switch resp.StatusCode {
	case http.StatusOK:
		return a, json.Unmarshal(body, &a)
	case http.StatusConflict:
		return a, errBusy
	}
	return a, fmt.Errorf("HTTP %d: %.200s", resp.StatusCode, bytes.TrimSpace(body))
}

// dumpSample is one dump the loop asked for.
type dumpSample struct {
	start, end time.Time
	ans        mrtDumpAnswer
	err        error
}

// dumpLoop asks for dumps until stopped: each starts every period after the last one started, or
// when the last one ends if that is later.
type dumpLoop struct {
	hc      *http.Client
	every   time.Duration
	stopc   chan struct{}
	done    chan struct{}
	samples []dumpSample // the loop's until done is closed
}

// maxLoopDumps bounds a loop's dumps (a 1 ms period over a phase timeout stays below it).
const maxLoopDumps = 100000

func startDumpLoop(hc *http.Client, every time.Duration) *dumpLoop {
	l := &dumpLoop{hc: hc, every: every, stopc: make(chan struct{}), done: make(chan struct{})}
	go l.run()
	return l
}

func (l *dumpLoop) run() {
	defer close(l.done)
	next := time.Now()
	for range maxLoopDumps {
		t := time.NewTimer(time.Until(next))
		select {
		case <-l.stopc:
			t.Stop()
			return
		case <-t.C:
		}
		s := dumpSample{start: time.Now()}
		s.ans, s.err = mrtDump(l.hc)
		s.end = time.Now()
		l.samples = append(l.samples, s)
		next = s.start.Add(l.every)
		if s.err != nil && s.err != errBusy {
			next = s.end.Add(max(l.every, 100*time.Millisecond)) // no hot loop on a failing call
		}
	}
}

// stop ends the loop and waits for the dump in flight; the samples are then the loop's.
func (l *dumpLoop) stop() []dumpSample {
	close(l.stopc)
	<-l.done
	return l.samples
}

// summarize fills in r's dump figures from the samples; from and to bound the phases.
func (r *MRTResult) summarize(samples []dumpSample, from, to time.Time) {
	var secs []float64
	var busy time.Duration
	for _, s := range samples {
		switch {
		case s.err == errBusy:
			r.Busy++
			continue
		case s.err != nil:
			r.DumpErrors++
			r.LastErr = s.err.Error()
			continue
		}
		r.Dumps++
		secs = append(secs, s.ans.Seconds)
		r.Resyncs += s.ans.Resyncs
		r.BytesLast, r.RoutesLast = s.ans.Bytes, s.ans.AcceptedRoutes
		a, b := s.start, s.end
		if a.Before(from) {
			a = from
		}
		if b.After(to) {
			b = to
		}
		if b.After(a) {
			busy += b.Sub(a)
		}
	}
	if len(secs) > 0 {
		slices.Sort(secs)
		r.DumpP50, r.DumpMax = secs[(len(secs)-1)/2], secs[len(secs)-1]
	}
	if to.After(from) {
		r.Share = busy.Seconds() / to.Sub(from).Seconds()
	}
}

// dumpCheck is what bgpdump -m printed for one MRT file, compared with the workload.
type dumpCheck struct {
	Routes   int // TABLE_DUMP2 lines of workload routes, each (member, prefix) once
	Prefixes int // distinct prefixes among them
	Unknown  int // lines naming a prefix, peer or peer AS that the workload does not have together
	Dups     int // a (member, prefix) seen again
	Other    int // lines that are no TABLE_DUMP2 route
	First    string
}

// routeKeys indexes the workload's routes for checkDump.
type routeKeys struct {
	w        *Workload
	byAddr   map[netip.Addr]int
	byPrefix map[netip.Prefix]uint32
}

func newRouteKeys(w *Workload) *routeKeys {
	k := &routeKeys{w: w, byAddr: make(map[netip.Addr]int, len(w.Members)), byPrefix: make(map[netip.Prefix]uint32, len(w.Prefixes))}
	for i, m := range w.Members {
		k.byAddr[m.Addr] = i
	}
	for i, p := range w.Prefixes {
		k.byPrefix[p] = uint32(i)
	}
	return k
}

// checkDump reads bgpdump -m output: TABLE_DUMP2|time|B|peer address|peer AS|prefix|...
func (k *routeKeys) checkDump(r io.Reader) (dumpCheck, error) {
	var c dumpCheck
	seen := map[uint64]bool{}
	prefixes := map[uint32]bool{}
	bad := func(kind *int, line string) {
		*kind++
		if c.First == "" {
			c.First = line
		}
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		line := sc.Text()
		f := strings.SplitN(line, "|", 7)
		if len(f) < 7 || f[0] != "TABLE_DUMP2" || f[2] != "B" {
			bad(&c.Other, line)
			continue
		}
		peer, err1 := netip.ParseAddr(f[3])
		as, err2 := strconv.ParseUint(f[4], 10, 32)
		pfx, err3 := netip.ParsePrefix(f[5])
		m, okm := k.byAddr[peer]
		pi, okp := k.byPrefix[pfx]
		if err1 != nil || err2 != nil || err3 != nil || !okm || !okp || k.w.Members[m].ASN != uint32(as) ||
			!slices.Contains(k.w.Announcers[pi], int32(m)) {
			bad(&c.Unknown, line)
			continue
		}
		key := uint64(pi)<<20 | uint64(m)
		if seen[key] {
			bad(&c.Dups, line)
			continue
		}
		seen[key] = true
		prefixes[pi] = true
		c.Routes++
	}
	c.Prefixes = len(prefixes)
	return c, sc.Err()
}

// clean reports whether every line was a workload route, once.
func (c dumpCheck) clean() bool { return c.Unknown == 0 && c.Dups == 0 && c.Other == 0 }

func (c dumpCheck) String() string {
	s := fmt.Sprintf("%d routes, %d prefixes", c.Routes, c.Prefixes)
	if !c.clean() {
		s += fmt.Sprintf("; %d unknown, %d duplicate, %d other lines (first: %.120s)", c.Unknown, c.Dups, c.Other, c.First)
	}
	return s
}

// bgpdump runs bgpdump -m on file and checks its output against the workload.
func (k *routeKeys) bgpdump(file string, timeout time.Duration) (dumpCheck, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bgpdump", "-m", file)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return dumpCheck{}, err
	}
	if err := cmd.Start(); err != nil {
		return dumpCheck{}, err
	}
	c, rerr := k.checkDump(out)
	io.Copy(io.Discard, out)
	if err := cmd.Wait(); err != nil {
		return c, fmt.Errorf("bgpdump %s: %v: %.200s", filepath.Base(file), err, bytes.TrimSpace(stderr.Bytes()))
	}
	return c, rerr
}

// mrtConfigure gives the ixrs configuration in dir an admin socket and an MRT dump directory
// (dumps on demand only: dump_interval has a one-minute minimum). It returns the socket's path. The
// route server creates the dump directory; ixbench does too, so that older route servers can be
// measured against newer ones.
func mrtConfigure(dir string) (string, error) {
	path := filepath.Join(dir, "config.toml")
	socket := filepath.Join(dir, "admin.sock")
	if err := os.MkdirAll(filepath.Join(dir, "mrt"), 0o755); err != nil {
		return "", err
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return "", err
	}
	_, err = fmt.Fprintf(f, "\n[admin]\nsocket = %q\n\n[mrt]\ndump_dir = %q\ndump_interval = \"0s\"\nkeep = 3\n",
		socket, filepath.Join(dir, "mrt"))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return socket, err
}

// mrtOnce runs the initial convergence and the churn burst of w against ixrs, with a dump loop of
// period every during them when dumping, then a dump at rest that bgpdump checks.
func mrtOnce(binary string, w *Workload, enc []*Encoded, ix *index, keys *routeKeys, timeout time.Duration, keep bool,
	rep int, dumping bool, every time.Duration, at dumpAt, logf func(string, ...any)) (res MRTResult) {
	res = MRTResult{Workload: w.Spec.Name, Members: len(w.Members), Routes: w.Spec.Routes, Prefixes: len(w.Prefixes), Rep: rep,
		Dumping: dumping, Every: every.Seconds(), At: at.String(), Converge: -1, ChurnWithdraw: -1, ChurnReannounce: -1}
	res.Load1 = load1()
	dir, err := os.MkdirTemp("", "ixbench-mrt-")
	if err != nil {
		res.Failed = err.Error()
		return res
	}
	if keep {
		logf("  files in %s", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	port, err := freePort(rsAddr)
	if err != nil {
		res.Failed = err.Error()
		return res
	}
	argv, err := ixrsConfig(binary)(dir, port, w)
	if err != nil {
		res.Failed = err.Error()
		return res
	}
	socket, err := mrtConfigure(dir)
	if err != nil {
		res.Failed = err.Error()
		return res
	}
	p, fail, err := startUnderTest(argv, dir, false, &res, &res.Failed, &res.CPU, &res.PeakRSS)
	if err != nil {
		res.Failed = err.Error()
		return res
	}
	defer p.stop()

	// The members check the routes they hold, not only their count, as in the main run (check.go).
	chk := newChecker(w)
	tr := &tracker{chk: chk}
	ss := make([]*session, len(w.Members))
	own := w.Own()
	for i, m := range w.Members {
		ss[i] = newSession(m, enc[i], ix, tr, own[i])
	}
	defer closeSessions(ss)
	raddr := netip.AddrPortFrom(rsAddr, uint16(port))
	deadline := time.Now().Add(timeout)
	if err := parallel(len(ss), 16, func(i int) error { return ss[i].connect(raddr, deadline) }); err != nil {
		return fail("sessions: %v", err)
	}
	hc := adminClient(socket)
	// The admin socket is up before the sessions are (the daemon opens it at start); a dump of the
	// empty table proves it, in both runs alike.
	if _, err := mrtDump(hc); err != nil {
		return fail("admin socket: first dump: %v", err)
	}

	all := w.AllActive()
	full := w.Expected(all, announcedAll)
	cpu0, _ := p.usage()
	var loop *dumpLoop
	stopLoop := func() []dumpSample {
		if loop == nil {
			return nil
		}
		s := loop.stop()
		loop = nil
		return s
	}
	defer stopLoop()

	// Phase 1: initial convergence; the dumps start with the first announcement.
	chk.expect(all, announcedAll, nil)
	done := tr.phase(ss, full)
	from := time.Now()
	switch {
	case dumping && at.on:
		loop = startDumpAt(hc, dumpAtReady(at, ss, full, from))
	case dumping:
		loop = startDumpLoop(hc, every)
	}
	go parallel(len(ss), len(ss), func(i int) error { return ss[i].send(enc[i].Table) })
	if !wait(done, timeout) {
		return fail("initial convergence: did not converge within %s (%s)", timeout, progress(ss))
	}
	res.Converge = tr.elapsed().Seconds()
	if c, _ := p.usage(); c > cpu0 {
		res.ConvergeCPU = c - cpu0
	}

	// Phase 2: churn burst.
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
	to := time.Now()
	samples := stopLoop()
	res.CPU, res.PeakRSS = p.usage()
	res.CPU -= cpu0
	res.summarize(samples, from, to)
	for i := len(samples) - 1; i >= 0; i-- {
		if s := samples[i]; s.err == nil {
			c, err := keys.bgpdump(s.ans.Accepted, timeout)
			res.CheckLast = c.String()
			switch {
			case err != nil:
				return fail("last dump of the phases: %v", err)
			case !c.clean() || c.Routes != s.ans.AcceptedRoutes:
				return fail("last dump of the phases: the route server reported %d routes, bgpdump read %s",
					s.ans.AcceptedRoutes, c)
			}
			break
		}
	}

	// The dump at rest: every route of the workload, nothing else.
	a, err := mrtDump(hc)
	if err != nil {
		return fail("dump at rest: %v", err)
	}
	res.RestSecs, res.RestBytes = a.Seconds, a.Bytes
	c, err := keys.bgpdump(a.Accepted, timeout)
	res.RestCheck = c.String()
	switch {
	case err != nil:
		return fail("dump at rest: %v", err)
	case !c.clean() || c.Routes != w.Spec.Routes || c.Prefixes != len(w.Prefixes) || a.AcceptedRoutes != c.Routes || a.FilteredRoutes != 0:
		return fail("dump at rest: the workload has %d routes and %d prefixes; the route server reported %d accepted and %d filtered routes; bgpdump read %s",
			w.Spec.Routes, len(w.Prefixes), a.AcceptedRoutes, a.FilteredRoutes, c)
	}
	if p.exited() {
		res.Failed = "daemon exited: " + p.tail(5)
	}
	return res
}

func (r *MRTResult) summary() string {
	f := func(v float64) string {
		if v < 0 {
			return "-"
		}
		return fmt.Sprintf("%.2fs", v)
	}
	s := fmt.Sprintf("converge %s churn %s+%s cpu %.2fs (%.2fs to converge) rss %d MiB load %.2f", f(r.Converge), f(r.ChurnWithdraw),
		f(r.ChurnReannounce), r.CPU, r.ConvergeCPU, r.PeakRSS>>20, r.Load1)
	if r.Dumping {
		s += fmt.Sprintf("; %d dumps (p50 %.2fs, max %.2fs, %.0f%% of the phases, last %d routes %.1f MiB, %d resyncs) busy %d errors %d",
			r.Dumps, r.DumpP50, r.DumpMax, 100*r.Share, r.RoutesLast, float64(r.BytesLast)/(1<<20), r.Resyncs, r.Busy, r.DumpErrors)
		if r.LastErr != "" {
			s += " (" + r.LastErr + ")"
		}
	}
	s += fmt.Sprintf("; at rest: dump %.2fs %.1f MiB, bgpdump: %s", r.RestSecs, float64(r.RestBytes)/(1<<20), r.RestCheck)
	if r.Failed != "" {
		s += " FAILED: " + r.Failed
	}
	return s
}

// mrtMain runs the MRT dump-cost mode: for each repetition a quiet and a dumping run of ixrs, in
// alternating order so that a drift of the machine's load spreads over both.
func mrtMain(binary string, specs []Spec, seed uint64, runs int, timeout, every time.Duration, at dumpAt, keep bool, doc, command, commit string,
	logf func(string, ...any)) int {
	if _, err := exec.LookPath("bgpdump"); err != nil {
		fmt.Fprintln(os.Stderr, "ixbench: -mrt-dump-every needs bgpdump (scripts/install-test-deps.sh):", err)
		return 2
	}
	commit = runCommit(commit)
	version := daemons(binary)["ixrs"].version()
	var results []MRTResult
	status := 0
	for _, spec := range specs {
		spec.Seed = seed
		t := timeout
		if t == 0 {
			t = 60*time.Second + time.Duration(spec.Routes/2500)*time.Second
		}
		w, err := Generate(spec)
		if err != nil {
			fmt.Fprintln(os.Stderr, "ixbench:", err)
			return 1
		}
		enc := w.Encode()
		ix := newIndex(w)
		keys := newRouteKeys(w)
		period := "back to back"
		switch {
		case at.on:
			period = "once, at " + at.String() + ","
		case every > 0:
			period = "every " + every.String()
		}
		logf("workload %s: %d members, %d routes, %d prefixes; MRT dumps %s during convergence and churn",
			spec.Name, len(w.Members), spec.Routes, len(w.Prefixes), period)
		for rep := 1; rep <= runs; rep++ {
			order := []bool{false, true}
			if rep%2 == 0 {
				order = []bool{true, false}
			}
			for _, dumping := range order {
				r := mrtOnce(binary, w, enc, ix, keys, t, keep, rep, dumping, every, at, logf)
				results = append(results, r)
				what := "quiet  "
				if dumping {
					what = "dumping"
				}
				logf("%-8s %s rep %d: %s", spec.Name, what, rep, r.summary())
				if r.Failed != "" {
					status = 1
				}
			}
		}
	}
	for _, line := range strings.Split(mrtTable(results), "\n") {
		logf("%s", line)
	}
	if doc != "" {
		if err := updateDocMRT(doc, results, version, command, commit); err != nil {
			fmt.Fprintln(os.Stderr, "ixbench:", err)
			return 1
		}
		logf("wrote %s", doc)
	}
	return status
}

// mrtTable is the Markdown table of the medians: per workload, quiet against dumping; the change of
// the dumping runs' medians against the quiet ones' in parentheses.
func mrtTable(results []MRTResult) string {
	var b strings.Builder
	b.WriteString("| workload | dumps during the phases | runs | converge | churn | CPU s | CPU s to converge | dumps | dump s (p50, max) | dump share | dump MiB | at rest: dump s, bgpdump |\n")
	b.WriteString("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
	var names []string
	for _, r := range results {
		if !slices.Contains(names, r.Workload) {
			names = append(names, r.Workload)
		}
	}
	for _, name := range names {
		var baseConv, baseChurn, baseCPU, baseConvCPU float64
		for _, dumping := range []bool{false, true} {
			var ms []MRTResult
			for _, r := range results {
				if r.Workload == name && r.Dumping == dumping {
					ms = append(ms, r)
				}
			}
			if len(ms) == 0 {
				continue
			}
			col := func(f func(*MRTResult) float64) []float64 {
				var v []float64
				for i := range ms {
					if ms[i].Failed == "" {
						v = append(v, f(&ms[i]))
					}
				}
				return v
			}
			conv := col(func(r *MRTResult) float64 { return r.Converge })
			churn := col(func(r *MRTResult) float64 { return r.Churn() })
			cpu := col(func(r *MRTResult) float64 { return r.CPU })
			convCPU := col(func(r *MRTResult) float64 { return r.ConvergeCPU })
			convS, churnS, cpuS, convCPUS := medRange(conv), medRange(churn), medRange(cpu), medRange(convCPU)
			if median(convCPU) == 0 {
				convCPUS = "–" // results from before ixbench measured it
			}
			what, dumps, durs, share, size := "none", "–", "–", "–", "–"
			if !dumping {
				baseConv, baseChurn, baseCPU, baseConvCPU = median(conv), median(churn), median(cpu), median(convCPU)
			} else {
				what = "back to back"
				switch {
				case ms[0].At != "":
					what = "one, at " + ms[0].At
				case ms[0].Every > 0:
					what = "every " + time.Duration(ms[0].Every*float64(time.Second)).String()
				}
				dumps = fmt.Sprintf("%.0f", median(col(func(r *MRTResult) float64 { return float64(r.Dumps) })))
				durs = fmt.Sprintf("%.2f, %.2f", median(col(func(r *MRTResult) float64 { return r.DumpP50 })),
					median(col(func(r *MRTResult) float64 { return r.DumpMax })))
				share = fmt.Sprintf("%.0f%%", median(col(func(r *MRTResult) float64 { return 100 * r.Share })))
				size = fmt.Sprintf("%.1f", median(col(func(r *MRTResult) float64 { return float64(r.BytesLast) / (1 << 20) })))
				convS += change(median(conv), baseConv)
				churnS += change(median(churn), baseChurn)
				cpuS += change(median(cpu), baseCPU)
				if convCPUS != "–" && baseConvCPU > 0 {
					convCPUS += change(median(convCPU), baseConvCPU)
				}
			}
			checks := "ok"
			failed := 0
			for _, m := range ms {
				if m.Failed != "" {
					failed++
				}
			}
			if failed > 0 {
				checks = fmt.Sprintf("%d of %d runs failed", failed, len(ms))
			}
			fmt.Fprintf(&b, "| %s | %s | %d | %s | %s | %s | %s | %s | %s | %s | %s | %.2f, %s |\n", name, what, len(ms), convS, churnS,
				cpuS, convCPUS, dumps, durs, share, size,
				median(col(func(r *MRTResult) float64 { return r.RestSecs })), checks)
		}
	}
	return strings.TrimRight(b.String(), "\n")
}

// medRange formats the median and range of v, seconds.
func medRange(v []float64) string {
	if len(v) == 0 {
		return "–"
	}
	s := slices.Clone(v)
	slices.Sort(s)
	return fmt.Sprintf("%s (%s–%s)", fsec(median(s)), fsec(s[0]), fsec(s[len(s)-1]))
}

// change formats v against the reference ref as a signed percentage, "" without a reference.
func change(v, ref float64) string {
	if ref <= 0 || v <= 0 {
		return ""
	}
	return fmt.Sprintf(" (%+.0f%%)", 100*(v/ref-1))
}

// median is the middle value of v (the mean of the two middle ones for an even count); 0 for none.
func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
