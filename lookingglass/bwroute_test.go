package lookingglass

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"strconv"
	"testing"
	"time"
)

type bwRoute struct {
	Network      string   `json:"network"`
	Gateway      string   `json:"gateway"`
	Interface    string   `json:"interface"`
	FromProtocol string   `json:"from_protocol"`
	Age          string   `json:"age"`
	LearntFrom   string   `json:"learnt_from"`
	Primary      bool     `json:"primary"`
	Metric       int      `json:"metric"`
	Type         []string `json:"type"`
	BGP          bwBGP    `json:"bgp"`
}

type bwBGP struct {
	Origin           string      `json:"origin"`
	ASPath           []string    `json:"as_path"`
	NextHop          string      `json:"next_hop"`
	LocalPref        string      `json:"local_pref"`
	MED              string      `json:"med"`
	OTC              string      `json:"otc,omitempty"`
	Communities      [][2]uint32 `json:"communities"`
	LargeCommunities [][3]uint32 `json:"large_communities"`
	ExtCommunities   [][3]string `json:"ext_communities"`
}

// bwRoute is the reference appendBWRoute must write the JSON of, the birdwatcher shape as Alice-LG
// type-asserts it (numbers as numbers; as_path, local_pref and med as strings).
func (s *Server) bwRoute(r *Route) bwRoute {
	b := bwRoute{
		Network: r.Prefix.String(), Gateway: addrString(r.Neighbor), Interface: "",
		FromProtocol: ProtocolID(r.Neighbor), Age: birdTime(r.Since),
		LearntFrom: addrString(r.Neighbor), Primary: r.Best && r.Accepted(), Metric: 100,
		Type: []string{"BGP", "univ"},
		BGP: bwBGP{
			Origin: birdOrigin(r.Origin), ASPath: make([]string, len(r.ASPath)), NextHop: addrString(r.NextHop),
			LocalPref: strconv.FormatUint(uint64(r.LocalPref), 10), MED: strconv.FormatUint(uint64(r.MED), 10),
			Communities: make([][2]uint32, len(r.Communities)), LargeCommunities: [][3]uint32{},
			ExtCommunities: make([][3]string, len(r.ExtCommunities)),
		},
	}
	for i, a := range r.ASPath {
		b.BGP.ASPath[i] = strconv.FormatUint(uint64(a), 10)
	}
	if r.OTC != 0 {
		b.BGP.OTC = strconv.FormatUint(uint64(r.OTC), 10)
	}
	for i, c := range r.Communities {
		b.BGP.Communities[i] = [2]uint32{uint32(c >> 16), uint32(c & 0xffff)}
	}
	for _, c := range s.largeCommunities(r) {
		b.BGP.LargeCommunities = append(b.BGP.LargeCommunities, [3]uint32{c.Global, c.Local1, c.Local2})
	}
	for i, c := range r.ExtCommunities {
		k, g, l := c.Parts()
		b.BGP.ExtCommunities[i] = [3]string{k, g, l}
	}
	return b
}

// checkBWRoute requires appendBWRoute to write what encoding/json writes for bwRoute.
func checkBWRoute(t *testing.T, s *Server, r *Route) {
	t.Helper()
	want, err := json.Marshal(s.bwRoute(r))
	if err != nil {
		t.Fatal(err)
	}
	if got := s.appendBWRoute([]byte("kept"), r); !bytes.HasPrefix(got, []byte("kept")) || !bytes.Equal(got[4:], want) {
		t.Fatalf("appendBWRoute wrote\n%s\nencoding/json writes\n%s", got, want)
	}
}

// TestBWRouteMatchesEncoder holds the birdwatcher route encoder to encoding/json on every route of
// the fake RIB and on routes with what needs escaping or has no value.
func TestBWRouteMatchesEncoder(t *testing.T) {
	f := newFake()
	s := newTestServer(t, f)
	n := 0
	for _, m := range []map[netip.Addr][]Route{f.received, f.exported, f.notExported} {
		for _, rs := range m {
			for i := range rs {
				checkBWRoute(t, s, &rs[i])
				n++
			}
		}
	}
	if n < 10 {
		t.Fatalf("the fake holds %d routes", n)
	}
	for _, r := range []Route{
		{},
		{Prefix: pfx("2001:db8::/32"), Neighbor: addr("fe80::1%eth\"0"), NextHop: addr("fe80::2%e<0"), Origin: "egp",
			ASPath: []uint32{}, OTC: 7, Since: time.Unix(1, 0).In(time.FixedZone("x", 3600)), Reasons: []int{1, 99},
			NotExported: 3, RPKI: "invalid", Best: true, Communities: []Community{0, 0xffffffff},
			LargeCommunities: []LargeCommunity{{}, {4294967295, 1, 2}}, ExtCommunities: []ExtCommunity{0, 0xffffffffffffffff}},
	} {
		checkBWRoute(t, s, &r)
	}
}

// FuzzBWRoute holds the birdwatcher route encoder to encoding/json on fuzzed routes (fuzzedRoute).
func FuzzBWRoute(f *testing.F) {
	f.Add("Member <1> & co", "igp", "valid", []byte{192, 0, 2, 1, 24, 8, 8, 8, 8}, int64(1700000000), uint64(3))
	f.Add("\xff\xfe", "egp", "x\u2028", []byte{0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 64}, int64(-1), uint64(1<<40|16))
	f.Add("", "", "", []byte{}, int64(0), uint64(0))
	s := newTestServer(f, newFake())
	f.Fuzz(func(t *testing.T, member, origin, next string, raw []byte, since int64, bits uint64) {
		r := fuzzedRoute(member, origin, next, raw, since, bits)
		checkBWRoute(t, s, &r)
	})
}
