package config

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const rangeCfg = head + foo + `
[[member_range]]
name = "lan"
prefixes = ["192.0.2.128/25", "2001:db8:ffff::/64"]
asns = [64510, 64511]
max_sessions = 5
description = "self-service port range"
max_prefix_ipv4 = 50

[[member_range.neighbor]]
address = "192.0.2.200"
asn = 64520
name = "Pinned"
`

func TestMemberRange(t *testing.T) {
	c, err := Parse("t.toml", []byte(rangeCfg))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.MemberRanges) != 1 {
		t.Fatalf("ranges %+v", c.MemberRanges)
	}
	r := &c.MemberRanges[0]
	if r.MaxSessions != 5 || r.Description != "self-service port range" || len(r.Neighbors) != 1 {
		t.Fatalf("range %+v", r)
	}
	if p := c.RangePolicy(0); p.MaxPrefixIPv4 != 50 || p.MaxPrefixIPv6 != c.Defaults.MaxPrefixIPv6 {
		t.Fatalf("range policy max-prefix %d/%d", p.MaxPrefixIPv4, p.MaxPrefixIPv6)
	}
	for _, tc := range []struct {
		addr  string
		idx   int
		asn   uint32
		name  string
		ok    uint32
		notOK uint32
	}{
		{"192.0.2.130", 0, 0, "lan-AS64510-192.0.2.130", 64510, 64520},
		{"192.0.2.200", 0, 64520, "Pinned", 64520, 64510},
		{"2001:db8:ffff::9", 0, 0, "lan-AS64510-2001:db8:ffff::9", 64511, 64501},
		{"192.0.2.11", -1, 0, "", 0, 0},
	} {
		a := netip.MustParseAddr(tc.addr)
		i, asn := c.Match(a)
		if i != tc.idx || asn != tc.asn {
			t.Errorf("Match(%s) = %d, %d; want %d, %d", a, i, asn, tc.idx, tc.asn)
		}
		if i < 0 {
			continue
		}
		mr := &c.MemberRanges[i]
		if got := mr.MemberName(a, 64510); tc.name != "Pinned" && got != tc.name || tc.name == "Pinned" && got != "Pinned" {
			t.Errorf("MemberName(%s) = %q, want %q", a, got, tc.name)
		}
		if !mr.AcceptsAS(a, tc.ok) || mr.AcceptsAS(a, tc.notOK) {
			t.Errorf("%s: AcceptsAS(%d) or !AcceptsAS(%d)", a, tc.ok, tc.notOK)
		}
	}
}

func TestMemberRangeDefaults(t *testing.T) {
	c, err := Parse("t.toml", []byte(head+"[[member_range]]\nname = \"r\"\nprefixes = [\"192.0.2.0/26\"]\nasns = [64510]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.MemberRanges[0].MaxSessions != 100 {
		t.Fatalf("max_sessions default %d", c.MemberRanges[0].MaxSessions)
	}
}

func TestMemberRangeValidation(t *testing.T) {
	src := head + `[[member]]
name = "r-AS64510-x"
asn = 64501
neighbors = ["192.0.2.11"]

[[member_range]]
name = "r"
prefixes = ["192.0.2.0/25", "198.51.100.0/24", "192.0.2.1/25"]
asns = [64500, 0]
max_sessions = 0
max_prefix_ipv4 = -1

[[member_range.neighbor]]
address = "192.0.2.250"
asn = 64520
name = "r-AS64510-x"

[[member_range]]
prefixes = ["192.0.2.64/26"]
bogus = 1
`
	_, err := Parse("t.toml", []byte(src))
	var errs *Errors
	if !errors.As(err, &errs) {
		t.Fatalf("err %v", err)
	}
	var got []string
	for _, e := range *errs {
		got = append(got, e.Error())
	}
	want := []string{
		`t.toml:11: member_range "r": name: member "r-AS64510-x" has a name this range's members could take; rename one`,
		`t.toml:12: member_range "r": prefixes[2] "192.0.2.1/25": host bits set (did you mean "192.0.2.0/25"?)`,
		`t.toml:12: member_range "r": prefixes[1] "198.51.100.0/24": not inside any of server.peering_lans (192.0.2.0/24, 2001:db8:ffff::/64)`,
		`t.toml:13: member_range "r": asns[0] 64500: is the route server's own ASN (server.asn)`,
		`t.toml:13: member_range "r": asns[1] 0: not a valid ASN (1..4294967295)`,
		`t.toml:14: member_range "r": max_sessions 0: must be 1..10000`,
		`t.toml:15: member_range "r": max_prefix_ipv4 -1: must be 0 (no limit) or more`,
		`t.toml:18: member_range "r": neighbor[0].address "192.0.2.250": not inside the range's prefixes (192.0.2.0/25, 198.51.100.0/24, 192.0.2.1/25)`,
		`t.toml:20: member_range "r": neighbor[0].name "r-AS64510-x": already the name of a [[member]]`,
		`t.toml:22: member_range #2: name: missing (required)`,
		`t.toml:22: member_range #2: asns: missing (list the allowed ASNs, or give [[member_range.neighbor]] entries)`,
		`t.toml:23: member_range #2: prefixes[0] "192.0.2.64/26": overlaps "192.0.2.0/25" of member_range "r"`,
		`t.toml:24: member_range #2: unknown key "bogus"`,
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("-want +got:\n%s", d)
	}
}
