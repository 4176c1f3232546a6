package rs

import (
	"context"
	"encoding/binary"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/gaissmai/bart"

	"github.com/ixrs/ixrs/policy"
)

// Revalidation: the data import policy reads (the VRPs, the ASPA records, a member's IRR data) and a
// member's policy itself change through typed inputs — SetVRPs, SetASPA, SetIRR, SetMemberPolicy —
// which the RIB loop applies
// itself: it swaps the data in, works out which routes the change can affect, and re-runs ImportRoute
// for those only. Routes whose verdict changed move in or out of the candidate lists, and the
// change list carries exactly those prefixes to the members; no session is reset.
//
// Inputs that arrive while a walk runs are merged into one pending request, which becomes the next
// walk: however many inputs arrive, at most one walk runs and at most one waits. A walk advances by
// its share of Config.ReadBudget steps per loop pass (shared with read jobs, docs/architecture.md)
// and holds cursors only, never pointers into tables that may change between passes.
//
// What a walk visits:
//   - members whose IRR data or policy changed: the routes of their sessions (the member's
//     Adj-RIB-In slabs), and nothing else;
//   - changed VRP prefixes: only the prefixes of the table a changed VRP covers (RFC 6811 looks at
//     covering VRPs only). They are found by probing the prefix index for each more-specific of a
//     changed VRP prefix at the lengths the table holds, when that is cheaper than one walk over the
//     prefix entries; otherwise the walk visits every prefix entry once and skips those no changed
//     VRP covers. Every route of an affected prefix is re-run.
//   - changed ASPA customers: the routes whose AS path holds a changed customer AS after the
//     announcing member's own (leading) AS, which is never a customer in the upstream procedure.
//     The walk visits every prefix entry once and decides per attribute set, once per set, which
//     of its routes to re-run.
//   - new VRPs or ASPA records that do not follow from the ones in force (the first data, or an
//     update computed against another snapshot): every prefix.

// VRPUpdate is new RPKI data for SetVRPs.
type VRPUpdate struct {
	// VRPs is the new snapshot, immutable from now on; nil means no data: every route is RPKI
	// "not checked".
	VRPs policy.OriginValidator
	// Base is the snapshot Changed was computed against, and Changed the VRP prefixes whose VRPs
	// differ between Base and VRPs. When Base is not the snapshot in force, every route is
	// revalidated.
	Base    policy.OriginValidator
	Changed []netip.Prefix
}

// ASPAUpdate is new ASPA data for SetASPA.
type ASPAUpdate struct {
	// ASPA is the new snapshot, immutable from now on; nil means no data: every route is ASPA "not
	// checked".
	ASPA policy.ASPAVerifier
	// Base is the snapshot ChangedCustomers was computed against, and ChangedCustomers the customer
	// ASes whose ASPA differs between Base and ASPA. When Base is not the snapshot in force, every
	// route is revalidated.
	Base             policy.ASPAVerifier
	ChangedCustomers []uint32
}

// revalRequest is what the next walk must cover. The zero value covers nothing.
type revalRequest struct {
	all     bool                 // every route
	members map[*member]struct{} // every route of these members
	vrp     []netip.Prefix       // the routes these VRP prefixes cover
	aspa    []uint32             // the routes whose paths hold these ASPA customers
	done    []chan int
}

func (r *revalRequest) empty() bool {
	return !r.all && len(r.members) == 0 && len(r.vrp) == 0 && len(r.aspa) == 0 && len(r.done) == 0
}

func (r *revalRequest) addMember(m *member) {
	if r.members == nil {
		r.members = map[*member]struct{}{}
	}
	r.members[m] = struct{}{}
}

// revalWalk is the running walk: its request, then a cursor per phase.
type revalWalk struct {
	req     revalRequest
	members []*member // of req, in name order (a stable walk)
	phase   int       // walkMembers or walkMemberSlab, walkVRPProbe, walkVRPSlab, walkASPA, walkDone
	id      uint64    // tells this walk's per-set ASPA marks from older ones (setIn.aspaWalk)

	// walkMembers: member index, then session index, incarnation (0 the current one, i > 0 the
	// stale one ss.stale[i-1] of a member restarting gracefully) and slot in its Adj-RIB-In.
	mi, si, inc, slot int
	// walkMemberSlab: slab index.
	mei int
	// walkVRPProbe: changed VRP prefix index, prefix length, and more-specific number at that length.
	vi, vlen int
	vn       uint64
	// walkVRPSlab: slab index; cover holds the changed VRP prefixes (nil: every prefix).
	ei    int
	cover *bart.Lite
	// walkASPA: slab index.
	ai int

	changed int
	scratch []*route
	start   time.Time // for Stats.RevalidationTime
}

const (
	walkMembers = iota
	walkMemberSlab
	walkVRPProbe
	walkVRPSlab
	walkASPA
	walkDone
)

// revalidation is the RIB loop's revalidation state.
type revalidation struct {
	cur   *revalWalk
	next  revalRequest
	walks uint64 // walks started, for revalWalk.id

	// held: sessions leave the change list alone this pass (holdOutput). unsent counts the routes
	// whose verdict changed since the list was last released, heldPasses the passes since.
	held       bool
	unsent     int
	heldPasses int

	// path is reevalRoute's policy view. Passed by pointer through the import policy's interface,
	// a local would escape to the heap: 144 bytes for every route a walk visits (a [defaults]
	// change at 700 members × 400k routes visits every route, and its garbage brought a collection
	// of the whole RIB forward).
	path policy.Path
}

// maxHoldPasses bounds the loop passes the change list is held for a running walk, and with it the
// delay of other members' changes queued behind the walk's.
const maxHoldPasses = 32

// holdOutput decides, once per pass, whether sessions hold off pulling the change list while a walk
// runs. A walk re-runs a share of Config.ReadBudget routes per pass and a policy or data change
// alters few of them: released every pass, each session would be sent the pass's handful of
// changes in a short UPDATE (ixbench -reeval measured 1.7 withdrawn prefixes per UPDATE at 700
// members). Held until the walk has changed a batch of routes (batch: Config.WalkBatch), is over,
// or has been held maxHoldPasses passes, the changes go out packed as a session-down's do.
func (rv *revalidation) holdOutput(batch int) bool {
	if rv.cur == nil || rv.unsent >= batch || rv.heldPasses >= maxHoldPasses {
		rv.unsent, rv.heldPasses, rv.held = 0, 0, false
		return false
	}
	rv.heldPasses++
	rv.held = true
	return true
}

// queue adds req to the pending request.
func (rv *revalidation) queue(req revalRequest) {
	n := &rv.next
	n.all = n.all || req.all
	for m := range req.members {
		n.addMember(m)
	}
	n.vrp = append(n.vrp, req.vrp...)
	n.aspa = append(n.aspa, req.aspa...)
	n.done = append(n.done, req.done...)
}

// busy reports whether a walk runs or waits.
func (rv *revalidation) busy() bool { return rv.cur != nil || !rv.next.empty() }

// SetVRPs swaps in new RPKI data and revalidates the routes it may affect (see VRPUpdate). It
// returns once the data is in force for new routes; the walk over the routes already held follows
// in bounded slices. If done is not nil (it must be buffered) it receives the number of routes whose
// verdict changed when the walk that covers this update is over.
func (s *Server) SetVRPs(ctx context.Context, u VRPUpdate, done chan int) error {
	return s.do(ctx, func() {
		req := revalRequest{}
		if u.Base != s.rov || u.VRPs == nil || s.rov == nil {
			req.all = true
		} else {
			req.vrp = slices.Clone(u.Changed)
		}
		s.rov = u.VRPs
		if done != nil {
			req.done = []chan int{done}
		}
		s.reval.queue(req)
	})
}

// SetASPA swaps in new ASPA data and revalidates the routes it may affect (see ASPAUpdate); it
// returns and reports on done as SetVRPs does.
func (s *Server) SetASPA(ctx context.Context, u ASPAUpdate, done chan int) error {
	return s.do(ctx, func() {
		req := revalRequest{}
		switch {
		case u.ASPA == nil && s.aspa == nil:
		case u.Base != s.aspa || u.ASPA == nil || s.aspa == nil:
			req.all = true
		default:
			req.aspa = slices.Clone(u.ChangedCustomers)
		}
		s.aspa = u.ASPA
		if done != nil {
			req.done = []chan int{done}
		}
		s.reval.queue(req)
	})
}

// SetIRR swaps in member name's IRR data (nil: none) and revalidates the member's routes; done as
// for SetVRPs.
func (s *Server) SetIRR(ctx context.Context, name string, irr *policy.IRR, done chan int) error {
	return s.SetIRRs(ctx, []MemberIRR{{Name: name, IRR: irr}}, done)
}

// MemberIRR is one member's new IRR data for SetIRRs.
type MemberIRR struct {
	Name string
	IRR  *policy.IRR // nil: none
}

// SetIRRs swaps in several members' IRR data at once and revalidates their routes in one walk, as
// SetMemberPolicies does for policies; done as for SetVRPs. If a name is unknown nothing is applied.
func (s *Server) SetIRRs(ctx context.Context, irrs []MemberIRR, done chan int) error {
	var err error
	derr := s.do(ctx, func() {
		ms := make([]*member, len(irrs))
		for i, mi := range irrs {
			if ms[i] = s.members[mi.Name]; ms[i] == nil {
				err = fmt.Errorf("member %s: %w", mi.Name, ErrUnknownMember)
				return
			}
		}
		req := revalRequest{}
		for i, mi := range irrs {
			ms[i].irr = mi.IRR
			req.addMember(ms[i])
		}
		if done != nil {
			req.done = []chan int{done}
		}
		s.reval.queue(req)
	})
	if derr != nil {
		return derr
	}
	return err
}

// Reevaluate re-runs import policy on the routes of member name ("" for every member) against
// the data in force, re-announcing or withdrawing only the routes whose verdict changed; done as
// for SetVRPs.
func (s *Server) Reevaluate(ctx context.Context, name string, done chan int) error {
	var err error
	derr := s.do(ctx, func() {
		req := revalRequest{}
		if name == "" {
			req.all = true
		} else if m := s.members[name]; m != nil {
			req.addMember(m)
		} else {
			err = fmt.Errorf("member %s: %w", name, ErrUnknownMember)
			return
		}
		if done != nil {
			req.done = []chan int{done}
		}
		s.reval.queue(req)
	})
	if derr != nil {
		return derr
	}
	return err
}

// SetMemberPolicy replaces member name's import policy (nil: Config.Import) and max-prefix limits
// without touching its sessions, then revalidates its routes (done as for SetVRPs). A lower limit
// applies from the next new route on; nothing already held is dropped for it. A session that was
// blocking routes under action block and is now below its limit, or no longer blocks, is asked to
// send its routes again (Config.OnRefresh).
func (s *Server) SetMemberPolicy(ctx context.Context, name string, imp policy.Importer, mp MaxPrefix, done chan int) error {
	return s.SetMemberPolicies(ctx, []MemberPolicy{{Name: name, Import: imp, MaxPrefix: mp}}, done)
}

// MemberPolicy is one member's new policy for SetMemberPolicies.
type MemberPolicy struct {
	Name      string
	Import    policy.Importer // nil: Config.Import
	MaxPrefix MaxPrefix
}

// SetMemberPolicies applies several members' new policies as SetMemberPolicy does, atomically: all
// of them in one RIB operation, then one walk that revalidates their routes together. With two
// members or more the walk goes prefix by prefix, re-running every changed member's routes of a
// prefix at once, so a prefix that several of them announce and the new policies filter at all of
// them is withdrawn, never first replaced by another changed member's route. If a name is unknown
// nothing is applied.
func (s *Server) SetMemberPolicies(ctx context.Context, ps []MemberPolicy, done chan int) error {
	var err error
	derr := s.do(ctx, func() {
		ms := make([]*member, len(ps))
		for i, mp := range ps {
			if ms[i] = s.members[mp.Name]; ms[i] == nil {
				err = fmt.Errorf("member %s: %w", mp.Name, ErrUnknownMember)
				return
			}
		}
		req := revalRequest{}
		for i, mp := range ps {
			s.setPolicy(ms[i], mp.Import, mp.MaxPrefix)
			req.addMember(ms[i])
		}
		// Path verdicts cached for the members' sessions came from the old policies. The table has
		// far fewer sets than routes, and a policy change is rare: one pass over it, however many
		// members changed, is cheap.
		if len(req.members) > 0 {
			for set := range s.sets.all() {
				if set.setIn == nil {
					continue
				}
				for fi, sp := range set.impP {
					if sp != nil {
						if _, ok := req.members[sp.m]; ok {
							set.impP[fi] = nil
						}
					}
				}
			}
		}
		if done != nil {
			req.done = []chan int{done}
		}
		s.reval.queue(req)
	})
	if derr != nil {
		return derr
	}
	return err
}

// setPolicy makes imp (nil: Config.Import) and mp member m's policy. Called only from the RIB loop.
func (s *Server) setPolicy(m *member, imp policy.Importer, mp MaxPrefix) {
	if imp == nil {
		imp = s.cfg.Import
	}
	m.imp, m.maxPrefix = imp, mp
	for _, ss := range m.sessions {
		for _, o := range ss.stale {
			o.imp = imp // its routes are revalidated with the new policy
		}
		if p := ss.p; p != nil {
			p.imp = imp
			p.warned, p.overWarned = [numFams]bool{}, [numFams]bool{}
			for fi := range p.blocked {
				s.unblock(p, famIdx(fi))
			}
		}
	}
}

// data is the policy data in force for member m's routes.
func (s *Server) data(m *member) policy.Data {
	return policy.Data{ROV: s.rov, IRR: m.irr, ASPA: s.aspa}
}

// revalStep advances the revalidation walk by up to budget steps, starting the pending
// request when no walk runs. It reports whether there was anything to do.
func (s *Server) revalStep(budget int) bool {
	rv := &s.reval
	if rv.cur == nil {
		if rv.next.empty() {
			return false
		}
		rv.cur = s.newWalk(rv.next)
		rv.next = revalRequest{}
	}
	w := rv.cur
	for budget > 0 && w.phase != walkDone {
		switch w.phase {
		case walkMembers:
			budget = s.walkMemberRoutes(w, budget)
		case walkMemberSlab:
			budget = s.walkMemberSlab(w, budget)
		case walkVRPProbe:
			budget = s.walkVRPProbe(w, budget)
		case walkVRPSlab:
			budget = s.walkVRPSlab(w, budget)
		case walkASPA:
			budget = s.walkASPA(w, budget)
		}
	}
	if w.phase == walkDone {
		for _, ch := range w.req.done {
			select {
			case ch <- w.changed: // never blocks the loop: done must be buffered
			default:
			}
		}
		if w.changed > 0 {
			s.log.Info("revalidation done", "routes_changed", w.changed)
		}
		s.stats.revalWalks++
		s.stats.revalNanos += uint64(time.Since(w.start))
		rv.cur = nil
	}
	return true
}

// newWalk plans the walk for req: the members' routes first, then the VRP-affected prefixes by
// probing or by one pass over the prefix entries, whichever visits fewer.
func (s *Server) newWalk(req revalRequest) *revalWalk {
	s.reval.walks++
	w := &revalWalk{req: req, start: time.Now(), id: s.reval.walks}
	if req.all {
		w.phase = walkVRPSlab // every prefix entry, cover nil
		return w
	}
	if len(req.aspa) > 0 {
		slices.Sort(req.aspa)
		w.req.aspa = slices.Compact(req.aspa)
	}
	for m := range req.members {
		w.members = append(w.members, m)
	}
	slices.SortFunc(w.members, func(a, b *member) int {
		if a.name < b.name {
			return -1
		}
		if a.name > b.name {
			return 1
		}
		return 0
	})
	if len(req.vrp) > 0 {
		slices.SortFunc(req.vrp, netip.Prefix.Compare)
		w.req.vrp = slices.Compact(req.vrp)
		if s.probeCost(w.req.vrp) > s.prefixes.len() {
			w.cover = &bart.Lite{}
			for _, p := range w.req.vrp {
				w.cover.Insert(p)
			}
		}
	}
	w.vlen = -1
	if len(w.members) > 1 {
		// Member by member, one member's routes of a prefix several changed members announce
		// would be re-run, and sent, passes before the others'.
		w.phase = walkMemberSlab
	}
	return w
}

// probeCost is the number of index probes that finding every prefix of the table covered by vrp
// takes: per changed VRP prefix, its more-specifics at each length the table holds prefixes of.
func (s *Server) probeCost(vrp []netip.Prefix) int {
	limit := s.prefixes.len() + 1
	cost := 0
	for _, v := range vrp {
		fi := famOf(v)
		for l := v.Bits(); l <= v.Addr().BitLen(); l++ {
			if s.prefixes.lens[fi][l] == 0 {
				continue
			}
			if l-v.Bits() >= 62 {
				return limit
			}
			cost += 1 << (l - v.Bits())
			if cost >= limit {
				return limit
			}
		}
	}
	return cost
}

// walkMemberRoutes revalidates the routes of the walk's members.
func (s *Server) walkMemberRoutes(w *revalWalk, budget int) int {
	for budget > 0 {
		if w.mi >= len(w.members) {
			w.phase = w.afterMembers()
			return budget
		}
		m := w.members[w.mi]
		if s.members[m.name] != m || w.si >= len(m.sessions) {
			w.mi, w.si, w.inc, w.slot = w.mi+1, 0, 0, 0
			budget--
			continue
		}
		ss := m.sessions[w.si]
		if w.inc > len(ss.stale) {
			w.si, w.inc, w.slot = w.si+1, 0, 0
			budget--
			continue
		}
		// Stale routes are candidates like any other (gr.go): their verdicts follow the data too.
		p := ss.p
		if w.inc > 0 {
			p = ss.stale[w.inc-1]
		}
		if p == nil || w.slot >= len(p.routes) {
			w.inc, w.slot = w.inc+1, 0
			budget--
			continue
		}
		r := p.routes[w.slot]
		w.slot++
		budget--
		if r != nil && s.reevalRoute(p, r) {
			w.changed++
			s.stats.routesReevaluated++
		}
	}
	return budget
}

// afterMembers is the phase that follows the member phases.
func (w *revalWalk) afterMembers() int {
	switch {
	case len(w.req.vrp) == 0:
		return w.afterVRP()
	case w.cover != nil:
		return walkVRPSlab
	}
	return walkVRPProbe
}

// walkMemberSlab visits every prefix entry once and revalidates, together, the routes of the walk's
// members there. The routes of a prefix the members announce are re-run in one step, so what the
// members' sessions are sent next reflects every member's new verdict at once.
func (s *Server) walkMemberSlab(w *revalWalk, budget int) int {
	slab := s.prefixes.slab
	for budget > 0 {
		if w.mei >= len(slab) {
			w.phase = w.afterMembers()
			return budget
		}
		pe := slab[w.mei]
		w.mei++
		budget--
		if pe == nil {
			continue
		}
		budget -= s.revalPrefix(w, pe, w.req.members)
	}
	return budget
}

// walkVRPProbe looks up each more-specific of each changed VRP prefix at the lengths the table
// holds, and revalidates the prefixes found.
func (s *Server) walkVRPProbe(w *revalWalk, budget int) int {
	for budget > 0 {
		if w.vi >= len(w.req.vrp) {
			w.phase = w.afterVRP()
			return budget
		}
		v := w.req.vrp[w.vi]
		fi := famOf(v)
		if w.vlen < v.Bits() {
			w.vlen, w.vn = v.Bits(), 0
		}
		for w.vlen <= v.Addr().BitLen() && s.prefixes.lens[fi][w.vlen] == 0 {
			w.vlen++
		}
		if w.vlen > v.Addr().BitLen() {
			w.vi, w.vlen, w.vn = w.vi+1, -1, 0
			continue
		}
		pfx := moreSpecific(v, w.vlen, w.vn)
		w.vn++
		if w.vn>>(w.vlen-v.Bits()) != 0 {
			w.vlen, w.vn = w.vlen+1, 0
		}
		budget--
		if pe := s.prefixes.get(pfx); pe != nil {
			budget -= s.revalPrefix(w, pe, nil)
		}
	}
	return budget
}

// walkVRPSlab visits every prefix entry once and revalidates those a changed VRP covers (all of
// them when the walk has no cover).
func (s *Server) walkVRPSlab(w *revalWalk, budget int) int {
	slab := s.prefixes.slab
	for budget > 0 {
		if w.ei >= len(slab) {
			w.phase = w.afterVRP()
			return budget
		}
		pe := slab[w.ei]
		w.ei++
		budget--
		if pe == nil || (w.cover != nil && !w.cover.LookupPrefix(pe.prefix())) {
			continue
		}
		budget -= s.revalPrefix(w, pe, nil)
	}
	return budget
}

// afterVRP is the phase that follows the VRP phases.
func (w *revalWalk) afterVRP() int {
	if len(w.req.aspa) > 0 && !w.req.all {
		return walkASPA
	}
	return walkDone
}

// walkASPA visits every prefix entry once and revalidates the routes whose paths hold a changed
// ASPA customer.
func (s *Server) walkASPA(w *revalWalk, budget int) int {
	slab := s.prefixes.slab
	for budget > 0 {
		if w.ai >= len(slab) {
			w.phase = walkDone
			return budget
		}
		pe := slab[w.ai]
		w.ai++
		budget--
		if pe == nil {
			continue
		}
		w.scratch = w.scratch[:0]
		for _, r := range pe.routes() {
			if w.aspaAffects(r.set) {
				w.scratch = append(w.scratch, r)
			}
		}
		budget -= len(pe.routes())
		// reevalRoute may reorder pe.routes(): the affected routes were copied first.
		for _, r := range w.scratch {
			if s.reevalRoute(r.p, r) {
				w.changed++
				s.stats.routesReevaluated++
			}
		}
		clear(w.scratch)
	}
	return budget
}

// aspaAffects reports whether set's path holds one of the walk's changed ASPA customers after its
// leading AS (the announcing member, with its prepends: never a customer in the upstream
// procedure), deciding once per set and walk.
func (w *revalWalk) aspaAffects(set *attrSet) bool {
	in := set.setIn
	if in.aspaWalk == w.id {
		return in.aspaHit
	}
	hit := false
	asns := in.asns
	i := 0
	for i < len(asns) && asns[i] == asns[0] {
		i++
	}
	for ; i < len(asns) && !hit; i++ {
		_, hit = slices.BinarySearch(w.req.aspa, asns[i])
	}
	in.aspaWalk, in.aspaHit = w.id, hit
	return hit
}

// revalPrefix revalidates the routes of pe (only those of the members in only, when only is not nil;
// a member no longer in the table is skipped) and returns the number of routes it looked at.
func (s *Server) revalPrefix(w *revalWalk, pe *prefixEntry, only map[*member]struct{}) int {
	// reevalRoute may reorder pe.routes() (and drop pe's last use): work on a copy.
	routes := pe.routes()
	n := len(routes)
	w.scratch = w.scratch[:0]
	for _, r := range routes {
		if only == nil {
			w.scratch = append(w.scratch, r)
		} else if _, ok := only[r.p.m]; ok && s.members[r.p.m.name] == r.p.m {
			w.scratch = append(w.scratch, r)
		}
	}
	for _, r := range w.scratch {
		if s.reevalRoute(r.p, r) {
			w.changed++
			s.stats.routesReevaluated++
		}
	}
	clear(w.scratch)
	return n
}

// moreSpecific returns the n-th prefix of length l inside v (n < 2^(l - v.Bits())).
func moreSpecific(v netip.Prefix, l int, n uint64) netip.Prefix {
	shift := l - v.Bits()
	if shift == 0 {
		return v
	}
	a := v.Addr().As16()
	hi, lo := binary.BigEndian.Uint64(a[:8]), binary.BigEndian.Uint64(a[8:])
	off := 128 - l // bit position of the prefix's last bit, counted from the right
	if !v.Addr().Is4() {
		// 128-bit value n << off
		if off >= 64 {
			hi |= n << (off - 64)
		} else {
			lo |= n << off
			if off > 0 {
				hi |= n >> (64 - off)
			}
		}
		var b [16]byte
		binary.BigEndian.PutUint64(b[:8], hi)
		binary.BigEndian.PutUint64(b[8:], lo)
		return netip.PrefixFrom(netip.AddrFrom16(b), l)
	}
	v4 := uint32(lo) | uint32(n)<<(32-l)
	return netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(v4 >> 24), byte(v4 >> 16), byte(v4 >> 8), byte(v4)}), l)
}

// reevalRoute re-runs import policy for r and files the new verdict if it differs.
func (s *Server) reevalRoute(p *session, r *route) bool {
	fi := r.pe.fam()
	path := &s.reval.path
	*path = r.set.policyPath()
	path.NextHop = r.set.nextHop(fi)
	pv := s.pathVerdict(p, r.set, fi, path)
	v := p.imp.ImportRoute(&p.polSess, s.data(p.m), r.pe.prefix(), path, pv)
	*path = policy.Path{} // hold no references to the set's slices
	if v.Reasons == r.reasons && v.LocalPref == r.localPref && v.Info == r.info {
		return false
	}
	s.reval.unsent++
	// announceRoute drops the route's reference before taking the new one: hold one across it, as
	// an UPDATE's interned set is held, or a set used by this route alone would be freed.
	set := r.set
	s.sets.ref(set)
	s.announceRoute(p, r.pe.prefix(), set, v)
	s.sets.unref(set)
	return true
}

// revalCount is the number of revalidation walks running or waiting (0, 1 or 2).
func (s *Server) revalCount() int {
	n := 0
	if s.reval.cur != nil {
		n++
	}
	if !s.reval.next.empty() {
		n++
	}
	return n
}
