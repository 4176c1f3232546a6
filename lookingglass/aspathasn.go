package lookingglass

import "regexp/syntax"

// requiredASNs returns the ASes every path matching re contains (re is an AS-path pattern after
// "_" was spelled out): the runs of digits at the top level of the pattern with an AS boundary
// (start, end, a space, or an alternation of those) on both sides. A search can then read only the
// routes that carry one of them (the route server's AS index) and still run the pattern on each.
// It returns nil for a pattern with no such run (an alternation at the top, "\d", "3356.*").
func requiredASNs(re *syntax.Regexp) []uint32 {
	subs := []*syntax.Regexp{re}
	if re.Op == syntax.OpConcat {
		subs = re.Sub
	}
	// The pattern as a sequence of tokens: a digit, a boundary, or anything else.
	const boundary, other = -1, -2
	var toks []rune
	for _, s := range subs {
		switch {
		case s.Op == syntax.OpLiteral && s.Flags&syntax.FoldCase == 0:
			for _, r := range s.Rune {
				switch {
				case r == ' ':
					toks = append(toks, boundary)
				case '0' <= r && r <= '9':
					toks = append(toks, r)
				default:
					toks = append(toks, other)
				}
			}
		case isBoundary(s):
			toks = append(toks, boundary)
		default:
			toks = append(toks, other)
		}
	}
	var out []uint32
	for i := 0; i < len(toks); {
		if toks[i] < '0' {
			i++
			continue
		}
		j := i
		for j < len(toks) && toks[j] >= '0' {
			j++
		}
		if i > 0 && toks[i-1] == boundary && j < len(toks) && toks[j] == boundary {
			if a, ok := asnOf(toks[i:j]); ok {
				out = append(out, a)
			}
		}
		i = j
	}
	return out
}

// isBoundary reports whether s matches only at an AS boundary: the start or end of the path, or a
// space (so that digits on both sides of it are a whole AS).
func isBoundary(s *syntax.Regexp) bool {
	switch s.Op {
	case syntax.OpBeginText, syntax.OpEndText, syntax.OpBeginLine, syntax.OpEndLine:
		return true
	case syntax.OpLiteral:
		return len(s.Rune) == 1 && s.Rune[0] == ' '
	case syntax.OpCapture:
		return isBoundary(s.Sub[0])
	case syntax.OpAlternate:
		for _, x := range s.Sub {
			if !isBoundary(x) {
				return false
			}
		}
		return len(s.Sub) > 0
	case syntax.OpCharClass: // [ ] alone
		return len(s.Rune) == 2 && s.Rune[0] == ' ' && s.Rune[1] == ' '
	}
	return false
}

// asnOf reads digits as an AS number as paths write it: no leading zero, at most 4294967295.
func asnOf(ds []rune) (uint32, bool) {
	if len(ds) == 0 || len(ds) > 10 || ds[0] == '0' {
		return 0, false
	}
	var n uint64
	for _, d := range ds {
		n = n*10 + uint64(d-'0')
	}
	return uint32(n), n <= 1<<32-1
}
