package speaker

// UPDATE decoding done by hand: attribute framing, NLRI, MP_REACH/MP_UNREACH, AS_PATH and the RFC 6793
// merge, and the fixed-layout attributes (codec.go explains the split with gobgp).

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"slices"
)

type DecodeOptions struct {
	// FourOctetAS is true when both sides advertised the four-octet AS capability (RFC 6793): AS_PATH and
	// AGGREGATOR carry 4-octet ASNs, and AS4_PATH/AS4_AGGREGATOR are dropped (§4.1: they are never sent
	// between NEW speakers). When false, AS_PATH and AGGREGATOR are 2-octet and AS4_PATH/AS4_AGGREGATOR are
	// merged in (§4.2.3).
	FourOctetAS bool
	// AddPath holds the families for which the peer sends path identifiers (RFC 7911: we advertised
	// receive, it advertised send). Identifiers are parsed and dropped: Update has no place for them.
	AddPath map[Family]bool
	// Families are the negotiated multiprotocol families. MP_REACH_NLRI/MP_UNREACH_NLRI of any other family
	// are ignored (RFC 4760 §7), as are all families but IPv4 and IPv6 unicast. Nil means both unicast
	// families. The IPv4 NLRI and withdrawn-routes fields are always decoded.
	Families []Family
	// IBGP is true for an internal peer: LOCAL_PREF is kept and AS_CONFED segments are allowed. For an
	// external peer LOCAL_PREF is discarded (RFC 7606 §7.5) and an AS_PATH with AS_CONFED segments is
	// treated as a withdrawal (RFC 5065 §5.3).
	IBGP bool
}

// decAccepts reports whether MP_REACH/MP_UNREACH of family f are decoded.
func (o *DecodeOptions) decAccepts(f Family) bool {
	if f != IPv4Unicast && f != IPv6Unicast {
		return false
	}
	return o.Families == nil || slices.Contains(o.Families, f)
}

// Less common constants that only the codec needs.
const (
	codecCapRouteRefreshCisco = 128 // pre-standard route refresh capability, same meaning as 2
	codecOptParamCapability   = 2   // RFC 5492
	codecOptParamExtended     = 255 // RFC 9072 Non-Ext OP Type marking extended optional parameters
	codecMaxNotificationData  = MaxMessageLen - HeaderLen - 2
	codecMaxSegmentASNs       = 255 // a segment's ASN count is one octet
)

// walkAttrs frames the attribute block, handles the attributes the codec decodes itself and collects the
// rest for gobgp. It returns an error only when the session must end (reset or AFI/SAFI disable); weaker
// ones are recorded with add.
func (d *decUpdate) walkAttrs(attrs []byte) *UpdateError {
	for off := 0; off < len(attrs); {
		rest := attrs[off:]
		// RFC 7606 §4: an attribute that overruns the block, or bytes too few for a header, is
		// treat-as-withdraw; the NLRI field is still located by the total attribute length.
		if len(rest) < 3 || (rest[0]&FlagExtLen != 0 && len(rest) < 4) {
			return d.framingErr(rest, len(rest), 0,
				"%d bytes left at the end of the attribute block cannot hold an attribute", len(rest))
		}
		flags, typ := rest[0], rest[1]
		hl, vl := 3, int(rest[2])
		if flags&FlagExtLen != 0 {
			hl, vl = 4, int(binary.BigEndian.Uint16(rest[2:]))
		}
		if hl+vl > len(rest) {
			return d.framingErr(rest, hl, typ, "attribute %d of length %d overruns the attribute block", typ, vl)
		}
		raw, val := rest[:hl+vl], rest[hl:hl+vl]
		off += hl + vl
		d.attrCount++
		if d.seen(typ) {
			if typ == AttrMPReach || typ == AttrMPUnreach { // RFC 7606 §3 g
				return decErr(ActionSessionReset, SubMalformedAttrList, typ, nil, "attribute %d appears twice", typ)
			}
			d.add(decErr(ActionAttributeDiscard, SubMalformedAttrList, typ, nil,
				"attribute %d appears twice: all but the first discarded", typ))
			continue
		}
		d.mark(typ)
		if reset := d.attr(flags, typ, raw, val); reset != nil {
			return reset
		}
	}
	return nil
}

// framingErr handles an attribute block whose framing fails at rest, of which the first hl bytes are an
// attribute header (or all of rest, too short for one). RFC 7606 §4 makes this treat-as-withdraw, but §3 j
// allows treat-as-withdraw only once MP_REACH_NLRI and MP_UNREACH_NLRI are parsed: the bytes not parsed
// may hold either, with routes that would then be neither withdrawn nor reported. So unless both have
// been parsed already, or no byte that was not parsed could be the type code of one (the header's own
// type, or any byte past the header, where a misframed attribute could start one byte earlier), the NLRI
// of the message are unknown and the session is reset (RFC 7606 §5.3, RFC 4760 §7).
func (d *decUpdate) framingErr(rest []byte, hl int, typ uint8, format string, args ...any) *UpdateError {
	hidden := false
	if !d.seen(AttrMPReach) || !d.seen(AttrMPUnreach) {
		for i := 1; i < len(rest) && !hidden; i++ {
			if i == 1 || i > hl {
				hidden = rest[i] == AttrMPReach || rest[i] == AttrMPUnreach
			}
		}
	}
	if hidden {
		return decErr(ActionSessionReset, SubAttrLengthError, typ, bytes.Clone(rest),
			format+", where MP_REACH_NLRI or MP_UNREACH_NLRI may be", args...)
	}
	d.add(decErr(ActionTreatAsWithdraw, SubAttrLengthError, typ, nil, format, args...))
	return nil
}

// attr handles one attribute (first occurrence). It returns an error only when the session must end.
func (d *decUpdate) attr(flags, typ uint8, raw, val []byte) *UpdateError {
	flagsErr := func() {
		d.add(decErr(ActionTreatAsWithdraw, SubAttrFlagsError, typ, bytes.Clone(raw),
			"attribute %d has flags %#02x", typ, flags)) // RFC 7606 §3 c
	}
	switch typ {
	case AttrMPReach, AttrMPUnreach:
		if !decFlagsOK(flags, FlagOptional) {
			flagsErr() // still parsed below, so that its prefixes can be withdrawn
		}
		return d.mp(typ, val)

	case AttrASPath:
		if !decFlagsOK(flags, FlagTransitive) {
			flagsErr()
			return nil
		}
		size := 2
		if d.opt.FourOctetAS {
			size = 4
		}
		p, err := decASPath(val, size)
		if err != nil { // RFC 7606 §7.2
			d.add(decErr(ActionTreatAsWithdraw, SubMalformedASPath, typ, nil, "AS_PATH: %v", err))
			return nil
		}
		if !d.opt.IBGP {
			for _, s := range p {
				if s.Type == SegConfedSequence || s.Type == SegConfedSet { // RFC 5065 §5.3
					d.add(decErr(ActionTreatAsWithdraw, SubMalformedASPath, typ, nil,
						"AS_PATH from an external peer has an AS_CONFED segment"))
					return nil
				}
			}
		}
		d.hasASPath, d.asPath = true, p

	case AttrAS4Path:
		if d.opt.FourOctetAS {
			return nil // RFC 6793 §4.1: never sent between NEW speakers; dropped
		}
		if !decFlagsOK(flags, FlagOptional|FlagTransitive) {
			flagsErr()
			return nil
		}
		p, err := decASPath(val, 4)
		if err == nil && len(p) == 0 {
			err = errors.New("empty")
		}
		if err != nil { // RFC 6793 §6
			d.add(decErr(ActionAttributeDiscard, SubOptionalAttrError, typ, nil, "AS4_PATH discarded: %v", err))
			return nil
		}
		d.hasAS4Path, d.as4Path = true, p

	case AttrAggregator:
		if !decFlagsOK(flags, FlagOptional|FlagTransitive) {
			flagsErr()
			return nil
		}
		want := 6
		if d.opt.FourOctetAS {
			want = 8
		}
		if len(val) != want { // RFC 7606 §7.7
			d.add(decErr(ActionAttributeDiscard, SubAttrLengthError, typ, nil,
				"AGGREGATOR of length %d discarded (want %d)", len(val), want))
			return nil
		}
		d.hasAgg, d.other = true, true
		if want == 8 {
			d.agg = Aggregator{AS: binary.BigEndian.Uint32(val), Addr: netip.AddrFrom4([4]byte(val[4:]))}
		} else {
			d.agg = Aggregator{AS: uint32(binary.BigEndian.Uint16(val)), Addr: netip.AddrFrom4([4]byte(val[2:]))}
		}

	case AttrAS4Aggregator:
		if d.opt.FourOctetAS {
			return nil // RFC 6793 §4.1
		}
		if !decFlagsOK(flags, FlagOptional|FlagTransitive) {
			flagsErr()
			return nil
		}
		if len(val) != 8 { // RFC 6793 §6
			d.add(decErr(ActionAttributeDiscard, SubAttrLengthError, typ, nil,
				"AS4_AGGREGATOR of length %d discarded", len(val)))
			return nil
		}
		d.hasAS4Agg = true
		d.as4Agg = Aggregator{AS: binary.BigEndian.Uint32(val), Addr: netip.AddrFrom4([4]byte(val[4:]))}

	case AttrOTC:
		if !decFlagsOK(flags, FlagOptional|FlagTransitive) {
			flagsErr()
			return nil
		}
		if len(val) != 4 { // RFC 9234 §5
			d.add(decErr(ActionTreatAsWithdraw, SubAttrLengthError, typ, nil, "OTC of length %d", len(val)))
			return nil
		}
		d.hasOTC, d.otc, d.other = true, binary.BigEndian.Uint32(val), true

	case AttrOrigin:
		if !decFlagsOK(flags, FlagTransitive) {
			flagsErr()
			return nil
		}
		if len(val) != 1 { // RFC 7606 §7.1
			d.add(decErr(ActionTreatAsWithdraw, SubAttrLengthError, typ, nil, "ORIGIN of length %d", len(val)))
			return nil
		}
		if val[0] > OriginIncomplete { // RFC 4271 §6.3, RFC 7606 §7.1
			d.add(decErr(ActionTreatAsWithdraw, SubInvalidOrigin, typ, bytes.Clone(raw), "ORIGIN value %d", val[0]))
			return nil
		}
		d.origin, d.other = val[0], true

	case AttrNextHop:
		if d.nNLRI == 0 {
			return nil // RFC 4760 §3: without IPv4 NLRI, NEXT_HOP is ignored
		}
		if !decFlagsOK(flags, FlagTransitive) {
			flagsErr()
			return nil
		}
		if len(val) != 4 { // RFC 7606 §7.3 (gobgp accepted 16 bytes)
			d.add(decErr(ActionTreatAsWithdraw, SubAttrLengthError, typ, nil, "NEXT_HOP of length %d", len(val)))
			return nil
		}
		// RFC 4271 §6.3: not a host address (0.0.0.0/8, or class D or E); RFC 7606 §7.3. Loopback next
		// hops are policy's business at a route server.
		if val[0] == 0 || val[0] >= 224 {
			d.add(decErr(ActionTreatAsWithdraw, SubInvalidNextHop, typ, bytes.Clone(raw),
				"NEXT_HOP %d.%d.%d.%d is not a host address", val[0], val[1], val[2], val[3]))
			return nil
		}
		d.nextHop, d.other = netip.AddrFrom4([4]byte(val)), true

	case AttrMED, AttrLocalPref:
		want := FlagOptional
		if typ == AttrLocalPref {
			if !d.opt.IBGP { // RFC 7606 §7.5
				d.add(decErr(ActionAttributeDiscard, 0, typ, nil, "LOCAL_PREF from an external peer discarded"))
				return nil
			}
			want = FlagTransitive
		}
		if !decFlagsOK(flags, want) {
			flagsErr()
			return nil
		}
		if len(val) != 4 { // RFC 7606 §7.4, §7.5
			d.add(decErr(ActionTreatAsWithdraw, SubAttrLengthError, typ, nil, "attribute %d of length %d", typ, len(val)))
			return nil
		}
		if typ == AttrMED {
			d.med, d.hasMED = binary.BigEndian.Uint32(val), true
		} else {
			d.localPref, d.hasLocalPref = binary.BigEndian.Uint32(val), true
		}
		d.other = true

	case AttrAtomicAggregate:
		if !decFlagsOK(flags, FlagTransitive) {
			flagsErr()
			return nil
		}
		if len(val) != 0 { // RFC 7606 §7.6
			d.add(decErr(ActionAttributeDiscard, SubAttrLengthError, typ, nil,
				"ATOMIC_AGGREGATE of length %d discarded", len(val)))
			return nil
		}
		d.atomic, d.other = true, true

	case AttrCommunities, AttrExtCommunities, AttrLargeCommunities:
		if !decFlagsOK(flags, FlagOptional|FlagTransitive) {
			flagsErr()
			return nil
		}
		size := 4
		switch typ {
		case AttrExtCommunities:
			size = 8
		case AttrLargeCommunities:
			size = 12
		}
		// RFC 1997 and RFC 7606 §7.8, RFC 4360 and §7.14, RFC 8092 §6: a non-zero multiple of the size.
		if len(val) == 0 || len(val)%size != 0 {
			d.add(decErr(ActionTreatAsWithdraw, SubAttrLengthError, typ, nil,
				"attribute %d of length %d (a non-zero multiple of %d)", typ, len(val), size))
			return nil
		}
		switch typ {
		case AttrCommunities:
			d.comms = val
		case AttrExtCommunities:
			d.extRaw = val
		default:
			d.large = val
		}
		d.other = true

	case AttrClusterList:
		if len(val) == 0 { // RFC 7606 §7.10: a non-zero multiple of 4; gobgp accepts 0
			d.add(decErr(ActionTreatAsWithdraw, SubAttrLengthError, typ, nil, "CLUSTER_LIST is empty"))
			return nil
		}
		d.gobgp(typ, raw)
		d.raws = append(d.raws, decRaw{flags: flags, typ: typ, val: val, viaGobgp: true})

	case AttrOriginatorID:
		d.gobgp(typ, raw)
		d.raws = append(d.raws, decRaw{flags: flags, typ: typ, val: val, viaGobgp: true})

	default:
		if flags&FlagOptional == 0 { // RFC 4271 §6.3
			return decErr(ActionSessionReset, SubUnrecognizedWellKnown, typ, bytes.Clone(raw),
				"unrecognized well-known attribute %d", typ)
		}
		d.raws = append(d.raws, decRaw{flags: flags, typ: typ, val: val})
		d.other = true
	}
	return nil
}

// decFlagsOK checks the Optional and Transitive bits against want (RFC 7606 §3 c) and that the Partial
// bit is clear where RFC 4271 §4.3 requires it (well-known and optional non-transitive attributes).
func decFlagsOK(flags, want uint8) bool {
	if flags&(FlagOptional|FlagTransitive) != want {
		return false
	}
	return want == FlagOptional|FlagTransitive || flags&FlagPartial == 0
}

// gobgp queues an attribute for gobgp's decoder.
func (d *decUpdate) gobgp(typ uint8, raw []byte) {
	if d.toGobgp == nil {
		d.toGobgp = make([]byte, 4, 64)
	}
	d.toGobgp = append(d.toGobgp, raw...)
	d.gobgpTypes = append(d.gobgpTypes, typ)
}

// mp decodes MP_REACH_NLRI or MP_UNREACH_NLRI (RFC 4760 §3, §4). Families not accepted are ignored;
// errors in an accepted family cannot be confined to a route (RFC 7606 §5.3, §7.11) and disable it.
func (d *decUpdate) mp(typ uint8, val []byte) *UpdateError {
	name := "MP_REACH_NLRI"
	if typ == AttrMPUnreach {
		name = "MP_UNREACH_NLRI"
	}
	if len(val) < 3 {
		return decErr(ActionSessionReset, SubOptionalAttrError, typ, nil, "%s of length %d has no AFI/SAFI", name, len(val))
	}
	f := NewFamily(binary.BigEndian.Uint16(val), val[2])
	if !d.opt.decAccepts(f) {
		return nil
	}
	// RFC 4760 §7 names Optional Attribute Error for a bad MP attribute (gobgp says 3/5 for some cases).
	disable := func(format string, args ...any) *UpdateError {
		return decErr(ActionAFISAFIDisable, SubOptionalAttrError, typ, nil, name+" "+f.String()+": "+format, args...)
	}
	m := decMP{present: true, fam: f}
	rest := val[3:]
	if typ == AttrMPReach {
		if len(rest) < 2 {
			return disable("truncated after AFI/SAFI")
		}
		nhl := int(rest[0])
		ok := nhl == 4
		if f == IPv6Unicast {
			ok = nhl == 16 || nhl == 32
		}
		if !ok {
			return disable("next hop length %d", nhl)
		}
		if 1+nhl+1 > len(rest) {
			return disable("next hop length %d overruns the attribute", nhl)
		}
		nh := rest[1 : 1+nhl]
		if f == IPv4Unicast {
			m.nextHop = netip.AddrFrom4([4]byte(nh))
		} else {
			m.nextHop = netip.AddrFrom16([16]byte(nh[:16]))
			if nhl == 32 {
				m.linkLocal = netip.AddrFrom16([16]byte(nh[16:]))
			}
		}
		rest = rest[1+nhl+1:] // the reserved octet is ignored (RFC 4760 §3)
	}
	n, err := decCountPrefixes(rest, f == IPv6Unicast, d.opt.AddPath[f])
	if err != nil {
		return disable("%v", err)
	}
	m.nlri, m.count = rest, n
	if typ == AttrMPReach {
		d.reach = m
		d.other = true
	} else {
		d.unreach = m
	}
	return nil
}

// decCountPrefixes validates an NLRI-encoded prefix list (RFC 4271 §4.3, RFC 4760 §5, RFC 7911 §3) and
// counts its prefixes.
func decCountPrefixes(b []byte, v6, addPath bool) (int, error) {
	max := 32
	if v6 {
		max = 128
	}
	n := 0
	for len(b) > 0 {
		if addPath {
			if len(b) < 5 {
				return 0, fmt.Errorf("prefix %d: truncated path identifier", n+1)
			}
			b = b[4:]
		}
		bits := int(b[0])
		if bits > max {
			return 0, fmt.Errorf("prefix %d: length %d", n+1, bits)
		}
		l := 1 + (bits+7)/8
		if l > len(b) {
			return 0, fmt.Errorf("prefix %d: /%d overruns the field", n+1, bits)
		}
		b = b[l:]
		n++
	}
	return n, nil
}

// decPrefixes appends the prefixes of a field already validated by decCountPrefixes. Host bits are
// cleared by hand: netip's generic masking is the largest cost of decoding a full UPDATE.
func decPrefixes(dst []netip.Prefix, b []byte, v6, addPath bool) []netip.Prefix {
	for len(b) > 0 {
		if addPath {
			b = b[4:]
		}
		bits := int(b[0])
		l := (bits + 7) / 8
		var p netip.Prefix
		if v6 {
			var a [16]byte
			copy(a[:], b[1:1+l])
			if r := bits & 7; r != 0 {
				a[l-1] &= 0xff << (8 - r)
			}
			p = netip.PrefixFrom(netip.AddrFrom16(a), bits)
		} else {
			var a [4]byte
			switch l {
			case 4:
				a[3] = b[4]
				fallthrough
			case 3:
				a[2] = b[3]
				fallthrough
			case 2:
				a[1] = b[2]
				fallthrough
			case 1:
				a[0] = b[1]
			}
			if r := bits & 7; r != 0 {
				a[l-1] &= 0xff << (8 - r)
			}
			p = netip.PrefixFrom(netip.AddrFrom4(a), bits)
		}
		dst = append(dst, p)
		b = b[1+l:]
	}
	return dst
}

func decMPPrefixes(dst []netip.Prefix, m *decMP, opt *DecodeOptions) []netip.Prefix {
	if !m.present {
		return dst
	}
	return decPrefixes(dst, m.nlri, m.fam == IPv6Unicast, opt.AddPath[m.fam])
}

// decASPath decodes AS_PATH or AS4_PATH segments with ASNs of size bytes, checking RFC 7606 §7.2.
func decASPath(b []byte, size int) (ASPath, error) {
	nseg, nasn := 0, 0
	for v := b; len(v) > 0; {
		if len(v) < 2 {
			return nil, errors.New("truncated segment header")
		}
		typ, n := v[0], int(v[1])
		if typ < SegSet || typ > SegConfedSet {
			return nil, fmt.Errorf("segment type %d", typ)
		}
		if n == 0 {
			return nil, errors.New("empty segment")
		}
		if 2+n*size > len(v) {
			return nil, fmt.Errorf("segment of %d ASNs overruns the attribute", n)
		}
		v = v[2+n*size:]
		nseg++
		nasn += n
	}
	if nseg == 0 {
		return nil, nil
	}
	p := make(ASPath, 0, nseg)
	asns := make([]uint32, nasn)
	for v := b; len(v) > 0; {
		n := int(v[1])
		seg := asns[:n:n]
		asns = asns[n:]
		for i := range seg {
			if size == 4 {
				seg[i] = binary.BigEndian.Uint32(v[2+4*i:])
			} else {
				seg[i] = uint32(binary.BigEndian.Uint16(v[2+2*i:]))
			}
		}
		p = append(p, Segment{Type: v[0], ASNs: seg})
		v = v[2+n*size:]
	}
	return p, nil
}

// checkMandatory applies RFC 7606 §3 d: a well-known mandatory attribute missing from an UPDATE that
// announces routes is treat-as-withdraw (RFC 4760 makes NEXT_HOP mandatory only with IPv4 NLRI).
func (d *decUpdate) checkMandatory() {
	if d.nNLRI == 0 && !d.reach.present {
		return
	}
	missing := func(t uint8) bool { return !d.seen(t) }
	for _, t := range []uint8{AttrOrigin, AttrASPath, AttrNextHop} {
		if t == AttrNextHop && d.nNLRI == 0 {
			continue
		}
		if missing(t) {
			d.add(decErr(ActionTreatAsWithdraw, SubMissingWellKnown, t, []byte{t},
				"missing well-known attribute %d", t))
			return
		}
	}
}

// decMergeAS4Path reconstructs the AS path from a 2-octet AS_PATH and an AS4_PATH (RFC 6793 §4.2.3).
// AS4_PATH's AS_CONFED segments are dropped (§6). If AS_PATH counts fewer ASNs than AS4_PATH (a set counts
// as one, confederation segments as none), AS4_PATH is ignored; otherwise the leading ASNs of AS_PATH that
// make up the difference are prepended to AS4_PATH, with AS_CONFED segments that lead or adjoin them.
func decMergeAS4Path(as2, as4 ASPath) ASPath {
	tail := make(ASPath, 0, len(as4))
	for _, s := range as4 {
		if s.Type != SegConfedSequence && s.Type != SegConfedSet {
			tail = append(tail, s)
		}
	}
	need := as2.Len() - tail.Len()
	if need < 0 || len(tail) == 0 {
		return as2
	}
	out := make(ASPath, 0, len(as2)+len(tail))
	for i, s := range as2 {
		confed := s.Type == SegConfedSequence || s.Type == SegConfedSet
		if need == 0 && !(confed && len(out) == i) {
			break
		}
		switch {
		case confed:
			out = append(out, s)
		case s.Type == SegSet:
			out = append(out, s)
			need--
		case len(s.ASNs) <= need:
			out = append(out, s)
			need -= len(s.ASNs)
		default:
			out = append(out, Segment{Type: s.Type, ASNs: slices.Clone(s.ASNs[:need])})
			need = 0
		}
	}
	for _, s := range tail {
		if n := len(out); n > 0 && s.Type == SegSequence && out[n-1].Type == SegSequence &&
			len(out[n-1].ASNs)+len(s.ASNs) <= codecMaxSegmentASNs {
			// Joining the cut keeps the result canonical: SEQ(a) SEQ(b c) and SEQ(a b c) are one path.
			out[n-1] = Segment{Type: SegSequence, ASNs: slices.Concat(out[n-1].ASNs, s.ASNs)}
			continue
		}
		out = append(out, s)
	}
	return out
}
