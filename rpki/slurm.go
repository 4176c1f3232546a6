package rpki

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"slices"
)

// ErrSLURM is wrapped by every error about a SLURM file's contents.
var ErrSLURM = errors.New("bad SLURM file")

// maxSLURMEntries bounds each list of a SLURM file; local exceptions are a handful in practice.
const maxSLURMEntries = 100_000

// SLURM is a local exceptions file (RFC 8416): validation output filters, which remove VRPs from
// whatever source they come from, then locally added assertions, which add VRPs (§3.4: filters
// first, assertions after; a filter never removes an assertion). BGPsec filters and assertions are
// parsed and ignored: ixrs does no BGPsec. A nil *SLURM changes nothing. Immutable.
type SLURM struct {
	filters    []prefixFilter
	assertions []VRP
	assertSet  map[VRP]struct{}
}

// prefixFilter matches VRPs by prefix (covered by it: equal or more specific), by ASN, or both
// (RFC 8416 §3.3.1).
type prefixFilter struct {
	prefix netip.Prefix // invalid: any prefix
	asn    uint32
	hasASN bool
}

func (f prefixFilter) match(v VRP) bool {
	if f.prefix.IsValid() && (f.prefix.Addr().Is4() != v.Prefix.Addr().Is4() ||
		v.Prefix.Bits() < f.prefix.Bits() || !f.prefix.Contains(v.Prefix.Addr())) {
		return false
	}
	return !f.hasASN || f.asn == v.ASN
}

// ParseSLURM decodes a SLURM file (RFC 8416 §3). The file is refused as a whole, naming the entry,
// when anything in it is malformed: an unknown key (a typo would otherwise silently filter
// nothing), slurmVersion other than 1, a prefix with host bits, a filter with neither prefix nor
// asn, a maxPrefixLength shorter than its prefix.
func ParseSLURM(data []byte) (*SLURM, error) {
	type prefixFilterJSON struct {
		Prefix  *string `json:"prefix"`
		ASN     *uint32 `json:"asn"`
		Comment string  `json:"comment"`
	}
	type bgpsecFilterJSON struct {
		ASN     *uint32 `json:"asn"`
		SKI     *string `json:"SKI"`
		Comment string  `json:"comment"`
	}
	type prefixAssertionJSON struct {
		Prefix    *string `json:"prefix"`
		ASN       *uint32 `json:"asn"`
		MaxLength *int    `json:"maxPrefixLength"`
		Comment   string  `json:"comment"`
	}
	type bgpsecAssertionJSON struct {
		ASN             *uint32 `json:"asn"`
		SKI             *string `json:"SKI"`
		RouterPublicKey *string `json:"routerPublicKey"`
		Comment         string  `json:"comment"`
	}
	var doc struct {
		Version *int `json:"slurmVersion"`
		Filters *struct {
			Prefix *[]prefixFilterJSON `json:"prefixFilters"`
			BGPsec *[]bgpsecFilterJSON `json:"bgpsecFilters"`
		} `json:"validationOutputFilters"`
		Assertions *struct {
			Prefix *[]prefixAssertionJSON `json:"prefixAssertions"`
			BGPsec *[]bgpsecAssertionJSON `json:"bgpsecAssertions"`
		} `json:"locallyAddedAssertions"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSLURM, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: data after the JSON object", ErrSLURM)
	}
	switch {
	case doc.Version == nil:
		return nil, fmt.Errorf("%w: slurmVersion missing", ErrSLURM)
	case *doc.Version != 1:
		return nil, fmt.Errorf("%w: slurmVersion %d (only 1 exists)", ErrSLURM, *doc.Version)
	case doc.Filters == nil || doc.Filters.Prefix == nil || doc.Filters.BGPsec == nil:
		return nil, fmt.Errorf("%w: validationOutputFilters with prefixFilters and bgpsecFilters is required", ErrSLURM)
	case doc.Assertions == nil || doc.Assertions.Prefix == nil || doc.Assertions.BGPsec == nil:
		return nil, fmt.Errorf("%w: locallyAddedAssertions with prefixAssertions and bgpsecAssertions is required", ErrSLURM)
	case len(*doc.Filters.Prefix) > maxSLURMEntries || len(*doc.Assertions.Prefix) > maxSLURMEntries ||
		len(*doc.Filters.BGPsec) > maxSLURMEntries || len(*doc.Assertions.BGPsec) > maxSLURMEntries:
		return nil, fmt.Errorf("%w: more than %d entries in a list", ErrSLURM, maxSLURMEntries)
	}
	s := &SLURM{assertSet: map[VRP]struct{}{}}
	for i, f := range *doc.Filters.Prefix {
		pf := prefixFilter{}
		if f.Prefix == nil && f.ASN == nil {
			return nil, fmt.Errorf("%w: prefixFilters[%d]: prefix or asn is required", ErrSLURM, i)
		}
		if f.Prefix != nil {
			p, err := parseSLURMPrefix(*f.Prefix)
			if err != nil {
				return nil, fmt.Errorf("%w: prefixFilters[%d]: %v", ErrSLURM, i, err)
			}
			pf.prefix = p
		}
		if f.ASN != nil {
			pf.asn, pf.hasASN = *f.ASN, true
		}
		s.filters = append(s.filters, pf)
	}
	for i, f := range *doc.Filters.BGPsec {
		if f.ASN == nil && f.SKI == nil {
			return nil, fmt.Errorf("%w: bgpsecFilters[%d]: asn or SKI is required", ErrSLURM, i)
		}
	}
	for i, a := range *doc.Assertions.Prefix {
		if a.Prefix == nil || a.ASN == nil {
			return nil, fmt.Errorf("%w: prefixAssertions[%d]: prefix and asn are required", ErrSLURM, i)
		}
		p, err := parseSLURMPrefix(*a.Prefix)
		if err != nil {
			return nil, fmt.Errorf("%w: prefixAssertions[%d]: %v", ErrSLURM, i, err)
		}
		v := VRP{Prefix: p, MaxLength: uint8(p.Bits()), ASN: *a.ASN}
		if a.MaxLength != nil {
			if *a.MaxLength < p.Bits() || *a.MaxLength > p.Addr().BitLen() {
				return nil, fmt.Errorf("%w: prefixAssertions[%d]: maxPrefixLength %d does not fit %s", ErrSLURM, i, *a.MaxLength, p)
			}
			v.MaxLength = uint8(*a.MaxLength) // checked above
		}
		if _, dup := s.assertSet[v]; !dup {
			s.assertSet[v] = struct{}{}
			s.assertions = append(s.assertions, v)
		}
	}
	for i, a := range *doc.Assertions.BGPsec {
		if a.ASN == nil || a.SKI == nil || a.RouterPublicKey == nil {
			return nil, fmt.Errorf("%w: bgpsecAssertions[%d]: asn, SKI and routerPublicKey are required", ErrSLURM, i)
		}
	}
	return s, nil
}

func parseSLURMPrefix(s string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(s)
	if err != nil || p.Addr().Zone() != "" {
		return netip.Prefix{}, fmt.Errorf("bad prefix %q", s)
	}
	if p.Masked() != p {
		return netip.Prefix{}, fmt.Errorf("prefix %q has host bits set", s)
	}
	return p, nil
}

// LoadSLURM reads and parses a SLURM file.
func LoadSLURM(path string) (*SLURM, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("slurm file: %w", err)
	}
	s, err := ParseSLURM(data)
	if err != nil {
		return nil, fmt.Errorf("slurm file %s: %w", path, err)
	}
	return s, nil
}

// Counts returns the number of prefix filters and prefix assertions.
func (s *SLURM) Counts() (filters, assertions int) {
	if s == nil {
		return 0, 0
	}
	return len(s.filters), len(s.assertions)
}

// Equal reports whether two SLURM files say the same.
func (s *SLURM) Equal(o *SLURM) bool {
	if s == nil || o == nil {
		return s == o
	}
	return slices.Equal(s.filters, o.filters) && slices.Equal(s.assertions, o.assertions)
}

// filtered reports whether a filter removes v.
func (s *SLURM) filtered(v VRP) bool {
	if s == nil {
		return false
	}
	for _, f := range s.filters {
		if f.match(v) {
			return true
		}
	}
	return false
}

// asserted reports whether v is a local assertion.
func (s *SLURM) asserted(v VRP) bool {
	if s == nil {
		return false
	}
	_, ok := s.assertSet[v]
	return ok
}

// Apply returns vrps with the filters and assertions applied (a new slice; vrps is not modified).
func (s *SLURM) Apply(vrps []VRP) []VRP {
	if s == nil {
		return vrps
	}
	out := make([]VRP, 0, len(vrps)+len(s.assertions))
	for _, v := range vrps {
		if !s.filtered(v) {
			out = append(out, v)
		}
	}
	return append(out, s.assertions...)
}

// Table returns raw with the SLURM file applied, as a new snapshot. The assertions are merged into
// raw's order, so that the new table's array needs no sort.
func (s *SLURM) Table(raw *Table) *Table {
	var as []VRP
	if s != nil {
		as = slices.SortedFunc(slices.Values(s.assertions), compareVRP)
	}
	var vrps []VRP
	if raw != nil {
		vrps = make([]VRP, 0, raw.n4+raw.n6+len(as))
	}
	for v := range raw.All {
		if s.filtered(v) {
			continue
		}
		for len(as) > 0 && compareVRP(as[0], v) < 0 {
			vrps = append(vrps, as[0])
			as = as[1:]
		}
		vrps = append(vrps, v)
	}
	return newTable(append(vrps, as...))
}

// Update brings eff, which is s applied to rawOld, to s applied to rawNew, given changed, the VRP
// prefixes whose VRPs differ between rawOld and rawNew. It returns the new snapshot and the VRP
// prefixes whose VRPs differ between eff and it; eff is not modified. Working out what changes
// looks up the changed prefixes only, not the whole table; the new snapshot is eff's array with
// those changes merged in (apply), as for a serial without a SLURM file.
func (s *SLURM) Update(eff, rawOld, rawNew *Table, changed []netip.Prefix) (*Table, []netip.Prefix) {
	var adds, dels []VRP
	var out []netip.Prefix
	for _, p := range changed {
		was, is := rawOld.get(p), rawNew.get(p)
		n := len(adds) + len(dels)
		for _, v := range was {
			if !slices.Contains(is, v) && s.passes(v) {
				dels = append(dels, v)
			}
		}
		for _, v := range is {
			if !slices.Contains(was, v) && s.passes(v) {
				adds = append(adds, v)
			}
		}
		if len(adds)+len(dels) > n {
			out = append(out, p)
		}
	}
	return eff.apply(adds, dels), out
}

// passes reports whether a VRP of a source changes the table when it comes or goes: not when a
// filter removes it, nor when an assertion holds it anyway.
func (s *SLURM) passes(v VRP) bool { return !s.filtered(v) && !s.asserted(v) }
