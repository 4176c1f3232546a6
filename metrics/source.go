package metrics

import (
	"context"
	"net/netip"
	"sync"
	"time"
)

// Source gives the collector a snapshot of the route server at scrape time. Snapshot must do a
// bounded amount of work and at most one request to the RIB owner; it may be called from several
// goroutines, but the collector calls it at most once at a time.
type Source interface {
	Snapshot(ctx context.Context) (*Snapshot, error)
}

// Snapshot is the state of the route server, copied for one scrape. Slices may be empty, never
// shared with the route server.
type Snapshot struct {
	Sessions []Session
	RIB      RIB
	RPKI     RPKI
	Reloads  ReloadStats
	// Connections are the BGP connections refused and the dynamic members' sessions.
	Connections Connections
	// LookingGlass is the looking glass's request durations by endpoint; empty without one.
	LookingGlass []Endpoint
}

// Endpoint is one looking-glass endpoint's request-duration histogram.
type Endpoint struct {
	Name      string // the label "endpoint": the route pattern, e.g. /api/v1/lookup
	Durations PhaseHistogram
}

// Connections counts BGP connections refused and the sessions of each [[member_range]].
type Connections struct {
	// Refused counts connections refused because they came from no configured neighbor, no
	// range, or a range at its limit.
	Refused uint64
	Ranges  []Range
}

// Range is one [[member_range]]'s dynamic sessions.
type Range struct {
	Name     string // the label "range"
	Sessions int    // dynamic sessions now
	Limit    int    // max_sessions
	// Refused counts connections from inside the range refused because it was at its limit.
	Refused uint64
}

// MessageType indexes the per-type message and byte counters.
type MessageType int

// Message types, the values of the label "type".
const (
	MsgOpen MessageType = iota
	MsgUpdate
	MsgNotification
	MsgKeepalive
	MsgRefresh
	NumMessageTypes
)

var messageTypeNames = [NumMessageTypes]string{"open", "update", "notification", "keepalive", "refresh"}

func (t MessageType) String() string { return messageTypeNames[t] }

// Session is one configured BGP session (a member's neighbor address).
type Session struct {
	Member   string
	ASN      uint32
	Neighbor netip.Addr

	State       uint8     // RFC 4271 FSM state, 1 (Idle) .. 6 (Established)
	Established time.Time // when it last reached Established; zero if never
	Flaps       uint64    // transitions out of Established

	// Notifications counts the NOTIFICATIONs sent and received by code and subcode.
	Notifications []NotificationCount

	MessagesIn, MessagesOut [NumMessageTypes]uint64
	BytesIn, BytesOut       [NumMessageTypes]uint64

	Families []Family

	PendingPrefixes int           // decided for the member, not yet encoded
	InboundQueue    int           // UPDATEs received, waiting for the RIB
	OutputBytes     int           // encoded, waiting to be written to the socket
	Throttled       bool          // output above the high watermark
	OutputBlocked   time.Duration // how long the output has been waiting without draining; 0 when empty
}

// NotificationCount is how many NOTIFICATIONs of one code and subcode were sent or received.
type NotificationCount struct {
	Code, Subcode uint8
	Sent          bool
	N             uint64
}

// AFI is an address family, the values of the label "afi".
type AFI uint8

// Address families.
const (
	IPv4 AFI = iota
	IPv6
)

func (a AFI) String() string {
	if a == IPv6 {
		return "ipv6"
	}
	return "ipv4"
}

// Family is a session's route counts for one address family.
type Family struct {
	AFI                                    AFI
	Received, Accepted, Filtered, Exported int
	// FilteredBy counts the filtered routes by primary reject reason, by the reason's code
	// (docs/policy.md); zero counts may be left out.
	FilteredBy []ReasonCount
	// MaxPrefixLimit is the configured limit (0: none).
	MaxPrefixLimit int
	// MaxPrefixBlocked is set while the limit holds the session back: routes beyond it are
	// ignored (action block), or the session was closed for it and is not back (restart, shutdown).
	MaxPrefixBlocked bool
}

// ReasonCount is a number of routes filtered for one reason code.
type ReasonCount struct {
	Reason uint8
	N      int
}

// RIB is the RIB owner's object counts and loop times (the route server's rs.Stats).
type RIB struct {
	Members, Sessions, SessionsUp int

	Prefixes, Routes, RoutesAccepted   int
	AttrSets, DerivedSets, AttrSetRefs int
	Encodings, EncodedBytes            int
	AdjOutEntries, AdjOutBitSets       int
	ChangeList, Pending                int
	TableDumps, Revalidations          int // in progress

	Passes, IdlePasses    uint64
	RoutesWithdrawnOnDown uint64
	RoutesRevalidated     uint64 // routes whose verdict changed in revalidation walks
	RevalidationWalks     uint64
	RevalidationTime      time.Duration

	// Phases is the time spent per loop phase.
	Phases [NumPhases]PhaseHistogram
	// ReadGaps are the stretches of loop work between two chances to serve a waiting
	// looking-glass query.
	ReadGaps PhaseHistogram
}

// Loop phases, the values of the label "type" of ixrs_rib_loop_phase_seconds.
const (
	PhaseControl = iota
	PhaseInbound
	PhaseOutbound
	PhaseBackground
	NumPhases
)

var phaseNames = [NumPhases]string{"control", "inbound", "outbound", "background"}

// PhaseHistogram is a histogram of phase durations.
type PhaseHistogram struct {
	// Bounds are the buckets' upper bounds, ascending; Counts has one more element than Bounds, the
	// last for the observations above every bound. Counts are per bucket, not cumulative.
	Bounds []time.Duration
	Counts []uint64
	Sum    time.Duration
}

// RPKI is the state of the RPKI data sources.
type RPKI struct {
	// Caches are the configured RTR caches; empty when none is configured.
	Caches []Cache
	// VRPs and ASPAs are the counts in the data in force (from caches or a VRP file).
	VRPs4, VRPs6, ASPAs int
}

// Cache is one RTR cache's status.
type Cache struct {
	Name       string // the cache's address as configured; the label "cache"
	Up         bool   // a session with data in sync
	Serial     uint32
	LastUpdate time.Time     // the last End of Data; zero if never
	Expire     time.Duration // the expire interval from the cache (how long its data may be used)
	VRPs4      int
	VRPs6      int
	ASPAs      int
}

// ReloadStats counts configuration reloads.
type ReloadStats struct {
	OK, Failed uint64
	// LastSuccess is when the configuration in force was loaded (start or reload).
	LastSuccess time.Time
	// LastFailed is set when the last reload was refused.
	LastFailed bool
}

// Reloads counts configuration reloads as they happen; safe for concurrent use.
type Reloads struct {
	mu sync.Mutex
	st ReloadStats
}

// NewReloads returns counters for a configuration loaded at start.
func NewReloads(start time.Time) *Reloads {
	return &Reloads{st: ReloadStats{LastSuccess: start}}
}

// Record counts one reload; err is its result.
func (r *Reloads) Record(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		r.st.Failed++
		r.st.LastFailed = true
		return
	}
	r.st.OK++
	r.st.LastFailed = false
	r.st.LastSuccess = time.Now()
}

// Stats returns the counts so far.
func (r *Reloads) Stats() ReloadStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.st
}
