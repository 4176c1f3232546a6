package policy

import (
	"fmt"
	"net/netip"
	"strings"
)

// Outcome is the result of one check in an explanation.
type Outcome uint8

// Outcomes.
const (
	Pass Outcome = iota
	Fail
	Skipped // the check is switched off
	Applied // a check that changes the route rather than judging it (graceful shutdown, blackhole)
)

func (o Outcome) String() string { return [...]string{"pass", "fail", "off", "applied"}[o] }

// CheckResult is one step of the chain for one route.
type CheckResult struct {
	Step    int    // the check's number in docs/policy.md
	Name    string // what it checks
	Outcome Outcome
	Reason  Reason // the Euro-IX reason when it failed (or would reject in a stricter mode), else 0
	Detail  string // the data behind the result: the list entry, the VRP, the IRR entry
}

func (c CheckResult) String() string {
	s := fmt.Sprintf("%2d %-22s %s", c.Step, c.Name, c.Outcome)
	if c.Reason != 0 && c.Outcome == Fail {
		s += fmt.Sprintf(" (RS:1101:%d %s)", c.Reason, c.Reason)
	}
	if c.Detail != "" {
		s += ": " + c.Detail
	}
	return s
}

// Explain re-runs every check of the chain for one route and returns each result with the data
// behind it, in chain order. It is for the looking glass: the RIB keeps only the reasons bit set
// per route, and the detail is derived here on demand. Its failures are the reasons of
// ImportPath+ImportRoute for the same input (TestExplainAgrees).
func (im *Import) Explain(s *Session, d Data, pfx netip.Prefix, p *Path) []CheckResult {
	var out []CheckResult
	add := func(step int, name string, o Outcome, r Reason, detail string) {
		out = append(out, CheckResult{step, name, o, r, detail})
	}
	pass := func(bad bool) Outcome {
		if bad {
			return Fail
		}
		return Pass
	}

	add(1, "community scrubbing", Applied, 0, "the route server's own informational and control ranges are removed on export")

	why := im.nextHop(s, p.NextHop)
	nhMode := [...]string{"strict", "same-as", "any"}[im.NextHop%3]
	detail := fmt.Sprintf("next hop %v (%s)", p.NextHop, nhMode)
	if why != "" {
		detail += ": " + why
	}
	add(2, "next hop", pass(why != ""), NextHopNotPeerIP, detail)

	r := im.pathLen(p)
	detail = fmt.Sprintf("length %d, limit %s", p.Len, limit(im.MaxPathLen))
	if p.HasSet {
		detail += ", has AS_SET"
	}
	add(3, "AS path length", pass(r != 0), r, detail)

	if !im.EnforceFirstAS {
		add(4, "first AS", Skipped, 0, "")
	} else {
		add(4, "first AS", pass(im.firstASFails(s, p)), FirstASNotPeerAS, fmt.Sprintf("first AS %d, member AS %d", p.First, s.ASN))
	}

	if !im.RejectBogonASNs {
		add(5, "bogon ASN", Skipped, 0, "")
	} else if a, rng, bad := im.bogonASN(p); bad {
		add(5, "bogon ASN", Fail, BogonASN, fmt.Sprintf("AS%d in %d-%d, %s", a, rng.lo, rng.hi, rng.what))
	} else {
		add(5, "bogon ASN", Pass, BogonASN, "")
	}

	if len(im.TransitFree)+len(im.NeverVia) == 0 {
		add(6, "transit-free ASN", Skipped, 0, "")
	} else if a, bad := im.transitFree(p); bad {
		add(6, "transit-free ASN", Fail, TransitFreeASN, fmt.Sprintf("AS%d", a))
	} else {
		add(6, "transit-free ASN", Pass, TransitFreeASN, "")
	}

	if !im.RejectBogonPrefixes {
		add(7, "bogon prefix", Skipped, 0, "")
	} else if e, what, bad := im.bogonPrefix(pfx); bad {
		add(7, "bogon prefix", Fail, BogonPrefix, fmt.Sprintf("%s: %s", what, e))
	} else {
		add(7, "bogon prefix", Pass, BogonPrefix, "")
	}

	bh := im.blackhole(p)
	r, lim := im.prefixLen(pfx, bh)
	if lim[1] == 0 {
		add(8, "prefix length", Skipped, 0, "")
	} else {
		add(8, "prefix length", pass(r != 0), r, fmt.Sprintf("/%d, allowed /%d-/%d", pfx.Bits(), lim[0], lim[1]))
	}

	if kind, n, bad := im.tooManyCommunities(p); im.MaxCommunities <= 0 {
		add(9, "community count", Skipped, 0, "")
	} else if bad && im.RejectTooManyCommunities {
		add(9, "community count", Fail, TooManyCommunities, fmt.Sprintf("%d %s, limit %d", n, kind, im.MaxCommunities))
	} else if bad {
		add(9, "community count", Applied, 0, fmt.Sprintf("%d %s, limit %d: stripped on export", n, kind, im.MaxCommunities))
	} else {
		add(9, "community count", Pass, TooManyCommunities, fmt.Sprintf("limit %d", im.MaxCommunities))
	}

	st := RPKINotChecked
	switch {
	case im.RPKI == RPKIOff:
		add(10, "RPKI", Skipped, 0, "")
	case d.ROV == nil:
		add(10, "RPKI", Pass, 0, "no VRP source configured: not checked")
	default:
		var vrps string
		st, vrps = d.ROV.Explain(pfx, p.Origin())
		d := fmt.Sprintf("origin AS%d %s", p.Origin(), st)
		if vrps != "" {
			d += ": " + vrps
		}
		o := Pass
		if st == RPKIInvalidState && im.RPKI == RPKIRejectInvalid {
			o = Fail
		}
		add(10, "RPKI", o, RPKIInvalid, d)
	}

	if im.IRR == IRROff {
		add(11, "IRR origin", Skipped, 0, "")
		add(11, "IRR prefix", Skipped, 0, "")
	} else {
		irr := d.IRR
		o := func(bad bool) Outcome {
			if bad && im.IRR == IRRReject {
				return Fail
			}
			return Pass
		}
		switch {
		case !irr.HasASNs():
			add(11, "IRR origin", o(true), IRROriginFiltered, "no IRR origin data for this member")
		case irr.Origin(p.Origin()):
			add(11, "IRR origin", Pass, IRROriginFiltered, fmt.Sprintf("AS%d in the member's AS-SET", p.Origin()))
		default:
			add(11, "IRR origin", o(true), IRROriginFiltered, fmt.Sprintf("AS%d not in the member's AS-SET", p.Origin()))
		}
		switch e, ok := irr.Prefix(pfx); {
		case im.IRRSkipPrefixIfRPKIValid && st == RPKIValid:
			add(11, "IRR prefix", Skipped, 0, "RPKI valid: prefix list not consulted")
		case !irr.HasPrefixes():
			add(11, "IRR prefix", o(true), IRRPrefixFiltered, "no IRR prefix data for this member")
		case ok:
			add(11, "IRR prefix", Pass, IRRPrefixFiltered, "allowed by "+e.String())
		case bh && im.irrPrefixOK(irr, pfx, bh):
			c, _ := irr.Covers(pfx)
			add(11, "IRR prefix", Pass, IRRPrefixFiltered, "blackhole covered by "+c.String())
		default:
			add(11, "IRR prefix", o(true), IRRPrefixFiltered, "not in the member's prefix list")
		}
	}

	switch {
	case !im.Blackhole:
		add(12, "blackhole", Skipped, 0, "")
	case bh:
		add(12, "blackhole", Applied, 0, "65535:666: more-specifics allowed, NO_EXPORT added on export")
	default:
		add(12, "blackhole", Pass, 0, "not a blackhole")
	}
	switch {
	case !im.GracefulShutdown:
		add(13, "graceful shutdown", Skipped, 0, "")
	case p.HasCommunity(CommunityGracefulShutdown):
		add(13, "graceful shutdown", Applied, 0, "65535:0: LOCAL_PREF 0")
	default:
		add(13, "graceful shutdown", Pass, 0, "")
	}
	if !im.RejectOTC {
		add(14, "OTC (RFC 9234)", Skipped, 0, "")
	} else {
		add(14, "OTC (RFC 9234)", pass(p.HasOTC), OTCLeak, "")
	}
	switch {
	case im.ASPA == ASPAOff:
		add(15, "ASPA", Skipped, 0, "")
	case d.ASPA == nil:
		add(15, "ASPA", Pass, 0, "no ASPA data: not checked")
	default:
		st, why := d.ASPA.VerifyUpstream(p.ASNs, p.HasSet)
		detail := "path " + st.String()
		if why != "" {
			detail += ": " + why
		}
		o := Pass
		if st == ASPAInvalidState && im.ASPA == ASPARejectInvalid {
			o = Fail
		}
		add(15, "ASPA", o, ASPAInvalid, detail)
	}
	for i := range out {
		if out[i].Outcome != Fail && out[i].Outcome != Pass {
			out[i].Reason = 0
		}
	}
	return out
}

// ExplainText formats Explain's result one check per line.
func ExplainText(results []CheckResult) string {
	var b strings.Builder
	for _, c := range results {
		b.WriteString(c.String())
		b.WriteByte('\n')
	}
	return b.String()
}

func limit(n int) string {
	if n <= 0 {
		return "none"
	}
	return fmt.Sprint(n)
}
