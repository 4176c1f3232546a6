package daemon

import (
	"net/netip"
	"reflect"
	"testing"
	"time"

	"github.com/ixrs/ixrs/lookingglass"
	"github.com/ixrs/ixrs/policy"
	"github.com/ixrs/ixrs/rs"
	"github.com/ixrs/ixrs/speaker"
)

// normalLG is r with empty slices as nil, what a fresh conversion and a reused one must agree on.
func normalLG(r lookingglass.Route) lookingglass.Route {
	if len(r.ASPath) == 0 {
		r.ASPath = nil
	}
	if len(r.Communities) == 0 {
		r.Communities = nil
	}
	if len(r.ExtCommunities) == 0 {
		r.ExtCommunities = nil
	}
	if len(r.LargeCommunities) == 0 {
		r.LargeCommunities = nil
	}
	if len(r.Reasons) == 0 {
		r.Reasons = nil
	}
	return r
}

// TestAppendLGRouteReusesBuffer converts routes into a buffer that held other routes before, as the
// looking glass's pooled Page.Buf does, and requires what a fresh conversion gives: nothing of an
// earlier route's path, communities or reasons may show, and no two routes may share storage.
func TestAppendLGRouteReusesBuffer(t *testing.T) {
	full := rs.Route{Prefix: netip.MustParsePrefix("192.0.2.0/24"), Member: "full", ASN: 64501,
		Neighbor: netip.MustParseAddr("198.51.100.1"), LocalPref: 100, Since: time.Unix(1700000000, 0),
		Reasons: policy.Reasons(0).Add(policy.Reason(3)).Add(policy.Reason(9)),
		Attrs: &speaker.Attrs{ASPath: speaker.ASPath{{Type: speaker.SegSequence, ASNs: []uint32{64501, 64510}},
			{Type: speaker.SegSet, ASNs: []uint32{64520, 64521}}},
			NextHop: netip.MustParseAddr("198.51.100.1"), MED: 5, HasMED: true, Origin: 2,
			Communities: []uint32{64501<<16 | 1, 64501<<16 | 2}, ExtCommunities: []uint64{0x0002fde500000007},
			LargeCommunities: []speaker.LargeCommunity{{Global: 64501, Local1: 1, Local2: 2}}, OTC: 64501, HasOTC: true}}
	bare := rs.Route{Prefix: netip.MustParsePrefix("2001:db8::/32"), Member: "bare", ASN: 64502,
		Neighbor: netip.MustParseAddr("2001:db8::2"),
		Attrs: &speaker.Attrs{ASPath: speaker.ASPath{{Type: speaker.SegSequence, ASNs: []uint32{64502}}},
			MPNextHop: netip.MustParseAddr("2001:db8::2")}}
	empty := rs.Route{Prefix: netip.MustParsePrefix("10.0.0.0/8"), Member: "no attributes"}
	in := []rs.Route{full, bare, empty, full, full, bare}
	buf := make([]lookingglass.Route, 0, 3)
	for round := range 3 {
		buf = buf[:0]
		for i := range in {
			buf = appendLGRoute(buf, &in[(i+round)%len(in)])
		}
		for i := range buf {
			want := normalLG(lgRoute(&in[(i+round)%len(in)]))
			if got := normalLG(buf[i]); !reflect.DeepEqual(got, want) {
				t.Fatalf("round %d, route %d:\n got %+v\nwant %+v", round, i, got, want)
			}
		}
		for i := range buf { // each route's storage is its own
			for j := range i {
				a, b := buf[i].ASPath, buf[j].ASPath
				if len(a) > 0 && len(b) > 0 && &a[:cap(a)][cap(a)-1] == &b[:cap(b)][cap(b)-1] {
					t.Fatalf("round %d: routes %d and %d share their AS path", round, j, i)
				}
			}
		}
	}
	if got := lgRoute(&full); got.ASSet != true || len(got.ASPath) != 4 || len(got.Reasons) != 2 || got.OTC != 64501 {
		t.Fatalf("lgRoute(full) = %+v", got)
	}
}
