// Package lookingglass is the route server's HTTP side: its own JSON API under /api/v1 (described
// by an embedded OpenAPI file), and the birdwatcher, bgplgd and Bird's Eye shapes that Alice-LG and
// IXP Manager read, so that they work with ixrs unmodified (docs/lookingglass.md).
//
// It is read-only and reads the RIB only through a Backend, whose read jobs are paged and budgeted:
// an HTTP goroutine never touches RIB state. Members marked hidden are absent from every view,
// secrets are never part of any answer (the Backend's types have no field for them), every
// parameter is parsed strictly (params.go), and each client address has a token bucket for pages
// and a tighter one for searches.
package lookingglass

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/ixrs/ixrs/config"
	"github.com/labstack/echo/v4"
)

// queryTimeout bounds each request's wait for the Backend.
const queryTimeout = 10 * time.Second

// Server serves the looking glass. Create it with New; it is safe for concurrent use.
type Server struct {
	e       *echo.Echo
	backend Backend
	log     *slog.Logger
	set     atomic.Pointer[settings]
	limits  *limiter
	// gate bounds the requests answered at once (concurrency.go); replaced when a reload changes
	// max_concurrent, requests in flight release the slot of the gate they entered.
	gate     atomic.Pointer[gate]
	gateSize int // the configured max_concurrent of gate; guarded by Reload's single caller
	busyWait time.Duration
	// mounted are the paths of Mount, which the gate does not count; written before Serve only.
	mounted map[string]bool
	timings timings // request durations by endpoint (timing.go)
	// versionSeen is the route server's version as last reported by Backend.Status.
	versionSeen atomic.Value
	// now is the clock; tests fix it so that golden files do not change.
	now func() time.Time
}

// settings are the parts of the configuration that a reload replaces at once.
type settings struct {
	name          string
	rsASN         uint32
	hidden        map[netip.Addr]bool // neighbor addresses of hidden members
	hiddenMembers map[string]bool
	hide          []netip.Addr // the same addresses, sorted, for queries
	trusted       []netip.Prefix
	rate          config.RateLimit
	peers         []string
	asnNames      map[uint32]string // from [lookingglass] asn_names_file, for the web UI
}

func newSettings(cfg *config.Config, log *slog.Logger) *settings {
	s := &settings{
		name:          cfg.LookingGlass.Name,
		rsASN:         cfg.Server.ASN,
		hidden:        make(map[netip.Addr]bool),
		hiddenMembers: make(map[string]bool),
		trusted:       slices.Clone(cfg.LookingGlass.TrustedProxies),
		rate:          cfg.LookingGlass.RateLimit,
		peers:         slices.Clone(cfg.LookingGlass.Peers),
	}
	s.rate.Exempt = slices.Clone(s.rate.Exempt)
	names, err := loadASNNames(cfg.Resolve(cfg.LookingGlass.ASNNamesFile))
	if err != nil {
		log.Warn("looking glass: ASN names not read; pages show numbers only", "err", err)
	}
	s.asnNames = names
	for _, m := range cfg.Members {
		if !m.Hidden {
			continue
		}
		s.hiddenMembers[m.Name] = true
		for _, a := range m.Neighbors {
			s.hidden[a] = true
			s.hide = append(s.hide, a)
		}
	}
	slices.SortFunc(s.hide, netip.Addr.Compare)
	return s
}

// visible reports whether a route or session of this member and neighbor may be shown.
func (s *settings) visible(member string, neighbor netip.Addr) bool {
	return !s.hidden[neighbor] && !s.hiddenMembers[member]
}

// New returns a looking glass for the configuration's [lookingglass] table and hidden members,
// reading from b. A nil logger discards.
func New(cfg *config.Config, b Backend, logger *slog.Logger) *Server {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{backend: b, log: logger, now: time.Now, busyWait: busyWait, mounted: map[string]bool{}}
	s.set.Store(newSettings(cfg, logger))
	s.gate.Store(newGate(cfg.LookingGlass.MaxConcurrent))
	s.gateSize = cfg.LookingGlass.MaxConcurrent
	s.limits = newLimiter(func() config.RateLimit { return s.set.Load().rate }, func() time.Time { return s.now() })
	s.e = s.routes()
	return s
}

// Reload applies a new configuration: name, hidden members, trusted proxies, peers, rate
// limits (every client's buckets start afresh) and max_concurrent.
func (s *Server) Reload(cfg *config.Config) {
	s.set.Store(newSettings(cfg, s.log))
	s.limits.reset()
	if n := cfg.LookingGlass.MaxConcurrent; n != s.gateSize {
		s.gate.Store(newGate(n))
		s.gateSize = n
	}
}

// Handler returns the HTTP handler of every looking-glass path.
func (s *Server) Handler() http.Handler { return s.e }

// Mount serves h for GET and HEAD at path, behind the looking glass's middleware (panic recovery,
// read-only methods, per-client rate limits as a page, but outside max_concurrent): for /metrics. Call it before Serve; a path
// the looking glass already serves is not replaced.
func (s *Server) Mount(path string, h http.Handler) {
	for _, r := range s.e.Routes() {
		if r.Path == path {
			return
		}
	}
	s.mounted[path] = true
	wrapped := echo.WrapHandler(h)
	s.e.GET(path, wrapped)
	s.e.HEAD(path, wrapped)
}

// Serve answers HTTP requests on l until ctx is done, then shuts down gracefully (waiting at most
// 5 seconds for requests in flight). It returns nil after a shutdown caused by ctx.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	hs := &http.Server{
		Handler:           s.e,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		// Writing a large compatibility table takes a while; the routes themselves are bounded.
		WriteTimeout:   2 * time.Minute,
		IdleTimeout:    2 * time.Minute,
		MaxHeaderBytes: 16 << 10,
		ErrorLog:       slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	done := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = hs.Shutdown(sctx)
		case <-done:
		}
	}()
	err := hs.Serve(l)
	close(done)
	if errors.Is(err, http.ErrServerClosed) && ctx.Err() != nil {
		return nil
	}
	return err
}

// routes builds the echo router.
func (s *Server) routes() *echo.Echo {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = s.errorHandler
	e.IPExtractor = func(r *http.Request) string { return s.clientAddr(r).String() }
	e.Pre(squashSlashes)
	e.Use(s.timed, s.recoverer, s.readOnly, s.rateLimit, s.bound)

	// HEAD is answered like GET; the HTTP server drops the body.
	get := func(g *echo.Group, path string, h echo.HandlerFunc) {
		g.GET(path, h)
		g.HEAD(path, h)
	}
	api := e.Group("/api/v1")
	get(api, "/openapi.json", s.openAPI)
	get(api, "/status", s.apiStatus)
	get(api, "/reasons", s.apiReasons)
	get(api, "/sessions", s.apiSessions)
	get(api, "/sessions/:id", s.apiSession)
	get(api, "/sessions/:id/routes/:view", s.apiRoutes)
	get(api, "/sessions/:id/explain", s.apiExplain)
	get(api, "/lookup", s.apiLookup)
	get(api, "/search/:kind", s.apiSearch)
	get(api, "/compare/sessions/:id", s.apiCompare)
	api.Any("/*", func(echo.Context) error { return errNotFound("no such API endpoint") })

	bw := e.Group("/birdwatcher")
	get(bw, "/status", s.bwStatus)
	get(bw, "/protocols/bgp", s.bwProtocols)
	get(bw, "/routes/protocol/:id", s.bwRoutes(ViewAccepted))
	get(bw, "/routes/filtered/:id", s.bwRoutes(ViewFiltered))
	get(bw, "/routes/noexport/:id", s.bwRoutes(ViewNotExported))
	get(bw, "/routes/table/:table", s.bwTable(false))
	get(bw, "/routes/table/:table/filtered", s.bwTable(true))

	lg := e.Group("/bgplgd")
	get(lg, "/neighbors", s.lgdNeighbors)
	get(lg, "/rib", s.lgdRib)

	be := e.Group("/birdseye")
	get(be, "/status", s.beStatus)
	get(be, "/protocols/bgp", s.beProtocols)
	get(be, "/symbols", s.beSymbols)
	get(be, "/routes/table/:table", s.beTable)
	get(be, "/routes/protocol/:id", s.beRoutes(ViewAccepted))
	get(be, "/routes/export/:id", s.beRoutes(ViewExported))
	get(be, "/route/:net/protocol/:id", s.beRouteProtocol)
	get(be, "/route/:net/table/:table", s.beRouteTable)
	get(be, "/route/:net/export/:id", s.beRouteExport)
	get(be, "/routes/lc-zwild/protocol/:id/:x/:y", s.beLargeWild)

	s.pageRoutes(e) // the web UI (pages.go)

	return e
}

// squashSlashes turns "//" in a path into "/": clients configured with a trailing slash on the
// base URL (Alice-LG's example does, api = http://host/) then ask for /birdwatcher//status.
func squashSlashes(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		for i := 0; i < 8 && (strings.Contains(r.URL.Path, "//") || strings.Contains(r.URL.RawPath, "//")); i++ {
			r.URL.Path = strings.ReplaceAll(r.URL.Path, "//", "/")
			r.URL.RawPath = strings.ReplaceAll(r.URL.RawPath, "//", "/")
		}
		return next(c)
	}
}

// recoverer turns a panic in a handler into a 500, so that one bad request cannot stop the route
// server (the looking glass runs in its process).
func (s *Server) recoverer(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) (err error) {
		defer func() {
			if r := recover(); r != nil {
				s.log.Error("looking glass handler panicked", "path", c.Request().URL.Path, "panic", r)
				err = &apiError{status: http.StatusInternalServerError, code: "internal", msg: "internal error"}
			}
		}()
		return next(c)
	}
}

// readOnly refuses every method but GET and HEAD.
func (s *Server) readOnly(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if m := c.Request().Method; m != http.MethodGet && m != http.MethodHead {
			c.Response().Header().Set("Allow", "GET, HEAD")
			return &apiError{status: http.StatusMethodNotAllowed, code: "method_not_allowed", msg: "the looking glass is read-only"}
		}
		return next(c)
	}
}

// ctx is the request's context bounded by queryTimeout.
func queryCtx(c echo.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(c.Request().Context(), queryTimeout)
}
