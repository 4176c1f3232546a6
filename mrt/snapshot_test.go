package mrt

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/ixrs/ixrs/policy"
	"github.com/ixrs/ixrs/rs"
	"github.com/ixrs/ixrs/speaker"
)

// refSnapshot is the plain meaning of a snapshot: sessions, each with a map of its routes, every
// event applied as it comes. The log-structured snapshot must write exactly what it holds.
type refSnapshot struct {
	sessions map[sessionKey]*refSession
}

type refRoute struct {
	attrs    *speaker.Attrs
	filtered bool
}

type refSession struct {
	peer   Peer
	since  time.Time
	routes map[netip.Prefix]refRoute
}

func (s *refSnapshot) apply(ev *rs.Event) {
	k := sessionKey{ev.Neighbor, ev.Incarnation}
	switch ev.Kind {
	case rs.EventSyncStart:
		clear(s.sessions)
	case rs.EventSessionUp:
		s.sessions[k] = &refSession{peer: Peer{Addr: ev.Neighbor, ASN: ev.ASN, RouterID: ev.Session.Info.RouterID},
			since: ev.Session.Since, routes: map[netip.Prefix]refRoute{}}
	case rs.EventSessionDown:
		if !ev.Session.Stale {
			delete(s.sessions, k)
		}
	case rs.EventRoute:
		if ss := s.sessions[k]; ss != nil {
			if ev.Attrs == nil {
				delete(ss.routes, ev.Prefix)
			} else {
				ss.routes[ev.Prefix] = refRoute{attrs: ev.Attrs, filtered: ev.Reasons != 0}
			}
		}
	}
}

// lines renders what a dump of accepted (or filtered) routes holds: prefix, peer, time, attributes.
func (s *refSnapshot) lines(accepted bool) []string {
	var out []string
	for _, ss := range s.sessions {
		for p, r := range ss.routes {
			if r.filtered != accepted {
				out = append(out, fmt.Sprintf("%s %s %d %p", p, ss.peer.Addr, ss.since.Unix(), r.attrs))
			}
		}
	}
	slices.Sort(out)
	return out
}

func snapLines(t *testing.T, peers []Peer, tab *table, accepted bool) []string {
	t.Helper()
	var out []string
	var last netip.Prefix
	err := tab.each(accepted, func(p netip.Prefix, es []Entry) error {
		if last.IsValid() && !(p.Addr().Is4() && last.Addr().Is6()) &&
			(last.Addr().Compare(p.Addr()) > 0 || last == p) {
			t.Errorf("prefix %s after %s", p, last)
		}
		last = p
		for i, e := range es {
			if i > 0 && es[i-1].Peer >= e.Peer {
				t.Errorf("%s: entries not in peer index order", p)
			}
			out = append(out, fmt.Sprintf("%s %s %d %p", p, peers[e.Peer].Addr, e.Originated.Unix(), e.Attrs))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

// TestSnapshotMatchesReference applies random event streams (replays with live events
// interleaved, withdrawals, verdict changes, sessions going down hard or gracefully, coming up
// twice, resyncs) to the snapshot and to the reference, and requires the same dump of both.
func TestSnapshotMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	addrs := []netip.Addr{netip.MustParseAddr("192.0.2.3"), netip.MustParseAddr("192.0.2.1"),
		netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("192.0.2.2")}
	prefixes := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("10.0.0.0/24"),
		netip.MustParsePrefix("9.0.0.0/8"), netip.MustParsePrefix("2001:db8::/32"), netip.MustParsePrefix("::/0"),
		netip.MustParsePrefix("0.0.0.0/0"), netip.MustParsePrefix("2001:db8::/48")}
	attrs := []*speaker.Attrs{{Origin: speaker.OriginIGP}, {Origin: speaker.OriginEGP}, {Origin: speaker.OriginIncomplete}}
	for round := range 1000 {
		snap := newSnapshot(0, 0)
		ref := &refSnapshot{sessions: map[sessionKey]*refSession{}}
		inc := map[netip.Addr]uint64{}
		for range 1 + rng.IntN(200) {
			a := addrs[rng.IntN(len(addrs))]
			if inc[a] == 0 || rng.IntN(20) == 0 {
				inc[a]++ // a new incarnation; the old one's events may still come
			}
			ev := rs.Event{Neighbor: a, Incarnation: inc[a] - uint64(rng.IntN(2)), ASN: 64500 + uint32(a.As16()[15])}
			switch x := rng.IntN(100); {
			case x < 3:
				ev.Kind = rs.EventSyncStart
			case x < 10:
				ev.Kind = rs.EventSessionUp
				ev.Session = &rs.SessionEvent{Since: time.Unix(int64(1000+rng.IntN(5)), 0)}
			case x < 14:
				ev.Kind = rs.EventSessionDown
				ev.Session = &rs.SessionEvent{Stale: rng.IntN(2) == 0}
			default:
				ev.Kind = rs.EventRoute
				ev.Prefix = prefixes[rng.IntN(len(prefixes))]
				if rng.IntN(4) > 0 {
					ev.Attrs = attrs[rng.IntN(len(attrs))]
					if rng.IntN(3) == 0 {
						ev.Reasons = policy.Reasons(1)
					}
				}
			}
			if done, err := snap.apply(&ev); done || err != nil {
				t.Fatalf("apply: %v, %v before the end", done, err)
			}
			ref.apply(&ev)
		}
		if done, err := snap.apply(&rs.Event{Kind: rs.EventSyncDone}); !done || err != nil {
			t.Fatalf("sync done: %v, %v", done, err)
		}
		peers, index := snap.peers()
		tab := snap.sorted(peers, index)
		for _, acc := range []bool{true, false} {
			got, want := snapLines(t, peers, tab, acc), ref.lines(acc)
			if !slices.Equal(got, want) {
				t.Fatalf("round %d accepted=%v:\n got %q\nwant %q", round, acc, got, want)
			}
		}
	}
}

// The attribute cache writes the bytes AppendRIB encodes, for both families, whether the set is
// new to the cache or not.
func TestAttrCacheSameBytes(t *testing.T) {
	a := &speaker.Attrs{Origin: speaker.OriginIGP, NextHop: netip.MustParseAddr("192.0.2.1"),
		MPNextHop: netip.MustParseAddr("2001:db8::1"), MPLinkLocal: netip.MustParseAddr("fe80::1"),
		ASPath:      speaker.ASPath{{Type: speaker.SegSequence, ASNs: []uint32{64501, 4200000001}}},
		Communities: []uint32{65000<<16 | 100}}
	b := &speaker.Attrs{Origin: speaker.OriginEGP, NextHop: netip.MustParseAddr("192.0.2.2"),
		MPNextHop: netip.MustParseAddr("2001:db8::2"), ASPath: speaker.ASPath{{Type: speaker.SegSequence, ASNs: []uint32{64502}}}}
	ts := time.Unix(1796385600, 0)
	enc := newAttrCache()
	for round := range 2 {
		for _, p := range []string{"203.0.113.0/24", "2001:db8:1::/48"} {
			es := []Entry{{Peer: 0, Originated: ts, Attrs: a}, {Peer: 1, Originated: ts, Attrs: b}, {Peer: 2, Originated: ts, Attrs: a}}
			want, err := AppendRIB(nil, ts, 7, netip.MustParsePrefix(p), es)
			if err != nil {
				t.Fatal(err)
			}
			got, err := appendRIB(nil, ts, 7, netip.MustParsePrefix(p), es, enc)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != string(want) {
				t.Errorf("round %d %s: cached encoding\n%x\nwant\n%x", round, p, got, want)
			}
		}
	}
	if len(enc.at) != 4 {
		t.Errorf("cache holds %d encodings, want 4 (two sets, two families)", len(enc.at))
	}
}
