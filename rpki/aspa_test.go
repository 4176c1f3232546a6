package rpki

import (
	"slices"
	"strings"
	"testing"
)

// TestVerifyUpstream: the upstream procedure of draft-ietf-sidrops-aspa-verification on paths a
// route server client sends (client first, origin last).
func TestVerifyUpstream(t *testing.T) {
	// 65001 (origin) buys transit from 65002, which buys from 65003; 65010 attests providers
	// 65011 only; 65020 has no ASPA.
	tab := NewASPATable(map[uint32][]uint32{
		65001: {65003, 65002, 65002},
		65002: {65003},
		65010: {65011},
	})
	cases := []struct {
		name   string
		path   []uint32
		hasSet bool
		want   ASPAState
		why    string
	}{
		{"origin only", []uint32{65001}, false, ASPAValid, ""},
		{"origin prepended", []uint32{65001, 65001, 65001}, false, ASPAValid, ""},
		{"customer chain up", []uint32{65003, 65002, 65001}, false, ASPAValid, ""},
		{"with prepends", []uint32{65003, 65003, 65002, 65001, 65001}, false, ASPAValid, ""},
		{"leak: 65002 sends its route to a non-provider", []uint32{65010, 65002, 65001}, false, ASPAInvalid, "AS65010 is not a provider of AS65002"},
		{"not a provider", []uint32{65099, 65010}, false, ASPAInvalid, "AS65099 is not a provider of AS65010"},
		{"invalid wins over unknown", []uint32{65099, 65010, 65020}, false, ASPAInvalid, "AS65099"},
		{"no attestation", []uint32{65021, 65020}, false, ASPAUnknown, "AS65020 has no ASPA"},
		{"empty", nil, false, ASPAInvalid, "empty"},
		{"AS_SET", []uint32{65002, 65001}, true, ASPAInvalid, "AS_SET"},
	}
	for _, c := range cases {
		got, why := tab.VerifyUpstream(c.path, c.hasSet)
		if got != c.want || !strings.Contains(why, c.why) {
			t.Errorf("%s: %v (%q), want %v (%q)", c.name, got, why, c.want, c.why)
		}
		if fast := tab.Upstream(c.path, c.hasSet); fast != c.want {
			t.Errorf("%s: Upstream %v, want %v", c.name, fast, c.want)
		}
	}
	if s := (*ASPATable)(nil); s.Len() != 0 || s.Authorized(1, 2) {
		t.Error("nil table")
	}
	if got, _ := (*ASPATable)(nil).VerifyUpstream([]uint32{2, 1}, false); got != ASPAUnknown {
		t.Errorf("no ASPA data: %v, want unknown", got)
	}
	if ps, _ := tab.Providers(65001); len(ps) != 2 || ps[0] != 65002 {
		t.Errorf("providers not sorted and de-duplicated: %v", ps)
	}
}

func TestASPAChanged(t *testing.T) {
	a := NewASPATable(map[uint32][]uint32{1: {10}, 2: {20, 21}, 3: {30}})
	b := NewASPATable(map[uint32][]uint32{1: {10}, 2: {20}, 4: {40}})
	if got := ASPAChanged(a, b); !slices.Equal(got, []uint32{2, 3, 4}) {
		t.Errorf("ASPAChanged = %v, want [2 3 4]", got)
	}
	if got := ASPAChanged(nil, a); !slices.Equal(got, []uint32{1, 2, 3}) {
		t.Errorf("from nothing: %v", got)
	}
	if got := ASPAChanged(a, NewASPATable(map[uint32][]uint32{3: {30}, 2: {21, 20}, 1: {10}})); got != nil {
		t.Errorf("equal tables: %v", got)
	}
}

// BenchmarkUpstream: the hot-path verification of a four-AS path against a table of 10,000 ASPAs.
func BenchmarkUpstream(b *testing.B) {
	m := map[uint32][]uint32{}
	for c := uint32(1); c <= 10000; c++ {
		m[c] = []uint32{c + 1, c + 2, 70000}
	}
	tab := NewASPATable(m)
	path := []uint32{104, 103, 102, 101, 101}
	b.ReportAllocs()
	for b.Loop() {
		if tab.Upstream(path, false) != ASPAValid {
			b.Fatal("not valid")
		}
	}
}
