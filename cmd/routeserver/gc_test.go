package main

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"
	"time"
)

func TestGCPacerPercent(t *testing.T) {
	p := &gcPacer{percent: 25, minGrowth: 8 << 20}
	for _, c := range []struct {
		name       string
		live, base uint64
		want       int
	}{
		// A starting heap: the heap minimum (4 MiB × GOGC / 100) bounds the goal to live + 8 MiB.
		{"starting", 1 << 20, 1<<20 + 1<<19, 225},
		// 16 MiB live, 1 MiB of roots: 8 MiB is 47% of the base.
		{"growing", 16 << 20, 17 << 20, 47},
		// At 32 MiB and beyond a quarter is at least 8 MiB.
		{"large", 40 << 20, 41 << 20, 25},
		{"exactly", 32 << 20, 32 << 20, 25},
		{"empty", 0, 0, 200},
	} {
		if got := p.percentFor(c.live, c.base); got != c.want {
			t.Errorf("%s: percentFor(%d, %d) = %d, want %d", c.name, c.live, c.base, got, c.want)
		}
	}
}

// readGC returns the runtime's current GOGC, heap goal and live heap.
func readGC() (gogc, goal, live uint64) {
	s := []metrics.Sample{{Name: "/gc/gogc:percent"}, {Name: "/gc/heap/goal:bytes"}, {Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64(), s[1].Value.Uint64(), s[2].Value.Uint64()
}

// TestGCPacerFollowsCollections runs the pacer in this process: after a collection of a small heap the
// goal is about minGrowth above the live heap; with a large heap held, GOGC is back at percent; and
// after that heap is dropped the floor applies again.
func TestGCPacerFollowsCollections(t *testing.T) {
	const percent, minGrowth = 25, 16 << 20
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	p := startGCPacer(percent, minGrowth)
	defer p.stop()

	// waitFor collects until cond holds of the runtime's state after the pacer has seen a collection.
	waitFor := func(what string, cond func(gogc, goal, live uint64) bool) {
		t.Helper()
		var gogc, goal, live uint64
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
			runtime.GC()
			time.Sleep(20 * time.Millisecond) // the cleanup goroutine's turn
			if gogc, goal, live = readGC(); cond(gogc, goal, live) {
				return
			}
		}
		t.Fatalf("%s: GOGC %d, heap goal %d, live heap %d", what, gogc, goal, live)
	}

	waitFor("small heap", func(gogc, goal, live uint64) bool {
		return gogc > percent && goal >= live+minGrowth*3/4 && goal <= live+minGrowth*5/4
	})

	held := make([][]byte, 0, 128)
	for range 128 { // 128 MiB: a quarter of it is twice minGrowth
		held = append(held, make([]byte, 1<<20))
	}
	waitFor("large heap", func(gogc, goal, live uint64) bool {
		return gogc == percent && live >= 128<<20 && goal <= live+live*percent/100+4<<20
	})
	runtime.KeepAlive(held)
	held = nil

	waitFor("heap dropped", func(gogc, goal, live uint64) bool {
		return gogc > percent && live < 64<<20 && goal >= live+minGrowth*3/4
	})
}
