package policy

import (
	"net/netip"
	"slices"
	"testing"
)

func TestImportPath(t *testing.T) {
	sess := &Session{
		ASN:   64501,
		Addr:  netip.MustParseAddr("192.0.2.11"),
		Addrs: []netip.Addr{netip.MustParseAddr("192.0.2.11"), netip.MustParseAddr("2001:db8::11")},
	}
	nh := netip.MustParseAddr("192.0.2.11")
	path := func(asns ...uint32) Path {
		p := Path{ASNs: asns, Len: len(asns), NextHop: nh}
		if len(asns) > 0 {
			p.First = asns[0]
		}
		return p
	}
	withNH := func(p Path, a string) Path {
		p.NextHop, _ = netip.ParseAddr(a) // "invalid" gives the zero Addr: no next hop
		return p
	}
	long := make([]uint32, 33)
	for i := range long {
		long[i] = 64501
	}
	tests := []struct {
		name string
		im   Import
		path Path
		want []Reason
	}{
		{"accepted", *DefaultImport(), path(64501, 64502), nil},
		{"next hop of another router", *DefaultImport(), withNH(path(64501), "192.0.2.99"), []Reason{NextHopNotPeerIP}},
		{"missing next hop", *DefaultImport(), withNH(path(64501), "invalid"), []Reason{NextHopNotPeerIP}},
		{"IPv6 next hop of the member over an IPv4 session", *DefaultImport(), withNH(path(64501), "2001:db8::11"), nil},
		{"IPv6 next hop of someone else", *DefaultImport(), withNH(path(64501), "2001:db8::99"), []Reason{NextHopNotPeerIP}},
		{"same-as accepts another address of the member", Import{NextHop: NextHopSameAS}, withNH(path(64501), "2001:db8::11"), nil},
		{"next hop any", Import{NextHop: NextHopAny}, withNH(path(64501), "198.51.100.1"), nil},
		{"empty path", *DefaultImport(), path(), []Reason{ASPathTooShort}},
		{"path too long", *DefaultImport(), path(long...), []Reason{ASPathTooLong}},
		{"path at the limit", Import{MaxPathLen: 2}, path(64501, 64502), nil},
		{"no limit", Import{}, path(long...), nil},
		{"first AS not peer AS", *DefaultImport(), path(64502, 64501), []Reason{FirstASNotPeerAS}},
		{"first AS not enforced", Import{}, path(64502), nil},
		{"all reasons, chain order", *DefaultImport(), withNH(path(append([]uint32{1}, long...)...), "192.0.2.1"),
			[]Reason{NextHopNotPeerIP, ASPathTooLong, FirstASNotPeerAS}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := tt.im.ImportPath(sess, &tt.path)
			if got := v.Reasons.List(); !slices.Equal(got, tt.want) {
				t.Errorf("reasons = %v, want %v", got, tt.want)
			}
			if v.LocalPref != DefaultLocalPref {
				t.Errorf("LocalPref = %d", v.LocalPref)
			}
			r := tt.im.ImportRoute(sess, Data{}, netip.MustParsePrefix("203.0.113.0/24"), &tt.path, v)
			if r != v {
				t.Errorf("ImportRoute changed the verdict: %v -> %v", v, r)
			}
		})
	}
}

func TestReasons(t *testing.T) {
	var rs Reasons
	if rs.Primary() != 0 || rs.List() != nil || rs.String() != "accepted" {
		t.Fatalf("empty reasons: %v %v %q", rs.Primary(), rs.List(), rs)
	}
	rs = rs.Add(FirstASNotPeerAS).Add(RPKIInvalid).Add(NextHopNotPeerIP).Add(40)
	if got, want := rs.List(), []Reason{NextHopNotPeerIP, FirstASNotPeerAS, RPKIInvalid, 40}; !slices.Equal(got, want) {
		t.Errorf("List = %v, want %v", got, want)
	}
	if rs.Primary() != NextHopNotPeerIP {
		t.Errorf("Primary = %v", rs.Primary())
	}
	if !rs.Has(RPKIInvalid) || rs.Has(RPKIUnknown) || rs.Len() != 4 {
		t.Errorf("Has/Len wrong for %v", rs)
	}
	if got := RPKIInvalid.Community(64500); got != (LargeCommunity{64500, 1101, 13}) {
		t.Errorf("Community = %v", got)
	}
	if got := rs.String(); got != "next hop not peer IP, first AS not peer AS, RPKI invalid, reason 40" {
		t.Errorf("String = %q", got)
	}
}

func TestExport(t *testing.T) {
	const rs = 64500
	c := &ExportControl{ASN: rs}
	std := func(hi, lo uint32) uint32 { return hi<<16 | lo }
	many := []uint32{}
	for p := uint32(1); p <= 20; p++ {
		many = append(many, std(0, 65000+p))
	}
	tests := []struct {
		name    string
		std     []uint32
		large   []LargeCommunity
		allowed []uint32
		denied  []uint32
		control bool
		// deniedAll are the denied targets that "do not announce to any" denies (DeniesAll).
		deniedAll []uint32
	}{
		{name: "no communities", allowed: []uint32{64501, 64502}},
		{name: "unrelated communities", std: []uint32{std(64501, 1), std(65535, 65281)}, large: []LargeCommunity{{64501, 0, 1}},
			allowed: []uint32{64501, 64502}},
		{name: "0:P", std: []uint32{std(0, 64502)}, allowed: []uint32{64501, 64503}, denied: []uint32{64502}, control: true},
		{name: "0:RS", std: []uint32{std(0, rs)}, denied: []uint32{64501, 64502}, control: true, deniedAll: []uint32{64501, 64502}},
		{name: "0:RS with RS:P", std: []uint32{std(0, rs), std(rs, 64502)}, allowed: []uint32{64502}, denied: []uint32{64501}, control: true,
			deniedAll: []uint32{64501}},
		{name: "0:RS with 0:P", std: []uint32{std(0, rs), std(0, 64502)}, denied: []uint32{64501, 64502}, control: true,
			deniedAll: []uint32{64501}},
		{name: "0:P wins over RS:P", std: []uint32{std(rs, 64502), std(0, 64502)}, allowed: []uint32{64501}, denied: []uint32{64502}, control: true},
		{name: "RS:0:P", large: []LargeCommunity{{rs, 0, 4200000001}}, allowed: []uint32{64501}, denied: []uint32{4200000001}, control: true},
		{name: "RS:0:0 with RS:1:P", large: []LargeCommunity{{rs, 0, 0}, {rs, 1, 64501}}, allowed: []uint32{64501}, denied: []uint32{64502}, control: true,
			deniedAll: []uint32{64502}},
		{name: "large community of another AS", large: []LargeCommunity{{64999, 0, 0}}, allowed: []uint32{64501}},
		{name: "many targets use the map", std: many, allowed: []uint32{64501, 65021}, denied: []uint32{65001, 65020}, control: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &Path{Communities: tt.std, LargeCommunities: tt.large}
			e := c.Summarize(p)
			for _, a := range tt.allowed {
				if !e.Allows(a) {
					t.Errorf("Allows(%d) = false: %s", a, e.Explain(a))
				}
			}
			for _, a := range tt.denied {
				if e.Allows(a) {
					t.Errorf("Allows(%d) = true: %s", a, e.Explain(a))
				}
			}
			for _, a := range append(slices.Clone(tt.allowed), tt.denied...) {
				if got, want := e.DeniesAll(a), slices.Contains(tt.deniedAll, a); got != want {
					t.Errorf("DeniesAll(%d) = %v, want %v: %s", a, got, want, e.Explain(a))
				}
			}
			if e.HasControl() != tt.control {
				t.Errorf("HasControl = %v", e.HasControl())
			}
			gotStd, _, gotLarge, changed := c.Strip(p)
			if changed != tt.control {
				t.Errorf("Strip changed = %v", changed)
			}
			for _, v := range gotStd {
				if c.IsControl(v) {
					t.Errorf("Strip kept %d:%d", v>>16, v&0xffff)
				}
			}
			for _, lc := range gotLarge {
				if c.IsControlLarge(lc) {
					t.Errorf("Strip kept %v", lc)
				}
			}
			if changed && len(gotStd)+len(gotLarge) == len(tt.std)+len(tt.large) {
				t.Errorf("Strip removed nothing")
			}
		})
	}
	// The caller's slices are never modified.
	in := []uint32{std(0, 64502), std(64501, 7)}
	c.Strip(&Path{Communities: in})
	if in[0] != std(0, 64502) {
		t.Errorf("Strip modified its input")
	}
}

func TestExportFourByteRS(t *testing.T) {
	c := &ExportControl{ASN: 4200000000}
	e := c.Summarize(&Path{Communities: []uint32{0<<16 | 64502}})
	if e.Allows(64502) || !e.Allows(64503) {
		t.Errorf("0:P must work whatever the RS ASN")
	}
	c.StdASN = 65010
	e = c.Summarize(&Path{Communities: []uint32{0<<16 | 65010}})
	if e.Allows(64503) {
		t.Errorf("0:placeholder must mean not to any")
	}
}
