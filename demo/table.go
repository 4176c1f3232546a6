package demo

import (
	"fmt"
	"net/netip"
	"slices"

	"github.com/ixrs/ixrs/speaker"
)

// blackholeCommunity is BLACKHOLE, 65535:666 (RFC 7999).
const blackholeCommunity = 0xffff029a

// customers is how many customer ASNs each member has: member ASN + 1 … + customers.
const customers = 20

// v4Octets are the first octets of the members' IPv4 space: public unicast /8s, none a bogon.
var v4Octets = []byte{23, 31, 37, 45, 46, 62, 77, 78, 79, 80, 81, 82, 83, 84, 85, 86, 87, 88, 89, 91}

// group is a set of prefixes announced with the same attributes. The next hop is the session's
// unless nextHop is set.
type group struct {
	path     []uint32
	comms    []uint32
	large    []speaker.LargeCommunity
	med      uint32
	hasMED   bool
	otc      uint32
	nextHop  netip.Addr // IPv4 only: a wrong next hop, for the filter reason
	prefixes []netip.Prefix
	// filtered tells why the policy will reject these routes (a reason code), for the tests.
	filtered int
	// churn: these prefixes may be withdrawn and announced again now and then.
	churn bool
}

// v4Prefix is member idx's k-th IPv4 /24.
func v4Prefix(idx, k int) netip.Prefix {
	o := v4Octets[idx%len(v4Octets)]
	second := byte(k/256 + idx/len(v4Octets)*64)
	return netip.PrefixFrom(netip.AddrFrom4([4]byte{o, second, byte(k % 256), 0}), 24)
}

// v6Prefix is member idx's k-th IPv6 /48: 2a0c:10ii:kkkk::/48.
func v6Prefix(idx, k int) netip.Prefix {
	var b [16]byte
	b[0], b[1] = 0x2a, 0x0c
	b[2], b[3] = byte(0x10+idx>>8), byte(idx)
	b[4], b[5] = byte(k>>8), byte(k)
	return netip.PrefixFrom(netip.AddrFrom16(b), 48)
}

func v4Block(idx int, second byte, bits int) netip.Prefix {
	o := v4Octets[idx%len(v4Octets)]
	return netip.PrefixFrom(netip.AddrFrom4([4]byte{o, second + byte(idx/len(v4Octets)*64), 0, 0}), bits).Masked()
}

func v6Block(idx int) netip.Prefix { return netip.PrefixFrom(v6Prefix(idx, 0).Addr(), 32) }

// originPath is the path of member m's k-th prefix: its own, a customer's, a customer's customer,
// or prepended.
func originPath(asn uint32, k int) []uint32 {
	c := asn + 1 + uint32(k%customers)
	switch {
	case k%3 == 0:
		return []uint32{asn}
	case k%29 == 0:
		return []uint32{asn, asn, asn, c}
	case k%17 == 0:
		return []uint32{asn, c, asn + 1 + uint32((k+7)%customers)}
	}
	return []uint32{asn, c}
}

// table returns what member ms[idx] announces, by family. rs is the route server's AS.
func table(ms []Member, idx int, rs uint32) (v4, v6 []*group) {
	m := &ms[idx]
	byKey := map[string]*group{}
	add := func(list *[]*group, g group, p netip.Prefix) {
		key := string(appendKey(nil, &g))
		if x, ok := byKey[key]; ok {
			x.prefixes = append(x.prefixes, p)
			return
		}
		g.prefixes = []netip.Prefix{p}
		x := &g
		byKey[key] = x
		*list = append(*list, x)
	}
	plain := func(k int) group {
		g := group{path: originPath(m.ASN, k), large: []speaker.LargeCommunity{{Global: m.ASN, Local1: 1, Local2: uint32(k%4 + 1)}}, churn: true}
		if k%5 == 0 {
			g.med, g.hasMED = uint32(10*(k%7)), true
		}
		if k%97 == 0 {
			g.comms = []uint32{0xffff0000} // GRACEFUL_SHUTDOWN: draining this one
		}
		return g
	}
	// Own space: /24s and /48s with their aggregates.
	seconds := map[byte]bool{}
	for k := range m.IPv4 {
		p := v4Prefix(idx, k)
		seconds[p.Addr().As4()[1]] = true
		add(&v4, plain(k), p)
	}
	for s := range seconds {
		add(&v4, group{path: []uint32{m.ASN}}, netip.PrefixFrom(netip.AddrFrom4([4]byte{v4Octets[idx%len(v4Octets)], s, 0, 0}), 16))
	}
	for k := range m.IPv6 {
		add(&v6, plain(k), v6Prefix(idx, k))
	}
	if m.IPv6 > 0 {
		add(&v6, group{path: []uint32{m.ASN}}, v6Block(idx))
	}
	// As an upstream: other members' prefixes, with a longer path, so theirs stay best.
	for t, o := 0, 1; t < m.Transit && o < len(ms); o++ {
		j := (idx + o) % len(ms)
		other := &ms[j]
		for k := 0; k < other.IPv4 && k < 60 && t < m.Transit; k++ {
			add(&v4, group{path: append([]uint32{m.ASN}, originPath(other.ASN, k)...)}, v4Prefix(j, k))
			t++
		}
		for k := 0; k < other.IPv6 && k < 10 && t < m.Transit; k++ {
			add(&v6, group{path: append([]uint32{m.ASN}, originPath(other.ASN, k)...)}, v6Prefix(j, k))
			t++
		}
	}
	if m.Steers {
		steer(ms, idx, rs, add, &v4, &v6)
	}
	if m.ExtraOrigin {
		for k := range 3 {
			add(&v4, group{path: []uint32{m.ASN, m.ASN + 50}, filtered: 10}, v4Prefix(idx, m.IPv4+k))
		}
	}
	if m.Misconfig {
		misconfigure(ms, idx, add, &v4, &v6)
	}
	return v4, v6
}

type addFunc func(list *[]*group, g group, p netip.Prefix)

// steer adds routes with the route server's control communities and blackholes.
func steer(ms []Member, idx int, rs uint32, add addFunc, v4, v6 *[]*group) {
	m := &ms[idx]
	lc := func(l1, l2 uint32) speaker.LargeCommunity {
		return speaker.LargeCommunity{Global: rs, Local1: l1, Local2: l2}
	}
	base := m.IPv4 + 10
	first, second := ms[(idx+1)%len(ms)].ASN, ms[(idx+2)%len(ms)].ASN
	for k := range 30 { // not to the next member
		add(v4, group{path: []uint32{m.ASN}, large: []speaker.LargeCommunity{lc(0, first)}}, v4Prefix(idx, base+k))
	}
	for k := range 15 { // only to the member after it
		add(v4, group{path: []uint32{m.ASN}, large: []speaker.LargeCommunity{lc(0, 0), lc(1, second)}}, v4Prefix(idx, base+30+k))
	}
	for k := range 10 { // prepended once toward everyone
		add(v4, group{path: []uint32{m.ASN, m.ASN + 1}, large: []speaker.LargeCommunity{lc(101, 0)}}, v4Prefix(idx, base+45+k))
	}
	for k := range 5 { // NO_EXPORT toward the next member
		add(v4, group{path: []uint32{m.ASN}, large: []speaker.LargeCommunity{lc(65281, first)}}, v4Prefix(idx, base+55+k))
	}
	for k := range 8 { // not to the next member, IPv6
		add(v6, group{path: []uint32{m.ASN}, large: []speaker.LargeCommunity{lc(0, first)}}, v6Prefix(idx, m.IPv6+5+k))
	}
	// Blackholes (RFC 7999): host routes inside its own space, under attack.
	for k := range 6 {
		a := v4Prefix(idx, k).Addr().As4()
		a[3] = byte(10 + k)
		add(v4, group{path: []uint32{m.ASN}, comms: []uint32{blackholeCommunity}}, netip.PrefixFrom(netip.AddrFrom4(a), 32))
	}
	for k := range 2 {
		a := v6Prefix(idx, k).Addr().As16()
		a[15] = byte(1 + k)
		add(v6, group{path: []uint32{m.ASN}, comms: []uint32{blackholeCommunity}}, netip.PrefixFrom(netip.AddrFrom16(a), 128))
	}
}

// misconfigure adds routes that import policy filters, a few per reason (docs/policy.md).
func misconfigure(ms []Member, idx int, add addFunc, v4, v6 *[]*group) {
	m := &ms[idx]
	own := v4Prefix(idx, 0).Addr().As4()
	p4 := func(a, b, c, d byte, bits int) netip.Prefix {
		return netip.PrefixFrom(netip.AddrFrom4([4]byte{a, b, c, d}), bits)
	}
	next := m.IPv4 + 20
	fresh := func() netip.Prefix { next++; return v4Prefix(idx, next) }
	for k := range 4 { // 1: too long
		add(v4, group{path: []uint32{m.ASN}, filtered: 1}, p4(own[0], own[1], byte(k), 128, 25+k%3))
	}
	add(v6, group{path: []uint32{m.ASN}, filtered: 1}, netip.PrefixFrom(v6Prefix(idx, 1).Addr(), 56))
	add(v4, group{path: []uint32{m.ASN}, filtered: 2}, netip.PrefixFrom(netip.AddrFrom4([4]byte{own[0], 0, 0, 0}), 7).Masked()) // 2: too short
	for k := range 3 {                                                                                                          // 3: bogon prefixes
		add(v4, group{path: []uint32{m.ASN}, filtered: 3}, p4(10, byte(idx), byte(k), 0, 24))
		add(v6, group{path: []uint32{m.ASN}, filtered: 3}, netip.MustParsePrefix(fmt.Sprintf("2001:db8:%x::/48", k)))
	}
	add(v4, group{path: []uint32{m.ASN}, filtered: 3}, p4(192, 168, 7, 0, 24))
	for range 3 { // 4: a private ASN in the path
		add(v4, group{path: []uint32{m.ASN, 64512, m.ASN + 1}, filtered: 4}, fresh())
	}
	long := slices.Repeat([]uint32{m.ASN}, 40)
	for range 2 { // 5: path too long
		add(v4, group{path: append(slices.Clone(long), m.ASN+2), filtered: 5}, fresh())
	}
	add(v4, group{path: nil, filtered: 6}, fresh()) // 6: empty path
	for range 2 {                                   // 7: first AS is someone else's
		add(v4, group{path: []uint32{ms[(idx+1)%len(ms)].ASN, m.ASN + 3}, filtered: 7}, fresh())
	}
	for range 2 { // 8: next hop of another router on the LAN
		add(v4, group{path: []uint32{m.ASN}, nextHop: netip.AddrFrom4([4]byte{127, 0, 1, 250}), filtered: 8}, fresh())
	}
	for k := range 3 { // 9: outside its IRR prefix list (which covers its first /16 only)
		add(v4, group{path: []uint32{m.ASN}, filtered: 9}, p4(own[0], own[1]+1, byte(k), 0, 24))
	}
	for range 3 { // 14: a transit-free network behind it
		add(v4, group{path: []uint32{m.ASN, 3356, m.ASN + 4}, filtered: 14}, fresh())
	}
	many := make([]speaker.LargeCommunity, 30)
	for i := range many {
		many[i] = speaker.LargeCommunity{Global: m.ASN, Local1: 9, Local2: uint32(i)}
	}
	for range 2 { // 15: too many communities (its max_communities is 20)
		add(v4, group{path: []uint32{m.ASN}, large: many, filtered: 15}, fresh())
	}
	for range 2 { // 16: a route leak, OTC set by its provider
		add(v4, group{path: []uint32{m.ASN, m.ASN + 5}, otc: m.ASN + 5, filtered: 16}, fresh())
	}
	for range 2 { // 13: RPKI invalid (the VRP file gives these to another origin)
		add(v4, group{path: []uint32{m.ASN, m.ASN + 6}, filtered: 13}, fresh())
	}
}

// rpkiInvalid are the prefixes the demo's VRP file assigns to another origin than the one
// announcing them: the ones misconfigure marks with reason 13.
func rpkiInvalid(groups []*group) []netip.Prefix {
	var out []netip.Prefix
	for _, g := range groups {
		if g.filtered == 13 {
			out = append(out, g.prefixes...)
		}
	}
	return out
}

// appendKey is the identity of a group's attributes.
func appendKey(b []byte, g *group) []byte {
	u32 := func(v uint32) { b = append(b, byte(v>>24), byte(v>>16), byte(v>>8), byte(v)) }
	u32(uint32(len(g.path)))
	for _, a := range g.path {
		u32(a)
	}
	u32(uint32(len(g.comms)))
	for _, c := range g.comms {
		u32(c)
	}
	u32(uint32(len(g.large)))
	for _, c := range g.large {
		u32(c.Global)
		u32(c.Local1)
		u32(c.Local2)
	}
	u32(g.med)
	if g.hasMED {
		b = append(b, 1)
	}
	u32(g.otc)
	b = append(b, g.nextHop.AsSlice()...)
	b = append(b, byte(g.filtered))
	if g.churn {
		b = append(b, 2)
	}
	return b
}

// attrs are the path attributes of g on a session whose next hop is nh (IPv4 routes) or nh6
// (IPv6 routes, in MP_REACH_NLRI).
func (g *group) attrs(nh, nh6 netip.Addr, v6 bool) *speaker.Attrs {
	a := &speaker.Attrs{Origin: speaker.OriginIGP, MED: g.med, HasMED: g.hasMED, Communities: g.comms, LargeCommunities: g.large}
	if len(g.path) > 0 {
		a.ASPath = speaker.ASPath{{Type: speaker.SegSequence, ASNs: g.path}}
	}
	if g.otc != 0 {
		a.OTC, a.HasOTC = g.otc, true
	}
	if v6 {
		a.MPNextHop = nh6
	} else {
		a.NextHop = nh
		if g.nextHop.IsValid() {
			a.NextHop = g.nextHop
		}
	}
	return a
}
