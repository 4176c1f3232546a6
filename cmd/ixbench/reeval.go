package main

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The re-evaluation mode (-reeval): ixrs runs with a realistic import policy — every member's IRR
// data from files, RPKI origin validation with reject-invalid — and, once every member holds the full
// table, ixbench changes one input at a time and measures how long it takes from the change until
// every member holds the result, and that nothing else changed (issue 10's revalidation benchmark,
// issue 17 section 3):
//
//   - irr: 1,000 single-homed prefixes of the member with the most leave its irr_prefix_file, which is
//     rewritten, and the route server gets SIGHUP, as an operator's IRR update job does; then back.
//   - vrp: 1% of the VRPs, all covering single-homed prefixes, change their AS so that the covered
//     routes become invalid; then back. Through ixbench's own RTR cache (rtrcache.go), the clock
//     starting when it writes the End of Data of the new serial; or, with the VRP file source, when the
//     rewritten vrp_file is signalled with SIGHUP.
//   - defaults: [defaults] prefix_lengths_ipv4 goes from [8, 24] to [20, 24] (a route server
//     tightening its shortest accepted IPv4 prefix), which filters every route of the prefixes shorter
//     than /20 for everyone, and back: every member's routes are re-evaluated.
//
// Every change removes whole prefixes (single-homed ones, or every route of a prefix), so the result is
// a prefix set per member; after each phase ixbench waits a settle time and then compares every
// member's set with the expected one, and counts the UPDATEs and prefixes each member was sent: a
// prefix outside the change, or in the wrong direction, is a failure (reevalcheck.go).

// ReevalPhase is one measured change.
type ReevalPhase struct {
	Name    string  `json:"name"`          // irr-withdraw, irr-restore, vrp-withdraw, ...
	Rep     int     `json:"rep,omitempty"` // which repetition of the phase (0-based; -reeval-reps)
	Via     string  `json:"via"`           // sighup or rtr
	Changed int     `json:"changed"`       // prefixes the change removes or brings back
	Seconds float64 `json:"seconds"`       // from the change until every member holds the result; -1: failed
	// FirstSeconds is from the change until the first member received the first prefix of it: the
	// part of Seconds spent before any result left the route server (reading files, the reload).
	FirstSeconds float64 `json:"first_s"`
	// DaemonCPU and GenCPU are the CPU seconds ixrs and ixbench (the members' sessions) used from the
	// change until every member held the result: on two shared cores they tell whether the phase
	// waited on the route server or on the load generator reading what it sent. 0 in results from
	// before they were recorded.
	DaemonCPU float64 `json:"daemon_cpu_s,omitempty"`
	GenCPU    float64 `json:"gen_cpu_s,omitempty"`
	phaseCheck
	Failed string `json:"failed,omitempty"`
}

// ReevalResult is one run of the re-evaluation mode.
type ReevalResult struct {
	Workload  string        `json:"workload"`
	Members   int           `json:"members"`
	Routes    int           `json:"routes"`
	Prefixes  int           `json:"prefixes"`
	VRPs      int           `json:"vrps"`
	VRPSource string        `json:"vrp_source"` // rtr or file
	Converge  float64       `json:"converge_s"`
	RSSTable  int64         `json:"rss_converged_bytes"` // VmRSS once every member holds the table
	PeakRSS   int64         `json:"peak_rss_bytes"`      // VmHWM at the end: ixrs is one process
	CPU       float64       `json:"cpu_s"`
	Load1     float64       `json:"load1"`
	LoadEnd   float64       `json:"load1_end"`
	Phases    []ReevalPhase `json:"phases"`
	Failed    string        `json:"failed,omitempty"`
}

// reevalPlan is the workload's changes, computed once.
type reevalPlan struct {
	w    *Workload
	own  [][]uint64
	full []uint64
	// Per member: its prefixes and the origin ASNs of its paths (its IRR data).
	prefixes [][]uint32
	origins  [][]uint32

	irrMember int
	irr       []uint32 // prefixes leaving irrMember's IRR data
	vrps      []vrp
	vrpOld    []vrp // the changed VRPs as they were
	vrpNew    []vrp // and as they become
	vrpPfx    []uint32
	lenMin    int // the tightened minimum IPv4 prefix length
	short     []uint32
}

// reevalLenMin is the tightened [defaults] prefix_lengths_ipv4 minimum of the defaults phase.
const reevalLenMin = 20

// reevalOtherASN is the AS a changed VRP authorizes instead: no path of the workload has it.
const reevalOtherASN = 64512

func newReevalPlan(w *Workload, seed uint64) (*reevalPlan, error) {
	pl := &reevalPlan{w: w, own: w.Own(), lenMin: reevalLenMin,
		prefixes: make([][]uint32, len(w.Members)), origins: make([][]uint32, len(w.Members))}
	n := len(w.Prefixes)
	pl.full = make([]uint64, (n+63)/64)
	for p := range w.Prefixes {
		set(pl.full, uint32(p))
	}
	seen := map[vrp]bool{}
	singles := make([]int, len(w.Members))
	for i, m := range w.Members {
		orig := map[uint32]bool{}
		for _, g := range m.Groups {
			asns := g.Attrs.ASPath[0].ASNs
			o := asns[len(asns)-1]
			orig[o] = true
			for _, p := range g.Prefixes {
				pl.prefixes[i] = append(pl.prefixes[i], p)
				v := vrp{p: w.Prefixes[p], max: uint8(w.Prefixes[p].Bits()), asn: o}
				if !seen[v] {
					seen[v] = true
					pl.vrps = append(pl.vrps, v)
				}
				if len(w.Announcers[p]) == 1 {
					singles[i]++
				}
			}
		}
		list := make([]uint32, 0, len(orig))
		for o := range orig {
			list = append(list, o)
		}
		slices.Sort(list)
		pl.origins[i] = list
	}
	sortedVRPs(pl.vrps)

	// irr: evenly spaced single-homed prefixes of the member with the most.
	pl.irrMember = 0
	for i := range singles {
		if singles[i] > singles[pl.irrMember] {
			pl.irrMember = i
		}
	}
	var cand []uint32
	for _, p := range pl.prefixes[pl.irrMember] {
		if len(w.Announcers[p]) == 1 {
			cand = append(cand, p)
		}
	}
	slices.Sort(cand)
	k := min(1000, len(cand)/2)
	if k == 0 {
		return nil, fmt.Errorf("workload %s: no member has single-homed prefixes", w.Spec.Name)
	}
	for j := 0; j < k; j++ {
		pl.irr = append(pl.irr, cand[j*len(cand)/k])
	}

	// vrp: 1% of the VRPs, drawn among those of single-homed prefixes.
	idx := map[netip.Prefix]uint32{}
	for p, pfx := range w.Prefixes {
		idx[pfx] = uint32(p)
	}
	var single []vrp
	for _, v := range pl.vrps {
		if len(w.Announcers[idx[v.p]]) == 1 {
			single = append(single, v)
		}
	}
	nv := max(1, len(pl.vrps)/100)
	if nv > len(single) {
		return nil, fmt.Errorf("workload %s: %d VRPs to change but only %d on single-homed prefixes", w.Spec.Name, nv, len(single))
	}
	rng := rand.New(rand.NewPCG(seed, 0x7e7a1))
	for _, j := range rng.Perm(len(single))[:nv] {
		v := single[j]
		pl.vrpOld = append(pl.vrpOld, v)
		v.asn = reevalOtherASN
		pl.vrpNew = append(pl.vrpNew, v)
		pl.vrpPfx = append(pl.vrpPfx, idx[v.p])
	}

	for p, pfx := range w.Prefixes {
		if pfx.Addr().Is4() && pfx.Bits() < pl.lenMin {
			pl.short = append(pl.short, uint32(p))
		}
	}
	if len(pl.short) == 0 {
		return nil, fmt.Errorf("workload %s: no IPv4 prefix shorter than /%d", w.Spec.Name, pl.lenMin)
	}
	return pl, nil
}

// bitset returns a bit set of ps sized for the plan's table.
func (pl *reevalPlan) bitset(ps []uint32) []uint64 {
	s := make([]uint64, len(pl.full))
	for _, p := range ps {
		set(s, p)
	}
	return s
}

// without returns full minus ps.
func (pl *reevalPlan) without(ps []uint32) []uint64 {
	s := slices.Clone(pl.full)
	for _, p := range ps {
		s[p/64] &^= 1 << (p % 64)
	}
	return s
}

// writeConfig writes config.toml: a realistic import policy, the VRP source, every member's IRR files.
func (pl *reevalPlan) writeConfig(dir string, port int, cache string, lenMin int) (string, error) {
	var b strings.Builder
	fmt.Fprintf(&b, `# Generated by ixbench -reeval: IRR and RPKI checks on (reject), the other checks as in [defaults]'
# defaults except those the generated table would trip (transit-free ASNs drawn into paths, the large
# members' max-prefix). The next hop of a route is its member's address in 198.18.0.0/15.
[server]
asn = %d
router_id = "%s"
listen = ["%s:%d"]
peering_lans = ["127.0.0.0/8", "198.18.0.0/15", "2001:db8:ffff::/64"]
hold_time = 240
connect_retry = "1s"

[lookingglass]
listen = ""

[rpki]
`, RSASN, rsAddr, rsAddr, port)
	if cache != "" {
		fmt.Fprintf(&b, "caches = [{ address = %q, preference = 1, version = 1 }]\n", cache)
	} else {
		b.WriteString("vrp_file = \"vrps.json\"\n")
	}
	fmt.Fprintf(&b, `
[defaults]
next_hop = "any"
transit_free_asns = []
rpki = "reject-invalid"
irr = "reject"
prefix_lengths_ipv4 = [%d, 24]
prefix_lengths_ipv6 = [12, 48]
max_prefix_ipv4 = 0
max_prefix_ipv6 = 0
`, lenMin)
	for _, m := range pl.w.Members {
		fmt.Fprintf(&b, "\n[[member]]\nname = %q\nasn = %d\nneighbors = [\"%s\"]\npassive = true\nirr_prefix_file = \"irr/%s.json\"\nirr_asn_file = \"irr/%s.asns\"\n",
			m.Name, m.ASN, m.Addr, m.Name, m.Name)
	}
	path := filepath.Join(dir, "config.toml")
	return path, writeAtomic(path, []byte(b.String()))
}

// writeIRR writes member i's IRR files, leaving out the prefixes in drop.
func (pl *reevalPlan) writeIRR(dir string, i int, drop []uint64) error {
	m := pl.w.Members[i]
	type entry struct {
		Prefix string `json:"prefix"`
		Exact  bool   `json:"exact"`
	}
	var es []entry
	for _, p := range pl.prefixes[i] {
		if drop != nil && has(drop, p) {
			continue
		}
		es = append(es, entry{Prefix: pl.w.Prefixes[p].String(), Exact: true})
	}
	j, err := json.Marshal(map[string][]entry{"NN": es})
	if err != nil {
		return err
	}
	if err := writeAtomic(filepath.Join(dir, "irr", m.Name+".json"), j); err != nil {
		return err
	}
	var a strings.Builder
	for _, o := range pl.origins[i] {
		a.WriteString(strconv.FormatUint(uint64(o), 10) + "\n")
	}
	return writeAtomic(filepath.Join(dir, "irr", m.Name+".asns"), []byte(a.String()))
}

// writeVRPs writes the VRP file with old replaced by repl, in address order (IPv4 first) as
// rpki-client writes it.
func writeVRPs(path string, all, old, repl []vrp) error {
	gone := map[vrp]bool{}
	for _, v := range old {
		gone[v] = true
	}
	list := make([]vrp, 0, len(all)+len(repl))
	for _, v := range all {
		if !gone[v] {
			list = append(list, v)
		}
	}
	list = sortedVRPs(append(list, repl...))
	var b strings.Builder
	b.WriteString(`{"roas": [`)
	for i, v := range list {
		if i > 0 {
			b.WriteString(",\n")
		}
		fmt.Fprintf(&b, `{"prefix": "%s", "maxLength": %d, "asn": %d}`, v.p, v.max, v.asn)
	}
	b.WriteString("]}\n")
	return writeAtomic(path, []byte(b.String()))
}

// writeAtomic replaces path by a complete file, as a careful operator's job does (a reload never reads
// half a file).
func writeAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// reevalRun is one daemon run of the mode.
type reevalRun struct {
	pl      *reevalPlan
	p       *proc
	ss      []*session
	tr      *tracker
	timeout time.Duration
	settle  time.Duration
	logf    func(string, ...any)
}

// phase arms the members' watches and targets for a change that makes live the table and moves the
// prefixes of change (announced again when announce is set), performs the change with act (which
// returns the moment the change was made), waits until every member holds its target, lets the settle
// time pass and checks every member.
func (r *reevalRun) phase(name, via string, change []uint32, announce bool, live []uint64, act func() (time.Time, error)) ReevalPhase {
	ph := ReevalPhase{Name: name, Via: via, Changed: len(change), Seconds: -1}
	cs := r.pl.bitset(change)
	targets := make([]int, len(r.ss))
	want := make([]int, len(r.ss))
	ws := make([]*watch, len(r.ss))
	for i, s := range r.ss {
		targets[i] = heldTarget(r.pl.own[i], live)
		want[i] = changeFor(cs, r.pl.own[i])
		ws[i] = newWatch(cs, r.pl.own[i], announce)
		s.mu.Lock()
		s.watch = ws[i]
		s.mu.Unlock()
	}
	all := r.pl.w.AllActive()
	r.tr.chk.expect(all, func(_ int, p uint32) bool { return has(live, p) }, nil)
	done := r.tr.phase(r.ss, targets)
	daemon0, _ := r.p.usage()
	gen0 := selfCPU()
	at, err := act()
	if err != nil {
		ph.Failed = err.Error()
		return ph
	}
	r.tr.mu.Lock()
	r.tr.started = at
	r.tr.mu.Unlock()
	if !wait(done, r.timeout) {
		ph.Failed = fmt.Sprintf("not complete within %s (%s)", r.timeout, progress(r.ss))
	} else {
		ph.Seconds = max(0, r.tr.elapsed().Seconds())
	}
	daemon1, _ := r.p.usage()
	ph.DaemonCPU, ph.GenCPU = daemon1-daemon0, selfCPU()-gen0
	time.Sleep(r.settle) // anything sent after the result is complete is still counted
	helds := make([][]uint64, len(r.ss))
	badRoutes := 0
	for i, s := range r.ss {
		s.mu.Lock()
		s.watch = nil
		helds[i] = make([]uint64, len(r.pl.full))
		for p, g := range s.got {
			if g != 0 {
				set(helds[i], uint32(p))
			}
		}
		s.recheck()
		badRoutes += s.bad
		s.mu.Unlock()
	}
	ph.phaseCheck = checkPhase(ws, helds, r.pl.own, live, want)
	ph.BadRoutes = badRoutes
	ph.FirstSeconds = -1
	if !ph.First.IsZero() {
		ph.FirstSeconds = max(0, ph.First.Sub(at).Seconds())
	}
	if ph.Failed == "" && !ph.ok() {
		ph.Failed = fmt.Sprintf("wrong result: %d members hold a wrong set (%d missing, %d extra), %d unexpected prefixes in %d UPDATEs (%d of them changed prefixes sent in the other direction), %d members sent too few, %d prefixes held with a route that is not the best",
			ph.WrongMembers, ph.Missing, ph.Extra, ph.Unexpected, ph.BadUpdates, ph.Reversed, ph.ShortMembers, ph.BadRoutes)
	}
	ph.Failed += r.p.exitNote()
	return ph
}

func (r *reevalRun) sighup() (time.Time, error) {
	at := time.Now()
	return at, r.p.cmd.Process.Signal(syscall.SIGHUP)
}

// reevalOnce runs the mode once with the VRPs from source ("rtr" or "file").
func reevalOnce(binary string, pl *reevalPlan, enc []*Encoded, ix *index, source string, reps int, timeout, settle time.Duration, keep bool,
	logf func(string, ...any)) (res ReevalResult) {
	w := pl.w
	res = ReevalResult{Workload: w.Spec.Name, Members: len(w.Members), Routes: w.Spec.Routes, Prefixes: len(w.Prefixes),
		VRPs: len(pl.vrps), VRPSource: source, Converge: -1, Load1: load1()}
	dir, err := os.MkdirTemp("", "ixbench-reeval-")
	if err == nil {
		err = os.Mkdir(filepath.Join(dir, "irr"), 0o755)
	}
	if err != nil {
		res.Failed = err.Error()
		return res
	}
	if keep {
		logf("  files in %s", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	for i := range w.Members {
		if err := pl.writeIRR(dir, i, nil); err != nil {
			res.Failed = err.Error()
			return res
		}
	}
	var cache *rtrCache
	cacheAddr := ""
	if source == "rtr" {
		cache, err = newRTRCache(rsAddr, pl.vrps)
		if err != nil {
			res.Failed = err.Error()
			return res
		}
		defer cache.close()
		cacheAddr = cache.addr()
	} else if err := writeVRPs(filepath.Join(dir, "vrps.json"), pl.vrps, nil, nil); err != nil {
		res.Failed = err.Error()
		return res
	}
	port, err := freePort(rsAddr)
	if err != nil {
		res.Failed = err.Error()
		return res
	}
	cfg, err := pl.writeConfig(dir, port, cacheAddr, 8)
	if err != nil {
		res.Failed = err.Error()
		return res
	}
	p, fail, err := startUnderTest([]string{binary, "-config", cfg, "-log-level", "warn"}, dir, false, &res, &res.Failed, &res.CPU, &res.PeakRSS)
	if err != nil {
		res.Failed = err.Error()
		return res
	}
	defer p.stop()
	if cache != nil {
		if _, err := cache.waitEOD(0, timeout); err != nil {
			return fail("%v", err)
		}
	}

	tr := &tracker{chk: newChecker(w)}
	tr.chk.expect(w.AllActive(), announcedAll, nil)
	ss := make([]*session, len(w.Members))
	for i, m := range w.Members {
		ss[i] = newSession(m, enc[i], ix, tr, pl.own[i])
	}
	defer closeSessions(ss)
	raddr := netip.AddrPortFrom(rsAddr, uint16(port))
	if err := parallel(len(ss), 16, func(i int) error { return ss[i].connect(raddr, time.Now().Add(timeout)) }); err != nil {
		return fail("sessions: %v", err)
	}
	targets := make([]int, len(ss))
	for i := range ss {
		targets[i] = heldTarget(pl.own[i], pl.full)
	}
	done := tr.phase(ss, targets)
	go parallel(len(ss), len(ss), func(i int) error { return ss[i].send(enc[i].Table) })
	if !wait(done, timeout) {
		return fail("initial convergence: not within %s (%s)", timeout, progress(ss))
	}
	res.Converge = tr.elapsed().Seconds()
	time.Sleep(settle)
	res.RSSTable = readRSS(p.cmd.Process.Pid)
	logf("  %s: converged in %.2fs, %d MiB resident", source, res.Converge, res.RSSTable>>20)

	r := &reevalRun{pl: pl, p: p, ss: ss, tr: tr, timeout: timeout, settle: settle, logf: logf}
	full := pl.full
	irrDropped := pl.bitset(pl.irr)
	type step struct {
		name, via string
		change    []uint32
		announce  bool
		live      []uint64
		act       func() (time.Time, error)
	}
	steps := []step{
		{"irr-withdraw", "sighup", pl.irr, false, pl.without(pl.irr), func() (time.Time, error) {
			if err := pl.writeIRR(dir, pl.irrMember, irrDropped); err != nil {
				return time.Time{}, err
			}
			return r.sighup()
		}},
		{"irr-restore", "sighup", pl.irr, true, full, func() (time.Time, error) {
			if err := pl.writeIRR(dir, pl.irrMember, nil); err != nil {
				return time.Time{}, err
			}
			return r.sighup()
		}},
	}
	if cache != nil {
		steps = append(steps,
			step{"vrp-withdraw", "rtr", pl.vrpPfx, false, pl.without(pl.vrpPfx), func() (time.Time, error) {
				return cache.change(pl.vrpOld, pl.vrpNew, timeout)
			}},
			step{"vrp-restore", "rtr", pl.vrpPfx, true, full, func() (time.Time, error) {
				return cache.change(pl.vrpNew, pl.vrpOld, timeout)
			}})
	} else {
		vf := filepath.Join(dir, "vrps.json")
		steps = append(steps,
			step{"vrp-withdraw", "sighup", pl.vrpPfx, false, pl.without(pl.vrpPfx), func() (time.Time, error) {
				if err := writeVRPs(vf, pl.vrps, pl.vrpOld, pl.vrpNew); err != nil {
					return time.Time{}, err
				}
				return r.sighup()
			}},
			step{"vrp-restore", "sighup", pl.vrpPfx, true, full, func() (time.Time, error) {
				if err := writeVRPs(vf, pl.vrps, nil, nil); err != nil {
					return time.Time{}, err
				}
				return r.sighup()
			}})
	}
	steps = append(steps,
		step{"defaults-withdraw", "sighup", pl.short, false, pl.without(pl.short), func() (time.Time, error) {
			if _, err := pl.writeConfig(dir, port, cacheAddr, pl.lenMin); err != nil {
				return time.Time{}, err
			}
			return r.sighup()
		}},
		step{"defaults-restore", "sighup", pl.short, true, full, func() (time.Time, error) {
			if _, err := pl.writeConfig(dir, port, cacheAddr, 8); err != nil {
				return time.Time{}, err
			}
			return r.sighup()
		}})
	// Each withdraw-restore pair leaves the table as it found it, so the sequence repeats: one
	// sample of a sub-second phase on two shared cores says little (a collection of the RIB's heap
	// that happens to start inside it adds a third).
steps:
	for rep := range reps {
		for _, st := range steps {
			ph := r.phase(st.name, st.via, st.change, st.announce, st.live, st.act)
			ph.Rep = rep
			res.Phases = append(res.Phases, ph)
			logf("  %s", ph.summary())
			if ph.Failed != "" && ph.Seconds < 0 {
				break steps // the table is in an unknown state: the next phases' expectations would not hold
			}
		}
	}
	res.CPU, res.PeakRSS = p.usage()
	res.LoadEnd = load1()
	for _, ph := range res.Phases {
		if ph.Failed != "" && res.Failed == "" {
			res.Failed = ph.Name + ": " + ph.Failed
		}
	}
	return res
}

func (ph *ReevalPhase) summary() string {
	t := "-"
	if ph.Seconds >= 0 {
		t = fmt.Sprintf("%.3fs", ph.Seconds)
	}
	s := fmt.Sprintf("%-17s %-6s %6d prefixes %8s (first member %.3fs); sent %d UPDATEs with %d prefixes (%d of the change, %d unexpected); %d members wrong",
		ph.Name, ph.Via, ph.Changed, t, ph.FirstSeconds, ph.Updates, ph.Prefixes, ph.Expected, ph.Unexpected, ph.WrongMembers)
	if ph.Failed != "" {
		s += " FAILED: " + ph.Failed
	}
	return s
}

// readRSS returns the current resident set (VmRSS) of pid.
func readRSS(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// reevalMain runs the re-evaluation mode for each workload and VRP source.
func reevalMain(binary string, specs []Spec, seed uint64, sources []string, reps int, timeout, settle time.Duration, keep bool,
	doc, command, commit string, logf func(string, ...any)) int {
	commit = runCommit(commit)
	var results []ReevalResult
	failed := false
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
		pl, err := newReevalPlan(w, seed)
		if err != nil {
			fmt.Fprintln(os.Stderr, "ixbench:", err)
			return 1
		}
		enc := w.Encode()
		ix := newIndex(w)
		logf("workload %s: %d members, %d routes, %d prefixes, %d VRPs; irr: %d prefixes of %s; vrp: %d VRPs; defaults: %d prefixes shorter than /%d",
			spec.Name, len(w.Members), spec.Routes, len(w.Prefixes), len(pl.vrps), len(pl.irr), w.Members[pl.irrMember].Name,
			len(pl.vrpOld), len(pl.short), pl.lenMin)
		for _, src := range sources {
			r := reevalOnce(binary, pl, enc, ix, src, reps, t, settle, keep, logf)
			results = append(results, r)
			logf("%s %s: converge %.2fs, rss %d MiB (peak %d MiB), cpu %.1fs, load %.2f→%.2f%s", spec.Name, src, r.Converge,
				r.RSSTable>>20, r.PeakRSS>>20, r.CPU, r.Load1, r.LoadEnd, failedSuffix(r.Failed))
			failed = failed || r.Failed != ""
		}
	}
	if doc != "" {
		if err := updateDocReeval(doc, results, firstLine(binary, "-version"), command, commit); err != nil {
			fmt.Fprintln(os.Stderr, "ixbench:", err)
			return 1
		}
		logf("wrote %s", doc)
	}
	if failed {
		return 1
	}
	return 0
}

func failedSuffix(f string) string {
	if f == "" {
		return ""
	}
	return " FAILED: " + f
}
