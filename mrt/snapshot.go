package mrt

import (
	"cmp"
	"encoding/binary"
	"net/netip"
	"slices"
	"time"

	"github.com/ixrs/ixrs/rs"
	"github.com/ixrs/ixrs/speaker"
)

// snapshot is the Adj-RIB-In as the feed describes it, kept as a log rather than as maps: every
// route event is appended as a record, in the order the events arrived, and only when the walk is
// over are the records sorted by prefix, peer and arrival, the last record of each (prefix, peer)
// being the route's state. Appending is what the dumper does per event while the RIB loop replays
// the table, so it must keep up with the loop without allocating per route: a map per session
// cost an insertion and its memory per route, and a map by prefix once more when the files were
// written (BenchmarkDump).
type snapshot struct {
	sessions []sessionState // by local number, in the order of their up events
	byKey    map[sessionKey]int32
	recs     []record

	// The session of the last route event: replayed routes come in runs of one session.
	lastKey sessionKey
	lastIdx int32 // -1: none cached
}

type sessionKey struct {
	addr netip.Addr
	inc  uint64
}

type sessionState struct {
	key   sessionKey
	peer  Peer
	since time.Time
	gone  bool // went down (not gracefully) or was replaced: its records no longer count
}

// record is one route event: the session's route for prefix is now attrs (nil: withdrawn).
type record struct {
	prefix   netip.Prefix
	attrs    *speaker.Attrs
	sess     int32
	filtered bool
}

// newSnapshot returns an empty snapshot with room for about hint records.
func newSnapshot(hint int) *snapshot {
	return &snapshot{byKey: map[sessionKey]int32{}, recs: make([]record, 0, hint), lastIdx: -1}
}

// apply applies one event and reports whether it was the end of the replay.
func (s *snapshot) apply(ev *rs.Event) bool {
	switch ev.Kind {
	case rs.EventRoute:
		k := sessionKey{ev.Neighbor, ev.Incarnation}
		i := s.lastIdx
		if i < 0 || k != s.lastKey {
			j, ok := s.byKey[k]
			if !ok {
				return false // a session the snapshot does not hold (its up event came before a resync)
			}
			i, s.lastKey, s.lastIdx = j, k, j
		}
		s.recs = append(s.recs, record{prefix: ev.Prefix, attrs: ev.Attrs, sess: i, filtered: ev.Reasons != 0})
	case rs.EventSyncStart:
		clear(s.byKey)
		s.sessions = s.sessions[:0]
		clear(s.recs)
		s.recs = s.recs[:0]
		s.lastIdx = -1
	case rs.EventSyncDone:
		return true
	case rs.EventSessionUp:
		k := sessionKey{ev.Neighbor, ev.Incarnation}
		if j, ok := s.byKey[k]; ok {
			s.sessions[j].gone = true // up again (live and replayed): its routes follow anew
		}
		s.byKey[k] = int32(len(s.sessions))
		s.sessions = append(s.sessions, sessionState{key: k, since: ev.Session.Since,
			peer: Peer{Addr: ev.Neighbor, ASN: ev.ASN, RouterID: ev.Session.Info.RouterID}})
		s.lastIdx = -1
	case rs.EventSessionDown:
		if !ev.Session.Stale { // its routes are gone with it
			k := sessionKey{ev.Neighbor, ev.Incarnation}
			if j, ok := s.byKey[k]; ok {
				s.sessions[j].gone = true
				delete(s.byKey, k)
			}
			s.lastIdx = -1
		}
	}
	return false
}

// peers returns the sessions of the snapshot in a stable order (address, then incarnation), and
// each local session number's peer index (-1: not in the index).
func (s *snapshot) peers() ([]Peer, []int32) {
	live := make([]int32, 0, len(s.byKey))
	for _, j := range s.byKey {
		live = append(live, j)
	}
	slices.SortFunc(live, func(a, b int32) int {
		ka, kb := s.sessions[a].key, s.sessions[b].key
		return cmp.Or(ka.addr.Compare(kb.addr), cmp.Compare(ka.inc, kb.inc))
	})
	if len(live) > 0xffff {
		live = live[:0xffff] // the peer index has 16 bits; no exchange has that many sessions
	}
	index := make([]int32, len(s.sessions))
	for i := range index {
		index[i] = -1
	}
	peers := make([]Peer, len(live))
	for i, j := range live {
		peers[i] = s.sessions[j].peer
		index[j] = int32(i)
	}
	return peers, index
}

// recKey orders records: IPv4 before IPv6 (fam), by address (hi, lo), prefix length and peer index
// (tail), then arrival (i, the record's position).
type recKey struct {
	hi, lo uint64
	fam    uint8  // 0: IPv4, 1: IPv6
	tail   uint32 // prefix length << 16 | peer index
	i      uint32
}

func compareKeys(a, b recKey) int {
	return cmp.Or(cmp.Compare(a.fam, b.fam), cmp.Compare(a.hi, b.hi), cmp.Compare(a.lo, b.lo),
		cmp.Compare(a.tail, b.tail), cmp.Compare(a.i, b.i))
}

// samePrefix reports whether a and b are records of one prefix.
func samePrefix(a, b *recKey) bool {
	return a.fam == b.fam && a.hi == b.hi && a.lo == b.lo && a.tail>>16 == b.tail>>16
}

// table is the snapshot sorted for writing: the records of the sessions in the peer index, IPv4
// before IPv6, each in address order.
type table struct {
	s     *snapshot
	index []int32
	keys  []recKey
}

// sorted sorts the snapshot's records for the peer index from peers.
func (s *snapshot) sorted(index []int32) *table {
	keys := make([]recKey, 0, len(s.recs))
	for i := range s.recs {
		r := &s.recs[i]
		pi := index[r.sess]
		if pi < 0 {
			continue
		}
		a := r.prefix.Addr()
		k := recKey{tail: uint32(r.prefix.Bits())<<16 | uint32(pi), i: uint32(i)}
		if a.Is4() {
			b := a.As4()
			k.lo = uint64(binary.BigEndian.Uint32(b[:]))
		} else {
			b := a.As16()
			k.fam, k.hi, k.lo = 1, binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])
		}
		keys = append(keys, k)
	}
	slices.SortFunc(keys, compareKeys)
	return &table{s: s, index: index, keys: keys}
}

// each calls fn for every prefix with accepted (or filtered) routes, in order, with its entries in
// peer index order. The entries are valid during the call only.
func (t *table) each(accepted bool, fn func(prefix netip.Prefix, entries []Entry) error) error {
	var entries []Entry
	keys := t.keys
	for i := 0; i < len(keys); {
		// One prefix: keys[i:j]; in it, the last record of each peer is the route's state.
		j := i + 1
		for j < len(keys) && samePrefix(&keys[j], &keys[i]) {
			j++
		}
		entries = entries[:0]
		for k := i; k < j; k++ {
			if k+1 < j && keys[k+1].tail == keys[k].tail {
				continue // a later record of this peer follows
			}
			r := &t.s.recs[keys[k].i]
			if r.attrs == nil || r.filtered == accepted {
				continue
			}
			entries = append(entries, Entry{Peer: uint16(keys[k].tail), Originated: t.s.sessions[r.sess].since, Attrs: r.attrs})
		}
		if len(entries) > 0 {
			if err := fn(t.s.recs[keys[i].i].prefix, entries); err != nil {
				return err
			}
		}
		i = j
	}
	return nil
}
