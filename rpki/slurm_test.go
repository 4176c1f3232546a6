package rpki

import (
	"errors"
	"net/netip"
	"os"
	"slices"
	"testing"

	"github.com/ixrs/ixrs/policy"
)

func vrp(p string, maxLen uint8, asn uint32) VRP {
	return VRP{Prefix: netip.MustParsePrefix(p), MaxLength: maxLen, ASN: asn}
}

// TestSLURM uses the example of RFC 8416 §3.5 (testdata/slurm.json).
func TestSLURM(t *testing.T) {
	s, err := LoadSLURM("testdata/slurm.json")
	if err != nil {
		t.Fatal(err)
	}
	if f, a := s.Counts(); f != 3 || a != 2 {
		t.Fatalf("Counts = %d, %d", f, a)
	}
	in := []VRP{
		vrp("192.0.2.0/24", 24, 65001),    // prefix filter
		vrp("192.0.2.128/25", 25, 65001),  // more specific: filtered too
		vrp("192.0.0.0/16", 24, 65001),    // less specific: kept
		vrp("203.0.113.0/24", 24, 64496),  // ASN filter
		vrp("198.51.100.0/24", 24, 64497), // prefix and ASN filter
		vrp("198.51.100.0/24", 24, 64498), // prefix matches, ASN does not: kept
		vrp("2001:db8:1::/48", 48, 64496), // ASN filter (IPv6)
		vrp("2001:db8:1::/48", 48, 65010), // kept
	}
	got := s.Apply(in)
	want := []VRP{in[2], in[5], in[7], vrp("198.51.100.0/24", 24, 64496), vrp("2001:db8::/32", 48, 64496)}
	if !slices.Equal(got, want) {
		t.Fatalf("Apply =\n%v\nwant\n%v", got, want)
	}
	if !s.Equal(s) || s.Equal(nil) || !(*SLURM)(nil).Equal(nil) {
		t.Fatal("Equal")
	}
	if !slices.Equal((*SLURM)(nil).Apply(in), in) {
		t.Fatal("nil SLURM changed data")
	}
}

// TestSLURMUpdate: filters and assertions hold across incremental updates: a filtered VRP that
// comes and goes changes nothing, an asserted one stays when the source withdraws it, and the
// result equals applying the file to the new data from scratch.
func TestSLURMUpdate(t *testing.T) {
	s, err := LoadSLURM("testdata/slurm.json")
	if err != nil {
		t.Fatal(err)
	}
	raw0 := NewTable([]VRP{vrp("198.51.100.0/24", 24, 64496), vrp("10.0.0.0/8", 8, 65001)})
	eff0 := s.Table(raw0)
	if n4, n6 := eff0.Len(); n4 != 2 || n6 != 1 {
		t.Fatalf("first table: %d+%d", n4, n6)
	}
	adds := []VRP{vrp("192.0.2.0/24", 24, 65001), vrp("11.0.0.0/8", 8, 65001)}
	dels := []VRP{vrp("198.51.100.0/24", 24, 64496)}
	raw1 := raw0.apply(adds, dels)
	changed := Changed(raw0, raw1).Prefixes()
	eff1, effChanged := s.Update(eff0, raw0, raw1, changed)
	if !slices.Equal(effChanged, []netip.Prefix{netip.MustParsePrefix("11.0.0.0/8")}) {
		t.Fatalf("effective changes %v: only the unfiltered, unasserted VRP changes the table", effChanged)
	}
	if Changed(eff1, s.Table(raw1)).Len() != 0 {
		t.Fatal("incremental result differs from applying the file from scratch")
	}
	if eff1.Validate(netip.MustParsePrefix("198.51.100.0/24"), 64496) != policy.RPKIValid ||
		eff1.Validate(netip.MustParsePrefix("192.0.2.0/24"), 65001) != policy.RPKINotFound {
		t.Fatal("assertion lost or filtered VRP in the table")
	}
	if eff0.Validate(netip.MustParsePrefix("11.0.0.0/8"), 65001) != policy.RPKINotFound {
		t.Fatal("the earlier snapshot changed")
	}
}

func TestSLURMRefused(t *testing.T) {
	for name, doc := range map[string]string{
		"not json":      `{`,
		"no version":    `{"validationOutputFilters":{"prefixFilters":[],"bgpsecFilters":[]},"locallyAddedAssertions":{"prefixAssertions":[],"bgpsecAssertions":[]}}`,
		"version 2":     `{"slurmVersion":2,"validationOutputFilters":{"prefixFilters":[],"bgpsecFilters":[]},"locallyAddedAssertions":{"prefixAssertions":[],"bgpsecAssertions":[]}}`,
		"no filters":    `{"slurmVersion":1,"locallyAddedAssertions":{"prefixAssertions":[],"bgpsecAssertions":[]}}`,
		"no assertions": `{"slurmVersion":1,"validationOutputFilters":{"prefixFilters":[],"bgpsecFilters":[]}}`,
		"unknown key":   `{"slurmVersion":1,"validationOutputFilters":{"prefixFilter":[],"bgpsecFilters":[]},"locallyAddedAssertions":{"prefixAssertions":[],"bgpsecAssertions":[]}}`,
		"empty filter":  `{"slurmVersion":1,"validationOutputFilters":{"prefixFilters":[{"comment":"x"}],"bgpsecFilters":[]},"locallyAddedAssertions":{"prefixAssertions":[],"bgpsecAssertions":[]}}`,
		"host bits":     `{"slurmVersion":1,"validationOutputFilters":{"prefixFilters":[{"prefix":"192.0.2.1/24"}],"bgpsecFilters":[]},"locallyAddedAssertions":{"prefixAssertions":[],"bgpsecAssertions":[]}}`,
		"max too short": `{"slurmVersion":1,"validationOutputFilters":{"prefixFilters":[],"bgpsecFilters":[]},"locallyAddedAssertions":{"prefixAssertions":[{"prefix":"192.0.2.0/24","asn":1,"maxPrefixLength":23}],"bgpsecAssertions":[]}}`,
		"no asn":        `{"slurmVersion":1,"validationOutputFilters":{"prefixFilters":[],"bgpsecFilters":[]},"locallyAddedAssertions":{"prefixAssertions":[{"prefix":"192.0.2.0/24"}],"bgpsecAssertions":[]}}`,
		"asn too big":   `{"slurmVersion":1,"validationOutputFilters":{"prefixFilters":[{"asn":4294967296}],"bgpsecFilters":[]},"locallyAddedAssertions":{"prefixAssertions":[],"bgpsecAssertions":[]}}`,
		"trailing data": `{"slurmVersion":1,"validationOutputFilters":{"prefixFilters":[],"bgpsecFilters":[]},"locallyAddedAssertions":{"prefixAssertions":[],"bgpsecAssertions":[]}} {}`,
	} {
		if _, err := ParseSLURM([]byte(doc)); !errors.Is(err, ErrSLURM) {
			t.Errorf("%s: err %v, want ErrSLURM", name, err)
		}
	}
	if _, err := LoadSLURM("testdata/missing.json"); err == nil || errors.Is(err, ErrSLURM) {
		t.Errorf("missing file: %v", err)
	}
}

// FuzzParseSLURM: ParseSLURM never panics, and what it accepts applies cleanly: every assertion is
// in the output, no filtered VRP is.
func FuzzParseSLURM(f *testing.F) {
	if data, err := os.ReadFile("testdata/slurm.json"); err == nil {
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ParseSLURM(data)
		if err != nil {
			if !errors.Is(err, ErrSLURM) {
				t.Fatalf("error %v does not wrap ErrSLURM", err)
			}
			return
		}
		in := []VRP{vrp("192.0.2.0/24", 24, 64496), vrp("2001:db8::/32", 48, 1)}
		out := s.Apply(in)
		for _, v := range out {
			if s.filtered(v) && !s.asserted(v) {
				t.Fatalf("filtered VRP %v in the output", v)
			}
		}
		for _, a := range s.assertions {
			if !slices.Contains(out, a) {
				t.Fatalf("assertion %v missing", a)
			}
		}
	})
}

// TestSLURMTableKeepsOrder: applied to a table, the file gives a table whose VRPs are in
// compareVRP's order, the same VRPs as applying it to the list, whether the table was built from the
// list or by apply.
func TestSLURMTableKeepsOrder(t *testing.T) {
	s, err := LoadSLURM("testdata/slurm.json")
	if err != nil {
		t.Fatal(err)
	}
	in := []VRP{vrp("0.0.0.0/0", 8, 1), vrp("10.0.0.0/8", 8, 65001), vrp("192.0.2.0/24", 24, 65001),
		vrp("198.51.100.0/24", 24, 64496), vrp("203.0.113.0/24", 24, 64497), vrp("2001:db8::/32", 48, 65001)}
	w := slices.Compact(slices.SortedFunc(slices.Values(s.Apply(in)), compareVRP))
	for _, raw := range []*Table{NewTable(in), (*Table)(nil).apply(in, nil)} {
		var got []VRP
		for v := range s.Table(raw).All {
			got = append(got, v)
		}
		if !slices.Equal(w, got) {
			t.Errorf("SLURM table %v, want %v", got, w)
		}
	}
}
