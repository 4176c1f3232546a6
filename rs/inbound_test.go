package rs

import (
	"testing"

	"github.com/ixrs/ixrs/speaker"
)

// TestInboundShare: a pass takes an equal share of Config.WalkBatch prefixes from every member with
// UPDATEs waiting, and at least one UPDATE: a member sending alone has many small UPDATEs taken per
// pass (so that one pass's output to every other session covers them together), and never more
// than its share while others wait.
func TestInboundShare(t *testing.T) {
	s := newTestServer(t, func(c *Config) { c.InboundQueue = 300; c.WalkBatch = 1000 })
	a := addMember(t, s, "A", 64501, "192.0.2.11")
	b := addMember(t, s, "B", 64502, "192.0.2.12")
	c := addMember(t, s, "C", 64503, "192.0.2.13")
	readAll(t, s, a, b, c)
	queued := func(m *tmember) int { return len(m.ss.cur.Load().ch) }

	// A alone: 250 UPDATEs of 10 prefixes; its share is all 1,000 prefixes of the pass.
	ps := seqPrefixes(0, 2500, false)
	for i := 0; i < len(ps); i += 10 {
		if err := a.ss.Receive(&speaker.Update{Attrs: a.attrs(), NLRI: ps[i : i+10]}); err != nil {
			t.Fatal(err)
		}
	}
	s.pass()
	if got := queued(a); got != 150 {
		t.Fatalf("after one pass A has %d UPDATEs queued, want 150 (100 taken)", got)
	}

	// A and B: 500 prefixes each per pass. B's single UPDATE is taken in the first pass beside A's.
	if err := b.ss.Receive(&speaker.Update{Attrs: b.attrs(), NLRI: seqPrefixes(10000, 5, false)}); err != nil {
		t.Fatal(err)
	}
	s.pass()
	if got := queued(a); got != 100 {
		t.Errorf("after the second pass A has %d UPDATEs queued, want 100 (50 taken)", got)
	}
	if got := queued(b); got != 0 {
		t.Errorf("B's UPDATE still queued (%d) after a pass", got)
	}

	// One UPDATE larger than the share is still taken whole, one per pass.
	big := seqPrefixes(20000, 2000, false)
	if err := c.ss.Receive(&speaker.Update{Attrs: c.attrs(), NLRI: big[:1000]}); err != nil {
		t.Fatal(err)
	}
	if err := c.ss.Receive(&speaker.Update{Attrs: c.attrs(), NLRI: big[1000:]}); err != nil {
		t.Fatal(err)
	}
	s.pass()
	if got := queued(c); got != 1 {
		t.Errorf("after a pass C has %d UPDATEs queued, want 1", got)
	}
	readAll(t, s, a, b, c)
	if len(b.rib) != 2500+2000 || len(a.rib) != 5+2000 {
		t.Errorf("B holds %d routes, A %d", len(b.rib), len(a.rib))
	}
}
