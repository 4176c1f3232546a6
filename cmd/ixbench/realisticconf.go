package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Each daemon's configuration for the realistic workload (realistic.go): the same checks, written in
// each daemon's own language. The base of each (sessions, route-server mode, transparency) is the one of
// the unfiltered workload in daemons.go.

// ixrsPolicy is the [rpki] table and the [defaults] of ixrs for the realistic workload: the checks the
// other daemons run are on, ixrs's further ones (AS path length, transit-free ASNs, OTC, IRR, graceful
// shutdown, blackholes) are off, so that all daemons do the same work.
func (pl *Policy) ixrsPolicy() string {
	return fmt.Sprintf(`
[rpki]
caches = [{ address = "%s", version = 1 }]

[defaults]
next_hop = "any"
enforce_first_as = true
max_as_path_length = 0
prefix_lengths_ipv4 = [%d, %d]
prefix_lengths_ipv6 = [%d, %d]
reject_bogon_prefixes = true
reject_bogon_asns = true
transit_free_asns = []
rpki = "reject-invalid"
irr = "off"
otc = "off"
graceful_shutdown = false
blackhole = false
max_prefix_ipv4 = %d
max_prefix_ipv6 = %d
max_prefix_action = "warn"
`, pl.RTR, minLen4, maxLen4, minLen6, maxLen6, pl.MaxPrefix, pl.MaxPrefix)
}

// birdRealistic: one filter per family in the rs client template (bogon prefixes and ASNs, lengths,
// next hop in the LANs, ROA check against the tables that `protocol rpki` fills), `enforce first as`,
// and `receive limit` with action warn.
func birdRealistic(dir string, port int, w *Workload) ([]string, error) {
	pl := w.Policy
	var asns []string
	for _, r := range bogonASNRanges {
		if r[0] == r[1] {
			asns = append(asns, strconv.FormatUint(uint64(r[0]), 10))
		} else {
			asns = append(asns, fmt.Sprintf("%d..%d", r[0], r[1]))
		}
	}
	set := func(ps []string) string {
		var out []string
		for _, p := range ps {
			out = append(out, p+"+")
		}
		return strings.Join(out, ", ")
	}
	var b strings.Builder
	fmt.Fprintf(&b, `log "%s/bird.log" { warning, error, fatal };
protocol device { }
router id %s;
roa4 table rpki4;
roa6 table rpki6;
protocol rpki rtr1 {
  roa4 { table rpki4; };
  roa6 { table rpki6; };
  remote %s port %d;
  retry keep 5;
  refresh keep 3600;
  expire keep 7200;
}
define BOGON_ASNS = [ %s ];
define BOGONS4 = [ %s, 0.0.0.0/0 ];
define BOGONS6 = [ %s, ::/0 ];
filter rs_import4 {
  if bgp_path ~ [= * BOGON_ASNS * =] then reject;
  if net ~ BOGONS4 then reject;
  if net.len < %d || net.len > %d then reject;
  if !(bgp_next_hop ~ 127.0.0.0/8 || bgp_next_hop ~ 198.18.0.0/15) then reject;
  case roa_check(rpki4, net, bgp_path.last) {
    ROA_INVALID: reject;
    ROA_VALID: bgp_large_community.add(TAG_VALID);
    else: bgp_large_community.add(TAG_NOT_FOUND);
  }
  accept;
}
filter rs_import6 {
  if bgp_path ~ [= * BOGON_ASNS * =] then reject;
  if net ~ BOGONS6 then reject;
  if net.len < %d || net.len > %d then reject;
  if !(bgp_next_hop ~ 2001:db8:ffff::/64) then reject;
  case roa_check(rpki6, net, bgp_path.last) {
    ROA_INVALID: reject;
    ROA_VALID: bgp_large_community.add(TAG_VALID);
    else: bgp_large_community.add(TAG_NOT_FOUND);
  }
  accept;
}
template bgp mbr {
  local %s port %d as %d;
  strict bind yes;
  passive on;
  multihop 2;
  rs client;
  enforce first as on;
  hold time 240;
  error wait time 1, 2;
  ipv4 { import filter rs_import4; receive limit %d action warn; export all; };
  ipv6 { import filter rs_import6; receive limit %d action warn; export all; };
}
`, dir, rsAddr, pl.RTR.Addr(), pl.RTR.Port(), strings.Join(asns, ", "), set(bogonPrefixes4), set(bogonPrefixes6),
		minLen4, maxLen4, minLen6, maxLen6, rsAddr, port, RSASN, pl.MaxPrefix, pl.MaxPrefix)
	for _, m := range w.Members {
		fmt.Fprintf(&b, "protocol bgp %s from mbr { neighbor %s as %d; }\n", m.Name, m.Addr, m.ASN)
	}
	conf := strings.NewReplacer("TAG_VALID", fmt.Sprintf("(%d, %d, %d)", RSASN, infoRPKI, rpkiValid),
		"TAG_NOT_FOUND", fmt.Sprintf("(%d, %d, %d)", RSASN, infoRPKI, rpkiNotFound)).Replace(b.String())
	path := filepath.Join(dir, "bird.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	return []string{"bird", "-f", "-c", path, "-s", filepath.Join(dir, "bird.ctl"), "-P", filepath.Join(dir, "bird.pid")}, nil
}

// frrPolicy is FRR's part of the realistic workload: an `rpki` cache, prefix lists of bogons and
// lengths, an AS-path access list matching the bogon ASN ranges (FRR matches AS paths by regular
// expression only: asRangeRegexp writes the ranges as one), next-hop prefix lists of the LANs, and one
// import route-map per family. It returns the lines before `router bgp`, those for the peer group, and
// those for each address family.
func (pl *Policy) frrPolicy() (global, group string, af [2]string) {
	var b strings.Builder
	fmt.Fprintf(&b, "rpki\n rpki polling_period 3600\n rpki cache %s %d preference 1\nexit\n", pl.RTR.Addr(), pl.RTR.Port())
	seq := 0
	pf := func(list, fam, p string, mod string) {
		seq += 5
		fmt.Fprintf(&b, "%s prefix-list %s seq %d permit %s%s\n", fam, list, seq, p, mod)
	}
	for _, p := range bogonPrefixes4 {
		pf("RS-BAD4", "ip", p, " le 32")
	}
	pf("RS-BAD4", "ip", "0.0.0.0/0", fmt.Sprintf(" le %d", minLen4-1))
	pf("RS-BAD4", "ip", "0.0.0.0/0", fmt.Sprintf(" ge %d", maxLen4+1))
	for _, p := range bogonPrefixes6 {
		pf("RS-BAD6", "ipv6", p, " le 128")
	}
	pf("RS-BAD6", "ipv6", "::/0", fmt.Sprintf(" le %d", minLen6-1))
	pf("RS-BAD6", "ipv6", "::/0", fmt.Sprintf(" ge %d", maxLen6+1))
	for _, l := range peeringLANs {
		if l.Addr().Is4() {
			pf("RS-LAN4", "ip", l.String(), " le 32")
		} else {
			pf("RS-LAN6", "ipv6", l.String(), " le 128")
		}
	}
	fmt.Fprintf(&b, "bgp as-path access-list RS-BOGON-ASN seq 5 permit _%s_\n", asRangeRegexp(bogonASNRanges))
	for i, f := range []struct{ v, ip string }{{"4", "ip"}, {"6", "ipv6"}} {
		fmt.Fprintf(&b, `route-map RS-IMPORT%[1]s deny 10
 match %[2]s address prefix-list RS-BAD%[1]s
exit
route-map RS-IMPORT%[1]s deny 20
 match as-path RS-BOGON-ASN
exit
route-map RS-IMPORT%[1]s deny 30
 match rpki invalid
exit
route-map RS-IMPORT%[1]s permit 40
 match %[2]s next-hop prefix-list RS-LAN%[1]s
 match rpki valid
 set large-community %[3]d:%[4]d:%[5]d additive
exit
route-map RS-IMPORT%[1]s permit 50
 match %[2]s next-hop prefix-list RS-LAN%[1]s
 match rpki notfound
 set large-community %[3]d:%[4]d:%[6]d additive
exit
`, f.v, f.ip, RSASN, infoRPKI, rpkiValid, rpkiNotFound)
		af[i] = fmt.Sprintf("  neighbor MEMBERS route-map RS-IMPORT%s in\n  neighbor MEMBERS maximum-prefix %d warning-only\n", f.v, pl.MaxPrefix)
	}
	return b.String(), " neighbor MEMBERS enforce-first-as\n", af
}

// openbgpdPolicy is OpenBGPD's filter section for the realistic workload. Its filters match a next hop
// by exact address only, so the next-hop check allows each member's own next hops and denies the rest
// (stricter than "inside the LANs", and the same outcome here: members announce their own next hops or
// one outside the LANs). The same rule checks the first AS (peer-as): `enforce neighbor-as yes` in the
// group made OpenBGPD 7.7 drop most valid routes here, and filters cannot negate an AS match. Rules are
// evaluated last match wins; quick rules end the evaluation.
func (pl *Policy) openbgpdPolicy(w *Workload) string {
	var b strings.Builder
	fmt.Fprintf(&b, "rtr %s {\n  port %d\n}\n", pl.RTR.Addr(), pl.RTR.Port())
	b.WriteString("prefix-set rs-bogons {\n")
	for _, p := range append(append([]string{}, bogonPrefixes4...), bogonPrefixes6...) {
		fmt.Fprintf(&b, "  %s or-longer\n", p)
	}
	b.WriteString("  0.0.0.0/0\n  ::/0\n}\n")
	b.WriteString("allow to any\ndeny from any\n")
	for _, m := range w.Members {
		fmt.Fprintf(&b, "allow from %[1]s peer-as %[2]d nexthop %[3]s\nallow from %[1]s peer-as %[2]d nexthop %[4]s\n",
			m.Addr, m.ASN, m.NextHop4, m.NextHop6)
	}
	fmt.Fprintf(&b, "match from any ovs valid set large-community %[1]d:%[2]d:%[3]d\nmatch from any ovs not-found set large-community %[1]d:%[2]d:%[4]d\n",
		RSASN, infoRPKI, rpkiValid, rpkiNotFound)
	fmt.Fprintf(&b, `deny quick from any prefix-set rs-bogons
deny quick from any inet prefixlen < %d
deny quick from any inet prefixlen > %d
deny quick from any inet6 prefixlen < %d
deny quick from any inet6 prefixlen > %d
`, minLen4, maxLen4, minLen6, maxLen6)
	for _, r := range bogonASNRanges {
		if r[0] == r[1] {
			fmt.Fprintf(&b, "deny quick from any AS %d\n", r[0])
		} else {
			fmt.Fprintf(&b, "deny quick from any AS %d - %d\n", r[0], r[1])
		}
	}
	b.WriteString("deny quick from any ovs invalid\n")
	return b.String()
}

// asRangeRegexp returns a POSIX extended regular expression (a parenthesised alternation) matching
// exactly the decimal numbers in the given inclusive ranges.
func asRangeRegexp(ranges [][2]uint32) string {
	var alts []string
	for _, r := range ranges {
		alts = append(alts, decimalRange(uint64(r[0]), uint64(r[1]))...)
	}
	return "(" + strings.Join(alts, "|") + ")"
}

// decimalRange returns regular expressions that together match exactly the decimal numbers lo..hi
// (without leading zeros).
func decimalRange(lo, hi uint64) []string {
	if lo > hi {
		return nil
	}
	ls, hs := strconv.FormatUint(lo, 10), strconv.FormatUint(hi, 10)
	if len(ls) < len(hs) {
		// Split at the next power of ten: lo..99…9, then 10…0..hi.
		p := uint64(1)
		for range len(ls) {
			p *= 10
		}
		return append(decimalRange(lo, p-1), decimalRange(p, hi)...)
	}
	return sameLength(ls, hs)
}

// sameLength covers lo..hi, digit strings of one length.
func sameLength(lo, hi string) []string {
	if lo == hi {
		return []string{lo}
	}
	if len(lo) == 1 {
		return []string{fmt.Sprintf("[%c-%c]", lo[0], hi[0])}
	}
	if lo[0] == hi[0] {
		var out []string
		for _, s := range sameLength(lo[1:], hi[1:]) {
			out = append(out, lo[:1]+s)
		}
		return out
	}
	n := len(lo) - 1
	zeros, nines := strings.Repeat("0", n), strings.Repeat("9", n)
	var out []string
	// lo's first digit with lo's rest .. 9…9; the digits between with anything; hi's first digit with
	// 0…0 .. hi's rest.
	first := lo[1:] == zeros
	last := hi[1:] == nines
	from, to := lo[0], hi[0]
	if !first {
		for _, s := range sameLength(lo[1:], nines) {
			out = append(out, lo[:1]+s)
		}
		from++
	}
	if !last {
		to--
	}
	if from <= to {
		d := fmt.Sprintf("[%c-%c]", from, to)
		if from == to {
			d = string(from)
		}
		out = append(out, d+strings.Repeat("[0-9]", n))
	}
	if !last {
		for _, s := range sameLength(zeros, hi[1:]) {
			out = append(out, hi[:1]+s)
		}
	}
	return out
}

// realisticDoc is the section of docs/benchmarks.md on the realistic workload (report.go renders it).
const realisticDoc = "## The realistic workload: the same IXP import policy in every daemon\n\n" +
	"`-workload realistic` (the medium table; `realistic:WORKLOAD` for another size) gives every daemon one import\n" +
	"policy and plants routes each check must drop (`cmd/ixbench/realistic.go`): bogon prefixes (IPv4 and IPv6),\n" +
	"bogon ASNs after the member's AS, IPv4 longer than /24 or shorter than /8, IPv6 shorter than /12 (longer than\n" +
	"/48 is not planted: the member side keys IPv6 prefixes by 48 bits), a first AS that is not the member's, a\n" +
	"next hop outside the peering LANs (IPv4 and IPv6), RPKI invalid by origin and by maximum length, and prefixes\n" +
	"announced by two members whose shorter path is RPKI invalid, so the longer valid one must win. ixbench runs\n" +
	"StayRTR on loopback with a generated VRP file (those invalids, and VRPs making every 25th single-announcer\n" +
	"prefix valid; the rest are not found); every daemon fetches it over RTR, and routes are announced only after\n" +
	"the daemon has queried the cache (plus 2 s). Every daemon tags accepted routes with their RPKI state as\n" +
	"`RS:1000:1` (valid) or `RS:1000:2` (not found), as ixrs does (Euro-IX, read by Alice-LG). The route check\n" +
	"expects the unfiltered table minus exactly the planted routes, with those tags: a daemon that filters too\n" +
	"little or too much fails the run. Every member has a max-prefix limit of twice the largest member's table,\n" +
	"so each daemon counts and none acts (their actions differ). The floor filters nothing and is checked against\n" +
	"the unfiltered table. The bogon lists are ixrs's own (docs/policy.md), written into every configuration.\n\n" +
	"- ixrs: `[rpki] caches` = the StayRTR cache (RTR version 1); `[defaults]` `next_hop = \"any\"` inside\n" +
	"  `peering_lans`, `enforce_first_as`, bogon prefixes and ASNs, `prefix_lengths_ipv4 = [8, 24]`, `prefix_lengths_ipv6 =\n" +
	"  [12, 48]`, `rpki = \"reject-invalid\"`, `max_prefix_*` with action `warn`; its further checks (AS path length,\n" +
	"  transit-free ASNs, OTC, IRR, graceful shutdown, blackholes) off.\n" +
	"- BIRD 2: `protocol rpki` filling `roa4`/`roa6` tables; per family an import filter (`bgp_path ~ [= * BOGON_ASNS * =]`,\n" +
	"  `net ~` bogon sets, `net.len`, `bgp_next_hop ~` the LANs, `roa_check(…, bgp_path.last)` rejecting invalid and\n" +
	"  tagging the others); `enforce first as on`; `receive limit … action warn`.\n" +
	"- FRR: bgpd with `-M rpki` (Debian package `frr-rpki-rtrlib`) and an `rpki cache`; per family a route-map denying\n" +
	"  a prefix list of bogons and lengths, an AS-path access list of the bogon ASN ranges (FRR matches AS paths only\n" +
	"  by regular expression; ixbench writes the ranges as one, tested against them) and `match rpki invalid`,\n" +
	"  permitting only next hops in the LAN prefix lists with `match rpki valid|notfound` setting the tag;\n" +
	"  `enforce-first-as`; `maximum-prefix … warning-only`.\n" +
	"- OpenBGPD: an `rtr` cache, `deny quick … ovs invalid`, a bogon `prefix-set … or-longer`, `prefixlen` rules per\n" +
	"  family, `AS` range rules, `match … ovs valid|not-found set large-community`; `max-prefix` (its action is a\n" +
	"  teardown, never reached). Its filters match a next hop by exact address and cannot negate an AS match, so the\n" +
	"  next-hop and first-AS checks are one `allow from MEMBER peer-as ASN nexthop ADDR` rule per member and\n" +
	"  family after a default deny: stricter than \"inside the LANs\", with the same outcome on this workload.\n" +
	"  (`enforce neighbor-as yes` in the group made OpenBGPD 7.7 drop most valid routes here.)\n" +
	"- GoBGP: not configured for the realistic workload yet (it has policy definitions, `next-hop-in-list` and\n" +
	"  `rpki-servers`, but no first-AS check short of one AS-path set per member); ixbench skips it on\n" +
	"  realistic workloads.\n\n"
