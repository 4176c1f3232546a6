package speaker

import (
	"errors"
	"testing"
	"time"
)

// grPeer adds a passive neighbor 127.0.0.7 (AS 65007) to a speaker that advertises local.
func grPeer(t *testing.T, local *GracefulRestart) (*Peer, *recorder, uint16) {
	t.Helper()
	sp, port := newTestSpeaker(t, 65000, "10.0.0.1", "127.0.0.1")
	r := newRecorder()
	p, err := sp.AddPeer(PeerConfig{PeerAddr: adr("127.0.0.7"), PeerAS: 65007, Passive: true, GracefulRestart: local}, r)
	if err != nil {
		t.Fatal(err)
	}
	p.Start()
	return p, r, port
}

func grOpen(state bool, secs uint16, fwd bool) *Open {
	o := rawOpen(65007, "10.0.0.7", 90)
	o.Caps.GracefulRestart = &GracefulRestart{RestartState: state, RestartTime: secs,
		Families: []GRFamily{{Family: IPv4Unicast, ForwardingState: fwd}}}
	return o
}

// TestGracefulRestartAdvertised: the speaker advertises the capability as configured (a helper:
// no families, no restart state) and reports the neighbor's when both advertised it.
func TestGracefulRestartAdvertised(t *testing.T) {
	p, r, port := grPeer(t, &GracefulRestart{RestartTime: 120})
	raw := dialRaw(t, "127.0.0.7", port)
	got := raw.handshake(grOpen(true, 30, true))
	waitEstablished(t, r, 10*time.Second)
	gr := got.Caps.GracefulRestart
	if gr == nil || gr.RestartState || gr.RestartTime != 120 || len(gr.Families) != 0 {
		t.Fatalf("advertised %+v, want a helper's capability", gr)
	}
	if n := p.GracefulRestart(); n == nil || n.RestartTime != 30 || !n.RestartState || len(n.Families) != 1 || !n.Families[0].ForwardingState {
		t.Fatalf("neighbor's capability reported as %+v", n)
	}
}

// TestGracefulRestartNotAdvertised: without configuration nothing is advertised, and the neighbor's
// capability is not negotiated.
func TestGracefulRestartNotAdvertised(t *testing.T) {
	p, r, port := grPeer(t, nil)
	raw := dialRaw(t, "127.0.0.7", port)
	got := raw.handshake(grOpen(false, 30, true))
	waitEstablished(t, r, 10*time.Second)
	if got.Caps.GracefulRestart != nil || p.GracefulRestart() != nil {
		t.Fatalf("advertised %+v, negotiated %+v", got.Caps.GracefulRestart, p.GracefulRestart())
	}
	// A second connection while established is refused, as without graceful restart.
	raw2 := dialRaw(t, "127.0.0.7", port)
	if m, err := raw2.next(10 * time.Second); err != nil || m.typ != MsgNotification {
		t.Fatalf("second connection: %v %v", m.typ, err)
	}
	if len(r.down) != 0 {
		t.Fatal("the established session went down")
	}
}

// TestGracefulRestartNewConnection: a neighbor with graceful restart that connects again while
// the session is established has restarted (RFC 4724 §4.2): the old session goes down without a
// NOTIFICATION, with ErrPeerRestarted, and the new one comes up.
func TestGracefulRestartNewConnection(t *testing.T) {
	p, r, port := grPeer(t, &GracefulRestart{RestartTime: 120})
	raw := dialRaw(t, "127.0.0.7", port)
	raw.handshake(grOpen(false, 30, true))
	waitEstablished(t, r, 10*time.Second)

	raw2 := dialRaw(t, "127.0.0.7", port)
	err := waitDown(t, r, 10*time.Second)
	if !errors.Is(err, ErrPeerRestarted) || !EndedWithoutNotification(err) {
		t.Fatalf("old session ended with %v", err)
	}
	if _, err := raw.next(10 * time.Second); err == nil {
		t.Fatal("old connection got a message, want it closed")
	}
	raw2.handshake(grOpen(true, 30, true))
	waitEstablished(t, r, 10*time.Second)
	if p.State() != StateEstablished || p.GracefulRestart() == nil || !p.GracefulRestart().RestartState {
		t.Fatalf("state %s, capability %+v", p.State(), p.GracefulRestart())
	}
}

// TestEndedWithoutNotification: only an end without a NOTIFICATION counts.
func TestEndedWithoutNotification(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{&SessionError{Err: errors.New("EOF")}, true},
		{&SessionError{Err: ErrPeerRestarted}, true},
		{&SessionError{Notification: &Notification{Code: ErrHoldTimer}, Sent: true}, false},
		{&SessionError{Notification: &Notification{Code: ErrCease, Subcode: SubAdminShutdown}}, false},
		{errors.New("other"), false},
		{nil, false},
	} {
		if got := EndedWithoutNotification(tc.err); got != tc.want {
			t.Errorf("%v: %v", tc.err, got)
		}
	}
}
