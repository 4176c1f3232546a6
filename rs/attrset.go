package rs

import (
	"bytes"
	"encoding/binary"
	"hash/maphash"
	"iter"
	"net/netip"
	"slices"
	"unsafe"

	"github.com/ixrs/ixrs/policy"
	"github.com/ixrs/ixrs/speaker"
)

// attrSet is one interned set of path attributes. Routes, Adj-RIB-Out entries and other sets
// (through out) hold counted references; a set whose count drops to zero leaves the table.
//
// Everything that depends only on the attributes is computed once here and not per prefix: the
// decision-process inputs, the policy view (policy.Path), the export-control summary, the set to send
// (control communities stripped, OTC added) and its wire encodings.
//
// A set plays one or both of two roles, and carries the state of each only when it plays it:
// received (routes point to it: setIn, the policy view and import/export summaries) and sent (an
// out set or a variant: setOut, its encodings and variants). A received set that export policy
// changes only by adding OTC (RFC 9234), nearly every set a member sends, plays both: it is its
// own out set and is sent with that OTC (otc, sending), so it needs no copy of its attributes.
type attrSet struct {
	hash  uint64   // of kind and the canonical bytes (attrTable.key)
	next  *attrSet // the next set of the same hash in the intern table
	attrs *speaker.Attrs
	refs  int32
	kind  uint8 // the announcing member's export profile id, or derivedMark

	rsInPath bool // the route server's own AS is in the path: never redistributed
	// llgrStale: the set carries LLGR_STALE (RFC 9494 §4.3): its routes lose to every other
	// candidate and go only to sessions that negotiated long-lived graceful restart. noLLGR: it
	// carries NO_LLGR, and its routes are not kept long-lived stale (llgr.go).
	llgrStale, noLLGR bool

	med uint32 // 0 when absent (RFC 4271 §9.1.2.2 c)
	// otc, when not 0, is the OTC that export policy adds to this received set, which is then its
	// own out set and is sent as attrs with OTC = otc (sending, sentAttrs). No out-set lookup
	// ever finds such a set: export policy is idempotent, so attrs, which it changes, is never
	// what it returns. (The field fills padding: attrSet stays 64 bytes, TestAttrSetSize.)
	otc uint32

	// out is the set sent to members: this set with the route server's control communities
	// stripped, or the set itself. It holds a reference when it is another set.
	out *attrSet

	*setIn  // received sets only (nil for sets that are only sent)
	*setOut // sets that are sent, once encoded or varied
}

// setIn is the state of a received set.
type setIn struct {
	// asns is the AS path flattened, left to right (shared with attrs when the path is one
	// segment); plen is its length as the decision process counts it, first the left-most AS of a
	// leading AS_SEQUENCE, hasSet an AS_SET or confederation segment anywhere. With attrs they are
	// the policy view (policyPath), built when asked for rather than stored: a stored policy.Path
	// is 144 bytes, and without it setIn fits the 192-byte size class (TestSetInSize).
	asns  []uint32
	plen  int32
	first uint32

	// impP and impV cache the path verdict per family for the session that last used this set; a
	// set is almost always announced by one session only, so one entry per family hits. (Two
	// arrays rather than one of pairs: a pair pads to 24 bytes.)
	impP [numFams]*session
	impV [numFams]policy.Verdict
	// hasSet: an AS_SET or confederation segment anywhere in the path (with asns, above).
	hasSet bool
	// aspaHit is the answer of the revalidation walk aspaWalk (below).
	aspaHit bool

	exp policy.Export

	// xBits caches, for cohort pulls, the sessions of the members whose AS is in the path, as of
	// Server.epoch xEpoch (cohort.go).
	xBits  bitset
	xEpoch uint64

	// routes is the first route filed with this set; the routes form a circular list through
	// route.setNext (asnindex.go).
	routes *route

	// aspaWalk is the revalidation walk that last decided whether a changed ASPA customer is in
	// the path, and aspaHit its answer (reeval.go).
	aspaWalk uint64
}

// policyPath returns the policy view of received set s (NextHop left unset: it depends on the
// family). The slices are s's own (immutable); building it allocates nothing.
func (s *attrSet) policyPath() policy.Path {
	a := s.attrs
	return policy.Path{
		ASNs:             s.asns,
		Len:              int(s.plen),
		First:            s.first,
		HasSet:           s.hasSet,
		Communities:      a.Communities,
		ExtCommunities:   a.ExtCommunities,
		LargeCommunities: policyLarge(a.LargeCommunities),
		HasOTC:           a.HasOTC,
	}
}

// containsASN reports whether asn is in received set s's AS path.
func (s *attrSet) containsASN(asn uint32) bool {
	return slices.Contains(s.asns, asn)
}

// setOut is the state of a set that is sent. Nearly every out set is sent in one family to
// 4-octet-AS receivers only and has no variants: its one encoding sits here, and the rest (other
// encodings, variants) in a setOutMore of its own, so such a set costs 48 bytes here and no list
// (a list of one encoding and a slice for the variants cost 80).
type setOut struct {
	enc0  []byte // the first encoded attribute block asked for
	enc0i int8   // its encIndex plus one; 0: none yet
	// vkey is a lazy variant's key in its base's variant cache (variant.go); 0 otherwise.
	vkey uint16
	more *setOutMore
	// base, when not nil, makes this set a lazy variant: it is sent as base's attributes with the
	// informational communities of vkey added, built when asked for (attrTable.sending), and attrs
	// is base's, which it differs from only in those communities. Not a counted reference: the
	// base's variant cache holds one on this set, and a count back would make a cycle. The base's
	// attributes and OTC never change, so they stay readable after the base leaves the table.
	// (The field fills the 48-byte size class that setOut already took.)
	base *attrSet
}

// lazy reports whether s is a lazy variant (setOut.base).
func (s *attrSet) lazy() bool { return s.setOut != nil && s.setOut.base != nil }

// setOutMore is the rarer part of an out set's send-side state.
type setOutMore struct {
	// vars caches the variants of the out set (variant.go); each entry other than the set itself
	// holds a reference.
	vars []varEntry
	// enc caches the encoded attribute blocks after the first, one per family and AS encoding asked
	// for (encIndex).
	enc []encBlock
}

// variants returns the cached variants of the out set.
func (o *setOut) variants() []varEntry {
	if o.more == nil {
		return nil
	}
	return o.more.vars
}

// extra returns the rarer state, creating it.
func (o *setOut) extra() *setOutMore {
	if o.more == nil {
		o.more = &setOutMore{}
	}
	return o.more
}

// encBlock is one cached attribute block of an out set.
type encBlock struct {
	i int // encIndex
	b []byte
}

// cachedEnc returns the cached block at encIndex i, or nil.
func (o *setOut) cachedEnc(i int) []byte {
	if int(o.enc0i) == i+1 {
		return o.enc0
	}
	if o.more != nil {
		for _, e := range o.more.enc {
			if e.i == i {
				return e.b
			}
		}
	}
	return nil
}

// sent returns s's send-side state, creating it.
func (s *attrSet) sent() *setOut {
	if s.setOut == nil {
		s.setOut = &setOut{}
	}
	return s.setOut
}

// famIdx indexes per-family arrays: 0 IPv4 unicast, 1 IPv6 unicast.
type famIdx uint8

const numFams = 2

var families = [numFams]speaker.Family{speaker.IPv4Unicast, speaker.IPv6Unicast}

func famOf(p netip.Prefix) famIdx {
	if p.Addr().Is4() {
		return 0
	}
	return 1
}

func famIdxOf(f speaker.Family) (famIdx, bool) {
	switch f {
	case speaker.IPv4Unicast:
		return 0, true
	case speaker.IPv6Unicast:
		return 1, true
	}
	return 0, false
}

// nextHop returns the next hop the set carries for family fi, the address a member's router
// forwards to: NEXT_HOP for IPv4 (or an IPv4 MP_REACH next hop), the MP_REACH global address for
// IPv6. It is invalid when the set has none for fi.
func (s *attrSet) nextHop(fi famIdx) netip.Addr {
	a := s.attrs
	if fi == 0 {
		if a.NextHop.IsValid() {
			return a.NextHop
		}
		if a.MPNextHop.Is4() {
			return a.MPNextHop
		}
		return netip.Addr{}
	}
	if a.MPNextHop.Is6() {
		return a.MPNextHop
	}
	return netip.Addr{}
}

// encoded returns the attribute block of out set s for family fi and the receiver's AS encoding,
// encoding it the first time it is asked for. Every member receiving this set with the same
// encoding gets these bytes (docs/architecture.md, design choice 2: encode once, send to many).
func (s *attrSet) encoded(t *attrTable, fi famIdx, opt speaker.EncodeOptions) []byte {
	i := encIndex(fi, opt)
	o := s.sent()
	if b := o.cachedEnc(i); b != nil {
		return b
	}
	// For IPv4 AppendAttrs takes NEXT_HOP from MP_REACH when the route came that way. The block is
	// built in scratch and kept in a copy of its exact size: appending to a small buffer would keep
	// the doubled capacity of its last growth.
	t.encScratch = speaker.AppendAttrs(t.encScratch[:0], t.sending(s), families[fi], opt)
	b := append([]byte(nil), t.encScratch...)
	if o.enc0i == 0 {
		o.enc0, o.enc0i = b, int8(i+1)
	} else {
		m := o.extra()
		m.enc = append(m.enc, encBlock{i, b})
	}
	t.encoded++
	t.encodedBytes += len(b)
	return b
}

func encIndex(fi famIdx, opt speaker.EncodeOptions) int {
	i := int(fi) * 2
	if !opt.FourOctetAS {
		i++
	}
	return i
}

// attrTable interns attribute sets by their canonical bytes (appendKey), without storing them: a set
// is filed under a hash of its kind and bytes, and a lookup that finds sets of the same hash
// compares by encoding each one's bytes again, into scratch. The hash is randomly seeded per table,
// so a member cannot craft attributes that collide; sets of one hash are chained through next.
type attrTable struct {
	m          map[uint64]*attrSet
	n          int // sets in the table
	seed       maphash.Seed
	scratch    []byte
	cmpScratch []byte               // lookup encodes a candidate's bytes here
	encScratch []byte               // encoded builds an attribute block here
	otcScratch speaker.Attrs        // sending adds OTC to a copy here
	paths      [numFams]policy.Path // importUpdate's per-family policy views
	prepPath   policy.Path          // prepare's policy view (a local would escape to the heap)
	export     ExportPolicy
	vexport    VariantPolicy // export, when it has variants
	rsASN      uint32
	derived    int  // derived sets in the table (variant.go)
	lazies     int  // lazy variants among them
	gshut      bool // graceful shutdown: variants carry GRACEFUL_SHUTDOWN (gshut.go)

	refs         int // references held on all sets
	encoded      int // cached encodings
	encodedBytes int

	byASN  map[uint32]*asnSets // the AS index: sets with routes by AS of their path (asnindex.go)
	byTerm *termIndex          // the term index, once a search asked for it (termindex.go)
}

// lookup returns the set of kind with attributes equal to a (by their canonical bytes), or nil,
// and the hash a set of them is filed under. It allocates nothing once the scratch buffers have
// grown.
func (t *attrTable) lookup(kind uint8, a *speaker.Attrs) (*attrSet, uint64) {
	t.scratch = appendKey(append(t.scratch[:0], kind), a)
	h := maphash.Bytes(t.seed, t.scratch)
	for s := t.m[h]; s != nil; s = s.next {
		if s.kind != kind || s.lazy() { // a lazy variant's attrs are not what it is sent with
			continue
		}
		if s.attrs == a {
			return s, h
		}
		t.cmpScratch = appendKey(append(t.cmpScratch[:0], kind), s.attrs)
		if bytes.Equal(t.cmpScratch, t.scratch) {
			return s, h
		}
	}
	return nil, h
}

// file adds s, not in the table, under hash h.
func (t *attrTable) file(s *attrSet, h uint64) {
	s.hash = h
	s.next = t.m[h]
	t.m[h] = s
	t.n++
}

// unfile removes s from the table.
func (t *attrTable) unfile(s *attrSet) {
	at := t.m[s.hash]
	switch {
	case at == s && s.next == nil:
		delete(t.m, s.hash)
	case at == s:
		t.m[s.hash] = s.next
	default:
		for at.next != s {
			at = at.next
		}
		at.next = s.next
	}
	s.next = nil
	t.n--
}

// has reports whether s is in the table.
func (t *attrTable) has(s *attrSet) bool {
	for x := t.m[s.hash]; x != nil; x = x.next {
		if x == s {
			return true
		}
	}
	return false
}

// len returns the number of sets in the table.
func (t *attrTable) len() int { return t.n }

// all yields every set in the table, which must not change during the walk.
func (t *attrTable) all() iter.Seq[*attrSet] {
	return func(yield func(*attrSet) bool) {
		for _, s := range t.m {
			for ; s != nil; s = s.next {
				if !yield(s) {
					return
				}
			}
		}
	}
}

func newAttrTable(export ExportPolicy, rsASN uint32) *attrTable {
	t := &attrTable{m: make(map[uint64]*attrSet), seed: maphash.MakeSeed(), export: export, rsASN: rsASN}
	t.vexport, _ = export.(VariantPolicy)
	return t
}

// intern returns the set for a with one reference taken for the caller. Looking up an existing
// set allocates nothing.
func (t *attrTable) intern(a *speaker.Attrs) *attrSet {
	return t.internDepth(a, 0, exportProfile{})
}

// exportProfile is the announcing member's export settings (nil: the policy's defaults) and the
// small id that keys them: the same attributes from members with different settings are
// different sets, since they are sent differently.
type exportProfile struct {
	id uint8
	p  *ExportProfile
}

// internFor is intern for a route of a member with export profile prof.
func (t *attrTable) internFor(a *speaker.Attrs, prof exportProfile) *attrSet {
	return t.internDepth(a, 0, prof)
}

func (t *attrTable) internDepth(a *speaker.Attrs, depth int, prof exportProfile) *attrSet {
	s, h := t.lookup(prof.id, a)
	if s != nil {
		s.refs++
		t.refs++
		if depth == 0 && s.setIn == nil {
			// So far only sent (another set's out set); now received as well. The export policy
			// is idempotent, so it leaves the set as it is: its out set stays itself.
			in, _ := t.prepare(s.attrs, prof)
			s.setIn = in
		}
		return s
	}
	s = &attrSet{attrs: a, refs: 1, kind: prof.id}
	t.refs++
	t.file(s, h)
	if a.HasMED {
		s.med = a.MED
	}
	s.rsInPath = a.ASPath.Contains(t.rsASN)
	s.llgrStale, s.noLLGR = llgrFlags(a.Communities)
	// A policy that keeps rewriting its own output would recurse forever: the second level is
	// sent as it is, and needs no received state.
	if depth > 0 {
		s.out = s
		return s
	}
	in, send := t.prepare(a, prof)
	s.setIn = in
	switch {
	case send == nil:
		s.out = s
	case otcAdded(a, send):
		s.out, s.otc = s, send.OTC
	default:
		s.out = t.internDepth(send, depth+1, prof)
		if s.out == s { // the policy returned identical attributes
			t.unref(s)
		}
	}
	return s
}

// otcAdded reports whether send is a with an OTC added and nothing else changed: the same
// values, and the same arrays (export policy shares what it does not change). TestOTCAdded keeps
// it in step with the fields of speaker.Attrs.
func otcAdded(a, send *speaker.Attrs) bool {
	return !a.HasOTC && send.HasOTC && send.OTC != 0 &&
		send.Origin == a.Origin && send.HasMED == a.HasMED && send.HasLocalPref == a.HasLocalPref &&
		send.AtomicAggregate == a.AtomicAggregate && send.MED == a.MED && send.LocalPref == a.LocalPref &&
		sameArray(send.ASPath, a.ASPath) && send.NextHop == a.NextHop && send.MPNextHop == a.MPNextHop &&
		send.MPLinkLocal == a.MPLinkLocal && send.Aggregator == a.Aggregator &&
		sameArray(send.Communities, a.Communities) && sameArray(send.ExtCommunities, a.ExtCommunities) &&
		sameArray(send.LargeCommunities, a.LargeCommunities) && sameArray(send.Other, a.Other)
}

// sameArray reports whether x and y are the same elements of the same array.
func sameArray[E any](x, y []E) bool {
	return len(x) == len(y) && (len(x) == 0 || &x[0] == &y[0])
}

// sending returns the attributes out set s is sent with: its own, or with export policy's OTC
// added in scratch space of t that the next call reuses.
func (t *attrTable) sending(s *attrSet) *speaker.Attrs {
	if s.lazy() {
		return t.lazyAttrs(s)
	}
	if s.otc == 0 {
		return s.attrs
	}
	t.otcScratch = *s.attrs
	t.otcScratch.OTC, t.otcScratch.HasOTC = s.otc, true
	return &t.otcScratch
}

// sentAttrs returns the attributes out set s is sent with, for keeping: its own, a copy with
// export policy's OTC added, or a lazy variant's, built.
func (t *attrTable) sentAttrs(s *attrSet) *speaker.Attrs {
	if s.lazy() {
		return t.lazyAttrs(s)
	}
	if s.otc == 0 {
		return s.attrs
	}
	a := *s.attrs
	a.OTC, a.HasOTC = s.otc, true
	return &a
}

// prepare computes the received state of a and the attributes export policy sends instead (nil:
// a itself).
func (t *attrTable) prepare(a *speaker.Attrs, prof exportProfile) (*setIn, *speaker.Attrs) {
	path := &t.prepPath
	*path = pathOf(a)
	in := newSetIn(path)
	var send *speaker.Attrs
	if pe, ok := t.export.(ProfiledExport); ok && prof.p != nil {
		in.exp, send = pe.PrepareProfile(prof.p, a, path)
	} else {
		in.exp, send = t.export.Prepare(a, path)
	}
	*path = policy.Path{} // hold no references to a's slices
	return in, send
}

// newSetIn returns the received state of a set whose policy view is path, the export summary
// left to fill.
func newSetIn(path *policy.Path) *setIn {
	return &setIn{asns: path.ASNs, plen: int32(path.Len), first: path.First, hasSet: path.HasSet}
}

// ref takes another reference on s.
func (t *attrTable) ref(s *attrSet) {
	s.refs++
	t.refs++
}

// unref drops a reference; the last one removes s from the table.
func (t *attrTable) unref(s *attrSet) {
	s.refs--
	t.refs--
	if s.refs > 0 {
		return
	}
	if s.refs < 0 {
		panic("rs: attribute set reference count below zero")
	}
	t.unfile(s)
	if s.kind == derivedMark {
		t.derived--
		if s.lazy() {
			t.lazies--
		}
	}
	if o := s.setOut; o != nil {
		if o.enc0i != 0 {
			t.encoded--
			t.encodedBytes -= len(o.enc0)
		}
		o.enc0, o.enc0i = nil, 0
		if m := o.more; m != nil {
			for _, e := range m.enc {
				t.encoded--
				t.encodedBytes -= len(e.b)
			}
			m.enc = nil
			for _, v := range m.vars {
				if v.set != s {
					t.unref(v.set)
				}
			}
			o.more = nil
		}
		s.setOut = nil
	}
	if s.out != s {
		t.unref(s.out)
	}
	s.out = nil
}

// pathOf builds the policy view of a's AS path and communities. The community slices are shared
// with a (both are immutable), the AS numbers too when the path is one segment.
func pathOf(a *speaker.Attrs) policy.Path {
	p := policy.Path{
		Len:              a.ASPath.Len(),
		First:            a.ASPath.First(),
		Communities:      a.Communities,
		ExtCommunities:   a.ExtCommunities,
		LargeCommunities: policyLarge(a.LargeCommunities),
		HasOTC:           a.HasOTC,
	}
	n := 0
	for _, seg := range a.ASPath {
		n += len(seg.ASNs)
		if seg.Type != speaker.SegSequence {
			p.HasSet = true
		}
	}
	if len(a.ASPath) == 1 {
		p.ASNs = a.ASPath[0].ASNs // the usual case: no copy
	} else if n > 0 {
		p.ASNs = make([]uint32, 0, n)
		for _, seg := range a.ASPath {
			p.ASNs = append(p.ASNs, seg.ASNs...)
		}
	}
	return p
}

// policyLarge returns l as policy large communities, sharing its array: the two types are the same
// three uint32 fields (the conversion below fails to compile if they ever differ), so the policy
// view of a set needs no copy of them.
func policyLarge(l []speaker.LargeCommunity) []policy.LargeCommunity {
	if len(l) == 0 {
		return nil
	}
	return unsafe.Slice((*policy.LargeCommunity)(unsafe.Pointer(&l[0])), len(l))
}

var _ = policy.LargeCommunity(speaker.LargeCommunity{}) // same fields, same layout

// appendKey appends the canonical bytes of a: every attribute the route server passes on, in a
// fixed order with lengths, so that equal keys mean equal attributes. LOCAL_PREF is left out: a
// member's LOCAL_PREF is ignored (import policy sets it) and never sent, so sets that differ only
// there are the same set.
func appendKey(b []byte, a *speaker.Attrs) []byte {
	var flags byte
	if a.HasMED {
		flags |= 1
	}
	if a.AtomicAggregate {
		flags |= 2
	}
	if a.HasOTC {
		flags |= 4
	}
	if a.Aggregator != nil {
		flags |= 8
	}
	b = append(b, a.Origin, flags)
	b = binary.BigEndian.AppendUint32(b, a.MED)
	b = binary.BigEndian.AppendUint32(b, a.OTC)
	b = appendAddr(b, a.NextHop)
	b = appendAddr(b, a.MPNextHop)
	b = appendAddr(b, a.MPLinkLocal)
	b = binary.AppendUvarint(b, uint64(len(a.ASPath)))
	for _, seg := range a.ASPath {
		b = append(b, seg.Type)
		b = binary.AppendUvarint(b, uint64(len(seg.ASNs)))
		for _, asn := range seg.ASNs {
			b = binary.BigEndian.AppendUint32(b, asn)
		}
	}
	if a.Aggregator != nil {
		b = binary.BigEndian.AppendUint32(b, a.Aggregator.AS)
		b = appendAddr(b, a.Aggregator.Addr)
	}
	b = binary.AppendUvarint(b, uint64(len(a.Communities)))
	for _, c := range a.Communities {
		b = binary.BigEndian.AppendUint32(b, c)
	}
	b = binary.AppendUvarint(b, uint64(len(a.ExtCommunities)))
	for _, c := range a.ExtCommunities {
		b = binary.BigEndian.AppendUint64(b, c)
	}
	b = binary.AppendUvarint(b, uint64(len(a.LargeCommunities)))
	for _, c := range a.LargeCommunities {
		b = binary.BigEndian.AppendUint32(b, c.Global)
		b = binary.BigEndian.AppendUint32(b, c.Local1)
		b = binary.BigEndian.AppendUint32(b, c.Local2)
	}
	b = binary.AppendUvarint(b, uint64(len(a.Other)))
	for _, o := range a.Other {
		b = append(b, o.Flags, o.Type)
		b = binary.AppendUvarint(b, uint64(len(o.Value)))
		b = append(b, o.Value...)
	}
	return b
}

func appendAddr(b []byte, a netip.Addr) []byte {
	switch {
	case !a.IsValid():
		return append(b, 0)
	case a.Is4():
		v := a.As4()
		return append(append(b, 4), v[:]...)
	}
	v := a.As16()
	return append(append(b, 16), v[:]...)
}
