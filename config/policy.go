package config

import (
	"net/netip"
	"reflect"
	"slices"
	"time"
)

// Policy is a member's import policy, one field per [defaults] key; see
// docs/policy.md for the checks and docs/configuration.md for the keys.
// The policy engine applies it; this package only parses and validates it.
type Policy struct {
	NextHop                       NextHopPolicy          `toml:"next_hop"`                            // check 2
	EnforceFirstAS                bool                   `toml:"enforce_first_as"`                    // check 4
	MaxASPathLength               int                    `toml:"max_as_path_length"`                  // check 3; 0 = no limit, at most 64
	PrefixLengthsIPv4             [2]int                 `toml:"prefix_lengths_ipv4"`                 // check 8; [min, max]
	PrefixLengthsIPv6             [2]int                 `toml:"prefix_lengths_ipv6"`                 // check 8; [min, max]
	RejectBogonPrefixes           bool                   `toml:"reject_bogon_prefixes"`               // check 7
	RejectBogonASNs               bool                   `toml:"reject_bogon_asns"`                   // check 5
	TransitFreeASNs               []uint32               `toml:"transit_free_asns"`                   // check 6; empty disables
	NeverViaRouteServersASNs      []uint32               `toml:"never_via_route_servers_asns"`        // check 6
	MaxCommunities                int                    `toml:"max_communities"`                     // check 9; per type, 0 = no limit
	TooManyCommunities            TooManyCommunitiesMode `toml:"too_many_communities"`                // check 9
	RPKI                          RPKIPolicy             `toml:"rpki"`                                // check 10
	IRR                           IRRPolicy              `toml:"irr"`                                 // check 11
	IRRSkipPrefixCheckIfRPKIValid bool                   `toml:"irr_skip_prefix_check_if_rpki_valid"` // check 11
	OTC                           OTCPolicy              `toml:"otc"`                                 // check 14
	ASPA                          ASPAPolicy             `toml:"aspa"`                                // check 15
	GracefulShutdown              bool                   `toml:"graceful_shutdown"`                   // check 13
	Blackhole                     bool                   `toml:"blackhole"`                           // check 12
	BlackholeNextHopIPv4          netip.Addr             `toml:"blackhole_next_hop_ipv4"`             // check 12; zero = unchanged
	BlackholeNextHopIPv6          netip.Addr             `toml:"blackhole_next_hop_ipv6"`             // check 12; zero = unchanged
	MaxPrefixIPv4                 int                    `toml:"max_prefix_ipv4"`                     // 0 = no limit
	MaxPrefixIPv6                 int                    `toml:"max_prefix_ipv6"`                     // 0 = no limit
	MaxPrefixAction               MaxPrefixAction        `toml:"max_prefix_action"`
	MaxPrefixRestartAfter         time.Duration          `toml:"max_prefix_restart_after"`
	MaxPrefixWarnPercent          int                    `toml:"max_prefix_warn_percent"` // 1..100
}

// PolicyOverrides are the policy keys a [[member]] sets itself: one pointer
// per Policy field, with the same name and key; nil means "use [defaults]".
type PolicyOverrides struct {
	NextHop                       *NextHopPolicy          `toml:"next_hop"`
	EnforceFirstAS                *bool                   `toml:"enforce_first_as"`
	MaxASPathLength               *int                    `toml:"max_as_path_length"`
	PrefixLengthsIPv4             *[2]int                 `toml:"prefix_lengths_ipv4"`
	PrefixLengthsIPv6             *[2]int                 `toml:"prefix_lengths_ipv6"`
	RejectBogonPrefixes           *bool                   `toml:"reject_bogon_prefixes"`
	RejectBogonASNs               *bool                   `toml:"reject_bogon_asns"`
	TransitFreeASNs               *[]uint32               `toml:"transit_free_asns"`
	NeverViaRouteServersASNs      *[]uint32               `toml:"never_via_route_servers_asns"`
	MaxCommunities                *int                    `toml:"max_communities"`
	TooManyCommunities            *TooManyCommunitiesMode `toml:"too_many_communities"`
	RPKI                          *RPKIPolicy             `toml:"rpki"`
	IRR                           *IRRPolicy              `toml:"irr"`
	IRRSkipPrefixCheckIfRPKIValid *bool                   `toml:"irr_skip_prefix_check_if_rpki_valid"`
	OTC                           *OTCPolicy              `toml:"otc"`
	ASPA                          *ASPAPolicy             `toml:"aspa"`
	GracefulShutdown              *bool                   `toml:"graceful_shutdown"`
	Blackhole                     *bool                   `toml:"blackhole"`
	BlackholeNextHopIPv4          *netip.Addr             `toml:"blackhole_next_hop_ipv4"`
	BlackholeNextHopIPv6          *netip.Addr             `toml:"blackhole_next_hop_ipv6"`
	MaxPrefixIPv4                 *int                    `toml:"max_prefix_ipv4"`
	MaxPrefixIPv6                 *int                    `toml:"max_prefix_ipv6"`
	MaxPrefixAction               *MaxPrefixAction        `toml:"max_prefix_action"`
	MaxPrefixRestartAfter         *time.Duration          `toml:"max_prefix_restart_after"`
	MaxPrefixWarnPercent          *int                    `toml:"max_prefix_warn_percent"`
}

// NextHopPolicy is the next_hop key (docs/policy.md check 2).
type NextHopPolicy string

// Values of next_hop.
const (
	NextHopStrict NextHopPolicy = "strict"  // the session's own address
	NextHopSameAS NextHopPolicy = "same-as" // any address of the same member
	NextHopAny    NextHopPolicy = "any"     // any address in the peering LANs
)

// TooManyCommunitiesMode is the too_many_communities key (check 9).
type TooManyCommunitiesMode string

// Values of too_many_communities.
const (
	CommunitiesStrip  TooManyCommunitiesMode = "strip"
	CommunitiesReject TooManyCommunitiesMode = "reject"
)

// RPKIPolicy is the rpki key (check 10).
type RPKIPolicy string

// Values of rpki.
const (
	RPKIRejectInvalid RPKIPolicy = "reject-invalid"
	RPKITag           RPKIPolicy = "tag"
	RPKIOff           RPKIPolicy = "off"
)

// IRRPolicy is the irr key (check 11).
type IRRPolicy string

// Values of irr.
const (
	IRRReject IRRPolicy = "reject"
	IRRTag    IRRPolicy = "tag"
	IRROff    IRRPolicy = "off"
)

// OTCPolicy is the otc key (check 14, RFC 9234).
type OTCPolicy string

// Values of otc.
const (
	OTCReject OTCPolicy = "reject"
	OTCOff    OTCPolicy = "off"
)

// ASPAPolicy is the aspa key (check 15, draft-ietf-sidrops-aspa-verification).
type ASPAPolicy string

// Values of aspa.
const (
	ASPARejectInvalid ASPAPolicy = "reject-invalid"
	ASPATag           ASPAPolicy = "tag"
	ASPAOff           ASPAPolicy = "off"
)

// MaxPrefixAction is the max_prefix_action key: what happens when a session
// receives more routes of one address family than its limit.
type MaxPrefixAction string

// Values of max_prefix_action.
const (
	MaxPrefixWarn     MaxPrefixAction = "warn"     // log and count only
	MaxPrefixBlock    MaxPrefixAction = "block"    // keep the session, ignore further routes
	MaxPrefixRestart  MaxPrefixAction = "restart"  // close, reconnect after max_prefix_restart_after
	MaxPrefixShutdown MaxPrefixAction = "shutdown" // close until an operator intervenes
)

// Allowed values of each enumerated key, in the order documented.
var (
	nextHopValues            = []NextHopPolicy{NextHopStrict, NextHopSameAS, NextHopAny}
	tooManyCommunitiesValues = []TooManyCommunitiesMode{CommunitiesStrip, CommunitiesReject}
	rpkiValues               = []RPKIPolicy{RPKIRejectInvalid, RPKITag, RPKIOff}
	irrValues                = []IRRPolicy{IRRReject, IRRTag, IRROff}
	otcValues                = []OTCPolicy{OTCReject, OTCOff}
	aspaValues               = []ASPAPolicy{ASPARejectInvalid, ASPATag, ASPAOff}
	maxPrefixActionValues    = []MaxPrefixAction{MaxPrefixWarn, MaxPrefixBlock, MaxPrefixRestart, MaxPrefixShutdown}
)

// defaultTransitFreeASNs are the networks that never reach a route server
// through a member (docs/policy.md, union of arouteserver, IXP Manager and NLNOG).
var defaultTransitFreeASNs = []uint32{174, 701, 1299, 2914, 3257, 3320, 3356, 3491, 4134, 5511, 6453, 6461, 6762, 6830, 7018, 12956}

// DefaultPolicy returns the built-in policy: the values a [defaults] table
// without keys gives (docs/configuration.md). Each call returns fresh slices.
func DefaultPolicy() Policy {
	return Policy{
		NextHop:                  NextHopStrict,
		EnforceFirstAS:           true,
		MaxASPathLength:          32,
		PrefixLengthsIPv4:        [2]int{8, 24},
		PrefixLengthsIPv6:        [2]int{12, 48},
		RejectBogonPrefixes:      true,
		RejectBogonASNs:          true,
		TransitFreeASNs:          slices.Clone(defaultTransitFreeASNs),
		NeverViaRouteServersASNs: []uint32{},
		MaxCommunities:           0,
		TooManyCommunities:       CommunitiesStrip,
		RPKI:                     RPKIRejectInvalid,
		IRR:                      IRRReject,
		OTC:                      OTCReject,
		ASPA:                     ASPAOff,
		GracefulShutdown:         true,
		Blackhole:                true,
		MaxPrefixIPv4:            170000,
		MaxPrefixIPv6:            12000,
		MaxPrefixAction:          MaxPrefixShutdown,
		MaxPrefixRestartAfter:    15 * time.Minute,
		MaxPrefixWarnPercent:     90,
	}
}

// clone returns p with its slices copied.
func (p Policy) clone() Policy {
	p.TransitFreeASNs = slices.Clone(p.TransitFreeASNs)
	p.NeverViaRouteServersASNs = slices.Clone(p.NeverViaRouteServersASNs)
	return p
}

// apply returns base overlaid with the keys o sets. Fields are matched by
// name; TestPolicyOverridesMirrorPolicy keeps the two types in step.
func (o *PolicyOverrides) apply(base Policy) Policy {
	p := base.clone()
	pv := reflect.ValueOf(&p).Elem()
	ov := reflect.ValueOf(o).Elem()
	for i := range ov.NumField() {
		f := ov.Field(i)
		if f.IsNil() {
			continue
		}
		dst := pv.FieldByName(ov.Type().Field(i).Name)
		dst.Set(f.Elem())
		if dst.Kind() == reflect.Slice {
			dst.Set(reflect.AppendSlice(reflect.MakeSlice(dst.Type(), 0, dst.Len()), dst))
		}
	}
	return p
}

// Keys returns the keys o sets, in declaration order.
func (o *PolicyOverrides) Keys() []string {
	var keys []string
	ov := reflect.ValueOf(o).Elem()
	for i := range ov.NumField() {
		if !ov.Field(i).IsNil() {
			keys = append(keys, tomlName(ov.Type().Field(i)))
		}
	}
	return keys
}
