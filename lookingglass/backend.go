package lookingglass

import (
	"context"
	"errors"
	"net/netip"
	"time"
)

// Backend is what the looking glass reads: the route server's read jobs, through an adapter the
// daemon provides. Every method may be called from many HTTP goroutines at once and must return
// within the context's deadline. The looking glass never holds on to what a method returns beyond
// the request, and never modifies it.
//
// Route lists are read page by page, shaped like a RIB walk: a query carries an opaque cursor ("" for
// the first page) and a page size, and the answer carries the cursor of the next page, the RIB
// generation the walk started at, a total where the backend knows it cheaply, and whether the work
// budget of the read job ran out before the page was full (Partial). Pages of one walk are stable
// under churn: the backend either continues the walk or, when the cursor can no longer be
// continued, returns ErrStaleCursor.
//
// Hidden members: queries carry the neighbor addresses to leave out (Hide). The backend should skip
// their routes so that pages and totals are right; the looking glass also drops whatever comes
// back from them, so a backend that ignores Hide leaks nothing, it only returns short pages.
//
// A backend that waits for something that costs the process no CPU (a read job on the RIB loop)
// calls Yield around the wait, so that the request does not hold a max_concurrent slot meanwhile.
type Backend interface {
	// Status describes the route server. It answers even while starting (Ready false).
	Status(ctx context.Context) (Status, error)
	// Sessions lists every configured session, hidden members included (the looking glass
	// removes them), in a stable order.
	Sessions(ctx context.Context) ([]Session, error)
	// Routes returns one page of a session's routes in one of the five views. ErrUnknownNeighbor
	// when no session has that address.
	Routes(ctx context.Context, q RoutesQuery) (RoutePage, error)
	// Lookup returns one page of the routes of every member for a prefix: exact, longest match or
	// more-specifics.
	Lookup(ctx context.Context, q LookupQuery) (RoutePage, error)
	// Search returns one page of the routes of every member matching one criterion; the match is
	// defined by SearchQuery.Matches.
	Search(ctx context.Context, q SearchQuery) (RoutePage, error)
	// Explain returns one received route with its import checks and its export decision toward
	// every established session. ErrUnknownNeighbor or ErrNoRoute when there is none.
	Explain(ctx context.Context, neighbor netip.Addr, prefix netip.Prefix) (RouteDetail, error)
}

// Errors a Backend returns; the looking glass maps them to HTTP statuses with errors.Is.
var (
	// ErrNotReady: the route server is starting (503).
	ErrNotReady = errors.New("route server is starting")
	// ErrUnknownNeighbor: no configured session has the address (404).
	ErrUnknownNeighbor = errors.New("unknown neighbor")
	// ErrNoRoute: the session holds no route for the prefix (404).
	ErrNoRoute = errors.New("no such route")
	// ErrStaleCursor: the cursor cannot be continued (the RIB moved too far, or the cursor
	// belongs to another query); start again from the first page (409).
	ErrStaleCursor = errors.New("cursor is no longer valid")
)

// Status describes the route server as a whole.
type Status struct {
	Name     string // the looking glass's [lookingglass] name; filled by the looking glass if empty
	ASN      uint32
	RouterID netip.Addr
	Version  string
	// Ready is false while the route server is starting: the API answers 503 for everything but
	// the status.
	Ready        bool
	StartTime    time.Time
	LastReconfig time.Time // zero: never reloaded
	Generation   uint64    // the RIB generation now
	Prefixes     int       // prefixes the RIB holds routes for; 0: unknown
	RPKI         RPKIStatus
}

// RPKIStatus summarises the RPKI data in use.
type RPKIStatus struct {
	Caches     []RPKICache
	VRPsIPv4   int
	VRPsIPv6   int
	ASPAs      int       // ASPA records in force (from a cache speaking RTR version 2)
	Source     string    // where the data in force comes from: "rtr", "file" (a VRP file) or "" (none)
	LastUpdate time.Time // zero: no data yet
}

// RPKICache is one configured RTR cache.
type RPKICache struct {
	Address string
	Up      bool
	Serial  uint32
}

// Session is one configured BGP session of a member, up or not.
type Session struct {
	Member      string
	ASN         uint32
	Description string
	Neighbor    netip.Addr
	// State is the FSM state: "idle", "connect", "active", "opensent", "openconfirm" or
	// "established".
	State string
	// Since is when the session last changed state (came up, went down).
	Since time.Time
	// LastError says why the session last went down, with the NOTIFICATION's code, subcode and
	// text when one was sent or received ("received NOTIFICATION 6/2 administrative shutdown:
	// maintenance"); "" when it never went down.
	LastError string
	// Flaps counts the times the session left Established since the route server started.
	Flaps uint64
	// LastNotificationSent and LastNotificationReceived describe the last NOTIFICATION the route
	// server sent to and received from the member, with its code, subcode and text
	// ("Cease/Administrative Shutdown: \"maintenance\""); "" when there was none.
	LastNotificationSent     string
	LastNotificationReceived string
	// RouterID is the member's BGP identifier from its OPEN; invalid while down.
	RouterID netip.Addr
	// Capabilities are what both sides negotiated, in words ("4-octet AS", "ADD-PATH ipv4 receive").
	Capabilities []string
	HoldTime     int // negotiated, seconds
	Families     []FamilyCounts
}

// FamilyCounts are a session's route counts for one address family.
type FamilyCounts struct {
	Family   string // "ipv4" or "ipv6"
	Received int
	Accepted int
	Filtered int
	Exported int
	// Preferred counts the accepted routes that are the best candidate of their prefix.
	Preferred int
	MaxPrefix int // the session's limit; 0: none
}

// Route is one route as a looking glass shows it.
type Route struct {
	Prefix   netip.Prefix
	Member   string     // the member that announced it
	ASN      uint32     // that member's AS
	Neighbor netip.Addr // the session it was received on
	// ASPath is AS_PATH flattened left to right; ASSet reports an AS_SET in it.
	ASPath    []uint32
	ASSet     bool
	NextHop   netip.Addr
	MED       uint32
	HasMED    bool
	Origin    string // "igp", "egp" or "incomplete"
	LocalPref uint32
	// Communities as received (or, in the exported view, as sent).
	Communities      []Community
	ExtCommunities   []ExtCommunity
	LargeCommunities []LargeCommunity
	OTC              uint32 // the Only-to-Customer AS (RFC 9234); 0: none
	RPKI             string // "valid", "not-found", "invalid" or "not-checked"
	IRRPrefix        string // "in", "not-in" or "not-checked"
	IRROrigin        string // "in", "not-in" or "not-checked"
	Since            time.Time
	// Best reports that the route is the first candidate of its prefix (the one most members get).
	Best bool
	// Reasons are the Euro-IX codes (RS:1101:N) import policy rejected the route for, the primary
	// one first; empty when accepted.
	Reasons []int
	// NotExported is, in the not-exported view, why the route is not sent to the session the view
	// is about: a NotExportedReason code.
	NotExported int
	// PathID is, in the exported view of a session sent ADD-PATH (RFC 7911) for the route's family,
	// the path identifier the route is sent under; 0 otherwise. Such a view lists every path the
	// session is sent for a prefix, not only the best.
	PathID uint32
}

// Accepted reports whether import policy accepted the route.
func (r *Route) Accepted() bool { return len(r.Reasons) == 0 }

// View selects which of a session's routes Routes returns.
type View string

// The five route lists of a session.
const (
	// ViewReceived is every route received from the session (its Adj-RIB-In), accepted or not.
	ViewReceived View = "received"
	// ViewAccepted is the received routes import policy accepted.
	ViewAccepted View = "accepted"
	// ViewFiltered is the received routes import policy rejected, with Reasons.
	ViewFiltered View = "filtered"
	// ViewExported is what the session has been sent, attributes as sent.
	ViewExported View = "exported"
	// ViewNotExported is the accepted routes of other members that the session is not sent, with
	// the NotExported reason; candidates passed over only because a better route is sent are not
	// in it.
	ViewNotExported View = "not-exported"
)

// NotExportedReason says why an accepted route of another member is not sent to a session. In the
// compatibility APIs it appears as the large community RS:1102:N.
type NotExportedReason int

// Not-exported reasons (RS:1102:N).
const (
	NotExportedDenied         NotExportedReason = 1 // "do not announce to this member" (0:P, RS:0:P)
	NotExportedDeniedAll      NotExportedReason = 2 // "do not announce to any" (0:RS, RS:0:0) without an announce-to for it
	NotExportedReceiverAS     NotExportedReason = 3 // the receiving member's AS is in the path
	NotExportedRouteServerAS  NotExportedReason = 4 // the route server's AS is in the path
	NotExportedFamily         NotExportedReason = 5 // the family is not negotiated on the session
	NotExportedOwnRoute       NotExportedReason = 6 // announced by another session of the same member
	NotExportedLLGRStale      NotExportedReason = 7 // long-lived stale (RFC 9494), the session did not negotiate LLGR
	numNotExportedReasonCodes                   = 8
)

// NotExportedFunction is the middle field of the not-exported large community RS:1102:N.
const NotExportedFunction = 1102

var notExportedNames = [numNotExportedReasonCodes]string{
	NotExportedDenied:        "do not announce to this member (control community)",
	NotExportedDeniedAll:     "do not announce to any (control community)",
	NotExportedReceiverAS:    "member's AS in AS path",
	NotExportedRouteServerAS: "route server's AS in AS path",
	NotExportedFamily:        "address family not negotiated",
	NotExportedOwnRoute:      "member's own route",
	NotExportedLLGRStale:     "long-lived stale, session without LLGR",
}

func (r NotExportedReason) String() string {
	if r > 0 && int(r) < len(notExportedNames) {
		return notExportedNames[r]
	}
	return "unknown"
}

// Cursor and size of one page.
type Page struct {
	// Cursor continues a walk: "" for the first page, then the previous page's Next.
	Cursor string
	// Limit is the most routes to return, 1..MaxPageSize.
	Limit int
	// Buf, when not nil, is storage the backend may build the page's Routes in: appended to
	// Buf[:0], and the elements it overwrites may lend it their slices. The looking glass passes
	// one it reuses once the answer is written, so a backend that uses it must not keep the page,
	// nor let anything write to it after returning.
	Buf []Route
}

// RoutesQuery asks for one page of a session's routes.
type RoutesQuery struct {
	Neighbor netip.Addr
	View     View
	Family   string // "", "ipv4" or "ipv6"
	Hide     []netip.Addr
	Page
}

// Match is how Lookup matches a prefix.
type Match string

// Lookup matches.
const (
	MatchExact        Match = "exact"         // the prefix itself
	MatchLongest      Match = "longest"       // the most specific prefix in the RIB that covers it
	MatchMoreSpecific Match = "more-specific" // the prefix and every prefix inside it
)

// LookupQuery asks for the routes of every member for a prefix.
type LookupQuery struct {
	Prefix netip.Prefix // an address is passed as a host prefix (/32, /128)
	Match  Match
	Hide   []netip.Addr
	Page
}

// SearchKind is the criterion of a search.
type SearchKind string

// Search criteria.
const (
	SearchOrigin    SearchKind = "origin"          // the origin AS (right-most in the path) is ASN
	SearchASN       SearchKind = "asn"             // ASN appears anywhere in the path
	SearchASPath    SearchKind = "as-path"         // ASPath matches the space-separated path
	SearchCommunity SearchKind = "community"       // carries Community
	SearchLarge     SearchKind = "large-community" // carries Large
	SearchExt       SearchKind = "ext-community"   // carries Ext
	SearchNextHop   SearchKind = "next-hop"        // the next hop is NextHop
)

// SearchQuery asks for the routes of every member that match one criterion; only the field of
// Kind is set.
type SearchQuery struct {
	Kind      SearchKind
	ASN       uint32
	ASPath    *ASPathPattern
	Community Community
	Large     LargeCommunity
	Ext       ExtCommunity
	NextHop   netip.Addr
	Family    string // "", "ipv4" or "ipv6"
	Hide      []netip.Addr
	Page
}

// Matches reports whether r matches the search, the definition every Backend follows. A backend
// may evaluate it once per attribute set rather than per route.
func (q *SearchQuery) Matches(r *Route) bool {
	if !familyOK(q.Family, r.Prefix) {
		return false
	}
	switch q.Kind {
	case SearchOrigin:
		return !r.ASSet && len(r.ASPath) > 0 && r.ASPath[len(r.ASPath)-1] == q.ASN
	case SearchASN:
		for _, a := range r.ASPath {
			if a == q.ASN {
				return true
			}
		}
	case SearchASPath:
		return q.ASPath != nil && q.ASPath.Match(r.ASPath)
	case SearchCommunity:
		for _, c := range r.Communities {
			if c == q.Community {
				return true
			}
		}
	case SearchLarge:
		for _, c := range r.LargeCommunities {
			if c == q.Large {
				return true
			}
		}
	case SearchExt:
		for _, c := range r.ExtCommunities {
			if c == q.Ext {
				return true
			}
		}
	case SearchNextHop:
		return r.NextHop == q.NextHop
	}
	return false
}

func familyOK(family string, p netip.Prefix) bool {
	switch family {
	case "ipv4":
		return p.Addr().Is4()
	case "ipv6":
		return p.Addr().Is6()
	}
	return true
}

// RoutePage is one page of routes.
type RoutePage struct {
	Routes []Route
	// Next is the cursor of the following page; "" after the last.
	Next string
	// Generation is the RIB generation the walk started at.
	Generation uint64
	// Total is the number of routes in the whole list, or -1 when the backend does not know it
	// without a walk of its own.
	Total int
	// Partial reports that the read job's work budget ran out before the page was full: fewer
	// than Limit routes, and Next continues.
	Partial bool
}

// RouteDetail is one route with the reasons behind its verdicts.
type RouteDetail struct {
	Route Route
	// Checks are the import checks in chain order, each with its outcome and the data behind it
	// (the covering VRPs, the IRR entry or its absence).
	Checks []Check
	// Exports is the export decision toward every established session.
	Exports []ExportDecision
}

// Check is one import check for one route.
type Check struct {
	Step    int    // the check's number in the import chain (docs/policy.md)
	Name    string // what it checks
	Outcome string // "pass", "fail", "off" or "applied"
	Reason  int    // the Euro-IX code when it failed, else 0
	Detail  string
}

// ExportDecision is whether one session is sent the route, and if not, why.
type ExportDecision struct {
	Member   string
	ASN      uint32
	Neighbor netip.Addr
	Exported bool
	// Reason is a NotExportedReason code when the route is not sent and that is not only because
	// a better route is; 0 otherwise.
	Reason  int
	Explain string // the decision in words
}
