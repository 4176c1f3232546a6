package rs

import (
	"net/netip"

	"github.com/ixrs/ixrs/speaker"
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
//   - who gets which candidate: the sessions still without a route, minus the candidate's exclusions
//     (its own member's sessions and those of every member whose AS is in the path, a bit set cached
//     per attribute set), take it, in decision order;
//   - the Adj-RIB-Out entries move whole words of session bits at once;
//   - every UPDATE is encoded once per distinct group of receivers (outgoing set, family, exactly the
//     sessions that get those prefixes) and per encoding, then copied to each receiver's output.
//
// A session ends up with exactly the routes and attributes the one-session path (pull, reconcile,
// pending, flush) would give it; TestCohortMatchesSingle checks the two against each other. A session that falls behind (its buffer above the high watermark, a dump in
// progress, pending work) is served by the one-session path until it is caught up again, so a slow
// member never holds the cohort back.

// cohort is the scratch state of one cohort pull, reused across pulls.
type cohort struct {
	words   int    // bit-set length: len(Server.peers) in 64-bit words
	e       bitset // the sessions served
	peers   []*session
	classes []encClass
	class   []int // class index per peer

	// Per prefix.
	rem, x, had bitset
	wants       []wantBits
	nwant       int

	// Per batch: receiver groups in order of first appearance, withdrawals kept apart so that they
	// go out first.
	ann, wd   []*rcvGroup
	spare     []*rcvGroup
	index     map[groupKey]*rcvGroup
	last      *rcvGroup
	nrec      int // records added to the batch
	enc       []byte
	pieces    []encPiece // per group and class: [group][class]
	unsendLog bool
}

// encClass is one distinct encoding among the cohort's sessions.
type encClass struct {
	opts speaker.EncodeOptions
	bits bitset
}

type wantBits struct {
	set  *attrSet
	bits bitset
}

// rcvGroup is the prefixes going to exactly the sessions in r, announced with set (withdrawn
// when set is nil) in family fi.
type rcvGroup struct {
	set   *attrSet
	fi    famIdx
	r     bitset
	pfx   []netip.Prefix
	piece int // index of its first encPiece
}

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
// marker and nothing of its own in flight.
func (s *Server) cohortReady(p *session) bool {
	q := &p.pend
	return !p.down && !p.closed && !p.throttled && !p.walk.active && q.n == 0 && !q.eor[0] && !q.eor[1] &&
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
	c.rem = resize(c.rem, c.words)
	c.x = resize(c.x, c.words)
	c.had = resize(c.had, c.words)

	budget := s.cfg.WalkBatch
	extend := true
	var last *clNode
	for n := mk.node.next; n != &s.cl.root; n = n.next {
		if n.pe == nil {
			continue // another marker
		}
		if budget <= 0 && (!extend || budget <= -maxExtend) {
			break
		}
		// Past the budget the batch goes on while its prefixes extend the last announcement group
		// (a member's large table under one attribute set): cut at the budget, its tail would be
		// sent in a short message every pass.
		g, np := c.last, c.nrec
		s.cohortReconcile(c, n.pe)
		extend = g != nil && g.set != nil && c.last == g && c.nrec == np+1
		last = n
		budget--
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

// reset clears the per-batch state, keeping capacity.
func (c *cohort) reset() {
	clear(c.e)
	for _, g := range c.ann {
		c.recycle(g)
	}
	for _, g := range c.wd {
		c.recycle(g)
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
}

func (c *cohort) recycle(g *rcvGroup) {
	g.set = nil
	g.pfx = g.pfx[:0]
	// Groups are kept for the next batch, but only small ones and only a few: what a burst
	// left behind would otherwise stay for good (megabytes at 300 sessions).
	if cap(g.pfx) <= 256 && len(c.spare) < 64 {
		c.spare = append(c.spare, g)
	}
}

// want returns the bit set of the sessions that should have set, adding it for this prefix.
func (c *cohort) want(set *attrSet) bitset {
	if b := c.wantOf(set); b != nil {
		return b
	}
	if c.nwant == len(c.wants) {
		c.wants = append(c.wants, wantBits{})
	}
	w := &c.wants[c.nwant]
	c.nwant++
	w.set = set
	w.bits = resize(w.bits, c.words)
	clear(w.bits)
	return w.bits
}

// wantOf returns the bit set of the sessions that should have set for this prefix, or nil.
func (c *cohort) wantOf(set *attrSet) bitset {
	for i := 0; i < c.nwant; i++ {
		if c.wants[i].set == set {
			return c.wants[i].bits
		}
	}
	return nil
}

// cohortReconcile is reconcile (export.go) for every session of the cohort at once.
func (s *Server) cohortReconcile(c *cohort, pe *prefixEntry) {
	fi := pe.fam()
	c.nwant = 0

	// Who should have what: candidates in decision order, each taken by the sessions still
	// without a route that it may go to (exportCheck, as bit sets).
	rem := c.rem
	andInto(rem, c.e, s.famIDs[fi])
	for _, r := range pe.candidates() {
		if !rem.any() {
			break
		}
		if r.set.rsInPath {
			continue
		}
		x := c.x
		clear(x[copy(x, s.pathExcl(r.set)):])
		orInto(x, r.p.m.ids)
		if !r.set.exp.HasControl() {
			w := c.want(s.sets.variant(r.set.out, r.info, 0))
			for i := range rem {
				take := rem[i] &^ x[i]
				w[i] |= take
				rem[i] &^= take
			}
			continue
		}
		// Export-control communities: allowed or not, and the variant, per receiving AS.
		for i := range rem {
			for bw := rem[i] &^ x[i]; bw != 0; bw &= bw - 1 {
				id := i<<6 | trailingZeros(bw)
				ok, v := r.set.exp.Decide(s.peers[id].m.asn)
				if !ok {
					continue
				}
				c.want(s.sets.variant(r.set.out, r.info, v))[i] |= 1 << (id & 63)
				rem[i] &^= 1 << (id & 63)
			}
		}
	}

	// What the cohort's sessions have now.
	had := c.had
	clear(had)
	for i := range pe.out {
		orInto(had, pe.out[i].bits.b)
	}
	andInto(had, had, c.e)

	// Sessions leave the entries of sets they should not have.
	for i := 0; i < len(pe.out); {
		e := &pe.out[i]
		keep := c.wantOf(e.set)
		var nb bitset
		for w := 0; w < len(e.bits.b) && w < c.words; w++ {
			leave := e.bits.b[w] & c.e[w]
			if keep != nil {
				leave &^= keep[w]
			}
			if leave != 0 {
				if nb == nil {
					nb = s.bits.work(e.bits)
				}
				nb[w] &^= leave
			}
		}
		if nb != nil {
			s.bits.release(e.bits)
			if e.bits = s.bits.intern(nb); e.bits == nil {
				s.removeOut(pe, i)
				continue
			}
		}
		i++
	}

	// Sessions join the entries of the sets they should have; those that did not have it yet get
	// an announcement.
	for i := 0; i < c.nwant; i++ {
		w := &c.wants[i]
		if !w.bits.any() {
			continue
		}
		var e *adjOut
		for j := range pe.out {
			if pe.out[j].set == w.set {
				e = &pe.out[j]
				break
			}
		}
		if e == nil {
			pe.out = append(pe.out, adjOut{set: w.set})
			e = &pe.out[len(pe.out)-1]
			s.sets.ref(w.set)
			s.stats.adjOutEntries++
		}
		var old bitset
		if e.bits != nil {
			old = e.bits.b
		}
		news := c.x // scratch again: the exclusions are no longer needed
		for j := range w.bits {
			news[j] = w.bits[j] &^ old.word(j)
			// Sessions that had nothing now export one more prefix.
			for nb := news[j] &^ had[j]; nb != 0; nb &= nb - 1 {
				s.peers[j<<6|trailingZeros(nb)].exported[fi]++
			}
			had[j] &^= w.bits[j] // left: the sessions that had something and now get nothing
		}
		if news.any() {
			e.bits = s.bits.union(e.bits, w.bits)
			c.record(w.set, fi, news, pe.prefix())
			s.feedAdjOut(pe, news, w.set)
		}
	}
	// had now holds the sessions that had a route and should have none.
	if had.any() {
		for j, hw := range had {
			for ; hw != 0; hw &= hw - 1 {
				s.peers[j<<6|trailingZeros(hw)].exported[fi]--
			}
		}
		c.record(nil, fi, had, pe.prefix())
		s.feedAdjOut(pe, had, nil)
	}
}

// record adds pfx to the receiver group (set, fi, r).
func (c *cohort) record(set *attrSet, fi famIdx, r bitset, pfx netip.Prefix) {
	c.nrec++
	if g := c.last; g != nil && g.set == set && g.fi == fi && g.r.equal(r) {
		g.pfx = append(g.pfx, pfx)
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
		if n := len(c.spare); n > 0 {
			g = c.spare[n-1]
			c.spare = c.spare[:n-1]
		} else {
			g = &rcvGroup{}
		}
		g.set, g.fi = set, fi
		g.r = append(g.r[:0], r...)
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
	g.pfx = append(g.pfx, pfx)
	c.last = g
}

// cohortSend encodes every receiver group once per encoding class and queues to each session the
// messages of the groups it is in: withdrawals first, then announcements in table order.
func (s *Server) cohortSend(c *cohort) {
	// Encoding classes.
	for i := range c.classes {
		clear(c.classes[i].bits)
	}
	nc := 0
	c.class = c.class[:0]
	for _, p := range c.peers {
		ci := -1
		for i := 0; i < nc; i++ {
			if c.classes[i].opts == p.opts {
				ci = i
				break
			}
		}
		if ci < 0 {
			if nc == len(c.classes) {
				c.classes = append(c.classes, encClass{})
			}
			ci = nc
			nc++
			c.classes[ci].opts = p.opts
			c.classes[ci].bits = resize(c.classes[ci].bits, c.words)
		}
		c.classes[ci].bits.set(p.id)
		c.class = append(c.class, ci)
	}

	c.unsendLog = false
	for _, list := range [2][]*rcvGroup{c.wd, c.ann} {
		for _, g := range list {
			g.piece = len(c.pieces)
			for ci := 0; ci < nc; ci++ {
				cl := &c.classes[ci]
				if !g.r.intersects(cl.bits) {
					c.pieces = append(c.pieces, encPiece{})
					continue
				}
				c.pieces = append(c.pieces, s.cohortEncode(c, g, cl))
			}
		}
	}

	for pi, p := range c.peers {
		ci := c.class[pi]
		buf := s.buf[:0]
		msgs := 0
		for _, list := range [2][]*rcvGroup{c.wd, c.ann} {
			for _, g := range list {
				if !g.r.has(p.id) {
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
	max := cl.opts.MaxMessage
	fam := families[g.fi]
	pfx := g.pfx
	if g.set == nil {
		for len(pfx) > 0 {
			var n int
			c.enc, n = speaker.AppendWithdraw(c.enc, fam, pfx, max)
			if n == 0 {
				s.log.Error("cannot encode withdrawal", "prefix", pfx[0])
				n = 1
			} else {
				pc.msgs++
			}
			pfx = pfx[n:]
		}
	} else {
		block := g.set.encoded(s.sets, g.fi, cl.opts)
		nh, ll := g.set.nextHop(g.fi), g.set.attrs.MPLinkLocal
		for len(pfx) > 0 {
			var n int
			c.enc, n = speaker.AppendAnnounce(c.enc, fam, block, nh, ll, pfx, max)
			if n == 0 {
				// The attribute block alone does not fit a message of these sessions.
				if !c.unsendLog {
					s.log.Error("attributes too large for session", "bytes", len(block), "max", max)
					c.unsendLog = true
				}
				for i, w := range g.r {
					for bw := w & cl.bits[i]; bw != 0; bw &= bw - 1 {
						s.peers[i<<6|trailingZeros(bw)].unsendable += uint64(len(pfx))
					}
				}
				break
			}
			pc.msgs++
			pfx = pfx[n:]
		}
	}
	pc.end = int32(len(c.enc))
	return pc
}

// maxExtend bounds how far a cohort batch extends past Config.WalkBatch to finish a run of one
// announcement group: about four full 65,535-byte messages of IPv4 /24s.
const maxExtend = 65536

// queue hands encoded messages to p's output and updates its counters and watermark state.
func (s *Server) queue(p *session, buf []byte, msgs int) {
	buffered, err := p.out.Queue(buf)
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

// pathExcl returns the sessions of every member whose AS is in set's AS path (exportCheck's
// "receiver AS in path"), cached on the set until a session comes up or goes down.
func (s *Server) pathExcl(set *attrSet) bitset {
	if set.xEpoch == s.epoch {
		return set.xBits
	}
	b := set.xBits[:0]
	for _, a := range set.path.ASNs {
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
