package rs

import (
	"context"
	"time"
)

// Stats counts every kind of object the RIB holds and the time spent per loop phase (docs/architecture.md,
// choice 6), so that a memory or latency regression shows up as a number.
type Stats struct {
	Members, Sessions, SessionsUp int

	Prefixes       int // prefix entries (with routes, or with Adj-RIB-Out state still to withdraw)
	Routes         int // Adj-RIB-In rows of all sessions
	RoutesAccepted int
	RoutesFiltered int

	AttrSets     int // interned attribute sets
	DerivedSets  int // of which variants sent to some members only (prepend, NO_EXPORT, informational)
	AttrSetRefs  int // references to them (routes, Adj-RIB-Out entries, stripped variants)
	Encodings    int // cached encoded attribute blocks
	EncodedBytes int

	AdjOutEntries int // Adj-RIB-Out entries (prefix × outgoing set)
	AdjOutBitSets int // distinct session sets among them (interned, adjout.go)
	ChangeList    int // prefixes waiting in the change list
	Markers       int // distinct session positions in the change list
	Pending       int // prefixes pending in all sessions (per session: SessionStatus.Pending)
	ClearWalks    int // departed sessions whose Adj-RIB-Out bits are being cleared
	Dumps         int // table dumps in progress
	Reevaluations int // re-evaluation walks in progress or queued (new RPKI or IRR data)
	ReadJobs      int // read jobs and feed replays in progress (read.go)
	Subscribers   int // event feed subscriptions (feed.go)

	Passes, IdlePasses      uint64
	MessagesIn, MessagesOut uint64
	RoutesWithdrawnOnDown   uint64
	DumpsStarted            uint64
	DumpsFinished           uint64
	RoutesReevaluated       uint64 // routes whose verdict changed in re-evaluation walks
	// Cohort pulls: change-list batches reconciled and encoded once for all the caught-up sessions
	// at one position, and the sessions they served (cohort.go).
	CohortPulls, CohortSessions uint64
	// Graceful restart (RFC 4724): routes held stale now, stale routes replaced by the member's
	// next incarnation, swept (End-of-RIB, a timer, a family not kept), and timers that ran out.
	StaleRoutes               int
	StaleReplaced, StaleSwept uint64
	StaleTimersExpired        uint64
	// Long-lived graceful restart (RFC 9494): stale routes made long-lived stale, and long-lived
	// stale timers that ran out.
	LLGRMarked, LLGRTimersExpired uint64
	// Enhanced route refresh (RFC 7313): refreshes sent between BoRR and EoRR, BoRRs received,
	// routes removed at the member's EoRR or when its timer ran out, and timers that ran out.
	RefreshesEnhanced, BoRRReceived    uint64
	RefreshSwept, RefreshTimersExpired uint64

	// Time spent per loop phase since start.
	ControlTime, InboundTime, OutboundTime, BackgroundTime time.Duration
	// PhaseHistogram counts the passes' phases by duration, indexed by PhaseControl .. PhaseBackground.
	PhaseHistogram [NumPhases]PhaseHistogram
	// ReadGaps counts, by duration, the stretches of loop work between two chances to serve a
	// looking-glass query while one waited (readgap.go): the longest is the longest a query waited.
	ReadGaps    PhaseHistogram
	ReadGapTime time.Duration // the stretches' total
	// RevalidationWalks counts the revalidation walks finished, RevalidationTime their wall time
	// from start to end (spread over many passes).
	RevalidationWalks uint64
	RevalidationTime  time.Duration
}

// Stats returns a snapshot of the counters, taken on the RIB loop.
func (s *Server) Stats(ctx context.Context) (Stats, error) {
	var st Stats
	err := s.do(ctx, func() { st = s.snapshot() })
	return st, err
}

func (s *Server) snapshot() Stats {
	st := Stats{
		Members:               len(s.members),
		Sessions:              len(s.sessions),
		Prefixes:              s.prefixes.len(),
		Routes:                s.stats.routes,
		RoutesAccepted:        s.stats.accepted,
		RoutesFiltered:        s.stats.routes - s.stats.accepted,
		AttrSets:              s.sets.len(),
		DerivedSets:           s.sets.derived,
		Reevaluations:         s.revalCount(),
		ReadJobs:              len(s.reads),
		Subscribers:           len(s.feed.subs),
		RoutesReevaluated:     s.stats.routesReevaluated,
		AttrSetRefs:           s.sets.refs,
		Encodings:             s.sets.encoded,
		EncodedBytes:          s.sets.encodedBytes,
		AdjOutEntries:         s.stats.adjOutEntries,
		AdjOutBitSets:         s.bits.n,
		ChangeList:            s.cl.len,
		Markers:               s.cl.markers,
		ClearWalks:            len(s.clearing),
		Passes:                s.stats.passes,
		IdlePasses:            s.stats.idle,
		MessagesIn:            s.stats.msgsIn,
		MessagesOut:           s.stats.msgsOut,
		RoutesWithdrawnOnDown: s.stats.routesWithdrawnOnDown,
		StaleReplaced:         s.stats.staleReplaced,
		StaleSwept:            s.stats.staleSwept,
		StaleTimersExpired:    s.stats.staleExpired,
		LLGRMarked:            s.stats.llgrMarked,
		LLGRTimersExpired:     s.stats.llgrExpired,
		RefreshesEnhanced:     s.stats.borrOut,
		BoRRReceived:          s.stats.borrIn,
		RefreshSwept:          s.stats.refreshSwept,
		RefreshTimersExpired:  s.stats.refreshExpired,
		DumpsStarted:          s.stats.dumpsStarted,
		DumpsFinished:         s.stats.dumpsFinished,
		CohortPulls:           s.stats.cohortPulls,
		CohortSessions:        s.stats.cohortSessions,
		ControlTime:           time.Duration(s.stats.ctlNanos),
		InboundTime:           time.Duration(s.stats.inNanos),
		OutboundTime:          time.Duration(s.stats.outNanos),
		BackgroundTime:        time.Duration(s.stats.bgNanos),
		PhaseHistogram:        s.stats.phases,
		ReadGaps:              s.stats.readGaps,
		ReadGapTime:           time.Duration(s.stats.readGapNanos),
		RevalidationWalks:     s.stats.revalWalks,
		RevalidationTime:      time.Duration(s.stats.revalNanos),
	}
	for _, p := range s.peers {
		if p != nil && p.stale {
			st.StaleRoutes += p.nroutes
		}
		if p == nil || p.down {
			continue
		}
		st.SessionsUp++
		st.Pending += p.pend.n
		if p.walk.active {
			st.Dumps++
		}
	}
	return st
}
