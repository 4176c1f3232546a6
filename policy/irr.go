package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/gaissmai/bart"
)

// IRR is a member's IRR data: the prefixes it may announce (its route objects, expanded by
// bgpq4) and the origin ASNs (its AS-SET, expanded). Either part may be missing. An IRR value is
// immutable once built, so a reload builds a new one and hands it to the RIB, which swaps it in (rs.Server.SetIRR).
type IRR struct {
	// prefixes maps each listed prefix to its allowed length ranges (one prefix may be listed
	// more than once with different ranges).
	prefixes *bart.Table[[]IRRPrefix]
	nprefix  int
	asns     map[uint32]struct{}
	hasASNs  bool
}

// IRRPrefix is one entry of a prefix list: Prefix and its more-specifics of lengths Min..Max.
type IRRPrefix struct {
	Prefix   netip.Prefix
	Min, Max int
}

func (e IRRPrefix) String() string {
	if e.Min == e.Prefix.Bits() && e.Max == e.Min {
		return e.Prefix.String()
	}
	return fmt.Sprintf("%s{%d,%d}", e.Prefix, e.Min, e.Max)
}

func (e IRRPrefix) matches(pfx netip.Prefix) bool {
	return pfx.Bits() >= e.Min && pfx.Bits() <= e.Max && e.Prefix.Contains(pfx.Addr())
}

// NewIRR builds IRR data. nil prefixes (or asns) means that part is missing: the check it feeds
// fails with "no IRR data"; an empty non-nil list means the member may announce nothing.
func NewIRR(prefixes []IRRPrefix, asns []uint32) *IRR {
	irr := &IRR{}
	if prefixes != nil {
		irr.prefixes = new(bart.Table[[]IRRPrefix])
		for _, e := range prefixes {
			e.Prefix = e.Prefix.Masked()
			old, _ := irr.prefixes.Get(e.Prefix)
			irr.prefixes.Insert(e.Prefix, append(old, e))
			irr.nprefix++
		}
	}
	if asns != nil {
		irr.hasASNs = true
		irr.asns = make(map[uint32]struct{}, len(asns))
		for _, a := range asns {
			irr.asns[a] = struct{}{}
		}
	}
	return irr
}

// HasPrefixes reports whether the data includes a prefix list.
func (irr *IRR) HasPrefixes() bool { return irr != nil && irr.prefixes != nil }

// HasASNs reports whether the data includes an origin list.
func (irr *IRR) HasASNs() bool { return irr != nil && irr.hasASNs }

// Counts returns the number of prefix-list entries and origin ASNs.
func (irr *IRR) Counts() (prefixes, asns int) {
	if irr == nil {
		return 0, 0
	}
	return irr.nprefix, len(irr.asns)
}

// Origin reports whether asn is in the origin list.
func (irr *IRR) Origin(asn uint32) bool {
	if !irr.HasASNs() {
		return false
	}
	_, ok := irr.asns[asn]
	return ok
}

// Prefix returns the entry that allows pfx.
func (irr *IRR) Prefix(pfx netip.Prefix) (IRRPrefix, bool) {
	if !irr.HasPrefixes() {
		return IRRPrefix{}, false
	}
	for _, es := range irr.prefixes.Supernets(pfx) {
		for _, e := range es {
			if e.matches(pfx) {
				return e, true
			}
		}
	}
	return IRRPrefix{}, false
}

// Covers returns an entry whose prefix covers pfx, whatever lengths it allows: a blackhole
// more-specific must lie inside the member's authorised address space (docs/policy.md check 12).
func (irr *IRR) Covers(pfx netip.Prefix) (IRRPrefix, bool) {
	if !irr.HasPrefixes() {
		return IRRPrefix{}, false
	}
	for _, es := range irr.prefixes.Supernets(pfx) {
		return es[0], true
	}
	return IRRPrefix{}, false
}

// Equal reports whether two IRR values hold the same data; a reload that changes nothing
// re-evaluates nothing.
func (irr *IRR) Equal(o *IRR) bool {
	if irr == nil || o == nil {
		return irr == o
	}
	if irr.hasASNs != o.hasASNs || len(irr.asns) != len(o.asns) || irr.nprefix != o.nprefix ||
		(irr.prefixes == nil) != (o.prefixes == nil) {
		return false
	}
	for a := range irr.asns {
		if _, ok := o.asns[a]; !ok {
			return false
		}
	}
	if irr.prefixes == nil {
		return true
	}
	for p, es := range irr.prefixes.All() {
		oes, ok := o.prefixes.Get(p)
		if !ok || !slices.Equal(es, oes) {
			return false
		}
	}
	return true
}

// Errors of the IRR file decoders.
var ErrIRRFile = errors.New("bad IRR file")

// maxIRREntries bounds a file: the largest AS-SETs expand to a few hundred thousand prefixes.
const maxIRREntries = 2_000_000

// ParseBGPQ4JSON decodes the JSON `bgpq4 -j` writes for a prefix list:
//
//	{"NN": [{"prefix": "192.0.2.0/24", "exact": true},
//	        {"prefix": "198.51.100.0/22", "exact": false, "greater-equal": 23, "less-equal": 24}]}
//
// Every top-level key is a list and they are merged, so lists for IPv4 and IPv6 (bgpq4 -4 and -6)
// may share one file. An entry with exact false and no bounds allows every more-specific; with
// only greater-equal, lengths up to the address length; with only less-equal, from the prefix's
// own length. An empty list is valid (the member may announce nothing); anything malformed is an
// error naming the entry.
func ParseBGPQ4JSON(data []byte) ([]IRRPrefix, error) {
	if out, ok := fastParseBGPQ4JSON(data); ok {
		return out, nil
	}
	return parseBGPQ4Reflect(data)
}

// parseBGPQ4Reflect is ParseBGPQ4JSON with encoding/json: the reference for what is accepted, and
// the errors.
func parseBGPQ4Reflect(data []byte) ([]IRRPrefix, error) {
	var doc map[string][]struct {
		Prefix *string `json:"prefix"`
		Exact  *bool   `json:"exact"`
		GE     *int    `json:"greater-equal"`
		LE     *int    `json:"less-equal"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrIRRFile, err)
	}
	if doc == nil {
		return nil, fmt.Errorf("%w: not a JSON object of prefix lists", ErrIRRFile)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: data after the JSON object", ErrIRRFile)
	}
	keys := make([]string, 0, len(doc))
	for k := range doc {
		keys = append(keys, k)
	}
	slices.Sort(keys) // errors name the same entry every time
	out := []IRRPrefix{}
	for _, k := range keys {
		for i, e := range doc[k] {
			bad := func(format string, a ...any) error {
				return fmt.Errorf("%w: %q entry %d: %s", ErrIRRFile, k, i, fmt.Sprintf(format, a...))
			}
			if e.Prefix == nil {
				return nil, bad("no prefix")
			}
			p, err := netip.ParsePrefix(*e.Prefix)
			if err != nil {
				return nil, bad("%v", err)
			}
			if p.Addr().Zone() != "" {
				return nil, bad("bad prefix %q", *e.Prefix)
			}
			ent, problem := irrBounds(p.Masked(), e.Exact != nil && *e.Exact, e.GE, e.LE)
			if problem != "" {
				return nil, bad("%s", problem)
			}
			if len(out) >= maxIRREntries {
				return nil, fmt.Errorf("%w: more than %d entries", ErrIRRFile, maxIRREntries)
			}
			out = append(out, ent)
		}
	}
	return out, nil
}

// irrBounds is the entry of a bgpq4 list for p (masked), or what is wrong with it: exact allows p
// alone; otherwise its more-specifics from ge (default p's length) to le (default the address
// length).
func irrBounds(p netip.Prefix, exact bool, ge, le *int) (IRRPrefix, string) {
	host := p.Addr().BitLen()
	ent := IRRPrefix{Prefix: p, Min: p.Bits(), Max: p.Bits()}
	if !exact {
		ent.Max = host
		if ge != nil {
			ent.Min = *ge
		}
		if le != nil {
			ent.Max = *le
		}
	} else if ge != nil || le != nil {
		return ent, "exact with length bounds"
	}
	if ent.Min < p.Bits() || ent.Max > host || ent.Min > ent.Max {
		return ent, fmt.Sprintf("lengths %d-%d do not fit %s", ent.Min, ent.Max, p)
	}
	return ent, ""
}

// ParseASNList decodes an origin-ASN list. Two forms are accepted:
//
//   - JSON, an object with the list under any one key, as `bgpq4 -j -t` writes it
//     ({"NN": [64501, 64502]}), or {"asns": [64501, "AS64502"]};
//   - text, one ASN per line ("64501" or "AS64501"), with blank lines and # comments.
//
// An empty list is valid; anything malformed is an error naming the line or entry.
func ParseASNList(data []byte) ([]uint32, error) {
	trim := bytes.TrimSpace(data)
	if len(trim) > 0 && trim[0] == '{' {
		return parseASNJSON(trim)
	}
	out := []uint32{}
	for i, line := range strings.Split(string(data), "\n") {
		if j := strings.IndexByte(line, '#'); j >= 0 {
			line = line[:j]
		}
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		a, err := parseASN(line)
		if err != nil {
			return nil, fmt.Errorf("%w: line %d: %v", ErrIRRFile, i+1, err)
		}
		if len(out) >= maxIRREntries {
			return nil, fmt.Errorf("%w: more than %d entries", ErrIRRFile, maxIRREntries)
		}
		out = append(out, a)
	}
	return out, nil
}

func parseASNJSON(data []byte) ([]uint32, error) {
	var doc map[string][]json.RawMessage
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrIRRFile, err)
	}
	keys := make([]string, 0, len(doc))
	for k := range doc {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := []uint32{}
	for _, k := range keys {
		for i, raw := range doc[k] {
			s := strings.Trim(string(raw), `"`)
			a, err := parseASN(s)
			if err != nil {
				return nil, fmt.Errorf("%w: %q entry %d: %v", ErrIRRFile, k, i, err)
			}
			if len(out) >= maxIRREntries {
				return nil, fmt.Errorf("%w: more than %d entries", ErrIRRFile, maxIRREntries)
			}
			out = append(out, a)
		}
	}
	return out, nil
}

// parseASN reads "64501" or "AS64501" (any case).
func parseASN(s string) (uint32, error) {
	if len(s) > 2 && strings.EqualFold(s[:2], "AS") {
		s = s[2:]
	}
	v, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("bad ASN %q", s)
	}
	return uint32(v), nil
}
