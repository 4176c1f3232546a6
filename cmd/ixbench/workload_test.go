package main

import (
	"net/netip"
	"slices"
	"testing"
)

func TestGenerateDeterministic(t *testing.T) {
	s := Spec{Name: "t", Members: 30, Routes: 6000, Seed: 7}
	a, err := Generate(s)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Generate(s)
	if !slices.Equal(a.Prefixes, b.Prefixes) {
		t.Fatal("same seed, different prefixes")
	}
	ea, eb := a.Encode(), b.Encode()
	for i := range ea {
		if !slices.Equal(ea[i].Table, eb[i].Table) || !slices.Equal(ea[i].Withdraw, eb[i].Withdraw) {
			t.Fatalf("member %d: same seed, different encoding", i)
		}
	}
	s.Seed = 8
	c, _ := Generate(s)
	if slices.Equal(a.Prefixes, c.Prefixes) && slices.Equal(ea[0].Table, c.Encode()[0].Table) {
		t.Error("different seeds gave the same workload")
	}
}

func TestGenerateShape(t *testing.T) {
	w, err := Generate(Spec{Name: "t", Members: 100, Routes: 100000, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	routes, v6 := 0, 0
	sizes := []int{}
	seen := map[netip.Prefix]bool{}
	for _, p := range w.Prefixes {
		if seen[p] {
			t.Fatalf("prefix %s generated twice", p)
		}
		seen[p] = true
		if !p.Addr().Is4() {
			v6++
		}
		if _, ok := prefixKey(p); !ok {
			t.Fatalf("prefix %s has no key", p)
		}
	}
	for _, m := range w.Members {
		routes += m.Routes
		sizes = append(sizes, m.Routes)
		for _, g := range m.Groups {
			path := g.Attrs.ASPath[0].ASNs
			if path[0] != m.ASN || len(path) < 1 || len(path) > 6 {
				t.Fatalf("member %s: path %v", m.Name, path)
			}
		}
	}
	if routes != 100000 {
		t.Errorf("routes = %d, want 100000", routes)
	}
	slices.Sort(sizes)
	// Skew: a few members with tens of thousands of routes, most with tens to hundreds.
	if sizes[len(sizes)-1] < 10000 || sizes[len(sizes)/2] > 1000 || sizes[len(sizes)/2] < 10 {
		t.Errorf("sizes not skewed as intended: largest %d, median %d", sizes[len(sizes)-1], sizes[len(sizes)/2])
	}
	if share := float64(v6) / float64(len(w.Prefixes)); share < 0.2 || share > 0.3 {
		t.Errorf("IPv6 share %.2f, want about a quarter", share)
	}
	multi := 0
	for _, ann := range w.Announcers {
		if len(ann) > 3 {
			t.Fatalf("prefix announced by %d members", len(ann))
		}
		if len(ann) > 1 {
			multi++
		}
	}
	if multi == 0 {
		t.Error("no prefix announced by more than one member")
	}
}

func TestExpected(t *testing.T) {
	// Members 0, 1, 2; prefix 0 by member 0 only, prefix 1 by 0 and 1, prefix 2 by 2.
	w := &Workload{Members: make([]*Member, 3), Announcers: [][]int32{{0}, {0, 1}, {2}}}
	got := w.Expected(w.AllActive(), announcedAll)
	// Each member counts every live prefix except the ones it announces.
	if want := []int{1, 2, 2}; !slices.Equal(got, want) {
		t.Errorf("full table: %v, want %v", got, want)
	}
	active := w.AllActive()
	active[0] = false
	got = w.Expected(active, announcedAll)
	if want := []int{-1, 1, 1}; !slices.Equal(got, want) {
		t.Errorf("member 0 down: %v, want %v", got, want)
	}
	// Member 1 withdraws prefix 1, member 2 withdraws prefix 2.
	got = w.Expected(w.AllActive(), func(m int, p uint32) bool { return !(m == 1 && p == 1) && !(m == 2 && p == 2) })
	if want := []int{0, 1, 2}; !slices.Equal(got, want) {
		t.Errorf("after withdrawals: %v, want %v", got, want)
	}
}

// TestReceiveCounts feeds a member's own encoded table to another member's receive path: every
// prefix must be found in the index and counted once.
func TestReceiveCounts(t *testing.T) {
	w, err := Generate(Spec{Name: "t", Members: 5, Routes: 2000, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	enc := w.Encode()
	ix := newIndex(w)
	own := w.Own()
	tr := &tracker{chk: newChecker(w)}
	src, dst := w.Largest(), (w.Largest()+1)%5
	s := newSession(w.Members[dst], enc[dst], ix, tr, own[dst])
	for b := enc[src].Table; len(b) > 0; {
		l := int(b[16])<<8 | int(b[17])
		if err := s.update(b[19:l]); err != nil {
			t.Fatal(err)
		}
		b = b[l:]
	}
	want := 0
	for p, ann := range w.Announcers {
		if slices.Contains(ann, int32(src)) && !slices.Contains(ann, int32(dst)) {
			want++
		}
		_ = p
	}
	if s.count != want || s.unknown != 0 {
		t.Errorf("count %d unknown %d, want %d and 0", s.count, s.unknown, want)
	}
	if s.wrong != "" {
		t.Errorf("a route as announced is no candidate of its prefix: %s", s.wrong)
	}
	for b := enc[src].Withdraw; len(b) > 0; {
		l := int(b[16])<<8 | int(b[17])
		s.update(b[19:l])
		b = b[l:]
	}
	if s.count >= want {
		t.Errorf("withdrawals not applied: count %d", s.count)
	}
}
