package metrics

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestConnections: refused connections and each member_range's dynamic sessions, limit and refusals.
func TestConnections(t *testing.T) {
	snap := testSnapshot()
	snap.Connections = Connections{Refused: 7, Ranges: []Range{{Name: "lan", Sessions: 3, Limit: 5, Refused: 2}}}
	c := NewCollector(&fakeSource{snap: snap}, Options{})
	want := `
# HELP ixrs_connections_refused_total BGP connections refused: from no configured neighbor and no member_range, or from a range at its limit.
# TYPE ixrs_connections_refused_total counter
ixrs_connections_refused_total 7
# HELP ixrs_dynamic_sessions Dynamic members' sessions of the member_range.
# TYPE ixrs_dynamic_sessions gauge
ixrs_dynamic_sessions{range="lan"} 3
# HELP ixrs_dynamic_sessions_limit The member_range's max_sessions.
# TYPE ixrs_dynamic_sessions_limit gauge
ixrs_dynamic_sessions_limit{range="lan"} 5
# HELP ixrs_dynamic_refused_total Connections from inside the member_range refused because it was at max_sessions.
# TYPE ixrs_dynamic_refused_total counter
ixrs_dynamic_refused_total{range="lan"} 2
`
	if err := testutil.CollectAndCompare(c, strings.NewReader(want), "ixrs_connections_refused_total",
		"ixrs_dynamic_sessions", "ixrs_dynamic_sessions_limit", "ixrs_dynamic_refused_total"); err != nil {
		t.Fatal(err)
	}
}
