package metrics

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// fakeSource returns a fixed snapshot; with gate set, each call waits for it to close.
type fakeSource struct {
	snap  *Snapshot
	err   error
	gate  chan struct{}
	calls atomic.Int32
}

func (f *fakeSource) Snapshot(ctx context.Context) (*Snapshot, error) {
	f.calls.Add(1)
	if f.gate != nil {
		select {
		case <-f.gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return f.snap, f.err
}

var t0 = time.Unix(1_700_000_000, 0)

func phases() [NumPhases]PhaseHistogram {
	var ph [NumPhases]PhaseHistogram
	for i := range ph {
		ph[i] = PhaseHistogram{Bounds: []time.Duration{time.Millisecond, time.Second}, Counts: []uint64{5, 2, 1}, Sum: 3 * time.Second}
	}
	return ph
}

func testSnapshot() *Snapshot {
	return &Snapshot{
		Sessions: []Session{{
			Member: "Example", ASN: 64501, Neighbor: netip.MustParseAddr("192.0.2.11"),
			State: 6, Established: t0, Flaps: 2,
			Notifications: []NotificationCount{{Code: 6, Subcode: 1, Sent: true, N: 1}, {Code: 4, Subcode: 0, N: 3}},
			MessagesIn:    [NumMessageTypes]uint64{1, 10, 0, 5, 0},
			BytesIn:       [NumMessageTypes]uint64{60, 1000, 0, 95, 0},
			Families: []Family{{AFI: IPv4, Received: 9, Accepted: 7, Filtered: 2, Exported: 100,
				FilteredBy: []ReasonCount{{Reason: 13, N: 2}, {Reason: 3, N: 0}}, MaxPrefixLimit: 10}},
			PendingPrefixes: 4, OutputBytes: 4096, Throttled: true, OutputBlocked: 90 * time.Second,
		}, {
			Member: "Down", ASN: 64502, Neighbor: netip.MustParseAddr("2001:db8::12"), State: 1,
			Families: []Family{{AFI: IPv6, MaxPrefixBlocked: true}},
		}},
		RIB: RIB{Members: 2, Sessions: 2, SessionsUp: 1, Prefixes: 100, Passes: 50, IdlePasses: 20, Phases: phases(),
			RevalidationWalks: 3, RevalidationTime: 1500 * time.Millisecond,
			ReadGaps: PhaseHistogram{Bounds: []time.Duration{time.Millisecond, time.Second}, Counts: []uint64{40, 2, 0}, Sum: 500 * time.Millisecond}},
		RPKI: RPKI{Caches: []Cache{{Name: "127.0.0.1:3323", Up: true, Serial: 7, LastUpdate: t0, Expire: 2 * time.Hour, VRPs4: 10, VRPs6: 5}},
			VRPs4: 10, VRPs6: 5},
		Reloads: ReloadStats{OK: 2, Failed: 1, LastSuccess: t0, LastFailed: true},
		LookingGlass: []Endpoint{{Name: "/api/v1/lookup",
			Durations: PhaseHistogram{Bounds: []time.Duration{10 * time.Millisecond, 100 * time.Millisecond}, Counts: []uint64{9, 1, 1}, Sum: 1250 * time.Millisecond}}},
	}
}

// TestCollect pins the exposition of a known snapshot: names, labels, values, types.
func TestCollect(t *testing.T) {
	c := NewCollector(&fakeSource{snap: testSnapshot()}, Options{Version: "v1.2.3"})
	want := `
# HELP ixrs_session_up 1 when the BGP session is Established.
# TYPE ixrs_session_up gauge
ixrs_session_up{asn="64501",member="Example",neighbor="192.0.2.11"} 1
ixrs_session_up{asn="64502",member="Down",neighbor="2001:db8::12"} 0
# HELP ixrs_session_established_timestamp_seconds When the session last reached Established (Unix time); 0 if never.
# TYPE ixrs_session_established_timestamp_seconds gauge
ixrs_session_established_timestamp_seconds{asn="64501",member="Example",neighbor="192.0.2.11"} 1.7e+09
ixrs_session_established_timestamp_seconds{asn="64502",member="Down",neighbor="2001:db8::12"} 0
# HELP ixrs_session_notifications_sent_total NOTIFICATIONs sent, by code/subcode.
# TYPE ixrs_session_notifications_sent_total counter
ixrs_session_notifications_sent_total{asn="64501",code="6/1",member="Example",neighbor="192.0.2.11"} 1
# HELP ixrs_session_notifications_received_total NOTIFICATIONs received, by code/subcode.
# TYPE ixrs_session_notifications_received_total counter
ixrs_session_notifications_received_total{asn="64501",code="4/0",member="Example",neighbor="192.0.2.11"} 3
# HELP ixrs_routes_filtered_by_reason Filtered routes by primary reject reason code (docs/policy.md); absent when 0.
# TYPE ixrs_routes_filtered_by_reason gauge
ixrs_routes_filtered_by_reason{afi="ipv4",asn="64501",member="Example",neighbor="192.0.2.11",reason="13"} 2
# HELP ixrs_routes_max_prefix_usage_ratio Routes received divided by the max-prefix limit; absent when no limit.
# TYPE ixrs_routes_max_prefix_usage_ratio gauge
ixrs_routes_max_prefix_usage_ratio{afi="ipv4",asn="64501",member="Example",neighbor="192.0.2.11"} 0.9
# HELP ixrs_routes_max_prefix_blocked 1 while the max-prefix limit holds the session back (routes ignored, or closed and not back).
# TYPE ixrs_routes_max_prefix_blocked gauge
ixrs_routes_max_prefix_blocked{afi="ipv4",asn="64501",member="Example",neighbor="192.0.2.11"} 0
ixrs_routes_max_prefix_blocked{afi="ipv6",asn="64502",member="Down",neighbor="2001:db8::12"} 1
# HELP ixrs_session_output_blocked_seconds How long the member's UPDATE output has been waiting without draining; 0 when empty.
# TYPE ixrs_session_output_blocked_seconds gauge
ixrs_session_output_blocked_seconds{asn="64501",member="Example",neighbor="192.0.2.11"} 90
ixrs_session_output_blocked_seconds{asn="64502",member="Down",neighbor="2001:db8::12"} 0
# HELP ixrs_rib_loop_phase_seconds Time per RIB loop phase per pass.
# TYPE ixrs_rib_loop_phase_seconds histogram
ixrs_rib_loop_phase_seconds_bucket{type="background",le="0.001"} 5
ixrs_rib_loop_phase_seconds_bucket{type="background",le="1"} 7
ixrs_rib_loop_phase_seconds_bucket{type="background",le="+Inf"} 8
ixrs_rib_loop_phase_seconds_sum{type="background"} 3
ixrs_rib_loop_phase_seconds_count{type="background"} 8
ixrs_rib_loop_phase_seconds_bucket{type="control",le="0.001"} 5
ixrs_rib_loop_phase_seconds_bucket{type="control",le="1"} 7
ixrs_rib_loop_phase_seconds_bucket{type="control",le="+Inf"} 8
ixrs_rib_loop_phase_seconds_sum{type="control"} 3
ixrs_rib_loop_phase_seconds_count{type="control"} 8
ixrs_rib_loop_phase_seconds_bucket{type="inbound",le="0.001"} 5
ixrs_rib_loop_phase_seconds_bucket{type="inbound",le="1"} 7
ixrs_rib_loop_phase_seconds_bucket{type="inbound",le="+Inf"} 8
ixrs_rib_loop_phase_seconds_sum{type="inbound"} 3
ixrs_rib_loop_phase_seconds_count{type="inbound"} 8
ixrs_rib_loop_phase_seconds_bucket{type="outbound",le="0.001"} 5
ixrs_rib_loop_phase_seconds_bucket{type="outbound",le="1"} 7
ixrs_rib_loop_phase_seconds_bucket{type="outbound",le="+Inf"} 8
ixrs_rib_loop_phase_seconds_sum{type="outbound"} 3
ixrs_rib_loop_phase_seconds_count{type="outbound"} 8
# HELP ixrs_rib_read_gap_seconds Stretches of RIB loop work between two chances to serve a waiting looking-glass query.
# TYPE ixrs_rib_read_gap_seconds histogram
ixrs_rib_read_gap_seconds_bucket{le="0.001"} 40
ixrs_rib_read_gap_seconds_bucket{le="1"} 42
ixrs_rib_read_gap_seconds_bucket{le="+Inf"} 42
ixrs_rib_read_gap_seconds_sum 0.5
ixrs_rib_read_gap_seconds_count 42
# HELP ixrs_lookingglass_request_duration_seconds Looking-glass requests by duration, from the server's middleware to the end of the answer, per endpoint (route pattern).
# TYPE ixrs_lookingglass_request_duration_seconds histogram
ixrs_lookingglass_request_duration_seconds_bucket{endpoint="/api/v1/lookup",le="0.01"} 9
ixrs_lookingglass_request_duration_seconds_bucket{endpoint="/api/v1/lookup",le="0.1"} 10
ixrs_lookingglass_request_duration_seconds_bucket{endpoint="/api/v1/lookup",le="+Inf"} 11
ixrs_lookingglass_request_duration_seconds_sum{endpoint="/api/v1/lookup"} 1.25
ixrs_lookingglass_request_duration_seconds_count{endpoint="/api/v1/lookup"} 11
# HELP ixrs_rpki_cache_last_update_timestamp_seconds When the cache's data last arrived (End of Data, Unix time); 0 if never.
# TYPE ixrs_rpki_cache_last_update_timestamp_seconds gauge
ixrs_rpki_cache_last_update_timestamp_seconds{cache="127.0.0.1:3323"} 1.7e+09
# HELP ixrs_rpki_vrps VRPs in force.
# TYPE ixrs_rpki_vrps gauge
ixrs_rpki_vrps{afi="ipv4"} 10
ixrs_rpki_vrps{afi="ipv6"} 5
# HELP ixrs_config_last_reload_successful 0 when the last reload was refused, else 1.
# TYPE ixrs_config_last_reload_successful gauge
ixrs_config_last_reload_successful 0
# HELP ixrs_config_reload_failures_total Configuration reloads refused (the configuration in force stays).
# TYPE ixrs_config_reload_failures_total counter
ixrs_config_reload_failures_total 1
`
	names := []string{"ixrs_session_up", "ixrs_session_established_timestamp_seconds", "ixrs_session_notifications_sent_total",
		"ixrs_session_notifications_received_total", "ixrs_routes_filtered_by_reason", "ixrs_routes_max_prefix_usage_ratio",
		"ixrs_routes_max_prefix_blocked", "ixrs_session_output_blocked_seconds", "ixrs_rib_loop_phase_seconds",
		"ixrs_rib_read_gap_seconds", "ixrs_lookingglass_request_duration_seconds",
		"ixrs_rpki_cache_last_update_timestamp_seconds", "ixrs_rpki_vrps", "ixrs_config_last_reload_successful",
		"ixrs_config_reload_failures_total"}
	if err := testutil.CollectAndCompare(c, strings.NewReader(want), names...); err != nil {
		t.Fatal(err)
	}
	// A session without a limit has no limit or usage series, and no series names a prefix.
	if n := testutil.CollectAndCount(c, "ixrs_routes_max_prefix_limit"); n != 1 {
		t.Errorf("%d max-prefix limit series, want 1", n)
	}
	// Every message type is present for every session, zero or not (counters must not vanish).
	if n := testutil.CollectAndCount(c, "ixrs_messages_received_total"); n != 2*int(NumMessageTypes) {
		t.Errorf("%d message counters, want %d", n, 2*NumMessageTypes)
	}
}

// TestContract: the names and labels of the public contract (docs/metrics.md, "Stable names")
// are exported exactly so.
func TestContract(t *testing.T) {
	contract := map[string][]string{
		"ixrs_session_up":                            {"asn", "member", "neighbor"},
		"ixrs_session_state":                         {"asn", "member", "neighbor"},
		"ixrs_session_established_timestamp_seconds": {"asn", "member", "neighbor"},
		"ixrs_session_flaps_total":                   {"asn", "member", "neighbor"},
		"ixrs_routes_received":                       {"afi", "asn", "member", "neighbor"},
		"ixrs_routes_accepted":                       {"afi", "asn", "member", "neighbor"},
		"ixrs_routes_filtered":                       {"afi", "asn", "member", "neighbor"},
		"ixrs_routes_exported":                       {"afi", "asn", "member", "neighbor"},
		"ixrs_routes_max_prefix_limit":               {"afi", "asn", "member", "neighbor"},
		"ixrs_messages_received_total":               {"asn", "member", "neighbor", "type"},
		"ixrs_messages_sent_total":                   {"asn", "member", "neighbor", "type"},
		"ixrs_rpki_cache_up":                         {"cache"},
		"ixrs_rpki_vrps":                             {"afi"},
	}
	got := gather(t, NewCollector(&fakeSource{snap: testSnapshot()}, Options{}))
	for name, labels := range contract {
		fam, ok := got[name]
		if !ok {
			t.Errorf("%s: not exported", name)
			continue
		}
		if have := fam; fmt.Sprint(have) != fmt.Sprint(labels) {
			t.Errorf("%s: labels %v, want %v", name, have, labels)
		}
	}
	// Cardinality: only the documented labels, never a prefix.
	allowed := map[string]bool{"member": true, "asn": true, "neighbor": true, "afi": true, "type": true, "reason": true,
		"code": true, "cache": true, "endpoint": true, "le": true}
	for name, labels := range got {
		for _, l := range labels {
			if !allowed[l] && name != "ixrs_build_info" {
				t.Errorf("%s: label %q is not one of the documented ones", name, l)
			}
		}
	}
}

// gather returns each ixrs_ metric's label names (sorted, from its first series).
func gather(t *testing.T, c prometheus.Collector) map[string][]string {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, f := range fams {
		var names []string
		for _, lp := range f.GetMetric()[0].GetLabel() {
			names = append(names, lp.GetName())
		}
		out[f.GetName()] = names
	}
	return out
}

// TestLint: the exposition follows Prometheus's naming conventions (what promtool check metrics
// also checks on a live scrape).
func TestLint(t *testing.T) {
	c := NewCollector(&fakeSource{snap: testSnapshot()}, Options{})
	problems, err := testutil.CollectAndLint(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("%s: %s", p.Metric, p.Text)
	}
}

// TestConcurrentScrapesShareOneSnapshot: scrapes that arrive while a snapshot runs wait for it
// instead of asking the route server again.
func TestConcurrentScrapesShareOneSnapshot(t *testing.T) {
	src := &fakeSource{snap: testSnapshot(), gate: make(chan struct{})}
	h := Handler(NewCollector(src, Options{}))
	var wg sync.WaitGroup
	codes := make([]int, 3)
	for i := range codes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
			codes[i] = rec.Code
		}()
	}
	// Wait, bounded, until the first scrape is inside Snapshot, then give the others time to queue.
	for deadline := time.Now().Add(5 * time.Second); src.calls.Load() == 0; {
		if time.Now().After(deadline) {
			t.Fatal("no scrape reached the source")
		}
		time.Sleep(time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond)
	close(src.gate)
	wg.Wait()
	for i, c := range codes {
		if c != http.StatusOK {
			t.Errorf("scrape %d: status %d", i, c)
		}
	}
	// The scrapes that arrived during the first one shared it; one that came after the gate
	// opened may have taken its own. Never one per scrape while one is in flight.
	if n := src.calls.Load(); n > 2 {
		t.Errorf("%d snapshots for 3 concurrent scrapes", n)
	}
}

// TestSnapshotError: a route server that does not answer costs its own metrics only; the scrape
// succeeds with the error counted.
func TestSnapshotError(t *testing.T) {
	src := &fakeSource{err: errors.New("stopped")}
	c := NewCollector(src, Options{Version: "v9"})
	rec := httptest.NewRecorder()
	Handler(c).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body := rec.Body.String()
	if rec.Code != http.StatusOK || !strings.Contains(body, "ixrs_metrics_snapshot_errors_total 1") ||
		!strings.Contains(body, `ixrs_build_info{version="v9"`) || !strings.Contains(body, "go_goroutines") {
		t.Fatalf("status %d:\n%s", rec.Code, body)
	}
	if strings.Contains(body, "ixrs_session_up") {
		t.Error("session metrics without a snapshot")
	}
}

// TestReloads counts reloads and keeps the last good time across a refused one.
func TestReloads(t *testing.T) {
	r := NewReloads(t0)
	r.Record(nil)
	ok := r.Stats()
	if ok.OK != 1 || ok.LastFailed || !ok.LastSuccess.After(t0) {
		t.Fatalf("%+v", ok)
	}
	r.Record(errors.New("bad"))
	st := r.Stats()
	if st.Failed != 1 || !st.LastFailed || st.LastSuccess != ok.LastSuccess {
		t.Fatalf("%+v", st)
	}
}
