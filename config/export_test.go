package config

import (
	"slices"
	"strings"
	"testing"
	"time"
)

const exportBase = `
[server]
asn = 65000
router_id = "192.0.2.1"
`

func TestBMPDefaults(t *testing.T) {
	c, err := Parse("t.toml", []byte(exportBase+`
[[bmp]]
address = "127.0.0.1:11019"
[[bmp]]
address = "collector.example.net:11019"
name = "openbmp"
route_monitoring = ["adj-rib-out"]
stats_interval = "0s"
`))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.BMP) != 2 {
		t.Fatalf("%d collectors", len(c.BMP))
	}
	a, b := c.BMP[0], c.BMP[1]
	if !slices.Equal(a.RouteMonitoring, []string{"pre-policy", "post-policy"}) || a.StatsInterval != time.Minute || a.Name != "" {
		t.Errorf("defaults: %+v", a)
	}
	if !b.Monitors("adj-rib-out") || b.Monitors("pre-policy") || b.StatsInterval != 0 || b.Name != "openbmp" {
		t.Errorf("explicit: %+v", b)
	}
}

func TestBMPProblems(t *testing.T) {
	_, err := Parse("t.toml", []byte(exportBase+`
[[bmp]]
route_monitoring = ["pre-policy", "loc-rib"]
[[bmp]]
address = "127.0.0.1"
[[bmp]]
address = "127.0.0.1:11019"
[[bmp]]
address = "127.0.0.1:11019"
stats_interval = "-1s"
`))
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		`t.toml:6: bmp[0].address: required`,
		`bmp[0].route_monitoring[1] "loc-rib": must be one of`,
		`t.toml:9: bmp[1].address "127.0.0.1"`,
		`bmp[3]: collector "127.0.0.1:11019" is configured twice`,
		`bmp[3].stats_interval: must not be negative`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
}
