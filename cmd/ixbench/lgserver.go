package main

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// Server-side latency. A client's latency includes its own scheduling: the clients share ixbench's
// process with the members it simulates, and the machine with ixrs. The route server's histograms
// (ixrs_lookingglass_request_duration_seconds per endpoint: from its middleware to the end of the
// answer; ixrs_rib_read_gap_seconds: the RIB loop's stretches of work while a query waited) are
// scraped from its /metrics at the start and the end of the churn window; their difference is the
// window's. Quantiles of a histogram are known to a bucket: a percentile is the upper bound of the
// bucket it falls in.

// LGServerLatency is one server-side histogram's summary over the churn window, in milliseconds
// (bucket upper bounds; a percentile above every finite bound b is -b).
type LGServerLatency struct {
	Endpoint string  `json:"endpoint"` // a route pattern, or "read gap" for the RIB loop's stretches
	N        uint64  `json:"n"`
	P50      float64 `json:"p50_ms"`
	P99      float64 `json:"p99_ms"`
	Max      float64 `json:"max_ms"`
	Mean     float64 `json:"mean_ms"`
}

// lgReadGap names the read-gap histogram among the endpoints.
const lgReadGap = "read gap"

const (
	promRequest = "ixrs_lookingglass_request_duration_seconds"
	promReadGap = "ixrs_rib_read_gap_seconds"
)

// promHist is a cumulative Prometheus histogram: upper bound (seconds) → count, and the sum.
type promHist struct {
	buckets map[float64]float64
	sum     float64
}

// scrapeHists reads the looking glass's /metrics and returns its request-duration histograms by
// endpoint and the read-gap histogram (under lgReadGap).
func (l *lgRun) scrapeHists() (map[string]*promHist, error) {
	resp, err := l.hc.Get(l.base + "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("/metrics: HTTP %d", resp.StatusCode)
	}
	return parseHists(resp.Body)
}

// parseHists picks the two histograms out of a text exposition.
func parseHists(r io.Reader) (map[string]*promHist, error) {
	out := map[string]*promHist{}
	get := func(k string) *promHist {
		h := out[k]
		if h == nil {
			h = &promHist{buckets: map[float64]float64{}}
			out[k] = h
		}
		return h
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		var name, rest string
		switch {
		case strings.HasPrefix(line, promRequest+"_"):
			name, rest = promRequest, line[len(promRequest)+1:]
		case strings.HasPrefix(line, promReadGap+"_"):
			name, rest = promReadGap, line[len(promReadGap)+1:]
		default:
			continue
		}
		series, val, ok := strings.Cut(rest, " ")
		if !ok {
			return nil, fmt.Errorf("metrics: %q", line)
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
		if err != nil {
			return nil, fmt.Errorf("metrics: %q: %v", line, err)
		}
		kind, labels, _ := strings.Cut(series, "{")
		labels = strings.TrimSuffix(labels, "}")
		ep, le := lgReadGap, ""
		for _, kv := range strings.Split(labels, ",") {
			k, v, _ := strings.Cut(kv, "=")
			v = strings.Trim(v, `"`)
			switch k {
			case "endpoint":
				ep = v
			case "le":
				le = v
			}
		}
		if name == promRequest && ep == lgReadGap {
			return nil, fmt.Errorf("metrics: %q has no endpoint", line)
		}
		switch kind {
		case "bucket":
			b, err := strconv.ParseFloat(le, 64) // "+Inf" parses to +Inf
			if err != nil {
				return nil, fmt.Errorf("metrics: %q: le: %v", line, err)
			}
			get(ep).buckets[b] = v
		case "sum":
			get(ep).sum = v
		}
	}
	return out, sc.Err()
}

// serverLatency summarizes end minus start per histogram, endpoints in order, the read gap last.
func serverLatency(start, end map[string]*promHist) []LGServerLatency {
	var keys []string
	for k := range end {
		if k != lgReadGap {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	if end[lgReadGap] != nil {
		keys = append(keys, lgReadGap)
	}
	var out []LGServerLatency
	for _, k := range keys {
		e, s := end[k], start[k]
		var bounds []float64
		for b := range e.buckets {
			bounds = append(bounds, b)
		}
		slices.Sort(bounds)
		cum := make([]float64, len(bounds))
		for i, b := range bounds {
			cum[i] = e.buckets[b]
			if s != nil {
				cum[i] -= s.buckets[b]
			}
		}
		if len(cum) == 0 || cum[len(cum)-1] <= 0 {
			continue
		}
		total := cum[len(cum)-1]
		at := func(q float64) float64 {
			want := math.Max(math.Ceil(q*total), 1)
			for i, c := range cum {
				if c >= want {
					if math.IsInf(bounds[i], 1) {
						return -math.Round(bounds[max(i-1, 0)]*1e9) / 1e6
					}
					return math.Round(bounds[i]*1e9) / 1e6
				}
			}
			return -1
		}
		sum := e.sum
		if s != nil {
			sum -= s.sum
		}
		out = append(out, LGServerLatency{Endpoint: k, N: uint64(total), P50: at(0.5), P99: at(0.99), Max: at(1),
			Mean: sum / total * 1000})
	}
	return out
}

// msBound formats a bucket bound in milliseconds: "≤ 2.5", or "> 5000" for a negative one.
func msBound(v float64) string {
	if v < 0 {
		return "> " + strconv.FormatFloat(-v, 'f', -1, 64)
	}
	return "≤ " + strconv.FormatFloat(v, 'f', -1, 64)
}

// renderLGServer writes the server-side table of the churn windows, by client model; nothing when
// no run has the histograms (runs from before they existed).
func renderLGServer(b *strings.Builder, modes []string, byMode map[string][]LGResult) {
	any := false
	for _, rs := range byMode {
		for _, r := range rs {
			any = any || len(r.Server) > 0
		}
	}
	if !any {
		return
	}
	b.WriteString("The route server's own view of the same windows, to tell its share of the latency from the clients' " +
		"(they share the two cores with ixrs and the simulated members): `ixrs_lookingglass_request_duration_seconds` per endpoint, " +
		"from ixrs's HTTP middleware to the end of the answer, and `" + promReadGap + "`, the RIB loop's stretches of work " +
		"between two chances to serve a waiting query (read gap), scraped from /metrics at the window's start and end. " +
		"Milliseconds; a percentile is the upper bound of the histogram bucket it falls in; median over the repetitions.\n\n")
	b.WriteString("| endpoint | client model (clients) | requests (stretches) | p50 | p99 | max | mean |\n")
	b.WriteString("| --- | --- | --- | --- | --- | --- | --- |\n")
	for _, m := range modes {
		rs := byMode[m]
		var eps []string
		for _, r := range rs {
			for _, s := range r.Server {
				if !slices.Contains(eps, s.Endpoint) {
					eps = append(eps, s.Endpoint)
				}
			}
		}
		// Endpoints in order, the read gap last.
		slices.SortFunc(eps, func(a, b string) int {
			if (a == lgReadGap) != (b == lgReadGap) {
				if a == lgReadGap {
					return 1
				}
				return -1
			}
			return strings.Compare(a, b)
		})
		for _, ep := range eps {
			var n uint64
			var p50, p99, mx, mean []float64
			for _, r := range rs {
				for _, s := range r.Server {
					if s.Endpoint == ep {
						n += s.N
						p50, p99, mx, mean = append(p50, s.P50), append(p99, s.P99), append(mx, s.Max), append(mean, s.Mean)
					}
				}
			}
			name := "`" + ep + "`"
			if ep == lgReadGap {
				name = ep
			}
			fmt.Fprintf(b, "| %s | %s (%d) | %d | %s | %s | %s | %.1f |\n", name, m, rs[0].WindowClient, n,
				msBound(medBound(p50)), msBound(medBound(p99)), msBound(medBound(mx)), medBound(mean))
		}
	}
	b.WriteString("\n")
}

// medBound is the median of bucket bounds, where a negative value (above every bound) sorts last.
func medBound(v []float64) float64 {
	key := func(x float64) float64 {
		if x < 0 {
			return math.Inf(1)
		}
		return x
	}
	slices.SortFunc(v, func(a, b float64) int {
		switch ka, kb := key(a), key(b); {
		case ka < kb:
			return -1
		case ka > kb:
			return 1
		}
		return 0
	})
	return v[(len(v)-1)/2]
}
