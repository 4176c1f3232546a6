package peers

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

type gobgp struct {
	*proc
	apiPort int // gRPC on 127.0.0.1
}

// StartGoBGP starts gobgpd as a member.
//
// gobgpd's config file cannot hold routes, so Config.Announce and
// AnnounceRoutes go through `gobgp global rib add` once the gRPC API (on a
// free 127.0.0.1 port; pprof disabled) answers. NoFourOctetAS is not
// supported: gobgpd 3.10 always sends the 4-octet AS capability. When it
// connects, gobgpd waits 5-10 s before the first attempt. gobgpd treats
// UPDATEs with a loopback NEXT_HOP as withdraw, so the speaker's routes must
// carry real next hops.
func StartGoBGP(t testing.TB, c Config) Peer {
	t.Helper()
	Require(t, "gobgpd", "gobgp")
	c, err := c.normalize()
	if err != nil {
		t.Fatalf("gobgp: %v", err)
	}
	if c.Role != "" {
		t.Fatal("gobgp: Role is not supported (gobgpd 3.10 has no BGP roles)")
	}
	if c.AddPathRx {
		t.Fatal("gobgp: AddPathRx is BIRD and FRR only for now")
	}
	if (c.GRRecovery || c.LLGRStaleTime > 0) && c.GracefulRestart == 0 {
		t.Fatal("gobgp: GRRecovery and LLGRStaleTime need GracefulRestart")
	}
	if c.NoFourOctetAS {
		t.Fatal("gobgp: NoFourOctetAS is not supported by gobgpd (no knob to drop the 4-octet AS capability)")
	}
	g := &gobgp{}
	if g.apiPort, err = freePort(netip.MustParseAddr("127.0.0.1")); err != nil {
		t.Fatalf("gobgp: %v", err)
	}
	conf := filepath.Join(c.Dir, "gobgpd.toml")
	if err := writeFile(conf, gobgpConfig(c)); err != nil {
		t.Fatalf("gobgp: %v", err)
	}
	ctx := context.Background()
	if err := checkConfig(ctx, conf, "gobgpd", "-d", "-f", conf); err != nil {
		t.Fatalf("gobgp: %v", err)
	}
	argv := []string{
		"gobgpd", "-f", conf, "-p",
		// Without --api-hosts gRPC listens on :50051 on every address,
		// and pprof takes localhost:6060; both collide between instances.
		"--api-hosts", fmt.Sprintf("127.0.0.1:%d", g.apiPort), "--pprof-disable",
	}
	if c.GRRecovery {
		// Restarting: the OPEN sets the restart-state and forwarding-state
		// bits, and gobgpd holds its routes back until the neighbor's
		// End-of-RIB.
		argv = append(argv, "-r")
	}
	p, err := startProc(t, "gobgp", c, filepath.Join(c.Dir, "gobgpd.log"), nil, argv)
	if err != nil {
		t.Fatal(err)
	}
	g.proc = p
	if err := p.waitUp(ctx, func() (bool, error) {
		_, err := g.cli(ctx, "global")
		return err == nil, err
	}); err != nil {
		fatalStart(t, p, err)
	}
	if err := g.AnnounceRoutes(ctx, c.Announce); err != nil {
		fatalStart(t, p, err)
	}
	return g
}

func gobgpConfig(c Config) string {
	var sb strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&sb, format+"\n", args...) }
	w("# Written by internal/peers for a test; see gobgp.go.")
	w("[global.config]")
	w("  as = %d", c.LocalAS)
	w("  router-id = %q", c.RouterID)
	if c.ListenPort != 0 {
		w("  port = %d", c.ListenPort)
	} else {
		w("  port = -1 # no BGP listener") // the default would be *:179
	}
	w("  local-address-list = [%q]", c.LocalAddr)
	w("[[neighbors]]")
	w("  [neighbors.config]")
	w("    neighbor-address = %q", c.PeerAddr)
	w("    peer-as = %d", c.PeerAS)
	if c.MD5Password != "" {
		w("    auth-password = %q", c.MD5Password)
	}
	w("  [neighbors.transport.config]")
	w("    local-address = %q", c.LocalAddr)
	w("    remote-port = %d", c.PeerPort)
	if c.Passive {
		w("    passive-mode = true")
	}
	if c.ebgp() {
		w("  [neighbors.ebgp-multihop.config]")
		w("    enabled = true")
		w("    multihop-ttl = 2")
	}
	if c.GracefulRestart > 0 {
		w("  [neighbors.graceful-restart.config]")
		w("    enabled = true")
		w("    restart-time = %d", c.GracefulRestart)
		if c.LLGRStaleTime > 0 {
			w("    long-lived-enabled = true")
		}
	}
	w("  [neighbors.timers.config]")
	// The default connect-retry of 120 s would leave a member idle for
	// minutes when the speaker starts after it. gobgpd raises anything
	// below 5 s to 5 s and waits 5-10 s before its first attempt.
	w("    connect-retry = 5")
	w("    hold-time = %d", c.HoldTime)
	w("    keepalive-interval = %d", c.keepalive())
	// The transparent route server's AS_PATH does not start with its AS;
	// gobgpd does not enforce first AS, so nothing to switch off.
	for _, f := range []string{"ipv4-unicast", "ipv6-unicast"} {
		w("  [[neighbors.afi-safis]]")
		w("    [neighbors.afi-safis.config]")
		w("      afi-safi-name = %q", f)
		if c.GracefulRestart > 0 {
			// The family in the GR capability; killed (not stopped with
			// SIGTERM, which sends a NOTIFICATION), gobgpd then restarts
			// gracefully.
			w("    [neighbors.afi-safis.mp-graceful-restart.config]")
			w("      enabled = true")
		}
		if c.LLGRStaleTime > 0 {
			w("    [neighbors.afi-safis.long-lived-graceful-restart.config]")
			w("      enabled = true")
			w("      restart-time = %d", c.LLGRStaleTime)
		}
	}
	return sb.String()
}

// cli runs the gobgp client against this instance.
func (g *gobgp) cli(ctx context.Context, args ...string) ([]byte, error) {
	return run(ctx, nil, append([]string{"gobgp", "-u", "127.0.0.1", "-p", strconv.Itoa(g.apiPort)}, args...)...)
}

func gobgpFamily(p netip.Prefix) string {
	if p.Addr().Is4() {
		return "ipv4"
	}
	return "ipv6"
}

func (g *gobgp) AnnounceRoutes(ctx context.Context, routes []Announce) error {
	if err := validateAnnounces(routes); err != nil {
		return fmt.Errorf("gobgp: %w", err)
	}
	for _, a := range routes {
		args := []string{"global", "rib", "-a", gobgpFamily(a.Prefix), "add", a.Prefix.String(),
			"origin", "igp", "nexthop", a.NextHop.String()}
		if len(a.ASPathPrepend) > 0 {
			// gobgpd puts its own AS in front on eBGP sessions.
			args = append(args, "aspath", uintsToStrings(a.ASPathPrepend, ","))
		}
		if a.HasMED {
			args = append(args, "med", strconv.FormatUint(uint64(a.MED), 10))
		}
		if len(a.Communities) > 0 {
			args = append(args, "community", strings.Join(a.Communities, ","))
		}
		if len(a.LargeCommunities) > 0 {
			args = append(args, "large-community", strings.Join(a.LargeCommunities, ","))
		}
		if _, err := g.cli(ctx, args...); err != nil {
			return fmt.Errorf("gobgp: announce %s: %w", a.Prefix, err)
		}
	}
	return nil
}

func (g *gobgp) WithdrawRoutes(ctx context.Context, prefixes []netip.Prefix) error {
	for _, p := range prefixes {
		if _, err := g.cli(ctx, "global", "rib", "-a", gobgpFamily(p), "del", p.String()); err != nil {
			return fmt.Errorf("gobgp: withdraw %s: %w", p, err)
		}
	}
	return nil
}

func (g *gobgp) Established(ctx context.Context) (bool, error) {
	out, err := g.cli(ctx, "neighbor", g.cfg.PeerAddr.String(), "-j")
	if err != nil {
		return false, err
	}
	var n struct {
		State struct {
			SessionState json.RawMessage `json:"session_state"`
		} `json:"state"`
	}
	if err := json.Unmarshal(out, &n); err != nil {
		return false, fmt.Errorf("gobgp: neighbor json: %v", err)
	}
	// 6 is ESTABLISHED in gobgp's API enum; some versions print the name.
	s := strings.Trim(string(n.State.SessionState), `"`)
	return s == "6" || strings.EqualFold(s, "established"), nil
}

// gobgpPath is one path in `gobgp ... adj-in -j` output.
type gobgpPath struct {
	NLRI struct {
		Prefix string `json:"prefix"`
	} `json:"nlri"`
	Attrs []struct {
		Type    int    `json:"type"`
		NextHop string `json:"nexthop"`
		Metric  uint32 `json:"metric"`
		ASPaths []struct {
			ASNs []uint32 `json:"asns"`
		} `json:"as_paths"`
		Communities []uint32        `json:"communities"`
		Value       json.RawMessage `json:"value"`
	} `json:"attrs"`
}

// Received reads the Adj-RIB-In for the speaker (every route it sent, also
// ones that lost the best-path selection to gobgpd's own announcements).
func (g *gobgp) Received(ctx context.Context) ([]Route, error) {
	var rs []Route
	for _, fam := range []string{"ipv4", "ipv6"} {
		out, err := g.cli(ctx, "neighbor", g.cfg.PeerAddr.String(), "adj-in", "-a", fam, "-j")
		if err != nil {
			return nil, err
		}
		more, err := parseGoBGPRIB(out)
		if err != nil {
			return nil, err
		}
		rs = append(rs, more...)
	}
	return finishRoutes(rs), nil
}

func parseGoBGPRIB(out []byte) ([]Route, error) {
	if s := strings.TrimSpace(string(out)); s == "" || s == "null" || s == "Network not in table" {
		return nil, nil
	}
	var rib map[string][]gobgpPath
	if err := json.Unmarshal(out, &rib); err != nil {
		return nil, fmt.Errorf("gobgp: rib json: %v: %.200s", err, out)
	}
	var rs []Route
	for key, paths := range rib {
		for _, gp := range paths {
			pfx := gp.NLRI.Prefix
			if pfx == "" {
				pfx = key
			}
			p, err := netip.ParsePrefix(pfx)
			if err != nil {
				return nil, fmt.Errorf("gobgp: prefix %q: %v", pfx, err)
			}
			r := Route{Prefix: p}
			for _, a := range gp.Attrs {
				switch a.Type {
				case 2: // AS_PATH
					for _, seg := range a.ASPaths {
						r.ASPath = append(r.ASPath, seg.ASNs...)
					}
				case 3, 14: // NEXT_HOP, MP_REACH_NLRI
					if r.NextHop, err = netip.ParseAddr(a.NextHop); err != nil {
						return nil, fmt.Errorf("gobgp: %s next hop %q: %v", p, a.NextHop, err)
					}
				case 4: // MULTI_EXIT_DISC
					r.MED, r.HasMED = a.Metric, true
				case 8: // COMMUNITIES
					for _, c := range a.Communities {
						r.Communities = append(r.Communities, fmt.Sprintf("%d:%d", c>>16, c&0xffff))
					}
				case 32: // LARGE_COMMUNITY
					var lcs []struct{ ASN, LocalData1, LocalData2 uint32 }
					if err := json.Unmarshal(a.Value, &lcs); err != nil {
						return nil, fmt.Errorf("gobgp: %s large communities: %v", p, err)
					}
					for _, lc := range lcs {
						r.LargeCommunities = append(r.LargeCommunities, fmt.Sprintf("%d:%d:%d", lc.ASN, lc.LocalData1, lc.LocalData2))
					}
				}
			}
			rs = append(rs, r)
		}
	}
	return rs, nil
}
