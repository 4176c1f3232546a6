package rs

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/ixrs/ixrs/policy"
	"github.com/ixrs/ixrs/speaker"
)

// refModel is a reference route server: a deliberately plain and slow model of what every member
// should receive, written from docs/policy.md, RFC 4271 §9.1.2.2 and RFC 7947, and sharing no code
// with rs's decision or export logic. It keeps each session's Adj-RIB-In as a map, computes nothing
// incrementally, and on every question sorts the candidates of every prefix from scratch. Import
// verdicts come from the policy package (the importer the Server is configured with), which is a
// separate package with its own tests; everything after import is written out again here.
//
// The randomised test (reference_test.go) and the golden test (golden_test.go) run a real Server
// and this model on the same input and require each member's table, decoded from the UPDATE bytes
// the Server queued, to equal the model's.
type refModel struct {
	asn uint32 // the route server's AS
	imp policy.Importer
	rov policy.OriginValidator

	// Export settings, as docs/policy.md and docs/configuration.md describe them.
	informational bool       // add RS:1000:N and RS:64512:N
	addOTC        bool       // add OTC = RS to routes that carry none
	blackhole     bool       // add NO_EXPORT to 65535:666 routes
	bhNH4, bhNH6  netip.Addr // next hop of blackhole routes (invalid: unchanged)

	members  map[string]*refMember
	sessions map[netip.Addr]*refSession

	stats refStats
}

// refStats counts what the model's answers exercised, so that a test can require that the
// interesting cases happened at all.
type refStats struct {
	exported   int // routes in the expected tables
	notFirst   int // a member gets a route other than the prefix's best (no path hiding)
	denied     int // a candidate passed over for control communities
	inPath     int // a candidate passed over because the receiver's AS is in its path
	prepended  int // a route expected with a prepend
	medRanked  int // candidate lists where MED ordered two routes of one neighbour AS
	infoAdded  int // routes expected with informational communities
	multiRoute int // prefixes with more than one candidate
	rejected   int // routes received that import policy rejected
}

type refMember struct {
	name  string
	asn   uint32
	irr   *policy.IRR
	addrs []netip.Addr // every configured session address: the strict next-hop check reads them
}

type refSession struct {
	m        *refMember
	addr     netip.Addr
	up       bool
	routerID netip.Addr
	v4, v6   bool // negotiated families
	adjIn    map[netip.Prefix]*refRoute
}

// refRoute is one received route with its import verdict.
type refRoute struct {
	s *refSession
	a *speaker.Attrs
	v policy.Verdict
}

func newRefModel(asn uint32, imp policy.Importer, rov policy.OriginValidator) *refModel {
	return &refModel{asn: asn, imp: imp, rov: rov, members: map[string]*refMember{}, sessions: map[netip.Addr]*refSession{}}
}

func (r *refModel) addMember(name string, asn uint32, irr *policy.IRR) {
	r.members[name] = &refMember{name: name, asn: asn, irr: irr}
}

func (r *refModel) addSession(member string, addr netip.Addr) {
	m := r.members[member]
	m.addrs = append(m.addrs, addr)
	r.sessions[addr] = &refSession{m: m, addr: addr}
}

func (r *refModel) up(addr netip.Addr, info SessionInfo) {
	s := r.sessions[addr]
	s.up, s.routerID, s.v4, s.v6 = true, info.RouterID, false, false
	for _, f := range info.Families {
		s.v4 = s.v4 || f == speaker.IPv4Unicast
		s.v6 = s.v6 || f == speaker.IPv6Unicast
	}
	s.adjIn = map[netip.Prefix]*refRoute{}
}

// down forgets everything the session announced (RFC 4271 §8.2.2: its routes are withdrawn).
func (r *refModel) down(addr netip.Addr) {
	s := r.sessions[addr]
	s.up, s.adjIn = false, nil
}

// update applies one UPDATE: withdrawals first, then the announcements, each with its import
// verdict. A later announcement of a prefix replaces the session's earlier one.
func (r *refModel) update(addr netip.Addr, u *speaker.Update) {
	s := r.sessions[addr]
	for _, p := range u.Withdrawn {
		delete(s.adjIn, p.Masked())
	}
	for _, p := range u.NLRI {
		p = p.Masked()
		x := &refRoute{s: s, a: u.Attrs, v: r.verdict(s, p, u.Attrs)}
		if !x.v.Accepted() {
			r.stats.rejected++
		}
		s.adjIn[p] = x
	}
}

func (r *refModel) verdict(s *refSession, pfx netip.Prefix, a *speaker.Attrs) policy.Verdict {
	path := refPolicyPath(a, pfx.Addr().Is4())
	ps := policy.Session{ASN: s.m.asn, Addr: s.addr, Addrs: s.m.addrs}
	return r.imp.ImportRoute(&ps, policy.Data{ROV: r.rov, IRR: s.m.irr}, pfx, &path, r.imp.ImportPath(&ps, &path))
}

// refPolicyPath is the policy package's view of a: every AS flattened, the path length of the
// decision process, the next hop of the prefix's family.
func refPolicyPath(a *speaker.Attrs, v4 bool) policy.Path {
	p := policy.Path{Communities: a.Communities, ExtCommunities: a.ExtCommunities, HasOTC: a.HasOTC,
		Len: refPathLen(a.ASPath), First: refNeighborAS(a.ASPath)}
	for _, seg := range a.ASPath {
		p.ASNs = append(p.ASNs, seg.ASNs...)
		p.HasSet = p.HasSet || seg.Type != speaker.SegSequence
	}
	for _, lc := range a.LargeCommunities {
		p.LargeCommunities = append(p.LargeCommunities, policy.LargeCommunity(lc))
	}
	p.NextHop = refNextHop(a, v4)
	return p
}

// refNextHop is the next hop of a route of the given family: NEXT_HOP for IPv4 (or an IPv4
// MP_REACH next hop), the MP_REACH global address for IPv6.
func refNextHop(a *speaker.Attrs, v4 bool) netip.Addr {
	switch {
	case v4 && a.NextHop.IsValid():
		return a.NextHop
	case v4 && a.MPNextHop.Is4(), !v4 && a.MPNextHop.Is6():
		return a.MPNextHop
	}
	return netip.Addr{}
}

// refPathLen is the AS path length of RFC 4271 §9.1.2.2 a): an AS_SET counts as one, confederation
// segments (RFC 5065 §5.3) as nothing.
func refPathLen(p speaker.ASPath) int {
	n := 0
	for _, seg := range p {
		switch seg.Type {
		case speaker.SegSequence:
			n += len(seg.ASNs)
		case speaker.SegSet:
			n++
		}
	}
	return n
}

// refNeighborAS is the AS the route was learned from for the MED step (RFC 4271 §9.1.2.2 c): the
// left-most AS of the path, 0 when the path does not start with a sequence.
func refNeighborAS(p speaker.ASPath) uint32 {
	if len(p) == 0 || p[0].Type != speaker.SegSequence || len(p[0].ASNs) == 0 {
		return 0
	}
	return p[0].ASNs[0]
}

func refPathHas(p speaker.ASPath, asn uint32) bool {
	for _, seg := range p {
		if slices.Contains(seg.ASNs, asn) {
			return true
		}
	}
	return false
}

// refMED is the MED the decision process uses: a route without one has the lowest (RFC 4271
// §9.1.2.2 c).
func refMED(x *refRoute) uint32 {
	if !x.a.HasMED {
		return 0
	}
	return x.a.MED
}

// refOrder returns the candidates of one prefix in decision order, as the route server applies
// RFC 4271 §9.1.2.2 (rs/decision.go and docs/policy.md say which steps and in which order): highest
// LOCAL_PREF, shortest AS path, lowest ORIGIN, lowest MED among routes of the same neighbour AS,
// lowest router ID, lowest peer address.
//
// MED is deterministic: within a run of routes equal on the first three steps, each route's MED
// rank is the number of routes of its neighbour AS in that run with a strictly lower MED; routes are
// ordered by rank, then router ID, then peer address. The best of every neighbour AS therefore meets
// the best of the others on router ID, and the order does not depend on arrival.
func (r *refModel) refOrder(cands []*refRoute) []*refRoute {
	out := slices.Clone(cands)
	type key struct {
		lp     uint32
		n      int
		origin uint8
	}
	keyOf := func(x *refRoute) key { return key{x.v.LocalPref, refPathLen(x.a.ASPath), x.a.Origin} }
	slices.SortStableFunc(out, func(x, y *refRoute) int {
		kx, ky := keyOf(x), keyOf(y)
		if kx.lp != ky.lp {
			return cmp.Compare(ky.lp, kx.lp) // higher first
		}
		if kx.n != ky.n {
			return cmp.Compare(kx.n, ky.n)
		}
		return cmp.Compare(kx.origin, ky.origin)
	})
	for i := 0; i < len(out); {
		j := i + 1
		for j < len(out) && keyOf(out[j]) == keyOf(out[i]) {
			j++
		}
		run := out[i:j]
		meds := map[uint32][]uint32{} // neighbour AS → MEDs of its routes in the run, sorted
		for _, x := range run {
			n := refNeighborAS(x.a.ASPath)
			meds[n] = append(meds[n], refMED(x))
		}
		for _, m := range meds {
			slices.Sort(m)
			if m[0] != m[len(m)-1] {
				r.stats.medRanked++
			}
		}
		rank := func(x *refRoute) int {
			k, _ := slices.BinarySearch(meds[refNeighborAS(x.a.ASPath)], refMED(x)) // = how many are lower
			return k
		}
		slices.SortFunc(run, func(x, y *refRoute) int {
			if c := cmp.Compare(rank(x), rank(y)); c != 0 {
				return c
			}
			if c := cmp.Compare(refRID(x.s.routerID), refRID(y.s.routerID)); c != 0 {
				return c
			}
			return x.s.addr.Compare(y.s.addr)
		})
		i = j
	}
	return out
}

// refRID is a BGP identifier as the unsigned 32-bit number RFC 4271 §4.2 defines.
func refRID(a netip.Addr) uint32 {
	b := a.As4()
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

// want returns the table the session at addr should hold: for every prefix, the first candidate in
// decision order that may go to its member (RFC 7947 §2.3: no path hiding), as it should be sent.
func (r *refModel) want(addr netip.Addr) map[netip.Prefix]refSent {
	recv := r.sessions[addr]
	byPrefix := map[netip.Prefix][]*refRoute{}
	for _, s := range r.sessions {
		if !s.up {
			continue
		}
		for p, x := range s.adjIn {
			if x.v.Accepted() {
				byPrefix[p] = append(byPrefix[p], x)
			}
		}
	}
	out := map[netip.Prefix]refSent{}
	for p, cands := range byPrefix {
		v4 := p.Addr().Is4()
		if v4 && !recv.v4 || !v4 && !recv.v6 {
			continue
		}
		if len(cands) > 1 {
			r.stats.multiRoute++
		}
		for i, x := range r.refOrder(cands) {
			switch {
			case x.s.m == recv.m: // never back to the member that announced it, on any of its sessions
				continue
			case refPathHas(x.a.ASPath, r.asn): // the route server's own AS: never redistributed
				continue
			case refPathHas(x.a.ASPath, recv.m.asn): // the receiver would drop it as a loop
				r.stats.inPath++
				continue
			}
			c := r.control(x.a)
			ok, prepend, noExport, noAdvertise := c.decide(recv.m.asn)
			if !ok {
				r.stats.denied++
				continue
			}
			out[p] = r.sent(x, c, v4, prepend, noExport, noAdvertise)
			r.stats.exported++
			if i > 0 {
				r.stats.notFirst++
			}
			break
		}
	}
	return out
}

// refControl is what a route's control communities (docs/policy.md, "Steering your routes") ask
// for, and the communities that are passed on.
type refControl struct {
	notAny      bool
	deny, allow map[uint32]bool
	prependAll  int
	prependTo   map[uint32]int
	noExport    map[uint32]bool
	noAdvertise map[uint32]bool

	std   []uint32
	ext   []uint64
	large []speaker.LargeCommunity
}

// Control functions, as the large form's middle field names them (docs/policy.md).
const (
	refFnNotTo       = 0
	refFnTo          = 1
	refFnPrepend1    = 101
	refFnPrepend3    = 103
	refFnNoExport    = 65281
	refFnNoAdvertise = 65282
)

func (r *refModel) control(a *speaker.Attrs) *refControl {
	c := &refControl{deny: map[uint32]bool{}, allow: map[uint32]bool{}, prependTo: map[uint32]int{},
		noExport: map[uint32]bool{}, noAdvertise: map[uint32]bool{}}
	for _, v := range a.Communities {
		if !r.stdControl(c, v>>16, v&0xffff) {
			c.std = append(c.std, v)
		}
	}
	for _, v := range a.ExtCommunities {
		// Only the two-octet-AS route target (type 0x00, subtype 0x02) carries the standard forms,
		// with a 32-bit local part.
		if v>>48 != 0x0002 || !r.stdControl(c, uint32(v>>32)&0xffff, uint32(v)) {
			c.ext = append(c.ext, v)
		}
	}
	for _, lc := range a.LargeCommunities {
		if !r.largeControl(c, lc) {
			c.large = append(c.large, lc)
		}
	}
	return c
}

// stdControl applies the standard form hi:lo if it is a control community. The route server's AS
// fits in 16 bits in these tests, so it names itself.
func (r *refModel) stdControl(c *refControl, hi, lo uint32) bool {
	rs := r.asn
	if rs > 0xffff || lo == 0 {
		return false
	}
	switch {
	case hi == 0 && lo == rs: // 0:RS
		c.notAny = true
	case hi == 0: // 0:P
		c.deny[lo] = true
	case hi == rs: // RS:P
		c.allow[lo] = true
	case hi >= 65501 && hi <= 65503 && lo == rs: // 6550x:RS
		c.prependAll = max(c.prependAll, int(hi-65500))
	case hi >= 65511 && hi <= 65513: // 6551x:P
		c.prependTo[lo] = max(c.prependTo[lo], int(hi-65510))
	case hi == refFnNoExport:
		c.noExport[lo] = true
	case hi == refFnNoAdvertise:
		c.noAdvertise[lo] = true
	default:
		return false
	}
	return true
}

// largeControl applies RS:F:P if it is a control community; it also swallows the ranges only the
// route server may set (RS:1000:*, RS:64512:*, RS:1101:*), which no member can forge.
func (r *refModel) largeControl(c *refControl, lc speaker.LargeCommunity) bool {
	if lc.Global != r.asn {
		return false
	}
	f, p := lc.Local1, lc.Local2
	switch {
	case f == refFnNotTo && p == 0:
		c.notAny = true
	case f == refFnNotTo:
		c.deny[p] = true
	case f == refFnTo && p != 0:
		c.allow[p] = true
	case f >= refFnPrepend1 && f <= refFnPrepend3 && p == 0:
		c.prependAll = max(c.prependAll, int(f-refFnPrepend1+1))
	case f >= refFnPrepend1 && f <= refFnPrepend3:
		c.prependTo[p] = max(c.prependTo[p], int(f-refFnPrepend1+1))
	case f == refFnNoExport && p != 0:
		c.noExport[p] = true
	case f == refFnNoAdvertise && p != 0:
		c.noAdvertise[p] = true
	case f == 1000, f == 64512, f == 1101:
	default:
		return false
	}
	return true
}

// decide applies docs/policy.md's precedence for target member AS t: "not to P" wins over "to P",
// which wins over "not to any"; a prepend toward P replaces a prepend toward everyone.
func (c *refControl) decide(t uint32) (ok bool, prepend int, noExport, noAdvertise bool) {
	if c.deny[t] || c.notAny && !c.allow[t] {
		return false, 0, false, false
	}
	prepend = c.prependAll
	if n := c.prependTo[t]; n > 0 {
		prepend = n
	}
	return true, prepend, c.noExport[t], c.noAdvertise[t]
}

const (
	refNoExport    = 0xffff_ff01 // 65535:65281
	refNoAdvertise = 0xffff_ff02 // 65535:65282
	refBlackhole   = 0xffff_029a // 65535:666
)

// sent builds the attributes x goes out with: transparent (RFC 7947 §2.2: next hop, path and MED
// as received) except for the control communities removed, what they ask for toward this member,
// and what the route server adds.
func (r *refModel) sent(x *refRoute, c *refControl, v4 bool, prepend int, noExport, noAdvertise bool) refSent {
	a := x.a
	out := refSent{nextHop: refNextHop(a, v4), origin: a.Origin, hasMED: a.HasMED, med: a.MED,
		hasOTC: a.HasOTC, otc: a.OTC,
		std: slices.Clone(c.std), ext: slices.Clone(c.ext), large: slices.Clone(c.large)}
	addStd := func(v uint32) {
		if !slices.Contains(out.std, v) {
			out.std = append(out.std, v)
		}
	}
	if r.blackhole && slices.Contains(a.Communities, refBlackhole) {
		addStd(refNoExport)
		if v4 && r.bhNH4.IsValid() {
			out.nextHop = r.bhNH4
		}
		if !v4 && r.bhNH6.IsValid() {
			out.nextHop = r.bhNH6
		}
	}
	if noExport {
		addStd(refNoExport)
	}
	if noAdvertise {
		addStd(refNoAdvertise)
	}
	if r.informational {
		if lcs := r.infoCommunities(x.v.Info); len(lcs) > 0 {
			out.large = append(out.large, lcs...)
			r.stats.infoAdded++
		}
	}
	if r.addOTC && !a.HasOTC {
		out.hasOTC, out.otc = true, r.asn
	}
	// The announcing member's AS, prepend times more at the front.
	first := refNeighborAS(a.ASPath)
	for range prepend {
		out.path = append(out.path, first)
	}
	if prepend > 0 {
		r.stats.prepended++
	}
	out.path = append(out.path, refFlatPath(a.ASPath)...)
	return out
}

// infoCommunities are the informational communities of docs/policy.md ("What the route server
// adds"): none when neither RPKI nor IRR was checked.
func (r *refModel) infoCommunities(info policy.Info) []speaker.LargeCommunity {
	rpki, pfx, origin := info.RPKI(), info.IRRPrefix(), info.IRROrigin()
	if rpki == policy.RPKINotChecked && pfx == policy.IRRNotChecked && origin == policy.IRRNotChecked {
		return nil
	}
	lc := func(f, n uint32) speaker.LargeCommunity {
		return speaker.LargeCommunity{Global: r.asn, Local1: f, Local2: n}
	}
	var out []speaker.LargeCommunity
	switch rpki {
	case policy.RPKIValid:
		out = append(out, lc(1000, 1))
	case policy.RPKINotFound:
		out = append(out, lc(1000, 2))
	case policy.RPKINotChecked:
		out = append(out, lc(1000, 3))
	case policy.RPKIInvalidState:
		out = append(out, lc(1000, 4))
	}
	switch pfx {
	case policy.IRRIn:
		out = append(out, lc(64512, 11))
	case policy.IRRNotIn:
		out = append(out, lc(64512, 10))
	}
	switch origin {
	case policy.IRRIn:
		out = append(out, lc(64512, 21))
	case policy.IRRNotIn:
		out = append(out, lc(64512, 20))
	}
	return out
}

// refFlatPath writes an AS path as the tokens refSent prints: sequences as ASNs, sets and
// confederation segments bracketed, so that a sequence split over two segments reads the same.
func refFlatPath(p speaker.ASPath) []any {
	var out []any
	for _, seg := range p {
		if seg.Type == speaker.SegSequence {
			for _, a := range seg.ASNs {
				out = append(out, a)
			}
			continue
		}
		s := make([]string, len(seg.ASNs))
		for i, a := range seg.ASNs {
			s[i] = fmt.Sprint(a)
		}
		br := map[uint8]string{speaker.SegSet: "{}", speaker.SegConfedSequence: "()", speaker.SegConfedSet: "[]"}[seg.Type]
		if br == "" {
			br = "<>"
		}
		out = append(out, br[:1]+strings.Join(s, ",")+br[1:])
	}
	return out
}

// refSent is a route as a member holds it, in the fields the tests compare.
type refSent struct {
	nextHop    netip.Addr
	path       []any
	origin     uint8
	hasMED     bool
	med        uint32
	std        []uint32
	ext        []uint64
	large      []speaker.LargeCommunity
	hasOTC     bool
	otc        uint32
	localPref  bool // LOCAL_PREF present: never over eBGP
	linkLocal  netip.Addr
	aggregator bool
	other      int
}

// refSentOf reads the route a member received.
func refSentOf(a *speaker.Attrs, v4 bool) refSent {
	return refSent{nextHop: refNextHop(a, v4), path: refFlatPath(a.ASPath), origin: a.Origin,
		hasMED: a.HasMED, med: a.MED, std: a.Communities, ext: a.ExtCommunities, large: a.LargeCommunities,
		hasOTC: a.HasOTC, otc: a.OTC, localPref: a.HasLocalPref, linkLocal: a.MPLinkLocal,
		aggregator: a.Aggregator != nil, other: len(a.Other)}
}

// String is the stable text form of a route. Communities are sets (RFC 1997, RFC 4360, RFC 8092 §5:
// a receiver may drop duplicates), so they are sorted and duplicates shown once.
func (x refSent) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "nh %v", x.nextHop)
	if x.linkLocal.IsValid() {
		fmt.Fprintf(&b, " ll %v", x.linkLocal)
	}
	b.WriteString(" path")
	for _, t := range x.path {
		fmt.Fprintf(&b, " %v", t)
	}
	b.WriteString(" origin " + [...]string{"igp", "egp", "incomplete", "?"}[min(x.origin, 3)])
	if x.hasMED {
		fmt.Fprintf(&b, " med %d", x.med)
	}
	if x.localPref {
		b.WriteString(" local-pref!")
	}
	if len(x.std) > 0 {
		b.WriteString(" comm")
		for _, v := range slices.Compact(slices.Sorted(slices.Values(x.std))) {
			fmt.Fprintf(&b, " %d:%d", v>>16, v&0xffff)
		}
	}
	if len(x.ext) > 0 {
		b.WriteString(" ext")
		for _, v := range slices.Compact(slices.Sorted(slices.Values(x.ext))) {
			if v>>48 == 0x0002 {
				fmt.Fprintf(&b, " rt:%d:%d", v>>32&0xffff, uint32(v))
			} else {
				fmt.Fprintf(&b, " 0x%016x", v)
			}
		}
	}
	if len(x.large) > 0 {
		b.WriteString(" large")
		l := slices.Clone(x.large)
		slices.SortFunc(l, func(p, q speaker.LargeCommunity) int {
			return cmp.Or(cmp.Compare(p.Global, q.Global), cmp.Compare(p.Local1, q.Local1), cmp.Compare(p.Local2, q.Local2))
		})
		for _, v := range slices.Compact(l) {
			fmt.Fprintf(&b, " %d:%d:%d", v.Global, v.Local1, v.Local2)
		}
	}
	if x.hasOTC {
		fmt.Fprintf(&b, " otc %d", x.otc)
	}
	if x.aggregator {
		b.WriteString(" aggregator")
	}
	if x.other > 0 {
		fmt.Fprintf(&b, " other-attrs %d", x.other)
	}
	return b.String()
}

// refCompareTables lists the differences between what a member holds and what the model says it
// should, sorted, at most limit lines.
func refCompareTables(got map[netip.Prefix]*speaker.Attrs, want map[netip.Prefix]refSent, limit int) []string {
	var diffs []string
	for p, w := range want {
		g, ok := got[p]
		switch {
		case !ok:
			diffs = append(diffs, fmt.Sprintf("%v: missing; want %v", p, w))
		case refSentOf(g, p.Addr().Is4()).String() != w.String():
			diffs = append(diffs, fmt.Sprintf("%v:\n\t\tgot  %v\n\t\twant %v", p, refSentOf(g, p.Addr().Is4()), w))
		}
	}
	for p, g := range got {
		if _, ok := want[p]; !ok {
			diffs = append(diffs, fmt.Sprintf("%v: unexpected %v", p, refSentOf(g, p.Addr().Is4())))
		}
	}
	slices.Sort(diffs)
	if len(diffs) > limit {
		diffs = append(diffs[:limit], fmt.Sprintf("... and %d more", len(diffs)-limit))
	}
	return diffs
}
