package main

import (
	"bytes"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/ixrs/ixrs/admin"
	"github.com/ixrs/ixrs/lookingglass"
)

// TestSummaryMarks: the summary's last column and show neighbor mark a dynamic member with its
// range and an administrative shutdown with its message and time; a problem with the state file is
// a warning above the table.
func TestSummaryMarks(t *testing.T) {
	since := time.Date(2026, 12, 4, 23, 15, 0, 0, time.UTC)
	s := &admin.Summary{StateProblem: "state not written; it will not survive a restart: disk full", Neighbors: []admin.Neighbor{
		{Session: lookingglass.Session{Member: "A", ASN: 65001, Neighbor: netip.MustParseAddr("192.0.2.1")},
			AdminDown: true, AdminMessage: "ticket 4711", AdminSince: since},
		{Session: lookingglass.Session{Member: "lan-AS65020-192.0.2.20", ASN: 65020, Neighbor: netip.MustParseAddr("192.0.2.20")},
			Dynamic: true, Range: "lan"},
	}}
	var b bytes.Buffer
	printSummary(&b, s)
	lines := strings.Split(b.String(), "\n")
	want := map[string]string{"192.0.2.1 ": "admin down: ticket 4711", "192.0.2.20 ": "dynamic (lan)"}
	for prefix, mark := range want {
		found := false
		for _, l := range lines {
			if strings.HasPrefix(l, prefix) {
				found = true
				if !strings.HasSuffix(l, mark) {
					t.Errorf("summary line %q does not end with %q", l, mark)
				}
			}
		}
		if !found {
			t.Errorf("no summary line for %s:\n%s", prefix, b.String())
		}
	}
	if !strings.Contains(b.String(), "warning: state not written") {
		t.Errorf("no warning about the state file:\n%s", b.String())
	}
	if strings.Count(b.String(), "dynamic") != 1 {
		t.Errorf("only the dynamic member is marked dynamic:\n%s", b.String())
	}

	b.Reset()
	printNeighbors(&b, s)
	for _, w := range []string{`Administratively down since 2026-12-04T23:15:00Z: "ticket 4711"`, "Dynamic member of member_range lan"} {
		if !strings.Contains(b.String(), w) {
			t.Errorf("show neighbor lacks %q:\n%s", w, b.String())
		}
	}
}
