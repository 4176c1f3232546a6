package rpki

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"
)

// The RPKI-to-Router protocol codec: RFC 6810 (version 0), RFC 8210 (version 1) and the ASPA PDU
// of draft-ietf-sidrops-8210bis (version 2). Decoding is strict: a PDU whose length, zero fields,
// flags or prefix do not follow the specification is refused with the Error Report code the
// specification names, so the client can answer the cache with that code and drop the session
// (RFC 8210 §12) instead of applying half-understood data.

// PDU types (RFC 8210 §5, draft-ietf-sidrops-8210bis §5.12).
const (
	TypeSerialNotify  = 0
	TypeSerialQuery   = 1
	TypeResetQuery    = 2
	TypeCacheResponse = 3
	TypeIPv4Prefix    = 4
	TypeIPv6Prefix    = 6
	TypeEndOfData     = 7
	TypeCacheReset    = 8
	TypeRouterKey     = 9
	TypeErrorReport   = 10
	TypeASPA          = 11
)

// MaxVersion is the highest protocol version the codec speaks.
const MaxVersion = 2

// MaxPDULength bounds a PDU read from a cache. The fixed-size PDUs are at most 32 bytes; the
// variable ones (Router Key, Error Report, ASPA) are far below this in practice: an ASPA with
// 16,000 providers still fits.
const MaxPDULength = 64 << 10

const headerLen = 8

// ErrorCode is an Error Report code (RFC 8210 §12, draft-ietf-sidrops-8210bis §13).
type ErrorCode uint16

// Error Report codes.
const (
	CodeCorruptData        ErrorCode = 0
	CodeInternal           ErrorCode = 1
	CodeNoData             ErrorCode = 2
	CodeInvalidRequest     ErrorCode = 3
	CodeUnsupportedVersion ErrorCode = 4
	CodeUnsupportedPDU     ErrorCode = 5
	CodeUnknownWithdrawal  ErrorCode = 6
	CodeDuplicate          ErrorCode = 7
	CodeUnexpectedVersion  ErrorCode = 8
	CodeASPAProviderList   ErrorCode = 9
	errorCodeNamesDefined            = 10
)

var errorCodeNames = [errorCodeNamesDefined]string{
	"Corrupt Data", "Internal Error", "No Data Available", "Invalid Request",
	"Unsupported Protocol Version", "Unsupported PDU Type", "Withdrawal of Unknown Record",
	"Duplicate Announcement Received", "Unexpected Protocol Version", "ASPA Provider List Error",
}

func (c ErrorCode) String() string {
	if int(c) < len(errorCodeNames) {
		return errorCodeNames[c]
	}
	return fmt.Sprintf("error code %d", uint16(c))
}

// PDUError is a PDU the codec or the client refuses: Code is what the Error Report to the cache
// carries.
type PDUError struct {
	Code ErrorCode
	Msg  string
}

func (e *PDUError) Error() string { return fmt.Sprintf("RTR %s: %s", e.Code, e.Msg) }

func pduErr(code ErrorCode, format string, args ...any) error {
	return &PDUError{Code: code, Msg: fmt.Sprintf(format, args...)}
}

// PDU is one decoded RTR PDU: one of the pointer types below.
type PDU interface {
	// PDUType returns the PDU's type code.
	PDUType() uint8
	// ProtocolVersion returns the version in the PDU's header.
	ProtocolVersion() uint8
	// AppendTo appends the PDU's wire encoding to b.
	AppendTo(b []byte) []byte
}

// SerialNotify is sent by a cache when it has new data (type 0).
type SerialNotify struct {
	Version   uint8
	SessionID uint16
	Serial    uint32
}

// SerialQuery asks for the changes since Serial (type 1).
type SerialQuery struct {
	Version   uint8
	SessionID uint16
	Serial    uint32
}

// ResetQuery asks for the whole data set (type 2).
type ResetQuery struct{ Version uint8 }

// CacheResponse starts the answer to a query (type 3).
type CacheResponse struct {
	Version   uint8
	SessionID uint16
}

// PrefixPDU is an IPv4 Prefix (type 4) or IPv6 Prefix (type 6) PDU, by the family of Prefix.
type PrefixPDU struct {
	Version   uint8
	Announce  bool
	Prefix    netip.Prefix
	MaxLength uint8
	ASN       uint32
}

// EndOfData ends a response (type 7). The timers exist from version 1 on; they are zero in a
// version 0 PDU.
type EndOfData struct {
	Version                uint8
	SessionID              uint16
	Serial                 uint32
	Refresh, Retry, Expire uint32
}

// CacheReset tells the router to send a Reset Query (type 8).
type CacheReset struct{ Version uint8 }

// RouterKey is a BGPsec router key (type 9, version 1 on). ixrs does no BGPsec; the keys are
// counted and kept aside.
type RouterKey struct {
	Version  uint8
	Announce bool
	SKI      [20]byte
	ASN      uint32
	SPKI     []byte
}

// ErrorReport reports an error in either direction (type 10). PDU is the erroneous PDU (may be
// empty) and Text a diagnostic (may be empty), both as carried.
type ErrorReport struct {
	Version uint8
	Code    ErrorCode
	PDU     []byte
	Text    string
}

func (e *ErrorReport) Error() string {
	if e.Text == "" {
		return "RTR error report: " + e.Code.String()
	}
	return fmt.Sprintf("RTR error report: %s: %q", e.Code, e.Text)
}

// ASPA is an ASPA PDU (type 11, version 2, draft-ietf-sidrops-8210bis): the providers a customer
// AS authorizes. A withdrawal carries no providers.
type ASPA struct {
	Version   uint8
	Announce  bool
	Customer  uint32
	Providers []uint32
}

func (p *SerialNotify) PDUType() uint8  { return TypeSerialNotify }
func (p *SerialQuery) PDUType() uint8   { return TypeSerialQuery }
func (p *ResetQuery) PDUType() uint8    { return TypeResetQuery }
func (p *CacheResponse) PDUType() uint8 { return TypeCacheResponse }
func (p *PrefixPDU) PDUType() uint8 {
	if p.Prefix.Addr().Is4() {
		return TypeIPv4Prefix
	}
	return TypeIPv6Prefix
}
func (p *EndOfData) PDUType() uint8   { return TypeEndOfData }
func (p *CacheReset) PDUType() uint8  { return TypeCacheReset }
func (p *RouterKey) PDUType() uint8   { return TypeRouterKey }
func (p *ErrorReport) PDUType() uint8 { return TypeErrorReport }
func (p *ASPA) PDUType() uint8        { return TypeASPA }

func (p *SerialNotify) ProtocolVersion() uint8  { return p.Version }
func (p *SerialQuery) ProtocolVersion() uint8   { return p.Version }
func (p *ResetQuery) ProtocolVersion() uint8    { return p.Version }
func (p *CacheResponse) ProtocolVersion() uint8 { return p.Version }
func (p *PrefixPDU) ProtocolVersion() uint8     { return p.Version }
func (p *EndOfData) ProtocolVersion() uint8     { return p.Version }
func (p *CacheReset) ProtocolVersion() uint8    { return p.Version }
func (p *RouterKey) ProtocolVersion() uint8     { return p.Version }
func (p *ErrorReport) ProtocolVersion() uint8   { return p.Version }
func (p *ASPA) ProtocolVersion() uint8          { return p.Version }

func header(b []byte, version, typ uint8, field uint16, length int) []byte {
	b = append(b, version, typ)
	b = binary.BigEndian.AppendUint16(b, field)
	return binary.BigEndian.AppendUint32(b, uint32(length))
}

func (p *SerialNotify) AppendTo(b []byte) []byte {
	return binary.BigEndian.AppendUint32(header(b, p.Version, TypeSerialNotify, p.SessionID, 12), p.Serial)
}

func (p *SerialQuery) AppendTo(b []byte) []byte {
	return binary.BigEndian.AppendUint32(header(b, p.Version, TypeSerialQuery, p.SessionID, 12), p.Serial)
}

func (p *ResetQuery) AppendTo(b []byte) []byte { return header(b, p.Version, TypeResetQuery, 0, 8) }

func (p *CacheResponse) AppendTo(b []byte) []byte {
	return header(b, p.Version, TypeCacheResponse, p.SessionID, 8)
}

func (p *PrefixPDU) AppendTo(b []byte) []byte {
	var flags uint8
	if p.Announce {
		flags = 1
	}
	a := p.Prefix.Addr()
	if a.Is4() {
		b = header(b, p.Version, TypeIPv4Prefix, 0, 20)
		b = append(b, flags, uint8(p.Prefix.Bits()), p.MaxLength, 0)
		ip := a.As4()
		b = append(b, ip[:]...)
	} else {
		b = header(b, p.Version, TypeIPv6Prefix, 0, 32)
		b = append(b, flags, uint8(p.Prefix.Bits()), p.MaxLength, 0)
		ip := a.As16()
		b = append(b, ip[:]...)
	}
	return binary.BigEndian.AppendUint32(b, p.ASN)
}

func (p *EndOfData) AppendTo(b []byte) []byte {
	if p.Version == 0 {
		return binary.BigEndian.AppendUint32(header(b, 0, TypeEndOfData, p.SessionID, 12), p.Serial)
	}
	b = header(b, p.Version, TypeEndOfData, p.SessionID, 24)
	for _, v := range [...]uint32{p.Serial, p.Refresh, p.Retry, p.Expire} {
		b = binary.BigEndian.AppendUint32(b, v)
	}
	return b
}

func (p *CacheReset) AppendTo(b []byte) []byte { return header(b, p.Version, TypeCacheReset, 0, 8) }

func (p *RouterKey) AppendTo(b []byte) []byte {
	var flags uint16
	if p.Announce {
		flags = 1 << 8 // flags is the first byte of the header field, zero the second
	}
	b = header(b, p.Version, TypeRouterKey, flags, headerLen+24+len(p.SPKI))
	b = append(b, p.SKI[:]...)
	b = binary.BigEndian.AppendUint32(b, p.ASN)
	return append(b, p.SPKI...)
}

func (p *ErrorReport) AppendTo(b []byte) []byte {
	b = header(b, p.Version, TypeErrorReport, uint16(p.Code), headerLen+8+len(p.PDU)+len(p.Text))
	b = binary.BigEndian.AppendUint32(b, uint32(len(p.PDU)))
	b = append(b, p.PDU...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(p.Text)))
	return append(b, p.Text...)
}

func (p *ASPA) AppendTo(b []byte) []byte {
	var flags uint16
	if p.Announce {
		flags = 1 << 8
	}
	b = header(b, p.Version, TypeASPA, flags, headerLen+4+4*len(p.Providers))
	b = binary.BigEndian.AppendUint32(b, p.Customer)
	for _, a := range p.Providers {
		b = binary.BigEndian.AppendUint32(b, a)
	}
	return b
}

// fixedLen is the length of each fixed-size PDU type at a version; 0 for variable-size types.
func fixedLen(typ, version uint8) int {
	switch typ {
	case TypeSerialNotify, TypeSerialQuery:
		return 12
	case TypeResetQuery, TypeCacheResponse, TypeCacheReset:
		return 8
	case TypeIPv4Prefix:
		return 20
	case TypeIPv6Prefix:
		return 32
	case TypeEndOfData:
		if version == 0 {
			return 12
		}
		return 24
	}
	return 0
}

// minLen is the shortest valid PDU of each variable-size type.
func minLen(typ uint8) int {
	switch typ {
	case TypeRouterKey:
		return headerLen + 24
	case TypeErrorReport:
		return headerLen + 8
	case TypeASPA:
		return headerLen + 4
	}
	return headerLen
}

// checkHeader checks a PDU header alone, before its body is read: the version, whether the type
// exists at that version, and whether the length fits the type.
func checkHeader(h []byte) (version, typ uint8, length int, err error) {
	version, typ = h[0], h[1]
	length = int(binary.BigEndian.Uint32(h[4:8]))
	if version > MaxVersion {
		return version, typ, length, pduErr(CodeUnsupportedVersion, "protocol version %d", version)
	}
	switch typ {
	case TypeSerialNotify, TypeSerialQuery, TypeResetQuery, TypeCacheResponse, TypeIPv4Prefix,
		TypeIPv6Prefix, TypeEndOfData, TypeCacheReset, TypeErrorReport:
	case TypeRouterKey:
		if version < 1 {
			return version, typ, length, pduErr(CodeUnsupportedPDU, "Router Key PDU in version %d", version)
		}
	case TypeASPA:
		if version < 2 {
			return version, typ, length, pduErr(CodeUnsupportedPDU, "ASPA PDU in version %d", version)
		}
	default:
		return version, typ, length, pduErr(CodeUnsupportedPDU, "PDU type %d", typ)
	}
	if n := fixedLen(typ, version); n != 0 && length != n {
		return version, typ, length, pduErr(CodeCorruptData, "PDU type %d: length %d, want %d", typ, length, n)
	}
	if length < minLen(typ) || length > MaxPDULength {
		return version, typ, length, pduErr(CodeCorruptData, "PDU type %d: length %d", typ, length)
	}
	return version, typ, length, nil
}

// Decode decodes exactly one PDU. A *PDUError tells why a PDU is refused. The PDU does not alias
// b.
func Decode(b []byte) (PDU, error) {
	if len(b) < headerLen {
		return nil, pduErr(CodeCorruptData, "PDU of %d bytes", len(b))
	}
	version, typ, length, err := checkHeader(b)
	if err != nil {
		return nil, err
	}
	if length != len(b) {
		return nil, pduErr(CodeCorruptData, "PDU type %d: length field %d, %d bytes", typ, length, len(b))
	}
	field := binary.BigEndian.Uint16(b[2:4])
	body := b[headerLen:]
	zero := func() error {
		if field != 0 {
			return pduErr(CodeCorruptData, "PDU type %d: zero field is %#04x", typ, field)
		}
		return nil
	}
	switch typ {
	case TypeSerialNotify:
		return &SerialNotify{Version: version, SessionID: field, Serial: binary.BigEndian.Uint32(body)}, nil
	case TypeSerialQuery:
		return &SerialQuery{Version: version, SessionID: field, Serial: binary.BigEndian.Uint32(body)}, nil
	case TypeResetQuery:
		return &ResetQuery{Version: version}, zero()
	case TypeCacheResponse:
		return &CacheResponse{Version: version, SessionID: field}, nil
	case TypeCacheReset:
		return &CacheReset{Version: version}, zero()
	case TypeIPv4Prefix, TypeIPv6Prefix:
		if err := zero(); err != nil {
			return nil, err
		}
		return decodePrefix(version, typ, body)
	case TypeEndOfData:
		p := &EndOfData{Version: version, SessionID: field, Serial: binary.BigEndian.Uint32(body)}
		if version > 0 {
			p.Refresh = binary.BigEndian.Uint32(body[4:])
			p.Retry = binary.BigEndian.Uint32(body[8:])
			p.Expire = binary.BigEndian.Uint32(body[12:])
		}
		return p, nil
	case TypeRouterKey:
		flags, z := uint8(field>>8), uint8(field)
		if flags > 1 || z != 0 {
			return nil, pduErr(CodeCorruptData, "Router Key: flags %#02x, zero %#02x", flags, z)
		}
		p := &RouterKey{Version: version, Announce: flags == 1, ASN: binary.BigEndian.Uint32(body[20:24])}
		copy(p.SKI[:], body[:20])
		if len(body) > 24 {
			p.SPKI = append([]byte(nil), body[24:]...)
		}
		return p, nil
	case TypeErrorReport:
		return decodeErrorReport(version, ErrorCode(field), body)
	case TypeASPA:
		flags, z := uint8(field>>8), uint8(field)
		if flags > 1 || z != 0 {
			return nil, pduErr(CodeCorruptData, "ASPA: flags %#02x, zero %#02x", flags, z)
		}
		if len(body)%4 != 0 {
			return nil, pduErr(CodeCorruptData, "ASPA: length %d is not a whole number of ASNs", length)
		}
		p := &ASPA{Version: version, Announce: flags == 1, Customer: binary.BigEndian.Uint32(body)}
		n := len(body)/4 - 1
		if flags == 0 && n != 0 {
			return nil, pduErr(CodeASPAProviderList, "ASPA withdrawal of AS%d with %d providers", p.Customer, n)
		}
		if flags == 1 && n == 0 {
			return nil, pduErr(CodeASPAProviderList, "ASPA announcement of AS%d without providers", p.Customer)
		}
		if n > 0 {
			p.Providers = make([]uint32, n)
			for i := range p.Providers {
				p.Providers[i] = binary.BigEndian.Uint32(body[4+4*i:])
			}
			for i := 1; i < n; i++ { // the draft asks for providers in ascending order, no duplicates
				if p.Providers[i] <= p.Providers[i-1] {
					return nil, pduErr(CodeASPAProviderList, "ASPA of AS%d: providers not in ascending order", p.Customer)
				}
			}
		}
		return p, nil
	}
	return nil, pduErr(CodeUnsupportedPDU, "PDU type %d", typ) // unreachable: checkHeader knows every type
}

func decodePrefix(version, typ uint8, body []byte) (PDU, error) {
	flags, plen, maxLen, z := body[0], body[1], body[2], body[3]
	if flags > 1 || z != 0 {
		return nil, pduErr(CodeCorruptData, "prefix PDU: flags %#02x, zero %#02x", flags, z)
	}
	var a netip.Addr
	if typ == TypeIPv4Prefix {
		a = netip.AddrFrom4([4]byte(body[4:8]))
	} else {
		a = netip.AddrFrom16([16]byte(body[4:20]))
	}
	bits := a.BitLen()
	if int(plen) > bits || int(maxLen) > bits || maxLen < plen {
		return nil, pduErr(CodeCorruptData, "prefix PDU: %s/%d max length %d", a, plen, maxLen)
	}
	p := netip.PrefixFrom(a, int(plen))
	if p.Masked() != p {
		return nil, pduErr(CodeCorruptData, "prefix PDU: %s has host bits set", p)
	}
	asn := binary.BigEndian.Uint32(body[len(body)-4:])
	return &PrefixPDU{Version: version, Announce: flags == 1, Prefix: p, MaxLength: maxLen, ASN: asn}, nil
}

func decodeErrorReport(version uint8, code ErrorCode, body []byte) (PDU, error) {
	n := binary.BigEndian.Uint32(body)
	if uint64(n) > uint64(len(body)-8) {
		return nil, pduErr(CodeCorruptData, "Error Report: encapsulated PDU length %d overruns the PDU", n)
	}
	p := &ErrorReport{Version: version, Code: code}
	if n > 0 {
		p.PDU = append([]byte(nil), body[4:4+n]...)
	}
	rest := body[4+n:]
	t := binary.BigEndian.Uint32(rest)
	if uint64(t) != uint64(len(rest)-4) {
		return nil, pduErr(CodeCorruptData, "Error Report: text length %d, %d bytes left", t, len(rest)-4)
	}
	p.Text = string(rest[4:])
	return p, nil
}

// ReadPDU reads one PDU from r into buf (grown as needed, up to MaxPDULength) and returns its raw
// bytes, which alias buf until the next call. The header is checked before the body is read, so a
// bogus length never makes it read or allocate more than MaxPDULength. On a *PDUError the raw
// bytes read so far are returned for the Error Report.
func ReadPDU(r io.Reader, buf []byte) (raw, newBuf []byte, err error) {
	if cap(buf) < headerLen {
		buf = make([]byte, 0, 64)
	}
	buf = buf[:headerLen]
	if _, err := io.ReadFull(r, buf); err != nil {
		return nil, buf, err
	}
	if _, _, length, err := checkHeader(buf); err != nil {
		return buf, buf, err
	} else if length > cap(buf) {
		nb := make([]byte, length)
		copy(nb, buf)
		buf = nb
	} else {
		buf = buf[:length]
	}
	if _, err := io.ReadFull(r, buf[headerLen:]); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, buf, err
	}
	return buf, buf, nil
}
