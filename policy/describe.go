package policy

import (
	"fmt"
	"strings"
)

// String describes the compiled settings, one per line, in chain order. Two members share a
// compiled policy exactly when their descriptions are equal; the golden tests of the compiled
// configuration read this.
func (im *Import) String() string {
	var b strings.Builder
	f := func(k string, v any) { fmt.Fprintf(&b, "%s=%v\n", k, v) }
	f("next_hop", [...]string{"strict", "same-as", "any"}[im.NextHop%3])
	f("peering_lans", im.PeeringLANs)
	f("enforce_first_as", im.EnforceFirstAS)
	f("max_as_path_length", im.MaxPathLen)
	f("reject_as_sets", im.RejectASSets)
	f("reject_bogon_asns", im.RejectBogonASNs)
	f("transit_free_asns", im.TransitFree)
	f("never_via_route_servers_asns", im.NeverVia)
	f("reject_bogon_prefixes", im.RejectBogonPrefixes)
	f("prefix_lengths_ipv4", im.PrefixLen4)
	f("prefix_lengths_ipv6", im.PrefixLen6)
	f("max_communities", im.MaxCommunities)
	f("reject_too_many_communities", im.RejectTooManyCommunities)
	f("rpki", [...]string{"off", "tag", "reject-invalid"}[im.RPKI%3])
	f("irr", [...]string{"off", "tag", "reject"}[im.IRR%3])
	f("irr_skip_prefix_check_if_rpki_valid", im.IRRSkipPrefixIfRPKIValid)
	f("otc", map[bool]string{true: "reject", false: "off"}[im.RejectOTC])
	f("aspa", im.ASPA)
	f("graceful_shutdown", im.GracefulShutdown)
	f("blackhole", im.Blackhole)
	return b.String()
}
