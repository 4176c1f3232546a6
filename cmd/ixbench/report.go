package main

import (
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"
)

// The document keeps every result it shows as JSON in an HTML comment at its end, so that runs of
// different workloads (the quick default, then -workload large, ...) accumulate: a new run replaces
// the results of its workload and daemons and keeps the rest.
const dataBegin, dataEnd = "<!-- ixbench-data\n", "\nixbench-data -->"

// docData is what the document is rendered from.
type docData struct {
	Results  []Result                     `json:"results"`
	Versions map[string]string            `json:"versions"`
	Runs     map[string]map[string]string `json:"runs"` // workload -> "machine", "date", "command", "load"
	// LookingGlass is the last run of the looking-glass mode (-lg), kept apart: its phases are not
	// comparable with the other rows (the looking glass is on, and queried).
	LookingGlass *lgDoc `json:"looking_glass,omitempty"`
	// Reeval is the last run of the re-evaluation mode (-reeval), kept apart like LookingGlass.
	Reeval *reevalDoc `json:"reeval,omitempty"`
}

func updateDoc(path string, results []Result, versions map[string]string, command string) error {
	var d docData
	if b, err := os.ReadFile(path); err == nil {
		if i := strings.Index(string(b), dataBegin); i >= 0 {
			rest := string(b[i+len(dataBegin):])
			if j := strings.Index(rest, dataEnd); j >= 0 {
				if err := json.Unmarshal([]byte(rest[:j]), &d); err != nil {
					return fmt.Errorf("%s: results block: %w", path, err)
				}
			}
		}
	}
	if d.Versions == nil {
		d.Versions = map[string]string{}
	}
	if d.Runs == nil {
		d.Runs = map[string]map[string]string{}
	}
	for k, v := range versions {
		d.Versions[k] = v
	}
	type key struct{ w, d string }
	fresh := map[key]bool{}
	for _, r := range results {
		fresh[key{r.Workload, r.Daemon}] = true
	}
	d.Results = slices.DeleteFunc(d.Results, func(r Result) bool { return fresh[key{r.Workload, r.Daemon}] })
	d.Results = append(d.Results, results...)
	for _, r := range results {
		loads := []float64{}
		for _, q := range results {
			if q.Workload == r.Workload {
				loads = append(loads, q.Load1)
			}
		}
		slices.Sort(loads)
		d.Runs[r.Workload] = map[string]string{
			"machine": machine(),
			"date":    time.Now().UTC().Format("2006-01-02 15:04 MST"),
			"command": command,
			"load":    fmt.Sprintf("%.2f–%.2f", loads[0], loads[len(loads)-1]),
		}
	}
	data, err := json.MarshalIndent(d, "", " ")
	if err != nil {
		return err
	}
	doc := render(&d) + "\n" + dataBegin + string(data) + dataEnd + "\n"
	return os.WriteFile(path, []byte(doc), 0o644)
}

// machine describes the CPU and kernel.
func machine() string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "model name"); ok {
				model = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	kernel, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	return fmt.Sprintf("%s, %d CPUs, Linux %s, %s", model, runtime.NumCPU(), strings.TrimSpace(string(kernel)), runtime.Version())
}

// workloadOrder sorts workloads: the named ones by size, then the scaling series by name.
func workloadOrder(a, b string) int {
	rank := func(s string) int {
		switch s {
		case "tiny":
			return 0
		case "small":
			return 1
		case "medium":
			return 2
		case "large":
			return 3
		}
		if i := slices.IndexFunc(scalingSeries, func(sp Spec) bool { return sp.Name == s }); i >= 0 {
			return 4 + i // the series in its own order: members first, then table size
		}
		return 100
	}
	if c := rank(a) - rank(b); c != 0 {
		return c
	}
	return strings.Compare(a, b)
}

// scalingSummary is one table over the scaling series: each daemon's converge time and peak memory per
// workload, so that the cost curves sit side by side.
func scalingSummary(d *docData) string {
	var names []string
	for w := range d.Runs {
		if slices.ContainsFunc(scalingSeries, func(sp Spec) bool { return sp.Name == w }) {
			names = append(names, w)
		}
	}
	if len(names) == 0 {
		return ""
	}
	slices.SortFunc(names, workloadOrder)
	var ds []string
	for _, r := range d.Results {
		if slices.Contains(names, r.Workload) && !slices.Contains(ds, r.Daemon) {
			ds = append(ds, r.Daemon)
		}
	}
	slices.SortFunc(ds, func(a, b string) int { return slices.Index(daemonOrder, a) - slices.Index(daemonOrder, b) })
	var b strings.Builder
	b.WriteString("## Scaling series: summary\n\nMedian converge time in seconds / peak RSS in MiB; the runs are in the sections below.\n\n")
	b.WriteString("| workload | members | routes |")
	for _, dn := range ds {
		b.WriteString(" " + dn + " |")
	}
	b.WriteString("\n| --- | --- | --- |" + strings.Repeat(" --- |", len(ds)) + "\n")
	for _, w := range names {
		var members, routes int
		cells := make([]string, len(ds))
		for i, dn := range ds {
			var rs []Result
			for _, r := range d.Results {
				if r.Workload == w && r.Daemon == dn {
					rs = append(rs, r)
					members, routes = r.Members, r.Routes
				}
			}
			if len(rs) == 0 {
				cells[i] = "–"
				continue
			}
			conv := stats(rs, func(r *Result) float64 { return r.Converge })
			mem := stats(rs, func(r *Result) float64 { return float64(r.PeakRSS) / (1 << 20) })
			c := "did not converge"
			if conv.n > 0 {
				c = fsec(conv.med)
			}
			cells[i] = fmt.Sprintf("%s / %.0f", c, mem.med)
		}
		fmt.Fprintf(&b, "| %s | %d | %d | %s |\n", w, members, routes, strings.Join(cells, " | "))
	}
	b.WriteString("\n")
	return b.String()
}

// stat is the median and range of one measure over repetitions; failed repetitions count as missing.
type stat struct {
	med, lo, hi float64
	n, failed   int
}

func stats(rs []Result, f func(*Result) float64) stat {
	var v []float64
	s := stat{}
	for i := range rs {
		x := f(&rs[i])
		if x < 0 {
			s.failed++
			continue
		}
		v = append(v, x)
	}
	s.n = len(v)
	if len(v) == 0 {
		return s
	}
	slices.Sort(v)
	s.lo, s.hi = v[0], v[len(v)-1]
	if len(v)%2 == 1 {
		s.med = v[len(v)/2]
	} else {
		s.med = (v[len(v)/2-1] + v[len(v)/2]) / 2
	}
	return s
}

func (s stat) secs() string {
	if s.n == 0 {
		return "did not converge"
	}
	out := fmt.Sprintf("%s (%s–%s)", fsec(s.med), fsec(s.lo), fsec(s.hi))
	if s.failed > 0 {
		out += fmt.Sprintf(", %d of %d runs did not converge", s.failed, s.failed+s.n)
	}
	return out
}

func fsec(v float64) string {
	switch {
	case v < 0.1:
		return fmt.Sprintf("%.3f", v)
	case v < 10:
		return fmt.Sprintf("%.2f", v)
	}
	return fmt.Sprintf("%.0f", v)
}

// ratio formats a daemon's median against ixrs's: how many times longer (or larger) it is.
func ratio(s, ref stat) string {
	if s.n == 0 || ref.n == 0 || ref.med <= 0 {
		return "–"
	}
	return fmt.Sprintf("%.1f×", s.med/ref.med)
}

func render(d *docData) string {
	var b strings.Builder
	b.WriteString(`# Benchmarks

ixrs against BIRD 2, FRR, OpenBGPD and GoBGP on the same machine and the same workload, one daemon at
a time. Generated by ` + "`scripts/benchmark`" + ` (the tool is ` + "`cmd/ixbench`" + `); do not edit by hand: the
results block at the end of this file is the data, and a new run replaces the rows of its workload.

## What is measured

` + "`ixbench`" + ` plays N members, each with its own loopback address (127.1.x.y) and 4-octet AS, and
announces a generated IXP table (seeded, identical for every daemon): member table sizes follow a Zipf
distribution (a few members with tens of thousands of routes, most with tens to hundreds), a quarter of
the prefixes IPv6, 6% of the prefixes announced by two or three members with different paths, AS paths of
1–6 ASNs starting with the member's AS, next hop a per-member address (198.18.0.0/15, 2001:db8:ffff::/64),
standard and large communities, MED on a quarter of the attribute sets, 1–48 prefixes per attribute set.
Every UPDATE is encoded before the clock starts. Received UPDATEs are only scanned: each member counts the
prefixes it holds. All sessions are established before the first announcement.

| measure | from | until |
| --- | --- | --- |
| converge | the first announcement (all members send their tables at once) | every member holds every prefix announced by the others |
| churn | 5% of all routes withdrawn (then: announced again) | every member has the withdrawals (then: the full table again); the table shows the sum |
| flap down / up | the largest member's session is reset (Cease) / re-established and announces its table | every other member has lost its unique prefixes / every member holds the full table |
| CPU | | the daemon's user+system CPU seconds for the whole run (all three processes for OpenBGPD) |
| peak RSS | | VmHWM of the daemon (summed over OpenBGPD's processes) |

A member does not count the prefixes it announces itself: FRR (and BIRD without ` + "`secondary`" + `) never
send a member another member's route for a prefix whose best route is its own (path hiding), and a member
router prefers its own route anyway. A route sent back to the member that announced it carries its AS and
is dropped, as its loop detection would. Each phase is bounded (60 s plus 1 s per 2,500 routes by
default); a phase that runs out is reported as "did not converge" and ends that run.

Configurations (generated per run by ` + "`cmd/ixbench/daemons.go`" + `): every member passive on the daemon's
side, no import or export filtering, all routes accepted. ixrs: ` + "`next_hop = \"any\"`" + `, RPKI, IRR,
bogon, prefix-length, first-AS and max-prefix checks off. BIRD: ` + "`rs client`" + ` per member, multihop (members
are on loopback); ` + "`secondary`" + ` on a sorted table is refused by BIRD for multihop (recursive next hop)
sessions, so it runs without. FRR: bgpd without zebra, ` + "`route-server-client`" + `, advertisement interval 0.
OpenBGPD: ` + "`transparent-as yes`" + `, ` + "`rde evaluate all`" + `, ` + "`fib-update no`" + `. GoBGP: ` + "`route-server-client`" + `.

Ratios are each daemon's median divided by ixrs's: above 1× means ixrs is faster (or smaller).

## Where ixrs spends its time and memory

- Outbound work is per prefix and per distinct message, not per member and prefix. The sessions that
  are caught up at one position of the change list are served as a cohort (` + "`rs/cohort.go`" + `): each changed
  prefix is reconciled once for all of them with bit sets over session ids, and each UPDATE is encoded
  once per group of sessions receiving exactly the same prefixes, then copied to each. A session that
  falls behind is served on its own until it has caught up, so a slow member delays nobody.
- The Adj-RIB-Out keeps one interned bit set per distinct set of receiving sessions (nearly every prefix
  of a member is held by "every session but that member's"); a prefix entry is 96 bytes; attribute sets
  carry received-side and sent-side state only for the role they play; an idle session holds a 4 KiB
  read buffer and no write buffer; queued UPDATEs wait in 16 KiB chunks from a shared pool.
- The Go collector runs with GOGC=25 (docs/configuration.md): the heap stays within about a quarter
  of the live RIB, for a tenth or so of the CPU time.
- Most of what is left of ixrs's CPU time is the kernel's: writing the UPDATEs to hundreds of TCP
  sockets. The load generator shares the two cores (last column).
- Peak memory against BIRD's (the target is "no more"): the scaling series shows ixrs's memory growing
  more slowly than BIRD's with the number of members (from 100 members on, ixrs uses less) and about
  twice as fast with the number of routes. Per prefix ixrs holds a 96-byte entry and its index slot, per
  route a 48-byte row, and per received attribute set about 1.4 KB (the decoded attributes, the
  canonical key, the policy view, and the out set with OTC added, with its encoding); the Go runtime adds
  its heap headroom and metadata, about a third over the live heap, and some 6 MiB of mapped program
  text. What would close the gap: keeping the first route and the first Adj-RIB-Out entry inside the
  prefix entry (two small allocations per prefix), dropping the canonical keys and the stored policy
  view of attribute sets in favour of hashing and recomputing them, and a lower GOGC (at 15 the large
  workload's peak drops by 8 MiB for 15% more CPU).

` + "`scripts/benchmark -profile DIR ...`" + ` has ixrs write CPU and heap profiles (and its runtime memory
statistics), and ixbench its own CPU profile, into DIR for ` + "`go tool pprof`" + `.

`)
	var names []string
	for w := range d.Runs {
		names = append(names, w)
	}
	slices.SortFunc(names, workloadOrder)
	order := func(a, b string) int { return slices.Index(daemonOrder, a) - slices.Index(daemonOrder, b) }
	summarized := false
	for _, wname := range names {
		var rs []Result
		for _, r := range d.Results {
			if r.Workload == wname {
				rs = append(rs, r)
			}
		}
		if len(rs) == 0 {
			continue
		}
		if !summarized && slices.ContainsFunc(scalingSeries, func(sp Spec) bool { return sp.Name == wname }) {
			b.WriteString(scalingSummary(d))
			summarized = true
		}
		info := d.Runs[wname]
		fmt.Fprintf(&b, "## %s: %d members, %d routes (%d prefixes)\n\n", wname, rs[0].Members, rs[0].Routes, rs[0].Prefixes)
		fmt.Fprintf(&b, "Run %s on %s; 1-minute load average before each run %s (2 cores, shared with other work).  \n",
			info["date"], info["machine"], info["load"])
		if info["command"] != "" {
			fmt.Fprintf(&b, "Command: `%s`\n\n", info["command"])
		} else {
			b.WriteString("\n")
		}
		b.WriteString("Median (min–max) over the repetitions, seconds unless noted.\n\n")
		b.WriteString("| daemon | runs | converge | churn | flap down | flap up | CPU s | peak RSS MiB | converge vs ixrs | churn vs ixrs | RSS vs ixrs | generator CPU s |\n")
		b.WriteString("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
		byDaemon := map[string][]Result{}
		var ds []string
		for _, r := range rs {
			if byDaemon[r.Daemon] == nil {
				ds = append(ds, r.Daemon)
			}
			byDaemon[r.Daemon] = append(byDaemon[r.Daemon], r)
		}
		slices.SortFunc(ds, order)
		conv := func(r *Result) float64 { return r.Converge }
		churn := func(r *Result) float64 { return r.Churn() }
		rss := func(r *Result) float64 { return float64(r.PeakRSS) / (1 << 20) }
		ref := byDaemon["ixrs"]
		var failures []string
		for _, dn := range ds {
			x := byDaemon[dn]
			cs := stats(x, conv)
			r := stats(x, rss)
			cpu := stats(x, func(r *Result) float64 { return r.CPU })
			gen := stats(x, func(r *Result) float64 {
				if r.Failed != "" {
					return -1
				}
				return r.GenCPU
			})
			genS := "–"
			if gen.n > 0 {
				genS = fmt.Sprintf("%.1f", gen.med)
			}
			fmt.Fprintf(&b, "| %s | %d | %s | %s | %s | %s | %.1f | %.0f (%.0f–%.0f) | %s | %s | %s | %s |\n",
				dn, len(x), cs.secs(), stats(x, churn).secs(),
				stats(x, func(r *Result) float64 { return r.FlapDown }).secs(),
				stats(x, func(r *Result) float64 { return r.FlapUp }).secs(),
				cpu.med, r.med, r.lo, r.hi,
				ratio(cs, stats(ref, conv)), ratio(stats(x, churn), stats(ref, churn)), ratio(r, stats(ref, rss)), genS)
			for _, q := range x {
				if q.Failed != "" {
					failures = append(failures, fmt.Sprintf("%s rep %d: %s", dn, q.Rep, q.Failed))
				}
			}
		}
		b.WriteString("\n")
		if len(failures) > 0 {
			b.WriteString("Runs that did not finish:\n\n")
			for _, f := range failures {
				fmt.Fprintf(&b, "- %s\n", strings.ReplaceAll(f, "\n", " "))
			}
			b.WriteString("\n")
		}
		b.WriteString(targets(byDaemon))
	}
	b.WriteString(renderLG(d.LookingGlass))
	b.WriteString(renderReeval(d.Reeval))
	b.WriteString("## Versions\n\n")
	var vs []string
	for k := range d.Versions {
		vs = append(vs, k)
	}
	slices.SortFunc(vs, order)
	for _, k := range vs {
		fmt.Fprintf(&b, "- %s: %s\n", k, d.Versions[k])
	}
	b.WriteString(`
## Reproducing

    scripts/benchmark                       # small workload, all daemons, 3 repetitions (a few minutes)
    scripts/benchmark -workload medium      # 100 members, 100k routes
    scripts/benchmark -workload large -runs 5
    scripts/benchmark -workload scaling     # members and table size varied separately
    scripts/benchmark -daemons ixrs,bird -workload NAME=MEMBERS:ROUTES
    scripts/benchmark -lg -workload lg -runs 1  # the looking glass under load: 300 members, 1M routes
    scripts/benchmark --rev HEAD~3 -daemons ixrs --no-doc -profile /tmp/prof    # before/after, with profiles
    go run ./cmd/ixbench -render -doc docs/benchmarks.md                         # re-render after a text change

The script installs the daemons from Debian's packages if missing, builds ` + "`routeserver`" + ` and ` + "`ixbench`" + `,
runs the daemons one at a time (repetitions interleave the daemons, so a burst of outside load spreads
over all of them) and rewrites this file. Daemons listen on 127.1.255.254 on a free port; every process
started is stopped by its PID at the end of its run, and on an interrupt.
`)
	return b.String()
}

// targets states, for one workload, whether ixrs met the project's targets against each daemon.
func targets(by map[string][]Result) string {
	ref, ok := by["ixrs"]
	if !ok {
		return ""
	}
	conv := func(r *Result) float64 { return r.Converge }
	churn := func(r *Result) float64 { return r.Churn() }
	rss := func(r *Result) float64 { return float64(r.PeakRSS) }
	rc, rch, rr := stats(ref, conv), stats(ref, churn), stats(ref, rss)
	var missed []string
	for _, dn := range daemonOrder {
		x, ok := by[dn]
		if !ok || dn == "ixrs" {
			continue
		}
		c, ch := stats(x, conv), stats(x, churn)
		if rc.n == 0 || (c.n > 0 && c.med <= rc.med) {
			missed = append(missed, fmt.Sprintf("converges no faster than %s (%s)", dn, ratio(c, rc)))
		}
		if rch.n == 0 || (ch.n > 0 && ch.med <= rch.med) {
			missed = append(missed, fmt.Sprintf("propagates churn no faster than %s (%s)", dn, ratio(ch, rch)))
		}
		if dn == "bird" {
			if r := stats(x, rss); r.n > 0 && rr.n > 0 && rr.med > r.med {
				missed = append(missed, fmt.Sprintf("uses more peak memory than BIRD (BIRD at %s of ixrs)", ratio(r, rr)))
			}
		}
	}
	if len(missed) == 0 {
		return "Targets: met — ixrs converges and propagates churn faster than every other daemon here, with no more peak memory than BIRD.\n\n"
	}
	return "Targets not met: ixrs " + strings.Join(missed, "; ") + ".\n\n"
}
