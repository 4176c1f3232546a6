package demo

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ixrs/ixrs/config"
	"github.com/ixrs/ixrs/daemon"
	"github.com/ixrs/ixrs/lookingglass"
	"github.com/ixrs/ixrs/policy"
	"github.com/ixrs/ixrs/rs"
)

// base is the route server part of the demo's configuration, as cmd/routeserver's default.toml has
// it, with an ephemeral port.
const base = `[server]
asn = 64500
router_id = "192.0.2.1"
listen = ["127.0.0.1:0"]
peering_lans = ["127.0.0.0/8", "::1/128"]
[lookingglass]
listen = ""
[defaults]
rpki = "off"
irr = "off"
`

func TestDescriptionMarksDemo(t *testing.T) {
	if DescriptionPrefix != lookingglass.DemoDescriptionPrefix {
		t.Fatalf("demo members are described %q, the looking glass marks %q", DescriptionPrefix, lookingglass.DemoDescriptionPrefix)
	}
}

func TestValidate(t *testing.T) {
	ms := DefaultMembers()
	if err := Validate(ms); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		edit func(ms []Member)
		want string
	}{
		{"duplicate address", func(ms []Member) { ms[1].Addr = ms[0].Addr }, "also Northwind Transit's"},
		{"not loopback", func(ms []Member) { ms[0].Addr = netip.MustParseAddr("192.0.2.1") }, "not an IPv4 loopback"},
		{"asn", func(ms []Member) { ms[0].ASN = 1100101 }, "multiple of 100"},
		{"quote", func(ms []Member) { ms[0].Name = `a"b` }, "quotes"},
		{"size", func(ms []Member) { ms[0].IPv4 = 70000 }, "at most 60000"},
	} {
		ms := DefaultMembers()
		tc.edit(ms)
		if err := Validate(ms); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error with %q", tc.name, err, tc.want)
		}
	}
}

// TestTable: the members announce a few thousand prefixes, none twice within a group, and the
// misconfigured one has routes for every filter reason the demo can show.
func TestTable(t *testing.T) {
	ms := DefaultMembers()
	total4, total6 := 0, 0
	reasons := map[int]bool{}
	for i := range ms {
		v4, v6 := table(ms, i, 64500)
		seen := map[netip.Prefix]bool{}
		for _, gs := range [][]*group{v4, v6} {
			for _, g := range gs {
				for _, p := range g.prefixes {
					if seen[p] {
						t.Errorf("%s announces %s twice", ms[i].Name, p)
					}
					seen[p] = true
					if p.Addr().Is4() {
						total4++
					} else {
						total6++
					}
				}
				reasons[g.filtered] = true
			}
		}
	}
	if total4 < 3000 || total6 < 500 {
		t.Errorf("%d IPv4 and %d IPv6 routes, want a few thousand", total4, total6)
	}
	for _, r := range []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 13, 14, 15, 16} {
		if !reasons[r] {
			t.Errorf("no route for filter reason %d (%s)", r, policy.Reason(r))
		}
	}
}

// TestDemoAgainstRouteServer runs the route server in this process with the demo's configuration
// and members, and checks what it holds: every session up, routes filtered for every reason
// (with the reason the demo meant), blackholes accepted, and steered routes withheld from the
// member they name.
func TestDemoAgainstRouteServer(t *testing.T) {
	dir := t.TempDir()
	ms := DefaultMembers()
	tables, names, err := Files(dir, ms, 64500, true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(names); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(path, []byte(base+tables), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatalf("the generated configuration does not load: %v", err)
	}
	d, err := daemon.New(cfg, daemon.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dctx, dcancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- d.Run(dctx) }()
	defer func() {
		dcancel()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			t.Error("route server did not stop")
		}
	}()
	select {
	case <-d.Ready():
	case err := <-done:
		t.Fatalf("route server stopped: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("route server not ready")
	}
	addrs, err := d.ListenAddrs(ctx)
	if err != nil || len(addrs) != 1 {
		t.Fatalf("listen addrs %v, %v", addrs, err)
	}
	port := uint16(addrs[0].(*net.TCPAddr).Port)
	mctx, mcancel := context.WithCancel(ctx)
	mdone := make(chan error, 1)
	go func() {
		mdone <- Run(mctx, Options{RouteServer: netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), port), RouteServerASN: 64500,
			Members: ms, FlapEvery: time.Hour, ChurnEvery: time.Hour})
	}()
	defer func() {
		mcancel()
		if err := <-mdone; err != nil {
			t.Error(err)
		}
	}()

	// Every IPv4 session up and its table in: the received counts stop growing.
	rib := d.RIB()
	var sessions []rs.SessionStatus
	last, stable := -1, 0
	for deadline := time.Now().Add(90 * time.Second); stable < 3; {
		if time.Now().After(deadline) {
			t.Fatalf("demo tables did not settle: %d routes, sessions %+v", last, sessions)
		}
		time.Sleep(500 * time.Millisecond)
		if sessions, err = rib.Sessions(ctx); err != nil {
			t.Fatal(err)
		}
		n, up := 0, 0
		for _, s := range sessions {
			if s.Up {
				up++
			}
			for _, f := range s.Families {
				n += f.Received
			}
		}
		if up == len(ms) && n == last {
			stable++
		} else {
			stable = 0
		}
		last = n
	}
	if last < 4000 {
		t.Errorf("the route server holds %d routes of the demo members, want a few thousand", last)
	}

	routes := func(addr string, v rs.View) []rs.Route {
		var out []rs.Route
		cur := 0
		for range 100 {
			p, err := rib.Routes(ctx, rs.RoutesQuery{Neighbor: netip.MustParseAddr(addr), View: v, Cursor: cur, Limit: rs.MaxPage})
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, p.Routes...)
			if p.Next < 0 {
				return out
			}
			cur = p.Next
		}
		t.Fatal("more than 100 pages")
		return nil
	}
	// The misconfigured member: each filtered route has the reason the demo meant as its primary one.
	oddity := len(ms) - 1
	v4, _ := table(ms, oddity, 64500)
	meant := map[netip.Prefix]int{}
	for _, g := range v4 {
		if g.filtered != 0 {
			for _, p := range g.prefixes {
				meant[p] = g.filtered
			}
		}
	}
	got := map[int]bool{}
	for _, r := range routes(ms[oddity].Addr.String(), rs.ViewFiltered) {
		primary := r.Reasons.Primary()
		got[int(primary)] = true
		if want, ok := meant[r.Prefix]; ok && int(primary) != want {
			t.Errorf("%s filtered for %v, the demo meant %s", r.Prefix, r.Reasons, policy.Reason(want))
		}
	}
	for _, want := range []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 13, 14, 15, 16} {
		if !got[want] {
			t.Errorf("no route of %s filtered for %s", ms[oddity].Name, policy.Reason(want))
		}
	}
	// Mistral CDN: blackholes accepted; routes it keeps from the next member are not exported to it.
	mistral := slices.IndexFunc(ms, func(m Member) bool { return m.Steers })
	acc := routes(ms[mistral].Addr.String(), rs.ViewAccepted)
	hosts := 0
	for _, r := range acc {
		if r.Prefix.IsSingleIP() {
			hosts++
		}
	}
	if hosts == 0 {
		t.Errorf("no blackhole of %s accepted", ms[mistral].Name)
	}
	steered := v4Prefix(mistral, ms[mistral].IPv4+10)
	has := func(addr string) bool {
		return slices.ContainsFunc(routes(addr, rs.ViewExported), func(r rs.Route) bool { return r.Prefix == steered })
	}
	if has(ms[mistral+1].Addr.String()) || !has(ms[mistral+3].Addr.String()) {
		t.Errorf("%s (tagged do-not-announce-to %s) is sent to %s: %v, to %s: %v", steered, ms[mistral+1].Name,
			ms[mistral+1].Name, has(ms[mistral+1].Addr.String()), ms[mistral+3].Name, has(ms[mistral+3].Addr.String()))
	}
}
