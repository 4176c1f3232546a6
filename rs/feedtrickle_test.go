package rs

import (
	"testing"

	"github.com/ixrs/ixrs/speaker"
)

// TestFeedReplayTrickles: a resync replay gets at most replayBusyShare entries in a pass that took
// an UPDATE from a member, and its full share in a pass that did not; it still ends, with every
// route, while members keep sending.
func TestFeedReplayTrickles(t *testing.T) {
	s := newTestServer(t, nil)
	a := addMember(t, s, "A", 64501, "192.0.2.11")
	b := addMember(t, s, "B", 64502, "192.0.2.12")
	if err := a.ss.Receive(&speaker.Update{Attrs: a.attrs(), NLRI: seqPrefixes(0, 3000, false)}); err != nil {
		t.Fatal(err)
	}
	readAll(t, s, a, b)
	sub := subscribeSync(s, SubscribeOptions{Routes: true})
	sub.startResync()
	routes := func() int {
		evs, err := drain(t, sub)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, ev := range evs {
			if ev.Kind == EventRoute && ev.Member == "A" {
				n++
			}
		}
		return n
	}
	routes() // sync-start
	total := 0
	for i := range 5 {
		if err := b.ss.Receive(&speaker.Update{Attrs: b.attrs(), NLRI: seqPrefixes(5000+i, 1, false)}); err != nil {
			t.Fatal(err)
		}
		s.pass()
		n := routes()
		if n > replayBusyShare {
			t.Fatalf("busy pass %d: the replay sent %d routes, want at most %d", i, n, replayBusyShare)
		}
		total += n
		b.read()
	}
	if total == 0 {
		t.Fatal("the replay did not advance at all in busy passes")
	}
	s.pass() // nothing from members: the full share
	if n := routes(); n <= replayBusyShare {
		t.Fatalf("idle pass: the replay sent %d routes, want more than %d", n, replayBusyShare)
	} else {
		total += n
	}
	for i := 0; sub.resync != nil; i++ {
		if i > 1000 {
			t.Fatal("replay never ends")
		}
		s.pass()
		total += routes()
	}
	if total != 3000 {
		t.Errorf("replay sent %d routes of A, want 3000", total)
	}
}

// TestFeedReplayTricklesWhileSending: a pass that only sends (a member that came up is sent the
// table, nothing arrives from members) routes too: the replay gets at most replayBusyShare entries.
func TestFeedReplayTricklesWhileSending(t *testing.T) {
	s := newTestServer(t, nil)
	a := addMember(t, s, "A", 64501, "192.0.2.11")
	if err := a.ss.Receive(&speaker.Update{Attrs: a.attrs(), NLRI: seqPrefixes(0, 3000, false)}); err != nil {
		t.Fatal(err)
	}
	readAll(t, s, a)
	sub := subscribeSync(s, SubscribeOptions{Routes: true})
	sub.startResync()
	if _, err := drain(t, sub); err != nil { // sync-start
		t.Fatal(err)
	}
	c := addMember(t, s, "C", 64503, "192.0.2.13")
	s.pass()
	if c.out.total == 0 {
		t.Fatal("the pass sent C nothing of A's table")
	}
	evs, err := drain(t, sub)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, ev := range evs {
		if ev.Kind == EventRoute && ev.Member == "A" {
			n++
		}
	}
	if n > replayBusyShare {
		t.Fatalf("a pass that sent C its table gave the replay %d routes, want at most %d", n, replayBusyShare)
	}
}
