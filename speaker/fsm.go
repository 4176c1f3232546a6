package speaker

import (
	"fmt"
	"time"
)

// State is a BGP FSM state (RFC 4271 §8.2.2). The values are those of the ixrs_session_state metric.
type State uint8

// FSM states.
const (
	StateIdle State = iota + 1
	StateConnect
	StateActive
	StateOpenSent
	StateOpenConfirm
	StateEstablished
)

func (s State) String() string {
	switch s {
	case StateIdle:
		return "Idle"
	case StateConnect:
		return "Connect"
	case StateActive:
		return "Active"
	case StateOpenSent:
		return "OpenSent"
	case StateOpenConfirm:
		return "OpenConfirm"
	case StateEstablished:
		return "Established"
	}
	return fmt.Sprintf("State(%d)", uint8(s))
}

// eventKind is an FSM input (RFC 4271 §8.1, grouped: the driver validates OPENs and classifies errors before
// they reach the FSM, so one event stands for each class).
type eventKind uint8

const (
	evStart               eventKind = iota + 1 // ManualStart / AutomaticStart (1, 3)
	evStop                                     // ManualStop (2); carries the Cease to send
	evConnectRetryExpired                      // 9
	evHoldExpired                              // 10
	evKeepaliveExpired                         // 11
	evTCPConnected                             // 16/17: our connect succeeded, or we accepted one
	evTCPFailed                                // 18: connect failed or the connection closed
	evOpen                                     // 19: a valid OPEN
	evHeaderErr                                // 21: carries the NOTIFICATION to send
	evOpenErr                                  // 22: carries the NOTIFICATION to send
	evNotification                             // 24/25: a NOTIFICATION arrived
	evKeepalive                                // 26
	evUpdate                                   // 27
	evUpdateErr                                // 28: an UPDATE error that resets the session; carries the NOTIFICATION
	evRouteRefresh                             // not an RFC 4271 event; counts as traffic like an UPDATE
)

var eventNames = [...]string{"", "Start", "Stop", "ConnectRetryExpired", "HoldExpired", "KeepaliveExpired",
	"TCPConnected", "TCPFailed", "Open", "HeaderErr", "OpenErr", "Notification", "Keepalive", "Update",
	"UpdateErr", "RouteRefresh"}

func (e eventKind) String() string {
	if int(e) < len(eventNames) {
		return eventNames[e]
	}
	return fmt.Sprintf("event(%d)", uint8(e))
}

// actionKind is something the FSM asks its driver to do, in order.
type actionKind uint8

const (
	actConnect           actionKind = iota + 1 // initiate a TCP connection
	actDropConn                                // flush queued control messages, then close the connection
	actSendOpen                                //
	actSendKeepalive                           //
	actSendNotification                        // action.n
	actStartConnectRetry                       //
	actStopConnectRetry                        //
	actStartHold                               // action.d; 0 stops the hold timer
	actStartKeepalive                          // action.d; 0 stops the keepalive timer
	actEstablished                             // tell the handler
	actDown                                    // the session left Established: tell the handler
	actIdleHold                                // schedule an automatic restart (not after a manual stop)
)

var actionNames = [...]string{"", "Connect", "DropConn", "SendOpen", "SendKeepalive", "SendNotification",
	"StartConnectRetry", "StopConnectRetry", "StartHold", "StartKeepalive", "Established", "Down", "IdleHold"}

func (a actionKind) String() string {
	if int(a) < len(actionNames) {
		return actionNames[a]
	}
	return fmt.Sprintf("action(%d)", uint8(a))
}

type action struct {
	kind actionKind
	d    time.Duration
	n    *Notification
}

func (a action) String() string {
	switch a.kind {
	case actStartHold, actStartKeepalive:
		return fmt.Sprintf("%s(%s)", a.kind, a.d)
	case actSendNotification:
		return fmt.Sprintf("%s(%d/%d)", a.kind, a.n.Code, a.n.Subcode)
	}
	return a.kind.String()
}

// openSentHoldTime is the hold timer while waiting for the peer's OPEN (RFC 4271 §8.2.2 suggests 4 minutes).
const openSentHoldTime = 4 * time.Minute

// fsm is the RFC 4271 state machine for one connection, without I/O: handle maps (state, event) to the next
// state and the actions the driver performs. Everything protocol-specific that needs data (OPEN validation,
// capability negotiation, collision resolution, RFC 7606 classification) is done by the driver, which then
// feeds the FSM the resulting event.
type fsm struct {
	state   State
	passive bool          // never initiate connections (RFC 4271 PassiveTcpEstablishment)
	hold    time.Duration // negotiated hold time, set by the driver before evOpen; 0 = no hold timer, no keepalives
}

// Fixed notifications the FSM itself generates.
var (
	notifHoldExpired    = Notification{Code: ErrHoldTimer}
	notifFSMOpenSent    = Notification{Code: ErrFSM, Subcode: SubFSMUnexpectedOpenSent}
	notifFSMOpenConfirm = Notification{Code: ErrFSM, Subcode: SubFSMUnexpectedOpenConfirm}
	notifFSMEstablished = Notification{Code: ErrFSM, Subcode: SubFSMUnexpectedEstablished}
	notifDefaultStop    = Notification{Code: ErrCease, Subcode: SubAdminShutdown}
)

// handle runs one event through the FSM. n is the NOTIFICATION an event carries (evStop, evHeaderErr,
// evOpenErr, evUpdateErr); it may be nil for evStop.
func (f *fsm) handle(ev eventKind, n *Notification) []action {
	var acts []action
	do := func(k actionKind) { acts = append(acts, action{kind: k}) }
	doD := func(k actionKind, d time.Duration) { acts = append(acts, action{kind: k, d: d}) }
	notify := func(n *Notification) { acts = append(acts, action{kind: actSendNotification, n: n}) }
	stopNotif := n
	if stopNotif == nil {
		stopNotif = &notifDefaultStop
	}
	// fail drops the connection after an error and arranges an automatic restart.
	fail := func(send *Notification) {
		if send != nil {
			notify(send)
		}
		do(actDropConn)
		doD(actStartHold, 0)
		doD(actStartKeepalive, 0)
		if f.state == StateEstablished {
			do(actDown)
		}
		do(actIdleHold)
		f.state = StateIdle
	}

	switch f.state {
	case StateIdle:
		switch ev {
		case evStart:
			do(actStartConnectRetry)
			if f.passive {
				f.state = StateActive
			} else {
				do(actConnect)
				f.state = StateConnect
			}
		case evTCPConnected:
			// A connection while stopped (manually or during the idle hold) is not ours to take.
			do(actDropConn)
		}

	case StateConnect, StateActive:
		switch ev {
		case evStop:
			do(actDropConn)
			do(actStopConnectRetry)
			f.state = StateIdle
		case evConnectRetryExpired:
			do(actStartConnectRetry)
			if f.passive {
				f.state = StateActive
			} else {
				do(actConnect)
				f.state = StateConnect
			}
		case evTCPConnected:
			do(actStopConnectRetry)
			do(actSendOpen)
			doD(actStartHold, openSentHoldTime)
			f.state = StateOpenSent
		case evTCPFailed:
			// Keep listening; the connect retry timer brings the next attempt (RFC 4271: Connect → Active).
			f.state = StateActive
		case evStart:
			// already started
		default:
			// Messages cannot arrive without a connection; anything else is an FSM error.
			do(actStopConnectRetry)
			fail(nil)
		}

	case StateOpenSent:
		switch ev {
		case evStart, evConnectRetryExpired:
		case evStop:
			notify(stopNotif)
			do(actDropConn)
			do(actStopConnectRetry)
			doD(actStartHold, 0)
			f.state = StateIdle
		case evHoldExpired:
			fail(&notifHoldExpired)
		case evTCPFailed:
			// RFC 4271: close, restart the connect retry timer, go back to Active and keep listening.
			do(actDropConn)
			doD(actStartHold, 0)
			do(actStartConnectRetry)
			f.state = StateActive
		case evOpen:
			do(actSendKeepalive)
			doD(actStartHold, f.hold)
			doD(actStartKeepalive, f.hold/3)
			f.state = StateOpenConfirm
		case evHeaderErr, evOpenErr:
			fail(n)
		case evNotification:
			fail(nil)
		default: // Keepalive, Update, UpdateErr, RouteRefresh, KeepaliveExpired, TCPConnected
			fail(&notifFSMOpenSent)
		}

	case StateOpenConfirm:
		switch ev {
		case evStart, evConnectRetryExpired:
		case evStop:
			notify(stopNotif)
			do(actDropConn)
			doD(actStartHold, 0)
			doD(actStartKeepalive, 0)
			f.state = StateIdle
		case evHoldExpired:
			fail(&notifHoldExpired)
		case evKeepaliveExpired:
			do(actSendKeepalive)
			doD(actStartKeepalive, f.hold/3)
		case evTCPFailed, evNotification:
			fail(nil)
		case evKeepalive:
			doD(actStartHold, f.hold)
			do(actEstablished)
			f.state = StateEstablished
		case evHeaderErr, evOpenErr:
			fail(n)
		default: // Open (a second one), Update, UpdateErr, RouteRefresh, TCPConnected
			fail(&notifFSMOpenConfirm)
		}

	case StateEstablished:
		switch ev {
		case evStart, evConnectRetryExpired:
		case evStop:
			notify(stopNotif)
			do(actDropConn)
			doD(actStartHold, 0)
			doD(actStartKeepalive, 0)
			do(actDown)
			f.state = StateIdle
		case evHoldExpired:
			fail(&notifHoldExpired)
		case evKeepaliveExpired:
			do(actSendKeepalive)
			doD(actStartKeepalive, f.hold/3)
		case evKeepalive, evUpdate, evRouteRefresh:
			doD(actStartHold, f.hold)
		case evTCPFailed, evNotification:
			fail(nil)
		case evHeaderErr, evUpdateErr, evOpenErr:
			fail(n)
		default: // Open, TCPConnected
			fail(&notifFSMEstablished)
		}
	}
	return acts
}
