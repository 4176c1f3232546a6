package metrics

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
)

// discard is a ResponseWriter that counts the body.
type discard struct {
	h http.Header
	n int
}

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(b []byte) (int, error) { d.n += len(b); return len(b), nil }
func (d *discard) WriteHeader(int)             {}

// bigSnapshot is an exchange with n sessions, both families each, a few filtered routes and
// NOTIFICATIONs.
func bigSnapshot(n int) *Snapshot {
	s := &Snapshot{RIB: RIB{Phases: phases()}}
	for i := range n {
		s.Sessions = append(s.Sessions, Session{
			Member: fmt.Sprintf("Member %d", i/2), ASN: uint32(64512 + i/2),
			Neighbor: netip.AddrFrom4([4]byte{192, 0, byte(2 + i/250), byte(i % 250)}), State: 6, Established: t0, Flaps: 1,
			Notifications: []NotificationCount{{Code: 6, Subcode: 2, N: 1}},
			MessagesIn:    [NumMessageTypes]uint64{1, 1000, 0, 100, 0}, MessagesOut: [NumMessageTypes]uint64{1, 5000, 0, 100, 0},
			Families: []Family{
				{AFI: IPv4, Received: 1000, Accepted: 990, Filtered: 10, Exported: 100000, MaxPrefixLimit: 2000,
					FilteredBy: []ReasonCount{{Reason: 13, N: 10}}},
				{AFI: IPv6, Received: 200, Accepted: 200, Exported: 20000, MaxPrefixLimit: 500},
			},
		})
	}
	return s
}

// BenchmarkScrape is one /metrics request at 1,000 sessions with a fake source: the encoding cost
// alone (the snapshot's cost is the adapter's, benchmarked in package daemon).
func BenchmarkScrape(b *testing.B) {
	h := Handler(NewCollector(&fakeSource{snap: bigSnapshot(1000)}, Options{}))
	req := httptest.NewRequest("GET", "/metrics", nil)
	var bytes int
	b.ReportAllocs()
	for b.Loop() {
		w := &discard{h: http.Header{}}
		h.ServeHTTP(w, req)
		bytes = w.n
	}
	b.ReportMetric(float64(bytes), "bytes/scrape")
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/scrape")
}
