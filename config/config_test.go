package config

import (
	"bytes"
	"net/netip"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// cmpConfig compares Configs by value: netip types by ==, positions ignored.
var cmpConfig = []cmp.Option{
	cmp.Comparer(func(a, b netip.Addr) bool { return a == b }),
	cmp.Comparer(func(a, b netip.AddrPort) bool { return a == b }),
	cmp.Comparer(func(a, b netip.Prefix) bool { return a == b }),
	cmpopts.IgnoreUnexported(Config{}),
}

func TestLoadGood(t *testing.T) {
	c, err := Load("testdata/good.toml")
	if err != nil {
		t.Fatal(err)
	}
	if c.Path != "testdata/good.toml" {
		t.Errorf("Path = %q", c.Path)
	}
	wantServer := Server{
		ASN:          64500,
		RouterID:     netip.MustParseAddr("192.0.2.1"),
		Listen:       []netip.AddrPort{netip.MustParseAddrPort("192.0.2.1:179"), netip.MustParseAddrPort("[2001:db8:ffff::1]:179")},
		PeeringLANs:  []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24"), netip.MustParsePrefix("2001:db8:ffff::/64")},
		HoldTime:     0,
		ConnectRetry: 90 * time.Second,
		// Defaults: good.toml does not set them.
		GracefulRestart: true,
		StaleTime:       6 * time.Minute,
	}
	if d := cmp.Diff(wantServer, c.Server, cmpConfig...); d != "" {
		t.Errorf("Server (-want +got):\n%s", d)
	}
	wantLG := LookingGlass{
		Listen:         ":8080",
		Name:           "Example-IX RS1",
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("2001:db8:1::/48")},
		Peers:          []string{"http://rs2.example.net:8080"},
		// searches_burst is not in the file: it keeps its default.
		RateLimit: RateLimit{Pages: 10, PagesBurst: 40, Searches: 1, SearchesBurst: 5,
			Exempt: []netip.Prefix{netip.MustParsePrefix("192.0.2.50/32")}},
	}
	if d := cmp.Diff(wantLG, c.LookingGlass, cmpConfig...); d != "" {
		t.Errorf("LookingGlass (-want +got):\n%s", d)
	}
	wantRPKI := RPKI{
		Caches: []RPKICache{{Address: "rtr1.example.net:3323", Preference: 1, Transport: "tcp", Version: 1},
			{Address: "[2001:db8::53]:8282", Preference: 10, Transport: "tcp", Version: 1}},
		VRPFile: "vrps.json",
	}
	if d := cmp.Diff(wantRPKI, c.RPKI); d != "" {
		t.Errorf("RPKI (-want +got):\n%s", d)
	}
	if len(c.Members) != 2 || c.Sessions() != 3 {
		t.Fatalf("%d members, %d sessions; want 2, 3", len(c.Members), c.Sessions())
	}
	a := c.Members[0]
	if a.Name != "Alpha Networks" || a.ASN != 64501 || a.Description != `Alpha, "the first" member` ||
		string(a.MD5Password) != "alpha-secret" || a.TTLSecurity || a.Passive {
		t.Errorf("member 0 = %+v", a)
	}
	if got := c.Resolve(a.IRRPrefixFile); got != "testdata/irr/AS64501.prefixes" {
		t.Errorf("Resolve(irr_prefix_file) = %q", got)
	}
	if got := c.Resolve(c.RPKI.VRPFile); got != "testdata/vrps.json" {
		t.Errorf("Resolve(vrp_file) = %q", got)
	}
	b := c.Members[1]
	if !b.TTLSecurity || !b.Passive || b.ASN != 4200000002 || !b.Hidden || a.Hidden {
		t.Errorf("member 1 = %+v", b)
	}
	if got := c.Line("member[1].neighbors[0]"); got != 47 {
		t.Errorf("Line(member[1].neighbors[0]) = %d, want 47", got)
	}
	if got := c.Line("rpki.caches[1].preference"); got != 24 {
		t.Errorf("Line(rpki.caches[1].preference) = %d, want 24", got)
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load("testdata/does-not-exist.toml")
	if err == nil || !os.IsNotExist(errorsUnwrapAll(err)) {
		t.Fatalf("Load of a missing file: %v", err)
	}
}

func errorsUnwrapAll(err error) error {
	for {
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return err
		}
		err = u.Unwrap()
	}
}

// TestExampleFile checks that config.toml.example loads without a problem or
// a warning, and that its [defaults] are the real defaults.
func TestExampleFile(t *testing.T) {
	c, err := Load("../config.toml.example")
	if err != nil {
		t.Fatal(err)
	}
	if w := c.Warnings(); len(w) > 0 {
		t.Errorf("warnings: %v", &w)
	}
	if d := cmp.Diff(DefaultPolicy(), c.Defaults, cmpConfig...); d != "" {
		t.Errorf("the example's [defaults] are not the defaults (-want +got):\n%s", d)
	}
	if d := cmp.Diff(newConfig().Server.Listen, c.Server.Listen, cmpConfig...); d != "" {
		t.Errorf("the example's listen is not the default (-want +got):\n%s", d)
	}
	roundTrip(t, c)
}

// TestEmbeddedDefault checks the configuration routeserver uses without -config.
func TestEmbeddedDefault(t *testing.T) {
	data, err := os.ReadFile("../cmd/routeserver/default.toml")
	if err != nil {
		t.Fatal(err)
	}
	c, err := Parse("default.toml", data)
	if err != nil {
		t.Fatal(err)
	}
	if w := c.Warnings(); len(w) > 0 {
		t.Errorf("warnings: %v", &w)
	}
	if len(c.Members) != 0 {
		t.Errorf("%d members, want none", len(c.Members))
	}
	for _, ap := range c.Server.Listen {
		if !ap.Addr().IsLoopback() || ap.Port() < 1024 {
			t.Errorf("listen %s: not loopback on an unprivileged port", ap)
		}
	}
	if c.LookingGlass.Listen != "127.0.0.1:8080" {
		t.Errorf("lookingglass.listen = %q", c.LookingGlass.Listen)
	}
	roundTrip(t, c)
}

// TestMatchesLibraryDecoder checks that, on valid files, this package's
// decoder gives what the TOML library's own decoder gives, and that the
// library finds no key without a field.
func TestMatchesLibraryDecoder(t *testing.T) {
	for _, path := range []string{"../config.toml.example", "../cmd/routeserver/default.toml"} {
		c, err := Load(path)
		if err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		lib := newConfig()
		md, err := toml.Decode(string(data), lib)
		if err != nil {
			t.Fatalf("%s: toml.Decode: %v", path, err)
		}
		if u := md.Undecoded(); len(u) > 0 {
			t.Errorf("%s: keys the library did not decode: %v", path, u)
		}
		lib.Path = c.Path
		if d := cmp.Diff(lib, c, cmpConfig...); d != "" {
			t.Errorf("%s: (-toml.Decode +Parse):\n%s", path, d)
		}
	}
}

func TestMemberPolicy(t *testing.T) {
	const src = `
[server]
asn = 64500
router_id = "192.0.2.1"

[defaults]
rpki = "tag"
transit_free_asns = [174]
max_prefix_ipv4 = 1000

[[member]]
name = "Plain"
asn = 64501
neighbors = ["192.0.2.11"]
irr = "off"

[[member]]
name = "Special"
asn = 64502
neighbors = ["192.0.2.12"]
rpki = "off"
transit_free_asns = []
prefix_lengths_ipv4 = [8, 32]
blackhole_next_hop_ipv4 = "192.0.2.66"
max_prefix_ipv4 = 50
max_prefix_restart_after = "1h"
enforce_first_as = false
`
	c, err := Parse("t.toml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	defaults := DefaultPolicy()
	defaults.RPKI = RPKITag
	defaults.TransitFreeASNs = []uint32{174}
	defaults.MaxPrefixIPv4 = 1000
	if d := cmp.Diff(defaults, c.Defaults, cmpConfig...); d != "" {
		t.Errorf("Defaults (-want +got):\n%s", d)
	}

	plain := defaults.clone()
	plain.IRR = IRROff
	if d := cmp.Diff(plain, c.MemberPolicy(0), cmpConfig...); d != "" {
		t.Errorf("MemberPolicy(0) (-want +got):\n%s", d)
	}

	special := defaults.clone()
	special.RPKI = RPKIOff
	special.TransitFreeASNs = []uint32{}
	special.PrefixLengthsIPv4 = [2]int{8, 32}
	special.BlackholeNextHopIPv4 = netip.MustParseAddr("192.0.2.66")
	special.MaxPrefixIPv4 = 50
	special.MaxPrefixRestartAfter = time.Hour
	special.EnforceFirstAS = false
	got := c.MemberPolicy(1)
	if d := cmp.Diff(special, got, cmpConfig...); d != "" {
		t.Errorf("MemberPolicy(1) (-want +got):\n%s", d)
	}
	if got.TransitFreeASNs == nil {
		t.Error("transit_free_asns = [] resolved to nil; want an empty list")
	}
	wantKeys := []string{"enforce_first_as", "prefix_lengths_ipv4", "transit_free_asns", "rpki",
		"blackhole_next_hop_ipv4", "max_prefix_ipv4", "max_prefix_restart_after"}
	if keys := c.Members[1].Keys(); !slices.Equal(keys, wantKeys) {
		t.Errorf("Keys() = %q, want %q", keys, wantKeys)
	}

	// The result shares no memory with the Config.
	p := c.MemberPolicy(0)
	p.TransitFreeASNs[0] = 1
	if c.Defaults.TransitFreeASNs[0] != 174 {
		t.Error("changing MemberPolicy's result changed Config.Defaults")
	}
	roundTrip(t, c)
}

// TestPolicyOverridesMirrorPolicy keeps PolicyOverrides in step with Policy:
// the same fields, in the same order, with the same keys, as pointers.
func TestPolicyOverridesMirrorPolicy(t *testing.T) {
	pt, ot := reflect.TypeFor[Policy](), reflect.TypeFor[PolicyOverrides]()
	if pt.NumField() != ot.NumField() {
		t.Fatalf("Policy has %d fields, PolicyOverrides %d", pt.NumField(), ot.NumField())
	}
	for i := range pt.NumField() {
		pf, of := pt.Field(i), ot.Field(i)
		if pf.Name != of.Name || tomlName(pf) != tomlName(of) || of.Type != reflect.PointerTo(pf.Type) {
			t.Errorf("field %d: Policy.%s %s `%s` vs PolicyOverrides.%s %s `%s`",
				i, pf.Name, pf.Type, pf.Tag, of.Name, of.Type, of.Tag)
		}
	}
	// No member key may shadow a policy key.
	for name := range fieldsOf(reflect.TypeFor[Policy]()) {
		idx := fieldsOf(memberType)[name]
		if len(idx) != 2 {
			t.Errorf("member key %q is not the policy override", name)
		}
	}
}

func TestSecretIsNotPrinted(t *testing.T) {
	m := Member{Name: "A", MD5Password: "hunter2"}
	for _, s := range []string{
		strings.Join([]string{m.MD5Password.String()}, ""),
		sprint("%v", m), sprint("%+v", m), sprint("%#v", m), sprint("%s", m.MD5Password),
	} {
		if strings.Contains(s, "hunter2") {
			t.Errorf("secret printed: %s", s)
		}
	}
}

// roundTrip encodes c with the TOML library and checks that parsing the
// result under the same name gives an equal Config.
func roundTrip(t testing.TB, c *Config) {
	t.Helper()
	var buf bytes.Buffer
	if err := toml.NewEncoder(&buf).Encode(c); err != nil {
		t.Fatalf("encode: %v", err)
	}
	c2, err := Parse(c.Path, buf.Bytes())
	if err != nil {
		t.Fatalf("parse of the encoded config: %v\n%s", err, buf.Bytes())
	}
	if d := cmp.Diff(c, c2, cmpConfig...); d != "" {
		t.Fatalf("encode and parse changed the config (-before +after):\n%s\nencoded:\n%s", d, buf.Bytes())
	}
}

// TestRoundTripStrings checks that strings the encoder must escape survive.
func TestRoundTripStrings(t *testing.T) {
	for _, s := range []string{"", `"`, `\`, "a\tb", "line\nline", "\x00\x7f\x1b", "é ✓ 𝄞", "'''", `"""`, "\u2028"} {
		c := newConfig()
		c.Path = "t.toml"
		c.Server.ASN = 64500
		c.Server.RouterID = netip.MustParseAddr("192.0.2.1")
		c.Members = []Member{{Name: "A", ASN: 64501, Neighbors: []netip.Addr{netip.MustParseAddr("192.0.2.11")},
			Description: s, MD5Password: Secret(s)}}
		if err := c.Validate(); err != nil {
			t.Fatal(err)
		}
		roundTrip(t, c)
	}
}
