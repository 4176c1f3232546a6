package rs

import (
	"maps"
	"slices"
	"testing"
)

// checkInvariants verifies the invariants of doc.go over the whole RIB. synced asks also for the
// strongest one: every established session holds exactly what it should (true once the loop has
// settled and every member has read its output).
func checkInvariants(t testing.TB, s *Server, synced bool) {
	t.Helper()
	refs := map[*attrSet]int32{}
	routes, accepted := 0, 0
	var received, acc, exported = map[*session][numFams]int{}, map[*session][numFams]int{}, map[*session][numFams]int{}
	preferred := map[*session][numFams]int{} // sessions whose route is its prefix's first candidate
	filteredBy := map[*session]*[numFams][ReasonSlots]int{}
	adjEntries := 0
	bitRefs := map[*ibits]int32{}
	for pfx, pe := range s.prefixes.all() {
		if pe.prefix() != pfx || s.prefixes.slab[pe.slot] != pe {
			t.Fatalf("%v: table and slab disagree", pfx)
		}
		if pe.unused() {
			t.Errorf("%v: unused entry kept", pfx)
		}
		if x := pe.ext; x != nil {
			if x.routes == nil && x.out == nil || cap(x.routes) > 0 && len(x.routes) == 0 {
				t.Errorf("%v: extension holds nothing", pfx)
			}
			if cap(x.routes) > 0 && pe.r1[0] != nil || x.out != nil && pe.o1[0].set != nil {
				t.Errorf("%v: a list both in the entry and in its extension", pfx)
			}
		}
		fi := famOf(pfx)
		if pe.nacc > 0 {
			pc := preferred[pe.routes()[0].p]
			pc[fi]++
			preferred[pe.routes()[0].p] = pc
		}
		seen := map[*session]bool{}
		for i, r := range pe.routes() {
			if r.pe != pe || r.p.routes[r.slot] != r {
				t.Fatalf("%v: route %d not filed where it says", pfx, i)
			}
			if seen[r.p] {
				t.Errorf("%v: two routes from one session", pfx)
			}
			seen[r.p] = true
			if r.accepted() != (i < int(pe.nacc)) {
				t.Errorf("%v: route %d accepted=%v with nacc %d", pfx, i, r.accepted(), pe.nacc)
			}
			if i > 0 && i < int(pe.nacc) {
				ranks := medRanks(pe.candidates(), nil)
				if c, _ := compareRanked(r, ranks[i], pe.routes()[i-1], ranks[i-1]); c <= 0 {
					t.Errorf("%v: candidates %d and %d out of order", pfx, i-1, i)
				}
			}
			refs[r.set]++
			routes++
			rc := received[r.p]
			rc[fi]++
			received[r.p] = rc
			if r.accepted() {
				accepted++
				ac := acc[r.p]
				ac[fi]++
				acc[r.p] = ac
			} else {
				if filteredBy[r.p] == nil {
					filteredBy[r.p] = new([numFams][ReasonSlots]int)
				}
				slot := int(r.reasons.Primary())
				if slot >= ReasonSlots {
					slot = 0
				}
				filteredBy[r.p][fi][slot]++
			}
		}
		ids := map[int]bool{}
		for _, e := range pe.out() {
			if e.bits == nil || e.bits.b.empty() || e.bits.b[len(e.bits.b)-1] == 0 {
				t.Errorf("%v: empty or untrimmed Adj-RIB-Out entry", pfx)
			} else if !s.bits.interned(e.bits) {
				t.Errorf("%v: Adj-RIB-Out bit set not interned", pfx)
			}
			bitRefs[e.bits]++
			if !s.sets.has(e.set) {
				t.Errorf("%v: Adj-RIB-Out holds a set not in the table", pfx)
			}
			refs[e.set]++
			adjEntries++
			e.bits.b.each(func(id int) {
				if ids[id] {
					t.Errorf("%v: session %d in two entries", pfx, id)
				}
				ids[id] = true
				if p := s.peers[id]; p != nil {
					ec := exported[p]
					ec[fi]++
					exported[p] = ec
				}
			})
		}
		if synced {
			for _, p := range s.peers {
				if p == nil || p.down {
					continue
				}
				// wantFor states the export rule per session with exportCheck, apart from the
				// engine's bit-set decision (decide): the engine is held to it here.
				want := s.wantFor(pe, p)
				if got := pe.outFor(p.id); got != want {
					t.Errorf("%v: session %v holds %p, should hold %p", pfx, p.addr, got, want)
				}
			}
		}
	}
	checkAddPath(t, s, refs, synced)
	for set := range s.sets.all() {
		if set.out != set {
			refs[set.out]++
		}
		if set.setIn == nil && set.out != set {
			t.Errorf("set %v is only sent but has an out set", set.attrs.ASPath)
		}
		if set.otc != 0 && (set.setIn == nil || set.out != set || set.attrs.HasOTC) {
			t.Errorf("set %v is sent with OTC added but is not a received set that is its own out set without OTC", set.attrs.ASPath)
		}
		if set.setOut == nil {
			continue
		}
		for _, v := range set.variants() {
			if v.set != set {
				refs[v.set]++
				if v.set.out != v.set {
					t.Errorf("variant of %v has an out set of its own", set.attrs.ASPath)
				}
			}
		}
	}
	total := int32(0)
	for set := range s.sets.all() {
		if set.refs != refs[set] {
			t.Errorf("set %v: %d references counted, %d held", set.attrs.ASPath, set.refs, refs[set])
		}
		total += set.refs
	}
	if int(total) != s.sets.refs {
		t.Errorf("reference total %d, table says %d", total, s.sets.refs)
	}
	// Every interned bit set is used, by exactly as many entries as it counts.
	bitTotal := 0
	interned := 0
	for h, x := range s.bits.m {
		for ; x != nil; x = x.next {
			interned++
			if x.h != h || x.b.hash()>>s.bits.shift != h || bitRefs[x] != x.refs {
				t.Errorf("interned bit set %v: %d references counted, %d used", x.b, x.refs, bitRefs[x])
			}
			for y := x.next; y != nil; y = y.next {
				if y.b.equal(x.b) {
					t.Errorf("bit set %v interned twice", x.b)
				}
			}
			bitTotal += int(x.refs)
		}
	}
	if len(bitRefs) != interned || interned != s.bits.n || bitTotal != s.bits.refs {
		t.Errorf("%d bit sets used, %d interned, table counts %d; %d references, table counts %d", len(bitRefs), interned, s.bits.n, bitTotal, s.bits.refs)
	}
	if routes != s.stats.routes || accepted != s.stats.accepted || adjEntries != s.stats.adjOutEntries {
		t.Errorf("counters: routes %d/%d accepted %d/%d adj-out %d/%d",
			routes, s.stats.routes, accepted, s.stats.accepted, adjEntries, s.stats.adjOutEntries)
	}
	checkASNIndex(t, s)
	checkTermIndex(t, s)
	for id, p := range s.peers {
		if p == nil {
			if n0, n1 := s.exported[0].get(id), s.exported[1].get(id); n0 != 0 || n1 != 0 {
				t.Errorf("free session id %d exports %d and %d prefixes", id, n0, n1)
			}
			continue
		}
		gotExp := [numFams]int{s.exportedOf(p, 0), s.exportedOf(p, 1)}
		if p.received != received[p] || p.accepted != acc[p] || gotExp != exported[p] {
			t.Errorf("session %v counters: received %v/%v accepted %v/%v exported %v/%v", p.addr,
				p.received, received[p], p.accepted, acc[p], gotExp, exported[p])
		}
		if p.preferred != preferred[p] {
			t.Errorf("session %v preferred %v, candidate lists say %v", p.addr, p.preferred, preferred[p])
		}
		want := filteredBy[p]
		if want == nil {
			want = new([numFams][ReasonSlots]int)
		}
		if p.filteredBy != *want {
			t.Errorf("session %v filtered by reason %v, routes say %v", p.addr, p.filteredBy, *want)
		}
	}
	// Graceful restart: a departed session holds routes only while stale, on its Peer's stale list,
	// of the families it keeps; a session with nothing left holds no id.
	for id, p := range s.peers {
		if p == nil {
			continue
		}
		if p.id != id {
			t.Errorf("session %v at id %d says %d", p.addr, id, p.id)
		}
		onList := slices.Contains(p.ss.stale, p)
		switch {
		case p.stale && (!p.down || !onList || p.nroutes == 0):
			t.Errorf("stale session %v: down %v, on its list %v, %d routes", p.addr, p.down, onList, p.nroutes)
		case !p.stale && (onList || (p.down && p.nroutes > 0)):
			t.Errorf("session %v not stale: on the stale list %v, down %v with %d routes", p.addr, onList, p.down, p.nroutes)
		case p.down && p.cleared && !p.stale:
			t.Errorf("session %v: cleared and not stale, but its id %d is held", p.addr, id)
		}
		var marked [numFams]int
		for _, r := range p.routes {
			if r != nil && p.stale && !p.staleFams[r.pe.fam()] {
				t.Errorf("stale session %v holds %v of a family it does not keep", p.addr, r.pe.prefix())
			}
			if r != nil && r.rrStale {
				marked[r.pe.fam()]++
			}
		}
		// Enhanced route refresh (refresh.go): the marks are counted, and only an open BoRR of a
		// live session holds any.
		for fi := range numFams {
			if marked[fi] != p.rrStale[fi] || (marked[fi] > 0 && !p.down && !p.rrActive[fi]) {
				t.Errorf("session %v family %d: %d routes marked by BoRR, counted %d, BoRR open %v",
					p.addr, fi, marked[fi], p.rrStale[fi], p.rrActive[fi])
			}
		}
	}
	for _, ss := range s.sessions {
		for _, o := range ss.stale {
			if o.ss != ss || s.peers[o.id] != o {
				t.Errorf("stale incarnation of %v not at its id", ss.addr)
			}
		}
	}
	// Change list: every prefix node once, markers never adjacent, counts right.
	n, markers := 0, 0
	inList := map[*prefixEntry]bool{}
	prevMarker := false
	seenMk := map[*marker]bool{}
	for x := s.cl.root.node.next; x != s.cl.end(); x = x.next {
		if mk := s.cl.markerOf(x); mk != nil {
			if x.entry() != nil || mk.head.fi != headFam {
				t.Errorf("a change-list node that is both a prefix and a marker")
			}
			if prevMarker {
				t.Errorf("adjacent markers in the change list")
			}
			if len(mk.peers) == 0 {
				t.Errorf("a marker without sessions in the change list")
			}
			markers++
			seenMk[mk] = true
			for i, p := range mk.peers {
				if p.mk != mk || p.mkIdx != i {
					t.Errorf("marker and session disagree")
				}
			}
			prevMarker = true
			continue
		}
		prevMarker = false
		pe := x.entry()
		if pe == nil || pe.fi == headFam {
			t.Fatalf("a change-list node that is neither a prefix nor a marker")
		}
		if s.prefixes.get(pe.prefix()) != pe {
			t.Errorf("%v in the change list but not in the prefix table", pe.prefix())
		}
		if inList[pe] {
			t.Errorf("%v twice in the change list", pe.prefix())
		}
		inList[pe] = true
		n++
	}
	for _, p := range s.peers {
		if p != nil && p.mk != nil && !seenMk[p.mk] {
			t.Errorf("session %v sits at a marker that is not in the change list", p.addr)
		}
	}
	if n != s.cl.len || markers != s.cl.markers {
		t.Errorf("change list: %d prefixes (%d counted), %d markers (%d counted)", n, s.cl.len, markers, s.cl.markers)
	}
}

// checkASNIndex: every route is in the route list of its set, every set's list holds only routes
// filed with it, and the AS index (asnindex.go) holds, per AS, exactly the sets with routes whose
// path carries it.
func checkASNIndex(t testing.TB, s *Server) {
	t.Helper()
	listed := map[*route]bool{}
	want := map[uint32]map[*attrSet]bool{}
	for set := range s.sets.all() { // every set of every hash chain
		if set.setIn == nil {
			continue
		}
		n := 0
		set.eachRoute(func(r *route) bool {
			if n++; n > 10_000_000 {
				t.Fatal("a set's route list does not end")
			}
			if r.set != set || listed[r] {
				t.Errorf("%v from %v: in the list of another set, or twice", r.pe.prefix(), r.p.addr)
			}
			listed[r] = true
			return true
		})
		if n == 0 {
			continue
		}
		for _, a := range set.setIn.asns {
			if a == 0 {
				continue
			}
			if want[a] == nil {
				want[a] = map[*attrSet]bool{}
			}
			want[a][set] = true
		}
	}
	got := map[uint32]map[*attrSet]bool{}
	for a, e := range s.sets.byASN {
		got[a] = map[*attrSet]bool{}
		e.each(func(set *attrSet) {
			if got[a][set] {
				t.Errorf("AS%d: a set indexed twice", a)
			}
			got[a][set] = true
		})
		if len(got[a]) != e.len() {
			t.Errorf("AS%d: %d sets, %d counted", a, len(got[a]), e.len())
		}
	}
	if !maps.EqualFunc(got, want, maps.Equal) {
		t.Errorf("AS index holds %d ASes, the sets with routes carry %d (or they differ)", len(got), len(want))
	}
	for _, p := range s.peers {
		if p == nil {
			continue
		}
		for _, r := range p.routes {
			if r != nil && !listed[r] {
				t.Errorf("%v from %v: not in its set's route list", r.pe.prefix(), p.addr)
			}
		}
	}
}

// checkAddPath counts the references ADD-PATH sessions hold (addpath.go) and, with synced, holds
// their tables to pathsFor: every prefix has exactly the paths it should, nothing is queued, and
// path identifiers are distinct.
func checkAddPath(t testing.TB, s *Server, refs map[*attrSet]int32, synced bool) {
	t.Helper()
	for _, p := range s.peers {
		if p == nil || p.ap == nil {
			continue
		}
		if p.down {
			t.Errorf("session %v: down with ADD-PATH state", p.addr)
		}
		n := 0
		for pfx, paths := range p.ap.out {
			n += len(paths)
			if len(paths) == 0 || len(paths) > p.ap.limit {
				t.Errorf("%v: session %v holds %d paths, limit %d", pfx, p.addr, len(paths), p.ap.limit)
			}
			ids := map[uint32]bool{}
			for _, x := range paths {
				refs[x.set]++
				if ids[x.id] {
					t.Errorf("%v: session %v holds path id %d twice", pfx, p.addr, x.id)
				}
				ids[x.id] = true
			}
			if synced && s.prefixes.get(pfx) == nil {
				t.Errorf("%v: session %v holds paths of a prefix the RIB does not have", pfx, p.addr)
			}
		}
		if n != p.ap.paths {
			t.Errorf("session %v: %d paths held, counted %d", p.addr, n, p.ap.paths)
		}
		if !synced {
			continue
		}
		if len(p.ap.queue) != 0 || len(p.ap.idx) != 0 {
			t.Errorf("session %v: %d ADD-PATH changes still queued", p.addr, len(p.ap.queue))
		}
		for pfx, pe := range s.prefixes.all() {
			if !p.ap.fams[pe.fam()] {
				continue
			}
			want := s.pathsFor(nil, pe, p)
			if got := p.ap.out[pfx]; !slices.Equal(got, want) {
				t.Errorf("%v: session %v holds paths %v, should hold %v", pfx, p.addr, got, want)
			}
		}
	}
}

// checkTermIndex holds the term index (termindex.go), once built, to one built afresh from the sets
// with routes: the same terms, each with the same sets, none twice.
func checkTermIndex(t testing.TB, s *Server) {
	t.Helper()
	got := s.sets.byTerm
	if got == nil {
		return
	}
	s.sets.byTerm = nil
	want := s.sets.terms()
	s.sets.byTerm = got
	sameTerms(t, "community", got.comm, want.comm)
	sameTerms(t, "extended community", got.ext, want.ext)
	sameTerms(t, "large community", got.large, want.large)
	sameTerms(t, "next hop", got.nh, want.nh)
}

func sameTerms[K comparable](t testing.TB, kind string, got, want map[K]*asnSets) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("term index: %d %s terms, the sets with routes carry %d", len(got), kind, len(want))
	}
	for k, w := range want {
		in := map[*attrSet]bool{}
		got[k].each(func(x *attrSet) {
			if in[x] {
				t.Errorf("term index, %s %v: a set filed twice", kind, k)
			}
			in[x] = true
		})
		w.each(func(x *attrSet) {
			if !in[x] {
				t.Errorf("term index, %s %v: a set with routes that carries it is missing", kind, k)
			}
		})
		if len(in) != w.len() {
			t.Errorf("term index, %s %v: %d sets, %d carry it", kind, k, len(in), w.len())
		}
	}
}

// interned reports whether x is the set t holds for its words.
func (t *bitsTable) interned(x *ibits) bool {
	for y := t.m[x.h]; y != nil; y = y.next {
		if y == x {
			return true
		}
	}
	return false
}
