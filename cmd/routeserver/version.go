package main

import (
	"runtime"
	"strings"
)

// commit and date are set by scripts/build with -ldflags "-X main.commit=... -X main.date=...":
// the source the binary was built from and when, so that -version identifies a release binary.
var commit, date string

// versionLine is what -version prints: "routeserver v1.2.3 (commit 0123abcd, built
// 2026-01-02T03:04:05Z, go1.26.0)"; commit and date only when stamped.
func versionLine() string {
	var parts []string
	if commit != "" {
		parts = append(parts, "commit "+commit)
	}
	if date != "" {
		parts = append(parts, "built "+date)
	}
	parts = append(parts, runtime.Version())
	return "routeserver " + version + " (" + strings.Join(parts, ", ") + ")"
}
