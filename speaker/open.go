package speaker

// OPEN and capabilities (RFC 4271 §4.2, RFC 5492), coded by hand.

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"slices"
)

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
//
// A panic while decoding (a bug) gives OPEN Message Error/Unspecific.
func DecodeOpen(body []byte) (*Open, *Notification) {
	o, n, _ := safeDecodeOpen(body)
	return o, n
}

// safeDecodeOpen is DecodeOpen, also returning a recovered panic.
func safeDecodeOpen(body []byte) (o *Open, n *Notification, p *decodePanic) {
	defer func() {
		if r := recover(); r != nil {
			o, n, p = nil, decOpenErr(), recovered(r)
		}
	}()
	o, n = decodeOpen(body)
	return o, n, nil
}

// decodeOpen is DecodeOpen without recover.
func decodeOpen(body []byte) (*Open, *Notification) {
	if decodeHook != nil {
		decodeHook(MsgOpen, body)
	}
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
type decCapSeen struct{ as4, gr, llgr bool }

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
		case CapLongLivedGR:
			if l%7 != 0 {
				return decOpenErr()
			}
			if seen.llgr {
				continue
			}
			seen.llgr = true
			c.LongLivedGR = make([]LLGRFamily, 0, l/7)
			for t := v; len(t) >= 7; t = t[7:] {
				c.LongLivedGR = append(c.LongLivedGR, LLGRFamily{
					Family:          NewFamily(binary.BigEndian.Uint16(t), t[2]),
					ForwardingState: t[3]&0x80 != 0,
					StaleTime:       uint32(t[4])<<16 | uint32(t[5])<<8 | uint32(t[6]),
				})
			}
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
// four-octet AS, ADD-PATH by family, enhanced route refresh, long-lived graceful restart, then
// Unknown as given); RFC 9072 extended
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
	if c.LongLivedGR != nil {
		fams := c.LongLivedGR
		if len(fams) > 36 { // 255/7: what one capability can hold
			fams = fams[:36]
		}
		b = append(b, CapLongLivedGR, byte(7*len(fams)))
		for _, f := range fams {
			b = binary.BigEndian.AppendUint16(b, f.Family.AFI())
			flags := byte(0)
			if f.ForwardingState {
				flags = 0x80
			}
			t := min(f.StaleTime, MaxLLGRStaleTime)
			b = append(b, f.Family.SAFI(), flags, byte(t>>16), byte(t>>8), byte(t))
		}
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
