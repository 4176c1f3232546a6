package rs

import (
	"fmt"
	"net/netip"

	"github.com/ixrs/ixrs/speaker"
)

// pending is a session's outbound work that has been decided but not yet encoded: announcements
// grouped by outgoing attribute set so that one UPDATE carries the attribute block once and as many
// prefixes as fit, withdrawals apart (they are sent first), and End-of-RIB markers that go out after
// everything else.
//
// Last action wins without a per-prefix index: the session's Adj-RIB-Out bit already records the
// latest decision for every prefix (adjout.go updates it before the change is queued), so an entry
// is checked against it when encoded and dropped if a later action superseded it. A prefix
// announced with one set, then another, then withdrawn is pending three times and sent once, as a
// withdrawal. This costs 8 bytes per entry instead of a map entry, which matters when a thousand
// sessions dump a table at once.
//
// A session pulls work into pending only while it holds fewer than Config.PendingMax entries
// (server.go), so pending memory is bounded per session whatever the churn; the backlog of a slow
// session waits in the shared change list instead.
type pending struct {
	wd    [numFams]pendGroup // withdrawals
	ann   map[annKey]*pendGroup
	order []*pendGroup // announce groups, oldest first
	last  *pendGroup   // the group of the previous announce: consecutive ones usually share it
	spare []*pendGroup // emptied groups, kept for their capacity
	eor   [numFams]bool
	// Enhanced route refresh markers (refresh.go): a BoRR goes out before anything else of the
	// next flush, an EoRR like End-of-RIB once nothing is pending.
	borr, eorr [numFams]bool
	n          int // entries pending

	annPeak int // most groups at once since the last idle
}

type annKey struct {
	set *attrSet
	fi  famIdx
}

// pendGroup holds the entries of one action: announce with set, or withdraw when set is nil.
// pes[:start] have been dealt with.
type pendGroup struct {
	set   *attrSet
	fi    famIdx
	pes   []*prefixEntry
	start int
	bytes int // NLRI bytes of the live entries, superseded ones included: an upper bound
}

// nlriLen is the encoded length of a prefix in NLRI (RFC 4271 §4.3).
func nlriLen(pe *prefixEntry) int { return 1 + (int(pe.bits)+7)/8 }

func (g *pendGroup) live() int { return len(g.pes) - g.start }

func (q *pending) init() {
	q.ann = make(map[annKey]*pendGroup)
	for fi := range q.wd {
		q.wd[fi].fi = famIdx(fi)
	}
}

// reset drops everything (the session went down).
func (q *pending) reset() {
	*q = pending{}
	q.init()
}

func (q *pending) announce(pe *prefixEntry, set *attrSet) {
	fi := pe.fam()
	g := q.last
	if g == nil || g.set != set || g.fi != fi {
		k := annKey{set, fi}
		g = q.ann[k]
		if g == nil {
			if n := len(q.spare); n > 0 {
				g = q.spare[n-1]
				q.spare = q.spare[:n-1]
				g.set, g.fi = set, fi
			} else {
				g = &pendGroup{set: set, fi: fi}
			}
			q.ann[k] = g
			q.annPeak = max(q.annPeak, len(q.ann))
			q.order = append(q.order, g)
		}
		q.last = g
	}
	g.pes = append(g.pes, pe)
	g.bytes += nlriLen(pe)
	q.n++
}

func (q *pending) withdraw(pe *prefixEntry) {
	g := &q.wd[pe.fam()]
	g.pes = append(g.pes, pe)
	q.n++
}

func (q *pending) endOfRIB(fi famIdx) { q.eor[fi] = true }

// endDue reports whether an End-of-RIB or an EoRR waits to be sent after what is pending.
func (q *pending) endDue() bool { return q.eor[0] || q.eor[1] || q.eorr[0] || q.eorr[1] }

// borrDue reports whether a BoRR waits to be sent.
func (q *pending) borrDue() bool { return q.borr[0] || q.borr[1] }

// consumed records that the first n live entries of g have been dealt with.
func (q *pending) consumed(g *pendGroup, n int) {
	if g.set != nil {
		for _, pe := range g.pes[g.start : g.start+n] {
			g.bytes -= nlriLen(pe)
		}
	}
	g.start += n
	q.n -= n
	if g.live() > 0 {
		return
	}
	clear(g.pes)
	g.pes, g.start, g.bytes = g.pes[:0], 0, 0
	if g.set != nil {
		delete(q.ann, annKey{g.set, g.fi})
		if q.last == g {
			q.last = nil
		}
		g.set = nil
		if cap(g.pes) <= spareCap && len(q.spare) < maxSpare {
			q.spare = append(q.spare, g)
		}
	} else if cap(g.pes) > spareCap {
		g.pes = nil
	}
}

// Emptied groups are recycled for the next burst, but only small ones, and only a few: with a
// thousand sessions, idle capacity kept per session adds up to more than the RIB.
const (
	spareCap = 128
	maxSpare = 8
)

// idle gives back memory a burst left behind once nothing is pending: a Go map keeps its peak
// size, so a big group index is replaced.
func (q *pending) idle() {
	if q.annPeak > maxSpare {
		q.ann = make(map[annKey]*pendGroup)
		q.annPeak = 0
	}
	if cap(q.order) > maxSpare {
		q.order = nil
	}
}

// compact drops announce groups that have been sent.
func (q *pending) compact() {
	out := q.order[:0]
	for _, g := range q.order {
		if g.live() > 0 {
			out = append(out, g)
		}
	}
	clear(q.order[len(out):])
	q.order = out
}

// mpReachMax is the most MP_REACH_NLRI adds besides the NLRI: attribute header, AFI, SAFI, next
// hop length, two IPv6 next hops, reserved.
const mpReachMax = 4 + 3 + 1 + 32 + 1

// collector gathers, for one message, the prefixes of a group's next entries that are still
// current for the session (its Adj-RIB-Out holds the group's set for them, or nothing for a
// withdrawal), skipping superseded entries. It stops once the prefixes would take more than
// limit bytes of NLRI, so a batch is about one message, never much more.
type collector struct {
	pfx []netip.Prefix
	pos []int32 // entry index of each collected prefix
}

func (c *collector) collect(g *pendGroup, id int, want *attrSet, limit int) (looked int) {
	c.pfx, c.pos = c.pfx[:0], c.pos[:0]
	size := 0
	i := g.start
	for ; i < len(g.pes) && size <= limit; i++ {
		pe := g.pes[i]
		if pe.outFor(id) != want {
			continue
		}
		c.pfx = append(c.pfx, pe.prefix())
		c.pos = append(c.pos, int32(i))
		size += 1 + (int(pe.bits)+7)/8
	}
	return i - g.start
}

// used returns how many entries were dealt with when the first n collected prefixes were encoded
// out of looked entries: all of them when the whole batch went out, else up to the n-th prefix's.
func (c *collector) used(g *pendGroup, looked, n int) int {
	if n >= len(c.pfx) {
		return looked
	}
	return int(c.pos[n-1]) + 1 - g.start
}

// pack is the one UPDATE packing loop, of sessions served alone (flush) and of cohorts
// (cohortEncode). It appends to dst messages carrying prefixes, in order, announced with set in
// family fi (withdrawn when set is nil), encoded for opts: each holds the attribute block once and
// as many prefixes as fit. It stops after maxMsgs messages (0: no limit) or when every prefix is
// consumed, and returns dst, the prefixes consumed and the messages appended.
//
// It never drops a prefix. A withdrawal of one prefix is at most 46 bytes, and msgLimit is never
// below 4,096; the first prefix of an announcement fits because the export decision lets only
// sendable announcements into the Adj-RIB-Out (export.go). Either failing is a bug, not a
// condition of the input: it panics rather than let a member keep a route it should not have.
func (s *Server) pack(dst []byte, set *attrSet, fi famIdx, opts speaker.EncodeOptions, prefixes []netip.Prefix, maxMsgs int) ([]byte, int, int) {
	lim := msgLimit(opts)
	fam := families[fi]
	var block []byte
	var nh, ll netip.Addr
	if set != nil {
		block = set.encoded(s.sets, fi, opts)
		nh, ll = set.nextHop(fi), set.attrs.MPLinkLocal
	}
	used, msgs := 0, 0
	for used < len(prefixes) && (maxMsgs <= 0 || msgs < maxMsgs) {
		mark := len(dst)
		var n int
		if set == nil {
			dst, n = speaker.AppendWithdraw(dst, fam, prefixes[used:], lim)
		} else {
			dst, n = speaker.AppendAnnounce(dst, fam, block, nh, ll, prefixes[used:], lim)
		}
		if n == 0 {
			panic(fmt.Sprintf("rs: %v (attributes %d bytes) does not fit a %d-byte UPDATE", prefixes[used], len(block), lim))
		}
		used += n
		if len(dst) > mark {
			msgs++
		}
	}
	return dst, used, msgs
}

// flush encodes p's pending work into UPDATEs and queues them, until p's output buffer reaches the
// high watermark. hold asks to keep back an announce group's last, not yet full, message because
// p will pull more work next pass that may fill it (a table dump in progress); held work is bounded
// by Config.PendingMax.
func (s *Server) flush(p *session, hold bool) {
	q := &p.pend
	if q.n == 0 && !q.endDue() && !q.borrDue() {
		return
	}
	if q.n >= s.cfg.PendingMax || q.endDue() {
		hold = false // pull has stopped: holding now would wedge the session
	}
	lim := msgLimit(p.opts)
	buf := s.buf[:0]
	room := func() bool { return p.buffered+len(buf) < s.cfg.OutHighWater }
	msgs := 0
	for fi, due := range q.borr {
		if due {
			// Whatever the room: it is 23 bytes, and what it announces must not go out before it.
			buf = append(buf, speaker.EncodeRouteRefresh(speaker.RouteRefresh{Family: families[fi], Subtype: speaker.RefreshBoRR})...)
			q.borr[fi] = false
			msgs++
		}
	}

	if p.ap != nil {
		buf, msgs = s.apFlush(p, buf, msgs, func(b []byte) bool { return p.buffered+len(b) < s.cfg.OutHighWater })
	}
	c := &s.coll
	for fi := range q.wd {
		g := &q.wd[fi]
		for g.live() > 0 && room() {
			looked := c.collect(g, p.id, nil, lim)
			var n, m int
			buf, n, m = s.pack(buf, nil, famIdx(fi), p.opts, c.pfx, 1)
			msgs += m
			q.consumed(g, c.used(g, looked, n))
		}
	}
	for _, g := range q.order {
		if !room() {
			break
		}
		if g.set.refs <= 0 {
			// The set left the table, so no Adj-RIB-Out entry holds it: every entry is superseded.
			q.consumed(g, g.live())
			continue
		}
		if hold && speaker.HeaderLen+4+mpReachMax+len(g.set.encoded(s.sets, g.fi, p.opts))+g.bytes <= lim {
			continue // cannot fill a message yet, and more may come: wait, without encoding
		}
		for g.live() > 0 && room() {
			looked := c.collect(g, p.id, g.set, lim)
			if len(c.pfx) == 0 {
				q.consumed(g, looked) // all superseded
				continue
			}
			mark := len(buf)
			var n, m int
			buf, n, m = s.pack(buf, g.set, g.fi, p.opts, c.pfx, 1)
			if hold && n == len(c.pfx) && looked == g.live() {
				buf = buf[:mark] // not full, and more may come: wait
				break
			}
			msgs += m
			q.consumed(g, c.used(g, looked, n))
		}
	}
	q.compact()
	if q.n == 0 {
		q.idle()
		for fi, due := range q.eorr {
			if due && room() {
				buf = append(buf, speaker.EncodeRouteRefresh(speaker.RouteRefresh{Family: families[fi], Subtype: speaker.RefreshEoRR})...)
				q.eorr[fi] = false
				msgs++
			}
		}
		for fi, due := range q.eor {
			if due && room() {
				buf = speaker.AppendEndOfRIB(buf, families[fi])
				q.eor[fi] = false
				msgs++
			}
		}
	}
	s.buf = buf[:0]
	if len(buf) == 0 {
		return
	}
	s.queue(p, buf, msgs)
}
