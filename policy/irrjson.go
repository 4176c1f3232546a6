package policy

import (
	"cmp"
	"slices"

	"github.com/ixrs/ixrs/internal/jsonscan"
)

// A reload with one member's changed prefix list spent most of its time decoding it with
// encoding/json (80 ms and 38 MB of garbage for 60,000 entries, BenchmarkParseBGPQ4JSON), and the
// garbage started a collection of the whole RIB's heap. fastParseBGPQ4JSON reads the shape
// `bgpq4 -j` writes (plain ASCII keys and prefixes, true and false, small integers, each key once)
// in one pass, and gives up on anything else, every file ParseBGPQ4JSON refuses included:
// parseBGPQ4Reflect then decides, and its verdict, result and errors stay the reference
// (FuzzParseBGPQ4JSON compares the two).

// fastParseBGPQ4JSON is ParseBGPQ4JSON for the plain shape; ok is false for anything else.
func fastParseBGPQ4JSON(data []byte) (out []IRRPrefix, ok bool) {
	s := &jsonscan.Scanner{B: data}
	if !s.Next('{') {
		return nil, false
	}
	type list struct {
		key  string
		ents []IRRPrefix
	}
	var lists []list
	total := 0
	if !s.Next('}') {
		for {
			k, ok := s.Str()
			if !ok || !s.Next(':') {
				return nil, false
			}
			for _, l := range lists {
				if l.key == string(k) {
					return nil, false // encoding/json keeps the last list of a repeated key
				}
			}
			ents, ok := jsonscan.Objects(s, maxIRREntries-total, func() (IRRPrefix, bool) { return bgpq4Entry(s) })
			if !ok {
				return nil, false
			}
			total += len(ents)
			lists = append(lists, list{string(k), ents})
			if s.Next('}') {
				break
			}
			if !s.Next(',') {
				return nil, false
			}
		}
	}
	if !s.End() {
		return nil, false
	}
	if len(lists) == 1 {
		return lists[0].ents, true
	}
	slices.SortFunc(lists, func(a, b list) int { return cmp.Compare(a.key, b.key) })
	out = make([]IRRPrefix, 0, total)
	for _, l := range lists {
		out = append(out, l.ents...)
	}
	return out, true
}

// bgpq4Entry reads one entry, which must be valid.
func bgpq4Entry(s *jsonscan.Scanner) (IRRPrefix, bool) {
	if !s.Next('{') || s.Next('}') {
		return IRRPrefix{}, false
	}
	var (
		b                          []byte
		hasPrefix, hasExact, exact bool
		ge, le                     *int
	)
	for {
		k, ok := s.Key("prefix", "exact", "greater-equal", "less-equal")
		if !ok {
			return IRRPrefix{}, false
		}
		switch k {
		case "prefix":
			if hasPrefix {
				return IRRPrefix{}, false
			}
			hasPrefix = true
			if b, ok = s.Str(); !ok {
				return IRRPrefix{}, false
			}
		case "exact":
			if hasExact {
				return IRRPrefix{}, false
			}
			hasExact = true
			if exact, ok = s.Bool(); !ok {
				return IRRPrefix{}, false
			}
		case "greater-equal", "less-equal":
			n, ok := s.Uint()
			bound := &ge
			if k == "less-equal" {
				bound = &le
			}
			if !ok || *bound != nil || n > 128 {
				return IRRPrefix{}, false
			}
			v := int(n)
			*bound = &v
		default:
			return IRRPrefix{}, false // an unknown field, refused
		}
		if s.Next('}') {
			break
		}
		if !s.Next(',') {
			return IRRPrefix{}, false
		}
	}
	if !hasPrefix {
		return IRRPrefix{}, false
	}
	p, ok := jsonscan.ParsePrefix(b)
	if !ok {
		return IRRPrefix{}, false
	}
	e, problem := irrBounds(p, exact, ge, le)
	return e, problem == ""
}
