package main

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ixrs/ixrs/config"
)

func TestParseDumpEvery(t *testing.T) {
	for _, c := range []struct {
		in    string
		every time.Duration
		on    bool
		err   bool
	}{
		{"", 0, false, false},
		{"0", 0, true, false},
		{"back-to-back", 0, true, false},
		{"500ms", 500 * time.Millisecond, true, false},
		{" 2s ", 2 * time.Second, true, false},
		{"-1s", 0, false, true},
		{"often", 0, false, true},
		{"5", 0, false, true},
	} {
		every, on, err := parseDumpEvery(c.in)
		if every != c.every || on != c.on || (err != nil) != c.err {
			t.Errorf("parseDumpEvery(%q) = %v, %v, %v; want %v, %v, error %v", c.in, every, on, err, c.every, c.on, c.err)
		}
	}
}

// dumpLines renders the workload's routes as bgpdump -m prints a TABLE_DUMP_V2 file.
func dumpLines(w *Workload) []string {
	var out []string
	for _, m := range w.Members {
		for _, g := range m.Groups {
			for _, pi := range g.Prefixes {
				out = append(out, fmt.Sprintf("TABLE_DUMP2|1796385600|B|%s|%d|%s|%d 64512|IGP|%s|0|0||NAG||",
					m.Addr, m.ASN, w.Prefixes[pi], m.ASN, m.NextHop4))
			}
		}
	}
	return out
}

func TestCheckDump(t *testing.T) {
	w, err := Generate(Spec{Name: "t", Members: 10, Routes: 2000, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	k := newRouteKeys(w)
	lines := dumpLines(w)
	check := func(ls []string) dumpCheck {
		t.Helper()
		c, err := k.checkDump(strings.NewReader(strings.Join(ls, "\n") + "\n"))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	c := check(lines)
	if !c.clean() || c.Routes != w.Spec.Routes || c.Prefixes != len(w.Prefixes) {
		t.Fatalf("the whole table: %s; want %d routes, %d prefixes, clean", c, w.Spec.Routes, len(w.Prefixes))
	}

	// A multi-homed prefix, for a route of a member that does not announce it.
	var shared uint32
	for i, a := range w.Announcers {
		if len(a) < len(w.Members) {
			shared = uint32(i)
			break
		}
	}
	other := -1
	for i := range w.Members {
		if !slices.Contains(w.Announcers[shared], int32(i)) {
			other = i
			break
		}
	}
	m := w.Members[other]
	for _, c := range []struct {
		name  string
		lines []string
		want  func(dumpCheck) bool
	}{
		{"a route missing", lines[1:], func(c dumpCheck) bool { return c.clean() && c.Routes == w.Spec.Routes-1 }},
		{"a route twice", append(lines[:len(lines):len(lines)], lines[0]), func(c dumpCheck) bool { return c.Dups == 1 && c.Routes == w.Spec.Routes }},
		{"wrong peer AS", append(lines[1:len(lines):len(lines)], strings.Replace(lines[0], fmt.Sprintf("|%d|", w.Members[0].ASN), "|64999|", 1)),
			func(c dumpCheck) bool { return c.Unknown == 1 && c.Routes == w.Spec.Routes-1 }},
		{"unknown peer", append(lines[:len(lines):len(lines)], "TABLE_DUMP2|1|B|127.9.9.9|64512|10.0.0.0/8|64512|IGP|127.9.9.9|0|0||NAG||"),
			func(c dumpCheck) bool { return c.Unknown == 1 && c.Routes == w.Spec.Routes }},
		{"prefix not in the workload", append(lines[:len(lines):len(lines)], fmt.Sprintf("TABLE_DUMP2|1|B|%s|%d|192.0.2.0/31|%d|IGP|%s|0|0||NAG||", m.Addr, m.ASN, m.ASN, m.Addr)),
			func(c dumpCheck) bool { return c.Unknown == 1 }},
		{"route of a member that does not announce the prefix", append(lines[:len(lines):len(lines)],
			fmt.Sprintf("TABLE_DUMP2|1|B|%s|%d|%s|%d|IGP|%s|0|0||NAG||", m.Addr, m.ASN, w.Prefixes[shared], m.ASN, m.Addr)),
			func(c dumpCheck) bool { return c.Unknown == 1 }},
		{"other record", append(lines[:len(lines):len(lines)], "BGP4MP|1|STATE|127.1.0.1|1|127.0.0.1|2|1|6"),
			func(c dumpCheck) bool { return c.Other == 1 && c.Routes == w.Spec.Routes }},
	} {
		got := check(c.lines)
		if !c.want(got) {
			t.Errorf("%s: %s", c.name, got)
		}
		if c.name != "a route missing" && got.clean() {
			t.Errorf("%s: reported clean", c.name)
		}
	}
}

func TestSummarize(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	samples := []dumpSample{
		// Starts before the phases: only its part inside counts towards the share.
		{start: at(-1), end: at(1), ans: mrtDumpAnswer{Seconds: 2, Bytes: 10, AcceptedRoutes: 5, Resyncs: 1}},
		{start: at(1), end: at(1.1), err: errBusy},
		{start: at(2), end: at(5), ans: mrtDumpAnswer{Seconds: 3, Bytes: 20, AcceptedRoutes: 7}},
		{start: at(5), end: at(5.5), err: errors.New("HTTP 500: boom")},
		// Ends after the phases.
		{start: at(8), end: at(12), ans: mrtDumpAnswer{Seconds: 4, Bytes: 30, AcceptedRoutes: 9, Resyncs: 2}},
	}
	var r MRTResult
	r.summarize(samples, at(0), at(10))
	if r.Dumps != 3 || r.Busy != 1 || r.DumpErrors != 1 || r.LastErr != "HTTP 500: boom" || r.Resyncs != 3 {
		t.Errorf("counts: %+v", r)
	}
	if r.DumpP50 != 3 || r.DumpMax != 4 || r.BytesLast != 30 || r.RoutesLast != 9 {
		t.Errorf("figures: %+v", r)
	}
	if want := (1.0 + 3 + 2) / 10; r.Share < want-1e-9 || r.Share > want+1e-9 {
		t.Errorf("share %v, want %v", r.Share, want)
	}
}

func TestMRTTable(t *testing.T) {
	res := func(dumping bool, conv, churn float64, failed string) MRTResult {
		cpu := 1.0
		if dumping {
			cpu = 1.5
		}
		return MRTResult{Workload: "medium", Dumping: dumping, Every: 0.5, Converge: conv, CPU: cpu, ConvergeCPU: cpu / 2, ChurnWithdraw: churn / 2,
			ChurnReannounce: churn / 2, Dumps: 4, DumpP50: 0.3, DumpMax: 0.5, Share: 0.6, BytesLast: 3 << 20, RestSecs: 0.2, Failed: failed}
	}
	tab := mrtTable([]MRTResult{res(false, 1.0, 0.4, ""), res(true, 1.1, 0.5, ""), res(false, 3.0, 0.4, ""), res(true, 1.3, 0.3, ""),
		res(true, 9, 9, "dump at rest: bgpdump read less")})
	rows := strings.Split(tab, "\n")
	if len(rows) != 4 {
		t.Fatalf("rows:\n%s", tab)
	}
	quiet, dumping := rows[2], rows[3]
	// Medians: quiet converge 2.0, dumping 1.2 (the failed run counts in no median), churn 0.4 and 0.4.
	for _, want := range []string{"| none | 2 | 2.00 (1.00–3.00) | 0.40 (0.40–0.40) | 1.00 (1.00–1.00) | 0.50 (0.50–0.50) | – |", "| 0.20, ok |"} {
		if !strings.Contains(quiet, want) {
			t.Errorf("quiet row %q lacks %q", quiet, want)
		}
	}
	for _, want := range []string{"| every 500ms | 3 | 1.20 (1.10–1.30) (-40%) | 0.40 (0.30–0.50) (+0%) |", "| 1.50 (1.50–1.50) (+50%) | 0.75 (0.75–0.75) (+50%) | 4 | 0.30, 0.50 | 60% | 3.0 |",
		"1 of 3 runs failed"} {
		if !strings.Contains(dumping, want) {
			t.Errorf("dumping row %q lacks %q", dumping, want)
		}
	}
}

// The configuration mrtConfigure appends to ixbench's ixrs configuration is valid and opens the
// admin socket and the dump directory.
func TestMRTConfigure(t *testing.T) {
	w, err := Generate(Spec{Name: "t", Members: 3, Routes: 100, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if _, err := ixrsConfig("routeserver")(dir, 1179, w); err != nil {
		t.Fatal(err)
	}
	socket, err := mrtConfigure(dir)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(filepath.Join(dir, "config.toml"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Admin.Socket != socket || cfg.MRT.DumpDir != filepath.Join(dir, "mrt") || cfg.MRT.DumpInterval != 0 || len(cfg.Members) != 3 {
		t.Errorf("admin socket %q (want %q), mrt %+v, %d members", cfg.Admin.Socket, socket, cfg.MRT, len(cfg.Members))
	}
}
