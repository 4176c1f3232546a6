package speaker

import (
	"bytes"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"
)

// traceLog records what a TraceFunc sees, copying the bytes as the contract asks.
type traceLog struct {
	mu   sync.Mutex
	msgs []string // "received 2 <hex>"
}

func (l *traceLog) fn(_ *Peer, dir Direction, typ uint8, msg []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(msg) < HeaderLen || msg[18] != typ {
		l.msgs = append(l.msgs, fmt.Sprintf("bad %s %d %x", dir, typ, msg))
		return
	}
	l.msgs = append(l.msgs, fmt.Sprintf("%s %d %x", dir, typ, msg))
}

func (l *traceLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.msgs
	l.msgs = nil
	return out
}

func traced(dir Direction, msg []byte) string { return fmt.Sprintf("%s %d %x", dir, msg[18], msg) }

// TestTraceHook: the hook sees every message type in both directions with its exact bytes, in order;
// turned off it is not called; a type filter lets only its types through.
func TestTraceHook(t *testing.T) {
	sp, _ := newTestSpeaker(t, 65000, "10.0.0.1", "")
	r := newRecorder()
	// No hold time: no KEEPALIVE timer can add a message the test does not expect.
	p, err := sp.AddPeer(PeerConfig{PeerAddr: adr("127.0.0.52"), PeerAS: 65052, Passive: true, NoHoldTime: true}, r)
	if err != nil {
		t.Fatal(err)
	}
	var tl traceLog
	p.SetTrace(TraceAll, tl.fn)
	p.Start()
	connect := func() *rawPeer {
		ours, theirs := net.Pipe()
		t.Cleanup(func() { theirs.Close() })
		if !p.post(event{kind: evIncoming, conn: ours}) {
			t.Fatal("peer gone")
		}
		return &rawPeer{t: t, conn: theirs, fr: newFramer(theirs, func() int { return MaxExtendedMessage })}
	}
	send := func(raw *rawPeer, b []byte) { go raw.conn.Write(b) }
	// wholeOf rebuilds the whole message the raw peer received.
	wholeOf := func(m message) []byte { return rawMsg(m.typ, m.body) }
	waitRefresh := func(n int) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			r.mu.Lock()
			got := len(r.refresh)
			r.mu.Unlock()
			if got >= n {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d ROUTE-REFRESHes handled, want %d", got, n)
			}
			time.Sleep(time.Millisecond)
		}
	}

	raw := connect()
	var want []string
	open := EncodeOpen(rawOpen(65052, "10.0.0.52", 0))
	send(raw, open)
	want = append(want, traced(Received, open))
	want = append(want, traced(Sent, wholeOf(raw.expect(MsgOpen))))
	want = append(want, traced(Sent, wholeOf(raw.expect(MsgKeepalive))))
	waitState(t, p, StateOpenConfirm)
	ka := EncodeKeepalive()
	send(raw, ka)
	want = append(want, traced(Received, ka))
	waitEstablished(t, r, 5*time.Second)
	upd := rawMsg(MsgUpdate, updateBody(nil, [][]byte{goodOrigin, goodASPath, goodNextHop}, nlri24))
	send(raw, upd)
	want = append(want, traced(Received, upd))
	r.waitUpdates(t, 5*time.Second, func(u []*Update) bool { return len(u) == 1 })
	rr := EncodeRouteRefresh(RouteRefresh{Family: IPv4Unicast})
	send(raw, rr)
	want = append(want, traced(Received, rr))
	waitRefresh(1)
	if err := p.Announce(&Attrs{ASPath: ASPath{{Type: SegSequence, ASNs: []uint32{65052}}}, NextHop: adr("192.0.2.52")},
		netip.MustParsePrefix("198.51.100.0/24")); err != nil {
		t.Fatal(err)
	}
	want = append(want, traced(Sent, wholeOf(raw.expect(MsgUpdate))))
	if err := p.SendRouteRefresh(IPv6Unicast); err != nil {
		t.Fatal(err)
	}
	want = append(want, traced(Sent, wholeOf(raw.expect(MsgRouteRefresh))))
	// The writer traces after the write returns: a message is surely traced once a later write has
	// begun. A round trip through the writer waits for that without a timer; its own last message may
	// or may not be traced yet.
	if err := p.Withdraw(netip.MustParsePrefix("198.51.100.0/24")); err != nil {
		t.Fatal(err)
	}
	want = append(want, traced(Sent, wholeOf(raw.expect(MsgUpdate))))
	if err := p.SendRouteRefresh(IPv4Unicast); err != nil {
		t.Fatal(err)
	}
	last := traced(Sent, wholeOf(raw.expect(MsgRouteRefresh)))
	p.SetTrace(TraceTypes(1<<MsgOpen), tl.fn) // a filter that excludes everything that follows
	if err := p.SendRouteRefresh(IPv6Unicast); err != nil {
		t.Fatal(err)
	}
	raw.expect(MsgRouteRefresh)
	got := tl.take()
	if n := len(got); n > 0 && got[n-1] == last {
		got = got[:n-1]
	}
	// The two directions run on two goroutines: their interleaving is not defined, each one's order is.
	for _, dir := range []Direction{Received, Sent} {
		if g, w := ofDirection(got, dir), ofDirection(want, dir); !equalStrings(g, w) {
			t.Fatalf("traced %s:\n%s\nwant:\n%s", dir, join(g), join(w))
		}
	}

	// Off: neither direction calls the hook.
	p.SetTrace(0, nil)
	send(raw, upd)
	r.waitUpdates(t, 5*time.Second, func(u []*Update) bool { return len(u) == 2 })
	send(raw, rr)
	waitRefresh(2)
	if err := p.Withdraw(netip.MustParsePrefix("198.51.100.0/24")); err != nil {
		t.Fatal(err)
	}
	raw.expect(MsgUpdate)
	if err := p.SendRouteRefresh(IPv4Unicast); err != nil {
		t.Fatal(err)
	}
	raw.expect(MsgRouteRefresh) // the UPDATE's write, and its trace check, are done
	if got := tl.take(); len(got) != 0 {
		t.Fatalf("traced while off:\n%s", join(got))
	}

	// NOTIFICATION only: the one sent by Stop, then (next connection) the one received; the
	// handshake of the second connection is not traced.
	p.SetTrace(TraceTypes(1<<MsgNotification), tl.fn)
	n := AdminShutdown(SubAdminShutdown, "trace test")
	p.Stop(&n)
	sentN := wholeOf(raw.expect(MsgNotification))
	if _, err := raw.next(5 * time.Second); err == nil {
		t.Fatal("connection open after NOTIFICATION")
	}
	waitDown(t, r, 5*time.Second)
	waitState(t, p, StateIdle)
	p.Start()
	raw2 := connect()
	send(raw2, open)
	raw2.expect(MsgOpen)
	raw2.expect(MsgKeepalive)
	waitState(t, p, StateOpenConfirm)
	send(raw2, ka)
	waitEstablished(t, r, 5*time.Second)
	recvN := EncodeNotification(Notification{Code: ErrCease, Subcode: SubAdminReset})
	send(raw2, recvN)
	waitDown(t, r, 5*time.Second)
	want = []string{traced(Sent, sentN), traced(Received, recvN)}
	if got := tl.take(); !equalStrings(got, want) {
		t.Fatalf("traced:\n%s\nwant:\n%s", join(got), join(want))
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func join(s []string) string { return string(bytes.Join(toBytes(s), []byte("\n"))) }

func toBytes(s []string) [][]byte {
	out := make([][]byte, len(s))
	for i, x := range s {
		out[i] = []byte(x)
	}
	return out
}

func ofDirection(msgs []string, dir Direction) []string {
	var out []string
	for _, m := range msgs {
		if len(m) > len(dir.String()) && m[:len(dir.String())+1] == dir.String()+" " {
			out = append(out, m)
		}
	}
	return out
}
