package mrt

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"time"

	gomrt "github.com/osrg/gobgp/v3/pkg/packet/mrt"

	"github.com/ixrs/ixrs/speaker"
)

// MRT types and subtypes (RFC 6396 §4, §4.3).
const (
	headerLen         = 12
	typeTableDumpV2   = 13
	subPeerIndexTable = 1
	subRIBIPv4Unicast = 2
	subRIBIPv6Unicast = 4
	attrMPReachNLRI   = 14
	flagOptional      = 0x80
	flagExtendedLen   = 0x10
)

// Peer is one entry of the PEER_INDEX_TABLE: a member session.
type Peer struct {
	Addr     netip.Addr
	ASN      uint32
	RouterID netip.Addr // the neighbor's BGP identifier; zero when unknown
}

// Entry is one RIB entry: a route of the peer at index Peer in the PEER_INDEX_TABLE.
type Entry struct {
	Peer       uint16
	Originated time.Time
	Attrs      *speaker.Attrs
}

// errTooLong is returned for a record whose length field cannot hold it.
var errTooLong = errors.New("mrt: record too long")

func unix32(ts time.Time) uint32 {
	if ts.IsZero() || ts.Unix() < 0 {
		return 0
	}
	return uint32(ts.Unix())
}

// appendHeader appends the common header (RFC 6396 §2) for a body of length n.
func appendHeader(dst []byte, ts time.Time, typ, sub uint16, n int) []byte {
	dst = binary.BigEndian.AppendUint32(dst, unix32(ts))
	dst = binary.BigEndian.AppendUint16(dst, typ)
	dst = binary.BigEndian.AppendUint16(dst, sub)
	return binary.BigEndian.AppendUint32(dst, uint32(n))
}

// AppendPeerIndexTable appends the PEER_INDEX_TABLE record (RFC 6396 §4.3.1) naming peers, whose
// positions are the peer indexes of the RIB entries that follow. Every peer is written with a
// 4-octet AS field, which holds 2-octet ASNs as well. It is built with gobgp's pkg/packet/mrt: one
// record per file, off the hot path.
func AppendPeerIndexTable(dst []byte, ts time.Time, collector netip.Addr, view string, peers []Peer) ([]byte, error) {
	if len(peers) > 0xffff {
		return dst, fmt.Errorf("mrt: %d peers: the peer index has 16 bits", len(peers))
	}
	if !collector.Is4() {
		collector = netip.IPv4Unspecified()
	}
	gp := make([]*gomrt.Peer, 0, len(peers))
	for _, p := range peers {
		id := netip.IPv4Unspecified()
		if p.RouterID.Is4() {
			id = p.RouterID
		}
		gp = append(gp, gomrt.NewPeer(id.String(), p.Addr.Unmap().String(), p.ASN, true))
	}
	m, err := gomrt.NewMRTMessage(unix32(ts), gomrt.TABLE_DUMPv2, gomrt.PEER_INDEX_TABLE,
		gomrt.NewPeerIndexTable(collector.String(), view, gp))
	if err != nil {
		return dst, fmt.Errorf("mrt: peer index table: %w", err)
	}
	b, err := m.Serialize()
	if err != nil {
		return dst, fmt.Errorf("mrt: peer index table: %w", err)
	}
	return append(dst, b...), nil
}

// AppendRIB appends one RIB_IPV4_UNICAST or RIB_IPV6_UNICAST record (RFC 6396 §4.3.2) for prefix
// with the given entries and sequence number. It is encoded here rather than with gobgp: a dump
// writes one per prefix, and the attributes come from the speaker's own encoder (AppendAttrs), as
// the member's session would carry them with 4-octet ASNs (§4.3.4 requires AS_PATH with 4-octet
// ASNs). For IPv6 the MP_REACH_NLRI attribute is the abbreviated form of §4.3.4: next hop length
// and next hop only. Optional non-transitive attributes a member sent are not kept by AppendAttrs
// and so are not in the dump; unrecognised transitive ones carry the Partial bit.
func AppendRIB(dst []byte, ts time.Time, seq uint32, prefix netip.Prefix, entries []Entry) ([]byte, error) {
	return appendRIB(dst, ts, seq, prefix, entries, nil)
}

// appendRIB is AppendRIB taking each entry's attribute bytes from enc when it holds them (nil: none).
func appendRIB(dst []byte, ts time.Time, seq uint32, prefix netip.Prefix, entries []Entry, enc *attrCache) ([]byte, error) {
	if len(entries) > 0xffff {
		return dst, fmt.Errorf("mrt: %s: %d entries: %w", prefix, len(entries), errTooLong)
	}
	prefix = prefix.Masked()
	f := speaker.FamilyOf(prefix)
	sub := uint16(subRIBIPv4Unicast)
	if f == speaker.IPv6Unicast {
		sub = subRIBIPv6Unicast
	}
	start := len(dst)
	dst = appendHeader(dst, ts, typeTableDumpV2, sub, 0)
	body := len(dst)
	dst = binary.BigEndian.AppendUint32(dst, seq)
	dst = append(dst, byte(prefix.Bits()))
	a := prefix.Addr().AsSlice()
	dst = append(dst, a[:(prefix.Bits()+7)/8]...)
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(entries)))
	for _, e := range entries {
		dst = binary.BigEndian.AppendUint16(dst, e.Peer)
		dst = binary.BigEndian.AppendUint32(dst, unix32(e.Originated))
		lenAt := len(dst)
		dst = append(dst, 0, 0)
		if enc != nil {
			dst = enc.append(dst, e.Attrs, f)
		} else {
			dst = appendEntryAttrs(dst, e.Attrs, f)
		}
		n := len(dst) - lenAt - 2
		if n > 0xffff {
			return dst[:start], fmt.Errorf("mrt: %s: attributes of %d bytes: %w", prefix, n, errTooLong)
		}
		binary.BigEndian.PutUint16(dst[lenAt:], uint16(n))
	}
	binary.BigEndian.PutUint32(dst[start+8:], uint32(len(dst)-body))
	return dst, nil
}

// appendEntryAttrs appends the attributes of a RIB entry of family f: for IPv6 the abbreviated
// MP_REACH_NLRI first, then the attributes as the member sent them, AS_PATH with 4-octet ASNs.
func appendEntryAttrs(dst []byte, a *speaker.Attrs, f speaker.Family) []byte {
	if f == speaker.IPv6Unicast {
		dst = appendMPReachAbbrev(dst, a)
	}
	return speaker.AppendAttrs(dst, a, f, speaker.EncodeOptions{FourOctetAS: true})
}

// attrCache holds the encoded attributes of a dump's entries by attribute set: the RIB interns
// attribute sets, so that the routes of one UPDATE (and every identical announcement) share one
// *speaker.Attrs, which one dump then encodes once per family instead of once per route. The
// encodings live in one arena. The RIB never modifies a set it handed out, so the pointer is the key.
type attrCache struct {
	arena []byte
	at    map[attrKey]span
}

type attrKey struct {
	a  *speaker.Attrs
	v6 bool
}

type span struct{ off, n uint32 }

func newAttrCache() *attrCache { return &attrCache{at: map[attrKey]span{}} }

func (c *attrCache) append(dst []byte, a *speaker.Attrs, f speaker.Family) []byte {
	k := attrKey{a, f == speaker.IPv6Unicast}
	if sp, ok := c.at[k]; ok {
		return append(dst, c.arena[sp.off:sp.off+sp.n]...)
	}
	off := len(dst)
	dst = appendEntryAttrs(dst, a, f)
	if len(c.arena) < 1<<30 { // bounded: past it, entries are encoded each time
		c.at[k] = span{uint32(len(c.arena)), uint32(len(dst) - off)}
		c.arena = append(c.arena, dst[off:]...)
	}
	return dst
}

// appendMPReachAbbrev appends MP_REACH_NLRI holding only the next hop (RFC 6396 §4.3.4): 16 bytes,
// or 32 with the link-local address.
func appendMPReachAbbrev(dst []byte, a *speaker.Attrs) []byte {
	nh := a.MPNextHop
	if !nh.Is6() || nh.Is4In6() {
		nh = netip.IPv6Unspecified()
	}
	n := 16
	if a.MPLinkLocal.Is6() {
		n = 32
	}
	dst = append(dst, flagOptional, attrMPReachNLRI, byte(1+n), byte(n))
	g := nh.As16()
	dst = append(dst, g[:]...)
	if n == 32 {
		ll := a.MPLinkLocal.As16()
		dst = append(dst, ll[:]...)
	}
	return dst
}
