package rs

import (
	"net/netip"
	"reflect"
	"slices"
	"testing"
	"unsafe"

	"github.com/ixrs/ixrs/policy"
	"github.com/ixrs/ixrs/speaker"
)

// TestAttrTableChains files sets that share a hash, as a collision would, and checks that lookups
// compare the attributes and the kind, not the hash, and that removing any set of a chain keeps the
// others findable.
func TestAttrTableChains(t *testing.T) {
	tab := newAttrTable(nil, 64500)
	attrs := func(asn uint32) *speaker.Attrs {
		return &speaker.Attrs{ASPath: speaker.ASPath{{Type: speaker.SegSequence, ASNs: []uint32{asn}}}}
	}
	_, h := tab.lookup(0, attrs(1))
	// Three sets under one hash: the one whose bytes hash to it, and two decoys filed in front of
	// it, one with other attributes, one with the same attributes but another kind.
	want := &attrSet{attrs: attrs(1)}
	decoy := &attrSet{attrs: attrs(2)}
	otherKind := &attrSet{attrs: attrs(1), kind: 3}
	for _, s := range []*attrSet{want, decoy, otherKind} {
		tab.file(s, h)
	}
	if tab.len() != 3 {
		t.Fatalf("len %d, want 3", tab.len())
	}
	if got, _ := tab.lookup(0, attrs(1)); got != want {
		t.Errorf("lookup of equal attributes found %v, want the set of kind 0", got)
	}
	if got, _ := tab.lookup(1, attrs(1)); got != nil {
		t.Errorf("lookup of a kind not filed found %v", got)
	}
	for i, s := range []*attrSet{decoy, want, otherKind} { // middle, then head, then the last
		tab.unfile(s)
		if tab.has(s) {
			t.Errorf("step %d: removed set still in the table", i)
		}
		n := 0
		for x := range tab.all() {
			if x == s {
				t.Errorf("step %d: all yields a removed set", i)
			}
			n++
		}
		if n != tab.len() || n != 2-i {
			t.Errorf("step %d: all yields %d sets, len %d, want %d", i, n, tab.len(), 2-i)
		}
	}
	if len(tab.m) != 0 {
		t.Errorf("%d hashes left in an empty table", len(tab.m))
	}
}

// TestSetInSize keeps the received state of a set within the allocator's 192-byte size class:
// every received set has one, and one byte more costs 16 (the next class is 208).
func TestSetInSize(t *testing.T) {
	if n := unsafe.Sizeof(setIn{}); n > 192 {
		t.Fatalf("setIn is %d bytes, more than the 192-byte size class", n)
	}
}

// TestPolicyPathView checks that the policy view built from a received set matches the one built
// from its attributes, large communities shared rather than copied.
func TestPolicyPathView(t *testing.T) {
	a := &speaker.Attrs{
		ASPath: speaker.ASPath{
			{Type: speaker.SegSequence, ASNs: []uint32{64500, 64501}},
			{Type: speaker.SegSet, ASNs: []uint32{64502, 64503}},
		},
		Communities:      []uint32{1, 2},
		LargeCommunities: []speaker.LargeCommunity{{Global: 64500, Local1: 1, Local2: 2}, {Global: 64500, Local1: 3, Local2: 4}},
		HasOTC:           true,
	}
	tab := newAttrTable(&ControlCommunities{Control: policy.ExportControl{ASN: 65000}}, 65000)
	s := tab.intern(a)
	got, want := s.policyPath(), pathOf(a)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("policyPath %+v, pathOf %+v", got, want)
	}
	if got.Len != 3 || got.First != 64500 || !got.HasSet || len(got.ASNs) != 4 {
		t.Fatalf("policy view %+v", got)
	}
	if &got.LargeCommunities[1].Local1 != &a.LargeCommunities[1].Local1 {
		t.Fatal("large communities copied, not shared")
	}
	if !s.containsASN(64503) || s.containsASN(64504) {
		t.Fatal("containsASN")
	}
}

// TestAttrSetSize keeps attrSet in the allocator's 64-byte size class: every received set is one,
// and the next class is 80 bytes.
func TestAttrSetSize(t *testing.T) {
	if n := unsafe.Sizeof(attrSet{}); n > 64 {
		t.Fatalf("attrSet is %d bytes, more than the 64-byte size class", n)
	}
	// setOut took the 48-byte class before a lazy variant's base and key were added to it.
	if n := unsafe.Sizeof(setOut{}); n > 48 {
		t.Fatalf("setOut is %d bytes, more than the 48-byte size class", n)
	}
}

// TestOTCAdded holds otcAdded to every field of speaker.Attrs: a copy with OTC added passes, and
// a change of any other field, an array copied rather than shared included, or an OTC that was
// there already, fails it. A field added to speaker.Attrs and not compared fails here.
func TestOTCAdded(t *testing.T) {
	a := &speaker.Attrs{
		Origin: 1, HasMED: true, HasLocalPref: true, AtomicAggregate: true, MED: 5, LocalPref: 7,
		ASPath:           speaker.ASPath{{Type: speaker.SegSequence, ASNs: []uint32{64501, 65001}}},
		NextHop:          netip.MustParseAddr("192.0.2.1"),
		MPNextHop:        netip.MustParseAddr("2001:db8::1"),
		MPLinkLocal:      netip.MustParseAddr("fe80::1"),
		Aggregator:       &speaker.Aggregator{AS: 65001, Addr: netip.MustParseAddr("192.0.2.9")},
		Communities:      []uint32{1, 2},
		ExtCommunities:   []uint64{3},
		LargeCommunities: []speaker.LargeCommunity{{Global: 64500, Local1: 1, Local2: 2}},
		Other:            []speaker.RawAttr{{Flags: 0xc0, Type: 99, Value: []byte{1}}},
	}
	send := *a
	send.OTC, send.HasOTC = 64500, true
	if !otcAdded(a, &send) {
		t.Fatal("a copy with OTC added is not recognized")
	}
	rt := reflect.TypeFor[speaker.Attrs]()
	for i := range rt.NumField() {
		f := rt.Field(i)
		if f.Name == "OTC" || f.Name == "HasOTC" {
			continue
		}
		changed := send
		v := reflect.ValueOf(&changed).Elem().Field(i)
		switch v.Kind() {
		case reflect.Bool:
			v.SetBool(!v.Bool())
		case reflect.Uint8, reflect.Uint32:
			v.SetUint(v.Uint() + 1)
		case reflect.Slice: // the same values in another array
			c := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
			reflect.Copy(c, v)
			v.Set(c)
		case reflect.Pointer:
			c := reflect.New(v.Type().Elem())
			c.Elem().Set(v.Elem())
			v.Set(c)
		default:
			if v.Type() != reflect.TypeFor[netip.Addr]() {
				t.Fatalf("field %s: kind %v not covered by this test", f.Name, v.Kind())
			}
			v.Set(reflect.ValueOf(netip.MustParseAddr("198.51.100.1")))
		}
		if otcAdded(a, &changed) {
			t.Errorf("field %s changed, and otcAdded still says only OTC was added", f.Name)
		}
	}
	had := *a
	had.OTC, had.HasOTC = 64999, true
	if otcAdded(&had, &send) {
		t.Error("OTC replaced, not added, and otcAdded says it was added")
	}
}

// TestOTCOnlyOutSet: a received set that export policy changes only by adding OTC is its own out
// set (no copy of its attributes, no second set in the table), and is sent, listed in the
// exported view and published on the event feed with the OTC.
func TestOTCOnlyOutSet(t *testing.T) {
	s := newTestServer(t, func(c *Config) {
		c.Export = &ControlCommunities{Control: policy.ExportControl{ASN: rsASN}, AddOTC: true}
	})
	a := addMember(t, s, "A", 64501, "192.0.2.11")
	c := addMember(t, s, "C", 64503, "192.0.2.13")
	live := subscribeSync(s, SubscribeOptions{Size: 64, Exports: true})
	at := a.attrs(65001)
	at.Communities = []uint32{65001<<16 | 7}
	a.announce(at, "203.0.113.0/24", "198.51.100.0/24")
	readAll(t, s, a, c)
	liveEvs, err := drain(t, live)
	if err != nil {
		t.Fatal(err)
	}
	synced := subscribeSync(s, SubscribeOptions{Size: 64, Exports: true})
	synced.startResync()
	var dumpEvs []Event // the resync's dump of the RIB, up to its end
	for i := 0; len(dumpEvs) == 0 || dumpEvs[len(dumpEvs)-1].Kind != EventSyncDone; i++ {
		if i > 1000 {
			t.Fatalf("the dump never ends: %d events", len(dumpEvs))
		}
		s.pass()
		evs, err := drain(t, synced)
		if err != nil {
			t.Fatal(err)
		}
		dumpEvs = append(dumpEvs, evs...)
	}
	for name, evs := range map[string][]Event{"live": liveEvs, "dump": dumpEvs} {
		n := 0
		for _, ev := range evs {
			if ev.Kind != EventExport {
				continue
			}
			n++
			if ev.Attrs == nil || !ev.Attrs.HasOTC || ev.Attrs.OTC != rsASN {
				t.Errorf("%s feed: %s without OTC %d", name, ev.short(), rsASN)
			}
		}
		if n != 2 {
			t.Errorf("%s feed: %d exports, want 2", name, n)
		}
	}
	set := s.prefixes.get(netip.MustParsePrefix("203.0.113.0/24")).routes()[0].set
	if set.out != set || set.otc != rsASN || set.attrs.HasOTC {
		t.Fatalf("out set %p of set %p, otc %d, received attributes with OTC %v", set.out, set, set.otc, set.attrs.HasOTC)
	}
	if n := s.sets.len(); n != 1 {
		t.Errorf("%d sets in the table, want 1", n)
	}
	for _, p := range []string{"203.0.113.0/24", "198.51.100.0/24"} {
		got := c.has(p)
		if got == nil || !got.HasOTC || got.OTC != rsASN || !slices.Equal(got.Communities, at.Communities) {
			t.Errorf("C received %s with %+v, want the route with OTC %d added", p, got, rsASN)
		}
	}
	page, err := s.routes(RoutesQuery{Neighbor: c.addr, View: ViewExported, Limit: MaxPage})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Routes) != 2 {
		t.Fatalf("C's exported view has %d routes, want 2", len(page.Routes))
	}
	for _, r := range page.Routes {
		if !r.Attrs.HasOTC || r.Attrs.OTC != rsASN {
			t.Errorf("exported view: %v without OTC %d", r.Prefix, rsASN)
		}
	}
	if ra := s.prefixes.get(netip.MustParsePrefix("203.0.113.0/24")).routes()[0].set.attrs; ra.HasOTC {
		t.Error("the received attributes gained the OTC")
	}
}
