// Command ixbench is the ixrs end-to-end benchmark: it plays N IXP members, each with its own
// loopback address and 4-octet AS, announces a generated, realistically skewed IXP table to a route
// server, and measures how long the route server takes to give every member exactly the expected table
// (initial convergence), to propagate a churn burst of 5% of the routes, to move the best route of
// multi-homed prefixes to another member and back, and to handle the largest member's session flap,
// with the route server's CPU seconds and peak memory. A phase ends when every member holds the right
// prefixes with the right routes (check.go), not when a count is reached. It runs the same workload
// against ixrs, BIRD 2, FRR, OpenBGPD and GoBGP, one at a time, and against the floor, a no-RIB
// forwarder (forward.go), and writes the table of medians to docs/benchmarks.md under a header that
// states the invocation (date, command, commit, versions, load).
//
// Usage (scripts/benchmark wraps this):
//
//	ixbench -routeserver BIN [-workload small|medium|large|scaling|NAME=MEMBERS:ROUTES|realistic[:WORKLOAD]] [-daemons ixrs,bird,...]
//	        [-runs 3] [-timeout 60s] [-doc docs/benchmarks.md] [-profile DIR]
//	ixbench -routeserver BIN -lg [-lg-clients 50] [-lg-modes users,exempt] [-lg-max-concurrent 0] [-lg-window 30s] [-workload lg] [-runs 1] [-doc docs/benchmarks.md]
//	ixbench -routeserver BIN -mrt-dump-every 0|DURATION [-workload medium] [-runs 3] [-doc docs/benchmarks.md]
//	ixbench -routeserver BIN -mrt-dump-at 50%|DURATION [-workload medium] [-runs 3] [-doc docs/benchmarks.md]
//	ixbench -routeserver BIN -reeval [-reeval-vrps rtr,file] [-workload NAME=MEMBERS:ROUTES,...] [-doc docs/benchmarks.md]
//	ixbench -render -doc docs/benchmarks.md
//	ixbench -forward ADDR:PORT        (the floor; ixbench starts it itself as the daemon "floor")
//
// -workload realistic gives every daemon the same IXP import policy, RPKI from one StayRTR cache over RTR,
// and plants routes each check must drop (realistic.go).
//
// -lg runs ixrs alone with its looking glass on, quiet and then loaded by HTTP clients, and measures
// the clients' effect on convergence and their latency while members churn (lg.go).
//
// -mrt-dump-every runs ixrs alone without and with MRT dumps asked for through the admin interface
// during convergence and churn, and checks the dumps with bgpdump (mrtcost.go); -mrt-dump-at asks
// for one dump in the middle of convergence instead (mrtat.go).
//
// -reeval runs ixrs alone with IRR and RPKI checks on and times IRR, VRP and [defaults] changes until
// every member holds the result, checking that nothing else changed (reeval.go).
//
// Members' UPDATEs are encoded before any clock starts; a received UPDATE is only scanned and counted
// (session.go), so the generator's CPU time, reported with each run, stays small next to the daemon's.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// workloads are the named workloads; scaling is a series of its own.
var workloads = map[string]Spec{
	"tiny":   {Name: "tiny", Members: 5, Routes: 2000},
	"small":  {Name: "small", Members: 20, Routes: 20000},
	"medium": {Name: "medium", Members: 100, Routes: 100000},
	"large":  {Name: "large", Members: 300, Routes: 300000},
	// lg is the looking-glass mode's table (-lg): issue 11's 300 members and 1M routes.
	"lg": {Name: "lg", Members: 300, Routes: 1000000},
}

// scalingSeries varies members at a fixed table size, then the table at fixed members.
var scalingSeries = []Spec{
	{Name: "scale-m25-r50k", Members: 25, Routes: 50000},
	{Name: "scale-m50-r50k", Members: 50, Routes: 50000},
	{Name: "scale-m100-r50k", Members: 100, Routes: 50000},
	{Name: "scale-m200-r50k", Members: 200, Routes: 50000},
	{Name: "scale-m50-r25k", Members: 50, Routes: 25000},
	{Name: "scale-m50-r100k", Members: 50, Routes: 100000},
	{Name: "scale-m50-r200k", Members: 50, Routes: 200000},
}

func main() {
	if len(os.Args) == 2 && os.Args[1] == lgClientFlag {
		// The looking-glass clients' process that -lg starts (lgclient.go).
		os.Exit(lgClientMain(os.Stdin, os.Stdout))
	}
	os.Exit(realMain())
}

func realMain() int {
	routeserver := flag.String("routeserver", "", "the ixrs routeserver `binary` (required when ixrs is benchmarked)")
	workload := flag.String("workload", "small", "small, medium, large, scaling, tiny, NAME=MEMBERS:ROUTES, realistic (medium with an IXP import policy, RPKI over RTR) or realistic:WORKLOAD")
	daemonList := flag.String("daemons", strings.Join(daemonOrder, ","), "comma-separated daemons to run")
	runs := flag.Int("runs", 3, "repetitions of each daemon")
	timeout := flag.Duration("timeout", 0, "bound of each phase (default: 60s, plus 1s per 2,500 routes)")
	seed := flag.Uint64("seed", 1, "workload seed")
	doc := flag.String("doc", "", "update this Markdown `file` (docs/benchmarks.md) with the results")
	command := flag.String("command", "", "the command line to quote in the document")
	keep := flag.Bool("keep", false, "keep the daemons' configurations and logs")
	renderOnly := flag.Bool("render", false, "rewrite the -doc file from its results block and exit, running nothing (after the document's text changed)")
	lgMode := flag.Bool("lg", false, "looking-glass mode: ixrs with its looking glass on, without and with -lg-clients clients (lg.go)")
	lgClients := flag.Int("lg-clients", 50, "looking-glass clients of the loaded run")
	lgModes := flag.String("lg-modes", "users,exempt", "client models of the loaded runs: users (own addresses, default rate limits) and/or exempt (the worst case)")
	lgMaxConc := flag.Int("lg-max-concurrent", 0, "[lookingglass] max_concurrent of ixrs in -lg mode (0: its default, twice its CPUs)")
	lgWindow := flag.Duration("lg-window", 30*time.Second, "length of the churn window in which the looking glass's latency is measured")
	mrtAt := flag.String("mrt-dump-at", "", "MRT dump-cost mode with one dump during the initial convergence: when the members have received `share` of their routes (50%), or a duration after the first announcement (mrtat.go)")
	mrtEvery := flag.String("mrt-dump-every", "", "MRT dump-cost mode: ixrs without and with MRT dumps during convergence and churn, one starting every `period` (0: back to back) (mrtcost.go)")
	forward := flag.String("forward", "", "run the no-RIB forwarder (the floor, forward.go) on `addr:port` instead of benchmarking")
	commit := flag.String("commit", "", "the ixrs commit to state in the header (default: the working tree's, from git)")
	reevalMode := flag.Bool("reeval", false, "re-evaluation mode: IRR, VRP and [defaults] changes timed end to end (reeval.go)")
	reevalVRPs := flag.String("reeval-vrps", "rtr,file", "VRP sources of the re-evaluation mode, one run each: rtr (ixbench's RTR cache), file (vrp_file and SIGHUP)")
	reevalReps := flag.Int("reeval-reps", 3, "re-evaluation mode: how many times each change and its undoing run (the table reports the median and the range)")
	reevalSettle := flag.Duration("reeval-settle", 2*time.Second, "re-evaluation mode: wait after each phase before checking that nothing else was sent")
	profile := flag.String("profile", "", "have ixrs write CPU and heap profiles (go tool pprof) and an execution trace (go tool trace) into `dir`, and ixbench its own CPU profile")
	flag.Parse()
	if *forward != "" {
		return forwardMain(*forward)
	}

	if *renderOnly {
		if *doc == "" {
			fmt.Fprintln(os.Stderr, "ixbench: -render needs -doc")
			return 2
		}
		if err := updateDoc(*doc, nil, nil); err != nil {
			fmt.Fprintln(os.Stderr, "ixbench:", err)
			return 1
		}
		return 0
	}
	if *profile != "" {
		abs, err := filepath.Abs(*profile)
		if err == nil {
			err = os.MkdirAll(abs, 0o755)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "ixbench:", err)
			return 2
		}
		*profile = abs // the daemon runs in a directory of its own
		f, err := os.Create(filepath.Join(abs, "ixbench.cpu.pprof"))
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "ixbench:", err)
			return 2
		}
		defer pprof.StopCPUProfile()
	}
	specs, err := parseWorkload(*workload)
	if err != nil && !*reevalMode { // -reeval takes a list, parsed below
		fmt.Fprintln(os.Stderr, "ixbench:", err)
		return 2
	}
	logf := func(format string, args ...any) { fmt.Printf(format+"\n", args...) }
	if *reevalMode {
		if *routeserver == "" {
			fmt.Fprintln(os.Stderr, "ixbench: -reeval needs -routeserver")
			return 2
		}
		var srcs []string
		for _, v := range strings.Split(*reevalVRPs, ",") {
			if v != "rtr" && v != "file" {
				fmt.Fprintf(os.Stderr, "ixbench: -reeval-vrps: unknown source %q (rtr, file)\n", v)
				return 2
			}
			srcs = append(srcs, v)
		}
		// Several workloads, comma-separated, so that one invocation (one section of the document) can
		// hold issue 10's and issue 17's scales.
		specs = nil
		for _, wl := range strings.Split(*workload, ",") {
			sp, err := parseWorkload(wl)
			if err != nil {
				fmt.Fprintln(os.Stderr, "ixbench:", err)
				return 2
			}
			specs = append(specs, sp...)
		}
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
		go func() {
			s := <-sig
			fmt.Fprintf(os.Stderr, "ixbench: %v: stopping the daemon\n", s)
			stopAll()
			os.Exit(130)
		}()
		return reevalMain(*routeserver, specs, *seed, srcs, max(*reevalReps, 1), *timeout, *reevalSettle, *keep, *doc, *command, *commit, logf)
	}
	every, on, err := parseDumpEvery(*mrtEvery)
	at, aerr := parseDumpAt(*mrtAt)
	if err != nil || aerr != nil || on || at.on {
		err = errors.Join(err, aerr)
		switch {
		case err != nil:
		case on && at.on:
			err = errors.New("-mrt-dump-every and -mrt-dump-at exclude each other")
		case *routeserver == "" || *runs < 1:
			err = errors.New("-mrt-dump-every and -mrt-dump-at need -routeserver and -runs ≥ 1")
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "ixbench:", err)
			return 2
		}
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
		go func() {
			s := <-sig
			fmt.Fprintf(os.Stderr, "ixbench: %v: stopping the daemon\n", s)
			stopAll()
			os.Exit(130)
		}()
		return mrtMain(*routeserver, specs, *seed, *runs, *timeout, every, at, *keep, *doc, *command, *commit, logf)
	}
	if *lgMode {
		if *routeserver == "" || *lgClients < 1 || *lgWindow <= 0 || *runs < 1 {
			fmt.Fprintln(os.Stderr, "ixbench: -lg needs -routeserver, -lg-clients ≥ 1, a positive -lg-window and -runs ≥ 1")
			return 2
		}
		modes, err := lgParseModes(*lgModes)
		if err != nil || *lgMaxConc < 0 || *lgClients > 250*250 {
			fmt.Fprintf(os.Stderr, "ixbench: -lg-modes: %v; -lg-max-concurrent ≥ 0; -lg-clients ≤ 62500\n", err)
			return 2
		}
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
		go func() {
			s := <-sig
			fmt.Fprintf(os.Stderr, "ixbench: %v: stopping the daemons\n", s)
			stopAll()
			os.Exit(130)
		}()
		return lgMain(*routeserver, specs, *seed, *runs, *timeout, *lgClients, *lgWindow, modes, *lgMaxConc, *keep, *doc, *command, *commit, *profile, logf)
	}
	all := daemons(*routeserver)
	var ds []*daemon
	for _, n := range strings.Split(*daemonList, ",") {
		d := all[strings.TrimSpace(n)]
		if d == nil {
			fmt.Fprintf(os.Stderr, "ixbench: unknown daemon %q\n", n)
			return 2
		}
		if d.name == "ixrs" && *routeserver == "" {
			fmt.Fprintln(os.Stderr, "ixbench: -routeserver is required to benchmark ixrs")
			return 2
		}
		ds = append(ds, d)
	}

	// Stop the daemons we started on an interrupt, then exit.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	go func() {
		s := <-sig
		fmt.Fprintf(os.Stderr, "ixbench: %v: stopping the daemons\n", s)
		stopAll()
		os.Exit(130)
	}()

	// The header every table of this invocation states, printed first so that a table pasted from this
	// output carries it.
	if *commit == "" {
		*commit = gitCommit()
	}
	versions := map[string]string{}
	for _, d := range ds {
		versions[d.name] = d.version()
	}
	cmdline := *command
	if cmdline == "" {
		cmdline = strings.Join(os.Args, " ")
	}
	inv := newInvocation(cmdline, *commit, versions)
	fmt.Print(inv.header(), "\n")

	// The RTR cache of realistic workloads keeps its files here.
	rtrDir, err := os.MkdirTemp("", "ixbench-rtr-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "ixbench:", err)
		return 1
	}
	defer os.RemoveAll(rtrDir)

	var results []Result
	for _, spec := range specs {
		spec.Seed = *seed
		t := *timeout
		if t == 0 {
			t = 60*time.Second + time.Duration(spec.Routes/2500)*time.Second
		}
		start := time.Now()
		gen := Generate
		if spec.Policy {
			gen = Realistic
		}
		w, err := gen(spec)
		if err != nil {
			fmt.Fprintln(os.Stderr, "ixbench:", err)
			return 1
		}
		if w.Policy != nil {
			stop, err := w.Policy.startRTR(rtrDir)
			if err != nil {
				fmt.Fprintln(os.Stderr, "ixbench:", err)
				return 1
			}
			defer stop()
			logf("realistic policy: %s", w.Policy.summary())
		}
		enc := w.Encode()
		ix := newIndex(w)
		msgs, bytes := 0, 0
		for _, e := range enc {
			msgs += e.Messages
			bytes += len(e.Table)
		}
		logf("workload %s: %d members, %d routes, %d prefixes, largest member %d routes; %d UPDATEs (%d KiB) encoded in %s",
			spec.Name, len(w.Members), spec.Routes, len(w.Prefixes), w.Members[w.Largest()].Routes, msgs, bytes>>10,
			time.Since(start).Round(time.Millisecond))
		// Repetitions interleave the daemons, so that a burst of load from elsewhere on the machine
		// spreads over all of them instead of spoiling one daemon's runs.
		for rep := 1; rep <= *runs; rep++ {
			for _, d := range ds {
				if w.Policy != nil && d.name == "gobgp" {
					logf("%-8s %-8s rep %d: skipped: no realistic policy for GoBGP (docs/benchmarks.md)", spec.Name, d.name, rep)
					continue
				}
				r := runOnce(d, w, enc, ix, t, *keep, rep, *profile, nil, logf)
				results = append(results, r)
				logf("%-8s %-8s rep %d: %s", spec.Name, d.name, rep, r.summary())
			}
		}
	}
	inv.LoadEnd = loadavg()
	logf("load average at end: %s", inv.LoadEnd)
	if *doc != "" {
		if err := updateDoc(*doc, results, inv); err != nil {
			fmt.Fprintln(os.Stderr, "ixbench:", err)
			return 1
		}
		logf("wrote %s", *doc)
	}
	return 0
}

func parseWorkload(s string) ([]Spec, error) {
	// realistic is the medium table with the IXP import policy (realistic.go); realistic:W any other.
	if s == "realistic" {
		s = "realistic:medium"
	}
	if base, ok := strings.CutPrefix(s, "realistic:"); ok {
		specs, err := parseWorkload(base)
		if err != nil || base == "scaling" || strings.HasPrefix(base, "realistic") {
			return nil, fmt.Errorf("unknown workload %q (realistic, or realistic: and one of small, medium, large, tiny, NAME=MEMBERS:ROUTES)", s)
		}
		for i := range specs {
			specs[i].Name, specs[i].Policy = "realistic-"+specs[i].Name, true
		}
		return specs, nil
	}
	if s == "scaling" {
		return scalingSeries, nil
	}
	if spec, ok := workloads[s]; ok {
		return []Spec{spec}, nil
	}
	name, mr, ok := strings.Cut(s, "=")
	if ok {
		m, r, ok := strings.Cut(mr, ":")
		if ok {
			mi, err1 := strconv.Atoi(m)
			ri, err2 := strconv.Atoi(r)
			if err1 == nil && err2 == nil {
				return []Spec{{Name: name, Members: mi, Routes: ri}}, nil
			}
		}
	}
	return nil, fmt.Errorf("unknown workload %q (small, medium, large, scaling, tiny, or NAME=MEMBERS:ROUTES)", s)
}

func (r *Result) summary() string {
	f := func(v float64) string {
		if v < 0 {
			return "-"
		}
		return fmt.Sprintf("%.2fs", v)
	}
	s := fmt.Sprintf("up %s converge %s churn %s+%s best-move %s+%s (%d prefixes) flap %s/%s cpu %.2fs (converge %.2fs) mem %d MiB gen-cpu %.1fs load %.2f",
		f(r.SessionsUp), f(r.Converge), f(r.ChurnWithdraw), f(r.ChurnReannounce), f(r.BestMove), f(r.BestBack), r.Moved,
		f(r.FlapDown), f(r.FlapUp), r.CPU, r.CPUConverge, r.PeakRSS>>20, r.GenCPU, r.Load1)
	if r.Shared > 0 {
		s += fmt.Sprintf(" shared-updates %.0f%%", 100*r.Shared)
	}
	if r.Unknown > 0 {
		s += fmt.Sprintf(" unknown-prefixes %d", r.Unknown)
	}
	if r.Failed != "" {
		s += " FAILED: " + r.Failed
	}
	return s
}
