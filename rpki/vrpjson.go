package rpki

import "github.com/ixrs/ixrs/internal/jsonscan"

// A reload with a changed VRP file spent most of its time in encoding/json (half a second for
// 400,000 VRPs, BenchmarkVRPFile400k). fastParseJSON reads the shape rpki-client and StayRTR
// write — plain ASCII strings, integer numbers, each key once — in one pass without reflection,
// and gives up on anything else: ParseJSON then decodes the file with encoding/json, whose verdict
// and error messages stay the reference. So the fast path accepts only what encoding/json accepts,
// with the same result (FuzzParseJSON checks both), and every refused file is refused by the
// same code as before. The scanner (internal/jsonscan) is shared with policy's bgpq4 reader.

// vrpScanner reads a VRP file's shape.
type vrpScanner struct{ jsonscan.Scanner }

// fastParseJSON is ParseJSON for the plain shape; ok is false when the data is anything else.
func fastParseJSON(data []byte) (vrps []VRP, ok bool) {
	s := &vrpScanner{Scanner: jsonscan.Scanner{B: data}}
	if !s.Next('{') {
		return nil, false
	}
	seen := false
	if s.Next('}') {
		return nil, false // no "roas"
	}
	for {
		k, ok := s.Key("roas")
		if !ok {
			return nil, false
		}
		if k == "" {
			if !s.Skip() {
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
		if s.Next('}') {
			break
		}
		if !s.Next(',') {
			return nil, false
		}
	}
	if !seen || !s.End() {
		return nil, false
	}
	return vrps, true
}

// roas reads the "roas" array.
func (s *vrpScanner) roas() ([]VRP, bool) { return jsonscan.Objects(&s.Scanner, maxVRPs, s.roa) }

// roa reads one entry, which must be valid.
func (s *vrpScanner) roa() (VRP, bool) {
	var v VRP
	if !s.Next('{') || s.Next('}') {
		return v, false
	}
	var hasPrefix, hasMax, hasASN bool
	for {
		k, ok := s.Key("prefix", "maxLength", "asn")
		if !ok {
			return v, false
		}
		switch k {
		case "prefix":
			b, ok := s.Str()
			if !ok || hasPrefix {
				return v, false
			}
			hasPrefix = true
			if v.Prefix, ok = jsonscan.ParsePrefix(b); !ok {
				return v, false
			}
		case "maxLength":
			n, ok := s.Uint()
			if !ok || hasMax || n > 128 {
				return v, false
			}
			hasMax, v.MaxLength = true, int(n)
		case "asn":
			if hasASN {
				return v, false
			}
			hasASN = true
			s.WS()
			var n uint64
			if s.I < len(s.B) && s.B[s.I] == '"' {
				b, ok := s.Str()
				if !ok {
					return v, false
				}
				if len(b) > 2 && (b[0]|0x20) == 'a' && (b[1]|0x20) == 's' {
					b = b[2:]
				}
				if n, ok = jsonscan.Digits(b); !ok {
					return v, false
				}
			} else if n, ok = s.Uint(); !ok {
				return v, false
			}
			if n > 1<<32-1 {
				return v, false
			}
			v.ASN = uint32(n)
		default:
			if !s.Skip() {
				return v, false
			}
		}
		if s.Next('}') {
			break
		}
		if !s.Next(',') {
			return v, false
		}
	}
	if !hasPrefix || !hasMax || !hasASN || v.MaxLength < v.Prefix.Bits() || v.MaxLength > v.Prefix.Addr().BitLen() {
		return v, false
	}
	return v, true
}
