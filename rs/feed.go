package rs

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ixrs/ixrs/policy"
	"github.com/ixrs/ixrs/speaker"
)

// The event feed: what BMP, MRT and a live looking glass build on. A subscriber gets, in the order
// the RIB loop made them, session ups and downs, Adj-RIB-In changes and Adj-RIB-Out changes. The
// loop appends to each subscriber's bounded ring and never waits for one: a subscriber that falls
// a ring behind is marked lost (later events are dropped and counted) and resynchronises with
// Resync, which replays the current state as events through a read job (budgeted like every
// read) between a sync-start and a sync-done marker, live events interleaved. Every event states
// the whole new state of what it names, so applying the replay and the live events in the order
// they arrive leaves the subscriber with exactly the RIB.
//
// With no subscriber the cost on the RIB loop is one branch per change (Server.feed.in/.out).

// EventKind says what an Event reports.
type EventKind uint8

// Event kinds.
const (
	// EventSessionUp: a session came up (Session holds its info and OPEN messages).
	EventSessionUp EventKind = iota + 1
	// EventSessionDown: a session went down (Session.Reason). Every route it was sent is gone with
	// it. Every route it sent is gone too, unless Session.Stale: then the member is restarting
	// gracefully, its routes stay (stale) and each leaves with its own withdrawal event.
	EventSessionDown
	// EventRoute: a route of the session's Adj-RIB-In was announced, changed (attributes or
	// verdict) or, with Attrs nil, withdrawn.
	EventRoute
	// EventExport: the session's Adj-RIB-Out for Prefix now holds Attrs (as sent), or nothing when
	// Attrs is nil.
	EventExport
	// EventSyncStart begins a resync: drop everything held; the current state follows.
	EventSyncStart
	// EventSyncDone ends the replay of a resync; live events continue.
	EventSyncDone
)

var eventNames = [...]string{"", "session-up", "session-down", "route", "export", "sync-start", "sync-done"}

func (k EventKind) String() string {
	if int(k) < len(eventNames) && k != 0 {
		return eventNames[k]
	}
	return "unknown"
}

// Event is one change. Route fields are set for EventRoute and EventExport, Session for
// EventSessionUp and EventSessionDown.
type Event struct {
	Kind EventKind
	// Seq numbers the subscription's events, dropped ones included: a gap is where events were lost.
	Seq uint64
	// Gen is the RIB generation after the change.
	Gen uint64

	Member      string
	ASN         uint32
	Neighbor    netip.Addr
	Incarnation uint64

	Prefix netip.Prefix
	// Attrs are the attributes as received (EventRoute) or as sent (EventExport); nil when
	// withdrawn. Shared with the RIB: do not modify.
	Attrs     *speaker.Attrs
	Reasons   policy.Reasons // EventRoute: empty when accepted
	LocalPref uint32         // EventRoute
	Info      policy.Info    // EventRoute: RPKI and IRR state

	Session *SessionEvent
}

// SessionEvent is the session part of EventSessionUp and EventSessionDown.
type SessionEvent struct {
	Info   SessionInfo // at Up; shared with the RIB, do not modify
	Since  time.Time   // when it came up
	Reason string      // EventSessionDown: Peer.DownWithReason's reason
	// Stale (EventSessionDown): the routes the session sent stay, stale, until route events
	// withdraw them (graceful restart, Peer.DownGraceful).
	Stale bool
}

// SubscribeOptions says what a subscription receives. Session events always come.
type SubscribeOptions struct {
	// Size is the ring's capacity in events (at least 64; default 65,536). The resync replay
	// fills at most half of it at a time, leaving the rest to live events.
	Size int
	// Routes asks for Adj-RIB-In events; Exports for Adj-RIB-Out events (one per session and
	// prefix: many, at a large exchange).
	Routes, Exports bool
}

// Errors of a Subscription.
var (
	// ErrLost is returned by Next once the ring overflowed and the events before the loss are
	// read: call Resync.
	ErrLost = errors.New("feed: events lost, resync needed")
	// ErrUnsubscribed is returned by Next after Unsubscribe.
	ErrUnsubscribed = errors.New("feed: unsubscribed")
)

// Subscription is one subscriber's ring. Next, Resync and Unsubscribe are for one goroutine; Lost
// may be called from any.
type Subscription struct {
	srv  *Server
	opts SubscribeOptions
	wake chan struct{}

	mu      sync.Mutex
	ring    []Event // appended by the loop, taken whole by the subscriber
	seq     uint64
	lost    bool
	dropped uint64
	closed  bool

	// The subscriber's side.
	local []Event
	next  int

	// replaying is set while a resync replay waits for room in the ring: the subscriber then
	// wakes the loop when it takes events.
	replaying atomic.Bool

	// Owned by the RIB loop.
	resync *feedDump
}

// feed is the RIB loop's list of subscribers and what any of them wants.
type feed struct {
	subs    []*Subscription
	in, out bool // some subscriber wants Adj-RIB-In / Adj-RIB-Out events
}

func (f *feed) update() {
	f.in, f.out = false, false
	for _, sub := range f.subs {
		f.in = f.in || sub.opts.Routes
		f.out = f.out || sub.opts.Exports
	}
}

// Subscribe starts a subscription. Its events begin with the next change; call Resync first for
// the current state.
func (s *Server) Subscribe(ctx context.Context, opts SubscribeOptions) (*Subscription, error) {
	sub := newSubscription(s, opts)
	if err := s.do(ctx, func() { s.subscribe(sub) }); err != nil {
		return nil, err
	}
	return sub, nil
}

func newSubscription(s *Server, opts SubscribeOptions) *Subscription {
	if opts.Size <= 0 {
		opts.Size = 1 << 16
	}
	opts.Size = max(opts.Size, 64)
	return &Subscription{srv: s, opts: opts, wake: make(chan struct{}, 1)}
}

func (s *Server) subscribe(sub *Subscription) {
	s.feed.subs = append(s.feed.subs, sub)
	s.feed.update()
}

// Unsubscribe ends the subscription and frees its ring.
func (sub *Subscription) Unsubscribe(ctx context.Context) error {
	s := sub.srv
	sub.mu.Lock()
	sub.closed = true
	sub.ring = nil
	sub.mu.Unlock()
	sub.local, sub.next = nil, 0
	sub.notify()
	return s.do(ctx, func() {
		for i, x := range s.feed.subs {
			if x == sub {
				s.feed.subs = slices.Delete(s.feed.subs, i, i+1)
				break
			}
		}
		s.feed.update()
		sub.resync = nil
	})
}

// Lost reports whether events were lost since the last Resync, and how many in all.
func (sub *Subscription) Lost() (bool, uint64) {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	return sub.lost, sub.dropped
}

// Next returns the next event, waiting for one until ctx is done. After a loss it returns the
// events queued before it, then ErrLost until Resync is called.
func (sub *Subscription) Next(ctx context.Context) (Event, error) {
	for {
		if sub.next < len(sub.local) {
			ev := sub.local[sub.next]
			sub.local[sub.next] = Event{}
			sub.next++
			return ev, nil
		}
		sub.mu.Lock()
		closed, lost := sub.closed, sub.lost
		if len(sub.ring) > 0 {
			// Take the whole ring and hand the loop the emptied buffer: both sides hold the lock
			// for a swap only.
			sub.local, sub.ring = sub.ring, sub.local[:0]
			sub.next = 0
			sub.mu.Unlock()
			if sub.replaying.Load() {
				sub.srv.mail.wakeUp()
			}
			continue
		}
		sub.mu.Unlock()
		switch {
		case closed:
			return Event{}, ErrUnsubscribed
		case lost:
			return Event{}, ErrLost
		}
		select {
		case <-sub.wake:
		case <-ctx.Done():
			return Event{}, ctx.Err()
		case <-sub.srv.stopped:
			return Event{}, ErrStopped
		}
	}
}

// Resync drops the events not yet read and replays the current state: EventSyncStart, a
// session-up event per established session, then (as subscribed) every route of every Adj-RIB-In
// and every session's Adj-RIB-Out, then EventSyncDone. Live events are interleaved with the
// replay. It returns once the replay has started.
func (sub *Subscription) Resync(ctx context.Context) error {
	clear(sub.local)
	sub.local, sub.next = sub.local[:0], 0
	return sub.srv.do(ctx, sub.startResync)
}

// startResync empties the ring and queues the replay; on the RIB loop.
func (sub *Subscription) startResync() {
	s := sub.srv
	if !sub.live() {
		return
	}
	sub.mu.Lock()
	clear(sub.ring)
	sub.ring = sub.ring[:0]
	sub.lost = false
	sub.mu.Unlock()
	sub.push(&Event{Kind: EventSyncStart, Gen: s.gen}, false)
	// A replay in progress is dropped (dropped: it is no longer sub.resync); this one starts over.
	d := &feedDump{sub: sub}
	s.queueRead(d)
	sub.resync = d
	sub.replaying.Store(true)
}

func (sub *Subscription) live() bool {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	return !sub.closed
}

func (sub *Subscription) notify() {
	select {
	case sub.wake <- struct{}{}:
	default:
	}
}

// push appends ev to the ring; called on the RIB loop only. A live event finding the ring full
// marks the subscription lost; a replayed one (dump) may use the slack above half the ring that the
// replay leaves for live events. It reports whether the event was kept.
func (sub *Subscription) push(ev *Event, dump bool) bool {
	sub.mu.Lock()
	sub.seq++
	if sub.closed || sub.lost || !dump && len(sub.ring) >= sub.opts.Size {
		if !sub.closed {
			sub.lost = true
			sub.dropped++
		}
		sub.mu.Unlock()
		return false
	}
	if sub.ring == nil {
		sub.ring = make([]Event, 0, min(sub.opts.Size, 1024))
	}
	sub.ring = append(sub.ring, *ev)
	sub.ring[len(sub.ring)-1].Seq = sub.seq
	sub.mu.Unlock()
	sub.notify()
	return true
}

// room returns how many replayed events the ring takes now: up to half its size, and no more than
// replayLead ahead of the subscriber.
func (sub *Subscription) room() int {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	return min(sub.opts.Size/2, replayLead) - len(sub.ring)
}

// replayLead bounds how far a replay runs ahead of its subscriber, in events. The ring and the
// subscriber's buffer, which trade places, grow to what the ring held at most; a replay filling
// half of a 65,536-event ring grew both to 32,768 events (about 6 MB each, reallocated for every
// subscription: most of a dump's allocation, BenchmarkDump in mrt/). A few loop passes' worth keeps
// the replay going while the subscriber works through the previous batch.
const replayLead = 2048

// pushDump appends the replayed events evs to the ring under one lock, as push does one by one.
func (sub *Subscription) pushDump(evs []Event) {
	if len(evs) == 0 {
		return
	}
	sub.mu.Lock()
	if sub.closed || sub.lost {
		sub.seq += uint64(len(evs))
		if !sub.closed {
			sub.dropped += uint64(len(evs))
		}
		sub.mu.Unlock()
		return
	}
	if sub.ring == nil {
		sub.ring = make([]Event, 0, min(sub.opts.Size, 1024))
	}
	for i := range evs {
		sub.seq++
		evs[i].Seq = sub.seq
	}
	sub.ring = append(sub.ring, evs...)
	sub.mu.Unlock()
	sub.notify()
}

// feedSession publishes a session's up or down.
func (s *Server) feedSession(p *session, up bool) {
	s.gen++
	if len(s.feed.subs) == 0 {
		return
	}
	ev := sessionEvent(p, up)
	ev.Gen = s.gen
	for _, sub := range s.feed.subs {
		sub.push(&ev, false)
	}
}

func sessionEvent(p *session, up bool) Event {
	ev := Event{Kind: EventSessionUp, Member: p.m.name, ASN: p.m.asn, Neighbor: p.addr, Incarnation: p.inc,
		Session: &SessionEvent{Info: p.ib.info, Since: p.since}}
	if !up {
		ev.Kind = EventSessionDown
		ev.Session.Reason, ev.Session.Stale = p.ib.reason, p.stale
	}
	return ev
}

// feedAdjIn is the Adj-RIB-In hook: r's attributes or verdict are final (gone: r was withdrawn).
// Routes dropped because their session went down are covered by its down event, except those of
// a stale session (graceful restart), which leave one by one.
func (s *Server) feedAdjIn(r *route, gone bool) {
	s.gen++
	if s.feed.in && (!r.p.down || r.p.stale) {
		s.publishAdjIn(r, gone)
	}
}

func (s *Server) publishAdjIn(r *route, gone bool) {
	ev := routeEvent(r, gone)
	ev.Gen = s.gen
	for _, sub := range s.feed.subs {
		if sub.opts.Routes {
			sub.push(&ev, false)
		}
	}
}

func routeEvent(r *route, gone bool) Event {
	p := r.p
	ev := Event{Kind: EventRoute, Member: p.m.name, ASN: p.m.asn, Neighbor: p.addr, Incarnation: p.inc,
		Prefix: r.pe.prefix()}
	if !gone {
		ev.Attrs, ev.Reasons, ev.LocalPref, ev.Info = r.set.attrs, r.reasons, r.localPref, r.info
	}
	return ev
}

// feedAdjOut is the Adj-RIB-Out hook: the sessions in ids (a bit set of session ids, read
// during the call only) now hold set for pe, or nothing when set is nil. The Adj-RIB-Out mutation
// path calls it where a change is final.
func (s *Server) feedAdjOut(pe *prefixEntry, ids bitset, set *attrSet) {
	s.gen++
	if s.feed.out {
		s.publishAdjOut(pe, ids, -1, set)
	}
}

func (s *Server) publishAdjOut(pe *prefixEntry, ids bitset, one int, set *attrSet) {
	ev := Event{Kind: EventExport, Prefix: pe.prefix(), Gen: s.gen}
	if set != nil {
		ev.Attrs = s.sets.sentAttrs(set)
	}
	send := func(id int) {
		p := s.peers[id]
		if p == nil || p.down {
			return
		}
		ev.Member, ev.ASN, ev.Neighbor, ev.Incarnation = p.m.name, p.m.asn, p.addr, p.inc
		for _, sub := range s.feed.subs {
			if sub.opts.Exports {
				sub.push(&ev, false)
			}
		}
	}
	if one >= 0 {
		send(one)
		return
	}
	ids.each(send)
}

// feedDump replays the RIB to one subscriber (Resync): phase 0 the sessions, 1 the Adj-RIB-In
// slabs (session index, slot, with the incarnation at that index), 2 the prefix slab's Adj-RIB-Out.
type feedDump struct {
	sub   *Subscription
	phase int
	a, b  int
	inc   uint64
	batch []Event // a step's events, pushed at its end under one lock (pushDump)
}

func (d *feedDump) dropped() bool { return d.sub.resync != d }

func (d *feedDump) finish() {
	d.sub.resync = nil
	d.sub.replaying.Store(false)
}

func (d *feedDump) step(s *Server, budget int) (int, bool) {
	sub := d.sub
	if lost, _ := sub.Lost(); lost || !sub.live() {
		return 1, true // lost again during the replay: it needs another Resync
	}
	room := sub.room()
	if room <= 0 {
		return 0, false // no progress until the subscriber takes events (it wakes the loop)
	}
	n := min(budget, room)
	used := 0
	for used < n {
		switch d.phase {
		case 0:
			if d.a >= len(s.peers) {
				d.phase, d.a, d.b = 1, 0, 0
				continue
			}
			p := s.peers[d.a]
			d.a++
			used++
			if p != nil && (!p.down || p.stale) {
				ev := sessionEvent(p, true)
				ev.Gen = s.gen
				d.batch = append(d.batch, ev)
				if p.stale { // its routes follow, as a stale session's
					ev = sessionEvent(p, false)
					ev.Gen = s.gen
					d.batch = append(d.batch, ev)
				}
			}
		case 1:
			if !sub.opts.Routes || d.a >= len(s.peers) {
				d.phase, d.a, d.b = 2, 0, 0
				continue
			}
			p := s.peers[d.a]
			if p == nil || (p.down && !p.stale) || d.b >= len(p.routes) {
				d.a, d.b = d.a+1, 0
				used++
				continue
			}
			if d.inc != p.inc {
				d.inc, d.b = p.inc, 0
			}
			r := p.routes[d.b]
			d.b++
			used++
			if r != nil {
				ev := routeEvent(r, false)
				ev.Gen = s.gen
				d.batch = append(d.batch, ev)
			}
		case 2:
			slab := s.prefixes.slab
			if !sub.opts.Exports || d.a >= len(slab) {
				d.batch = append(d.batch, Event{Kind: EventSyncDone, Gen: s.gen})
				d.flush()
				return max(used, 1), true
			}
			pe := slab[d.a]
			d.a++
			used++
			if pe == nil {
				continue
			}
			for _, e := range pe.out() {
				ev := Event{Kind: EventExport, Prefix: pe.prefix(), Gen: s.gen, Attrs: s.sets.sentAttrs(e.set)}
				e.bits.b.each(func(id int) {
					if p := s.peers[id]; p != nil && !p.down {
						ev.Member, ev.ASN, ev.Neighbor, ev.Incarnation = p.m.name, p.m.asn, p.addr, p.inc
						d.batch = append(d.batch, ev)
						used++
					}
				})
			}
		}
	}
	d.flush()
	return max(used, 1), false
}

// flush hands the step's events to the subscriber.
func (d *feedDump) flush() {
	d.sub.pushDump(d.batch)
	clear(d.batch) // it holds attribute sets
	d.batch = d.batch[:0]
}
