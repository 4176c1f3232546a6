package lookingglass

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"testing"
)

// pageBackend serves synthetic pages of n routes without work of its own, so that the benchmarks
// measure the looking glass: parameter parsing, filtering, JSON encoding and streaming.
type pageBackend struct {
	*fakeBackend
	routes []Route
}

func newPageBackend(n int) *pageBackend {
	f := newFake()
	b := &pageBackend{fakeBackend: f}
	base := f.received[addr("192.0.2.11")][0]
	for i := range n {
		r := base
		r.Prefix = netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), 32)
		r.ASPath = []uint32{64501, 64510 + uint32(i%7), 64600 + uint32(i%100)}
		b.routes = append(b.routes, r)
	}
	return b
}

func (b *pageBackend) Routes(ctx context.Context, q RoutesQuery) (RoutePage, error) {
	i := 0
	if q.Cursor != "" {
		i, _ = strconv.Atoi(q.Cursor)
	}
	end := min(i+q.Limit, len(b.routes))
	p := RoutePage{Routes: b.routes[i:end], Generation: 1, Total: len(b.routes)}
	if end < len(b.routes) {
		p.Next = strconv.Itoa(end)
	}
	return p, nil
}

// discardWriter is an http.ResponseWriter that counts the body and keeps none of it, so that a
// benchmark's allocations are the handler's (httptest.ResponseRecorder grows a buffer per answer).
type discardWriter struct {
	h    http.Header
	code int
	n    int
}

func (w *discardWriter) Header() http.Header { return w.h }
func (w *discardWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
}

func (w *discardWriter) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	w.n += len(p)
	return len(p), nil
}

func benchGet(b *testing.B, be Backend, path string) {
	s := newTestServer(b, newFake())
	s.backend = be
	h := s.Handler()
	w := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.RemoteAddr = "198.51.100.77:1"
		clear(w.h)
		w.code, w.n = 0, 0
		h.ServeHTTP(w, req)
		if w.code != 200 {
			b.Fatalf("%s: %d", path, w.code)
		}
		b.SetBytes(int64(w.n))
	}
}

// BenchmarkAPIPage is one /api/v1 page of a session's routes, 100 and 1000 routes.
func BenchmarkAPIPage(b *testing.B) {
	for _, n := range []int{100, 1000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			benchGet(b, newPageBackend(n), "/api/v1/sessions/R_192_0_2_11/routes/received?limit="+strconv.Itoa(n))
		})
	}
}

// BenchmarkBirdwatcherWalk is Alice-LG's fetch of a session with 100,000 routes.
func BenchmarkBirdwatcherWalk(b *testing.B) {
	benchGet(b, newPageBackend(100_000), "/birdwatcher/routes/protocol/R_192_0_2_11")
}
