package lookingglass

import (
	"fmt"

	"github.com/ixrs/ixrs/policy"
)

// What the web UI writes beside a community: its meaning when it is well known (RFC 1997, RFC
// 7999, RFC 8326), one of the route server's control communities (docs/policy.md) or one of its
// informational communities (Euro-IX reasons, RPKI and IRR states).

// commView is one community as a page shows it.
type commView struct {
	Text  string
	Label string // "" when it means nothing in particular here
}

// wellKnown are the standard communities of the IANA well-known range with a meaning at an IXP.
var wellKnown = map[Community]string{
	comm16(65535, 0):     "GRACEFUL_SHUTDOWN (RFC 8326)",
	comm16(65535, 1):     "ACCEPT_OWN (RFC 7611)",
	comm16(65535, 666):   "BLACKHOLE (RFC 7999)",
	comm16(65535, 65281): "NO_EXPORT",
	comm16(65535, 65282): "NO_ADVERTISE",
	comm16(65535, 65283): "NO_EXPORT_SUBCONFED",
	comm16(65535, 65284): "NOPEER (RFC 3765)",
}

func comm16(a, b uint16) Community { return Community(uint32(a)<<16 | uint32(b)) }

// communityLabel explains a standard community; rs is the route server's AS.
func communityLabel(c Community, rs uint32) string {
	if l, ok := wellKnown[c]; ok {
		return l
	}
	hi, lo := uint32(c>>16), uint32(c&0xffff)
	rs16 := rs <= 0xffff
	switch {
	case hi == 0 && rs16 && lo == rs:
		return "do not announce to any member"
	case hi == 0:
		return fmt.Sprintf("do not announce to AS%d", lo)
	case rs16 && hi == rs:
		return fmt.Sprintf("announce to AS%d", lo)
	case rs16 && lo == rs && hi >= 65501 && hi <= 65503:
		return fmt.Sprintf("prepend %d× toward every member", hi-65500)
	case hi >= 65511 && hi <= 65513:
		return fmt.Sprintf("prepend %d× toward AS%d", hi-65510, lo)
	case hi == 65281:
		return fmt.Sprintf("add NO_EXPORT toward AS%d", lo)
	case hi == 65282:
		return fmt.Sprintf("add NO_ADVERTISE toward AS%d", lo)
	}
	return ""
}

// largeCommunityLabel explains a large community of the route server's AS rs.
func largeCommunityLabel(c LargeCommunity, rs uint32) string {
	if c.Global != rs {
		return ""
	}
	switch c.Local1 {
	case 0:
		if c.Local2 == 0 {
			return "do not announce to any member"
		}
		return fmt.Sprintf("do not announce to AS%d", c.Local2)
	case 1:
		return fmt.Sprintf("announce to AS%d", c.Local2)
	case 101, 102, 103:
		if c.Local2 == 0 {
			return fmt.Sprintf("prepend %d× toward every member", c.Local1-100)
		}
		return fmt.Sprintf("prepend %d× toward AS%d", c.Local1-100, c.Local2)
	case 65281:
		return fmt.Sprintf("add NO_EXPORT toward AS%d", c.Local2)
	case 65282:
		return fmt.Sprintf("add NO_ADVERTISE toward AS%d", c.Local2)
	case policy.InfoRPKIFunction:
		for name, n := range rpkiCodes {
			if uint32(n) == c.Local2 {
				return "RPKI " + name
			}
		}
	case policy.InfoASPAFunction:
		switch c.Local2 {
		case 1:
			return "ASPA valid"
		case 2:
			return "ASPA unknown"
		case 4:
			return "ASPA invalid"
		}
	case policy.EuroIXFunction:
		return "filtered: " + policy.Reason(c.Local2).String()
	case NotExportedFunction:
		return "not exported: " + NotExportedReason(c.Local2).String()
	case 64512:
		switch c.Local2 {
		case 11:
			return "prefix in the member's IRR prefix list"
		case 10:
			return "prefix not in the member's IRR prefix list"
		case 21:
			return "origin in the member's AS-SET"
		case 20:
			return "origin not in the member's AS-SET"
		}
	}
	return ""
}

// extCommunityLabel explains an extended community: the route-target forms of the control
// communities.
func extCommunityLabel(c ExtCommunity, rs uint32) string {
	kind, global, local := c.Parts()
	if kind != "rt" {
		return ""
	}
	var g, l uint32
	if _, err := fmt.Sscanf(global+" "+local, "%d %d", &g, &l); err != nil {
		return ""
	}
	switch {
	case g == 0 && l == rs:
		return "do not announce to any member"
	case g == 0:
		return fmt.Sprintf("do not announce to AS%d", l)
	case g == rs:
		return fmt.Sprintf("announce to AS%d", l)
	}
	return ""
}

// communityViews labels every community of r, standard, extended and large, in that order.
func communityViews(r *Route, rs uint32) []commView {
	out := make([]commView, 0, len(r.Communities)+len(r.ExtCommunities)+len(r.LargeCommunities))
	for _, c := range r.Communities {
		out = append(out, commView{Text: c.String(), Label: communityLabel(c, rs)})
	}
	for _, c := range r.ExtCommunities {
		out = append(out, commView{Text: c.String(), Label: extCommunityLabel(c, rs)})
	}
	for _, c := range r.LargeCommunities {
		out = append(out, commView{Text: c.String(), Label: largeCommunityLabel(c, rs)})
	}
	return out
}
