package speaker

// Messages of fixed layout: header, KEEPALIVE, NOTIFICATION, ROUTE-REFRESH.

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"
	"unicode/utf8"
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
//
// A panic while decoding (a bug) gives the code and subcode without data.
func DecodeNotification(body []byte) Notification {
	n, _ := safeDecodeNotification(body)
	return n
}

// safeDecodeNotification is DecodeNotification, also returning a recovered panic.
func safeDecodeNotification(body []byte) (n Notification, p *decodePanic) {
	defer func() {
		if r := recover(); r != nil {
			n, p = Notification{}, recovered(r)
			if len(body) >= 2 {
				n.Code, n.Subcode = body[0], body[1]
			}
		}
	}()
	return decodeNotification(body), nil
}

// decodeNotification is DecodeNotification without recover.
func decodeNotification(body []byte) Notification {
	if decodeHook != nil {
		decodeHook(MsgNotification, body)
	}
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
//
// A panic while decoding (a bug) gives ROUTE-REFRESH Message Error with subcode 0: RFC 7313 defines no
// subcode for it, and the message-type code tells the neighbor which of its messages was refused.
func DecodeRouteRefresh(body []byte) (RouteRefresh, *Notification) {
	rr, n, _ := safeDecodeRouteRefresh(body)
	return rr, n
}

// safeDecodeRouteRefresh is DecodeRouteRefresh, also returning a recovered panic.
func safeDecodeRouteRefresh(body []byte) (rr RouteRefresh, n *Notification, p *decodePanic) {
	defer func() {
		if r := recover(); r != nil {
			rr, n, p = RouteRefresh{}, &Notification{Code: ErrRouteRefresh}, recovered(r)
		}
	}()
	rr, n = decodeRouteRefresh(body)
	return rr, n, nil
}

// decodeRouteRefresh is DecodeRouteRefresh without recover.
func decodeRouteRefresh(body []byte) (RouteRefresh, *Notification) {
	if decodeHook != nil {
		decodeHook(MsgRouteRefresh, body)
	}
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
