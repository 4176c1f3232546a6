package config

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// asTrans is AS_TRANS (RFC 6793), a placeholder that no network may use.
const asTrans = 23456

// maxMD5KeyLen is the longest key the kernel accepts for TCP_MD5SIG
// (TCP_MD5SIG_MAXKEYLEN).
const maxMD5KeyLen = 80

// Validate checks c and returns every problem as *Errors, or nil. Parse and
// Load validate already; call Validate on a Config built or changed in code.
// Files named in the configuration must exist (they are resolved with Resolve).
func (c *Config) Validate() error {
	r := &reporter{file: c.Path, pos: c.pos}
	c.validate(r)
	return errorsOrNil(r.errs)
}

func (c *Config) validate(r *reporter) {
	c.validateServer(r, scope{}.child("server"))
	c.validateLookingGlass(r, scope{}.child("lookingglass"))
	c.validateMetrics(r, scope{}.child("metrics"))
	c.validateRPKI(r, scope{}.child("rpki"))
	c.validateAdmin(r, scope{}.child("admin"))
	checkPolicy(r, scope{}.child("defaults"), &c.Defaults, nil)
	c.validateMembers(r)
	c.validateRanges(r)
	c.validateBMP(r)
	c.validateMRT(r)
	c.validateTracing(r)
}

func (c *Config) validateServer(r *reporter, sc scope) {
	s := &c.Server
	checkASN(r, sc.child("asn"), s.ASN)

	switch id, k := s.RouterID, sc.child("router_id"); {
	case !id.IsValid():
		r.report(k, ": missing (an IPv4 address is required)")
	case !id.Is4():
		r.report(k, " %q: must be an IPv4 address", id)
	case id.IsUnspecified():
		r.report(k, ` "0.0.0.0": not a valid BGP identifier`)
	}

	seen := make(map[netip.AddrPort]int)
	for i, ap := range s.Listen {
		k := sc.child("listen").index(i)
		if !ap.IsValid() {
			r.report(k, ` "": not an address:port`)
			continue
		}
		if j, dup := seen[ap]; dup {
			r.report(k, " %q: listed twice (also listen[%d])", ap, j)
			continue
		}
		seen[ap] = i
	}

	seenLAN := make(map[netip.Prefix]int)
	for i, p := range s.PeeringLANs {
		k := sc.child("peering_lans").index(i)
		switch {
		case !p.IsValid():
			r.report(k, ` "": not an IP prefix`)
		case p != p.Masked():
			r.report(k, " %q: host bits set (did you mean %q?)", p, p.Masked())
		case p.Addr().Is4In6():
			r.report(k, " %q: IPv4-mapped IPv6 prefix; write the IPv4 prefix", p)
		default:
			if j, dup := seenLAN[p]; dup {
				r.report(k, " %q: listed twice (also peering_lans[%d])", p, j)
			}
			seenLAN[p] = i
		}
	}

	if h := s.HoldTime; h != 0 && (h < 3 || h > 65535) {
		r.report(sc.child("hold_time"), " %d: must be 0 (no keepalives) or 3..65535 seconds (RFC 4271 §4.2)", h)
	}
	if d := s.ConnectRetry; d <= 0 {
		r.report(sc.child("connect_retry"), " %q: must be positive", d.String())
	}
	if d := s.StaleTime; d <= 0 {
		r.report(sc.child("graceful_restart_stale_time"), " %q: must be positive", d.String())
	}
	if v := s.ControlCommunityASN; v != 0 {
		switch {
		case s.ASN <= 0xffff:
			r.report(sc.child("control_community_asn"), " %d: only for a 4-byte asn; standard control communities use asn %d itself", v, s.ASN)
		case v >= 65281 || v == asTrans:
			r.report(sc.child("control_community_asn"), " %d: collides with a control function or a reserved value; use a private 2-byte ASN such as 64999", v)
		}
	}
}

func (c *Config) validateMetrics(r *reporter, sc scope) {
	l := c.Metrics.Listen
	if l == "" {
		return
	}
	if msg := checkHostPort(l, false); msg != "" {
		r.report(sc.child("listen"), " %q: %s", l, msg)
		return
	}
	if l == c.LookingGlass.Listen {
		r.report(sc.child("listen"), " %q: the looking glass listens there already (leave metrics.listen empty to serve /metrics with it)", l)
	}
}

func (c *Config) validateLookingGlass(r *reporter, sc scope) {
	if l := c.LookingGlass.Listen; l != "" {
		if msg := checkHostPort(l, false); msg != "" {
			r.report(sc.child("listen"), " %q: %s", l, msg)
		}
	}
	if n := c.LookingGlass.Name; hasControl(n) {
		r.report(sc.child("name"), " %q: must not contain control characters", n)
	}
	checkPrefixes(r, sc.child("trusted_proxies"), c.LookingGlass.TrustedProxies)
	c.checkFile(r, sc.child("asn_names_file"), c.LookingGlass.ASNNamesFile)
	seenPeer := make(map[string]int)
	for i, p := range c.LookingGlass.Peers {
		k := sc.child("peers").index(i)
		if msg := checkPeerURL(p); msg != "" {
			r.report(k, " %q: %s", p, msg)
			continue
		}
		if j, dup := seenPeer[p]; dup {
			r.report(k, " %q: listed twice (also [%d])", p, j)
		}
		seenPeer[p] = i
	}
	if n := c.LookingGlass.MaxConcurrent; n < 0 {
		r.report(sc.child("max_concurrent"), " %d: must be 0 (twice the CPUs) or more requests at once", n)
	}
	rl, k := &c.LookingGlass.RateLimit, sc.child("rate_limit")
	for _, q := range []struct {
		rate      float64
		burst     int
		key, bkey string
	}{{rl.Pages, rl.PagesBurst, "pages", "pages_burst"}, {rl.Searches, rl.SearchesBurst, "searches", "searches_burst"}} {
		if q.rate < 0 {
			r.report(k.child(q.key), " %v: must be 0 (no limit) or more requests per second", q.rate)
		}
		if q.burst < 0 || q.rate > 0 && q.burst < 1 {
			r.report(k.child(q.bkey), " %d: must be at least 1 (requests at once)", q.burst)
		}
	}
	checkPrefixes(r, k.child("exempt"), rl.Exempt)
}

// checkPeerURL returns what is wrong with the base URL of another looking glass, or "".
func checkPeerURL(s string) string {
	u, err := url.Parse(s)
	switch {
	case err != nil || u.Host == "":
		return `not a URL (write "http://rs2.example.net:8080")`
	case u.Scheme != "http" && u.Scheme != "https":
		return "must be an http or https URL"
	case u.User != nil:
		return "must not contain a user or password"
	case u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(u.Path, "/"):
		return "must be a base URL without query, fragment or trailing slash"
	}
	return ""
}

// checkPrefixes reports invalid, unmasked or duplicate prefixes in a list of
// client address ranges.
func checkPrefixes(r *reporter, k scope, ps []netip.Prefix) {
	seen := make(map[netip.Prefix]int)
	for i, p := range ps {
		ki := k.index(i)
		switch {
		case !p.IsValid():
			r.report(ki, ` "": not an IP prefix`)
		case p != p.Masked():
			r.report(ki, " %q: host bits set (did you mean %q?)", p, p.Masked())
		default:
			if j, dup := seen[p]; dup {
				r.report(ki, " %q: listed twice (also [%d])", p, j)
			}
			seen[p] = i
		}
	}
}

func (c *Config) validateRPKI(r *reporter, sc scope) {
	seen := make(map[string]int)
	for i, cache := range c.RPKI.Caches {
		k := sc.child("caches").index(i)
		switch a := cache.Address; {
		case a == "":
			r.report(k.child("address"), ": missing (host:port of an RTR cache)")
		case checkHostPort(a, true) != "":
			r.report(k.child("address"), " %q: %s", a, checkHostPort(a, true))
		default:
			if j, dup := seen[a]; dup {
				r.report(k.child("address"), " %q: listed twice (also caches[%d])", a, j)
			}
			seen[a] = i
		}
		if p := cache.Preference; p < 1 || p > 255 {
			r.report(k.child("preference"), " %d: must be 1..255 (lower is preferred)", p)
		}
		switch cache.Transport {
		case "tcp":
			if cache.TLSCA != "" || cache.TLSServerName != "" {
				r.report(k.child("transport"), ` "tcp": tls_ca and tls_server_name need transport = "tls"`)
			}
		case "tls":
			c.checkFile(r, k.child("tls_ca"), cache.TLSCA)
		default:
			r.report(k.child("transport"), " %q: must be tcp or tls", cache.Transport)
		}
		if v := cache.Version; v < 0 || v > 2 {
			r.report(k.child("version"), " %d: must be 0..2 (RTR version 0, 1 or 2)", v)
		}
	}
	c.checkFile(r, sc.child("vrp_file"), c.RPKI.VRPFile)
	c.checkFile(r, sc.child("slurm_file"), c.RPKI.SLURMFile)
	for _, d := range []struct {
		key string
		v   time.Duration
	}{{"refresh", c.RPKI.Refresh}, {"retry", c.RPKI.Retry}, {"expire", c.RPKI.Expire}} {
		if d.v < 0 {
			r.report(sc.child(d.key), " %v: must not be negative (0 uses the cache's value)", d.v)
		}
	}
	if c.RPKI.MaxRecords < 0 {
		r.report(sc.child("max_records"), " %d: must not be negative (0 is the built-in bound)", c.RPKI.MaxRecords)
	}
}

// maxLLGRStaleTime is the largest long-lived stale time the capability carries.
const maxLLGRStaleTime = (1<<24 - 1) * time.Second

func (c *Config) validateMembers(r *reporter) {
	type neighborRef struct{ member, index int }
	names := make(map[string]int)
	neighbors := make(map[netip.Addr]neighborRef)
	lans := c.Server.PeeringLANs
	for i := range c.Members {
		m := &c.Members[i]
		sc := memberScope(i, m.Name, int64(m.ASN))

		switch k := sc.child("name"); {
		case m.Name == "":
			r.report(k, ": missing (required)")
		case hasControl(m.Name):
			r.report(k, " %q: must not contain control characters", m.Name)
		default:
			if j, dup := names[m.Name]; dup {
				r.report(k, ": already used by %s", c.memberRef(j))
			} else {
				names[m.Name] = i
			}
		}

		checkASN(r, sc.child("asn"), m.ASN)
		if m.ASN != 0 && m.ASN == c.Server.ASN {
			r.report(sc.child("asn"), " %d: is the route server's own ASN (server.asn)", m.ASN)
		}

		if len(m.Neighbors) == 0 {
			r.report(sc.child("neighbors"), ": missing (at least one address, one BGP session each)")
		}
		for j, a := range m.Neighbors {
			k := sc.child("neighbors").index(j)
			switch {
			case !a.IsValid():
				r.report(k, ` "": not an IP address`)
				continue
			case a.Is4In6():
				r.report(k, " %q: IPv4-mapped IPv6 address; write %q", a, a.Unmap())
				continue
			case a.Zone() != "":
				r.report(k, " %q: an address with a zone cannot be a neighbor", a)
				continue
			case a.IsUnspecified() || a.IsMulticast() || a == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
				r.report(k, " %q: not a unicast address", a)
				continue
			}
			if len(lans) > 0 && !slices.ContainsFunc(lans, func(p netip.Prefix) bool { return p.IsValid() && p.Contains(a) }) {
				r.report(k, " %q: not inside any of server.peering_lans (%s)", a, prefixList(lans))
			}
			if prev, dup := neighbors[a]; dup {
				if prev.member == i {
					r.report(k, " %q: listed twice (also neighbors[%d])", a, prev.index)
				} else {
					r.report(k, " %q: already a neighbor of %s", a, c.memberRef(prev.member))
				}
				continue
			}
			neighbors[a] = neighborRef{i, j}
		}

		if n := len(m.MD5Password); n > maxMD5KeyLen {
			// Never print the password itself.
			r.report(sc.child("md5_password"), ": %d bytes long, at most %d allowed (TCP_MD5SIG key limit)", n, maxMD5KeyLen)
		}
		switch m.AddPath {
		case "", AddPathOff, AddPathSend:
		case "receive", "both":
			r.report(sc.child("add_path"), " %q: a route server only sends paths (RFC 7947 §2.3.2.1); use %q", m.AddPath, AddPathSend)
		default:
			r.report(sc.child("add_path"), " %q: must be %q or %q", m.AddPath, AddPathSend, AddPathOff)
		}
		switch k := sc.child("add_path_limit"); {
		case m.AddPathLimit < 0 || m.AddPathLimit > MaxAddPathLimit:
			r.report(k, " %d: must be 1..%d (0 for the default, %d)", m.AddPathLimit, MaxAddPathLimit, DefaultAddPathLimit)
		case m.AddPathLimit > 0 && m.AddPath != AddPathSend:
			r.report(k, ` %d: has no effect without add_path = "send"`, m.AddPathLimit)
		}
		if d := m.LLGRStaleTime; d < 0 || d > maxLLGRStaleTime {
			r.report(sc.child("llgr_stale_time"), " %q: must be 0 (off) up to %s (24 bits of seconds, RFC 9494)", d.String(), maxLLGRStaleTime)
		} else if d > 0 && !c.Server.GracefulRestart {
			r.report(sc.child("llgr_stale_time"), " %q: needs server.graceful_restart = true", d.String())
		}
		c.checkFile(r, sc.child("irr_prefix_file"), m.IRRPrefixFile)
		c.checkFile(r, sc.child("irr_asn_file"), m.IRRASNFile)
		checkTrace(r, sc.child("trace"), m.Trace)

		set := make(map[string]bool)
		for _, k := range m.PolicyOverrides.Keys() {
			set[k] = true
		}
		p := c.MemberPolicy(i)
		checkPolicy(r, sc, &p, set)
	}
}

// Values of a member's add_path, and the bounds of add_path_limit.
const (
	AddPathOff          = "off"
	AddPathSend         = "send"
	DefaultAddPathLimit = 8
	MaxAddPathLimit     = 64
)

// memberRef names member j in a message about another member.
func (c *Config) memberRef(j int) string {
	m := &c.Members[j]
	ref := fmt.Sprintf("member %q", m.Name)
	if m.Name == "" {
		ref = fmt.Sprintf("member #%d", j+1)
	}
	var extra []string
	if m.ASN != 0 {
		extra = append(extra, fmt.Sprintf("asn %d", m.ASN))
	}
	if line := c.pos.line(indexPath("member", j)); line > 0 {
		extra = append(extra, fmt.Sprintf("line %d", line))
	}
	if len(extra) > 0 {
		ref += " (" + strings.Join(extra, ", ") + ")"
	}
	return ref
}

// checkPolicy checks the policy p of the table at sc. When set is not nil,
// only the keys in it are checked: the others come from [defaults], which is
// checked on its own, so each problem is reported once, where it was written.
func checkPolicy(r *reporter, sc scope, p *Policy, set map[string]bool) {
	at := func(key string) (scope, bool) {
		return sc.child(key), set == nil || set[key]
	}
	if k, ok := at("next_hop"); ok {
		checkOneOf(r, k, p.NextHop, nextHopValues)
	}
	if k, ok := at("max_as_path_length"); ok && (p.MaxASPathLength < 0 || p.MaxASPathLength > 64) {
		r.report(k, " %d: must be 0 (no limit) to 64", p.MaxASPathLength)
	}
	if k, ok := at("prefix_lengths_ipv4"); ok {
		checkLengths(r, k, p.PrefixLengthsIPv4, 32)
	}
	if k, ok := at("prefix_lengths_ipv6"); ok {
		checkLengths(r, k, p.PrefixLengthsIPv6, 128)
	}
	for _, key := range []string{"transit_free_asns", "never_via_route_servers_asns"} {
		k, ok := at(key)
		if !ok {
			continue
		}
		list := p.TransitFreeASNs
		if key == "never_via_route_servers_asns" {
			list = p.NeverViaRouteServersASNs
		}
		for i, asn := range list {
			if asn == 0 {
				r.report(k.index(i), " 0: not a valid ASN")
			}
		}
	}
	if k, ok := at("max_communities"); ok && p.MaxCommunities < 0 {
		r.report(k, " %d: must be 0 (no limit) or more", p.MaxCommunities)
	}
	if k, ok := at("too_many_communities"); ok {
		checkOneOf(r, k, p.TooManyCommunities, tooManyCommunitiesValues)
	}
	if k, ok := at("rpki"); ok {
		checkOneOf(r, k, p.RPKI, rpkiValues)
	}
	if k, ok := at("irr"); ok {
		checkOneOf(r, k, p.IRR, irrValues)
	}
	if k, ok := at("otc"); ok {
		checkOneOf(r, k, p.OTC, otcValues)
	}
	if k, ok := at("aspa"); ok {
		checkOneOf(r, k, p.ASPA, aspaValues)
	}
	if k, ok := at("blackhole_next_hop_ipv4"); ok {
		if a := p.BlackholeNextHopIPv4; a.IsValid() && (!a.Is4() || a.IsUnspecified()) {
			r.report(k, ` %q: must be an IPv4 address, or "" to leave the next hop unchanged`, a)
		}
	}
	if k, ok := at("blackhole_next_hop_ipv6"); ok {
		if a := p.BlackholeNextHopIPv6; a.IsValid() && (!a.Is6() || a.Is4In6() || a.IsUnspecified() || a.Zone() != "") {
			r.report(k, ` %q: must be an IPv6 address, or "" to leave the next hop unchanged`, a)
		}
	}
	if k, ok := at("max_prefix_ipv4"); ok && p.MaxPrefixIPv4 < 0 {
		r.report(k, " %d: must be 0 (no limit) or more", p.MaxPrefixIPv4)
	}
	if k, ok := at("max_prefix_ipv6"); ok && p.MaxPrefixIPv6 < 0 {
		r.report(k, " %d: must be 0 (no limit) or more", p.MaxPrefixIPv6)
	}
	if k, ok := at("max_prefix_action"); ok {
		checkOneOf(r, k, p.MaxPrefixAction, maxPrefixActionValues)
	}
	if k, ok := at("max_prefix_restart_after"); ok && p.MaxPrefixRestartAfter <= 0 {
		r.report(k, " %q: must be positive", p.MaxPrefixRestartAfter.String())
	}
	if k, ok := at("max_prefix_warn_percent"); ok && (p.MaxPrefixWarnPercent < 1 || p.MaxPrefixWarnPercent > 100) {
		r.report(k, " %d: must be 1..100", p.MaxPrefixWarnPercent)
	}
}

// checkASN reports an ASN that no network can have. 0 is reported as
// missing unless the key is in the file.
func checkASN(r *reporter, k scope, asn uint32) {
	switch {
	case asn == 0 && !r.pos.has(k.path):
		r.report(k, ": missing (required)")
	case asn == 0:
		r.report(k, " 0: not a valid ASN (1..4294967295)")
	case asn == asTrans:
		r.report(k, " 23456: AS_TRANS (RFC 6793) is not a valid ASN")
	}
}

func checkOneOf[T ~string](r *reporter, k scope, v T, allowed []T) {
	if slices.Contains(allowed, v) {
		return
	}
	names := make([]string, len(allowed))
	for i, a := range allowed {
		names[i] = string(a)
	}
	r.report(k, " %q: must be one of %s", string(v), strings.Join(names, ", "))
}

func checkLengths(r *reporter, k scope, l [2]int, maxLen int) {
	switch {
	case l[0] < 0 || l[1] < 0 || l[0] > maxLen || l[1] > maxLen:
		r.report(k, " [%d, %d]: lengths must be 0..%d", l[0], l[1], maxLen)
	case l[0] > l[1]:
		r.report(k, " [%d, %d]: the minimum is greater than the maximum", l[0], l[1])
	}
}

// checkHostPort returns what is wrong with a host:port address, or "".
// The host may be a name or empty (all addresses) unless needHost.
func checkHostPort(s string, needHost bool) string {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		var ae *net.AddrError
		if errors.As(err, &ae) {
			return "not host:port (" + ae.Err + ")"
		}
		return "not host:port"
	}
	if needHost && host == "" {
		return "not host:port (missing host)"
	}
	if strings.ContainsAny(host, " \t\r\n") {
		return "not host:port (blank in host)"
	}
	n, err := strconv.ParseUint(port, 10, 16)
	if err != nil || needHost && n == 0 {
		return fmt.Sprintf("port %q is not a number 1..65535", port)
	}
	return ""
}

// checkFile reports a file named in the configuration that cannot be used.
func (c *Config) checkFile(r *reporter, k scope, name string) {
	if name == "" {
		return
	}
	path := c.Resolve(name)
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		r.report(k, " %q: no such file (%s)", name, path)
	case err != nil:
		r.report(k, " %q: %v", name, err)
	case fi.IsDir():
		r.report(k, " %q: is a directory (%s)", name, path)
	}
}

func hasControl(s string) bool {
	return strings.ContainsFunc(s, unicode.IsControl)
}

func prefixList(ps []netip.Prefix) string {
	s := make([]string, 0, len(ps))
	for _, p := range ps {
		if p.IsValid() {
			s = append(s, p.String())
		}
	}
	return strings.Join(s, ", ")
}

// Warnings returns what is valid but probably not meant: settings that make
// the route server filter everything, or validate nothing. The command line
// prints them with -check and logs them at startup.
func (c *Config) Warnings() Errors {
	r := &reporter{file: c.Path, pos: c.pos}
	rpkiUsed := c.Defaults.RPKI != RPKIOff
	aspaUsed := c.Defaults.ASPA != ASPAOff
	for i := range c.Members {
		m := &c.Members[i]
		p := c.MemberPolicy(i)
		rpkiUsed = rpkiUsed || p.RPKI != RPKIOff
		aspaUsed = aspaUsed || p.ASPA != ASPAOff
		if p.IRR == IRRReject && m.IRRPrefixFile == "" && m.IRRASNFile == "" {
			sc := memberScope(i, m.Name, int64(m.ASN))
			k := sc.child("irr")
			if m.IRR == nil {
				k = sc
			}
			r.add(k, sc.prefix+`irr = "reject" and neither irr_prefix_file nor irr_asn_file: every route of this member will be filtered`)
		}
	}
	if rpkiUsed && len(c.RPKI.Caches) == 0 && c.RPKI.VRPFile == "" {
		r.add(scope{path: "rpki"}, `rpki checks are on but [rpki] has no caches and no vrp_file: no route can be RPKI-validated (set rpki = "off" to silence this)`)
	}
	if aspaUsed && !slices.ContainsFunc(c.RPKI.Caches, func(c RPKICache) bool { return c.Version >= 2 }) {
		r.add(scope{path: "rpki"}, `aspa checks are on but no [rpki] cache has version = 2: ASPA records come only from RTR version 2, so no route can be ASPA-verified (set aspa = "off" to silence this)`)
	}
	r.errs.sort()
	return r.errs
}
