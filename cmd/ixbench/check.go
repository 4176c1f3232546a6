package main

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/ixrs/ixrs/speaker"
)

// Convergence means the right routes, not only the right number of prefixes. Every route the workload
// can produce (each announcer's route for each prefix, as announced and as worsened by the best-move
// phase) is a candidate of its prefix, identified by the hash of the attributes a transparent route
// server must pass on unchanged: ORIGIN, AS_PATH, NEXT_HOP, MED, COMMUNITIES and LARGE_COMMUNITIES.
// A member records, per prefix, which candidate it holds (or that it holds a route that is none of
// them). Before each phase the checker computes, per prefix, the set of acceptable candidates: the
// routes of the live announcers with the shortest AS path. Every announcer is a different
// neighbouring AS and all routes have ORIGIN IGP, so MED is not compared (RFC 4271 §9.1.2.2 c) and
// routes of equal path length are tied up to the implementation's tie-breaks (router ID, age): any of
// them is accepted. A phase ends when every tracked member's table equals the expected one: the right
// prefix set, each with an acceptable route. A count that happens to match (withdrawals first, then
// announcements) does not end it.

// worsenPrepend is how many times the best-move phase prepends a member's AS to its route: more than the
// longest generated path (6), so a worsened route loses to every route that is not worsened.
const worsenPrepend = 6

// Received route states in session.got: 0 is "not held", gotWrong a route that is no candidate;
// 1..maxCandidates is candidate id.
const (
	gotWrong      = 255
	maxCandidates = 2 * 3 // two variants (as announced, worsened) of at most three announcers
)

// checker holds every prefix's candidates and the current expectation; shared by the run's sessions,
// written only between phases.
type checker struct {
	w *Workload
	// pre is per prefix (and one more at the end): where its candidates start, and what is expected.
	// Together, so that the receive path's check of a prefix costs one cache miss for both.
	pre  []prefixCheck
	hash []uint64
	plen []uint8 // AS path length of each candidate
	// anyRoute accepts any live announcer's route, not only the best: for the floor (forward.go), which
	// passes every announcement on.
	anyRoute bool
}

// prefixCheck is a prefix's entry of the checker.
type prefixCheck struct {
	off uint32 // candidates of prefix p: hash[pre[p].off:pre[p+1].off], id k+1 for hash[pre[p].off+k]
	exp uint8  // bit id-1 set for each acceptable candidate; 0: the prefix must be absent
}

// candidate id of announcer k's route: 2k+1 as announced, 2k+2 worsened.
func candID(k int, worse bool) uint8 {
	if worse {
		return uint8(2*k + 2)
	}
	return uint8(2*k + 1)
}

// newChecker computes every candidate's hash from the workload's attributes.
func newChecker(w *Workload) *checker {
	c := &checker{w: w, pre: make([]prefixCheck, len(w.Prefixes)+1)}
	n := 0
	for p, ann := range w.Announcers {
		c.pre[p].off = uint32(n)
		n += 2 * len(ann)
	}
	c.pre[len(w.Prefixes)].off = uint32(n)
	c.hash = make([]uint64, n)
	c.plen = make([]uint8, n)
	var r route
	for _, m := range w.Members {
		for _, g := range m.Groups {
			nh := g.Attrs.NextHop
			if g.Family == speaker.IPv6Unicast {
				nh = g.Attrs.MPNextHop
			}
			r.fromAttrs(g.Attrs, nh, 0)
			h, l := r.hash(), r.pathLen()
			r.fromAttrs(g.Attrs, nh, m.ASN)
			hw, lw := r.hash(), r.pathLen()
			for _, p := range g.Prefixes {
				k := slices.Index(w.Announcers[p], int32(m.Index))
				i := c.pre[p].off + uint32(2*k)
				c.hash[i], c.plen[i] = h, uint8(l)
				c.hash[i+1], c.plen[i+1] = hw, uint8(lw)
				if w.Policy != nil {
					// Every daemon tags the routes it accepts with their RPKI state (realistic.go).
					c.hash[i], c.hash[i+1] = w.Policy.taggedHashes(w.Prefixes[p], g.Attrs, nh, m.ASN)
				}
			}
		}
	}
	return c
}

// identify returns the candidate id of a received route with hash h for prefix p, or gotWrong.
func (c *checker) identify(p uint32, h uint64) uint8 {
	for i := c.pre[p].off; i < c.pre[p+1].off; i++ {
		if c.hash[i] == h {
			return uint8(i-c.pre[p].off) + 1
		}
	}
	return gotWrong
}

// expect sets the expectation for the state in which the members in active announce what present says,
// with the routes worse says worsened (nil: none).
func (c *checker) expect(active []bool, present, worse func(m int, p uint32) bool) {
	for p, ann := range c.w.Announcers {
		best, mask := 256, uint8(0)
		for k, m := range ann {
			if !active[m] || !present(int(m), uint32(p)) || !c.w.accepted(int(m), uint32(p)) {
				continue
			}
			wz := worse != nil && worse(int(m), uint32(p))
			id := candID(k, wz)
			l := int(c.plen[c.pre[p].off+uint32(id)-1])
			if c.anyRoute {
				l = 0
			}
			switch {
			case l < best:
				best, mask = l, 1<<(id-1)
			case l == best:
				mask |= 1 << (id - 1)
			}
		}
		c.pre[p].exp = mask
	}
}

// match reports whether a member holding got for prefix p holds what it should.
func (c *checker) match(p uint32, got uint8) bool {
	e := c.pre[p].exp
	if e == 0 {
		return got == 0
	}
	return got != 0 && got != gotWrong && e&(1<<(got-1)) != 0
}

// route is the part of a route's attributes that a transparent route server passes on unchanged, in a
// canonical form (communities sorted) so that a hash does not depend on the order a daemon writes them.
type route struct {
	origin uint8
	path   []uint32 // per segment: type<<24 | length, then the ASNs
	nh     netip.Addr
	hasMED bool
	med    uint32
	comms  []uint32
	large  []speaker.LargeCommunity
}

// fromAttrs fills r from generated attributes with next hop nh; a non-zero prepend puts that AS in front
// worsenPrepend times (the best-move phase's worsened route).
func (r *route) fromAttrs(a *speaker.Attrs, nh netip.Addr, prepend uint32) {
	r.origin, r.nh, r.hasMED, r.med = a.Origin, nh, a.HasMED, a.MED
	r.path = r.path[:0]
	for i, s := range a.ASPath {
		asns := s.ASNs
		if i == 0 && prepend != 0 && s.Type == speaker.SegSequence {
			r.path = append(r.path, uint32(s.Type)<<24|uint32(len(asns)+worsenPrepend))
			for k := 0; k < worsenPrepend; k++ {
				r.path = append(r.path, prepend)
			}
		} else {
			r.path = append(r.path, uint32(s.Type)<<24|uint32(len(asns)))
		}
		r.path = append(r.path, asns...)
	}
	r.comms = append(r.comms[:0], a.Communities...)
	r.large = append(r.large[:0], a.LargeCommunities...)
	r.canon()
}

// worsened returns a copy of a with m's AS prepended worsenPrepend times (what the member announces in
// the best-move phase).
func worsened(a *speaker.Attrs, asn uint32) *speaker.Attrs {
	b := *a
	b.ASPath = nil
	for i, s := range a.ASPath {
		asns := slices.Clone(s.ASNs)
		if i == 0 && s.Type == speaker.SegSequence {
			asns = append(slices.Repeat([]uint32{asn}, worsenPrepend), asns...)
		}
		b.ASPath = append(b.ASPath, speaker.Segment{Type: s.Type, ASNs: asns})
	}
	return &b
}

func (r *route) canon() {
	slices.Sort(r.comms)
	r.comms = slices.Compact(r.comms)
	slices.SortFunc(r.large, func(a, b speaker.LargeCommunity) int {
		if a.Global != b.Global {
			return cmpU32(a.Global, b.Global)
		}
		if a.Local1 != b.Local1 {
			return cmpU32(a.Local1, b.Local1)
		}
		return cmpU32(a.Local2, b.Local2)
	})
	r.large = slices.Compact(r.large)
}

func cmpU32(a, b uint32) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// pathLen is the AS path length for the decision process (a set counts as one).
func (r *route) pathLen() int {
	n := 0
	for i := 0; i < len(r.path); {
		t, l := r.path[i]>>24, int(r.path[i]&0xffffff)
		if t == uint32(speaker.SegSequence) {
			n += l
		} else if t == uint32(speaker.SegSet) {
			n++
		}
		i += 1 + l
	}
	return n
}

// hash is a 64-bit hash of the canonical form, a word at a time: each step (xor the word in,
// multiply by an odd constant, xor-shift) is a bijection of the state, so two forms that differ in one
// word never collide. Byte-wise FNV-1a, which it replaced, was half of what a simulated member spent
// on a one-prefix UPDATE (BenchmarkSessionUpdate), and the load generator's CPU is taken from the
// daemon under test.
func (r *route) hash() uint64 {
	h := uint64(14695981039346656037)
	w := func(v uint32) {
		h = (h ^ uint64(v)) * 0x9e3779b97f4a7c15
		h ^= h >> 32
	}
	w(uint32(r.origin))
	w(uint32(len(r.path)))
	for _, v := range r.path {
		w(v)
	}
	nh := r.nh.As16()
	for k := 0; k < 16; k += 4 {
		w(binary.BigEndian.Uint32(nh[k:]))
	}
	if r.hasMED {
		w(1)
		w(r.med)
	} else {
		w(0)
	}
	w(uint32(len(r.comms)))
	for _, v := range r.comms {
		w(v)
	}
	w(uint32(len(r.large)))
	for _, v := range r.large {
		w(v.Global)
		w(v.Local1)
		w(v.Local2)
	}
	return h
}

// fromWire fills r from a received UPDATE's path attributes (4-octet AS_PATH, as negotiated). The next
// hop is NEXT_HOP for IPv4 and the global address of MP_REACH_NLRI for IPv6 (a link-local address after
// it is ignored). It returns false for attributes too short to parse.
func (r *route) fromWire(attrs []byte, v6, keepRS bool) bool {
	*r = route{path: r.path[:0], comms: r.comms[:0], large: r.large[:0]}
	for len(attrs) >= 3 {
		flags, typ := attrs[0], attrs[1]
		hl, vl := 3, int(attrs[2])
		if flags&0x10 != 0 {
			if len(attrs) < 4 {
				return false
			}
			hl, vl = 4, int(binary.BigEndian.Uint16(attrs[2:]))
		}
		if hl+vl > len(attrs) {
			return false
		}
		v := attrs[hl : hl+vl]
		attrs = attrs[hl+vl:]
		switch typ {
		case speaker.AttrOrigin:
			if len(v) == 1 {
				r.origin = v[0]
			}
		case speaker.AttrASPath:
			for len(v) >= 2 {
				n := int(v[1])
				if 2+4*n > len(v) {
					return false
				}
				r.path = append(r.path, uint32(v[0])<<24|uint32(n))
				for k := 0; k < n; k++ {
					r.path = append(r.path, binary.BigEndian.Uint32(v[2+4*k:]))
				}
				v = v[2+4*n:]
			}
		case speaker.AttrNextHop:
			if !v6 && len(v) == 4 {
				r.nh = netip.AddrFrom4([4]byte(v))
			}
		case speaker.AttrMPReach:
			if v6 && len(v) >= 4+16 && int(v[3]) >= 16 {
				r.nh = netip.AddrFrom16([16]byte(v[4:20]))
			}
		case speaker.AttrMED:
			if len(v) == 4 {
				r.hasMED, r.med = true, binary.BigEndian.Uint32(v)
			}
		case speaker.AttrCommunities:
			for ; len(v) >= 4; v = v[4:] {
				r.comms = append(r.comms, binary.BigEndian.Uint32(v))
			}
		case speaker.AttrLargeCommunities:
			for ; len(v) >= 12; v = v[12:] {
				if binary.BigEndian.Uint32(v) == RSASN && !keepRS {
					// The route server's own informational communities (ixrs's RPKI and IRR states,
					// RS:1000:N and RS:64512:N, with those checks on in -reeval): added, not passed on.
					// The realistic workload keeps them (keepRS): every daemon there must add the RPKI
					// state, and its expected routes carry it (realistic.go).
					continue
				}
				r.large = append(r.large, speaker.LargeCommunity{Global: binary.BigEndian.Uint32(v),
					Local1: binary.BigEndian.Uint32(v[4:]), Local2: binary.BigEndian.Uint32(v[8:])})
			}
		}
	}
	r.canon()
	return true
}

// bestMoves chooses the best-move phase's changes: for every multi-homed prefix whose shortest-path
// routes are not all of its routes, each announcer of a shortest-path route worsens it (prepends its AS),
// so the best route moves to another member. It returns the prefixes each member worsens and the
// matching worse function for expect.
func (c *checker) bestMoves() ([][]uint32, func(m int, p uint32) bool) {
	moves := make([][]uint32, len(c.w.Members))
	set := map[uint64]bool{} // member<<32 | prefix
	for p, ann := range c.w.Announcers {
		if len(ann) < 2 {
			continue
		}
		best, nbest := 256, 0
		for k := range ann {
			l := int(c.plen[c.pre[p].off+uint32(2*k)])
			switch {
			case l < best:
				best, nbest = l, 1
			case l == best:
				nbest++
			}
		}
		if nbest == len(ann) {
			continue
		}
		for k, m := range ann {
			if int(c.plen[c.pre[p].off+uint32(2*k)]) == best {
				moves[m] = append(moves[m], uint32(p))
				set[uint64(m)<<32|uint64(p)] = true
			}
		}
	}
	return moves, func(m int, p uint32) bool { return set[uint64(m)<<32|uint64(p)] }
}

// String describes the route for a failure report.
func (r *route) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "origin %d path", r.origin)
	for i := 0; i < len(r.path); {
		t, l := r.path[i]>>24, int(r.path[i]&0xffffff)
		if t != uint32(speaker.SegSequence) {
			fmt.Fprintf(&b, " (type %d)", t)
		}
		for _, a := range r.path[i+1 : min(i+1+l, len(r.path))] {
			fmt.Fprintf(&b, " %d", a)
		}
		i += 1 + l
	}
	fmt.Fprintf(&b, " next hop %s", r.nh)
	if r.hasMED {
		fmt.Fprintf(&b, " MED %d", r.med)
	}
	fmt.Fprintf(&b, " communities %v large %v", r.comms, r.large)
	return b.String()
}

// describe lists prefix p's routes as announced, for a failure report.
func (c *checker) describe(p uint32) string {
	var out []string
	var r route
	for _, m := range c.w.Announcers[p] {
		for _, g := range c.w.Members[m].Groups {
			if slices.Contains(g.Prefixes, p) {
				nh := g.Attrs.NextHop
				if g.Family == speaker.IPv6Unicast {
					nh = g.Attrs.MPNextHop
				}
				r.fromAttrs(g.Attrs, nh, 0)
				out = append(out, c.w.Members[m].Name+": "+r.String())
			}
		}
	}
	return strings.Join(out, "; ")
}
