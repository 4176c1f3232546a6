package daemon

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ixrs/ixrs/config"
	"github.com/ixrs/ixrs/policy"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// generatedConfig is a 1,000-member IXP: most members on the defaults, some overriding keys the way
// operators do (longer paths allowed, RPKI tag only, same-as next hops, IRR off).
func generatedConfig(t *testing.T) *config.Config {
	var b strings.Builder
	b.WriteString(`[server]
asn = 64500
router_id = "192.0.2.1"
listen = []
peering_lans = ["10.0.0.0/16", "2001:db8:ffff::/64"]

[defaults]
max_prefix_ipv4 = 1000
`)
	for i := range 1000 {
		fmt.Fprintf(&b, "\n[[member]]\nname = \"m%04d\"\nasn = %d\nneighbors = [\"10.0.%d.%d\"]\n", i, 10000+i, 1+i/250, 1+i%250)
		switch {
		case i%101 == 0:
			b.WriteString("next_hop = \"same-as\"\n")
		case i%37 == 0:
			b.WriteString("rpki = \"tag\"\n")
		case i%10 == 0:
			b.WriteString("max_as_path_length = 16\n")
		case i%250 == 7:
			b.WriteString("irr = \"off\"\ntransit_free_asns = [3356, 174]\n")
		case i%100 == 3:
			b.WriteString("max_prefix_ipv4 = 50000\n") // not part of the import chain: shares the default policy
		}
	}
	cfg, err := config.Parse("generated.toml", []byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestCompileGolden compiles a generated 1,000-member configuration and compares the distinct
// compiled policies and which members share each with testdata/compiled-1000.golden (go test
// -update rewrites it). Members with identical settings must share one compiled policy.
func TestCompileGolden(t *testing.T) {
	cfg := generatedConfig(t)
	c := newCompiler(cfg.Server)
	index := map[*policy.Import]int{}
	var order []*policy.Import
	members := map[*policy.Import][]string{}
	for i, m := range cfg.Members {
		im := c.compile(cfg.MemberPolicy(i))
		if _, ok := index[im]; !ok {
			index[im] = len(order)
			order = append(order, im)
		}
		members[im] = append(members[im], m.Name)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d members, %d compiled policies\n", len(cfg.Members), len(order))
	for i, im := range order {
		ms := members[im]
		fmt.Fprintf(&b, "\n## policy %d: %d members: %s\n%s", i, len(ms), abbreviate(ms), im)
	}
	golden := filepath.Join("testdata", "compiled-1000.golden")
	if *update {
		os.MkdirAll("testdata", 0o755)
		if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if b.String() != string(want) {
		t.Errorf("compiled policies differ from %s (run with -update if intended):\n%s", golden, b.String())
	}
	if len(order) != 5 {
		t.Errorf("%d compiled policies for 5 distinct settings", len(order))
	}
}

func abbreviate(names []string) string {
	if len(names) <= 6 {
		return strings.Join(names, " ")
	}
	return strings.Join(names[:3], " ") + " … " + strings.Join(names[len(names)-2:], " ")
}
