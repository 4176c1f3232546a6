package rs

import (
	"context"
	"errors"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ixrs/ixrs/speaker"
)

// liveOut is an Output with a writer goroutine: it decodes what is queued and calls Drained, like
// the session's writer. A stuck one never writes.
type liveOut struct {
	fakeOut
	wake  chan struct{}
	stuck bool

	mu   sync.Mutex
	rib  map[netip.Prefix]*speaker.Attrs
	msgs int
}

func newLiveOut(stuck bool) *liveOut {
	return &liveOut{wake: make(chan struct{}, 1), stuck: stuck, rib: make(map[netip.Prefix]*speaker.Attrs)}
}

func (o *liveOut) Queue(b []byte) (int, error) {
	n, err := o.fakeOut.Queue(b)
	if len(b) > 0 {
		select {
		case o.wake <- struct{}{}:
		default:
		}
	}
	return n, err
}

func (o *liveOut) run(ctx context.Context, t *testing.T, ss *Peer) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-o.wake:
		}
		if o.stuck {
			continue
		}
		b := o.take()
		for len(b) > 0 {
			l := int(b[16])<<8 | int(b[17])
			u, uerr := speaker.DecodeUpdate(b[speaker.HeaderLen:l], speaker.DecodeOptions{FourOctetAS: true})
			if uerr != nil {
				t.Errorf("bad UPDATE: %v", uerr)
				return
			}
			o.mu.Lock()
			for _, p := range u.Withdrawn {
				delete(o.rib, p)
			}
			for _, p := range u.NLRI {
				o.rib[p] = u.Attrs
			}
			o.msgs++
			o.mu.Unlock()
			b = b[l:]
		}
		ss.Drained()
	}
}

func (o *liveOut) count() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.rib)
}

// TestRun runs the loop on its own goroutine with members announcing concurrently, one member that
// never reads, and looking-glass queries meanwhile: everyone else converges, and the race detector
// watches the hand-offs.
func TestRun(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := newTestServer(t, func(c *Config) { c.OutHighWater = 32 << 10 })
	runErr := make(chan error, 1)
	go func() { runErr <- s.Run(ctx) }()

	const members, perMember = 6, 3000
	outs := make([]*liveOut, members)
	sessions := make([]*Peer, members)
	for i := range members {
		name := string(rune('A' + i))
		asn := uint32(64501 + i)
		addr := netip.AddrFrom4([4]byte{192, 0, 2, byte(11 + i)})
		if err := s.AddMember(ctx, MemberConfig{Name: name, ASN: asn}); err != nil {
			t.Fatal(err)
		}
		ss, err := s.AddPeer(ctx, name, addr)
		if err != nil {
			t.Fatal(err)
		}
		outs[i] = newLiveOut(i == members-1) // the last one never reads
		go outs[i].run(ctx, t, ss)
		if err := ss.Up(outs[i], SessionInfo{RouterID: addr, Families: []speaker.Family{speaker.IPv4Unicast},
			Encode: speaker.EncodeOptions{FourOctetAS: true, MaxMessage: 4096}}); err != nil {
			t.Fatal(err)
		}
		sessions[i] = ss
	}
	if err := s.AddMember(ctx, MemberConfig{Name: "A", ASN: 1}); !errors.Is(err, ErrDuplicate) {
		t.Errorf("duplicate member: %v", err)
	}

	var wg sync.WaitGroup
	for i := range members {
		wg.Add(1)
		go func() {
			defer wg.Done()
			asn := uint32(64501 + i)
			addr := netip.AddrFrom4([4]byte{192, 0, 2, byte(11 + i)})
			ps := seqPrefixes(i*perMember, perMember, false)
			for j := 0; j < perMember; j += 100 {
				a := &speaker.Attrs{NextHop: addr, ASPath: speaker.ASPath{{Type: speaker.SegSequence, ASNs: []uint32{asn, uint32(j)}}}}
				if err := sessions[i].Receive(&speaker.Update{Attrs: a, NLRI: ps[j : j+100]}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	// Queries while routes flow.
	for range 20 {
		if _, err := s.Sessions(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Stats(ctx); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()

	want := (members - 1) * perMember            // everything but its own
	deadline := time.Now().Add(60 * time.Second) // a deadlock guard, not a timing assertion
	for i := 0; i < members-1; i++ {
		for outs[i].count() != want {
			if time.Now().After(deadline) {
				t.Fatalf("member %d has %d of %d routes", i, outs[i].count(), want)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	st, err := s.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Routes != members*perMember || st.Prefixes != members*perMember || st.SessionsUp != members {
		t.Errorf("stats %+v", st)
	}
	ss, err := s.Sessions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range ss {
		if x.Neighbor == sessions[members-1].addr && !x.Throttled {
			t.Errorf("the member that never reads is not throttled: %+v", x)
		}
	}
	page, err := s.Routes(ctx, RoutesQuery{Neighbor: sessions[0].addr, View: ViewExported, Limit: 10})
	if err != nil || len(page.Routes) != 10 || page.Next < 0 {
		t.Errorf("exported page: %d routes, next %d, %v", len(page.Routes), page.Next, err)
	}

	// Session down from another goroutine, while the stuck member's reader would be blocked.
	sessions[1].Down()
	for outs[0].count() != want-perMember {
		if time.Now().After(deadline) {
			t.Fatalf("withdrawals after down: member 0 has %d", outs[0].count())
		}
		time.Sleep(5 * time.Millisecond)
	}

	cancel()
	if err := <-runErr; !errors.Is(err, context.Canceled) {
		t.Errorf("Run returned %v", err)
	}
	if err := sessions[0].Receive(&speaker.Update{}); !errors.Is(err, ErrStopped) {
		t.Errorf("Receive after stop: %v", err)
	}
	if _, err := s.Stats(context.Background()); !errors.Is(err, ErrStopped) {
		t.Errorf("Stats after stop: %v", err)
	}
}

func TestRemoveMember(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := newTestServer(t, nil)
	go s.Run(ctx)
	for _, n := range []string{"A", "B"} {
		if err := s.AddMember(ctx, MemberConfig{Name: n, ASN: 64501 + uint32(n[0]-'A')}); err != nil {
			t.Fatal(err)
		}
	}
	a, _ := s.AddPeer(ctx, "A", netip.MustParseAddr("192.0.2.11"))
	b, _ := s.AddPeer(ctx, "B", netip.MustParseAddr("192.0.2.12"))
	if _, err := s.AddPeer(ctx, "B", netip.MustParseAddr("192.0.2.12")); !errors.Is(err, ErrDuplicate) {
		t.Errorf("duplicate session: %v", err)
	}
	if _, err := s.AddPeer(ctx, "C", netip.MustParseAddr("192.0.2.13")); !errors.Is(err, ErrUnknownMember) {
		t.Errorf("session of unknown member: %v", err)
	}
	info := SessionInfo{RouterID: netip.MustParseAddr("10.0.0.1"), Families: []speaker.Family{speaker.IPv4Unicast},
		Encode: speaker.EncodeOptions{FourOctetAS: true}}
	bout := newLiveOut(false)
	go bout.run(ctx, t, b)
	a.Up(&fakeOut{}, info)
	b.Up(bout, info)
	at := &speaker.Attrs{NextHop: a.addr, ASPath: speaker.ASPath{{Type: speaker.SegSequence, ASNs: []uint32{64501}}}}
	if err := a.Receive(&speaker.Update{Attrs: at, NLRI: pfxs("203.0.113.0/24")}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second) // deadlock guard
	for bout.count() != 1 {
		if time.Now().After(deadline) {
			t.Fatal("B never got A's route")
		}
		time.Sleep(time.Millisecond)
	}
	if err := s.RemoveMember(ctx, "A"); err != nil {
		t.Fatal(err)
	}
	for bout.count() != 0 {
		if time.Now().After(deadline) {
			t.Fatal("A's route not withdrawn after removal")
		}
		time.Sleep(time.Millisecond)
	}
	if err := a.Up(&fakeOut{}, info); !errors.Is(err, ErrUnknownPeer) {
		t.Errorf("Up of a removed session: %v", err)
	}
	if ss, err := s.Peer(ctx, a.addr); ss != nil || err != nil {
		t.Errorf("removed session still found: %v %v", ss, err)
	}
	st, _ := s.Stats(ctx)
	if st.Members != 1 || st.Sessions != 1 || st.Routes != 0 {
		t.Errorf("after removal: %+v", st)
	}
}

// heldOut is a liveOut that holds back what QueueHeld queues until Flush, as speaker.Peer does
// (without its size and time bounds, so only Flush lets anything out).
type heldOut struct {
	*liveOut
	plain, held, flushes atomic.Int32
}

func (o *heldOut) Queue(b []byte) (int, error) {
	o.plain.Add(1)
	return o.liveOut.Queue(b)
}

func (o *heldOut) QueueHeld(b []byte) (int, error) {
	o.held.Add(1)
	return o.fakeOut.Queue(b) // no wake: it waits for Flush
}

func (o *heldOut) Flush() {
	o.flushes.Add(1)
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

// TestHeldOutputFlushedWhenIdle: a session whose output holds UPDATEs back is queued to with
// QueueHeld only, and the loop flushes it once it runs out of work, so that everything it was
// queued reaches it although nothing else would let it out.
func TestHeldOutputFlushedWhenIdle(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := newTestServer(t, nil)
	runErr := make(chan error, 1)
	go func() { runErr <- s.Run(ctx) }()
	var sessions [2]*Peer
	outs := [2]*heldOut{{liveOut: newLiveOut(false)}, {liveOut: newLiveOut(false)}}
	for i := range 2 {
		name := string(rune('A' + i))
		addr := netip.AddrFrom4([4]byte{192, 0, 2, byte(11 + i)})
		if err := s.AddMember(ctx, MemberConfig{Name: name, ASN: uint32(64501 + i)}); err != nil {
			t.Fatal(err)
		}
		ss, err := s.AddPeer(ctx, name, addr)
		if err != nil {
			t.Fatal(err)
		}
		go outs[i].run(ctx, t, ss)
		if err := ss.Up(outs[i], SessionInfo{RouterID: addr, Families: []speaker.Family{speaker.IPv4Unicast},
			Encode: speaker.EncodeOptions{FourOctetAS: true, MaxMessage: 4096}}); err != nil {
			t.Fatal(err)
		}
		sessions[i] = ss
	}
	const n = 3000
	ps := seqPrefixes(0, n, false)
	for j := 0; j < n; j += 100 {
		a := &speaker.Attrs{NextHop: netip.MustParseAddr("192.0.2.11"),
			ASPath: speaker.ASPath{{Type: speaker.SegSequence, ASNs: []uint32{64501, uint32(j)}}}}
		if err := sessions[0].Receive(&speaker.Update{Attrs: a, NLRI: ps[j : j+100]}); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(60 * time.Second) // a deadlock guard, not a timing assertion
	for outs[1].count() != n {
		if time.Now().After(deadline) {
			t.Fatalf("B has %d of %d routes (held %d, flushed %d)", outs[1].count(), n, outs[1].held.Load(), outs[1].flushes.Load())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if outs[1].held.Load() == 0 || outs[1].plain.Load() != 0 || outs[1].flushes.Load() == 0 {
		t.Errorf("B was queued %d times held and %d plainly, flushed %d times", outs[1].held.Load(), outs[1].plain.Load(), outs[1].flushes.Load())
	}
	cancel()
	if err := <-runErr; !errors.Is(err, context.Canceled) {
		t.Errorf("Run: %v", err)
	}
}
