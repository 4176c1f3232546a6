package config

import (
	"slices"
	"time"
)

// BMP is one [[bmp]] table: a BMP collector (RFC 7854) the route server connects to.
type BMP struct {
	// Address is the collector as host:port.
	Address string `toml:"address"`
	// Name names the collector in logs and status; default the address.
	Name string `toml:"name"`
	// RouteMonitoring lists the tables sent: "pre-policy" (the Adj-RIB-In as received, filtered
	// routes included), "post-policy" (accepted routes only) and "adj-rib-out" (what each member
	// is sent, RFC 8671). Default: pre-policy and post-policy.
	RouteMonitoring []string `toml:"route_monitoring"`
	// StatsInterval is the period of Statistics Reports; "0s" sends none. Default 60 s.
	StatsInterval time.Duration `toml:"stats_interval"`
}

// setDefaults gives a [[bmp]] entry its default values before the file's keys are decoded.
func (b *BMP) setDefaults() {
	b.RouteMonitoring = []string{"pre-policy", "post-policy"}
	b.StatsInterval = time.Minute
}

// RouteMonitoringValues are the values route_monitoring accepts.
var RouteMonitoringValues = []string{"pre-policy", "post-policy", "adj-rib-out"}

// Monitors reports whether table (one of RouteMonitoringValues) is sent.
func (b *BMP) Monitors(table string) bool { return slices.Contains(b.RouteMonitoring, table) }

func (c *Config) validateBMP(r *reporter) {
	names := map[string]bool{}
	for i := range c.BMP {
		b := &c.BMP[i]
		sc := scope{}.child("bmp").index(i)
		if b.Address == "" {
			r.report(sc.child("address"), ": required (host:port of the collector)")
		} else if msg := checkHostPort(b.Address, false); msg != "" {
			r.report(sc.child("address"), " %q: %s", b.Address, msg)
		}
		name := b.Name
		if name == "" {
			name = b.Address
		}
		if names[name] {
			r.report(sc, ": collector %q is configured twice (give each a distinct name or address)", name)
		}
		names[name] = true
		for j, t := range b.RouteMonitoring {
			if !slices.Contains(RouteMonitoringValues, t) {
				r.report(sc.child("route_monitoring").index(j), " %q: must be one of pre-policy, post-policy, adj-rib-out", t)
			}
		}
		if b.StatsInterval < 0 {
			r.report(sc.child("stats_interval"), ": must not be negative")
		}
	}
}
