package lookingglass

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"
)

// benchPage fetches path from a real HTTP server on loopback, as a browser would, and reports the
// time to the first byte (the response's headers) and to the complete page, in milliseconds.
func benchPage(b *testing.B, be Backend, path string) {
	s := newTestServer(b, newFake())
	s.backend = be
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	client := srv.Client()
	var ttfb, total time.Duration
	var size int64
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		resp, err := client.Get(srv.URL + path)
		if err != nil {
			b.Fatal(err)
		}
		first := time.Since(start)
		n, err := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			b.Fatalf("%s: %d %v", path, resp.StatusCode, err)
		}
		ttfb += first
		total += time.Since(start)
		size = n
	}
	b.ReportMetric(float64(ttfb.Microseconds())/1000/float64(b.N), "ttfb-ms")
	b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "page-ms")
	b.ReportMetric(float64(size), "page-bytes")
}

// manySessions is the fake with n sessions of two families each.
func manySessions(n int) *fakeBackend {
	f := newFake()
	f.sessions = nil
	for i := range n {
		a := netip.AddrFrom4([4]byte{192, 0, byte(2 + i/250), byte(1 + i%250)})
		st := "established"
		if i%17 == 0 {
			st = "active"
		}
		f.sessions = append(f.sessions, Session{Member: fmt.Sprintf("Member %d", i), ASN: 64600 + uint32(i), Neighbor: a, State: st,
			Since: fakeNow.Add(-time.Duration(i) * time.Minute), Capabilities: []string{"4-octet AS"}, HoldTime: 90,
			Families: []FamilyCounts{{Family: "ipv4", Received: 100 + i, Accepted: 90 + i, Filtered: 10, Exported: 5000, MaxPrefix: 1000},
				{Family: "ipv6", Received: 20, Accepted: 20, Exported: 900, MaxPrefix: 100}}})
	}
	return f
}

// BenchmarkPageSessions is the sessions table at 1,000 sessions.
func BenchmarkPageSessions(b *testing.B) {
	benchPage(b, manySessions(1000), "/sessions")
}

// BenchmarkPageReceived is a member's received tab at 100,000 routes, one page of the default 100
// and of the most, 1,000.
func BenchmarkPageReceived(b *testing.B) {
	be := newPageBackend(100_000)
	for _, limit := range []int{100, 1000} {
		b.Run(fmt.Sprintf("limit=%d", limit), func(b *testing.B) {
			benchPage(b, be, fmt.Sprintf("/sessions/R_192_0_2_11/received?limit=%d", limit))
		})
	}
}
