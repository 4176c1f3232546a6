package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"golang.org/x/time/rate"

	"github.com/ixrs/ixrs/config"
	"github.com/ixrs/ixrs/speaker"
)

// logLines collects JSON log lines.
type logLines struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logLines) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(b)
}

// traces returns the trace lines logged so far, decoded.
func (l *logLines) traces(t *testing.T) []map[string]any {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	for _, line := range strings.Split(l.buf.String(), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if m["msg"] == "bgp message" {
			out = append(out, m)
		}
	}
	return out
}

func jsonLogger(w io.Writer) *slog.Logger { return slog.New(slog.NewJSONHandler(w, nil)) }

// testPeer is a speaker peer that is never started: what the tracer reads of a session.
func testPeer(t testing.TB) *speaker.Peer {
	t.Helper()
	sp, err := speaker.New(speaker.Config{ASN: 65000, RouterID: netip.MustParseAddr("10.0.0.1"), Logger: jsonLogger(io.Discard)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sp.Close)
	p, err := sp.AddPeer(speaker.PeerConfig{Name: "A", PeerAddr: netip.MustParseAddr("192.0.2.11"), PeerAS: 65001}, speaker.NopHandler{})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func prefixes(n int, format string) []netip.Prefix {
	var out []netip.Prefix
	for i := range n {
		out = append(out, netip.MustParsePrefix(fmt.Sprintf(format, i)))
	}
	return out
}

// TestTracerLines: the line logged for each message type, decoded.
func TestTracerLines(t *testing.T) {
	p := testPeer(t)
	opt := speaker.EncodeOptions{FourOctetAS: true, MaxMessage: speaker.MaxMessageLen}
	attrs := &speaker.Attrs{Origin: speaker.OriginIGP, NextHop: netip.MustParseAddr("192.0.2.11"),
		ASPath: speaker.ASPath{{Type: speaker.SegSequence, ASNs: []uint32{65001, 4200000001}}},
		MED:    5, HasMED: true,
		Communities:      []uint32{65000<<16 | 65001},
		LargeCommunities: []speaker.LargeCommunity{{Global: 65000, Local1: 1, Local2: 2}}}
	announce, _ := speaker.AppendAnnounce(nil, speaker.IPv4Unicast, speaker.AppendAttrs(nil, attrs, speaker.IPv4Unicast, opt),
		netip.Addr{}, netip.Addr{}, prefixes(20, "11.0.%d.0/24"), speaker.MaxMessageLen)
	withdraw, _ := speaker.AppendWithdraw(nil, speaker.IPv6Unicast, prefixes(2, "2001:db8:%d::/48"), speaker.MaxMessageLen)
	open := &speaker.Open{Version: 4, MyAS: 65001, HoldTime: 90, RouterID: netip.MustParseAddr("10.0.0.11")}
	open.Caps = speaker.Capabilities{Families: []speaker.Family{speaker.IPv4Unicast}, RouteRefresh: true, FourOctetAS: true, AS4: 65001,
		HasRole: true, Role: speaker.RoleRSClient,
		LongLivedGR: []speaker.LLGRFamily{{Family: speaker.IPv4Unicast, ForwardingState: true, StaleTime: 3600}}}
	note := speaker.AdminShutdown(speaker.SubAdminShutdown, "maintenance")

	tests := []struct {
		name string
		dir  speaker.Direction
		typ  uint8
		msg  []byte
		want map[string]any // fields the line must have, as JSON decodes them
		not  []string       // fields it must not have
	}{
		{"update", speaker.Received, speaker.MsgUpdate, announce, map[string]any{
			"dir": "received", "type": "update", "neighbor": "192.0.2.11", "families": []any{"ipv4-unicast"},
			"announced_count": 20.0, "as_path": "65001 4200000001", "next_hop": "192.0.2.11", "origin": "igp", "med": 5.0,
			"communities": []any{"65000:65001"}, "large_communities": []any{"65000:1:2"},
			"announced": append(stringsAny(prefixes(16, "11.0.%d.0/24")), "+4 more"),
		}, []string{"withdrawn", "raw", "suppressed", "error"}},
		{"withdraw", speaker.Sent, speaker.MsgUpdate, withdraw, map[string]any{
			"dir": "sent", "families": []any{"ipv6-unicast"}, "withdrawn_count": 2.0,
			"withdrawn": stringsAny(prefixes(2, "2001:db8:%d::/48")),
		}, []string{"announced", "as_path"}},
		{"end of rib", speaker.Sent, speaker.MsgUpdate, speaker.AppendEndOfRIB(nil, speaker.IPv6Unicast), map[string]any{
			"end_of_rib": "ipv6-unicast"}, []string{"announced", "withdrawn"}},
		{"open", speaker.Received, speaker.MsgOpen, speaker.EncodeOpen(open), map[string]any{
			"type": "open", "open_asn": 65001.0, "hold_time": 90.0, "router_id": "10.0.0.11",
			"capabilities": []any{"mp:ipv4-unicast", "route-refresh", "4-octet-as:65001", "llgr:ipv4-unicast=3600(forwarding)", "role:rs-client"}}, nil},
		{"notification", speaker.Sent, speaker.MsgNotification, speaker.EncodeNotification(note), map[string]any{
			"type": "notification", "code": 6.0, "subcode": 2.0, "text": note.String()}, nil},
		{"refresh", speaker.Received, speaker.MsgRouteRefresh,
			speaker.EncodeRouteRefresh(speaker.RouteRefresh{Family: speaker.IPv6Unicast, Subtype: speaker.RefreshEoRR}), map[string]any{
				"type": "refresh", "afi": 2.0, "safi": 1.0, "family": "ipv6-unicast", "subtype": "eorr"}, nil},
		{"keepalive", speaker.Received, speaker.MsgKeepalive, speaker.EncodeKeepalive(), map[string]any{
			"type": "keepalive", "len": 19.0}, []string{"error"}},
		{"malformed update", speaker.Received, speaker.MsgUpdate, []byte("\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x00\x18\x02\x00\x09\x00"),
			map[string]any{"type": "update"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var l logLines
			tr := newTracer(jsonLogger(&l), config.DefaultTracing(), false)
			tr.trace(p, tc.dir, tc.typ, tc.msg)
			lines := l.traces(t)
			if len(lines) != 1 {
				t.Fatalf("%d lines, want 1", len(lines))
			}
			for k, v := range tc.want {
				if got, _ := json.Marshal(lines[0][k]); !bytes.Equal(got, mustJSON(v)) {
					t.Errorf("%s = %s, want %s", k, got, mustJSON(v))
				}
			}
			for _, k := range tc.not {
				if _, ok := lines[0][k]; ok {
					t.Errorf("%s present: %v", k, lines[0][k])
				}
			}
			if tc.name == "malformed update" && lines[0]["error"] == nil {
				t.Errorf("no error field: %v", lines[0])
			}
		})
	}

	// raw: the message's bytes in hex.
	var l logLines
	tr := newTracer(jsonLogger(&l), config.DefaultTracing(), true)
	tr.trace(p, speaker.Sent, speaker.MsgKeepalive, speaker.EncodeKeepalive())
	if lines := l.traces(t); len(lines) != 1 || lines[0]["raw"] != strings.Repeat("ff", 16)+"001304" {
		t.Fatalf("raw: %v", lines)
	}
}

func stringsAny(ps []netip.Prefix) []any {
	out := make([]any, len(ps))
	for i, p := range ps {
		out[i] = p.String()
	}
	return out
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// TestTracerRateLimit: beyond the burst, lines are suppressed and counted; the next line let through
// reports the count, once.
func TestTracerRateLimit(t *testing.T) {
	p := testPeer(t)
	var l logLines
	// One line a day sustained: only the burst passes while the test runs.
	tr := newTracer(jsonLogger(&l), config.Tracing{Rate: 1.0 / 86400, Burst: 3}, false)
	for range 10 {
		tr.trace(p, speaker.Received, speaker.MsgKeepalive, speaker.EncodeKeepalive())
	}
	lines := l.traces(t)
	if len(lines) != 3 {
		t.Fatalf("%d lines, want the burst of 3", len(lines))
	}
	for _, line := range lines {
		if _, ok := line["suppressed"]; ok {
			t.Fatalf("suppressed reported before anything was: %v", line)
		}
	}
	tr.lim.SetLimit(rate.Inf) // the limiter lets the next lines through
	tr.trace(p, speaker.Received, speaker.MsgKeepalive, speaker.EncodeKeepalive())
	tr.trace(p, speaker.Received, speaker.MsgKeepalive, speaker.EncodeKeepalive())
	lines = l.traces(t)
	if len(lines) != 5 || lines[3]["suppressed"] != 7.0 || lines[4]["suppressed"] != nil {
		t.Fatalf("after the limit: %v", lines[3:])
	}
}

func TestParseTraceTypes(t *testing.T) {
	set, canon, err := parseTraceTypes([]string{"refresh", "open", "open"})
	if err != nil || !slices.Equal(canon, []string{"open", "refresh"}) || !set.Has(speaker.MsgOpen) || !set.Has(speaker.MsgRouteRefresh) ||
		set.Has(speaker.MsgUpdate) {
		t.Fatalf("%v %v %v", set, canon, err)
	}
	if _, canon, _ := parseTraceTypes([]string{"all"}); !slices.Equal(canon, config.TraceTypes) {
		t.Fatalf("all: %v", canon)
	}
	if _, _, err := parseTraceTypes([]string{"updates"}); !errors.Is(err, ErrBadTrace) {
		t.Fatalf("unknown type: %v", err)
	}
}

// hasTrace reports whether a trace line of member matches typ, dir and, if prefix is set, announces it.
func hasTrace(lines []map[string]any, member, typ, dir, prefix string) bool {
	for _, l := range lines {
		if l["member"] != member || l["type"] != typ || l["dir"] != dir {
			continue
		}
		if prefix == "" {
			return true
		}
		if ann, ok := l["announced"].([]any); ok && slices.Contains(ann, any(prefix)) {
			return true
		}
	}
	return false
}

// TestDaemonTrace: tracing from the configuration, switched at run time on a live session, and changed
// by reloads — none of which resets a session.
func TestDaemonTrace(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.toml")
	cfgA := func(extra string) string { return memberTOML("A", 65001, "127.0.3.1", extra) }
	cfgB := func(extra string) string { return memberTOML("B", 65002, "127.0.3.2", extra) }
	writeConfig(t, path, testServer+cfgA("")+cfgB("trace = [\"open\"]\n"))
	var l logLines
	d, port := testDaemonLogging(t, path, jsonLogger(&l))
	a := startMember(t, port, "127.0.3.1", 65001)
	b := startMember(t, port, "127.0.3.2", 65002)
	eventually(t, "sessions up", func() bool { ua, _, _, _ := a.state(); ub, _, _, _ := b.state(); return ua && ub })
	eventually(t, "B's OPENs traced", func() bool {
		lines := l.traces(t)
		return hasTrace(lines, "B", "open", "received", "") && hasTrace(lines, "B", "open", "sent", "")
	})
	if hasTrace(l.traces(t), "A", "open", "received", "") {
		t.Fatal("A traced without a trace key")
	}

	// At run time, by neighbor address.
	name, spec, err := d.SetTrace(context.Background(), "127.0.3.1", []string{"update"}, true)
	if err != nil || name != "A" || !slices.Equal(spec.Types, []string{"update"}) || !spec.Raw {
		t.Fatalf("SetTrace: %q %+v %v", name, spec, err)
	}
	a.announce(t, 65001, "11.0.1.0/24")
	b.announce(t, 65002, "12.0.1.0/24")
	eventually(t, "A's UPDATEs traced both ways", func() bool {
		lines := l.traces(t)
		return hasTrace(lines, "A", "update", "received", "11.0.1.0/24") && hasTrace(lines, "A", "update", "sent", "12.0.1.0/24")
	})
	for _, line := range l.traces(t) {
		if line["member"] == "A" && line["type"] == "update" && line["raw"] == nil {
			t.Fatalf("trace_raw set, no raw field: %v", line)
		}
		if line["member"] == "B" && line["type"] == "update" {
			t.Fatalf("B traces OPENs only: %v", line)
		}
	}

	// A reload that does not change A's trace keys keeps the run-time setting.
	writeConfig(t, path, testServer+cfgA("description = \"a\"\n")+cfgB("trace = [\"open\"]\n"))
	if res, err := d.Reload(context.Background()); err != nil || res.SessionsReset != 0 {
		t.Fatalf("reload: %+v %v", res, err)
	}
	a.announce(t, 65001, "11.0.2.0/24")
	eventually(t, "A still traced", func() bool { return hasTrace(l.traces(t), "A", "update", "received", "11.0.2.0/24") })

	// A reload that changes A's trace keys replaces it: now NOTIFICATIONs only; B's trace goes.
	writeConfig(t, path, testServer+cfgA("description = \"a\"\ntrace = [\"notification\"]\n")+cfgB(""))
	changes, _, err := d.Diff(context.Background(), mustLoad(t, path))
	if err != nil || !slices.ContainsFunc(changes, func(c Change) bool { return c.Member == "A" && strings.Contains(c.Detail, "trace") }) {
		t.Fatalf("diff: %v %v", changes, err)
	}
	res, err := d.Reload(context.Background())
	if err != nil || res.SessionsReset != 0 || res.Changed != 0 {
		t.Fatalf("reload: %+v %v", res, err)
	}
	a.announce(t, 65001, "11.0.3.0/24")
	// The reader traces before it hands the UPDATE on: once B has the route, the decision was made.
	eventually(t, "B has 11.0.3.0/24", func() bool {
		b.mu.Lock()
		defer b.mu.Unlock()
		return b.rib[netip.MustParsePrefix("11.0.3.0/24")] != nil
	})
	if hasTrace(l.traces(t), "A", "update", "received", "11.0.3.0/24") {
		t.Fatal("the run-time setting outlived a reload that changed A's trace keys")
	}
	if _, ups, _, _ := a.state(); ups != 1 {
		t.Errorf("A's session was reset (%d ups)", ups)
	}
	if _, ups, _, _ := b.state(); ups != 1 {
		t.Errorf("B's session was reset (%d ups)", ups)
	}

	if _, _, err := d.SetTrace(context.Background(), "nobody", []string{"update"}, false); !errors.Is(err, ErrUnknownMember) {
		t.Errorf("unknown member: %v", err)
	}
	if _, _, err := d.SetTrace(context.Background(), "A", []string{"updates"}, false); !errors.Is(err, ErrBadTrace) {
		t.Errorf("unknown type: %v", err)
	}
	if _, spec, err := d.SetTrace(context.Background(), "A", nil, true); err != nil || spec.On() || spec.Raw {
		t.Errorf("off: %+v %v", spec, err)
	}
}

func mustLoad(t *testing.T, path string) *config.Config {
	t.Helper()
	c, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// FuzzTraceLine: any bytes a neighbor sends, as any message type, give exactly one trace line of
// valid JSON naming that type, and never a panic (the tracer decodes what the reader may not have).
func FuzzTraceLine(f *testing.F) {
	opt := speaker.EncodeOptions{FourOctetAS: true, MaxMessage: speaker.MaxMessageLen}
	attrs := &speaker.Attrs{NextHop: netip.MustParseAddr("192.0.2.1"), ASPath: speaker.ASPath{{Type: speaker.SegSequence, ASNs: []uint32{65001}}}}
	upd, _ := speaker.AppendAnnounce(nil, speaker.IPv6Unicast, speaker.AppendAttrs(nil, attrs, speaker.IPv6Unicast, opt),
		netip.MustParseAddr("2001:db8::1"), netip.Addr{}, prefixes(3, "2001:db8:%d::/48"), speaker.MaxMessageLen)
	open := &speaker.Open{Version: 4, MyAS: 65001, HoldTime: 90, RouterID: netip.MustParseAddr("10.0.0.11")}
	open.Caps.GracefulRestart = &speaker.GracefulRestart{RestartTime: 120, Families: []speaker.GRFamily{{Family: speaker.IPv4Unicast}}}
	for _, seed := range []struct {
		typ uint8
		msg []byte
	}{
		{speaker.MsgUpdate, upd},
		{speaker.MsgOpen, speaker.EncodeOpen(open)},
		{speaker.MsgNotification, speaker.EncodeNotification(speaker.AdminShutdown(speaker.SubAdminReset, "x"))},
		{speaker.MsgRouteRefresh, speaker.EncodeRouteRefresh(speaker.RouteRefresh{Family: speaker.IPv4Unicast, Subtype: 7})},
		{speaker.MsgKeepalive, speaker.EncodeKeepalive()},
		{speaker.MsgRouteRefresh, []byte("short")},
		{9, speaker.EncodeKeepalive()},
	} {
		f.Add(seed.typ, seed.msg)
	}
	p := testPeer(f)
	f.Fuzz(func(t *testing.T, typ uint8, msg []byte) {
		var l logLines
		tr := newTracer(jsonLogger(&l), config.DefaultTracing(), true)
		tr.trace(p, speaker.Received, typ, msg)
		lines := l.traces(t)
		if len(lines) != 1 || lines[0]["type"] != traceTypeName(typ) || lines[0]["raw"] != fmt.Sprintf("%x", msg) {
			t.Fatalf("lines %v", lines)
		}
	})
}

// TestDaemonTraceDynamic: a dynamic member is traced by its generated name or its address for as
// long as its session lasts; off stops it.
func TestDaemonTraceDynamic(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.toml")
	writeConfig(t, path, testServer+memberTOML("A", 65001, "127.0.3.1", "")+testRange)
	var l logLines
	d, port := testDaemonLogging(t, path, jsonLogger(&l))
	ctx := context.Background()
	a := startMember(t, port, "127.0.3.1", 65001)
	x := startMember(t, port, "127.0.4.1", 65010)
	eventually(t, "sessions up", func() bool { ua, _, _, _ := a.state(); ux, _, _, _ := x.state(); return ua && ux })
	const name = "lan-AS65010-127.0.4.1"
	if _, _, err := d.SetTrace(ctx, "127.0.4.7", []string{"update"}, false); !errors.Is(err, ErrUnknownMember) {
		t.Fatalf("an address no dynamic member has: %v", err)
	}
	var got string
	eventually(t, "SetTrace by address", func() bool {
		n, spec, err := d.SetTrace(ctx, "127.0.4.1", []string{"update"}, false)
		got = n
		return err == nil && slices.Equal(spec.Types, []string{"update"})
	})
	if got != name {
		t.Fatalf("SetTrace named %q, want %q", got, name)
	}
	x.announce(t, 65010, "11.0.10.0/24")
	a.announce(t, 65001, "11.0.1.0/24")
	eventually(t, "X's UPDATEs traced both ways", func() bool {
		lines := l.traces(t)
		return hasTrace(lines, name, "update", "received", "11.0.10.0/24") && hasTrace(lines, name, "update", "sent", "11.0.1.0/24")
	})
	if hasTrace(l.traces(t), "A", "update", "received", "") {
		t.Fatal("A traced")
	}

	// Off, by name: X's next UPDATE reaches A untraced.
	if n, _, err := d.SetTrace(ctx, name, nil, false); err != nil || n != name {
		t.Fatalf("SetTrace off: %q %v", n, err)
	}
	x.announce(t, 65010, "11.0.11.0/24")
	eventually(t, "A has X's second route", func() bool { _, _, n, _ := a.state(); return n == 2 })
	if hasTrace(l.traces(t), name, "update", "received", "11.0.11.0/24") {
		t.Fatal("traced after off")
	}
}
