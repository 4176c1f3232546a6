package lookingglass

import (
	"net/http"
	"runtime"
	"strings"
	"sync"
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

// bound is the middleware that holds a gate slot for the whole request, its answer's encoding and
// writing included. Static files and mounted handlers (/metrics) do not count: they cost the route
// server nothing, and a scrape must not fail because members are browsing.
func (s *Server) bound(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if strings.HasPrefix(r.URL.Path, "/static/") || s.mounted[r.URL.Path] {
			return next(c)
		}
		g := s.gate.Load()
		select {
		case g.slots <- struct{}{}:
		default:
			t := time.NewTimer(s.busyWait)
			select {
			case g.slots <- struct{}{}:
				t.Stop()
			case <-t.C:
				return errBusy
			case <-r.Context().Done():
				t.Stop()
				return errBusy
			}
		}
		var once sync.Once
		release := func() { once.Do(func() { <-g.slots }) }
		defer release()
		c.Set(slotKey, release)
		return next(c)
	}
}

// slotKey names the request's release of its gate slot in the echo context.
const slotKey = "ixrs.gate.release"

// releaseSlot gives the request's slot back before the request ends, for a handler that goes on to
// wait on something other than this route server (the compare view asks the other route servers):
// waiting costs no CPU here and must not keep other requests out.
func releaseSlot(c echo.Context) {
	if release, ok := c.Get(slotKey).(func()); ok {
		release()
	}
}

var errBusy = &apiError{status: http.StatusServiceUnavailable, code: "busy",
	msg: "the looking glass is answering as many requests as it may at once; try again in a second", retryAfter: 1}
