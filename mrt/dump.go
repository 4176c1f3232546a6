package mrt

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ixrs/ixrs/rs"
	"github.com/ixrs/ixrs/speaker"
)

// Source is the RIB as the dumper reads it; *rs.Server implements it.
type Source interface {
	Subscribe(ctx context.Context, opts rs.SubscribeOptions) (*rs.Subscription, error)
}

// Config configures a Dumper.
type Config struct {
	// Dir is where dump files are written; it must exist.
	Dir string
	// Keep is how many dumps (pairs of files) are kept; older ones are removed. 0 keeps all.
	Keep int
	// Interval is the period of scheduled dumps (Run); 0: none, on demand only.
	Interval time.Duration
	// RouterID is the collector BGP ID of the PEER_INDEX_TABLE; View its view name.
	RouterID netip.Addr
	View     string
	// QueueSize is the feed subscription's ring in events; 0: 65,536.
	QueueSize int
	// Timeout bounds one dump (the walk and the writing); 0: 10 minutes.
	Timeout time.Duration
	Logger  *slog.Logger
	// Now returns the time a dump is named and stamped with; nil: time.Now.
	Now func() time.Time
}

// Result describes one dump.
type Result struct {
	Time     time.Time
	Accepted string // file of the accepted routes
	Filtered string // file of the filtered routes
	// Peers are the sessions of the PEER_INDEX_TABLE; Prefixes counts RIB records (both files),
	// AcceptedRoutes and FilteredRoutes the RIB entries.
	Peers, Prefixes, AcceptedRoutes, FilteredRoutes int
	Bytes                                           int64
	Duration                                        time.Duration
	// Resyncs counts how often the walk started over because the dumper fell a ring behind.
	Resyncs int
}

// Status is the dumper's last result and error.
type Status struct {
	Last      Result
	LastError string
	Dumps     uint64 // dumps written
	Failures  uint64
}

// File names: PREFIX + UTC time + "." + kind + SUFFIX; the time sorts lexically.
const (
	filePrefix = "ixrs-rib-"
	fileSuffix = ".mrt"
	timeLayout = "20060102T150405Z"
)

// maxResyncs bounds how often one dump starts its walk over after the RIB outran it.
const maxResyncs = 3

// ErrBusy is returned by Dump while another dump is being written.
var ErrBusy = errors.New("mrt: a dump is in progress")

// Dumper writes TABLE_DUMP_V2 files of the RIB's Adj-RIB-In.
type Dumper struct {
	src Source
	cfg Config
	log *slog.Logger

	busy chan struct{} // holds a token while a dump runs
	mu   sync.Mutex
	st   Status
}

// New returns a dumper for cfg reading from src.
func New(src Source, cfg Config) *Dumper {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Minute
	}
	if cfg.View == "" {
		cfg.View = "adj-rib-in"
	}
	return &Dumper{src: src, cfg: cfg, log: cfg.Logger, busy: make(chan struct{}, 1)}
}

// Status returns a copy of the dumper's status.
func (d *Dumper) Status() Status {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.st
}

// Run dumps every Config.Interval until ctx is done; with no interval it only waits.
func (d *Dumper) Run(ctx context.Context) {
	if d.cfg.Interval <= 0 {
		<-ctx.Done()
		return
	}
	t := time.NewTicker(d.cfg.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := d.Dump(ctx); err != nil && ctx.Err() == nil {
				d.log.Warn("mrt dump failed", "err", err)
			}
		}
	}
}

// Dump walks the Adj-RIB-In and writes it as two files, accepted and filtered routes, each
// complete or not there at all (written under a temporary name and renamed), then removes dumps
// beyond Config.Keep. It returns ErrBusy while another dump runs.
func (d *Dumper) Dump(ctx context.Context) (Result, error) {
	select {
	case d.busy <- struct{}{}:
	default:
		return Result{}, ErrBusy
	}
	defer func() { <-d.busy }()
	ctx, cancel := context.WithTimeout(ctx, d.cfg.Timeout)
	defer cancel()
	start := time.Now()
	res, err := d.dump(ctx)
	res.Duration = time.Since(start)
	d.mu.Lock()
	if err != nil {
		d.st.Failures++
		d.st.LastError = err.Error()
	} else {
		d.st.Dumps++
		d.st.Last, d.st.LastError = res, ""
	}
	d.mu.Unlock()
	if err == nil {
		d.log.Info("mrt dump written", "accepted", res.Accepted, "filtered", res.Filtered, "peers", res.Peers,
			"accepted_routes", res.AcceptedRoutes, "filtered_routes", res.FilteredRoutes, "duration", res.Duration.String())
	}
	return res, err
}

func (d *Dumper) dump(ctx context.Context) (Result, error) {
	snap, resyncs, err := d.walk(ctx)
	if err != nil {
		return Result{Resyncs: resyncs}, err
	}
	now := d.cfg.Now().UTC()
	res := Result{Time: now, Resyncs: resyncs}
	peers, index := snap.peers()
	res.Peers = len(peers)
	stamp := now.Format(timeLayout)
	for _, accepted := range []bool{true, false} {
		kind := "filtered"
		if accepted {
			kind = "accepted"
		}
		name := filepath.Join(d.cfg.Dir, filePrefix+stamp+"."+kind+fileSuffix)
		n, records, routes, err := d.writeFile(name, now, peers, snap.table(index, accepted))
		if err != nil {
			return res, err
		}
		res.Bytes += n
		res.Prefixes += records
		if accepted {
			res.Accepted, res.AcceptedRoutes = name, routes
		} else {
			res.Filtered, res.FilteredRoutes = name, routes
		}
	}
	d.rotate()
	return res, nil
}

// walk takes the Adj-RIB-In from the event feed: a resync replays it (a read job, budgeted like
// every read, so the RIB loop keeps routing while it runs), and the live events interleaved with
// the replay are applied too, so at the sync-done marker the snapshot is the RIB as it then was.
func (d *Dumper) walk(ctx context.Context) (*snapshot, int, error) {
	sub, err := d.src.Subscribe(ctx, rs.SubscribeOptions{Size: d.cfg.QueueSize, Routes: true})
	if err != nil {
		return nil, 0, fmt.Errorf("mrt: subscribe: %w", err)
	}
	defer func() {
		uctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		sub.Unsubscribe(uctx)
		cancel()
	}()
	snap := newSnapshot()
	for resyncs := 0; ; resyncs++ {
		if resyncs > maxResyncs {
			return nil, resyncs, fmt.Errorf("mrt: the RIB changed faster than the walk could follow %d times", maxResyncs+1)
		}
		if err := sub.Resync(ctx); err != nil {
			return nil, resyncs, fmt.Errorf("mrt: resync: %w", err)
		}
		for {
			ev, err := sub.Next(ctx)
			if errors.Is(err, rs.ErrLost) {
				break // start over
			}
			if err != nil {
				return nil, resyncs, fmt.Errorf("mrt: walk: %w", err)
			}
			if snap.apply(&ev) {
				return snap, resyncs, nil
			}
		}
	}
}

// writeFile writes the PEER_INDEX_TABLE and one RIB record per prefix of table to name, through
// a temporary file in the same directory.
func (d *Dumper) writeFile(name string, ts time.Time, peers []Peer, table []prefixEntries) (size int64, records, routes int, err error) {
	f, err := os.CreateTemp(filepath.Dir(name), ".ixrs-rib-*.tmp")
	if err != nil {
		return 0, 0, 0, fmt.Errorf("mrt: %w", err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	w := bufio.NewWriterSize(f, 256<<10)
	buf, err := AppendPeerIndexTable(nil, ts, d.cfg.RouterID, d.cfg.View, peers)
	if err != nil {
		return 0, 0, 0, err
	}
	seq := uint32(0)
	for _, pe := range table {
		n := len(buf)
		buf, err = AppendRIB(buf, ts, seq, pe.prefix, pe.entries)
		if err != nil {
			// One route that cannot be written must not cost the whole dump.
			d.log.Warn("mrt: prefix left out of the dump", "prefix", pe.prefix.String(), "err", err)
			buf = buf[:n]
			continue
		}
		seq++
		routes += len(pe.entries)
		if len(buf) >= 64<<10 {
			if _, err = w.Write(buf); err != nil {
				return 0, 0, 0, fmt.Errorf("mrt: write %s: %w", tmp, err)
			}
			size += int64(len(buf))
			buf = buf[:0]
		}
	}
	if _, err = w.Write(buf); err != nil {
		return 0, 0, 0, fmt.Errorf("mrt: write %s: %w", tmp, err)
	}
	size += int64(len(buf))
	if err = w.Flush(); err != nil {
		return 0, 0, 0, fmt.Errorf("mrt: write %s: %w", tmp, err)
	}
	if err = f.Sync(); err != nil {
		return 0, 0, 0, fmt.Errorf("mrt: sync %s: %w", tmp, err)
	}
	if err = f.Close(); err != nil {
		return 0, 0, 0, fmt.Errorf("mrt: close %s: %w", tmp, err)
	}
	if err = os.Rename(tmp, name); err != nil {
		return 0, 0, 0, fmt.Errorf("mrt: %w", err)
	}
	return size, int(seq), routes, nil
}

// rotate removes the oldest dumps beyond Config.Keep, for each kind of file.
func (d *Dumper) rotate() {
	if d.cfg.Keep <= 0 {
		return
	}
	ents, err := os.ReadDir(d.cfg.Dir)
	if err != nil {
		d.log.Warn("mrt: rotation", "err", err)
		return
	}
	for _, kind := range []string{".accepted" + fileSuffix, ".filtered" + fileSuffix} {
		var names []string
		for _, e := range ents {
			if n := e.Name(); strings.HasPrefix(n, filePrefix) && strings.HasSuffix(n, kind) {
				names = append(names, n)
			}
		}
		slices.Sort(names) // oldest first: the time sorts lexically
		for len(names) > d.cfg.Keep {
			if err := os.Remove(filepath.Join(d.cfg.Dir, names[0])); err != nil {
				d.log.Warn("mrt: rotation", "err", err)
			}
			names = names[1:]
		}
	}
}

// snapshot is the Adj-RIB-In as the feed describes it: sessions and their routes.
type snapshot struct {
	sessions map[sessionKey]*sessionState
}

type sessionKey struct {
	addr netip.Addr
	inc  uint64
}

type sessionState struct {
	peer   Peer
	since  time.Time
	routes map[netip.Prefix]routeState
}

type routeState struct {
	attrs    *speaker.Attrs
	filtered bool
}

func newSnapshot() *snapshot { return &snapshot{sessions: map[sessionKey]*sessionState{}} }

// apply applies one event and reports whether it was the end of the replay.
func (s *snapshot) apply(ev *rs.Event) bool {
	k := sessionKey{ev.Neighbor, ev.Incarnation}
	switch ev.Kind {
	case rs.EventSyncStart:
		clear(s.sessions)
	case rs.EventSyncDone:
		return true
	case rs.EventSessionUp:
		s.sessions[k] = &sessionState{peer: Peer{Addr: ev.Neighbor, ASN: ev.ASN, RouterID: ev.Session.Info.RouterID},
			since: ev.Session.Since, routes: map[netip.Prefix]routeState{}}
	case rs.EventSessionDown:
		if !ev.Session.Stale {
			delete(s.sessions, k) // its routes are gone with it
		}
	case rs.EventRoute:
		ss := s.sessions[k]
		if ss == nil {
			return false
		}
		if ev.Attrs == nil {
			delete(ss.routes, ev.Prefix)
		} else {
			ss.routes[ev.Prefix] = routeState{attrs: ev.Attrs, filtered: ev.Reasons != 0}
		}
	}
	return false
}

// peers returns the sessions holding routes in a stable order (address, then incarnation), and
// their indexes.
func (s *snapshot) peers() ([]Peer, map[sessionKey]uint16) {
	keys := make([]sessionKey, 0, len(s.sessions))
	for k := range s.sessions {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b sessionKey) int {
		return cmp.Or(a.addr.Compare(b.addr), cmp.Compare(a.inc, b.inc))
	})
	if len(keys) > 0xffff {
		keys = keys[:0xffff] // the peer index has 16 bits; no exchange has that many sessions
	}
	peers := make([]Peer, len(keys))
	index := make(map[sessionKey]uint16, len(keys))
	for i, k := range keys {
		peers[i] = s.sessions[k].peer
		index[k] = uint16(i)
	}
	return peers, index
}

type prefixEntries struct {
	prefix  netip.Prefix
	entries []Entry
}

// table returns the accepted (or the filtered) routes by prefix, IPv4 before IPv6, in address
// order, each prefix's entries in peer index order.
func (s *snapshot) table(index map[sessionKey]uint16, accepted bool) []prefixEntries {
	byPrefix := map[netip.Prefix][]Entry{}
	for k, ss := range s.sessions {
		i, ok := index[k]
		if !ok {
			continue
		}
		for p, r := range ss.routes {
			if r.filtered == accepted {
				continue
			}
			byPrefix[p] = append(byPrefix[p], Entry{Peer: i, Originated: ss.since, Attrs: r.attrs})
		}
	}
	out := make([]prefixEntries, 0, len(byPrefix))
	for p, es := range byPrefix {
		slices.SortFunc(es, func(a, b Entry) int { return cmp.Compare(a.Peer, b.Peer) })
		out = append(out, prefixEntries{prefix: p, entries: es})
	}
	slices.SortFunc(out, func(a, b prefixEntries) int {
		return cmp.Or(a.prefix.Addr().Compare(b.prefix.Addr()), cmp.Compare(a.prefix.Bits(), b.prefix.Bits()))
	})
	return out
}
