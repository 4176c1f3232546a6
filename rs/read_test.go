package rs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/ixrs/ixrs/speaker"
)

// FuzzCursor: UnmarshalText accepts exactly the text MarshalText produces, and round-trips it.
// Seeds: testdata/fuzz/FuzzCursor.
func FuzzCursor(f *testing.F) {
	for _, c := range []Cursor{{}, {set: true}, {set: true, inc: 7, a: 3, b: 1}, {set: true, inc: ^uint64(0), a: ^uint32(0), b: ^uint32(0)}} {
		b, _ := c.MarshalText()
		f.Add(b)
	}
	f.Add([]byte("c0000000000000007000000030000000"))   // one digit short
	f.Add([]byte("C00000000000000070000000300000001"))  // upper-case version
	f.Add([]byte("c0000000000000007000000030000000G"))  // not hexadecimal
	f.Add([]byte("c00000000000000070000000300000001 ")) // trailing space
	f.Fuzz(func(t *testing.T, text []byte) {
		var c Cursor
		if err := c.UnmarshalText(text); err != nil {
			if !errors.Is(err, ErrBadCursor) {
				t.Fatalf("%q: error %v is not ErrBadCursor", text, err)
			}
			return
		}
		out, err := c.MarshalText()
		if err != nil || !bytes.Equal(out, text) {
			t.Fatalf("%q → %+v → %q, %v", text, c, out, err)
		}
	})
}

func TestCursorText(t *testing.T) {
	c := Cursor{set: true, inc: 42, a: 7, b: 9}
	if c.String() != "c000000000000002a0000000700000009" {
		t.Errorf("text %q", c.String())
	}
	var d Cursor
	if err := d.UnmarshalText([]byte(c.String())); err != nil || d != c {
		t.Errorf("round trip %+v, %v", d, err)
	}
	if err := d.UnmarshalText(nil); err != nil || !d.IsZero() {
		t.Errorf("empty text: %+v, %v", d, err)
	}
}

// TestReadBudgetSharedWithDumps: a table dump's work comes out of the pass budget that read jobs
// use, and reads keep a quarter of it, so a read completes while a dump runs, in more passes than
// on an idle RIB.
func TestReadBudgetSharedWithDumps(t *testing.T) {
	passesFor := func(dumping bool) int {
		// No mid-pass turns (readTurn): this counts the background phase's budget.
		s := newTestServer(t, func(c *Config) {
			c.WalkBatch, c.ReadBudget, c.ReadLimit, c.ReadInterval = 64, 64, 1<<20, time.Hour
		})
		a := addMember(t, s, "A", 64501, "192.0.2.11")
		if err := a.ss.Receive(&speaker.Update{Attrs: a.attrs(), NLRI: seqPrefixes(0, 4000, false)}); err != nil {
			t.Fatal(err)
		}
		b := addMember(t, s, "B", 64502, "192.0.2.12")
		readAll(t, s, a, b)
		if dumping {
			c := addMember(t, s, "C", 64503, "192.0.2.13") // its dump of 4,000 prefixes starts now
			defer readAll(t, s, a, b, c)
		}
		j := newRoutesJob(RoutesQuery{Neighbor: a.addr, View: ViewReceived, Limit: MaxPage})
		j.ctx, j.done = context.Background(), make(chan struct{})
		s.queueRead(j)
		for i := 1; ; i++ {
			if i > 10_000 {
				t.Fatal("the read never finished")
			}
			s.pass()
			select {
			case <-j.done:
				if len(j.page.Routes) != MaxPage {
					t.Fatalf("page of %d routes", len(j.page.Routes))
				}
				return i
			default:
			}
		}
	}
	idle, dumping := passesFor(false), passesFor(true)
	if dumping <= idle {
		t.Errorf("a read took %d passes during a dump and %d without: the dump did not share the budget", dumping, idle)
	}
	if dumping > 4*idle+4 {
		t.Errorf("a read took %d passes during a dump and %d without: reads lost more than three quarters", dumping, idle)
	}
}

// TestReadTurnMidPass: a looking-glass page posted while members' UPDATEs wait is answered within
// the pass that takes them in (a mid-pass turn, readTurn), where the background phase alone, with
// the same small budget, needs several passes.
func TestReadTurnMidPass(t *testing.T) {
	passesFor := func(interval time.Duration) (int, uint64) {
		s := newTestServer(t, func(c *Config) { c.ReadBudget, c.ReadInterval = 16, interval })
		a := addMember(t, s, "A", 64501, "192.0.2.11")
		a.announcePrefixes(seqPrefixes(0, 500, false))
		others := []*tmember{a}
		for i := range 4 {
			others = append(others, addMember(t, s, fmt.Sprintf("M%d", i), uint32(64510+i), fmt.Sprintf("192.0.2.%d", 20+i)))
		}
		readAll(t, s, others...)
		for k, m := range others[1:] {
			for u := range 4 {
				m.announcePrefixes(seqPrefixes(1000+100*(4*k+u), 100, false))
			}
		}
		j := newRoutesJob(RoutesQuery{Neighbor: a.addr, View: ViewReceived, Limit: DefaultPage})
		j.ctx, j.done = context.Background(), make(chan struct{})
		s.mail.postRead(j)
		turns := s.stats.readTurns
		for i := 1; i <= 1000; i++ {
			s.pass()
			select {
			case <-j.done:
				if j.err != nil || len(j.page.Routes) != DefaultPage {
					t.Fatalf("page of %d routes, %v", len(j.page.Routes), j.err)
				}
				readAll(t, s, others...)
				return i, s.stats.readTurns - turns
			default:
			}
		}
		t.Fatal("the read never finished")
		return 0, 0
	}
	if n, turns := passesFor(time.Nanosecond); n != 1 || turns == 0 {
		t.Errorf("with mid-pass turns the page took %d passes, %d turns; want 1 pass", n, turns)
	}
	if n, turns := passesFor(time.Hour); n < 2 || turns != 0 {
		t.Errorf("without mid-pass turns the page took %d passes, %d turns; want the budget to need several", n, turns)
	}
}

// TestReadsLeastServedFirst: a mid-pass turn serves the least-served job first, so a page posted
// behind a long scan is answered in the next turn, and the scan still finishes. The interval is so
// short that every turn ends after its first quantum: the order is all that decides.
func TestReadsLeastServedFirst(t *testing.T) {
	s := newTestServer(t, func(c *Config) { c.ReadBudget, c.ReadInterval = 16, time.Nanosecond })
	a := addMember(t, s, "A", 64501, "192.0.2.11")
	a.announcePrefixes(seqPrefixes(0, 20_000, false))
	b := addMember(t, s, "B", 64502, "192.0.2.12")
	b.announcePrefixes(seqPrefixes(50_000, 50, false))
	readAll(t, s, a, b)
	// An AS-path matcher that matches nothing: the search visits every route.
	scan, err := newSearchJob(SearchQuery{Path: func(speaker.ASPath) bool { return false }})
	if err != nil {
		t.Fatal(err)
	}
	scan.ctx, scan.done = context.Background(), make(chan struct{})
	s.mail.postRead(scan)
	s.pass()
	if len(s.reads) != 1 || s.reads[0].served == 0 {
		t.Fatalf("the scan was not served in the first pass: %+v", s.reads)
	}
	page := newRoutesJob(RoutesQuery{Neighbor: b.addr, View: ViewReceived})
	page.ctx, page.done = context.Background(), make(chan struct{})
	s.mail.postRead(page)
	s.pass()
	select {
	case <-page.done:
	default:
		t.Fatalf("the page waits behind the scan: %+v", s.reads)
	}
	select {
	case <-scan.done:
		t.Fatal("the scan finished already: it is too short to tell the order")
	default:
	}
	for i := 0; ; i++ {
		if i > 100_000 {
			t.Fatal("the scan never finished")
		}
		s.pass()
		select {
		case <-scan.done:
			return
		default:
		}
	}
}

// announcePrefixes sends one UPDATE announcing ps with m's attributes.
func (m *tmember) announcePrefixes(ps []netip.Prefix) {
	m.t.Helper()
	if err := m.ss.Receive(&speaker.Update{Attrs: m.attrs(), NLRI: ps}); err != nil {
		m.t.Fatal(err)
	}
}

// TestSearchByASNReadsItsMembersOnly: a search by origin or by an AS in the path reads only the
// sessions of the members whose routes carry the AS (the AS index), so a small member's routes
// come back complete in one page even when a large member comes first and the page's work bound
// is small; the index still finds a route of a member that sent another member's attributes.
func TestSearchByASNReadsItsMembersOnly(t *testing.T) {
	s := newTestServer(t, func(c *Config) { c.ReadLimit = 100 })
	a := addMember(t, s, "A", 64501, "192.0.2.11")
	a.announcePrefixes(seqPrefixes(0, 2000, false))
	b := addMember(t, s, "B", 64502, "192.0.2.12")
	if err := b.ss.Receive(&speaker.Update{Attrs: b.attrs(65002), NLRI: seqPrefixes(5000, 10, false)}); err != nil {
		t.Fatal(err)
	}
	readAll(t, s, a, b)
	for _, q := range []SearchQuery{{Origin: 65002}, {ASN: 65002}, {ASN: 64502}} {
		page, err := s.search(q)
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Routes) != 10 || page.More {
			t.Errorf("%+v: %d routes, more %v; want B's 10 in one page", q, len(page.Routes), page.More)
		}
	}
	// A sends B's attributes (its own rejected: the next hop is B's): the set is B's and A's now.
	if err := a.ss.Receive(&speaker.Update{Attrs: b.attrs(65002), NLRI: seqPrefixes(6000, 1, false)}); err != nil {
		t.Fatal(err)
	}
	readAll(t, s, a, b)
	checkInvariants(t, s, false)
	q := SearchQuery{Origin: 65002}
	n := 0
	for i := 0; i < 100; i++ {
		page, err := s.search(q)
		if err != nil {
			t.Fatal(err)
		}
		n += len(page.Routes)
		if !page.More {
			break
		}
		q.After = page.Cursor
	}
	if n != 11 {
		t.Errorf("origin search found %d routes, want 11 (B's 10 and A's copy)", n)
	}
	b.withdraw(prefixStringsOf(seqPrefixes(5000, 10, false))...)
	a.withdraw("10.23.112.0/24")
	readAll(t, s, a, b)
	checkInvariants(t, s, false)
	if o := s.sets.byASN[65002]; o.len() != 0 {
		t.Errorf("AS65002 still indexed after every route with it left: %d sets", o.len())
	}
}

func prefixStringsOf(ps []netip.Prefix) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.String()
	}
	return out
}

// TestReadGapsCounted: while a query waits, every chance the loop has to serve it (a site: the
// pass start, each inbound message, each session's output slice, the background step) closes a
// stretch that Stats.ReadGaps counts; with no query waiting, routing counts none.
func TestReadGapsCounted(t *testing.T) {
	s := newTestServer(t, func(c *Config) { c.ReadBudget, c.ReadInterval = 16, time.Hour })
	a := addMember(t, s, "A", 64501, "192.0.2.11")
	a.announcePrefixes(seqPrefixes(0, 500, false))
	others := []*tmember{a}
	for i := range 4 {
		others = append(others, addMember(t, s, fmt.Sprintf("M%d", i), uint32(64510+i), fmt.Sprintf("192.0.2.%d", 20+i)))
	}
	readAll(t, s, others...)
	total := func() (n uint64) {
		for _, c := range s.stats.readGaps {
			n += c
		}
		return n
	}
	churn := func(base int) {
		for k, m := range others[1:] {
			m.announcePrefixes(seqPrefixes(base+100*k, 100, false))
		}
	}
	churn(1000)
	for range 100 {
		if !s.pass() {
			break
		}
	}
	readAll(t, s, others...)
	if n := total(); n != 0 {
		t.Fatalf("%d stretches counted with no query waiting", n)
	}
	churn(2000)
	j := newRoutesJob(RoutesQuery{Neighbor: a.addr, View: ViewReceived, Limit: DefaultPage})
	j.ctx, j.done = context.Background(), make(chan struct{})
	s.mail.postRead(j)
	s.pass()
	// The pass start, one message from each of the four members, the background step; the session
	// outputs come before the background step.
	if n := total(); n < 6 {
		t.Errorf("%d stretches counted in a pass with a query waiting, want at least 6", n)
	}
	readAll(t, s, others...)
}

// TestReadTurnInsideCohortPull: a query that waits while a cohort pull reconciles a large batch for
// the caught-up sessions gets its turn inside the pull (between its prefixes), not after it: a
// pull for hundreds of sessions is the loop's longest unit of work. The pull's output is
// unchanged by the reads (the members' tables and the invariants are checked after).
func TestReadTurnInsideCohortPull(t *testing.T) {
	s := newTestServer(t, func(c *Config) { c.ReadInterval = time.Nanosecond })
	a := addMember(t, s, "A", 64501, "192.0.2.11")
	ms := []*tmember{a}
	for i := range 4 {
		ms = append(ms, addMember(t, s, fmt.Sprintf("M%d", i), uint32(64510+i), fmt.Sprintf("192.0.2.%d", 20+i)))
	}
	readAll(t, s, ms...)
	a.announcePrefixes(seqPrefixes(0, 500, false))
	s.events()
	if !s.inbound() {
		t.Fatal("the UPDATE was not taken in")
	}
	j := newRoutesJob(RoutesQuery{Neighbor: a.addr, View: ViewReceived, Limit: DefaultPage})
	j.ctx, j.done = context.Background(), make(chan struct{})
	s.mail.postRead(j)
	pulls, inside := s.stats.cohortPulls, s.stats.readTurnsAt[siteCohortStep]
	s.outbound()
	if s.stats.cohortPulls == pulls {
		t.Fatal("no cohort pull: the test does not exercise one")
	}
	if s.stats.readTurnsAt[siteCohortStep] == inside {
		t.Error("no read turn inside the cohort pull")
	}
	select {
	case <-j.done:
		if j.err != nil || len(j.page.Routes) != DefaultPage {
			t.Errorf("page of %d routes, %v", len(j.page.Routes), j.err)
		}
	default:
		t.Error("the query waited out the whole outbound phase")
	}
	readAll(t, s, ms...)
	for _, m := range ms[1:] {
		if len(m.rib) != 500 {
			t.Errorf("%s has %d routes, want 500", m, len(m.rib))
		}
	}
	checkInvariants(t, s, true)
}
