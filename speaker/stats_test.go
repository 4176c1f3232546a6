package speaker

import (
	"net"
	"testing"
	"time"
)

// TestNotificationCountsBounded: a neighbor sending NOTIFICATIONs with ever new codes cannot grow a
// peer's counters beyond maxNotificationKinds; nothing is lost, the excess is counted as code 0.
func TestNotificationCountsBounded(t *testing.T) {
	sp, _ := newTestSpeaker(t, 65000, "10.0.0.1", "")
	p, err := sp.AddPeer(PeerConfig{PeerAddr: adr("127.0.0.51"), PeerAS: 65051, Passive: true}, newRecorder())
	if err != nil {
		t.Fatal(err)
	}
	const n = 300
	for i := range n {
		p.countNotification(Notification{Code: uint8(1 + i%6), Subcode: uint8(i / 6)}, i%2 == 0)
	}
	p.countNotification(Notification{Code: ErrCease, Subcode: SubMaxPrefixes, Data: []byte{0, 1, 1}}, true)
	st := p.Stats()
	if len(st.Notifications) > maxNotificationKinds {
		t.Fatalf("%d kinds, at most %d", len(st.Notifications), maxNotificationKinds)
	}
	var total, other uint64
	for _, c := range st.Notifications {
		total += c.N
		if c.Code == 0 {
			other += c.N
		}
	}
	if total != n+1 || other == 0 {
		t.Fatalf("total %d (want %d), other %d: %+v", total, n+1, other, st.Notifications)
	}
	if st.LastSent.Code != ErrCease || st.LastSent.Subcode != SubMaxPrefixes || len(st.LastSent.Data) != 3 {
		t.Fatalf("last sent %+v", st.LastSent)
	}
}

// TestOutputPendingSince: the time the UPDATE output became non-empty is kept while more is queued,
// so a member that never reads shows an ever older time.
func TestOutputPendingSince(t *testing.T) {
	sp, _ := newTestSpeaker(t, 65000, "10.0.0.1", "")
	p, err := sp.AddPeer(PeerConfig{PeerAddr: adr("127.0.0.52"), PeerAS: 65052, Passive: true}, newRecorder())
	if err != nil {
		t.Fatal(err)
	}
	ours, theirs := net.Pipe() // nobody reads theirs, and the writer goroutine is not started
	defer ours.Close()
	defer theirs.Close()
	w := newWriter(p, ours)
	before := time.Now()
	if _, err := w.queue(EncodeKeepalive(), MsgKeepalive, false); err != nil {
		t.Fatal(err)
	}
	if w.pendingSince.Load() != 0 {
		t.Fatal("a control message set the UPDATE output's time")
	}
	upd := rawMsg(MsgUpdate, updateBody(nil, [][]byte{goodOrigin, goodASPath, goodNextHop}, nlri24))
	if _, err := w.queue(upd, MsgUpdate, false); err != nil {
		t.Fatal(err)
	}
	first := w.pendingSince.Load()
	if first < before.UnixNano() {
		t.Fatalf("pendingSince %d before the queue call %d", first, before.UnixNano())
	}
	if _, err := w.queue(upd, MsgUpdate, false); err != nil {
		t.Fatal(err)
	}
	if got := w.pendingSince.Load(); got != first {
		t.Fatalf("queuing more moved pendingSince from %d to %d", first, got)
	}
	if got := p.bytes[1][MsgUpdate].Load(); got != uint64(2*len(upd)) {
		t.Fatalf("UPDATE bytes sent %d, want %d", got, 2*len(upd))
	}
}
