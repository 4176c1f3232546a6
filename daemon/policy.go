package daemon

import (
	"net/netip"
	"slices"

	"github.com/ixrs/ixrs/config"
	"github.com/ixrs/ixrs/policy"
	"github.com/ixrs/ixrs/rs"
)

// compiler turns members' effective policies into policy.Import values. Members with identical
// settings share one compiled policy: at an IXP nearly every member has the defaults, so a
// thousand members compile to a handful of policies (TestCompileGolden).
type compiler struct {
	lans  []netip.Prefix
	cache map[string]*policy.Import
}

func newCompiler(srv config.Server) *compiler {
	return &compiler{lans: srv.PeeringLANs, cache: map[string]*policy.Import{}}
}

// compile returns the shared compiled form of p.
func (c *compiler) compile(p config.Policy) *policy.Import {
	im := importPolicy(p, c.lans)
	key := im.String()
	if old := c.cache[key]; old != nil {
		return old
	}
	c.cache[key] = im
	return im
}

// importPolicy compiles a member's effective policy into the import chain the route server runs.
func importPolicy(p config.Policy, lans []netip.Prefix) *policy.Import {
	im := &policy.Import{
		PeeringLANs:              slices.Clone(lans),
		EnforceFirstAS:           p.EnforceFirstAS,
		MaxPathLen:               p.MaxASPathLength,
		RejectASSets:             true, // arouteserver and IXP Manager reject them unconditionally
		RejectBogonASNs:          p.RejectBogonASNs,
		TransitFree:              sortedSet(p.TransitFreeASNs),
		NeverVia:                 sortedSet(p.NeverViaRouteServersASNs),
		RejectBogonPrefixes:      p.RejectBogonPrefixes,
		PrefixLen4:               p.PrefixLengthsIPv4,
		PrefixLen6:               p.PrefixLengthsIPv6,
		MaxCommunities:           p.MaxCommunities,
		RejectTooManyCommunities: p.TooManyCommunities == config.CommunitiesReject,
		IRRSkipPrefixIfRPKIValid: p.IRRSkipPrefixCheckIfRPKIValid,
		RejectOTC:                p.OTC == config.OTCReject,
		GracefulShutdown:         p.GracefulShutdown,
		Blackhole:                p.Blackhole,
	}
	switch p.NextHop {
	case config.NextHopSameAS:
		im.NextHop = policy.NextHopSameAS
	case config.NextHopAny:
		im.NextHop = policy.NextHopAny
	default:
		im.NextHop = policy.NextHopStrict
	}
	switch p.RPKI {
	case config.RPKIRejectInvalid:
		im.RPKI = policy.RPKIRejectInvalid
	case config.RPKITag:
		im.RPKI = policy.RPKITag
	}
	switch p.ASPA {
	case config.ASPARejectInvalid:
		im.ASPA = policy.ASPARejectInvalid
	case config.ASPATag:
		im.ASPA = policy.ASPATag
	}
	switch p.IRR {
	case config.IRRReject:
		im.IRR = policy.IRRReject
	case config.IRRTag:
		im.IRR = policy.IRRTag
	}
	return im
}

func sortedSet(v []uint32) []uint32 {
	if len(v) == 0 {
		return nil
	}
	v = slices.Clone(v)
	slices.Sort(v)
	return slices.Compact(v)
}

// exportPolicy builds the export steps of docs/policy.md; the [defaults] settings of checks 9 and 12 are
// the default export profile, and members that override them get their own (exportProfileOf).
func exportPolicy(cfg *config.Config) *rs.ControlCommunities {
	return &rs.ControlCommunities{
		Control:       policy.ExportControl{ASN: cfg.Server.ASN, StdASN: cfg.Server.ControlCommunityASN},
		AddOTC:        true,
		Informational: true,
		// RFC 8097 on export only when asked: it is a non-transitive community meant for iBGP.
		RPKIStateCommunity: cfg.RPKI.StateCommunity,
		ExportProfile:      exportProfile(cfg.Defaults),
	}
}

// exportProfile is the part of a policy that export applies to the member's routes: blackhole
// handling and community stripping.
func exportProfile(p config.Policy) rs.ExportProfile {
	e := rs.ExportProfile{
		Blackhole:         p.Blackhole,
		BlackholeNextHop4: p.BlackholeNextHopIPv4,
		BlackholeNextHop6: p.BlackholeNextHopIPv6,
	}
	if p.TooManyCommunities == config.CommunitiesStrip {
		e.MaxCommunities = p.MaxCommunities
	}
	return e
}

// exportProfileOf returns member policy p's export profile, or nil when it is the default one
// the export policy was built with.
func (d *Daemon) exportProfileOf(p config.Policy) *rs.ExportProfile {
	e := exportProfile(p)
	if e == d.defExport {
		return nil
	}
	return &e
}

// maxPrefix converts the max_prefix_* keys.
func maxPrefix(p config.Policy) rs.MaxPrefix {
	mp := rs.MaxPrefix{IPv4: p.MaxPrefixIPv4, IPv6: p.MaxPrefixIPv6, WarnPercent: p.MaxPrefixWarnPercent}
	switch p.MaxPrefixAction {
	case config.MaxPrefixWarn:
		mp.Action = rs.MaxPrefixWarn
	case config.MaxPrefixBlock:
		mp.Action = rs.MaxPrefixBlock
	case config.MaxPrefixRestart:
		mp.Action = rs.MaxPrefixRestart
	default:
		mp.Action = rs.MaxPrefixShutdown
	}
	return mp
}
