package policy

import "net/netip"

// DefaultLocalPref is the LOCAL_PREF of an accepted route that import policy did not change.
// LOCAL_PREF is never taken from a member (it is not sent over eBGP) and never sent to one.
const DefaultLocalPref = 100

// Verdict is the result of import policy for a route: every failing check, and the
// LOCAL_PREF the decision process uses (import policy is the only source of LOCAL_PREF, e.g.
// graceful shutdown sets 0).
type Verdict struct {
	Reasons   Reasons
	LocalPref uint32
}

// Accepted reports whether no check failed.
func (v Verdict) Accepted() bool { return v.Reasons == 0 }

// Importer is import policy. Both methods are pure: the same input gives the same verdict.
//
// ImportPath runs once per (attribute set, session, address family) and returns the verdict of every
// check that reads only the path attributes. ImportRoute runs once per prefix with that verdict and
// returns the route's final verdict; it must keep every reason of pathVerdict (all failing reasons
// are recorded, not only the first).
type Importer interface {
	ImportPath(s *Session, p *Path) Verdict
	ImportRoute(s *Session, prefix netip.Prefix, p *Path, pathVerdict Verdict) Verdict
}

// NextHopMode says which next hops a member may announce (POLICY.md check 2, RFC 7948 §4.8).
type NextHopMode uint8

const (
	// NextHopStrict: the session's own address.
	NextHopStrict NextHopMode = iota
	// NextHopSameAS: any configured address of the same member.
	NextHopSameAS
	// NextHopAny: no check.
	NextHopAny
)

// Import is the part of the IXP import chain that needs no external data: next hop, AS path length,
// first AS. The zero value checks the next hop strictly and nothing else; DefaultImport returns the
// POLICY.md defaults.
type Import struct {
	NextHop        NextHopMode
	EnforceFirstAS bool
	// MaxPathLen is the longest AS path accepted; 0 means no limit.
	MaxPathLen int
}

// DefaultImport returns the default chain of POLICY.md for the checks Import implements:
// strict next hop, first AS enforced, AS path at most 32 long.
func DefaultImport() *Import {
	return &Import{NextHop: NextHopStrict, EnforceFirstAS: true, MaxPathLen: 32}
}

// ImportPath implements Importer. An empty AS path is always rejected (RS:1101:6): a member's
// route must carry at least the member's own AS.
func (im *Import) ImportPath(s *Session, p *Path) Verdict {
	v := Verdict{LocalPref: DefaultLocalPref}
	if !nextHopOK(im.NextHop, s, p.NextHop) {
		v.Reasons = v.Reasons.Add(NextHopNotPeerIP)
	}
	switch {
	case p.Len == 0:
		v.Reasons = v.Reasons.Add(ASPathTooShort)
	case im.MaxPathLen > 0 && p.Len > im.MaxPathLen:
		v.Reasons = v.Reasons.Add(ASPathTooLong)
	}
	if im.EnforceFirstAS && p.Len > 0 && p.First != s.ASN {
		v.Reasons = v.Reasons.Add(FirstASNotPeerAS)
	}
	return v
}

// ImportRoute implements Importer. Import has no prefix-dependent checks yet (bogons, prefix
// lengths, RPKI and IRR come with the full chain), so the path verdict is the route's verdict.
func (im *Import) ImportRoute(_ *Session, _ netip.Prefix, _ *Path, pathVerdict Verdict) Verdict {
	return pathVerdict
}

// nextHopOK applies the next-hop mode. Strict mode accepts the session's address; a next hop of
// the other address family (an IPv6 route carried over an IPv4 session) cannot be the session's
// address, so it must be one of the member's own configured addresses instead.
func nextHopOK(mode NextHopMode, s *Session, nh netip.Addr) bool {
	if !nh.IsValid() {
		return false
	}
	nh = nh.Unmap()
	switch mode {
	case NextHopAny:
		return true
	case NextHopStrict:
		addr := s.Addr.Unmap()
		if nh == addr {
			return true
		}
		if nh.Is4() == addr.Is4() {
			return false
		}
	}
	for _, a := range s.Addrs {
		if a.Unmap() == nh {
			return true
		}
	}
	return false
}
