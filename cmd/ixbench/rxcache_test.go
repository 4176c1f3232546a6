package main

import (
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/ixrs/ixrs/speaker"
)

// rxMessages builds a stream of UPDATE bodies over workload w: every member's groups announced (several
// prefixes per message), routes no workload candidate matches (a changed MED), prefixes the workload
// lacks (an IPv4 one and an IPv6 /64), withdrawals, and mixed messages, shuffled.
func rxMessages(t *testing.T, w *Workload, rnd *rand.Rand) (msgs [][]byte, wrong int) {
	t.Helper()
	add := func(b []byte, n int) {
		if n == 0 {
			t.Fatal("nothing encoded")
		}
		msgs = append(msgs, b[speaker.HeaderLen:])
	}
	for _, m := range w.Members {
		for _, g := range m.Groups {
			fam, nh := speaker.IPv4Unicast, g.Attrs.NextHop
			if g.Family == speaker.IPv6Unicast {
				fam, nh = speaker.IPv6Unicast, g.Attrs.MPNextHop
			}
			var ps []netip.Prefix
			for _, p := range g.Prefixes {
				ps = append(ps, w.Prefixes[p])
			}
			block := speaker.AppendAttrs(nil, g.Attrs, fam, encodeOpts)
			for rest := ps; len(rest) > 0; {
				b, n := speaker.AppendAnnounce(nil, fam, block, nh, netip.Addr{}, rest, speaker.MaxMessageLen)
				add(b, n)
				rest = rest[n:]
			}
			switch rnd.IntN(4) {
			case 0: // the same prefixes with another MED: no candidate of theirs
				a := *g.Attrs
				a.MED, a.HasMED = a.MED+1, true
				b, n := speaker.AppendAnnounce(nil, fam, speaker.AppendAttrs(nil, &a, fam, encodeOpts), nh, netip.Addr{}, ps[:1], speaker.MaxMessageLen)
				add(b, n)
				wrong++
			case 1: // withdrawn, with a prefix the workload lacks
				extra := netip.MustParsePrefix("203.0.113.0/24")
				if fam == speaker.IPv6Unicast {
					extra = netip.MustParsePrefix("2001:db8:1:2::/64")
				}
				b, n := speaker.AppendWithdraw(nil, fam, append(ps[:len(ps):len(ps)], extra), speaker.MaxMessageLen)
				add(b, n)
			case 2: // announced with a prefix the workload lacks
				b, n := speaker.AppendAnnounce(nil, fam, block, nh, netip.Addr{}, append(ps[:1:1], netip.MustParsePrefix("198.51.100.0/24")), speaker.MaxMessageLen)
				if fam == speaker.IPv4Unicast {
					add(b, n)
				}
			}
		}
	}
	rnd.Shuffle(len(msgs), func(i, j int) { msgs[i], msgs[j] = msgs[j], msgs[i] })
	return msgs, wrong
}

// TestRxCacheMatchesReading feeds the same stream to every member twice over: once through update,
// which shares what a message yields between the members (rxcache.go), and once the long way (read) on
// sessions of their own. Every member must end up with the same table, counts, check state, failure
// report and re-evaluation watch either way, including the members that announced a route themselves
// (their loop detection drops it) and the routes no candidate matches (never cached).
func TestRxCacheMatchesReading(t *testing.T) {
	w, err := Generate(Spec{Name: "t", Members: 8, Routes: 4000, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	ix, own := newIndex(w), w.Own()
	chk := newChecker(w)
	chk.expect(w.AllActive(), announcedAll, nil)
	cached, long := &tracker{chk: chk}, &tracker{chk: chk}
	var cs, ls []*session
	change := make([]uint64, (len(w.Prefixes)+63)/64)
	for p := range w.Prefixes {
		if p%3 == 0 {
			set(change, uint32(p))
		}
	}
	for i, m := range w.Members {
		c, l := newSession(m, nil, ix, cached, own[i]), newSession(m, nil, ix, long, own[i])
		c.watch, l.watch = newWatch(change, own[i], true), newWatch(change, own[i], true)
		cs, ls = append(cs, c), append(ls, l)
	}
	// One more member, owning nothing, whose AS is in other members' paths (past their own AS): its loop
	// detection drops those routes, while the other members hold them.
	var loop Member
	for _, m := range w.Members {
		for _, g := range m.Groups {
			if p := g.Attrs.ASPath; loop.ASN == 0 && len(p) > 0 && len(p[0].ASNs) > 1 {
				loop = *m
				loop.ASN = p[0].ASNs[1]
			}
		}
	}
	if loop.ASN == 0 {
		t.Fatal("no path of two ASNs in the workload")
	}
	none := make([]uint64, len(change))
	c, l := newSession(&loop, nil, ix, cached, none), newSession(&loop, nil, ix, long, none)
	c.watch, l.watch = newWatch(change, none, true), newWatch(change, none, true)
	cs, ls = append(cs, c), append(ls, l)
	msgs, wrongMsgs := rxMessages(t, w, rand.New(rand.NewPCG(1, 2)))
	for _, b := range msgs {
		for i := range cs {
			if err := cs[i].update(b); err != nil {
				t.Fatal(err)
			}
			ls[i].mu.Lock()
			ls[i].watch.message()
			err := ls[i].read(b, nil)
			ls[i].mu.Unlock()
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	// A message is read the long way by its first two receivers, and by a third if one of them sent
	// it (its loop detection drops it); one with a route no candidate matches, by all of them.
	hits, updates := 0, 0
	for _, c := range cs {
		hits, updates = hits+c.shared, updates+c.updates
	}
	if min := (len(msgs) - wrongMsgs) * (len(cs) - 3); hits < min || updates != len(msgs)*len(cs) {
		t.Errorf("%d of %d UPDATEs taken from the cache for %d messages to %d members, want at least %d",
			hits, updates, len(msgs), len(cs), min)
	}
	if got, want := updatesShared(cs), float64(hits)/float64(updates); got != want {
		t.Errorf("updatesShared = %v, want %v", got, want)
	}
	wrongs := 0
	for i := range cs {
		c, l := cs[i], ls[i]
		if c.count != l.count || c.bad != l.bad || c.unknown != l.unknown || c.wrong != l.wrong {
			t.Errorf("member %d: count %d bad %d unknown %d wrong %q; read the long way: %d %d %d %q",
				i, c.count, c.bad, c.unknown, c.wrong, l.count, l.bad, l.unknown, l.wrong)
		}
		for p := range c.got {
			if c.got[p] != l.got[p] {
				t.Fatalf("member %d, prefix %s: state %d, read the long way %d", i, w.Prefixes[p], c.got[p], l.got[p])
			}
		}
		type counts struct{ msgs, prefixes, expected, unexpected, reversed, badMsgs int64 }
		of := func(w *watch) counts {
			return counts{w.msgs, w.prefixes, w.expected, w.unexpected, w.reversed, w.badMsgs}
		}
		if cw, lw := of(c.watch), of(l.watch); cw != lw || cw.unexpected == 0 || cw.expected == 0 {
			t.Errorf("member %d: watch %+v, read the long way %+v", i, cw, lw)
		}
		if c.unknown == 0 || c.wrong == "" || c.count == 0 {
			t.Errorf("member %d: the stream did not reach every case (unknown %d, wrong %q, count %d)", i, c.unknown, c.wrong, c.count)
		}
		if l.wrong != "" {
			wrongs++
		}
	}
	if wrongs != len(cs) {
		t.Errorf("%d of %d members report a wrong route", wrongs, len(cs))
	}
}
