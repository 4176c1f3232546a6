package rpki

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/ixrs/ixrs/policy"
)

// sample is the format docs/configuration.md describes (`[rpki]`), as rpki-client and StayRTR write it.
const sample = `{
  "metadata": { "buildtime": "2026-11-22T02:57:00Z", "vrps": 4 },
  "roas": [
    { "prefix": "192.0.2.0/24",      "maxLength": 24, "asn": 65001,     "ta": "test", "expires": 1797908000 },
    { "prefix": "198.51.100.0/22",   "maxLength": 24, "asn": "AS65002", "ta": "test" },
    { "prefix": "2001:db8:100::/48", "maxLength": 48, "asn": 65001 },
    { "prefix": "203.0.113.0/24",    "maxLength": 24, "asn": 0 }
  ],
  "provider_authorizations": {
    "ipv4": [ { "customer_asid": 65003, "providers": [ 65000 ] } ]
  }
}`

func TestValidate(t *testing.T) {
	vrps, err := ParseJSON([]byte(sample))
	if err != nil {
		t.Fatal(err)
	}
	tab := NewTable(vrps)
	if v4, v6 := tab.Len(); v4 != 3 || v6 != 1 {
		t.Fatalf("Len = %d, %d", v4, v6)
	}
	for _, tt := range []struct {
		pfx    string
		origin uint32
		want   policy.RPKIState
	}{
		{"192.0.2.0/24", 65001, policy.RPKIValid},
		{"192.0.2.0/24", 65009, policy.RPKIInvalidState},
		{"192.0.2.0/25", 65001, policy.RPKIInvalidState}, // longer than maxLength
		{"198.51.100.0/23", 65002, policy.RPKIValid},
		{"198.51.101.0/24", 65002, policy.RPKIValid},
		{"198.51.100.0/21", 65002, policy.RPKINotFound}, // covers the VRP, is not covered by it
		{"2001:db8:100::/48", 65001, policy.RPKIValid},
		{"2001:db8:100::/48", 0, policy.RPKIInvalidState}, // NONE origin
		{"203.0.113.0/24", 0, policy.RPKIInvalidState},    // AS0 VRP never validates
		{"203.0.113.0/24", 65001, policy.RPKIInvalidState},
		{"10.0.0.0/8", 65001, policy.RPKINotFound},
	} {
		pfx := netip.MustParsePrefix(tt.pfx)
		if got := tab.Validate(pfx, tt.origin); got != tt.want {
			t.Errorf("Validate(%s, AS%d) = %v, want %v", tt.pfx, tt.origin, got, tt.want)
		}
		if got, _ := tab.Explain(pfx, tt.origin); got != tt.want {
			t.Errorf("Explain(%s, AS%d) = %v, want %v", tt.pfx, tt.origin, got, tt.want)
		}
	}
	if _, why := tab.Explain(netip.MustParsePrefix("192.0.2.0/25"), 65001); !strings.Contains(why, "192.0.2.0/24-24 AS65001") {
		t.Errorf("Explain does not name the VRP: %q", why)
	}
	var s Store
	if s.Validate(netip.MustParsePrefix("192.0.2.0/24"), 65001) != policy.RPKINotChecked {
		t.Errorf("a store without data must answer not checked")
	}
	s.Set(tab)
	if s.Validate(netip.MustParsePrefix("192.0.2.0/24"), 65001) != policy.RPKIValid {
		t.Errorf("store does not use its snapshot")
	}
}

func TestParseJSONErrors(t *testing.T) {
	for _, tt := range []struct{ name, in, want string }{
		{"not JSON", `{"roas": [`, "unexpected EOF"},
		{"no roas", `{"metadata": {}}`, `no "roas"`},
		{"bad prefix", `{"roas": [{"prefix": "192.0.2.0/33", "maxLength": 24, "asn": 1}]}`, "roas[0]: bad prefix"},
		{"maxLength short", `{"roas": [{"prefix": "192.0.2.0/24", "maxLength": 23, "asn": 1}]}`, "maxLength 23"},
		{"bad asn", `{"roas": [{"prefix": "192.0.2.0/24", "maxLength": 24, "asn": "ASx"}]}`, "bad asn"},
		{"asn too big", `{"roas": [{"prefix": "192.0.2.0/24", "maxLength": 24, "asn": 4294967296}]}`, "bad asn"},
		{"missing field", `{"roas": [{"prefix": "192.0.2.0/24", "asn": 1}]}`, "required"},
	} {
		_, err := ParseJSON([]byte(tt.in))
		if err == nil || !errors.Is(err, ErrVRPFile) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want %q", tt.name, err, tt.want)
		}
	}
}

// FuzzParseJSON: the decoder never panics, and whatever it accepts builds a table in which every
// VRP validates its own prefix and origin (unless AS0).
func FuzzParseJSON(f *testing.F) {
	f.Add([]byte(sample))
	f.Add([]byte(`{"roas": []}`))
	f.Add([]byte(`{"roas": [{"prefix": "::/0", "maxLength": 128, "asn": "as1"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		vrps, err := ParseJSON(data)
		if err != nil {
			return
		}
		tab := NewTable(vrps)
		for _, v := range vrps {
			if v.ASN != 0 && tab.Validate(v.Prefix, v.ASN) != policy.RPKIValid {
				t.Fatalf("VRP %v does not validate itself", v)
			}
		}
	})
}

func TestChanged(t *testing.T) {
	v := func(p string, max int, asn uint32) VRP { return VRP{netip.MustParsePrefix(p), max, asn} }
	old := NewTable([]VRP{v("11.0.0.0/16", 24, 1), v("11.1.0.0/16", 16, 2), v("2a00::/32", 48, 3)})
	new := NewTable([]VRP{v("11.0.0.0/16", 24, 1), v("11.1.0.0/16", 24, 2), v("11.2.0.0/16", 16, 4), v("2a00::/32", 48, 3)})
	d := Changed(old, new)
	if d.Len() != 2 {
		t.Errorf("Len = %d, want 2 (11.1.0.0/16 changed maxLength, 11.2.0.0/16 added)", d.Len())
	}
	for _, tt := range []struct {
		pfx  string
		want bool
	}{{"11.1.5.0/24", true}, {"11.2.0.0/16", true}, {"11.0.5.0/24", false}, {"11.0.0.0/8", false}, {"2a00:1::/48", false}} {
		if got := d.Covers(netip.MustParsePrefix(tt.pfx)); got != tt.want {
			t.Errorf("Covers(%s) = %v, want %v", tt.pfx, got, tt.want)
		}
	}
	if Changed(old, old).Len() != 0 || Changed(nil, old).Len() != 3 {
		t.Errorf("Changed of equal or from-empty tables wrong")
	}
}
