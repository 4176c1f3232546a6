package speaker

// UPDATE encoding, append-style: no allocation when dst has room.

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"slices"
)

// --- UPDATE: encoding -------------------------------------------------------------------------------

// AppendAttrs appends the path attribute block for routes of family f sent on a session described by
// opt, without MP_REACH_NLRI/MP_UNREACH_NLRI (AppendAnnounce adds those), in ascending type order
// (RFC 4271 §5):
//   - ORIGIN; AS_PATH with 4-octet ASNs, or for !opt.FourOctetAS 2-octet ASNs with AS_TRANS for larger ones
//     plus AS4_PATH without confederation segments when any ASN exceeds 65535 (RFC 6793 §4.2.2);
//   - NEXT_HOP only for IPv4Unicast: a.NextHop, or a.MPNextHop if that is IPv4 and NextHop is unset;
//   - MED if HasMED; LOCAL_PREF only if opt.IBGP and HasLocalPref; ATOMIC_AGGREGATE; AGGREGATOR (2-octet
//     form plus AS4_AGGREGATOR for !opt.FourOctetAS and an AS above 65535); COMMUNITIES, EXTENDED
//     COMMUNITIES, LARGE COMMUNITIES when not empty; OTC if HasOTC;
//   - of a.Other only optional transitive attributes, with the Partial bit set (RFC 4271 §5, §9.1: the
//     speaker passes on what it does not recognise); optional non-transitive and well-known ones, and any
//     whose type the codec encodes itself, are dropped.
//
// An attribute value over 255 bytes gets the Extended Length flag. Path segments over 255 ASNs are split.
func AppendAttrs(dst []byte, a *Attrs, f Family, opt EncodeOptions) []byte {
	others := encSortedOthers(a.Other)
	oi := 0
	// flush appends the Other attributes whose type sorts before t.
	flush := func(t int) {
		for ; oi < len(others) && int(others[oi].Type) < t; oi++ {
			o := &others[oi]
			dst = encAttrHeader(dst, o.Flags|FlagPartial, o.Type, len(o.Value))
			dst = append(dst, o.Value...)
		}
	}

	dst = append(dst, FlagTransitive, AttrOrigin, 1, a.Origin)
	flush(int(AttrASPath))
	dst = encASPath(dst, FlagTransitive, AttrASPath, a.ASPath, opt.FourOctetAS, false)
	if f == IPv4Unicast {
		nh := a.NextHop
		if !nh.Is4() && a.MPNextHop.Is4() {
			nh = a.MPNextHop
		}
		if nh.Is4() {
			flush(int(AttrNextHop))
			v := nh.As4()
			dst = append(dst, FlagTransitive, AttrNextHop, 4)
			dst = append(dst, v[:]...)
		}
	}
	if a.HasMED {
		flush(int(AttrMED))
		dst = append(dst, FlagOptional, AttrMED, 4)
		dst = binary.BigEndian.AppendUint32(dst, a.MED)
	}
	if opt.IBGP && a.HasLocalPref {
		flush(int(AttrLocalPref))
		dst = append(dst, FlagTransitive, AttrLocalPref, 4)
		dst = binary.BigEndian.AppendUint32(dst, a.LocalPref)
	}
	if a.AtomicAggregate {
		flush(int(AttrAtomicAggregate))
		dst = append(dst, FlagTransitive, AttrAtomicAggregate, 0)
	}
	if ag := a.Aggregator; ag != nil {
		flush(int(AttrAggregator))
		addr := [4]byte{}
		if ag.Addr.Is4() {
			addr = ag.Addr.As4()
		}
		if opt.FourOctetAS {
			dst = append(dst, FlagOptional|FlagTransitive, AttrAggregator, 8)
			dst = binary.BigEndian.AppendUint32(dst, ag.AS)
		} else {
			dst = append(dst, FlagOptional|FlagTransitive, AttrAggregator, 6)
			dst = binary.BigEndian.AppendUint16(dst, encAS2(ag.AS))
		}
		dst = append(dst, addr[:]...)
	}
	if len(a.Communities) > 0 {
		flush(int(AttrCommunities))
		dst = encAttrHeader(dst, FlagOptional|FlagTransitive, AttrCommunities, 4*len(a.Communities))
		for _, c := range a.Communities {
			dst = binary.BigEndian.AppendUint32(dst, c)
		}
	}
	if len(a.ExtCommunities) > 0 {
		flush(int(AttrExtCommunities))
		dst = encAttrHeader(dst, FlagOptional|FlagTransitive, AttrExtCommunities, 8*len(a.ExtCommunities))
		for _, c := range a.ExtCommunities {
			dst = binary.BigEndian.AppendUint64(dst, c)
		}
	}
	if !opt.FourOctetAS {
		if encNeedsAS4(a.ASPath) {
			flush(int(AttrAS4Path))
			dst = encASPath(dst, FlagOptional|FlagTransitive, AttrAS4Path, a.ASPath, true, true)
		}
		if ag := a.Aggregator; ag != nil && ag.AS > 0xffff {
			flush(int(AttrAS4Aggregator))
			addr := [4]byte{}
			if ag.Addr.Is4() {
				addr = ag.Addr.As4()
			}
			dst = append(dst, FlagOptional|FlagTransitive, AttrAS4Aggregator, 8)
			dst = binary.BigEndian.AppendUint32(dst, ag.AS)
			dst = append(dst, addr[:]...)
		}
	}
	if len(a.LargeCommunities) > 0 {
		flush(int(AttrLargeCommunities))
		dst = encAttrHeader(dst, FlagOptional|FlagTransitive, AttrLargeCommunities, 12*len(a.LargeCommunities))
		for _, c := range a.LargeCommunities {
			dst = binary.BigEndian.AppendUint32(dst, c.Global)
			dst = binary.BigEndian.AppendUint32(dst, c.Local1)
			dst = binary.BigEndian.AppendUint32(dst, c.Local2)
		}
	}
	if a.HasOTC {
		flush(int(AttrOTC))
		dst = append(dst, FlagOptional|FlagTransitive, AttrOTC, 4)
		dst = binary.BigEndian.AppendUint32(dst, a.OTC)
	}
	flush(256)
	return dst
}

// encSortedOthers returns the attributes of other that AppendAttrs passes on, sorted by type (stable).
// It allocates only when there is something to drop or to reorder.
func encSortedOthers(other []RawAttr) []RawAttr {
	keep := func(o *RawAttr) bool {
		return o.Flags&(FlagOptional|FlagTransitive) == FlagOptional|FlagTransitive && len(o.Value) <= 0xffff &&
			!encOwnType(o.Type)
	}
	clean := true
	for i := range other {
		if !keep(&other[i]) || (i > 0 && other[i].Type < other[i-1].Type) {
			clean = false
			break
		}
	}
	if clean {
		return other
	}
	var out []RawAttr
	for i := range other {
		if keep(&other[i]) {
			out = append(out, other[i])
		}
	}
	slices.SortStableFunc(out, func(x, y RawAttr) int { return int(x.Type) - int(y.Type) })
	return out
}

// encOwnType reports whether AppendAttrs encodes attribute type t from Attrs fields (or never sends it).
func encOwnType(t uint8) bool {
	switch t {
	case AttrOrigin, AttrASPath, AttrNextHop, AttrMED, AttrLocalPref, AttrAtomicAggregate, AttrAggregator,
		AttrCommunities, AttrMPReach, AttrMPUnreach, AttrExtCommunities, AttrAS4Path, AttrAS4Aggregator,
		AttrLargeCommunities, AttrOTC:
		return true
	}
	return false
}

// encAttrHeader appends an attribute header, with the Extended Length flag exactly when n > 255.
func encAttrHeader(dst []byte, flags, typ uint8, n int) []byte {
	if n > 255 {
		return append(dst, flags|FlagExtLen, typ, byte(n>>8), byte(n))
	}
	return append(dst, flags&^FlagExtLen, typ, byte(n))
}

// encAS2 maps an ASN to its 2-octet form (RFC 6793 §4.2.2).
func encAS2(as uint32) uint16 {
	if as > 0xffff {
		return ASTrans
	}
	return uint16(as)
}

// encNeedsAS4 reports whether a 2-octet peer needs AS4_PATH for p.
func encNeedsAS4(p ASPath) bool {
	for _, s := range p {
		for _, a := range s.ASNs {
			if a > 0xffff {
				return true
			}
		}
	}
	return false
}

// encASPath appends AS_PATH (or AS4_PATH with as4 set: confederation segments left out, RFC 6793 §4.2.2)
// with 4- or 2-octet ASNs. Empty segments are skipped and long ones split.
func encASPath(dst []byte, flags, typ uint8, p ASPath, four, as4 bool) []byte {
	size := 2
	if four {
		size = 4
	}
	skip := func(s *Segment) bool {
		return len(s.ASNs) == 0 || (as4 && (s.Type == SegConfedSequence || s.Type == SegConfedSet))
	}
	n := 0
	for i := range p {
		if s := &p[i]; !skip(s) {
			n += 2*((len(s.ASNs)+codecMaxSegmentASNs-1)/codecMaxSegmentASNs) + size*len(s.ASNs)
		}
	}
	dst = encAttrHeader(dst, flags, typ, n)
	for i := range p {
		s := &p[i]
		if skip(s) {
			continue
		}
		for asns := s.ASNs; len(asns) > 0; {
			k := min(len(asns), codecMaxSegmentASNs)
			dst = append(dst, s.Type, byte(k))
			for _, a := range asns[:k] {
				if four {
					dst = binary.BigEndian.AppendUint32(dst, a)
				} else {
					dst = binary.BigEndian.AppendUint16(dst, encAS2(a))
				}
			}
			asns = asns[k:]
		}
	}
	return dst
}

// encPrefixLen returns the NLRI encoding size of p, or 0 if p is not a valid prefix of family f.
func encPrefixLen(p netip.Prefix, f Family) int {
	if !p.IsValid() || (f == IPv4Unicast) != p.Addr().Is4() || p.Addr().Is4In6() {
		return 0
	}
	return 1 + (p.Bits()+7)/8
}

// encPrefix appends p (valid, of the right family) in NLRI encoding, host bits cleared. It masks by hand
// and appends IPv4 bytes one by one: netip.Prefix.Masked and a memmove per prefix cost more than the rest
// of AppendAnnounce together.
func encPrefix(dst []byte, p netip.Prefix) []byte {
	bits := p.Bits()
	l := (bits + 7) / 8
	var last byte = 0xff
	if r := bits & 7; r != 0 {
		last = 0xff << (8 - r)
	}
	if p.Addr().Is4() {
		a := p.Addr().As4()
		if l > 0 {
			a[l-1] &= last
		}
		switch l {
		case 0:
			return append(dst, 0)
		case 1:
			return append(dst, byte(bits), a[0])
		case 2:
			return append(dst, byte(bits), a[0], a[1])
		case 3:
			return append(dst, byte(bits), a[0], a[1], a[2])
		}
		return append(dst, byte(bits), a[0], a[1], a[2], a[3])
	}
	a := p.Addr().As16()
	if l > 0 {
		a[l-1] &= last
	}
	dst = append(dst, byte(bits))
	return append(dst, a[:l]...)
}

// encFit counts how many leading prefixes fit into room bytes of NLRI; it returns the count consumed and
// the bytes they take. Prefixes not of family f (or invalid) are consumed but take no room.
func encFit(prefixes []netip.Prefix, f Family, room int) (n, size, encoded int) {
	for n < len(prefixes) {
		l := encPrefixLen(prefixes[n], f)
		if size+l > room {
			break
		}
		size += l
		n++
		if l > 0 {
			encoded++
		}
	}
	return n, size, encoded
}

func encAppendPrefixes(dst []byte, prefixes []netip.Prefix, f Family) []byte {
	for _, p := range prefixes {
		if encPrefixLen(p, f) > 0 {
			dst = encPrefix(dst, p)
		}
	}
	return dst
}

// nlriSource is the NLRI an UPDATE is built from: prefixes, or on a session that sends ADD-PATH
// (addpath.go) paths, each prefix preceded by its path identifier. The message around them is the same.
type nlriSource struct {
	prefixes []netip.Prefix
	paths    []PathNLRI
	addPath  bool
}

// fit is encFit (encFitPaths) over the source.
func (s *nlriSource) fit(f Family, room int) (n, size, encoded int) {
	if s.addPath {
		return encFitPaths(s.paths, f, room)
	}
	return encFit(s.prefixes, f, room)
}

// put appends the first n of the source's NLRI.
func (s *nlriSource) put(dst []byte, n int, f Family) []byte {
	if s.addPath {
		return encAppendPaths(dst, s.paths[:n], f)
	}
	return encAppendPrefixes(dst, s.prefixes[:n], f)
}

// AppendAnnounce appends one complete UPDATE (header included) of at most max bytes (0 means 4096)
// announcing as many of prefixes, in order, as fit, and returns the extended dst and how many prefixes
// it consumed. For IPv4Unicast the message is attrBlock (from AppendAttrs, with NEXT_HOP) plus the NLRI
// field, and nextHop/linkLocal are not used. For IPv6Unicast it is MP_REACH_NLRI with nextHop (and
// linkLocal when valid: the 32-byte form), placed first as RFC 7606 §5.1 asks, then attrBlock. Prefixes
// not of family f are skipped (consumed, not sent). When nothing is encoded (not even one prefix fits, an
// IPv6 nextHop is missing, or f is another family), dst is returned unchanged; the count is 0 unless
// skipped prefixes were consumed. It does not allocate when dst has room for the message.
func AppendAnnounce(dst []byte, f Family, attrBlock []byte, nextHop, linkLocal netip.Addr, prefixes []netip.Prefix, max int) ([]byte, int) {
	return appendAnnounce(dst, f, attrBlock, nextHop, linkLocal, nlriSource{prefixes: prefixes}, max)
}

func appendAnnounce(dst []byte, f Family, attrBlock []byte, nextHop, linkLocal netip.Addr, src nlriSource, max int) ([]byte, int) {
	max = encMax(max)
	switch f {
	case IPv4Unicast:
		base := HeaderLen + 4 + len(attrBlock)
		n, size, encoded := src.fit(f, max-base)
		if encoded == 0 {
			return dst, n
		}
		total := base + size
		dst = slices.Grow(dst, total)
		dst = encHeader(dst, MsgUpdate, total)
		dst = append(dst, 0, 0, byte(len(attrBlock)>>8), byte(len(attrBlock)))
		dst = append(dst, attrBlock...)
		return src.put(dst, n, f), n
	case IPv6Unicast:
		if !nextHop.IsValid() {
			return dst, 0
		}
		nhl := 16
		if linkLocal.IsValid() {
			nhl = 32
		}
		fixed := 5 + nhl // AFI, SAFI, next hop length, next hop, reserved
		base := HeaderLen + 4 + len(attrBlock)
		// Fit assuming a 4-byte attribute header, then retry with 3 bytes if the value stays short.
		n, size, encoded := src.fit(f, max-base-4-fixed)
		if fixed+size <= 255 {
			n, size, encoded = src.fit(f, min(max-base-3-fixed, 255-fixed))
		}
		if encoded == 0 {
			return dst, n
		}
		vlen := fixed + size
		hl := 3
		if vlen > 255 {
			hl = 4
		}
		total := base + hl + vlen
		dst = slices.Grow(dst, total)
		dst = encHeader(dst, MsgUpdate, total)
		alen := hl + vlen + len(attrBlock)
		dst = append(dst, 0, 0, byte(alen>>8), byte(alen))
		dst = encAttrHeader(dst, FlagOptional, AttrMPReach, vlen)
		dst = append(dst, 0, 2, 1, byte(nhl))
		nh := nextHop.As16()
		dst = append(dst, nh[:]...)
		if nhl == 32 {
			ll := linkLocal.As16()
			dst = append(dst, ll[:]...)
		}
		dst = append(dst, 0)
		dst = src.put(dst, n, f)
		return append(dst, attrBlock...), n
	}
	return dst, 0
}

// AppendWithdraw appends one complete UPDATE of at most max bytes (0 means 4096) withdrawing as many of
// prefixes, in order, as fit: IPv4 in the withdrawn routes field, IPv6 in MP_UNREACH_NLRI. The count and
// the handling of other families are as for AppendAnnounce.
func AppendWithdraw(dst []byte, f Family, prefixes []netip.Prefix, max int) ([]byte, int) {
	return appendWithdraw(dst, f, nlriSource{prefixes: prefixes}, max)
}

func appendWithdraw(dst []byte, f Family, src nlriSource, max int) ([]byte, int) {
	max = encMax(max)
	switch f {
	case IPv4Unicast:
		base := HeaderLen + 4
		n, size, encoded := src.fit(f, min(max-base, 0xffff))
		if encoded == 0 {
			return dst, n
		}
		total := base + size
		dst = slices.Grow(dst, total)
		dst = encHeader(dst, MsgUpdate, total)
		dst = append(dst, byte(size>>8), byte(size))
		dst = src.put(dst, n, f)
		return append(dst, 0, 0), n
	case IPv6Unicast:
		base := HeaderLen + 4
		n, size, encoded := src.fit(f, max-base-4-3)
		if 3+size <= 255 {
			n, size, encoded = src.fit(f, min(max-base-3-3, 255-3))
		}
		if encoded == 0 {
			return dst, n
		}
		vlen := 3 + size
		hl := 3
		if vlen > 255 {
			hl = 4
		}
		total := base + hl + vlen
		dst = slices.Grow(dst, total)
		dst = encHeader(dst, MsgUpdate, total)
		dst = append(dst, 0, 0, byte((hl+vlen)>>8), byte(hl+vlen))
		dst = encAttrHeader(dst, FlagOptional, AttrMPUnreach, vlen)
		dst = append(dst, 0, 2, 1)
		return src.put(dst, n, f), n
	}
	return dst, 0
}

// AppendEndOfRIB appends the End-of-RIB marker for f (RFC 4724 §2): an empty UPDATE for IPv4 unicast, an
// UPDATE with an empty MP_UNREACH_NLRI for any other family.
func AppendEndOfRIB(dst []byte, f Family) []byte {
	if f == IPv4Unicast {
		dst = encHeader(dst, MsgUpdate, HeaderLen+4)
		return append(dst, 0, 0, 0, 0)
	}
	dst = encHeader(dst, MsgUpdate, HeaderLen+4+6)
	dst = append(dst, 0, 0, 0, 6, FlagOptional, AttrMPUnreach, 3)
	dst = binary.BigEndian.AppendUint16(dst, f.AFI())
	return append(dst, f.SAFI())
}

// EncodeUpdate encodes u into as many UPDATE messages as needed for a session described by opt: first
// the withdrawals (IPv4, then IPv6), then the announcements (IPv4 with u.Attrs.NextHop, IPv6 with
// u.Attrs.MPNextHop and MPLinkLocal), then the End-of-RIB marker if u.EndOfRIB is set and u carries no
// prefixes. It is a convenience for library users and tests; the route server encodes attributes once
// and packs with AppendAnnounce. An Update with nothing to send gives no messages. Errors: NLRI without
// Attrs or without a next hop of their family, or attributes too large to leave room for a prefix.
func EncodeUpdate(u *Update, opt EncodeOptions) ([][]byte, error) {
	max := encMax(opt.MaxMessage)
	var out [][]byte
	for _, f := range []Family{IPv4Unicast, IPv6Unicast} {
		ps := encOfFamily(u.Withdrawn, f)
		for len(ps) > 0 {
			msg, n := AppendWithdraw(nil, f, ps, max)
			if n == 0 {
				return nil, fmt.Errorf("encode UPDATE: withdrawal of %s does not fit %d bytes", ps[0], max)
			}
			if len(msg) > 0 {
				out = append(out, msg)
			}
			ps = ps[n:]
		}
	}
	for _, f := range []Family{IPv4Unicast, IPv6Unicast} {
		ps := encOfFamily(u.NLRI, f)
		if len(ps) == 0 {
			continue
		}
		if u.Attrs == nil {
			return nil, fmt.Errorf("encode UPDATE: %d %s prefixes without path attributes", len(ps), f)
		}
		if f == IPv4Unicast && !u.Attrs.NextHop.Is4() && !u.Attrs.MPNextHop.Is4() {
			return nil, fmt.Errorf("encode UPDATE: %s prefixes without an IPv4 NEXT_HOP", f)
		}
		if f == IPv6Unicast && !u.Attrs.MPNextHop.IsValid() {
			return nil, fmt.Errorf("encode UPDATE: %s prefixes without an MP_REACH_NLRI next hop", f)
		}
		block := AppendAttrs(nil, u.Attrs, f, opt)
		for len(ps) > 0 {
			msg, n := AppendAnnounce(nil, f, block, u.Attrs.MPNextHop, u.Attrs.MPLinkLocal, ps, max)
			if n == 0 {
				return nil, fmt.Errorf("encode UPDATE: %d bytes of attributes leave no room for %s in %d bytes",
					len(block), ps[0], max)
			}
			if len(msg) > 0 {
				out = append(out, msg)
			}
			ps = ps[n:]
		}
	}
	if u.EndOfRIB != 0 && len(u.NLRI) == 0 && len(u.Withdrawn) == 0 {
		out = append(out, AppendEndOfRIB(nil, u.EndOfRIB))
	}
	return out, nil
}

func encOfFamily(ps []netip.Prefix, f Family) []netip.Prefix {
	var out []netip.Prefix
	for _, p := range ps {
		if p.IsValid() && FamilyOf(p) == f {
			out = append(out, p)
		}
	}
	return out
}
