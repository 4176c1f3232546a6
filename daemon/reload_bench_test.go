package daemon

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ixrs/ixrs/config"
)

// BenchmarkReload700 is Daemon.Reload at IXP scale: 700 members, each with IRR prefix and ASN files
// (570 prefixes each, 400k in all), a VRP file of 40,000 VRPs, no sessions. "unchanged" reloads the
// same files (what every reload costs before it changes anything), "defaults" flips a [defaults]
// key that applies to every member.
//
//	go test ./daemon -run '^$' -bench Reload700 -benchtime 5x -p 1
func BenchmarkReload700(b *testing.B) {
	const members, perMember, vrps = 700, 570, 40_000
	dir := b.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "irr"), 0o755); err != nil {
		b.Fatal(err)
	}
	var v strings.Builder
	v.WriteString(`{"roas": [`)
	for i := range vrps {
		if i > 0 {
			v.WriteString(",")
		}
		fmt.Fprintf(&v, `{"prefix": "%d.%d.%d.0/24", "maxLength": 24, "asn": %d}`, 11+i>>16, (i>>8)&255, i&255, 4200000000+i%members)
	}
	v.WriteString("]}")
	writeFile(b, filepath.Join(dir, "vrps.json"), v.String())
	var ms strings.Builder
	for m := range members {
		var p strings.Builder
		p.WriteString(`{"NN": [`)
		for i := range perMember {
			if i > 0 {
				p.WriteString(",")
			}
			n := m*perMember + i
			fmt.Fprintf(&p, `{"prefix": "%d.%d.%d.0/24", "exact": true}`, 11+n>>16, (n>>8)&255, n&255)
		}
		p.WriteString("]}")
		writeFile(b, filepath.Join(dir, "irr", fmt.Sprintf("m%d.json", m)), p.String())
		writeFile(b, filepath.Join(dir, "irr", fmt.Sprintf("m%d.asns", m)), fmt.Sprintf("%d\n%d\n", 4200000000+m, 64600+m))
		fmt.Fprintf(&ms, "\n[[member]]\nname = \"m%d\"\nasn = %d\nneighbors = [\"127.1.%d.%d\"]\npassive = true\nirr_prefix_file = \"irr/m%d.json\"\nirr_asn_file = \"irr/m%d.asns\"\n",
			m, 4200000000+m, m>>7, 1+m&127, m, m)
	}
	conf := func(lenMin int) string {
		return fmt.Sprintf(`[server]
asn = 65000
router_id = "10.0.0.1"
listen = ["127.0.0.1:0"]
peering_lans = ["127.0.0.0/8"]

[lookingglass]
listen = ""

[rpki]
vrp_file = "vrps.json"

[defaults]
next_hop = "any"
rpki = "reject-invalid"
irr = "reject"
prefix_lengths_ipv4 = [%d, 24]
`, lenMin) + ms.String()
	}
	path := filepath.Join(dir, "config.toml")
	writeFile(b, path, conf(8))
	cfg, err := config.Load(path)
	if err != nil {
		b.Fatal(err)
	}
	d, err := New(cfg, Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Load: func() (*config.Config, error) {
		return config.Load(path)
	}})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	b.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			b.Error("daemon did not stop")
		}
	})
	select {
	case <-d.Ready():
	case err := <-done:
		b.Fatalf("daemon stopped: %v", err)
	case <-time.After(60 * time.Second):
		b.Fatal("daemon not ready")
	}
	b.Run("unchanged", func(b *testing.B) {
		for b.Loop() {
			if res, err := d.Reload(ctx); err != nil || res.Members != members {
				b.Fatalf("reload: %+v, %v", res, err)
			}
		}
	})
	i := 0 // across runs of the sub-benchmark (-count), so that every op flips the key
	b.Run("defaults", func(b *testing.B) {
		for b.Loop() {
			i++
			writeFile(b, path, conf(8+i%2))
			if res, err := d.Reload(ctx); err != nil || res.PolicyChanged != members {
				b.Fatalf("reload: %+v, %v", res, err)
			}
		}
	})
}

func writeFile(tb testing.TB, path, content string) {
	tb.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		tb.Fatal(err)
	}
}
