package rpki

import (
	"bytes"
	"runtime/debug"

	"github.com/ixrs/ixrs/internal/jsonscan"
)

// A reload with a changed VRP file spent most of its time in encoding/json (half a second for
// 400,000 VRPs, BenchmarkVRPFile400k). fastParseJSON reads the shape rpki-client and StayRTR
// write — plain ASCII strings, integer numbers, each key once — in one pass without reflection,
// and gives up on anything else: ParseJSON then decodes the file with encoding/json, whose verdict
// and error messages stay the reference. So the fast path accepts only what encoding/json accepts,
// with the same result (FuzzParseJSON checks both), and every refused file is refused by the
// same code as before. The scanner (internal/jsonscan) is shared with policy's bgpq4 reader.

// vrpScanner reads a VRP file's shape.
type vrpScanner struct {
	jsonscan.Scanner
	splitMin int // see splitAt
}

// splitAt is the size of "roas" array, in bytes, from which fastParseJSON reads its two halves at
// once, on two goroutines: 40 MB for 400,000 VRPs took 125-140 ms on one core, during a reload that
// has the route server's other cores to itself. A third of that is 4 MB.
const splitAt = 4 << 20

// fastParseJSON is ParseJSON for the plain shape; ok is false when the data is anything else. A
// "roas" array of splitMin bytes or more is read in two halves at once (roasSplit).
func fastParseJSON(data []byte, splitMin int) (vrps []VRP, ok bool) {
	s := &vrpScanner{Scanner: jsonscan.Scanner{B: data}, splitMin: splitMin}
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
func (s *vrpScanner) roas() ([]VRP, bool) {
	s.WS()
	if len(s.B)-s.I >= s.splitMin {
		if vrps, ok := s.roasSplit(); ok {
			return vrps, true
		}
	}
	return jsonscan.Objects(&s.Scanner, maxVRPs, s.roa)
}

// roasSplit reads the "roas" array, which s is at, in two halves at once, or reports false and
// leaves s where it was. The halves meet at the first "}" followed by "," and "{" (white space
// allowed between) after the middle of what is left of the data; that may be inside a string, so
// the first half, read from the array's start, must end exactly there with an entry: then it was
// the end of an entry, and the second half starts at the next one. Anything else (no such place, a
// first half that does not end there, an entry either half refuses) is read again in one pass,
// which decides.
func (s *vrpScanner) roasSplit() (vrps []VRP, ok bool) {
	b, start := s.B, s.I
	if start >= len(b) || b[start] != '[' {
		return nil, false
	}
	split, next := -1, -1 // the end of the first half's last entry; the start of the second half's first
	for i, tries := start+(len(b)-start)/2, 0; tries < 64 && split < 0; tries++ {
		j := bytes.IndexByte(b[i:], '}')
		if j < 0 {
			return nil, false
		}
		i += j + 1
		if c := (jsonscan.Scanner{B: b, I: i}); c.Next(',') && c.Next('{') {
			split, next = i, c.I-1
		}
	}
	if split < 0 {
		return nil, false
	}
	// One array for both halves, each sized by its braces (one per entry, more if strings hold
	// some), the second half moved down after the first if the first had fewer entries.
	n1 := bytes.Count(b[start:split], []byte{'{'})
	all := make([]VRP, 0, n1+bytes.Count(b[next:], []byte{'{'}))
	first, second := all[:0:n1], all[n1:n1]

	// The data may be a mapping of the file that faults when read (the route server's file cache
	// turns such a fault into an error, debug.SetPanicOnFault): the second half's goroutine reads
	// it under the same setting, and any panic of it is raised again here, once both halves are done.
	onFault := debug.SetPanicOnFault(false)
	debug.SetPanicOnFault(onFault)
	done := make(chan any, 1)
	var ok2 bool
	var end2 int
	go func() {
		debug.SetPanicOnFault(onFault)
		defer func() { done <- recover() }()
		if splitHook != nil {
			splitHook()
		}
		t := &vrpScanner{Scanner: jsonscan.Scanner{B: b, I: next}}
		for {
			v, ok := t.roa()
			if !ok || len(second) == maxVRPs {
				return
			}
			second = append(second, v)
			if t.Next(']') {
				ok2, end2 = true, t.I
				return
			}
			if !t.Next(',') {
				return
			}
		}
	}()
	waited := false
	defer func() {
		if r := recover(); r != nil {
			if !waited {
				<-done // the second half reads b no longer
			}
			panic(r)
		}
	}()
	ok1 := false
	f := &vrpScanner{Scanner: jsonscan.Scanner{B: b[:split], I: start + 1}}
	for len(first) < maxVRPs {
		v, ok := f.roa()
		if !ok {
			break
		}
		first = append(first, v)
		if f.I == split {
			ok1 = true
			break
		}
		if !f.Next(',') {
			break
		}
	}
	r := <-done
	waited = true
	if r != nil {
		panic(r)
	}
	if !ok1 || !ok2 || len(first)+len(second) > maxVRPs {
		return nil, false
	}
	all = append(all[:len(first)], second...) // a move within all's capacity, if any
	s.I = end2
	return all, true
}

// splitHook, when not nil, is called by the second half's goroutine before it reads (a test's
// way to truncate a mapped file under it).
var splitHook func()

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
			hasMax, v.MaxLength = true, uint8(n)
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
	if !hasPrefix || !hasMax || !hasASN || !usable(v) {
		return v, false
	}
	return v, true
}
