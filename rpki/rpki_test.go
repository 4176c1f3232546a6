package rpki

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
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

// FuzzParseJSON: the decoder never panics; whatever it accepts builds a table in which every VRP
// validates its own prefix and origin (unless AS0); and its verdict, result or error, is that of
// encoding/json (parseJSONReflect), which the fast path must never contradict.
func FuzzParseJSON(f *testing.F) {
	f.Add([]byte(sample))
	f.Add([]byte(`{"roas": []}`))
	f.Add([]byte(`{"roas": [{"prefix": "::/0", "maxLength": 128, "asn": "as1"}]}`))
	for _, in := range jsonEdgeCases {
		f.Add([]byte(in))
	}
	f.Add([]byte(`{"roas": [{"prefix": "192.0.2.0/24", "maxLength": 24, "asn": 1, "ta": "a}, {b"}, {"prefix": "192.0.3.0/24", "maxLength": 24, "asn": 2, "ta": "}, {"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		vrps, err := ParseJSON(data)
		ref, refErr := parseJSONReflect(data)
		if fmt.Sprint(err) != fmt.Sprint(refErr) || !slices.Equal(vrps, ref) {
			t.Fatalf("ParseJSON = %v, %v; encoding/json = %v, %v", vrps, err, ref, refErr)
		}
		// The "roas" array read in two halves at once, whatever its size, says what one pass does.
		if split, ok := fastParseJSON(data, 0); ok && (refErr != nil || !slices.Equal(split, ref)) {
			t.Fatalf("read in halves: %v; encoding/json = %v, %v", split, ref, refErr)
		}
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

// jsonEdgeCases are inputs where a hand-written scanner could part from encoding/json.
var jsonEdgeCases = []string{
	`{"roas": [{"prefix": "192.0.2.0/24", "maxLength": 24, "asn": 1}]} trailing`,
	`{"roas": [{"prefix": "192.0.2.0/24", "maxLength": 24, "asn": 1}]}{`,
	`{"ROAS": [{"Prefix": "192.0.2.0/24", "MAXLENGTH": 24, "Asn": 1}]}`,
	`{"roaſ": [{"prefix": "192.0.2.0/24", "maxLength": 24, "asn": 1}]}`,
	`{"roas": [], "roas": [{"prefix": "192.0.2.0/24", "maxLength": 24, "asn": 1}]}`,
	`{"roas": [{"prefix": "192.0.2.0/24", "prefix": "192.0.3.0/24", "maxLength": 24, "asn": 1}]}`,
	`{"roas": [{"prefix": "192.0.2.0/24", "maxLength": 24, "asn": 1, "asn": "AS2"}]}`,
	`{"roas": [{"prefix": "192.0.2.0\/24", "maxLength": 24, "asn": "\u00412"}]}`,
	`{"roas": [{"prefix": "192.0.2.1/24", "maxLength": 24.0, "asn": 1}]}`,
	`{"roas": [{"prefix": "192.0.2.1/24", "maxLength": 2e1, "asn": 1e0}]}`,
	`{"roas": [{"prefix": "192.0.2.1/24", "maxLength": 024, "asn": 01}]}`,
	`{"roas": [{"prefix": "192.000.2.1/24", "maxLength": 24, "asn": "AS0001"}]}`,
	`{"roas": [{"prefix": "192.0.2.1/024", "maxLength": 24, "asn": "as4294967295"}]}`,
	`{"roas": [{"prefix": "192.0.2.1/24", "maxLength": 24, "asn": 4294967296}]}`,
	`{"roas": [{"prefix": "::ffff:192.0.2.0/120", "maxLength": 128, "asn": -1}]}`,
	`{"roas": [{"prefix": "fe80::%eth0/64", "maxLength": 64, "asn": 1}]}`,
	`{"roas": [null, {"prefix": "192.0.2.0/24", "maxLength": 24, "asn": 1}]}`,
	`{"roas": null}`,
	`{"roas": [{"prefix": "192.0.2.0/24", "maxLength": 24, "asn": 1, "x": {"a": [1, {"b": "\""}]}}], "m": [[[]]]}`,
	`{"roas": [{"prefix": "192.0.2.0/24", "maxLength": 24, "asn": 1, "x": [1,]}]}`,
	`{"roas": [{"prefix": "192.0.2.0/24", "maxLength": 24, "asn": 1,}]}`,
	`{"roas": [{"prefix": "192.0.2.0/24", "maxLength": 24, "asn": 1}],}`,
	"\ufeff{\"roas\": []}",
	"{\"roas\": [{\"prefix\": \"192.0.2.0/24\", \"maxLength\": 24, \"asn\": 1, \"ta\": \"\x01\"}]}",
	`[{"roas": []}]`,
	` {"roas":[{"asn":"AS65001","maxLength":32,"prefix":"0.0.0.0/0"}]} ` + "\n",
}

// TestParseJSONFastPath: the fast path takes the files rpki-client and StayRTR write (without it
// FuzzParseJSON would compare encoding/json with itself), and agrees with encoding/json on the
// edge cases.
func TestParseJSONFastPath(t *testing.T) {
	for _, in := range []string{sample, string(vrpFileJSON(1000, 3)), `{"roas": []}`} {
		got, ok := fastParseJSON([]byte(in), splitAt)
		want, err := parseJSONReflect([]byte(in))
		if !ok || err != nil || !slices.Equal(got, want) {
			t.Errorf("fast path %v, %v; encoding/json %v, %v; input %.80q", got, ok, want, err, in)
		}
	}
	for _, in := range jsonEdgeCases {
		got, err := ParseJSON([]byte(in))
		want, refErr := parseJSONReflect([]byte(in))
		if fmt.Sprint(err) != fmt.Sprint(refErr) || !slices.Equal(got, want) {
			t.Errorf("%q: ParseJSON = %v, %v; encoding/json = %v, %v", in, got, err, want, refErr)
		}
	}
}

func TestChanged(t *testing.T) {
	v := func(p string, max uint8, asn uint32) VRP { return VRP{netip.MustParsePrefix(p), max, asn} }
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
	same := NewTable([]VRP{v("2a00::/32", 48, 3), v("11.1.0.0/16", 16, 2), v("11.0.0.0/16", 24, 1), v("11.0.0.0/16", 24, 1)})
	swapped := NewTable([]VRP{v("11.0.0.0/16", 24, 1), v("11.1.0.0/16", 16, 2), v("2a00::/32", 48, 4)})
	for _, tt := range []struct {
		a, b *Table
		want bool
	}{{old, same, true}, {old, old, true}, {nil, NewTable(nil), true}, {old, new, false}, {new, old, false},
		{old, swapped, false}, {nil, old, false}, {old, nil, false}} {
		if got := Equal(tt.a, tt.b); got != tt.want {
			t.Errorf("Equal(%v, %v) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}
