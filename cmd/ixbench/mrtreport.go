package main

import (
	"fmt"
	"strings"
)

// mrtDoc is the MRT dump-cost mode's part of the document's results block: the results of its last
// invocation only, so that every figure of the section comes from one run of one commit.
type mrtDoc struct {
	Results []MRTResult       `json:"results"`
	Run     map[string]string `json:"run"` // "machine", "date", "command", "commit", "load", "version"
}

func updateDocMRT(path string, results []MRTResult, version, command, commit string) error {
	var loads []float64
	for _, r := range results {
		loads = append(loads, r.Load1)
	}
	return editDoc(path, func(d *docData) {
		d.MRT = &mrtDoc{Results: results, Run: modeRun(loads, version, command, commit)}
	})
}

// renderMRT renders the MRT dump-cost section ("" when the mode never ran).
func renderMRT(g *mrtDoc) string {
	if g == nil || len(g.Results) == 0 {
		return ""
	}
	var b strings.Builder
	r0 := g.Results[0]
	fmt.Fprintf(&b, "## MRT dumps during convergence: %s, %d members, %d routes (%d prefixes)\n\n", r0.Workload, r0.Members, r0.Routes, r0.Prefixes)
	b.WriteString(runHeader(g.Run, "before each run"))
	b.WriteString(`ixrs alone, with an admin socket and an MRT dump directory in both runs of a repetition. The
dumping run asks for TABLE_DUMP_V2 dumps of the Adj-RIB-In (` + "`POST /v1/mrt/dump`" + `, docs/mrt.md) from
the first announcement until the churn burst has converged, one after the other (` + "`-mrt-dump-every`" + `),
or for one dump when the members have received a share of their routes in the initial
convergence (` + "`-mrt-dump-at`" + `: a scheduled dump landing mid-convergence); the quiet run asks for none. The
repetitions alternate which run comes first. Converge and churn as in the main tables, median
(min–max), with the dumping runs' change against the quiet runs' medians; CPU is the daemon's for the
phases and the dumps, CPU to converge its CPU from the first announcement until convergence (a dump
adds to it only by running during convergence; on a loaded machine it varies less than the times).
Dumps: completed during the phases; their duration as the route server measured it (a dump first
waits for the route server to stop routing, docs/mrt.md); dump share: the part of the phases' time
during which a dump was being written; MiB: the last dump of the phases, both files. After the
phases every run writes one more dump at rest, which ` + "`bgpdump -m`" + ` must read back as exactly the workload's routes (each member's prefixes with its
address and AS, none twice, nothing else); the last dump of the phases must read back as the number of
routes the route server reported for it.

`)
	b.WriteString(mrtTable(g.Results))
	b.WriteString("\n\n")
	var failures []string
	for _, r := range g.Results {
		if r.Failed != "" {
			what := "quiet"
			if r.Dumping {
				what = "dumping"
			}
			failures = append(failures, fmt.Sprintf("- %s rep %d: %s", what, r.Rep, strings.ReplaceAll(r.Failed, "\n", " ")))
		}
	}
	if len(failures) > 0 {
		b.WriteString("Runs that did not finish:\n\n" + strings.Join(failures, "\n") + "\n\n")
	}
	return b.String()
}
