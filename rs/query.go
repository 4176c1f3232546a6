package rs

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/ixrs/ixrs/policy"
	"github.com/ixrs/ixrs/speaker"
)

// The looking-glass queries. Each is a read job (read.go): it runs on the RIB loop in bounded
// steps and returns a page of copies and codes; the words are built on the caller's goroutine
// (PrefixInfo.Explain). Results share the immutable *speaker.Attrs of the RIB.

// Query bounds.
const (
	MaxPage     = 1000
	DefaultPage = 100
	ScanLimit   = 100_000 // default Config.ReadLimit
)

// View selects the routes of a session a query returns.
type View uint8

const (
	ViewReceived    View = iota // every route received (Adj-RIB-In), accepted or not
	ViewAccepted                // routes import policy accepted
	ViewFiltered                // routes import policy rejected, with reasons
	ViewExported                // routes the session has been sent (Adj-RIB-Out)
	ViewNotExported             // accepted routes of other sessions it is not sent, with the export check
)

func (v View) String() string {
	if int(v) < len(viewNames) {
		return viewNames[v]
	}
	return "unknown"
}

var viewNames = [...]string{"received", "accepted", "filtered", "exported", "not-exported"}

// Route is one route as the looking glass shows it.
type Route struct {
	Prefix   netip.Prefix
	Member   string
	ASN      uint32
	Neighbor netip.Addr
	// Attrs are the attributes as received; in the exported view, as sent (control communities
	// stripped, informational ones added). Shared with the RIB: do not modify.
	Attrs     *speaker.Attrs
	LocalPref uint32
	Reasons   policy.Reasons // empty when accepted
	Info      policy.Info    // RPKI and IRR state, as the informational communities carry it
	Since     time.Time
	// Stale: the member is restarting gracefully (RFC 4724) and has not announced the route again
	// yet; it is still exported.
	Stale bool
	// Export is, in the not-exported view, why the session is not sent this route.
	Export ExportCheck
	// PathID is, in the exported view of a session sent ADD-PATH (RFC 7911) for the route's family,
	// the path identifier the route is sent under; 0 otherwise. Such a session's view lists every
	// path it is sent for a prefix, each a Route.
	PathID uint32
}

// Accepted reports whether import policy accepted the route.
func (r *Route) Accepted() bool { return r.Reasons == 0 }

// RoutesQuery asks for one page of a session's routes.
type RoutesQuery struct {
	Neighbor netip.Addr
	View     View
	Family   speaker.Family // 0: both
	// After is where the page starts: the zero Cursor, then the previous page's Cursor.
	After Cursor
	// Cursor is the older integer form of After (0 for the first page, then the previous page's
	// Next); it is used when After is zero and never detects a flap.
	Cursor int
	Limit  int // at most MaxPage; 0 means DefaultPage
	// Buf, when not nil, is where the page's routes are appended (to Buf[:0]), so that a caller
	// answering page after page can reuse one slice.
	Buf []Route
}

// RoutesPage is one page. More reports whether a next page follows (Cursor starts it); a page
// may hold fewer than Limit routes and still have more (its work bound, Config.ReadLimit, was
// reached). Order is stable between pages but not sorted.
type RoutesPage struct {
	Routes []Route
	Cursor Cursor
	More   bool
	// Gen is the RIB generation when the page was finished; Incarnation the session's (0 while it
	// is down).
	Gen, Incarnation uint64
	// Next is Cursor in the older integer form, or -1 after the last page. It cannot name a place
	// inside one prefix's routes (the not-exported view, and the exported view of an ADD-PATH
	// session): use Cursor.
	Next int
}

// Routes returns a page of a session's routes. A cursor from an earlier incarnation of the
// session returns ErrCursorStale.
func (s *Server) Routes(ctx context.Context, q RoutesQuery) (RoutesPage, error) {
	j := newRoutesJob(q)
	if err := s.read(ctx, j, &j.readJob); err != nil {
		return RoutesPage{}, err
	}
	return j.page, nil
}

func pageLimit(l int) int {
	if l <= 0 {
		return DefaultPage
	}
	return min(l, MaxPage)
}

// routesJob reads one page of a session's routes: its Adj-RIB-In slab for the received, accepted
// and filtered views, the prefix slab for the exported and not-exported ones.
type routesJob struct {
	readJob
	q       RoutesQuery
	limit   int
	pos     Cursor // where the next step resumes
	started bool
	page    RoutesPage
}

func newRoutesJob(q RoutesQuery) *routesJob {
	j := &routesJob{q: q, limit: pageLimit(q.Limit), pos: q.After}
	j.page.Routes = q.Buf[:0]
	if !q.After.set && q.Cursor > 0 {
		j.pos = Cursor{set: true, a: uint32(min(q.Cursor, 1<<31))}
	}
	j.page.Next = -1
	return j
}

func (j *routesJob) famOK(fi famIdx) bool {
	return j.q.Family == 0 || families[fi] == j.q.Family
}

func (j *routesJob) step(s *Server, budget int) (int, bool) {
	p, err := s.sessionAt(j.q.Neighbor, s.sessions[j.q.Neighbor], j.pos)
	if err == nil && j.started && (p == nil || p.inc != j.page.Incarnation) {
		err = fmt.Errorf("neighbor %s: %w", j.q.Neighbor, ErrCursorStale) // it flapped mid-page
	}
	if err != nil {
		j.err = err
		return 1, true
	}
	if j.q.View > ViewNotExported {
		j.err = fmt.Errorf("neighbor %s: unknown view %d", j.q.Neighbor, j.q.View)
		return 1, true
	}
	if p == nil {
		return 1, true // down: nothing to show
	}
	if !j.started {
		j.started = true
		j.page.Incarnation = p.inc
		j.pos.set, j.pos.inc = true, p.inc
	}
	var used int
	var more, done bool
	switch j.q.View {
	case ViewExported:
		used, more, done = j.exported(s, p, budget)
	case ViewNotExported:
		used, more, done = j.notExported(s, p, budget)
	default:
		used, more, done = j.adjIn(s, p, budget)
	}
	if done {
		j.page.Gen = s.gen
		if j.page.More = more; more {
			j.page.Cursor = j.pos
			j.page.Next = int(j.pos.a)
		}
	}
	return max(used, 1), done
}

// adjIn walks p's Adj-RIB-In slab.
func (j *routesJob) adjIn(s *Server, p *session, budget int) (used int, more, done bool) {
	i := int(j.pos.a)
	for ; used < budget; used++ {
		if i >= len(p.routes) {
			j.pos.a = uint32(i)
			return used, false, true
		}
		r := p.routes[i]
		i++
		if r != nil && j.famOK(r.pe.fam()) &&
			(j.q.View == ViewReceived || (j.q.View == ViewAccepted) == r.accepted()) {
			j.page.Routes = append(j.page.Routes, routeView(r))
		}
		if len(j.page.Routes) >= j.limit || j.spent(s, 1) {
			j.pos.a = uint32(i)
			return used + 1, i < len(p.routes), true
		}
	}
	j.pos.a = uint32(i)
	return used, false, false
}

// exported walks the prefix slab for what p's Adj-RIB-Out holds, naming the announcing member when
// the set held is the one its best route gives (not so while a change is on its way). For a family
// p is sent ADD-PATH, it lists every path of p's own table (addPath.out) under its identifier
// instead; the cursor's second position then counts the paths of its prefix already returned, so
// that a page never exceeds its limit.
func (j *routesJob) exported(s *Server, p *session, budget int) (used int, more, done bool) {
	slab := s.prefixes.slab
	i := int(j.pos.a)
	for ; used < budget; used++ {
		if i >= len(slab) {
			j.pos.a, j.pos.b = uint32(i), 0
			return used, false, true
		}
		pe := slab[i]
		if pe != nil && j.famOK(pe.fam()) && p.addPathFor(pe.fam()) {
			if j.exportedPaths(s, pe, p) {
				j.pos.a = uint32(i)
				return used + 1, true, true
			}
		} else if pe != nil && j.famOK(pe.fam()) {
			if out := pe.outFor(p.id); out != nil {
				rt := Route{Prefix: pe.prefix(), Attrs: s.sets.sentAttrs(out)}
				if r, v := bestFor(pe, p); r != nil && s.sets.peekVariant(r.set.out, r.info, v) == out {
					rt.Member, rt.ASN, rt.Neighbor = r.p.m.name, r.p.m.asn, r.p.addr
					rt.LocalPref, rt.Info, rt.Since = r.localPref, r.info, time.Unix(int64(r.since), 0)
				}
				j.page.Routes = append(j.page.Routes, rt)
			}
		}
		i++
		j.pos.b = 0
		if len(j.page.Routes) >= j.limit || j.spent(s, 1) {
			j.pos.a = uint32(i)
			return used + 1, i < len(slab), true
		}
	}
	j.pos.a = uint32(i)
	return used, false, false
}

// exportedPaths appends the paths of pe in p's ADD-PATH table from the cursor's second position on,
// naming the announcing member when its route is still the one the identifier names with the set
// held. It reports whether the page filled up inside pe (the cursor then points into it).
func (j *routesJob) exportedPaths(s *Server, pe *prefixEntry, p *session) (full bool) {
	paths := p.ap.out[pe.prefix()]
	for k := int(j.pos.b); k < len(paths); k++ {
		if len(j.page.Routes) >= j.limit {
			j.pos.b = uint32(k)
			return true
		}
		x := paths[k]
		rt := Route{Prefix: pe.prefix(), Attrs: s.sets.sentAttrs(x.set), PathID: x.id}
		for _, r := range pe.candidates() {
			if pathID(r) != x.id {
				continue
			}
			if c, v := exportCheck(r, p); c == ExportOK && s.sets.peekVariant(r.set.out, r.info, v) == x.set {
				rt.Member, rt.ASN, rt.Neighbor = r.p.m.name, r.p.m.asn, r.p.addr
				rt.LocalPref, rt.Info, rt.Since = r.localPref, r.info, time.Unix(int64(r.since), 0)
			}
			break
		}
		j.page.Routes = append(j.page.Routes, rt)
	}
	return false
}

// notExported walks the prefix slab for the accepted routes of other sessions that p is not sent,
// each with the reason. The cursor's second position counts the routes of its prefix already
// returned, so that a page never exceeds its limit.
func (j *routesJob) notExported(s *Server, p *session, budget int) (used int, more, done bool) {
	slab := s.prefixes.slab
	i := int(j.pos.a)
	for used < budget {
		if i >= len(slab) {
			j.pos.a, j.pos.b = uint32(i), 0
			return used, false, true
		}
		pe := slab[i]
		used++
		if pe == nil || pe.nacc == 0 || !j.famOK(pe.fam()) {
			i++
			if j.spent(s, 1) {
				j.pos.a, j.pos.b = uint32(i), 0
				return used, i < len(slab), true
			}
			continue
		}
		best, _ := bestFor(pe, p)
		famOK := p.fams[pe.fam()]
		k := 0 // routes of pe that qualify so far
		full := false
		for _, r := range pe.candidates() {
			if r == best || r.p == p {
				continue
			}
			if k++; k <= int(j.pos.b) {
				continue
			}
			c := ExportFamily
			if famOK {
				if c, _ = exportCheck(r, p); c == ExportOK {
					c = ExportNotBest
				}
			}
			rt := routeView(r)
			rt.Export = c
			j.page.Routes = append(j.page.Routes, rt)
			if len(j.page.Routes) >= j.limit {
				full = true
				break
			}
		}
		stop := j.spent(s, int(pe.nacc))
		if full {
			j.pos.a, j.pos.b = uint32(i), uint32(k)
			return used, true, true
		}
		i++
		j.pos.a, j.pos.b = uint32(i), 0
		if stop {
			return used, i < len(slab), true
		}
	}
	return used, false, false
}

func routeView(r *route) Route {
	return Route{
		Prefix:    r.pe.prefix(),
		Member:    r.p.m.name,
		ASN:       r.p.m.asn,
		Neighbor:  r.p.addr,
		Attrs:     r.set.attrs,
		LocalPref: r.localPref,
		Reasons:   r.reasons,
		Info:      r.info,
		Since:     time.Unix(int64(r.since), 0),
		Stale:     r.p.stale,
	}
}

// PrefixInfo is everything about one prefix: every route in decision order (rejected ones last)
// and, for every established session, what it gets and why, as codes (Explain puts them in words).
type PrefixInfo struct {
	Prefix netip.Prefix
	Routes []Route
	// Steps[i] is the decision step that ranks candidate i above candidate i+1.
	Steps   []Step
	Exports []MemberExport
	Gen     uint64 // RIB generation

	// ctl holds the export-control summary of each route's attributes, for Explain. The summaries
	// are immutable once computed.
	ctl []policy.Export
}

// MemberExport is the export decision for one session.
type MemberExport struct {
	Member   string
	ASN      uint32
	Neighbor netip.Addr
	// Route is the index in PrefixInfo.Routes of the route the session gets, or -1.
	Route int
	// Variant is how the attributes of that route are changed toward the session (prepend,
	// NO_EXPORT, NO_ADVERTISE), from the route's control communities.
	Variant policy.Variant
	// Checks holds, per entry of PrefixInfo.Routes, the export check for this session: the routes
	// before Route say why they were passed over, Route itself is ExportOK, later ones
	// ExportNotBest (or why they would not qualify either).
	Checks []ExportCheck
	// InSync reports whether the Adj-RIB-Out already holds the decision (false while the change
	// is still on its way to this session).
	InSync bool
	// Family reports whether the prefix's family is negotiated on the session.
	Family bool
}

// Prefix returns the candidates and per-session export decisions for pfx (exact match). ok is
// false when the route server holds nothing for it.
func (s *Server) Prefix(ctx context.Context, pfx netip.Prefix) (info PrefixInfo, ok bool, err error) {
	j := &prefixJob{pfx: pfx.Masked()}
	if err := s.read(ctx, j, &j.readJob); err != nil {
		return PrefixInfo{}, false, err
	}
	return j.info, j.ok, nil
}

// prefixJob reads one prefix with every session's export decision: one step, since a prefix is
// the unit of the RIB (its work is routes × sessions, a few thousand checks at most).
type prefixJob struct {
	readJob
	pfx  netip.Prefix
	info PrefixInfo
	ok   bool
}

func (j *prefixJob) step(s *Server, _ int) (int, bool) {
	pe := s.prefixes.get(j.pfx)
	if pe == nil || len(pe.routes()) == 0 {
		return 1, true
	}
	j.ok = true
	j.info = s.prefixInfo(pe)
	return len(pe.routes()) * (1 + len(s.peers)), true
}

func (s *Server) prefixInfo(pe *prefixEntry) PrefixInfo {
	info := PrefixInfo{Prefix: pe.prefix(), Gen: s.gen}
	for _, r := range pe.routes() {
		info.Routes = append(info.Routes, routeView(r))
		info.ctl = append(info.ctl, r.set.exp)
	}
	info.Steps = pe.steps()
	for _, p := range s.peers {
		if p == nil || p.down {
			continue
		}
		me := MemberExport{Member: p.m.name, ASN: p.m.asn, Neighbor: p.addr, Route: -1, Family: p.fams[pe.fam()]}
		me.Checks = make([]ExportCheck, len(pe.routes()))
		for i, r := range pe.routes() {
			c, v := exportCheck(r, p)
			switch {
			case !me.Family:
				c = ExportFamily
			case !r.accepted():
				c = ExportRejected
			case c == ExportOK && me.Route >= 0:
				c = ExportNotBest
			case c == ExportOK:
				me.Route, me.Variant = i, v
			}
			me.Checks[i] = c
		}
		var want *attrSet
		if me.Route >= 0 {
			r := pe.routes()[me.Route]
			if want = s.sets.peekVariant(r.set.out, r.info, me.Variant); want == nil {
				want = r.set // not cached, so held by no session: never equal to outFor
			}
		}
		me.InSync = pe.outFor(p.id) == want
		info.Exports = append(info.Exports, me)
	}
	return info
}

// Explain says in words why Exports[i] gets the route it gets, or nothing. It runs on the
// caller's goroutine.
func (pi *PrefixInfo) Explain(i int) string {
	me := &pi.Exports[i]
	var why []string
	nth := 0 // candidates described so far
	for k, r := range pi.Routes {
		if k == me.Route || k >= len(me.Checks) {
			break
		}
		if !r.Accepted() || !me.Family {
			continue
		}
		why = append(why, fmt.Sprintf("%s from AS%d (%s) %s", ordinal(nth), r.ASN, r.Neighbor, pi.explainCheck(k, me)))
		nth++
	}
	switch {
	case me.Route >= 0:
		r := pi.Routes[me.Route]
		sent := fmt.Sprintf("%s from AS%d (%s) is sent", ordinal(nth), r.ASN, r.Neighbor)
		if me.Variant != 0 {
			sent += " (" + me.Variant.String() + ")"
		}
		why = append(why, sent)
	case !me.Family:
		why = append(why, "nothing is sent: the family is not negotiated on this session")
	case nth == 0:
		why = append(why, "nothing is sent: no other member has an accepted route")
	default:
		why = append(why, "nothing is sent")
	}
	return strings.Join(why, "; ")
}

// explainCheck says in words why route k is not sent to me.
func (pi *PrefixInfo) explainCheck(k int, me *MemberExport) string {
	c := me.Checks[k]
	switch c {
	case ExportDenied, ExportDeniedAll:
		if k < len(pi.ctl) {
			return "is " + pi.ctl[k].Explain(me.ASN)
		}
		return "is denied by export policy"
	case ExportOwnRoute:
		return "is the member's own"
	case ExportReceiverAS:
		return fmt.Sprintf("has AS%d in its path (it would drop it as a loop)", me.ASN)
	case ExportRSASInPath:
		return "has the route server's AS in its path"
	}
	return "is not sent: " + c.String()
}

// ordinal names the n-th candidate considered for a member.
func ordinal(n int) string {
	if n == 0 {
		return "the best route"
	}
	return "the next best"
}

// Match selects the prefixes a lookup returns.
type Match uint8

const (
	MatchExact    Match = iota // the prefix itself
	MatchLongest               // the longest prefix holding routes that covers it (itself included)
	MatchOrLonger              // the prefix and every more-specific one
)

// LookupQuery asks for the routes of all members for a prefix.
type LookupQuery struct {
	Prefix netip.Prefix
	Match  Match
	// View restricts the routes to ViewAccepted or ViewFiltered ones; ViewReceived (the zero
	// value) returns all.
	View  View
	After Cursor
	Limit int // prefixes per page, at most MaxPage; 0 means DefaultPage
}

// LookupPage is one page of a lookup: prefixes in slab order (MatchOrLonger), each with its routes
// in decision order, rejected ones last. More and Cursor as in RoutesPage.
type LookupPage struct {
	Prefixes []PrefixRoutes
	Cursor   Cursor
	More     bool
	Gen      uint64
}

// PrefixRoutes is one prefix of a lookup.
type PrefixRoutes struct {
	Prefix netip.Prefix
	Routes []Route
}

// Lookup returns a page of the routes of every member for the prefixes q matches. An exact or
// longest match is one step (longest match probes the hash index once per prefix length); a
// more-specifics lookup walks the prefix slab, a bounded part per page.
func (s *Server) Lookup(ctx context.Context, q LookupQuery) (LookupPage, error) {
	j, err := newLookupJob(q)
	if err == nil {
		err = s.read(ctx, j, &j.readJob)
	}
	if err != nil {
		return LookupPage{}, err
	}
	return j.page, nil
}

func newLookupJob(q LookupQuery) (*lookupJob, error) {
	j := &lookupJob{q: q, limit: pageLimit(q.Limit), pos: q.After}
	j.q.Prefix = q.Prefix.Masked()
	if !j.q.Prefix.IsValid() {
		return nil, fmt.Errorf("lookup: invalid prefix %v", q.Prefix)
	}
	if q.View > ViewFiltered || q.Match > MatchOrLonger {
		return nil, fmt.Errorf("lookup: view %v, match %d: only received, accepted or filtered; exact, longest or longer", q.View, q.Match)
	}
	return j, nil
}

type lookupJob struct {
	readJob
	q     LookupQuery
	limit int
	pos   Cursor
	page  LookupPage
}

// add appends pe's routes of the query's view, if any, and reports whether it did.
func (j *lookupJob) add(pe *prefixEntry) bool {
	var out []Route
	for _, r := range pe.routes() {
		if j.q.View == ViewReceived || (j.q.View == ViewAccepted) == r.accepted() {
			out = append(out, routeView(r))
		}
	}
	if len(out) == 0 {
		return false
	}
	j.page.Prefixes = append(j.page.Prefixes, PrefixRoutes{Prefix: pe.prefix(), Routes: out})
	return true
}

func (j *lookupJob) step(s *Server, budget int) (int, bool) {
	j.page.Gen = s.gen
	pfx := j.q.Prefix
	switch j.q.Match {
	case MatchExact:
		if pe := s.prefixes.get(pfx); pe != nil {
			j.add(pe)
		}
		return 1, true
	case MatchLongest:
		for bits := pfx.Bits(); bits >= 0; bits-- {
			if pe := s.prefixes.get(netip.PrefixFrom(pfx.Addr(), bits).Masked()); pe != nil && j.add(pe) {
				return pfx.Bits() - bits + 1, true
			}
		}
		return pfx.Bits() + 1, true
	}
	slab := s.prefixes.slab
	i := int(j.pos.a)
	used := 0
	for ; used < budget; used++ {
		if i >= len(slab) {
			return max(used, 1), true
		}
		pe := slab[i]
		i++
		if pe != nil && int(pe.bits) >= pfx.Bits() && (pe.fi == 0) == pfx.Addr().Is4() &&
			pfx.Contains(pe.prefix().Addr()) {
			j.add(pe)
		}
		if len(j.page.Prefixes) >= j.limit || j.spent(s, 1) {
			if j.page.More = i < len(slab); j.page.More {
				j.page.Cursor = Cursor{set: true, a: uint32(i)}
			}
			return used + 1, true
		}
	}
	j.pos.a = uint32(i)
	return used, false
}

// SessionStatus is the state and counters of one configured session.
type SessionStatus struct {
	Member   string
	ASN      uint32
	Neighbor netip.Addr
	Up       bool
	Since    time.Time // when it came up
	ID       int       // dense id while up
	// Incarnation numbers the session's current Up (0 while down); cursors name it.
	Incarnation uint64
	// LastDown is when the session last went down and LastDownReason why (Peer.DownWithReason).
	LastDown       time.Time
	LastDownReason string
	// Info is what the session layer said at Up (OPEN messages, families, encoding).
	Info     SessionInfo
	Families []FamilyCounts
	// EndOfRIB lists the families a End-of-RIB was received for.
	EndOfRIB []speaker.Family
	// StaleRoutes counts the routes kept from earlier incarnations while the member restarts
	// gracefully (RFC 4724), up or down.
	StaleRoutes int

	Pending     int  // prefixes decided, not yet encoded
	InQueue     int  // UPDATEs waiting for the RIB
	OutBuffered int  // bytes in the output buffer, as last reported
	Throttled   bool // output above the high watermark
	Dumping     bool // table dump in progress

	MessagesIn, MessagesOut, BytesOut uint64
	Unsendable                        uint64 // prefixes whose attributes did not fit a message
	Refreshes                         uint64
	// DuplicateAnnouncements counts prefixes announced again with the attributes they had;
	// DuplicateWithdrawals withdrawals of prefixes the session held no route for (RFC 7854 §4.8
	// statistics types 1 and 2).
	DuplicateAnnouncements, DuplicateWithdrawals uint64
}

// FamilyCounts are a session's route counts for one family.
type FamilyCounts struct {
	Family                                 speaker.Family
	Received, Accepted, Filtered, Exported int
	// Preferred counts the accepted routes that are the best (first) candidate of their prefix,
	// BIRD's "preferred".
	Preferred int
	// MaxPrefix is the session's limit for the family (0: none); Blocked counts routes ignored
	// because the limit was reached with action block.
	MaxPrefix int
	Blocked   uint64
	// FilteredBy counts the filtered routes by primary reason (policy.Reasons.Primary), indexed by
	// the reason's code; index 0 counts codes of ReasonSlots and above. It sums to Filtered.
	FilteredBy [ReasonSlots]int
}

// Sessions returns the status of every configured session, ordered by member name, then neighbor
// address. It is a read job (so it is answered in a mid-pass turn, not at the next pass's start)
// whose work is one entry per session, done in one go.
func (s *Server) Sessions(ctx context.Context) ([]SessionStatus, error) {
	j := &sessionsJob{}
	if err := s.read(ctx, j, &j.readJob); err != nil {
		return nil, err
	}
	sortSessions(j.out)
	return j.out, nil
}

type sessionsJob struct {
	readJob
	out []SessionStatus
}

func (j *sessionsJob) step(s *Server, _ int) (int, bool) {
	j.out = make([]SessionStatus, 0, len(s.sessions))
	for _, ss := range s.sessions {
		j.out = append(j.out, s.sessionStatus(ss))
	}
	return max(len(j.out), 1), true
}

func sortSessions(out []SessionStatus) {
	slices.SortFunc(out, func(a, b SessionStatus) int {
		if c := strings.Compare(a.Member, b.Member); c != 0 {
			return c
		}
		return a.Neighbor.Compare(b.Neighbor)
	})
}

func (s *Server) sessionStatus(ss *Peer) SessionStatus {
	st := SessionStatus{Member: ss.m.name, ASN: ss.m.asn, Neighbor: ss.addr, ID: -1,
		LastDown: ss.lastDown, LastDownReason: ss.lastReason, StaleRoutes: ss.staleRoutes()}
	p := ss.p
	if p == nil {
		return st
	}
	st.Up, st.Since, st.ID, st.Incarnation, st.Info = true, p.since, p.id, p.inc, p.ib.info
	for fi, f := range families {
		if !p.fams[fi] && p.received[fi] == 0 {
			continue
		}
		st.Families = append(st.Families, FamilyCounts{
			Family:    f,
			Received:  p.received[fi],
			Accepted:  p.accepted[fi],
			Filtered:  p.received[fi] - p.accepted[fi],
			Exported:  s.exportedOf(p, famIdx(fi)),
			Preferred: p.preferred[fi],

			MaxPrefix: p.m.maxPrefix.limit(famIdx(fi)),
			Blocked:   p.blocked[fi],

			FilteredBy: p.filteredBy[fi],
		})
		if p.eorIn[fi] {
			st.EndOfRIB = append(st.EndOfRIB, f)
		}
	}
	st.Pending = p.pend.n
	st.InQueue = len(p.ib.ch)
	st.OutBuffered, st.Throttled, st.Dumping = p.buffered, p.throttled, p.walk.active
	st.MessagesIn, st.MessagesOut, st.BytesOut = p.msgsIn, p.msgsOut, p.bytesOut
	st.Unsendable, st.Refreshes = p.unsendable, p.refreshes
	st.DuplicateAnnouncements, st.DuplicateWithdrawals = p.dupAnnounce, p.dupWithdraw
	return st
}
