package lookingglass

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ixrs/ixrs/config"
)

// blockingBackend holds every Sessions call until unblock, so that a test decides how many requests
// are in flight. With yield set it gives the request's slot back meanwhile (Yield), as the daemon
// does while a read job waits for the RIB loop.
type blockingBackend struct {
	*fakeBackend
	yield   bool
	entered chan struct{}
	release chan struct{}
	once    sync.Once
}

func newBlocking(calls int, yield bool) *blockingBackend {
	return &blockingBackend{fakeBackend: newFake(), yield: yield, entered: make(chan struct{}, calls), release: make(chan struct{})}
}

func (b *blockingBackend) Sessions(ctx context.Context) ([]Session, error) {
	resume := func() {}
	if b.yield {
		resume = Yield(ctx)
	}
	b.entered <- struct{}{}
	select {
	case <-b.release:
	case <-ctx.Done():
		resume()
		return nil, ctx.Err()
	}
	resume()
	return b.fakeBackend.Sessions(ctx)
}

// unblock lets every held call, and every later one, go on. Safe to call more than once.
func (b *blockingBackend) unblock() { b.once.Do(func() { close(b.release) }) }

// gatedServer is a looking glass over b with the fixed clock and a short wait for a slot.
func gatedServer(cfg *config.Config, b Backend) *Server {
	s := New(cfg, b, nil)
	s.now = func() time.Time { return fakeNow }
	s.busyWait = 20 * time.Millisecond
	return s
}

// TestMaxConcurrent fills the looking glass's slots with requests the Backend holds, from an exempt
// client (the bound is global, rate-limit exemption does not lift it), and checks that one more
// request is refused with 503 busy and Retry-After while static files and /metrics are still
// answered, and that a slot is free again once a request finishes.
func TestMaxConcurrent(t *testing.T) {
	const n = 3
	cfg := fakeCfg(t)
	cfg.LookingGlass.MaxConcurrent = n
	cfg.LookingGlass.RateLimit.Exempt = []netip.Prefix{pfx("198.51.100.0/24")}
	b := newBlocking(n+1, false)
	s := gatedServer(cfg, b)
	s.Mount("/metrics", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ixrs_up 1\n")) }))
	h := s.Handler()

	var wg sync.WaitGroup
	codes := make(chan int, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, _, _ := do(t, h, http.MethodGet, "/api/v1/sessions", "198.51.100.7:1")
			codes <- code
		}()
	}
	defer func() { // never leave the held requests behind, even when the test fails early
		b.unblock()
		wg.Wait()
	}()
	for i := 0; i < n; i++ {
		select {
		case <-b.entered:
		case <-time.After(10 * time.Second):
			t.Fatalf("only %d of %d requests reached the Backend", i, n)
		}
	}

	for _, p := range []string{"/api/v1/sessions", "/birdwatcher/protocols/bgp", "/api/v1/status"} {
		code, hdr, body := do(t, h, http.MethodGet, p, "198.51.100.8:1")
		if code != http.StatusServiceUnavailable || hdr.Get("Retry-After") != "1" || !strings.Contains(string(body), "at once") {
			t.Errorf("%s with every slot taken: %d Retry-After %q %s, want 503 busy with Retry-After 1", p, code, hdr.Get("Retry-After"), body)
		}
	}
	for _, p := range []string{"/static/lg.css", "/metrics"} {
		if code, _, _ := do(t, h, http.MethodGet, p, "198.51.100.8:1"); code != http.StatusOK {
			t.Errorf("%s with every slot taken: %d, want 200 (not counted)", p, code)
		}
	}

	b.unblock()
	wg.Wait()
	close(codes)
	for c := range codes {
		if c != http.StatusOK {
			t.Errorf("a held request ended with %d", c)
		}
	}
	if code, _, _ := do(t, h, http.MethodGet, "/api/v1/status", "198.51.100.8:1"); code != http.StatusOK {
		t.Errorf("after the held requests finished: %d, want 200", code)
	}
}

// TestMaxConcurrentDefault: 0 means twice GOMAXPROCS, and a reload resizes the gate.
func TestMaxConcurrentDefault(t *testing.T) {
	cfg := fakeCfg(t)
	s := New(cfg, newFake(), nil)
	if got, want := cap(s.gate.Load().slots), 2*runtimeProcs(); got != want {
		t.Errorf("default slots %d, want %d", got, want)
	}
	cfg.LookingGlass.MaxConcurrent = 7
	s.Reload(cfg)
	if got := cap(s.gate.Load().slots); got != 7 {
		t.Errorf("after reload: %d slots, want 7", got)
	}
}

func runtimeProcs() int { return runtime.GOMAXPROCS(0) }

// TestCompareReleasesSlot: a compare request waiting for a slow peer route server does not keep its
// slot, so with one slot the looking glass still answers others meanwhile.
func TestCompareReleasesSlot(t *testing.T) {
	entered, unblock := make(chan struct{}, 1), make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case entered <- struct{}{}:
		default:
		}
		select {
		case <-unblock:
		case <-r.Context().Done():
		}
		http.NotFound(w, r)
	}))
	defer slow.Close()
	defer close(unblock)
	cfg := fakeCfg(t)
	cfg.LookingGlass.MaxConcurrent = 1
	cfg.LookingGlass.Peers = []string{slow.URL}
	h := gatedServer(cfg, newFake()).Handler()

	done := make(chan int, 1)
	go func() {
		code, _, _ := do(t, h, http.MethodGet, "/api/v1/compare/sessions/R_192_0_2_12", "198.51.100.77:1")
		done <- code
	}()
	select {
	case <-entered:
	case <-time.After(10 * time.Second):
		t.Fatal("the compare request never asked the peer")
	}
	if code, _, body := do(t, h, http.MethodGet, "/api/v1/status", "198.51.100.78:1"); code != http.StatusOK {
		t.Errorf("while a compare waits for its peer: %d %s, want 200", code, body)
	}
	unblock <- struct{}{}
	select {
	case code := <-done:
		if code != http.StatusOK {
			t.Errorf("compare: %d", code)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the compare request never finished")
	}
}

// TestYieldFreesSlot: with one slot, rate-limited clients' requests waiting in the Backend after
// Yield do not keep others out (three reach the Backend at once), and when their wait is over they
// take the slot again before answering: none answers while the slot is held elsewhere, and all
// answer once it is free.
func TestYieldFreesSlot(t *testing.T) {
	const n = 3
	cfg := fakeCfg(t)
	cfg.LookingGlass.MaxConcurrent = 1
	cfg.LookingGlass.RateLimit.Pages, cfg.LookingGlass.RateLimit.PagesBurst = 100, 100
	b := newBlocking(n, true)
	s := gatedServer(cfg, b)
	h := s.Handler()

	var wg sync.WaitGroup
	codes := make(chan int, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, _, _ := do(t, h, http.MethodGet, "/api/v1/sessions", fmt.Sprintf("198.51.100.%d:1", 10+i))
			codes <- code
		}()
	}
	g := s.gate.Load()
	taken := false
	defer func() {
		if taken {
			<-g.slots
		}
		b.unblock()
		wg.Wait()
	}()
	for i := range n {
		select {
		case <-b.entered:
		case <-time.After(10 * time.Second):
			t.Fatalf("only %d of %d requests reached the Backend with one slot", i, n)
		}
	}
	// Every request waits in the Backend: the slot is free. Take it, as a request answering would.
	select {
	case g.slots <- struct{}{}:
		taken = true
	case <-time.After(10 * time.Second):
		t.Fatal("the slot is not free while every request waits in the Backend")
	}
	b.unblock()
	select {
	case c := <-codes:
		t.Fatalf("a request answered (%d) while the only slot was held elsewhere", c)
	case <-time.After(200 * time.Millisecond):
	}
	<-g.slots
	taken = false
	wg.Wait()
	close(codes)
	got := 0
	for c := range codes {
		got++
		if c != http.StatusOK {
			t.Errorf("a request ended with %d, want 200", c)
		}
	}
	if got != n {
		t.Errorf("%d requests answered, want %d", got, n)
	}
	if len(g.slots) != 0 {
		t.Errorf("%d slots still taken after every request ended", len(g.slots))
	}
	// Outside a request, Yield does nothing.
	Yield(context.Background())()
}

// TestExemptKeepsSlot: an exempt client's request keeps its slot while it waits in the Backend, so
// with one slot a rate-limited client's request is refused meanwhile; once it ends, the slot is free.
func TestExemptKeepsSlot(t *testing.T) {
	cfg := fakeCfg(t)
	cfg.LookingGlass.MaxConcurrent = 1
	cfg.LookingGlass.RateLimit.Pages, cfg.LookingGlass.RateLimit.PagesBurst = 100, 100
	cfg.LookingGlass.RateLimit.Exempt = []netip.Prefix{pfx("198.51.100.0/24")}
	b := newBlocking(2, true)
	s := gatedServer(cfg, b)
	h := s.Handler()

	done := make(chan int, 1)
	go func() {
		code, _, _ := do(t, h, http.MethodGet, "/api/v1/sessions", "198.51.100.7:1")
		done <- code
	}()
	defer b.unblock()
	select {
	case <-b.entered:
	case <-time.After(10 * time.Second):
		t.Fatal("the exempt request never reached the Backend")
	}
	if code, _, body := do(t, h, http.MethodGet, "/api/v1/sessions", "203.0.113.9:1"); code != http.StatusServiceUnavailable {
		t.Errorf("while an exempt request waits in the Backend: %d %s, want 503 busy", code, body)
	}
	b.unblock()
	select {
	case code := <-done:
		if code != http.StatusOK {
			t.Errorf("exempt request: %d", code)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the exempt request never finished")
	}
	if got := len(s.gate.Load().slots); got != 0 {
		t.Errorf("%d slots taken after the request ended", got)
	}
}
