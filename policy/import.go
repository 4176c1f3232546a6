package policy

import (
	"net/netip"
	"slices"
)

// DefaultLocalPref is the LOCAL_PREF of an accepted route that import policy did not change.
// LOCAL_PREF is never taken from a member (it is not sent over eBGP) and never sent to one.
const DefaultLocalPref = 100

// Verdict is the result of import policy for a route: every failing check, the LOCAL_PREF the
// decision process uses (import policy is the only source of LOCAL_PREF, e.g. graceful shutdown
// sets 0) and the validation states that become informational communities on export.
type Verdict struct {
	Reasons   Reasons
	LocalPref uint32
	Info      Info
}

// Accepted reports whether no check failed.
func (v Verdict) Accepted() bool { return v.Reasons == 0 }

// Importer is import policy. Both methods are pure: the same input (data included) gives the same
// verdict.
//
// ImportPath runs once per (attribute set, session, address family) and returns the verdict of every
// check that reads only the path attributes. ImportRoute runs once per prefix with that verdict and
// returns the route's final verdict; it must keep every reason of pathVerdict (all failing reasons
// are recorded, not only the first). Checks that read RPKI or IRR data run in ImportRoute only, so
// a path verdict stays valid when that data changes.
type Importer interface {
	ImportPath(s *Session, p *Path) Verdict
	ImportRoute(s *Session, d Data, prefix netip.Prefix, p *Path, pathVerdict Verdict) Verdict
}

// NextHopMode says which next hops a member may announce (docs/policy.md check 2, RFC 7948 §4.8).
type NextHopMode uint8

const (
	// NextHopStrict: the session's own address.
	NextHopStrict NextHopMode = iota
	// NextHopSameAS: any configured address of the same member.
	NextHopSameAS
	// NextHopAny: any address (inside the peering LANs when they are configured).
	NextHopAny
)

// Import is the IXP import chain of docs/policy.md, compiled for one set of settings. Members with
// identical settings share one Import; the member's addresses come in the Session, the data
// (VRPs, the member's IRR data) in a Data snapshot with each call. A zero field switches its check off, except the next-hop check, whose zero
// value is strict. Import must not be modified once in use.
type Import struct {
	NextHop NextHopMode
	// PeeringLANs, when not empty, must contain every next hop (check 2), and routes overlapping
	// them are bogons (check 7).
	PeeringLANs    []netip.Prefix
	EnforceFirstAS bool
	// MaxPathLen is the longest AS path accepted; 0 means no limit.
	MaxPathLen int
	// RejectASSets rejects paths with an AS_SET (RS:1101:5).
	RejectASSets    bool
	RejectBogonASNs bool
	// TransitFree are ASNs that may not appear after the first position; NeverVia may not appear
	// anywhere (check 6, RS:1101:14). Both sorted.
	TransitFree, NeverVia []uint32
	RejectBogonPrefixes   bool
	// PrefixLen4 and PrefixLen6 are the accepted [min, max] prefix lengths; a zero max disables
	// the check for that family (check 8).
	PrefixLen4, PrefixLen6 [2]int
	// MaxCommunities limits each community type (standard, extended, large); 0 = no limit. With
	// RejectTooManyCommunities the route is rejected (RS:1101:15), otherwise export strips that
	// type (check 9).
	MaxCommunities           int
	RejectTooManyCommunities bool
	RPKI                     RPKIMode // the VRPs come with each call (Data.ROV)
	IRR                      IRRMode
	IRRSkipPrefixIfRPKIValid bool
	RejectOTC                bool     // RFC 9234 leak (check 14)
	ASPA                     ASPAMode // the ASPA records come with each call (Data.ASPA), check 15
	GracefulShutdown         bool     // 65535:0 → LOCAL_PREF 0 (check 13)
	Blackhole                bool     // RFC 7999 more-specifics (check 12)
}

// DefaultImport returns the checks that need no data and hold for any address space: strict next
// hop, first AS enforced, AS path at most 32 long. Full returns the whole default chain.
func DefaultImport() *Import {
	return &Import{NextHop: NextHopStrict, EnforceFirstAS: true, MaxPathLen: 32}
}

// Full returns the default chain of docs/policy.md with every check on and no RPKI validator.
func Full() *Import {
	return &Import{
		NextHop: NextHopStrict, EnforceFirstAS: true, MaxPathLen: 32, RejectASSets: true,
		RejectBogonASNs: true, TransitFree: slices.Clone(DefaultTransitFreeASNs),
		RejectBogonPrefixes: true, PrefixLen4: [2]int{8, 24}, PrefixLen6: [2]int{12, 48},
		RPKI: RPKIRejectInvalid, IRR: IRRReject, RejectOTC: true, GracefulShutdown: true, Blackhole: true,
	}
}

// ImportPath implements Importer: checks 2–6, 9, 13 and 14. An empty AS path is always rejected
// (RS:1101:6): a member's route must carry at least the member's own AS.
func (im *Import) ImportPath(s *Session, p *Path) Verdict {
	v := Verdict{LocalPref: DefaultLocalPref}
	if why := im.nextHop(s, p.NextHop); why != "" {
		v.Reasons = v.Reasons.Add(NextHopNotPeerIP)
	}
	if r := im.pathLen(p); r != 0 {
		v.Reasons = v.Reasons.Add(r)
	}
	if im.firstASFails(s, p) {
		v.Reasons = v.Reasons.Add(FirstASNotPeerAS)
	}
	if _, _, bad := im.bogonASN(p); bad {
		v.Reasons = v.Reasons.Add(BogonASN)
	}
	if _, bad := im.transitFree(p); bad {
		v.Reasons = v.Reasons.Add(TransitFreeASN)
	}
	if _, _, bad := im.tooManyCommunities(p); bad && im.RejectTooManyCommunities {
		v.Reasons = v.Reasons.Add(TooManyCommunities)
	}
	if im.RejectOTC && p.HasOTC {
		v.Reasons = v.Reasons.Add(OTCLeak)
	}
	if im.GracefulShutdown && p.HasCommunity(CommunityGracefulShutdown) {
		v.LocalPref = 0
	}
	return v
}

// ImportRoute implements Importer: checks 7, 8, 10, 11 and 12, which read the prefix, and 15, which
// reads only the path but also data that changes (ASPA records), so that a cached path verdict stays
// valid when the data changes.
func (im *Import) ImportRoute(s *Session, d Data, pfx netip.Prefix, p *Path, pv Verdict) Verdict {
	v := pv
	if im.bogonPrefixFails(pfx) {
		v.Reasons = v.Reasons.Add(BogonPrefix)
	}
	bh := im.blackhole(p)
	if r, _ := im.prefixLen(pfx, bh); r != 0 {
		v.Reasons = v.Reasons.Add(r)
	}
	st := RPKINotChecked
	if im.RPKI != RPKIOff && d.ROV != nil {
		st = d.ROV.Validate(pfx, p.Origin())
		if st == RPKIInvalidState && im.RPKI == RPKIRejectInvalid {
			v.Reasons = v.Reasons.Add(RPKIInvalid)
		}
	}
	v.Info = v.Info.withRPKI(st)
	if im.IRR != IRROff {
		irr := d.IRR
		origin := IRRNotIn
		if irr.Origin(p.Origin()) {
			origin = IRRIn
		}
		prefix := IRRNotChecked
		if !(im.IRRSkipPrefixIfRPKIValid && st == RPKIValid) {
			prefix = IRRNotIn
			if im.irrPrefixOK(irr, pfx, bh) {
				prefix = IRRIn
			}
		}
		if im.IRR == IRRReject {
			if origin == IRRNotIn {
				v.Reasons = v.Reasons.Add(IRROriginFiltered)
			}
			if prefix == IRRNotIn {
				v.Reasons = v.Reasons.Add(IRRPrefixFiltered)
			}
		}
		v.Info = v.Info.withIRR(prefix, origin)
	}
	ast, reject := im.aspa(d, p)
	if reject {
		v.Reasons = v.Reasons.Add(ASPAInvalid)
	}
	v.Info = v.Info.withASPA(ast)
	return v
}

// irrPrefixOK applies the prefix list; a blackhole more-specific needs only to be covered.
func (im *Import) irrPrefixOK(irr *IRR, pfx netip.Prefix, bh bool) bool {
	if _, ok := irr.Prefix(pfx); ok {
		return true
	}
	if bh {
		_, ok := irr.Covers(pfx)
		return ok
	}
	return false
}

// blackhole reports whether the route is a blackhole request the chain honours.
func (im *Import) blackhole(p *Path) bool {
	return im.Blackhole && p.HasCommunity(CommunityBlackhole)
}
