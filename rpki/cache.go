package rpki

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"time"
)

// One RTR cache: a goroutine that connects, negotiates the version, queries, applies each complete
// response atomically and hands the result to the Client, reconnecting after any failure.

// Timer defaults and ranges of RFC 8210 §6. Version 0 End of Data carries no timers; the defaults
// then apply.
const (
	defaultRefresh = 3600 * time.Second
	defaultRetry   = 600 * time.Second
	defaultExpire  = 7200 * time.Second
)

var (
	refreshRange = [2]time.Duration{1 * time.Second, 86400 * time.Second}
	retryRange   = [2]time.Duration{1 * time.Second, 7200 * time.Second}
	expireRange  = [2]time.Duration{600 * time.Second, 172800 * time.Second}
)

func clamp(d time.Duration, r [2]time.Duration) time.Duration {
	return min(max(d, r[0]), r[1])
}

// Connection pacing: how long to wait before connecting again after a failure, doubling from
// reconnectMin up to reconnectMax (and at most the Retry interval).
const (
	reconnectMin = 1 * time.Second
	reconnectMax = 30 * time.Second
	dialTimeout  = 10 * time.Second
	writeTimeout = 10 * time.Second
)

// timers are the intervals in force for a cache.
type timers struct{ refresh, retry, expire time.Duration }

// cacheEvent is what a cache goroutine tells the Client.
type cacheEvent struct {
	i    int
	kind int // evUp, evData, evDown
	// evData: the new snapshots and the VRP prefixes that changed since base.
	table   *Table
	base    *Table
	aspas   *ASPATable
	changed []netip.Prefix
	expire  time.Duration
	err     error // evDown
}

const (
	evData = iota
	evDown
)

// cache is one configured cache and its connection state. Fields below mu in Client are the
// status; the rest is owned by the cache's goroutine.
type cache struct {
	i      int // index in Client.caches
	cfg    CacheConfig
	client *Client
	log    *slog.Logger

	data      *cacheData
	sessionID uint16
	serial    uint32
	version   uint8 // of sessionID/serial
	haveState bool
	timers    timers
}

// run connects to the cache until ctx is done.
func (c *cache) run(ctx context.Context) {
	wait := reconnectMin
	for ctx.Err() == nil {
		synced, err := c.session(ctx)
		if ctx.Err() != nil {
			return
		}
		c.event(cacheEvent{kind: evDown, err: err})
		if synced {
			wait = reconnectMin
		}
		c.log.Warn("RTR cache session ended", "err", err, "reconnect_in", wait)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(wait*2, reconnectMax, max(c.timers.retry, reconnectMin))
	}
}

// errDowngrade ends a session whose cache asked for a lower protocol version.
var errDowngrade = errors.New("cache speaks a lower protocol version")

// session runs one connection; synced reports whether it got at least one End of Data.
func (c *cache) session(ctx context.Context) (synced bool, err error) {
	version := c.cfg.Version
	for range MaxVersion + 1 { // at most one reconnect per lower version
		synced, err = c.connect(ctx, &version)
		if !errors.Is(err, errDowngrade) {
			return synced, err
		}
		c.log.Info("RTR cache asked for a lower protocol version", "version", version)
	}
	return synced, err
}

func (c *cache) dial(ctx context.Context) (net.Conn, error) {
	dctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	if c.cfg.TLS != nil {
		d := tls.Dialer{Config: c.cfg.TLS}
		return d.DialContext(dctx, "tcp", c.cfg.Address)
	}
	var d net.Dialer
	return d.DialContext(dctx, "tcp", c.cfg.Address)
}

// conn is one connection to a cache.
type conn struct {
	c       *cache
	nc      net.Conn
	r       *bufio.Reader
	buf     []byte
	out     []byte
	version uint8
	agreed  bool // a PDU of our version came back: the version is settled (RFC 8210 §7)
}

func (cn *conn) send(p PDU) error {
	cn.out = p.AppendTo(cn.out[:0])
	_ = cn.nc.SetWriteDeadline(time.Now().Add(writeTimeout))
	_, err := cn.nc.Write(cn.out)
	return err
}

// fail sends an Error Report for a refused PDU (never in answer to an Error Report) and returns
// the error that ends the session.
func (cn *conn) fail(err error, raw []byte) error {
	var pe *PDUError
	if !errors.As(err, &pe) {
		return err
	}
	if len(raw) >= 2 && raw[1] == TypeErrorReport {
		return err
	}
	rep := &ErrorReport{Version: cn.version, Code: pe.Code, PDU: raw, Text: pe.Msg}
	if len(rep.PDU) > 1024 {
		rep.PDU = rep.PDU[:headerLen] // a huge PDU is summed up by its header
	}
	if serr := cn.send(rep); serr != nil {
		return fmt.Errorf("%w (and sending the Error Report: %v)", err, serr)
	}
	cn.c.status(func(s *CacheStatus) { s.ErrorsSent++ })
	return err
}

// connect runs one TCP (or TLS) connection at *version, lowering *version and returning
// errDowngrade when the cache asks for it.
func (c *cache) connect(ctx context.Context, version *uint8) (synced bool, err error) {
	nc, err := c.dial(ctx)
	if err != nil {
		return false, fmt.Errorf("connect: %w", err)
	}
	stop := context.AfterFunc(ctx, func() { nc.Close() })
	defer func() {
		stop()
		nc.Close()
	}()
	cn := &conn{c: c, nc: nc, r: bufio.NewReaderSize(nc, 64<<10), version: *version}
	c.status(func(s *CacheStatus) { s.Connected = true; s.Version = *version })
	defer c.status(func(s *CacheStatus) { s.Connected = false; s.InSync = false })

	if c.haveState && c.version != *version {
		c.haveState = false // session state is per version
	}
	var (
		x        *delta // the response in progress
		awaiting bool   // a query is out
		reset    bool   // the query out is a Reset Query
		next     time.Time
		// notified is the serial of a Serial Notify that came while a query was out: if the
		// response ends at another serial, the client asks again at once instead of waiting for
		// the refresh interval.
		notified    uint32
		hasNotified bool
	)
	query := func() error {
		awaiting = true
		if c.haveState {
			reset = false
			return cn.send(&SerialQuery{Version: cn.version, SessionID: c.sessionID, Serial: c.serial})
		}
		reset = true
		return cn.send(&ResetQuery{Version: cn.version})
	}
	if err := query(); err != nil {
		return false, fmt.Errorf("send query: %w", err)
	}
	stall := c.client.cfg.StallTimeout
	for {
		deadline := next
		if awaiting || x != nil {
			deadline = time.Now().Add(stall)
		}
		// Wait for the first byte of a PDU without consuming it, so a refresh timeout never cuts a
		// PDU in two; once a PDU has begun, the rest must follow within the stall timeout.
		_ = nc.SetReadDeadline(deadline)
		if _, err := cn.r.Peek(1); err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) && ctx.Err() == nil {
				if awaiting || x != nil {
					return synced, cn.fail(pduErr(CodeInternal, "cache stalled: nothing for %v in a response", stall), nil)
				}
				if err := query(); err != nil { // the refresh (or retry) interval is over
					return synced, fmt.Errorf("send query: %w", err)
				}
				continue
			}
			return synced, readErr(ctx, err)
		}
		_ = nc.SetReadDeadline(time.Now().Add(stall))
		raw, buf, err := ReadPDU(cn.r, cn.buf)
		cn.buf = buf
		if err != nil {
			var pe *PDUError
			if errors.As(err, &pe) {
				return synced, cn.fail(err, raw)
			}
			if errors.Is(err, os.ErrDeadlineExceeded) && ctx.Err() == nil {
				return synced, cn.fail(pduErr(CodeInternal, "cache stalled in the middle of a PDU"), nil)
			}
			return synced, readErr(ctx, err)
		}
		c.status(func(s *CacheStatus) { s.PDUs++ })
		p, err := Decode(raw)
		if err != nil {
			return synced, cn.fail(err, raw)
		}
		if er, ok := p.(*ErrorReport); ok {
			if er.Code == CodeUnsupportedVersion && !cn.agreed && er.Version < cn.version {
				*version = er.Version
				return synced, errDowngrade
			}
			c.status(func(s *CacheStatus) { s.ErrorsReceived++ })
			if er.Code == CodeNoData && x == nil {
				// Not fatal (RFC 8210 §12): ask again after the retry interval, keeping the data.
				c.log.Warn("RTR cache has no data yet", "text", er.Text)
				awaiting = false
				next = time.Now().Add(c.retryInterval())
				continue
			}
			return synced, er
		}
		if !cn.agreed && p.ProtocolVersion() < cn.version {
			// A cache of a lower version may answer in its own version instead of an Error Report
			// (StayRTR does): the first PDU settles the version (RFC 8210 §7).
			c.log.Info("RTR cache asked for a lower protocol version", "version", p.ProtocolVersion())
			cn.version, *version = p.ProtocolVersion(), p.ProtocolVersion()
			c.status(func(s *CacheStatus) { s.Version = cn.version })
		}
		if p.ProtocolVersion() != cn.version {
			return synced, cn.fail(pduErr(CodeUnexpectedVersion, "PDU of version %d in a version %d session",
				p.ProtocolVersion(), cn.version), raw)
		}
		cn.agreed = true
		switch p := p.(type) {
		case *SerialNotify:
			if awaiting || x != nil {
				notified, hasNotified = p.Serial, true
				continue
			}
			if err := query(); err != nil {
				return synced, fmt.Errorf("send query: %w", err)
			}
		case *CacheResponse:
			if !awaiting || x != nil {
				return synced, cn.fail(pduErr(CodeCorruptData, "Cache Response without a query"), raw)
			}
			if !reset && p.SessionID != c.sessionID {
				c.haveState = false // start afresh on the next connection
				return synced, cn.fail(pduErr(CodeCorruptData, "Cache Response for session %d, ours is %d",
					p.SessionID, c.sessionID), raw)
			}
			x = newDelta(reset)
			x.sessionID = p.SessionID
		case *PrefixPDU, *RouterKey, *ASPA:
			if x == nil {
				return synced, cn.fail(pduErr(CodeCorruptData, "record outside a response"), raw)
			}
			if err := c.data.add(x, p); err != nil {
				return synced, cn.fail(err, raw)
			}
			if n := c.data.records() + x.records(); n > c.client.cfg.MaxRecords {
				return synced, cn.fail(pduErr(CodeInternal, "more than %d records from one cache", c.client.cfg.MaxRecords), raw)
			}
		case *EndOfData:
			if x == nil {
				return synced, cn.fail(pduErr(CodeCorruptData, "End of Data outside a response"), raw)
			}
			if p.SessionID != x.sessionID {
				return synced, cn.fail(pduErr(CodeCorruptData, "End of Data for session %d in a response for %d",
					p.SessionID, x.sessionID), raw)
			}
			c.endOfData(p, x)
			synced = true
			x, awaiting = nil, false
			next = time.Now().Add(c.timers.refresh)
			if hasNotified && notified != p.Serial {
				if err := query(); err != nil {
					return synced, fmt.Errorf("send query: %w", err)
				}
			}
			hasNotified = false
		case *CacheReset:
			if !awaiting || x != nil {
				return synced, cn.fail(pduErr(CodeCorruptData, "Cache Reset without a Serial Query"), raw)
			}
			c.haveState = false
			if err := query(); err != nil {
				return synced, fmt.Errorf("send query: %w", err)
			}
		default: // queries: router-to-cache PDUs
			return synced, cn.fail(pduErr(CodeUnsupportedPDU, "PDU type %d from a cache", p.PDUType()), raw)
		}
	}
}

// readErr says why reading from a cache failed.
func readErr(ctx context.Context, err error) error {
	switch {
	case ctx.Err() != nil:
		return ctx.Err()
	case errors.Is(err, io.EOF):
		return errors.New("cache closed the connection")
	}
	return fmt.Errorf("read: %w", err)
}

func (c *cache) retryInterval() time.Duration {
	if c.timers.retry > 0 {
		return c.timers.retry
	}
	return defaultRetry
}

// endOfData commits a complete response and hands the new snapshot to the Client.
func (c *cache) endOfData(p *EndOfData, x *delta) {
	base := c.data.table
	changed := c.data.commit(x)
	c.sessionID, c.serial, c.version, c.haveState = p.SessionID, p.Serial, p.Version, true
	t := timers{defaultRefresh, defaultRetry, defaultExpire}
	if p.Version > 0 {
		t = timers{
			clamp(time.Duration(p.Refresh)*time.Second, refreshRange),
			clamp(time.Duration(p.Retry)*time.Second, retryRange),
			clamp(time.Duration(p.Expire)*time.Second, expireRange),
		}
	}
	cfg := c.client.cfg
	if cfg.Refresh > 0 {
		t.refresh = cfg.Refresh
	}
	if cfg.Retry > 0 {
		t.retry = cfg.Retry
	}
	if cfg.Expire > 0 {
		t.expire = cfg.Expire
	}
	if t.refresh >= t.expire {
		// RFC 8210 §6 wants expire above refresh; otherwise data would expire between two
		// successful refreshes.
		t.refresh = max(t.expire/2, time.Millisecond)
	}
	c.timers = t
	v4, v6 := c.data.table.Len()
	c.status(func(s *CacheStatus) {
		s.InSync = true
		s.SessionID, s.Serial, s.Version = p.SessionID, p.Serial, p.Version
		s.LastUpdate = time.Now()
		s.VRPsIPv4, s.VRPsIPv6 = v4, v6
		s.ASPAs = c.data.aspas.Len()
		s.RouterKeys = len(c.data.keys)
		s.Refresh, s.Retry, s.Expire = t.refresh, t.retry, t.expire
	})
	level := slog.LevelDebug // a refresh that changed nothing is routine
	if x.reset || len(changed) > 0 {
		level = slog.LevelInfo
	}
	c.log.Log(context.Background(), level, "RTR End of Data", "version", p.Version, "session_id", p.SessionID, "serial", p.Serial, "ipv4", v4, "ipv6", v6,
		"aspas", c.data.aspas.Len(), "changed_prefixes", len(changed), "reset", x.reset)
	c.event(cacheEvent{kind: evData, table: c.data.table, base: base, aspas: c.data.aspas,
		changed: changed, expire: t.expire})
}
