package main

import (
	"os"
	"testing"
	"time"
)

func TestKBField(t *testing.T) {
	b := []byte("55d0-7ffd ---p 00000000 00:00 0 [rollup]\nRss:              2048 kB\nPss:               1000 kB\nPss_Anon:  10 kB\n")
	if v, ok := kbField(b, "Pss:"); !ok || v != 1000<<10 {
		t.Errorf("Pss: %d %v, want %d", v, ok, 1000<<10)
	}
	if v, ok := kbField(b, "Rss:"); !ok || v != 2048<<10 {
		t.Errorf("Rss: %d %v", v, ok)
	}
	if _, ok := kbField(b, "Swap:"); ok {
		t.Error("absent field found")
	}
}

func TestProcessMemory(t *testing.T) {
	v, ok := processMemory(os.Getpid())
	if !ok || v <= 0 {
		t.Fatalf("own process: %d %v", v, ok)
	}
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
