package metrics

import (
	"bytes"
	"net/http"
	"runtime"
	"strconv"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/common/expfmt"
)

// maxScrapes bounds the scrapes served at once; more are answered 503. Concurrent scrapes share
// one snapshot anyway, so this only bounds the encoding work.
const maxScrapes = 4

// NewRegistry returns a registry with c and the Go runtime and process collectors (go_*,
// process_*), for programs that serve metrics with client_golang's own handler.
func NewRegistry(c *Collector) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(c, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// Handler serves c's metrics and the Go runtime and process metrics in the Prometheus text
// format. It writes the route server's metrics itself from the snapshot, without building
// client_golang metric objects: at 1,000 sessions (about 55,000 series) that is the difference
// between 150 ms and a few ms per scrape (docs/metrics.md, "Cost"). The output equals what
// NewRegistry(c) gathers (TestHandlerMatchesCollector). A failed snapshot leaves the route
// server's metrics out and counts ixrs_metrics_snapshot_errors_total; the scrape still succeeds.
func Handler(c *Collector) http.Handler {
	rt := prometheus.NewRegistry()
	rt.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		c.errors, c.duration)
	return &handler{c: c, runtime: rt, sem: make(chan struct{}, maxScrapes)}
}

type handler struct {
	c       *Collector
	runtime *prometheus.Registry
	sem     chan struct{}
}

var bufPool = sync.Pool{New: func() any { return new(textSink) }}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	select {
	case h.sem <- struct{}{}:
		defer func() { <-h.sem }()
	default:
		http.Error(w, "too many concurrent scrapes", http.StatusServiceUnavailable)
		return
	}
	snap := h.c.collect()
	ts := bufPool.Get().(*textSink)
	defer bufPool.Put(ts)
	ts.reset()
	if snap != nil {
		emit(snap, ts)
	}
	var out bytes.Buffer
	out.Grow(ts.size() + 64<<10)
	out.WriteString("# HELP ixrs_build_info The route server's version; always 1.\n# TYPE ixrs_build_info gauge\n")
	out.WriteString(`ixrs_build_info{version="`)
	out.Write(escapeLabel(nil, h.c.opts.Version))
	out.WriteString(`",goversion="` + runtime.Version() + "\"} 1\n")
	ts.writeTo(&out)
	fams, err := h.runtime.Gather()
	if err == nil {
		enc := expfmt.NewEncoder(&out, expfmt.NewFormat(expfmt.TypeTextPlain))
		for _, f := range fams {
			if err := enc.Encode(f); err != nil {
				break
			}
		}
	}
	w.Header().Set("Content-Type", string(expfmt.NewFormat(expfmt.TypeTextPlain)))
	w.Header().Set("Content-Length", strconv.Itoa(out.Len()))
	if r.Method == http.MethodHead {
		return
	}
	w.Write(out.Bytes())
}

// textSink writes samples in the text exposition format, one buffer per metric family so that
// each family's samples are contiguous whatever order emit produces them in.
type textSink struct {
	fam [][]byte
}

func (t *textSink) reset() {
	if len(t.fam) != len(allMetrics) {
		t.fam = make([][]byte, len(allMetrics))
	}
	for i := range t.fam {
		t.fam[i] = t.fam[i][:0]
	}
}

func (t *textSink) size() int {
	n := 0
	for _, b := range t.fam {
		n += len(b)
	}
	return n
}

func (t *textSink) writeTo(out *bytes.Buffer) {
	for i, b := range t.fam {
		if len(b) == 0 {
			continue
		}
		m := allMetrics[i]
		out.WriteString("# HELP " + m.name + " " + m.help + "\n# TYPE " + m.name + " " + m.kind.String() + "\n")
		out.Write(b)
	}
}

func appendSample(b []byte, name string, m *metric, lv []string, extraName, extraValue string, v float64) []byte {
	b = append(b, name...)
	if len(lv) > 0 || extraName != "" {
		b = append(b, '{')
		for i, l := range lv {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, m.labels[i]...)
			b = append(b, '=', '"')
			b = escapeLabel(b, l)
			b = append(b, '"')
		}
		if extraName != "" {
			if len(lv) > 0 {
				b = append(b, ',')
			}
			b = append(b, extraName...)
			b = append(b, '=', '"')
			b = append(b, extraValue...)
			b = append(b, '"')
		}
		b = append(b, '}')
	}
	b = append(b, ' ')
	b = strconv.AppendFloat(b, v, 'g', -1, 64)
	return append(b, '\n')
}

func (t *textSink) put(m *metric, v float64, lv []string) {
	t.fam[m.idx] = appendSample(t.fam[m.idx], m.name, m, lv, "", "", v)
}

func (t *textSink) hist(m *metric, h *PhaseHistogram, lv []string) {
	b := t.fam[m.idx]
	var cum uint64
	for i, bound := range h.Bounds {
		cum += h.Counts[i]
		b = appendSample(b, m.name+"_bucket", m, lv, "le", strconv.FormatFloat(bound.Seconds(), 'g', -1, 64), float64(cum))
	}
	cum += h.Counts[len(h.Bounds)]
	b = appendSample(b, m.name+"_bucket", m, lv, "le", "+Inf", float64(cum))
	b = appendSample(b, m.name+"_sum", m, lv, "", "", h.Sum.Seconds())
	b = appendSample(b, m.name+"_count", m, lv, "", "", float64(cum))
	t.fam[m.idx] = b
}

// escapeLabel appends s escaped as a label value: backslash, double quote and newline.
func escapeLabel(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			b = append(b, '\\', '\\')
		case '"':
			b = append(b, '\\', '"')
		case '\n':
			b = append(b, '\\', 'n')
		default:
			b = append(b, c)
		}
	}
	return b
}
