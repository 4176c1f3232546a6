package policy

import "net/netip"

// LargeCommunity is an RFC 8092 large community.
type LargeCommunity struct {
	Global, Local1, Local2 uint32
}

// Session describes the BGP session a route was received on.
type Session struct {
	// ASN is the member's AS number.
	ASN uint32
	// Addr is the remote address of the session.
	Addr netip.Addr
	// Addrs are all configured addresses of the member (its other sessions included). A route whose
	// next hop is of the other address family than Addr (an IPv6 route over an IPv4 session, say)
	// is checked against these.
	Addrs []netip.Addr
}

// Data is the external data import policy reads: immutable snapshots, passed with every call, so
// that a stored verdict, its explanation and any later query were computed from the same data and
// nobody swaps it under the caller. The RIB owns the current Data and replaces it through its typed
// inputs (rs.Server.SetVRPs, SetASPA, SetIRR).
type Data struct {
	// ROV validates route origins (check 10); nil: every route "not checked".
	ROV OriginValidator
	// IRR is the member's IRR data (check 11); nil when it has none.
	IRR *IRR
	// ASPA verifies AS paths (check 15); nil: every route ASPA "not checked".
	ASPA ASPAVerifier
}

// Path is the part of a route's attributes that policy reads. Slices are shared with the caller's
// attribute set and must not be modified.
type Path struct {
	// ASNs are all AS numbers of AS_PATH, left to right, sets and sequences flattened.
	ASNs []uint32
	// Len is the path length as the decision process counts it (an AS_SET counts as one).
	Len int
	// First is the left-most AS of a leading AS_SEQUENCE, or 0.
	First uint32
	// HasSet reports an AS_SET or confederation segment anywhere in the path.
	HasSet bool
	// NextHop is the next hop for the route's address family (NEXT_HOP for IPv4, the
	// MP_REACH_NLRI global address for IPv6).
	NextHop netip.Addr

	Communities      []uint32 // standard communities, high 16 bits the AS
	ExtCommunities   []uint64 // extended communities, the 8 octets big-endian
	LargeCommunities []LargeCommunity
	// HasOTC reports the Only-to-Customer attribute (RFC 9234).
	HasOTC bool
}

// Origin returns the origin AS: the right-most AS of a path that ends in a sequence, or 0 (NONE,
// RFC 6811) when the path is empty or has an AS_SET.
func (p *Path) Origin() uint32 {
	if p.HasSet || len(p.ASNs) == 0 {
		return 0
	}
	return p.ASNs[len(p.ASNs)-1]
}

// HasCommunity reports whether the path carries standard community c.
func (p *Path) HasCommunity(c uint32) bool {
	for _, v := range p.Communities {
		if v == c {
			return true
		}
	}
	return false
}

// Contains reports whether asn appears anywhere in the path.
func (p *Path) Contains(asn uint32) bool {
	for _, a := range p.ASNs {
		if a == asn {
			return true
		}
	}
	return false
}
