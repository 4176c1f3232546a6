package rs

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ixrs/ixrs/policy"
	"github.com/ixrs/ixrs/speaker"
)

// subscribeSync subscribes on the test's own loop.
func subscribeSync(s *Server, opts SubscribeOptions) *Subscription {
	sub := newSubscription(s, opts)
	s.subscribe(sub)
	return sub
}

// drain returns the events available now, and ErrLost when the subscription is lost.
func drain(t testing.TB, sub *Subscription) ([]Event, error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out []Event
	for i := 0; i < 10_000_000; i++ {
		ev, err := sub.Next(ctx)
		if err != nil {
			if errors.Is(err, context.Canceled) {
				err = nil
			}
			return out, err
		}
		out = append(out, ev)
	}
	t.Fatal("events never end")
	return nil, nil
}

func (ev Event) short() string {
	switch ev.Kind {
	case EventSessionUp, EventSessionDown:
		s := ev.Kind.String() + " " + ev.Member
		if ev.Kind == EventSessionDown {
			s += " (" + ev.Session.Reason + ")"
		}
		return s
	case EventRoute, EventExport:
		s := fmt.Sprintf("%s %s %s", ev.Kind, ev.Member, ev.Prefix)
		switch {
		case ev.Attrs == nil:
			s += " withdrawn"
		case ev.Reasons != 0:
			s += " rejected " + ev.Reasons.String()
		default:
			s += fmt.Sprintf(" from AS%d", ev.Attrs.ASPath.First())
		}
		return s
	}
	return ev.Kind.String()
}

// TestFeedOrder: a scripted sequence arrives in the order the RIB made it, numbered without gaps.
func TestFeedOrder(t *testing.T) {
	for _, cohorts := range []bool{true, false} {
		s := newTestServer(t, func(c *Config) { c.noCohorts = !cohorts })
		sub := subscribeSync(s, SubscribeOptions{Size: 1024, Routes: true, Exports: true})
		a := addMember(t, s, "A", 64501, "192.0.2.11")
		b := addMember(t, s, "B", 64502, "192.0.2.12")
		settle(t, s)
		a.announce(a.attrs(), "11.0.0.0/24", "11.0.1.0/24")
		readAll(t, s, a, b)
		a.withdraw("11.0.0.0/24")
		readAll(t, s, a, b)
		bad := a.attrs()
		bad.NextHop = netip.MustParseAddr("192.0.2.99")
		a.announce(bad, "11.0.1.0/24")
		readAll(t, s, a, b)
		b.ss.DownWithReason("hold timer expired")
		settle(t, s)

		evs, err := drain(t, sub)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for i, ev := range evs {
			got = append(got, ev.short())
			if ev.Seq != uint64(i+1) {
				t.Errorf("event %d numbered %d", i, ev.Seq)
			}
			if i > 0 && ev.Gen <= evs[i-1].Gen {
				t.Errorf("event %d: generation %d after %d", i, ev.Gen, evs[i-1].Gen)
			}
		}
		want := []string{
			"session-up A",
			"session-up B",
			"route A 11.0.0.0/24 from AS64501",
			"route A 11.0.1.0/24 from AS64501",
			"export B 11.0.0.0/24 from AS64501",
			"export B 11.0.1.0/24 from AS64501",
			"route A 11.0.0.0/24 withdrawn",
			"export B 11.0.0.0/24 withdrawn",
			"route A 11.0.1.0/24 rejected next hop not peer IP",
			"export B 11.0.1.0/24 withdrawn",
			"session-down B (hold timer expired)",
		}
		if !slices.Equal(got, want) {
			t.Errorf("cohorts %v: events\n%s\nwant\n%s", cohorts, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		if evs[0].Session == nil || evs[0].Incarnation == 0 || evs[0].Session.Info.RouterID != a.addr {
			t.Errorf("session-up event %+v", evs[0])
		}
	}
}

// ribModel is what a subscriber builds from the events.
type ribModel struct {
	up      map[netip.Addr]uint64
	routes  map[netip.Addr]map[netip.Prefix]string
	exports map[netip.Addr]map[netip.Prefix]string
	synced  bool
}

func newRIBModel() *ribModel {
	m := &ribModel{}
	m.reset()
	return m
}

func (m *ribModel) reset() {
	m.up = map[netip.Addr]uint64{}
	m.routes = map[netip.Addr]map[netip.Prefix]string{}
	m.exports = map[netip.Addr]map[netip.Prefix]string{}
}

func attrsKey(a *speaker.Attrs, reasons fmt.Stringer) string {
	return fmt.Sprintf("%v %v %v", a.ASPath, a.NextHop, reasons)
}

func (m *ribModel) apply(ev Event) {
	set := func(t map[netip.Addr]map[netip.Prefix]string, v string) {
		if t[ev.Neighbor] == nil {
			t[ev.Neighbor] = map[netip.Prefix]string{}
		}
		if ev.Attrs == nil {
			delete(t[ev.Neighbor], ev.Prefix)
		} else {
			t[ev.Neighbor][ev.Prefix] = v
		}
	}
	switch ev.Kind {
	case EventSyncStart:
		m.reset()
		m.synced = false
	case EventSyncDone:
		m.synced = true
	case EventSessionUp:
		m.up[ev.Neighbor] = ev.Incarnation
	case EventSessionDown:
		delete(m.up, ev.Neighbor)
		delete(m.routes, ev.Neighbor)
		delete(m.exports, ev.Neighbor)
	case EventRoute:
		if ev.Attrs != nil {
			set(m.routes, attrsKey(ev.Attrs, ev.Reasons))
		} else {
			set(m.routes, "")
		}
	case EventExport:
		if ev.Attrs != nil {
			set(m.exports, attrsKey(ev.Attrs, nil))
		} else {
			set(m.exports, "")
		}
	}
}

// readModel builds the same model from full reads of the RIB.
func readModel(t *testing.T, s *Server) *ribModel {
	t.Helper()
	m := newRIBModel()
	for addr, ss := range s.sessions {
		if ss.p == nil {
			continue
		}
		m.up[addr] = ss.p.inc
		for _, v := range []View{ViewReceived, ViewExported} {
			q := RoutesQuery{Neighbor: addr, View: v, Limit: MaxPage}
			tab := map[netip.Prefix]string{}
			for i := 0; ; i++ {
				page, err := s.routes(q)
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range page.Routes {
					if v == ViewReceived {
						tab[r.Prefix] = attrsKey(r.Attrs, r.Reasons)
					} else {
						tab[r.Prefix] = attrsKey(r.Attrs, nil)
					}
				}
				if !page.More {
					break
				}
				q.After = viaText(t, page.Cursor) // as a client hands it back
			}
			if len(tab) == 0 {
				continue
			}
			if v == ViewReceived {
				m.routes[addr] = tab
			} else {
				m.exports[addr] = tab
			}
		}
	}
	return m
}

func (m *ribModel) diff(o *ribModel) string {
	var d []string
	if !maps.Equal(m.up, o.up) {
		d = append(d, fmt.Sprintf("sessions %v / %v", m.up, o.up))
	}
	for _, x := range []struct {
		name string
		a, b map[netip.Addr]map[netip.Prefix]string
	}{{"routes", m.routes, o.routes}, {"exports", m.exports, o.exports}} {
		for addr := range x.a {
			if len(x.a[addr]) == 0 {
				delete(x.a, addr)
			}
		}
		for addr := range x.b {
			if len(x.b[addr]) == 0 {
				delete(x.b, addr)
			}
		}
		if len(x.a) != len(x.b) {
			d = append(d, fmt.Sprintf("%s: %d sessions / %d", x.name, len(x.a), len(x.b)))
		}
		for addr, tab := range x.a {
			if !maps.Equal(tab, x.b[addr]) {
				d = append(d, fmt.Sprintf("%s of %v: %d prefixes / %d", x.name, addr, len(tab), len(x.b[addr])))
			}
		}
	}
	return strings.Join(d, "; ")
}

// TestFeedLostResync: a subscriber with a small ring falls behind, is marked lost, resyncs while
// the RIB keeps changing, and then holds exactly what full reads of the RIB return.
func TestFeedLostResync(t *testing.T) {
	for _, cohorts := range []bool{true, false} {
		s := newTestServer(t, func(c *Config) { c.noCohorts = !cohorts; c.ReadBudget = 64 })
		sub := subscribeSync(s, SubscribeOptions{Size: 64, Routes: true, Exports: true})
		a := addMember(t, s, "A", 64501, "192.0.2.11")
		b := addMember(t, s, "B", 64502, "192.0.2.12")
		c := addMember(t, s, "C", 64503, "192.0.2.13")
		if err := a.ss.Receive(&speaker.Update{Attrs: a.attrs(), NLRI: seqPrefixes(0, 300, false)}); err != nil {
			t.Fatal(err)
		}
		if err := b.ss.Receive(&speaker.Update{Attrs: b.attrs(65001), NLRI: seqPrefixes(200, 200, false)}); err != nil {
			t.Fatal(err)
		}
		bad := c.attrs()
		bad.NextHop = netip.MustParseAddr("192.0.2.99")
		c.announce(bad, "11.9.0.0/24")
		readAll(t, s, a, b, c)

		lost, dropped := sub.Lost()
		if !lost || dropped == 0 {
			t.Fatalf("a ring of 64 events took a table of 500 prefixes: lost %v, %d dropped", lost, dropped)
		}
		evs, err := drain(t, sub)
		if !errors.Is(err, ErrLost) || len(evs) != 64 {
			t.Fatalf("after the loss: %d events, %v", len(evs), err)
		}

		sub.local, sub.next = sub.local[:0], 0 // what Resync does on the subscriber's side
		sub.startResync()
		model := newRIBModel()
		churn := 0
		for i := 0; ; i++ {
			if i > 100_000 {
				t.Fatal("resync never ends")
			}
			s.pass()
			evs, err := drain(t, sub)
			if err != nil {
				t.Fatalf("pass %d of the resync: %v", i, err)
			}
			for _, ev := range evs {
				model.apply(ev)
			}
			// Live changes while the replay runs: a few prefixes per pass, a flap.
			switch churn++; {
			case churn%5 == 0 && churn < 60:
				a.withdraw(seqPrefixes(churn, 2, false)[0].String(), seqPrefixes(churn, 2, false)[1].String())
			case churn%7 == 0 && churn < 60:
				c.announce(c.attrs(), seqPrefixes(1000+churn, 1, false)[0].String())
			case churn == 30:
				b.ss.DownWithReason("flap")
			case churn == 40:
				b.up()
			case churn == 50:
				if err := b.ss.Receive(&speaker.Update{Attrs: b.attrs(65002), NLRI: seqPrefixes(250, 3, false)}); err != nil {
					t.Fatal(err)
				}
			}
			a.read()
			b.read()
			c.read()
			if churn > 60 && model.synced && !s.pass() {
				break
			}
		}
		readAll(t, s, a, b, c)
		evs, err = drain(t, sub)
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range evs {
			model.apply(ev)
		}
		if d := model.diff(readModel(t, s)); d != "" {
			t.Errorf("cohorts %v: after resync the subscriber differs from the RIB: %s", cohorts, d)
		}
		if lost, _ := sub.Lost(); lost {
			t.Errorf("lost again")
		}
	}
}

// TestFeedLive runs the loop on its own goroutine: a subscriber that never reads does not hold
// up convergence (the loop never waits for it), looking-glass reads run meanwhile, a cancelled
// read returns at once, and a reading subscriber resyncs through the public API to the RIB's state.
func TestFeedLive(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := newTestServer(t, func(c *Config) { c.ReadBudget = 256 })
	runErr := make(chan error, 1)
	go func() { runErr <- s.Run(ctx) }()

	idle, err := s.Subscribe(ctx, SubscribeOptions{Size: 64, Routes: true, Exports: true})
	if err != nil {
		t.Fatal(err)
	}
	const members, perMember = 4, 2000
	outs := make([]*liveOut, members)
	peers := make([]*Peer, members)
	for i := range members {
		name := string(rune('A' + i))
		addr := netip.AddrFrom4([4]byte{192, 0, 2, byte(11 + i)})
		if err := s.AddMember(ctx, MemberConfig{Name: name, ASN: uint32(64501 + i)}); err != nil {
			t.Fatal(err)
		}
		if peers[i], err = s.AddPeer(ctx, name, addr); err != nil {
			t.Fatal(err)
		}
		outs[i] = newLiveOut(false)
		go outs[i].run(ctx, t, peers[i])
		if err := peers[i].Up(outs[i], SessionInfo{RouterID: addr, Families: []speaker.Family{speaker.IPv4Unicast},
			Encode: speaker.EncodeOptions{FourOctetAS: true, MaxMessage: 4096}, OpenSent: []byte{1}, OpenReceived: []byte{2}}); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	for i := range members {
		wg.Add(1)
		go func() {
			defer wg.Done()
			addr := netip.AddrFrom4([4]byte{192, 0, 2, byte(11 + i)})
			ps := seqPrefixes(i*perMember, perMember, false)
			for j := 0; j < perMember; j += 100 {
				a := &speaker.Attrs{NextHop: addr, ASPath: speaker.ASPath{{Type: speaker.SegSequence, ASNs: []uint32{uint32(64501 + i), uint32(j)}}}}
				if err := peers[i].Receive(&speaker.Update{Attrs: a, NLRI: ps[j : j+100]}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	// Reads while routes flow; one cancelled before it is served.
	for range 10 {
		if _, err := s.Search(ctx, SearchQuery{Origin: 7, Limit: 10}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Lookup(ctx, LookupQuery{Prefix: netip.MustParsePrefix("10.0.0.0/8"), Match: MatchOrLonger}); err != nil {
			t.Fatal(err)
		}
	}
	gone, stop := context.WithCancel(ctx)
	stop()
	if _, err := s.Routes(gone, RoutesQuery{Neighbor: peers[0].addr}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled read: %v", err)
	}
	wg.Wait()

	want := (members - 1) * perMember
	deadline := time.Now().Add(60 * time.Second) // a deadlock guard, not a timing assertion
	for i := range members {
		for outs[i].count() != want {
			if time.Now().After(deadline) {
				t.Fatalf("member %d has %d of %d routes", i, outs[i].count(), want)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	if lost, n := idle.Lost(); !lost || n == 0 {
		t.Errorf("the subscriber that never reads: lost %v, %d dropped", lost, n)
	}

	// A subscriber that reads, from its own goroutine.
	sub, err := s.Subscribe(ctx, SubscribeOptions{Size: 256, Routes: true, Exports: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := sub.Resync(ctx); err != nil {
		t.Fatal(err)
	}
	model := newRIBModel()
	for !model.synced {
		ev, err := sub.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		model.apply(ev)
	}
	routes, exports := 0, 0
	for _, tab := range model.routes {
		routes += len(tab)
	}
	for _, tab := range model.exports {
		exports += len(tab)
	}
	if len(model.up) != members || routes != members*perMember || exports != members*want {
		t.Errorf("after resync: %d sessions, %d routes, %d exports", len(model.up), routes, exports)
	}
	st, err := s.Sessions(ctx)
	if err != nil || len(st) != members || st[0].Member != "A" || string(st[0].Info.OpenReceived) != "\x02" {
		t.Errorf("sessions %+v, %v", st, err)
	}
	if err := sub.Unsubscribe(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := sub.Next(ctx); !errors.Is(err, ErrUnsubscribed) {
		t.Errorf("Next after Unsubscribe: %v", err)
	}
	if err := idle.Unsubscribe(ctx); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-runErr; !errors.Is(err, context.Canceled) {
		t.Errorf("Run returned %v", err)
	}
}

// TestFeedReevaluation: a verdict changed by re-evaluation (new IRR data) is published like an
// announcement, and its Adj-RIB-Out consequence follows; a read job progresses meanwhile, sharing
// the background budget with the walk.
func TestFeedReevaluation(t *testing.T) {
	s := newTestServer(t, func(c *Config) { c.ReadBudget = 4 })
	irr := policy.NewIRR([]policy.IRRPrefix{{Prefix: netip.MustParsePrefix("10.0.0.0/16"), Min: 16, Max: 24}}, []uint32{64501})
	imp := &policy.Import{NextHop: policy.NextHopAny, IRR: policy.IRRReject}
	if err := s.addMember(MemberConfig{Name: "A", ASN: 64501, Import: imp, IRR: irr}); err != nil {
		t.Fatal(err)
	}
	ss, err := s.addPeer("A", netip.MustParseAddr("192.0.2.11"))
	if err != nil {
		t.Fatal(err)
	}
	a := &tmember{t: t, name: "A", asn: 64501, addr: ss.addr, ss: ss, out: &fakeOut{}}
	a.up()
	b := addMember(t, s, "B", 64502, "192.0.2.12")
	if err := a.ss.Receive(&speaker.Update{Attrs: a.attrs(), NLRI: seqPrefixes(256, 40, false)}); err != nil { // 10.1.x.0/24: not in IRR
		t.Fatal(err)
	}
	readAll(t, s, a, b)
	if len(b.rib) != 0 {
		t.Fatalf("B has %d routes before the IRR change", len(b.rib))
	}
	sub := subscribeSync(s, SubscribeOptions{Size: 1024, Routes: true, Exports: true})
	done := make(chan int, 1)
	// SetIRR on the loop: the test drives the passes itself.
	m := s.members["A"]
	m.irr = policy.NewIRR([]policy.IRRPrefix{{Prefix: netip.MustParsePrefix("10.0.0.0/8"), Min: 8, Max: 24}}, []uint32{64501})
	req := revalRequest{done: []chan int{done}}
	req.addMember(m)
	s.reval.queue(req)
	j := newRoutesJob(RoutesQuery{Neighbor: a.addr, View: ViewAccepted, Limit: MaxPage})
	j.ctx, j.done = context.Background(), make(chan struct{})
	s.queueRead(j)
	readDone := false
	for i := 0; len(done) == 0; i++ {
		if i > 10_000 {
			t.Fatal("re-evaluation never ends")
		}
		s.pass()
		select {
		case <-j.done:
			if len(done) == 0 {
				readDone = true // the read finished while the walk still ran
			}
		default:
		}
	}
	readAll(t, s, a, b)
	if n := <-done; n != 40 || len(b.rib) != 40 {
		t.Fatalf("%d verdicts changed, B has %d routes", n, len(b.rib))
	}
	if !readDone {
		t.Errorf("the read job waited for the re-evaluation walk to end")
	}
	evs, err := drain(t, sub)
	if err != nil {
		t.Fatal(err)
	}
	routes, exports := 0, 0
	for _, ev := range evs {
		switch {
		case ev.Kind == EventRoute && ev.Reasons == 0 && ev.Attrs != nil && ev.Neighbor == a.addr:
			routes++
		case ev.Kind == EventExport && ev.Attrs != nil && ev.Neighbor == b.addr:
			if routes == 0 {
				t.Errorf("export before the route it exports")
			}
			exports++
		default:
			t.Errorf("unexpected event %s", ev.short())
		}
	}
	if routes != 40 || exports != 40 {
		t.Errorf("%d route events, %d export events; want 40 each", routes, exports)
	}
}
