package lookingglass

import (
	"context"
	"net/http"
	"runtime"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
)

// busyWait is how long a request waits for a free slot before it is refused: long enough to ride
// out a burst (a page is answered in milliseconds), short enough that a client is not left hanging.
const busyWait = 250 * time.Millisecond

// gate bounds the requests answered at once. The looking glass runs in the route server's process
// on the same CPUs as the RIB loop: rate limits bound each client, but not many clients together nor
// the exempt ones (an Alice-LG host), so without a global bound enough of them could take every CPU
// and slow convergence for every member.
type gate struct {
	slots chan struct{}
}

// newGate returns a gate of n slots; n ≤ 0 means twice the CPUs Go may use, so that a request's
// writes overlap another's work without the looking glass taking every CPU.
func newGate(n int) *gate {
	if n <= 0 {
		n = 2 * runtime.GOMAXPROCS(0)
	}
	return &gate{slots: make(chan struct{}, n)}
}

// bound is the middleware that makes a request hold a gate slot while it works: from its start to
// the end of its answer's writing. A request of a rate-limited client gives the slot back while it
// waits for what costs this process no CPU, a read job's turn on the RIB loop (Yield, which the
// Backend calls), and takes one again after it: its client's buckets already bound how often it
// comes, and a slot held through that wait kept bursts of such requests queueing at the gate behind
// others that only waited. A request of an exempt client (an Alice-LG host) keeps its slot through
// the wait: for those clients the slots are the only bound on the looking glass's load, and without
// the wait in it 50 of them sent twice the requests and slowed the route server twice as much.
// Static files and mounted handlers (/metrics) do not count: they cost the route server nothing, and
// a scrape must not fail because members are browsing.
func (s *Server) bound(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if strings.HasPrefix(r.URL.Path, "/static/") || s.mounted[r.URL.Path] {
			return next(c)
		}
		h := &hold{g: s.gate.Load()}
		if !h.enter(r.Context(), s.busyWait) {
			return errBusy
		}
		defer h.leave()
		h.yield = c.Get(boundedKey) == true
		c.SetRequest(r.WithContext(context.WithValue(r.Context(), holdKey{}, h)))
		return next(c)
	}
}

// boundedKey marks, in the echo context, a request whose client the rate limits bound (rateLimit).
const boundedKey = "ixrs.ratelimited"

// hold is a request's place in the gate it entered (a reload may replace the gate meanwhile). Only
// the request's own goroutine uses it.
type hold struct {
	g     *gate
	yield bool // Yield gives the slot back (a rate-limited client's request)
	held  bool // a slot is taken
	done  bool // given back for good (releaseSlot): Yield's resume takes none again
}

// enter takes a slot, waiting up to wait for one; false if none came or ctx ended.
func (h *hold) enter(ctx context.Context, wait time.Duration) bool {
	select {
	case h.g.slots <- struct{}{}:
		h.held = true
		return true
	default:
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case h.g.slots <- struct{}{}:
		h.held = true
		return true
	case <-t.C:
	case <-ctx.Done():
	}
	return false
}

// leave gives the slot back, if one is taken.
func (h *hold) leave() {
	if h.held {
		<-h.g.slots
		h.held = false
	}
}

type holdKey struct{}

// Yield gives the slot of the looking-glass request ctx belongs to back while the caller waits for
// something that costs this process no CPU, and returns the function that takes one again: call
// it when the wait is over, before working on the answer. It waits for a slot as long as ctx
// lasts, however long: a request whose read is done is not refused. For a request of an exempt
// client (see bound) and for any other context both are no-ops. A Backend calls it around its
// waits for the RIB loop's read jobs.
func Yield(ctx context.Context) (resume func()) {
	h, _ := ctx.Value(holdKey{}).(*hold)
	if h == nil || !h.yield || !h.held {
		return func() {}
	}
	h.leave()
	return func() {
		if h.done || h.held {
			return
		}
		select {
		case h.g.slots <- struct{}{}:
			h.held = true
		case <-ctx.Done(): // the answer will be the timeout; it costs next to nothing
		}
	}
}

// releaseSlot gives the request's slot back for good, for a handler that goes on to wait on
// something other than this route server (the compare view asks the other route servers): waiting
// costs no CPU here and must not keep other requests out.
func releaseSlot(c echo.Context) {
	if h, ok := c.Request().Context().Value(holdKey{}).(*hold); ok {
		h.leave()
		h.done = true
	}
}

var errBusy = &apiError{status: http.StatusServiceUnavailable, code: "busy",
	msg: "the looking glass is answering as many requests as it may at once; try again in a second", retryAfter: 1}
