package rs

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"

	"github.com/ixrs/ixrs/speaker"
)

// TestSearchSmallAnswerOneStep: on a table of 12,000 routes, a search whose answer is a handful of
// routes is one step of a looking-glass turn, reads only the sets that carry the AS and their
// routes, and is complete (no partial page) even with a page work bound far below the table.
func TestSearchSmallAnswerOneStep(t *testing.T) {
	s := newTestServer(t, func(c *Config) { c.ReadLimit = 100 })
	var ms []*tmember
	for i := 0; i < 6; i++ {
		m := addMember(t, s, fmt.Sprint("M", i), uint32(64501+i), fmt.Sprintf("192.0.2.%d", 11+i))
		ms = append(ms, m)
	}
	readAll(t, s, ms...) // the sessions come up
	for i, m := range ms {
		pfx := seqPrefixes(i*2000, 2000, false)
		for k := 0; k < len(pfx); k += 100 {
			s.importUpdate(m.ss.p, &speaker.Update{Attrs: m.attrs(65000 + uint32(k/100)), NLRI: pfx[k : k+100]})
		}
	}
	// AS 4200000001: the origin of 3 routes of M2 (one set) and in the middle of 2 routes of M4
	// (another set).
	s.importUpdate(ms[2].ss.p, &speaker.Update{Attrs: ms[2].attrs(4_200_000_001), NLRI: seqPrefixes(20000, 3, false)})
	s.importUpdate(ms[4].ss.p, &speaker.Update{Attrs: ms[4].attrs(4_200_000_001, 65010), NLRI: seqPrefixes(20010, 2, false)})
	readAll(t, s, ms...)
	checkInvariants(t, s, false)
	rare := uint32(4_200_000_001)
	for _, c := range []struct {
		q                 SearchQuery
		want, sets, reads int
	}{
		{SearchQuery{Origin: rare}, 3, 2, 3},
		{SearchQuery{ASN: rare}, 5, 2, 5},
		{SearchQuery{PathASNs: []uint32{64505, rare}, Path: func(p speaker.ASPath) bool { return p.Len() == 3 }}, 2, 2, 2},
		{SearchQuery{Origin: rare, ASN: 64503}, 3, 2, 3}, // the index entry with fewer sets (the rare AS) is read
	} {
		j, err := newSearchJob(c.q)
		if err != nil {
			t.Fatal(err)
		}
		if _, done := j.step(s, readQuantum); !done {
			t.Errorf("%+v: not done in one step", c.q)
		}
		if j.err != nil || len(j.page.Routes) != c.want || j.page.More {
			t.Errorf("%+v: %d routes, more %v, err %v; want %d in one page", c.q, len(j.page.Routes), j.page.More, j.err, c.want)
		}
		if j.sets > c.sets || j.routes != c.reads || j.work > 1+c.sets+c.reads {
			t.Errorf("%+v: read %d sets, %d routes, work %d; want at most %d sets, %d routes", c.q, j.sets, j.routes, j.work, c.sets, c.reads)
		}
	}
	// A member's own AS is in all its sets: a large answer comes in full pages, each bounded.
	j, _ := newSearchJob(SearchQuery{ASN: 64503, Limit: 50})
	j.step(s, readQuantum)
	if len(j.page.Routes) != 50 || !j.page.More || j.work > s.cfg.ReadLimit+1 {
		t.Errorf("AS64503: %d routes, more %v, work %d", len(j.page.Routes), j.page.More, j.work)
	}
	// Cursors of the two kinds of search are not interchangeable.
	if _, err := s.search(SearchQuery{ASN: 64503, After: j.page.Cursor, Communities: []uint32{1}}); err != nil {
		t.Errorf("indexed cursor on an indexed search: %v", err)
	}
	if _, err := s.search(SearchQuery{Family: speaker.IPv4Unicast, After: j.page.Cursor}); !errors.Is(err, ErrBadCursor) {
		t.Errorf("indexed cursor on a slab search: %v, want ErrBadCursor", err)
	}
}

// TestSearchIndexAgreesWithBruteForce: on a random table (paths from a small pool of ASes, with
// prepends and AS_SETs, some routes rejected), paged searches by origin, by an AS in the path and
// by a pattern requiring an AS return, over all their pages, exactly the routes a brute-force walk
// of every route finds, each once, with pages and their work bound small enough to cut the answer
// anywhere, including inside one set's routes.
func TestSearchIndexAgreesWithBruteForce(t *testing.T) {
	s, ms := searchMembers(t)
	rng := rand.New(rand.NewPCG(11, 7))
	pool := []uint32{65001, 65002, 65003, 65004, 65005, 65006, 4_200_000_000}
	for i, m := range ms {
		pfx := seqPrefixes(i*1000, 400, i%2 == 1)
		for k := 0; k < len(pfx); {
			n := 1 + rng.IntN(30)
			path := []uint32{}
			for l := rng.IntN(4); l > 0; l-- {
				a := pool[rng.IntN(len(pool))]
				path = append(path, a)
				if rng.IntN(5) == 0 {
					path = append(path, a) // prepend
				}
			}
			a := m.attrs(path...)
			if rng.IntN(6) == 0 {
				a.ASPath = append(a.ASPath, speaker.Segment{Type: speaker.SegSet, ASNs: []uint32{pool[rng.IntN(len(pool))], 65009}})
			}
			if rng.IntN(8) == 0 {
				other := ms[(i+1)%len(ms)] // another member's next hop: rejected
				a.NextHop, a.MPNextHop = other.attrs().NextHop, other.attrs().MPNextHop
			}
			end := min(k+n, len(pfx))
			s.importUpdate(m.ss.p, &speaker.Update{Attrs: a, NLRI: pfx[k:end]})
			k = end
		}
	}
	readAll(t, s, ms...)
	checkInvariants(t, s, false)

	type key struct {
		p netip.Prefix
		n netip.Addr
	}
	flat := func(p speaker.ASPath) []uint32 {
		var out []uint32
		for _, seg := range p {
			out = append(out, seg.ASNs...)
		}
		return out
	}
	brute := func(q SearchQuery, match func(r *route) bool) map[key]bool {
		want := map[key]bool{}
		for _, p := range s.peers {
			if p == nil {
				continue
			}
			for _, r := range p.routes {
				if r != nil && (q.View == ViewReceived || (q.View == ViewAccepted) == r.accepted()) && match(r) {
					want[key{r.pe.prefix(), r.p.addr}] = true
				}
			}
		}
		return want
	}
	checked := 0
	for _, a := range append(pool, 64501, 64503, 65009, 65999) {
		adjacent := func(p speaker.ASPath) bool { // "_a_65002_": a then 65002 in a sequence
			for _, seg := range p {
				if seg.Type == speaker.SegSequence {
					for i := 0; i+1 < len(seg.ASNs); i++ {
						if seg.ASNs[i] == a && seg.ASNs[i+1] == 65002 {
							return true
						}
					}
				}
			}
			return false
		}
		for _, view := range []View{ViewReceived, ViewAccepted, ViewFiltered} {
			cases := []struct {
				q     SearchQuery
				match func(r *route) bool
			}{
				{SearchQuery{Origin: a}, func(r *route) bool { p := r.set.policyPath(); return p.Origin() == a }},
				{SearchQuery{ASN: a}, func(r *route) bool { return slices.Contains(flat(r.set.attrs.ASPath), a) }},
				{SearchQuery{PathASNs: []uint32{a, 65002}, Path: adjacent}, func(r *route) bool { return adjacent(r.set.attrs.ASPath) }},
			}
			for _, c := range cases {
				c.q.View, c.q.Limit = view, 7
				want := brute(c.q, c.match)
				got := map[key]bool{}
				q := c.q
				for pages := 0; ; pages++ {
					if pages > 1000 {
						t.Fatalf("%+v: does not end", c.q)
					}
					page, err := s.search(q)
					if err != nil {
						t.Fatal(err)
					}
					for _, r := range page.Routes {
						k := key{r.Prefix, r.Neighbor}
						if got[k] {
							t.Errorf("AS%d %+v: %v twice", a, c.q, k)
						}
						got[k] = true
					}
					if !page.More {
						break
					}
					q.After = page.Cursor
				}
				if len(got) != len(want) || !sameKeys(got, want) {
					t.Errorf("AS%d view %v origin %d asn %d path %v: %d routes, brute force %d", a, view, c.q.Origin, c.q.ASN, c.q.Path != nil, len(got), len(want))
				}
				checked += len(want)
			}
		}
	}
	if checked < 1000 {
		t.Errorf("only %d routes compared: the table does not exercise the search", checked)
	}
}

// searchMembers is the brute-force tests' route server: a page work bound small enough to cut any
// answer, and five members M0 to M4 with their sessions up.
func searchMembers(t *testing.T) (*Server, []*tmember) {
	s := newTestServer(t, func(c *Config) { c.ReadLimit = 40 })
	var ms []*tmember
	for i := 0; i < 5; i++ {
		ms = append(ms, addMember(t, s, fmt.Sprint("M", i), uint32(64501+i), fmt.Sprintf("192.0.2.%d", 11+i)))
	}
	readAll(t, s, ms...)
	return s, ms
}

func sameKeys[K comparable](a, b map[K]bool) bool {
	for k := range a {
		if !b[k] {
			return false
		}
	}
	return len(a) == len(b)
}

// TestSearchTermsAgreeWithBruteForce: on a random table whose sets carry communities of the three
// kinds from small pools and next hops of their member or of another, paged searches by each term,
// alone and with an AS, return over all their pages exactly the routes a brute-force walk finds,
// each once, and read only the sets of the smallest entry they name. The term index is built by the
// first such search and then kept through withdrawals, new announcements and a session going down.
func TestSearchTermsAgreeWithBruteForce(t *testing.T) {
	s, ms := searchMembers(t)
	rng := rand.New(rand.NewPCG(5, 9))
	comms := []uint32{65001<<16 | 1, 65001<<16 | 2, 65002<<16 | 100, 0xffff029a}
	exts := []uint64{0x0002fde800000001, 0x0002fde800000002}
	larges := []speaker.LargeCommunity{{Global: 65001, Local1: 1, Local2: 1}, {Global: 65001, Local1: 2, Local2: 7}}
	announce := func(m *tmember, i, from, n int) {
		pfx := seqPrefixes(from, n, i%2 == 1)
		for k := 0; k < len(pfx); {
			a := m.attrs(65000 + uint32(rng.IntN(3)))
			for l := rng.IntN(3); l > 0; l-- {
				a.Communities = append(a.Communities, comms[rng.IntN(len(comms))]) // repeats too
			}
			if rng.IntN(3) == 0 {
				a.ExtCommunities = []uint64{exts[rng.IntN(len(exts))]}
			}
			if rng.IntN(3) == 0 {
				a.LargeCommunities = []speaker.LargeCommunity{larges[rng.IntN(len(larges))]}
			}
			if rng.IntN(8) == 0 {
				other := ms[(i+1)%len(ms)] // another member's next hop: rejected
				a.NextHop, a.MPNextHop = other.attrs().NextHop, other.attrs().MPNextHop
			}
			end := min(k+1+rng.IntN(20), len(pfx))
			s.importUpdate(m.ss.p, &speaker.Update{Attrs: a, NLRI: pfx[k:end]})
			k = end
		}
	}
	for i, m := range ms {
		announce(m, i, i*1000, 300)
	}
	readAll(t, s, ms...)

	type key struct {
		p netip.Prefix
		n netip.Addr
	}
	brute := func(q SearchQuery) map[key]bool {
		want := map[key]bool{}
		for _, p := range s.peers {
			if p == nil {
				continue
			}
			for _, r := range p.routes {
				if r == nil || q.View != ViewReceived && (q.View == ViewAccepted) != r.accepted() {
					continue
				}
				a := r.set.attrs
				ok := (q.ASN == 0 || slices.Contains(r.set.asns, q.ASN)) &&
					(!q.NextHop.IsValid() || r.set.nextHop(r.pe.fam()) == q.NextHop)
				for _, c := range q.Communities {
					ok = ok && slices.Contains(a.Communities, c)
				}
				for _, c := range q.ExtCommunities {
					ok = ok && slices.Contains(a.ExtCommunities, c)
				}
				for _, c := range q.LargeCommunities {
					ok = ok && slices.Contains(a.LargeCommunities, c)
				}
				if ok {
					want[key{r.pe.prefix(), r.p.addr}] = true
				}
			}
		}
		return want
	}
	var queries []SearchQuery
	for _, c := range comms {
		queries = append(queries, SearchQuery{Communities: []uint32{c}}, SearchQuery{Communities: []uint32{c}, ASN: 65001})
	}
	queries = append(queries, SearchQuery{Communities: comms[:2]}, SearchQuery{Communities: []uint32{12345}})
	for _, c := range exts {
		queries = append(queries, SearchQuery{ExtCommunities: []uint64{c}})
	}
	for _, c := range larges {
		queries = append(queries, SearchQuery{LargeCommunities: []speaker.LargeCommunity{c}})
	}
	for _, m := range ms {
		nh := m.attrs().NextHop
		if !nh.IsValid() {
			nh = m.attrs().MPNextHop
		}
		queries = append(queries, SearchQuery{NextHop: nh}, SearchQuery{NextHop: nh, Communities: comms[3:]})
	}
	check := func(round string) {
		t.Helper()
		checkInvariants(t, s, false)
		checked := 0
		for _, q0 := range queries {
			for _, view := range []View{ViewReceived, ViewAccepted, ViewFiltered} {
				q := q0
				q.View, q.Limit = view, 7
				want := brute(q)
				got := map[key]bool{}
				for pages := 0; ; pages++ {
					if pages > 1000 {
						t.Fatalf("%s %+v: does not end", round, q0)
					}
					j, err := newSearchJob(q)
					if err != nil {
						t.Fatal(err)
					}
					if err := s.readSync(j, &j.readJob); err != nil {
						t.Fatalf("%s %+v: %v", round, q0, err)
					}
					// Only the sets of one entry are read, and none of the others' routes.
					if e, _ := j.indexEntry(s); j.sets > e.len() {
						t.Errorf("%s %+v: read %d sets, the entry has %d", round, q0, j.sets, e.len())
					}
					for _, r := range j.page.Routes {
						k := key{r.Prefix, r.Neighbor}
						if got[k] {
							t.Errorf("%s %+v: %v twice", round, q0, k)
						}
						got[k] = true
					}
					if !j.page.More {
						break
					}
					q.After = j.page.Cursor
					q.Buf = j.page.Routes // the next page reuses it, as the looking glass's pages do
				}
				if !sameKeys(got, want) {
					t.Errorf("%s view %v %+v: %d routes, brute force %d", round, view, q0, len(got), len(want))
				}
				checked += len(want)
			}
		}
		if checked < 500 {
			t.Errorf("%s: only %d routes compared: the table does not exercise the search", round, checked)
		}
	}
	if s.sets.byTerm != nil {
		t.Fatal("the term index exists before any search asked for it")
	}
	check("built")
	if s.sets.byTerm == nil {
		t.Fatal("no term index after searches by community")
	}
	// Kept up to date: withdrawals, new sets, a member gone.
	for i, m := range ms[:3] {
		m.ss.Receive(&speaker.Update{Withdrawn: seqPrefixes(i*1000, 100, i%2 == 1)})
		announce(m, i, i*1000+500, 100)
	}
	ms[4].ss.DownWithReason("hold timer expired")
	readAll(t, s, ms[:4]...)
	check("kept")
}
