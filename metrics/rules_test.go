package metrics

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/ixrs/ixrs/internal/peers"
)

// The alert rules and the Grafana dashboard are checked against the real promtool and against the
// names this package exports, so that a renamed metric breaks a test, not an operator's alerts.

const (
	rulesFile     = "../docs/alerts/ixrs.rules.yml"
	rulesTestFile = "../docs/alerts/ixrs.rules_test.yml"
	dashboardFile = "../docs/grafana/ixrs.json"
)

func promtool(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("promtool", args...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// TestAlertRules: promtool accepts the rules, and every rule fires and stays quiet where its unit
// tests say.
func TestAlertRules(t *testing.T) {
	peers.Require(t, "promtool")
	promtool(t, ".", "check", "rules", rulesFile)
	promtool(t, filepath.Dir(rulesTestFile), "test", "rules", filepath.Base(rulesTestFile))
}

// TestAlertRulesTested: every alert has a firing and a quiet case in the unit tests.
func TestAlertRulesTested(t *testing.T) {
	rules := read(t, rulesFile)
	tests := read(t, rulesTestFile)
	alerts := regexp.MustCompile(`(?m)^\s+- alert: (\w+)`).FindAllStringSubmatch(rules, -1)
	if len(alerts) < 10 {
		t.Fatalf("only %d alerts found", len(alerts))
	}
	for _, a := range alerts {
		name := a[1]
		cases := regexp.MustCompile(`alertname: `+name+`\n\s+exp_alerts:( \[\])?`).FindAllStringSubmatch(tests, -1)
		firing, quiet := false, false
		for _, c := range cases {
			if c[1] == "" {
				firing = true
			} else {
				quiet = true
			}
		}
		if !firing || !quiet {
			t.Errorf("%s: firing case %v, quiet case %v", name, firing, quiet)
		}
		if !regexp.MustCompile(`(?s)alert: ` + name + `\n.*?severity: \w+.*?runbook_url: "[^"]*operations\.md#[\w-]+"`).MatchString(rules) {
			t.Errorf("%s: no severity or runbook_url", name)
		}
	}
}

// TestRunbookAnchors: every runbook link names a heading of docs/operations.md.
func TestRunbookAnchors(t *testing.T) {
	ops := read(t, "../docs/operations.md")
	anchors := map[string]bool{}
	for _, h := range regexp.MustCompile(`(?m)^#+ (.+)$`).FindAllStringSubmatch(ops, -1) {
		anchors[anchor(h[1])] = true
	}
	for _, m := range regexp.MustCompile(`operations\.md#([\w-]+)`).FindAllStringSubmatch(read(t, rulesFile), -1) {
		if !anchors[m[1]] {
			t.Errorf("runbook anchor #%s is not a heading of docs/operations.md", m[1])
		}
	}
}

// anchor is GitHub's anchor of a Markdown heading.
func anchor(h string) string {
	h = strings.ToLower(strings.TrimSpace(h))
	var b strings.Builder
	for _, r := range h {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-', r == '_':
			b.WriteRune(r)
		case r == ' ':
			b.WriteByte('-')
		}
	}
	return b.String()
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// exported is every series name this package can export (histograms with their suffixes).
func exported() map[string]bool {
	names := map[string]bool{"ixrs_build_info": true, dSnapshotError: true, dSnapshotTime: true}
	for _, m := range allMetrics {
		names[m.name] = true
		if m.kind == kHistogram {
			for _, s := range []string{"_bucket", "_sum", "_count"} {
				names[m.name+s] = true
			}
		}
	}
	return names
}

// checkNames fails for every ixrs_ name in expr that is not exported.
func checkNames(t *testing.T, where, expr string) {
	t.Helper()
	names := exported()
	for _, n := range regexp.MustCompile(`\bixrs_\w+`).FindAllString(expr, -1) {
		if !names[n] {
			t.Errorf("%s: %s is not a metric ixrs exports", where, n)
		}
	}
}

// TestRuleNames: the rules use only metrics that exist.
func TestRuleNames(t *testing.T) {
	checkNames(t, rulesFile, read(t, rulesFile))
}

// dashboard is the part of a Grafana dashboard the test reads.
type dashboard struct {
	Title  string `json:"title"`
	Panels []struct {
		Title   string `json:"title"`
		Targets []struct {
			Expr string `json:"expr"`
		} `json:"targets"`
	} `json:"panels"`
	Templating struct {
		List []struct {
			Name  string `json:"name"`
			Query any    `json:"query"`
		} `json:"list"`
	} `json:"templating"`
}

// TestDashboard: the dashboard is valid JSON, each query uses exported metrics only, and each
// parses as PromQL: promtool checks them as recording rules, with Grafana's variables filled in.
func TestDashboard(t *testing.T) {
	var d dashboard
	if err := json.Unmarshal([]byte(read(t, dashboardFile)), &d); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	var exprs []string
	for _, p := range d.Panels {
		for _, q := range p.Targets {
			if q.Expr == "" {
				continue
			}
			checkNames(t, "panel "+p.Title, q.Expr)
			exprs = append(exprs, q.Expr)
		}
	}
	for _, v := range d.Templating.List {
		if q, ok := v.Query.(string); ok {
			checkNames(t, "variable "+v.Name, q)
		}
	}
	if len(exprs) < 10 {
		t.Fatalf("only %d queries in the dashboard", len(exprs))
	}
	peers.Require(t, "promtool")
	fill := strings.NewReplacer("$__rate_interval", "5m", "$__interval", "1m", "$__range", "1h",
		"${member:regex}", ".*", "$member", ".*", "$instance", ".*", "$job", "ixrs", "$afi", ".*")
	var b strings.Builder
	b.WriteString("groups:\n  - name: dashboard\n    rules:\n")
	for i, e := range exprs {
		q, _ := json.Marshal(fill.Replace(e)) // a JSON string is a YAML string
		fmt.Fprintf(&b, "      - record: dashboard:query%d\n        expr: %s\n", i, q)
	}
	path := filepath.Join(t.TempDir(), "dashboard.rules.yml")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	promtool(t, ".", "check", "rules", path)
}

// TestDocumented: docs/metrics.md lists every metric, and nothing that does not exist.
func TestDocumented(t *testing.T) {
	doc := read(t, "../docs/metrics.md")
	names := exported()
	for n := range names {
		if strings.HasSuffix(n, "_bucket") || strings.HasSuffix(n, "_sum") || strings.HasSuffix(n, "_count") {
			continue
		}
		if !strings.Contains(doc, "`"+n+"`") {
			t.Errorf("%s is not in docs/metrics.md", n)
		}
	}
	for _, m := range regexp.MustCompile("`(ixrs_\\w+)`").FindAllStringSubmatch(doc, -1) {
		if !names[m[1]] {
			t.Errorf("docs/metrics.md names %s, which is not exported", m[1])
		}
	}
}
