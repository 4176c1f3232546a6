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
// written (BenchmarkDump). A record is its own sort key, 32 bytes: what a dump allocates makes
// the garbage collector scan the whole RIB sooner (the daemon runs with a low GOGC).
type snapshot struct {
	sessions []sessionState // by local number, in the order of their up events
	byKey    map[sessionKey]int32
	v4, v6   []record // the families apart: 0.0.0.0/0 and ::/0 have one key

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
}

// maxSessions bounds the local session numbers of one walk (16 bits of a record); a walk that
// sees more session ups (flaps) starts over, like one that fell a ring behind.
const maxSessions = 0xffff

// record is one route event: the session's route for a prefix is now attrs (nil: withdrawn). Its
// words order the records of one family by prefix (address, then length), session, then arrival:
//
//	IPv4: a = 0, b = address << 8 | length, c = session << 32 | position << 1 | filtered
//	IPv6: a, b the address,                 c = length << 48 | session << 32 | position << 1 | filtered
//
// So a, b and c >> 48 name the prefix, c >> 32 the prefix and the session. The session is the
// local number during the walk and the peer index once sorted (peer index order is then entry
// order). The position is the record's index in its family's log (31 bits).
type record struct {
	a, b, c uint64
	attrs   *speaker.Attrs
}

func compareRecords(x, y record) int {
	switch {
	case x.a != y.a:
		return cmp.Compare(x.a, y.a)
	case x.b != y.b:
		return cmp.Compare(x.b, y.b)
	}
	return cmp.Compare(x.c, y.c)
}

func (r *record) session() uint16 { return uint16(r.c >> 32) }
func (r *record) filtered() bool  { return r.c&1 != 0 }

// samePrefix reports whether x and y (of one family) are records of one prefix.
func samePrefix(x, y *record) bool { return x.a == y.a && x.b == y.b && x.c>>48 == y.c>>48 }

// prefix returns the record's prefix; v6 says which family's log it is in.
func (r *record) prefix(v6 bool) netip.Prefix {
	if !v6 {
		var b [4]byte
		binary.BigEndian.PutUint32(b[:], uint32(r.b>>8))
		return netip.PrefixFrom(netip.AddrFrom4(b), int(r.b&0xff))
	}
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], r.a)
	binary.BigEndian.PutUint64(b[8:], r.b)
	return netip.PrefixFrom(netip.AddrFrom16(b), int(r.c>>48))
}

// newSnapshot returns an empty snapshot with room for about hint IPv4 and hint6 IPv6 records.
func newSnapshot(hint, hint6 int) *snapshot {
	return &snapshot{byKey: map[sessionKey]int32{}, v4: make([]record, 0, hint), v6: make([]record, 0, hint6), lastIdx: -1}
}

// apply applies one event and reports whether it was the end of the replay. It returns errFull
// when the walk holds as many records or sessions as a record can number.
func (s *snapshot) apply(ev *rs.Event) (bool, error) {
	switch ev.Kind {
	case rs.EventRoute:
		k := sessionKey{ev.Neighbor, ev.Incarnation}
		i := s.lastIdx
		if i < 0 || k != s.lastKey {
			j, ok := s.byKey[k]
			if !ok {
				return false, nil // a session the snapshot does not hold (its up event came before a resync)
			}
			i, s.lastKey, s.lastIdx = j, k, j
		}
		var f uint64
		if ev.Reasons != 0 {
			f = 1
		}
		p := ev.Prefix
		a := p.Addr()
		if a.Is4() {
			if len(s.v4) >= 1<<31 {
				return false, errFull
			}
			b := a.As4()
			s.v4 = append(s.v4, record{b: uint64(binary.BigEndian.Uint32(b[:]))<<8 | uint64(p.Bits()),
				c: uint64(i)<<32 | uint64(len(s.v4))<<1 | f, attrs: ev.Attrs})
		} else {
			if len(s.v6) >= 1<<31 {
				return false, errFull
			}
			b := a.As16()
			s.v6 = append(s.v6, record{a: binary.BigEndian.Uint64(b[:8]), b: binary.BigEndian.Uint64(b[8:]),
				c: uint64(p.Bits())<<48 | uint64(i)<<32 | uint64(len(s.v6))<<1 | f, attrs: ev.Attrs})
		}
	case rs.EventSyncStart:
		clear(s.byKey)
		s.sessions = s.sessions[:0]
		clear(s.v4)
		clear(s.v6)
		s.v4, s.v6 = s.v4[:0], s.v6[:0]
		s.lastIdx = -1
	case rs.EventSyncDone:
		return true, nil
	case rs.EventSessionUp:
		if len(s.sessions) >= maxSessions {
			return false, errFull
		}
		// Up again (live and replayed): the new number leaves the old one's routes out.
		k := sessionKey{ev.Neighbor, ev.Incarnation}
		s.byKey[k] = int32(len(s.sessions))
		s.sessions = append(s.sessions, sessionState{key: k, since: ev.Session.Since,
			peer: Peer{Addr: ev.Neighbor, ASN: ev.ASN, RouterID: ev.Session.Info.RouterID}})
		s.lastIdx = -1
	case rs.EventSessionDown:
		if !ev.Session.Stale { // its routes are gone with it
			delete(s.byKey, sessionKey{ev.Neighbor, ev.Incarnation})
			s.lastIdx = -1
		}
	}
	return false, nil
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

// table is the snapshot sorted for writing: the records of the sessions in the peer index, IPv4
// before IPv6, each in address order, sessions numbered by peer index.
type table struct {
	v4, v6 []record
	since  []time.Time // by peer index
}

// sorted renumbers the records' sessions by peer index (index, from peers), leaves out those of
// sessions not in it, and sorts them. The snapshot is consumed.
func (s *snapshot) sorted(peers []Peer, index []int32) *table {
	renumber := func(recs []record) []record {
		keep := recs[:0]
		for _, r := range recs {
			pi := index[r.session()]
			if pi < 0 {
				continue
			}
			r.c = r.c&^(0xffff<<32) | uint64(pi)<<32
			keep = append(keep, r)
		}
		clear(recs[len(keep):])
		slices.SortFunc(keep, compareRecords)
		return keep
	}
	t := &table{v4: renumber(s.v4), v6: renumber(s.v6), since: make([]time.Time, len(peers))}
	for j, pi := range index {
		if pi >= 0 {
			t.since[pi] = s.sessions[j].since
		}
	}
	s.v4, s.v6 = nil, nil
	return t
}

// each calls fn for every prefix with accepted (or filtered) routes, in order, with its entries in
// peer index order. The entries are valid during the call only.
func (t *table) each(accepted bool, fn func(prefix netip.Prefix, entries []Entry) error) error {
	var entries []Entry
	for fam, recs := range [][]record{t.v4, t.v6} {
		for i := 0; i < len(recs); {
			// One prefix: recs[i:j]; in it, the last record of each peer is the route's state.
			j := i + 1
			for j < len(recs) && samePrefix(&recs[j], &recs[i]) {
				j++
			}
			entries = entries[:0]
			for k := i; k < j; k++ {
				r := &recs[k]
				if k+1 < j && recs[k+1].c>>32 == r.c>>32 {
					continue // a later record of this peer follows
				}
				if r.attrs == nil || r.filtered() == accepted {
					continue
				}
				pi := r.session()
				entries = append(entries, Entry{Peer: pi, Originated: t.since[pi], Attrs: r.attrs})
			}
			if len(entries) > 0 {
				if err := fn(recs[i].prefix(fam == 1), entries); err != nil {
					return err
				}
			}
			i = j
		}
	}
	return nil
}
