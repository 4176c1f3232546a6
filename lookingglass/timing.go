package lookingglass

import (
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"
)

// Request timing. A client's latency includes its own scheduling and the network; the server's
// share is the time from the handler chain's start to the end of the answer's writing (rate limit,
// max_concurrent wait, the read jobs on the RIB loop, encoding). It is kept per endpoint (the route
// pattern, so the label set is bounded by the routes registered) in a fixed histogram, exported as
// ixrs_lookingglass_request_duration_seconds (docs/metrics.md), and a request slower than
// slowRequest is logged at debug level.

// DurationBounds are the upper bounds of the request-duration histogram's finite buckets. Read
// only.
var DurationBounds = []time.Duration{
	500 * time.Microsecond, time.Millisecond, 2500 * time.Microsecond, 5 * time.Millisecond,
	10 * time.Millisecond, 25 * time.Millisecond, 50 * time.Millisecond, 100 * time.Millisecond,
	250 * time.Millisecond, 500 * time.Millisecond, time.Second, 2500 * time.Millisecond, 5 * time.Second,
}

// slowRequest is the duration above which a request is logged (debug level).
const slowRequest = 100 * time.Millisecond

// RequestDurations is one endpoint's histogram: Counts[i] counts the requests that took at most
// DurationBounds[i] (and more than the bound before); the last element counts the rest.
type RequestDurations struct {
	Endpoint string
	Counts   []uint64
	Sum      time.Duration
}

type durationHist struct {
	counts [14]atomic.Uint64 // len(DurationBounds)+1
	sum    atomic.Int64
}

func (h *durationHist) observe(d time.Duration) {
	i, _ := slices.BinarySearch(DurationBounds, d)
	h.counts[i].Add(1)
	h.sum.Add(int64(d))
}

// timings holds the histograms by endpoint.
type timings struct {
	m sync.Map // endpoint → *durationHist
}

func (t *timings) observe(endpoint string, d time.Duration) {
	h, ok := t.m.Load(endpoint)
	if !ok {
		h, _ = t.m.LoadOrStore(endpoint, &durationHist{})
	}
	h.(*durationHist).observe(d)
}

// RequestDurations returns the request-duration histogram of every endpoint that has answered a
// request, ordered by endpoint. Safe for any goroutine.
func (s *Server) RequestDurations() []RequestDurations {
	var out []RequestDurations
	s.timings.m.Range(func(k, v any) bool {
		h := v.(*durationHist)
		rd := RequestDurations{Endpoint: k.(string), Counts: make([]uint64, len(h.counts)), Sum: time.Duration(h.sum.Load())}
		for i := range h.counts {
			rd.Counts[i] = h.counts[i].Load()
		}
		out = append(out, rd)
		return true
	})
	slices.SortFunc(out, func(a, b RequestDurations) int {
		switch {
		case a.Endpoint < b.Endpoint:
			return -1
		case a.Endpoint > b.Endpoint:
			return 1
		}
		return 0
	})
	return out
}

// timed is the outermost middleware: it times every request but static files and mounted paths
// (/metrics), by route pattern; a path no route matches counts as "other".
func (s *Server) timed(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if strings.HasPrefix(r.URL.Path, "/static/") || s.mounted[r.URL.Path] {
			return next(c)
		}
		t0 := time.Now()
		err := next(c)
		if err != nil {
			// Write the error answer here, so that its writing is timed too; echo skips a
			// response already committed.
			c.Error(err)
			err = nil
		}
		d := time.Since(t0)
		ep := c.Path()
		if ep == "" || ep[len(ep)-1] == '*' {
			ep = "other"
		}
		s.timings.observe(ep, d)
		if d > slowRequest {
			s.log.Debug("slow request", "endpoint", ep, "path", r.URL.Path, "ms", d.Milliseconds())
		}
		return err
	}
}
