package rs

import (
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ixrs/ixrs/policy"
	"github.com/ixrs/ixrs/speaker"
)

// member is a configured member: one AS with one or more sessions.
type member struct {
	name string
	asn  uint32
	imp  policy.Importer
	irr  *policy.IRR // the member's IRR data in force (SetIRR)
	// maxPrefix applies to each session of the member.
	maxPrefix MaxPrefix
	prof      exportProfile
	sessions  []*Peer
	addrs     []netip.Addr // of all sessions, for the next-hop check
	ids       bitset       // ids of the established sessions (cohort.go)
}

// Peer is the route server's handle on one configured BGP session (one neighbor address of a
// member). It stays valid across flaps. Its methods are safe for concurrent use and never wait for
// the RIB except Receive and RouteRefresh, which block while the session's inbound queue is full:
// that is the backpressure on that member alone.
//
// The session layer calls, in this order per connection: Up when the session is established;
// Receive for each UPDATE and RouteRefresh for each ROUTE-REFRESH, from the reader goroutine;
// Drained from the writer goroutine whenever the output buffer has been written out; Down when
// the session leaves Established.
type Peer struct {
	srv    *Server
	addr   netip.Addr
	member string

	mu      sync.Mutex // serialises Up and Down
	cur     atomic.Pointer[inbox]
	removed atomic.Bool

	// Owned by the RIB loop.
	m          *member
	p          *session // the current incarnation, nil while down
	lastDown   time.Time
	lastReason string
	// Graceful restart (gr.go): incarnations whose routes are kept as stale, oldest first, and the
	// timer that ends them.
	stale  []*session
	grStop func() bool
	grGen  uint64
	// Long-lived graceful restart (llgr.go): the long-lived stale time per family of the
	// incarnation that went down last (0: none), and the timer per family that ends its
	// long-lived stale routes.
	llgrTime [numFams]uint32
	llgrStop [numFams]func() bool
	llgrGen  [numFams]uint64
}

// Addr returns the neighbor address.
func (ss *Peer) Addr() netip.Addr { return ss.addr }

// Member returns the member's name.
func (ss *Peer) Member() string { return ss.member }

// Up announces an established session. The route server starts sending it the full table, then
// End-of-RIB per family. Up does not wait for the RIB loop. An Up without a Down first ends the
// previous incarnation.
func (ss *Peer) Up(out Output, info SessionInfo) error {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.srv.isStopped() {
		return ErrStopped
	}
	if ss.removed.Load() {
		return fmt.Errorf("session %s: %w", ss.addr, ErrUnknownPeer)
	}
	if old := ss.cur.Load(); old != nil {
		// A new connection while the old one was up: the member restarted (RFC 4724 §4.2).
		ss.downLocked(old, "replaced by a new connection", true)
	}
	if info.Encode.MaxMessage < speaker.MaxMessageLen {
		info.Encode.MaxMessage = speaker.MaxMessageLen
	}
	ib := &inbox{
		ss:   ss,
		ch:   make(chan inMsg, ss.srv.cfg.InboundQueue),
		done: make(chan struct{}),
		out:  out,
		info: info,
	}
	ss.cur.Store(ib)
	ss.srv.mail.post(mailEvent{kind: evUp, ib: ib})
	return nil
}

// Down announces that the session left Established. Its routes are withdrawn from every other
// member at once; anything still queued from it is dropped. A Receive blocked on the full queue
// returns ErrNotUp.
func (ss *Peer) Down() { ss.DownWithReason("") }

// DownWithReason is Down with the reason the session ended (the NOTIFICATION sent or received, a
// hold timer expiry, a closed connection), which SessionStatus and the feed's down event report.
func (ss *Peer) DownWithReason(reason string) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ib := ss.cur.Load(); ib != nil {
		ss.downLocked(ib, reason, false)
	}
}

func (ss *Peer) downLocked(ib *inbox, reason string, graceful bool) {
	ss.cur.Store(nil)
	// Read by the RIB loop after it takes the event: the mailbox orders the two.
	ib.reason, ib.graceful = reason, graceful
	close(ib.done)
	ss.srv.mail.post(mailEvent{kind: evDown, ib: ib})
}

// Receive hands a decoded UPDATE to the route server. It blocks while the session's inbound queue
// is full. u must not be modified afterwards.
func (ss *Peer) Receive(u *speaker.Update) error {
	return ss.send(inMsg{u: u})
}

// RouteRefresh asks for the session's routes of family f to be sent again (RFC 2918). Like Receive
// it is queued behind the UPDATEs already received.
func (ss *Peer) RouteRefresh(f speaker.Family) error {
	return ss.send(inMsg{refresh: f})
}

func (ss *Peer) send(m inMsg) error {
	if ss.srv.isStopped() {
		return ErrStopped
	}
	ib := ss.cur.Load()
	if ib == nil {
		return ErrNotUp
	}
	select {
	case ib.ch <- m:
	case <-ib.done:
		return ErrNotUp
	case <-ss.srv.stopped:
		return ErrStopped
	}
	if ib.sched.CompareAndSwap(false, true) {
		ss.srv.mail.post(mailEvent{kind: evReady, ib: ib})
	}
	return nil
}

// Drained tells the route server that the session's output buffer has been written out. It never
// blocks; call it from the writer goroutine.
func (ss *Peer) Drained() {
	ib := ss.cur.Load()
	if ib != nil && ib.drained.CompareAndSwap(false, true) {
		ss.srv.mail.post(mailEvent{kind: evDrained, ib: ib})
	}
}

// inbox is one incarnation's inbound queue: the bounded channel the reader fills and the RIB loop
// drains one message per pass.
type inbox struct {
	ss      *Peer
	ch      chan inMsg
	done    chan struct{} // closed by Down
	sched   atomic.Bool   // the RIB loop knows this inbox may hold messages
	drained atomic.Bool   // a Drained notification is on its way
	out     Output
	info    SessionInfo
	reason  string // why the session went down, set before evDown is posted
	// graceful: the session ended as a restarting member ends it (DownGraceful); set with reason.
	graceful bool
	p        *session // set by the RIB loop at Up
}

type inMsg struct {
	u       *speaker.Update
	refresh speaker.Family
	rrSub   uint8 // the ROUTE-REFRESH subtype (refresh.go)
}

// session is one incarnation of an established session, owned by the RIB loop.
type session struct {
	id       int    // dense id: index in Server.peers and bit in Adj-RIB-Out bit sets
	inc      uint64 // incarnation: unique per Up in the server's lifetime, named by read cursors
	ss       *Peer
	m        *member
	ib       *inbox
	out      Output
	held     HeldOutput // out, when it holds UPDATEs back (nil otherwise)
	heldNow  bool       // queued to with QueueHeld since the loop last flushed (Server.held)
	opts     speaker.EncodeOptions
	routerID netip.Addr
	addr     netip.Addr
	fams     [numFams]bool
	polSess  policy.Session
	imp      policy.Importer
	since    time.Time

	down    bool // Down processed; the id waits for its Adj-RIB-Out bits to be cleared
	cleared bool // down, and its Adj-RIB-Out bits are cleared
	// stale: down, its routes of staleFams kept as stale on its Peer's stale list (gr.go); the id
	// waits for them to be gone too.
	stale     bool
	staleFams [numFams]bool
	sweeping  [numFams]bool // staleFams being removed by a sweep walk (grsweep.go)
	llgrFams  [numFams]bool // staleFams whose routes are long-lived stale or turning so (llgr.go)
	llgr      bool          // long-lived graceful restart negotiated: may receive LLGR-stale routes
	closed    bool          // Queue failed: nothing more is sent
	throttled bool          // output above the high watermark
	buffered  int           // output bytes waiting, as Queue last said

	// Adj-RIB-In: a slab of the session's routes (see addRoute).
	routes  []*route
	free    []int32
	nroutes int

	received, accepted [numFams]int
	// preferred counts the session's routes that are the first candidate of their prefix
	// (prefixEntry.preferredMoved).
	preferred  [numFams]int
	filteredBy [numFams][ReasonSlots]int // filtered routes by primary reason (status.go)

	// Max-prefix state (maxprefix.go).
	warned, overWarned [numFams]bool
	blocked            [numFams]uint64 // routes ignored under action block
	overLimit          bool            // restart/shutdown triggered: nothing more is taken

	mk    *marker // position in the change list
	mkIdx int
	pass  uint64 // the loop pass that last served it in a cohort
	walk  dumpWalk
	pend  pending
	ap    *addPath // ADD-PATH send (addpath.go), nil without it

	msgsIn, msgsOut, bytesOut, unsendable, refreshes uint64
	// dupAnnounce counts announcements of a prefix with the attributes it already had, dupWithdraw
	// withdrawals of a prefix the session had not announced (BMP statistics types 1 and 2).
	dupAnnounce, dupWithdraw uint64
	eorIn                    [numFams]bool

	// The member's enhanced route refresh in progress (refresh.go): marked routes per family,
	// whether a BoRR is open, and its timer.
	rrStale  [numFams]int
	rrActive [numFams]bool
	rrGen    [numFams]uint64
	rrStop   [numFams]func() bool
}

// working reports whether p still pulls work after this pass: changes behind its marker or a
// table dump in progress.
func (s *Server) working(p *session) bool {
	return s.cl.next(p) != nil || p.walk.active
}
