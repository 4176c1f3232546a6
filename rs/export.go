package rs

import (
	"github.com/ixrs/ixrs/policy"
	"github.com/ixrs/ixrs/speaker"
)

// Per-member export without path hiding (RFC 7947 §2.3): a member receives the first candidate, in
// decision order, that it may receive. Everything checked here is either per route (the announcing
// session) or precomputed on the attribute set, so the check is a few comparisons.

// ExportCheck says whether a candidate may be sent to a member, and if not, why.
type ExportCheck uint8

// Export check results.
const (
	ExportOK         ExportCheck = iota
	ExportOwnRoute               // announced by the receiving member itself
	ExportReceiverAS             // the receiver's AS is in the AS path: it would drop the route as a loop
	ExportRSASInPath             // the route server's AS is in the path: never redistributed
	ExportDenied                 // export policy (control communities) denies it to this member
	ExportFamily                 // the family is not negotiated on the receiving session
	ExportRejected               // rejected by import policy: not a candidate
	ExportNotBest                // allowed, but a better candidate is sent instead
)

var exportCheckNames = [...]string{
	ExportOK: "exported", ExportOwnRoute: "own route", ExportReceiverAS: "receiver AS in path",
	ExportRSASInPath: "route server AS in path", ExportDenied: "denied by export policy",
	ExportFamily: "family not negotiated", ExportRejected: "rejected on import",
	ExportNotBest: "better route exported",
}

func (c ExportCheck) String() string {
	if int(c) < len(exportCheckNames) {
		return exportCheckNames[c]
	}
	return "unknown"
}

// exportCheck decides whether candidate r may go to p. The member test covers "never send a route
// back to the member that announced it" for all of the member's sessions; the AS-path test makes it
// hold even when a member's route comes back through another member.
// With ExportOK it also returns the variant of the attributes p gets (prepend, NO_EXPORT ... toward
// p), read from the set's summary in constant time.
func exportCheck(r *route, p *session) (ExportCheck, policy.Variant) {
	switch {
	case r.p.m == p.m:
		return ExportOwnRoute, 0
	case r.set.rsInPath:
		return ExportRSASInPath, 0
	case r.set.path.Contains(p.m.asn):
		return ExportReceiverAS, 0
	}
	ok, v := r.set.exp.Decide(p.m.asn)
	if !ok {
		return ExportDenied, 0
	}
	return ExportOK, v
}

// bestFor returns the route p should have for pe, or nil, and the variant p gets it with. It is
// the export rule stated for one session with exportCheck's reasons, for the looking glass; the
// engine decides with decide, and the invariant walker holds the Adj-RIB-Out to this function.
func bestFor(pe *prefixEntry, p *session) (*route, policy.Variant) {
	if !p.fams[pe.fam()] {
		return nil, 0
	}
	for _, r := range pe.candidates() {
		if c, v := exportCheck(r, p); c == ExportOK {
			return r, v
		}
	}
	return nil, 0
}

// wantFor returns the set p should have for pe (nil: none): the set of bestFor, unless it cannot
// be sent to p (sendable).
func (s *Server) wantFor(pe *prefixEntry, p *session) *attrSet {
	r, v := bestFor(pe, p)
	if r == nil {
		return nil
	}
	set := s.sets.variant(r.set.out, r.info, v)
	if !s.sendable(set, pe, p.opts) {
		return nil
	}
	return set
}

// The export decision. Both ways of serving sessions, one at a time (reconcile) and as a cohort
// (cohort.go), decide here what a set of sessions should have for a prefix, and change the
// Adj-RIB-Out only through adjoutApply (adjout.go).

// exportDecision is the scratch and result of one decision: for one prefix and a set of receiving
// sessions, which sessions should have which outgoing set. Only words [lo, hi) of the sessions' bit
// sets are looked at: all of them for a cohort, the one word of a single session.
type exportDecision struct {
	words  int // length of the bit sets
	lo, hi int
	wants  []wantBits
	nwant  int

	changes []adjoutChange // adjoutApply's result
}

// wantBits is the sessions that should have set, the outgoing form of candidate r.
type wantBits struct {
	set  *attrSet
	r    *route
	bits bitset
}

// encClass is one distinct encoding among the receiving sessions: those in bits use opts.
type encClass struct {
	opts speaker.EncodeOptions
	bits bitset
}

// reset prepares d for sessions with bit sets of the given number of words.
func (d *exportDecision) reset(words, lo, hi int) {
	d.words, d.lo, d.hi = words, lo, hi
	d.nwant = 0
}

// want returns the bit set of the sessions that should have set (from candidate r), adding an
// empty one for this prefix.
func (d *exportDecision) want(set *attrSet, r *route) bitset {
	if b := d.wantOf(set); b != nil {
		return b
	}
	if d.nwant == len(d.wants) {
		d.wants = append(d.wants, wantBits{})
	}
	w := &d.wants[d.nwant]
	d.nwant++
	w.set, w.r = set, r
	if len(w.bits) != d.words { // slice headers are rewritten only when needed: write barriers
		w.bits = resize(w.bits, d.words)
	}
	for i := d.lo; i < d.hi; i++ { // not clear: a call to memclr costs more for a word or two
		w.bits[i] = 0
	}
	return w.bits
}

// wantOf returns the bit set of the sessions that should have set, or nil.
func (d *exportDecision) wantOf(set *attrSet) bitset {
	for i := 0; i < d.nwant; i++ {
		if d.wants[i].set == set {
			return d.wants[i].bits
		}
	}
	return nil
}

// decide computes what each session in e should have for pe: RFC 7947 §2.3.2.1 without path
// hiding, as bit sets over session ids. Candidates are taken in decision order; each goes to the
// sessions still without a route that it may go to: not the announcing member's own, not a member
// whose AS is in the path (a bit set cached per attribute set), not when the route server's AS is
// in the path, and as export policy allows per receiving AS (with the variant it gives).
func (s *Server) decide(d *exportDecision, pe *prefixEntry, e bitset) {
	fam, cands := s.famIDs[pe.fam()], pe.candidates()
	for i := d.lo; i < d.hi; i++ {
		if rem := e.word(i) & fam.word(i); rem != 0 {
			s.decideWord(d, cands, i, rem)
		}
	}
}

// decideWord is decide for the sessions rem of word i, a word at a time so that one session
// (reconcile) costs a few word operations per candidate.
func (s *Server) decideWord(d *exportDecision, cands []*route, i int, rem uint64) {
	for _, r := range cands {
		if r.set.rsInPath {
			continue
		}
		may := rem &^ (s.pathExcl(r.set).word(i) | r.p.m.ids.word(i))
		if may == 0 {
			continue
		}
		if !r.set.exp.HasControl() {
			d.want(s.sets.variant(r.set.out, r.info, 0), r)[i] |= may
			rem &^= may
		} else {
			// Export-control communities: allowed or not, and the variant, per receiving AS.
			for bw := may; bw != 0; bw &= bw - 1 {
				b := uint64(1) << trailingZeros(bw)
				ok, v := r.set.exp.Decide(s.peers[i<<6|trailingZeros(bw)].m.asn)
				if ok {
					d.want(s.sets.variant(r.set.out, r.info, v), r)[i] |= b
					rem &^= b
				}
			}
		}
		if rem == 0 {
			return
		}
	}
}

// fit takes out of decision d the sessions whose encoding cannot carry the set they should have
// (sendable, per class of classes, which cover the decision's sessions): they are counted as
// unsendable and get no route for pe, so a route they had before is withdrawn. Called once per
// decision that is applied.
func (s *Server) fit(d *exportDecision, pe *prefixEntry, classes []encClass) {
	lo, hi := d.lo, d.hi
	for k := 0; k < d.nwant; k++ {
		w := &d.wants[k]
		// Sessions that have the set already were let through when it was recorded.
		var have bitset
		for i := range pe.out {
			if pe.out[i].set == w.set {
				have = pe.out[i].bits.b
				break
			}
		}
		for ci := range classes {
			cl := &classes[ci]
			if !newIn(w.bits, cl.bits, have, lo, hi) || s.sendable(w.set, pe, cl.opts) {
				continue
			}
			for i := lo; i < hi; i++ {
				drop := w.bits[i] & cl.bits.word(i)
				for bw := drop; bw != 0; bw &= bw - 1 {
					s.unsendable(s.peers[i<<6|trailingZeros(bw)], w.set, pe)
				}
				w.bits[i] &^= drop
			}
		}
	}
}

// sendable reports whether set can be announced for pe to a session encoding with opts: the
// attribute block, MP_REACH_NLRI for IPv6 and the prefix fit one message (RFC 4271 §4.3, RFC 4760
// §3; at least 4,096 bytes, RFC 4271 §4.1, or up to 65,535 with RFC 8654), an IPv6 route has an
// IPv6 next hop, and the prefix is not one the encoder refuses (an IPv4-mapped IPv6 prefix). So
// the first message of every announcement the Adj-RIB-Out records can be encoded, which pack
// relies on.
func (s *Server) sendable(set *attrSet, pe *prefixEntry, opts speaker.EncodeOptions) bool {
	size := speaker.HeaderLen + 4 + len(set.encoded(s.sets, pe.fam(), opts)) + nlriLen(pe)
	if pe.fam() == 1 {
		if !set.nextHop(1).IsValid() || isMapped4(pe) {
			return false
		}
		size += 3 + 5 + 16 // MP_REACH_NLRI: header, AFI, SAFI, next hop length, reserved, next hop
		if set.attrs.MPLinkLocal.IsValid() {
			size += 16
		}
	}
	return size <= msgLimit(opts)
}

// msgLimit is the largest message a session takes: RFC 4271's 4,096 bytes unless extended messages
// were negotiated. A session's options never say less (Peer.Up raises them), but pack and sendable
// do not rely on that: one withdrawn prefix must always fit.
func msgLimit(opts speaker.EncodeOptions) int {
	return min(max(opts.MaxMessage, speaker.MaxMessageLen), speaker.MaxExtendedMessage)
}

// isMapped4 reports whether an IPv6 entry's address is IPv4-mapped (::ffff:0:0/96).
func isMapped4(pe *prefixEntry) bool {
	return pe.bits >= 96 && pe.addr[10] == 0xff && pe.addr[11] == 0xff && [10]byte(pe.addr[:10]) == [10]byte{}
}

// unsendable counts a route that p should have but cannot be sent: it gets a withdrawal instead.
// The count is of decisions: a route that a table dump and a change both reach is counted twice.
func (s *Server) unsendable(p *session, set *attrSet, pe *prefixEntry) {
	if p.unsendable == 0 {
		s.log.Error("route cannot be sent to session: withdrawn from it", "session", p.addr, "prefix", pe.prefix(),
			"attr_bytes", len(set.encoded(s.sets, pe.fam(), p.opts)), "max", msgLimit(p.opts))
	}
	p.unsendable++
}

// newIn reports whether a and b share a bit that is not in have, in words [lo, hi).
func newIn(a, b, have bitset, lo, hi int) bool {
	for i := lo; i < hi; i++ {
		if a.word(i)&b.word(i)&^have.word(i) != 0 {
			return true
		}
	}
	return false
}

// reconcile brings p's Adj-RIB-Out state for pe in line with what p should have, queuing the
// announce or withdraw that gets it there. With force the announce is queued even when p already
// has the set (route refresh).
func (s *Server) reconcile(pe *prefixEntry, p *session, force bool) {
	s.reconcileDecided(pe, p, s.decideOne(pe, p), force)
}

// decideOne decides for p alone: the result has at most one want, whose route is p's best
// candidate. Only the word of p's bit in s.one.e is meaningful: the decision and adjoutApply look
// at no other.
func (s *Server) decideOne(pe *prefixEntry, p *session) *exportDecision {
	d := &s.one
	w := p.id >> 6
	d.reset((len(s.peers)+63)/64, w, w+1)
	d.single(p.id)
	s.decide(&d.exportDecision, pe, d.e)
	return &d.exportDecision
}

// best returns the route the single session of a decideOne result should have, or nil.
func (d *exportDecision) best() *route {
	if d.nwant == 0 {
		return nil
	}
	return d.wants[0].r
}

// reconcileDecided applies decision d (from decideOne) for p and queues the result in p's pending.
func (s *Server) reconcileDecided(pe *prefixEntry, p *session, d *exportDecision, force bool) {
	if !force {
		// Most reconciles change nothing: say so before fitting and applying.
		var want *attrSet
		if d.nwant > 0 {
			want = d.wants[0].set
		}
		if pe.outFor(p.id) == want {
			return
		}
	}
	s.one.cls[0].opts = p.opts
	s.fit(d, pe, s.one.cls[:])
	for _, c := range s.adjoutApply(pe, s.one.e, d, force) {
		if c.set == nil {
			p.pend.withdraw(pe)
		} else {
			p.pend.announce(pe, c.set)
		}
	}
}

// oneDecision is the scratch of single-session decisions.
type oneDecision struct {
	exportDecision
	e   bitset      // the session alone, in word lo
	cls [1]encClass // its encoding, over e
}

// single sets e to session id in word d.lo, after reset.
func (d *oneDecision) single(id int) {
	if len(d.e) != d.words {
		d.e = resize(d.e, d.words)
		d.cls[0].bits = d.e
	}
	d.e[d.lo] = 1 << (id & 63)
}
