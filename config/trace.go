package config

import "fmt"

// TraceTypes are the message types a member's trace key may name (docs/configuration.md), in
// message type order.
var TraceTypes = []string{"open", "update", "notification", "keepalive", "refresh"}

// Tracing is the [tracing] table: the limits of per-member packet tracing (the member key trace,
// docs/admin.md), which keep a busy member's trace from filling a disk.
type Tracing struct {
	// Rate is how many trace lines per second one member may log, sustained; lines beyond it are
	// counted and the count is logged with the next line let through.
	Rate float64 `toml:"rate"`
	// Burst is how many lines a member may log at once.
	Burst int `toml:"burst"`
}

// DefaultTracing returns the limits when [tracing] sets none: 10 lines a second sustained, 100 at
// once — 864,000 lines a day at most per traced member, under 1 GB without trace_raw.
func DefaultTracing() Tracing { return Tracing{Rate: 10, Burst: 100} }

func (c *Config) validateTracing(r *reporter) {
	t, sc := &c.Tracing, scope{}.child("tracing")
	if t.Rate <= 0 {
		r.report(sc.child("rate"), " %v: must be more than 0 (lines per second per member)", t.Rate)
	}
	if t.Burst < 1 {
		r.report(sc.child("burst"), " %d: must be at least 1", t.Burst)
	}
}

// checkTrace checks a member's trace key: known types, each once.
func checkTrace(r *reporter, sc scope, types []string) {
	seen := map[string]bool{}
	for j, t := range types {
		k := sc.index(j)
		known := t == "all"
		for _, n := range TraceTypes {
			known = known || t == n
		}
		switch {
		case !known:
			r.report(k, " %q: must be one of %s or all", t, fmt.Sprint(TraceTypes))
		case seen[t]:
			r.report(k, " %q: listed twice", t)
		}
		seen[t] = true
	}
}
