// Package jsonscan reads the plain shapes of the JSON data files a route server reloads at IXP
// scale (VRP files, bgpq4 prefix lists) in one pass without reflection. A caller's fast path built
// on it gives up on anything outside the plain shape (escapes, non-ASCII, keys that encoding/json
// would match case-insensitively, duplicates, other types) and lets encoding/json decide, so that
// the fast path never accepts what encoding/json refuses nor reads it differently; each caller's
// fuzz target compares the two.
package jsonscan

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"strings"
)

// maxSkipDepth bounds the nesting of an ignored value (metadata, ASPA data) the fast path skips;
// deeper values go to encoding/json, which has its own nesting limit.
const maxSkipDepth = 64

// Scanner reads JSON from B, at offset I.
type Scanner struct {
	B []byte
	I int
}

// WS skips white space.
func (s *Scanner) WS() {
	if s.I < len(s.B) && s.B[s.I] > ' ' {
		return // the common case: the next byte is no white space
	}
	for s.I < len(s.B) {
		switch s.B[s.I] {
		case ' ', '\t', '\n', '\r':
			s.I++
		default:
			return
		}
	}
}

// Next skips white space and reports whether the next byte is c, consuming it if so.
func (s *Scanner) Next(c byte) bool {
	s.WS()
	if s.I < len(s.B) && s.B[s.I] == c {
		s.I++
		return true
	}
	return false
}

// Str reads a string of printable ASCII without escapes, after white space.
func (s *Scanner) Str() ([]byte, bool) {
	if !s.Next('"') {
		return nil, false
	}
	start := s.I
	for s.I < len(s.B) && !strStop[s.B[s.I]] {
		s.I++
	}
	if s.I < len(s.B) && s.B[s.I] == '"' {
		s.I++
		return s.B[start : s.I-1], true
	}
	return nil, false
}

// strStop is the bytes that end a plain string, or make it something else: the closing quote,
// escapes, control characters and anything outside printable ASCII.
var strStop = func() (t [256]bool) {
	for c := range t {
		t[c] = c == '"' || c == '\\' || c < 0x20 || c >= 0x7f
	}
	return t
}()

// Uint reads an integer of at most 10 digits in JSON's syntax (no sign, no leading zero), after
// white space; a fraction or exponent after it is left unread and fails the caller's next check.
func (s *Scanner) Uint() (uint64, bool) {
	s.WS()
	start := s.I
	var v uint64
	for s.I < len(s.B) && s.B[s.I] >= '0' && s.B[s.I] <= '9' && s.I-start < 11 {
		v = v*10 + uint64(s.B[s.I]-'0')
		s.I++
	}
	n := s.I - start
	if n == 0 || n > 10 || (n > 1 && s.B[start] == '0') {
		return 0, false
	}
	return v, true
}

// Key reads an object key and the colon after it, and returns the one of known it is, or "" for
// another key. It fails on a key that encoding/json could match to a known one without being it
// (another case, non-ASCII).
func (s *Scanner) Key(known ...string) (string, bool) {
	k, ok := s.Str()
	if !ok || !s.Next(':') {
		return "", false
	}
	for _, n := range known {
		if string(k) == n {
			return n, true
		}
		// k is printable ASCII (Str): a key of another length cannot fold to n.
		if len(k) == len(n) && strings.EqualFold(string(k), n) {
			return "", false
		}
	}
	return "", true // ignored key
}

// Skip passes over one value of any kind, which must be valid JSON of bounded nesting.
func (s *Scanner) Skip() bool {
	s.WS()
	start, depth := s.I, 0
	// Plain strings and integers need no json.Valid.
	if s.I < len(s.B) && s.B[s.I] == '"' {
		if _, ok := s.Str(); ok {
			return true
		}
		s.I = start
	} else if _, ok := s.Uint(); ok && s.I < len(s.B) && (s.B[s.I] == ',' || s.B[s.I] == '}' || s.B[s.I] <= ' ') {
		return true
	} else {
		s.I = start
	}
	for s.I < len(s.B) {
		c := s.B[s.I]
		switch c {
		case '"':
			s.I++
			for s.I < len(s.B) && s.B[s.I] != '"' {
				if s.B[s.I] == '\\' {
					s.I++
				}
				s.I++
			}
			if s.I >= len(s.B) {
				return false
			}
		case '{', '[':
			if depth++; depth > maxSkipDepth {
				return false
			}
		case '}', ']', ',':
			if depth == 0 {
				return json.Valid(s.B[start:s.I])
			}
			if c != ',' {
				depth--
			}
		}
		s.I++
	}
	return false
}

// Digits is strconv.ParseUint(b, 10, 32)'s accepted syntax, up to 10 digits.
func Digits(b []byte) (uint64, bool) {
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

// ParsePrefix is netip.ParsePrefix followed by Masked, with a fast path for IPv4 in canonical
// form (no leading zeros), which netip.ParsePrefix accepts with the same result.
func ParsePrefix(b []byte) (netip.Prefix, bool) {
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
	bits, ok := Digits(b[i:])
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

// Bool reads true or false, after white space. What follows the literal is the caller's next
// check: "truex" fails it.
func (s *Scanner) Bool() (v, ok bool) {
	s.WS()
	switch rest := s.B[s.I:]; {
	case bytes.HasPrefix(rest, []byte("true")):
		s.I += 4
		return true, true
	case bytes.HasPrefix(rest, []byte("false")):
		s.I += 5
		return false, true
	}
	return false, false
}

// End reports whether only white space is left.
func (s *Scanner) End() bool {
	s.WS()
	return s.I == len(s.B)
}

// Objects reads an array of objects, each read by elem, at most max of them. The result is sized
// by counting the braces ahead (bytes.Count of one byte is vectorized: a few milliseconds for
// 400,000 entries); an estimate from the data's size allocated twice what a VRP file's entries
// take, garbage a reload's collection then had to catch up with. Objects after the array only make
// the count larger.
func Objects[T any](s *Scanner, max int, elem func() (T, bool)) ([]T, bool) {
	if !s.Next('[') {
		return nil, false
	}
	out := make([]T, 0, min(bytes.Count(s.B[s.I:], []byte{'{'})+1, max))
	if s.Next(']') {
		return out, true
	}
	for {
		v, ok := elem()
		if !ok || len(out) == max {
			return nil, false
		}
		out = append(out, v)
		if s.Next(']') {
			return out, true
		}
		if !s.Next(',') {
			return nil, false
		}
	}
}
