package main

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"sync/atomic"
	"time"
)

// A daemon's memory is sampled while it runs, as the sum over all its processes, and its peak is the
// peak of that sum: OpenBGPD's three processes do not reach their peaks at the same time, so summing
// each process's own peak (VmHWM) would overstate it. Each process counts its resident set (RSS, from
// /proc/PID/statm, which the kernel answers from counters). The proportional set size would count pages
// shared between a daemon's processes once, but /proc/PID/smaps_rollup walks the page tables under the
// process's memory-map lock: about 34 ms per GiB resident on the benchmark machine, which at this rate
// would take a third of a core from the daemon under test and stall its page faults. What RSS counts
// more than once is the program text and libraries OpenBGPD's processes share, a few MiB.

// memInterval is how often the sampler reads the daemon's memory. A peak shorter than that can be
// missed; the figures are a lower bound of the true peak by at most one interval's growth.
const memInterval = 100 * time.Millisecond

// memSampler samples the sum of a process tree's memory until stopped.
type memSampler struct {
	peak    atomic.Int64
	last    atomic.Int64
	samples atomic.Int64
	stop    chan struct{}
	done    chan struct{}
}

// sampleMemory starts sampling the processes pids returns every interval. pids (which looks children up
// in /proc) is called for each of the first 20 samples, while a daemon forks its processes, and then
// every tenth.
func sampleMemory(pids func() []int, interval time.Duration) *memSampler {
	m := &memSampler{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(m.done)
		t := time.NewTicker(interval)
		defer t.Stop()
		var ps []int
		for n := 0; ; n++ {
			if n < 20 || n%10 == 0 {
				ps = pids()
			}
			m.sample(ps)
			select {
			case <-m.stop:
				return
			case <-t.C:
			}
		}
	}()
	return m
}

func (m *memSampler) sample(pids []int) {
	vs := make([]int64, 0, len(pids))
	for _, pid := range pids {
		if b, ok := processMemory(pid); ok {
			vs = append(vs, b)
		}
	}
	m.sampleValues(vs)
}

// sampleValues records one sample: the memory of each process at one moment.
func (m *memSampler) sampleValues(vs []int64) {
	var sum int64
	for _, v := range vs {
		sum += v
	}
	m.last.Store(sum)
	m.samples.Add(1)
	for {
		p := m.peak.Load()
		if sum <= p || m.peak.CompareAndSwap(p, sum) {
			return
		}
	}
}

// Peak returns the largest sum sampled so far, in bytes.
func (m *memSampler) Peak() int64 { return m.peak.Load() }

// Stop ends sampling (idempotent) and returns the peak.
func (m *memSampler) Stop() int64 {
	select {
	case <-m.stop:
	default:
		close(m.stop)
	}
	<-m.done
	return m.Peak()
}

// processMemory returns a process's RSS in bytes; ok is false when the process is gone.
func processMemory(pid int) (int64, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/statm", pid))
	if err != nil {
		return 0, false
	}
	f := bytes.Fields(b)
	if len(f) < 2 {
		return 0, false
	}
	pages, err := strconv.ParseInt(string(f[1]), 10, 64)
	if err != nil {
		return 0, false
	}
	return pages * int64(os.Getpagesize()), true
}
