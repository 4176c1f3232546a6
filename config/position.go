package config

import (
	"slices"
	"strconv"
	"strings"
)

// pos is where a key or an array element starts in the source, 1-based.
type pos struct{ line, col int }

// positions maps key paths to where they appear in the source file.
//
// A path joins table and key names with "." and array indexes with "[i]":
// "server.asn", "member[2].neighbors[1]", "rpki.caches[0].address".
// Array-of-tables headers ([[member]]) are recorded under their indexed path
// ("member[2]"), so a missing key can be reported at its table's header.
//
// The TOML library keeps positions only per key name (every [[member]]'s
// "asn" shares one entry, holding the last one) and does not export them, so
// the file is scanned again here, after the library has accepted its syntax.
type positions map[string]pos

// line returns the line of path, or of its closest ancestor that appears in
// the file (a missing key is reported at its table's header); 0 if none does.
func (p positions) line(path string) int {
	for path != "" {
		if q, ok := p[path]; ok {
			return q.line
		}
		path = parentPath(path)
	}
	return 0
}

// has reports whether path itself appears in the file.
func (p positions) has(path string) bool {
	_, ok := p[path]
	return ok
}

// parentPath strips the last ".key" or "[i]" from path.
func parentPath(path string) string {
	i := strings.LastIndexAny(path, ".[")
	if i < 0 {
		return ""
	}
	return path[:i]
}

// joinPath appends key to the table path base.
func joinPath(base, key string) string {
	if base == "" {
		return key
	}
	return base + "." + key
}

func indexPath(base string, i int) string {
	return base + "[" + strconv.Itoa(i) + "]"
}

// scanPositions records where every key, table header and array element of
// src starts. src should be valid TOML (it is scanned only after the TOML
// library parsed it); on anything else the result may be incomplete, but the
// scan always terminates and never panics.
func scanPositions(src string) positions {
	s := &scanner{
		src:    src,
		pos:    make(positions),
		arrays: make(map[string]int),
		lines:  []int{0},
	}
	for i := 0; i < len(src); i++ {
		if src[i] == '\n' {
			s.lines = append(s.lines, i+1)
		}
	}
	for s.i < len(s.src) {
		s.skipSpaceNL()
		if s.i >= len(s.src) {
			break
		}
		start := s.i
		if s.src[s.i] == '[' {
			s.header()
		} else {
			s.keyValue(s.table)
		}
		if s.i == start {
			s.i++ // never loop on input the scanner does not understand
		}
	}
	return s.pos
}

type scanner struct {
	src    string
	i      int
	lines  []int // byte offset of the start of each line
	pos    positions
	arrays map[string]int // array-of-tables path → elements seen so far
	table  string         // path of the current [table] or [[table]] element
}

func (s *scanner) peek(off int) byte {
	if s.i+off < len(s.src) {
		return s.src[s.i+off]
	}
	return 0
}

// record stores the position of byte offset off under path, keeping the first.
func (s *scanner) record(path string, off int) {
	if path == "" {
		return
	}
	if _, ok := s.pos[path]; ok {
		return
	}
	n, found := slices.BinarySearch(s.lines, off)
	if found {
		n++
	}
	if n < 1 {
		n = 1
	}
	s.pos[path] = pos{line: n, col: off - s.lines[n-1] + 1}
}

// skipSpace skips blanks on the current line.
func (s *scanner) skipSpace() {
	for s.i < len(s.src) && (s.src[s.i] == ' ' || s.src[s.i] == '\t') {
		s.i++
	}
}

// skipSpaceNL skips blanks, newlines and comments.
func (s *scanner) skipSpaceNL() {
	for s.i < len(s.src) {
		switch s.src[s.i] {
		case ' ', '\t', '\r', '\n':
			s.i++
		case '#':
			for s.i < len(s.src) && s.src[s.i] != '\n' {
				s.i++
			}
		default:
			return
		}
	}
}

// header handles "[a.b]" and "[[a.b]]".
func (s *scanner) header() {
	start := s.i
	s.i++
	array := s.peek(0) == '['
	if array {
		s.i++
	}
	parts := s.keyParts()
	s.skipSpace()
	for s.i < len(s.src) && s.src[s.i] == ']' {
		s.i++
	}
	path := ""
	for j, k := range parts {
		path = joinPath(path, k)
		if j == len(parts)-1 && array {
			n := s.arrays[path]
			s.arrays[path] = n + 1
			path = indexPath(path, n)
		} else if n, ok := s.arrays[path]; ok && n > 0 {
			path = indexPath(path, n-1) // a sub-table of the latest element
		}
		s.record(path, start)
	}
	s.table = path
}

// keyParts reads a possibly dotted, possibly quoted key.
func (s *scanner) keyParts() []string {
	var parts []string
	for {
		s.skipSpace()
		if s.i >= len(s.src) {
			return parts
		}
		var part string
		switch c := s.src[s.i]; {
		case c == '"':
			start := s.i
			s.basicString()
			raw := s.src[start:s.i]
			if u, err := strconv.Unquote(raw); err == nil {
				part = u
			} else {
				part = strings.Trim(raw, `"`)
			}
		case c == '\'':
			start := s.i
			s.literalString()
			part = strings.Trim(s.src[start:s.i], "'")
		case isBare(c):
			start := s.i
			for s.i < len(s.src) && isBare(s.src[s.i]) {
				s.i++
			}
			part = s.src[start:s.i]
		default:
			return parts
		}
		parts = append(parts, part)
		s.skipSpace()
		if s.peek(0) != '.' {
			return parts
		}
		s.i++
	}
}

func isBare(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c >= 0x80
}

// keyValue handles "key = value" inside the table at path base.
func (s *scanner) keyValue(base string) {
	start := s.i
	parts := s.keyParts()
	if len(parts) == 0 {
		return
	}
	path := base
	for _, k := range parts {
		path = joinPath(path, k)
		s.record(path, start)
	}
	s.skipSpace()
	if s.peek(0) == '=' {
		s.i++
	}
	s.skipSpace()
	s.value(path)
}

// value skips one value, recording the positions of array elements and of
// keys inside inline tables.
func (s *scanner) value(path string) {
	if s.i >= len(s.src) {
		return
	}
	switch s.src[s.i] {
	case '"':
		s.basicString()
	case '\'':
		s.literalString()
	case '[':
		s.array(path)
	case '{':
		s.inlineTable(path)
	default:
		for s.i < len(s.src) && !strings.ContainsRune(",]}#\r\n", rune(s.src[s.i])) {
			s.i++
		}
	}
}

func (s *scanner) array(path string) {
	s.i++ // '['
	for n := 0; s.i < len(s.src); {
		s.skipSpaceNL()
		if s.i >= len(s.src) {
			return
		}
		switch s.src[s.i] {
		case ']':
			s.i++
			return
		case ',':
			s.i++
			continue
		}
		elem := indexPath(path, n)
		s.record(elem, s.i)
		start := s.i
		s.value(elem)
		if s.i == start {
			s.i++
		}
		n++
	}
}

func (s *scanner) inlineTable(path string) {
	s.i++ // '{'
	for s.i < len(s.src) {
		s.skipSpaceNL()
		if s.i >= len(s.src) {
			return
		}
		switch s.src[s.i] {
		case '}':
			s.i++
			return
		case ',':
			s.i++
			continue
		}
		start := s.i
		s.keyValue(path)
		if s.i == start {
			s.i++
		}
	}
}

// basicString skips a "…" or """…""" string.
func (s *scanner) basicString() {
	if strings.HasPrefix(s.src[s.i:], `"""`) {
		s.i += 3
		for s.i < len(s.src) {
			switch {
			case s.src[s.i] == '\\':
				s.i += 2
			case strings.HasPrefix(s.src[s.i:], `"""`):
				s.i += 3
				for k := 0; k < 2 && s.peek(0) == '"'; k++ { // """a"""" ends in a quote
					s.i++
				}
				return
			default:
				s.i++
			}
		}
		s.i = min(s.i, len(s.src))
		return
	}
	s.i++
	for s.i < len(s.src) {
		switch s.src[s.i] {
		case '\\':
			s.i += 2
		case '"':
			s.i++
			return
		case '\n':
			return
		default:
			s.i++
		}
	}
	s.i = min(s.i, len(s.src))
}

// literalString skips a literal string, single-line or multi-line.
func (s *scanner) literalString() {
	if strings.HasPrefix(s.src[s.i:], "'''") {
		s.i += 3
		end := strings.Index(s.src[s.i:], "'''")
		if end < 0 {
			s.i = len(s.src)
			return
		}
		s.i += end + 3
		for k := 0; k < 2 && s.peek(0) == '\''; k++ {
			s.i++
		}
		return
	}
	s.i++
	for s.i < len(s.src) && s.src[s.i] != '\'' && s.src[s.i] != '\n' {
		s.i++
	}
	if s.peek(0) == '\'' {
		s.i++
	}
}
