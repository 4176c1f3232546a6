package daemon

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ixrs/ixrs/config"
	"github.com/ixrs/ixrs/lookingglass"
	"github.com/ixrs/ixrs/metrics"
	"github.com/ixrs/ixrs/rs"
	"github.com/ixrs/ixrs/speaker"
)

func TestPhaseOrder(t *testing.T) {
	if rs.NumPhases != metrics.NumPhases || rs.PhaseControl != metrics.PhaseControl || rs.PhaseInbound != metrics.PhaseInbound ||
		rs.PhaseOutbound != metrics.PhaseOutbound || rs.PhaseBackground != metrics.PhaseBackground {
		t.Fatal("rs and metrics number the loop phases differently")
	}
}

func snapshotOf(t *testing.T, src metrics.Source) *metrics.Snapshot {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	snap, err := src.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return snap
}

func sessionIn(snap *metrics.Snapshot, member string) *metrics.Session {
	for i := range snap.Sessions {
		if snap.Sessions[i].Member == member {
			return &snap.Sessions[i]
		}
	}
	return nil
}

// TestMetricsSource: the adapter joins the RIB's and the speaker's view of each session: state,
// counts per family with reject reasons, messages, NOTIFICATIONs, and a session closed by its
// max-prefix limit shown as blocked with the limit until it is back.
func TestMetricsSource(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.toml")
	writeConfig(t, path, testServer+memberTOML("A", 65001, "127.0.3.1", "max_prefix_ipv4 = 3\nmax_prefix_action = \"shutdown\"\nprefix_lengths_ipv4 = [8, 23]\n")+
		memberTOML("B", 65002, "127.0.3.2", ""))
	d, port := testDaemon(t, path)
	reloads := metrics.NewReloads(time.Now())
	src := d.MetricsSource(reloads)
	a := startMember(t, port, "127.0.3.1", 65001)
	b := startMember(t, port, "127.0.3.2", 65002)
	eventually(t, "sessions up", func() bool { ua, _, _, _ := a.state(); ub, _, _, _ := b.state(); return ua && ub })
	a.announce(t, 65001, "11.0.0.0/16", "11.0.2.0/24")
	eventually(t, "B has A's /16", func() bool { _, _, n, _ := b.state(); return n == 1 })

	snap := snapshotOf(t, src)
	if len(snap.Sessions) != 2 || snap.RIB.Sessions != 2 || snap.RIB.SessionsUp != 2 || snap.RIB.Routes != 2 {
		t.Fatalf("snapshot: %d sessions, RIB %+v", len(snap.Sessions), snap.RIB)
	}
	sa, sb := sessionIn(snap, "A"), sessionIn(snap, "B")
	if sa.State != uint8(speaker.StateEstablished) || sa.ASN != 65001 || sa.Neighbor != netip.MustParseAddr("127.0.3.1") ||
		sa.Established.IsZero() || sa.MessagesIn[metrics.MsgOpen] != 1 || sa.MessagesIn[metrics.MsgUpdate] == 0 ||
		sa.BytesIn[metrics.MsgUpdate] == 0 {
		t.Errorf("session A: %+v", sa)
	}
	var fa metrics.Family
	for _, f := range sa.Families {
		if f.AFI == metrics.IPv4 {
			fa = f
		}
	}
	if fa.Received != 2 || fa.Accepted != 1 || fa.Filtered != 1 || fa.MaxPrefixLimit != 3 || fa.MaxPrefixBlocked ||
		len(fa.FilteredBy) != 1 || fa.FilteredBy[0] != (metrics.ReasonCount{Reason: 1, N: 1}) { // 1: prefix too long
		t.Errorf("A ipv4: %+v", fa)
	}
	if len(sb.Families) == 0 || sb.Families[0].Exported != 1 {
		t.Errorf("B: %+v", sb.Families)
	}
	var phases uint64
	for _, c := range snap.RIB.Phases[metrics.PhaseInbound].Counts {
		phases += c
	}
	if phases == 0 || snap.RIB.Passes == 0 {
		t.Errorf("no loop phases counted: %+v", snap.RIB.Phases[metrics.PhaseInbound])
	}

	a.announce(t, 65001, "11.0.3.0/24", "11.0.4.0/24")
	eventually(t, "A closed over its limit", func() bool {
		s := sessionIn(snapshotOf(t, src), "A")
		return s.State != uint8(speaker.StateEstablished) && len(s.Families) == 1 && s.Families[0].MaxPrefixBlocked
	})
	sa = sessionIn(snapshotOf(t, src), "A")
	if f := sa.Families[0]; f.AFI != metrics.IPv4 || f.MaxPrefixLimit != 3 || sa.Flaps != 1 ||
		len(sa.Notifications) != 1 || sa.Notifications[0] != (metrics.NotificationCount{Code: 6, Subcode: 1, Sent: true, N: 1}) {
		t.Errorf("A closed: families %+v, flaps %d, notifications %+v", sa.Families, sa.Flaps, sa.Notifications)
	}
	if n, err := d.ClearMaxPrefix(context.Background(), "A"); n != 1 || err != nil {
		t.Fatalf("ClearMaxPrefix: %d, %v", n, err)
	}
	eventually(t, "A back, not blocked", func() bool {
		s := sessionIn(snapshotOf(t, src), "A")
		if s.State != uint8(speaker.StateEstablished) {
			return false
		}
		for _, f := range s.Families {
			if f.MaxPrefixBlocked {
				return false
			}
		}
		return true
	})
}

// nullOut is a member's output that takes everything.
type nullOut struct{}

func (nullOut) Queue(b []byte) (int, error) { return 0, nil }

// BenchmarkMetricsScrape1000 is a whole /metrics request (snapshot through the real adapter, one
// RIB request, and the text) against a running route server with 1,000 configured sessions, 500
// of them up in the RIB with 20 routes each. Run it with -benchtime 20x: every iteration is a
// real scrape.
func BenchmarkMetricsScrape1000(b *testing.B) {
	var cfg strings.Builder
	cfg.WriteString(strings.Replace(testServer, `listen = ["127.0.0.1:0"]`, `listen = []`, 1))
	for i := range 1000 {
		fmt.Fprintf(&cfg, "\n[[member]]\nname = \"Member %d\"\nasn = %d\nneighbors = [\"10.%d.%d.1\"]\npassive = true\n", i, 100000+i, i/250, i%250)
	}
	c, err := config.Parse("bench.toml", []byte(cfg.String()))
	if err != nil {
		b.Fatal(err)
	}
	d, err := New(c, Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go d.Run(ctx)
	<-d.Ready()
	for i := range 500 {
		addr := netip.AddrFrom4([4]byte{10, byte(i / 250), byte(i % 250), 1})
		p, err := d.RIB().Peer(ctx, addr)
		if err != nil {
			b.Fatal(err)
		}
		if err := p.Up(nullOut{}, rs.SessionInfo{RouterID: addr, Families: []speaker.Family{speaker.IPv4Unicast, speaker.IPv6Unicast},
			Encode: speaker.EncodeOptions{FourOctetAS: true, MaxMessage: speaker.MaxMessageLen}}); err != nil {
			b.Fatal(err)
		}
		var nlri []netip.Prefix
		for j := range 20 {
			nlri = append(nlri, netip.PrefixFrom(netip.AddrFrom4([4]byte{11, byte(i / 250), byte(i%250) ^ byte(j<<3), 0}), 24))
		}
		p.Receive(&speaker.Update{Attrs: &speaker.Attrs{NextHop: addr, ASPath: speaker.ASPath{{Type: speaker.SegSequence, ASNs: []uint32{uint32(100000 + i)}}}}, NLRI: nlri})
	}
	h := metrics.Handler(metrics.NewCollector(d.MetricsSource(nil), metrics.Options{}))
	req, _ := http.NewRequest("GET", "/metrics", nil)
	w := &countingWriter{h: http.Header{}}
	h.ServeHTTP(w, req) // warm up: the RIB settles the routes first
	b.ReportAllocs()
	for b.Loop() {
		w.n = 0
		h.ServeHTTP(w, req)
	}
	b.ReportMetric(float64(w.n), "bytes/scrape")
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/scrape")
}

type countingWriter struct {
	h http.Header
	n int
}

func (w *countingWriter) Header() http.Header         { return w.h }
func (w *countingWriter) Write(p []byte) (int, error) { w.n += len(p); return len(p), nil }
func (w *countingWriter) WriteHeader(int)             {}

// TestMetricsLookingGlassTimes: the looking glass's request durations reach the snapshot once
// SetLookingGlassTimes names them, with the looking glass's bounds; before, there are none.
func TestMetricsLookingGlassTimes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.toml")
	writeConfig(t, path, testServer+memberTOML("A", 65001, "127.0.3.1", ""))
	d, _ := testDaemon(t, path)
	src := d.MetricsSource(nil)
	if snap := snapshotOf(t, src); len(snap.LookingGlass) != 0 {
		t.Fatalf("request durations before a looking glass: %+v", snap.LookingGlass)
	}
	d.SetLookingGlassTimes(func() []lookingglass.RequestDurations {
		return []lookingglass.RequestDurations{{Endpoint: "/api/v1/lookup",
			Counts: make([]uint64, len(lookingglass.DurationBounds)+1), Sum: time.Second}}
	})
	snap := snapshotOf(t, src)
	if len(snap.LookingGlass) != 1 {
		t.Fatalf("request durations: %+v", snap.LookingGlass)
	}
	e := snap.LookingGlass[0]
	if e.Name != "/api/v1/lookup" || e.Durations.Sum != time.Second || len(e.Durations.Counts) != len(e.Durations.Bounds)+1 {
		t.Errorf("endpoint %+v", e)
	}
	// ReadGaps has its buckets too (a histogram the collector would otherwise drop).
	if h := snap.RIB.ReadGaps; len(h.Counts) != len(h.Bounds)+1 {
		t.Errorf("read gaps %+v", h)
	}
}
