// Package metrics exports the route server to Prometheus (docs/metrics.md).
//
// A Collector reads a Source when it is scraped: one snapshot per scrape, taken with one bounded
// request to the RIB owner (the Source's job), shared by scrapes that arrive while it runs, and
// turned into constant metrics here. Nothing is counted in this package; the route server's
// packages keep their own counters and never import client_golang. The Source's types are this
// package's own, so the adapter (package daemon) is the only place that knows both sides.
//
// Labels are only member, asn, neighbor, afi, type, reason, code and cache (and version on
// ixrs_build_info): a series per session and family at most, never per prefix.
package metrics
