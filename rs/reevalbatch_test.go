package rs

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"testing"

	"github.com/ixrs/ixrs/policy"
)

// TestSetMemberPoliciesAtomic: a batched policy change that filters a prefix two members announce
// sends the other members only its withdrawal, never the second announcer's route in between, even
// though the walk spans many loop passes (a tiny ReadBudget) and the receiver reads after each.
func TestSetMemberPoliciesAtomic(t *testing.T) {
	s := newTestServer(t, func(c *Config) { c.ReadBudget = 2 })
	a := addMember(t, s, "A", 64501, "192.0.2.11")
	b := addMember(t, s, "B", 64502, "192.0.2.12")
	c := addMember(t, s, "C", 64503, "192.0.2.13")
	const multi = "10.0.0.0/16" // shorter than /20: the new policy filters it
	var own []string
	for i := range 200 { // a walk longer than maxHoldPasses passes
		own = append(own, fmt.Sprintf("10.%d.%d.0/24", 1+i/256, i%256))
	}
	a.announce(a.attrs(), append([]string{multi}, own...)...)
	b.announce(b.attrs(), multi)
	readAll(t, s, a, b, c)
	if c.has(multi) == nil {
		t.Fatalf("before: C lacks %s", multi)
	}
	nmsg := len(c.msgs)
	strict := &policy.Import{NextHop: policy.NextHopAny, PrefixLen4: [2]int{20, 24}}
	done := make(chan int, 1)
	errc := make(chan error, 1)
	go func() {
		errc <- s.SetMemberPolicies(context.Background(), []MemberPolicy{
			{Name: "A", Import: strict}, {Name: "B", Import: strict},
		}, done)
	}()
	passes := 0
	for ; len(done) == 0; passes++ {
		if passes > 1_000_000 {
			t.Fatal("the walk never ended")
		}
		s.pass()
		c.read()
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if n := <-done; n != 2 {
		t.Errorf("%d routes changed, want 2", n)
	}
	if passes < 2*maxHoldPasses {
		t.Fatalf("the walk took %d passes: too few to tell atomic from member by member", passes)
	}
	readAll(t, s, a, b, c)
	p := netip.MustParsePrefix(multi)
	withdrawn := false
	for _, u := range c.msgs[nmsg:] {
		if slices.Contains(u.NLRI, p) {
			t.Errorf("C was sent %s from AS%d before its withdrawal", multi, u.Attrs.ASPath.First())
		}
		withdrawn = withdrawn || slices.Contains(u.Withdrawn, p)
	}
	if !withdrawn || c.has(multi) != nil {
		t.Errorf("C was not sent the withdrawal of %s", multi)
	}
	if c.has(own[0]) == nil {
		t.Errorf("C lost A's /24s")
	}
	// An unknown name applies nothing.
	go func() {
		errc <- s.SetMemberPolicies(context.Background(), []MemberPolicy{{Name: "A"}, {Name: "nobody"}}, nil)
	}()
	for i := 0; len(errc) == 0 && i < 100_000; i++ {
		s.pass()
	}
	if err := <-errc; !errors.Is(err, ErrUnknownMember) {
		t.Errorf("an unknown member: %v", err)
	}
	readAll(t, s, a, b, c)
	if c.has(multi) != nil {
		t.Errorf("a refused batch applied A's policy")
	}
}

// TestRevalidationWithdrawalsPacked: a revalidation that withdraws the routes of many members,
// interleaved in the table, sends each receiver its withdrawals packed into few UPDATEs, as a
// session-down would, although the walk spans several loop passes and the withdrawals of each
// announcer go to a different set of receivers.
func TestRevalidationWithdrawalsPacked(t *testing.T) {
	s := newTestServer(t, nil)
	const nm, per = 8, 300
	var ms []*tmember
	var names []MemberPolicy
	for k := range nm {
		m := addMember(t, s, fmt.Sprintf("M%d", k), uint32(64601+k), fmt.Sprintf("192.0.2.%d", 20+k))
		ms = append(ms, m)
		names = append(names, MemberPolicy{Name: m.name, Import: &policy.Import{NextHop: policy.NextHopAny, PrefixLen4: [2]int{24, 24}}})
	}
	r := addMember(t, s, "R", 64599, "192.0.2.99")
	for i := range per {
		for k, m := range ms {
			n := k*per + i
			// A /23 the new policy filters and a /24 it keeps, per member and step.
			m.announce(m.attrs(), fmt.Sprintf("10.%d.%d.0/23", n>>7, (n&127)<<1), fmt.Sprintf("100.%d.%d.0/24", n>>8, n&255))
		}
		settle(t, s) // the inboxes are bounded
	}
	readAll(t, s, append(ms, r)...)
	if len(r.rib) != 2*nm*per {
		t.Fatalf("before: R holds %d prefixes, want %d", len(r.rib), 2*nm*per)
	}
	nmsg := len(r.msgs)
	n := runInput(t, s, func(done chan int) error {
		return s.SetMemberPolicies(context.Background(), names, done)
	})
	if n != nm*per {
		t.Errorf("%d routes changed, want %d", n, nm*per)
	}
	readAll(t, s, append(ms, r)...)
	if len(r.rib) != nm*per {
		t.Fatalf("after: R holds %d prefixes, want %d", len(r.rib), nm*per)
	}
	withdrawn, updates := 0, 0
	for _, u := range r.msgs[nmsg:] {
		if len(u.NLRI) > 0 {
			t.Errorf("R was sent an announcement of %d prefixes", len(u.NLRI))
		}
		withdrawn += len(u.Withdrawn)
		updates++
	}
	// 2,400 /23s take 4 bytes each: two 4,096-byte UPDATEs would hold them. The walk releases its
	// output every Config.WalkBatch (1,024) changed routes, and its last part when over: at most
	// one partly filled message per release, three releases.
	if withdrawn != nm*per || updates > 5 {
		t.Errorf("R was sent %d withdrawals in %d UPDATEs, want %d in at most 5", withdrawn, updates, nm*per)
	}
	t.Logf("%d withdrawals in %d UPDATEs", withdrawn, updates)
}
