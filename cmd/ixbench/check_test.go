package main

import (
	"encoding/binary"
	"net/netip"
	"slices"
	"testing"

	"github.com/ixrs/ixrs/speaker"
)

// checkFixture is a small workload with one session per member, tracked by a checker, fed UPDATEs
// directly (no daemon).
type checkFixture struct {
	w   *Workload
	chk *checker
	tr  *tracker
	ss  []*session
}

func newCheckFixture(t *testing.T) *checkFixture {
	t.Helper()
	w, err := Generate(Spec{Name: "t", Members: 6, Routes: 3000, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	ix := newIndex(w)
	f := &checkFixture{w: w, chk: newChecker(w)}
	f.tr = &tracker{chk: f.chk}
	own := w.Own()
	for i, m := range w.Members {
		f.ss = append(f.ss, newSession(m, nil, ix, f.tr, own[i]))
	}
	return f
}

// deliver feeds receiver r the UPDATE that announces prefix p with attributes a (next hop nh).
func (f *checkFixture) deliver(t *testing.T, r int, p uint32, a *speaker.Attrs) {
	t.Helper()
	fam, nh := speaker.IPv4Unicast, a.NextHop
	if f.w.Prefixes[p].Addr().Is6() {
		fam, nh = speaker.IPv6Unicast, a.MPNextHop
	}
	msg, n := speaker.AppendAnnounce(nil, fam, speaker.AppendAttrs(nil, a, fam, encodeOpts), nh, netip.Addr{},
		[]netip.Prefix{f.w.Prefixes[p]}, speaker.MaxMessageLen)
	if n != 1 {
		t.Fatal("prefix not encoded")
	}
	if err := f.ss[r].update(msg[speaker.HeaderLen:]); err != nil {
		t.Fatal(err)
	}
}

func (f *checkFixture) withdraw(t *testing.T, r int, p uint32) {
	t.Helper()
	fam := speaker.IPv4Unicast
	if f.w.Prefixes[p].Addr().Is6() {
		fam = speaker.IPv6Unicast
	}
	msg, _ := speaker.AppendWithdraw(nil, fam, []netip.Prefix{f.w.Prefixes[p]}, speaker.MaxMessageLen)
	if err := f.ss[r].update(msg[speaker.HeaderLen:]); err != nil {
		t.Fatal(err)
	}
}

// attrsOf returns member m's attributes for prefix p.
func (f *checkFixture) attrsOf(m int, p uint32) *speaker.Attrs {
	for _, g := range f.w.Members[m].Groups {
		if slices.Contains(g.Prefixes, p) {
			return g.Attrs
		}
	}
	return nil
}

// best returns, for prefix p, an announcer with the shortest path, and one with a longer path (or -1).
func (f *checkFixture) best(p uint32) (best, worse int) {
	best, worse = -1, -1
	bl := 1000
	for _, m := range f.w.Announcers[p] {
		if l := f.attrsOf(int(m), p).ASPath.Len(); l < bl {
			best, bl = int(m), l
		}
	}
	for _, m := range f.w.Announcers[p] {
		if f.attrsOf(int(m), p).ASPath.Len() > bl {
			worse = int(m)
		}
	}
	return best, worse
}

// feedAll gives receiver r the expected table: for each prefix it does not announce, a best route.
func (f *checkFixture) feedAll(t *testing.T, r int) {
	t.Helper()
	for p, ann := range f.w.Announcers {
		if slices.Contains(ann, int32(r)) {
			continue
		}
		b, _ := f.best(uint32(p))
		f.deliver(t, r, uint32(p), f.attrsOf(b, uint32(p)))
	}
}

// receiverFor returns a multi-homed prefix with a strictly best route and a worse one, and a member
// announcing neither.
func (f *checkFixture) receiverFor(t *testing.T) (p uint32, best, worse, r int) {
	t.Helper()
	for pi, ann := range f.w.Announcers {
		b, wz := f.best(uint32(pi))
		if len(ann) < 2 || wz < 0 {
			continue
		}
		for m := range f.w.Members {
			if !slices.Contains(ann, int32(m)) {
				return uint32(pi), b, wz, m
			}
		}
	}
	t.Fatal("workload has no multi-homed prefix with a strictly best route")
	return
}

// settle makes receiver r hold what the checker expects, except for the prefixes in skip.
func (f *checkFixture) settle(t *testing.T, r int, skip ...uint32) {
	t.Helper()
	for p, ann := range f.w.Announcers {
		if slices.Contains(ann, int32(r)) || slices.Contains(skip, uint32(p)) || f.chk.match(uint32(p), f.ss[r].got[p]) {
			continue
		}
		e := f.chk.pre[p].exp
		if e == 0 {
			f.withdraw(t, r, uint32(p))
			continue
		}
		for k, m := range ann {
			if e&(1<<(candID(k, false)-1)) != 0 {
				f.deliver(t, r, uint32(p), f.attrsOf(int(m), uint32(p)))
				break
			}
			if e&(1<<(candID(k, true)-1)) != 0 {
				f.deliver(t, r, uint32(p), worsened(f.attrsOf(int(m), uint32(p)), f.w.Members[m].ASN))
				break
			}
		}
	}
}

func (f *checkFixture) phase(active []bool, present, worse func(int, uint32) bool) <-chan struct{} {
	f.chk.expect(active, present, worse)
	return f.tr.phase(f.ss, f.w.Expected(active, present))
}

func done(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func TestCheckerCompleteTable(t *testing.T) {
	f := newCheckFixture(t)
	all := f.w.AllActive()
	ch := f.phase(all, announcedAll, nil)
	for r := range f.ss {
		f.feedAll(t, r)
	}
	if !done(ch) {
		c, tg, bad := f.ss[0].snapshot()
		t.Fatalf("every member holds the expected table, but the phase is not done (count %d target %d bad %d)", c, tg, bad)
	}
}

// A route with the right prefix but an attribute changed (as a daemon rewriting the next hop or dropping
// MED would) must keep the phase open, although the count is right.
func TestCheckerWrongAttributes(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(a *speaker.Attrs)
	}{
		{"next hop", func(a *speaker.Attrs) {
			a.NextHop = netip.MustParseAddr("127.1.255.254")
			a.MPNextHop = netip.MustParseAddr("::1")
		}},
		{"MED", func(a *speaker.Attrs) { a.HasMED, a.MED = true, a.MED+1 }},
		{"community", func(a *speaker.Attrs) { a.Communities = append(slices.Clone(a.Communities), 0xfde80001) }},
		{"large community", func(a *speaker.Attrs) {
			a.LargeCommunities = append(slices.Clone(a.LargeCommunities), speaker.LargeCommunity{Global: 1, Local1: 2, Local2: 3})
		}},
		{"AS path", func(a *speaker.Attrs) { a.ASPath = worsened(a, 64512).ASPath }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newCheckFixture(t)
			ch := f.phase(f.w.AllActive(), announcedAll, nil)
			for r := range f.ss {
				f.feedAll(t, r)
			}
			p, b, _, r := f.receiverFor(t)
			a := *f.attrsOf(b, p)
			tc.change(&a)
			f.deliver(t, r, p, &a)
			if c, tg, bad := f.ss[r].snapshot(); c != tg || bad != 1 {
				t.Fatalf("count %d target %d bad %d, want count = target and 1 bad", c, tg, bad)
			}
			// done was closed when the table was complete; a new phase with the same expectation must
			// not finish while the wrong route is held, and must once the right one replaces it.
			_ = ch
			ch = f.phase(f.w.AllActive(), announcedAll, nil)
			if done(ch) {
				t.Fatal("phase done with a wrong route held")
			}
			f.deliver(t, r, p, f.attrsOf(b, p))
			if !done(ch) {
				t.Fatal("phase not done after the right route replaced the wrong one")
			}
		})
	}
}

// A member holding the second-best route of a multi-homed prefix is not converged; after the best-move
// phase's worsening, the second best is what it must hold.
func TestCheckerBestRoute(t *testing.T) {
	f := newCheckFixture(t)
	all := f.w.AllActive()
	p, b, wz, r := f.receiverFor(t)
	f.phase(all, announcedAll, nil)
	for q := range f.ss {
		f.feedAll(t, q)
	}
	f.deliver(t, r, p, f.attrsOf(wz, p))
	ch := f.phase(all, announcedAll, nil)
	if done(ch) {
		t.Fatal("phase done while a member holds a route that is not the best")
	}
	f.deliver(t, r, p, f.attrsOf(b, p))
	if !done(ch) {
		t.Fatal("not done after the best route arrived")
	}

	moves, worse := f.chk.bestMoves()
	if !slices.Contains(moves[b], p) || worse(wz, p) {
		t.Fatalf("best move of %s: moves of best member %v, worse(second) %v", f.w.Prefixes[p], moves[b], worse(wz, p))
	}
	ch = f.phase(all, announcedAll, worse)
	if done(ch) {
		t.Fatal("best-move phase done before any member switched")
	}
	// The worsened route itself is not acceptable: the next best is.
	f.deliver(t, r, p, worsened(f.attrsOf(b, p), f.w.Members[b].ASN))
	if _, _, bad := f.ss[r].snapshot(); bad == 0 {
		t.Fatal("the worsened route was accepted as best")
	}
}

// Withdrawals first, then announcements: the count passes through the target with the wrong prefix
// set, and the phase must not end there.
func TestCheckerWithdrawFirstDoesNotEndEarly(t *testing.T) {
	f := newCheckFixture(t)
	all := f.w.AllActive()
	f.phase(all, announcedAll, nil)
	for q := range f.ss {
		f.feedAll(t, q)
	}
	present := f.w.churnWithdrawn() // present(m, p): m still announces p once the churn has withdrawn
	// Find member r and two prefixes it holds: one the churn withdraws (single announcer), one it keeps.
	r, gone, kept := -1, uint32(0), uint32(0)
	for q := range f.ss {
		g, k := -1, -1
		for p, ann := range f.w.Announcers {
			if len(ann) != 1 || int(ann[0]) == q {
				continue
			}
			if !present(int(ann[0]), uint32(p)) && g < 0 {
				g = p
			} else if present(int(ann[0]), uint32(p)) && k < 0 {
				k = p
			}
		}
		if g >= 0 && k >= 0 {
			r, gone, kept = q, uint32(g), uint32(k)
			break
		}
	}
	if r < 0 {
		t.Fatal("no member with a churned and a kept prefix")
	}
	ch := f.phase(all, present, nil)
	// Withdraw a kept prefix and leave the churned one: with everything else as expected, the count
	// equals the target while the set is wrong.
	for q := range f.ss {
		if q != r {
			f.settle(t, q)
		}
	}
	f.settle(t, r, gone)
	f.withdraw(t, r, kept)
	if c, tg, _ := f.ss[r].snapshot(); c != tg {
		t.Fatalf("fixture: count %d, target %d; want them equal with the wrong set", c, tg)
	}
	if _, _, bad := f.ss[r].snapshot(); bad != 2 {
		t.Fatalf("bad = %d, want 2 (one prefix missing, one extra)", bad)
	}
	if done(ch) {
		t.Fatal("phase done with the right count and the wrong prefix set")
	}
	for q := range f.ss {
		f.settle(t, q)
	}
	if !done(ch) {
		t.Fatal("phase not done once the set is right")
	}
}

func TestRouteWireRoundTrip(t *testing.T) {
	a := &speaker.Attrs{Origin: speaker.OriginIGP,
		ASPath:           speaker.ASPath{{Type: speaker.SegSequence, ASNs: []uint32{210000, 3356, 400000}}},
		NextHop:          netip.MustParseAddr("198.18.0.1"),
		HasMED:           true,
		MED:              7,
		Communities:      []uint32{0xfc000002, 0xfc000001},
		LargeCommunities: []speaker.LargeCommunity{{Global: 210000, Local1: 2, Local2: 1}, {Global: 210000, Local1: 1, Local2: 9}}}
	var want route
	want.fromAttrs(a, a.NextHop, 0)
	block := speaker.AppendAttrs(nil, a, speaker.IPv4Unicast, encodeOpts)
	msg, _ := speaker.AppendAnnounce(nil, speaker.IPv4Unicast, block, a.NextHop, netip.Addr{},
		[]netip.Prefix{netip.MustParsePrefix("11.0.0.0/24")}, speaker.MaxMessageLen)
	body := msg[speaker.HeaderLen:]
	wl := int(binary.BigEndian.Uint16(body))
	al := int(binary.BigEndian.Uint16(body[2+wl:]))
	var got route
	if !got.fromWire(body[4+wl:4+wl+al], false, false) {
		t.Fatal("fromWire failed")
	}
	if got.hash() != want.hash() {
		t.Fatalf("hash differs:\n got  %s\n want %s", got.String(), want.String())
	}
	// Communities in another order are the same route; a worsened path is not.
	b := *a
	b.Communities = []uint32{0xfc000001, 0xfc000002}
	var r route
	r.fromAttrs(&b, b.NextHop, 0)
	if r.hash() != want.hash() {
		t.Error("community order changed the hash")
	}
	r.fromAttrs(a, a.NextHop, 210000)
	if r.hash() == want.hash() || r.pathLen() != 3+worsenPrepend {
		t.Errorf("worsened route: same hash or path length %d", r.pathLen())
	}
}

// FuzzSessionUpdate feeds the member's receive path (UPDATE scan and route decoding, check.go) arbitrary
// UPDATE bodies: it must not panic, and its bookkeeping must stay consistent.
func FuzzSessionUpdate(f *testing.F) {
	w, err := Generate(Spec{Name: "t", Members: 3, Routes: 600, Seed: 9})
	if err != nil {
		f.Fatal(err)
	}
	enc := w.Encode()
	for _, e := range enc {
		for b, n := e.Table, 0; len(b) > 0 && n < 4; n++ {
			l := int(binary.BigEndian.Uint16(b[16:]))
			f.Add(b[speaker.HeaderLen:l])
			b = b[l:]
		}
		if len(e.Withdraw) > 0 {
			l := int(binary.BigEndian.Uint16(e.Withdraw[16:]))
			f.Add(e.Withdraw[speaker.HeaderLen:l])
		}
	}
	f.Add([]byte{0, 0, 0, 0})
	f.Add([]byte{0, 0, 0, 7, 0x40, 2, 4, 2, 1, 0, 0})
	ix := newIndex(w)
	chk := newChecker(w)
	own := w.Own()
	f.Fuzz(func(t *testing.T, body []byte) {
		tr := &tracker{chk: chk}
		chk.expect(w.AllActive(), announcedAll, nil)
		s := newSession(w.Members[0], enc[0], ix, tr, own[0])
		s.recheck()
		s.update(body)
		held := 0
		for _, g := range s.got {
			if g != 0 {
				held++
			}
		}
		bad := s.bad
		s.recheck()
		if held != s.count || bad != s.bad {
			t.Fatalf("count %d, held %d; bad %d, recounted %d", s.count, held, bad, s.bad)
		}
	})
}

// TestRouteWireRouteServerCommunities: the route server's own large communities (RS:1000:N) are left
// out of a received route's hash, except in the realistic workload (keepRS), whose expected routes
// carry the RPKI state every daemon adds; a daemon that does not add it must then fail the check.
func TestRouteWireRouteServerCommunities(t *testing.T) {
	a := &speaker.Attrs{Origin: speaker.OriginIGP,
		ASPath:  speaker.ASPath{{Type: speaker.SegSequence, ASNs: []uint32{210000, 400000}}},
		NextHop: netip.MustParseAddr("198.18.0.1")}
	tagged := *a
	tagged.LargeCommunities = []speaker.LargeCommunity{{Global: RSASN, Local1: infoRPKI, Local2: rpkiNotFound}}
	attrsOf := func(a *speaker.Attrs) []byte {
		block := speaker.AppendAttrs(nil, a, speaker.IPv4Unicast, encodeOpts)
		msg, _ := speaker.AppendAnnounce(nil, speaker.IPv4Unicast, block, a.NextHop, netip.Addr{},
			[]netip.Prefix{netip.MustParsePrefix("11.0.0.0/24")}, speaker.MaxMessageLen)
		body := msg[speaker.HeaderLen:]
		wl := int(binary.BigEndian.Uint16(body))
		al := int(binary.BigEndian.Uint16(body[2+wl:]))
		return body[4+wl : 4+wl+al]
	}
	var plain, withTag route
	plain.fromAttrs(a, a.NextHop, 0)
	withTag.fromAttrs(&tagged, a.NextHop, 0)
	var got route
	if !got.fromWire(attrsOf(&tagged), false, false) || got.hash() != plain.hash() {
		t.Errorf("without keepRS the route server's community counts: %s", got.String())
	}
	if !got.fromWire(attrsOf(&tagged), false, true) || got.hash() != withTag.hash() {
		t.Errorf("with keepRS the route server's community is dropped: %s", got.String())
	}
	if !got.fromWire(attrsOf(a), false, true) || got.hash() == withTag.hash() {
		t.Error("with keepRS a route without the RPKI state matches one with it")
	}
}
