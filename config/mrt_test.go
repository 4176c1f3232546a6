package config

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestMRTUpdates(t *testing.T) {
	c, err := Parse("t.toml", []byte(exportBase+`
[mrt]
dump_dir = "mrt"
updates = true
updates_interval = "5m"
updates_keep = 288
updates_members = ["A", "B"]
`))
	if err != nil {
		t.Fatal(err)
	}
	m := c.MRT
	if !m.Updates || m.UpdatesInterval != 5*time.Minute || m.UpdatesKeep != 288 || !slices.Equal(m.UpdatesMembers, []string{"A", "B"}) {
		t.Errorf("decoded %+v", m)
	}
}

func TestMRTProblems(t *testing.T) {
	_, err := Parse("t.toml", []byte(exportBase+`
[mrt]
updates = true
updates_interval = "10s"
updates_keep = -1
updates_members = [""]
`))
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		`mrt.dump_dir: required with mrt.updates`,
		`t.toml:8: mrt.updates_interval 10s: must be at least 1m`,
		`mrt.updates_keep: must not be negative`,
		`mrt.updates_members[0]: must not be empty`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
}
