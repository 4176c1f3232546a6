package mrt

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ixrs/ixrs/internal/rstest"
	"github.com/ixrs/ixrs/rs"
)

// fakeLoop is Config.Routing for a RIB loop that routes all the time while busy and never while
// not: its routing time grows with the wall clock only while busy.
type fakeLoop struct {
	mu    sync.Mutex
	busy  bool
	total time.Duration
	since time.Time
}

func newFakeLoop(busy bool) *fakeLoop { return &fakeLoop{busy: busy, since: time.Now()} }

func (f *fakeLoop) Routing() time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.busy {
		return f.total + time.Since(f.since)
	}
	return f.total
}

func (f *fakeLoop) set(busy bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.busy {
		f.total += time.Since(f.since)
	}
	f.busy, f.since = busy, time.Now()
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

// TestDumpDefersWalk: while the RIB loop routes, a dump neither walks (no feed subscription, so no
// replay and no route events on the loop) nor writes, and the files it writes once the loop is
// quiet hold the RIB as it then was, a route announced during the wait included. With the loop
// routing for good, the walk starts at IdleWait and the dump is written: the two waits together
// are bounded.
func TestDumpDefersWalk(t *testing.T) {
	s := rstest.StartRIB(t, 8)
	src := &subscribeCounter{Server: s}
	a := rstest.AddMember(t, s, "A", 64501, "192.0.2.11")
	a.Announce(a.Attrs(), "203.0.113.0/24")
	rstest.Settle(t, s, 1)

	loop := newFakeLoop(true)
	dir := t.TempDir()
	d := New(src, Config{Dir: dir, RouterID: a.Addr, Logger: quiet, Routing: loop.Routing, IdleWait: time.Minute})
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
	time.Sleep(300 * time.Millisecond) // the dumper had time to subscribe and write, were it not waiting
	if n := src.n.Load(); n != 0 {
		t.Fatalf("the dump subscribed %d times while the RIB loop was routing", n)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("files written while the RIB loop was routing: %v", ents)
	}
	a.Announce(a.Attrs(), "198.51.100.0/24") // during the wait: the dump must hold it
	rstest.Settle(t, s, 2)
	loop.set(false)
	var res Result
	select {
	case err := <-fail:
		t.Fatal(err)
	case res = <-done:
	case <-time.After(testTimeout):
		t.Fatal("dump never finished once the loop was quiet")
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
	if ents, _ := os.ReadDir(dir); len(ents) != 2 || filepath.Dir(res.Accepted) != dir {
		t.Fatalf("want the accepted and the filtered file in %s, have %v", dir, ents)
	}

	// Routing for good: the walk starts at IdleWait; both waits together stay within it.
	loop.set(true)
	src.n.Store(0)
	d = New(src, Config{Dir: t.TempDir(), RouterID: a.Addr, Logger: quiet, Routing: loop.Routing, IdleWait: 200 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	res, err := d.Dump(ctx)
	if err != nil {
		t.Fatalf("dump with the RIB loop routing past IdleWait: %v", err)
	}
	if src.n.Load() != 1 || res.AcceptedRoutes != 2 {
		t.Fatalf("after IdleWait: %d subscriptions, %d routes; want 1 and 2", src.n.Load(), res.AcceptedRoutes)
	}
	if res.Waited > time.Second {
		t.Fatalf("waited %v with IdleWait 200ms: the two waits must share one bound", res.Waited)
	}
}

// TestWaitIdleShare: a loop that routes a small share of the time (an exchange at rest, members
// sending a trickle of UPDATEs) does not hold a dump back; one that routes most of the time does,
// until the bound.
func TestWaitIdleShare(t *testing.T) {
	var routed atomic.Int64
	d := New(nil, Config{Logger: quiet, Routing: func() time.Duration { return time.Duration(routed.Load()) }})
	stop := make(chan struct{})
	var wg sync.WaitGroup
	defer wg.Wait()
	defer close(stop)
	// A trickle: 100 µs of routing every 5 ms (2%).
	wg.Add(1)
	go func() {
		defer wg.Done()
		for t := time.NewTicker(5 * time.Millisecond); ; {
			select {
			case <-stop:
				t.Stop()
				return
			case <-t.C:
				routed.Add(int64(100 * time.Microsecond))
			}
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if w := d.waitIdle(ctx, time.Now().Add(time.Minute)); w >= time.Minute {
		t.Fatalf("a loop routing 2%% of the time held the dump back %v, to the bound", w)
	}

	busy := newFakeLoop(true)
	d = New(nil, Config{Logger: quiet, Routing: busy.Routing})
	bound := 300 * time.Millisecond
	if w := d.waitIdle(ctx, time.Now().Add(bound)); w < bound {
		t.Fatalf("a loop routing all the time let the dump go after %v, before the bound %v", w, bound)
	}
}

// TestRoutingTime: rs.Server.RoutingTime, which the daemon gives dumps as Config.Routing, grows
// while a member sends UPDATEs and stands still while the loop sleeps (a running pass's time counts
// only while it runs).
func TestRoutingTime(t *testing.T) {
	s := rstest.StartRIB(t, 8)
	a := rstest.AddMember(t, s, "A", 64501, "192.0.2.11")
	const n = 20000
	before := s.RoutingTime()
	for i := 0; i < n; i += 500 {
		var ps []string
		for k := i; k < i+500; k++ {
			ps = append(ps, fmt.Sprintf("10.%d.%d.0/24", k>>8, k&0xff))
		}
		a.Announce(a.Attrs(uint32(64512+i/500)), ps...)
	}
	rstest.Settle(t, s, n)
	received := s.RoutingTime()
	if received <= before {
		t.Fatalf("RoutingTime %v before and %v after a member sent %d routes", before, received, n)
	}
	// The loop finishes the pass that answered settle's read, then sleeps: nothing wakes it.
	for i := 0; ; i++ {
		time.Sleep(10 * time.Millisecond)
		now := s.RoutingTime()
		if now == received {
			break
		}
		if i > 200 {
			t.Fatalf("RoutingTime still growing (%v) two seconds after the member stopped", now)
		}
		received = now
	}
	time.Sleep(100 * time.Millisecond)
	if idle := s.RoutingTime(); idle != received {
		t.Fatalf("RoutingTime grew from %v to %v while the loop slept", received, idle)
	}
}
