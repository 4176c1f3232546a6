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
	ExportLLGRStale              // long-lived stale (RFC 9494): only to members that negotiated LLGR
	// ExportDeniedAll: export policy denies it to every member ("do not announce to any") and
	// does not name this one in an announce-to.
	ExportDeniedAll
)

var exportCheckNames = [...]string{
	ExportOK: "exported", ExportOwnRoute: "own route", ExportReceiverAS: "receiver AS in path",
	ExportRSASInPath: "route server AS in path", ExportDenied: "denied by export policy",
	ExportFamily: "family not negotiated", ExportRejected: "rejected on import",
	ExportNotBest: "better route exported", ExportLLGRStale: "long-lived stale, receiver without LLGR",
	ExportDeniedAll: "denied to all by export policy",
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
	case r.set.containsASN(p.m.asn):
		return ExportReceiverAS, 0
	case r.set.llgrStale && !p.llgr:
		return ExportLLGRStale, 0
	}
	ok, v := r.set.exp.Decide(p.m.asn)
	if !ok {
		if r.set.exp.DeniesAll(p.m.asn) {
			return ExportDeniedAll, 0
		}
		return ExportDenied, 0
	}
	return ExportOK, v
}

// bestFor returns the route p should have for pe, or nil, and the variant p gets it with. It is
// the export rule stated for one session with exportCheck's reasons, for the looking glass; the
// engine decides with exportMay (decideOne, decide), and the invariant walker holds the
// Adj-RIB-Out to this function.
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
// (cohort.go), decide here what sessions should have for a prefix with one rule, exportMay plus
// the export policy's per-AS decision, and change the Adj-RIB-Out only through adjout.go.

// exportMay is the export rule for candidate r toward the sessions in may, word i of the session
// ids: it returns those r may go to. Not when the route server's AS is in the path, not to the
// announcing member's own sessions, not to a member whose AS is in the path (a bit set cached per
// attribute set). A set with export-control communities (r.set.exp.HasControl) is further decided
// per receiving AS by r.set.exp.Decide, which also gives the variant of the attributes.
func (s *Server) exportMay(r *route, i int, may uint64) uint64 {
	if r.set.rsInPath {
		return 0
	}
	if r.set.llgrStale {
		may &= s.llgrIDs.word(i) // RFC 9494 §4.3: only to sessions that negotiated LLGR
	}
	return may &^ (s.pathExcl(r.set).word(i) | r.p.m.ids.word(i))
}

// decideOne returns the route p should have for pe (RFC 7947 §2.3.2.1 without path hiding: the
// first candidate, in decision order, that may go to p) and the set p gets it as, or nil. Whether
// the set can be sent to p is checked when it is applied (reconcileTo).
func (s *Server) decideOne(pe *prefixEntry, p *session) (*route, *attrSet) {
	i, bit := p.id>>6, uint64(1)<<(p.id&63)
	if s.famIDs[pe.fam()].word(i)&bit == 0 {
		return nil, nil
	}
	for _, r := range pe.candidates() {
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
		return r, s.sets.variant(r.set.out, r.info, v)
	}
	return nil, nil
}

// exportDecision is decideOne for a set of sessions at once (a cohort), as bit sets over session
// ids: which sessions should have which outgoing set. It is scratch, reused.
type exportDecision struct {
	words int // length of the bit sets
	wants []wantBits
	nwant int

	changes []adjoutChange // adjoutApply's result
}

// wantBits is the sessions that should have set.
type wantBits struct {
	set  *attrSet
	bits bitset
}

// encClass is one distinct encoding among the receiving sessions: those in bits use opts.
type encClass struct {
	opts speaker.EncodeOptions
	bits bitset
}

// want returns the bit set of the sessions that should have set, adding an empty one for this
// prefix.
func (d *exportDecision) want(set *attrSet) bitset {
	if b := d.wantOf(set); b != nil {
		return b
	}
	if d.nwant == len(d.wants) {
		d.wants = append(d.wants, wantBits{})
	}
	w := &d.wants[d.nwant]
	d.nwant++
	w.set = set
	w.bits = resize(w.bits, d.words)
	clear(w.bits)
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

// decide is decideOne for every session in e, whose bit sets have words words.
func (s *Server) decide(d *exportDecision, pe *prefixEntry, e bitset, words int) {
	d.words, d.nwant = words, 0
	fam, cands := s.famIDs[pe.fam()], pe.candidates()
	for i := 0; i < words; i++ {
		rem := e.word(i) & fam.word(i) // sessions still without a route
		for _, r := range cands {
			if rem == 0 {
				break
			}
			may := s.exportMay(r, i, rem)
			if may == 0 {
				continue
			}
			if !r.set.exp.HasControl() {
				d.want(s.sets.variant(r.set.out, r.info, 0))[i] |= may
				rem &^= may
				continue
			}
			for bw := may; bw != 0; bw &= bw - 1 {
				b := uint64(1) << trailingZeros(bw)
				if ok, v := r.set.exp.Decide(s.peers[i<<6|trailingZeros(bw)].m.asn); ok {
					d.want(s.sets.variant(r.set.out, r.info, v))[i] |= b
					rem &^= b
				}
			}
		}
	}
}

// fit takes out of decision d the sessions whose encoding cannot carry the set they should have
// (sendable, per class of classes, which cover the decision's sessions): they are counted as
// unsendable and get no route for pe, so a route they had before is withdrawn. Sessions that have
// the set already were let through when it was recorded. reconcileTo does the same for one session.
func (s *Server) fit(d *exportDecision, pe *prefixEntry, classes []encClass) {
	for k := 0; k < d.nwant; k++ {
		w := &d.wants[k]
		var have bitset
		for i := range pe.out() {
			if pe.out()[i].set == w.set {
				have = pe.out()[i].bits.b
				break
			}
		}
		for ci := range classes {
			cl := &classes[ci]
			if !newIn(w.bits, cl.bits, have) || s.sendable(w.set, pe, cl.opts) {
				continue
			}
			for i := range w.bits {
				drop := w.bits[i] & cl.bits.word(i)
				for bw := drop; bw != 0; bw &= bw - 1 {
					s.unsendable(s.peers[i<<6|trailingZeros(bw)], w.set, pe)
				}
				w.bits[i] &^= drop
			}
		}
	}
}

// newIn reports whether a and b share a bit that is not in have.
func newIn(a, b, have bitset) bool {
	for i := range a {
		if a[i]&b.word(i)&^have.word(i) != 0 {
			return true
		}
	}
	return false
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
	if pe.bits < 96 || pe.addr != [8]byte{} {
		return false
	}
	lo := pe.addrLo()
	return lo[0] == 0 && lo[1] == 0 && lo[2] == 0xff && lo[3] == 0xff
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

// reconcile brings p's Adj-RIB-Out state for pe in line with what p should have, queuing the
// announce or withdraw that gets it there. With force the announce is queued even when p already
// has the set (route refresh).
func (s *Server) reconcile(pe *prefixEntry, p *session, force bool) {
	_, want := s.decideOne(pe, p)
	s.reconcileTo(pe, p, want, force)
}

// reconcileTo is reconcile with the decision made: want is the set p should have (decideOne).
func (s *Server) reconcileTo(pe *prefixEntry, p *session, want *attrSet, force bool) {
	if p.addPathFor(pe.fam()) {
		s.reconcileAddPath(pe, p, want, force)
		return
	}
	have := pe.outFor(p.id)
	if want == have && !force {
		return
	}
	if want != nil && want != have && !s.sendable(want, pe, p.opts) {
		s.unsendable(p, want, pe)
		want = nil
	}
	if want == nil {
		if have != nil {
			s.adjoutMove(pe, p, have, nil)
			p.pend.withdraw(pe)
		}
		return
	}
	if want != have {
		s.adjoutMove(pe, p, have, want)
	}
	p.pend.announce(pe, want)
}
