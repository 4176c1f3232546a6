package rs

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"

	"github.com/ixrs/ixrs/speaker"
)

// bigAttrs returns attributes of m whose encoding takes more than 4,096 bytes: 400 large
// communities are 4,800 bytes.
func bigAttrs(m *tmember) *speaker.Attrs {
	a := m.attrs()
	for i := range 400 {
		a.LargeCommunities = append(a.LargeCommunities, speaker.LargeCommunity{Global: m.asn, Local1: 1, Local2: uint32(i)})
	}
	return a
}

// The ways a session is served: in a cohort when caught up, on its own (pull, reconcile, pending,
// flush) when behind.
var servePaths = []struct {
	name      string
	noCohorts bool
}{{"cohort", false}, {"single", true}}

// TestOversizedRouteWithdrawn: member X replaces its route A for a prefix by route B, whose
// attributes do not fit a 4,096-byte message. The receiver limited to 4,096 bytes must end with no
// route for the prefix (not A, which X no longer announces), counted as unsendable; the receiver
// with extended messages (RFC 8654) gets B. When X goes back to a small route, both get it.
func TestOversizedRouteWithdrawn(t *testing.T) {
	for _, sp := range servePaths {
		t.Run(sp.name, func(t *testing.T) {
			s := newTestServer(t, func(c *Config) { c.noCohorts = sp.noCohorts })
			x := addMember(t, s, "X", 64501, "192.0.2.11")
			r4 := addMember(t, s, "R4", 64502, "192.0.2.12")
			r64 := addMember(t, s, "R64", 64503, "192.0.2.13", func(i *SessionInfo) { i.Encode.MaxMessage = speaker.MaxExtendedMessage })
			const pfx = "203.0.113.0/24"
			x.announce(x.attrs(65001), pfx, "198.51.100.0/24")
			readAll(t, s, x, r4, r64)
			if r4.from(pfx) != 64501 || r64.from(pfx) != 64501 {
				t.Fatalf("route A not received: R4 %v, R64 %v", r4.has(pfx), r64.has(pfx))
			}

			big := bigAttrs(x)
			x.announce(big, pfx)
			readAll(t, s, x, r4, r64)
			if got := r4.has(pfx); got != nil {
				t.Errorf("R4 (4,096-byte messages) still holds %v with %d large communities; want no route",
					got.ASPath, len(got.LargeCommunities))
			}
			if got := r64.has(pfx); got == nil || len(got.LargeCommunities) != len(big.LargeCommunities) {
				t.Errorf("R64 (extended messages) holds %v, want route B", got)
			}
			if r4.has("198.51.100.0/24") == nil {
				t.Errorf("R4 lost the other prefix")
			}
			p4 := r4.ss.p
			if p4.unsendable != 1 {
				t.Errorf("R4 unsendable %d, want 1", p4.unsendable)
			}
			if r64.ss.p.unsendable != 0 {
				t.Errorf("R64 unsendable %d, want 0", r64.ss.p.unsendable)
			}
			pe := s.prefixes.get(netip.MustParsePrefix(pfx))
			if pe.outFor(p4.id) != nil || s.exportedOf(p4, 0) != 1 {
				t.Errorf("R4's Adj-RIB-Out holds a set for the prefix (%v), exports %d", pe.outFor(p4.id) != nil, s.exportedOf(p4, 0))
			}

			// A route refresh must not bring A back either.
			r4.ss.RouteRefresh(speaker.IPv4Unicast)
			readAll(t, s, x, r4, r64)
			if got := r4.has(pfx); got != nil {
				t.Errorf("after refresh R4 holds %v", got.ASPath)
			}

			x.announce(x.attrs(65002), pfx)
			readAll(t, s, x, r4, r64)
			for _, m := range []*tmember{r4, r64} {
				if got := m.has(pfx); got == nil || got.ASPath.String() != "64501 65002" {
					t.Errorf("%v holds %v, want the small route", m, got)
				}
			}
		})
	}
}

// TestOversizedRouteFromStart: a receiver that comes up while the oversized route is in the table
// never gets it, and gets the rest of the table and End-of-RIB.
func TestOversizedRouteFromStart(t *testing.T) {
	for _, sp := range servePaths {
		t.Run(sp.name, func(t *testing.T) {
			s := newTestServer(t, func(c *Config) { c.noCohorts = sp.noCohorts })
			x := addMember(t, s, "X", 64501, "192.0.2.11")
			x.announce(bigAttrs(x), "203.0.113.0/24")
			x.announce(x.attrs(), "198.51.100.0/24")
			settle(t, s)
			r4 := addMember(t, s, "R4", 64502, "192.0.2.12")
			readAll(t, s, x, r4)
			if r4.has("203.0.113.0/24") != nil || r4.has("198.51.100.0/24") == nil || r4.eor[speaker.IPv4Unicast] != 1 {
				t.Errorf("R4 holds %v, End-of-RIB %v", r4.rib, r4.eor)
			}
			if r4.ss.p.unsendable != 1 {
				t.Errorf("R4 unsendable %d, want 1", r4.ss.p.unsendable)
			}
		})
	}
}

// TestWithdrawalNeverDropped: a withdrawal is sent whatever the session's message size says. A
// session's limit is at least 4,096 bytes (RFC 4271 §4.1; Peer.Up raises a smaller one), where one
// withdrawn prefix always fits; the packer holds to that itself rather than trust its caller, so a
// limit too small to carry anything still cannot lose a withdrawal.
func TestWithdrawalNeverDropped(t *testing.T) {
	for _, sp := range servePaths {
		for _, v6 := range []bool{false, true} {
			name := sp.name + "-ipv4"
			pfx := "203.0.113.0/24"
			if v6 {
				name, pfx = sp.name+"-ipv6", "2001:db8:1::/48"
			}
			t.Run(name, func(t *testing.T) {
				s := newTestServer(t, func(c *Config) { c.noCohorts = sp.noCohorts })
				xaddr := "192.0.2.11"
				if v6 {
					xaddr = "2001:db8::11"
				}
				x := addMember(t, s, "X", 64501, xaddr)
				r := addMember(t, s, "R", 64502, "192.0.2.12")
				x.announce(x.attrs(), pfx)
				readAll(t, s, x, r)
				if r.has(pfx) == nil {
					t.Fatalf("route not received")
				}
				r.ss.p.opts.MaxMessage = 20 // below any UPDATE: only the packer's own floor can send
				x.withdraw(pfx)
				readAll(t, s, x, r)
				if r.has(pfx) != nil {
					t.Errorf("withdrawal dropped: R still holds %v", pfx)
				}
			})
		}
	}
}

// TestMappedPrefixNotRecorded: the encoder refuses an IPv4-mapped IPv6 prefix (::ffff:0:0/96), so
// a route for one is never sent. The Adj-RIB-Out must not record it as sent either (it would count
// as exported, and its withdrawal would be encoded to nothing): it is counted as unsendable.
func TestMappedPrefixNotRecorded(t *testing.T) {
	for _, sp := range servePaths {
		t.Run(sp.name, func(t *testing.T) {
			s := newTestServer(t, func(c *Config) { c.noCohorts = sp.noCohorts })
			x := addMember(t, s, "X", 64501, "2001:db8::11")
			r := addMember(t, s, "R", 64502, "2001:db8::12")
			const mapped = "::ffff:198.51.100.0/120"
			readAll(t, s, x, r) // R's table dump is over: the route reaches R once
			x.announce(x.attrs(), mapped, "2001:db8:1::/48")
			readAll(t, s, x, r)
			p := r.ss.p
			if p.unsendable != 1 || s.exportedOf(p, 1) != 1 {
				t.Errorf("R: unsendable %d, exported %d; want 1 and 1", p.unsendable, s.exportedOf(p, 1))
			}
			if pe := s.prefixes.get(netip.MustParsePrefix(mapped)); pe == nil || pe.outFor(p.id) != nil {
				t.Errorf("the mapped prefix is recorded as sent to R")
			}
			msgs := len(r.msgs)
			x.withdraw(mapped)
			readAll(t, s, x, r)
			if len(r.msgs) != msgs {
				t.Errorf("R was sent %d messages for a prefix it never had", len(r.msgs)-msgs)
			}
		})
	}
}

// TestPack: the one packing loop carries every prefix exactly once, in order, in messages within
// the session's limit (never below 4,096 bytes, whatever the options say), withdrawals and
// announcements, both families; maxMsgs stops it early without losing what it did not pack.
func TestPack(t *testing.T) {
	s := newTestServer(t, nil)
	for _, v6 := range []bool{false, true} {
		a := &speaker.Attrs{ASPath: speaker.ASPath{{Type: speaker.SegSequence, ASNs: []uint32{64501, 65001}}},
			NextHop: netip.MustParseAddr("192.0.2.11"), Communities: []uint32{1, 2, 3}}
		if v6 {
			a.NextHop, a.MPNextHop = netip.Addr{}, netip.MustParseAddr("2001:db8::11")
		}
		set := s.sets.intern(a)
		fi := famIdx(0)
		if v6 {
			fi = 1
		}
		prefixes := seqPrefixes(0, 3000, v6)
		for _, announce := range []bool{false, true} {
			for _, max := range []int{0, 20, 4096, 65535} {
				t.Run(fmt.Sprintf("v6=%v/announce=%v/max=%d", v6, announce, max), func(t *testing.T) {
					opts := speaker.EncodeOptions{FourOctetAS: true, MaxMessage: max}
					var ps *attrSet
					if announce {
						ps = set
					}
					buf, n, msgs := s.pack(nil, ps, fi, opts, prefixes, 0)
					var got []netip.Prefix
					lim, seen := msgLimit(opts), 0
					for b := buf; len(b) > 0; seen++ {
						l := int(binary.BigEndian.Uint16(b[16:18]))
						if l > lim {
							t.Fatalf("message of %d bytes over %d", l, lim)
						}
						u, err := speaker.DecodeUpdate(b[speaker.HeaderLen:l], speaker.DecodeOptions{FourOctetAS: true})
						if err != nil {
							t.Fatal(err)
						}
						if announce {
							got = append(got, u.NLRI...)
						} else {
							got = append(got, u.Withdrawn...)
						}
						b = b[l:]
					}
					if n != len(prefixes) || msgs != seen || !slices.Equal(got, prefixes) {
						t.Fatalf("consumed %d of %d, %d messages (%d counted), %d prefixes decoded in order: %v",
							n, len(prefixes), seen, msgs, len(got), slices.Equal(got, prefixes))
					}
					// One message at a time resumes where it stopped.
					var again []byte
					for used, k := 0, 0; used < len(prefixes); k++ {
						if k > len(prefixes) {
							t.Fatal("pack made no progress")
						}
						var n1, m1 int
						again, n1, m1 = s.pack(again, ps, fi, opts, prefixes[used:], 1)
						if m1 != 1 || n1 == 0 {
							t.Fatalf("maxMsgs 1: %d messages, %d prefixes", m1, n1)
						}
						used += n1
					}
					if !slices.Equal(again, buf) {
						t.Errorf("packing a message at a time gives other bytes")
					}
				})
			}
		}
		s.sets.unref(set)
	}
}

// TestBitsTableChains: interning hands out one set per distinct value, counts references, and
// forgets a set at its last release, also when sets share a hash: with shift 64 every set is in
// one chain, so sets are found past others and unlinked from the head, the middle and the end.
func TestBitsTableChains(t *testing.T) {
	for _, shift := range []uint{0, 64} {
		rng := rand.New(rand.NewPCG(uint64(shift), 3))
		tab := &bitsTable{shift: shift}
		type held struct {
			x    *ibits
			want bitset
		}
		var hs []held
		byValue := map[string]*ibits{}
		key := func(b bitset) string { return fmt.Sprint([]uint64(b)) }
		for step := range 3000 {
			if len(hs) > 0 && rng.IntN(2) == 0 {
				i := rng.IntN(len(hs))
				h := hs[i]
				hs[i] = hs[len(hs)-1]
				hs = hs[:len(hs)-1]
				tab.release(h.x)
				still := false
				for _, o := range hs {
					still = still || o.x == h.x
				}
				if !still {
					delete(byValue, key(h.want))
				}
				continue
			}
			b := make(bitset, 1+rng.IntN(3))
			for k := 0; k < 1+rng.IntN(3); k++ {
				b.set(rng.IntN(len(b) * 64))
			}
			b = b.trimmed() // as intern trims it
			x := tab.intern(b)
			if !x.b.equal(b) {
				t.Fatalf("shift %d step %d: interned %v for %v", shift, step, x.b, b)
			}
			if y, ok := byValue[key(b)]; ok && y != x {
				t.Fatalf("shift %d step %d: %v interned twice", shift, step, b)
			}
			byValue[key(b)] = x
			hs = append(hs, held{x, slices.Clone(b)})
		}
		if tab.n != len(byValue) || tab.refs != len(hs) {
			t.Fatalf("shift %d: %d sets and %d references counted, %d and %d held", shift, tab.n, tab.refs, len(byValue), len(hs))
		}
		if shift == 64 && len(tab.m) != 1 {
			t.Fatalf("every set should share one chain, the map has %d", len(tab.m))
		}
		for _, h := range hs {
			tab.release(h.x)
		}
		if tab.n != 0 || len(tab.m) != 0 || tab.refs != 0 {
			t.Fatalf("shift %d: after every release %d sets, %d chains, %d references", shift, tab.n, len(tab.m), tab.refs)
		}
	}
}
