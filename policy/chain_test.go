package policy

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
)

// fakeROV validates against a fixed list of (prefix, maxLength, asn).
type fakeROV []struct {
	p   netip.Prefix
	max int
	asn uint32
}

func (f fakeROV) Validate(pfx netip.Prefix, origin uint32) RPKIState {
	st, _ := f.Explain(pfx, origin)
	return st
}

func (f fakeROV) Explain(pfx netip.Prefix, origin uint32) (RPKIState, string) {
	st := RPKINotFound
	for _, v := range f {
		if v.p.Bits() <= pfx.Bits() && v.p.Contains(pfx.Addr()) {
			if origin != 0 && v.asn == origin && pfx.Bits() <= v.max {
				return RPKIValid, v.p.String()
			}
			st = RPKIInvalidState
		}
	}
	return st, ""
}

var testROV = fakeROV{
	{netip.MustParsePrefix("1.1.0.0/16"), 24, 5001},
	{netip.MustParsePrefix("1.2.0.0/16"), 16, 5999},
}

// TestChain has one case per check of docs/policy.md's chain: the data that triggers it and the data
// that must not.
func TestChain(t *testing.T) {
	lan4 := netip.MustParsePrefix("1.9.0.0/24")
	full := func() Import {
		im := *Full()
		im.PeeringLANs = []netip.Prefix{lan4, netip.MustParsePrefix("2a00:9::/64")}
		return im
	}
	with := func(f func(*Import)) Import { im := full(); f(&im); return im }
	sess := &Session{
		ASN:   3000,
		Addr:  netip.MustParseAddr("1.9.0.11"),
		Addrs: []netip.Addr{netip.MustParseAddr("1.9.0.11"), netip.MustParseAddr("2a00:9::11")},
	}
	data := Data{ROV: testROV, IRR: NewIRR([]IRRPrefix{
		{netip.MustParsePrefix("1.1.0.0/16"), 16, 24},
		{netip.MustParsePrefix("1.3.0.0/24"), 24, 24},
		{netip.MustParsePrefix("1.2.0.0/16"), 16, 16},
		{netip.MustParsePrefix("2a01::/32"), 32, 48},
	}, []uint32{3000, 5001, 5999})}
	noIRR := &Session{ASN: 3000, Addr: sess.Addr, Addrs: sess.Addrs}
	path := func(asns ...uint32) Path {
		p := Path{ASNs: asns, Len: len(asns), NextHop: netip.MustParseAddr("1.9.0.11")}
		if len(asns) > 0 {
			p.First = asns[0]
		}
		return p
	}
	ok := path(3000, 5001)
	mod := func(p Path, f func(*Path)) Path { f(&p); return p }
	long := make([]uint32, 33)
	for i := range long {
		long[i] = 3000
	}
	many := make([]uint32, 11)
	type tc struct {
		name string
		im   Import
		sess *Session
		irr  *IRR // replaces the IRR data when set
		pfx  string
		path Path
		want []Reason
		lp   uint32
		info Info
	}
	good := Info(0).withRPKI(RPKIValid).withIRR(IRRIn, IRRIn)
	tests := []tc{
		{name: "accepted", im: full(), pfx: "1.1.1.0/24", path: ok, info: good},
		// 2 next hop
		{name: "next hop another router", im: full(), pfx: "1.1.1.0/24", path: mod(ok, func(p *Path) { p.NextHop = netip.MustParseAddr("1.9.0.12") }), want: []Reason{NextHopNotPeerIP}, info: good},
		{name: "next hop unspecified, mode any", im: with(func(im *Import) { im.NextHop = NextHopAny }), pfx: "1.1.1.0/24", path: mod(ok, func(p *Path) { p.NextHop = netip.MustParseAddr("0.0.0.0") }), want: []Reason{NextHopNotPeerIP}, info: good},
		{name: "next hop outside the LANs, mode any", im: with(func(im *Import) { im.NextHop = NextHopAny }), pfx: "1.1.1.0/24", path: mod(ok, func(p *Path) { p.NextHop = netip.MustParseAddr("8.8.8.8") }), want: []Reason{NextHopNotPeerIP}, info: good},
		{name: "next hop another router in the LAN, mode any", im: with(func(im *Import) { im.NextHop = NextHopAny }), pfx: "1.1.1.0/24", path: mod(ok, func(p *Path) { p.NextHop = netip.MustParseAddr("1.9.0.99") }), info: good},
		{name: "next hop same-as: the member's IPv6 address", im: with(func(im *Import) { im.NextHop = NextHopSameAS; im.PeeringLANs = nil }), pfx: "1.1.1.0/24", path: mod(ok, func(p *Path) { p.NextHop = netip.MustParseAddr("2a00:9::11") }), info: good},
		// 3 AS path
		{name: "empty path", im: full(), pfx: "1.1.1.0/24", path: mod(path(), func(p *Path) {}), want: []Reason{ASPathTooShort, RPKIInvalid, IRROriginFiltered},
			info: Info(0).withRPKI(RPKIInvalidState).withIRR(IRRIn, IRRNotIn)},
		{name: "path too long", im: full(), pfx: "1.1.1.0/24", path: path(append(long, 5001)...), want: []Reason{ASPathTooLong}, info: good},
		{name: "path at the limit", im: with(func(im *Import) { im.MaxPathLen = 2 }), pfx: "1.1.1.0/24", path: ok, info: good},
		{name: "AS_SET", im: full(), pfx: "1.3.0.0/24", path: mod(ok, func(p *Path) { p.HasSet = true }), want: []Reason{ASPathTooLong, IRROriginFiltered},
			info: Info(0).withRPKI(RPKINotFound).withIRR(IRRIn, IRRNotIn)},
		{name: "AS_SET allowed", im: with(func(im *Import) { im.RejectASSets = false; im.IRR = IRROff }), pfx: "1.3.0.0/24", path: mod(ok, func(p *Path) { p.HasSet = true }), info: Info(0).withRPKI(RPKINotFound)},
		// 4 first AS
		{name: "first AS not the member", im: full(), pfx: "1.1.1.0/24", path: path(3001, 5001), want: []Reason{FirstASNotPeerAS}, info: good},
		{name: "first AS not enforced", im: with(func(im *Import) { im.EnforceFirstAS = false }), pfx: "1.1.1.0/24", path: path(3001, 5001), info: good},
		// 5 bogon ASN
		{name: "bogon ASN", im: full(), pfx: "1.3.0.0/24", path: path(3000, 65000, 5999), want: []Reason{BogonASN}, info: Info(0).withRPKI(RPKINotFound).withIRR(IRRIn, IRRIn)},
		{name: "AS_TRANS", im: full(), pfx: "1.3.0.0/24", path: path(3000, 23456, 5999), want: []Reason{BogonASN}, info: Info(0).withRPKI(RPKINotFound).withIRR(IRRIn, IRRIn)},
		{name: "bogon ASN check off", im: with(func(im *Import) { im.RejectBogonASNs = false }), pfx: "1.3.0.0/24", path: path(3000, 65000, 5999), info: Info(0).withRPKI(RPKINotFound).withIRR(IRRIn, IRRIn)},
		// 6 transit-free
		{name: "transit-free after the first", im: full(), pfx: "1.1.1.0/24", path: path(3000, 3356, 5001), want: []Reason{TransitFreeASN}, info: good},
		{name: "transit-free as the member itself", im: full(), sess: &Session{ASN: 3356, Addr: sess.Addr}, pfx: "1.1.1.0/24", path: path(3356, 5001), info: good},
		{name: "transit-free member prepending itself", im: full(), sess: &Session{ASN: 3356, Addr: sess.Addr}, pfx: "1.1.1.0/24", path: path(3356, 3356, 5001), info: good},
		{name: "never via route servers", im: with(func(im *Import) { im.NeverVia = []uint32{5001} }), pfx: "1.1.1.0/24", path: ok, want: []Reason{TransitFreeASN}, info: good},
		// 7 bogon prefix
		{name: "bogon prefix", im: with(func(im *Import) { im.IRR = IRROff }), pfx: "10.1.0.0/16", path: ok, want: []Reason{BogonPrefix}, info: Info(0).withRPKI(RPKINotFound)},
		{name: "default route", im: with(func(im *Import) { im.IRR = IRROff }), pfx: "0.0.0.0/0", path: ok, want: []Reason{BogonPrefix, PrefixTooShort}, info: Info(0).withRPKI(RPKINotFound)},
		{name: "IPv6 outside 2000::/3", im: with(func(im *Import) { im.IRR = IRROff }), pfx: "4000::/16", path: mod(ok, func(p *Path) { p.NextHop = netip.MustParseAddr("2a00:9::11") }), want: []Reason{BogonPrefix}, info: Info(0).withRPKI(RPKINotFound)},
		{name: "documentation IPv6", im: with(func(im *Import) { im.IRR = IRROff }), pfx: "2001:db8:1::/48", path: mod(ok, func(p *Path) { p.NextHop = netip.MustParseAddr("2a00:9::11") }), want: []Reason{BogonPrefix}, info: Info(0).withRPKI(RPKINotFound)},
		{name: "peering LAN", im: with(func(im *Import) { im.IRR = IRROff }), pfx: "1.9.0.0/24", path: ok, want: []Reason{BogonPrefix}, info: Info(0).withRPKI(RPKINotFound)},
		{name: "bogon check off", im: with(func(im *Import) { im.IRR = IRROff; im.RejectBogonPrefixes = false }), pfx: "10.1.0.0/16", path: ok, info: Info(0).withRPKI(RPKINotFound)},
		{name: "global IPv6", im: with(func(im *Import) { im.IRR = IRROff }), pfx: "2a01:1::/32", path: mod(ok, func(p *Path) { p.NextHop = netip.MustParseAddr("2a00:9::11") }), info: Info(0).withRPKI(RPKINotFound)},
		// 8 prefix length
		{name: "too long", im: full(), pfx: "1.1.1.128/25", path: ok, want: []Reason{PrefixTooLong, RPKIInvalid, IRRPrefixFiltered}, info: Info(0).withRPKI(RPKIInvalidState).withIRR(IRRNotIn, IRRIn)},
		{name: "too short", im: with(func(im *Import) { im.IRR = IRROff }), pfx: "2.0.0.0/7", path: ok, want: []Reason{PrefixTooShort}, info: Info(0).withRPKI(RPKINotFound)},
		{name: "IPv6 /48 ok", im: full(), pfx: "2a01:0:1::/48", path: mod(ok, func(p *Path) { p.NextHop = netip.MustParseAddr("2a00:9::11") }), info: Info(0).withRPKI(RPKINotFound).withIRR(IRRIn, IRRIn)},
		// 9 communities
		{name: "too many communities, reject", im: with(func(im *Import) { im.MaxCommunities = 10; im.RejectTooManyCommunities = true }), pfx: "1.1.1.0/24", path: mod(ok, func(p *Path) { p.Communities = many }), want: []Reason{TooManyCommunities}, info: good},
		{name: "too many communities, strip", im: with(func(im *Import) { im.MaxCommunities = 10 }), pfx: "1.1.1.0/24", path: mod(ok, func(p *Path) { p.Communities = many }), info: good},
		{name: "communities at the limit", im: with(func(im *Import) { im.MaxCommunities = 11; im.RejectTooManyCommunities = true }), pfx: "1.1.1.0/24", path: mod(ok, func(p *Path) { p.Communities = many }), info: good},
		// 10 RPKI
		{name: "RPKI invalid origin", im: full(), pfx: "1.2.0.0/16", path: path(3000, 5001), want: []Reason{RPKIInvalid}, info: Info(0).withRPKI(RPKIInvalidState).withIRR(IRRIn, IRRIn)},
		{name: "RPKI invalid, tag only", im: with(func(im *Import) { im.RPKI = RPKITag }), pfx: "1.2.0.0/16", path: path(3000, 5001), info: Info(0).withRPKI(RPKIInvalidState).withIRR(IRRIn, IRRIn)},
		{name: "RPKI off", im: with(func(im *Import) { im.RPKI = RPKIOff }), pfx: "1.2.0.0/16", path: path(3000, 5001), info: Info(0).withIRR(IRRIn, IRRIn)},
		{name: "RPKI valid", im: full(), pfx: "1.2.0.0/16", path: path(3000, 5999), info: Info(0).withRPKI(RPKIValid).withIRR(IRRIn, IRRIn)},
		// 11 IRR
		{name: "IRR origin not in AS-SET", im: full(), pfx: "1.3.0.0/24", path: path(3000, 5777), want: []Reason{IRROriginFiltered}, info: Info(0).withRPKI(RPKINotFound).withIRR(IRRIn, IRRNotIn)},
		{name: "IRR prefix not listed", im: full(), pfx: "1.4.0.0/24", path: ok, want: []Reason{IRRPrefixFiltered}, info: Info(0).withRPKI(RPKINotFound).withIRR(IRRNotIn, IRRIn)},
		{name: "IRR prefix more specific than allowed", im: full(), pfx: "1.2.1.0/24", path: path(3000, 5999), want: []Reason{RPKIInvalid, IRRPrefixFiltered}, info: Info(0).withRPKI(RPKIInvalidState).withIRR(IRRNotIn, IRRIn)},
		{name: "IRR prefix skipped when RPKI valid", im: with(func(im *Import) { im.IRRSkipPrefixIfRPKIValid = true }), pfx: "1.1.2.0/24", irr: NewIRR([]IRRPrefix{}, []uint32{5001}), path: ok, info: Info(0).withRPKI(RPKIValid).withIRR(IRRNotChecked, IRRIn)},
		{name: "IRR prefix not skipped when RPKI not found", im: with(func(im *Import) { im.IRRSkipPrefixIfRPKIValid = true }), pfx: "1.4.0.0/24", path: ok, want: []Reason{IRRPrefixFiltered}, info: Info(0).withRPKI(RPKINotFound).withIRR(IRRNotIn, IRRIn)},
		{name: "IRR tag only", im: with(func(im *Import) { im.IRR = IRRTag }), pfx: "1.4.0.0/24", path: path(3000, 5777), info: Info(0).withRPKI(RPKINotFound).withIRR(IRRNotIn, IRRNotIn)},
		{name: "no IRR data, reject", im: full(), sess: noIRR, pfx: "1.1.1.0/24", path: ok, want: []Reason{IRROriginFiltered, IRRPrefixFiltered}, info: Info(0).withRPKI(RPKIValid).withIRR(IRRNotIn, IRRNotIn)},
		// 12 blackhole
		{name: "blackhole /32 inside the member's space", im: full(), pfx: "1.3.0.1/32", path: mod(path(3000, 5999), func(p *Path) { p.Communities = []uint32{CommunityBlackhole} }), info: Info(0).withRPKI(RPKINotFound).withIRR(IRRIn, IRRIn)},
		{name: "blackhole outside the member's space", im: full(), pfx: "1.5.0.1/32", path: mod(path(3000, 5999), func(p *Path) { p.Communities = []uint32{CommunityBlackhole} }), want: []Reason{IRRPrefixFiltered}, info: Info(0).withRPKI(RPKINotFound).withIRR(IRRNotIn, IRRIn)},
		{name: "blackhole off: /32 too long", im: with(func(im *Import) { im.Blackhole = false }), pfx: "1.3.0.1/32", path: mod(path(3000, 5999), func(p *Path) { p.Communities = []uint32{CommunityBlackhole} }), want: []Reason{PrefixTooLong, IRRPrefixFiltered}, info: Info(0).withRPKI(RPKINotFound).withIRR(IRRNotIn, IRRIn)},
		// 13 graceful shutdown
		{name: "graceful shutdown", im: full(), pfx: "1.1.1.0/24", path: mod(ok, func(p *Path) { p.Communities = []uint32{CommunityGracefulShutdown} }), lp: 0, info: good},
		// 14 OTC
		{name: "OTC from a member", im: full(), pfx: "1.1.1.0/24", path: mod(ok, func(p *Path) { p.HasOTC = true }), want: []Reason{OTCLeak}, info: good},
		{name: "OTC check off", im: with(func(im *Import) { im.RejectOTC = false }), pfx: "1.1.1.0/24", path: mod(ok, func(p *Path) { p.HasOTC = true }), info: good},
		// all at once
		{name: "every reason, chain order", im: full(), pfx: "10.0.0.0/25", path: mod(path(append([]uint32{1, 3356, 65000}, long...)...), func(p *Path) {
			p.NextHop = netip.MustParseAddr("1.9.0.1")
			p.HasOTC = true
		}), want: []Reason{NextHopNotPeerIP, ASPathTooLong, FirstASNotPeerAS, BogonASN, TransitFreeASN, BogonPrefix, PrefixTooLong, IRRPrefixFiltered, OTCLeak},
			info: Info(0).withRPKI(RPKINotFound).withIRR(IRRNotIn, IRRIn)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, d := tt.sess, data
			if s == nil {
				s = sess
			}
			if s == noIRR {
				d.IRR = nil
			}
			if tt.irr != nil {
				d.IRR = tt.irr
			}
			pfx := netip.MustParsePrefix(tt.pfx)
			pv := tt.im.ImportPath(s, &tt.path)
			v := tt.im.ImportRoute(s, d, pfx, &tt.path, pv)
			if got := v.Reasons.List(); !slices.Equal(got, tt.want) {
				t.Errorf("reasons = %v, want %v", got, tt.want)
			}
			if v.Reasons&pv.Reasons != pv.Reasons {
				t.Errorf("ImportRoute dropped path reasons")
			}
			wantLP := uint32(DefaultLocalPref)
			if strings.HasPrefix(tt.name, "graceful") {
				wantLP = tt.lp
			}
			if v.LocalPref != wantLP {
				t.Errorf("LocalPref = %d, want %d", v.LocalPref, wantLP)
			}
			if v.Info != tt.info {
				t.Errorf("info = rpki %v prefix %v origin %v, want rpki %v prefix %v origin %v",
					v.Info.RPKI(), v.Info.IRRPrefix(), v.Info.IRROrigin(), tt.info.RPKI(), tt.info.IRRPrefix(), tt.info.IRROrigin())
			}
			// Explain agrees with the hot path: the same failures, in the same order.
			var failed []Reason
			for _, c := range tt.im.Explain(s, d, pfx, &tt.path) {
				if c.Outcome == Fail {
					failed = append(failed, c.Reason)
				}
			}
			if !slices.Equal(Reasons(0).addAll(failed).List(), v.Reasons.List()) {
				t.Errorf("Explain failures %v, verdict %v\n%s", failed, v.Reasons.List(), ExplainText(tt.im.Explain(s, d, pfx, &tt.path)))
			}
		})
	}
}

func (rs Reasons) addAll(list []Reason) Reasons {
	for _, r := range list {
		rs = rs.Add(r)
	}
	return rs
}

func TestExplainData(t *testing.T) {
	im := Full()
	s := &Session{ASN: 3000, Addr: netip.MustParseAddr("1.9.0.11")}
	d := Data{ROV: testROV, IRR: NewIRR([]IRRPrefix{{netip.MustParsePrefix("1.1.0.0/16"), 16, 24}}, []uint32{3000})}
	p := Path{ASNs: []uint32{3000, 65001}, Len: 2, First: 3000, NextHop: netip.MustParseAddr("1.9.0.11")}
	text := ExplainText(im.Explain(s, d, netip.MustParsePrefix("192.168.1.0/24"), &p))
	for _, want := range []string{"AS65001 in 64512-65534, private use", "bogon list: 192.168.0.0/16", "RS:1101:3 bogon prefix", "AS65001 not in the member's AS-SET"} {
		if !strings.Contains(text, want) {
			t.Errorf("explanation lacks %q:\n%s", want, text)
		}
	}
	text = ExplainText(im.Explain(s, d, netip.MustParsePrefix("1.1.1.0/24"), &Path{ASNs: []uint32{3000}, Len: 1, First: 3000, NextHop: p.NextHop}))
	for _, want := range []string{"origin AS3000 invalid", "allowed by 1.1.0.0/16{16,24}", "RS:1101:13"} {
		if !strings.Contains(text, want) {
			t.Errorf("explanation lacks %q:\n%s", want, text)
		}
	}
}

func TestBogonLists(t *testing.T) {
	for _, tt := range []struct {
		pfx   string
		bogon bool
	}{
		{"10.0.0.0/8", true}, {"10.1.2.0/24", true}, {"11.0.0.0/8", false}, {"0.0.0.0/0", true},
		{"8.0.0.0/7", false}, {"224.0.0.0/4", true}, {"172.32.0.0/16", false}, {"172.31.0.0/16", true},
		{"::/0", true}, {"2a00::/12", false}, {"2001:db8::/32", true}, {"2001:db8::/31", false},
		{"2002::/16", true}, {"fc00::/8", true}, {"2000::/2", true}, {"3fff:1::/32", true}, {"2c0f::/16", false},
	} {
		_, _, got := bogonPrefix(netip.MustParsePrefix(tt.pfx))
		if got != tt.bogon || isBogonPrefix(netip.MustParsePrefix(tt.pfx)) != tt.bogon {
			t.Errorf("bogonPrefix(%s) = %v, want %v", tt.pfx, got, tt.bogon)
		}
	}
	for _, tt := range []struct {
		asn   uint32
		bogon bool
	}{{0, true}, {1, false}, {23456, true}, {64495, false}, {64496, true}, {65535, true}, {131071, true},
		{131072, false}, {4199999999, false}, {4200000000, true}, {4294967295, true}} {
		if _, got := bogonASN(tt.asn); got != tt.bogon {
			t.Errorf("bogonASN(%d) = %v, want %v", tt.asn, got, tt.bogon)
		}
	}
}
