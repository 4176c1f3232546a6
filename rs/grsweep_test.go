package rs

import (
	"net/netip"
	"testing"
	"time"

	"github.com/ixrs/ixrs/speaker"
)

// TestGRSweepBudgeted: the sweep after End-of-RIB drops at most Config.ReadBudget stale routes per
// loop pass, another member's UPDATE is applied while it runs, a prefix the member announces again
// meanwhile stays, and in the end exactly the routes not announced again are gone.
func TestGRSweepBudgeted(t *testing.T) {
	const n, budget = 3000, 100
	ft := &fakeTimers{}
	s := newTestServer(t, func(c *Config) {
		c.afterFunc = ft.after
		c.StaleTime = 42 * time.Second
		c.ReadBudget = budget
	})
	a := addMember(t, s, "A", 64501, "192.0.2.11", withGR(120, both...))
	b := addMember(t, s, "B", 64502, "192.0.2.12")
	c := addMember(t, s, "C", 64503, "192.0.2.13")
	all := seqPrefixes(0, n, false)
	for i := 0; i < n; i += 500 {
		if err := a.ss.Receive(&speaker.Update{Attrs: a.attrs(), NLRI: all[i : i+500]}); err != nil {
			t.Fatal(err)
		}
		readAll(t, s, a, b, c)
	}
	if len(b.rib) != n {
		t.Fatalf("B holds %d routes, want %d", len(b.rib), n)
	}
	a.ss.DownGraceful("connection reset")
	readAll(t, s, a, b, c)
	a.up(withGR(120, both...))
	readAll(t, s, a, b, c)
	kept := all[n-1]
	if err := a.ss.Receive(&speaker.Update{Attrs: a.attrs(), NLRI: []netip.Prefix{kept}}); err != nil {
		t.Fatal(err)
	}
	readAll(t, s, a, b, c)
	a.eorIn(speaker.IPv4Unicast)
	s.pass() // takes the End-of-RIB and starts the sweep
	prev := s.snapshot().StaleRoutes
	if prev < n-1-budget || prev == 0 {
		t.Fatalf("after the first pass %d stale routes left, want between %d and %d", prev, n-1-budget, n-1)
	}
	c.announce(c.attrs(), "198.51.100.0/24") // must not wait for the sweep
	passes := 0
	for ; prev > 0; passes++ {
		if passes > 10*n/budget {
			t.Fatalf("the sweep does not end: %d stale routes left", prev)
		}
		s.pass()
		cur := s.snapshot().StaleRoutes
		if prev-cur > budget {
			t.Fatalf("one pass swept %d routes, budget %d", prev-cur, budget)
		}
		prev = cur
	}
	if passes < (n-1)/budget-1 {
		t.Errorf("the sweep took %d passes, want at least %d", passes, (n-1)/budget-1)
	}
	readAll(t, s, a, b, c)
	if b.has("198.51.100.0/24") == nil {
		t.Errorf("C's route did not reach B")
	}
	if len(b.rib) != 2 || b.has(kept.String()) == nil {
		t.Fatalf("B holds %d routes, want A's re-announced one and C's", len(b.rib))
	}
	if st := s.snapshot(); st.StaleSwept != n-1 {
		t.Errorf("StaleSwept %d, want %d", st.StaleSwept, n-1)
	}
	if len(ft.live()) != 0 {
		t.Errorf("timers left: %d", len(ft.live()))
	}
	checkFreed(t, s)
}

// TestGRSweepThenFlap: the member goes down gracefully again while its previous incarnation is
// being swept: the sweep takes only the old incarnation's routes; the new stale ones stay for the
// restart time.
func TestGRSweepThenFlap(t *testing.T) {
	ft := &fakeTimers{}
	s := newTestServer(t, func(c *Config) {
		c.afterFunc = ft.after
		c.StaleTime = 42 * time.Second
		c.ReadBudget = 1
	})
	a := addMember(t, s, "A", 64501, "192.0.2.11", withGR(120, both...))
	b := addMember(t, s, "B", 64502, "192.0.2.12")
	a.announce(a.attrs(), "10.0.1.0/24", "10.0.2.0/24", "10.0.3.0/24", "10.0.4.0/24")
	readAll(t, s, a, b)
	a.ss.DownGraceful("connection reset")
	readAll(t, s, a, b)
	a.up(withGR(120, both...))
	a.announce(a.attrs(), "10.0.4.0/24")
	a.eorIn(speaker.IPv4Unicast)
	s.pass()
	s.pass()
	a.ss.DownGraceful("connection reset again")
	readAll(t, s, a, b)
	if len(b.rib) != 1 || b.has("10.0.4.0/24") == nil {
		t.Fatalf("B holds %v, want the re-announced route only", b.rib)
	}
	if st := s.sessionStatus(a.ss); st.StaleRoutes != 1 {
		t.Fatalf("A has %d stale routes, want 1", st.StaleRoutes)
	}
	ft.fire(t, 120*time.Second)
	readAll(t, s, a, b)
	if len(b.rib) != 0 || len(a.ss.stale) != 0 {
		t.Fatalf("after the restart time: B holds %v, %d stale incarnations", b.rib, len(a.ss.stale))
	}
	checkFreed(t, s)
}
