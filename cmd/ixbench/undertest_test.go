package main

import (
	"strings"
	"testing"
	"time"
)

// A run's fail names the failure, adds the daemon's last output once it has exited, and returns the
// result with those fields set.
func TestStartUnderTestFail(t *testing.T) {
	var res Result
	res.Workload = "w"
	p, fail, err := startUnderTest([]string{"sh", "-c", "echo first; echo last words; exit 3"}, t.TempDir(), false,
		&res, &res.Failed, &res.CPU, &res.PeakRSS)
	if err != nil {
		t.Fatal(err)
	}
	defer p.stop()
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		t.Fatal("sh did not exit")
	}
	got := fail("phase %d: %s", 2, "broken")
	want := "phase 2: broken; daemon exited: first\nlast words"
	if got.Failed != want || res.Failed != want {
		t.Fatalf("Failed = %q (res %q), want %q", got.Failed, res.Failed, want)
	}
	if got.Workload != "w" {
		t.Fatalf("fail returned %+v, not the run's result", got)
	}
}

// While the daemon runs, the failure is the message alone.
func TestStartUnderTestFailRunning(t *testing.T) {
	var res MRTResult
	p, fail, err := startUnderTest([]string{"sleep", "60"}, t.TempDir(), false, &res, &res.Failed, &res.CPU, &res.PeakRSS)
	if err != nil {
		t.Fatal(err)
	}
	defer p.stop()
	if got := fail("sessions: %v", "refused").Failed; got != "sessions: refused" {
		t.Fatalf("Failed = %q", got)
	}
	if strings.Contains(res.Failed, "exited") {
		t.Fatalf("res.Failed = %q", res.Failed)
	}
}

func TestStartUnderTestNoBinary(t *testing.T) {
	var res ReevalResult
	if _, _, err := startUnderTest([]string{"/nonexistent/routeserver"}, t.TempDir(), false, &res, &res.Failed, &res.CPU, &res.PeakRSS); err == nil {
		t.Fatal("started a binary that does not exist")
	}
}
