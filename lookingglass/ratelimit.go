package lookingglass

import (
	"math"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/ixrs/ixrs/config"
	"github.com/labstack/echo/v4"
	"golang.org/x/time/rate"
)

// maxClients bounds the limiter's memory: beyond it, new clients share one overflow bucket pair
// until idle clients are swept out.
const maxClients = 50_000

// clientIdle is how long a client's buckets are kept after its last request.
const clientIdle = 10 * time.Minute

// limiter holds token buckets per client: one for pages, one for searches.
type limiter struct {
	conf func() config.RateLimit
	now  func() time.Time

	mu        sync.Mutex
	clients   map[netip.Addr]*buckets
	overflow  *buckets
	lastSweep time.Time
}

type buckets struct {
	pages, searches *rate.Limiter
	last            time.Time
}

func newLimiter(conf func() config.RateLimit, now func() time.Time) *limiter {
	return &limiter{conf: conf, now: now, clients: make(map[netip.Addr]*buckets)}
}

func (l *limiter) reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	clear(l.clients)
	l.overflow = nil
}

func (l *limiter) newBuckets(rl config.RateLimit) *buckets {
	lim := func(r float64, burst int) *rate.Limiter {
		if r <= 0 {
			return rate.NewLimiter(rate.Inf, 0)
		}
		return rate.NewLimiter(rate.Limit(r), max(burst, 1))
	}
	return &buckets{pages: lim(rl.Pages, rl.PagesBurst), searches: lim(rl.Searches, rl.SearchesBurst)}
}

// clientKey groups IPv6 clients by /64, the block one subscriber usually has, so that rotating
// through its addresses does not multiply the buckets.
func clientKey(a netip.Addr) netip.Addr {
	if a.Is6() && !a.Is4In6() {
		p, _ := a.Prefix(64)
		return p.Addr()
	}
	return a.Unmap()
}

// allow takes a token for client from the search or page bucket. When refused it returns how many
// seconds to wait. bounded reports whether the bucket limits the client: false for an exempt client
// and for a class whose rate is 0 (unlimited).
func (l *limiter) allow(client netip.Addr, search bool) (ok bool, wait int, bounded bool) {
	rl := l.conf()
	for _, p := range rl.Exempt {
		if p.Contains(client) {
			return true, 0, false
		}
	}
	now := l.now()
	key := clientKey(client)
	l.mu.Lock()
	b := l.clients[key]
	if b == nil {
		if len(l.clients) >= maxClients {
			l.sweep(now)
		}
		if len(l.clients) < maxClients {
			b = l.newBuckets(rl)
			l.clients[key] = b
		} else {
			if l.overflow == nil {
				l.overflow = l.newBuckets(rl)
			}
			b = l.overflow
		}
	}
	b.last = now
	lim, r := b.pages, rl.Pages
	if search {
		lim, r = b.searches, rl.Searches
	}
	ok = lim.AllowN(now, 1)
	l.mu.Unlock()
	if ok {
		return true, 0, r > 0
	}
	return false, int(math.Ceil(1 / math.Max(r, 1e-3))), r > 0
}

// sweep drops idle clients; at most once a minute, so a flood of new addresses costs one pass per
// minute and not one per request. Called with l.mu held.
func (l *limiter) sweep(now time.Time) {
	if now.Sub(l.lastSweep) < time.Minute {
		return
	}
	l.lastSweep = now
	for k, b := range l.clients {
		if now.Sub(b.last) > clientIdle {
			delete(l.clients, k)
		}
	}
}

// isSearch reports whether a request is of the tighter class: searches, prefix lookups,
// comparisons and the compatibility endpoints that read a whole table or scan for a community.
func isSearch(r *http.Request) bool {
	path := r.URL.Path
	switch path {
	case "/lookup", "/search": // the pages; only with a query do they ask the route server
		return r.URL.RawQuery != ""
	}
	if path == "/bgplgd/rib" {
		return !r.URL.Query().Has("neighbor") // one session's routes are a page
	}
	for _, p := range []string{"/api/v1/search/", "/api/v1/lookup", "/api/v1/compare/", "/birdwatcher/routes/table/",
		"/birdseye/routes/table/", "/birdseye/route/", "/birdseye/routes/lc-zwild/"} {
		if strings.HasPrefix(path, p) {
			return true
		}
	}
	return false
}

func (s *Server) rateLimit(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if strings.HasPrefix(c.Request().URL.Path, "/static/") {
			return next(c) // embedded files: no work for the route server, and every page needs them
		}
		client := s.clientAddr(c.Request())
		ok, wait, bounded := s.limits.allow(client, isSearch(c.Request()))
		if !ok {
			return &apiError{status: http.StatusTooManyRequests, code: "rate_limited",
				msg: "too many requests from your address; slow down", retryAfter: wait}
		}
		if bounded {
			c.Set(boundedKey, true)
		}
		return next(c)
	}
}

// maxForwarded bounds how many X-Forwarded-For entries are looked at.
const maxForwarded = 32

// clientAddr is the address a request is attributed to: the connection's peer, or, when that is a
// trusted proxy, the right-most X-Forwarded-For entry that is not a trusted proxy itself (entries
// further left were written by the client and can be forged).
func (s *Server) clientAddr(r *http.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.IPv4Unspecified()
	}
	addr := ap.Addr().Unmap()
	trusted := s.set.Load().trusted
	isTrusted := func(a netip.Addr) bool {
		for _, p := range trusted {
			if p.Contains(a) {
				return true
			}
		}
		return false
	}
	if len(trusted) == 0 || !isTrusted(addr) {
		return addr
	}
	var entries []string
	for _, h := range r.Header.Values("X-Forwarded-For") {
		entries = append(entries, strings.Split(h, ",")...)
		if len(entries) > maxForwarded {
			break
		}
	}
	for i, n := len(entries)-1, 0; i >= 0 && n < maxForwarded; i, n = i-1, n+1 {
		a, err := netip.ParseAddr(strings.TrimSpace(entries[i]))
		if err != nil || a.Zone() != "" {
			return addr // garbage: attribute the request to the last hop we could read
		}
		addr = a.Unmap()
		if !isTrusted(addr) {
			return addr
		}
	}
	return addr
}
