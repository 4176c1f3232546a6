package rs

import (
	"fmt"
	"net/netip"

	"github.com/ixrs/ixrs/policy"
	"github.com/ixrs/ixrs/speaker"
)

// ADD-PATH send (RFC 7911). A session that negotiated it for a family gets, for every prefix of
// that family, every candidate export allows to it, not only the first, up to its limit, in
// decision order, each under a path identifier. The identifier is the announcing session's dense
// id plus one: a session has at most one route per prefix, so it names the route for as long as the
// route lives, and it does not change when other paths come or go. A departed session's id is
// reused only after its routes are gone; a route that reuses it later replaces the old path in the
// receiver (RFC 7911 §3: an announcement of an identifier replaces the previous one).
//
// Such a session keeps its best path in the shared Adj-RIB-Out like every other session (so the
// looking glass, the event feed and the counters see what it would get without ADD-PATH), but is
// never served in a cohort: what it is sent comes from its own table of the paths sent (addPath.out)
// and its own queue of changes, encoded with path identifiers. Only the differences are queued: a
// new path is announced under its identifier, a gone one withdrawn by it, a path whose outgoing
// attributes changed announced again under the same identifier.

// DefaultAddPathLimit is the number of paths per prefix sent to an ADD-PATH session when
// SessionInfo.AddPathLimit is not set.
const DefaultAddPathLimit = 8

// addPath is an ADD-PATH session's own Adj-RIB-Out and outbound queue, owned by the RIB loop.
type addPath struct {
	fams  [numFams]bool
	limit int
	// out holds, per prefix, the paths the session has been sent or will be sent by what is queued,
	// in decision order. Each holds a reference on its set.
	out   map[netip.Prefix][]apPath
	paths int // paths in out
	// queue holds the changes not yet encoded, one per prefix and identifier: a later change of the
	// same path replaces the earlier one in place (last action wins). idx locates them.
	queue []apChange
	head  int
	idx   map[apKey]int

	scratch []apPath
	wd      [numFams][]speaker.PathNLRI
	ann     []apGroup
}

type apPath struct {
	id  uint32
	set *attrSet
}

type apKey struct {
	pfx netip.Prefix
	id  uint32
}

// apChange is a queued change: announce the path under id with set, or withdraw it when set is nil.
// The set is held by out while the change is current; a replaced change takes the new set.
type apChange struct {
	pfx netip.Prefix
	id  uint32
	set *attrSet
}

// apGroup collects the announcements of one outgoing set and family for one flush.
type apGroup struct {
	set   *attrSet
	fi    famIdx
	paths []speaker.PathNLRI
}

func newAddPath(info SessionInfo) *addPath {
	ap := &addPath{limit: info.AddPathLimit, out: map[netip.Prefix][]apPath{}, idx: map[apKey]int{}}
	if ap.limit <= 0 {
		ap.limit = DefaultAddPathLimit
	}
	any := false
	for _, f := range info.AddPath {
		if fi, ok := famIdxOf(f); ok {
			ap.fams[fi] = true
			any = true
		}
	}
	if !any {
		return nil
	}
	return ap
}

// addPathFor reports whether p sends path identifiers for family fi.
func (p *session) addPathFor(fi famIdx) bool { return p.ap != nil && p.ap.fams[fi] }

// pathID is the identifier r is sent under.
func pathID(r *route) uint32 { return uint32(r.p.id) + 1 }

// pathsFor appends to dst the paths p should have for pe: the candidates export allows to p, in
// decision order, at most p's limit, each in the variant p gets and only if it can be sent.
func (s *Server) pathsFor(dst []apPath, pe *prefixEntry, p *session) []apPath {
	i, bit := p.id>>6, uint64(1)<<(p.id&63)
	if s.famIDs[pe.fam()].word(i)&bit == 0 {
		return dst
	}
	n := 0
	for _, r := range pe.candidates() {
		if n >= p.ap.limit {
			break
		}
		if s.exportMay(r, i, bit) == 0 {
			continue
		}
		var v policy.Variant
		if r.set.exp.HasControl() {
			var ok bool
			if ok, v = r.set.exp.Decide(p.m.asn); !ok {
				continue
			}
		}
		set := s.sets.variant(r.set.out, r.info, v)
		if !s.pathSendable(set, pe, p.opts) {
			continue
		}
		dst = append(dst, apPath{id: pathID(r), set: set})
		n++
	}
	return dst
}

// pathSendable is sendable with room for the path identifier.
func (s *Server) pathSendable(set *attrSet, pe *prefixEntry, opts speaker.EncodeOptions) bool {
	if !s.sendable(set, pe, opts) {
		return false
	}
	size := speaker.HeaderLen + 4 + len(set.encoded(s.sets, pe.fam(), opts)) + nlriLen(pe) + 4
	if pe.fam() == 1 {
		size += 3 + 5 + 16
		if set.attrs.MPLinkLocal.IsValid() {
			size += 16
		}
	}
	return size <= msgLimit(opts)
}

// reconcileAddPath is reconcileTo for a session that sends path identifiers for pe's family: the
// shared Adj-RIB-Out records its best path (want) as for any session, and its own table the paths
// it should have, with the differences queued. With force every path is announced again.
func (s *Server) reconcileAddPath(pe *prefixEntry, p *session, want *attrSet, force bool) {
	have := pe.outFor(p.id)
	if want != nil && want != have && !s.sendable(want, pe, p.opts) {
		s.unsendable(p, want, pe)
		want = nil
	}
	if want != have {
		s.adjoutMove(pe, p, have, want)
	}
	ap := p.ap
	pfx := pe.prefix()
	old := ap.out[pfx]
	paths := s.pathsFor(ap.scratch[:0], pe, p)
	ap.scratch = paths[:0]
	for _, np := range paths {
		found := false
		for _, op := range old {
			if op.id == np.id {
				found = true
				if op.set != np.set || force {
					s.apQueue(p, pfx, np.id, np.set)
				}
				break
			}
		}
		if !found {
			s.apQueue(p, pfx, np.id, np.set)
		}
		s.sets.ref(np.set)
	}
	for _, op := range old {
		gone := true
		for _, np := range paths {
			if np.id == op.id {
				gone = false
				break
			}
		}
		if gone {
			s.apQueue(p, pfx, op.id, nil)
		}
		s.sets.unref(op.set)
	}
	ap.paths += len(paths) - len(old)
	switch {
	case len(paths) == 0:
		delete(ap.out, pfx)
	case len(old) == len(paths):
		copy(old, paths)
	default:
		ap.out[pfx] = append([]apPath(nil), paths...)
	}
}

// apQueue queues a change of p's path id for pfx (set nil: withdraw), replacing a queued one.
func (s *Server) apQueue(p *session, pfx netip.Prefix, id uint32, set *attrSet) {
	ap := p.ap
	k := apKey{pfx, id}
	if i, ok := ap.idx[k]; ok {
		ap.queue[i].set = set
		return
	}
	ap.idx[k] = len(ap.queue)
	ap.queue = append(ap.queue, apChange{pfx: pfx, id: id, set: set})
	p.pend.n++
}

// apChunk is how many queued changes apFlush takes at a time: withdrawals of a chunk go out before
// its announcements, and the output buffer is checked between chunks.
const apChunk = 1024

// apFlush encodes p's queued path changes into buf while room says the output buffer can take more,
// and returns buf and the messages appended. A queued announcement is current by construction
// (apQueue replaces superseded changes), and its set is held by p's table.
func (s *Server) apFlush(p *session, buf []byte, msgs int, room func([]byte) bool) ([]byte, int) {
	ap := p.ap
	lim := msgLimit(p.opts)
	for ap.head < len(ap.queue) && room(buf) {
		end := min(ap.head+apChunk, len(ap.queue))
		for fi := range ap.wd {
			ap.wd[fi] = ap.wd[fi][:0]
		}
		ap.ann = ap.ann[:0]
		for _, c := range ap.queue[ap.head:end] {
			delete(ap.idx, apKey{c.pfx, c.id})
			fi := famOf(c.pfx)
			x := speaker.PathNLRI{ID: c.id, Prefix: c.pfx}
			if c.set == nil {
				ap.wd[fi] = append(ap.wd[fi], x)
				continue
			}
			g := -1
			for j := len(ap.ann) - 1; j >= 0 && j >= len(ap.ann)-8; j-- {
				if ap.ann[j].set == c.set && ap.ann[j].fi == fi {
					g = j
					break
				}
			}
			if g < 0 {
				ap.ann = append(ap.ann, apGroup{set: c.set, fi: fi})
				g = len(ap.ann) - 1
			}
			ap.ann[g].paths = append(ap.ann[g].paths, x)
		}
		p.pend.n -= end - ap.head
		ap.head = end
		for fi, ps := range ap.wd {
			for len(ps) > 0 {
				var n int
				buf, n = speaker.AppendWithdrawPaths(buf, families[fi], ps, lim)
				if n == 0 {
					panic(fmt.Sprintf("rs: withdrawal of %v does not fit a %d-byte UPDATE", ps[0], lim))
				}
				ps = ps[n:]
				msgs++
			}
		}
		for i := range ap.ann {
			g := &ap.ann[i]
			block := g.set.encoded(s.sets, g.fi, p.opts)
			nh, ll := g.set.nextHop(g.fi), g.set.attrs.MPLinkLocal
			for ps := g.paths; len(ps) > 0; {
				var n int
				buf, n = speaker.AppendAnnouncePaths(buf, families[g.fi], block, nh, ll, ps, lim)
				if n == 0 {
					panic(fmt.Sprintf("rs: %v (attributes %d bytes) does not fit a %d-byte UPDATE", ps[0], len(block), lim))
				}
				ps = ps[n:]
				msgs++
			}
			g.paths, g.set = g.paths[:0], nil
		}
	}
	if ap.head == len(ap.queue) {
		clear(ap.queue)
		ap.queue, ap.head = ap.queue[:0], 0
		if cap(ap.queue) > apChunk {
			ap.queue = nil
		}
	}
	return buf, msgs
}

// apRelease drops p's ADD-PATH state (the session went down) and the references it held.
func (s *Server) apRelease(p *session) {
	if p.ap == nil {
		return
	}
	for _, paths := range p.ap.out {
		for _, x := range paths {
			s.sets.unref(x.set)
		}
	}
	p.ap = nil
}
