package speaker

// The wire codec: the only file that imports gobgp's pkg/packet/bgp (see shared/NOTES-deps.md §1 for its
// sharp edges).
//
// Who does what:
//   - OPEN, KEEPALIVE, NOTIFICATION and ROUTE-REFRESH are small fixed layouts and are coded here by hand:
//     gobgp lacks BGP Role and Extended Message, silently drops capability errors in OPEN (bgp.go
//     OptionParameterCapability.DecodeFromBytes results are ignored) and has open fuzz panics there (#2598).
//   - In an UPDATE, this file frames the message (withdrawn routes, attribute headers, NLRI), decodes the
//     NLRI of both unicast families itself (straight into netip.Prefix; gobgp's IPAddrPrefix costs two
//     allocations per prefix, wraps a uint16 on a withdrawn-routes overrun and returns before the NLRI on
//     an attribute overrun, so treat-as-withdraw would lose the prefixes), decodes MP_REACH/MP_UNREACH
//     (gobgp panics on a 3-byte MP_REACH and on EVPN NLRI) and the attributes whose meaning depends on
//     session state gobgp cannot be told: AS_PATH/AGGREGATOR width (RFC 6793, gobgp guesses: #3292),
//     AS4_PATH/AS4_AGGREGATOR (discard, not withdraw), OTC (RFC 9234, unknown to gobgp).
//   - gobgp decodes and classifies the rest (ORIGIN, NEXT_HOP, MED, LOCAL_PREF, ATOMIC_AGGREGATE,
//     COMMUNITIES, ORIGINATOR_ID, CLUSTER_LIST, EXTENDED and LARGE COMMUNITIES) with its RFC 7606 levels,
//     followed by bgp.ValidateUpdateMsg; both calls run under recover().
//   - Encoding is by hand (append-style, no allocation when dst has room); tests prove byte equality with
//     gobgp's Serialize.

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/osrg/gobgp/v3/pkg/packet/bgp"
)

// DecodeOptions describe what was negotiated on the session an UPDATE arrived on.
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

// --- message header ---------------------------------------------------------------------------------

var codecMarker = [16]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

// encHeader appends a message header for a message of total length n (header included).
func encHeader(dst []byte, typ uint8, n int) []byte {
	dst = append(dst, codecMarker[:]...)
	return append(dst, byte(n>>8), byte(n), typ)
}

// encMax clamps a caller's maximum message size to what BGP can frame; 0 or less means 4096.
func encMax(max int) int {
	switch {
	case max <= 0:
		return MaxMessageLen
	case max > MaxExtendedMessage:
		return MaxExtendedMessage
	}
	return max
}

// EncodeKeepalive returns a KEEPALIVE message (RFC 4271 §4.4): a bare 19-byte header.
func EncodeKeepalive() []byte {
	return encHeader(make([]byte, 0, HeaderLen), MsgKeepalive, HeaderLen)
}

// --- NOTIFICATION -----------------------------------------------------------------------------------

// DecodeNotification decodes the body of a NOTIFICATION (RFC 4271 §4.5). Data is a copy. A body shorter
// than two bytes (the framer rejects those) yields the bytes present and zero for the rest.
func DecodeNotification(body []byte) Notification {
	var n Notification
	if len(body) > 0 {
		n.Code = body[0]
	}
	if len(body) > 1 {
		n.Subcode = body[1]
	}
	if len(body) > 2 {
		n.Data = bytes.Clone(body[2:])
	}
	return n
}

// EncodeNotification returns the NOTIFICATION message for n, header included. Data is cut so that the
// message fits 4096 bytes: a NOTIFICATION may be sent before extended messages are negotiated.
func EncodeNotification(n Notification) []byte {
	data := n.Data
	if len(data) > codecMaxNotificationData {
		data = data[:codecMaxNotificationData]
	}
	l := HeaderLen + 2 + len(data)
	b := encHeader(make([]byte, 0, l), MsgNotification, l)
	b = append(b, n.Code, n.Subcode)
	return append(b, data...)
}

// AdminShutdown returns a Cease NOTIFICATION with subcode (SubAdminShutdown or SubAdminReset) carrying msg
// as an RFC 9003 Shutdown Communication: one length octet and UTF-8 text. Invalid UTF-8 is replaced by
// U+FFFD and the text is cut at a character boundary to at most 255 bytes. An empty msg gives no data.
func AdminShutdown(subcode uint8, msg string) Notification {
	n := Notification{Code: ErrCease, Subcode: subcode}
	if msg == "" {
		return n
	}
	msg = strings.ToValidUTF8(msg, "\uFFFD")
	if len(msg) > 255 {
		cut := 255
		for cut > 0 && !utf8.RuneStart(msg[cut]) {
			cut--
		}
		msg = msg[:cut]
	}
	n.Data = make([]byte, 0, 1+len(msg))
	n.Data = append(n.Data, byte(len(msg)))
	n.Data = append(n.Data, msg...)
	return n
}

// ShutdownMessage returns the RFC 9003 Shutdown Communication of a Cease/Administrative Shutdown or
// Cease/Administrative Reset NOTIFICATION, and false when there is none (other codes, no data, length 0).
// A length octet that disagrees with the data is tolerated (RFC 9003 §2 asks to log, not to fail): the
// shorter of the two is used, and invalid UTF-8 is replaced by U+FFFD.
func (n Notification) ShutdownMessage() (string, bool) {
	if n.Code != ErrCease || (n.Subcode != SubAdminShutdown && n.Subcode != SubAdminReset) || len(n.Data) == 0 {
		return "", false
	}
	msg := n.Data[1:]
	if l := int(n.Data[0]); l < len(msg) {
		msg = msg[:l]
	}
	if len(msg) == 0 {
		return "", false
	}
	return strings.ToValidUTF8(string(msg), "\uFFFD"), true
}

// Error returns the same text as String, so that a Notification can be returned as an error.
func (n Notification) Error() string { return n.String() }

// String describes n for people: "Cease/Administrative Shutdown: \"maintenance\"",
// "UPDATE Message Error/Malformed AS_PATH (data 40020100)". Unknown codes and subcodes print as numbers.
func (n Notification) String() string {
	var b strings.Builder
	b.WriteString(codecCodeName(n.Code))
	if sub := codecSubcodeName(n.Code, n.Subcode); sub != "" {
		b.WriteByte('/')
		b.WriteString(sub)
	}
	if msg, ok := n.ShutdownMessage(); ok {
		fmt.Fprintf(&b, ": %q", msg)
	} else if len(n.Data) > 0 {
		const show = 32
		if len(n.Data) > show {
			fmt.Fprintf(&b, " (data %x… %d bytes)", n.Data[:show], len(n.Data))
		} else {
			fmt.Fprintf(&b, " (data %x)", n.Data)
		}
	}
	return b.String()
}

func codecCodeName(code uint8) string {
	switch code {
	case ErrMessageHeader:
		return "Message Header Error"
	case ErrOpen:
		return "OPEN Message Error"
	case ErrUpdate:
		return "UPDATE Message Error"
	case ErrHoldTimer:
		return "Hold Timer Expired"
	case ErrFSM:
		return "Finite State Machine Error"
	case ErrCease:
		return "Cease"
	case ErrRouteRefresh:
		return "ROUTE-REFRESH Message Error"
	}
	return fmt.Sprintf("code %d", code)
}

// codecSubcodeNames are the IANA "BGP Error Subcodes" registries; index = subcode.
var codecSubcodeNames = map[uint8][]string{
	ErrMessageHeader: {"Unspecific", "Connection Not Synchronized", "Bad Message Length", "Bad Message Type"},
	ErrOpen: {"Unspecific", "Unsupported Version Number", "Bad Peer AS", "Bad BGP Identifier",
		"Unsupported Optional Parameter", "Authentication Failure (deprecated)", "Unacceptable Hold Time",
		"Unsupported Capability", "subcode 8 (deprecated)", "subcode 9 (deprecated)", "subcode 10 (deprecated)",
		"Role Mismatch"},
	ErrUpdate: {"Unspecific", "Malformed Attribute List", "Unrecognized Well-known Attribute",
		"Missing Well-known Attribute", "Attribute Flags Error", "Attribute Length Error",
		"Invalid ORIGIN Attribute", "AS Routing Loop (deprecated)", "Invalid NEXT_HOP Attribute",
		"Optional Attribute Error", "Invalid Network Field", "Malformed AS_PATH"},
	ErrFSM: {"Unspecified Error", "Receive Unexpected Message in OpenSent State",
		"Receive Unexpected Message in OpenConfirm State", "Receive Unexpected Message in Established State"},
	ErrCease: {"Unspecific", "Maximum Number of Prefixes Reached", "Administrative Shutdown",
		"Peer De-configured", "Administrative Reset", "Connection Rejected", "Other Configuration Change",
		"Connection Collision Resolution", "Out of Resources", "Hard Reset", "BFD Down"},
	ErrRouteRefresh: {"Reserved", "Invalid Message Length"},
}

// codecSubcodeName names a subcode; "" for subcode 0 of a code without subcodes (Hold Timer Expired).
func codecSubcodeName(code, sub uint8) string {
	names, ok := codecSubcodeNames[code]
	if !ok {
		if sub == 0 {
			return ""
		}
		return fmt.Sprintf("subcode %d", sub)
	}
	if int(sub) < len(names) {
		return names[sub]
	}
	return fmt.Sprintf("subcode %d", sub)
}

// --- ROUTE-REFRESH ----------------------------------------------------------------------------------

// DecodeRouteRefresh decodes the body of a ROUTE-REFRESH (RFC 2918, RFC 7313). A body that is not 4
// bytes long gives ROUTE-REFRESH Message Error/Invalid Message Length with the complete message as data
// (RFC 7313 §5). Subtypes other than 0, 1 and 2 are returned as they are: RFC 7313 §5 says to ignore such
// a message, which is the caller's decision.
func DecodeRouteRefresh(body []byte) (RouteRefresh, *Notification) {
	if len(body) != 4 {
		l := HeaderLen + len(body)
		data := encHeader(make([]byte, 0, l), MsgRouteRefresh, l)
		data = append(data, body...)
		if len(data) > codecMaxNotificationData {
			data = data[:codecMaxNotificationData]
		}
		return RouteRefresh{}, &Notification{Code: ErrRouteRefresh, Subcode: 1, Data: data}
	}
	return RouteRefresh{Family: NewFamily(binary.BigEndian.Uint16(body), body[3]), Subtype: body[2]}, nil
}

// EncodeRouteRefresh returns the ROUTE-REFRESH message for r, header included.
func EncodeRouteRefresh(r RouteRefresh) []byte {
	const l = HeaderLen + 4
	b := encHeader(make([]byte, 0, l), MsgRouteRefresh, l)
	b = binary.BigEndian.AppendUint16(b, r.Family.AFI())
	return append(b, r.Subtype, r.Family.SAFI())
}

// --- OPEN -------------------------------------------------------------------------------------------

// DecodeOpen decodes the body of an OPEN (RFC 4271 §4.2) and its capabilities (RFC 5492), including
// optional parameters in the RFC 9072 extended format. It checks structure only; ValidateOpen checks the
// values. Errors:
//   - a body under 10 bytes: Message Header Error/Bad Message Length, data = the message length;
//   - lengths that disagree (optional parameters, capabilities) or a known capability of the wrong size:
//     OPEN Message Error/Unspecific (RFC 4271 names no better subcode);
//   - an optional parameter other than capabilities: OPEN Message Error/Unsupported Optional Parameter;
//   - BGP Role capabilities with different values: OPEN Message Error/Role Mismatch (RFC 9234 §4.2).
//
// Several capabilities in one parameter and several parameters both work. Route refresh capabilities 2
// and 128 both set RouteRefresh. Of repeated single-valued capabilities (four-octet AS, graceful restart)
// the first counts. Capabilities without a field in Capabilities are kept in Unknown. Nothing aliases body.
func DecodeOpen(body []byte) (*Open, *Notification) {
	if len(body) < 10 {
		return nil, &Notification{Code: ErrMessageHeader, Subcode: SubBadMessageLength,
			Data: binary.BigEndian.AppendUint16(nil, uint16(HeaderLen+len(body)))}
	}
	o := &Open{
		Version:  body[0],
		MyAS:     binary.BigEndian.Uint16(body[1:]),
		HoldTime: binary.BigEndian.Uint16(body[3:]),
		RouterID: netip.AddrFrom4([4]byte(body[5:9])),
	}
	optLen := int(body[9])
	params := body[10:]
	ext := false
	if optLen == 255 && len(params) >= 3 && params[0] == codecOptParamExtended { // RFC 9072 §2
		ext = true
		optLen = int(binary.BigEndian.Uint16(params[1:]))
		params = params[3:]
	}
	if optLen != len(params) {
		return nil, decOpenErr()
	}
	var seen decCapSeen
	for len(params) > 0 {
		var typ uint8
		var l int
		if ext {
			if len(params) < 3 {
				return nil, decOpenErr()
			}
			typ, l = params[0], int(binary.BigEndian.Uint16(params[1:]))
			params = params[3:]
		} else {
			if len(params) < 2 {
				return nil, decOpenErr()
			}
			typ, l = params[0], int(params[1])
			params = params[2:]
		}
		if l > len(params) {
			return nil, decOpenErr()
		}
		val := params[:l]
		params = params[l:]
		if typ != codecOptParamCapability {
			return nil, &Notification{Code: ErrOpen, Subcode: SubUnsupportedOptParam}
		}
		if n := decCapabilities(&o.Caps, val, &seen); n != nil {
			return nil, n
		}
	}
	return o, nil
}

// decOpenErr is the NOTIFICATION for an OPEN whose lengths disagree or whose known capability has the
// wrong size. RFC 4271 and RFC 5492 name no subcode for these: OPEN Message Error/Unspecific.
func decOpenErr() *Notification { return &Notification{Code: ErrOpen, Subcode: 0} }

// decCapSeen remembers single-valued capabilities already decoded, so that the first one counts.
type decCapSeen struct{ as4, gr bool }

// decCapabilities decodes the capabilities of one capabilities optional parameter into c.
func decCapabilities(c *Capabilities, b []byte, seen *decCapSeen) *Notification {
	for len(b) > 0 {
		if len(b) < 2 {
			return decOpenErr()
		}
		code, l := b[0], int(b[1])
		if 2+l > len(b) {
			return decOpenErr()
		}
		v := b[2 : 2+l]
		b = b[2+l:]
		switch code {
		case CapMultiprotocol:
			if l != 4 {
				return decOpenErr()
			}
			if f := NewFamily(binary.BigEndian.Uint16(v), v[3]); !slices.Contains(c.Families, f) {
				c.Families = append(c.Families, f)
			}
		case CapRouteRefresh, codecCapRouteRefreshCisco:
			c.RouteRefresh = true
		case CapEnhancedRouteRefresh:
			c.EnhancedRouteRefresh = true
		case CapExtendedMessage:
			c.ExtendedMessage = true
		case CapFourOctetAS:
			if l != 4 {
				return decOpenErr()
			}
			if !seen.as4 {
				seen.as4 = true
				c.FourOctetAS, c.AS4 = true, binary.BigEndian.Uint32(v)
			}
		case CapRole:
			if l != 1 {
				return decOpenErr()
			}
			if c.HasRole && c.Role != v[0] {
				return &Notification{Code: ErrOpen, Subcode: SubRoleMismatch}
			}
			c.HasRole, c.Role = true, v[0]
		case CapGracefulRestart:
			if l < 2 || (l-2)%4 != 0 {
				return decOpenErr()
			}
			if seen.gr {
				continue
			}
			seen.gr = true
			gr := &GracefulRestart{RestartState: v[0]&0x80 != 0, RestartTime: binary.BigEndian.Uint16(v) & 0x0fff}
			for t := v[2:]; len(t) >= 4; t = t[4:] {
				gr.Families = append(gr.Families, GRFamily{
					Family: NewFamily(binary.BigEndian.Uint16(t), t[2]), ForwardingState: t[3]&0x80 != 0})
			}
			c.GracefulRestart = gr
		case CapAddPath:
			if l == 0 || l%4 != 0 {
				return decOpenErr()
			}
			if c.AddPath == nil {
				c.AddPath = make(map[Family]uint8, l/4)
			}
			for t := v; len(t) >= 4; t = t[4:] {
				c.AddPath[NewFamily(binary.BigEndian.Uint16(t), t[2])] = t[3]
			}
		default:
			rc := RawCapability{Code: code}
			if l > 0 {
				rc.Value = bytes.Clone(v)
			}
			c.Unknown = append(c.Unknown, rc)
		}
	}
	return nil
}

// ValidateOpen checks a decoded OPEN against RFC 4271 §6.2 and returns the NOTIFICATION to send, or nil:
//   - version other than 4: Unsupported Version Number, data = 2-byte version 4 (the one we speak);
//   - AS 0 (RFC 7607), a peer AS other than expectPeerAS (0 accepts any), or a four-octet AS above 65535
//     with MyAS other than AS_TRANS (RFC 6793 §4.1): Bad Peer AS;
//   - BGP Identifier 0.0.0.0, 255.255.255.255, multicast, or equal to localID: Bad BGP Identifier. RFC 6286
//     only forbids an equal identifier from internal peers; the speaker rejects it for every peer because
//     the route server's sessions are external and an OPEN with our own identifier is most likely our own;
//   - hold time 1 or 2 seconds: Unacceptable Hold Time.
func ValidateOpen(o *Open, expectPeerAS uint32, localID netip.Addr) *Notification {
	if o.Version != 4 {
		return &Notification{Code: ErrOpen, Subcode: SubUnsupportedVersion, Data: []byte{0, 4}}
	}
	as := o.ASN()
	if as == 0 || (expectPeerAS != 0 && as != expectPeerAS) ||
		(o.Caps.FourOctetAS && o.Caps.AS4 > 0xffff && o.MyAS != ASTrans) {
		return &Notification{Code: ErrOpen, Subcode: SubBadPeerAS}
	}
	id := o.RouterID
	if !id.Is4() || id.IsUnspecified() || id == netip.AddrFrom4([4]byte{255, 255, 255, 255}) ||
		id.IsMulticast() || (localID.IsValid() && id == localID) {
		return &Notification{Code: ErrOpen, Subcode: SubBadBGPIdentifier}
	}
	if o.HoldTime == 1 || o.HoldTime == 2 {
		return &Notification{Code: ErrOpen, Subcode: SubUnacceptableHoldTime}
	}
	return nil
}

// EncodeOpen returns the OPEN message for o, header included. Capabilities are written in one optional
// parameter in code order (multiprotocol, route refresh, extended message, role, graceful restart,
// four-octet AS, ADD-PATH by family, enhanced route refresh, then Unknown as given); RFC 9072 extended
// optional parameters are used only when they do not fit 255 bytes. A RouterID that is not IPv4 is sent as
// 0.0.0.0. Extended message (6) and role (9) are written here because gobgp has neither.
func EncodeOpen(o *Open) []byte {
	caps := encCapabilities(nil, &o.Caps)
	var params []byte
	ext := len(caps) > 253
	switch {
	case ext: // RFC 9072: Non-Ext OP Len 255, Non-Ext OP Type 255, 2-byte length, params with 2-byte lengths
		params = make([]byte, 0, 6+len(caps))
		params = append(params, codecOptParamExtended)
		params = binary.BigEndian.AppendUint16(params, uint16(3+len(caps)))
		params = append(params, codecOptParamCapability)
		params = binary.BigEndian.AppendUint16(params, uint16(len(caps)))
		params = append(params, caps...)
	case len(caps) > 0:
		params = append([]byte{codecOptParamCapability, byte(len(caps))}, caps...)
	}
	l := HeaderLen + 10 + len(params)
	b := encHeader(make([]byte, 0, l), MsgOpen, l)
	b = append(b, o.Version)
	b = binary.BigEndian.AppendUint16(b, o.MyAS)
	b = binary.BigEndian.AppendUint16(b, o.HoldTime)
	id := [4]byte{}
	if o.RouterID.Is4() {
		id = o.RouterID.As4()
	}
	b = append(b, id[:]...)
	if ext {
		b = append(b, 255)
	} else {
		b = append(b, byte(len(params)))
	}
	return append(b, params...)
}

// encCapabilities appends the capabilities of c, each as code, length, value.
func encCapabilities(b []byte, c *Capabilities) []byte {
	for _, f := range c.Families {
		b = append(b, CapMultiprotocol, 4)
		b = binary.BigEndian.AppendUint16(b, f.AFI())
		b = append(b, 0, f.SAFI())
	}
	if c.RouteRefresh {
		b = append(b, CapRouteRefresh, 0)
	}
	if c.ExtendedMessage {
		b = append(b, CapExtendedMessage, 0)
	}
	if c.HasRole {
		b = append(b, CapRole, 1, c.Role)
	}
	if gr := c.GracefulRestart; gr != nil {
		fams := gr.Families
		if len(fams) > 63 { // (255-2)/4: what one capability can hold
			fams = fams[:63]
		}
		b = append(b, CapGracefulRestart, byte(2+4*len(fams)))
		v := gr.RestartTime & 0x0fff
		if gr.RestartState {
			v |= 0x8000
		}
		b = binary.BigEndian.AppendUint16(b, v)
		for _, f := range fams {
			b = binary.BigEndian.AppendUint16(b, f.Family.AFI())
			flags := byte(0)
			if f.ForwardingState {
				flags = 0x80
			}
			b = append(b, f.Family.SAFI(), flags)
		}
	}
	if c.FourOctetAS {
		b = append(b, CapFourOctetAS, 4)
		b = binary.BigEndian.AppendUint32(b, c.AS4)
	}
	if len(c.AddPath) > 0 {
		fams := make([]Family, 0, len(c.AddPath))
		for f := range c.AddPath {
			fams = append(fams, f)
		}
		slices.Sort(fams) // map order is random; the wire must not be
		if len(fams) > 63 {
			fams = fams[:63]
		}
		b = append(b, CapAddPath, byte(4*len(fams)))
		for _, f := range fams {
			b = binary.BigEndian.AppendUint16(b, f.AFI())
			b = append(b, f.SAFI(), c.AddPath[f])
		}
	}
	if c.EnhancedRouteRefresh {
		b = append(b, CapEnhancedRouteRefresh, 0)
	}
	for _, u := range c.Unknown {
		v := u.Value
		if len(v) > 255 {
			v = v[:255]
		}
		b = append(b, u.Code, byte(len(v)))
		b = append(b, v...)
	}
	return b
}

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
// counts (RFC 7606 §3 g).
func DecodeUpdate(body []byte, opt DecodeOptions) (u *Update, uerr *UpdateError) {
	defer func() {
		// Nothing below should panic; this turns a bug into a session reset instead of a crash.
		if r := recover(); r != nil {
			u, uerr = nil, decErr(ActionSessionReset, SubMalformedAttrList, 0, nil, "decoder panic: %v", r)
		}
	}()
	d := decUpdate{opt: &opt}
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
	opt *DecodeOptions
	err *UpdateError // strongest error so far

	nWithdrawn, nNLRI int
	attrCount         int // attributes in the message, duplicates included

	reach, unreach decMP

	hasASPath, hasAS4Path, hasAgg, hasAS4Agg, hasOTC bool
	asPath, as4Path                                  ASPath
	agg, as4Agg                                      Aggregator
	otc                                              uint32
	extRaw                                           []byte

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
		ps = decMPPrefixes(ps, &d.unreach, d.opt)
		ps = decPrefixes(ps, nlri, false, addPath4)
		ps = decMPPrefixes(ps, &d.reach, d.opt)
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
		u.Withdrawn = decMPPrefixes(u.Withdrawn, &d.unreach, d.opt)
	}
	if n := d.nNLRI + d.reach.count; n > 0 {
		u.NLRI = make([]netip.Prefix, 0, n)
		u.NLRI = decPrefixes(u.NLRI, nlri, false, addPath4)
		u.NLRI = decMPPrefixes(u.NLRI, &d.reach, d.opt)
	}
	if wlen == 0 && len(nlri) == 0 && d.attrCount == 1 && d.unreach.present && d.unreach.count == 0 {
		u.EndOfRIB = d.unreach.fam // RFC 4724 §2
	}
	u.Attrs = d.buildAttrs(g)
	return u, d.err
}

// walkAttrs frames the attribute block, handles the attributes the codec decodes itself and collects the
// rest for gobgp. It returns an error only when the session must end (reset or AFI/SAFI disable); weaker
// ones are recorded with add.
func (d *decUpdate) walkAttrs(attrs []byte) *UpdateError {
	for off := 0; off < len(attrs); {
		rest := attrs[off:]
		// RFC 7606 §4: an attribute that overruns the block, or bytes too few for a header, is
		// treat-as-withdraw; the NLRI field is still located by the total attribute length.
		if len(rest) < 3 || (rest[0]&FlagExtLen != 0 && len(rest) < 4) {
			d.add(decErr(ActionTreatAsWithdraw, SubAttrLengthError, 0, nil,
				"%d bytes left at the end of the attribute block cannot hold an attribute", len(rest)))
			return nil
		}
		flags, typ := rest[0], rest[1]
		hl, vl := 3, int(rest[2])
		if flags&FlagExtLen != 0 {
			hl, vl = 4, int(binary.BigEndian.Uint16(rest[2:]))
		}
		if hl+vl > len(rest) {
			d.add(decErr(ActionTreatAsWithdraw, SubAttrLengthError, typ, nil,
				"attribute %d of length %d overruns the attribute block", typ, vl))
			return nil
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

	case AttrLocalPref:
		if !d.opt.IBGP { // RFC 7606 §7.5
			d.add(decErr(ActionAttributeDiscard, 0, typ, nil, "LOCAL_PREF from an external peer discarded"))
			return nil
		}
		d.gobgp(typ, raw)

	case AttrNextHop:
		if d.nNLRI == 0 {
			return nil // RFC 4760 §3: without IPv4 NLRI, NEXT_HOP is ignored
		}
		if len(val) != 4 { // RFC 7606 §7.3 (gobgp would accept 16 bytes)
			d.add(decErr(ActionTreatAsWithdraw, SubAttrLengthError, typ, nil, "NEXT_HOP of length %d", len(val)))
			return nil
		}
		d.gobgp(typ, raw)

	case AttrCommunities, AttrClusterList, AttrExtCommunities, AttrLargeCommunities:
		if len(val) == 0 { // RFC 7606 §7.8, §7.10, §7.14, RFC 8092 §6: a non-zero multiple; gobgp accepts 0
			d.add(decErr(ActionTreatAsWithdraw, SubAttrLengthError, typ, nil, "attribute %d is empty", typ))
			return nil
		}
		d.gobgp(typ, raw)
		switch typ {
		case AttrClusterList:
			d.raws = append(d.raws, decRaw{flags: flags, typ: typ, val: val, viaGobgp: true})
		case AttrExtCommunities:
			d.extRaw = val
		}

	case AttrOrigin, AttrMED, AttrAtomicAggregate:
		d.gobgp(typ, raw)

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
	g, perr, verr, panicked := decCallGobgp(d.toGobgp, !d.opt.IBGP)
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
// panic (NOTES-deps §1.1, gobgp #3305).
func decCallGobgp(b []byte, ebgp bool) (g *bgp.BGPUpdate, perr, verr error, panicked string) {
	defer func() {
		if r := recover(); r != nil {
			panicked = fmt.Sprint(r)
		}
	}()
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

// buildAttrs assembles Attrs from gobgp's result and the codec's own decoding; nil when the UPDATE has no
// attributes besides MP_UNREACH_NLRI.
func (d *decUpdate) buildAttrs(g *bgp.BGPUpdate) *Attrs {
	a := &Attrs{}
	has := d.other
	if g != nil {
		for _, pa := range g.PathAttributes {
			has = true
			switch p := pa.(type) {
			case *bgp.PathAttributeOrigin:
				a.Origin = p.Value
			case *bgp.PathAttributeNextHop:
				if ip := p.Value.To4(); ip != nil {
					a.NextHop = netip.AddrFrom4([4]byte(ip))
				}
			case *bgp.PathAttributeMultiExitDisc:
				a.MED, a.HasMED = p.Value, true
			case *bgp.PathAttributeLocalPref:
				a.LocalPref, a.HasLocalPref = p.Value, true
			case *bgp.PathAttributeAtomicAggregate:
				a.AtomicAggregate = true
			case *bgp.PathAttributeCommunities:
				a.Communities = p.Value // gobgp built this slice by appending: it does not alias body
			case *bgp.PathAttributeExtendedCommunities:
				a.ExtCommunities = make([]uint64, len(d.extRaw)/8)
				for i := range a.ExtCommunities {
					a.ExtCommunities[i] = binary.BigEndian.Uint64(d.extRaw[8*i:])
				}
			case *bgp.PathAttributeLargeCommunities:
				a.LargeCommunities = make([]LargeCommunity, len(p.Values))
				for i, c := range p.Values {
					a.LargeCommunities[i] = LargeCommunity{Global: c.ASN, Local1: c.LocalData1, Local2: c.LocalData2}
				}
			}
		}
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
	agg := d.agg
	if !d.opt.FourOctetAS {
		// RFC 6793 §4.2.3: an AGGREGATOR from an OLD speaker (not AS_TRANS) makes AS4_AGGREGATOR and
		// AS4_PATH stale; AS_TRANS means AS4_AGGREGATOR holds the real aggregator.
		if d.hasAgg && agg.AS != ASTrans {
			d.hasAS4Path = false
		} else if d.hasAgg && d.hasAS4Agg {
			agg = d.as4Agg
		}
		if d.hasASPath && d.hasAS4Path {
			a.ASPath = decMergeAS4Path(a.ASPath, d.as4Path)
		}
	}
	if d.hasAgg {
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

func (d *decUpdate) otherCount(g *bgp.BGPUpdate) int {
	n := 0
	for _, r := range d.raws {
		if !r.viaGobgp || decGobgpKept(g, r.typ) {
			n++
		}
	}
	return n
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

// AppendAnnounce appends one complete UPDATE (header included) of at most max bytes (0 means 4096)
// announcing as many of prefixes, in order, as fit, and returns the extended dst and how many prefixes
// it consumed. For IPv4Unicast the message is attrBlock (from AppendAttrs, with NEXT_HOP) plus the NLRI
// field, and nextHop/linkLocal are not used. For IPv6Unicast it is MP_REACH_NLRI with nextHop (and
// linkLocal when valid: the 32-byte form), placed first as RFC 7606 §5.1 asks, then attrBlock. Prefixes
// not of family f are skipped (consumed, not sent). When nothing is encoded (not even one prefix fits, an
// IPv6 nextHop is missing, or f is another family), dst is returned unchanged; the count is 0 unless
// skipped prefixes were consumed. It does not allocate when dst has room for the message.
func AppendAnnounce(dst []byte, f Family, attrBlock []byte, nextHop, linkLocal netip.Addr, prefixes []netip.Prefix, max int) ([]byte, int) {
	max = encMax(max)
	switch f {
	case IPv4Unicast:
		base := HeaderLen + 4 + len(attrBlock)
		n, size, encoded := encFit(prefixes, f, max-base)
		if encoded == 0 {
			return dst, n
		}
		total := base + size
		dst = slices.Grow(dst, total)
		dst = encHeader(dst, MsgUpdate, total)
		dst = append(dst, 0, 0, byte(len(attrBlock)>>8), byte(len(attrBlock)))
		dst = append(dst, attrBlock...)
		return encAppendPrefixes(dst, prefixes[:n], f), n
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
		n, size, encoded := encFit(prefixes, f, max-base-4-fixed)
		if fixed+size <= 255 {
			n, size, encoded = encFit(prefixes, f, min(max-base-3-fixed, 255-fixed))
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
		dst = encAppendPrefixes(dst, prefixes[:n], f)
		return append(dst, attrBlock...), n
	}
	return dst, 0
}

// AppendWithdraw appends one complete UPDATE of at most max bytes (0 means 4096) withdrawing as many of
// prefixes, in order, as fit: IPv4 in the withdrawn routes field, IPv6 in MP_UNREACH_NLRI. The count and
// the handling of other families are as for AppendAnnounce.
func AppendWithdraw(dst []byte, f Family, prefixes []netip.Prefix, max int) ([]byte, int) {
	max = encMax(max)
	switch f {
	case IPv4Unicast:
		base := HeaderLen + 4
		n, size, encoded := encFit(prefixes, f, min(max-base, 0xffff))
		if encoded == 0 {
			return dst, n
		}
		total := base + size
		dst = slices.Grow(dst, total)
		dst = encHeader(dst, MsgUpdate, total)
		dst = append(dst, byte(size>>8), byte(size))
		dst = encAppendPrefixes(dst, prefixes[:n], f)
		return append(dst, 0, 0), n
	case IPv6Unicast:
		base := HeaderLen + 4
		n, size, encoded := encFit(prefixes, f, max-base-4-3)
		if 3+size <= 255 {
			n, size, encoded = encFit(prefixes, f, min(max-base-3-3, 255-3))
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
		return encAppendPrefixes(dst, prefixes[:n], f), n
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
