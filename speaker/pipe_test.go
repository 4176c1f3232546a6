package speaker

import (
	"bytes"
	"encoding/binary"
	"net"
	"testing"
	"time"
)

// TestPeerOverPipe drives a real Peer through its whole life over an in-memory connection (net.Pipe)
// instead of TCP: OPEN, KEEPALIVE, Established, an UPDATE delivered to the handler, a NOTIFICATION from
// the neighbor, Down, and an automatic restart that accepts the next connection.
func TestPeerOverPipe(t *testing.T) {
	sp, _ := newTestSpeaker(t, 65000, "10.0.0.1", "")
	r := newRecorder()
	p, err := sp.AddPeer(PeerConfig{PeerAddr: adr("127.0.0.50"), PeerAS: 65050, Passive: true, HoldTime: 9 * time.Second}, r)
	if err != nil {
		t.Fatal(err)
	}
	p.Start()
	connect := func() *rawPeer {
		ours, theirs := net.Pipe()
		t.Cleanup(func() { theirs.Close() })
		if !p.post(event{kind: evIncoming, conn: ours}) {
			t.Fatal("peer gone")
		}
		return &rawPeer{t: t, conn: theirs, fr: newFramer(theirs, func() int { return MaxExtendedMessage })}
	}
	// The pipe has no buffer: the raw side must read while it writes, so it sends from a goroutine.
	send := func(raw *rawPeer, b []byte) { go raw.conn.Write(b) }

	raw := connect()
	send(raw, EncodeOpen(rawOpen(65050, "10.0.0.50", 9)))
	if o, n := DecodeOpen(raw.expect(MsgOpen).body); n != nil || o.ASN() != 65000 || o.HoldTime != 9 {
		t.Fatalf("our OPEN: %+v %v", o, n)
	}
	raw.expect(MsgKeepalive)
	// The state is published right after the transition's actions (our KEEPALIVE among them) are done.
	waitState(t, p, StateOpenConfirm)
	send(raw, EncodeKeepalive())
	if o := waitEstablished(t, r, 5*time.Second); o.RouterID != adr("10.0.0.50") {
		t.Fatalf("remote %v", o.RouterID)
	}
	upd := rawMsg(MsgUpdate, updateBody(nil, [][]byte{goodOrigin, goodASPath, goodNextHop}, nlri24))
	send(raw, upd)
	r.waitUpdates(t, 5*time.Second, func(u []*Update) bool { return len(u) == 1 })
	if st := p.Stats(); st.Bytes.Received[MsgUpdate] != uint64(len(upd)) || st.Bytes.Sent[MsgKeepalive] < HeaderLen {
		t.Fatalf("byte counters %+v", st.Bytes)
	}

	send(raw, EncodeNotification(Notification{Code: ErrCease, Subcode: SubAdminReset}))
	if err := waitDown(t, r, 5*time.Second); err == nil {
		t.Fatal("no down reason")
	}
	waitState(t, p, StateIdle)
	// The neighbor comes back during the idle hold: it is accepted at once.
	raw2 := connect()
	send(raw2, EncodeOpen(rawOpen(65050, "10.0.0.50", 9)))
	raw2.expect(MsgOpen)
	raw2.expect(MsgKeepalive)
	send(raw2, EncodeKeepalive())
	waitEstablished(t, r, 5*time.Second)
	r.mu.Lock()
	inEst, inDown := r.stateInEstablished, r.stateInDown
	r.mu.Unlock()
	if inEst != StateEstablished || inDown != StateIdle {
		t.Fatalf("handlers saw state %s in Established and %s in Down", inEst, inDown)
	}
	if st := p.Stats(); st.Flaps != 1 || st.State != StateEstablished {
		t.Fatalf("stats %+v", st)
	}
	st := p.Stats()
	if st.LastReceived.Code != ErrCease || st.LastReceived.Subcode != SubAdminReset || st.LastSent.Code != 0 ||
		len(st.Notifications) != 1 || st.Notifications[0] != (NotificationCount{Code: ErrCease, Subcode: SubAdminReset, N: 1}) {
		t.Fatalf("notifications: last received %v, last sent %v, counts %+v", st.LastReceived, st.LastSent, st.Notifications)
	}
}

// waitState waits, bounded, for p to publish state want.
func waitState(t *testing.T, p *Peer, want State) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for p.State() != want {
		if time.Now().After(deadline) {
			t.Fatalf("state %s, want %s", p.State(), want)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestOpenMessages: Peer.OpenMessages returns nil before the first session, then copies of the two OPENs
// exchanged (whole messages), kept after the session goes down and replaced by the next session's.
func TestOpenMessages(t *testing.T) {
	sp, _ := newTestSpeaker(t, 65000, "10.0.0.1", "")
	r := newRecorder()
	p, err := sp.AddPeer(PeerConfig{PeerAddr: adr("127.0.0.51"), PeerAS: 65051, Passive: true, HoldTime: 9 * time.Second}, r)
	if err != nil {
		t.Fatal(err)
	}
	if sent, recv := p.OpenMessages(); sent != nil || recv != nil {
		t.Fatalf("before any session: %x, %x", sent, recv)
	}
	p.Start()
	// session connects a neighbor over a pipe, completes the handshake with its OPEN and returns the
	// body of the OPEN the speaker sent.
	session := func(o *Open) (*rawPeer, []byte) {
		ours, theirs := net.Pipe()
		t.Cleanup(func() { theirs.Close() })
		if !p.post(event{kind: evIncoming, conn: ours}) {
			t.Fatal("peer gone")
		}
		raw := &rawPeer{t: t, conn: theirs, fr: newFramer(theirs, func() int { return MaxExtendedMessage })}
		go raw.conn.Write(EncodeOpen(o))
		body := raw.expect(MsgOpen).body
		raw.expect(MsgKeepalive)
		waitState(t, p, StateOpenConfirm)
		go raw.conn.Write(EncodeKeepalive())
		waitEstablished(t, r, 5*time.Second)
		return raw, body
	}
	check := func(o *Open, ourBody []byte) {
		t.Helper()
		sent, recv := p.OpenMessages()
		if !bytes.Equal(recv, EncodeOpen(o)) {
			t.Errorf("received OPEN %x, want the neighbor's %x", recv, EncodeOpen(o))
		}
		if len(sent) < HeaderLen || [16]byte(sent[:16]) != marker || int(binary.BigEndian.Uint16(sent[16:])) != len(sent) ||
			sent[18] != MsgOpen || !bytes.Equal(sent[HeaderLen:], ourBody) {
			t.Errorf("sent OPEN %x, want a whole OPEN message with body %x", sent, ourBody)
		}
		if len(sent) <= HeaderLen || len(recv) <= HeaderLen {
			t.FailNow()
		}
		// Copies: what the caller does with them changes nothing.
		sent[HeaderLen], recv[HeaderLen] = 0, 0
		if s2, r2 := p.OpenMessages(); s2[HeaderLen] != 4 || r2[HeaderLen] != 4 {
			t.Error("OpenMessages returned the peer's own slices")
		}
	}

	first := rawOpen(65051, "10.0.0.51", 9)
	raw, body := session(first)
	check(first, body)
	go raw.conn.Write(EncodeNotification(Notification{Code: ErrCease, Subcode: SubAdminReset}))
	waitDown(t, r, 5*time.Second)
	waitState(t, p, StateIdle)
	check(first, body) // the last session's, after it went down

	second := rawOpen(65051, "10.0.0.52", 30)
	second.Caps.GracefulRestart = &GracefulRestart{RestartTime: 120}
	_, body2 := session(second)
	check(second, body2)
}
