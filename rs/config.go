package rs

import (
	"errors"
	"log/slog"
	"net/netip"
	"slices"

	"github.com/ixrs/ixrs/policy"
	"github.com/ixrs/ixrs/speaker"
)

// Config configures a Server. Zero values take the defaults noted.
type Config struct {
	// ASN is the route server's AS. It is never prepended (RFC 7947 §2.2.2); a route carrying it
	// is not redistributed.
	ASN uint32
	// RouterID is the route server's BGP identifier.
	RouterID netip.Addr
	// Import is the import policy of members that do not set their own. Default:
	// policy.DefaultImport().
	Import policy.Importer
	// Export is the export policy. Default: ControlCommunities{ASN: ASN}.
	Export ExportPolicy

	// InboundQueue is the number of UPDATEs a session may have waiting for the RIB before its
	// reader blocks (and TCP pushes back on that member alone). Default 16.
	InboundQueue int
	// OutHighWater is the number of bytes a session's output buffer may hold before the route
	// server stops encoding for it; OutLowWater is where it starts again. Defaults 256 KiB and
	// 64 KiB. The writer's Drained call also resumes a session.
	OutHighWater, OutLowWater int
	// WalkBatch bounds the prefixes a session visits per loop pass (table dump and change list
	// together), so that long work advances in slices and never starves the others. Default 1024.
	WalkBatch int
	// PendingMax is the number of prefixes a session may hold decided but not yet encoded. It must
	// exceed the prefixes of one full message (about 16,000 IPv4 /24s at 65,535 bytes) for messages
	// to be filled. Default 32768.
	PendingMax int
	// ReadBudget bounds the entries background work visits per loop pass: re-evaluation walks and
	// read jobs (looking-glass pages, feed resyncs) share it, half each while both have work.
	// Default WalkBatch.
	ReadBudget int
	// ReadLimit bounds the entries one page of a read job visits in total; a page that reaches it
	// before it is full is returned partial, with a cursor. Default ScanLimit.
	ReadLimit int
	// ClearBatch bounds the prefixes visited per pass when a departed session's Adj-RIB-Out bits are
	// cleared. Default 16384.
	ClearBatch int

	// OnMaxPrefix is called (on the RIB loop; it must not block) when a session goes over its
	// max-prefix limit with action restart or shutdown, so that the session layer closes it.
	OnMaxPrefix func(MaxPrefixEvent)

	Logger *slog.Logger

	// noCohorts serves every session on its own (tests compare the two paths).
	noCohorts bool
}

func (c *Config) setDefaults() {
	if c.Import == nil {
		c.Import = policy.DefaultImport()
	}
	if c.Export == nil {
		c.Export = &ControlCommunities{Control: policy.ExportControl{ASN: c.ASN}}
	}
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&c.InboundQueue, 16)
	def(&c.OutHighWater, 256<<10)
	def(&c.OutLowWater, 64<<10)
	def(&c.WalkBatch, 1024)
	def(&c.PendingMax, 32768)
	def(&c.ClearBatch, 16384)
	def(&c.ReadBudget, c.WalkBatch)
	def(&c.ReadLimit, ScanLimit)
	if c.OutLowWater > c.OutHighWater {
		c.OutLowWater = c.OutHighWater / 4
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// MemberConfig describes a member: one AS, one or more sessions (AddPeer).
type MemberConfig struct {
	Name string
	ASN  uint32
	// Import overrides Config.Import for this member. Members with identical settings should share
	// one Importer.
	Import policy.Importer
	// IRR is the member's IRR data (nil: none). Storing new data in it takes effect for new routes;
	// Server.Reevaluate applies it to the routes already held.
	IRR *policy.IRRSource
	// MaxPrefix limits the routes each of the member's sessions may send.
	MaxPrefix MaxPrefix
	// Export is the member's export profile when the export policy is a ProfiledExport and the
	// member's settings differ from its defaults; nil otherwise. At most 254 distinct profiles.
	Export *ExportProfile
}

// SessionInfo is what the route server needs to know of an established session.
type SessionInfo struct {
	// RouterID is the neighbor's BGP identifier (decision step 5).
	RouterID netip.Addr
	// Families are the negotiated address families; routes of other families are not sent.
	Families []speaker.Family
	// Encode is how the session encodes UPDATEs (four-octet AS, maximum message size).
	Encode speaker.EncodeOptions
	// OpenSent and OpenReceived are the OPEN messages of the session as sent and received (whole
	// messages, header included), for the looking glass and BMP peer-up. Shared with every reader:
	// not to be modified after Up.
	OpenSent, OpenReceived []byte
}

// Output is the write side of a session. *speaker.Peer implements it.
type Output interface {
	// Queue appends complete BGP messages to the session's output buffer without blocking and
	// returns the number of bytes now waiting to be written. It copies b: the route server reuses
	// the buffer. Queue(nil) only reports the count.
	Queue(b []byte) (int, error)
}

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
// (POLICY.md checks 9 and 12, whose keys may be overridden per member). It must be comparable.
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
// the ranges only the route server may set; the other fields switch on the rest of POLICY.md's
// export steps. The zero value of each is off.
type ControlCommunities struct {
	Control policy.ExportControl
	// AddOTC adds OTC = the route server's AS to routes that carry none (RFC 9234).
	AddOTC bool
	// Informational adds RS:1000:N and RS:64512:N for the route's RPKI and IRR state, when one was
	// checked.
	Informational bool
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
	if !addInfo && v == 0 {
		return nil
	}
	send := *out
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

// Errors returned by the Server API.
var (
	ErrStopped       = errors.New("route server stopped")
	ErrNotUp         = errors.New("session not up")
	ErrUnknownMember = errors.New("unknown member")
	ErrDuplicate     = errors.New("already configured")
	ErrUnknownPeer   = errors.New("unknown session")
)
