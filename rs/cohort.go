package rs

import (
	"net/netip"
	"slices"
)

// Cohorts: the change list's sessions that are caught up are served together.
//
// Sessions at one change-list marker that have nothing pending, no table dump in progress and room
// in their output buffers are in the same state for the work behind the marker: each must be brought
// to the best route it may receive for each prefix there. Doing that one session at a time costs
// sessions × prefixes (a reconcile, a pending entry and an encoding per pair), which made the route
// server's outbound work grow with members × routes. A cohort does it once per prefix for all of
// them with bit-set arithmetic over session ids:
//
//   - who gets which candidate is the export decision (export.go: decide and fit) for all of the
//     cohort's sessions at once;
//   - the Adj-RIB-Out entries move whole words of session bits at once (adjoutApply, adjout.go);
//   - every UPDATE is encoded once per distinct group of receivers (outgoing set, family, exactly the
//     sessions that get those prefixes) and per encoding, by pack (pending.go), then copied to each
//     receiver's output.
//
// The one-session path (pull, reconcile, pending, flush) uses the same decision, Adj-RIB-Out change
// and packing, so a session ends up with the same routes and attributes on either;
// TestCohortMatchesSingle checks the two against each other. A session that falls behind (its
// buffer above the high watermark, a dump in progress, pending work) is served by the one-session
// path until it is caught up again, so a slow member never holds the cohort back.

// cohort is the scratch state of one cohort pull, reused across pulls.
type cohort struct {
	words   int    // bit-set length: len(Server.peers) in 64-bit words
	e       bitset // the sessions served
	peers   []*session
	classes []encClass // classes[:nc] cover e
	nc      int
	class   []int // class index per peer

	dec exportDecision // per prefix

	// Per batch: receiver groups in order of first appearance, withdrawals kept apart so that they
	// go out first.
	ann, wd []*rcvGroup
	index   map[groupKey]*rcvGroup
	last    *rcvGroup
	nrec    int // records added to the batch
	// The groups and what they hold live in arenas reused from batch to batch: a burst of
	// changes makes thousands of groups, and a group with its own growing prefix list and
	// receiver set cost about 1 KB of allocation (186 MB while 700 members converged on 400,000
	// routes, the largest allocation of the run). groups[:ng] are the batch's; recs are the
	// prefixes in the order recorded, laid out per group into flat before sending (layout);
	// rbits holds the groups' receiver sets.
	groups []*rcvGroup
	ng     int
	recs   []groupRec
	flat   []netip.Prefix
	rbits  []uint64
	enc    []byte
	pieces []encPiece // per group and class: [group][class]
	// split: the family's withdrawals fell into several receiver groups and are packed per session
	// (cohortSend); wdPfx is the scratch list of one session's withdrawals.
	split [numFams]bool
	wdPfx []netip.Prefix
}

// rcvGroup is the prefixes going to exactly the sessions in r, announced with set (withdrawn
// when set is nil) in family fi.
type rcvGroup struct {
	set   *attrSet
	fi    famIdx
	r     bitset
	pfx   []netip.Prefix // set by layout
	piece int            // index of its first encPiece
	n     int            // prefixes recorded
	off   int            // its first prefix in cohort.flat
}

// groupRec is one prefix recorded for a group.
type groupRec struct {
	g   *rcvGroup
	pfx netip.Prefix
}

// Arena sizes kept across batches; a burst that grew them further gives the excess back.
const (
	keepGroups = 2048
	keepRecs   = 1 << 16
)

type groupKey struct {
	set *attrSet
	fi  famIdx
	h   uint64
}

// encPiece locates a group's messages for one encoding class in cohort.enc.
type encPiece struct {
	start, end int32
	msgs       int32
}

// cohortReady reports whether p can be served by a cohort pull now: it has changes behind its
// marker and nothing of its own in flight. An ADD-PATH session never is: its messages carry path
// identifiers (addpath.go).
func (s *Server) cohortReady(p *session) bool {
	q := &p.pend
	return p.ap == nil && !p.down && !p.closed && !p.throttled && !p.walk.active && q.n == 0 && !q.endDue() && !q.borrDue() &&
		p.mk != nil && s.cl.next(p) != nil
}

// cohortPull serves the ready sessions at marker mk: up to Config.WalkBatch prefixes behind it are
// reconciled for all of them at once, the resulting UPDATEs encoded once per receiver group and
// queued to each session, and the sessions moved past the prefixes. It reports whether it did
// anything.
func (s *Server) cohortPull(mk *marker, pass uint64) bool {
	mk.pass = pass
	c := &s.co
	c.words = (len(s.peers) + 63) / 64
	c.e = resize(c.e, c.words)
	c.peers = c.peers[:0]
	for _, p := range mk.peers {
		if p.pass != pass && s.cohortReady(p) {
			c.peers = append(c.peers, p)
		}
	}
	if len(c.peers) == 0 {
		return false
	}
	for _, p := range c.peers {
		c.e.set(p.id)
		p.pass = pass
	}
	c.classify()

	budget := s.cfg.WalkBatch
	extend := true
	var last *clNode
	for n := mk.head.node.next; n != s.cl.end(); n = n.next {
		pe := n.entry()
		if pe == nil {
			continue // another marker
		}
		if budget <= 0 && (!extend || budget <= -maxExtend) {
			break
		}
		// Past the budget the batch goes on while its prefixes extend the last announcement group
		// (a member's large table under one attribute set): cut at the budget, its tail would be
		// sent in a short message every pass.
		g, np := c.last, c.nrec
		s.cohortReconcile(c, pe)
		extend = g != nil && g.set != nil && c.last == g && c.nrec == np+1
		last = n
		budget--
		if budget%cohortReadEvery == 0 {
			// A pull for hundreds of sessions is the loop's longest unit of work (measured up to
			// 1.2 s with 300 sessions on a loaded machine): waiting queries get their turn inside
			// it. They read the RIB and the Adj-RIB-Out, which are as consistent here as between
			// prefixes of a pass; the cohort's scratch is no reader's business.
			s.readTurn(siteCohortStep)
		}
	}
	if last == nil {
		c.reset()
		return false
	}
	s.stats.cohortPulls++
	s.stats.cohortSessions += uint64(len(c.peers))
	s.cohortSend(c)
	// Every session moves past the prefixes; the original marker goes when its last session leaves.
	for _, p := range c.peers {
		s.cl.advance(p, last)
	}
	c.reset()
	return true
}

// cohortReadEvery is how many prefixes a cohort pull reconciles between two looks for waiting
// queries (readTurn; a look costs a clock read).
const cohortReadEvery = 64

// reset clears the per-batch state, keeping capacity.
func (c *cohort) reset() {
	clear(c.e)
	for _, g := range c.groups[:c.ng] {
		g.set, g.r, g.pfx = nil, nil, nil
	}
	c.ng = 0
	if len(c.groups) > keepGroups {
		clear(c.groups[keepGroups:])
		c.groups = c.groups[:keepGroups]
	}
	clear(c.recs)
	c.recs = c.recs[:0]
	c.flat = c.flat[:0]
	c.rbits = c.rbits[:0]
	if cap(c.recs) > keepRecs {
		c.recs, c.flat = nil, nil
	}
	if cap(c.rbits) > keepGroups*c.words {
		c.rbits = nil
	}
	clear(c.ann)
	clear(c.wd)
	c.ann, c.wd = c.ann[:0], c.wd[:0]
	clear(c.index)
	c.last, c.nrec = nil, 0
	clear(c.peers)
	c.peers = c.peers[:0]
	c.enc = c.enc[:0]
	if cap(c.enc) > 1<<20 {
		c.enc = nil
	}
	c.pieces = c.pieces[:0]
	clear(c.wdPfx)
	c.wdPfx = c.wdPfx[:0]
	if cap(c.wdPfx) > 1<<16 {
		c.wdPfx = nil
	}
}

// layout gives every group of the batch its prefixes, in the order recorded, as one run of flat.
func (c *cohort) layout() {
	total := 0
	for _, g := range c.groups[:c.ng] {
		g.off, total, g.n = total, total+g.n, 0
	}
	c.flat = slices.Grow(c.flat[:0], total)[:total]
	for _, rc := range c.recs {
		g := rc.g
		c.flat[g.off+g.n] = rc.pfx
		g.n++
	}
	for _, g := range c.groups[:c.ng] {
		g.pfx = c.flat[g.off : g.off+g.n : g.off+g.n]
	}
}

// cohortReconcile is reconcile (export.go) for every session of the cohort at once.
func (s *Server) cohortReconcile(c *cohort, pe *prefixEntry) {
	d := &c.dec
	s.decide(d, pe, c.e, c.words)
	s.fit(d, pe, c.classes[:c.nc])
	fi := pe.fam()
	for _, ch := range s.adjoutApply(pe, c.e, d) {
		c.record(ch.set, fi, ch.bits, pe.prefix())
	}
}

// classify sorts the cohort's sessions into encoding classes.
func (c *cohort) classify() {
	for i := range c.classes {
		clear(c.classes[i].bits)
	}
	c.nc = 0
	c.class = c.class[:0]
	for _, p := range c.peers {
		ci := -1
		for i := 0; i < c.nc; i++ {
			if c.classes[i].opts == p.opts {
				ci = i
				break
			}
		}
		if ci < 0 {
			if c.nc == len(c.classes) {
				c.classes = append(c.classes, encClass{})
			}
			ci = c.nc
			c.nc++
			c.classes[ci].opts = p.opts
			c.classes[ci].bits = resize(c.classes[ci].bits, c.words)
		}
		c.classes[ci].bits.set(p.id)
		c.class = append(c.class, ci)
	}
}

// record adds pfx to the receiver group (set, fi, r).
func (c *cohort) record(set *attrSet, fi famIdx, r bitset, pfx netip.Prefix) {
	c.nrec++
	if g := c.last; g != nil && g.set == set && g.fi == fi && g.r.equal(r) {
		g.n++
		c.recs = append(c.recs, groupRec{g, pfx})
		return
	}
	k := groupKey{set, fi, r.hash()}
	g := c.index[k]
	if g != nil && !g.r.equal(r) {
		g = nil // a hash collision: look through the groups
		list := c.ann
		if set == nil {
			list = c.wd
		}
		for _, h := range list {
			if h.fi == fi && h.set == set && h.r.equal(r) {
				g = h
				break
			}
		}
	}
	if g == nil {
		if c.ng == len(c.groups) {
			c.groups = append(c.groups, &rcvGroup{})
		}
		g = c.groups[c.ng]
		c.ng++
		g.set, g.fi, g.n = set, fi, 0
		// An earlier group keeps its set where it was if the arena moves.
		off := len(c.rbits)
		c.rbits = append(c.rbits, r...)
		g.r = c.rbits[off:len(c.rbits):len(c.rbits)]
		if c.index == nil {
			c.index = make(map[groupKey]*rcvGroup)
		}
		if _, taken := c.index[k]; !taken {
			c.index[k] = g
		}
		if set == nil {
			c.wd = append(c.wd, g)
		} else {
			c.ann = append(c.ann, g)
		}
	}
	g.n++
	c.recs = append(c.recs, groupRec{g, pfx})
	c.last = g
}

// cohortSend encodes every receiver group once per encoding class and queues to each session the
// messages of the groups it is in: withdrawals first, then announcements in table order.
//
// Withdrawals carry no attributes, so what a session is sent of them does not depend on its group.
// When a family's withdrawals fall into several receiver groups — a revalidation filtering the
// routes of many members: each member's withdrawals go to everyone but that member — encoding them
// per group would send every session one short UPDATE per group; they are packed per session
// instead, as its own withdrawals would be on the one-session path.
func (s *Server) cohortSend(c *cohort) {
	c.layout()
	var nwd [numFams]int
	for _, g := range c.wd {
		nwd[g.fi]++
	}
	for fi := range c.split {
		c.split[fi] = nwd[fi] > 1
	}
	for _, list := range [2][]*rcvGroup{c.wd, c.ann} {
		for _, g := range list {
			g.piece = len(c.pieces)
			for ci := 0; ci < c.nc; ci++ {
				cl := &c.classes[ci]
				if !g.r.intersects(cl.bits) || (g.set == nil && c.split[g.fi]) {
					c.pieces = append(c.pieces, encPiece{})
					continue
				}
				c.pieces = append(c.pieces, s.cohortEncode(c, g, cl))
			}
		}
	}
	s.readTurn(siteCohortStep) // encoding every group is the other long part of a pull

	for pi, p := range c.peers {
		ci := c.class[pi]
		buf := s.buf[:0]
		msgs := 0
		for fi, split := range c.split {
			if !split {
				continue
			}
			c.wdPfx = c.wdPfx[:0]
			for _, g := range c.wd {
				if g.fi == famIdx(fi) && g.r.has(p.id) {
					c.wdPfx = append(c.wdPfx, g.pfx...)
				}
			}
			var m int
			buf, _, m = s.pack(buf, nil, famIdx(fi), p.opts, c.wdPfx, 0)
			msgs += m
		}
		for _, list := range [2][]*rcvGroup{c.wd, c.ann} {
			for _, g := range list {
				if !g.r.has(p.id) || (g.set == nil && c.split[g.fi]) {
					continue
				}
				pc := c.pieces[g.piece+ci]
				buf = append(buf, c.enc[pc.start:pc.end]...)
				msgs += int(pc.msgs)
			}
		}
		s.buf = buf[:0]
		if len(buf) == 0 {
			continue
		}
		s.queue(p, buf, msgs)
	}
}

// cohortEncode encodes group g for encoding class cl into c.enc.
func (s *Server) cohortEncode(c *cohort, g *rcvGroup, cl *encClass) encPiece {
	pc := encPiece{start: int32(len(c.enc))}
	var msgs int
	c.enc, _, msgs = s.pack(c.enc, g.set, g.fi, cl.opts, g.pfx, 0)
	pc.msgs = int32(msgs)
	pc.end = int32(len(c.enc))
	return pc
}

// maxExtend bounds how far a cohort batch extends past Config.WalkBatch to finish a run of one
// announcement group: about four full 65,535-byte messages of IPv4 /24s.
const maxExtend = 65536

// queue hands encoded messages to p's output and updates its counters and watermark state. An
// output that holds UPDATEs back gets them held, and is flushed when the loop runs out of work
// (flushHeld).
func (s *Server) queue(p *session, buf []byte, msgs int) {
	var buffered int
	var err error
	if p.held != nil {
		buffered, err = p.held.QueueHeld(buf)
		if !p.heldNow {
			p.heldNow = true
			s.held = append(s.held, p)
		}
	} else {
		buffered, err = p.out.Queue(buf)
	}
	p.msgsOut += uint64(msgs)
	p.bytesOut += uint64(len(buf))
	s.stats.msgsOut += uint64(msgs)
	if err != nil {
		// The session is going away; its Down will clean up. Nothing more is sent.
		p.closed = true
		return
	}
	p.buffered = buffered
	if buffered >= s.cfg.OutHighWater {
		p.throttled = true
	}
}

// flushHeld sends what the sessions queued to since the last flush hold back: the loop has run out
// of work, so nothing more is coming to join it.
func (s *Server) flushHeld() {
	for i, p := range s.held {
		p.heldNow = false
		p.held.Flush()
		s.held[i] = nil
	}
	s.held = s.held[:0]
}

// pathExcl returns the sessions of every member whose AS is in set's AS path (exportCheck's
// "receiver AS in path"), cached on the set until a session comes up or goes down.
func (s *Server) pathExcl(set *attrSet) bitset {
	if set.xEpoch == s.epoch {
		return set.xBits
	}
	b := set.xBits[:0]
	for _, a := range set.asns {
		if ids := s.asnIDs[a]; ids != nil {
			b = resize(b, max(len(b), len(ids)))
			orInto(b, ids)
		}
	}
	if len(b) == 0 {
		b = nil
	}
	set.xBits, set.xEpoch = b, s.epoch
	return b
}
