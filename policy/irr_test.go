package policy

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
)

const bgpq4Sample = `{"NN": [{"prefix": "192.0.2.0/24", "exact": true},
 {"prefix": "198.51.100.0/22", "exact": false, "greater-equal": 23, "less-equal": 24},
 {"prefix": "2001:db8::/32", "exact": false, "less-equal": 48}]}`

func TestParseBGPQ4JSON(t *testing.T) {
	got, err := ParseBGPQ4JSON([]byte(bgpq4Sample))
	if err != nil {
		t.Fatal(err)
	}
	want := []IRRPrefix{
		{netip.MustParsePrefix("192.0.2.0/24"), 24, 24},
		{netip.MustParsePrefix("198.51.100.0/22"), 23, 24},
		{netip.MustParsePrefix("2001:db8::/32"), 32, 48},
	}
	if !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	irr := NewIRR(got, nil)
	for _, tt := range []struct {
		pfx string
		ok  bool
	}{
		{"192.0.2.0/24", true}, {"192.0.2.0/25", false}, {"198.51.100.0/22", false}, {"198.51.102.0/23", true},
		{"198.51.103.0/24", true}, {"198.51.103.0/25", false}, {"2001:db8:1::/48", true}, {"2001:db9::/32", false},
	} {
		if _, ok := irr.Prefix(netip.MustParsePrefix(tt.pfx)); ok != tt.ok {
			t.Errorf("Prefix(%s) = %v, want %v", tt.pfx, ok, tt.ok)
		}
	}
	if _, ok := irr.Covers(netip.MustParsePrefix("192.0.2.1/32")); !ok {
		t.Errorf("Covers(192.0.2.1/32) = false")
	}
	for _, tt := range []struct{ name, in, want string }{
		{"not an object", `[1]`, "cannot unmarshal"},
		{"bad prefix", `{"NN": [{"prefix": "1.2.3.0/33", "exact": true}]}`, `"NN" entry 0`},
		{"no prefix", `{"NN": [{"exact": true}]}`, "no prefix"},
		{"bounds outside", `{"NN": [{"prefix": "10.0.0.0/8", "exact": false, "less-equal": 33}]}`, "do not fit"},
		{"exact with bounds", `{"NN": [{"prefix": "10.0.0.0/8", "exact": true, "less-equal": 24}]}`, "exact with length bounds"},
		{"unknown key", `{"NN": [{"prefix": "10.0.0.0/8", "exakt": true}]}`, "unknown field"},
		{"trailing data", `{"NN": []} {}`, "data after"},
	} {
		_, err := ParseBGPQ4JSON([]byte(tt.in))
		if err == nil || !errors.Is(err, ErrIRRFile) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want %q", tt.name, err, tt.want)
		}
	}
}

func TestParseASNList(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want []uint32
		err  string
	}{
		{"64501\nAS64502\n\n# comment\nas4200000000 # trailing\n", []uint32{64501, 64502, 4200000000}, ""},
		{`{"asns": [64501, "AS64502"]}`, []uint32{64501, 64502}, ""},
		{`{"NN": [1, 2]}`, []uint32{1, 2}, ""},
		{"", []uint32{}, ""},
		{"64501\nASx\n", nil, "line 2"},
		{"4294967296", nil, "bad ASN"},
		{`{"asns": [true]}`, nil, `"asns" entry 0`},
	} {
		got, err := ParseASNList([]byte(tt.in))
		if tt.err != "" {
			if err == nil || !errors.Is(err, ErrIRRFile) || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%q: err = %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("%q: got %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

func TestIRREqual(t *testing.T) {
	a := NewIRR([]IRRPrefix{{netip.MustParsePrefix("10.0.0.0/8"), 8, 24}}, []uint32{1, 2})
	b := NewIRR([]IRRPrefix{{netip.MustParsePrefix("10.0.0.0/8"), 8, 24}}, []uint32{2, 1})
	c := NewIRR([]IRRPrefix{{netip.MustParsePrefix("10.0.0.0/8"), 8, 23}}, []uint32{2, 1})
	if !a.Equal(b) || a.Equal(c) || a.Equal(nil) || !(*IRR)(nil).Equal(nil) {
		t.Errorf("Equal wrong")
	}
}

// FuzzParseBGPQ4JSON: never panics; its verdict, result or error, is that of encoding/json
// (parseBGPQ4Reflect), which the fast path must never contradict; every accepted entry allows its
// own prefix at its shortest allowed length.
func FuzzParseBGPQ4JSON(f *testing.F) {
	f.Add([]byte(bgpq4Sample))
	f.Add([]byte(`{"NN": []}`))
	f.Add([]byte(`{"a": [{"prefix": "::/0", "exact": false, "greater-equal": 0}], "b": [{"prefix": "0.0.0.0/0", "exact": true}]}`))
	for _, in := range bgpq4EdgeCases {
		f.Add([]byte(in))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		list, err := ParseBGPQ4JSON(data)
		ref, refErr := parseBGPQ4Reflect(data)
		if fmt.Sprint(err) != fmt.Sprint(refErr) || !slices.Equal(list, ref) {
			t.Fatalf("ParseBGPQ4JSON = %v, %v; encoding/json = %v, %v", list, err, ref, refErr)
		}
		if err != nil {
			return
		}
		irr := NewIRR(list, nil)
		for _, e := range list {
			p := netip.PrefixFrom(e.Prefix.Addr(), e.Min).Masked()
			if _, ok := irr.Prefix(p); !ok {
				t.Fatalf("entry %v does not allow %v", e, p)
			}
		}
	})
}

// bgpq4EdgeCases are inputs where a hand-written scanner could part from encoding/json.
var bgpq4EdgeCases = []string{
	`{"NN": [{"prefix": "192.0.2.0/24", "exact": true}]} trailing`,
	`{"NN": [{"prefix": "192.0.2.0/24", "exact": true}]}{`,
	`{"NN": [{"Prefix": "192.0.2.0/24", "EXACT": true}]}`,
	`{"NN": [{"prefix": "192.0.2.0/24", "exact": true}], "NN": []}`,
	`{"b": [{"prefix": "192.0.2.0/24", "exact": true}], "a": [{"prefix": "10.0.0.0/8", "exact": false, "less-equal": 24}]}`,
	`{"NN": [{"prefix": "192.0.2.0/24", "prefix": "192.0.3.0/24", "exact": true}]}`,
	`{"NN": [{"prefix": "192.0.2.0\/24", "exact": true}]}`,
	`{"NN": [{"prefix": "192.0.2.1/24", "exact": true}]}`,
	`{"NN": [{"prefix": "192.0.2.0/24", "exact": null}]}`,
	`{"NN": [{"prefix": "192.0.2.0/24", "exact": false, "greater-equal": 24.0}]}`,
	`{"NN": [{"prefix": "192.0.2.0/24", "exact": false, "greater-equal": -1}]}`,
	`{"NN": [{"prefix": "192.0.2.0/24", "exact": false, "greater-equal": 025}]}`,
	`{"NN": [{"prefix": "192.0.2.0/24", "exact": true, "less-equal": 24}]}`,
	`{"NN": [{"prefix": "192.0.2.0/24", "exact": truex}]}`,
	`{"NN": [{"prefix": "192.0.2.0/24", "exact": true, "asn": 1}]}`,
	`{"NN": [{"prefix": "fe80::/64%eth0", "exact": true}]}`,
	`{"NN": [null]}`,
	`{"NN": null}`,
	`{"NN": [{}]}`,
	`{}`,
	`null`,
	`{"ÑN": [{"prefix": "192.0.2.0/24", "exact": true}]}`,
	`{"NN": [{"prefix": "192.0.2.0/24"}]}`,
	`{"NN": [{"prefix": "192.0.2.0/24", "exact": false, "greater-equal": 25, "less-equal": 24}]}`,
}

// BenchmarkParseBGPQ4JSON is the prefix list of a large member, 60,000 entries as bgpq4 -j writes
// them.
func BenchmarkParseBGPQ4JSON(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("{\n  \"NN\": [\n")
	for i := range 60000 {
		if i > 0 {
			sb.WriteString(",\n")
		}
		if i%10 == 0 {
			fmt.Fprintf(&sb, `    { "prefix": "%d.%d.0.0/16", "exact": false, "greater-equal": 17, "less-equal": 24 }`, 10+i>>16, (i>>8)&255)
		} else {
			fmt.Fprintf(&sb, `    { "prefix": "%d.%d.%d.0/24", "exact": true }`, 10+i>>16, (i>>8)&255, i&255)
		}
	}
	sb.WriteString("\n  ]\n}\n")
	data := []byte(sb.String())
	for _, c := range []struct {
		name  string
		parse func([]byte) ([]IRRPrefix, error)
	}{{"fast", ParseBGPQ4JSON}, {"encoding-json", parseBGPQ4Reflect}} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if l, err := c.parse(data); err != nil || len(l) != 60000 {
					b.Fatal(len(l), err)
				}
			}
		})
	}
}

// FuzzParseASNList: never panics; what is accepted round-trips through the text form.
func FuzzParseASNList(f *testing.F) {
	f.Add([]byte("64501\nAS64502\n# c\n"))
	f.Add([]byte(`{"asns": [1, "AS2"]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		asns, err := ParseASNList(data)
		if err != nil {
			return
		}
		var b strings.Builder
		for _, a := range asns {
			b.WriteString("AS")
			b.WriteString(strings.TrimSpace(itoa(a)))
			b.WriteByte('\n')
		}
		again, err := ParseASNList([]byte(b.String()))
		if err != nil || !slices.Equal(again, asns) {
			t.Fatalf("round trip: %v, %v != %v", err, again, asns)
		}
	})
}
