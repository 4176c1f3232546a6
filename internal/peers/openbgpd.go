package peers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	bgpdrun "github.com/ixrs/ixrs/internal/openbgpd"
)

type openbgpd struct {
	*proc
	sock string
}

// StartOpenBGPD starts OpenBGPD's bgpd (-d, foreground; three processes in
// one group) as a member.
//
// Announcements are `network` statements, and `bgpctl network add/delete`
// at run time; `set nexthop no-modify` keeps their next hop on the eBGP
// multihop session. ASPathPrepend is not supported (OpenBGPD can only
// prepend its own or the neighbor's AS). OpenBGPD's JSON shows a MED of 0 for
// routes without one, so Received sets HasMED only for a non-zero MED.
// Without `listen on` bgpd would listen on *:179, so it always gets one on
// LocalAddr (a free port when ListenPort is 0). TCP MD5 works only on
// connections bgpd opens itself, so MD5Password with Passive is refused.
// After a session error (e.g. its hold timer expired while paused) bgpd waits
// its idle-hold time, about 30 s, before connecting again.
func StartOpenBGPD(t testing.TB, c Config) Peer {
	t.Helper()
	Require(t, "bgpd", "bgpctl")
	if os.Geteuid() != 0 {
		// bgpd insists on root: it chroots and drops to _openbgpd.
		msg := "openbgpd: bgpd must run as root"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	c, err := c.normalize()
	if err != nil {
		t.Fatalf("openbgpd: %v", err)
	}
	if c.GracefulRestart > 0 || c.GRRecovery || c.LLGRStaleTime > 0 || c.Role != "" || c.AddPathRx {
		t.Fatal("openbgpd: GracefulRestart, GRRecovery, LLGRStaleTime, Role and AddPathRx are not supported here for now")
	}
	if c.Passive && c.MD5Password != "" {
		// Seen with 7.7: SYNs to the listener count as TCPMD5Unexpected
		// in nstat and are dropped; connecting out with MD5 works.
		t.Fatal("openbgpd: MD5Password with Passive is not supported: OpenBGPD 7.7 on Linux sets no MD5 key on its listening socket")
	}
	for _, a := range c.Announce {
		if len(a.ASPathPrepend) > 0 {
			t.Fatalf("openbgpd: announce %s: ASPathPrepend is not supported by OpenBGPD", a.Prefix)
		}
	}
	if err := bgpdrun.ChrootDir(); err != nil {
		t.Fatalf("openbgpd: %v", err)
	}
	o := &openbgpd{sock: filepath.Join(socketDir(t, c.Dir, "openbgpd.sock"), "openbgpd.sock")}
	listenPort := c.ListenPort
	if listenPort == 0 {
		if listenPort, err = freePort(c.LocalAddr); err != nil {
			t.Fatalf("openbgpd: %v", err)
		}
	}
	conf := filepath.Join(c.Dir, "openbgpd.conf")
	if err := writeFile(conf, o.config(c, listenPort)); err != nil {
		t.Fatalf("openbgpd: %v", err)
	}
	ctx := context.Background()
	if err := checkConfig(ctx, conf, "bgpd", "-n", "-f", conf); err != nil {
		t.Fatalf("openbgpd: %v", err)
	}
	p, err := startProc(t, "openbgpd", c, filepath.Join(c.Dir, "openbgpd.log"), nil, []string{"bgpd", "-d", "-v", "-f", conf})
	if err != nil {
		t.Fatal(err)
	}
	o.proc = p
	if err := p.waitUp(ctx, func() (bool, error) {
		if _, err := o.bgpctl(ctx, "show", "neighbor"); err != nil {
			return false, err
		}
		return listening(c.LocalAddr, listenPort)
	}); err != nil {
		fatalStart(t, p, err)
	}
	return o
}

func (o *openbgpd) config(c Config, listenPort int) string {
	var sb strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&sb, format+"\n", args...) }
	w("# Written by internal/peers for a test; see openbgpd.go.")
	w("AS %d", c.LocalAS)
	w("router-id %s", c.RouterID)
	w("listen on %s port %d", c.LocalAddr, listenPort)
	w("socket %q", o.sock)
	w("fib-update no")
	w("connect-retry 2") // default 120 s
	for _, a := range c.Announce {
		w("network %s set { %s }", a.Prefix, strings.Join(openbgpdSet(a), " "))
	}
	w("neighbor %s {", c.PeerAddr)
	w("  descr \"speaker\"")
	w("  remote-as %d", c.PeerAS)
	w("  local-address %s", c.LocalAddr)
	w("  port %d", c.PeerPort)
	if c.ebgp() {
		w("  multihop 2")
	}
	if c.Passive {
		w("  passive")
	}
	w("  holdtime %d", c.HoldTime)
	w("  holdtime min 3")
	// Required for a transparent route server: by default eBGP routes
	// whose AS_PATH does not start with the neighbor AS are rejected.
	w("  enforce neighbor-as no")
	if c.NoFourOctetAS {
		w("  announce as-4byte no")
	}
	if c.MD5Password != "" {
		w("  tcp md5sig password %s", c.MD5Password)
	}
	w("  announce IPv4 unicast")
	w("  announce IPv6 unicast")
	w("}")
	w("allow from any") // the default filter action is deny
	w("allow to any")
	// On eBGP multihop sessions bgpd sends its own address unless told
	// not to; `nexthop self` would even send ::1 for IPv6.
	w("match to any set nexthop no-modify")
	return sb.String()
}

// openbgpdSet gives the set-clause words for a's attributes, which are the
// same in bgpd.conf `set { }` and on bgpctl's command line.
func openbgpdSet(a Announce) []string {
	s := []string{"nexthop", a.NextHop.String()}
	if a.HasMED {
		s = append(s, "med", strconv.FormatUint(uint64(a.MED), 10))
	}
	for _, c := range a.Communities {
		s = append(s, "community", c)
	}
	for _, c := range a.LargeCommunities {
		s = append(s, "large-community", c)
	}
	return s
}

func (o *openbgpd) bgpctl(ctx context.Context, args ...string) ([]byte, error) {
	return run(ctx, nil, append([]string{"bgpctl", "-s", o.sock}, args...)...)
}

func (o *openbgpd) AnnounceRoutes(ctx context.Context, routes []Announce) error {
	if err := validateAnnounces(routes); err != nil {
		return fmt.Errorf("openbgpd: %w", err)
	}
	for _, a := range routes {
		if len(a.ASPathPrepend) > 0 {
			return fmt.Errorf("openbgpd: announce %s: ASPathPrepend: %w", a.Prefix, errors.ErrUnsupported)
		}
		args := append([]string{"network", "add", a.Prefix.String()}, openbgpdSet(a)...)
		if _, err := o.bgpctl(ctx, args...); err != nil {
			return fmt.Errorf("openbgpd: announce %s: %w", a.Prefix, err)
		}
	}
	return nil
}

// WithdrawRoutes removes prefixes, also ones from the config file.
func (o *openbgpd) WithdrawRoutes(ctx context.Context, prefixes []netip.Prefix) error {
	for _, p := range prefixes {
		if _, err := o.bgpctl(ctx, "network", "delete", p.String()); err != nil {
			return fmt.Errorf("openbgpd: withdraw %s: %w", p, err)
		}
	}
	return nil
}

func (o *openbgpd) Established(ctx context.Context) (bool, error) {
	out, err := o.bgpctl(ctx, "-j", "show", "neighbor", o.cfg.PeerAddr.String())
	if err != nil {
		return false, err
	}
	var n struct {
		Neighbors []struct {
			State string `json:"state"`
		} `json:"neighbors"`
	}
	if err := json.Unmarshal(out, &n); err != nil {
		return false, fmt.Errorf("openbgpd: neighbor json: %v", err)
	}
	return len(n.Neighbors) == 1 && n.Neighbors[0].State == "Established", nil
}

func (o *openbgpd) Received(ctx context.Context) ([]Route, error) {
	// Communities are only in the detail view.
	out, err := o.bgpctl(ctx, "-j", "show", "rib", "neighbor", o.cfg.PeerAddr.String(), "detail")
	if err != nil {
		return nil, err
	}
	return parseOpenBGPDRIB(out)
}

func parseOpenBGPDRIB(out []byte) ([]Route, error) {
	var rib struct {
		RIB []struct {
			Prefix           string   `json:"prefix"`
			ASPath           string   `json:"aspath"`
			ExitNextHop      string   `json:"exit_nexthop"`
			Metric           uint32   `json:"metric"`
			Communities      []string `json:"communities"`
			LargeCommunities []string `json:"large_communities"`
		} `json:"rib"`
	}
	if err := json.Unmarshal(out, &rib); err != nil {
		return nil, fmt.Errorf("openbgpd: rib json: %v: %.200s", err, out)
	}
	var rs []Route
	for _, e := range rib.RIB {
		p, err := netip.ParsePrefix(e.Prefix)
		if err != nil {
			return nil, fmt.Errorf("openbgpd: prefix %q: %v", e.Prefix, err)
		}
		r := Route{Prefix: p, MED: e.Metric, HasMED: e.Metric != 0, LargeCommunities: e.LargeCommunities}
		if r.NextHop, err = netip.ParseAddr(e.ExitNextHop); err != nil {
			return nil, fmt.Errorf("openbgpd: %s next hop %q: %v", p, e.ExitNextHop, err)
		}
		if e.ASPath != "empty" {
			if r.ASPath, err = parseASPath(e.ASPath); err != nil {
				return nil, fmt.Errorf("openbgpd: %s: %v", p, err)
			}
		}
		for _, c := range e.Communities {
			cc, err := canonCommunity(c)
			if err != nil {
				return nil, fmt.Errorf("openbgpd: %s: %v", p, err)
			}
			r.Communities = append(r.Communities, cc)
		}
		rs = append(rs, r)
	}
	return finishRoutes(rs), nil
}
