package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestEditDocKeepsSections: each mode rewrites only its own part of the results block, so a table
// of one invocation survives the next invocation of another mode, and a new run of a workload
// replaces that workload's rows.
func TestEditDocKeepsSections(t *testing.T) {
	path := filepath.Join(t.TempDir(), "benchmarks.md")
	in := &invocation{Date: "2026-12-05 00:00 UTC", Command: "scripts/benchmark -workload small", Commit: "abc"}
	if err := updateDoc(path, []Result{{Daemon: "ixrs", Workload: "small", Members: 20, Routes: 20000, Rep: 1}}, in); err != nil {
		t.Fatal(err)
	}
	if err := updateDocMRT(path, []MRTResult{{Workload: "medium", Members: 100, Routes: 100000, Rep: 1, Load1: 0.5}, {Workload: "medium", Rep: 2, Load1: 1.5}}, "v", "ixbench -mrt-dump-at 50%", "def"); err != nil {
		t.Fatal(err)
	}
	if err := updateDoc(path, []Result{{Daemon: "bird", Workload: "small", Members: 20, Routes: 20000, Rep: 1}}, in); err != nil {
		t.Fatal(err)
	}
	var d docData
	if err := editDoc(path, func(got *docData) { d = *got }); err != nil {
		t.Fatal(err)
	}
	if len(d.Results) != 1 || d.Results[0].Daemon != "bird" {
		t.Errorf("small's rows: %+v, want bird's run only", d.Results)
	}
	if d.MRT == nil || len(d.MRT.Results) != 2 || d.MRT.Run["commit"] != "def" || d.MRT.Run["load"] != "0.50–1.50" {
		t.Fatalf("MRT section lost or wrong: %+v", d.MRT)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "ixbench -mrt-dump-at 50%") || strings.Count(string(b), dataBegin) != 1 {
		t.Errorf("document: the MRT command or exactly one results block missing")
	}
}
