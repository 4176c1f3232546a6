package main

import (
	"strings"
	"testing"
)

const promBefore = `# TYPE ixrs_lookingglass_request_duration_seconds histogram
ixrs_lookingglass_request_duration_seconds_bucket{endpoint="/api/v1/lookup",le="0.001"} 10
ixrs_lookingglass_request_duration_seconds_bucket{endpoint="/api/v1/lookup",le="0.1"} 10
ixrs_lookingglass_request_duration_seconds_bucket{endpoint="/api/v1/lookup",le="+Inf"} 10
ixrs_lookingglass_request_duration_seconds_sum{endpoint="/api/v1/lookup"} 0.005
ixrs_lookingglass_request_duration_seconds_count{endpoint="/api/v1/lookup"} 10
ixrs_rib_read_gap_seconds_bucket{le="0.001024"} 5
ixrs_rib_read_gap_seconds_bucket{le="4.294967296"} 5
ixrs_rib_read_gap_seconds_bucket{le="+Inf"} 5
ixrs_rib_read_gap_seconds_sum 0.001
ixrs_rib_loop_phase_seconds_bucket{type="inbound",le="+Inf"} 99
`

const promAfter = `ixrs_lookingglass_request_duration_seconds_bucket{endpoint="/api/v1/lookup",le="0.001"} 108
ixrs_lookingglass_request_duration_seconds_bucket{endpoint="/api/v1/lookup",le="0.1"} 109
ixrs_lookingglass_request_duration_seconds_bucket{endpoint="/api/v1/lookup",le="+Inf"} 110
ixrs_lookingglass_request_duration_seconds_sum{endpoint="/api/v1/lookup"} 6.005
ixrs_lookingglass_request_duration_seconds_bucket{endpoint="/api/v1/search/:kind",le="0.001"} 0
ixrs_lookingglass_request_duration_seconds_bucket{endpoint="/api/v1/search/:kind",le="0.1"} 4
ixrs_lookingglass_request_duration_seconds_bucket{endpoint="/api/v1/search/:kind",le="+Inf"} 4
ixrs_lookingglass_request_duration_seconds_sum{endpoint="/api/v1/search/:kind"} 0.2
ixrs_rib_read_gap_seconds_bucket{le="0.001024"} 5
ixrs_rib_read_gap_seconds_bucket{le="4.294967296"} 7
ixrs_rib_read_gap_seconds_bucket{le="+Inf"} 7
ixrs_rib_read_gap_seconds_sum 1.001
`

// TestServerLatency: the window's histogram is the difference of two scrapes; a percentile is the
// upper bound of its bucket, one above every bound is the last bound negated; the read gap comes
// last; other histograms are ignored.
func TestServerLatency(t *testing.T) {
	before, err := parseHists(strings.NewReader(promBefore))
	if err != nil {
		t.Fatal(err)
	}
	after, err := parseHists(strings.NewReader(promAfter))
	if err != nil {
		t.Fatal(err)
	}
	got := serverLatency(before, after)
	want := []LGServerLatency{
		{Endpoint: "/api/v1/lookup", N: 100, P50: 1, P99: 100, Max: -100, Mean: 60},
		{Endpoint: "/api/v1/search/:kind", N: 4, P50: 100, P99: 100, Max: 100, Mean: 50},
		{Endpoint: lgReadGap, N: 2, P50: 4294.967296, P99: 4294.967296, Max: 4294.967296, Mean: 500},
	}
	if len(got) != len(want) {
		t.Fatalf("got %+v", got)
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Endpoint != w.Endpoint || g.N != w.N || g.P50 != w.P50 || g.P99 != w.P99 || g.Max != w.Max || g.Mean-w.Mean > 1e-9 || w.Mean-g.Mean > 1e-9 {
			t.Errorf("%d: got %+v, want %+v", i, g, w)
		}
	}
	if s := msBound(-100); s != "> 100" {
		t.Errorf("msBound(-100) = %q", s)
	}
	if _, err := parseHists(strings.NewReader("ixrs_lookingglass_request_duration_seconds_bucket{le=\"1\"} 3\n")); err == nil {
		t.Error("a request histogram without an endpoint was accepted")
	}
}
