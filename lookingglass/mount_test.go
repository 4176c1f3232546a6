package lookingglass

import (
	"net/http"
	"testing"
)

// TestMount: a mounted handler answers GET and HEAD, refuses other methods like every page, counts
// against the client's page bucket, and cannot replace a looking-glass path.
func TestMount(t *testing.T) {
	cfg := fakeCfg(t)
	cfg.LookingGlass.RateLimit.Pages, cfg.LookingGlass.RateLimit.PagesBurst = 1, 2
	s := New(cfg, newFake(), nil)
	s.Mount("/metrics", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ixrs_up 1\n")) }))
	s.Mount("/api/v1/status", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("hijacked")) }))
	h := s.Handler()

	if code, _, body := do(t, h, "GET", "/metrics", "198.51.100.7:1"); code != 200 || string(body) != "ixrs_up 1\n" {
		t.Fatalf("GET /metrics: %d %q", code, body)
	}
	if code, _, _ := do(t, h, "POST", "/metrics", "198.51.100.8:1"); code != http.StatusMethodNotAllowed {
		t.Errorf("POST /metrics: %d, want 405", code)
	}
	if code, _, _ := do(t, h, "HEAD", "/metrics", "198.51.100.7:1"); code != 200 {
		t.Errorf("HEAD /metrics: %d", code)
	}
	if code, _, _ := do(t, h, "GET", "/metrics", "198.51.100.7:1"); code != http.StatusTooManyRequests {
		t.Errorf("third request in a burst of 2: %d, want 429", code)
	}
	if _, _, body := do(t, h, "GET", "/api/v1/status", "198.51.100.9:1"); string(body) == "hijacked" {
		t.Error("Mount replaced a looking-glass path")
	}
}
