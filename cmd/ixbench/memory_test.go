package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

func TestProcessMemory(t *testing.T) {
	// Touch 64 MiB: the resident set must grow by about that much.
	before, ok := processMemory(os.Getpid())
	if !ok || before <= 0 {
		t.Fatalf("own process: %d %v", before, ok)
	}
	buf := make([]byte, 64<<20)
	for i := 0; i < len(buf); i += 4096 {
		buf[i] = 1
	}
	after, _ := processMemory(os.Getpid())
	if after-before < 48<<20 {
		t.Errorf("resident set grew by %d bytes after touching 64 MiB", after-before)
	}
	buf[len(buf)-1] = 2
	if _, ok := processMemory(1 << 30); ok {
		t.Error("a process that does not exist has memory")
	}
}

// The peak is the peak of the sum over processes at one sample, not the sum of each process's peak.
func TestMemSamplerPeakOfSum(t *testing.T) {
	m := &memSampler{}
	// Two processes whose peaks do not coincide: (10, 1), (1, 10), (5, 5).
	for _, s := range [][2]int64{{10, 1}, {1, 10}, {5, 5}} {
		m.sampleValues(s[:])
	}
	if got := m.Peak(); got != 11 {
		t.Errorf("peak %d, want 11 (the sum of per-process peaks would be 20)", got)
	}
}

func TestMemSamplerRuns(t *testing.T) {
	calls := 0
	m := sampleMemory(func() []int { calls++; return []int{os.Getpid(), 1 << 30} }, time.Millisecond)
	deadline := time.Now().Add(10 * time.Second)
	for m.samples.Load() < 25 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	peak := m.Stop()
	if m.samples.Load() < 25 {
		t.Fatalf("%d samples", m.samples.Load())
	}
	own, _ := processMemory(os.Getpid())
	if peak <= 0 || peak > 4*own {
		t.Errorf("peak %d, own memory now %d", peak, own)
	}
	if calls < 20 {
		t.Errorf("pids looked up %d times in the first 25 samples, want every sample for the first 20", calls)
	}
	m.Stop() // idempotent
}

// A failed run counts in no median, whatever phases it finished.
func TestStatsExcludeFailedRuns(t *testing.T) {
	rs := []Result{{Converge: 1}, {Converge: 100, Failed: "churn withdraw: did not converge"}, {Converge: 3}}
	s := stats(rs, func(r *Result) float64 { return r.Converge })
	if s.n != 2 || s.failed != 1 || s.med != 2 {
		t.Errorf("n %d failed %d median %v, want 2, 1, 2", s.n, s.failed, s.med)
	}
}

// The floor target is stated when ixrs converges more than 1.5× slower than the forwarder.
func TestTargetsFloor(t *testing.T) {
	by := map[string][]Result{
		"ixrs":  {{Converge: 2}},
		"floor": {{Converge: 1}},
	}
	if got := targets(by); !strings.Contains(got, "the floor's time") {
		t.Errorf("ixrs at 2× the floor, targets say: %q", got)
	}
	by["ixrs"][0].Converge = 1.4
	if got := targets(by); strings.Contains(got, "the floor's time") {
		t.Errorf("ixrs at 1.4× the floor, targets say: %q", got)
	}
}

// usage takes a sample of its own: a run shorter than the sampling interval still reports the
// memory of the process as it is, not only what the sample at its start saw.
func TestUsageSamplesNow(t *testing.T) {
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(sleep, "30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	p := &proc{cmd: cmd}
	p.mem = sampleMemory(func() []int { return nil }, time.Hour) // one sample, of nothing
	defer p.mem.Stop()
	deadline := time.Now().Add(10 * time.Second)
	for p.mem.samples.Load() < 1 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	_, peak := p.usage()
	now, ok := processMemory(cmd.Process.Pid)
	if !ok || peak <= 0 || peak < now/2 {
		t.Errorf("peak %d bytes; the process holds %d now", peak, now)
	}
}
