package rpki

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"sync"
	"time"
)

// The RTR client: every configured cache runs its own session at the same time (cache.go), so each
// stays in sync and a failover needs no download. The Client feeds the data of the most preferred
// cache that is in sync; when it goes, the next one in preference order takes over; when a more
// preferred one is back and in sync again, it takes over again. Data of a cache that is not in sync
// stays in use until the expire interval of its last End of Data runs out (RFC 8210 §6); when no
// cache has unexpired data the Client says so with an Update whose VRPs are nil, and every route
// becomes RPKI "not checked".

// DefaultMaxRecords bounds the records (VRPs, ASPAs, router keys) one cache may hold, committed
// and in a response together: about 90 MB at 44.5 bytes per VRP (BenchmarkCacheMemory), almost
// three times the global RPKI of 2026 (about 700,000 VRPs). A cache that sends more gets an Error
// Report and the connection is closed; the data of its last End of Data stays.
const DefaultMaxRecords = 2_000_000

// DefaultStallTimeout is how long a cache may stay silent in the middle of a response, or leave a
// query unanswered, before the client gives up on the connection.
const DefaultStallTimeout = 60 * time.Second

// CacheConfig is one RTR cache.
type CacheConfig struct {
	// Address is host:port.
	Address string
	// Preference orders the caches, lower first (RFC 8210 §10).
	Preference int
	// TLS, when not nil, is used for a TLS connection (RFC 6810 §7); nil is plain TCP.
	TLS *tls.Config
	// Version is the highest protocol version offered, 0..2; the client goes down to what the
	// cache answers with (RFC 8210 §7).
	Version uint8
}

// Config configures a Client.
type Config struct {
	Caches []CacheConfig
	// MaxRecords per cache; 0 is DefaultMaxRecords.
	MaxRecords int
	// Refresh, Retry and Expire override the intervals the caches send (0: the cache's, or RFC 8210
	// §6's defaults for version 0).
	Refresh, Retry, Expire time.Duration
	// StallTimeout; 0 is DefaultStallTimeout.
	StallTimeout time.Duration
	Logger       *slog.Logger
}

// CacheStatus is the state of one cache, for the looking glass and the metrics.
type CacheStatus struct {
	Address    string
	Preference int
	TLS        bool
	// Connected: a TCP (or TLS) connection is open. InSync: on this connection the cache has
	// completed a response (End of Data). Active: its data is what the route server uses.
	Connected, InSync, Active bool
	// Expired: the cache's data is older than its expire interval (or it never had any).
	Expired bool
	// Of the last End of Data.
	SessionID  uint16
	Serial     uint32
	Version    uint8
	LastUpdate time.Time // zero: never
	ExpiresAt  time.Time // zero: no data
	// The cache's data as committed.
	VRPsIPv4, VRPsIPv6, ASPAs, RouterKeys int
	Refresh, Retry, Expire                time.Duration
	PDUs, ErrorsSent, ErrorsReceived      uint64
	LastError                             string
}

// Update is new data for the route server. Changed lists the VRP prefixes whose VRPs differ
// between Base and VRPs; it is only meaningful while Base is the snapshot in force, otherwise the
// receiver compares the snapshots itself (Changed(inForce, u.VRPs)).
type Update struct {
	// VRPs is nil when no cache has unexpired data.
	VRPs    *Table
	ASPAs   *ASPATable
	Base    *Table
	Changed []netip.Prefix
	// Cache is the address of the cache the data comes from ("" with nil VRPs).
	Cache string
}

// Client is a set of RTR caches feeding one stream of Updates. Safe for concurrent use.
type Client struct {
	cfg    Config
	log    *slog.Logger
	caches []*cache
	events chan cacheEvent
	out    chan Update

	mu     sync.Mutex
	status []CacheStatus

	stopped <-chan struct{} // closed when Run returns; set before the caches start

	// Owned by Run's goroutine.
	state     []cacheState
	active    int        // index of the cache whose data is out; -1 none
	lastASPAs *ASPATable // of the last Update
}

type cacheState struct {
	table     *Table
	aspas     *ASPATable
	inSync    bool
	expiresAt time.Time
}

// NewClient checks the configuration; Run connects.
func NewClient(cfg Config) (*Client, error) {
	if len(cfg.Caches) == 0 {
		return nil, errors.New("rtr: no caches")
	}
	if cfg.MaxRecords <= 0 {
		cfg.MaxRecords = DefaultMaxRecords
	}
	if cfg.StallTimeout <= 0 {
		cfg.StallTimeout = DefaultStallTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	c := &Client{cfg: cfg, log: cfg.Logger, events: make(chan cacheEvent), out: make(chan Update, 1), active: -1}
	for i, cc := range cfg.Caches {
		if cc.Version > MaxVersion {
			return nil, fmt.Errorf("rtr cache %s: version %d (at most %d)", cc.Address, cc.Version, MaxVersion)
		}
		c.caches = append(c.caches, &cache{i: i, cfg: cc, client: c, data: newCacheData(),
			log: c.log.With("cache", cc.Address), timers: timers{defaultRefresh, defaultRetry, defaultExpire}})
		c.status = append(c.status, CacheStatus{Address: cc.Address, Preference: cc.Preference, TLS: cc.TLS != nil,
			Version: cc.Version, Expired: true})
	}
	c.state = make([]cacheState, len(c.caches))
	return c, nil
}

// Updates delivers the data to use. When the receiver falls behind, pending Updates merge into
// one: the receiver always gets the newest data, and Changed then covers every step it skipped.
func (c *Client) Updates() <-chan Update { return c.out }

// Status returns the state of every cache in configuration order.
func (c *Client) Status() []CacheStatus {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.status)
}

func (c *cache) status(f func(*CacheStatus)) {
	c.client.mu.Lock()
	f(&c.client.status[c.i])
	c.client.mu.Unlock()
}

// event hands an event to Run; it returns without doing anything once Run has returned.
func (c *cache) event(ev cacheEvent) {
	ev.i = c.i
	if ev.kind == evDown && ev.err != nil {
		c.status(func(s *CacheStatus) { s.LastError = ev.err.Error() })
	}
	select {
	case c.client.events <- ev:
	case <-c.client.done():
	}
}

func (c *Client) done() <-chan struct{} { return c.stopped }

// Run runs every cache session until ctx is done.
func (c *Client) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	c.stopped = ctx.Done()
	var wg sync.WaitGroup
	defer func() {
		cancel()
		wg.Wait()
	}()
	for _, cc := range c.caches {
		wg.Go(func() { cc.run(ctx) })
	}
	expiry := time.NewTimer(time.Hour)
	expiry.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev := <-c.events:
			st := &c.state[ev.i]
			switch ev.kind {
			case evData:
				st.table, st.aspas, st.inSync = ev.table, ev.aspas, true
				st.expiresAt = time.Now().Add(ev.expire)
				c.caches[ev.i].status(func(s *CacheStatus) { s.ExpiresAt, s.Expired = st.expiresAt, false })
			case evDown:
				st.inSync = false
			}
			c.choose(ev)
		case <-expiry.C:
			c.choose(cacheEvent{i: -1})
		}
		// The next expiry to look at: the earliest future one.
		var first time.Time
		for _, st := range c.state {
			if st.table != nil && st.expiresAt.After(time.Now()) && (first.IsZero() || st.expiresAt.Before(first)) {
				first = st.expiresAt
			}
		}
		expiry.Stop()
		if !first.IsZero() {
			expiry.Reset(time.Until(first) + time.Millisecond)
		}
	}
}

// choose picks the cache whose data is used after ev and sends an Update when the data changed.
func (c *Client) choose(ev cacheEvent) {
	now := time.Now()
	for i := range c.state {
		st := &c.state[i]
		if st.table != nil && !now.Before(st.expiresAt) {
			c.log.Error("RTR cache data expired", "cache", c.caches[i].cfg.Address, "expired_at", st.expiresAt)
			st.table, st.aspas = nil, nil
			c.caches[i].status(func(s *CacheStatus) { s.Expired = true })
		}
	}
	order := make([]int, len(c.state))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		return cmp.Compare(c.caches[a].cfg.Preference, c.caches[b].cfg.Preference)
	})
	best := -1
	for _, i := range order { // the most preferred cache in sync
		if c.state[i].table != nil && c.state[i].inSync {
			best = i
			break
		}
	}
	if best < 0 && c.active >= 0 && c.state[c.active].table != nil {
		best = c.active // nothing in sync: keep what is in use until it expires
	}
	if best < 0 {
		for _, i := range order {
			if c.state[i].table != nil {
				best = i
				break
			}
		}
	}
	prev := c.active
	c.active = best
	if prev != best {
		c.mu.Lock()
		for i := range c.status {
			c.status[i].Active = i == best
		}
		c.mu.Unlock()
	}
	switch {
	case best < 0 && prev < 0:
		return
	case best < 0:
		c.log.Error("RPKI: no RTR cache has unexpired data; every route is now RPKI \"not checked\"")
		c.emit(Update{})
	case best != prev:
		c.log.Warn("RPKI: using another RTR cache", "cache", c.caches[best].cfg.Address, "preference",
			c.caches[best].cfg.Preference, "previous", c.addr(prev))
		c.emit(Update{VRPs: c.state[best].table, ASPAs: c.state[best].aspas, Cache: c.caches[best].cfg.Address})
	case ev.i == best && ev.kind == evData && (ev.table != ev.base || ev.aspas != c.lastASPAs):
		c.emit(Update{VRPs: ev.table, ASPAs: ev.aspas, Base: ev.base, Changed: ev.changed,
			Cache: c.caches[best].cfg.Address})
	}
}

func (c *Client) addr(i int) string {
	if i < 0 {
		return ""
	}
	return c.caches[i].cfg.Address
}

// emit queues u, merging it into an Update the receiver has not taken yet.
func (c *Client) emit(u Update) {
	select {
	case old := <-c.out:
		if old.VRPs != nil && u.Base == old.VRPs {
			u.Base = old.Base
			u.Changed = append(slices.Clip(old.Changed), u.Changed...)
		} else if u.VRPs == old.VRPs {
			u = old
		} else {
			u.Base, u.Changed = nil, nil
		}
	default:
	}
	c.out <- u // Run is the only sender and the buffer has room
	c.lastASPAs = u.ASPAs
}
