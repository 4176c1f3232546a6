package jsonscan

import (
	"net/netip"
	"slices"
	"testing"
)

func TestScanner(t *testing.T) {
	s := &Scanner{B: []byte(` { "Prefix" : "x", "b": truex, "n": 0123 }`)}
	if !s.Next('{') {
		t.Fatal("no {")
	}
	if _, ok := s.Key("prefix"); ok {
		t.Error(`Key accepted "Prefix" for "prefix": encoding/json would match it`)
	}
	s = &Scanner{B: []byte(`"b": truex`)}
	if k, ok := s.Key("a"); !ok || k != "" {
		t.Errorf("Key = %q, %v; want an ignored key", k, ok)
	}
	if v, ok := s.Bool(); !ok || !v || s.Next(',') || s.End() {
		t.Errorf("Bool = %v, %v; the x must be left for the caller's next check", v, ok)
	}
	for in, want := range map[string]bool{"0": true, "123": true, "0123": false, "12345678901": false, "-1": false, "": false} {
		if _, ok := (&Scanner{B: []byte(in)}).Uint(); ok != want {
			t.Errorf("Uint(%q) ok = %v, want %v", in, ok, want)
		}
	}
	for in, want := range map[string]bool{`"a"`: true, `"a\"b"`: false, `"ä"`: false, `"a`: false} {
		if _, ok := (&Scanner{B: []byte(in)}).Str(); ok != want {
			t.Errorf("Str(%s) ok = %v, want %v", in, ok, want)
		}
	}
	for in, want := range map[string]bool{`{"a": [1, {"b": "c\"d"}]}, `: true, `[1, 2}, `: false, `"s", `: true, `12, `: true, `1.5e3, `: true} {
		s := &Scanner{B: []byte(in)}
		if ok := s.Skip() && s.Next(','); ok != want {
			t.Errorf("Skip(%s) ok = %v, want %v", in, ok, want)
		}
	}
}

// TestParsePrefix: the IPv4 fast path agrees with netip.ParsePrefix and Masked.
func TestParsePrefix(t *testing.T) {
	for _, in := range []string{"192.0.2.0/24", "192.0.2.1/24", "0.0.0.0/0", "255.255.255.255/32", "01.0.0.0/8",
		"1.2.3.4/33", "1.2.3.4/024", "1.2.3/24", "2001:db8::/32", "fe80::/64%eth0", "1.2.3.4", "256.0.0.0/8"} {
		got, ok := ParsePrefix([]byte(in))
		p, err := netip.ParsePrefix(in)
		want := err == nil && p.Addr().Zone() == ""
		if ok != want || ok && got != p.Masked() {
			t.Errorf("ParsePrefix(%q) = %v, %v; want %v, %v", in, got, ok, p.Masked(), want)
		}
	}
}

// TestObjects: an array of objects up to max, refused beyond it, and nothing else taken for one.
func TestObjects(t *testing.T) {
	elem := func(s *Scanner) func() (uint64, bool) {
		return func() (uint64, bool) {
			if !s.Next('{') {
				return 0, false
			}
			if _, ok := s.Key("n"); !ok {
				return 0, false
			}
			n, ok := s.Uint()
			return n, ok && s.Next('}')
		}
	}
	for _, c := range []struct {
		in   string
		max  int
		want []uint64
		ok   bool
	}{
		{`[]`, 0, []uint64{}, true},
		{` [ {"n": 1}, {"n": 2} ] `, 2, []uint64{1, 2}, true},
		{`[{"n": 1}, {"n": 2}, {"n": 3}]`, 2, nil, false},
		{`[{"n": 1},]`, 5, nil, false},
		{`[{"n": 1} {"n": 2}]`, 5, nil, false},
		{`{"n": 1}`, 5, nil, false},
	} {
		s := &Scanner{B: []byte(c.in)}
		got, ok := Objects(s, c.max, elem(s))
		if ok != c.ok || ok && !slices.Equal(got, c.want) {
			t.Errorf("Objects(%s, %d) = %v, %v; want %v, %v", c.in, c.max, got, ok, c.want, c.ok)
		}
	}
}
