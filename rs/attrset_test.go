package rs

import (
	"reflect"
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
