package rs

import (
	"net/netip"

	"github.com/ixrs/ixrs/speaker"
)

// pending is a session's outbound work that has been decided but not yet encoded: prefix → latest
// action, announcements grouped by outgoing attribute set so that one UPDATE carries the attribute
// block once and as many prefixes as fit, withdrawals apart (they are sent first), and End-of-RIB
// markers that go out after everything else.
//
// Queuing a prefix that is already pending moves it (last action wins), so a prefix is pending at
// most once. A session pulls work into pending only while it holds fewer than Config.PendingMax
// prefixes (server.go), so pending memory is bounded per session whatever the churn; the backlog
// of a slow session waits in the shared change list instead.
type pending struct {
	// idx locates pending prefixes. Entries of prefixes already sent are left in place and
	// recognised as stale (see live); the map is cleared when pending empties, which saves a delete
	// per prefix sent.
	idx   map[netip.Prefix]pendRef
	wd    [numFams]pendGroup // withdrawals
	ann   map[annKey]*pendGroup
	order []*pendGroup // announce groups, oldest first
	eor   [numFams]bool
	n     int // prefixes pending
}

type annKey struct {
	set *attrSet
	fi  famIdx
}

// pendGroup holds the prefixes of one action: announce with set, or withdraw when set is nil.
// pfx[:start] have been sent.
type pendGroup struct {
	set   *attrSet
	fi    famIdx
	pfx   []netip.Prefix
	start int
}

func (g *pendGroup) live() int { return len(g.pfx) - g.start }

type pendRef struct {
	g *pendGroup
	i int32
}

func (q *pending) init() {
	q.idx = make(map[netip.Prefix]pendRef)
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

func (q *pending) announce(pfx netip.Prefix, set *attrSet) {
	k := annKey{set, famOf(pfx)}
	g := q.ann[k]
	if g == nil {
		g = &pendGroup{set: set, fi: k.fi}
		q.ann[k] = g
		q.order = append(q.order, g)
	}
	q.put(pfx, g)
}

func (q *pending) withdraw(pfx netip.Prefix) { q.put(pfx, &q.wd[famOf(pfx)]) }

func (q *pending) endOfRIB(fi famIdx) { q.eor[fi] = true }

func (q *pending) put(pfx netip.Prefix, g *pendGroup) {
	if ref, ok := q.idx[pfx]; ok && ref.live(pfx) {
		if ref.g == g {
			return
		}
		q.cut(ref)
	}
	q.idx[pfx] = pendRef{g, int32(len(g.pfx))}
	g.pfx = append(g.pfx, pfx)
	q.n++
}

// live reports whether ref still locates pfx: it may be stale after the prefix was sent.
func (ref pendRef) live(pfx netip.Prefix) bool {
	g, i := ref.g, int(ref.i)
	return i >= g.start && i < len(g.pfx) && g.pfx[i] == pfx
}

// cut removes the prefix at ref from its group; order inside a group does not matter, so the last
// prefix takes its place.
func (q *pending) cut(ref pendRef) {
	g, i := ref.g, int(ref.i)
	last := len(g.pfx) - 1
	if i != last {
		moved := g.pfx[last]
		g.pfx[i] = moved
		q.idx[moved] = pendRef{g, int32(i)}
	}
	g.pfx = g.pfx[:last]
	q.n--
}

// sent records that the first n live prefixes of g went out.
func (q *pending) sent(g *pendGroup, n int) {
	g.start += n
	q.n -= n
	if g.live() == 0 {
		g.pfx, g.start = g.pfx[:0], 0
		if g.set != nil {
			delete(q.ann, annKey{g.set, g.fi})
			g.pfx = nil
		}
	}
	if q.n == 0 {
		// A Go map keeps its peak size after clear: after a table dump, give a big one back
		// instead of holding it for the lifetime of the session.
		if len(q.idx) > idxKeep {
			q.idx = make(map[netip.Prefix]pendRef)
		} else {
			clear(q.idx)
		}
	}
}

// idxKeep is the size up to which an emptied index is kept for reuse.
const idxKeep = 1024

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

// reindex rebuilds idx from the live prefixes, dropping stale entries that accumulate while
// pending never empties completely (held groups).
func (q *pending) reindex() {
	clear(q.idx)
	add := func(g *pendGroup) {
		for i := g.start; i < len(g.pfx); i++ {
			q.idx[g.pfx[i]] = pendRef{g, int32(i)}
		}
	}
	for fi := range q.wd {
		add(&q.wd[fi])
	}
	for _, g := range q.order {
		add(g)
	}
}

// flush encodes p's pending work into UPDATEs and queues them, until p's output buffer reaches the
// high watermark. hold asks to keep back an announce group's last, not yet full, message because
// p will pull more work next pass that may fill it (a table dump in progress); held work is bounded
// by Config.PendingMax.
func (s *Server) flush(p *peer, hold bool) {
	q := &p.pend
	if q.n == 0 && !q.eor[0] && !q.eor[1] {
		return
	}
	if q.n >= s.cfg.PendingMax {
		hold = false // pull has stopped: holding now would wedge the session
	}
	max := p.opts.MaxMessage
	buf := s.buf[:0]
	room := func() bool { return p.buffered+len(buf) < s.cfg.OutHighWater }
	msgs := 0

	for fi := range q.wd {
		g := &q.wd[fi]
		for g.live() > 0 && room() {
			var n int
			buf, n = speaker.AppendWithdraw(buf, families[fi], g.pfx[g.start:], max)
			if n == 0 {
				s.log.Error("cannot encode withdrawal", "session", p.addr, "prefix", g.pfx[g.start])
				n = 1
			}
			q.sent(g, n)
			msgs++
		}
	}
	for _, g := range q.order {
		if !room() {
			break
		}
		block := g.set.encoded(s.sets, g.fi, p.opts)
		nh, ll := g.set.nextHop(g.fi), g.set.attrs.MPLinkLocal
		for g.live() > 0 && room() {
			mark := len(buf)
			var n int
			buf, n = speaker.AppendAnnounce(buf, families[g.fi], block, nh, ll, g.pfx[g.start:], max)
			if n == 0 {
				// The attribute block alone does not fit a message of this session: the prefixes
				// cannot be sent. Count them and move on rather than wedge the session.
				s.log.Error("attributes too large for session", "session", p.addr, "bytes", len(block), "max", max)
				p.unsendable += uint64(g.live())
				buf = buf[:mark]
				q.sent(g, g.live())
				break
			}
			if hold && n == g.live() {
				buf = buf[:mark]
				break
			}
			q.sent(g, n)
			msgs++
		}
	}
	q.compact()
	if len(q.idx) > 2*q.n+4096 {
		q.reindex()
	}
	if q.n == 0 {
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
