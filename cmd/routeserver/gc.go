package main

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync/atomic"
)

// A gcPacer keeps the collector's growth target at percent of the live heap, but never less than
// minGrowth bytes: after each collection it sets GOGC to whichever of the two is the larger growth.
//
// GOGC alone is a ratio. While members send their tables the RIB grows from nothing, and at 25% of a
// small heap the collector runs every megabyte or two and marks the whole table each time: with
// GOGC=25 alone, a 100-member, 100k-route table converged through 17 collections, most of them below
// 25 MiB of live heap. A floor on the growth spaces those early ones out without raising the peak of
// a table that size: once the live heap is above minGrowth × 100 / percent, percent is the larger
// growth and rules as before. A smaller table peaks up to minGrowth higher than percent alone would
// let it.
type gcPacer struct {
	percent   int
	minGrowth uint64
	current   int // the GOGC last set
	sample    []metrics.Sample
	stopped   atomic.Bool
}

// gcSentinel is allocated for each collection and dropped at once; its cleanup runs after the
// collection that found it unreachable. The pointer keeps it out of the tiny allocator, whose blocks
// are shared with other objects and freed with the last of them.
type gcSentinel struct {
	_ *byte
	_ [8]byte
}

// The runtime's metrics that percentFor needs, in this order.
var gcPacerMetrics = []string{
	"/gc/heap/live:bytes",
	"/gc/scan/stack:bytes",
	"/gc/scan/globals:bytes",
}

// startGCPacer sets GOGC to percent and adjusts it after every collection from then on.
func startGCPacer(percent int, minGrowth uint64) *gcPacer {
	p := &gcPacer{percent: percent, minGrowth: minGrowth, current: percent}
	for _, name := range gcPacerMetrics {
		p.sample = append(p.sample, metrics.Sample{Name: name})
	}
	debug.SetGCPercent(percent)
	p.arm()
	return p
}

// stop leaves GOGC as it is from the next collection on (for tests).
func (p *gcPacer) stop() { p.stopped.Store(true) }

func (p *gcPacer) arm() {
	runtime.AddCleanup(new(gcSentinel), (*gcPacer).collected, p)
}

// collected runs on the runtime's cleanup goroutine after each collection.
func (p *gcPacer) collected() {
	if p.stopped.Load() {
		return
	}
	metrics.Read(p.sample)
	var v [3]uint64
	for i, s := range p.sample {
		if s.Value.Kind() == metrics.KindUint64 {
			v[i] = s.Value.Uint64()
		}
	}
	if pct := p.percentFor(v[0], v[0]+v[1]+v[2]); pct != p.current {
		p.current = pct
		debug.SetGCPercent(pct)
	}
	p.arm()
}

// heapMinimum is the runtime's least heap goal at GOGC=100; at other values it scales with GOGC.
const heapMinimum = 4 << 20

// percentFor is the GOGC that lets the heap grow by the larger of percent and minGrowth after a
// collection that found live bytes of heap. The runtime's growth is GOGC percent of base, the live
// heap plus the roots it scans (stacks and globals); its goal is also never below heapMinimum × GOGC
// / 100, which on a heap of a few megabytes would be far beyond live + minGrowth, so that bounds the
// result too.
func (p *gcPacer) percentFor(live, base uint64) int {
	pct := min(p.minGrowth*100/max(base, 1), (live+p.minGrowth)*100/heapMinimum)
	return int(max(pct, uint64(p.percent)))
}
