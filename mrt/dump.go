package mrt

import (
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
)

// Source is the RIB as the dumper reads it; *rs.Server implements it.
type Source interface {
	Subscribe(ctx context.Context, opts rs.SubscribeOptions) (*rs.Subscription, error)
}

// Config configures a Dumper.
type Config struct {
	// Dir is where dump files are written; it must exist (the daemon creates it).
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
	// Routing, if set, is the time the RIB loop has spent routing so far: taking UPDATEs from
	// members or sending them UPDATEs (rs.Server.RoutingTime). A dump waits until the loop has
	// routed less than a tenth of the time for a while (idlePolls looks idlePoll apart) before it
	// walks the RIB, and again before it sorts, encodes and writes the snapshot: on few cores the
	// walk's replay, the route events that arrive during it and the encoding would otherwise take
	// CPU from members converging. The snapshot is the RIB at the end of the walk either way.
	Routing func() time.Duration
	// IdleWait bounds the two waits together, from the start of the dump: a RIB that never goes
	// quiet (churn at a large exchange) delays a dump by at most this much, then the walk runs
	// beside routing (trickling while members send) and the files are written. 0: 10 seconds.
	IdleWait time.Duration
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
	// Waited is the part of Duration the dump spent waiting for the RIB loop to stop routing
	// (Config.Routing), before the walk and before writing.
	Waited time.Duration
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

// errFull is a walk that saw more route events or session ups than its records can number.
var errFull = errors.New("mrt: too many events in one walk")

// ErrBusy is returned by Dump while another dump is being written.
var ErrBusy = errors.New("mrt: a dump is in progress")

// Dumper writes TABLE_DUMP_V2 files of the RIB's Adj-RIB-In.
type Dumper struct {
	src Source
	cfg Config
	log *slog.Logger

	busy        chan struct{} // holds a token while a dump runs
	hint, hint6 int           // records of the last walk: the next one's starting capacity
	mu          sync.Mutex
	st          Status
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
			"accepted_routes", res.AcceptedRoutes, "filtered_routes", res.FilteredRoutes, "duration", res.Duration.String(),
			"waited", res.Waited.String())
	}
	return res, err
}

func (d *Dumper) dump(ctx context.Context) (Result, error) {
	limit := d.cfg.IdleWait
	if limit <= 0 {
		limit = 10 * time.Second
	}
	deadline := time.Now().Add(limit)
	waited := d.waitIdle(ctx, deadline)
	snap, resyncs, err := d.walk(ctx)
	if err != nil {
		return Result{Resyncs: resyncs, Waited: waited}, err
	}
	now := d.cfg.Now().UTC()
	waited += d.waitIdle(ctx, deadline)
	res := Result{Time: now, Resyncs: resyncs, Waited: waited}
	peers, index := snap.peers()
	res.Peers = len(peers)
	tab := snap.sorted(peers, index)
	enc := newAttrCache()
	stamp := now.Format(timeLayout)
	for _, accepted := range []bool{true, false} {
		kind := "filtered"
		if accepted {
			kind = "accepted"
		}
		name := filepath.Join(d.cfg.Dir, filePrefix+stamp+"."+kind+fileSuffix)
		n, records, routes, err := d.writeFile(name, now, peers, tab, accepted, enc)
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
	snap := newSnapshot(d.hint+d.hint/8, d.hint6+d.hint6/8)
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
			done, err := snap.apply(&ev)
			if err != nil {
				break // start over
			}
			if done {
				d.hint, d.hint6 = len(snap.v4), len(snap.v6)
				return snap, resyncs, nil
			}
		}
	}
}

// writeFile writes the PEER_INDEX_TABLE and one RIB record per prefix of the accepted (or the
// filtered) routes of t to name, through a temporary file in the same directory.
func (d *Dumper) writeFile(name string, ts time.Time, peers []Peer, t *table, accepted bool, enc *attrCache) (size int64, records, routes int, err error) {
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
	// Records are built in buf and written in chunks of about 256 KiB straight to the file.
	buf, err := AppendPeerIndexTable(make([]byte, 0, 320<<10), ts, d.cfg.RouterID, d.cfg.View, peers)
	if err != nil {
		return 0, 0, 0, err
	}
	seq := uint32(0)
	err = t.each(accepted, func(prefix netip.Prefix, entries []Entry) error {
		n := len(buf)
		var aerr error
		buf, aerr = appendRIB(buf, ts, seq, prefix, entries, enc)
		if aerr != nil {
			// One route that cannot be written must not cost the whole dump.
			d.log.Warn("mrt: prefix left out of the dump", "prefix", prefix.String(), "err", aerr)
			buf = buf[:n]
			return nil
		}
		seq++
		routes += len(entries)
		if len(buf) >= 256<<10 {
			if _, werr := f.Write(buf); werr != nil {
				return fmt.Errorf("mrt: write %s: %w", tmp, werr)
			}
			size += int64(len(buf))
			buf = buf[:0]
		}
		return nil
	})
	if err != nil {
		return 0, 0, 0, err
	}
	if _, err = f.Write(buf); err != nil {
		return 0, 0, 0, fmt.Errorf("mrt: write %s: %w", tmp, err)
	}
	size += int64(len(buf))
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

// idlePoll is how often waitIdle looks at Config.Routing, and idlePolls how many looks in a row must
// find the RIB loop quiet: a pause between two bursts of UPDATEs is not the end of convergence. A
// look finds it quiet when it routed less than idlePoll/idleShare since the previous look. Members
// converging keep the loop routing most of the time; at an exchange at rest, where members send a
// few UPDATEs a second that take the loop microseconds each, it routes well under a tenth of the
// time, so the looks succeed at once, while a route server that never drops below a tenth (churn
// that never pauses) delays a dump by IdleWait, not forever.
const (
	idlePoll  = 20 * time.Millisecond
	idlePolls = 3
	idleShare = 10
)

// waitIdle returns how long it waited for idlePolls looks in a row to find the RIB loop quiet; it
// gives up at deadline or when ctx ends, and returns at once without Config.Routing.
func (d *Dumper) waitIdle(ctx context.Context, deadline time.Time) time.Duration {
	if d.cfg.Routing == nil {
		return 0
	}
	start := time.Now()
	if !start.Before(deadline) {
		return 0
	}
	limit := time.NewTimer(deadline.Sub(start))
	defer limit.Stop()
	tick := time.NewTicker(idlePoll)
	defer tick.Stop()
	last, lastAt := d.cfg.Routing(), start
	for quiet := 0; quiet < idlePolls; {
		select {
		case <-tick.C:
		case <-limit.C:
			return time.Since(start)
		case <-ctx.Done():
			return time.Since(start)
		}
		now, at := d.cfg.Routing(), time.Now()
		// The share of the wall time since the previous look: a late tick (a loaded machine) makes
		// a longer window, not a busier one.
		if (now-last)*idleShare < at.Sub(lastAt) {
			quiet++
		} else {
			quiet = 0
		}
		last, lastAt = now, at
	}
	return time.Since(start)
}
