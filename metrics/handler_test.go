package metrics

import (
	"fmt"
	"math"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// flatten turns metric families into "name{sorted labels} value" lines, ixrs_ families only, without
// the scrape's own timing (which differs between two scrapes).
func flatten(fams map[string]*dto.MetricFamily) []string {
	var out []string
	for name, f := range fams {
		if !strings.HasPrefix(name, "ixrs_") || name == "ixrs_metrics_snapshot_seconds" {
			continue
		}
		for _, m := range f.GetMetric() {
			var ls []string
			for _, l := range m.GetLabel() {
				ls = append(ls, l.GetName()+"="+l.GetValue())
			}
			slices.Sort(ls)
			head := fmt.Sprintf("%s %s{%s}", f.GetType(), name, strings.Join(ls, ","))
			switch {
			case m.Histogram != nil:
				h := m.Histogram
				out = append(out, fmt.Sprintf("%s count=%d sum=%g", head, h.GetSampleCount(), h.GetSampleSum()))
				for _, b := range h.GetBucket() {
					if math.IsInf(b.GetUpperBound(), 1) {
						continue // the text format writes it, client_golang's objects leave it implicit
					}
					out = append(out, fmt.Sprintf("%s le=%g %d", head, b.GetUpperBound(), b.GetCumulativeCount()))
				}
			case m.Counter != nil:
				out = append(out, fmt.Sprintf("%s %g", head, m.Counter.GetValue()))
			default:
				out = append(out, fmt.Sprintf("%s %g", head, m.Gauge.GetValue()))
			}
		}
	}
	slices.Sort(out)
	return out
}

// TestHandlerMatchesCollector: the handler's own text writer and the client_golang Collector are
// two implementations of one exposition; on the same snapshot they must agree sample for sample,
// including label values that need escaping.
func TestHandlerMatchesCollector(t *testing.T) {
	snap := testSnapshot()
	snap.Sessions = append(snap.Sessions, bigSnapshot(3).Sessions...)
	snap.Sessions[2].Member = "Quote \" back\\slash\nnewline ünïcode"
	snap.Sessions[3].Neighbor = netip.MustParseAddr("2001:db8::1")
	c := NewCollector(&fakeSource{snap: snap}, Options{Version: "v1 \"x\""})

	rec := httptest.NewRecorder()
	Handler(c).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	p := expfmt.NewTextParser(model.UTF8Validation)
	text, err := p.TextToMetricFamilies(strings.NewReader(rec.Body.String()))
	if err != nil {
		t.Fatalf("the handler's output does not parse: %v", err)
	}
	fams, err := NewRegistry(c).Gather()
	if err != nil {
		t.Fatal(err)
	}
	gathered := map[string]*dto.MetricFamily{}
	for _, f := range fams {
		gathered[f.GetName()] = f
	}
	want, got := flatten(gathered), flatten(text)
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("handler and collector differ (-collector +handler):\n%s", d)
	}
	if len(want) < 100 {
		t.Errorf("only %d samples compared", len(want))
	}
	for _, name := range []string{"go_goroutines", "process_cpu_seconds_total"} {
		if _, ok := text[name]; !ok {
			t.Errorf("%s missing from the handler's output", name)
		}
	}
	// Each family's HELP and TYPE appear once: a family's samples are contiguous.
	for _, line := range strings.Split(rec.Body.String(), "\n") {
		if strings.HasPrefix(line, "# TYPE ixrs_session_up ") {
			if n := strings.Count(rec.Body.String(), line+"\n"); n != 1 {
				t.Errorf("%q appears %d times", line, n)
			}
		}
	}
}
