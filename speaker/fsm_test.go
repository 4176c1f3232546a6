package speaker

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestFSMTable drives the RFC 4271 §8.2.2 state machine one (state, event) pair at a time and checks the
// next state and the exact action sequence.
func TestFSMTable(t *testing.T) {
	const hold = 90 * time.Second
	cease := &Notification{Code: ErrCease, Subcode: SubAdminShutdown, Data: []byte{3, 'b', 'y', 'e'}}
	openErr := &Notification{Code: ErrOpen, Subcode: SubBadPeerAS}
	hdrErr := &Notification{Code: ErrMessageHeader, Subcode: SubBadMessageLength}
	updErr := &Notification{Code: ErrUpdate, Subcode: SubMalformedAttrList}
	tests := []struct {
		state   State
		passive bool
		ev      eventKind
		n       *Notification
		want    State
		acts    string
	}{
		// Idle
		{StateIdle, false, evStart, nil, StateConnect, "StartConnectRetry Connect"},
		{StateIdle, true, evStart, nil, StateActive, "StartConnectRetry"},
		{StateIdle, false, evStop, nil, StateIdle, ""},
		{StateIdle, false, evTCPConnected, nil, StateIdle, "DropConn"},
		{StateIdle, false, evHoldExpired, nil, StateIdle, ""},
		// Connect
		{StateConnect, false, evConnectRetryExpired, nil, StateConnect, "StartConnectRetry Connect"},
		{StateConnect, false, evTCPConnected, nil, StateOpenSent, "StopConnectRetry SendOpen StartHold(4m0s)"},
		{StateConnect, false, evTCPFailed, nil, StateActive, ""},
		{StateConnect, false, evStop, nil, StateIdle, "DropConn StopConnectRetry"},
		{StateConnect, false, evStart, nil, StateConnect, ""},
		{StateConnect, false, evOpen, nil, StateIdle, "StopConnectRetry DropConn StartHold(0s) StartKeepalive(0s) IdleHold"},
		// Active
		{StateActive, false, evConnectRetryExpired, nil, StateConnect, "StartConnectRetry Connect"},
		{StateActive, true, evConnectRetryExpired, nil, StateActive, "StartConnectRetry"},
		{StateActive, true, evTCPConnected, nil, StateOpenSent, "StopConnectRetry SendOpen StartHold(4m0s)"},
		{StateActive, false, evTCPFailed, nil, StateActive, ""},
		{StateActive, false, evStop, nil, StateIdle, "DropConn StopConnectRetry"},
		{StateActive, false, evKeepalive, nil, StateIdle, "StopConnectRetry DropConn StartHold(0s) StartKeepalive(0s) IdleHold"},
		// OpenSent
		{StateOpenSent, false, evOpen, nil, StateOpenConfirm, "SendKeepalive StartHold(1m30s) StartKeepalive(30s)"},
		{StateOpenSent, false, evOpenErr, openErr, StateIdle, "SendNotification(2/2) DropConn StartHold(0s) StartKeepalive(0s) IdleHold"},
		{StateOpenSent, false, evHeaderErr, hdrErr, StateIdle, "SendNotification(1/2) DropConn StartHold(0s) StartKeepalive(0s) IdleHold"},
		{StateOpenSent, false, evHoldExpired, nil, StateIdle, "SendNotification(4/0) DropConn StartHold(0s) StartKeepalive(0s) IdleHold"},
		{StateOpenSent, false, evTCPFailed, nil, StateActive, "DropConn StartHold(0s) StartConnectRetry"},
		{StateOpenSent, false, evNotification, nil, StateIdle, "DropConn StartHold(0s) StartKeepalive(0s) IdleHold"},
		{StateOpenSent, false, evKeepalive, nil, StateIdle, "SendNotification(5/1) DropConn StartHold(0s) StartKeepalive(0s) IdleHold"},
		{StateOpenSent, false, evUpdate, nil, StateIdle, "SendNotification(5/1) DropConn StartHold(0s) StartKeepalive(0s) IdleHold"},
		{StateOpenSent, false, evStop, cease, StateIdle, "SendNotification(6/2) DropConn StopConnectRetry StartHold(0s)"},
		{StateOpenSent, false, evStop, nil, StateIdle, "SendNotification(6/2) DropConn StopConnectRetry StartHold(0s)"},
		{StateOpenSent, false, evConnectRetryExpired, nil, StateOpenSent, ""},
		// OpenConfirm
		{StateOpenConfirm, false, evKeepalive, nil, StateEstablished, "StartHold(1m30s) Established"},
		{StateOpenConfirm, false, evKeepaliveExpired, nil, StateOpenConfirm, "SendKeepalive StartKeepalive(30s)"},
		{StateOpenConfirm, false, evHoldExpired, nil, StateIdle, "SendNotification(4/0) DropConn StartHold(0s) StartKeepalive(0s) IdleHold"},
		{StateOpenConfirm, false, evNotification, nil, StateIdle, "DropConn StartHold(0s) StartKeepalive(0s) IdleHold"},
		{StateOpenConfirm, false, evTCPFailed, nil, StateIdle, "DropConn StartHold(0s) StartKeepalive(0s) IdleHold"},
		{StateOpenConfirm, false, evOpen, nil, StateIdle, "SendNotification(5/2) DropConn StartHold(0s) StartKeepalive(0s) IdleHold"},
		{StateOpenConfirm, false, evUpdate, nil, StateIdle, "SendNotification(5/2) DropConn StartHold(0s) StartKeepalive(0s) IdleHold"},
		{StateOpenConfirm, false, evStop, cease, StateIdle, "SendNotification(6/2) DropConn StartHold(0s) StartKeepalive(0s)"},
		// Established
		{StateEstablished, false, evKeepalive, nil, StateEstablished, "StartHold(1m30s)"},
		{StateEstablished, false, evUpdate, nil, StateEstablished, "StartHold(1m30s)"},
		{StateEstablished, false, evRouteRefresh, nil, StateEstablished, "StartHold(1m30s)"},
		{StateEstablished, false, evKeepaliveExpired, nil, StateEstablished, "SendKeepalive StartKeepalive(30s)"},
		{StateEstablished, false, evHoldExpired, nil, StateIdle, "SendNotification(4/0) DropConn StartHold(0s) StartKeepalive(0s) Down IdleHold"},
		{StateEstablished, false, evUpdateErr, updErr, StateIdle, "SendNotification(3/1) DropConn StartHold(0s) StartKeepalive(0s) Down IdleHold"},
		{StateEstablished, false, evHeaderErr, hdrErr, StateIdle, "SendNotification(1/2) DropConn StartHold(0s) StartKeepalive(0s) Down IdleHold"},
		{StateEstablished, false, evNotification, nil, StateIdle, "DropConn StartHold(0s) StartKeepalive(0s) Down IdleHold"},
		{StateEstablished, false, evTCPFailed, nil, StateIdle, "DropConn StartHold(0s) StartKeepalive(0s) Down IdleHold"},
		{StateEstablished, false, evOpen, nil, StateIdle, "SendNotification(5/3) DropConn StartHold(0s) StartKeepalive(0s) Down IdleHold"},
		{StateEstablished, false, evStop, cease, StateIdle, "SendNotification(6/2) DropConn StartHold(0s) StartKeepalive(0s) Down"},
		{StateEstablished, false, evStart, nil, StateEstablished, ""},
	}
	for _, tc := range tests {
		name := fmt.Sprintf("%s/%s", tc.state, tc.ev)
		if tc.passive {
			name += "/passive"
		}
		t.Run(name, func(t *testing.T) {
			f := fsm{state: tc.state, passive: tc.passive, hold: hold}
			acts := f.handle(tc.ev, tc.n)
			var got []string
			for _, a := range acts {
				got = append(got, a.String())
			}
			if f.state != tc.want {
				t.Errorf("state = %s, want %s", f.state, tc.want)
			}
			if g := strings.Join(got, " "); g != tc.acts {
				t.Errorf("actions = %q\nwant      %q", g, tc.acts)
			}
			for _, a := range acts {
				if a.kind == actSendNotification && tc.n != nil && tc.ev != evStop && a.n != tc.n {
					t.Errorf("sent %v, want the event's notification %v", a.n, tc.n)
				}
				if a.kind == actSendNotification && tc.ev == evStop && tc.n != nil && a.n != tc.n {
					t.Errorf("stop sent %v, want the caller's %v", a.n, tc.n)
				}
			}
		})
	}
}

// TestFSMHoldZero checks that a negotiated hold time of 0 runs neither hold nor keepalive timer.
func TestFSMHoldZero(t *testing.T) {
	f := fsm{state: StateOpenSent}
	acts := f.handle(evOpen, nil)
	for _, a := range acts {
		if (a.kind == actStartHold || a.kind == actStartKeepalive) && a.d != 0 {
			t.Fatalf("hold 0: %s arms a timer", a)
		}
	}
	if f.state != StateOpenConfirm {
		t.Fatalf("state %s", f.state)
	}
}

// TestFSMFullHandshake walks a whole session life through the FSM: start, connect, OPEN, KEEPALIVE,
// traffic, hold expiry, automatic restart.
func TestFSMFullHandshake(t *testing.T) {
	f := fsm{state: StateIdle, hold: 9 * time.Second}
	steps := []struct {
		ev   eventKind
		want State
	}{
		{evStart, StateConnect}, {evTCPFailed, StateActive}, {evConnectRetryExpired, StateConnect},
		{evTCPConnected, StateOpenSent}, {evOpen, StateOpenConfirm}, {evKeepalive, StateEstablished},
		{evUpdate, StateEstablished}, {evKeepaliveExpired, StateEstablished}, {evHoldExpired, StateIdle},
		{evStart, StateConnect},
	}
	for i, st := range steps {
		f.handle(st.ev, nil)
		if f.state != st.want {
			t.Fatalf("step %d (%s): state %s, want %s", i, st.ev, f.state, st.want)
		}
	}
}
