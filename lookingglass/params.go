package lookingglass

import (
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"regexp/syntax"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/labstack/echo/v4"
)

// Every parameter a client supplies is parsed here, strictly: one spelling per value (no signs, no
// leading zeros, no blanks), bounded lengths, and a value that parses formats back to the same text
// (FuzzParams checks both). A parse error is a *ParamError, which the API turns into 400.

// Page size bounds.
const (
	DefaultPageSize = 100
	MaxPageSize     = 1000
)

// Input bounds.
const (
	maxParamLen   = 256 // any parameter
	maxPatternLen = 128 // an AS-path pattern
	// maxPatternInsts bounds the compiled size of an AS-path pattern. Go's regexp runs in time
	// linear in the input, but the constant is the program size: "(1|2|3){1000}" is short text and a
	// big program. 2000 instructions is ample for any path expression a person writes.
	maxPatternInsts = 2000
)

// ParamError is a parameter that did not parse.
type ParamError struct {
	Param string // the parameter's name
	Value string // as given, cut to 64 bytes
	Msg   string
}

func (e *ParamError) Error() string {
	return fmt.Sprintf("%s %q: %s", e.Param, e.Value, e.Msg)
}

func paramErr(param, value, format string, args ...any) error {
	if len(value) > 64 {
		value = value[:64] + "..."
	}
	return &ParamError{Param: param, Value: value, Msg: fmt.Sprintf(format, args...)}
}

// parseUint parses a decimal number without sign or leading zeros.
func parseUint(s string, bits int) (uint64, bool) {
	if s == "" || len(s) > 20 || (len(s) > 1 && s[0] == '0') {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseUint(s, 10, bits)
	return n, err == nil
}

// ParseASN parses an AS number, "64501" or "AS64501" (any case), 1..4294967295.
func ParseASN(s string) (uint32, error) {
	t := s
	if len(t) >= 2 && (t[0] == 'A' || t[0] == 'a') && (t[1] == 'S' || t[1] == 's') {
		t = t[2:]
	}
	n, ok := parseUint(t, 32)
	if !ok || n == 0 {
		return 0, paramErr("asn", s, "not an AS number 1..4294967295")
	}
	return uint32(n), nil
}

// ParseAddr parses an IP address; no zones, no IPv4-mapped IPv6.
func ParseAddr(param, s string) (netip.Addr, error) {
	if len(s) > maxParamLen {
		return netip.Addr{}, paramErr(param, s, "too long")
	}
	a, err := netip.ParseAddr(s)
	switch {
	case err != nil:
		return netip.Addr{}, paramErr(param, s, "not an IP address")
	case a.Zone() != "":
		return netip.Addr{}, paramErr(param, s, "an address with a zone")
	case a.Is4In6():
		return netip.Addr{}, paramErr(param, s, "IPv4-mapped IPv6 address; write %s", a.Unmap())
	}
	return a, nil
}

// ParsePrefix parses a prefix without host bits, or an address, which becomes a host prefix
// (/32 or /128). isAddr reports the latter.
func ParsePrefix(s string) (p netip.Prefix, isAddr bool, err error) {
	if !strings.Contains(s, "/") {
		a, err := ParseAddr("prefix", s)
		if err != nil {
			return netip.Prefix{}, false, paramErr("prefix", s, "not a prefix or an address")
		}
		return netip.PrefixFrom(a, a.BitLen()), true, nil
	}
	if len(s) > maxParamLen {
		return netip.Prefix{}, false, paramErr("prefix", s, "too long")
	}
	p, err = netip.ParsePrefix(s)
	switch {
	case err != nil:
		return netip.Prefix{}, false, paramErr("prefix", s, "not a prefix (write 192.0.2.0/24 or 2001:db8::/32)")
	case p.Addr().Is4In6():
		return netip.Prefix{}, false, paramErr("prefix", s, "IPv4-mapped IPv6 prefix")
	case p != p.Masked():
		return netip.Prefix{}, false, paramErr("prefix", s, "host bits set (did you mean %s?)", p.Masked())
	}
	return p, false, nil
}

// Community is a standard community (RFC 1997): the AS in the high 16 bits.
type Community uint32

func (c Community) String() string {
	var buf [11]byte
	b := strconv.AppendUint(buf[:0], uint64(c>>16), 10)
	return string(strconv.AppendUint(append(b, ':'), uint64(c&0xffff), 10))
}

// ParseCommunity parses "a:b", each 0..65535.
func ParseCommunity(s string) (Community, error) {
	parts := strings.Split(s, ":")
	if len(parts) != 2 || len(s) > 11 {
		return 0, paramErr("community", s, "not a community a:b")
	}
	a, ok1 := parseUint(parts[0], 16)
	b, ok2 := parseUint(parts[1], 16)
	if !ok1 || !ok2 {
		return 0, paramErr("community", s, "not a community a:b (each 0..65535)")
	}
	return Community(a<<16 | b), nil
}

// LargeCommunity is a large community (RFC 8092).
type LargeCommunity struct{ Global, Local1, Local2 uint32 }

func (c LargeCommunity) String() string {
	var buf [32]byte
	b := strconv.AppendUint(buf[:0], uint64(c.Global), 10)
	b = strconv.AppendUint(append(b, ':'), uint64(c.Local1), 10)
	return string(strconv.AppendUint(append(b, ':'), uint64(c.Local2), 10))
}

// ParseLargeCommunity parses "a:b:c", each 0..4294967295.
func ParseLargeCommunity(s string) (LargeCommunity, error) {
	parts := strings.Split(s, ":")
	if len(parts) != 3 || len(s) > 32 {
		return LargeCommunity{}, paramErr("large community", s, "not a large community a:b:c")
	}
	var v [3]uint32
	for i, p := range parts {
		n, ok := parseUint(p, 32)
		if !ok {
			return LargeCommunity{}, paramErr("large community", s, "not a large community a:b:c (each 0..4294967295)")
		}
		v[i] = uint32(n)
	}
	return LargeCommunity{v[0], v[1], v[2]}, nil
}

// ExtCommunity is an extended community (RFC 4360), its 8 octets big-endian.
type ExtCommunity uint64

// Extended community types and subtypes the looking glass names (RFC 4360, RFC 5668).
const (
	extTypeAS2  = 0x00
	extTypeIPv4 = 0x01
	extTypeAS4  = 0x02
	extSubRT    = 0x02
	extSubRO    = 0x03
)

// Parts splits the community as looking glasses show it: a kind ("rt" route target, "ro" route
// origin, else "generic") and two values. For rt and ro they are the global and local
// administrator ("64500", "100" or "192.0.2.1", "7"); for generic, the high and low 32 bits in hex.
func (c ExtCommunity) Parts() (kind, global, local string) {
	typ, sub := byte(c>>56), byte(c>>48)
	kind = ""
	switch sub {
	case extSubRT:
		kind = "rt"
	case extSubRO:
		kind = "ro"
	}
	if kind != "" {
		switch typ {
		case extTypeAS2:
			return kind, strconv.FormatUint(uint64(c>>32&0xffff), 10), strconv.FormatUint(uint64(c&0xffffffff), 10)
		case extTypeAS4:
			if as := c >> 16 & 0xffffffff; as > 0xffff { // else it would read back as a 2-octet one
				return kind, strconv.FormatUint(uint64(as), 10), strconv.FormatUint(uint64(c&0xffff), 10)
			}
		case extTypeIPv4:
			ip := netip.AddrFrom4([4]byte{byte(c >> 40), byte(c >> 32), byte(c >> 24), byte(c >> 16)})
			return kind, ip.String(), strconv.FormatUint(uint64(c&0xffff), 10)
		}
	}
	return "generic", fmt.Sprintf("0x%08x", uint32(c>>32)), fmt.Sprintf("0x%08x", uint32(c))
}

func (c ExtCommunity) String() string {
	k, g, l := c.Parts()
	return k + ":" + g + ":" + l
}

// ParseExtCommunity parses "rt:a:b" or "ro:a:b" (a an AS number or an IPv4 address) or
// "generic:0xHHHHHHHH:0xHHHHHHHH", the forms ExtCommunity.String writes.
func ParseExtCommunity(s string) (ExtCommunity, error) {
	bad := func(msg string) (ExtCommunity, error) { return 0, paramErr("ext community", s, "%s", msg) }
	parts := strings.Split(s, ":")
	if len(parts) != 3 || len(s) > 48 {
		return bad("not an extended community (rt:a:b, ro:a:b or generic:0xH:0xH)")
	}
	if parts[0] == "generic" {
		hi, ok1 := parseHex32(parts[1])
		lo, ok2 := parseHex32(parts[2])
		if !ok1 || !ok2 {
			return bad("generic values are 0x and 8 lower-case hex digits")
		}
		return ExtCommunity(uint64(hi)<<32 | uint64(lo)), nil
	}
	var sub uint64
	switch parts[0] {
	case "rt":
		sub = extSubRT
	case "ro":
		sub = extSubRO
	default:
		return bad("kind must be rt, ro or generic")
	}
	if a, err := netip.ParseAddr(parts[1]); err == nil && a.Is4() && a.String() == parts[1] {
		l, ok := parseUint(parts[2], 16)
		if !ok {
			return bad("with an IPv4 address the local value is 0..65535")
		}
		b := a.As4()
		return ExtCommunity(extTypeIPv4<<56 | sub<<48 | uint64(b[0])<<40 | uint64(b[1])<<32 |
			uint64(b[2])<<24 | uint64(b[3])<<16 | l), nil
	}
	g, ok1 := parseUint(parts[1], 32)
	l, ok2 := parseUint(parts[2], 32)
	switch {
	case !ok1 || !ok2:
		return bad("values are numbers")
	case g <= 0xffff:
		return ExtCommunity(extTypeAS2<<56 | sub<<48 | g<<32 | l), nil
	case l <= 0xffff:
		return ExtCommunity(extTypeAS4<<56 | sub<<48 | g<<16 | l), nil
	}
	return bad("a 4-octet AS takes a local value 0..65535")
}

func parseHex32(s string) (uint32, bool) {
	if len(s) != 10 || s[:2] != "0x" {
		return 0, false
	}
	for i := 2; i < len(s); i++ {
		if !(s[i] >= '0' && s[i] <= '9' || s[i] >= 'a' && s[i] <= 'f') {
			return 0, false
		}
	}
	n, err := strconv.ParseUint(s[2:], 16, 32)
	return uint32(n), err == nil
}

// ASPathPattern is a validated AS-path regular expression (RE2 syntax), matched against the path
// written as decimal ASNs separated by single spaces ("64501 64502 64510"). "^64501 " finds paths
// from AS64501, " 64510$" paths to it, "(^| )3356( |$)" AS3356 anywhere.
type ASPathPattern struct {
	src  string
	re   *regexp.Regexp // nil for one AS between boundaries (oneASAt)
	asns []uint32       // see ASNs
	at   oneASAt        // where oneAS patterns want their AS
}

// oneASAt is where a pattern of one AS between boundaries wants it: "_N_" anywhere, "^N_" first,
// "_N$" last, "^N$" as the whole path. These, the searches people type most, match without a
// regular expression: with more distinct ASes searched than patternCache keeps, compiling them was
// 95 of the 743 MB the route server allocated in a reduced exempt run (docs/lookingglass.md).
type oneASAt uint8

const (
	oneASAnywhere oneASAt = iota + 1
	oneASFirst
	oneASLast
	oneASOnly
)

// parseOneAS recognises the oneASAt forms: the AS in canonical decimal (no leading zero, 1 to
// 4294967295), so that the pattern matches exactly the paths its regular expression would.
func parseOneAS(s string) (uint32, oneASAt, bool) {
	if len(s) < 3 {
		return 0, 0, false
	}
	var at oneASAt
	switch first, last := s[0], s[len(s)-1]; {
	case first == '_' && last == '_':
		at = oneASAnywhere
	case first == '^' && last == '_':
		at = oneASFirst
	case first == '_' && last == '$':
		at = oneASLast
	case first == '^' && last == '$':
		at = oneASOnly
	default:
		return 0, 0, false
	}
	digits := s[1 : len(s)-1]
	if digits[0] == '0' && len(digits) > 1 {
		return 0, 0, false
	}
	n, err := strconv.ParseUint(digits, 10, 32)
	if err != nil || n == 0 { // AS 0 is left to the regular expression, as ASNs leaves it out
		return 0, 0, false
	}
	return uint32(n), at, true
}

// ParseASPathPattern checks and compiles an AS-path pattern: at most 128 bytes, only the
// characters of ASNs, spaces and regular expression operators, and a bounded compiled size.
// Patterns compiled recently are kept (patternCache): a looking glass's clients page through the
// same few searches, and compiling one again for every page was a tenth of the looking glass's
// garbage under load (docs/lookingglass.md). One AS between boundaries is no regular expression at
// all (oneASAt).
func ParseASPathPattern(s string) (*ASPathPattern, error) {
	if p := patterns.get(s); p != nil {
		return p, nil
	}
	p, err := parseASPathPattern(s)
	if err == nil {
		patterns.put(s, p)
	}
	return p, err
}

// patternCache maps a pattern's text to its compiled form (immutable, and regexp.Regexp is safe for
// concurrent use), for at most maxCachedPatterns patterns: when full, it starts again empty.
type patternCache struct {
	mu sync.Mutex
	m  map[string]*ASPathPattern
}

const maxCachedPatterns = 256

var patterns patternCache

func (c *patternCache) get(s string) *ASPathPattern {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[s]
}

func (c *patternCache) put(s string, p *ASPathPattern) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxCachedPatterns {
		c.m = make(map[string]*ASPathPattern, maxCachedPatterns)
	}
	c.m[s] = p
}

func parseASPathPattern(s string) (*ASPathPattern, error) {
	if s == "" {
		return nil, paramErr("pattern", s, "empty")
	}
	if len(s) > maxPatternLen {
		return nil, paramErr("pattern", s, "longer than %d bytes", maxPatternLen)
	}
	for i := 0; i < len(s); i++ {
		if !strings.ContainsRune("0123456789 ^$.*+?()[]{}|,-_\\d", rune(s[i])) {
			return nil, paramErr("pattern", s, "character %q not allowed (digits, spaces and ^$.*+?()[]{}|,-\\d)", s[i])
		}
	}
	if asn, at, ok := parseOneAS(s); ok {
		return &ASPathPattern{src: s, asns: []uint32{asn}, at: at}, nil
	}
	return compileASPathPattern(s)
}

// compileASPathPattern compiles s, checked by parseASPathPattern, as a regular expression.
func compileASPathPattern(s string) (*ASPathPattern, error) {
	// "_" is the Cisco habit for an AS boundary; spell it out so people need not learn RE2 first.
	expr := strings.ReplaceAll(s, "_", "(^| |$)")
	re, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		var se *syntax.Error
		if errors.As(err, &se) {
			return nil, paramErr("pattern", s, "%s", se.Code)
		}
		return nil, paramErr("pattern", s, "not a regular expression")
	}
	prog, err := syntax.Compile(re.Simplify())
	if err != nil || len(prog.Inst) > maxPatternInsts {
		return nil, paramErr("pattern", s, "too expensive (more than %d instructions)", maxPatternInsts)
	}
	c, err := regexp.Compile(expr)
	if err != nil {
		return nil, paramErr("pattern", s, "not a regular expression")
	}
	return &ASPathPattern{src: s, re: c, asns: requiredASNs(re)}, nil
}

func (p *ASPathPattern) String() string { return p.src }

// ASNs returns the ASes that every path the pattern matches contains: each AS written between AS
// boundaries at the top level of the pattern ("_3356_", "^64501_.*_64510$", " 174 "). A backend
// can narrow its search to the routes with one of them (an index) and still run Match on each.
// It is empty for other patterns ("_3356_|_174_", "^6450\\d_").
func (p *ASPathPattern) ASNs() []uint32 { return p.asns }

// ASN returns one AS of ASNs, the right-most (the nearer the origin, the fewer routes carry it,
// as a rule); ok is false when ASNs is empty.
func (p *ASPathPattern) ASN() (asn uint32, ok bool) {
	if len(p.asns) == 0 {
		return 0, false
	}
	return p.asns[len(p.asns)-1], true
}

// Match reports whether the path, written as space-separated ASNs, matches.
func (p *ASPathPattern) Match(path []uint32) bool {
	var buf []byte
	return p.MatchBuf(path, &buf)
}

// MatchBuf is Match writing the path's text into *buf, which it grows as needed and a caller
// matching many paths passes again: the text escapes to the regexp package, so a buffer of Match's
// own is an allocation per path.
func (p *ASPathPattern) MatchBuf(path []uint32, buf *[]byte) bool {
	if p.re == nil {
		asn, n := p.asns[0], len(path)
		switch p.at {
		case oneASFirst:
			return n > 0 && path[0] == asn
		case oneASLast:
			return n > 0 && path[n-1] == asn
		case oneASOnly:
			return n == 1 && path[0] == asn
		default:
			return slices.Contains(path, asn)
		}
	}
	b := (*buf)[:0]
	for i, a := range path {
		if i > 0 {
			b = append(b, ' ')
		}
		b = strconv.AppendUint(b, uint64(a), 10)
	}
	*buf = b
	return p.re.Match(b)
}

// ParseLimit parses a page size; "" is DefaultPageSize.
func ParseLimit(s string) (int, error) {
	if s == "" {
		return DefaultPageSize, nil
	}
	n, ok := parseUint(s, 16)
	if !ok || n < 1 || n > MaxPageSize {
		return 0, paramErr("limit", s, "not a page size 1..%d", MaxPageSize)
	}
	return int(n), nil
}

// ParseCursor checks a cursor: opaque to the client, at most 256 URL-safe characters.
func ParseCursor(s string) (string, error) {
	if len(s) > maxParamLen {
		return "", paramErr("cursor", s, "too long")
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~') {
			return "", paramErr("cursor", s, "not a cursor this server gave out")
		}
	}
	return s, nil
}

// ParseFamily parses an address family: "" (both), "ipv4" or "ipv6".
func ParseFamily(s string) (string, error) {
	switch s {
	case "", "ipv4", "ipv6":
		return s, nil
	}
	return "", paramErr("family", s, "must be ipv4 or ipv6")
}

// ParseView parses a route list name.
func ParseView(s string) (View, error) {
	switch v := View(s); v {
	case ViewReceived, ViewAccepted, ViewFiltered, ViewExported, ViewNotExported:
		return v, nil
	}
	return "", paramErr("view", s, "must be received, accepted, filtered, exported or not-exported")
}

// ParseMatch parses a lookup match; "" is exact for a prefix and longest for an address.
func ParseMatch(s string, isAddr bool) (Match, error) {
	switch m := Match(s); m {
	case MatchExact, MatchLongest, MatchMoreSpecific:
		return m, nil
	case "":
		if isAddr {
			return MatchLongest, nil
		}
		return MatchExact, nil
	}
	return "", paramErr("match", s, "must be exact, longest or more-specific")
}

// SortKey orders the routes within one page (pages follow the RIB's own order).
type SortKey struct {
	Field string // "prefix", "age", "as-path-length", "local-pref" or "neighbor"
	Desc  bool
}

func (k SortKey) String() string {
	if k.Field == "" {
		return ""
	}
	if k.Desc {
		return "-" + k.Field
	}
	return k.Field
}

// ParseSort parses a sort key: a field, "-" in front for descending; "" keeps the RIB's order.
func ParseSort(s string) (SortKey, error) {
	k := SortKey{Field: s}
	if strings.HasPrefix(s, "-") {
		k = SortKey{Field: s[1:], Desc: true}
	}
	switch k.Field {
	case "prefix", "age", "as-path-length", "local-pref", "neighbor":
		return k, nil
	case "":
		if !k.Desc {
			return k, nil
		}
	}
	return SortKey{}, paramErr("sort", s, "must be prefix, age, as-path-length, local-pref or neighbor, with - for descending")
}

// ParseSearchKind parses the criterion of a search.
func ParseSearchKind(s string) (SearchKind, error) {
	switch k := SearchKind(s); k {
	case SearchOrigin, SearchASN, SearchASPath, SearchCommunity, SearchLarge, SearchExt, SearchNextHop:
		return k, nil
	}
	return "", paramErr("kind", s, "must be origin, asn, as-path, community, large-community, ext-community or next-hop")
}

// ParseSearch parses the value q of a search of the given kind into a query.
func ParseSearch(kind SearchKind, q string) (SearchQuery, error) {
	sq := SearchQuery{Kind: kind}
	var err error
	switch kind {
	case SearchOrigin, SearchASN:
		sq.ASN, err = ParseASN(q)
	case SearchASPath:
		sq.ASPath, err = ParseASPathPattern(q)
	case SearchCommunity:
		sq.Community, err = ParseCommunity(q)
	case SearchLarge:
		sq.Large, err = ParseLargeCommunity(q)
	case SearchExt:
		sq.Ext, err = ParseExtCommunity(q)
	case SearchNextHop:
		sq.NextHop, err = ParseAddr("next hop", q)
	default:
		err = paramErr("kind", string(kind), "unknown search")
	}
	return sq, err
}

// ProtocolID is a session's id in the birdwatcher, bgplgd and Bird's Eye shapes, and an accepted
// spelling of the session in /api/v1: "R_" and the neighbor address with '.' and ':' written as
// '_' (R_192_0_2_11, R_2001_db8__11). It depends on the address alone, so it is stable across
// restarts, reloads and renames, and ParseSessionID reads the address back from it.
func ProtocolID(a netip.Addr) string {
	// Built in one buffer: every route of a page carries its session's id.
	var buf [2 + 46]byte
	return string(appendProtocolID(buf[:0], a))
}

// appendProtocolID appends ProtocolID(a) to b.
func appendProtocolID(b []byte, a netip.Addr) []byte {
	n := len(b) + 2
	b = a.AppendTo(append(b, 'R', '_'))
	for i := n; i < len(b); i++ {
		if b[i] == '.' || b[i] == ':' {
			b[i] = '_'
		}
	}
	return b
}

// ParseSessionID parses a session's id: its neighbor address or its ProtocolID.
func ParseSessionID(s string) (netip.Addr, error) {
	if !strings.HasPrefix(s, "R_") {
		return ParseAddr("session", s)
	}
	body := s[2:]
	if len(body) > 45 {
		return netip.Addr{}, paramErr("session", s, "not a session id")
	}
	if strings.Count(body, "_") == 3 && !strings.Contains(body, "__") {
		if a, err := netip.ParseAddr(strings.ReplaceAll(body, "_", ".")); err == nil && a.Is4() && ProtocolID(a) == s {
			return a, nil
		}
	}
	a, err := netip.ParseAddr(strings.ReplaceAll(body, "_", ":"))
	if err != nil || !a.Is6() || a.Zone() != "" || a.Is4In6() || ProtocolID(a) != s {
		return netip.Addr{}, paramErr("session", s, "not a session id (R_ and the address with _ for . and :)")
	}
	return a, nil
}

// parseUint32Param parses a number 0..4294967295 in a path.
func parseUint32Param(name, v string) (uint32, error) {
	n, ok := parseUint(v, 32)
	if !ok {
		return 0, paramErr(name, v, "not a number 0..4294967295")
	}
	return uint32(n), nil
}

// query checks that a request has only the allowed parameters, each at most once.
func query(c echo.Context, allowed ...string) error {
	for k, v := range c.QueryParams() {
		if !slices.Contains(allowed, k) {
			return paramErr(k, "", "unknown parameter (allowed: %v)", allowed)
		}
		if len(v) > 1 {
			return paramErr(k, v[0], "given more than once")
		}
	}
	return nil
}

// pageParams parses limit, cursor and sort.
func pageParams(c echo.Context) (Page, SortKey, error) {
	limit, err := ParseLimit(c.QueryParam("limit"))
	if err != nil {
		return Page{}, SortKey{}, err
	}
	cursor, err := ParseCursor(c.QueryParam("cursor"))
	if err != nil {
		return Page{}, SortKey{}, err
	}
	sk, err := ParseSort(c.QueryParam("sort"))
	return Page{Cursor: cursor, Limit: limit}, sk, err
}
