package admin

import (
	"time"

	"github.com/ixrs/ixrs/daemon"
	"github.com/ixrs/ixrs/lookingglass"
)

// The protocol's messages (docs/admin.md). Requests are GET with query parameters for reads and
// POST with a JSON body for actions; every answer is JSON, an Error when the status is not 2xx.

// Error is the body of every answer that is not 2xx.
type Error struct {
	Error string `json:"error"`
	// Problems lists every problem of a refused configuration, one "file:line:col: text" each.
	Problems []string `json:"problems,omitempty"`
}

// Version answers GET /v1/version.
type Version struct {
	Version string `json:"version"`
}

// Neighbor is one session with its administrative state.
type Neighbor struct {
	lookingglass.Session
	AdminDown        bool      `json:"admin_down"`
	AdminMessage     string    `json:"admin_message,omitempty"`
	AdminSince       time.Time `json:"admin_since,omitzero"`
	MaxPrefixStopped bool      `json:"max_prefix_stopped"`
	// Dynamic marks a member accepted from a [[member_range]], named by Range.
	Dynamic bool   `json:"dynamic"`
	Range   string `json:"range,omitempty"`
}

// Summary answers GET /v1/summary and GET /v1/neighbors.
type Summary struct {
	Status           lookingglass.Status `json:"status"`
	GracefulShutdown bool                `json:"graceful_shutdown"`
	// StateProblem says the administrative state in force may not survive a restart (the state
	// file could not be read or written); "" if none.
	StateProblem string     `json:"state_problem,omitempty"`
	Neighbors    []Neighbor `json:"neighbors"`
}

// Routes answers GET /v1/routes and GET /v1/lookup: one page per session asked about.
type Routes struct {
	Pages []RoutesPage `json:"pages"`
}

// RoutesPage is one session's (or, for a lookup, every session's) page of routes.
type RoutesPage struct {
	Neighbor string `json:"neighbor,omitempty"`
	View     string `json:"view,omitempty"`
	lookingglass.RoutePage
}

// Explain answers GET /v1/explain: one detail per session holding the prefix.
type Explain struct {
	Routes []lookingglass.RouteDetail `json:"routes"`
}

// MemberRequest is the body of the member actions (POST /v1/neighbor/{shutdown,enable,reset},
// /v1/max-prefix/clear). Member is a member's name or one of its neighbor addresses.
type MemberRequest struct {
	Member  string `json:"member"`
	Message string `json:"message,omitempty"` // shutdown, hard reset: the RFC 9003 text
	Soft    bool   `json:"soft,omitempty"`    // reset
}

func (q MemberRequest) memberName() string { return q.Member }

// MemberResult answers the member actions.
type MemberResult struct {
	Member string `json:"member"`
	// Sessions is how many sessions the action touched (reset, max-prefix clear).
	Sessions int `json:"sessions"`
	// Changed is false when there was nothing to do (enable of a member not shut down).
	Changed bool `json:"changed"`
}

// GracefulShutdownRequest is the body of POST /v1/graceful-shutdown.
type GracefulShutdownRequest struct {
	On bool `json:"on"`
}

// Diff answers POST /v1/diff (the configuration file is the body) and, with Result, POST /v1/reload.
type Diff struct {
	Changes  []daemon.Change `json:"changes"`
	Warnings []string        `json:"warnings"`
	// Result is the reload's counts (reload only).
	Result *daemon.ReloadResult `json:"result,omitempty"`
}

// MRTDump answers POST /v1/mrt/dump: the files written and what they hold.
type MRTDump struct {
	Accepted       string  `json:"accepted"`
	Filtered       string  `json:"filtered"`
	Peers          int     `json:"peers"`
	Prefixes       int     `json:"prefixes"`
	AcceptedRoutes int     `json:"accepted_routes"`
	FilteredRoutes int     `json:"filtered_routes"`
	Bytes          int64   `json:"bytes"`
	Seconds        float64 `json:"seconds"`
	// Resyncs counts how often the walk started over because the RIB changed faster than the
	// dumper took its events (docs/mrt.md#cost).
	Resyncs int `json:"resyncs"`
}

// TraceRequest is the body of POST /v1/trace: switch a member's packet tracing (docs/admin.md).
// Member is a member's name or one of its neighbor addresses; Types are message type names ("open",
// "update", "notification", "keepalive", "refresh", or "all"), none to stop tracing; Raw adds each
// message's bytes in hex.
type TraceRequest struct {
	Member string   `json:"member"`
	Types  []string `json:"types"`
	Raw    bool     `json:"raw,omitempty"`
}

func (q TraceRequest) memberName() string { return q.Member }

// TraceResult answers POST /v1/trace with the member's name and the tracing now in force.
type TraceResult struct {
	Member string   `json:"member"`
	Types  []string `json:"types"`
	Raw    bool     `json:"raw"`
}
