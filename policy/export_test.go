package policy

import "testing"

// TestControlCommunities has one case per function of docs/policy.md's control-community table, in
// each form (standard, extended rt:, large), and the look-alikes that must not act.
func TestControlCommunities(t *testing.T) {
	const rs, p, q = 64500, 64502, 64503
	c := &ExportControl{ASN: rs}
	std := func(hi, lo uint32) Path { return Path{Communities: []uint32{hi<<16 | lo}} }
	rt := func(hi, lo uint32) Path {
		return Path{ExtCommunities: []uint64{0x0002<<48 | uint64(hi)<<32 | uint64(lo)}}
	}
	lg := func(f, t uint32) Path { return Path{LargeCommunities: []LargeCommunity{{rs, f, t}}} }
	type want struct {
		ok bool
		v  Variant
	}
	tests := []struct {
		name    string
		path    Path
		p, q    want // what P and Q get
		control bool
	}{
		{"not to any, std", std(0, rs), want{}, want{}, true},
		{"not to any, rt", rt(0, rs), want{}, want{}, true},
		{"not to any, large", lg(0, 0), want{}, want{}, true},
		{"not to P, std", std(0, p), want{}, want{ok: true}, true},
		{"not to P, rt", rt(0, p), want{}, want{ok: true}, true},
		{"not to P, large 4-byte", Path{LargeCommunities: []LargeCommunity{{rs, 0, p}}}, want{}, want{ok: true}, true},
		{"to P over not to any, std", Path{Communities: []uint32{0<<16 | rs, rs<<16 | p}}, want{ok: true}, want{}, true},
		{"to P over not to any, large", Path{LargeCommunities: []LargeCommunity{{rs, 0, 0}, {rs, 1, p}}}, want{ok: true}, want{}, true},
		{"not to P wins over to P", Path{Communities: []uint32{rs<<16 | p, 0<<16 | p}}, want{}, want{ok: true}, true},
		{"prepend 1x any, std", std(65501, rs), want{true, 1}, want{true, 1}, true},
		{"prepend 2x any, rt", rt(65502, rs), want{true, 2}, want{true, 2}, true},
		{"prepend 3x any, large", lg(103, 0), want{true, 3}, want{true, 3}, true},
		{"prepend 1x to P, std", std(65511, p), want{true, 1}, want{true, 0}, true},
		{"prepend 2x to P, large", lg(102, p), want{true, 2}, want{true, 0}, true},
		{"prepend to P replaces prepend to any", Path{LargeCommunities: []LargeCommunity{{rs, 103, 0}, {rs, 101, p}}}, want{true, 1}, want{true, 3}, true},
		{"NO_EXPORT to P, std", std(65281, p), want{true, 4}, want{ok: true}, true},
		{"NO_EXPORT to P, large", lg(65281, p), want{true, 4}, want{ok: true}, true},
		{"NO_ADVERTISE to P, rt", rt(65282, p), want{true, 8}, want{ok: true}, true},
		{"NO_ADVERTISE to P, large", lg(65282, p), want{true, 8}, want{ok: true}, true},
		{"prepend and NO_EXPORT to P", Path{Communities: []uint32{65513<<16 | p, 65281<<16 | p}}, want{true, 3 | 4}, want{ok: true}, true},
		// Look-alikes that are not control communities.
		{"65501 with another AS", std(65501, 64999), want{ok: true}, want{ok: true}, false},
		{"well-known NO_EXPORT", Path{Communities: []uint32{CommunityNoExport}}, want{ok: true}, want{ok: true}, false},
		{"large of another AS", Path{LargeCommunities: []LargeCommunity{{64999, 0, 0}}}, want{ok: true}, want{ok: true}, false},
		{"RS:1:0", lg(1, 0), want{ok: true}, want{ok: true}, false},
		{"RS:104:0", lg(104, 0), want{ok: true}, want{ok: true}, false},
		{"0:0", std(0, 0), want{ok: true}, want{ok: true}, false},
		{"non-transitive rt", Path{ExtCommunities: []uint64{0x4002<<48 | p}}, want{ok: true}, want{ok: true}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := c.Summarize(&tt.path)
			for _, x := range []struct {
				asn  uint32
				want want
			}{{p, tt.p}, {q, tt.q}} {
				ok, v := e.Decide(x.asn)
				if ok != x.want.ok || v != x.want.v {
					t.Errorf("Decide(%d) = %v %v, want %v %v (%s)", x.asn, ok, v, x.want.ok, x.want.v, e.Explain(x.asn))
				}
			}
			if e.HasControl() != tt.control {
				t.Errorf("HasControl = %v", e.HasControl())
			}
			s, x, l, changed := c.Strip(&tt.path)
			if changed != tt.control || (tt.control && len(s)+len(x)+len(l) != 0) {
				t.Errorf("Strip: changed %v, left %v %v %v", changed, s, x, l)
			}
		})
	}
}

// TestScrubbed: the ranges only the route server sets are removed even though they steer nothing.
func TestScrubbed(t *testing.T) {
	c := &ExportControl{ASN: 64500}
	for _, lc := range []LargeCommunity{{64500, 1000, 1}, {64500, 64512, 11}, {64500, 1101, 13}} {
		if !c.IsControlLarge(lc) {
			t.Errorf("%v not scrubbed", lc)
		}
	}
	if c.IsControlLarge(LargeCommunity{64500, 7, 1}) || c.IsControlLarge(LargeCommunity{64501, 1000, 1}) {
		t.Errorf("scrubbed a member's community")
	}
}

func TestInfoCommunities(t *testing.T) {
	i := Info(0).withRPKI(RPKIInvalidState).withIRR(IRRIn, IRRNotIn)
	got := i.Communities(64500)
	want := []LargeCommunity{{64500, 1000, 4}, {64500, 64512, 11}, {64500, 64512, 20}}
	if len(got) != len(want) {
		t.Fatalf("got %v", got)
	}
	for k := range want {
		if got[k] != want[k] {
			t.Errorf("got %v, want %v", got, want)
		}
	}
}
