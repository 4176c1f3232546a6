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
	for i := range 20 {
		own = append(own, fmt.Sprintf("198.51.%d.0/24", i))
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
	if passes < 5 {
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
