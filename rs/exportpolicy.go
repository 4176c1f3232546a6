package rs

import (
	"net/netip"
	"slices"

	"github.com/ixrs/ixrs/policy"
	"github.com/ixrs/ixrs/speaker"
)

// Export policy: what a member's route becomes on its way to the other members. The control-community
// language itself (which targets a route may go to, with which variant) is policy.ExportControl, pure
// and speaker-free; this file applies it to attribute sets — strip the route server's communities,
// add OTC, blackhole handling, informational communities, prepends, NO_EXPORT/NO_ADVERTISE toward one
// member — once per interned set and variant (variant.go caches the results with their encodings).
// The per-session decision that reads the summaries is export.go. The daemon builds a
// ControlCommunities from the configuration (daemon/policy.go).

// ExportPolicy is the export hook. Prepare is called once per interned attribute set (never per
// prefix or per member): it returns the summary from which the per-member decision is read in
// constant time, and the attributes to send instead of a, or nil to send a unchanged. p is the policy
// view of a. Prepare must be pure, and idempotent: Prepare of its own output returns nil.
type ExportPolicy interface {
	Prepare(a *speaker.Attrs, p *policy.Path) (policy.Export, *speaker.Attrs)
}

// VariantPolicy is an ExportPolicy whose output also depends on the route's validation state and on
// the target member (policy.Variant: prepend, NO_EXPORT, NO_ADVERTISE toward one member). Variant
// is called once per (outgoing set, info, variant) and cached with its encoding; it returns the
// attributes to send instead of out, or nil for out unchanged. It must be pure.
type VariantPolicy interface {
	ExportPolicy
	Variant(out *speaker.Attrs, info policy.Info, v policy.Variant) *speaker.Attrs
}

// ProfiledExport is an ExportPolicy whose per-set work also depends on the announcing member's
// export settings (MemberConfig.Export). PrepareProfile is Prepare for a set announced by a member
// with profile prof; it is called only for members that have one.
type ProfiledExport interface {
	ExportPolicy
	PrepareProfile(prof *ExportProfile, a *speaker.Attrs, p *policy.Path) (policy.Export, *speaker.Attrs)
}

// ExportProfile is the part of export policy that follows the announcing member's settings
// (docs/policy.md checks 9 and 12, whose keys may be overridden per member). It must be comparable.
type ExportProfile struct {
	// Blackhole adds NO_EXPORT to RFC 7999 blackhole routes and rewrites their next hop to
	// BlackholeNextHop4/6 when those are set.
	Blackhole                            bool
	BlackholeNextHop4, BlackholeNextHop6 netip.Addr
	// MaxCommunities > 0 strips every community of a type a route has more than this many of
	// (too_many_communities = "strip").
	MaxCommunities int
}

// maxProfiles bounds the distinct export profiles: the id is one byte of every set's key, and
// 0xff marks derived sets.
const maxProfiles = 254

// ControlCommunities is the default export policy: the route server's control communities
// (policy.ExportControl) steer where a route goes and are stripped before it is sent, together with
// the ranges only the route server may set; the other fields switch on the rest of docs/policy.md's
// export steps. The zero value of each is off.
type ControlCommunities struct {
	Control policy.ExportControl
	// AddOTC adds OTC = the route server's AS to routes that carry none (RFC 9234).
	AddOTC bool
	// Informational adds RS:1000:N and RS:64512:N for the route's RPKI and IRR state, when one was
	// checked.
	Informational bool
	// RPKIStateCommunity adds the RFC 8097 origin validation state extended community for the
	// route's RPKI state, when it was checked, and removes the ones members send (a member must not
	// speak for the route server's validation).
	RPKIStateCommunity bool
	// ExportProfile holds the settings of members that have no profile of their own.
	ExportProfile
}

// Prepare implements ExportPolicy.
func (c *ControlCommunities) Prepare(a *speaker.Attrs, p *policy.Path) (policy.Export, *speaker.Attrs) {
	return c.PrepareProfile(&c.ExportProfile, a, p)
}

// PrepareProfile implements ProfiledExport.
func (c *ControlCommunities) PrepareProfile(prof *ExportProfile, a *speaker.Attrs, p *policy.Path) (policy.Export, *speaker.Attrs) {
	e := c.Control.Summarize(p)
	std, ext, large, changed := c.Control.Strip(p)
	if c.RPKIStateCommunity && slices.ContainsFunc(ext, policy.IsRFC8097) {
		ext, changed = slices.DeleteFunc(slices.Clone(ext), policy.IsRFC8097), true
	}
	if m := prof.MaxCommunities; m > 0 {
		if len(p.Communities) > m {
			std, changed = nil, true
		}
		if len(p.ExtCommunities) > m {
			ext, changed = nil, true
		}
		if len(p.LargeCommunities) > m {
			large, changed = nil, true
		}
	}
	addOTC := c.AddOTC && !a.HasOTC
	bh := prof.Blackhole && p.HasCommunity(policy.CommunityBlackhole)
	bhNoExport := bh && !slices.Contains(std, policy.CommunityNoExport)
	nh4 := bh && prof.BlackholeNextHop4.IsValid() && a.NextHop.IsValid() && a.NextHop != prof.BlackholeNextHop4
	nh6 := bh && prof.BlackholeNextHop6.IsValid() && a.MPNextHop.Is6() && (a.MPNextHop != prof.BlackholeNextHop6 || a.MPLinkLocal.IsValid())
	if !changed && !addOTC && !bhNoExport && !nh4 && !nh6 {
		return e, nil
	}
	send := *a
	if changed {
		send.Communities = nilIfEmpty(std)
		send.ExtCommunities = nil
		if len(ext) > 0 {
			send.ExtCommunities = ext
		}
		send.LargeCommunities = nil
		for _, lc := range large {
			send.LargeCommunities = append(send.LargeCommunities, speaker.LargeCommunity(lc))
		}
	} // else only OTC, blackhole or next hop change: the communities are a's, shared (immutable)
	if addOTC {
		send.OTC, send.HasOTC = c.Control.ASN, true
	}
	if bhNoExport {
		send.Communities = append(slices.Clip(send.Communities), policy.CommunityNoExport)
	}
	if nh4 {
		send.NextHop = prof.BlackholeNextHop4
	}
	if nh6 {
		send.MPNextHop, send.MPLinkLocal = prof.BlackholeNextHop6, netip.Addr{}
	}
	return e, &send
}

// Variant implements VariantPolicy.
func (c *ControlCommunities) Variant(out *speaker.Attrs, info policy.Info, v policy.Variant) *speaker.Attrs {
	addInfo := c.Informational && info != 0
	state, addState := info.RFC8097Community()
	addState = addState && c.RPKIStateCommunity
	if !addInfo && !addState && v == 0 {
		return nil
	}
	send := *out
	if addState {
		send.ExtCommunities = append(slices.Clone(out.ExtCommunities), state)
	}
	if addInfo {
		send.LargeCommunities = slices.Clone(out.LargeCommunities)
		for _, lc := range info.Communities(c.Control.ASN) {
			send.LargeCommunities = append(send.LargeCommunities, speaker.LargeCommunity(lc))
		}
	}
	if n := v.Prepend(); n > 0 {
		send.ASPath = prepend(out.ASPath, n)
	}
	if v.NoExport() && !slices.Contains(out.Communities, policy.CommunityNoExport) {
		send.Communities = append(slices.Clip(send.Communities), policy.CommunityNoExport)
	}
	if v.NoAdvertise() && !slices.Contains(send.Communities, policy.CommunityNoAdvertise) {
		send.Communities = append(slices.Clip(send.Communities), policy.CommunityNoAdvertise)
	}
	return &send
}

// prepend returns p with its first AS repeated n more times at the front, sharing nothing with p.
func prepend(p speaker.ASPath, n int) speaker.ASPath {
	first := p.First()
	if first == 0 {
		return p // no leading sequence: nothing to prepend (such a path is rejected on import anyway)
	}
	out := make(speaker.ASPath, len(p))
	copy(out, p)
	seg := p[0]
	if len(seg.ASNs)+n > 255 {
		// A segment holds at most 255 ASNs: start a new one in front.
		extra := speaker.Segment{Type: speaker.SegSequence, ASNs: slices.Repeat([]uint32{first}, n)}
		return append(speaker.ASPath{extra}, out...)
	}
	asns := make([]uint32, 0, len(seg.ASNs)+n)
	asns = append(asns, slices.Repeat([]uint32{first}, n)...)
	out[0] = speaker.Segment{Type: seg.Type, ASNs: append(asns, seg.ASNs...)}
	return out
}

func nilIfEmpty(s []uint32) []uint32 {
	if len(s) == 0 {
		return nil
	}
	return s
}
