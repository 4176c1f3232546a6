package speaker

import (
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
	send(raw, rawMsg(MsgUpdate, updateBody(nil, [][]byte{goodOrigin, goodASPath, goodNextHop}, nlri24)))
	r.waitUpdates(t, 5*time.Second, func(u []*Update) bool { return len(u) == 1 })

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
