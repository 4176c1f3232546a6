package config

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// MemberRange is one [[member_range]] table: members accepted from a range of addresses
// (dynamic members) instead of being listed one by one. A connection from an address inside
// Prefixes that no [[member]] lists becomes a session of its own member, whose AS is the one its
// OPEN announces: it must be the AS a [[member_range.neighbor]] entry gives for that address, or
// else one of ASNs. The member's policy is [defaults] overlaid with the range's own policy keys.
// Static members take precedence: an address listed in a [[member]] is that member's.
type MemberRange struct {
	// Name identifies the range in logs and metrics (label "range") and names its members
	// ("<name>-AS<asn>-<address>"); unique, not empty.
	Name string `toml:"name"`
	// Prefixes are the addresses sessions are accepted from; inside server.peering_lans when that
	// is set.
	Prefixes []netip.Prefix `toml:"prefixes"`
	// ASNs are the ASes a member may announce from any address of the range without a neighbor entry.
	ASNs []uint32 `toml:"asns"`
	// Neighbors pin an address to one AS (and optionally a member name): IXP Manager's or
	// PeeringDB's address assignments.
	Neighbors []RangeNeighbor `toml:"neighbor"`
	// MaxSessions bounds the range's dynamic sessions at once; connections beyond it are refused.
	// Default 100.
	MaxSessions int `toml:"max_sessions"`
	// Description is shown in the looking glass after "dynamic".
	Description string `toml:"description"`
	// TTLSecurity enables GTSM (RFC 5082) for the range's sessions.
	TTLSecurity bool `toml:"ttl_security"`

	PolicyOverrides
}

// RangeNeighbor is one [[member_range.neighbor]] entry: the AS an address must announce.
type RangeNeighbor struct {
	Address netip.Addr `toml:"address"`
	ASN     uint32     `toml:"asn"`
	// Name names the member instead of "<range>-AS<asn>-<address>"; "" for that default.
	Name string `toml:"name"`
}

// setDefaults gives a range from a [[member_range]] entry its default values before the entry's
// keys are decoded.
func (m *MemberRange) setDefaults() { m.MaxSessions = 100 }

// maxRangeSessions bounds max_sessions: a dynamic session costs as much as a static one.
const maxRangeSessions = 10000

// RangePolicy returns the effective policy of member range i: c.Defaults overlaid with the keys
// the range sets. i must be a valid index into c.MemberRanges.
func (c *Config) RangePolicy(i int) Policy {
	return c.MemberRanges[i].PolicyOverrides.apply(c.Defaults)
}

// Match returns the index of the range containing addr and the AS it must announce there (0: any
// of the range's ASNs), or -1 when no range contains addr.
func (c *Config) Match(addr netip.Addr) (int, uint32) {
	addr = addr.Unmap()
	for i := range c.MemberRanges {
		r := &c.MemberRanges[i]
		if !slices.ContainsFunc(r.Prefixes, func(p netip.Prefix) bool { return p.Contains(addr) }) {
			continue
		}
		for _, n := range r.Neighbors {
			if n.Address == addr {
				return i, n.ASN
			}
		}
		return i, 0
	}
	return -1, 0
}

// MemberName returns the name of the dynamic member of range r at addr with AS asn.
func (r *MemberRange) MemberName(addr netip.Addr, asn uint32) string {
	for _, n := range r.Neighbors {
		if n.Address == addr && n.Name != "" {
			return n.Name
		}
	}
	return fmt.Sprintf("%s-AS%d-%s", r.Name, asn, addr)
}

// AcceptsAS reports whether a member at addr (inside r) may announce asn.
func (r *MemberRange) AcceptsAS(addr netip.Addr, asn uint32) bool {
	for _, n := range r.Neighbors {
		if n.Address == addr {
			return n.ASN == asn
		}
	}
	return slices.Contains(r.ASNs, asn)
}

func rangeScope(i int, name string) scope {
	label := fmt.Sprintf("member_range %q", name)
	if name == "" {
		label = fmt.Sprintf("member_range #%d", i+1)
	}
	return scope{path: indexPath("member_range", i), prefix: label + ": "}
}

func (c *Config) validateRanges(r *reporter) {
	names := map[string]bool{}
	for _, m := range c.Members {
		names[m.Name] = true
	}
	rangeNames := map[string]int{}
	type owned struct {
		p netip.Prefix
		r int
	}
	var owner []owned
	lans := c.Server.PeeringLANs
	for i := range c.MemberRanges {
		mr := &c.MemberRanges[i]
		sc := rangeScope(i, mr.Name)
		switch k := sc.child("name"); {
		case mr.Name == "":
			r.report(k, ": missing (required)")
		case hasControl(mr.Name) || strings.ContainsAny(mr.Name, " /"):
			r.report(k, " %q: must not contain spaces, slashes or control characters", mr.Name)
		default:
			if _, dup := rangeNames[mr.Name]; dup {
				r.report(k, ": already used by another member_range")
			}
			rangeNames[mr.Name] = i
			for n := range names {
				if strings.HasPrefix(n, mr.Name+"-AS") {
					r.report(k, ": member %q has a name this range's members could take; rename one", n)
				}
			}
		}
		pk := sc.child("prefixes")
		if len(mr.Prefixes) == 0 {
			r.report(pk, ": missing (at least one prefix)")
		}
		checkPrefixes(r, pk, mr.Prefixes)
		for j, p := range mr.Prefixes {
			if !p.IsValid() || p != p.Masked() {
				continue
			}
			if len(lans) > 0 && !slices.ContainsFunc(lans, func(l netip.Prefix) bool {
				return l.IsValid() && l.Bits() <= p.Bits() && l.Contains(p.Addr())
			}) {
				r.report(pk.index(j), " %q: not inside any of server.peering_lans (%s)", p, prefixList(lans))
			}
			for _, o := range owner {
				if o.r != i && o.p.Overlaps(p) {
					r.report(pk.index(j), " %q: overlaps %q of member_range %q", p, o.p, c.MemberRanges[o.r].Name)
				}
			}
			owner = append(owner, owned{p, i})
		}
		for j, a := range mr.ASNs {
			checkASN(r, sc.child("asns").index(j), a)
			if a == c.Server.ASN {
				r.report(sc.child("asns").index(j), " %d: is the route server's own ASN (server.asn)", a)
			}
		}
		if len(mr.ASNs) == 0 && len(mr.Neighbors) == 0 {
			r.report(sc.child("asns"), ": missing (list the allowed ASNs, or give [[member_range.neighbor]] entries)")
		}
		seen := map[netip.Addr]bool{}
		for j, n := range mr.Neighbors {
			k := sc.child("neighbor").index(j)
			switch {
			case !n.Address.IsValid():
				r.report(k.child("address"), ": missing (required)")
			case !slices.ContainsFunc(mr.Prefixes, func(p netip.Prefix) bool { return p.Contains(n.Address) }):
				r.report(k.child("address"), " %q: not inside the range's prefixes (%s)", n.Address, prefixList(mr.Prefixes))
			case seen[n.Address]:
				r.report(k.child("address"), " %q: listed twice", n.Address)
			}
			seen[n.Address] = true
			checkASN(r, k.child("asn"), n.ASN)
			if n.Name != "" && names[n.Name] {
				r.report(k.child("name"), " %q: already the name of a [[member]]", n.Name)
			}
			if hasControl(n.Name) {
				r.report(k.child("name"), ": must not contain control characters")
			}
		}
		if mr.MaxSessions < 1 || mr.MaxSessions > maxRangeSessions {
			r.report(sc.child("max_sessions"), " %d: must be 1..%d", mr.MaxSessions, maxRangeSessions)
		}
		set := make(map[string]bool)
		for _, k := range mr.PolicyOverrides.Keys() {
			set[k] = true
		}
		p := c.RangePolicy(i)
		checkPolicy(r, sc, &p, set)
	}
}
