package main

import (
	"net/netip"
	"slices"
	"time"

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

// exportPolicy builds the export steps of POLICY.md; the [defaults] settings of checks 9 and 12 are
// the default export profile, and members that override them get their own (exportProfileOf).
func exportPolicy(cfg *config.Config) *rs.ControlCommunities {
	return &rs.ControlCommunities{
		Control:       policy.ExportControl{ASN: cfg.Server.ASN, StdASN: cfg.Server.ControlCommunityASN},
		AddOTC:        true,
		Informational: true,
		ExportProfile: exportProfile(cfg.Defaults),
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
func (d *daemon) exportProfileOf(p config.Policy) *rs.ExportProfile {
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

// maxPrefix is the RIB's max-prefix hook: it closes the session with the NOTIFICATION the RIB built
// (Cease/1 with AFI, SAFI and limit) and, for action restart, starts it again after
// max_prefix_restart_after. It runs on the RIB loop, so the speaker calls go to a goroutine.
func (d *daemon) maxPrefix(e rs.MaxPrefixEvent) {
	v, ok := d.bySession.Load(e.Peer)
	if !ok {
		return
	}
	s := v.(*runningSession)
	n := e.Notification
	go s.peer.Stop(&n)
	if e.Action != rs.MaxPrefixRestart {
		d.log.Warn("max-prefix: session shut down until an operator restarts it", "member", s.peer.Name(),
			"neighbor", s.peer.Addr().String(), "afi", e.Family.String(), "limit", e.Limit)
		return
	}
	after := time.Duration(s.restartAfter.Load())
	d.log.Warn("max-prefix: session closed, restarting later", "member", s.peer.Name(),
		"neighbor", s.peer.Addr().String(), "afi", e.Family.String(), "limit", e.Limit, "restart_after", after.String())
	time.AfterFunc(after, func() {
		// A member removed meanwhile has a peer that refuses events: Start is then a no-op.
		if _, still := d.bySession.Load(e.Peer); still {
			s.peer.Start()
		}
	})
}
