package main

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
	rov   policy.OriginValidator
	cache map[string]*policy.Import
}

func newCompiler(srv config.Server, rov policy.OriginValidator) *compiler {
	return &compiler{lans: srv.PeeringLANs, rov: rov, cache: map[string]*policy.Import{}}
}

// compile returns the shared compiled form of p.
func (c *compiler) compile(p config.Policy) *policy.Import {
	im := importPolicy(p, c.lans, c.rov)
	key := im.String()
	if old := c.cache[key]; old != nil {
		return old
	}
	c.cache[key] = im
	return im
}

// importPolicy compiles a member's effective policy into the import chain the route server runs.
func importPolicy(p config.Policy, lans []netip.Prefix, rov policy.OriginValidator) *policy.Import {
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
	if im.RPKI != policy.RPKIOff {
		im.ROV = rov
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

// exportPolicy builds the export steps of POLICY.md. They act on the attribute set, which is shared
// by every member's routes, so the settings that are member keys elsewhere (blackhole next hops,
// too_many_communities = "strip") are taken from [defaults] here.
func exportPolicy(cfg *config.Config) *rs.ControlCommunities {
	d := cfg.Defaults
	e := &rs.ControlCommunities{
		Control:           policy.ExportControl{ASN: cfg.Server.ASN},
		AddOTC:            true,
		Informational:     true,
		Blackhole:         d.Blackhole,
		BlackholeNextHop4: d.BlackholeNextHopIPv4,
		BlackholeNextHop6: d.BlackholeNextHopIPv6,
	}
	if d.TooManyCommunities == config.CommunitiesStrip {
		e.MaxCommunities = d.MaxCommunities
	}
	return e
}
