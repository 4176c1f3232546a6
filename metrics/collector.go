package metrics

import (
	"context"
	"log/slog"
	"runtime"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

const ns = "ixrs"

// Options configure a Collector.
type Options struct {
	// Version is the route server's version, shown in ixrs_build_info.
	Version string
	// Timeout bounds one snapshot; default 5 s.
	Timeout time.Duration
	Logger  *slog.Logger
}

// Collector is a prometheus.Collector that reads a Source at scrape time. Concurrent scrapes share
// one snapshot: however many arrive, at most one Source.Snapshot runs at a time.
type Collector struct {
	src  Source
	opts Options

	mu       sync.Mutex
	inflight *flight

	errors   prometheus.Counter
	duration prometheus.Gauge
}

// flight is one snapshot in progress; waiters read it after done is closed.
type flight struct {
	done chan struct{}
	snap *Snapshot
	err  error
}

var (
	sessionLabels = []string{"member", "asn", "neighbor"}
	familyLabels  = []string{"member", "asn", "neighbor", "afi"}
	typeLabels    = []string{"member", "asn", "neighbor", "type"}
)

// metric is one metric family: its name, help, type and label names, and its client_golang
// descriptor for the Collector.
type metric struct {
	idx        int // in allMetrics
	name, help string
	kind       kind
	labels     []string
	desc       *prometheus.Desc
}

type kind uint8

const (
	kGauge kind = iota
	kCounter
	kHistogram
)

func (k kind) String() string { return [...]string{"gauge", "counter", "histogram"}[k] }

func def(k kind, name, help string, labels ...string) *metric {
	return &metric{name: ns + "_" + name, help: help, kind: k, labels: labels,
		desc: prometheus.NewDesc(ns+"_"+name, help, labels, nil)}
}

func desc(name, help string, labels ...string) *metric  { return def(kGauge, name, help, labels...) }
func cdesc(name, help string, labels ...string) *metric { return def(kCounter, name, help, labels...) }

// The metrics. docs/metrics.md lists them; TestDocumented keeps the two in step.
var (
	dSessionUp     = desc("session_up", "1 when the BGP session is Established.", sessionLabels...)
	dSessionState  = desc("session_state", "BGP FSM state: 1 Idle, 2 Connect, 3 Active, 4 OpenSent, 5 OpenConfirm, 6 Established.", sessionLabels...)
	dSessionEstTS  = desc("session_established_timestamp_seconds", "When the session last reached Established (Unix time); 0 if never.", sessionLabels...)
	dSessionFlaps  = cdesc("session_flaps_total", "Transitions out of Established.", sessionLabels...)
	dNotesSent     = cdesc("session_notifications_sent_total", "NOTIFICATIONs sent, by code/subcode.", append(sessionLabels[:3:3], "code")...)
	dNotesRecv     = cdesc("session_notifications_received_total", "NOTIFICATIONs received, by code/subcode.", append(sessionLabels[:3:3], "code")...)
	dMsgsIn        = cdesc("messages_received_total", "BGP messages received, by type.", typeLabels...)
	dMsgsOut       = cdesc("messages_sent_total", "BGP messages sent (queued to the socket), by type.", typeLabels...)
	dBytesIn       = cdesc("messages_received_bytes_total", "Bytes of BGP messages received, by type.", typeLabels...)
	dBytesOut      = cdesc("messages_sent_bytes_total", "Bytes of BGP messages sent (queued to the socket), by type.", typeLabels...)
	dPending       = desc("session_pending_prefixes", "Prefixes decided for the member and not yet encoded (outbound UPDATE queue).", sessionLabels...)
	dInQueue       = desc("session_inbound_queue_updates", "UPDATEs received from the member and waiting for the RIB.", sessionLabels...)
	dOutBytes      = desc("session_output_buffer_bytes", "Encoded UPDATE bytes waiting to be written to the member's socket.", sessionLabels...)
	dThrottled     = desc("session_output_throttled", "1 while the member's output is above the high watermark (its changes merge, nothing more is encoded).", sessionLabels...)
	dBlocked       = desc("session_output_blocked_seconds", "How long the member's UPDATE output has been waiting without draining; 0 when empty.", sessionLabels...)
	dReceived      = desc("routes_received", "Routes received from the session (Adj-RIB-In, accepted or filtered).", familyLabels...)
	dAccepted      = desc("routes_accepted", "Routes of the session that import policy accepted.", familyLabels...)
	dFiltered      = desc("routes_filtered", "Routes of the session that import policy rejected.", familyLabels...)
	dFilteredBy    = desc("routes_filtered_by_reason", "Filtered routes by primary reject reason code (docs/policy.md); absent when 0.", append(familyLabels[:4:4], "reason")...)
	dExported      = desc("routes_exported", "Routes the session has been sent (Adj-RIB-Out).", familyLabels...)
	dMaxLimit      = desc("routes_max_prefix_limit", "The configured max-prefix limit; absent when none.", familyLabels...)
	dMaxUsage      = desc("routes_max_prefix_usage_ratio", "Routes received divided by the max-prefix limit; absent when no limit.", familyLabels...)
	dMaxBlocked    = desc("routes_max_prefix_blocked", "1 while the max-prefix limit holds the session back (routes ignored, or closed and not back).", familyLabels...)
	dRIBObjects    = desc("rib_objects", "Objects the RIB holds, by type.", "type")
	dRIBPasses     = cdesc("rib_loop_passes_total", "RIB loop passes; type idle counts the passes that found nothing to do.", "type")
	dRIBPhase      = def(kHistogram, "rib_loop_phase_seconds", "Time per RIB loop phase per pass.", "type")
	dRIBReadGap    = def(kHistogram, "rib_read_gap_seconds", "Stretches of RIB loop work between two chances to serve a waiting looking-glass query.")
	dLGRequest     = def(kHistogram, "lookingglass_request_duration_seconds", "Looking-glass requests by duration, from the server's middleware to the end of the answer, per endpoint (route pattern).", "endpoint")
	dRIBWithdrawn  = cdesc("rib_routes_withdrawn_on_down_total", "Routes withdrawn because their session went down.")
	dRevalWalks    = cdesc("rib_revalidation_walks_total", "Revalidation walks finished (new RPKI or IRR data, or a member's new policy).")
	dRevalSeconds  = cdesc("rib_revalidation_seconds_total", "Wall time of the finished revalidation walks, start to end.")
	dRevalRunning  = desc("rib_revalidations", "Revalidation walks running or waiting (0..2).")
	dRevalChanged  = cdesc("rib_routes_revalidated_total", "Routes whose verdict changed in revalidation walks.")
	dCacheUp       = desc("rpki_cache_up", "1 when the RTR cache session is up with data in sync.", "cache")
	dCacheSerial   = desc("rpki_cache_serial", "The RTR cache's serial number.", "cache")
	dCacheUpdate   = desc("rpki_cache_last_update_timestamp_seconds", "When the cache's data last arrived (End of Data, Unix time); 0 if never.", "cache")
	dCacheExpire   = desc("rpki_cache_expire_seconds", "How long the cache's data may be used after its last update (RTR expire interval).", "cache")
	dCacheVRPs     = desc("rpki_cache_vrps", "VRPs from the cache.", "cache", "afi")
	dCacheASPAs    = desc("rpki_cache_aspas", "ASPA records from the cache.", "cache")
	dVRPs          = desc("rpki_vrps", "VRPs in force.", "afi")
	dASPAs         = desc("rpki_aspas", "ASPA records in force.")
	dCaches        = desc("rpki_caches", "RTR caches configured.")
	dReloads       = cdesc("config_reloads_total", "Configuration reloads applied.")
	dReloadFails   = cdesc("config_reload_failures_total", "Configuration reloads refused (the configuration in force stays).")
	dReloadOK      = desc("config_last_reload_successful", "0 when the last reload was refused, else 1.")
	dReloadTS      = desc("config_last_reload_success_timestamp_seconds", "When the configuration in force was loaded (Unix time).")
	dConnRefused   = cdesc("connections_refused_total", "BGP connections refused: from no configured neighbor and no member_range, or from a range at its limit.")
	dDynSessions   = desc("dynamic_sessions", "Dynamic members' sessions of the member_range.", "range")
	dDynLimit      = desc("dynamic_sessions_limit", "The member_range's max_sessions.", "range")
	dDynRefused    = cdesc("dynamic_refused_total", "Connections from inside the member_range refused because it was at max_sessions.", "range")
	dSnapshotError = ns + "_metrics_snapshot_errors_total"
	dSnapshotTime  = ns + "_metrics_snapshot_seconds"
)

var allMetrics = []*metric{dSessionUp, dSessionState, dSessionEstTS, dSessionFlaps, dNotesSent, dNotesRecv,
	dMsgsIn, dMsgsOut, dBytesIn, dBytesOut, dPending, dInQueue, dOutBytes, dThrottled, dBlocked,
	dReceived, dAccepted, dFiltered, dFilteredBy, dExported, dMaxLimit, dMaxUsage, dMaxBlocked,
	dRIBObjects, dRIBPasses, dRIBPhase, dRIBReadGap, dLGRequest, dRIBWithdrawn, dRevalWalks, dRevalSeconds, dRevalRunning, dRevalChanged,
	dCacheUp, dCacheSerial, dCacheUpdate, dCacheExpire, dCacheVRPs, dCacheASPAs, dVRPs, dASPAs, dCaches,
	dReloads, dReloadFails, dReloadOK, dReloadTS, dConnRefused, dDynSessions, dDynLimit, dDynRefused}

func init() {
	for i, m := range allMetrics {
		m.idx = i
	}
}

// NewCollector returns a collector reading src.
func NewCollector(src Source, opts Options) *Collector {
	if opts.Timeout <= 0 {
		opts.Timeout = 5 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Collector{
		src:  src,
		opts: opts,
		errors: prometheus.NewCounter(prometheus.CounterOpts{Name: dSnapshotError,
			Help: "Scrapes that got no snapshot of the route server (timeout or stopped); their route server metrics are missing."}),
		duration: prometheus.NewGauge(prometheus.GaugeOpts{Name: dSnapshotTime,
			Help: "How long the last snapshot of the route server took."}),
	}
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, m := range allMetrics {
		ch <- m.desc
	}
	ch <- c.buildDesc()
	c.errors.Describe(ch)
	c.duration.Describe(ch)
}

func (c *Collector) buildDesc() *prometheus.Desc {
	return prometheus.NewDesc(ns+"_build_info", "The route server's version; always 1.", nil,
		prometheus.Labels{"version": c.opts.Version, "goversion": runtime.Version()})
}

// snapshot returns a snapshot, sharing one in progress.
func (c *Collector) snapshot() (*Snapshot, error) {
	c.mu.Lock()
	f := c.inflight
	if f == nil {
		f = &flight{done: make(chan struct{})}
		c.inflight = f
		c.mu.Unlock()
		start := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), c.opts.Timeout)
		f.snap, f.err = c.src.Snapshot(ctx)
		cancel()
		c.duration.Set(time.Since(start).Seconds())
		c.mu.Lock()
		c.inflight = nil
		c.mu.Unlock()
		close(f.done)
	} else {
		c.mu.Unlock()
		<-f.done
	}
	return f.snap, f.err
}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(c.buildDesc(), prometheus.GaugeValue, 1)
	snap := c.collect()
	ch <- c.errors
	ch <- c.duration
	if snap != nil {
		emit(snap, chanSink{ch})
	}
}

// collect takes a snapshot, counting and logging a failure.
func (c *Collector) collect() *Snapshot {
	snap, err := c.snapshot()
	if err != nil {
		c.errors.Inc()
		c.opts.Logger.Warn("metrics: no snapshot of the route server", "err", err)
		return nil
	}
	return snap
}

// chanSink turns samples into client_golang constant metrics.
type chanSink struct{ ch chan<- prometheus.Metric }

func (s chanSink) put(m *metric, v float64, lv []string) {
	t := prometheus.GaugeValue
	if m.kind == kCounter {
		t = prometheus.CounterValue
	}
	s.ch <- prometheus.MustNewConstMetric(m.desc, t, v, lv...)
}

func (s chanSink) hist(m *metric, h *PhaseHistogram, lv []string) {
	buckets := make(map[float64]uint64, len(h.Bounds))
	var cum uint64
	for i, b := range h.Bounds {
		cum += h.Counts[i]
		buckets[b.Seconds()] = cum
	}
	cum += h.Counts[len(h.Bounds)]
	s.ch <- prometheus.MustNewConstHistogram(m.desc, cum, h.Sum.Seconds(), buckets, lv...)
}
