package mrt

import (
	"encoding/binary"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// BGP4MP record types and subtypes (RFC 6396 §4.4).
const (
	typeBGP4MPET        = 17 // BGP4MP with a microsecond timestamp (§3)
	subBGP4MPMessage    = 1  // 2-octet AS fields; the message's AS_PATH has 2-octet ASNs
	subBGP4MPMessageAS4 = 4  // 4-octet AS fields; the message's AS_PATH has 4-octet ASNs
	bgpMsgUpdate        = 2
	bgpHeaderLen        = 19
	asTrans             = 23456
)

// Update log file names: updatesPrefix + UTC start time + fileSuffix.
const updatesPrefix = "ixrs-updates-"

// UpdatePeer is a member session as its BGP4MP records name it. It does not change while the
// session is up; a new session gets a new one.
type UpdatePeer struct {
	Member       string // for UpdateLogConfig.Members
	PeerAS       uint32 // the member's AS
	LocalAS      uint32 // the route server's AS
	Peer, Local  netip.Addr
	FourOctetAS  bool // the session negotiated four-octet ASNs (RFC 6793)
	InterfaceIdx uint16
}

// AppendBGP4MP appends one BGP4MP_ET record (RFC 6396 §3, §4.4) holding msg, a whole BGP message
// (header included) received from p at ts. A session with four-octet ASNs gets subtype
// BGP4MP_MESSAGE_AS4; one without gets BGP4MP_MESSAGE, whose AS fields have 2 octets (AS_TRANS
// for a larger AS), because the message's own AS_PATH then has 2-octet ASNs and readers decode it
// by the subtype (§4.4.2, §4.4.3). The addresses are the session's: IPv4 (AFI 1) or IPv6 (AFI 2).
func AppendBGP4MP(dst []byte, ts time.Time, p *UpdatePeer, msg []byte) []byte {
	peer, local := p.Peer.Unmap(), p.Local.Unmap()
	afi, alen := uint16(1), 4
	if peer.Is6() {
		afi, alen = 2, 16
	}
	if local.BitLen() != peer.BitLen() {
		local = netip.IPv4Unspecified()
		if afi == 2 {
			local = netip.IPv6Unspecified()
		}
	}
	sub, aslen := uint16(subBGP4MPMessageAS4), 4
	if !p.FourOctetAS {
		sub, aslen = subBGP4MPMessage, 2
	}
	// The length counts the microsecond field of the extended timestamp (§3).
	n := 4 + 2*aslen + 4 + 2*alen + len(msg)
	dst = binary.BigEndian.AppendUint32(dst, unix32(ts))
	dst = binary.BigEndian.AppendUint16(dst, typeBGP4MPET)
	dst = binary.BigEndian.AppendUint16(dst, sub)
	dst = binary.BigEndian.AppendUint32(dst, uint32(n))
	usec := uint32(0)
	if !ts.IsZero() && ts.Unix() >= 0 {
		usec = uint32(ts.Nanosecond() / 1000)
	}
	dst = binary.BigEndian.AppendUint32(dst, usec)
	if aslen == 4 {
		dst = binary.BigEndian.AppendUint32(dst, p.PeerAS)
		dst = binary.BigEndian.AppendUint32(dst, p.LocalAS)
	} else {
		dst = binary.BigEndian.AppendUint16(dst, as2(p.PeerAS))
		dst = binary.BigEndian.AppendUint16(dst, as2(p.LocalAS))
	}
	dst = binary.BigEndian.AppendUint16(dst, p.InterfaceIdx)
	dst = binary.BigEndian.AppendUint16(dst, afi)
	dst = append(dst, peer.AsSlice()...)
	dst = append(dst, local.AsSlice()...)
	return append(dst, msg...)
}

func as2(asn uint32) uint16 {
	if asn > 0xffff {
		return asTrans
	}
	return uint16(asn)
}

// UpdateLogConfig configures an UpdateLog.
type UpdateLogConfig struct {
	// Dir is where update files are written; it must exist.
	Dir string
	// Interval is how long one file collects UPDATEs; files end on multiples of it (UTC). 0: 15 min.
	Interval time.Duration
	// Keep is how many finished update files are kept; older ones are removed. 0 keeps all.
	Keep int
	// Members limits logging to these members (by name); empty: every member.
	Members []string
	// MaxPending bounds the bytes of records waiting for the writer; an UPDATE that does not fit is
	// dropped and counted. 0: 16 MiB.
	MaxPending int
	Logger     *slog.Logger
	// Now returns the time records are stamped with and files named by; nil: time.Now.
	Now func() time.Time
}

// UpdateLogStatus is an update log's counters.
type UpdateLogStatus struct {
	Records, Bytes uint64 // records and bytes written
	// Dropped counts UPDATEs not logged because the writer was a whole MaxPending behind.
	Dropped  uint64
	Files    uint64 // files finished
	LastFile string // the last file finished
	// LastError is the last write error ("" after a file is finished without one).
	LastError string
}

// UpdateLog writes the UPDATEs members send, as they arrived, to BGP4MP files (RFC 6396 §4.4),
// one file per interval. Log is called on the sessions' reader goroutines and never blocks on the
// disk: it appends the record to a bounded buffer that Run's goroutine writes out.
type UpdateLog struct {
	cfg     UpdateLogConfig
	log     *slog.Logger
	members map[string]bool // nil: all

	mu      sync.Mutex
	pending []byte // records waiting for the writer
	wake    chan struct{}
	rotate  chan chan string // a request to finish the current file now (tests)
	dropped atomic.Uint64

	stMu sync.Mutex
	st   UpdateLogStatus
}

// NewUpdateLog returns an update log for cfg; Run writes it.
func NewUpdateLog(cfg UpdateLogConfig) *UpdateLog {
	if cfg.Interval <= 0 {
		cfg.Interval = 15 * time.Minute
	}
	if cfg.MaxPending <= 0 {
		cfg.MaxPending = 16 << 20
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	l := &UpdateLog{cfg: cfg, log: cfg.Logger, wake: make(chan struct{}, 1), rotate: make(chan chan string)}
	if len(cfg.Members) > 0 {
		l.members = map[string]bool{}
		for _, m := range cfg.Members {
			l.members[m] = true
		}
	}
	return l
}

// Log queues msg, a whole BGP message received from p, when it is an UPDATE of a logged member.
// It copies msg and never blocks on I/O: when the writer is a whole MaxPending behind, the UPDATE is
// dropped and counted (UpdateLogStatus.Dropped), and Log returns false.
func (l *UpdateLog) Log(p *UpdatePeer, msg []byte) bool {
	if len(msg) < bgpHeaderLen || msg[18] != bgpMsgUpdate || l.members != nil && !l.members[p.Member] {
		return true
	}
	ts := l.cfg.Now()
	l.mu.Lock()
	if len(l.pending)+len(msg)+64 > l.cfg.MaxPending {
		l.mu.Unlock()
		l.dropped.Add(1)
		return false
	}
	l.pending = AppendBGP4MP(l.pending, ts, p, msg)
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
	return true
}

// Status returns a copy of the counters.
func (l *UpdateLog) Status() UpdateLogStatus {
	l.stMu.Lock()
	st := l.st
	l.stMu.Unlock()
	st.Dropped = l.dropped.Load()
	return st
}

func (l *UpdateLog) status(f func(*UpdateLogStatus)) {
	l.stMu.Lock()
	f(&l.st)
	l.stMu.Unlock()
}

// Run writes queued records until done is closed, starting a new file at every multiple of
// Config.Interval; then it writes what is queued, finishes the current file and returns. Files
// are written under a temporary name (.ixrs-updates-*.tmp) and renamed when finished, so a reader
// never sees half a file; a file holds the UPDATEs received from its start to its end.
func (l *UpdateLog) Run(done <-chan struct{}) {
	var spare []byte
	f := l.open()
	defer func() { l.finish(f) }()
	for {
		// The wall clock, not Config.Now, schedules the files: Now may be a test's fixed time.
		next := time.Now().Truncate(l.cfg.Interval).Add(l.cfg.Interval)
		t := time.NewTimer(time.Until(next))
		var reply chan string
		select {
		case <-done:
			t.Stop()
			spare = l.flush(f, spare)
			return
		case <-l.wake:
			t.Stop()
			spare = l.flush(f, spare)
			continue
		case reply = <-l.rotate:
			t.Stop()
		case <-t.C:
		}
		spare = l.flush(f, spare)
		name := l.finish(f)
		if reply != nil {
			reply <- name
		}
		f = l.open()
	}
}

// Rotate finishes the current file now and returns its name ("" if it could not be written); Run
// must be running.
func (l *UpdateLog) Rotate() string {
	c := make(chan string)
	l.rotate <- c
	return <-c
}

// file is the file being written: its temporary name, the name it gets, its handle (nil after an
// error: records are then dropped until the next file).
type file struct {
	f         *os.File
	tmp, name string
	start     time.Time
}

func (l *UpdateLog) open() *file {
	now := l.cfg.Now().UTC()
	fl := &file{start: now, name: filepath.Join(l.cfg.Dir, updatesPrefix+now.Format(timeLayout)+fileSuffix)}
	f, err := os.CreateTemp(l.cfg.Dir, ".ixrs-updates-*.tmp")
	if err != nil {
		l.fail(fmt.Errorf("mrt updates: %w", err))
		return fl
	}
	fl.f, fl.tmp = f, f.Name()
	return fl
}

func (l *UpdateLog) fail(err error) {
	l.log.Warn("mrt update log", "err", err)
	l.status(func(s *UpdateLogStatus) { s.LastError = err.Error() })
}

// flush writes the queued records to f and returns the emptied buffer for reuse.
func (l *UpdateLog) flush(f *file, spare []byte) []byte {
	l.mu.Lock()
	b := l.pending
	l.pending = spare[:0]
	l.mu.Unlock()
	if len(b) == 0 {
		return b
	}
	if f.f == nil {
		l.dropped.Add(uint64(countRecords(b)))
		return b[:0]
	}
	if _, err := f.f.Write(b); err != nil {
		l.fail(fmt.Errorf("mrt updates: write %s: %w", f.tmp, err))
		f.f.Close()
		os.Remove(f.tmp)
		f.f = nil
		l.dropped.Add(uint64(countRecords(b)))
		return b[:0]
	}
	n := countRecords(b)
	l.status(func(s *UpdateLogStatus) { s.Records += uint64(n); s.Bytes += uint64(len(b)) })
	return b[:0]
}

// countRecords counts the MRT records in b (whole records only, as the log appends them).
func countRecords(b []byte) int {
	n := 0
	for len(b) >= headerLen {
		l := headerLen + int(binary.BigEndian.Uint32(b[8:12]))
		if l > len(b) {
			break
		}
		b = b[l:]
		n++
	}
	return n
}

// finish syncs, closes and renames f, removes files beyond Keep, and returns the name ("" when the
// file was lost to an error).
func (l *UpdateLog) finish(f *file) string {
	if f.f == nil {
		return ""
	}
	err := f.f.Sync()
	if cerr := f.f.Close(); err == nil {
		err = cerr
	}
	name := f.name
	if err == nil {
		// Two files starting in one second (a reload) must not overwrite each other.
		for i := 1; i < 100; i++ {
			if _, serr := os.Stat(name); serr != nil {
				break
			}
			name = strings.TrimSuffix(f.name, fileSuffix) + fmt.Sprintf("-%d", i) + fileSuffix
		}
		err = os.Rename(f.tmp, name)
	}
	if err != nil {
		os.Remove(f.tmp)
		l.fail(fmt.Errorf("mrt updates: finish %s: %w", f.name, err))
		return ""
	}
	l.status(func(s *UpdateLogStatus) { s.Files++; s.LastFile = name; s.LastError = "" })
	l.prune()
	return name
}

// prune removes the oldest finished update files beyond Keep.
func (l *UpdateLog) prune() {
	if l.cfg.Keep <= 0 {
		return
	}
	ents, err := os.ReadDir(l.cfg.Dir)
	if err != nil {
		l.fail(fmt.Errorf("mrt updates: rotation: %w", err))
		return
	}
	var names []string
	for _, e := range ents {
		if n := e.Name(); strings.HasPrefix(n, updatesPrefix) && strings.HasSuffix(n, fileSuffix) {
			names = append(names, n)
		}
	}
	slices.Sort(names) // oldest first: the time sorts lexically
	for len(names) > l.cfg.Keep {
		if err := os.Remove(filepath.Join(l.cfg.Dir, names[0])); err != nil {
			l.fail(fmt.Errorf("mrt updates: rotation: %w", err))
		}
		names = names[1:]
	}
}
