package speaker

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"sync/atomic"
	"time"
)

// session is one TCP connection to the neighbor and its FSM. A Peer has one, or two while a connection
// collision is being resolved. Fields without a note are owned by the peer goroutine.
type session struct {
	p        *Peer
	fsm      fsm
	outgoing bool // this side initiated the connection
	conn     net.Conn
	w        *writer

	dialCancel context.CancelFunc

	timers   [3]*time.Timer // connect retry, hold, keepalive
	timerGen [3]uint64
	holdDur  time.Duration // the hold time the timer was last started with; re-arms for a remainder keep it

	remote   *Open
	openSent []byte // the OPEN we sent and the neighbor's, whole messages (Peer.OpenMessages)
	openRecv []byte
	encOpts  EncodeOptions
	decOpts  DecodeOptions
	// addPathSend: the families we send path identifiers for (RFC 7911), set with families.
	addPathSend []Family
	families    []Family
	downErr     *SessionError

	// Shared with the reader goroutine.
	state     atomic.Uint32 // State, mirrored for the reader
	maxLen    atomic.Int32  // largest message accepted: 4096, or 65535 after RFC 8654 negotiation
	lastRecv  atomic.Int64  // unix nanoseconds of the last message received
	inHandler atomic.Bool   // the reader is blocked delivering to the handler: the neighbor is not silent

	connID uint64        // counts attached connections; events from a reader carry the one it serves
	closed chan struct{} // closed by drop; that connection's reader stops waiting on the peer goroutine
}

func (p *Peer) newSession(outgoing bool) *session {
	s := &session{p: p, outgoing: outgoing}
	s.fsm = fsm{state: StateIdle, passive: p.cfg.Passive}
	s.state.Store(uint32(StateIdle))
	s.maxLen.Store(MaxMessageLen)
	return s
}

func timerIndex(k eventKind) int {
	switch k {
	case evConnectRetryExpired:
		return 0
	case evHoldExpired:
		return 1
	}
	return 2
}

// startTimer (re)arms one of the session's timers; d == 0 stops it. Stale expiries are recognised by
// their generation.
func (s *session) startTimer(k eventKind, d time.Duration) {
	i := timerIndex(k)
	if s.timers[i] != nil {
		s.timers[i].Stop()
		s.timers[i] = nil
	}
	s.timerGen[i]++
	if d <= 0 {
		return
	}
	gen := s.timerGen[i]
	s.timers[i] = time.AfterFunc(d, func() { s.p.post(event{kind: k, s: s, gen: gen}) })
}

func (s *session) timerCurrent(k eventKind, gen uint64) bool { return s.timerGen[timerIndex(k)] == gen }

func (s *session) stopTimers() {
	for i, t := range s.timers {
		if t != nil {
			t.Stop()
			s.timers[i] = nil
		}
		s.timerGen[i]++
	}
	s.cancelDial()
}

// holdStillAlive is called when the hold timer fires. Received messages do not reset the timer (the reader
// only records the time), so the check happens here: if the neighbor was heard from within the hold time,
// or the reader is blocked handing a message to the handler (we are the slow side, not the neighbor), the
// timer is re-armed for the remainder.
func (s *session) holdStillAlive() bool {
	if s.holdDur <= 0 {
		return false
	}
	if s.inHandler.Load() {
		s.startTimer(evHoldExpired, s.holdDur)
		return true
	}
	since := time.Since(time.Unix(0, s.lastRecv.Load()))
	if since < s.holdDur {
		s.startTimer(evHoldExpired, s.holdDur-since)
		return true
	}
	return false
}

func (s *session) cancelDial() {
	if s.dialCancel != nil {
		s.dialCancel()
		s.dialCancel = nil
	}
}

// attach gives the session its TCP connection and starts the reader and writer.
func (s *session) attach(conn net.Conn, outgoing bool) {
	s.conn = conn
	s.outgoing = outgoing
	s.connID++
	s.closed = make(chan struct{})
	s.lastRecv.Store(time.Now().UnixNano())
	s.w = newWriter(s.p, conn)
	go s.w.run()
	go s.readLoop(conn, s.connID, s.closed)
}

// drop closes the connection after the writer has flushed queued control messages (a NOTIFICATION).
func (s *session) drop() {
	s.cancelDial()
	if s.conn == nil {
		return
	}
	close(s.closed)
	s.w.close()
	s.conn = nil
}

// negotiate records what both OPENs agreed on.
func (s *session) negotiate(o *Open) {
	cfg := &s.p.cfg
	s.remote = o
	hold := time.Duration(o.HoldTime) * time.Second
	if cfg.HoldTime < hold {
		hold = cfg.HoldTime
	}
	s.fsm.hold = hold
	s.families = negotiatedFamilies(cfg.Families, o)
	s.addPathSend = negotiatedAddPathSend(cfg.AddPathSend, s.families, o)
	four := !cfg.NoFourOctetAS && o.Caps.FourOctetAS
	ext := !cfg.NoExtendedMessage && o.Caps.ExtendedMessage
	s.encOpts = EncodeOptions{FourOctetAS: four, MaxMessage: MaxMessageLen}
	s.decOpts = DecodeOptions{FourOctetAS: four}
	if ext {
		s.encOpts.MaxMessage = MaxExtendedMessage
		s.maxLen.Store(MaxExtendedMessage)
	}
}

// readLoop reads messages until the connection fails. UPDATEs and ROUTE-REFRESHes in Established go
// straight to the handler from here; everything else is handed to the peer goroutine, and the reader waits
// until it has been processed so that a KEEPALIVE completing the handshake is handled before the UPDATE
// behind it.
func (s *session) readLoop(conn net.Conn, id uint64, closed chan struct{}) {
	r := reader{s: s, id: id, closed: closed}
	fr := newFramer(conn, func() int { return int(s.maxLen.Load()) })
	var msgs []message
	for {
		var err error
		msgs, err = r.next(fr, msgs)
		if len(msgs) > 0 {
			s.lastRecv.Store(time.Now().UnixNano())
		}
		for _, m := range msgs {
			if !r.dispatch(m) {
				return
			}
		}
		if err != nil {
			var herr *headerError
			if errors.As(err, &herr) {
				r.toPeer(event{kind: evHeaderErr, n: &herr.n})
				return
			}
			r.toPeer(event{kind: evTCPFailed, err: fmt.Errorf("read: %w", err)})
			return
		}
	}
}

// reader is the reader goroutine's view of the connection it serves.
type reader struct {
	s      *session
	id     uint64
	closed chan struct{}
}

// next frames the messages now buffered. The framer runs under recover() because it reads the
// neighbor's bytes: a panic in it (a bug) ends this session with Message Header Error/Unspecific, and the
// framer, whose state is then unknown, is not used again.
func (r *reader) next(fr *framer, msgs []message) (out []message, err error) {
	defer func() {
		if x := recover(); x != nil {
			r.logPanic("message header", recovered(x))
			out, err = nil, &headerError{Notification{Code: ErrMessageHeader}}
		}
	}()
	return fr.next(msgs)
}

// logPanic logs a panic recovered while decoding a neighbor's message: a bug that cost a session.
func (r *reader) logPanic(what string, p *decodePanic) {
	r.s.p.log.Error("panic decoding "+what+": resetting the session", "panic", p.String(), "stack", string(p.stack))
}

// dispatch handles one message on the reader goroutine; false ends the reader.
func (r *reader) dispatch(m message) bool {
	s := r.s
	p := s.p
	if int(m.typ) < len(p.msgs[0]) {
		p.msgs[0][m.typ].Add(1)
		p.bytes[0][m.typ].Add(uint64(len(m.raw)))
	}
	if p.cfg.OnMessage != nil {
		p.cfg.OnMessage(p, m.raw)
	}
	if h := p.trace.Load(); h != nil && h.types.Has(m.typ) {
		h.fn(p, Received, m.typ, m.raw[:len(m.raw):len(m.raw)])
	}
	established := State(s.state.Load()) == StateEstablished
	switch m.typ {
	case MsgUpdate:
		if !established {
			return r.toPeer(event{kind: evUpdate})
		}
		u, uerr, panicked := safeDecodeUpdate(m.body, s.decOpts)
		if panicked != nil {
			r.logPanic("UPDATE", panicked)
		}
		if uerr != nil && uerr.Action >= ActionAFISAFIDisable {
			n := uerr.Notification
			p.log.Warn("malformed UPDATE: resetting the session", "reason", uerr.Reason, "action", uerr.Action.String())
			r.toPeer(event{kind: evUpdateErr, n: &n})
			return false
		}
		if uerr != nil {
			p.log.Warn("malformed UPDATE", "reason", uerr.Reason, "action", uerr.Action.String(), "attr", uerr.Attr)
		}
		if u == nil {
			return true
		}
		if r.dropped() {
			return false // the session went down meanwhile: its routes must not reach the next one
		}
		s.inHandler.Store(true)
		p.h.Update(p, u, uerr)
		s.inHandler.Store(false)
		return true
	case MsgKeepalive:
		if established {
			return true // the hold timer reads lastRecv
		}
		return r.toPeer(event{kind: evKeepalive})
	case MsgRouteRefresh:
		if !established {
			return r.toPeer(event{kind: evRouteRefresh})
		}
		rr, n, panicked := safeDecodeRouteRefresh(m.body)
		if panicked != nil {
			r.logPanic("ROUTE-REFRESH", panicked)
		}
		if n != nil {
			r.toPeer(event{kind: evHeaderErr, n: n})
			return false
		}
		s.inHandler.Store(true)
		p.h.RouteRefresh(p, rr)
		s.inHandler.Store(false)
		return true
	case MsgOpen:
		raw := bytes.Clone(m.raw) // kept for Peer.OpenMessages; m.raw is the read buffer
		o, n, panicked := safeDecodeOpen(raw[HeaderLen:])
		if panicked != nil {
			r.logPanic("OPEN", panicked)
		}
		if n != nil {
			return r.toPeer(event{kind: evOpenErr, n: n})
		}
		return r.toPeer(event{kind: evOpen, open: o, raw: raw})
	case MsgNotification:
		n, panicked := safeDecodeNotification(m.body)
		if panicked != nil {
			r.logPanic("NOTIFICATION", panicked)
		}
		r.toPeer(event{kind: evNotification, n: &n})
		return false
	}
	return true
}

// dropped reports whether the peer goroutine has given up this reader's connection.
func (r *reader) dropped() bool {
	select {
	case <-r.closed:
		return true
	default:
		return false
	}
}

// toPeer hands an event to the peer goroutine and waits until it is processed; false when the connection
// has been dropped meanwhile.
func (r *reader) toPeer(ev event) bool {
	ev.s = r.s
	ev.connID = r.id
	ev.ack = make(chan struct{})
	if !r.s.p.post(ev) {
		return false
	}
	select {
	case <-ev.ack:
	case <-r.closed:
		return false
	}
	select {
	case <-r.closed:
		return false
	default:
		return true
	}
}
