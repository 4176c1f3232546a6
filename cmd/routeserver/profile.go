package main

import (
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
)

// Profiles for finding the route server's bottlenecks (scripts/benchmark -profile DIR uses them): the
// same files `go test -cpuprofile/-memprofile` writes, read with `go tool pprof`.

// startCPUProfile starts a CPU profile written to path; the returned function ends it.
func startCPUProfile(path string) (func(), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

// startTrace starts a runtime execution trace written to path (scheduling, GC, blocking: where the
// wall time goes when the CPU profile does not account for it); the returned function ends it.
func startTrace(path string) (func(), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("trace: %w", err)
	}
	if err := trace.Start(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("trace: %w", err)
	}
	return func() {
		trace.Stop()
		f.Close()
	}, nil
}

// writeHeapProfile writes the heap profile (live objects as of the last GC, and every allocation
// since the start) to path, and a summary of the runtime's memory statistics to path.txt.
func writeHeapProfile(path string, log *slog.Logger) {
	f, err := os.Create(path)
	if err != nil {
		log.Error("heap profile", "err", err)
		return
	}
	defer f.Close()
	runtime.GC()
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		log.Error("heap profile", "err", err)
	}
	// Beside it, where the process's memory is besides live objects.
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	mib := func(v uint64) float64 { return float64(v) / (1 << 20) }
	summary := fmt.Sprintf("heap live %.1f MiB, in use %.1f, idle %.1f (released %.1f); stacks %.1f; runtime other %.1f; total from OS %.1f; GC cycles %d, GC CPU %.1f%%\n",
		mib(m.HeapAlloc), mib(m.HeapInuse), mib(m.HeapIdle), mib(m.HeapReleased), mib(m.StackSys),
		mib(m.MSpanSys+m.MCacheSys+m.BuckHashSys+m.GCSys+m.OtherSys), mib(m.Sys), m.NumGC, 100*m.GCCPUFraction)
	if err := os.WriteFile(path+".txt", []byte(summary), 0o644); err != nil {
		log.Error("heap profile", "err", err)
	}
}
