package main

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ixrs/ixrs/speaker"
)

// The member side is a minimal BGP speaker of its own rather than speaker.Peer: the speaker decodes
// every UPDATE into netip.Prefix slices and attribute structs, which for 300 members receiving 300k
// routes each is tens of CPU seconds that would compete with the daemon under test on the same two
// cores. Here a received UPDATE is only scanned: each prefix is turned into a uint64 key, looked up in
// the workload's prefix index and flips a bit in the member's table, and a message that several members
// receive alike is scanned only by the first of them (rxcache.go). Encoding still uses the speaker's
// Append* functions (once, before timing).

// holdTime is offered in OPEN. The member sends KEEPALIVEs at a third of the negotiated time and never
// enforces the hold timer itself: a daemon busy converging must not be cut off by the load generator.
const holdTime = 240

// index maps prefix keys to dense prefix indices; read-only after construction, shared by all sessions.
// It is the receive path's one lookup per prefix, 80 million of them when 300 members receive 300k
// routes each, so it is built for that: route servers mostly send a member's prefixes in address
// order, the order the generator allocated them in, so a lookup first tries the position after the
// previous hit in the family's address-ordered key list (one sequential read); otherwise it probes an
// open-addressing table whose slot holds key, position and prefix index together (one cache miss,
// where a Go map takes two or more and was most of the generator's CPU time).
type index struct {
	slots []ixSlot    // power-of-two size, linear probing; key 0 is empty
	shift uint        // 64 - log2(len(slots))
	keys  [2][]uint64 // per family (0 IPv4, 1 IPv6): keys in address order
	idx   [2][]uint32 // per family: the prefix index at each position
}

type ixSlot struct {
	key uint64 // never 0: prefixKey sets a family tag in the top bits
	pos uint32 // position in the family's lists
	id  uint32 // the prefix index (idx at pos, here to spare the probe a second cache miss)
}

func newIndex(w *Workload) *index {
	size, bits := 1, 0
	for size < 2*len(w.Prefixes) {
		size, bits = size*2, bits+1
	}
	ix := &index{slots: make([]ixSlot, size), shift: uint(64 - bits)}
	for i, p := range w.Prefixes {
		k, _ := prefixKey(p)
		f := 0
		if p.Addr().Is6() {
			f = 1
		}
		h := ix.slot(k)
		for ix.slots[h].key != 0 {
			h = (h + 1) & (len(ix.slots) - 1)
		}
		ix.slots[h] = ixSlot{key: k, pos: uint32(len(ix.keys[f])), id: uint32(i)}
		ix.keys[f] = append(ix.keys[f], k)
		ix.idx[f] = append(ix.idx[f], uint32(i))
	}
	return ix
}

func (ix *index) slot(key uint64) int {
	if ix.shift >= 64 {
		return 0
	}
	return int((key * 0x9e3779b97f4a7c15) >> ix.shift)
}

// lookup returns the prefix index of key in family f, using and updating the session's hint (the
// position of its previous hit in f).
func (ix *index) lookup(f int, key uint64, hint *int) (uint32, bool) {
	keys := ix.keys[f]
	if pos := *hint + 1; pos < len(keys) && keys[pos] == key {
		*hint = pos
		return ix.idx[f][pos], true
	}
	for h := ix.slot(key); ; h = (h + 1) & (len(ix.slots) - 1) {
		sl := &ix.slots[h]
		if sl.key == key {
			*hint = int(sl.pos)
			return sl.id, true
		}
		if sl.key == 0 {
			return 0, false
		}
	}
}

// tracker follows the phases of a run: per member a target prefix count and the checker's expected
// table (check.go), and how many members hold exactly that. Sessions report under their own lock; the
// run waits on done.
type tracker struct {
	chk     *checker // written only between phases
	mu      sync.Mutex
	at      int // members whose count equals their target, among those with a target
	want    int // members with a target
	last    time.Time
	done    chan struct{}
	started time.Time

	rxOnce sync.Once
	rx     *rxCache // what the UPDATEs the members received yield (rxcache.go)
}

// rxCache returns the members' shared cache of UPDATEs read.
func (t *tracker) rxCache() *rxCache {
	t.rxOnce.Do(func() { t.rx = newRxCache() })
	return t.rx
}

// session is one member's BGP session to the daemon under test.
type session struct {
	m    *Member
	enc  *Encoded
	ix   *index
	tr   *tracker
	hint [2]int // per family: position of the last prefix looked up (index.lookup)

	conn net.Conn
	wmu  sync.Mutex // serializes writes: table chunks and KEEPALIVEs interleave at message boundaries

	mu      sync.Mutex // guards the fields below (taken once per received message)
	got     []uint8    // per prefix: 0 not held, else the candidate id held or gotWrong (check.go)
	own     []uint64   // bit set of the member's own prefixes, not counted
	count   int        // prefixes held
	bad     int        // prefixes whose state differs from the checker's expectation
	rt      route      // scratch for decoding a received route
	path    []uint32   // scratch: the ASNs of a received AS_PATH
	wrong   string     // the first route received that is no candidate of its prefix, for the failure report
	target  int        // -1: not tracked in this phase
	atTgt   bool
	unknown int // prefixes received that the workload does not have
	updates int // UPDATEs received
	shared  int // of them, taken from the members' shared cache (rxcache.go)

	watch *watch // during a re-evaluation phase: what the member's UPDATEs carried (reeval.go)

	rxMsgs  atomic.Int64
	rxBytes atomic.Int64
	closed  chan struct{}
}

func newSession(m *Member, enc *Encoded, ix *index, tr *tracker, own []uint64) *session {
	return &session{m: m, enc: enc, ix: ix, tr: tr, got: make([]uint8, len(ix.idx[0])+len(ix.idx[1])), own: own, target: -1}
}

// connect opens the TCP connection from the member's address and runs the OPEN/KEEPALIVE handshake,
// retrying until deadline (the daemon may still be starting, or may refuse during a restart delay).
func (s *session) connect(raddr netip.AddrPort, deadline time.Time) error {
	var last error
	for time.Now().Before(deadline) {
		if err := s.dial(raddr, deadline); err != nil {
			last = err
			time.Sleep(200 * time.Millisecond)
			continue
		}
		return nil
	}
	return fmt.Errorf("member %s (%s): session not established: %v", s.m.Name, s.m.Addr, last)
}

func (s *session) dial(raddr netip.AddrPort, deadline time.Time) error {
	d := net.Dialer{LocalAddr: net.TCPAddrFromAddrPort(netip.AddrPortFrom(s.m.Addr, 0)), Timeout: 5 * time.Second}
	conn, err := d.Dial("tcp", raddr.String())
	if err != nil {
		return err
	}
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	myAS := uint16(speaker.ASTrans)
	if s.m.ASN <= 0xffff {
		myAS = uint16(s.m.ASN)
	}
	open := speaker.EncodeOpen(&speaker.Open{Version: 4, MyAS: myAS, HoldTime: holdTime, RouterID: s.m.Addr,
		Caps: speaker.Capabilities{Families: []speaker.Family{speaker.IPv4Unicast, speaker.IPv6Unicast},
			FourOctetAS: true, AS4: s.m.ASN, RouteRefresh: true}})
	if _, err := conn.Write(open); err != nil {
		conn.Close()
		return err
	}
	br := bufio.NewReaderSize(conn, 1<<18)
	var hold uint16
	for gotOpen, gotKA := false, false; !gotOpen || !gotKA; {
		typ, body, err := readMsg(br, nil)
		if err != nil {
			conn.Close()
			return err
		}
		switch typ {
		case speaker.MsgOpen:
			o, n := speaker.DecodeOpen(body)
			if n != nil {
				conn.Close()
				return fmt.Errorf("bad OPEN: %v", n)
			}
			hold = min(o.HoldTime, holdTime)
			gotOpen = true
			if _, err := conn.Write(speaker.EncodeKeepalive()); err != nil {
				conn.Close()
				return err
			}
		case speaker.MsgKeepalive:
			gotKA = gotOpen
		case speaker.MsgNotification:
			conn.Close()
			return fmt.Errorf("NOTIFICATION: %v", speaker.DecodeNotification(body))
		default:
			conn.Close()
			return fmt.Errorf("message type %d during the handshake", typ)
		}
	}
	conn.SetDeadline(time.Time{})
	s.conn = conn
	s.closed = make(chan struct{})
	go s.readLoop(br, conn, s.closed)
	if hold > 0 {
		go s.keepalives(conn, time.Duration(hold)*time.Second/3, s.closed)
	}
	return nil
}

func (s *session) keepalives(conn net.Conn, every time.Duration, closed chan struct{}) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-closed:
			return
		case <-t.C:
			s.wmu.Lock()
			conn.Write(speaker.EncodeKeepalive())
			s.wmu.Unlock()
		}
	}
}

// send writes b (whole messages) in chunks at message boundaries so that KEEPALIVEs can go in between.
func (s *session) send(b []byte) error {
	const chunk = 64 << 10
	for len(b) > 0 {
		n := 0
		for n < len(b) {
			l := int(binary.BigEndian.Uint16(b[n+16:]))
			if n > 0 && n+l > chunk {
				break
			}
			n += l
		}
		s.wmu.Lock()
		_, err := s.conn.Write(b[:n])
		s.wmu.Unlock()
		if err != nil {
			return err
		}
		b = b[n:]
	}
	return nil
}

// drop ends the session as a member router would on an administrative reset: NOTIFICATION Cease, close.
func (s *session) drop() {
	s.wmu.Lock()
	s.conn.Write(speaker.EncodeNotification(speaker.Notification{Code: speaker.ErrCease, Subcode: speaker.SubAdminReset}))
	s.wmu.Unlock()
	s.conn.Close()
	<-s.closed
}

// readMsg reads one message; body aliases buf (grown as needed) and is valid until the next call.
func readMsg(r *bufio.Reader, buf []byte) (typ uint8, body []byte, err error) {
	var h [speaker.HeaderLen]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return 0, nil, err
	}
	l := int(binary.BigEndian.Uint16(h[16:]))
	if l < speaker.HeaderLen {
		return 0, nil, fmt.Errorf("bad message length %d", l)
	}
	if cap(buf) < l-speaker.HeaderLen {
		buf = make([]byte, 65536)
	}
	body = buf[:l-speaker.HeaderLen]
	if _, err := io.ReadFull(r, body); err != nil {
		return 0, nil, err
	}
	return h[18], body, nil
}

func (s *session) readLoop(r *bufio.Reader, conn net.Conn, closed chan struct{}) {
	defer close(closed)
	buf := make([]byte, 65536)
	for {
		typ, body, err := readMsg(r, buf)
		if err != nil {
			conn.Close()
			return
		}
		s.rxMsgs.Add(1)
		s.rxBytes.Add(int64(len(body) + speaker.HeaderLen))
		switch typ {
		case speaker.MsgUpdate:
			if err := s.update(body); err != nil {
				fmt.Printf("ixbench: member %s: bad UPDATE: %v\n", s.m.Name, err)
			}
		case speaker.MsgNotification:
			fmt.Printf("ixbench: member %s: NOTIFICATION received: %v\n", s.m.Name, speaker.DecodeNotification(body))
			conn.Close()
			return
		}
	}
}

var errShort = errors.New("truncated")

// update applies one UPDATE to the member's table and reports to the tracker. What the UPDATE yields is
// taken from the members' shared cache when another member read the same bytes before (rxcache.go).
func (s *session) update(b []byte) error {
	if len(b) < 4 {
		return errShort
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.watch != nil {
		s.watch.message()
	}
	s.updates++
	rc := s.tr.rxCache()
	e, again, sum := rc.lookup(b)
	if e != nil {
		s.shared++
		s.applyCached(e)
		return nil
	}
	var rec *rxBuilder
	if again {
		rec = &rxBuilder{ok: true}
	}
	if err := s.read(b, rec); err != nil {
		return err
	}
	if rec != nil && rec.ok {
		rec.e.sum, rec.e.msg, rec.e.path = sum, bytes.Clone(b), slices.Clone(s.path)
		rc.store(&rec.e)
	}
	return nil
}

// read applies UPDATE b the long way, recording what it yields in rec if rec is not nil. Called with
// s.mu held.
func (s *session) read(b []byte, rec *rxBuilder) error {
	wl := int(binary.BigEndian.Uint16(b))
	if 2+wl+2 > len(b) {
		return errShort
	}
	withdrawn := b[2 : 2+wl]
	b = b[2+wl:]
	al := int(binary.BigEndian.Uint16(b))
	if 2+al > len(b) {
		return errShort
	}
	attrs, nlri := b[2:2+al], b[2+al:]
	// A path holding the member's own AS is dropped by the member's loop detection (RFC 4271 §9.1.2),
	// which makes it an implicit withdrawal: some daemons send members their own routes back.
	announce := !s.ownASInPath(attrs)
	if !announce && rec != nil {
		rec.ok = false // what it yields for this member is not what it yields for the others
	}
	if err := s.prefixes(withdrawn, false, 0, rec); err != nil {
		return err
	}
	// The hash of the received route, per family (check.go), computed once per UPDATE; 0 withdraws.
	allAttrs := attrs
	var h4, h6 uint64
	var id4, id6 bool
	routeHash := func(v6 bool) uint64 {
		if !announce {
			return 0
		}
		h, done := &h4, &id4
		if v6 {
			h, done = &h6, &id6
		}
		if !*done {
			*done = true
			if s.rt.fromWire(allAttrs, v6, s.tr.chk.w.Policy != nil) {
				*h = s.rt.hash()
			}
			if *h == 0 {
				*h = 1 // 0 means "withdrawn" to prefixes
			}
		}
		return *h
	}
	for len(attrs) >= 3 {
		flags, typ := attrs[0], attrs[1]
		hl, vl := 3, int(attrs[2])
		if flags&0x10 != 0 {
			if len(attrs) < 4 {
				return errShort
			}
			hl, vl = 4, int(binary.BigEndian.Uint16(attrs[2:]))
		}
		if hl+vl > len(attrs) {
			return errShort
		}
		v := attrs[hl : hl+vl]
		switch typ {
		case speaker.AttrMPReach:
			if len(v) < 5 || binary.BigEndian.Uint16(v) != 2 || v[2] != 1 {
				break
			}
			nhl := int(v[3])
			if 4+nhl+1 > len(v) {
				return errShort
			}
			if err := s.prefixes(v[4+nhl+1:], true, routeHash(true), rec); err != nil {
				return err
			}
		case speaker.AttrMPUnreach:
			if len(v) < 3 || binary.BigEndian.Uint16(v) != 2 || v[2] != 1 {
				break
			}
			if err := s.prefixes(v[3:], true, 0, rec); err != nil {
				return err
			}
		}
		attrs = attrs[hl+vl:]
	}
	if err := s.prefixes(nlri, false, routeHash(false), rec); err != nil {
		return err
	}
	s.report()
	return nil
}

// applyCached applies what another member's reading of the same UPDATE recorded.
func (s *session) applyCached(e *rxEntry) {
	announce := !slices.Contains(e.path, s.m.ASN)
	for _, it := range e.items {
		switch {
		case it.kind == rxUnknown:
			s.unknown++
		case it.kind == rxAnnounce && announce:
			s.apply(it.idx, true, it.cand)
		default:
			s.apply(it.idx, false, 0)
		}
	}
	s.report()
}

// ownASInPath reports whether the AS_PATH (4-octet, as negotiated) in attrs contains the member's AS.
// It leaves the path's ASNs in s.path.
func (s *session) ownASInPath(attrs []byte) bool {
	s.path = appendPathASNs(s.path[:0], attrs)
	return slices.Contains(s.path, s.m.ASN)
}

// appendPathASNs appends the ASNs of the AS_PATH (4-octet) in attrs to dst, segment by segment, up to
// the first segment that overruns the attribute: the ASNs a member's loop detection looks at.
func appendPathASNs(dst []uint32, attrs []byte) []uint32 {
	for len(attrs) >= 3 {
		flags, typ := attrs[0], attrs[1]
		hl, vl := 3, int(attrs[2])
		if flags&0x10 != 0 && len(attrs) >= 4 {
			hl, vl = 4, int(binary.BigEndian.Uint16(attrs[2:]))
		}
		if hl+vl > len(attrs) {
			return dst
		}
		if typ == speaker.AttrASPath {
			v := attrs[hl : hl+vl]
			for len(v) >= 2 {
				n := int(v[1])
				if 2+4*n > len(v) {
					return dst
				}
				for k := 0; k < n; k++ {
					dst = append(dst, binary.BigEndian.Uint32(v[2+4*k:]))
				}
				v = v[2+4*n:]
			}
			return dst
		}
		attrs = attrs[hl+vl:]
	}
	return dst
}

// prefixes applies a run of encoded prefixes: a route hash h (non-zero) announces them with that route,
// 0 withdraws them. rec, if not nil, records what they are for the members' shared cache.
func (s *session) prefixes(b []byte, v6 bool, h uint64, rec *rxBuilder) error {
	chk := s.tr.chk
	for len(b) > 0 {
		l := int(b[0])
		n := (l + 7) / 8
		if 1+n > len(b) || (!v6 && l > 32) || l > 128 {
			return errShort
		}
		var key uint64
		if v6 {
			if l > 48 {
				s.unknown++
				rec.add(0, rxUnknown, 0)
				b = b[1+n:]
				continue
			}
			var hi uint64
			for k := 0; k < 6; k++ {
				hi <<= 8
				if k < n {
					hi |= uint64(b[1+k])
				}
			}
			key = 2<<62 | hi<<8 | uint64(l)
		} else {
			var a uint64
			for k := 0; k < 4; k++ {
				a <<= 8
				if k < n {
					a |= uint64(b[1+k])
				}
			}
			key = 1<<62 | a<<8 | uint64(l)
		}
		b = b[1+n:]
		f := 0
		if v6 {
			f = 1
		}
		i, ok := s.ix.lookup(f, key, &s.hint[f])
		if !ok {
			s.unknown++
			rec.add(0, rxUnknown, 0)
			continue
		}
		if h == 0 {
			rec.add(i, rxWithdraw, 0)
			s.apply(i, false, 0)
			continue
		}
		now := chk.identify(i, h)
		rec.add(i, rxAnnounce, now)
		if now == gotWrong && s.wrong == "" && s.own[i/64]&(1<<(i%64)) == 0 {
			s.wrong = fmt.Sprintf("member %s got %s with %s; the workload's routes for it: %s",
				s.m.Name, chk.w.Prefixes[i], s.rt.String(), chk.describe(i))
		}
		s.apply(i, true, now)
	}
	return nil
}

// apply records that the member was sent prefix i, announced as candidate now or withdrawn (now 0).
func (s *session) apply(i uint32, announced bool, now uint8) {
	if s.watch != nil {
		s.watch.see(i, announced)
	}
	w, bit := i/64, uint64(1)<<(i%64)
	if s.own[w]&bit != 0 {
		return
	}
	old := s.got[i]
	if old == now {
		return
	}
	chk := s.tr.chk
	s.got[i] = now
	if old == 0 {
		s.count++
	} else if now == 0 {
		s.count--
	}
	if chk.match(i, old) {
		s.bad++
	}
	if chk.match(i, now) {
		s.bad--
	}
}

// recheck recounts the prefixes whose state differs from the checker's (new) expectation. Called with
// s.mu held, between phases.
func (s *session) recheck() {
	chk := s.tr.chk
	s.bad = 0
	for p, g := range s.got {
		if s.own[p/64]&(1<<(p%64)) == 0 && !chk.match(uint32(p), g) {
			s.bad++
		}
	}
}

// report updates the tracker after the member's count changed. Called with s.mu held.
func (s *session) report() {
	at := s.target >= 0 && s.count == s.target && s.bad == 0
	if at == s.atTgt {
		return
	}
	s.atTgt = at
	t := s.tr
	t.mu.Lock()
	if at {
		t.at++
		t.last = time.Now()
		if t.at == t.want && t.done != nil {
			close(t.done)
			t.done = nil
		}
	} else {
		t.at--
	}
	t.mu.Unlock()
}

// reset forgets everything the member holds (its session is gone, and with it its Adj-RIB-In).
func (s *session) reset() {
	s.mu.Lock()
	clear(s.got)
	s.count = 0
	s.recheck()
	s.mu.Unlock()
}

// snapshot returns the member's count, target, and how many prefixes differ from the expected table.
func (s *session) snapshot() (count, target, bad int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.count, s.target, s.bad
}

// phase sets new targets (-1: not tracked) and returns a channel closed when every tracked member holds
// its target count and exactly the table the checker expects (set by t.chk.expect before). The clock
// of the phase starts now.
func (t *tracker) phase(ss []*session, targets []int) <-chan struct{} {
	want := 0
	for _, tg := range targets {
		if tg >= 0 {
			want++
		}
	}
	t.mu.Lock()
	t.at, t.want = 0, want
	done := make(chan struct{})
	t.done = done
	if want == 0 {
		close(done)
		t.done = nil
	}
	t.mu.Unlock()
	for i, s := range ss {
		s.mu.Lock()
		s.target = targets[i]
		s.atTgt = false
		s.recheck()
		s.report()
		s.mu.Unlock()
	}
	// The clock starts after the recount (a scan of every member's table), before anything is sent.
	t.mu.Lock()
	t.started = time.Now()
	t.last = t.started
	t.mu.Unlock()
	return done
}

// elapsed returns the time from the phase start to the moment the last member reached its target.
func (t *tracker) elapsed() time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.last.Sub(t.started)
}

// startedAt returns when the current phase's clock started.
func (t *tracker) startedAt() time.Time {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.started
}
