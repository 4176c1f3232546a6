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
	LargeCommunities []LargeCommunity
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
