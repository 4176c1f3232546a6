package policy

import (
	"net/netip"
	"slices"

	"github.com/gaissmai/bart"
)

// The lists behind checks 5, 6 and 7; docs/policy.md summarises them and this file is their
// authority. They are built once at start-up and never modified, so every
// compiled policy shares them.

// asnRange is an inclusive range of AS numbers with the reason it is listed.
type asnRange struct {
	lo, hi uint32
	what   string
}

// bogonASNs are the AS numbers that must never appear in a path at an IXP (check 5),
// sorted.
var bogonASNs = []asnRange{
	{0, 0, "AS0 (RFC 7607)"},
	{23456, 23456, "AS_TRANS (RFC 6793)"},
	{64496, 64511, "documentation (RFC 5398)"},
	{64512, 65534, "private use (RFC 6996)"},
	{65535, 65535, "reserved (RFC 7300)"},
	{65536, 65551, "documentation (RFC 5398)"},
	{65552, 131071, "reserved (IANA)"},
	{4200000000, 4294967294, "private use (RFC 6996)"},
	{4294967295, 4294967295, "reserved (RFC 7300)"},
}

// bogonASN returns the range asn is listed in.
func bogonASN(asn uint32) (asnRange, bool) {
	// The list is short and most ASNs are below its first range but one: a scan with an early exit
	// beats a binary search here.
	for _, r := range bogonASNs {
		if asn < r.lo {
			return asnRange{}, false
		}
		if asn <= r.hi {
			return r, true
		}
	}
	return asnRange{}, false
}

// bogonPrefixes4 and bogonPrefixes6 are the bogon prefixes of check 7; more-specifics of each
// are bogons too.
var bogonPrefixes4 = []string{
	"0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
	"172.16.0.0/12", "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16",
	"198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/3",
}

var bogonPrefixes6 = []string{
	"::/8", "64:ff9b::/96", "100::/8", "200::/7", "400::/6", "800::/5", "1000::/4",
	"2001::/33", "2001:0:8000::/33", "2001:2::/48", "2001:3::/32", "2001:10::/28", "2001:20::/28",
	"2001:db8::/32", "2002::/16", "3ffe::/16", "3fff::/20", "4000::/3", "5f00::/8", "6000::/3",
	"8000::/3", "a000::/3", "c000::/3", "e000::/4", "f000::/5", "f800::/6", "fc00::/7",
	"fe80::/10", "fec0::/10", "ff00::/8",
}

// bogonTable holds both lists; a route is a bogon when an entry covers it.
var bogonTable = func() *bart.Lite {
	t := new(bart.Lite)
	for _, s := range slices.Concat(bogonPrefixes4, bogonPrefixes6) {
		t.Insert(netip.MustParsePrefix(s))
	}
	return t
}()

var globalUnicast6 = netip.MustParsePrefix("2000::/3")

// isBogonPrefix is bogonPrefix without the entry, for the hot path: bart's LookupPrefix is
// cheaper than LookupPrefixLPM, which also finds the entry.
func isBogonPrefix(pfx netip.Prefix) bool {
	pfx = pfx.Masked()
	return pfx.Bits() == 0 || bogonTable.LookupPrefix(pfx) ||
		pfx.Addr().Is6() && (!globalUnicast6.Overlaps(pfx) || pfx.Bits() < globalUnicast6.Bits())
}

// bogonPrefix returns the list entry that makes pfx a bogon, and a description, or ok false. The
// default routes are bogons exactly; IPv6 outside 2000::/3 is a bogon whatever the list says.
func bogonPrefix(pfx netip.Prefix) (entry netip.Prefix, what string, ok bool) {
	pfx = pfx.Masked()
	if pfx.Bits() == 0 {
		return pfx, "default route", true
	}
	if e, ok := bogonTable.LookupPrefixLPM(pfx); ok {
		return e, "bogon list", true
	}
	if pfx.Addr().Is6() && !globalUnicast6.Overlaps(pfx) {
		return globalUnicast6, "IPv6 outside global unicast", true
	}
	if pfx.Addr().Is6() && pfx.Bits() < globalUnicast6.Bits() {
		return globalUnicast6, "IPv6 covering more than global unicast", true
	}
	return netip.Prefix{}, "", false
}

// DefaultTransitFreeASNs are the networks that never reach a route server through a member
// (check 6: the union of the arouteserver, IXP Manager and NLNOG lists).
var DefaultTransitFreeASNs = []uint32{174, 701, 1299, 2914, 3257, 3320, 3356, 3491, 4134, 5511, 6453, 6461, 6762, 6830, 7018, 12956}

// Well-known communities the chain acts on.
const (
	CommunityBlackhole        = 0xffff029a // 65535:666, RFC 7999
	CommunityGracefulShutdown = 0xffff0000 // 65535:0, RFC 8326
	CommunityNoExport         = 0xffffff01 // 65535:65281
	CommunityNoAdvertise      = 0xffffff02 // 65535:65282
)

// BogonASNRanges returns the bogon AS number ranges of check 5 (inclusive, sorted), for tools that
// must configure other software with the same list (cmd/ixbench gives it to every daemon it compares).
func BogonASNRanges() [][2]uint32 {
	out := make([][2]uint32, len(bogonASNs))
	for i, r := range bogonASNs {
		out[i] = [2]uint32{r.lo, r.hi}
	}
	return out
}

// BogonPrefixes returns copies of the bogon prefixes of check 7; more-specifics of each are bogons too.
func BogonPrefixes() (v4, v6 []string) {
	return slices.Clone(bogonPrefixes4), slices.Clone(bogonPrefixes6)
}
