package main

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The single-dump variant of the MRT dump-cost mode (-mrt-dump-at): the dumping run asks for one
// dump during the initial convergence, when the members have received a given share of the routes
// they are to receive, or a given time after the first announcement. Scheduled dumps are a minute
// or more apart, so what one of them costs when it lands in the middle of convergence is the
// realistic figure; back-to-back dumps (-mrt-dump-every 0) are the worst case.

// dumpAt is when the one dump starts: at a share of the routes received (pct, 0 < pct ≤ 100) or a
// time after the first announcement.
type dumpAt struct {
	on    bool
	pct   float64
	after time.Duration
}

func (a dumpAt) String() string {
	switch {
	case !a.on:
		return ""
	case a.pct > 0:
		return strconv.FormatFloat(a.pct, 'f', -1, 64) + "% of the routes received"
	}
	return a.after.String() + " after the first announcement"
}

// parseDumpAt reads -mrt-dump-at: "" is off; "N%" a share of the routes the members are to receive
// in the initial convergence; a duration the time after the first announcement.
func parseDumpAt(s string) (dumpAt, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return dumpAt{}, nil
	}
	if p, ok := strings.CutSuffix(s, "%"); ok {
		v, err := strconv.ParseFloat(p, 64)
		if err != nil || !(v > 0 && v <= 100) {
			return dumpAt{}, fmt.Errorf("-mrt-dump-at %q: a share above 0%% and at most 100%%", s)
		}
		return dumpAt{on: true, pct: v}, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return dumpAt{}, fmt.Errorf("-mrt-dump-at %q: a share (50%%) or a duration not negative", s)
	}
	return dumpAt{on: true, after: d}, nil
}

// received sums the routes the members hold and those they are to hold (targets).
func received(ss []*session, targets []int) (got, want int) {
	for i, s := range ss {
		s.mu.Lock()
		got += min(s.count, targets[i])
		s.mu.Unlock()
		want += targets[i]
	}
	return got, want
}

// startDumpAt asks for one dump once ready reports true (polled every millisecond) and returns the
// loop whose stop ends the wait; a dump not started by then is not asked for.
func startDumpAt(hc *http.Client, ready func() bool) *dumpLoop {
	l := &dumpLoop{hc: hc, stopc: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(l.done)
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for !ready() {
			select {
			case <-l.stopc:
				return
			case <-t.C:
			}
		}
		s := dumpSample{start: time.Now()}
		s.ans, s.err = mrtDump(hc)
		s.end = time.Now()
		l.samples = append(l.samples, s)
	}()
	return l
}

// dumpAtReady is the condition for at, from the phase's start and the members' targets.
func dumpAtReady(at dumpAt, ss []*session, targets []int, from time.Time) func() bool {
	if at.pct > 0 {
		return func() bool {
			got, want := received(ss, targets)
			return float64(got) >= at.pct/100*float64(want)
		}
	}
	return func() bool { return time.Since(from) >= at.after }
}
