package bmp

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/osrg/gobgp/v3/pkg/packet/bgp"
	gobmp "github.com/osrg/gobgp/v3/pkg/packet/bmp"

	"github.com/ixrs/ixrs/speaker"
)

// Message types and sizes (RFC 7854 §4.1, §4.2).
const (
	version        = 3
	headerLen      = 6
	peerHeaderLen  = 42
	msgRouteMon    = 0
	msgStats       = 1
	msgPeerDown    = 2
	msgPeerUp      = 3
	msgInitiation  = 4
	msgTermination = 5
)

// Per-peer header flags (RFC 7854 §4.2, RFC 8671 §4).
const (
	flagV = 0x80 // peer address is IPv6
	flagL = 0x40 // post-policy
	flagA = 0x20 // AS_PATH in 2-octet form (sessions without the four-octet AS capability)
	flagO = 0x10 // Adj-RIB-Out
)

// Peer Down reasons (RFC 7854 §4.9).
const (
	downLocalNotification  = 1
	downLocalNoNotify      = 2
	downRemoteNotification = 3
	downRemoteNoNotify     = 4
)

// Peer is what the per-peer header says of a monitored session.
type Peer struct {
	Addr     netip.Addr
	ASN      uint32
	RouterID netip.Addr // the neighbor's BGP identifier (zero when unknown)
	// TwoOctetAS: the session did not negotiate four-octet ASNs. Its UPDATEs are encoded as on
	// that session (AS_TRANS and AS4_PATH, RFC 6793) and carry the A flag: collectors such as
	// pmbmpd decode them by the capabilities of the Peer Up's OPENs, whatever the flag says.
	TwoOctetAS bool
	// Local and Remote are the session's TCP endpoints, for Peer Up; zero when unknown.
	Local, Remote netip.AddrPort
}

// table is one monitored RIB view; its value is the per-peer header flags it sets.
type table uint8

const (
	tablePre    table = 0
	tablePost   table = flagL
	tableAdjOut table = flagL | flagO
)

// appendHeader appends the common header with the given total length.
func appendHeader(dst []byte, typ uint8, length int) []byte {
	dst = append(dst, version, 0, 0, 0, 0, typ)
	binary.BigEndian.PutUint32(dst[len(dst)-5:], uint32(length))
	return dst
}

// appendPeerHeader appends the 42-byte per-peer header (peer type 0, global instance).
func appendPeerHeader(dst []byte, p Peer, flags uint8, ts time.Time) []byte {
	if p.Addr.Is6() && !p.Addr.Is4In6() {
		flags |= flagV
	}
	if p.TwoOctetAS {
		flags |= flagA
	}
	dst = append(dst, 0, flags)
	dst = append(dst, make([]byte, 8)...) // peer distinguisher
	a16 := p.Addr.As16()
	if flags&flagV == 0 {
		a16 = [16]byte{}
		if p.Addr.IsValid() {
			a4 := p.Addr.Unmap().As4()
			copy(a16[12:], a4[:])
		}
	}
	dst = append(dst, a16[:]...)
	dst = binary.BigEndian.AppendUint32(dst, p.ASN)
	id := [4]byte{}
	if p.RouterID.Is4() {
		id = p.RouterID.As4()
	}
	dst = append(dst, id[:]...)
	var sec, usec uint32
	if !ts.IsZero() {
		sec, usec = uint32(ts.Unix()), uint32(ts.Nanosecond()/1000)
	}
	dst = binary.BigEndian.AppendUint32(dst, sec)
	return binary.BigEndian.AppendUint32(dst, usec)
}

// AppendRouteMonitoring appends one Route Monitoring message per UPDATE in updates (whole BGP
// messages, header included) for peer p in table t.
func appendRouteMonitoring(dst []byte, p Peer, t table, ts time.Time, updates [][]byte) []byte {
	for _, u := range updates {
		dst = appendHeader(dst, msgRouteMon, headerLen+peerHeaderLen+len(u))
		dst = appendPeerHeader(dst, p, uint8(t), ts)
		dst = append(dst, u...)
	}
	return dst
}

// encodeUpdate encodes the announcement (attrs non-nil) or withdrawal of prefix as BGP UPDATEs with
// 4-octet AS paths, or 2-octet ones with AS4_PATH when two. Attributes too large for 4096 bytes are
// sent in an extended message (RFC 8654), as the member must have sent them.
func encodeUpdate(prefix netip.Prefix, attrs *speaker.Attrs, two bool) ([][]byte, error) {
	u := &speaker.Update{}
	if attrs == nil {
		u.Withdrawn = []netip.Prefix{prefix}
	} else {
		u.NLRI, u.Attrs = []netip.Prefix{prefix}, attrs
	}
	out, err := speaker.EncodeUpdate(u, speaker.EncodeOptions{FourOctetAS: !two, MaxMessage: speaker.MaxMessageLen})
	if err != nil && attrs != nil {
		out, err = speaker.EncodeUpdate(u, speaker.EncodeOptions{FourOctetAS: !two, MaxMessage: speaker.MaxExtendedMessage})
	}
	return out, err
}

// appendPeerUp appends a Peer Up Notification (RFC 7854 §4.10) with the session's local address
// and both ports (p.Local, p.Remote; zero when unknown) and both OPEN messages as exchanged. The
// local address is written in the peer address's form (16 bytes, IPv4 in the last four when the
// V flag is clear, §4.10).
func appendPeerUp(dst []byte, p Peer, ts time.Time, openSent, openRecv []byte) []byte {
	n := headerLen + peerHeaderLen + 20 + len(openSent) + len(openRecv)
	dst = appendHeader(dst, msgPeerUp, n)
	dst = appendPeerHeader(dst, p, 0, ts)
	var la [16]byte
	if l := p.Local.Addr(); l.Is6() && !l.Is4In6() {
		la = l.As16()
	} else if l.IsValid() {
		a4 := l.Unmap().As4()
		copy(la[12:], a4[:])
	}
	dst = append(dst, la[:]...)
	dst = binary.BigEndian.AppendUint16(dst, p.Local.Port())
	dst = binary.BigEndian.AppendUint16(dst, p.Remote.Port())
	dst = append(dst, openSent...)
	return append(dst, openRecv...)
}

// gobgpPeerHeader converts the per-peer header for gobgp's message builders.
func gobgpPeerHeader(p Peer, ts time.Time) gobmp.BMPPeerHeader {
	h := gobmp.BMPPeerHeader{PeerAS: p.ASN, PeerBGPID: net.IPv4zero.To4()}
	if p.TwoOctetAS {
		h.Flags |= flagA
	}
	if p.Addr.Is6() && !p.Addr.Is4In6() {
		h.Flags |= flagV
		h.PeerAddress = net.IP(p.Addr.AsSlice())
	} else if p.Addr.IsValid() {
		h.PeerAddress = net.IP(p.Addr.Unmap().AsSlice())
	} else {
		h.PeerAddress = net.IPv4zero.To4()
	}
	if p.RouterID.Is4() {
		h.PeerBGPID = net.IP(p.RouterID.AsSlice())
	}
	if !ts.IsZero() {
		// Whole seconds: gobgp rounds the float's fraction up, which can add a microsecond.
		h.Timestamp = float64(ts.Unix())
	}
	return h
}

// appendPeerDown appends a Peer Down Notification. A NOTIFICATION (n non-nil) gives reason 1 (sent)
// or 3 (received) with the message; without one, reason 2 (local, FSM event 0: none applies) or 4.
func appendPeerDown(dst []byte, p Peer, ts time.Time, n *speaker.Notification, sent bool) ([]byte, error) {
	var m *gobmp.BMPMessage
	switch {
	case n != nil:
		reason := uint8(downRemoteNotification)
		if sent {
			reason = downLocalNotification
		}
		note := bgp.NewBGPNotificationMessage(n.Code, n.Subcode, n.Data)
		m = gobmp.NewBMPPeerDownNotification(gobgpPeerHeader(p, ts), reason, note, nil)
	case sent:
		m = gobmp.NewBMPPeerDownNotification(gobgpPeerHeader(p, ts), downLocalNoNotify, nil, []byte{0, 0})
	default:
		m = gobmp.NewBMPPeerDownNotification(gobgpPeerHeader(p, ts), downRemoteNoNotify, nil, nil)
	}
	return appendGobgp(dst, m)
}

// Stats are the counters of one Statistics Report.
type Stats struct {
	Rejected uint32 // prefixes rejected by inbound policy (type 0)
	// Duplicate announcements (type 1: a prefix announced again with the attributes it had) and
	// withdrawals (type 2: a prefix the session did not hold), since the session came up. 32-bit
	// counters (RFC 7854 §4.8): they wrap.
	DuplicatePrefixes, DuplicateWithdraws uint32
	// Per family: Adj-RIB-In routes (received) and Loc-RIB routes (accepted).
	Families []FamilyStats
}

// FamilyStats are one family's route counts.
type FamilyStats struct {
	Family           speaker.Family
	AdjRIBIn, LocRIB uint64
}

// appendStats appends a Statistics Report: types 0, 1, 2, 7, 8, then 9 and 10 per family.
func appendStats(dst []byte, p Peer, ts time.Time, st Stats) ([]byte, error) {
	var in, loc uint64
	for _, f := range st.Families {
		in += f.AdjRIBIn
		loc += f.LocRIB
	}
	tlvs := []gobmp.BMPStatsTLVInterface{
		gobmp.NewBMPStatsTLV32(gobmp.BMP_STAT_TYPE_REJECTED, st.Rejected),
		gobmp.NewBMPStatsTLV32(gobmp.BMP_STAT_TYPE_DUPLICATE_PREFIX, st.DuplicatePrefixes),
		gobmp.NewBMPStatsTLV32(gobmp.BMP_STAT_TYPE_DUPLICATE_WITHDRAW, st.DuplicateWithdraws),
		gobmp.NewBMPStatsTLV64(gobmp.BMP_STAT_TYPE_ADJ_RIB_IN, in),
		gobmp.NewBMPStatsTLV64(gobmp.BMP_STAT_TYPE_LOC_RIB, loc),
	}
	for _, f := range st.Families {
		tlvs = append(tlvs,
			gobmp.NewBMPStatsTLVPerAfiSafi64(gobmp.BMP_STAT_TYPE_PER_AFI_SAFI_ADJ_RIB_IN, f.Family.AFI(), f.Family.SAFI(), f.AdjRIBIn),
			gobmp.NewBMPStatsTLVPerAfiSafi64(gobmp.BMP_STAT_TYPE_PER_AFI_SAFI_LOC_RIB, f.Family.AFI(), f.Family.SAFI(), f.LocRIB))
	}
	return appendGobgp(dst, gobmp.NewBMPStatisticsReport(gobgpPeerHeader(p, ts), tlvs))
}

// appendInitiation appends an Initiation message with sysDescr and sysName (RFC 7854 §4.3).
func appendInitiation(dst []byte, sysName, sysDescr string) ([]byte, error) {
	return appendGobgp(dst, gobmp.NewBMPInitiation([]gobmp.BMPInfoTLVInterface{
		gobmp.NewBMPInfoTLVString(gobmp.BMP_INIT_TLV_TYPE_SYS_DESCR, sysDescr),
		gobmp.NewBMPInfoTLVString(gobmp.BMP_INIT_TLV_TYPE_SYS_NAME, sysName),
	}))
}

// appendTermination appends a Termination message, reason administratively closed (RFC 7854 §4.5).
func appendTermination(dst []byte, text string) ([]byte, error) {
	return appendGobgp(dst, gobmp.NewBMPTermination([]gobmp.BMPTermTLVInterface{
		gobmp.NewBMPTermTLVString(gobmp.BMP_TERM_TLV_TYPE_STRING, text),
		gobmp.NewBMPTermTLV16(gobmp.BMP_TERM_TLV_TYPE_REASON, gobmp.BMP_TERM_REASON_ADMIN),
	}))
}

func appendGobgp(dst []byte, m *gobmp.BMPMessage) ([]byte, error) {
	b, err := m.Serialize()
	if err != nil {
		return dst, fmt.Errorf("bmp: encode message type %d: %w", m.Header.Type, err)
	}
	return append(dst, b...), nil
}
