package main

import (
	"testing"
	"time"
)

func TestParseDumpAt(t *testing.T) {
	for _, c := range []struct {
		in   string
		want dumpAt
		err  bool
	}{
		{"", dumpAt{}, false},
		{"50%", dumpAt{on: true, pct: 50}, false},
		{" 100% ", dumpAt{on: true, pct: 100}, false},
		{"12.5%", dumpAt{on: true, pct: 12.5}, false},
		{"600ms", dumpAt{on: true, after: 600 * time.Millisecond}, false},
		{"0s", dumpAt{on: true}, false},
		{"0%", dumpAt{}, true},
		{"101%", dumpAt{}, true},
		{"x%", dumpAt{}, true},
		{"-1s", dumpAt{}, true},
		{"soon", dumpAt{}, true},
	} {
		got, err := parseDumpAt(c.in)
		if got != c.want || (err != nil) != c.err {
			t.Errorf("parseDumpAt(%q) = %+v, %v; want %+v, error %v", c.in, got, err, c.want, c.err)
		}
	}
}

// The condition of a share waits for the members' routes, counted up to each member's target.
func TestDumpAtReadyShare(t *testing.T) {
	ss := []*session{{count: 0}, {count: 0}}
	targets := []int{100, 300}
	ready := dumpAtReady(dumpAt{on: true, pct: 50}, ss, targets, time.Now())
	if ready() {
		t.Fatal("ready with no route received")
	}
	ss[0].count = 500 // more than its target counts as its target
	if ready() {
		t.Fatal("ready at 100 of 400 routes")
	}
	ss[1].count = 100
	if !ready() {
		t.Fatal("not ready at 200 of 400 routes")
	}
}
