package speaker

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// PeerConfig configures one BGP neighbor.
type PeerConfig struct {
	Name   string // for logs (the member's name at a route server)
	PeerAS uint32 // the AS the neighbor must announce in its OPEN; required unless AcceptAS is set
	// AcceptAS, when PeerAS is 0, decides whether the AS a neighbor announces in its OPEN is
	// acceptable (a neighbor known only by its address range); false refuses the OPEN with Bad Peer
	// AS. It runs on the peer's goroutine and must not block.
	AcceptAS     func(asn uint32) bool
	PeerAddr     netip.Addr    // required
	PeerPort     uint16        // port to connect to; default 179
	LocalAddr    netip.Addr    // source address for outgoing connections; unset = chosen by the kernel
	LocalAS      uint32        // default: the speaker's AS
	RouterID     netip.Addr    // default: the speaker's router ID
	HoldTime     time.Duration // offered in OPEN: 0, or at least 3 s; default 90 s (use NoHoldTime for 0)
	NoHoldTime   bool          // offer hold time 0 (no keepalives)
	ConnectRetry time.Duration // default 30 s
	Passive      bool          // never connect; wait for the neighbor
	Families     []Family      // default IPv4 and IPv6 unicast
	MD5Password  string        // RFC 2385 TCP MD5 signature, if set
	TTLSecurity  bool          // RFC 5082 GTSM: send with TTL 255, accept only TTL 255 (directly connected)
	// NoFourOctetAS leaves out the four-octet AS capability, as an old (RFC 4271-only) speaker would.
	NoFourOctetAS bool
	// NoExtendedMessage leaves out the RFC 8654 capability.
	NoExtendedMessage bool
	// EnhancedRouteRefresh advertises RFC 7313. The speaker passes BoRR/EoRR (RouteRefresh.Subtype 1 and
	// 2) to the handler either way; advertise it only if the handler purges stale routes after an EoRR
	// and brackets its own re-advertisements with BoRR/EoRR.
	EnhancedRouteRefresh bool
	// Role, when HasRole, is advertised in the BGP Role capability (RFC 9234); with StrictRole a neighbor
	// that does not advertise a role is refused with NOTIFICATION 2/11.
	HasRole    bool
	Role       uint8
	StrictRole bool
	// GracefulRestart, when set, is advertised (RFC 4724 §3). A helper that never restarts itself
	// with its forwarding state kept lists no families and leaves RestartState unset. With it, a new
	// connection from a neighbor that advertised the capability too, arriving while the session is
	// Established, is the neighbor restarting (RFC 4724 §4.2): the old session goes down with
	// ErrPeerRestarted and the new connection is taken.
	GracefulRestart *GracefulRestart
	// AddPathSend lists the families (of Families) for which ADD-PATH send is advertised (RFC 7911
	// §4); receive is never advertised. Peer.AddPathSend says which the neighbor accepted.
	AddPathSend []Family
	// LongLivedGR, when not nil and GracefulRestart is set, is advertised as the long-lived
	// graceful-restart capability (RFC 9494 §3).
	LongLivedGR []LLGRFamily
	Logger      *slog.Logger
	// OnMessage, when set, sees every message received, whole (header included), before it is handled:
	// for monitoring (BMP pre-policy route monitoring) and capture. It runs on the reader goroutine;
	// msg aliases the read buffer and is valid only during the call.
	OnMessage func(p *Peer, msg []byte)
}

// Handler receives a peer's events. Established, Notification and Down are called from the peer's own
// goroutine and must return quickly; Update and RouteRefresh are called from the connection's reader
// goroutine and may block, which stops reading from this neighbor (TCP then pushes back on it alone) while
// its keepalives and hold timer keep running.
type Handler interface {
	// Established is called when the session reaches Established, with the neighbor's OPEN.
	Established(p *Peer, remote *Open)
	// Update is called for every UPDATE received in Established. err is non-nil when RFC 7606 handling
	// applied (attribute discard, or treat-as-withdraw with u already converted to withdrawals).
	Update(p *Peer, u *Update, err *UpdateError)
	// RouteRefresh is called for a ROUTE-REFRESH received in Established.
	RouteRefresh(p *Peer, rr RouteRefresh)
	// Notification is called for every NOTIFICATION sent (sent=true) or received.
	Notification(p *Peer, n Notification, sent bool)
	// Down is called when the session leaves Established; err says why.
	Down(p *Peer, err error)
}

// Drainer is an optional Handler method: Drained is called on the writer goroutine each time the output
// buffer filled by Queue has been written out completely. It must not block.
type Drainer interface {
	Drained(p *Peer)
}

// Errors the Peer API returns.
var (
	ErrNotEstablished = errors.New("session not established")
	ErrPeerClosed     = errors.New("peer removed")
	// ErrPeerRestarted ends an Established session when the neighbor, which negotiated graceful
	// restart, connects again (RFC 4724 §4.2).
	ErrPeerRestarted = errors.New("neighbor restarted: new connection while established")
)

// SessionError says why a session went down.
type SessionError struct {
	Notification *Notification // the NOTIFICATION sent or received, if any
	Sent         bool          // whether this side sent it
	Err          error         // an I/O or other error, if no NOTIFICATION was exchanged
}

func (e *SessionError) Error() string {
	switch {
	case e.Notification != nil && e.Sent:
		return "sent NOTIFICATION " + e.Notification.String()
	case e.Notification != nil:
		return "received NOTIFICATION " + e.Notification.String()
	case e.Err != nil:
		return e.Err.Error()
	}
	return "session closed"
}

func (e *SessionError) Unwrap() error { return e.Err }

// EndedWithoutNotification reports whether err, as Handler.Down gets it, says the session ended
// without a NOTIFICATION sent or received: the TCP connection failed or closed, or the neighbor
// connected again. Only such an end lets a graceful-restart helper keep the neighbor's routes
// (RFC 4724 §4.2).
func EndedWithoutNotification(err error) bool {
	var se *SessionError
	return errors.As(err, &se) && se.Notification == nil
}

// Counters are a peer's message (or byte) counters, indexed by message type (MsgOpen .. MsgRouteRefresh).
type Counters struct {
	Received [6]uint64
	Sent     [6]uint64
}

// PeerStats is a snapshot of a peer's state for monitoring.
type PeerStats struct {
	State         State
	Established   time.Time // when the session last reached Established (zero if never)
	Flaps         uint64    // transitions out of Established
	LastError     string    // why the session last went down
	Remote        *Open     // the neighbor's OPEN of the current or last session
	Messages      Counters
	Bytes         Counters // whole messages, header included
	OutputPending int      // bytes queued, not yet written
	// OutputPendingSince is when the UPDATE output last went from empty to non-empty; meaningful
	// only while OutputPending > 0. A member that stops reading shows an ever older time.
	OutputPendingSince time.Time
	// LastSent and LastReceived are the last NOTIFICATIONs sent and received (Code 0: none).
	LastSent, LastReceived Notification
	// Notifications counts the NOTIFICATIONs sent and received by code and subcode, at most
	// maxNotificationKinds kinds; further kinds are counted as code 0, subcode 0.
	Notifications []NotificationCount
}

// NotificationCount is how many NOTIFICATIONs of one code and subcode a peer sent or received.
type NotificationCount struct {
	Code, Subcode uint8
	Sent          bool
	N             uint64
}

// maxNotificationKinds bounds PeerStats.Notifications: a neighbor cannot grow it by sending
// NOTIFICATIONs with ever new codes.
const maxNotificationKinds = 32

// Peer is a BGP neighbor. The *Peer handle stays the same across connections and collisions: whichever
// TCP connection wins, the caller keeps talking to the same Peer.
type Peer struct {
	cfg PeerConfig
	sp  *Speaker
	h   Handler
	log *slog.Logger

	events chan event
	quit   chan struct{} // closed by Remove
	done   chan struct{} // closed when the peer goroutine has exited

	// Owned by the peer goroutine.
	primary   *session // the session that dials and restarts; never nil while running
	secondary *session // a second connection during collision resolution, or nil
	idleHold  time.Duration
	idleTimer *time.Timer
	idleGen   uint64 // drops idle-hold expiries scheduled before a Start, Stop or newer schedule
	stopped   bool   // manually stopped: no automatic restart, incoming connections refused

	mu        sync.Mutex // guards the fields below, read by API callers
	est       *session
	state     State
	estTime   time.Time
	flaps     uint64
	lastErr   string
	remote    *Open
	openSent  []byte // the OPENs of the current or last established session, whole messages
	openRecv  []byte
	connLocal netip.AddrPort // the TCP endpoints of the current or last established session
	connPeer  netip.AddrPort
	msgs      [2][6]atomic.Uint64 // [0] received, [1] sent
	bytes     [2][6]atomic.Uint64 // [0] received, [1] sent
	lastNote  [2]Notification     // [0] received, [1] sent
	notes     []NotificationCount
	closeOnce sync.Once

	trace atomic.Pointer[traceHook] // SetTrace; nil when off
}

// event is an input to the peer goroutine. s is the session it concerns (nil for peer-wide events).
type event struct {
	kind   eventKind
	s      *session
	gen    uint64 // timer generation, to drop stale timer events
	n      *Notification
	open   *Open
	raw    []byte   // evOpen: the whole message, header included, owned by the event
	conn   net.Conn // evIncoming, evDialed: the new connection
	connID uint64   // events from a reader: the connection it serves
	err    error
	ack    chan struct{} // closed when processed; readers wait on it to keep messages in order
	fn     func()        // evFunc: run on the peer goroutine
}

// Peer-goroutine-only event kinds, beyond the FSM's.
const (
	evIncoming eventKind = 100 + iota // an accepted connection (conn set)
	evDialed                          // an outgoing connection finished (conn or err set)
	evIdleHoldExpired
	evFunc
)

func newPeer(sp *Speaker, cfg PeerConfig, h Handler) *Peer {
	if cfg.PeerPort == 0 {
		cfg.PeerPort = 179
	}
	if cfg.LocalAS == 0 {
		cfg.LocalAS = sp.cfg.ASN
	}
	if !cfg.RouterID.IsValid() {
		cfg.RouterID = sp.cfg.RouterID
	}
	if cfg.HoldTime == 0 && !cfg.NoHoldTime {
		cfg.HoldTime = 90 * time.Second
	}
	if cfg.NoHoldTime {
		cfg.HoldTime = 0
	}
	if cfg.ConnectRetry == 0 {
		cfg.ConnectRetry = 30 * time.Second
	}
	if len(cfg.Families) == 0 {
		cfg.Families = []Family{IPv4Unicast, IPv6Unicast}
	}
	log := cfg.Logger
	if log == nil {
		log = sp.log
	}
	log = log.With("member", cfg.Name, "asn", cfg.PeerAS, "neighbor", cfg.PeerAddr.String())
	p := &Peer{
		cfg:      cfg,
		sp:       sp,
		h:        h,
		log:      log,
		events:   make(chan event, 16),
		quit:     make(chan struct{}),
		done:     make(chan struct{}),
		idleHold: time.Second,
		state:    StateIdle,
		stopped:  true,
	}
	p.primary = p.newSession(false)
	return p
}

// Config returns the peer's configuration with defaults filled in.
func (p *Peer) Config() PeerConfig { return p.cfg }

// Name returns PeerConfig.Name.
func (p *Peer) Name() string { return p.cfg.Name }

// Addr returns the neighbor's address.
func (p *Peer) Addr() netip.Addr { return p.cfg.PeerAddr }

// State returns the FSM state of the peer's most advanced connection.
func (p *Peer) State() State {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.state
}

// Stats returns a snapshot of the peer's state and counters.
func (p *Peer) Stats() PeerStats {
	p.mu.Lock()
	st := PeerStats{State: p.state, Established: p.estTime, Flaps: p.flaps, LastError: p.lastErr, Remote: p.remote,
		LastReceived: p.lastNote[0], LastSent: p.lastNote[1]}
	if len(p.notes) > 0 {
		st.Notifications = append([]NotificationCount(nil), p.notes...)
	}
	est := p.est
	p.mu.Unlock()
	for i := range 6 {
		st.Messages.Received[i] = p.msgs[0][i].Load()
		st.Messages.Sent[i] = p.msgs[1][i].Load()
		st.Bytes.Received[i] = p.bytes[0][i].Load()
		st.Bytes.Sent[i] = p.bytes[1][i].Load()
	}
	if est != nil {
		st.OutputPending = int(est.w.pending.Load())
		if st.OutputPending > 0 {
			st.OutputPendingSince = time.Unix(0, est.w.pendingSince.Load())
		}
	}
	return st
}

// OpenMessages returns copies of the OPEN messages (header included) this speaker sent and received on
// the established session, or on the last one after it went down: what BMP's Peer Up Notification
// carries. Both are nil before the first session is established.
func (p *Peer) OpenMessages() (sent, received []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return bytes.Clone(p.openSent), bytes.Clone(p.openRecv)
}

// ConnAddrs returns the local and remote TCP endpoints of the established session, or of the last
// one after it went down: what BMP's Peer Up Notification and MRT's BGP4MP records carry. Both are
// zero before the first session is established. Addresses are unmapped (an IPv4 session over an
// IPv6 socket gives IPv4 addresses).
func (p *Peer) ConnAddrs() (local, remote netip.AddrPort) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.connLocal, p.connPeer
}

// connAddrs returns c's endpoints, zero where they are not TCP addresses (a test's net.Pipe).
func connAddrs(c net.Conn) (local, remote netip.AddrPort) {
	if c == nil {
		return
	}
	unmap := func(a net.Addr) netip.AddrPort {
		if t, ok := a.(*net.TCPAddr); ok {
			ap := t.AddrPort()
			return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
		}
		return netip.AddrPort{}
	}
	return unmap(c.LocalAddr()), unmap(c.RemoteAddr())
}

// EncodeOptions returns how UPDATEs must be encoded for the established session. ok is false when the
// session is not established.
func (p *Peer) EncodeOptions() (opt EncodeOptions, ok bool) {
	s := p.established()
	if s == nil {
		return EncodeOptions{FourOctetAS: !p.cfg.NoFourOctetAS, MaxMessage: MaxMessageLen}, false
	}
	return s.encOpts, true
}

// Families returns the families negotiated on the established session.
func (p *Peer) Families() []Family {
	if s := p.established(); s != nil {
		return s.families
	}
	return nil
}

func (p *Peer) established() *session {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.est
}

// Queue appends complete encoded messages to the established session's output buffer without blocking and
// returns the number of bytes now waiting to be written. The writer sends them in order, interleaved only
// with KEEPALIVEs at message boundaries.
func (p *Peer) Queue(msgs []byte) (int, error) {
	s := p.established()
	if s == nil {
		return 0, ErrNotEstablished
	}
	return s.w.queue(msgs, MsgUpdate, false)
}

// QueueHeld is Queue for a producer that hands over a burst in pieces: the UPDATEs wait until
// Flush, until 32 KiB are queued or until 5 ms have passed since the previous write (or since the
// first of them, after a quiet time), so that the burst leaves in fewer, larger writes. Queue and
// Flush release what is held.
func (p *Peer) QueueHeld(msgs []byte) (int, error) {
	s := p.established()
	if s == nil {
		return 0, ErrNotEstablished
	}
	return s.w.queue(msgs, MsgUpdate, true)
}

// Flush has the UPDATEs queued with QueueHeld written now.
func (p *Peer) Flush() {
	if s := p.established(); s != nil {
		s.w.flushHeld()
	}
}

// Announce sends prefixes with attributes a, packed into as few UPDATEs as the session's maximum message
// size allows. Prefixes of both families may be mixed.
func (p *Peer) Announce(a *Attrs, prefixes ...netip.Prefix) error {
	s := p.established()
	if s == nil {
		return ErrNotEstablished
	}
	var buf []byte
	for _, f := range []Family{IPv4Unicast, IPv6Unicast} {
		ps := prefixesOf(prefixes, f)
		if len(ps) == 0 {
			continue
		}
		block := AppendAttrs(nil, a, f, s.encOpts)
		nh := a.MPNextHop
		for len(ps) > 0 {
			var n int
			buf, n = AppendAnnounce(buf, f, block, nh, a.MPLinkLocal, ps, s.encOpts.MaxMessage)
			if n == 0 {
				return fmt.Errorf("announce %s: attributes too large for a %d-byte message", ps[0], s.encOpts.MaxMessage)
			}
			ps = ps[n:]
		}
	}
	_, err := s.w.queue(buf, MsgUpdate, false)
	return err
}

// Withdraw withdraws prefixes (both families may be mixed).
func (p *Peer) Withdraw(prefixes ...netip.Prefix) error {
	s := p.established()
	if s == nil {
		return ErrNotEstablished
	}
	var buf []byte
	for _, f := range []Family{IPv4Unicast, IPv6Unicast} {
		ps := prefixesOf(prefixes, f)
		for len(ps) > 0 {
			var n int
			buf, n = AppendWithdraw(buf, f, ps, s.encOpts.MaxMessage)
			ps = ps[n:]
		}
	}
	_, err := s.w.queue(buf, MsgUpdate, false)
	return err
}

// SendEndOfRIB sends the End-of-RIB marker for f (RFC 4724 §2).
func (p *Peer) SendEndOfRIB(f Family) error {
	s := p.established()
	if s == nil {
		return ErrNotEstablished
	}
	_, err := s.w.queue(AppendEndOfRIB(nil, f), MsgUpdate, false)
	return err
}

// SendRouteRefresh asks the neighbor to send its routes of family f again (RFC 2918).
func (p *Peer) SendRouteRefresh(f Family) error {
	s := p.established()
	if s == nil {
		return ErrNotEstablished
	}
	_, err := s.w.queue(EncodeRouteRefresh(RouteRefresh{Family: f}), MsgRouteRefresh, false)
	return err
}

func prefixesOf(ps []netip.Prefix, f Family) []netip.Prefix {
	var out []netip.Prefix
	for _, p := range ps {
		if FamilyOf(p) == f {
			out = append(out, p)
		}
	}
	return out
}

// Start starts the peer: it connects (unless passive) and accepts the neighbor's connections.
func (p *Peer) Start() { p.post(event{kind: evStart}) }

// Stop closes the session with n (default: Cease/Administrative Shutdown) and stays down until Start.
// Use AdminShutdown to build a NOTIFICATION carrying an RFC 9003 shutdown communication.
func (p *Peer) Stop(n *Notification) { p.post(event{kind: evStop, n: n}) }

// StopWait is Stop that returns once the peer goroutine has acted on it (or the peer is gone), so
// that a RemovePeer right after it ends the session with n rather than with Peer De-configured.
func (p *Peer) StopWait(n *Notification) {
	ev := event{kind: evStop, n: n, ack: make(chan struct{})}
	if !p.post(ev) {
		return
	}
	select {
	case <-ev.ack:
	case <-p.done:
	}
}

// post hands an event to the peer goroutine; it gives up when the peer has been removed.
func (p *Peer) post(ev event) bool {
	select {
	case p.events <- ev:
		return true
	case <-p.done:
		return false
	}
}

// run is the peer goroutine: it owns the sessions, their FSMs and timers.
func (p *Peer) run() {
	defer close(p.done)
	for {
		select {
		case ev := <-p.events:
			p.handle(ev)
			if ev.ack != nil {
				close(ev.ack)
			}
		case <-p.quit:
			n := &Notification{Code: ErrCease, Subcode: SubPeerDeconfigured}
			for _, s := range []*session{p.primary, p.secondary} {
				if s != nil && s.conn != nil {
					p.step(s, evStop, n)
				}
			}
			p.stopTimers()
			p.drainEvents()
			return
		}
	}
}

// drainEvents closes connections left in the queue after the peer is removed, and releases waiters.
func (p *Peer) drainEvents() {
	for {
		select {
		case ev := <-p.events:
			if ev.conn != nil {
				ev.conn.Close()
			}
			if ev.ack != nil {
				close(ev.ack)
			}
		default:
			return
		}
	}
}

func (p *Peer) stopTimers() {
	if p.idleTimer != nil {
		p.idleTimer.Stop()
	}
	for _, s := range []*session{p.primary, p.secondary} {
		if s != nil {
			s.stopTimers()
		}
	}
}

// handle dispatches one event on the peer goroutine.
func (p *Peer) handle(ev event) {
	switch ev.kind {
	case evFunc:
		ev.fn()
		return
	case evStart:
		p.stopped = false
		p.idleHold = time.Second
		p.idleGen++
		if p.primary.fsm.state == StateIdle {
			p.step(p.primary, evStart, nil)
		}
		return
	case evStop:
		p.stopped = true
		p.idleGen++
		if p.idleTimer != nil {
			p.idleTimer.Stop()
		}
		if p.secondary != nil {
			p.step(p.secondary, evStop, ev.n)
		}
		p.step(p.primary, evStop, ev.n)
		return
	case evIdleHoldExpired:
		if ev.gen == p.idleGen && !p.stopped && p.primary.fsm.state == StateIdle {
			p.step(p.primary, evStart, nil)
		}
		return
	case evIncoming:
		p.incoming(ev.conn)
		return
	}

	s := ev.s
	if s != p.primary && s != p.secondary {
		// A late event for a connection already given up.
		if ev.conn != nil {
			ev.conn.Close()
		}
		return
	}
	if ev.connID != 0 && (ev.connID != s.connID || s.conn == nil) {
		return // from the reader of a connection already dropped
	}
	switch ev.kind {
	case evDialed:
		p.dialed(s, ev)
	case evConnectRetryExpired, evHoldExpired, evKeepaliveExpired:
		if !s.timerCurrent(ev.kind, ev.gen) {
			return
		}
		if ev.kind == evHoldExpired && s.holdStillAlive() {
			return
		}
		p.step(s, ev.kind, nil)
	case evOpen:
		p.receivedOpen(s, ev.open, ev.raw)
	case evNotification:
		p.log.Warn("received NOTIFICATION", "notification", ev.n.String(), "state", s.fsm.state.String())
		s.downErr = &SessionError{Notification: ev.n}
		p.countNotification(*ev.n, false)
		p.h.Notification(p, *ev.n, false)
		p.step(s, evNotification, nil)
	case evTCPFailed:
		if s.downErr == nil {
			s.downErr = &SessionError{Err: ev.err}
		}
		p.step(s, evTCPFailed, nil)
	default:
		p.step(s, ev.kind, ev.n)
	}
}

// step feeds one event to a session's FSM and carries out the actions. The new state is published
// before the actions run, so that the handler calls they make (Established, Down) see it.
func (p *Peer) step(s *session, ev eventKind, n *Notification) {
	from := s.fsm.state
	acts := s.fsm.handle(ev, n)
	to := s.fsm.state
	if to != from {
		s.state.Store(uint32(to))
		p.updateState()
	}
	for _, a := range acts {
		p.act(s, a, from)
	}
	if to != from {
		p.log.Debug("fsm", "event", ev.String(), "from", from.String(), "to", to.String(), "outgoing", s.outgoing)
		if to == StateIdle {
			p.sessionIdle(s)
			p.updateState()
		}
	}
}

// sessionIdle cleans up after a session returned to Idle: a secondary is discarded, a primary that has a
// live secondary hands over to it.
func (p *Peer) sessionIdle(s *session) {
	s.stopTimers()
	if s == p.secondary {
		p.secondary = nil
		return
	}
	if p.secondary != nil {
		p.primary, p.secondary = p.secondary, nil
		return
	}
	// The primary is reset for the next attempt: a fresh session, same FSM settings.
	fresh := p.newSession(false)
	fresh.fsm.state = StateIdle
	p.primary = fresh
}

// updateState publishes the state of the most advanced session.
func (p *Peer) updateState() {
	st := p.primary.fsm.state
	if p.secondary != nil && p.secondary.fsm.state > st {
		st = p.secondary.fsm.state
	}
	p.mu.Lock()
	p.state = st
	p.mu.Unlock()
}

// act carries out one FSM action; from is the state the event arrived in.
func (p *Peer) act(s *session, a action, from State) {
	switch a.kind {
	case actConnect:
		p.dial(s)
	case actDropConn:
		s.drop()
	case actSendOpen:
		s.openSent = EncodeOpen(p.localOpen())
		s.w.queue(s.openSent, MsgOpen, false)
	case actSendKeepalive:
		s.w.queue(EncodeKeepalive(), MsgKeepalive, false)
	case actSendNotification:
		if s.conn == nil {
			return
		}
		s.w.queue(EncodeNotification(*a.n), MsgNotification, false)
		s.downErr = &SessionError{Notification: a.n, Sent: true}
		lvl := slog.LevelWarn
		if a.n.Code == ErrCease {
			lvl = slog.LevelInfo
		}
		p.log.Log(context.Background(), lvl, "sent NOTIFICATION", "notification", a.n.String(), "state", from.String())
		p.countNotification(*a.n, true)
		p.h.Notification(p, *a.n, true)
	case actStartConnectRetry:
		s.startTimer(evConnectRetryExpired, p.cfg.ConnectRetry)
	case actStopConnectRetry:
		s.startTimer(evConnectRetryExpired, 0)
	case actStartHold:
		s.holdDur = a.d
		s.startTimer(evHoldExpired, a.d)
	case actStartKeepalive:
		s.startTimer(evKeepaliveExpired, a.d)
	case actEstablished:
		p.established1(s)
	case actDown:
		p.down(s)
	case actIdleHold:
		if p.stopped || (s == p.secondary) || (s == p.primary && p.secondary != nil) {
			return
		}
		d := p.idleHold
		if p.idleHold < p.cfg.ConnectRetry {
			p.idleHold *= 2
		}
		p.idleGen++
		gen := p.idleGen
		p.idleTimer = time.AfterFunc(d, func() { p.post(event{kind: evIdleHoldExpired, gen: gen}) })
	}
}

// countNotification records a NOTIFICATION for PeerStats.
func (p *Peer) countNotification(n Notification, sent bool) {
	i := 0
	if sent {
		i = 1
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.lastNote[i] = Notification{Code: n.Code, Subcode: n.Subcode, Data: bytes.Clone(n.Data)}
	for _, k := range [2]NotificationCount{{Code: n.Code, Subcode: n.Subcode, Sent: sent}, {Sent: sent}} {
		for j := range p.notes {
			if c := &p.notes[j]; c.Code == k.Code && c.Subcode == k.Subcode && c.Sent == sent {
				c.N++
				return
			}
		}
		if len(p.notes) < maxNotificationKinds-2 || k.Code == 0 && k.Subcode == 0 {
			k.N = 1
			p.notes = append(p.notes, k)
			return
		}
	}
}

func (p *Peer) established1(s *session) {
	now := time.Now()
	p.mu.Lock()
	p.est = s
	p.estTime = now
	p.remote = s.remote
	p.openSent, p.openRecv = s.openSent, s.openRecv
	p.connLocal, p.connPeer = connAddrs(s.conn)
	p.mu.Unlock()
	p.idleHold = time.Second
	s.downErr = nil
	p.log.Info("session established", "remote_id", s.remote.RouterID.String(), "hold_time", s.fsm.hold.String(),
		"four_octet_as", s.encOpts.FourOctetAS, "extended_message", s.encOpts.MaxMessage > MaxMessageLen,
		"families", fmt.Sprint(s.families), "outgoing", s.outgoing)
	p.h.Established(p, s.remote)
}

func (p *Peer) down(s *session) {
	err := s.downErr
	if err == nil {
		err = &SessionError{Err: errors.New("session closed")}
	}
	p.mu.Lock()
	if p.est == s {
		p.est = nil
	}
	p.flaps++
	p.lastErr = err.Error()
	p.mu.Unlock()
	p.log.Warn("session down", "reason", err.Error())
	p.h.Down(p, err)
}

// localOpen builds the OPEN this speaker sends.
func (p *Peer) localOpen() *Open {
	o := &Open{Version: 4, HoldTime: uint16(p.cfg.HoldTime / time.Second), RouterID: p.cfg.RouterID}
	o.MyAS = uint16(p.cfg.LocalAS)
	if p.cfg.LocalAS > 0xffff {
		o.MyAS = ASTrans
	}
	o.Caps.Families = p.cfg.Families
	o.Caps.RouteRefresh = true
	o.Caps.EnhancedRouteRefresh = p.cfg.EnhancedRouteRefresh
	if !p.cfg.NoFourOctetAS {
		o.Caps.FourOctetAS = true
		o.Caps.AS4 = p.cfg.LocalAS
	}
	o.Caps.ExtendedMessage = !p.cfg.NoExtendedMessage
	if p.cfg.HasRole {
		o.Caps.HasRole = true
		o.Caps.Role = p.cfg.Role
	}
	o.Caps.GracefulRestart = p.cfg.GracefulRestart
	for _, f := range p.cfg.AddPathSend {
		if slices.Contains(p.cfg.Families, f) {
			if o.Caps.AddPath == nil {
				o.Caps.AddPath = make(map[Family]uint8, len(p.cfg.AddPathSend))
			}
			o.Caps.AddPath[f] = AddPathSend
		}
	}
	if p.cfg.GracefulRestart != nil {
		o.Caps.LongLivedGR = p.cfg.LongLivedGR
	}
	return o
}

// LongLivedGR returns the neighbor's long-lived graceful-restart capability of the current (or
// last) session when both sides advertised it and graceful restart was negotiated too, nil
// otherwise (RFC 9494 §3: the capability counts only alongside graceful restart).
func (p *Peer) LongLivedGR() []LLGRFamily {
	p.mu.Lock()
	defer p.mu.Unlock()
	if negotiatedGR(p.cfg.GracefulRestart, p.remote) == nil || p.cfg.LongLivedGR == nil {
		return nil
	}
	return p.remote.Caps.LongLivedGR
}

// GracefulRestart returns the neighbor's graceful-restart capability of the current (or last)
// session when both sides advertised one, nil otherwise: what a helper keeps of the neighbor's
// routes, and for how long, when the session ends without a NOTIFICATION.
func (p *Peer) GracefulRestart() *GracefulRestart {
	p.mu.Lock()
	defer p.mu.Unlock()
	return negotiatedGR(p.cfg.GracefulRestart, p.remote)
}

func negotiatedGR(local *GracefulRestart, remote *Open) *GracefulRestart {
	if local == nil || remote == nil {
		return nil
	}
	return remote.Caps.GracefulRestart
}

// receivedOpen validates the neighbor's OPEN, negotiates, resolves a collision and feeds the FSM.
func (p *Peer) receivedOpen(s *session, o *Open, raw []byte) {
	if s.fsm.state != StateOpenSent {
		p.step(s, evOpen, nil) // the FSM turns it into the right FSM error
		return
	}
	if n := p.checkOpen(o); n != nil {
		p.log.Warn("refused OPEN", "notification", n.String(), "remote_as", o.ASN(), "remote_id", o.RouterID.String())
		p.step(s, evOpenErr, n)
		return
	}
	// Collision detection (RFC 4271 §6.8): both connections are from the same neighbor, so this OPEN's
	// BGP Identifier is the one the other connection will carry too.
	if other := p.otherSession(s); other != nil && other.conn != nil {
		collision := &Notification{Code: ErrCease, Subcode: SubCollision}
		if other.fsm.state == StateEstablished {
			p.log.Info("connection collision with an established session: closing the new connection")
			p.step(s, evStop, collision)
			return
		}
		if other.fsm.state >= StateOpenSent {
			keepOutgoing := p.cfg.RouterID.Compare(o.RouterID) > 0
			loser := s
			if s.outgoing != keepOutgoing {
				loser = s
			} else {
				loser = other
			}
			p.log.Info("connection collision", "local_id", p.cfg.RouterID.String(), "remote_id", o.RouterID.String(),
				"keep", map[bool]string{true: "outgoing", false: "incoming"}[keepOutgoing])
			p.step(loser, evStop, collision)
			if loser == s {
				return
			}
		}
	}
	s.negotiate(o)
	s.openRecv = raw
	p.step(s, evOpen, nil)
}

func (p *Peer) otherSession(s *session) *session {
	if s == p.primary {
		return p.secondary
	}
	return p.primary
}

// checkOpen applies RFC 4271 §6.2 and the capability requirements to the neighbor's OPEN.
func (p *Peer) checkOpen(o *Open) *Notification {
	if n := ValidateOpen(o, p.cfg.PeerAS, p.cfg.RouterID); n != nil {
		return n
	}
	if p.cfg.PeerAS == 0 && !p.cfg.AcceptAS(o.ASN()) {
		return &Notification{Code: ErrOpen, Subcode: SubBadPeerAS}
	}
	if len(negotiatedFamilies(p.cfg.Families, o)) == 0 {
		// RFC 5492 §5: data = the capabilities we require.
		var data []byte
		for _, f := range p.cfg.Families {
			data = append(data, CapMultiprotocol, 4, byte(f.AFI()>>8), byte(f.AFI()), 0, f.SAFI())
		}
		return &Notification{Code: ErrOpen, Subcode: SubUnsupportedCapability, Data: data}
	}
	if p.cfg.HasRole && o.Caps.HasRole && !rolesMatch(p.cfg.Role, o.Caps.Role) {
		return &Notification{Code: ErrOpen, Subcode: SubRoleMismatch}
	}
	if p.cfg.HasRole && p.cfg.StrictRole && !o.Caps.HasRole {
		return &Notification{Code: ErrOpen, Subcode: SubRoleMismatch}
	}
	return nil
}

// rolesMatch reports whether two BGP roles are a valid pair (RFC 9234 §4.2, Table 2).
func rolesMatch(local, remote uint8) bool {
	switch local {
	case RoleProvider:
		return remote == RoleCustomer
	case RoleCustomer:
		return remote == RoleProvider
	case RoleRS:
		return remote == RoleRSClient
	case RoleRSClient:
		return remote == RoleRS
	case RolePeer:
		return remote == RolePeer
	}
	return false
}

// negotiatedFamilies intersects our families with the neighbor's; a neighbor without multiprotocol
// capabilities speaks IPv4 unicast only (RFC 4760 §8).
func negotiatedFamilies(ours []Family, o *Open) []Family {
	theirs := o.Caps.Families
	if len(theirs) == 0 {
		theirs = []Family{IPv4Unicast}
	}
	var out []Family
	for _, f := range ours {
		for _, g := range theirs {
			if f == g {
				out = append(out, f)
				break
			}
		}
	}
	return out
}

// incoming takes an accepted connection from the neighbor.
func (p *Peer) incoming(conn net.Conn) {
	if p.stopped {
		p.log.Info("refused connection: peer is administratively down", "remote", conn.RemoteAddr().String())
		rejectConn(conn, Notification{Code: ErrCease, Subcode: SubConnectionRejected})
		return
	}
	prim := p.primary
	switch prim.fsm.state {
	case StateIdle:
		// During the idle hold: the neighbor is back, so start now rather than refuse it.
		if p.idleTimer != nil {
			p.idleTimer.Stop()
		}
		p.step(prim, evStart, nil)
		fallthrough
	case StateConnect, StateActive:
		prim.cancelDial()
		prim.attach(conn, false)
		p.step(prim, evTCPConnected, nil)
	case StateOpenSent, StateOpenConfirm:
		if p.secondary != nil {
			p.log.Info("refused connection: two connections already in progress")
			rejectConn(conn, Notification{Code: ErrCease, Subcode: SubConnectionRejected})
			return
		}
		s := p.newSession(false)
		s.fsm.state = StateActive
		p.secondary = s
		s.attach(conn, false)
		p.step(s, evTCPConnected, nil)
	case StateEstablished:
		if negotiatedGR(p.cfg.GracefulRestart, prim.remote) != nil && p.secondary == nil {
			// RFC 4724 §4.2: the neighbor restarted before the old connection was seen to fail.
			// The old session ends without a NOTIFICATION (the neighbor is not listening on it).
			p.log.Info("new connection while established: the neighbor restarted", "remote", conn.RemoteAddr().String())
			prim.downErr = &SessionError{Err: ErrPeerRestarted}
			p.step(prim, evTCPFailed, nil)
			if p.primary.fsm.state == StateIdle {
				p.incoming(conn)
				return
			}
		}
		p.log.Info("refused connection: session already established", "remote", conn.RemoteAddr().String())
		rejectConn(conn, Notification{Code: ErrCease, Subcode: SubConnectionRejected})
	}
}

// rejectConn sends a NOTIFICATION on a connection we will not use, and closes it.
func rejectConn(conn net.Conn, n Notification) {
	conn.SetWriteDeadline(time.Now().Add(2 * time.Second))
	conn.Write(EncodeNotification(n))
	conn.Close()
}

// dial starts an outgoing connection in the background; the result comes back as evDialed.
func (p *Peer) dial(s *session) {
	ctx, cancel := context.WithTimeout(context.Background(), p.cfg.ConnectRetry)
	s.cancelDial()
	s.dialCancel = cancel
	go func() {
		defer cancel()
		conn, err := p.sp.dialPeer(ctx, &p.cfg)
		if !p.post(event{kind: evDialed, s: s, conn: conn, err: err}) && conn != nil {
			conn.Close()
		}
	}()
}

func (p *Peer) dialed(s *session, ev event) {
	s.dialCancel = nil
	if ev.err != nil {
		p.log.Debug("connect failed", "err", ev.err.Error())
		if s.fsm.state == StateConnect && s.conn == nil {
			p.step(s, evTCPFailed, nil)
		}
		return
	}
	switch {
	case s.fsm.state == StateConnect && s.conn == nil:
		s.attach(ev.conn, true)
		p.step(s, evTCPConnected, nil)
	case (s.fsm.state == StateOpenSent || s.fsm.state == StateOpenConfirm) && p.secondary == nil:
		// The neighbor connected to us meanwhile: keep both until an OPEN tells which one wins.
		sec := p.newSession(true)
		sec.fsm.state = StateActive
		p.secondary = sec
		sec.attach(ev.conn, true)
		p.step(sec, evTCPConnected, nil)
	default:
		ev.conn.Close()
	}
}

// NopHandler is a Handler that ignores every event; embed it to implement only the methods you need.
type NopHandler struct{}

func (NopHandler) Established(*Peer, *Open)               {}
func (NopHandler) Update(*Peer, *Update, *UpdateError)    {}
func (NopHandler) RouteRefresh(*Peer, RouteRefresh)       {}
func (NopHandler) Notification(*Peer, Notification, bool) {}
func (NopHandler) Down(*Peer, error)                      {}
