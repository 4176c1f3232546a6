package daemon

import (
	"context"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ixrs/ixrs/lookingglass"
	"github.com/ixrs/ixrs/rs"
	"github.com/ixrs/ixrs/speaker"
)

// TestLookingGlassSessionFlapsAndNotification: a member that shuts its session down with an RFC 9003
// message shows, in the looking glass's session, one flap and the NOTIFICATION it sent, in words.
func TestLookingGlassSessionFlapsAndNotification(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.toml")
	writeConfig(t, path, testServer+memberTOML("A", 65001, "127.0.3.1", "")+memberTOML("B", 65002, "127.0.3.2", ""))
	d, port := testDaemon(t, path)
	a := startMember(t, port, "127.0.3.1", 65001)
	eventually(t, "A up", func() bool { up, _, _, _ := a.state(); return up })
	session := func() lookingglass.Session {
		ss, err := d.LookingGlass().Sessions(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range ss {
			if s.Neighbor == netip.MustParseAddr("127.0.3.1") {
				return s
			}
		}
		t.Fatalf("no session for A in %+v", ss)
		return lookingglass.Session{}
	}
	if s := session(); s.Flaps != 0 || s.LastNotificationReceived != "" || s.LastNotificationSent != "" {
		t.Fatalf("before any flap: %+v", s)
	}
	n := speaker.AdminShutdown(speaker.SubAdminShutdown, "maintenance until 14:00")
	a.peer.Stop(&n)
	eventually(t, "A's flap seen", func() bool { return session().Flaps == 1 })
	s := session()
	if want := `Cease/Administrative Shutdown: "maintenance until 14:00"`; s.LastNotificationReceived != want {
		t.Errorf("last NOTIFICATION received %q, want %q", s.LastNotificationReceived, want)
	}
	if s.LastNotificationSent != "" {
		t.Errorf("last NOTIFICATION sent %q, want none", s.LastNotificationSent)
	}
	if !strings.Contains(s.LastError, "maintenance until 14:00") {
		t.Errorf("last error %q lacks the shutdown message", s.LastError)
	}
}

// TestNotExportedCodes pins the mapping of the RIB's export checks to the looking glass's
// not-exported reasons (RS:1102:N, docs/lookingglass.md): each reason its own code, "not to this
// member" and "not to any" apart, and the checks that are not reasons (sent, not best) none.
func TestNotExportedCodes(t *testing.T) {
	want := map[rs.ExportCheck]lookingglass.NotExportedReason{
		rs.ExportDenied:     lookingglass.NotExportedDenied,
		rs.ExportDeniedAll:  lookingglass.NotExportedDeniedAll,
		rs.ExportReceiverAS: lookingglass.NotExportedReceiverAS,
		rs.ExportRSASInPath: lookingglass.NotExportedRouteServerAS,
		rs.ExportFamily:     lookingglass.NotExportedFamily,
		rs.ExportOwnRoute:   lookingglass.NotExportedOwnRoute,
		rs.ExportLLGRStale:  lookingglass.NotExportedLLGRStale,
		rs.ExportOK:         0,
		rs.ExportNotBest:    0,
		rs.ExportRejected:   0, // not a candidate: it is in the announcer's filtered list instead
	}
	// A new export check must be given its code (or a reason why it has none) here.
	for c := rs.ExportCheck(0); c.String() != "unknown"; c++ {
		if _, ok := want[c]; !ok {
			t.Errorf("export check %d (%v) has no not-exported code in this test", c, c)
		}
	}
	for c, w := range want {
		if got := notExported(c); got != int(w) {
			t.Errorf("%v: code %d, want %d (%v)", c, got, w, w)
		}
	}
}
