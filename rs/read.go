package rs

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/ixrs/ixrs/policy"
)

// Read jobs. Every looking-glass read (query.go, explain.go) and every feed resync (feed.go) is a
// job that runs on the RIB loop, a bounded amount at a time, so that reads never stop routing for
// long: all jobs together get Config.ReadBudget entries per pass in the background phase (half of
// it while a re-evaluation walk runs), and the queries also get turns in the middle of a pass
// (readTurn), bounded in time; jobs are served least-served first. One page visits at most
// Config.ReadLimit entries before it is returned, partial if need be, with a cursor.
//
// The caller's goroutine submits a job through the mailbox and waits for it; when its context ends
// it stops waiting and the loop drops the job at its next step. A job hands back copies and codes
// only: route fields, policy.Reasons, ExportCheck, Step, policy.Info, and the RIB's immutable
// *speaker.Attrs. It never builds prose (the Explain and Describe functions do that on the
// caller's goroutine) and never interns anything (peekVariant reads the variant cache, it does not
// fill it), so a read changes no counter of Stats.
//
// Cursors are positions in slabs (a session's Adj-RIB-In slab, the prefix slab, the session
// table), which never move an entry while it exists. Paging is weakly consistent: a route present
// for the whole of a paged read is returned exactly once; one added or removed meanwhile may or
// may not be. Every page carries the RIB generation, which the loop bumps on every Adj-RIB-In,
// Adj-RIB-Out and session change, so a reader can tell whether the table moved under its pages.
// A session's slab does not outlive its incarnation: a cursor into it names the incarnation, and
// one that crosses a flap is refused with ErrCursorStale.

// ErrCursorStale is returned for a cursor that no longer names a position: the session it pages
// through went down or came up again since the cursor was issued. Start again from the first page.
var ErrCursorStale = errors.New("cursor stale: the session restarted since the previous page")

// ErrBadCursor is returned by Cursor.UnmarshalText for text that is not a cursor.
var ErrBadCursor = errors.New("malformed cursor")

// Cursor is the position where the next page of a read starts. The zero Cursor starts at the
// beginning. Its text form (MarshalText) is opaque and safe to hand to clients.
type Cursor struct {
	set  bool
	inc  uint64 // the session incarnation the position belongs to (0: none)
	a, b uint32 // slab positions: slot, or session index and slot, or slot and routes to skip
}

// IsZero reports whether c is the start.
func (c Cursor) IsZero() bool { return !c.set }

const cursorVersion = 'c'

// MarshalText implements encoding.TextMarshaler: "c" and 32 hexadecimal digits, or "" for the
// zero Cursor.
func (c Cursor) MarshalText() ([]byte, error) {
	if !c.set {
		return []byte{}, nil
	}
	var raw [16]byte
	binary.BigEndian.PutUint64(raw[0:], c.inc)
	binary.BigEndian.PutUint32(raw[8:], c.a)
	binary.BigEndian.PutUint32(raw[12:], c.b)
	out := make([]byte, 1+hex.EncodedLen(len(raw)))
	out[0] = cursorVersion
	hex.Encode(out[1:], raw[:])
	return out, nil
}

// UnmarshalText implements encoding.TextUnmarshaler. It accepts exactly what MarshalText
// produces (lower-case digits), and "" for the zero Cursor.
func (c *Cursor) UnmarshalText(text []byte) error {
	if len(text) == 0 {
		*c = Cursor{}
		return nil
	}
	if len(text) != 33 || text[0] != cursorVersion {
		return ErrBadCursor
	}
	var raw [16]byte
	for _, ch := range text[1:] {
		if !('0' <= ch && ch <= '9' || 'a' <= ch && ch <= 'f') {
			return ErrBadCursor
		}
	}
	if _, err := hex.Decode(raw[:], text[1:]); err != nil {
		return ErrBadCursor
	}
	*c = Cursor{set: true, inc: binary.BigEndian.Uint64(raw[0:]), a: binary.BigEndian.Uint32(raw[8:]),
		b: binary.BigEndian.Uint32(raw[12:])}
	return nil
}

// String returns the text form.
func (c Cursor) String() string {
	b, _ := c.MarshalText()
	return string(b)
}

// readTask is a job the RIB loop advances in its background phase.
type readTask interface {
	// step advances the job by up to budget entries; it returns how many it used and whether the
	// job is over. 0 used means it could not progress (it waits for a subscriber to read).
	step(s *Server, budget int) (used int, done bool)
	// dropped reports whether nobody waits for the job any more.
	dropped() bool
	// finish delivers the result; called once, on the loop, after step reported done.
	finish()
}

// readJob is what every query job shares: the submitter's context, the channel it waits on, the
// work done so far and the error to return.
type readJob struct {
	ctx  context.Context
	done chan struct{}
	work int
	err  error
}

func (j *readJob) dropped() bool { return j.ctx.Err() != nil }
func (j *readJob) finish()       { close(j.done) }

// spent counts n entries of the page's work and reports whether the page's bound is reached.
func (j *readJob) spent(s *Server, n int) bool {
	j.work += n
	return j.work >= s.cfg.ReadLimit
}

// read submits t (whose readJob is j) and waits until it is over, ctx is done or the server stops.
func (s *Server) read(ctx context.Context, t readTask, j *readJob) error {
	if s.isStopped() {
		return ErrStopped
	}
	j.ctx, j.done = ctx, make(chan struct{})
	s.mail.postRead(t)
	select {
	case <-j.done:
		return j.err
	case <-ctx.Done():
		return ctx.Err()
	case <-s.stopped:
		return ErrStopped
	}
}

// readSlot is a read job in the queue with the entries it has been given so far.
type readSlot struct {
	t      readTask
	served int
	// quick: a looking-glass query, which a caller waits for; feed replays are not, and run in
	// the background phase only.
	quick bool
}

// queueRead adds t to the read jobs.
func (s *Server) queueRead(t readTask) {
	_, replay := t.(*feedDump)
	s.reads = append(s.reads, readSlot{t: t, quick: !replay})
	if !replay {
		s.quickReads++
	}
}

// sortReads orders the jobs least served first (an insertion sort: the queue is short and mostly
// in order from the previous turn). Serving the least-served job first finishes cheap pages (a
// page of a session's routes, a prefix) ahead of long scans without knowing their cost in advance;
// a long scan still advances, with what the cheap ones leave.
func (s *Server) sortReads() {
	r := s.reads
	for i := 1; i < len(r); i++ {
		for j := i; j > 0 && r[j].served < r[j-1].served; j-- {
			r[j], r[j-1] = r[j-1], r[j]
		}
	}
}

// serveRead steps job i with up to budget entries and reports how many it used (at least 1) and
// whether it progressed. A finished or abandoned job leaves a nil task, removed by compactReads.
func (s *Server) serveRead(i, budget int) (int, bool) {
	r := &s.reads[i]
	if r.t.dropped() {
		r.t = nil
		return 0, false
	}
	used, done := r.t.step(s, budget)
	r.served += used
	if done {
		r.t.finish()
		r.t = nil
	}
	return max(used, 1), used > 0 || done
}

func (s *Server) compactReads() {
	keep := s.reads[:0]
	for _, r := range s.reads {
		if r.t != nil {
			keep = append(keep, r)
		}
	}
	clear(s.reads[len(keep):])
	s.reads = keep
	s.quickReads = 0
	for _, r := range s.reads {
		if r.quick {
			s.quickReads++
		}
	}
}

// readStep gives the read jobs up to budget entries, least served first, each at most an equal
// share (so that one large job cannot starve the others' first pages), and stops at deadline (the
// zero Time: none) once one job has been served. It reports whether any job progressed. It is the
// background phase's turn, once per pass.
func (s *Server) readStep(budget int, deadline time.Time) bool {
	s.readSiteAt(siteBackground, time.Now())
	progress := false
	share := max(budget/len(s.reads), minReadShare)
	s.sortReads()
	for i := 0; i < len(s.reads) && budget > 0; i++ {
		n := min(share, budget)
		if !s.reads[i].quick && s.busy {
			n = min(n, replayBusyShare)
		}
		used, ok := s.serveRead(i, n)
		budget -= used
		progress = progress || ok
		if !deadline.IsZero() && time.Now().After(deadline) {
			break
		}
	}
	s.compactReads()
	s.lastRead = time.Now()
	s.gaps.at = s.lastRead
	return progress
}

// minReadShare is the least a job gets in a pass it is served in.
const minReadShare = 16

// replayBusyShare is what a feed replay (an MRT dump, a BMP collector's initial dump) gets in a pass
// that routed (took UPDATEs from members or sent them some). A replay is background work nobody
// waits on interactively: it trickles while members converge, so that it takes little of their CPU (on two shared cores one
// dump of the medium table added ~30% to convergence at the full share), and runs at the full share
// once the loop has nothing else to do. Looking-glass pages keep their share.
const replayBusyShare = 64

// readQuantum is what one job gets at a time in a mid-pass turn: enough for a page of a session's
// routes, or a prefix, in one step.
const readQuantum = 256

// readTurn gives the looking-glass queries a turn in the middle of a pass when they have waited
// Config.ReadInterval of loop work: a pass under churn lasts hundreds of milliseconds, and a page
// that waited for the background phase took as long. It is called between units of routing work
// (one session's inbound message, one session's or one cohort's outbound slice), where the RIB is
// as consistent as between passes, and inside a cohort pull, every cohortReadEvery prefixes and
// after its encoding (a pull for hundreds of sessions is the longest unit). A turn takes in the queries posted since the pass began and
// serves them, least served first, readQuantum entries at a time, for at most readSliceOf of the
// interval, so reads take a bounded share of a busy loop. Feed replays wait for the background
// phase.
func (s *Server) readTurn(site readSite) {
	if s.quickReads == 0 && s.mail.reads.Load() == 0 {
		s.gaps.at = time.Time{} // no clock read while nobody waits: this is called per session per pass
		return
	}
	now := time.Now()
	s.readSiteAt(site, now)
	if now.Sub(s.lastRead) < s.cfg.ReadInterval {
		return
	}
	for _, t := range s.mail.takeReads(s.readBuf[:0]) {
		s.queueRead(t)
	}
	clear(s.readBuf)
	deadline := now.Add(s.cfg.ReadInterval / readSliceOf)
	s.stats.readTurns++
	s.stats.readTurnsAt[site]++
	for sweep := 0; sweep < maxReadSweeps && s.quickReads > 0; sweep++ {
		s.sortReads()
		progress := false
		for i := range s.reads {
			if !s.reads[i].quick || s.reads[i].t == nil {
				continue
			}
			if _, ok := s.serveRead(i, readQuantum); ok {
				progress = true
			}
			if time.Now().After(deadline) {
				break
			}
		}
		s.compactReads()
		if !progress || time.Now().After(deadline) {
			break
		}
	}
	s.lastRead = time.Now()
	s.gaps.at = s.lastRead
}

// readSliceOf: a mid-pass turn lasts at most Config.ReadInterval/readSliceOf.
const readSliceOf = 16

// maxReadSweeps bounds the sweeps over the queue in one turn (the deadline bounds it in time).
const maxReadSweeps = 64

// peekVariant is attrTable.variant for readers: the cached variant of out, or nil when none is
// cached. It never interns. A session's Adj-RIB-Out holds only sets variant returned, so a set
// that is not cached is not what any session holds.
func (t *attrTable) peekVariant(out *attrSet, info policy.Info, v policy.Variant) *attrSet {
	if !t.gshut && (info == 0 && v == 0 || t.vexport == nil) {
		return out
	}
	if out.setOut == nil {
		return nil
	}
	k := t.variantKey(info, v)
	for _, e := range out.variants() {
		if e.key == k {
			return e.set
		}
	}
	return nil
}

// sessionAt returns the established session neighbor pages through, checking that cursor c (when
// set) belongs to its current incarnation.
func (s *Server) sessionAt(neighbor fmt.Stringer, ss *Peer, c Cursor) (*session, error) {
	if ss == nil {
		return nil, fmt.Errorf("neighbor %s: %w", neighbor, ErrUnknownPeer)
	}
	p := ss.p
	if c.set && c.inc != 0 && (p == nil || p.inc != c.inc) {
		return nil, fmt.Errorf("neighbor %s: %w", neighbor, ErrCursorStale)
	}
	return p, nil
}
