package main

import (
	"math/bits"
	"time"
)

// The result checks of the re-evaluation mode, kept free of sockets and processes so that a unit test
// can feed them wrong results (reevalcheck_test.go).

// watch records what one member's UPDATEs carried during a re-evaluation phase. Every prefix in
// change was expected to move in one direction (withdrawn, or announced when announce is set);
// anything else a member is sent — another prefix, the other direction — is unexpected: the change
// touched more than it should have. A member's own prefixes that the change moves are neither: a
// member holds the other announcers' routes of a multi-homed prefix it announces itself, and whether a
// route server sends them is its path-hiding behaviour, not this benchmark's subject. Its methods are
// called with the session's lock held.
type watch struct {
	change   []uint64 // bit set of the prefixes the phase changes; shared, read-only
	own      []uint64 // the member's own prefixes
	announce bool

	msgs, prefixes int64
	expected       int64     // prefixes of change, in the expected direction
	unexpected     int64     // prefixes outside change, or of change in the other direction
	reversed       int64     // of unexpected: prefixes of change in the other direction (a transient state)
	badMsgs        int64     // UPDATEs carrying at least one unexpected prefix
	inBad          bool      // the current UPDATE was already counted in badMsgs
	first          time.Time // when the first prefix of the change arrived
}

func newWatch(change, own []uint64, announce bool) *watch {
	return &watch{change: change, own: own, announce: announce}
}

// message starts a received UPDATE.
func (w *watch) message() {
	w.msgs++
	w.inBad = false
}

// see records one prefix of the current UPDATE: announced or withdrawn.
func (w *watch) see(p uint32, announce bool) {
	w.prefixes++
	if has(w.change, p) && has(w.own, p) {
		return
	}
	if has(w.change, p) && announce == w.announce {
		if w.expected == 0 {
			w.first = time.Now()
		}
		w.expected++
		return
	}
	if has(w.change, p) {
		w.reversed++
	}
	w.unexpected++
	if !w.inBad {
		w.inBad = true
		w.badMsgs++
	}
}

// has reports whether bit set s holds p.
func has(s []uint64, p uint32) bool { return s[p/64]&(1<<(p%64)) != 0 }

// set adds p to bit set s.
func set(s []uint64, p uint32) { s[p/64] |= 1 << (p % 64) }

// heldDiff compares what a member holds with what it should hold after a phase: every live prefix
// except its own (the member does not count its own prefixes: session.prefixes). missing counts live
// prefixes it lacks, extra the prefixes it holds that are gone or its own.
func heldDiff(held, own, live []uint64) (missing, extra int) {
	for i := range held {
		want := live[i] &^ own[i]
		missing += bits.OnesCount64(want &^ held[i])
		extra += bits.OnesCount64(held[i] &^ want)
	}
	return missing, extra
}

// heldTarget is the number of prefixes a member with own should hold when live is the table.
func heldTarget(own, live []uint64) int {
	n := 0
	for i := range own {
		n += bits.OnesCount64(live[i] &^ own[i])
	}
	return n
}

// phaseCheck is the verdict over all members after one phase.
type phaseCheck struct {
	Updates, Prefixes, Expected, Unexpected, BadUpdates int64
	// Reversed is the part of Unexpected that were prefixes of the change sent in the other direction:
	// a member passing through an intermediate state (e.g. another announcer's route of a prefix
	// before its withdrawal) rather than being sent a prefix the change does not touch.
	Reversed       int64
	WrongMembers   int // members holding a different prefix set
	Missing, Extra int // summed over members
	// ShortMembers counts members that were sent fewer prefixes of the change than it holds for them:
	// with a correct final set this cannot happen, so it flags a bookkeeping error in the benchmark.
	ShortMembers int
	// BadRoutes counts, over all members, prefixes held with a route that is not one of the prefix's
	// best live routes (check.go's route check; filled in by the caller).
	BadRoutes int
	// First is when the first member received the first prefix of the change (zero if none did).
	First time.Time `json:"-"`
}

// checkPhase sums the members' watches and compares their final prefix sets with live. want is, per
// member, how many prefixes of the change concern it (the change minus its own prefixes: changeFor).
func checkPhase(ws []*watch, helds, owns [][]uint64, live []uint64, want []int) phaseCheck {
	var c phaseCheck
	for i, w := range ws {
		c.Updates += w.msgs
		c.Prefixes += w.prefixes
		c.Expected += w.expected
		c.Unexpected += w.unexpected
		c.BadUpdates += w.badMsgs
		c.Reversed += w.reversed
		m, x := heldDiff(helds[i], owns[i], live)
		if m+x > 0 {
			c.WrongMembers++
			c.Missing += m
			c.Extra += x
		}
		if !w.first.IsZero() && (c.First.IsZero() || w.first.Before(c.First)) {
			c.First = w.first
		}
		if w.expected < int64(want[i]) {
			c.ShortMembers++
		}
	}
	return c
}

// ok reports whether the phase ended with every member holding exactly the expected set and no
// member being sent anything outside the change.
func (c phaseCheck) ok() bool {
	return c.WrongMembers == 0 && c.Unexpected == 0 && c.ShortMembers == 0 && c.BadRoutes == 0
}

// changeFor is how many prefixes of change a member with own must be sent.
func changeFor(change, own []uint64) int { return heldTarget(own, change) }
