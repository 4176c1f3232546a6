package rs

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/ixrs/ixrs/policy"
	"github.com/ixrs/ixrs/speaker"
)

// The looking-glass query API. Every query runs on the RIB loop between passes and does a bounded
// amount of work (a page of at most MaxPage results, at most ScanLimit entries looked at), so a
// query never stops routing for long; large views are read page by page with the returned cursor.
// Results share the immutable *speaker.Attrs of the RIB and copy everything else.

// Query bounds.
const (
	MaxPage     = 1000
	DefaultPage = 100
	ScanLimit   = 100_000
)

// View selects the routes of a session a query returns.
type View uint8

const (
	ViewReceived View = iota // every route received (Adj-RIB-In), accepted or not
	ViewAccepted             // routes import policy accepted
	ViewFiltered             // routes import policy rejected, with reasons
	ViewExported             // routes the session has been sent (Adj-RIB-Out)
)

func (v View) String() string {
	return [...]string{"received", "accepted", "filtered", "exported"}[v]
}

// Route is one route as the looking glass shows it.
type Route struct {
	Prefix   netip.Prefix
	Member   string
	ASN      uint32
	Neighbor netip.Addr
	// Attrs are the attributes as received; in the exported view, as sent (control communities
	// stripped). Shared with the RIB: do not modify.
	Attrs     *speaker.Attrs
	LocalPref uint32
	Reasons   policy.Reasons // empty when accepted
	Since     time.Time
}

// Accepted reports whether import policy accepted the route.
func (r *Route) Accepted() bool { return r.Reasons == 0 }

// RoutesQuery asks for one page of a session's routes.
type RoutesQuery struct {
	Neighbor netip.Addr
	View     View
	Family   speaker.Family // 0: both
	Cursor   int            // 0 for the first page, then the previous page's Next
	Limit    int            // at most MaxPage; 0 means DefaultPage
}

// RoutesPage is one page. Next is the cursor of the following page, or -1 after the last; a page
// may hold fewer than Limit routes and still have a next page (the scan limit was reached). Order is
// stable between pages but not sorted.
type RoutesPage struct {
	Routes []Route
	Next   int
}

// Routes returns a page of a session's routes.
func (s *Server) Routes(ctx context.Context, q RoutesQuery) (RoutesPage, error) {
	var page RoutesPage
	var err error
	derr := s.do(ctx, func() { page, err = s.routes(q) })
	if derr != nil {
		return RoutesPage{}, derr
	}
	return page, err
}

func (s *Server) routes(q RoutesQuery) (RoutesPage, error) {
	ss := s.sessions[q.Neighbor]
	if ss == nil {
		return RoutesPage{}, fmt.Errorf("neighbor %s: %w", q.Neighbor, ErrUnknownPeer)
	}
	limit := q.Limit
	if limit <= 0 {
		limit = DefaultPage
	}
	limit = min(limit, MaxPage)
	page := RoutesPage{Next: -1}
	p := ss.p
	if p == nil || q.Cursor < 0 {
		return page, nil
	}
	famOK := func(pfx netip.Prefix) bool { return q.Family == 0 || families[famOf(pfx)] == q.Family }
	i, scanned := q.Cursor, 0
	if q.View == ViewExported {
		slab := s.prefixes.slab
		for ; i < len(slab) && len(page.Routes) < limit && scanned < ScanLimit; i++ {
			scanned++
			pe := slab[i]
			if pe == nil || !famOK(pe.prefix()) {
				continue
			}
			out := pe.outFor(p.id)
			if out == nil {
				continue
			}
			rt := Route{Prefix: pe.prefix(), Attrs: out.attrs}
			if r, v := bestFor(pe, p); r != nil && s.sets.variant(r.set.out, r.info, v) == out {
				rt.Member, rt.ASN, rt.Neighbor = r.p.m.name, r.p.m.asn, r.p.addr
				rt.LocalPref, rt.Since = r.localPref, time.Unix(int64(r.since), 0)
			}
			page.Routes = append(page.Routes, rt)
		}
		if i < len(slab) {
			page.Next = i
		}
		return page, nil
	}
	for ; i < len(p.routes) && len(page.Routes) < limit && scanned < ScanLimit; i++ {
		scanned++
		r := p.routes[i]
		if r == nil || !famOK(r.pe.prefix()) ||
			(q.View == ViewAccepted && !r.accepted()) || (q.View == ViewFiltered && r.accepted()) {
			continue
		}
		page.Routes = append(page.Routes, routeView(r))
	}
	if i < len(p.routes) {
		page.Next = i
	}
	return page, nil
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
		Since:     time.Unix(int64(r.since), 0),
	}
}

// PrefixInfo is everything about one prefix: every route in decision order (rejected ones last)
// and, for every established session, what it gets and why.
type PrefixInfo struct {
	Prefix netip.Prefix
	Routes []Route
	// Steps[i] is the decision step that ranks candidate i above candidate i+1.
	Steps   []Step
	Exports []MemberExport
}

// MemberExport is the export decision for one session.
type MemberExport struct {
	Member   string
	ASN      uint32
	Neighbor netip.Addr
	// Route is the index in PrefixInfo.Routes of the route the session gets, or -1.
	Route int
	// Checks holds, per entry of PrefixInfo.Routes, the export check for this session: the routes
	// before Route say why they were passed over, Route itself is ExportOK, later ones
	// ExportNotBest (or why they would not qualify either).
	Checks []ExportCheck
	// InSync reports whether the Adj-RIB-Out already holds the decision (false while the change
	// is still on its way to this session).
	InSync bool
	// Explain is the decision in words.
	Explain string
}

// Prefix returns the candidates and per-session export decisions for pfx (exact match). ok is
// false when the route server holds nothing for it.
func (s *Server) Prefix(ctx context.Context, pfx netip.Prefix) (info PrefixInfo, ok bool, err error) {
	err = s.do(ctx, func() {
		pe := s.prefixes.get(pfx.Masked())
		if pe == nil {
			return
		}
		ok = true
		info = s.prefixInfo(pe)
	})
	return info, ok, err
}

func (s *Server) prefixInfo(pe *prefixEntry) PrefixInfo {
	info := PrefixInfo{Prefix: pe.prefix()}
	for _, r := range pe.routes {
		info.Routes = append(info.Routes, routeView(r))
	}
	info.Steps = pe.steps()
	for _, p := range s.peers {
		if p == nil || p.down {
			continue
		}
		me := MemberExport{Member: p.m.name, ASN: p.m.asn, Neighbor: p.addr, Route: -1}
		me.Checks = make([]ExportCheck, len(pe.routes))
		famOK := p.fams[pe.fam()]
		var why []string
		nth := 0 // candidates described so far
		for i, r := range pe.routes {
			c, _ := exportCheck(r, p)
			switch {
			case !famOK:
				c = ExportFamily
			case !r.accepted():
				c = ExportRejected
			case c == ExportOK && me.Route >= 0:
				c = ExportNotBest
			case c == ExportOK:
				me.Route = i
			}
			me.Checks[i] = c
			if me.Route < 0 && r.accepted() && famOK {
				why = append(why, fmt.Sprintf("%s from AS%d (%s) %s", ordinal(nth), r.p.m.asn, r.p.addr, s.explainCheck(r, p, c)))
				nth++
			}
		}
		var want *attrSet
		switch {
		case me.Route >= 0:
			r := pe.routes[me.Route]
			_, v := exportCheck(r, p)
			want = s.sets.variant(r.set.out, r.info, v)
			sent := fmt.Sprintf("%s from AS%d (%s) is sent", ordinal(nth), r.p.m.asn, r.p.addr)
			if v != 0 {
				sent += " (" + v.String() + ")"
			}
			why = append(why, sent)
		case !famOK:
			why = append(why, "nothing is sent: the family is not negotiated on this session")
		case nth == 0:
			why = append(why, "nothing is sent: no other member has an accepted route")
		default:
			why = append(why, "nothing is sent")
		}
		me.InSync = pe.outFor(p.id) == want
		me.Explain = strings.Join(why, "; ")
		info.Exports = append(info.Exports, me)
	}
	return info
}

// explainCheck says in words why candidate r is not sent to p.
func (s *Server) explainCheck(r *route, p *session, c ExportCheck) string {
	switch c {
	case ExportDenied:
		return "is " + r.set.exp.Explain(p.m.asn)
	case ExportOwnRoute:
		return "is the member's own"
	case ExportReceiverAS:
		return fmt.Sprintf("has AS%d in its path (it would drop it as a loop)", p.m.asn)
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

// SessionStatus is the state and counters of one configured session.
type SessionStatus struct {
	Member   string
	ASN      uint32
	Neighbor netip.Addr
	Up       bool
	Since    time.Time // when it came up
	ID       int       // dense id while up
	Families []FamilyCounts
	// EndOfRIB lists the families a End-of-RIB was received for (informational only).
	EndOfRIB []speaker.Family

	Pending     int  // prefixes decided, not yet encoded
	InQueue     int  // UPDATEs waiting for the RIB
	OutBuffered int  // bytes in the output buffer, as last reported
	Throttled   bool // output above the high watermark
	Dumping     bool // table dump in progress

	MessagesIn, MessagesOut, BytesOut uint64
	Unsendable                        uint64 // prefixes whose attributes did not fit a message
	Refreshes                         uint64
}

// FamilyCounts are a session's route counts for one family.
type FamilyCounts struct {
	Family                                 speaker.Family
	Received, Accepted, Filtered, Exported int
	// MaxPrefix is the session's limit for the family (0: none); Blocked counts routes ignored
	// because the limit was reached with action block.
	MaxPrefix int
	Blocked   uint64
	// FilteredBy counts the filtered routes by primary reason (policy.Reasons.Primary), indexed by
	// the reason's code; index 0 counts codes of ReasonSlots and above. It sums to Filtered.
	FilteredBy [ReasonSlots]int
}

// Sessions returns the status of every configured session.
func (s *Server) Sessions(ctx context.Context) ([]SessionStatus, error) {
	var out []SessionStatus
	err := s.do(ctx, func() {
		for _, m := range s.members {
			for _, ss := range m.sessions {
				out = append(out, s.sessionStatus(ss))
			}
		}
	})
	return out, err
}

func (s *Server) sessionStatus(ss *Peer) SessionStatus {
	st := SessionStatus{Member: ss.m.name, ASN: ss.m.asn, Neighbor: ss.addr, ID: -1}
	p := ss.p
	if p == nil {
		return st
	}
	st.Up, st.Since, st.ID = true, p.since, p.id
	for fi, f := range families {
		if !p.fams[fi] && p.received[fi] == 0 {
			continue
		}
		st.Families = append(st.Families, FamilyCounts{
			Family:   f,
			Received: p.received[fi],
			Accepted: p.accepted[fi],
			Filtered: p.received[fi] - p.accepted[fi],
			Exported: p.exported[fi],

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
	return st
}
