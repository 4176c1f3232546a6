package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ixrs/ixrs/internal/peers"
)

// TestPrometheusAlerts runs the route server with real BIRD members and a real Prometheus that
// scrapes it every second and evaluates docs/alerts/ixrs.rules.yml with shortened `for:`: a member
// at its max-prefix warning level fires IxrsMaxPrefixNear; a stopped member fires IxrsSessionDown
// with its name and ASN, which resolves when it comes back. promtool lints a live scrape.
func TestPrometheusAlerts(t *testing.T) {
	peers.Require(t, "bird", "birdc", "prometheus", "promtool")
	lo := netip.MustParseAddr("127.0.0.1")
	metricsPort := peers.FreePort(t, lo)
	nh := adr("192.0.2.31")
	a := &member{name: "bird-a", start: peers.StartBIRD, addr: "127.0.1.31", as: 65031, routes: []peers.Announce{
		{Prefix: pfx("198.51.100.0/24"), NextHop: nh}, {Prefix: pfx("198.51.101.0/24"), NextHop: nh},
	}}
	b := &member{name: "bird-b", start: peers.StartBIRD, addr: "127.0.1.32", as: 65032, routes: []peers.Announce{
		{Prefix: pfx("203.0.113.0/24"), NextHop: adr("192.0.2.32")},
	}}
	cfg := strings.Replace(configFor(nil), "[defaults]", fmt.Sprintf("[lookingglass]\nlisten = \"\"\n\n[metrics]\nlisten = \"127.0.0.1:%d\"\n\n[defaults]", metricsPort), 1)
	cfg += fmt.Sprintf("\n[[member]]\nname = %q\nasn = %d\nneighbors = [%q]\npassive = true\nmax_prefix_ipv4 = 4\nmax_prefix_action = \"warn\"\n", a.name, a.as, a.addr)
	cfg += fmt.Sprintf("\n[[member]]\nname = %q\nasn = %d\nneighbors = [%q]\npassive = true\n", b.name, b.as, b.addr)
	rs := startRouteServer(t, cfg)
	target := fmt.Sprintf("127.0.0.1:%d", metricsPort)
	prom := startPrometheus(t, target)
	startMembers(t, rs, []*member{a, b})

	scrape := func() (string, error) {
		resp, err := http.Get("http://" + target + "/metrics")
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			return "", fmt.Errorf("status %d", resp.StatusCode)
		}
		return string(body), err
	}
	up := func(m *member) string {
		return fmt.Sprintf(`ixrs_session_up{member=%q,asn="%d",neighbor=%q} 1`, m.name, m.as, m.addr)
	}
	waitFor(t, "both sessions up in the metrics", 90*time.Second, func() (bool, string) {
		body, err := scrape()
		return err == nil && strings.Contains(body, up(a)) && strings.Contains(body, up(b)), fmt.Sprint(err)
	})

	// promtool lints a live scrape of the running route server.
	body, err := scrape()
	if err != nil {
		t.Fatal(err)
	}
	lint := exec.Command("promtool", "check", "metrics")
	lint.Stdin = strings.NewReader(body)
	if out, err := lint.CombinedOutput(); err != nil {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}

	// At 4 of 4 routes bird-a reaches its warning level (90%); action warn keeps it up.
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	more := []peers.Announce{{Prefix: pfx("198.51.102.0/24"), NextHop: nh}, {Prefix: pfx("198.51.103.0/24"), NextHop: nh}}
	if err := a.peer.AnnounceRoutes(ctx, more); err != nil {
		t.Fatal(err)
	}
	prom.waitAlert(t, "IxrsMaxPrefixNear", map[string]string{"member": "bird-a", "asn": "65031", "afi": "ipv4"}, "firing", 90*time.Second)

	// bird-b stops: its session-down alert fires with its name and ASN, and no other member's does.
	if err := b.peer.Stop(); err != nil {
		t.Fatal(err)
	}
	al := prom.waitAlert(t, "IxrsSessionDown", map[string]string{"member": "bird-b", "asn": "65032", "neighbor": "127.0.1.32"}, "firing", 90*time.Second)
	if s := al.Annotations["summary"]; !strings.Contains(s, "bird-b") || !strings.Contains(s, "AS65032") {
		t.Errorf("summary %q lacks the member's name or ASN", s)
	}
	for _, x := range prom.alerts(t) {
		if x.Labels["alertname"] == "IxrsSessionDown" && x.Labels["member"] != "bird-b" {
			t.Errorf("session-down alert for %s, which is up", x.Labels["member"])
		}
	}

	// bird-b comes back: the alert resolves (Prometheus drops it from the active alerts).
	startMembers(t, rs, []*member{b})
	prom.waitAlert(t, "IxrsSessionDown", map[string]string{"member": "bird-b"}, "", 90*time.Second)
}

// prometheus is a running Prometheus server.
type prometheus struct {
	url string
	log string
}

// startPrometheus runs Prometheus on loopback until the test ends, scraping target every second as
// job "ixrs" and evaluating the alert rules with their `for:` durations shortened to seconds.
func startPrometheus(t *testing.T, target string) *prometheus {
	t.Helper()
	dir := t.TempDir()
	rules, err := os.ReadFile("../docs/alerts/ixrs.rules.yml")
	if err != nil {
		t.Fatal(err)
	}
	// 5m → 5s, 10m → 10s, 1m → 1s: the same rules, on a test's time scale.
	short := regexp.MustCompile(`(?m)^(\s+for: )(\d+)m$`).ReplaceAll(rules, []byte("${1}${2}s"))
	if bytes.Equal(short, rules) {
		t.Fatal("no for: durations to shorten in the rules")
	}
	writeTestFile(t, filepath.Join(dir, "ixrs.rules.yml"), string(short))
	writeTestFile(t, filepath.Join(dir, "prometheus.yml"), fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - ixrs.rules.yml
scrape_configs:
  - job_name: ixrs
    static_configs:
      - targets: [%q]
`, target))
	port := peers.FreePort(t, netip.MustParseAddr("127.0.0.1"))
	p := &prometheus{url: fmt.Sprintf("http://127.0.0.1:%d", port), log: filepath.Join(dir, "prometheus.log")}
	logf, err := os.Create(p.log)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("prometheus", "--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "data"), fmt.Sprintf("--web.listen-address=127.0.0.1:%d", port))
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); logf.Close(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			b, _ := os.ReadFile(p.log)
			lines := strings.Split(string(b), "\n")
			if len(lines) > 30 {
				lines = lines[len(lines)-30:]
			}
			t.Logf("prometheus log (last lines):\n%s", strings.Join(lines, "\n"))
		}
	})
	waitFor(t, "prometheus scraping the route server", 60*time.Second, func() (bool, string) {
		var r struct {
			Data struct {
				ActiveTargets []struct {
					Health    string `json:"health"`
					LastError string `json:"lastError"`
				} `json:"activeTargets"`
			} `json:"data"`
		}
		if err := p.get("/api/v1/targets", &r); err != nil {
			return false, err.Error()
		}
		for _, x := range r.Data.ActiveTargets {
			if x.Health == "up" {
				return true, ""
			}
		}
		return false, fmt.Sprintf("%+v", r.Data.ActiveTargets)
	})
	return p
}

func (p *prometheus) get(path string, v any) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", p.url+path, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("%s: status %d", path, resp.StatusCode)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

type alert struct {
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	State       string            `json:"state"`
}

// alerts returns the active (pending and firing) alerts.
func (p *prometheus) alerts(t *testing.T) []alert {
	t.Helper()
	var r struct {
		Data struct {
			Alerts []alert `json:"alerts"`
		} `json:"data"`
	}
	if err := p.get("/api/v1/alerts", &r); err != nil {
		t.Fatal(err)
	}
	return r.Data.Alerts
}

// waitAlert waits until alert name with the given labels is in state ("firing", "pending"), or,
// with state "", until no such alert is active; it returns the alert.
func (p *prometheus) waitAlert(t *testing.T, name string, labels map[string]string, state string, timeout time.Duration) alert {
	t.Helper()
	var found alert
	waitFor(t, fmt.Sprintf("alert %s %v %q", name, labels, state), timeout, func() (bool, string) {
		all := p.alerts(t)
		var match *alert
		for i, a := range all {
			ok := a.Labels["alertname"] == name
			for k, v := range labels {
				ok = ok && a.Labels[k] == v
			}
			if ok {
				match = &all[i]
			}
		}
		if match == nil {
			return state == "", fmt.Sprintf("active alerts: %+v", all)
		}
		found = *match
		return match.State == state, fmt.Sprintf("active alerts: %+v", all)
	})
	return found
}
