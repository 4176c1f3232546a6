package rs

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ixrs/ixrs/policy"
)

// Server is the route server's RIB: members, Adj-RIB-In, candidates, Adj-RIB-Out and the outbound
// work of every session. All of it is owned by one goroutine, Run (docs/architecture.md, design choice 5); the other
// methods talk to it through the mailbox and the control channel.
type Server struct {
	cfg Config
	log *slog.Logger

	ctl     chan func()
	mail    mailbox
	stopped chan struct{} // closed when Run returns
	stop    atomic.Bool
	gshut   atomic.Bool // mirrors sets.gshut for GracefulShutdown

	// Everything below is owned by Run.
	sets     *attrTable
	bits     bitsTable // Adj-RIB-Out session sets (adjout.go)
	prefixes *prefixTable
	cl       changeList
	members  map[string]*member
	sessions map[netip.Addr]*Peer
	peers    []*session // by id; nil: free id
	freeIDs  []int
	// exported counts, per family and session id, the prefixes each session has in the
	// Adj-RIB-Out (counters.go).
	exported [numFams]bitCounters
	clearing []*clearJob
	sweeps   []*staleSweep // stale-route sweeps running, oldest first (grsweep.go)
	reval    revalidation
	rov      policy.OriginValidator // the VRPs in force (SetVRPs); nil: none
	aspa     policy.ASPAVerifier    // the ASPA records in force (SetASPA); nil: none
	reads    []readSlot             // read jobs and feed dumps (read.go), least served first
	held     []*session             // sessions queued to with QueueHeld since the last flushHeld
	// quietTimer times idleFlush's wait.
	quietTimer *time.Timer
	// quickReads counts the looking-glass queries among reads; lastRead is when the reads last
	// had a turn (readTurn); readBuf is readTurn's scratch.
	quickReads int
	lastRead   time.Time
	readBuf    []readTask
	setHeap    setHeap // searchJob.indexStep's scratch
	gaps       readGaps
	busy       bool                    // this pass routed (took or sent UPDATEs): feed replays trickle (read.go)
	routingNs  atomic.Uint64           // wall time of the inbound and outbound phases so far, for RoutingTime
	routingAt  atomic.Int64            // when the running pass's inbound phase began (UnixNano); 0: none running
	feed       feed                    // event subscribers (feed.go)
	gen        uint64                  // RIB generation: bumped on every Adj-RIB-In, Adj-RIB-Out and session change
	incs       uint64                  // incarnations handed out (session.inc)
	dumpWork   int                     // entries table dumps visited in this pass (background's budget)
	profiles   map[ExportProfile]uint8 // export profile → id (1..maxProfiles); never shrinks
	active     []*inbox                // inboxes that may hold messages, served round robin
	buf        []byte                  // encoding scratch; Queue copies it
	coll       collector
	evbuf      []mailEvent // the mailbox's previous queue, reused
	now        int64

	// Session ids by what export decides on (cohort.go): the sessions of each AS and of each
	// family. epoch counts their changes, invalidating the per-set exclusions computed from them.
	asnIDs  map[uint32]bitset
	famIDs  [numFams]bitset
	llgrIDs bitset // sessions that negotiated long-lived graceful restart (llgr.go)
	epoch   uint64
	co      cohort

	stats loopStats
}

// loopStats are the counters the RIB loop maintains as it goes (see stats.go for the snapshot).
type loopStats struct {
	passes, idle                                  uint64
	msgsIn, msgsOut                               uint64
	routes, accepted                              int
	adjOutEntries                                 int
	inNanos, outNanos, bgNanos                    uint64
	ctlNanos                                      uint64
	routesWithdrawnOnDown                         uint64
	dumpsStarted, dumpsFinished                   uint64
	routesReevaluated                             uint64
	cohortPulls, cohortSessions                   uint64
	staleReplaced, staleSwept                     uint64                    // graceful restart (gr.go): stale routes replaced, swept
	staleExpired                                  uint64                    // graceful-restart timers that ran out with stale routes
	llgrMarked, llgrExpired                       uint64                    // long-lived graceful restart (llgr.go): routes made LLGR-stale, timers run out
	borrOut, borrIn, refreshSwept, refreshExpired uint64                    // enhanced route refresh (refresh.go)
	phases                                        [NumPhases]PhaseHistogram // status.go
	revalWalks, revalNanos                        uint64
	readTurns                                     uint64               // mid-pass read turns (readTurn)
	readTurnsAt                                   [numReadSites]uint64 // the same, by where they were taken
	readGaps                                      PhaseHistogram       // stretches of loop work while a query waited (readgap.go)
	readGapNanos                                  uint64               // their total
}

// New returns a Server; it does nothing until Run.
func New(cfg Config) *Server {
	cfg.setDefaults()
	s := &Server{
		cfg:      cfg,
		log:      cfg.Logger.With("component", "rs"),
		ctl:      make(chan func(), 64),
		stopped:  make(chan struct{}),
		sets:     newAttrTable(cfg.Export, cfg.ASN),
		prefixes: newPrefixTable(),
		members:  make(map[string]*member),
		sessions: make(map[netip.Addr]*Peer),
		asnIDs:   make(map[uint32]bitset),
		epoch:    1,
		lastRead: time.Now(),
	}
	s.mail.wake = make(chan struct{}, 1)
	s.cl.init()
	return s
}

func (s *Server) isStopped() bool { return s.stop.Load() }

// Run is the RIB loop. It returns when ctx is done; afterwards every method returns ErrStopped.
//
// Each pass: control requests, session events, at most one inbound message per session, then
// outbound work for every session that can take it (a bounded slice each), then background walks.
// When a pass finds nothing to do the loop sleeps until something arrives.
func (s *Server) Run(ctx context.Context) error {
	defer func() {
		s.stop.Store(true)
		close(s.stopped)
	}()
	for {
		if s.pass() {
			select {
			case <-ctx.Done():
				return ctx.Err()
			default:
			}
			continue
		}
		s.stats.idle++
		s.gaps.at = time.Time{} // a wait for work is no stretch of work (readgap.go)
		if len(s.held) > 0 && !s.idleFlush(ctx) {
			continue // work came first: the held output waits for what it brings
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case f := <-s.ctl:
			f()
		case <-s.mail.wake:
		}
	}
}

// heldQuiet is how long the loop waits for more work before it flushes held output: a member's
// burst arrives as a run of reads with short gaps, and output flushed at every gap leaves in small
// writes.
const heldQuiet = time.Millisecond

// idleFlush waits up to heldQuiet for work; it flushes the held output and reports true when none
// came. It runs control requests that arrive meanwhile.
func (s *Server) idleFlush(ctx context.Context) bool {
	if s.quietTimer == nil {
		s.quietTimer = time.NewTimer(heldQuiet)
	} else {
		s.quietTimer.Reset(heldQuiet)
	}
	defer s.quietTimer.Stop()
	select {
	case <-ctx.Done():
	case f := <-s.ctl:
		f()
		return false
	case <-s.mail.wake:
		return false
	case <-s.quietTimer.C:
	}
	s.flushHeld()
	return true
}

// pass runs one loop pass and reports whether it did anything.
func (s *Server) pass() bool {
	s.stats.passes++
	t0 := time.Now()
	s.readSiteAt(sitePass, t0)
	s.now = t0.Unix()
	worked := false

	for i := 0; i < cap(s.ctl); i++ {
		select {
		case f := <-s.ctl:
			f()
			worked = true
			continue
		default:
		}
		break
	}
	if s.events() {
		worked = true
	}
	t1 := time.Now()
	s.stats.ctlNanos += uint64(t1.Sub(t0))
	s.stats.phases[PhaseControl].observe(t1.Sub(t0))

	s.routingAt.Store(t1.UnixNano())
	in := s.inbound()
	worked = worked || in
	t2 := time.Now()
	s.stats.inNanos += uint64(t2.Sub(t1))
	s.stats.phases[PhaseInbound].observe(t2.Sub(t1))

	out := s.outbound()
	worked = worked || out
	s.busy = in || out
	if !s.busy && s.prefixes.settle(settleCells) {
		worked = true
	}
	t3 := time.Now()
	s.routingNs.Add(uint64(t3.Sub(t1)))
	s.routingAt.Store(0)
	s.stats.outNanos += uint64(t3.Sub(t2))
	s.stats.phases[PhaseOutbound].observe(t3.Sub(t2))

	// A pass that routed gives its reads at most a sixteenth of its routing time (or of
	// ReadInterval, when longer), so that 50 looking-glass clients cannot take a large share of
	// a busy loop; a pass with nothing else to do gives them the whole budget.
	var readDeadline time.Time
	if worked {
		readDeadline = t3.Add(max(s.cfg.ReadInterval, t3.Sub(t0)) / readSliceOf)
	}
	if s.background(readDeadline) {
		worked = true
	}
	bg := time.Since(t3)
	s.stats.bgNanos += uint64(bg)
	s.stats.phases[PhaseBackground].observe(bg)
	return worked
}

// do runs f on the RIB loop and waits for it.
func (s *Server) do(ctx context.Context, f func()) error {
	done := make(chan struct{})
	select {
	case s.ctl <- func() { f(); close(done) }:
	case <-ctx.Done():
		return ctx.Err()
	case <-s.stopped:
		return ErrStopped
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-s.stopped:
		return ErrStopped
	}
}

// AddMember configures a member. Its sessions are added with AddPeer.
func (s *Server) AddMember(ctx context.Context, cfg MemberConfig) error {
	var err error
	if derr := s.do(ctx, func() { err = s.addMember(cfg) }); derr != nil {
		return derr
	}
	return err
}

func (s *Server) addMember(cfg MemberConfig) error {
	if _, ok := s.members[cfg.Name]; ok {
		return fmt.Errorf("member %s: %w", cfg.Name, ErrDuplicate)
	}
	imp := cfg.Import
	if imp == nil {
		imp = s.cfg.Import
	}
	prof, err := s.profile(cfg.Export)
	if err != nil {
		return fmt.Errorf("member %s: %w", cfg.Name, err)
	}
	s.members[cfg.Name] = &member{name: cfg.Name, asn: cfg.ASN, imp: imp, irr: cfg.IRR, maxPrefix: cfg.MaxPrefix, prof: prof}
	return nil
}

// profile returns the id for a member's export profile, assigning the next one to a new profile.
func (s *Server) profile(p *ExportProfile) (exportProfile, error) {
	if p == nil {
		return exportProfile{}, nil
	}
	if id, ok := s.profiles[*p]; ok {
		return exportProfile{id: id, p: p}, nil
	}
	if len(s.profiles) >= maxProfiles {
		return exportProfile{}, fmt.Errorf("more than %d distinct export profiles", maxProfiles)
	}
	if s.profiles == nil {
		s.profiles = map[ExportProfile]uint8{}
	}
	id := uint8(len(s.profiles) + 1)
	s.profiles[*p] = id
	return exportProfile{id: id, p: p}, nil
}

// RemoveMember takes a member's sessions down and forgets it.
func (s *Server) RemoveMember(ctx context.Context, name string) error {
	var sessions []*Peer
	var err error
	derr := s.do(ctx, func() {
		m := s.members[name]
		if m == nil {
			err = fmt.Errorf("member %s: %w", name, ErrUnknownMember)
			return
		}
		sessions = m.sessions
	})
	if derr != nil {
		return derr
	}
	if err != nil {
		return err
	}
	for _, ss := range sessions {
		if err := s.RemovePeer(ctx, ss); err != nil {
			return err
		}
	}
	return s.do(ctx, func() { delete(s.members, name) })
}

// AddPeer configures a session of member with neighbor address addr and returns its handle.
func (s *Server) AddPeer(ctx context.Context, memberName string, addr netip.Addr) (*Peer, error) {
	var ss *Peer
	var err error
	if derr := s.do(ctx, func() { ss, err = s.addPeer(memberName, addr) }); derr != nil {
		return nil, derr
	}
	return ss, err
}

func (s *Server) addPeer(memberName string, addr netip.Addr) (*Peer, error) {
	m := s.members[memberName]
	switch {
	case m == nil:
		return nil, fmt.Errorf("member %s: %w", memberName, ErrUnknownMember)
	case s.sessions[addr] != nil:
		return nil, fmt.Errorf("session %s: %w", addr, ErrDuplicate)
	}
	ss := &Peer{srv: s, addr: addr, member: memberName, m: m}
	m.sessions = append(m.sessions, ss)
	m.addrs = append(m.addrs, addr)
	s.sessions[addr] = ss
	return ss, nil
}

// RemovePeer takes the session down and forgets it.
func (s *Server) RemovePeer(ctx context.Context, ss *Peer) error {
	ss.mu.Lock()
	ss.removed.Store(true) // under mu: no Up can slip in between this and the Down
	ss.mu.Unlock()
	ss.DownWithReason("removed from the configuration")
	return s.do(ctx, func() {
		if s.sessions[ss.addr] != ss {
			return
		}
		s.sweepStaleNow(ss, "session removed from the configuration")
		delete(s.sessions, ss.addr)
		m := ss.m
		m.sessions = slices.DeleteFunc(m.sessions, func(x *Peer) bool { return x == ss })
		// A fresh slice: established sessions share the old one in their policy view.
		m.addrs = slices.DeleteFunc(slices.Clone(m.addrs), func(a netip.Addr) bool { return a == ss.addr })
	})
}

// Peer returns the handle of the session with neighbor address addr, or nil.
func (s *Server) Peer(ctx context.Context, addr netip.Addr) (*Peer, error) {
	var ss *Peer
	err := s.do(ctx, func() { ss = s.sessions[addr] })
	return ss, err
}

// mailbox carries session events from the session goroutines to the RIB loop, in order. Posting
// never blocks for longer than a short critical section, so Drained may post from a writer
// goroutine and Up/Down from the session's own goroutine without waiting for the RIB.
type mailbox struct {
	mu   sync.Mutex
	q    []mailEvent
	wake chan struct{}
	// reads counts the evRead events in q, so that readTurn looks for new read jobs in the
	// middle of a pass without taking the lock when there are none.
	reads atomic.Int32
	// since is when (Unix ns) the first read job was posted since the loop last looked, for the
	// read gaps (readgap.go); 0: none.
	since atomic.Int64
}

type mailKind uint8

const (
	evUp mailKind = iota
	evDown
	evReady   // the inbox has messages
	evDrained // the output buffer has been written out
	evRead    // a read job (read.go)
	evGRTimer // a graceful-restart timer ran out (gr.go)
	// evRefreshTimer: a member's enhanced route refresh timer ran out (refresh.go)
	evRefreshTimer
	evLLGRTimer // a long-lived stale time ran out (llgr.go)
)

type mailEvent struct {
	kind mailKind
	ib   *inbox
	job  readTask // evRead only
	ss   *Peer    // evGRTimer only
	gen  uint64   // evGRTimer, evRefreshTimer: the timer's generation
	fi   famIdx   // evRefreshTimer, evLLGRTimer only
}

func (mb *mailbox) post(ev mailEvent) {
	mb.mu.Lock()
	mb.q = append(mb.q, ev)
	mb.mu.Unlock()
	select {
	case mb.wake <- struct{}{}:
	default:
	}
}

// postRead posts a read job.
func (mb *mailbox) postRead(t readTask) {
	mb.since.CompareAndSwap(0, time.Now().UnixNano())
	mb.reads.Add(1)
	mb.post(mailEvent{kind: evRead, job: t})
}

// takeReads moves the read jobs out of the queue, in order, leaving the other events in theirs.
func (mb *mailbox) takeReads(dst []readTask) []readTask {
	mb.mu.Lock()
	defer mb.mu.Unlock()
	keep := mb.q[:0]
	for _, ev := range mb.q {
		if ev.kind == evRead {
			dst = append(dst, ev.job)
		} else {
			keep = append(keep, ev)
		}
	}
	clear(mb.q[len(keep):])
	mb.q = keep
	mb.reads.Add(-int32(len(dst)))
	return dst
}

// wakeUp wakes the loop if it sleeps, without an event.
func (mb *mailbox) wakeUp() {
	select {
	case mb.wake <- struct{}{}:
	default:
	}
}

func (mb *mailbox) take(buf []mailEvent) []mailEvent {
	mb.mu.Lock()
	q := mb.q
	mb.q = buf[:0]
	mb.mu.Unlock()
	return q
}

// events applies the session events posted since the last pass.
func (s *Server) events() bool {
	evs := s.mail.take(s.evbuf)
	defer func() { clear(evs); s.evbuf = evs[:0] }()
	for _, ev := range evs {
		ib := ev.ib
		switch ev.kind {
		case evUp:
			s.up(ib)
		case evDown:
			if ib.p != nil {
				s.down(ib.p)
			}
		case evReady:
			if ib.p != nil && !ib.p.down {
				s.active = append(s.active, ib)
			}
		case evDrained:
			ib.drained.Store(false)
			if p := ib.p; p != nil && !p.down {
				p.buffered, p.throttled = 0, false
			}
		case evRead:
			s.mail.reads.Add(-1)
			s.queueRead(ev.job)
		case evGRTimer:
			s.grTimer(ev.ss, ev.gen)
		case evRefreshTimer:
			s.refreshTimer(ib, ev.fi, ev.gen)
		case evLLGRTimer:
			s.llgrTimer(ev.ss, ev.fi, ev.gen)
		}
	}
	return len(evs) > 0
}

// up starts an incarnation: a dense id, a marker at the tail of the change list (every earlier
// change is covered by the table dump), and the dump itself.
func (s *Server) up(ib *inbox) {
	ss := ib.ss
	if ss.m == nil || s.sessions[ss.addr] != ss {
		return // removed meanwhile
	}
	p := &session{
		id:       s.allocID(),
		ss:       ss,
		m:        ss.m,
		ib:       ib,
		out:      ib.out,
		opts:     ib.info.Encode,
		routerID: ib.info.RouterID,
		addr:     ss.addr,
		imp:      ss.m.imp,
		since:    time.Now(),
		llgr:     ib.info.LongLivedGR != nil,
	}
	p.held, _ = ib.out.(HeldOutput)
	s.incs++
	p.inc = s.incs
	p.polSess = policy.Session{ASN: p.m.asn, Addr: p.addr, Addrs: p.m.addrs}
	for _, f := range ib.info.Families {
		if fi, ok := famIdxOf(f); ok {
			p.fams[fi] = true
		}
	}
	p.pend.init()
	p.ap = newAddPath(ib.info)
	s.peers[p.id] = p
	s.index(p, true)
	ss.p = p
	ib.p = p
	s.cl.attachTail(p)
	s.startWalk(p, p.fams, false, true)
	s.feedSession(p, true)
	s.log.Info("session up", "member", p.m.name, "asn", p.m.asn, "neighbor", p.addr, "id", p.id)
	s.staleResume(p)
}

// down ends an incarnation: its routes leave every candidate list now (the change list carries
// the withdrawals to the other members), its queued input and output are dropped, and its id is
// freed once its Adj-RIB-Out bits are cleared. A member restarting gracefully keeps its routes,
// stale, for a while (gr.go).
func (s *Server) down(p *session) {
	if p.down {
		return
	}
	p.down = true // before its routes are dropped: the feed's down event stands for them
	p.stale = s.retain(p)
	if p.ss.p == p {
		p.ss.p = nil
	}
	p.ss.lastDown, p.ss.lastReason = time.Now(), p.ib.reason
	s.feedSession(p, false)
	s.index(p, false)
	s.cl.detach(p)
	n := 0
	if p.stale {
		n = s.keepStale(p)
	} else {
		for _, r := range p.routes {
			if r != nil {
				s.dropRoute(r)
				n++
			}
		}
	}
	s.stats.routesWithdrawnOnDown += uint64(n)
	p.walk = dumpWalk{}
	p.pend.reset()
	s.apRelease(p)
	p.stopRefresh()
	for len(p.ib.ch) > 0 {
		<-p.ib.ch
	}
	if s.exportsAny(p) {
		s.clearing = append(s.clearing, &clearJob{p: p})
	} else {
		s.cleared(p)
	}
	s.log.Info("session down", "member", p.m.name, "asn", p.m.asn, "neighbor", p.addr, "routes", n)
}

// index adds p to (or removes it from) the id sets export decisions are computed from.
func (s *Server) index(p *session, up bool) {
	mark := func(b *bitset) {
		if up {
			b.set(p.id)
		} else {
			b.clear(p.id)
		}
	}
	mark(&p.m.ids)
	ids := s.asnIDs[p.m.asn]
	mark(&ids)
	if ids.empty() {
		delete(s.asnIDs, p.m.asn)
	} else {
		s.asnIDs[p.m.asn] = ids
	}
	for fi, ok := range p.fams {
		if ok {
			mark(&s.famIDs[fi])
		}
	}
	if p.llgr {
		mark(&s.llgrIDs)
	}
	s.epoch++
}

func (s *Server) allocID() int {
	if len(s.freeIDs) > 0 {
		// The lowest free id keeps bit sets short.
		i := slices.Index(s.freeIDs, slices.Min(s.freeIDs))
		id := s.freeIDs[i]
		s.freeIDs = slices.Delete(s.freeIDs, i, i+1)
		return id
	}
	s.peers = append(s.peers, nil)
	for fi := range s.exported {
		s.exported[fi].grow(len(s.peers))
	}
	return len(s.peers) - 1
}

// exportedOf returns how many prefixes of family fi p has in the Adj-RIB-Out.
func (s *Server) exportedOf(p *session, fi famIdx) int { return s.exported[fi].get(p.id) }

// exportsAny reports whether p has anything in the Adj-RIB-Out.
func (s *Server) exportsAny(p *session) bool {
	return !s.exported[0].zero(p.id) || !s.exported[1].zero(p.id)
}

func (s *Server) freeID(p *session) {
	s.peers[p.id] = nil
	s.freeIDs = append(s.freeIDs, p.id)
}

// inbound takes at most one message from every inbox that has some, so that a member sending a
// large table cannot delay another member's withdrawal by more than one message. (Taking an equal
// share of Config.WalkBatch prefixes from each instead made fewer, fuller passes: 2,314 passes and
// 229,994 Queue calls fell to 184 and 18,219 in BenchmarkConverge, and medium and large converged
// with 10-20% less CPU; but at 300 members and 1M routes convergence went from 22 s to 35-38 s,
// CPU from 21 s to 38-41 s, so it was taken back; docs/architecture.md.)
func (s *Server) inbound() bool {
	worked := false
	keep := s.active[:0]
	for _, ib := range s.active {
		p := ib.p
		if p == nil || p.down {
			continue
		}
		select {
		case m := <-ib.ch:
			worked = true
			p.msgsIn++
			s.stats.msgsIn++
			if p.overLimit {
				// Over its max-prefix limit and being closed: nothing more counts.
			} else if m.u != nil {
				s.importUpdate(p, m.u)
			} else {
				s.refreshIn(p, m.refresh, m.rrSub)
			}
			keep = append(keep, ib)
			s.readTurn(siteInbound)
		default:
			// Empty: unschedule, then look again, since the reader may have queued a message after
			// the receive above and before sched was cleared (it then did not post evReady).
			ib.sched.Store(false)
			if len(ib.ch) > 0 && ib.sched.CompareAndSwap(false, true) {
				keep = append(keep, ib)
			}
		}
	}
	clear(s.active[len(keep):])
	s.active = keep
	return worked
}

// outbound gives every session that can take more a bounded slice of its work. Caught-up sessions
// at one change-list marker are served together (cohort.go); every other session pulls changes and
// dump entries into its pending state, which is encoded and queued.
func (s *Server) outbound() bool {
	worked := false
	pass := s.stats.passes
	held := s.reval.holdOutput(s.cfg.WalkBatch) // a running revalidation batches its output (reeval.go)
	for _, p := range s.peers {
		if p == nil || p.down || p.closed || !p.throttled {
			continue
		}
		n, err := p.out.Queue(nil)
		if err != nil || n > s.cfg.OutLowWater {
			continue
		}
		p.buffered, p.throttled = n, false
	}
	if !s.cfg.noCohorts && !held {
		for _, p := range s.peers {
			if p == nil || p.pass == pass || p.mk == nil || p.mk.pass == pass || !s.cohortReady(p) {
				continue
			}
			if s.cohortPull(p.mk, pass) {
				worked = true
			}
			s.readTurn(siteCohort)
		}
	}
	for _, p := range s.peers {
		if p == nil || p.down || p.closed || p.throttled || p.pass == pass {
			continue
		}
		if s.pull(p) {
			worked = true
		}
		before := p.msgsOut
		s.flush(p, s.working(p))
		if p.msgsOut != before {
			worked = true
		}
		s.readTurn(siteOutbound)
	}
	s.trim()
	return worked
}

// pull moves up to Config.WalkBatch prefixes of p's work into its pending state: first the changes
// behind its marker, then the table dump.
func (s *Server) pull(p *session) bool {
	budget := s.cfg.WalkBatch
	start := budget
	if p.pend.n >= s.cfg.PendingMax || p.pend.endDue() {
		// Full, or an End-of-RIB or EoRR is due: it must follow the table it ends, so nothing new
		// is pulled in front of it until it is out.
		return false
	}
	// Changes first, visited from the marker on; the marker moves once at the end (reconciling
	// never modifies the change list). A table dump in progress keeps at least half the budget,
	// so that sustained churn cannot starve it.
	clBudget := budget
	if p.walk.active {
		clBudget = budget / 2
	}
	if s.reval.held {
		clBudget = 0
	}
	var last *clNode
	for n := p.mk.head.node.next; n != s.cl.end() && clBudget > 0 && p.pend.n < s.cfg.PendingMax; n = n.next {
		pe := n.entry()
		if pe == nil {
			continue // another session's marker
		}
		// An enhanced refresh forces these too (refresh.go).
		s.reconcile(pe, p, p.walk.active && p.walk.eorr[pe.fam()])
		last = n
		clBudget--
		budget--
	}
	if last != nil {
		s.cl.advance(p, last)
	}
	for budget > 0 && p.walk.active && p.pend.n < s.cfg.PendingMax {
		n := s.walkStep(p, budget)
		budget -= n
		s.dumpWork += n
	}
	return budget != start
}

// trim drops from the change list the prefixes every session has passed, deleting entries that
// hold nothing any more.
func (s *Server) trim() {
	for n := s.cl.front(); n != nil; n = s.cl.front() {
		s.cl.remove(n)
		if pe := n.entry(); pe.unused() {
			s.prefixes.delete(pe)
		}
	}
}

// background advances the walks that clear departed sessions' Adj-RIB-Out bits and the
// revalidation walk (reeval.go).
//
// Table dumps, revalidation and read jobs (looking-glass pages, feed resyncs) share one budget of
// Config.ReadBudget entries per pass: dumps first (each session's dump is also bounded by
// Config.WalkBatch), then revalidation and reads, half each while both have work, with at least a
// quarter of the budget left to them.
func (s *Server) background(readDeadline time.Time) bool {
	worked := false
	// Table dumps ran in this pass's outbound phase; what they visited comes out of the same budget,
	// down to a quarter of it that revalidation and reads always keep (they must not starve while
	// members come up).
	budget := max(s.cfg.ReadBudget-s.dumpWork, s.cfg.ReadBudget/4, 1)
	s.dumpWork = 0
	if s.reval.busy() {
		rb := budget
		if len(s.reads) > 0 {
			rb = max(budget/2, 1)
		}
		budget -= rb
		worked = s.revalStep(rb) // a step's changes are pulled by the next pass's outbound
	}
	if len(s.reads) > 0 && s.readStep(max(budget, 1), readDeadline) {
		worked = true
	}
	if len(s.sweeps) > 0 {
		s.sweepStep(s.cfg.ReadBudget)
		worked = true
	}
	if len(s.clearing) == 0 {
		return worked
	}
	keep := s.clearing[:0]
	for _, j := range s.clearing {
		if !s.clearStep(j) {
			keep = append(keep, j)
		}
	}
	clear(s.clearing[len(keep):])
	s.clearing = keep
	return true
}

// RoutingTime is the wall time the RIB loop has spent routing since it started: in the inbound and
// outbound phases of its passes (taking UPDATEs from members, sending them UPDATEs), the running
// pass's so far included, since a pass under churn lasts long. It does not grow while the loop
// sleeps, and a pass with nothing to route adds microseconds. Sampled twice, it says what share of
// the time between the samples the loop was busy with members (converging, churning, a member
// receiving its table); background work (an MRT dump's walk and encoding) can wait for that share
// to drop so that it does not take CPU from routing. Safe for any goroutine; a read racing with the
// end of a pass may be off by that pass.
func (s *Server) RoutingTime() time.Duration {
	d := time.Duration(s.routingNs.Load())
	if at := s.routingAt.Load(); at != 0 {
		d += max(time.Since(time.Unix(0, at)), 0)
	}
	return d
}
