package lookingglass

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// pageJSONRef is a page through RouteJSON, the definition appendRoutePage must write the bytes of.
func (s *Server) pageJSONRef(p RoutePage, limit int, sk SortKey) RoutePageJSON {
	rs := s.visiblePage(p, sk)
	j := RoutePageJSON{Routes: make([]RouteJSON, 0, len(rs)), NextCursor: p.Next, Generation: p.Generation,
		Total: p.Total, Partial: p.Partial, Limit: limit}
	var names neighborNames
	for i := range rs {
		j.Routes = append(j.Routes, s.routeJSONAt(&rs[i], s.now(), &names))
	}
	return j
}

// checkPageJSON requires appendRoutePage to write what encoding/json writes for pageJSONRef.
func checkPageJSON(t *testing.T, s *Server, p RoutePage, limit int, sk SortKey) {
	t.Helper()
	var want bytes.Buffer
	if err := json.NewEncoder(&want).Encode(s.pageJSONRef(p, limit, sk)); err != nil {
		t.Fatal(err)
	}
	got := s.appendRoutePage([]byte("kept"), s.visiblePage(p, sk), p, limit, s.now())
	if !bytes.HasPrefix(got, []byte("kept")) || !bytes.Equal(got[4:], want.Bytes()) {
		t.Fatalf("appendRoutePage wrote\n%s\nencoding/json writes\n%s", got, want.Bytes())
	}
}

// TestRoutePageJSONMatchesEncoder holds the page encoder to encoding/json on every route of the
// fake RIB (hidden members, filter reasons, not-exported reasons, both families, every community
// kind) in each sort order, and on routes with what needs escaping or has no value.
func TestRoutePageJSONMatchesEncoder(t *testing.T) {
	f := newFake()
	s := newTestServer(t, f)
	var all []Route
	for _, m := range []map[netip.Addr][]Route{f.received, f.exported, f.notExported} {
		for _, rs := range m {
			all = append(all, rs...)
		}
	}
	odd := []Route{
		{}, // no prefix, no neighbor, no time: "invalid Prefix", "" and nulls
		{Prefix: pfx("2001:db8::/32"), Member: `<script>"a\b" & ünïcode` + "\x00\x1f\u2028\xff", Origin: "egp",
			Neighbor: addr("fe80::1%eth\"0"), NextHop: addr("fe80::2%e<0"), ASPath: []uint32{}, ASSet: true,
			HasMED: true, OTC: 4294967295, PathID: 7, Since: time.Unix(1, 0).In(time.FixedZone("x", 3600)),
			Reasons: []int{1, 99}, NotExported: 123, Communities: []Community{0, 0xffffffff},
			LargeCommunities: []LargeCommunity{{}, {4294967295, 1, 2}}, ExtCommunities: []ExtCommunity{0, 0xffffffffffffffff}},
	}
	all = append(all, odd...)
	if len(all) < 10 {
		t.Fatalf("the fake holds %d routes", len(all))
	}
	for _, sk := range []SortKey{{}, {Field: "prefix"}, {Field: "age", Desc: true}, {Field: "neighbor"}} {
		checkPageJSON(t, s, RoutePage{Routes: all, Next: "c<1>", Generation: 1 << 63, Total: -1, Partial: true}, 100, sk)
	}
	checkPageJSON(t, s, RoutePage{}, 0, SortKey{})
	checkPageJSON(t, s, RoutePage{Routes: odd[:1], Total: 3}, 1000, SortKey{})
}

// FuzzRoutePageJSON holds the page encoder to encoding/json on routes built from fuzzed bytes and
// strings, seeded below.
func FuzzRoutePageJSON(f *testing.F) {
	f.Add("Member <1> & co", "igp", "next", []byte{192, 0, 2, 1, 24, 8, 8, 8, 8}, int64(1700000000), uint64(3))
	f.Add("\xff\xfe", "é", "", []byte{0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 64}, int64(-1), uint64(1<<40))
	f.Add("", "", "\u2029", []byte{}, int64(0), uint64(0))
	s := newTestServer(f, newFake())
	f.Fuzz(func(t *testing.T, member, origin, next string, raw []byte, since int64, bits uint64) {
		r := fuzzedRoute(member, origin, next, raw, since, bits)
		checkPageJSON(t, s, RoutePage{Routes: []Route{r, r}, Next: next, Generation: bits, Total: int(since), Partial: bits&8 != 0},
			int(bits%1001), SortKey{})
	})
}

// bufBackend is the fake building its pages in the Page.Buf the looking glass passes, lending the
// slices of the elements it overwrites as the daemon does, and checking the buffer's room.
type bufBackend struct {
	*fakeBackend
	t     *testing.T
	given int // requests that came with a Buf
}

func (b *bufBackend) use(q Page, p RoutePage, err error) (RoutePage, error) {
	if err != nil {
		return p, err
	}
	if cap(q.Buf) < q.Limit || len(q.Buf) != 0 {
		b.t.Errorf("Buf of length %d, capacity %d for a page of %d", len(q.Buf), cap(q.Buf), q.Limit)
	}
	b.given++
	out := q.Buf[:0]
	for _, r := range p.Routes {
		if len(out) < cap(out) {
			out = out[:len(out)+1]
		} else {
			out = append(out, Route{})
		}
		d := &out[len(out)-1]
		old := *d
		*d = r
		d.ASPath = append(old.ASPath[:0], r.ASPath...)
		d.Communities = append(old.Communities[:0], r.Communities...)
		d.LargeCommunities = append(old.LargeCommunities[:0], r.LargeCommunities...)
		d.Reasons = append(old.Reasons[:0], r.Reasons...)
	}
	p.Routes = out
	return p, nil
}

func (b *bufBackend) Routes(ctx context.Context, q RoutesQuery) (RoutePage, error) {
	p, err := b.fakeBackend.Routes(ctx, q)
	return b.use(q.Page, p, err)
}

func (b *bufBackend) Lookup(ctx context.Context, q LookupQuery) (RoutePage, error) {
	p, err := b.fakeBackend.Lookup(ctx, q)
	return b.use(q.Page, p, err)
}

func (b *bufBackend) Search(ctx context.Context, q SearchQuery) (RoutePage, error) {
	p, err := b.fakeBackend.Search(ctx, q)
	return b.use(q.Page, p, err)
}

// TestPageBufReused answers every page endpoint of the golden set, three times over in turn, from a
// backend that builds its pages in the reused Page.Buf, and requires the answers of a backend that
// allocates its own: nothing of an earlier page may leak into a later one.
func TestPageBufReused(t *testing.T) {
	plain := newTestServer(t, newFake()).Handler()
	bb := &bufBackend{fakeBackend: newFake(), t: t}
	s := newTestServer(t, bb.fakeBackend)
	s.backend = bb
	reused := s.Handler()
	n := 0
	for range 3 {
		for _, ep := range endpoints {
			if !strings.HasPrefix(ep.path, "/api/v1/sessions/") && !strings.HasPrefix(ep.path, "/api/v1/lookup") &&
				!strings.HasPrefix(ep.path, "/api/v1/search/") {
				continue
			}
			wc, _, want := do(t, plain, "GET", ep.path, "198.51.100.7:1")
			gc, _, got := do(t, reused, "GET", ep.path, "198.51.100.7:1")
			if gc != wc || !bytes.Equal(got, want) {
				t.Fatalf("%s: %d %s\nwant %d %s", ep.path, gc, got, wc, want)
			}
			n++
		}
	}
	if n < 60 || bb.given < n/2 {
		t.Fatalf("%d answers compared, %d built in a Buf", n, bb.given)
	}
}

// fuzzedRoute is a route whose every field comes from the fuzzer's arguments: the strings, the
// prefix, next hop and neighbor from raw (an IPv4 or IPv6 address and a length), the path and the
// communities of every kind from raw's words, and the numbers and flags from bits.
func fuzzedRoute(member, origin, next string, raw []byte, since int64, bits uint64) Route {
	r := Route{Member: member, Origin: origin, RPKI: origin, IRRPrefix: next, IRROrigin: member,
		ASN: uint32(bits), MED: uint32(bits >> 8), HasMED: bits&1 != 0, ASSet: bits&2 != 0, Best: bits&4 != 0,
		OTC: uint32(bits >> 16), PathID: uint32(bits >> 24), LocalPref: uint32(bits >> 32),
		NotExported: int(bits>>40) & 31}
	if since != 0 {
		r.Since = time.Unix(since%(1<<40), since%1e9)
	}
	if len(raw) >= 5 {
		if a, ok := netip.AddrFromSlice(raw[:4]); ok {
			r.Prefix, _ = a.Prefix(int(raw[4]) % 33)
			r.Neighbor = a
		}
	}
	if len(raw) >= 17 {
		if a, ok := netip.AddrFromSlice(raw[:16]); ok {
			r.NextHop = a.WithZone(origin)
			r.Prefix = netip.PrefixFrom(a, int(raw[16])%129)
			if bits&16 != 0 {
				r.Neighbor = a.WithZone(next)
			}
		}
	}
	for i := 0; i+4 <= len(raw) && i < 64; i += 4 {
		v := binary.BigEndian.Uint32(raw[i:])
		r.ASPath = append(r.ASPath, v)
		r.Communities = append(r.Communities, Community(v))
		r.LargeCommunities = append(r.LargeCommunities, LargeCommunity{v, v >> 3, ^v})
		r.ExtCommunities = append(r.ExtCommunities, ExtCommunity(uint64(v)<<32|uint64(^v)))
		r.Reasons = append(r.Reasons, int(v%64))
	}
	return r
}
