package bmp

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/ixrs/ixrs/rs"
	"github.com/ixrs/ixrs/speaker"
)

// Source is the RIB as the exporter reads it; *rs.Server implements it.
type Source interface {
	Subscribe(ctx context.Context, opts rs.SubscribeOptions) (*rs.Subscription, error)
	Sessions(ctx context.Context) ([]rs.SessionStatus, error)
}

// Config configures one collector.
type Config struct {
	Name    string // for logs and Status; default Address
	Address string // host:port of the collector

	// The monitored tables: pre-policy Adj-RIB-In, post-policy Adj-RIB-In, Adj-RIB-Out (RFC 8671).
	PrePolicy, PostPolicy, AdjRIBOut bool

	SysName, SysDescr string // the Initiation message's TLVs

	// StatsInterval is the period of Statistics Reports: 0 means 60 s, negative none.
	StatsInterval time.Duration
	// QueueSize is the subscription's ring in events (rs.SubscribeOptions.Size); 0: 65,536.
	QueueSize int
	// WriteTimeout bounds every write to the collector: a collector that takes nothing for that
	// long is disconnected. 0: 30 s.
	WriteTimeout time.Duration
	// BackoffMin and BackoffMax bound the wait before a reconnection (doubling per failure); 0: 1 s
	// and 60 s.
	BackoffMin, BackoffMax time.Duration
	// FlushDelay is how long encoded messages may wait for more before they are written; 0: 50 ms.
	FlushDelay time.Duration

	// Notification returns the last NOTIFICATION sent (sent true) or received on neighbor's session,
	// or nil, for Peer Down messages. Nil: Peer Down never carries a NOTIFICATION.
	Notification func(neighbor netip.Addr, sent bool) *speaker.Notification

	Logger *slog.Logger
}

func (c *Config) defaults() {
	if c.Name == "" {
		c.Name = c.Address
	}
	if c.StatsInterval == 0 {
		c.StatsInterval = time.Minute
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = 30 * time.Second
	}
	if c.BackoffMin <= 0 {
		c.BackoffMin = time.Second
	}
	if c.BackoffMax < c.BackoffMin {
		c.BackoffMax = max(60*time.Second, c.BackoffMin)
	}
	if c.FlushDelay <= 0 {
		c.FlushDelay = 50 * time.Millisecond
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Status is an exporter's connection state and counters.
type Status struct {
	Name, Address string
	Connected     bool
	Since         time.Time // when the current connection was made, or the last one ended
	// Connects counts connections made; Lost counts those dropped because the collector fell a
	// whole ring behind or a write timed out.
	Connects, Lost     uint64
	Messages, Bytes    uint64 // BMP messages and bytes written, all connections
	LastError          string
	DumpDone           bool // the current connection's initial dump has been sent
	Sessions           int  // sessions the collector has been told are up
	EncodeErrors       uint64
	LastDumpDuration   time.Duration
	LastDumpMessages   uint64
	LastDisconnectedAt time.Time
}

// Exporter sends the RIB to one BMP collector. Run it with Run; Status may be called from any
// goroutine.
type Exporter struct {
	src Source
	cfg Config
	log *slog.Logger

	mu sync.Mutex
	st Status
}

// New returns an exporter for cfg reading from src.
func New(src Source, cfg Config) *Exporter {
	cfg.defaults()
	return &Exporter{src: src, cfg: cfg, log: cfg.Logger.With("collector", cfg.Name),
		st: Status{Name: cfg.Name, Address: cfg.Address}}
}

// Status returns a copy of the exporter's status.
func (e *Exporter) Status() Status {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.st
}

func (e *Exporter) update(f func(*Status)) {
	e.mu.Lock()
	f(&e.st)
	e.mu.Unlock()
}

// errFellBehind ends a connection whose collector did not take events as fast as the RIB made them.
var errFellBehind = errors.New("collector fell behind: events lost, reconnecting for a new dump")

// Run connects to the collector and exports until ctx is done, reconnecting with backoff. On the
// way out it sends a Termination message to a connected collector.
func (e *Exporter) Run(ctx context.Context) {
	backoff := e.cfg.BackoffMin
	for ctx.Err() == nil {
		start := time.Now()
		err := e.connect(ctx)
		if ctx.Err() != nil {
			return
		}
		e.update(func(s *Status) {
			s.Connected, s.LastError, s.LastDisconnectedAt, s.Since = false, err.Error(), time.Now(), time.Now()
		})
		switch {
		case errors.Is(err, errFellBehind):
			backoff = e.cfg.BackoffMin // reconnect soon: the collector is there, only slow
		case time.Since(start) > e.cfg.BackoffMax:
			backoff = e.cfg.BackoffMin // it had been up a while: a fresh failure
		}
		e.log.Warn("bmp collector connection ended", "err", err, "retry_in", backoff.String())
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		backoff = min(2*backoff, e.cfg.BackoffMax)
	}
}

// deadlineWriter sets a write deadline before every write: a stalled collector fails the write
// instead of blocking the exporter forever.
type deadlineWriter struct {
	c       net.Conn
	timeout time.Duration
	e       *Exporter
}

func (w *deadlineWriter) Write(b []byte) (int, error) {
	w.c.SetWriteDeadline(time.Now().Add(w.timeout))
	n, err := w.c.Write(b)
	w.e.update(func(s *Status) { s.Bytes += uint64(n) })
	return n, err
}

// conn is one connection's state: the sessions the collector knows, the output buffer.
type conn struct {
	e     *Exporter
	w     *bufio.Writer
	buf   []byte
	peers map[sessionKey]*peerState
	// replay is set between the sync markers of the initial dump.
	replay    bool
	dumpStart time.Time
	dumpMsgs  uint64
	msgs      uint64
}

type sessionKey struct {
	addr netip.Addr
	inc  uint64
}

type peerState struct {
	peer     Peer
	families []speaker.Family
}

func (e *Exporter) connect(ctx context.Context) error {
	d := net.Dialer{Timeout: 10 * time.Second}
	nc, err := d.DialContext(ctx, "tcp", e.cfg.Address)
	if err != nil {
		return err
	}
	defer nc.Close()
	e.update(func(s *Status) {
		s.Connected, s.Since, s.DumpDone, s.Sessions = true, time.Now(), false, 0
		s.Connects++
	})
	e.log.Info("bmp collector connected", "address", e.cfg.Address)

	sub, err := e.src.Subscribe(ctx, rs.SubscribeOptions{Size: e.cfg.QueueSize,
		Routes: e.cfg.PrePolicy || e.cfg.PostPolicy, Exports: e.cfg.AdjRIBOut})
	if err != nil {
		return fmt.Errorf("subscribe: %w", err)
	}
	defer func() {
		uctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		sub.Unsubscribe(uctx)
		cancel()
	}()
	c := &conn{e: e, peers: map[sessionKey]*peerState{},
		w: bufio.NewWriterSize(&deadlineWriter{c: nc, timeout: e.cfg.WriteTimeout, e: e}, 64<<10)}
	if c.buf, err = appendInitiation(c.buf[:0], e.cfg.SysName, e.cfg.SysDescr); err != nil {
		return err
	}
	if err := c.emit(1); err != nil {
		return err
	}
	if err := sub.Resync(ctx); err != nil {
		return fmt.Errorf("resync: %w", err)
	}
	err = c.loop(ctx, sub)
	if ctx.Err() != nil {
		// Shutting down: tell the collector, within the write timeout.
		c.buf, _ = appendTermination(c.buf[:0], "route server shutting down")
		if c.emit(1) == nil {
			c.w.Flush()
		}
		return ctx.Err()
	}
	if errors.Is(err, rs.ErrLost) || errors.Is(err, errWriteTimeout) {
		e.update(func(s *Status) { s.Lost++ })
		return fmt.Errorf("%w (%v)", errFellBehind, err)
	}
	return err
}

var errWriteTimeout = errors.New("write to collector timed out")

// emit writes c.buf (holding n messages) to the buffered connection.
func (c *conn) emit(n int) error {
	if len(c.buf) == 0 {
		return nil
	}
	_, err := c.w.Write(c.buf)
	c.buf = c.buf[:0]
	c.msgs += uint64(n)
	if c.replay {
		c.dumpMsgs += uint64(n)
	}
	c.e.update(func(s *Status) { s.Messages += uint64(n) })
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		return fmt.Errorf("%w: %v", errWriteTimeout, err)
	}
	return err
}

func (c *conn) flush() error {
	err := c.w.Flush()
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		return fmt.Errorf("%w: %v", errWriteTimeout, err)
	}
	return err
}

// loop turns events into messages until ctx is done or the connection fails. It waits for events
// with a deadline: at most FlushDelay while output is buffered, and until the next Statistics
// Report otherwise.
func (c *conn) loop(ctx context.Context, sub *rs.Subscription) error {
	e := c.e
	var nextStats time.Time
	if e.cfg.StatsInterval > 0 {
		nextStats = time.Now().Add(e.cfg.StatsInterval)
	}
	// w.ctx is reused across Next calls until it expires: Next looks at it only when it has to wait.
	var w struct {
		ctx    context.Context
		cancel context.CancelFunc
		flush  bool // the deadline is a flush deadline
	}
	defer func() {
		if w.cancel != nil {
			w.cancel()
		}
	}()
	for {
		if w.ctx == nil {
			deadline := time.Now().Add(time.Hour)
			w.flush = c.w.Buffered() > 0
			if w.flush {
				deadline = time.Now().Add(e.cfg.FlushDelay)
			}
			if !nextStats.IsZero() && nextStats.Before(deadline) {
				deadline = nextStats
			}
			w.ctx, w.cancel = context.WithDeadline(ctx, deadline)
		}
		ev, err := sub.Next(w.ctx)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if !errors.Is(err, context.DeadlineExceeded) {
				return err
			}
			w.cancel()
			w.ctx, w.cancel = nil, nil
			if err := c.flush(); err != nil {
				return err
			}
			if !nextStats.IsZero() && !time.Now().Before(nextStats) {
				if err := c.stats(ctx); err != nil {
					return err
				}
				nextStats = time.Now().Add(e.cfg.StatsInterval)
			}
			continue
		}
		if err := c.event(&ev); err != nil {
			return err
		}
		if !w.flush && c.w.Buffered() > 0 {
			// Output is waiting: the next wait must end in time to flush it.
			w.cancel()
			w.ctx, w.cancel = nil, nil
		}
	}
}

// event encodes one RIB event.
func (c *conn) event(ev *rs.Event) error {
	e := c.e
	now := time.Now()
	switch ev.Kind {
	case rs.EventSyncStart:
		c.replay, c.dumpStart, c.dumpMsgs = true, now, 0
		clear(c.peers)
	case rs.EventSyncDone:
		if err := c.endOfRIB(now); err != nil {
			return err
		}
		c.replay = false
		d, n := time.Since(c.dumpStart), c.dumpMsgs
		e.update(func(s *Status) { s.DumpDone, s.LastDumpDuration, s.LastDumpMessages = true, d, n })
		e.log.Info("bmp dump sent", "messages", n, "duration", d.String())
		return c.flush()
	case rs.EventSessionUp:
		ps := &peerState{peer: Peer{Addr: ev.Neighbor, ASN: ev.ASN, RouterID: ev.Session.Info.RouterID,
			TwoOctetAS: !ev.Session.Info.Encode.FourOctetAS, Local: ev.Session.Info.Local, Remote: ev.Session.Info.Remote},
			families: ev.Session.Info.Families}
		c.peers[sessionKey{ev.Neighbor, ev.Incarnation}] = ps
		c.buf = appendPeerUp(c.buf, ps.peer, ev.Session.Since, ev.Session.Info.OpenSent, ev.Session.Info.OpenReceived)
		e.update(func(s *Status) { s.Sessions = len(c.peers) })
		return c.emit(1)
	case rs.EventSessionDown:
		k := sessionKey{ev.Neighbor, ev.Incarnation}
		ps := c.peers[k]
		if ps == nil {
			return nil // never announced to this collector
		}
		delete(c.peers, k)
		var err error
		n, sent := c.downNotification(ev)
		if c.buf, err = appendPeerDown(c.buf, ps.peer, now, n, sent); err != nil {
			return err
		}
		e.update(func(s *Status) { s.Sessions = len(c.peers) })
		return c.emit(1)
	case rs.EventRoute:
		ps := c.peers[sessionKey{ev.Neighbor, ev.Incarnation}]
		if ps == nil {
			return nil
		}
		if e.cfg.PrePolicy {
			if err := c.route(ps.peer, tablePre, now, ev.Prefix, ev.Attrs); err != nil {
				return err
			}
		}
		if e.cfg.PostPolicy {
			attrs := ev.Attrs
			if ev.Reasons != 0 {
				attrs = nil
			}
			// A filtered route in the initial dump was never announced on this connection: no
			// withdrawal is owed for it.
			if attrs != nil || !c.replay {
				if err := c.route(ps.peer, tablePost, now, ev.Prefix, attrs); err != nil {
					return err
				}
			}
		}
	case rs.EventExport:
		ps := c.peers[sessionKey{ev.Neighbor, ev.Incarnation}]
		if ps == nil || !e.cfg.AdjRIBOut {
			return nil
		}
		return c.route(ps.peer, tableAdjOut, now, ev.Prefix, ev.Attrs)
	}
	return nil
}

// route sends the announcement (attrs non-nil) or withdrawal of prefix in table t.
func (c *conn) route(p Peer, t table, ts time.Time, prefix netip.Prefix, attrs *speaker.Attrs) error {
	ups, err := encodeUpdate(prefix, attrs, p.TwoOctetAS)
	if err != nil {
		// A route the RIB holds always encodes; count and go on rather than drop the collector.
		c.e.update(func(s *Status) { s.EncodeErrors++ })
		c.e.log.Debug("bmp: route not encodable", "prefix", prefix.String(), "err", err)
		return nil
	}
	c.buf = appendRouteMonitoring(c.buf, p, t, ts, ups)
	return c.emit(len(ups))
}

// endOfRIB sends an End-of-RIB per session, negotiated family and monitored table after the dump.
func (c *conn) endOfRIB(ts time.Time) error {
	for _, ps := range c.peers {
		for _, f := range ps.families {
			eor := [][]byte{speaker.AppendEndOfRIB(nil, f)}
			for _, t := range c.tables() {
				c.buf = appendRouteMonitoring(c.buf, ps.peer, t, ts, eor)
				if err := c.emit(1); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func (c *conn) tables() []table {
	var ts []table
	if c.e.cfg.PrePolicy {
		ts = append(ts, tablePre)
	}
	if c.e.cfg.PostPolicy {
		ts = append(ts, tablePost)
	}
	if c.e.cfg.AdjRIBOut {
		ts = append(ts, tableAdjOut)
	}
	return ts
}

// downNotification finds the NOTIFICATION that ended a session from its down reason (the
// speaker's "sent NOTIFICATION …" or "received NOTIFICATION …") and the Notification hook.
func (c *conn) downNotification(ev *rs.Event) (*speaker.Notification, bool) {
	reason := ev.Session.Reason
	sent := strings.HasPrefix(reason, "sent NOTIFICATION")
	recv := strings.HasPrefix(reason, "received NOTIFICATION")
	if (sent || recv) && c.e.cfg.Notification != nil {
		if n := c.e.cfg.Notification(ev.Neighbor, sent); n != nil {
			return n, sent
		}
	}
	return nil, sent
}

// stats sends a Statistics Report for every session the collector knows.
func (c *conn) stats(ctx context.Context) error {
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	sessions, err := c.e.src.Sessions(sctx)
	cancel()
	if err != nil {
		return nil // the RIB is busy or stopping: skip this report
	}
	now := time.Now()
	for _, ss := range sessions {
		ps := c.peers[sessionKey{ss.Neighbor, ss.Incarnation}]
		if !ss.Up || ps == nil {
			continue
		}
		st := Stats{DuplicatePrefixes: uint32(ss.DuplicateAnnouncements), DuplicateWithdraws: uint32(ss.DuplicateWithdrawals)}
		for _, f := range ss.Families {
			st.Rejected += uint32(f.Filtered)
			st.Families = append(st.Families, FamilyStats{Family: f.Family, AdjRIBIn: uint64(f.Received), LocRIB: uint64(f.Accepted)})
		}
		if c.buf, err = appendStats(c.buf, ps.peer, now, st); err != nil {
			return err
		}
		if err := c.emit(1); err != nil {
			return err
		}
	}
	return c.flush()
}
