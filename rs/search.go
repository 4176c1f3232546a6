package rs

import (
	"context"
	"fmt"
	"net/netip"
	"slices"

	"github.com/ixrs/ixrs/speaker"
)

// Searches across every member's Adj-RIB-In. A search that names an AS (by origin, anywhere in
// the path, or an AS-path pattern with an AS it requires), a community of any kind or a next hop
// reads an index: the AS index (asnindex.go) or the term index (termindex.go), whichever entry of
// the ones it names has the fewest sets, and, through each set's route list, their routes, in the
// order of the sets' hashes. Its work is the number of sets in the entry (a pointer read each) plus
// the routes it looks at, so a small answer on a large table is one short step, and a page is
// partial only when the answer itself is large. The only searches left that walk the sessions'
// slabs, a bounded part per page, are those that name none of these (an AS-path pattern that
// requires no AS, a family or a view alone).

// SearchQuery selects routes across every member's Adj-RIB-In. Every criterion set must hold (zero
// values match everything).
type SearchQuery struct {
	View   View           // ViewReceived (all), ViewAccepted or ViewFiltered
	Family speaker.Family // 0: both
	Origin uint32         // the origin AS (the last AS of the path)
	ASN    uint32         // an AS anywhere in the path
	// Path is the caller's compiled AS-path matcher. It runs on the RIB loop, once per attribute
	// set per page (not per route), so it must be pure, bounded in time and never keep the path.
	Path func(speaker.ASPath) bool
	// PathASNs are ASes that every path Path matches carries (the caller vouches for it): the
	// search then reads only the routes with the one of them that the fewest sets carry. They
	// select nothing by themselves.
	PathASNs         []uint32
	Communities      []uint32 // each must be present
	ExtCommunities   []uint64
	LargeCommunities []speaker.LargeCommunity
	NextHop          netip.Addr
	After            Cursor
	Limit            int // at most MaxPage; 0 means DefaultPage
	// Buf, when not nil, is where the page's routes are appended (to Buf[:0]), as in RoutesQuery.
	Buf []Route
}

// Search returns a page of the routes of all members that match q. A search that reads an index
// (one with Origin, ASN, PathASNs, a community of any kind or NextHop) returns them grouped by
// attribute set; a route present for the whole of a paged read is returned at most once, and is
// missed only when routes of its set filed before it leave between pages. Other searches return
// them grouped by session (the order of the session table, then of each
// session's Adj-RIB-In); a session that flaps while it is being paged through is read again from
// its first route; the others are not affected.
func (s *Server) Search(ctx context.Context, q SearchQuery) (RoutesPage, error) {
	j, err := newSearchJob(q)
	if err == nil {
		err = s.read(ctx, j, &j.readJob)
	}
	if err != nil {
		return RoutesPage{}, err
	}
	return j.page, nil
}

func newSearchJob(q SearchQuery) (*searchJob, error) {
	if q.View > ViewFiltered {
		return nil, fmt.Errorf("search: view %v: only received, accepted or filtered", q.View)
	}
	j := &searchJob{q: q, limit: pageLimit(q.Limit), pos: q.After, match: map[*attrSet]bool{}}
	j.page.Routes = q.Buf[:0]
	j.page.Next = -1
	return j, nil
}

// searchJob is one page of a search. Walking the slabs, its cursor is (session index, slot) with
// the incarnation of the session at that index; reading the AS index, it is (indexCursor, the hash
// of the set the page ended in, the routes of that hash already read).
type searchJob struct {
	readJob
	q     SearchQuery
	limit int
	pos   Cursor
	page  RoutesPage
	// match caches the attribute-set part of the query per set; last is the previous set looked
	// at (consecutive routes of a slab mostly share one).
	match   map[*attrSet]bool
	last    *attrSet
	lastHit bool
	// sets and routes count what the page read from the AS index (for tests).
	sets, routes int
}

// indexCursor marks a cursor into the AS index (a session index never reaches it).
const indexCursor = ^uint32(0)

// setsPerEntry: reading this many sets of an AS index entry (a pointer and a hash each) counts as
// one entry of a page's work.
const setsPerEntry = 16

// setMatches evaluates the set-level criteria once per run of routes with one set. The cheap ones
// (AS, communities) are evaluated again for each run; only the AS-path matcher's answer is kept per
// set for the page, and only for sets that pass the cheap ones: filling a map for every set a page
// reads cost more (its growth, and the collector's work on it) than the checks it saved.
func (j *searchJob) setMatches(set *attrSet) bool {
	if set == j.last {
		return j.lastHit
	}
	hit := j.cheapMatch(set)
	if hit && j.q.Path != nil {
		var ok bool
		if hit, ok = j.match[set]; !ok {
			hit = j.q.Path(set.attrs.ASPath)
			j.match[set] = hit
		}
	}
	j.last, j.lastHit = set, hit
	return hit
}

// cheapMatch checks the criteria other than the AS-path matcher.
func (j *searchJob) cheapMatch(set *attrSet) bool {
	q := &j.q
	path := set.policyPath()
	p := &path
	if q.Origin != 0 && p.Origin() != q.Origin || q.ASN != 0 && !p.Contains(q.ASN) {
		return false
	}
	for _, c := range q.Communities {
		if !slices.Contains(p.Communities, c) {
			return false
		}
	}
	for _, c := range q.ExtCommunities {
		if !slices.Contains(p.ExtCommunities, c) {
			return false
		}
	}
	for _, c := range q.LargeCommunities {
		if !slices.Contains(set.attrs.LargeCommunities, c) {
			return false
		}
	}
	return true
}

// routeMatches checks the route-level criteria (view, family, next hop).
func (j *searchJob) routeMatches(r *route) bool {
	q := &j.q
	if q.View != ViewReceived && (q.View == ViewAccepted) != r.accepted() {
		return false
	}
	fi := r.pe.fam()
	return (q.Family == 0 || families[fi] == q.Family) && (!q.NextHop.IsValid() || r.set.nextHop(fi) == q.NextHop)
}

// indexEntry returns the index entry the search reads: of the ASes it names (Origin, ASN,
// PathASNs) and its terms (communities, next hop), the one the fewest sets carry; nil when one of
// them no set carries. indexed is false when the search names none, and walks the slabs.
func (j *searchJob) indexEntry(s *Server) (e *asnSets, indexed bool) {
	pick := func(c *asnSets) {
		if !indexed || c.len() < e.len() {
			e, indexed = c, true
		}
	}
	for _, a := range append([]uint32{j.q.Origin, j.q.ASN}, j.q.PathASNs...) {
		if a != 0 {
			pick(s.sets.setsWith(a))
		}
	}
	if j.q.hasTerms() {
		built := s.sets.byTerm != nil
		x := s.sets.terms()
		if !built {
			j.spent(s, 1+s.sets.len()/setsPerEntry)
		}
		x.entries(&j.q, pick)
	}
	return e, indexed
}

func (j *searchJob) step(s *Server, budget int) (int, bool) {
	j.page.Gen = s.gen
	if e, ok := j.indexEntry(s); ok {
		return j.indexStep(s, e)
	}
	if j.pos.set && j.pos.a == indexCursor {
		j.err = fmt.Errorf("search: %w (from another kind of search)", ErrBadCursor)
		return 1, true
	}
	return j.scanStep(s, budget)
}

// indexStep reads the page from index entry e in one step: it takes the sets of the entry from
// the cursor's hash on, in hash order (a heap, so that a page orders only the sets it reads), and
// reads their routes until the page is full or its work bound (Config.ReadLimit) is reached. Every
// set the search can match is in e (each criterion must hold), so whichever entry the next page
// reads, the order of hashes, and with it the cursor, is the same.
func (j *searchJob) indexStep(s *Server, e *asnSets) (int, bool) {
	if j.pos.set && j.pos.a != indexCursor {
		j.err = fmt.Errorf("search: %w (from another kind of search)", ErrBadCursor)
		return 1, true
	}
	if e == nil {
		return max(j.work, 1), true
	}
	from, skip := j.pos.inc, int(j.pos.b)
	h := s.setHeap[:0] // the loop's scratch: read steps do not overlap
	n := 0
	e.each(func(set *attrSet) {
		n++
		if set.hash >= from {
			h = append(h, set)
		}
	})
	defer func(filled []*attrSet) {
		clear(filled) // the scratch keeps no set alive
		if cap(filled) <= maxSetHeap {
			s.setHeap = filled[:0]
		}
	}(h)
	j.sets += n
	j.spent(s, 1+n/setsPerEntry)
	h.init()
	var runHash uint64 // the hash of the sets being read, and the routes of that hash read so far
	runPos := 0
	for len(h) > 0 {
		if j.work >= s.cfg.ReadLimit { // partial: the next page starts at the next set
			next := Cursor{set: true, a: indexCursor, inc: h[0].hash}
			if next.inc == runHash {
				next.b = uint32(runPos)
			}
			j.page.More, j.page.Cursor = true, next
			break
		}
		set := h.pop()
		if set.hash != runHash {
			runHash, runPos = set.hash, 0
		}
		j.spent(s, 1)
		if !j.setMatches(set) {
			continue
		}
		full, more := false, false
		set.eachRoute(func(r *route) bool {
			if full {
				more = true
				return false
			}
			runPos++
			if runHash == from && runPos <= skip {
				return true // read by the previous page
			}
			j.routes++
			if j.routeMatches(r) {
				j.page.Routes = append(j.page.Routes, routeView(r))
			}
			full = len(j.page.Routes) >= j.limit || j.spent(s, 1)
			return true
		})
		if full {
			if j.page.More = more || len(h) > 0; j.page.More {
				j.page.Cursor = Cursor{set: true, a: indexCursor, inc: runHash, b: uint32(runPos)}
			}
			break
		}
	}
	return max(j.work, 1), true
}

// maxSetHeap bounds the scratch indexStep keeps between steps, in sets.
const maxSetHeap = 1 << 16

// setHeap orders sets by hash, least first.
type setHeap []*attrSet

func (h setHeap) init() {
	for i := len(h)/2 - 1; i >= 0; i-- {
		h.down(i)
	}
}

func (h setHeap) down(i int) {
	for {
		l := 2*i + 1
		if l >= len(h) {
			return
		}
		if r := l + 1; r < len(h) && h[r].hash < h[l].hash {
			l = r
		}
		if h[i].hash <= h[l].hash {
			return
		}
		h[i], h[l] = h[l], h[i]
		i = l
	}
}

func (h *setHeap) pop() *attrSet {
	old := *h
	top := old[0]
	last := len(old) - 1
	old[0] = old[last]
	old[last] = nil
	*h = old[:last]
	h.down(0)
	return top
}

// scanStep walks the sessions' slabs from the cursor, up to budget entries.
func (j *searchJob) scanStep(s *Server, budget int) (int, bool) {
	a, b := int(j.pos.a), int(j.pos.b)
	used := 0
	finish := func(more bool) (int, bool) {
		if j.page.More = more; more {
			j.page.Cursor = j.pos
		}
		return max(used, 1), true
	}
	for used < budget {
		if a >= len(s.peers) {
			return finish(false)
		}
		p := s.peers[a]
		if p == nil || (p.down && !p.stale) || b >= len(p.routes) {
			a, b = a+1, 0
			j.pos = Cursor{set: true, a: uint32(a)}
			used++
			continue
		}
		if j.pos.inc != p.inc {
			b = 0 // another incarnation holds this index now: read it from its start
			j.pos.inc = p.inc
		}
		r := p.routes[b]
		b++
		used++
		j.pos.set, j.pos.a, j.pos.b = true, uint32(a), uint32(b)
		if r != nil && j.routeMatches(r) && j.setMatches(r.set) {
			j.page.Routes = append(j.page.Routes, routeView(r))
		}
		if len(j.page.Routes) >= j.limit || j.spent(s, 1) {
			return finish(b < len(p.routes) || a+1 < len(s.peers))
		}
	}
	return used, false
}
