package lookingglass

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// blockingBackend holds every Sessions call until release is closed, so that a test decides how
// many requests are in flight.
type blockingBackend struct {
	*fakeBackend
	entered chan struct{}
	release chan struct{}
}

func (b *blockingBackend) Sessions(ctx context.Context) ([]Session, error) {
	b.entered <- struct{}{}
	select {
	case <-b.release:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return b.fakeBackend.Sessions(ctx)
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
	b := &blockingBackend{fakeBackend: newFake(), entered: make(chan struct{}, n+1), release: make(chan struct{})}
	s := New(cfg, b, nil)
	s.now = func() time.Time { return fakeNow }
	s.busyWait = 20 * time.Millisecond
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
		select {
		case <-b.release:
		default:
			close(b.release)
		}
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

	close(b.release)
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
	s := New(cfg, newFake(), nil)
	s.now = func() time.Time { return fakeNow }
	s.busyWait = 20 * time.Millisecond
	h := s.Handler()

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
