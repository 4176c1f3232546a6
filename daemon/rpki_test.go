package daemon

import (
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/ixrs/ixrs/internal/rstest"
	"github.com/ixrs/ixrs/policy"
	"github.com/ixrs/ixrs/rpki"
)

// TestRPKIFeed walks the feed through its sources: the file, a cache, a cache's serial, a SLURM
// file, the caches expiring (fallback to the file), and no data at all.
func TestRPKIFeed(t *testing.T) {
	log := rstest.Quiet
	rib := rstest.StartRIB(t, 32)
	ctx := t.Context()
	f := &rpkiFeed{log: log, rib: rib}
	vrp := func(p string, asn uint32) rpki.VRP {
		pp := netip.MustParsePrefix(p)
		return rpki.VRP{Prefix: pp, MaxLength: uint8(pp.Bits()), ASN: asn}
	}
	check := func(step, source string, v4 int) {
		t.Helper()
		if f.status.Source != source || f.status.VRPsIPv4 != v4 {
			t.Fatalf("%s: source %q with %d IPv4 VRPs, want %q with %d", step, f.status.Source, f.status.VRPsIPv4, source, v4)
		}
	}
	file := rpki.NewTable([]rpki.VRP{vrp("192.0.2.0/24", 65001)})
	f.fromFiles(ctx, rpkiFiles{vrps: file, vrpsOK: true, slurmOK: true, done: make(chan struct{})})
	check("file", "file", 1)
	if f.inForce != file {
		t.Fatal("without SLURM the file's snapshot is not shared")
	}

	c1 := rpki.NewTable([]rpki.VRP{vrp("198.51.100.0/24", 65002), vrp("203.0.113.0/24", 65003)})
	f.fromCache(ctx, rpki.Update{VRPs: c1, Cache: "127.0.0.1:3323"})
	check("cache", "rtr", 2)
	if f.status.Cache != "127.0.0.1:3323" {
		t.Fatalf("cache %q", f.status.Cache)
	}

	c2 := rpki.NewTable([]rpki.VRP{vrp("198.51.100.0/24", 65002)})
	f.fromCache(ctx, rpki.Update{VRPs: c2, Base: c1, Changed: []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24")}})
	check("serial", "rtr", 1)

	dir := t.TempDir()
	path := filepath.Join(dir, "slurm.json")
	if err := os.WriteFile(path, []byte(`{"slurmVersion": 1,
		"validationOutputFilters": {"prefixFilters": [{"asn": 65002}], "bgpsecFilters": []},
		"locallyAddedAssertions": {"prefixAssertions": [{"prefix": "10.0.0.0/8", "asn": 65009}], "bgpsecAssertions": []}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := rpki.LoadSLURM(path)
	if err != nil {
		t.Fatal(err)
	}
	f.fromFiles(ctx, rpkiFiles{vrpsOK: false, slurm: s, slurmOK: true, done: make(chan struct{})})
	check("slurm", "rtr", 1)
	if f.inForce.Validate(netip.MustParsePrefix("10.0.0.0/8"), 65009) != policy.RPKIValid || f.file != file {
		t.Fatal("SLURM assertion missing, or the refused file replaced the one in force")
	}

	f.fromCache(ctx, rpki.Update{})
	check("expired", "file", 2) // the file's VRP and the assertion

	f.fromFiles(ctx, rpkiFiles{vrpsOK: true, slurmOK: true, done: make(chan struct{})})
	check("nothing", "", 0)
	if f.inForce != nil {
		t.Fatal("no source but data in force")
	}
}

// TestRPKIFeedASPA: the RIB gets the ASPA records of a version 2 cache with the customers that
// changed, none from a lower version cache (an empty table would make every path "unknown"), and
// none once the caches' data is gone.
func TestRPKIFeedASPA(t *testing.T) {
	log := rstest.Quiet
	rib := rstest.StartRIB(t, 32)
	ctx := t.Context()
	v2 := map[string]bool{"127.0.0.1:3323": true}
	f := &rpkiFeed{log: log, rib: rib, hasASPA: func(c string) bool { return v2[c] }}
	vrps := rpki.NewTable(nil)
	a1 := rpki.NewASPATable(map[uint32][]uint32{65001: {65002}})
	f.fromCache(ctx, rpki.Update{VRPs: vrps, ASPAs: a1, Cache: "127.0.0.1:3324"})
	if f.aspaIn != nil {
		t.Fatal("ASPA records in force from a cache below version 2")
	}
	f.fromCache(ctx, rpki.Update{VRPs: vrps, ASPAs: a1, Cache: "127.0.0.1:3323"})
	if f.aspaIn != a1 || f.status.ASPAs != 1 {
		t.Fatalf("version 2 cache: ASPA in force %v, status %d", f.aspaIn, f.status.ASPAs)
	}
	a2 := rpki.NewASPATable(map[uint32][]uint32{65001: {65002, 65003}})
	f.fromCache(ctx, rpki.Update{VRPs: vrps, ASPAs: a2, Base: vrps, Cache: "127.0.0.1:3323"})
	if f.aspaIn != a2 {
		t.Fatal("an ASPA change with the same VRPs did not reach the RIB")
	}
	f.fromCache(ctx, rpki.Update{})
	if f.aspaIn != nil {
		t.Fatal("ASPA records kept after the caches' data expired")
	}
}
