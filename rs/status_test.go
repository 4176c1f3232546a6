package rs

import (
	"context"
	"fmt"
	"net/netip"
	"testing"
	"time"
)

func TestPhaseBucket(t *testing.T) {
	for _, c := range []struct {
		d    time.Duration
		want int
	}{
		{0, 0}, {1024, 0}, {1025, 1}, {4096, 1}, {4097, 2}, {time.Millisecond, 5}, {PhaseBucketBound(5), 5},
		{PhaseBucketBound(5) + 1, 6}, {PhaseBucketBound(PhaseBuckets - 1), PhaseBuckets - 1},
		{PhaseBucketBound(PhaseBuckets-1) + 1, PhaseBuckets}, {time.Hour, PhaseBuckets},
	} {
		if got := phaseBucket(c.d); got != c.want {
			t.Errorf("phaseBucket(%v) = %d, want %d", c.d, got, c.want)
		}
		if c.want < PhaseBuckets && c.d > PhaseBucketBound(c.want) {
			t.Errorf("%v is above the bound of bucket %d", c.d, c.want)
		}
	}
}

// TestStatus: one request answers counters and sessions consistently with Stats and Sessions, the
// phase histogram counts every pass, and a finished revalidation walk is counted.
func TestStatus(t *testing.T) {
	s := newTestServer(t, nil)
	a := addMember(t, s, "a", 64501, "192.0.2.11")
	b := addMember(t, s, "b", 64502, "192.0.2.12")
	a.announce(a.attrs(), "10.0.0.0/24", "10.0.1.0/24")
	settle(t, s)
	b.read()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	go s.Run(ctx)
	if err := s.Reevaluate(ctx, "a", nil); err != nil {
		t.Fatal(err)
	}
	var st Stats
	var ss []SessionStatus
	for deadline := time.Now().Add(5 * time.Second); ; {
		var err error
		st, ss, err = s.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if st.RevalidationWalks == 1 || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Millisecond)
	}
	if st.RevalidationWalks != 1 {
		t.Errorf("RevalidationWalks = %d, want 1", st.RevalidationWalks)
	}
	if len(ss) != 2 || st.Sessions != 2 || st.Routes != 2 {
		t.Fatalf("stats %+v, sessions %+v", st, ss)
	}
	for _, x := range ss {
		if x.Member == "a" && (len(x.Families) == 0 || x.Families[0].Received != 2) {
			t.Errorf("session a: %+v", x)
		}
		if x.Member == "b" && (len(x.Families) == 0 || x.Families[0].Exported != 2) {
			t.Errorf("session b: %+v", x)
		}
	}
	for ph := range NumPhases {
		var n uint64
		for _, c := range st.PhaseHistogram[ph] {
			n += c
		}
		// Passes counts the pass that is running this request; its phases are not over yet.
		if n != st.Passes-1 && n != st.Passes {
			t.Errorf("phase %d: %d observations, %d passes", ph, n, st.Passes)
		}
	}
}

// BenchmarkStatus1000 is the RIB loop's share of a metrics scrape at 1,000 sessions: the time the
// owner spends answering Status, during which it routes nothing.
func BenchmarkStatus1000(b *testing.B) {
	s := newTestServer(b, nil)
	for i := range 1000 {
		addMember(b, s, fmt.Sprintf("m%d", i), uint32(100000+i), netip.AddrFrom4([4]byte{10, byte(i / 250), byte(i % 250), 1}).String())
	}
	settle(b, s)
	b.ReportAllocs()
	for b.Loop() {
		st := s.snapshot()
		out := make([]SessionStatus, 0, len(s.sessions))
		for _, m := range s.members {
			for _, ss := range m.sessions {
				out = append(out, s.sessionStatus(ss))
			}
		}
		if st.Sessions != len(out) {
			b.Fatal("sessions")
		}
	}
}
