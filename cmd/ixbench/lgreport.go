package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// lgDoc is the looking-glass mode's part of the document's results block: the results of its last
// invocation only, so that every figure of the section comes from one run of one commit.
type lgDoc struct {
	Results []LGResult        `json:"results"`
	Run     map[string]string `json:"run"` // "machine", "date", "command", "commit", "load", "version"
}

// lgMain runs the looking-glass mode: for each repetition a quiet run of ixrs and a loaded run per
// client model in modes (lgUsers, lgExempt), with [lookingglass] max_concurrent = maxConc.
// With profile set, ixrs writes its profiles of each run under profile/MODE.
func lgMain(binary string, specs []Spec, seed uint64, runs int, timeout time.Duration, clients int, window time.Duration,
	modes []string, maxConc int, keep bool, doc, command, commit, profile string, logf func(string, ...any)) int {
	d := daemons(binary)["ixrs"]
	commit = runCommit(commit)
	var results []LGResult
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
		logf("workload %s: %d members, %d routes, %d prefixes; looking glass: %d clients (%s), %s churn window, max_concurrent %d",
			spec.Name, len(w.Members), spec.Routes, len(w.Prefixes), clients, strings.Join(modes, ", "), window, maxConc)
		for rep := 1; rep <= runs; rep++ {
			for _, mode := range append([]string{lgQuiet}, modes...) {
				n := clients
				if mode == lgQuiet {
					n = 0
				}
				wc := max(n, 1)
				lg := newLGRun(w, mode, maxConc, n, wc, window, t)
				pdir := ""
				if profile != "" {
					pdir = filepath.Join(profile, mode)
					if err := os.MkdirAll(pdir, 0o755); err != nil {
						fmt.Fprintln(os.Stderr, "ixbench:", err)
						return 1
					}
				}
				r := runOnce(d, w, enc, ix, t, keep, rep, pdir, lg, logf)
				lr := LGResult{Result: r, Mode: mode, MaxConc: maxConc, Clients: n, WindowClient: wc, Window: window.Seconds(), Cycles: lg.cycles,
					Latency: lg.latency, PhaseQueries: lg.phaseQueries, ClientCPU: lg.phaseCPU, WindowClientCPU: lg.windowCPU,
					Server: lg.server, ServerErr: lg.serverErr}
				results = append(results, lr)
				logf("%-8s %s, %d clients, rep %d: %s; ixbench CPU %.1f s (of which the clients' process %.1f s); %d requests during the phases; clients' process in the window %.1f CPU s",
					spec.Name, mode, n, rep, r.summary(), r.GenCPU, lg.phaseCPU, lg.phaseQueries, lg.windowCPU)
				for _, l := range lr.Latency {
					logf("    window (%d clients, %d cycles): %-18s n %6d p50 %7.1f ms p99 %7.1f ms max %7.1f ms routes %.0f partial %d stale %d 429 %d 503 %d errors %d %s",
						wc, len(lr.Cycles), l.Kind, l.N, l.P50, l.P99, l.Max, l.Routes, l.Partial, l.Stale, l.Limited, l.Busy, l.Errors, l.LastErr)
				}
				for _, s := range lr.Server {
					logf("    server side: %-34s n %6d p50 %s ms p99 %s ms max %s ms mean %.1f ms", s.Endpoint, s.N, msBound(s.P50), msBound(s.P99), msBound(s.Max), s.Mean)
				}
				if lr.ServerErr != "" {
					logf("    server side: %s", lr.ServerErr)
				}
			}
		}
	}
	if doc != "" {
		if err := updateDocLG(doc, results, d.version(), command, commit); err != nil {
			fmt.Fprintln(os.Stderr, "ixbench:", err)
			return 1
		}
		logf("wrote %s", doc)
	}
	return 0
}

func updateDocLG(path string, results []LGResult, version, command, commit string) error {
	var loads []float64
	for _, r := range results {
		loads = append(loads, r.Load1)
	}
	return editDoc(path, func(d *docData) {
		d.LookingGlass = &lgDoc{Results: results, Run: modeRun(loads, version, command, commit)}
	})
}

// runCommit is the commit a mode's section names: the one -commit gives (scripts/benchmark passes the
// commit it built the route server from, --rev included), shortened to 12 digits, or else the
// working tree's (gitCommit). Taken at the start: the document is written at the end, and by then
// the tree may have moved.
func runCommit(flag string) string {
	if flag == "" {
		return gitCommit()
	}
	hash, rest, _ := strings.Cut(flag, "+")
	if len(hash) > 12 {
		hash = hash[:12]
	}
	if rest != "" {
		return hash + "+" + rest
	}
	return hash
}

// gitCommit names the working tree's commit, "+dirty" when it has changes; "" outside a repository.
func gitCommit() string {
	out, err := exec.Command("git", "rev-parse", "--short=12", "HEAD").Output()
	if err != nil {
		return ""
	}
	c := strings.TrimSpace(string(out))
	if st, err := exec.Command("git", "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(st) > 0 {
		c += "+dirty"
	}
	return c
}

// renderLG renders the looking-glass section ("" when the mode never ran).
func renderLG(g *lgDoc) string {
	if g == nil || len(g.Results) == 0 {
		return ""
	}
	var b strings.Builder
	r0 := g.Results[0]
	fmt.Fprintf(&b, "## Looking glass under load: %s, %d members, %d routes (%d prefixes)\n\n", r0.Workload, r0.Members, r0.Routes, r0.Prefixes)
	b.WriteString(runHeader(g.Run, "before each run"))
	b.WriteString(`ixrs runs with its looking glass on (` + "`ixbench -lg`" + `, ` + "`cmd/ixbench/lg.go`" + `). Each repetition is two runs of the
same workload and phases as above: a quiet one (no looking-glass client during the phases) and a loaded one
per client model (N clients from the first announcement to the end). Every client runs a closed loop
without think time, cycling through four queries: a member's received routes (a random member, pages of
100, one to three pages following the cursor), an exact prefix lookup (a random prefix of the table), an
origin-ASN search and an AS-path search (` + "`_ASN_`" + ` for an ASN behind a member), each a first page of up
to 100 routes. The clients run in a process of their own (` + "`ixbench -lg-client`" + `, ` + "`cmd/ixbench/lgclient.go`" + `),
which ixbench starts for the phases and again for the window: inside ixbench, beside the member sessions
that keep both CPUs busy, a client's latency was mostly its wait for Go's scheduler (a received page's
p99 of seconds while ixrs answered every page within 50 ms), and real users and Alice-LG hosts are
other machines. A client checks that each answer is a page of routes in JSON and counts its routes in
one pass over it (` + "`pageSummary`, `cmd/ixbench/lgpage.go`" + `): with encoding/json, reading a page took the
clients' process about four times the CPU that ixrs spent answering it, on the CPUs they share. Two client
models:

- **users**, N people using the looking glass: each client connects from its own loopback address
  (127.1.0.x) under the route server's default rate limits (pages 5/s, burst 20; searches and lookups
  0.5/s, burst 5); a refused request (429, or 503 at ` + "`max_concurrent`" + `) is counted, not answered,
  and the client waits as its Retry-After says.
- **exempt**, the worst case, N Alice-LG hosts hammering: every client is exempt from the rate limits
  and goes on at once after a refusal, so only ` + "`[lookingglass] max_concurrent`" + ` holds them back.

After the phases comes a churn window: every member withdraws and re-announces its 5% churn routes,
cycle after cycle (each cycle waits until every member has converged), while the clients (one exempt
client in the quiet run, N in a loaded run) measure each request to its last byte. CPU seconds are the
phases' (initial convergence to the end of the flap), of ixrs and of ixbench: its members' process and its
clients' process together (both on the same two CPUs as ixrs; the log line of each run gives the clients'
share, and their CPU seconds in the window).

`)
	if lgInProcess(g.Results) {
		b.WriteString("The figures below are from a run before the clients had a process of their own: they ran inside ixbench, " +
			"and their latencies include their wait for ixbench's scheduler.\n\n")
	}
	byMode := map[string][]LGResult{}
	var ns []string // the modes, quiet first
	for _, r := range g.Results {
		m := lgModeOf(&r)
		if byMode[m] == nil {
			ns = append(ns, m)
		}
		byMode[m] = append(byMode[m], r)
	}
	slices.SortStableFunc(ns, func(a, b string) int { return lgModeRank(a) - lgModeRank(b) })
	label := func(m string) string {
		if m == lgQuiet {
			return "quiet (0)"
		}
		return fmt.Sprintf("%s (%d)", m, byMode[m][0].Clients)
	}
	med := func(rs []LGResult, f func(*LGResult) float64) stat {
		var x []Result
		for i := range rs {
			r := rs[i].Result
			v := f(&rs[i])
			// stats reads a value through a Result; carry it in Converge.
			r.Converge = v
			x = append(x, r)
		}
		return stats(x, func(r *Result) float64 { return r.Converge })
	}
	cycle := func(r *LGResult) float64 {
		if len(r.Cycles) == 0 {
			return -1
		}
		c := slices.Clone(r.Cycles)
		slices.Sort(c)
		return c[len(c)/2]
	}
	phases := []struct {
		name string
		f    func(*LGResult) float64
	}{
		{"converge", func(r *LGResult) float64 { return r.Converge }},
		{"churn", func(r *LGResult) float64 { return r.Churn() }},
		{"flap down", func(r *LGResult) float64 { return r.FlapDown }},
		{"flap up", func(r *LGResult) float64 { return r.FlapUp }},
		{"churn cycle in the window", cycle},
	}
	var absent []string
	for _, m := range []string{lgUsers, lgExempt} {
		if byMode[m] == nil {
			absent = append(absent, m)
		}
	}
	if len(absent) > 0 {
		fmt.Fprintf(&b, "This run has no %s model (`-lg-modes`, or a run from before the models existed).\n\n", strings.Join(absent, " or "))
	}
	b.WriteString("Phases, median (min–max) over the repetitions, seconds unless noted; the window's churn cycle is each run's median cycle.\n\n")
	b.WriteString("| client model (clients during the phases) | runs |")
	for _, p := range phases {
		b.WriteString(" " + p.name + " |")
	}
	b.WriteString(" ixrs CPU s | ixbench CPU s | peak RSS MiB | requests during the phases |\n|")
	b.WriteString(strings.Repeat(" --- |", len(phases)+6) + "\n")
	for _, n := range ns {
		rs := byMode[n]
		fmt.Fprintf(&b, "| %s | %d |", label(n), len(rs))
		for _, p := range phases {
			b.WriteString(" " + med(rs, p.f).secs() + " |")
		}
		fmt.Fprintf(&b, " %.1f | %.1f | %.0f | %.0f |\n", med(rs, func(r *LGResult) float64 { return r.CPU }).med,
			med(rs, func(r *LGResult) float64 { return r.GenCPU }).med,
			med(rs, func(r *LGResult) float64 { return float64(r.PeakRSS) / (1 << 20) }).med,
			med(rs, func(r *LGResult) float64 { return float64(r.PhaseQueries) }).med)
	}
	var slow []string
	if q := byMode[lgQuiet]; q != nil {
		for _, n := range ns {
			if n == lgQuiet {
				continue
			}
			l := byMode[n]
			fmt.Fprintf(&b, "| slowdown, %s | |", label(n))
			for _, p := range phases {
				a, c := med(q, p.f), med(l, p.f)
				if a.n == 0 || c.n == 0 || a.med <= 0 {
					b.WriteString(" – |")
					continue
				}
				pct := (c.med/a.med - 1) * 100
				fmt.Fprintf(&b, " %+.0f%% |", pct)
				if (p.name == "converge" || p.name == "churn") && pct >= 10 {
					slow = append(slow, fmt.Sprintf("%s: %s slowed by %.0f%%", n, p.name, pct))
				}
			}
			b.WriteString(" | | | |\n")
		}
	}
	b.WriteString("\nLatency in the churn window, milliseconds from request to last byte; median over the repetitions of each run's percentile. " +
		"Percentiles are of answered requests; partial: answers the read job's work budget cut short (the cursor continues the scan); " +
		"429: refused by the client's rate limit; 503: refused at max_concurrent.\n\n")
	b.WriteString("| query | client model (clients) | answers | per second | p50 | p99 | max | routes per answer | partial | stale cursor | 429 | 503 | errors |\n")
	b.WriteString("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
	pageP99 := map[string]stat{}
	for _, n := range ns {
		rs := byMode[n]
		for ki, k := range lgKinds {
			lat := func(f func(*LGLatency) float64) stat {
				return med(rs, func(r *LGResult) float64 {
					if ki >= len(r.Latency) || r.Latency[ki].N == 0 {
						return -1
					}
					return f(&r.Latency[ki])
				})
			}
			sum := func(f func(*LGLatency) int) int {
				t := 0
				for _, r := range rs {
					if ki < len(r.Latency) {
						t += f(&r.Latency[ki])
					}
				}
				return t
			}
			p99 := lat(func(l *LGLatency) float64 { return l.P99 })
			if k == lgPage && n != lgQuiet {
				pageP99[n] = p99
			}
			wl := fmt.Sprintf("%s (%d)", n, rs[0].WindowClient)
			fmt.Fprintf(&b, "| %s | %s | %d | %.0f | %.1f | %.1f | %.1f | %.0f | %d | %d | %d | %d | %d |\n", k, wl,
				sum(func(l *LGLatency) int { return l.N }), lat(func(l *LGLatency) float64 { return l.PerSecnd }).med,
				lat(func(l *LGLatency) float64 { return l.P50 }).med, p99.med,
				lat(func(l *LGLatency) float64 { return l.Max }).med, lat(func(l *LGLatency) float64 { return l.Routes }).med,
				sum(func(l *LGLatency) int { return l.Partial }), sum(func(l *LGLatency) int { return l.Stale }),
				sum(func(l *LGLatency) int { return l.Limited }), sum(func(l *LGLatency) int { return l.Busy }),
				sum(func(l *LGLatency) int { return l.Errors }))
		}
	}
	b.WriteString("\n")
	renderLGServer(&b, ns, byMode)
	var failures []string
	for _, r := range g.Results {
		if r.Failed != "" {
			failures = append(failures, fmt.Sprintf("%s, %d clients, rep %d: %s", lgModeOf(&r), r.Clients, r.Rep, strings.ReplaceAll(r.Failed, "\n", " ")))
		}
		if r.ServerErr != "" {
			failures = append(failures, fmt.Sprintf("%s, %d clients, rep %d: server-side histograms: %s", lgModeOf(&r), r.Clients, r.Rep, r.ServerErr))
		}
		for _, l := range r.Latency {
			if l.LastErr != "" {
				failures = append(failures, fmt.Sprintf("%s, %d clients, rep %d, %s: last error: %s", lgModeOf(&r), r.Clients, r.Rep, l.Kind, l.LastErr))
			}
		}
	}
	if len(failures) > 0 {
		b.WriteString("Failures:\n\n")
		for _, f := range failures {
			fmt.Fprintf(&b, "- %s\n", f)
		}
		b.WriteString("\n")
	}
	var missed []string
	for _, n := range ns {
		if p, ok := pageP99[n]; ok && (p.n == 0 || p.med >= 100) {
			missed = append(missed, fmt.Sprintf("%s: p99 of a received page under load %.1f ms (target < 100 ms)", n, p.med))
		}
	}
	missed = append(missed, slow...)
	if len(missed) == 0 {
		b.WriteString("Targets (p99 of a received page < 100 ms under load, initial convergence and churn slowed by < 10%), in every client model: met.\n\n")
	} else {
		fmt.Fprintf(&b, "Targets (p99 of a received page < 100 ms, initial convergence and churn slowed by < 10%%) not met: %s.\n\n", strings.Join(missed, "; "))
	}
	b.WriteString("Reproduce: `scripts/benchmark -lg -workload lg -runs 1` (300 members, 1M routes; `-lg-clients`, `-lg-window` change the load, " +
		"`-lg-modes` the client models, `-lg-max-concurrent` ixrs's bound).\n\n")
	return b.String()
}

// lgInProcess tells whether results come from before the clients' process: a churn window ran
// (a latency was recorded) and no clients' process reported its CPU time.
func lgInProcess(rs []LGResult) bool {
	for _, r := range rs {
		for _, l := range r.Latency {
			if l.N+l.Errors+l.Stale+l.Limited+l.Busy > 0 && r.WindowClientCPU == 0 {
				return true
			}
		}
	}
	return false
}

// lgModeOf is a result's client model; results written before the models existed had exempt
// clients only.
func lgModeOf(r *LGResult) string {
	switch {
	case r.Mode != "":
		return r.Mode
	case r.Clients == 0:
		return lgQuiet
	}
	return lgExempt
}

// lgModeRank orders the models in the document: quiet, users, exempt.
func lgModeRank(m string) int {
	return map[string]int{lgQuiet: 0, lgUsers: 1, lgExempt: 2}[m]
}
