package lookingglass

import (
	"net/http"
	"testing"
	"time"
)

// TestDurationBuckets: a duration lands in the first bucket whose bound it does not exceed, and
// one above every bound in the last.
func TestDurationBuckets(t *testing.T) {
	cases := []struct {
		d    time.Duration
		want int
	}{
		{0, 0}, {500 * time.Microsecond, 0}, {500*time.Microsecond + 1, 1}, {time.Millisecond, 1},
		{99 * time.Millisecond, 7}, {100 * time.Millisecond, 7}, {101 * time.Millisecond, 8},
		{5 * time.Second, len(DurationBounds) - 1}, {time.Minute, len(DurationBounds)},
	}
	for _, c := range cases {
		var h durationHist
		h.observe(c.d)
		for i := range h.counts {
			want := uint64(0)
			if i == c.want {
				want = 1
			}
			if got := h.counts[i].Load(); got != want {
				t.Errorf("%v: bucket %d has %d, want %d", c.d, i, got, want)
			}
		}
		if time.Duration(h.sum.Load()) != c.d {
			t.Errorf("%v: sum %v", c.d, time.Duration(h.sum.Load()))
		}
	}
	var h durationHist
	if len(h.counts) != len(DurationBounds)+1 {
		t.Fatalf("%d buckets for %d bounds", len(h.counts), len(DurationBounds))
	}
}

// TestRequestDurations: every answered request is counted once under its route pattern (errors
// included, a path no route takes as "other"), static files and mounted paths are not.
func TestRequestDurations(t *testing.T) {
	s := newTestServer(t, newFake())
	s.Mount("/metrics", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ixrs_up 1\n")) }))
	h := s.Handler()
	reqs := []struct {
		path string
		code int
	}{
		{"/api/v1/sessions", 200},
		{"/api/v1/sessions", 200},
		{"/api/v1/lookup?prefix=nonsense", 400},
		{"/api/v1/lookup?prefix=203.0.113.0/24", 200},
		{"/api/v1/nothing-here", 404},
		{"/static/lg.css", 200},
		{"/metrics", 200},
	}
	for _, r := range reqs {
		if code, _, body := do(t, h, http.MethodGet, r.path, "198.51.100.7:1"); code != r.code {
			t.Fatalf("%s: %d, want %d: %s", r.path, code, r.code, body)
		}
	}
	want := map[string]uint64{"/api/v1/sessions": 2, "/api/v1/lookup": 2, "other": 1}
	got := map[string]uint64{}
	for _, rd := range s.RequestDurations() {
		if len(rd.Counts) != len(DurationBounds)+1 {
			t.Errorf("%s: %d buckets", rd.Endpoint, len(rd.Counts))
		}
		for _, n := range rd.Counts {
			got[rd.Endpoint] += n
		}
	}
	if len(got) != len(want) {
		t.Errorf("endpoints %v, want %v", got, want)
	}
	for ep, n := range want {
		if got[ep] != n {
			t.Errorf("%s: %d requests counted, want %d (all: %v)", ep, got[ep], n, got)
		}
	}
}
