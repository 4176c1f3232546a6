package main

import (
	"cmp"
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
	Results []Result `json:"results"`
	// Versions and Runs describe results from before invocations were recorded (workload -> "machine",
	// "date", "command", "load"); a new run of a workload replaces them by its invocation.
	Versions    map[string]string            `json:"versions,omitempty"`
	Runs        map[string]map[string]string `json:"runs,omitempty"`
	Invocations map[string]*invocation       `json:"invocations,omitempty"` // per workload
	// LookingGlass is the last run of the looking-glass mode (-lg), kept apart: its phases are not
	// comparable with the other rows (the looking glass is on, and queried).
	LookingGlass *lgDoc `json:"looking_glass,omitempty"`
	// Reeval is the last run of the re-evaluation mode (-reeval), kept apart like LookingGlass.
	Reeval *reevalDoc `json:"reeval,omitempty"`
	// MRT is the last run of the MRT dump-cost mode (-mrt-dump-every), kept apart like LookingGlass.
	MRT *mrtDoc `json:"mrt_dump,omitempty"`
}

// invocation describes one run of ixbench: what every table it produces states in its header.
type invocation struct {
	Date      string            `json:"date"`
	Command   string            `json:"command"`
	Commit    string            `json:"commit"`
	Machine   string            `json:"machine"`
	Versions  map[string]string `json:"versions"`
	LoadStart string            `json:"load_start"` // /proc/loadavg's three averages
	LoadEnd   string            `json:"load_end,omitempty"`
}

func newInvocation(command, commit string, versions map[string]string) *invocation {
	return &invocation{Date: time.Now().UTC().Format("2006-01-02 15:04 MST"), Command: command, Commit: commit,
		Machine: machine(), Versions: versions, LoadStart: loadavg()}
}

// header is the invocation's description, printed at the start of a run and above each of its tables.
func (in *invocation) header() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Run %s on %s.  \n", in.Date, in.Machine)
	if in.Command != "" {
		fmt.Fprintf(&b, "Command: `%s`  \n", in.Command)
	}
	fmt.Fprintf(&b, "ixrs commit: %s  \n", orUnknown(in.Commit))
	var ds []string
	for k := range in.Versions {
		ds = append(ds, k)
	}
	slices.SortFunc(ds, byRank)
	var vs []string
	for _, k := range ds {
		vs = append(vs, k+": "+in.Versions[k])
	}
	fmt.Fprintf(&b, "Versions: %s  \n", strings.Join(vs, "; "))
	fmt.Fprintf(&b, "Load average (1, 5, 15 min) at start: %s; at end: %s\n", in.LoadStart, orUnknown(in.LoadEnd))
	return b.String()
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// loadavg returns the first three fields of /proc/loadavg.
func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

// updateDoc stores results in the document. A run replaces every result of the workloads it ran, so
// each workload's table comes from one invocation (in) and states it.
func updateDoc(path string, results []Result, in *invocation) error {
	return editDoc(path, func(d *docData) {
		if d.Invocations == nil {
			d.Invocations = map[string]*invocation{}
		}
		fresh := map[string]bool{}
		for _, r := range results {
			fresh[r.Workload] = true
		}
		d.Results = slices.DeleteFunc(d.Results, func(r Result) bool { return fresh[r.Workload] })
		d.Results = append(d.Results, results...)
		for w := range fresh {
			d.Invocations[w] = in
			delete(d.Runs, w)
		}
	})
}

// editDoc reads the results block of the document at path (none yet: empty), lets edit change it,
// and writes the document anew from it: the prose rendered, then the block.
func editDoc(path string, edit func(*docData)) error {
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
	edit(&d)
	data, err := json.MarshalIndent(d, "", " ")
	if err != nil {
		return err
	}
	doc := render(&d) + "\n" + dataBegin + string(data) + dataEnd + "\n"
	return os.WriteFile(path, []byte(doc), 0o644)
}

// runHeader renders a kept-apart section's invocation (modeRun): when, where, the load (over, e.g.,
// "before each run"), the commit and the command.
func runHeader(run map[string]string, over string) string {
	if over != "" {
		over += " "
	}
	h := fmt.Sprintf("Run %s on %s; 1-minute load average %s%s on 2 cores; commit %s, %s.  \n",
		run["date"], run["machine"], over, run["load"], run["commit"], run["version"])
	if run["command"] != "" {
		return h + fmt.Sprintf("Command: `%s`\n\n", run["command"])
	}
	return h + "\n"
}

// modeRun is the header of a section kept apart (-lg, -reeval, -mrt-dump-*): one invocation, with
// the machine's load over its runs (loads: the one-minute load averages they recorded).
func modeRun(loads []float64, version, command, commit string) map[string]string {
	load := ""
	if len(loads) > 0 {
		load = fmt.Sprintf("%.2f–%.2f", slices.Min(loads), slices.Max(loads))
	}
	return map[string]string{
		"machine": machine(),
		"date":    time.Now().UTC().Format("2006-01-02 15:04 MST"),
		"command": command,
		"commit":  commit,
		"load":    load,
		"version": version,
	}
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
	for w := range d.Invocations {
		if d.Runs[w] == nil {
			names = append(names, w)
		}
	}
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
	slices.SortFunc(ds, byRank)
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
		if rs[i].Failed != "" {
			s.failed++ // a failed run counts in no median
			continue
		}
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

// ratio formats a daemon's median against a reference's (ixrs's, the floor's): how many times longer
// (or larger) it is.
func ratio(s, ref stat) string {
	if s.n == 0 || ref.n == 0 || ref.med <= 0 {
		return "–"
	}
	return fmt.Sprintf("%.1f×", s.med/ref.med)
}

func render(d *docData) string {
	for i := range d.Results {
		if r := &d.Results[i]; r.PeakRSS == 0 && r.LegacyHWM > 0 && d.Invocations[r.Workload] == nil {
			r.PeakRSS = r.LegacyHWM // shown as measured then; never written back as a sampled peak
		}
	}
	var b strings.Builder
	b.WriteString(`# Benchmarks

ixrs against BIRD 2, FRR, OpenBGPD and GoBGP, and against the floor (a no-RIB forwarder), on the same
machine and the same workload, one daemon at a time. Generated by ` + "`scripts/benchmark`" + ` (the tool is ` + "`cmd/ixbench`" + `); do not edit by hand: the
results block at the end of this file is the data, and a new run replaces the rows of its workload.

## What is measured

` + "`ixbench`" + ` plays N members, each with its own loopback address (127.1.x.y) and 4-octet AS, and
announces a generated IXP table (seeded, identical for every daemon): member table sizes follow a Zipf
distribution (a few members with tens of thousands of routes, most with tens to hundreds), a quarter of
the prefixes IPv6, 6% of the prefixes announced by two or three members with different paths, AS paths of
1–6 ASNs starting with the member's AS, next hop a per-member address (198.18.0.0/15, 2001:db8:ffff::/64),
standard and large communities, MED on a quarter of the attribute sets, 1–48 prefixes per attribute set.
Every UPDATE is encoded before the clock starts. All sessions are established before the first
announcement.

Convergence means the right routes, not only the right number of prefixes. Each member records, per
prefix, which of the workload's routes it holds, identified by a hash of the attributes a transparent
route server passes on unchanged (ORIGIN, AS_PATH, NEXT_HOP, MED, COMMUNITIES, LARGE_COMMUNITIES;
` + "`cmd/ixbench/check.go`" + `). Before each phase ixbench computes the table every member must end with:
each live prefix with a route of its shortest AS path (all announcers are different neighbouring ASes
with ORIGIN IGP, so routes of equal path length are tied up to each daemon's tie-break, and any of them
is accepted). A phase ends when every member holds exactly that table; a count that matches on the way
(withdrawals first, announcements later) does not end it, and a daemon that changes an attribute never
converges.

The members share the reading of UPDATEs that reach several of them byte for byte alike, as a route
server's usually do: the first receivers of a message work out what it carries (each prefix and which
of the workload's routes it is), and the later ones take that from a cache the members share
(` + "`cmd/ixbench/rxcache.go`" + `), then apply every prefix to their own tables, check it and do their
own loop detection. That is the load generator's CPU time, which real members spend on routers of their
own and which here comes out of the two cores the daemon under test runs on; a daemon that sends each
member messages of its own gets no share and pays a hash per UPDATE. The tables' last column shows the
generator's CPU time and, in brackets, the share of the UPDATEs received that were read this way; in
tables without it (measured before rxcache.go) every member read every copy.

| measure | from | until |
| --- | --- | --- |
| converge | the first announcement (all members send their tables at once) | every member holds the expected table |
| churn | 5% of all routes withdrawn (then: announced again) | every member holds the expected table without them (then: the full table again); the table shows the sum |
| best move | the members with the best route of a multi-homed prefix (a strictly shorter path than another announcer's) announce it again with their AS prepended six times (then: as before) | every member holds the new best route, another member's (then: the original one again); no prefix count changes; the table shows the sum |
| flap down / up | the largest member's session is reset (Cease) / re-established and announces its table | every other member holds the table without its routes / the full table |
| CPU | | the daemon's user+system CPU seconds for the whole run, summed over its processes |
| peak memory | | the peak of the daemon's resident memory summed over all its processes, sampled every 100 ms (` + "`/proc/PID/statm`" + `) — the peak of the sum, not the sum of each process's peak (` + "`cmd/ixbench/memory.go`" + ` says why RSS rather than PSS) |
| converge vs floor | | the daemon's converge median divided by the floor's |

The floor is a no-RIB forwarder built into ixbench (` + "`ixbench -forward`" + `, ` + "`cmd/ixbench/forward.go`" + `),
run as a process of its own and measured like the daemons: every UPDATE a member sends is forwarded
byte for byte to every other member, with no decoding, decision or encoding — the fastest possible
route server for a table of unique prefixes. It is no route server (a withdrawal by one of several
announcers withdraws the prefix), so only its initial convergence is run, with a check that accepts any
announcer's route.

A member does not count the prefixes it announces itself: FRR (and BIRD without ` + "`secondary`" + `) never
send a member another member's route for a prefix whose best route is its own (path hiding), and a member
router prefers its own route anyway. A route sent back to the member that announced it carries its AS and
is dropped, as its loop detection would. Each phase is bounded (60 s plus 1 s per 2,500 routes by
default); a phase that runs out ends that run, which is reported as failed and counts in no median and
no ratio (its other phases included).

Each table comes from one invocation of ixbench, which prints the header above it (date, command, ixrs
commit, every daemon's version, load average at start and end) before it starts; a new run of a workload
replaces all of that workload's rows.

Configurations (generated per run by ` + "`cmd/ixbench/daemons.go`" + `): every member passive on the daemon's
side, no import or export filtering, all routes accepted, next hop and attributes passed on unchanged, and
each daemon tuned for speed as far as its documentation offers:

- ixrs: ` + "`next_hop = \"any\"`" + `, RPKI, IRR, bogon, prefix-length, first-AS and max-prefix checks off.
- BIRD 2: ` + "`rs client`" + ` per member, multihop (members are on loopback); ` + "`secondary`" + ` on a sorted table is
  refused by BIRD for multihop (recursive next hop) sessions, so it runs without. BIRD's documentation
  offers no throughput setting for this case (BIRD 2 is single-threaded).
- FRR: bgpd without zebra (` + "`-Z`" + `, no FIB), ` + "`route-server-client`" + `, ` + "`attribute-unchanged next-hop`" + `,
  ` + "`no bgp ebgp-requires-policy`" + `, ` + "`no bgp network import-check`" + `, advertisement interval 0, and
  ` + "`coalesce-time 100`" + `: FRR holds back the first updates of its update groups for the coalesce time (by
  default about 1 s plus 50 ms per peer), which its documentation lets an operator lower; without it
  FRR's figures mostly measure that timer. ` + "`-daemons frr-default`" + ` runs FRR with its default timer, labelled
  as such.
- OpenBGPD: ` + "`transparent-as yes`" + `, ` + "`rde evaluate all`" + ` (a member whose best route is its own gets the
  next best), ` + "`set nexthop no-modify`" + `, ` + "`fib-update no`" + `.
- GoBGP: ` + "`route-server-client`" + `, ` + "`minimum-advertisement-interval = 0`" + ` (no advertisement timer
  holds updates back); it uses both CPUs (Go's default, also what ` + "`--cpus`" + ` would set).

Before the route check existed, FRR and OpenBGPD rewrote every next hop to their own address (the
members' next hops are outside the session subnet); the check found it, and the tables from before it
(those without an invocation header) were measured that way.

Ratios are each daemon's median divided by ixrs's: above 1× means ixrs is faster (or smaller).

` + realisticDoc + `
## Where ixrs spends its time and memory

- Outbound work is per prefix and per distinct message, not per member and prefix. The sessions that
  are caught up at one position of the change list are served as a cohort (` + "`rs/cohort.go`" + `): each changed
  prefix is reconciled once for all of them with bit sets over session ids, and each UPDATE is encoded
  once per group of sessions receiving exactly the same prefixes, then copied to each. A session that
  falls behind is served on its own until it has caught up, so a slow member delays nobody.
- The Adj-RIB-Out keeps one interned bit set per distinct set of receiving sessions (nearly every prefix
  of a member is held by "every session but that member's"); a prefix entry is 64 bytes and holds its
  first route and first Adj-RIB-Out entry itself; attribute sets are interned by hash and compare, and
  carry received-side and sent-side state only for the role they play; an idle session holds a 4 KiB
  read buffer and no write buffer; queued UPDATEs wait in 16 KiB chunks from a shared pool.
- The Go collector runs with GOGC=25 (docs/configuration.md): the heap stays within about a quarter
  of the live RIB, for a tenth or so of the CPU time. While the live heap is under 32 MiB it may
  grow by 8 MiB between collections instead (a quarter of a table converging from nothing was a
  collection every megabyte or two), which adds up to 8 MiB to the peak of the smallest tables.
- Most of what is left of ixrs's CPU time is the kernel's: writing the UPDATEs to hundreds of TCP
  sockets. The load generator shares the two cores (last column).
- Peak memory against BIRD's (the target is "no more"): the scaling series shows ixrs's memory
  growing more slowly than BIRD's with the number of members (at 200 members and at 700 it holds less
  than BIRD) and faster with the number of routes (at 50 members × 200k routes about twice BIRD's).
  About 25 MiB of ixrs's peak does not depend on the table, which is most of the gap on small tables.
  A routeserver with 20 passive members and no session is 17 MiB resident, 14 MiB of it pages of
  its program file and the C library (code and read-only data that starting touches, and the kernel
  maps around them), against a 1.1 MB BIRD binary; a program that only imports the libraries ixrs is
  built on (gobgp's codec, the Prometheus client, echo, the TOML decoder, net/http) is 7.9 MiB doing
  nothing, which leaves 2.1 MiB under BIRD's 10 MiB peak on small for a route server's own code,
  heap and 20,000 routes (` + "`go test ./cmd/routeserver -run XXX -bench IdleRSS -benchtime 1x`" + `, docs/architecture.md
  "Memory"). On top of that, the collector's growth floor lets the heap of a small table grow by
  up to 8 MiB before it collects. Per route alone on its prefix ixrs holds about 170 bytes (the prefix entry, its
  index and slab slots, the 64-byte route row with the links of its set's route list that searches
  by AS read), per received attribute set about 0.9 KB (the decoded
  attributes, the received-side state with its AS-path summary, the AS index entry, and its encoding
  as sent, with OTC added). At the peak the sessions' pooled read buffers and queued output
  chunks add 6–8 MiB of live heap while members send; the Go runtime adds its heap headroom (a fifth
  over the live heap at GOGC=25, at least 8 MiB) and metadata, and those 14 MiB of file pages.
  docs/architecture.md ("Memory") has the breakdown and what is left to cut: the prefix entry and
  the route row (half the RIB at 50 × 200k), the decoded attributes, and the I/O buffers.

` + "`scripts/benchmark -profile DIR ...`" + ` has ixrs write CPU and heap profiles (and its runtime memory
statistics), and ixbench its own CPU profile, into DIR for ` + "`go tool pprof`" + `.

`)
	var names []string
	for w := range d.Runs {
		names = append(names, w)
	}
	for w := range d.Invocations {
		if d.Runs[w] == nil {
			names = append(names, w)
		}
	}
	slices.SortFunc(names, workloadOrder)
	order := byRank
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
		fmt.Fprintf(&b, "## %s: %d members, %d routes (%d prefixes)\n\n", wname, rs[0].Members, rs[0].Routes, rs[0].Prefixes)
		if in := d.Invocations[wname]; in != nil {
			b.WriteString(in.header() + "\n")
		} else {
			info := d.Runs[wname]
			fmt.Fprintf(&b, "Run %s on %s; 1-minute load average before each run %s (2 cores, shared with other work).  \n"+
				"**From before the route check**: counts only, FRR with its default coalesce time, FRR and OpenBGPD "+
				"rewriting next hops, memory as VmHWM summed over processes, rows possibly from several invocations; "+
				"versions at the end of this document. To be replaced by a run of the current ixbench.  \n",
				info["date"], info["machine"], info["load"])
			if info["command"] != "" {
				fmt.Fprintf(&b, "Command: `%s`\n\n", info["command"])
			} else {
				b.WriteString("\n")
			}
		}
		b.WriteString("Median (min–max) over the repetitions, seconds unless noted.\n\n")
		b.WriteString("| daemon | runs | converge | churn | best move | flap down | flap up | CPU s | peak memory MiB | converge vs ixrs | churn vs ixrs | memory vs ixrs | converge vs floor | generator CPU s |\n")
		b.WriteString("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
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
			// Results from before the members shared their reading (rxcache.go) have no share.
			if sh := stats(x, func(r *Result) float64 { return cmp.Or(r.Shared, -1) }); sh.n > 0 {
				genS += fmt.Sprintf(" (%.0f%% shared)", 100*sh.med)
			}
			// The floor runs the initial convergence only (forward.go).
			secs := func(f func(r *Result) float64) string {
				if dn == "floor" {
					return "–"
				}
				return stats(x, f).secs()
			}
			bestMove := secs(func(r *Result) float64 { return r.BestMoves() })
			if d.Invocations[wname] == nil {
				bestMove = "–" // the phase did not exist yet
			}
			cpuS, memS := "–", "–" // no run finished
			if cpu.n > 0 {
				cpuS = fmt.Sprintf("%.1f", cpu.med)
			}
			if r.n > 0 {
				memS = fmt.Sprintf("%.0f (%.0f–%.0f)", r.med, r.lo, r.hi)
			}
			fmt.Fprintf(&b, "| %s | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
				dn, len(x), cs.secs(), secs(churn), bestMove,
				secs(func(r *Result) float64 { return r.FlapDown }),
				secs(func(r *Result) float64 { return r.FlapUp }),
				cpuS, memS,
				ratio(cs, stats(ref, conv)), ratio(stats(x, churn), stats(ref, churn)), ratio(r, stats(ref, rss)),
				ratio(cs, stats(byDaemon["floor"], conv)), genS)
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
	b.WriteString(renderMRT(d.MRT))
	if len(d.Versions) > 0 && len(d.Runs) > 0 {
		b.WriteString("## Versions of the tables from before invocations were recorded\n\n")
		var vs []string
		for k := range d.Versions {
			vs = append(vs, k)
		}
		slices.SortFunc(vs, order)
		for _, k := range vs {
			fmt.Fprintf(&b, "- %s: %s\n", k, d.Versions[k])
		}
	}
	b.WriteString(`
## Reproducing

    scripts/benchmark                       # small workload, all daemons, 3 repetitions (a few minutes)
    scripts/benchmark -workload medium      # 100 members, 100k routes
    scripts/benchmark -workload large -runs 5
    scripts/benchmark -workload scaling     # members and table size varied separately
    scripts/benchmark -daemons ixrs,bird -workload NAME=MEMBERS:ROUTES
    scripts/benchmark -daemons frr,frr-default,floor -workload medium   # FRR tuned and with its default timer
    scripts/benchmark -workload realistic -daemons ixrs,bird,frr,openbgpd,floor   # the IXP import policy, RPKI over RTR
    scripts/benchmark -lg -workload lg -runs 1  # the looking glass under load: 300 members, 1M routes
    scripts/benchmark -reeval -workload issue17=700:400000 -reeval-reps 3   # IRR, VRP and policy changes
    scripts/benchmark --rev HEAD~3 -daemons ixrs --no-doc -profile /tmp/prof    # before/after, with profiles
    go run ./cmd/ixbench -render -doc docs/benchmarks.md                         # re-render after a text change

The script installs the daemons from Debian's packages if missing, builds ` + "`routeserver`" + ` and ` + "`ixbench`" + `,
prints the invocation's header, runs the daemons one at a time (repetitions interleave the daemons, so a
burst of outside load spreads over all of them) and rewrites this file. Daemons listen on 127.1.255.254 on a free port; every process
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
		if !ok || dn == "ixrs" || dn == "floor" {
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
	// The floor target: convergence within 1.5× the no-RIB forwarder's (docs/benchmarks.md).
	if fl, ok := by["floor"]; ok {
		if f := stats(fl, conv); f.n > 0 && (rc.n == 0 || rc.med > 1.5*f.med) {
			missed = append(missed, fmt.Sprintf("converges at %s the floor's time (target: 1.5× at most)", ratio(rc, f)))
		}
	}
	if len(missed) == 0 {
		return "Targets: met — ixrs converges and propagates churn faster than every other daemon here, with no more peak memory than BIRD, within 1.5× of the floor where it ran.\n\n"
	}
	return "Targets not met: ixrs " + strings.Join(missed, "; ") + ".\n\n"
}
