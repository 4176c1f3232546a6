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

// recKey orders the records of one family: by prefix (address, then length), peer index, then
// arrival. IPv4: a = 0, b = address << 8 | length, c = peer << 32 | position; IPv6: a, b the
// address, c = length << 48 | peer << 32 | position. So a, b and c >> 48 name the prefix, c >> 32 the
// prefix and the peer, within a family (the families are sorted apart: 0.0.0.0/0 and ::/0 share a
// key). Three words compare faster than a wider key: the sort is most of the dumper's own work.
type recKey struct{ a, b, c uint64 }

func compareKeys(x, y recKey) int {
	switch {
	case x.a != y.a:
		return cmp.Compare(x.a, y.a)
	case x.b != y.b:
		return cmp.Compare(x.b, y.b)
	}
	return cmp.Compare(x.c, y.c)
}

func (k *recKey) pos() uint32  { return uint32(k.c) }
func (k *recKey) peer() uint16 { return uint16(k.c >> 32) }

// samePrefix reports whether x and y (of one family) are records of one prefix.
func samePrefix(x, y *recKey) bool { return x.a == y.a && x.b == y.b && x.c>>48 == y.c>>48 }

// table is the snapshot sorted for writing: the records of the sessions in the peer index, IPv4
// (keys[:nv4]) before IPv6, each in address order.
type table struct {
	s    *snapshot
	keys []recKey
	nv4  int
}

// sorted sorts the snapshot's records for the peer index (peers).
func (s *snapshot) sorted(index []int32) *table {
	keys := make([]recKey, 0, len(s.recs))
	var v6 []recKey
	for i := range s.recs {
		r := &s.recs[i]
		pi := index[r.sess]
		if pi < 0 {
			continue
		}
		a := r.prefix.Addr()
		bits := uint64(r.prefix.Bits())
		if a.Is4() {
			b := a.As4()
			keys = append(keys, recKey{b: uint64(binary.BigEndian.Uint32(b[:]))<<8 | bits, c: uint64(pi)<<32 | uint64(i)})
		} else {
			b := a.As16()
			v6 = append(v6, recKey{a: binary.BigEndian.Uint64(b[:8]), b: binary.BigEndian.Uint64(b[8:]),
				c: bits<<48 | uint64(pi)<<32 | uint64(i)})
		}
	}
	slices.SortFunc(keys, compareKeys)
	slices.SortFunc(v6, compareKeys)
	nv4 := len(keys)
	return &table{s: s, keys: append(keys, v6...), nv4: nv4}
}

// each calls fn for every prefix with accepted (or filtered) routes, in order, with its entries in
// peer index order. The entries are valid during the call only.
func (t *table) each(accepted bool, fn func(prefix netip.Prefix, entries []Entry) error) error {
	var entries []Entry
	for _, keys := range [][]recKey{t.keys[:t.nv4], t.keys[t.nv4:]} {
		for i := 0; i < len(keys); {
			// One prefix: keys[i:j]; in it, the last record of each peer is the route's state.
			j := i + 1
			for j < len(keys) && samePrefix(&keys[j], &keys[i]) {
				j++
			}
			entries = entries[:0]
			for k := i; k < j; k++ {
				if k+1 < j && keys[k+1].c>>32 == keys[k].c>>32 {
					continue // a later record of this peer follows
				}
				r := &t.s.recs[keys[k].pos()]
				if r.attrs == nil || r.filtered == accepted {
					continue
				}
				entries = append(entries, Entry{Peer: keys[k].peer(), Originated: t.s.sessions[r.sess].since, Attrs: r.attrs})
			}
			if len(entries) > 0 {
				if err := fn(t.s.recs[keys[i].pos()].prefix, entries); err != nil {
					return err
				}
			}
			i = j
		}
	}
	return nil
}
