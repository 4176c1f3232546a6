package main

import (
	"fmt"
	"slices"
	"strings"
)

// reevalDoc is the re-evaluation mode's part of the document's results block: the results of its last
// invocation only, so that every figure of the section comes from one run of one commit.
type reevalDoc struct {
	Results []ReevalResult    `json:"results"`
	Run     map[string]string `json:"run"` // "machine", "date", "command", "commit", "load", "version"
}

func updateDocReeval(path string, results []ReevalResult, version, command, commit string) error {
	var loads []float64
	for _, r := range results {
		loads = append(loads, r.Load1, r.LoadEnd)
	}
	return editDoc(path, func(d *docData) {
		d.Reeval = &reevalDoc{Results: results, Run: modeRun(loads, version, command, commit)}
	})
}

// renderReeval renders the re-evaluation section ("" when the mode never ran).
func renderReeval(g *reevalDoc) string {
	if g == nil || len(g.Results) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("## Re-evaluation: IRR, RPKI and policy changes\n\n")
	b.WriteString(runHeader(g.Run, ""))
	b.WriteString(`ixrs alone (` + "`ixbench -reeval`" + `, ` + "`cmd/ixbench/reeval.go`" + `), with an IXP import policy: every
member has IRR files (its prefixes, exact, and the origins of its paths; ` + "`irr = \"reject\"`" + `), RPKI origin
validation with ` + "`rpki = \"reject-invalid\"`" + ` against one VRP per route (prefix, its length, the path's origin),
the default bogon, prefix-length and first-AS checks. Once every member holds the table, one input changes at
a time, and each change is then undone:

| phase | the change | from | until |
| --- | --- | --- | --- |
| irr | 1,000 single-homed prefixes of the member with the most leave its ` + "`irr_prefix_file`" + ` (rewritten) | SIGHUP | every other member has lost them (then: holds them again) |
| vrp (rtr) | 1% of the VRPs, covering single-homed prefixes, authorize another AS: the routes become invalid | ixbench's RTR cache (` + "`rtrcache.go`" + `, RFC 8210) writes the End of Data of the new serial | every member has lost them (then: holds them again) |
| vrp (file) | the same, in ` + "`vrp_file`" + ` | SIGHUP | the same |
| defaults | ` + "`[defaults] prefix_lengths_ipv4`" + ` from [8, 24] to [20, 24]: every IPv4 prefix shorter than /20 is filtered | SIGHUP | every member has lost them (then: holds them again) |

After each phase ixbench waits a settle time, then checks every member's prefix set against the expected
one (not only its count) and counts what each member was sent during the phase: any prefix outside the
change, or in the wrong direction, is a failure. "first member" is the time until the first
member received the first prefix of the change (the rest of "seconds" is the walk and the sending).
"CPU s ixrs / ixbench" is what the route server and the load generator (the members' sessions,
reading and checking what they were sent) used in that time, on the same two cores. Each change and
its undoing run several times in turn (` + "`-reeval-reps`" + `, 3 by default): "seconds" is the median with
the range, "first member" and the CPU columns are medians, "unexpected" and "members wrong" are summed
over the repetitions, and the targets are judged on the median.
UPDATEs are the total over all members; "unexpected" counts
prefixes sent outside the change or in the wrong direction, "reversed" the latter (a member passing through
an intermediate state, such as another announcer's route of a multi-homed prefix before its withdrawal).

RPKI changes reach a route server through RTR where an RTR cache runs (the "via rtr" tables); the "via
file" tables are for operators who hand it a VRP file (rpki-client's JSON) instead. "resident memory with
the table" below includes the VRPs and every member's IRR data; the same table without an import policy,
against BIRD's peak memory and in one invocation with it, is the workload of the same name in the sections
above.

`)
	for _, r := range g.Results {
		fmt.Fprintf(&b, "### %s: %d members, %d routes (%d prefixes), %d VRPs, VRPs via %s\n\n", r.Workload, r.Members, r.Routes,
			r.Prefixes, r.VRPs, r.VRPSource)
		fmt.Fprintf(&b, "Initial convergence %s s; resident memory with the table %d MiB, peak %d MiB; CPU %.1f s for the run.\n\n",
			fsec(r.Converge), r.RSSTable>>20, r.PeakRSS>>20, r.CPU)
		b.WriteString("| phase | via | prefixes | seconds | first member | CPU s ixrs / ixbench | UPDATEs | prefixes sent | unexpected | of them reversed | members wrong |\n")
		b.WriteString("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
		for _, row := range reevalRows(r.Phases) {
			t := "failed"
			switch {
			case len(row.secs) == 1 && row.failed == 0:
				t = fmt.Sprintf("%.3f", row.secs[0])
			case len(row.secs) > 0:
				t = fmt.Sprintf("%.3f (%.3f–%.3f)", median(row.secs), slices.Min(row.secs), slices.Max(row.secs))
				if row.failed > 0 {
					t += fmt.Sprintf(", %d of %d failed", row.failed, row.n)
				}
			}
			cpu := "–"
			if d, g := median(row.daemonCPU), median(row.genCPU); d > 0 || g > 0 {
				cpu = fmt.Sprintf("%.2f / %.2f", d, g)
			}
			fmt.Fprintf(&b, "| %s | %s | %d | %s | %.3f | %s | %d | %d | %d | %d | %d |\n", row.Name, row.Via, row.Changed, t, median(row.first), cpu,
				row.Updates, row.Prefixes, row.Unexpected, row.Reversed, row.WrongMembers)
		}
		if r.Failed != "" {
			fmt.Fprintf(&b, "\nThe run failed: %s\n", strings.ReplaceAll(r.Failed, "\n", " "))
		}
		fmt.Fprintf(&b, "\n%s\n\n", reevalTargets(&r))
	}
	return b.String()
}

// reevalTargets states issue 17's targets against a run: the IRR and VRP phases under 1 s, the
// [defaults] phase under 5 s, each with the right result and nothing else sent.
func reevalTargets(r *ReevalResult) string {
	var missed []string
	for _, row := range reevalRows(r.Phases) {
		limit := 1.0
		if strings.HasPrefix(row.Name, "defaults") {
			limit = 5
		}
		switch {
		case row.failed > 0:
			missed = append(missed, row.Name+" did not complete")
		case median(row.secs) >= limit:
			missed = append(missed, fmt.Sprintf("%s took %s s (target %.0f s)", row.Name, fsec(median(row.secs)), limit))
		}
		if !row.ok {
			missed = append(missed, row.Name+" sent or left a wrong result")
		}
	}
	if len(missed) == 0 {
		return "Targets (IRR and VRP changes under 1 s, [defaults] under 5 s, nothing else sent): met."
	}
	return "Targets (IRR and VRP changes under 1 s, [defaults] under 5 s, nothing else sent) not met: " + strings.Join(missed, "; ") + "."
}

// reevalRow is one phase of a run over its repetitions: the first repetition's counts of what was
// sent (the same change each time), with the unexpected prefixes and wrong members summed over all
// of them, and the timings of those that completed.
type reevalRow struct {
	ReevalPhase
	n, failed                      int
	secs, first, daemonCPU, genCPU []float64
	ok                             bool // every completed repetition left the right result, sending nothing else
}

// reevalRows groups phases by name and source, in the order they first ran.
func reevalRows(phases []ReevalPhase) []*reevalRow {
	var rows []*reevalRow
	by := map[string]*reevalRow{}
	for _, ph := range phases {
		k := ph.Name + "\x00" + ph.Via
		row := by[k]
		if row == nil {
			row = &reevalRow{ReevalPhase: ph, ok: true}
			row.Unexpected, row.Reversed, row.WrongMembers = 0, 0, 0
			by[k] = row
			rows = append(rows, row)
		}
		row.n++
		row.Unexpected += ph.Unexpected
		row.Reversed += ph.Reversed
		row.WrongMembers += ph.WrongMembers
		if ph.Seconds < 0 {
			row.failed++
			continue
		}
		row.ok = row.ok && ph.ok()
		row.secs = append(row.secs, ph.Seconds)
		row.first = append(row.first, ph.FirstSeconds)
		row.daemonCPU = append(row.daemonCPU, ph.DaemonCPU)
		row.genCPU = append(row.genCPU, ph.GenCPU)
	}
	return rows
}
