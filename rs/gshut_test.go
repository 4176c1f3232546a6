package rs

import (
	"context"
	"slices"
	"testing"

	"github.com/ixrs/ixrs/policy"
)

// setGshut switches graceful shutdown while the test drives the loop.
func setGshut(t *testing.T, s *Server, on bool) {
	t.Helper()
	errc := make(chan error, 1)
	go func() { errc <- s.SetGracefulShutdown(context.Background(), on) }()
	for i := 0; len(errc) == 0; i++ {
		if i > 1_000_000 {
			t.Fatal("SetGracefulShutdown never returned")
		}
		s.pass()
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}

// TestGracefulShutdown: on, every member gets every route again with GRACEFUL_SHUTDOWN (RFC 8326)
// next to the communities it had, including per-member variants; a member joining meanwhile gets it
// from its first UPDATE; off restores the routes as they were. No session is reset, and the route
// each member gets is the same throughout.
func TestGracefulShutdown(t *testing.T) {
	export := &ControlCommunities{Control: policy.ExportControl{ASN: rsASN}}
	s := newTestServer(t, func(c *Config) { c.Export = export })
	a := addMember(t, s, "A", 64501, "192.0.2.11")
	b := addMember(t, s, "B", 64502, "192.0.2.12")
	c := addMember(t, s, "C", 64503, "192.0.2.13")
	all := []*tmember{a, b, c}
	a.announce(a.attrs(65010), "203.0.113.0/24")
	noexp := a.attrs()
	noexp.Communities = []uint32{std(65281, 64503)} // NO_EXPORT toward C only
	a.announce(noexp, "198.51.100.0/24")
	own := b.attrs()
	own.Communities = []uint32{policy.CommunityGracefulShutdown} // B is in maintenance itself
	b.announce(own, "192.0.2.128/25")
	readAll(t, s, all...)

	type key struct {
		m   *tmember
		pfx string
	}
	before := map[key][]uint32{}
	routes := []key{{b, "203.0.113.0/24"}, {c, "203.0.113.0/24"}, {b, "198.51.100.0/24"}, {c, "198.51.100.0/24"},
		{a, "192.0.2.128/25"}, {c, "192.0.2.128/25"}}
	for _, k := range routes {
		got := k.m.has(k.pfx)
		if got == nil {
			t.Fatalf("%v has no %s before", k.m, k.pfx)
		}
		before[k] = got.Communities
	}
	if got := c.has("198.51.100.0/24").Communities; !slices.Equal(got, []uint32{policy.CommunityNoExport}) {
		t.Fatalf("C's variant before: %x", got)
	}
	msgs := map[*tmember]int{}
	for _, m := range all {
		msgs[m] = len(m.msgs)
	}

	setGshut(t, s, true)
	if !s.GracefulShutdown() {
		t.Error("GracefulShutdown() false after on")
	}
	readAll(t, s, all...)
	for _, k := range routes {
		got := k.m.has(k.pfx).Communities
		want := before[k]
		if !slices.Contains(want, policy.CommunityGracefulShutdown) {
			want = append(slices.Clone(want), policy.CommunityGracefulShutdown)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%v %s with graceful shutdown: communities %x, want %x", k.m, k.pfx, got, want)
		}
	}
	for _, m := range []*tmember{b, c} {
		if len(m.msgs) == msgs[m] {
			t.Errorf("%v was sent nothing", m)
		}
	}

	d := addMember(t, s, "D", 64504, "192.0.2.14")
	all = append(all, d)
	readAll(t, s, all...)
	if got := d.has("203.0.113.0/24"); got == nil || !slices.Equal(got.Communities, []uint32{policy.CommunityGracefulShutdown}) {
		t.Errorf("member joining during graceful shutdown got %+v", got)
	}

	setGshut(t, s, true) // again: nothing to do
	n := len(b.msgs)
	readAll(t, s, all...)
	if len(b.msgs) != n {
		t.Errorf("switching on twice sent %d UPDATEs", len(b.msgs)-n)
	}

	setGshut(t, s, false)
	readAll(t, s, all...)
	for _, k := range routes {
		if got := k.m.has(k.pfx).Communities; !slices.Equal(got, before[k]) {
			t.Errorf("%v %s after off: communities %x, want %x", k.m, k.pfx, got, before[k])
		}
	}
	if got := d.has("203.0.113.0/24"); got == nil || got.Communities != nil {
		t.Errorf("D after off: %+v", got)
	}
	for _, m := range all {
		if m.ss.p == nil || m.ss.p.inc > uint64(len(all)) {
			t.Errorf("%v: session reset", m)
		}
	}
}
