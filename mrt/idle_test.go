package mrt

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ixrs/ixrs/rs"
)

// TestDumpWaitsForIdle: a dump writes nothing while Busy reports the RIB loop routing, and writes
// once it has cleared; without Busy going false it gives up waiting at IdleWait.
func TestDumpWaitsForIdle(t *testing.T) {
	s := startRIB(t)
	a := addMember(t, s, "A", 64501, "192.0.2.11")
	a.announce(a.attrs(), "203.0.113.0/24")
	settle(t, s, 1)

	var busy atomic.Bool
	busy.Store(true)
	dir := t.TempDir()
	d := New(s, Config{Dir: dir, RouterID: a.addr, Logger: quiet, Busy: busy.Load, IdleWait: time.Minute})
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		_, err := d.Dump(ctx)
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("dump finished while the RIB was busy: %v", err)
	case <-time.After(500 * time.Millisecond):
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("files written while busy: %v", ents)
	}
	busy.Store(false)
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(testTimeout):
		t.Fatal("dump never finished once idle")
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 2 {
		t.Fatalf("want the accepted and the filtered file, have %v", ents)
	}

	// Busy for good: the wait ends at IdleWait.
	busy.Store(true)
	d = New(s, Config{Dir: t.TempDir(), RouterID: a.addr, Logger: quiet, Busy: busy.Load, IdleWait: 200 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if _, err := d.Dump(ctx); err != nil {
		t.Fatalf("dump with the RIB busy past IdleWait: %v", err)
	}
}

// TestRIBBusy: rs.Server.Busy, which the daemon gives dumps as Config.Busy, is true while a member
// sends UPDATEs and false again once it has stopped.
func TestRIBBusy(t *testing.T) {
	s := startRIB(t)
	a := addMember(t, s, "A", 64501, "192.0.2.11")
	seen := false
	for i := 0; i < 20000 && !seen; i++ {
		a.announce(a.attrs(uint32(64512+i%100)), "203.0.113.0/24", "198.51.100.0/24")
		seen = s.Busy()
	}
	if !seen {
		t.Fatal("Busy never true while a member sent 20,000 UPDATEs")
	}
	deadline := time.Now().Add(testTimeout)
	for s.Busy() {
		if time.Now().After(deadline) {
			t.Fatal("Busy still true long after the member stopped")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// subscribeCounter is a Source that counts the dumper's subscriptions: a walk starts with one.
type subscribeCounter struct {
	*rs.Server
	n atomic.Int32
}

func (c *subscribeCounter) Subscribe(ctx context.Context, opts rs.SubscribeOptions) (*rs.Subscription, error) {
	c.n.Add(1)
	return c.Server.Subscribe(ctx, opts)
}

// TestDumpDefersWalk: while Busy reports the RIB loop routing, a dump does not start its walk (no
// feed subscription, so no replay and no route events on the loop), and the files it writes once
// the loop is idle hold the RIB as it then was, routes announced during the wait included. With
// the loop busy for good, the walk starts at IdleWait and the dump is written: the wait is bounded.
func TestDumpDefersWalk(t *testing.T) {
	s := startRIB(t)
	src := &subscribeCounter{Server: s}
	a := addMember(t, s, "A", 64501, "192.0.2.11")
	a.announce(a.attrs(), "203.0.113.0/24")
	settle(t, s, 1)

	var busy atomic.Bool
	busy.Store(true)
	dir := t.TempDir()
	d := New(src, Config{Dir: dir, RouterID: a.addr, Logger: quiet, Busy: busy.Load, IdleWait: time.Minute})
	done := make(chan Result, 1)
	fail := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		res, err := d.Dump(ctx)
		if err != nil {
			fail <- err
			return
		}
		done <- res
	}()
	time.Sleep(300 * time.Millisecond) // the dumper had time to subscribe, were it not waiting
	if n := src.n.Load(); n != 0 {
		t.Fatalf("the dump subscribed %d times while the RIB was busy", n)
	}
	a.announce(a.attrs(), "198.51.100.0/24") // during the wait: the dump must hold it
	settle(t, s, 2)
	busy.Store(false)
	var res Result
	select {
	case err := <-fail:
		t.Fatal(err)
	case res = <-done:
	case <-time.After(testTimeout):
		t.Fatal("dump never finished once idle")
	}
	if n := src.n.Load(); n != 1 {
		t.Fatalf("%d subscriptions for one dump, want 1", n)
	}
	if res.AcceptedRoutes != 2 {
		t.Fatalf("dump holds %d accepted routes, want 2 (one announced while it waited)", res.AcceptedRoutes)
	}
	if res.Waited <= 0 || res.Waited > res.Duration {
		t.Fatalf("Waited %v, Duration %v: want a positive part of the duration", res.Waited, res.Duration)
	}
	if _, err := os.Stat(res.Accepted); err != nil || filepath.Dir(res.Accepted) != dir {
		t.Fatalf("accepted file %q: %v", res.Accepted, err)
	}

	// Busy for good: the walk starts at IdleWait; both waits together stay within it.
	busy.Store(true)
	src.n.Store(0)
	d = New(src, Config{Dir: t.TempDir(), RouterID: a.addr, Logger: quiet, Busy: busy.Load, IdleWait: 200 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	res, err := d.Dump(ctx)
	if err != nil {
		t.Fatalf("dump with the RIB busy past IdleWait: %v", err)
	}
	if src.n.Load() != 1 || res.AcceptedRoutes != 2 {
		t.Fatalf("after IdleWait: %d subscriptions, %d routes; want 1 and 2", src.n.Load(), res.AcceptedRoutes)
	}
	if res.Waited > time.Second {
		t.Fatalf("waited %v with IdleWait 200ms: the two waits must share one bound", res.Waited)
	}
}

// TestRIBBusyWhileSending: rs.Server.Busy is also true while the loop only sends: a member that
// comes up is sent the table of another, with no UPDATE arriving meanwhile. A dump that walked then
// would take CPU from that member's convergence.
func TestRIBBusyWhileSending(t *testing.T) {
	s := startRIB(t)
	a := addMember(t, s, "A", 64501, "192.0.2.11")
	const n = 20000
	for i := 0; i < n; i += 500 {
		var ps []string
		for k := i; k < i+500; k++ {
			ps = append(ps, fmt.Sprintf("10.%d.%d.0/24", k>>8, k&0xff))
		}
		a.announce(a.attrs(uint32(64512+i/500)), ps...)
	}
	settle(t, s, n)
	deadline := time.Now().Add(testTimeout)
	for s.Busy() {
		if time.Now().After(deadline) {
			t.Fatal("Busy still true long after the member stopped")
		}
		time.Sleep(10 * time.Millisecond)
	}
	seen := false
	for try := 0; try < 20 && !seen; try++ {
		b := addMember(t, s, fmt.Sprintf("B%d", try), uint32(64600+try), fmt.Sprintf("192.0.2.%d", 100+try))
		// Spin on the flag while B is sent its table, bounded in time (not asserted on).
		for end := time.Now().Add(2 * time.Second); !seen && time.Now().Before(end); {
			seen = s.Busy()
		}
		b.peer.Down()
	}
	if !seen {
		t.Fatal("Busy never true while 20 members were each sent a table of 20,000 routes")
	}
}
