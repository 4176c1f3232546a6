package rpki

import (
	"encoding/json"
	"net/netip"
	"strings"
)

// A reload with a changed VRP file spent most of its time in encoding/json (half a second for
// 400,000 VRPs, BenchmarkVRPFile400k). fastParseJSON reads the shape rpki-client and StayRTR
// write — plain ASCII strings, integer numbers, each key once — in one pass without reflection,
// and gives up on anything else: ParseJSON then decodes the file with encoding/json, whose verdict
// and error messages stay the reference. So the fast path accepts only what encoding/json accepts,
// with the same result (FuzzParseJSON checks both), and every refused file is refused by the
// same code as before.

// maxSkipDepth bounds the nesting of an ignored value (metadata, ASPA data) the fast path skips;
// deeper values go to encoding/json, which has its own nesting limit.
const maxSkipDepth = 64

type vrpScanner struct {
	b []byte
	i int
}

func (s *vrpScanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// next skips white space and reports whether the next byte is c, consuming it if so.
func (s *vrpScanner) next(c byte) bool {
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

// str reads a string of printable ASCII without escapes, after white space.
func (s *vrpScanner) str() ([]byte, bool) {
	if !s.next('"') {
		return nil, false
	}
	start := s.i
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			s.i++
			return s.b[start : s.i-1], true
		case c < 0x20 || c >= 0x7f || c == '\\':
			return nil, false
		}
		s.i++
	}
	return nil, false
}

// uint reads an integer of at most 10 digits in JSON's syntax (no sign, no leading zero), after
// white space; a fraction or exponent after it is left unread and fails the caller's next check.
func (s *vrpScanner) uint() (uint64, bool) {
	s.ws()
	start := s.i
	var v uint64
	for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' && s.i-start < 11 {
		v = v*10 + uint64(s.b[s.i]-'0')
		s.i++
	}
	n := s.i - start
	if n == 0 || n > 10 || (n > 1 && s.b[start] == '0') {
		return 0, false
	}
	return v, true
}

// key reads an object key and the colon after it. It fails on a key that encoding/json could
// match to a known one without being it (another case, non-ASCII).
func (s *vrpScanner) key(known ...string) (string, bool) {
	k, ok := s.str()
	if !ok || !s.next(':') {
		return "", false
	}
	for _, n := range known {
		if string(k) == n {
			return n, true
		}
		if strings.EqualFold(string(k), n) {
			return "", false
		}
	}
	return "", true // ignored key
}

// skip passes over one value of any kind, which must be valid JSON of bounded nesting.
func (s *vrpScanner) skip() bool {
	s.ws()
	start, depth := s.i, 0
	// Plain strings and integers (an entry's "ta" and "expires") need no json.Valid.
	if s.i < len(s.b) && s.b[s.i] == '"' {
		if _, ok := s.str(); ok {
			return true
		}
		s.i = start
	} else if _, ok := s.uint(); ok && s.i < len(s.b) && (s.b[s.i] == ',' || s.b[s.i] == '}' || s.b[s.i] <= ' ') {
		return true
	} else {
		s.i = start
	}
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch c {
		case '"':
			s.i++
			for s.i < len(s.b) && s.b[s.i] != '"' {
				if s.b[s.i] == '\\' {
					s.i++
				}
				s.i++
			}
			if s.i >= len(s.b) {
				return false
			}
		case '{', '[':
			if depth++; depth > maxSkipDepth {
				return false
			}
		case '}', ']', ',':
			if depth == 0 {
				return json.Valid(s.b[start:s.i])
			}
			if c != ',' {
				depth--
			}
		}
		s.i++
	}
	return false
}

// fastParseJSON is ParseJSON for the plain shape; ok is false when the data is anything else.
func fastParseJSON(data []byte) (vrps []VRP, ok bool) {
	s := &vrpScanner{b: data}
	if !s.next('{') {
		return nil, false
	}
	seen := false
	if s.next('}') {
		return nil, false // no "roas"
	}
	for {
		k, ok := s.key("roas")
		if !ok {
			return nil, false
		}
		if k == "" {
			if !s.skip() {
				return nil, false
			}
		} else {
			if seen {
				return nil, false
			}
			seen = true
			if vrps, ok = s.roas(); !ok {
				return nil, false
			}
		}
		if s.next('}') {
			break
		}
		if !s.next(',') {
			return nil, false
		}
	}
	s.ws()
	if !seen || s.i != len(s.b) {
		return nil, false
	}
	return vrps, true
}

// roas reads the "roas" array.
func (s *vrpScanner) roas() ([]VRP, bool) {
	if !s.next('[') {
		return nil, false
	}
	// An entry takes at least 48 bytes as rpki-client or StayRTR write it: an estimate, not a
	// count, which would cost another pass over the data.
	out := make([]VRP, 0, min((len(s.b)-s.i)/48+1, maxVRPs))
	if s.next(']') {
		return out, true
	}
	for {
		v, ok := s.roa()
		if !ok || len(out) == maxVRPs {
			return nil, false
		}
		out = append(out, v)
		if s.next(']') {
			return out, true
		}
		if !s.next(',') {
			return nil, false
		}
	}
}

// roa reads one entry, which must be valid.
func (s *vrpScanner) roa() (VRP, bool) {
	var v VRP
	if !s.next('{') || s.next('}') {
		return v, false
	}
	var hasPrefix, hasMax, hasASN bool
	for {
		k, ok := s.key("prefix", "maxLength", "asn")
		if !ok {
			return v, false
		}
		switch k {
		case "prefix":
			b, ok := s.str()
			if !ok || hasPrefix {
				return v, false
			}
			hasPrefix = true
			if v.Prefix, ok = parsePrefix(b); !ok {
				return v, false
			}
		case "maxLength":
			n, ok := s.uint()
			if !ok || hasMax || n > 128 {
				return v, false
			}
			hasMax, v.MaxLength = true, int(n)
		case "asn":
			if hasASN {
				return v, false
			}
			hasASN = true
			s.ws()
			var n uint64
			if s.i < len(s.b) && s.b[s.i] == '"' {
				b, ok := s.str()
				if !ok {
					return v, false
				}
				if len(b) > 2 && (b[0]|0x20) == 'a' && (b[1]|0x20) == 's' {
					b = b[2:]
				}
				if n, ok = digits(b); !ok {
					return v, false
				}
			} else if n, ok = s.uint(); !ok {
				return v, false
			}
			if n > 1<<32-1 {
				return v, false
			}
			v.ASN = uint32(n)
		default:
			if !s.skip() {
				return v, false
			}
		}
		if s.next('}') {
			break
		}
		if !s.next(',') {
			return v, false
		}
	}
	if !hasPrefix || !hasMax || !hasASN || v.MaxLength < v.Prefix.Bits() || v.MaxLength > v.Prefix.Addr().BitLen() {
		return v, false
	}
	return v, true
}

// digits is strconv.ParseUint(b, 10, 32)'s accepted syntax, up to 10 digits.
func digits(b []byte) (uint64, bool) {
	if len(b) == 0 || len(b) > 10 {
		return 0, false
	}
	var v uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + uint64(c-'0')
	}
	return v, true
}

// parsePrefix is netip.ParsePrefix followed by Masked, with a fast path for IPv4 in canonical
// form (no leading zeros), which netip.ParsePrefix accepts with the same result.
func parsePrefix(b []byte) (netip.Prefix, bool) {
	var a [4]byte
	i := 0
	for o := range 4 {
		n, j := 0, i
		for j < len(b) && b[j] >= '0' && b[j] <= '9' && j-i < 4 {
			n = n*10 + int(b[j]-'0')
			j++
		}
		sep := byte('.')
		if o == 3 {
			sep = '/'
		}
		if j == i || j-i > 3 || n > 255 || (j-i > 1 && b[i] == '0') || j >= len(b) || b[j] != sep {
			return slowPrefix(b)
		}
		a[o], i = byte(n), j+1
	}
	bits, ok := digits(b[i:])
	if !ok || bits > 32 || (len(b)-i > 1 && b[i] == '0') {
		return slowPrefix(b)
	}
	return netip.PrefixFrom(netip.AddrFrom4(a), int(bits)).Masked(), true
}

func slowPrefix(b []byte) (netip.Prefix, bool) {
	p, err := netip.ParsePrefix(string(b))
	if err != nil || p.Addr().Zone() != "" {
		return netip.Prefix{}, false
	}
	return p.Masked(), true
}
