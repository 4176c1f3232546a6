package speaker

// The gobgp adapter: the only file that imports gobgp's pkg/packet/bgp (docs/speaker.md, "Robustness",
// lists its sharp edges). It holds DecodeUpdate, which runs the hand-written framing and decoders of update_decode.go
// and hands the remaining attributes to gobgp. The rest of the wire codec is message.go (header, KEEPALIVE,
// NOTIFICATION, ROUTE-REFRESH), open.go (OPEN, capabilities) and update_encode.go (UPDATE encoding).
//
// Who does what:
//   - OPEN, KEEPALIVE, NOTIFICATION and ROUTE-REFRESH are small fixed layouts and are coded by hand:
//     gobgp lacks BGP Role and Extended Message, silently drops capability errors in OPEN (bgp.go
//     OptionParameterCapability.DecodeFromBytes results are ignored) and has open fuzz panics there (#2598).
//   - In an UPDATE, the codec frames the message (withdrawn routes, attribute headers, NLRI), decodes the
//     NLRI of both unicast families itself (straight into netip.Prefix; gobgp's IPAddrPrefix costs two
//     allocations per prefix, wraps a uint16 on a withdrawn-routes overrun and returns before the NLRI on
//     an attribute overrun, so treat-as-withdraw would lose the prefixes), decodes MP_REACH/MP_UNREACH
//     (gobgp panics on a 3-byte MP_REACH and on EVPN NLRI) and the attributes whose meaning depends on
//     session state gobgp cannot be told: AS_PATH/AGGREGATOR width (RFC 6793, gobgp guesses: #3292),
//     AS4_PATH/AS4_AGGREGATOR (discard, not withdraw), OTC (RFC 9234, unknown to gobgp).
//   - It also decodes the attributes nearly every UPDATE carries, all fixed layouts: ORIGIN, NEXT_HOP,
//     MED, LOCAL_PREF, ATOMIC_AGGREGATE and the three kinds of communities. gobgp's decoding and
//     validation of those was 60% of the time and half of the bytes DecodeUpdate allocated, and every
//     re-announcement decodes its attributes again. FuzzDecodeAttrsGobgp holds this decoding to gobgp's
//     values and RFC 7606 levels, where RFC 7606 does not say otherwise (the differences are listed there).
//   - gobgp decodes and classifies ORIGINATOR_ID and CLUSTER_LIST (route reflection: from a route
//     server's members, rare), followed by bgp.ValidateUpdateMsg; both calls run under recover().
//   - Encoding is by hand (append-style, no allocation when dst has room); tests prove byte equality with
//     gobgp's Serialize.

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"slices"

	"github.com/osrg/gobgp/v3/pkg/packet/bgp"
)

// --- UPDATE: decoding -------------------------------------------------------------------------------

// DecodeUpdate decodes the body of an UPDATE (RFC 4271 §4.3, RFC 4760) with the error handling of
// RFC 7606. The result never aliases body.
//
// Results, by the strongest error found (UpdateError.Action; the error is nil only when all is well):
//   - none or ActionAttributeDiscard: the Update; discarded attributes are missing from Attrs;
//   - ActionTreatAsWithdraw: an Update whose Withdrawn holds every prefix of the message (NLRI and
//     MP_REACH_NLRI moved after the withdrawn routes), with NLRI and Attrs nil;
//   - ActionAFISAFIDisable, ActionSessionReset: nil and the NOTIFICATION to send. The speaker does not
//     disable single families, so both end the session.
//
// Prefixes are masked (trailing bits of NLRI are irrelevant) and keep their wire order: NLRI is the NLRI
// field then MP_REACH_NLRI, Withdrawn is the withdrawn routes then MP_UNREACH_NLRI. EndOfRIB is set for an
// empty UPDATE (IPv4) and for an UPDATE holding only an empty MP_UNREACH_NLRI; Attrs is nil when the
// message has no attributes besides MP_UNREACH_NLRI. Unrecognised optional attributes, ORIGINATOR_ID and
// CLUSTER_LIST go to Attrs.Other with their flags (the Extended Length bit cleared: it is framing).
// NEXT_HOP is ignored in an UPDATE without IPv4 NLRI (RFC 4760 §3). Of a repeated attribute the first
// counts (RFC 7606 §3 g); of a repeated large community, too (RFC 8092 §5).
//
// A panic while decoding (a bug, ours or gobgp's) is a session reset with UPDATE Message Error/Malformed
// Attribute List.
func DecodeUpdate(body []byte, opt DecodeOptions) (*Update, *UpdateError) {
	u, uerr, _ := safeDecodeUpdate(body, opt)
	return u, uerr
}

// safeDecodeUpdate is DecodeUpdate, also returning a recovered panic.
func safeDecodeUpdate(body []byte, opt DecodeOptions) (u *Update, uerr *UpdateError, p *decodePanic) {
	defer func() {
		if r := recover(); r != nil {
			p = recovered(r)
			u, uerr = nil, decErr(ActionSessionReset, SubMalformedAttrList, 0, nil, "decoder panic: %v", r)
		}
	}()
	u, uerr = decodeUpdate(body, opt, true)
	return u, uerr, nil
}

// decodeUpdate is DecodeUpdate without its recover. With recoverGobgp false, gobgp's panics are not
// recovered either: the fuzz target wants to see them.
func decodeUpdate(body []byte, opt DecodeOptions, recoverGobgp bool) (*Update, *UpdateError) {
	if decodeHook != nil {
		decodeHook(MsgUpdate, body)
	}
	d := decUpdate{opt: opt, recoverGobgp: recoverGobgp}
	return d.decode(body)
}

// decErr builds an UpdateError; the NOTIFICATION code is always UPDATE Message Error.
func decErr(action UpdateAction, sub, attr uint8, data []byte, format string, args ...any) *UpdateError {
	return &UpdateError{Action: action, Notification: Notification{Code: ErrUpdate, Subcode: sub, Data: data},
		Attr: attr, Reason: fmt.Sprintf(format, args...)}
}

// decMP is a decoded MP_REACH_NLRI or MP_UNREACH_NLRI of an accepted family.
type decMP struct {
	present   bool
	fam       Family
	nextHop   netip.Addr
	linkLocal netip.Addr
	nlri      []byte // the NLRI field, validated
	count     int
}

// decRaw is an attribute kept as bytes (for Attrs.Other), pointing into body until copied.
type decRaw struct {
	flags, typ uint8
	val        []byte
	viaGobgp   bool // validated by gobgp: keep only if gobgp kept it
}

// decUpdate is the state of one DecodeUpdate call.
type decUpdate struct {
	opt          DecodeOptions
	recoverGobgp bool         // turn a panic in gobgp into a session reset (false only when fuzzing)
	err          *UpdateError // strongest error so far

	nWithdrawn, nNLRI int
	attrCount         int // attributes in the message, duplicates included

	reach, unreach decMP

	// The attributes decoded here (update_decode.go attr); the communities stay bytes of body until
	// buildAttrs.
	hasASPath, hasAS4Path, hasAgg, hasAS4Agg, hasOTC bool
	hasMED, hasLocalPref, atomic                     bool
	origin                                           uint8
	med, localPref, otc                              uint32
	nextHop                                          netip.Addr
	asPath, as4Path                                  ASPath
	agg, as4Agg                                      Aggregator
	comms, extRaw, large                             []byte

	present    [4]uint64 // attribute types seen (first occurrences), for duplicates and mandatory checks
	toGobgp    []byte    // the attributes gobgp decodes, behind a 4-byte synthetic UPDATE prefix
	gobgpTypes []uint8
	raws       []decRaw
	other      bool // an attribute that sets Attrs was kept (besides MP_UNREACH)
}

func (d *decUpdate) add(e *UpdateError) {
	if d.err == nil || e.Action > d.err.Action {
		d.err = e
	}
}

func (d *decUpdate) seen(t uint8) bool { return d.present[t>>6]&(1<<(t&63)) != 0 }
func (d *decUpdate) mark(t uint8)      { d.present[t>>6] |= 1 << (t & 63) }

func (d *decUpdate) decode(body []byte) (*Update, *UpdateError) {
	// Framing (RFC 4271 §6.3): lengths that overrun the message make the NLRI impossible to locate.
	if len(body) < 4 {
		return nil, decErr(ActionSessionReset, SubMalformedAttrList, 0, nil, "UPDATE body of %d bytes", len(body))
	}
	wlen := int(binary.BigEndian.Uint16(body))
	if 2+wlen+2 > len(body) {
		return nil, decErr(ActionSessionReset, SubMalformedAttrList, 0, nil,
			"withdrawn routes length %d overruns the %d-byte UPDATE", wlen, len(body))
	}
	withdrawn := body[2 : 2+wlen]
	alen := int(binary.BigEndian.Uint16(body[2+wlen:]))
	if 4+wlen+alen > len(body) {
		return nil, decErr(ActionSessionReset, SubMalformedAttrList, 0, nil,
			"total path attribute length %d overruns the %d-byte UPDATE", alen, len(body))
	}
	attrs := body[4+wlen : 4+wlen+alen]
	nlri := body[4+wlen+alen:]
	if wlen == 0 && alen == 0 && len(nlri) == 0 {
		if d.opt.Families == nil || slices.Contains(d.opt.Families, IPv4Unicast) {
			return &Update{EndOfRIB: IPv4Unicast}, nil
		}
		return &Update{}, nil
	}

	addPath4 := d.opt.AddPath[IPv4Unicast]
	var err error
	if d.nWithdrawn, err = decCountPrefixes(withdrawn, false, addPath4); err != nil {
		return nil, decErr(ActionSessionReset, SubMalformedAttrList, 0, nil, "withdrawn routes: %v", err)
	}
	if d.nNLRI, err = decCountPrefixes(nlri, false, addPath4); err != nil {
		return nil, decErr(ActionSessionReset, SubInvalidNetworkField, 0, nil, "NLRI: %v", err)
	}

	if reset := d.walkAttrs(attrs); reset != nil {
		return nil, reset
	}
	var g *bgp.BGPUpdate
	if len(d.toGobgp) > 0 {
		var reset *UpdateError
		if g, reset = d.runGobgp(); reset != nil {
			return nil, reset
		}
	}
	d.checkMandatory()
	if d.err != nil && d.err.Action >= ActionAFISAFIDisable {
		return nil, d.err
	}

	if d.err != nil && d.err.Action == ActionTreatAsWithdraw {
		n := d.nWithdrawn + d.unreach.count + d.nNLRI + d.reach.count
		ps := make([]netip.Prefix, 0, n)
		ps = decPrefixes(ps, withdrawn, false, addPath4)
		ps = decMPPrefixes(ps, &d.unreach, &d.opt)
		ps = decPrefixes(ps, nlri, false, addPath4)
		ps = decMPPrefixes(ps, &d.reach, &d.opt)
		u := &Update{}
		if len(ps) > 0 {
			u.Withdrawn = ps
		}
		return u, d.err
	}

	u := &Update{}
	if n := d.nWithdrawn + d.unreach.count; n > 0 {
		u.Withdrawn = make([]netip.Prefix, 0, n)
		u.Withdrawn = decPrefixes(u.Withdrawn, withdrawn, false, addPath4)
		u.Withdrawn = decMPPrefixes(u.Withdrawn, &d.unreach, &d.opt)
	}
	if n := d.nNLRI + d.reach.count; n > 0 {
		u.NLRI = make([]netip.Prefix, 0, n)
		u.NLRI = decPrefixes(u.NLRI, nlri, false, addPath4)
		u.NLRI = decMPPrefixes(u.NLRI, &d.reach, &d.opt)
	}
	if wlen == 0 && len(nlri) == 0 && d.attrCount == 1 && d.unreach.present && d.unreach.count == 0 {
		u.EndOfRIB = d.unreach.fam // RFC 4724 §2
	}
	u.Attrs = d.buildAttrs(g)
	return u, d.err
}

// decGobgpFamilies is what bgp.ValidateUpdateMsg is told was negotiated. It only ever sees attributes
// without NLRI (the codec decodes those), so this merely keeps it from reporting families.
var decGobgpFamilies = map[bgp.RouteFamily]bgp.BGPAddPathMode{
	bgp.RF_IPv4_UC: bgp.BGP_ADD_PATH_NONE,
	bgp.RF_IPv6_UC: bgp.BGP_ADD_PATH_NONE,
}

// runGobgp lets gobgp decode and validate the queued attributes and records its verdict. It returns an
// error only for a session reset.
func (d *decUpdate) runGobgp() (*bgp.BGPUpdate, *UpdateError) {
	binary.BigEndian.PutUint16(d.toGobgp[2:], uint16(len(d.toGobgp)-4))
	g, perr, verr, panicked := decCallGobgp(d.toGobgp, !d.opt.IBGP, d.recoverGobgp)
	if panicked != "" {
		return nil, decErr(ActionSessionReset, SubMalformedAttrList, 0, nil, "gobgp panicked decoding attributes: %s", panicked)
	}
	if perr != nil {
		e := decFromGobgp(perr)
		if e.Action == ActionAttributeDiscard && e.Attr == 0 {
			e.Attr = d.droppedByGobgp(g)
		}
		if e.Action == ActionSessionReset {
			return nil, e
		}
		d.add(e)
	}
	if verr != nil {
		e := decFromGobgp(verr)
		if e.Action == ActionSessionReset {
			return nil, e
		}
		d.add(e)
	}
	return g, nil
}

// decCallGobgp runs gobgp's attribute decoder and then bgp.ValidateUpdateMsg. ValidateUpdateMsg runs
// when decoding found nothing or only attributes to discard: those are already removed from the message,
// while an attribute that failed with a stronger error stays in it half-decoded and makes the validator
// panic (gobgp #3305).
func decCallGobgp(b []byte, ebgp, recoverPanics bool) (g *bgp.BGPUpdate, perr, verr error, panicked string) {
	if recoverPanics {
		defer func() {
			if r := recover(); r != nil {
				panicked = fmt.Sprint(r)
			}
		}()
	}
	g = &bgp.BGPUpdate{}
	perr = g.DecodeFromBytes(b)
	var me *bgp.MessageError
	if perr == nil || (errors.As(perr, &me) && me.ErrorHandling == bgp.ERROR_HANDLING_ATTRIBUTE_DISCARD) {
		// isConfed false and loopbackNextHopAllowed true: AS_PATH is not gobgp's to check here, and next
		// hops are policy's business at a route server.
		_, verr = bgp.ValidateUpdateMsg(g, decGobgpFamilies, ebgp, false, true)
	}
	return g, perr, verr, ""
}

// decFromGobgp converts a gobgp error into an UpdateError with gobgp's RFC 7606 level.
func decFromGobgp(err error) *UpdateError {
	var me *bgp.MessageError
	if !errors.As(err, &me) {
		return decErr(ActionSessionReset, SubMalformedAttrList, 0, nil, "gobgp: %v", err)
	}
	action := ActionSessionReset // also for ERROR_HANDLING_NONE, which gobgp never returns with an error
	switch me.ErrorHandling {
	case bgp.ERROR_HANDLING_ATTRIBUTE_DISCARD:
		action = ActionAttributeDiscard
	case bgp.ERROR_HANDLING_TREAT_AS_WITHDRAW:
		action = ActionTreatAsWithdraw
	case bgp.ERROR_HANDLING_AFISAFI_DISABLE:
		action = ActionAFISAFIDisable
	}
	e := decErr(action, me.SubTypeCode, 0, bytes.Clone(me.Data), "%s", me.Message)
	if me.TypeCode != 0 {
		e.Notification.Code = me.TypeCode
	}
	if me.ErrorAttribute != nil && *me.ErrorAttribute != nil {
		e.Attr = uint8((*me.ErrorAttribute).GetType())
		e.Reason = fmt.Sprintf("attribute %d: %s", e.Attr, me.Message)
	}
	return e
}

// droppedByGobgp returns the first attribute type given to gobgp that it did not keep.
func (d *decUpdate) droppedByGobgp(g *bgp.BGPUpdate) uint8 {
	for _, t := range d.gobgpTypes {
		if !decGobgpKept(g, t) {
			return t
		}
	}
	return 0
}

func decGobgpKept(g *bgp.BGPUpdate, t uint8) bool {
	if g == nil {
		return false
	}
	for _, a := range g.PathAttributes {
		if uint8(a.GetType()) == t {
			return true
		}
	}
	return false
}

// buildAttrs assembles Attrs from gobgp's result and the codec's own decoding; nil when the UPDATE has no
// attributes besides MP_UNREACH_NLRI.
func (d *decUpdate) buildAttrs(g *bgp.BGPUpdate) *Attrs {
	a := &Attrs{Origin: d.origin, NextHop: d.nextHop, MED: d.med, HasMED: d.hasMED,
		LocalPref: d.localPref, HasLocalPref: d.hasLocalPref, AtomicAggregate: d.atomic}
	has := d.other || (g != nil && len(g.PathAttributes) > 0)
	if len(d.comms) > 0 {
		a.Communities = make([]uint32, len(d.comms)/4)
		for i := range a.Communities {
			a.Communities[i] = binary.BigEndian.Uint32(d.comms[4*i:])
		}
	}
	if len(d.extRaw) > 0 {
		a.ExtCommunities = make([]uint64, len(d.extRaw)/8)
		for i := range a.ExtCommunities {
			a.ExtCommunities[i] = binary.BigEndian.Uint64(d.extRaw[8*i:])
		}
	}
	if len(d.large) > 0 {
		a.LargeCommunities = decLarge(d.large)
	}
	if d.hasASPath {
		has = true
		a.ASPath = d.asPath
	}
	if d.reach.present {
		a.MPNextHop, a.MPLinkLocal = d.reach.nextHop, d.reach.linkLocal
	}
	if d.hasOTC {
		a.OTC, a.HasOTC = d.otc, true
	}
	if !d.opt.FourOctetAS {
		// RFC 6793 §4.2.3: an AGGREGATOR from an OLD speaker (not AS_TRANS) makes AS4_AGGREGATOR and
		// AS4_PATH stale; AS_TRANS means AS4_AGGREGATOR holds the real aggregator.
		if d.hasAgg && d.agg.AS != ASTrans {
			d.hasAS4Path = false
		} else if d.hasAgg && d.hasAS4Agg {
			d.agg = d.as4Agg
		}
		if d.hasASPath && d.hasAS4Path {
			a.ASPath = decMergeAS4Path(a.ASPath, d.as4Path)
		}
	}
	if d.hasAgg {
		agg := d.agg // allocated here only: a variable whose address is taken escapes where it is declared
		a.Aggregator = &agg
	}
	if n := d.otherCount(g); n > 0 {
		a.Other = make([]RawAttr, 0, n)
		for _, r := range d.raws {
			if r.viaGobgp && !decGobgpKept(g, r.typ) {
				continue
			}
			a.Other = append(a.Other, RawAttr{Flags: r.flags &^ FlagExtLen, Type: r.typ, Value: bytes.Clone(r.val)})
		}
	}
	if !has {
		return nil
	}
	return a
}

// decLarge decodes a LARGE_COMMUNITY value (a non-zero multiple of 12 bytes) without its repeated values,
// which RFC 8092 §5 has a receiver remove silently; the first of each stays, in received order.
func decLarge(b []byte) []LargeCommunity {
	n := len(b) / 12
	out := make([]LargeCommunity, 0, n)
	var seen map[LargeCommunity]struct{}
	if n > 16 { // a long attribute in one message must not cost n² comparisons
		seen = make(map[LargeCommunity]struct{}, n)
	}
	for i := range n {
		c := LargeCommunity{Global: binary.BigEndian.Uint32(b[12*i:]), Local1: binary.BigEndian.Uint32(b[12*i+4:]),
			Local2: binary.BigEndian.Uint32(b[12*i+8:])}
		if seen != nil {
			if _, dup := seen[c]; dup {
				continue
			}
			seen[c] = struct{}{}
		} else if slices.Contains(out, c) {
			continue
		}
		out = append(out, c)
	}
	return out
}

func (d *decUpdate) otherCount(g *bgp.BGPUpdate) int {
	n := 0
	for _, r := range d.raws {
		if !r.viaGobgp || decGobgpKept(g, r.typ) {
			n++
		}
	}
	return n
}
