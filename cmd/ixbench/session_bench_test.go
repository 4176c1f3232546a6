package main

import (
	"net/netip"
	"testing"

	"github.com/ixrs/ixrs/speaker"
)

// BenchmarkSessionUpdate is a simulated member taking in one UPDATE of one prefix, with the route's
// own attributes, the shape of a re-evaluation restore (2.5 million of them at 700 members × 400k):
// the route's hash, the prefix lookup and the check against the expected table. The load generator
// shares the machine's cores with the route server, so what it spends per UPDATE is time the daemon
// under test does not get. "read" is the long way, what the first receivers of a message do; "shared"
// is every later receiver, which takes what the message yields from the members' cache (rxcache.go).
func BenchmarkSessionUpdate(b *testing.B) {
	w, err := Generate(Spec{Name: "b", Members: 20, Routes: 50_000, Seed: 3})
	if err != nil {
		b.Fatal(err)
	}
	ix, chk, own := newIndex(w), newChecker(w), w.Own()
	tr := &tracker{chk: chk}
	chk.expect(w.AllActive(), announcedAll, nil)
	s := newSession(w.Members[0], nil, ix, tr, own[0])
	s.recheck()
	var msgs [][]byte
	for _, m := range w.Members[1:] {
		for _, g := range m.Groups {
			fam, nh := speaker.IPv4Unicast, g.Attrs.NextHop
			if g.Family == speaker.IPv6Unicast {
				fam, nh = speaker.IPv6Unicast, g.Attrs.MPNextHop
			}
			block := speaker.AppendAttrs(nil, g.Attrs, fam, encodeOpts)
			for _, p := range g.Prefixes {
				msg, n := speaker.AppendAnnounce(nil, fam, block, nh, netip.Addr{}, []netip.Prefix{w.Prefixes[p]}, speaker.MaxMessageLen)
				if n != 1 {
					b.Fatal("prefix not encoded")
				}
				msgs = append(msgs, msg[speaker.HeaderLen:])
			}
		}
	}
	msgs = msgs[:4000] // the prefixes of the 700-member VRP restore, each a message of its own
	run := func(b *testing.B, update func([]byte) error) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if err := update(msgs[i]); err != nil {
				b.Fatal(err)
			}
			if i++; i == len(msgs) {
				i = 0
			}
		}
		if s.wrong != "" {
			b.Fatal(s.wrong)
		}
	}
	b.Run("read", func(b *testing.B) {
		run(b, func(m []byte) error {
			s.mu.Lock()
			defer s.mu.Unlock()
			return s.read(m, nil)
		})
	})
	b.Run("shared", func(b *testing.B) {
		for range 2 { // the first two receivers of a message read it; the cache holds all of them
			for _, m := range msgs {
				if err := s.update(m); err != nil {
					b.Fatal(err)
				}
			}
		}
		run(b, s.update)
	})
}
