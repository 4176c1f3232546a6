package policy

import (
	"net/netip"
	"slices"
)

// The single checks of the chain. Each returns the data behind its result (which address, which
// list entry) so that Explain reports exactly what the hot path decided; the hot path ignores the
// data, which costs nothing since none of it allocates.

// nextHop returns why nh is not acceptable, or "" (check 2). An unspecified or missing next hop is
// never valid, whatever the mode.
func (im *Import) nextHop(s *Session, nh netip.Addr) string {
	if !nh.IsValid() {
		return "no next hop"
	}
	nh = nh.Unmap()
	if nh.IsUnspecified() {
		return "unspecified next hop"
	}
	if len(im.PeeringLANs) > 0 && !slices.ContainsFunc(im.PeeringLANs, func(l netip.Prefix) bool { return l.Contains(nh) }) {
		return "outside the peering LANs"
	}
	switch im.NextHop {
	case NextHopAny:
		return ""
	case NextHopStrict:
		addr := s.Addr.Unmap()
		if nh == addr {
			return ""
		}
		if nh.Is4() == addr.Is4() {
			return "not the session's address"
		}
		// A next hop of the other family (an IPv6 route over an IPv4 session) cannot be the
		// session's address: it must be another address of the member.
	}
	for _, a := range s.Addrs {
		if a.Unmap() == nh {
			return ""
		}
	}
	return "not an address of the member"
}

// pathLen returns the reason for an empty, too long or AS_SET path (check 3), or 0.
func (im *Import) pathLen(p *Path) Reason {
	switch {
	case p.Len == 0:
		return ASPathTooShort
	case im.MaxPathLen > 0 && p.Len > im.MaxPathLen:
		return ASPathTooLong
	case im.RejectASSets && p.HasSet:
		return ASPathTooLong
	}
	return 0
}

// firstASFails applies check 4.
func (im *Import) firstASFails(s *Session, p *Path) bool {
	return im.EnforceFirstAS && p.Len > 0 && p.First != s.ASN
}

// bogonASN returns the first bogon ASN of the path and its range (check 5).
func (im *Import) bogonASN(p *Path) (uint32, asnRange, bool) {
	if !im.RejectBogonASNs {
		return 0, asnRange{}, false
	}
	for _, a := range p.ASNs {
		if r, ok := bogonASN(a); ok {
			return a, r, true
		}
	}
	return 0, asnRange{}, false
}

// transitFree returns a transit-free ASN after the first position or a never-via-route-servers ASN
// anywhere (check 6). The first AS's own prepends count as the first position: a transit-free
// network that is itself a member may prepend.
func (im *Import) transitFree(p *Path) (uint32, bool) {
	if len(im.TransitFree) == 0 && len(im.NeverVia) == 0 {
		return 0, false
	}
	lead := true
	for i, a := range p.ASNs {
		lead = lead && (i == 0 || a == p.ASNs[0])
		if !lead && sortedHas(im.TransitFree, a) {
			return a, true
		}
		if sortedHas(im.NeverVia, a) {
			return a, true
		}
	}
	return 0, false
}

func sortedHas(list []uint32, v uint32) bool {
	_, ok := slices.BinarySearch(list, v)
	return ok
}

// bogonPrefixFails is check 7 for the hot path; bogonPrefix says why.
func (im *Import) bogonPrefixFails(pfx netip.Prefix) bool {
	if !im.RejectBogonPrefixes {
		return false
	}
	if isBogonPrefix(pfx) {
		return true
	}
	for _, l := range im.PeeringLANs {
		if l.Overlaps(pfx) {
			return true
		}
	}
	return false
}

// bogonPrefix returns the list entry that makes pfx a bogon (check 7); a prefix overlapping a
// peering LAN counts, since the LANs must not be reachable through a member.
func (im *Import) bogonPrefix(pfx netip.Prefix) (netip.Prefix, string, bool) {
	if !im.RejectBogonPrefixes {
		return netip.Prefix{}, "", false
	}
	if e, what, ok := bogonPrefix(pfx); ok {
		return e, what, true
	}
	for _, l := range im.PeeringLANs {
		if l.Overlaps(pfx) {
			return l, "peering LAN", true
		}
	}
	return netip.Prefix{}, "", false
}

// prefixLen returns PrefixTooLong or PrefixTooShort (check 8) and the range applied. A blackhole
// may be as long as a host route (check 12).
func (im *Import) prefixLen(pfx netip.Prefix, blackhole bool) (Reason, [2]int) {
	lim := im.PrefixLen4
	if pfx.Addr().Is6() {
		lim = im.PrefixLen6
	}
	if lim[1] == 0 {
		return 0, lim
	}
	if blackhole {
		lim[1] = pfx.Addr().BitLen()
	}
	switch {
	case pfx.Bits() > lim[1]:
		return PrefixTooLong, lim
	case pfx.Bits() < lim[0]:
		return PrefixTooShort, lim
	}
	return 0, lim
}

// tooManyCommunities returns the first community type over the limit and its count (check 9).
func (im *Import) tooManyCommunities(p *Path) (string, int, bool) {
	if im.MaxCommunities <= 0 {
		return "", 0, false
	}
	switch {
	case len(p.Communities) > im.MaxCommunities:
		return "standard", len(p.Communities), true
	case len(p.ExtCommunities) > im.MaxCommunities:
		return "extended", len(p.ExtCommunities), true
	case len(p.LargeCommunities) > im.MaxCommunities:
		return "large", len(p.LargeCommunities), true
	}
	return "", 0, false
}

// StripsCommunities reports whether export must drop the community types of p that are over the
// limit (too_many_communities = strip), for each of standard, extended and large.
func (im *Import) StripsCommunities(p *Path) (std, ext, large bool) {
	if im.MaxCommunities <= 0 || im.RejectTooManyCommunities {
		return false, false, false
	}
	return len(p.Communities) > im.MaxCommunities, len(p.ExtCommunities) > im.MaxCommunities,
		len(p.LargeCommunities) > im.MaxCommunities
}
