package main

import (
	"bytes"
	"hash/maphash"
	"sync/atomic"
)

// The members share the reading of UPDATEs they receive byte for byte. A route server sends the same
// message to most of its members (ixrs encodes each once per group of sessions; the floor forwards one
// member's UPDATE to all others), and on the machine's two cores the load generator's work per copy is
// time the daemon under test does not get: at 700 members a re-evaluation restore delivers 2.5 million
// one-prefix UPDATEs, and reading them (the route's hash, the prefix lookups, the candidate each route
// is) took the generator twice the route server's CPU time. What every copy yields does not depend on
// the member that receives it, so it is worked out once and kept here, keyed by the message's bytes;
// each member still applies every prefix to its own table and checks it (session.apply) and does its
// own loop detection. A message seen once is only remembered by its hash: a daemon that sends each
// member messages of its own pays a hash and two atomic operations per UPDATE, not a copy.

// rxSlots is the size of the direct-mapped cache. It has to hold the messages in flight, and receivers
// drift apart: the floor forwards each member's UPDATEs to the others in no common order, so at 300
// members a receiver may read a message long after the first. With 16,384 slots half of the floor's
// UPDATEs on the large workload missed, and the members spent more CPU than without the cache (the
// wasted copies); with 131,072, 89% were shared. An entry holds a copy of its message: the cache can
// take a few hundred MB of the generator's memory, which is not measured.
const rxSlots = 1 << 17

type rxCache struct {
	seed  maphash.Seed
	seen  [rxSlots]atomic.Uint64 // per slot: the hash of the last message that missed
	slots [rxSlots]atomic.Pointer[rxEntry]
}

// rxEntry is what one UPDATE yields for any member. Immutable once published.
type rxEntry struct {
	sum   uint64
	msg   []byte   // the UPDATE's body, a copy
	path  []uint32 // the AS_PATH's ASNs that ownASInPath scans, for each member's loop detection
	items []rxItem // the message's prefixes in the order session.update reads them
}

// rxItem is one prefix of a cached UPDATE.
type rxItem struct {
	idx  uint32 // prefix index (index.lookup)
	kind uint8  // rxUnknown, rxWithdraw or rxAnnounce
	cand uint8  // rxAnnounce: the candidate the route is (checker.identify), never gotWrong
}

const (
	rxUnknown = iota // a prefix the workload does not have
	rxWithdraw
	rxAnnounce
)

func newRxCache() *rxCache { return &rxCache{seed: maphash.MakeSeed()} }

// lookup returns the entry for message b, or nil and whether b was seen before (its entry should be
// built) with its hash.
func (c *rxCache) lookup(b []byte) (e *rxEntry, again bool, sum uint64) {
	sum = maphash.Bytes(c.seed, b)
	i := sum & (rxSlots - 1)
	if e = c.slots[i].Load(); e != nil && e.sum == sum && bytes.Equal(e.msg, b) {
		return e, false, sum
	}
	if c.seen[i].Swap(sum) == sum {
		return nil, true, sum
	}
	return nil, false, sum
}

// store publishes e (its sum set by lookup).
func (c *rxCache) store(e *rxEntry) { c.slots[e.sum&(rxSlots-1)].Store(e) }

// rxBuilder records an UPDATE's prefixes while a member reads it the long way (session.update).
type rxBuilder struct {
	e  rxEntry
	ok bool // nothing seen so far that a cached entry could not reproduce
}

func (r *rxBuilder) add(idx uint32, kind, cand uint8) {
	if r == nil {
		return
	}
	if cand == gotWrong {
		r.ok = false // the member's failure report needs the route decoded: never cached
	}
	r.e.items = append(r.e.items, rxItem{idx: idx, kind: kind, cand: cand})
}
