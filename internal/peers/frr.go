package peers

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
)

const frrBGPD = "/usr/lib/frr/bgpd"

type frr struct {
	*proc
	vtyDir string

	mu     sync.Mutex // serialises vtysh configuration changes
	anns   *announceSet
	rmapN  int                     // last route-map number used
	rmapOf map[netip.Prefix]string // the route-map giving each announced prefix its attributes
}

// StartFRR starts FRR's bgpd on its own, without zebra (-Z), as a member.
//
// Each announced prefix is a `network` statement with its own route-map that
// sets next hop, MED, communities and prepends; `attribute-unchanged
// next-hop` keeps that next hop on the eBGP session. An outbound route-map
// lets only those prefixes out: FRR would otherwise re-advertise the routes it
// learned from the speaker back to it. FRR always attaches a MED to `network`
// routes (0 when the Announce has none). NoFourOctetAS is not supported: FRR 8.4
// has no per-capability knob (dont-capability-negotiate also drops IPv6).
// The vty listens only on a unix socket in Dir (-P 0), and BGP only when
// ListenPort is set (-p ListenPort -l LocalAddr, else -p 0). With AddPathRx
// Received returns every path the speaker sent for a prefix, one Route each
// (`show bgp ... json detail` lists them all).
func StartFRR(t testing.TB, c Config) Peer {
	t.Helper()
	Require(t, frrBGPD, "vtysh")
	c, err := c.normalize()
	if err != nil {
		t.Fatalf("frr: %v", err)
	}
	if c.GRRecovery || c.LLGRStaleTime > 0 {
		t.Fatal("frr: GRRecovery and LLGRStaleTime are not supported (FRR 8.4 has no recovery switch, and no LLGR restarting side)")
	}
	if c.NoFourOctetAS {
		t.Fatal("frr: NoFourOctetAS is not supported by FRR 8.4 (no knob for the 4-octet AS capability alone)")
	}
	f := &frr{vtyDir: filepath.Join(socketDir(t, c.Dir, "frr-run/bgpd.vty"), "frr-run"), anns: newAnnounceSet(c.Announce), rmapOf: map[netip.Prefix]string{}}
	if err := os.MkdirAll(f.vtyDir, 0o755); err != nil {
		t.Fatalf("frr: %v", err)
	}
	conf := filepath.Join(c.Dir, "frr.conf")
	if err := writeFile(conf, f.config(c)); err != nil {
		t.Fatalf("frr: %v", err)
	}
	ctx := context.Background()
	if err := checkConfig(ctx, conf, frrBGPD, "-C", "-f", conf, "-S", "-Z", "--vty_socket", f.vtyDir); err != nil {
		t.Fatalf("frr: %v", err)
	}
	argv := []string{frrBGPD, "-f", conf, "-i", filepath.Join(c.Dir, "frr.pid"), "-S", "-Z", "-P", "0", "--vty_socket", f.vtyDir}
	if c.ListenPort != 0 {
		argv = append(argv, "-p", strconv.Itoa(c.ListenPort), "-l", c.LocalAddr.String())
	} else {
		argv = append(argv, "-p", "0")
	}
	p, err := startProc(t, "frr", c, filepath.Join(c.Dir, "frr.log"), nil, argv)
	if err != nil {
		t.Fatal(err)
	}
	f.proc = p
	if err := p.waitUp(ctx, func() (bool, error) {
		_, err := f.vtysh(ctx, "show bgp summary")
		return err == nil, err
	}); err != nil {
		fatalStart(t, p, err)
	}
	return f
}

func (f *frr) config(c Config) string {
	var sb strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&sb, format+"\n", args...) }
	w("! Written by internal/peers for a test; see frr.go.")
	// traditional: no "datacenter" timers, and eBGP accepts an AS_PATH
	// that does not start with the neighbor AS.
	w("frr defaults traditional")
	w("hostname member-frr")
	w("log stdout informational")
	for _, a := range f.anns.list() {
		for _, l := range f.prefixListLines(a.Prefix, false) {
			w("%s", l)
		}
		for _, l := range f.routeMapLines(a) {
			w("%s", l)
		}
	}
	nb := c.PeerAddr.String()
	for _, fam := range []string{"4", "6"} {
		// An undefined prefix-list never matches, so an empty
		// announcement set lets nothing out.
		w("route-map PEERS-OUT%s permit 10", fam)
		w(" match %s address prefix-list PEERS-OUT%s", map[string]string{"4": "ip", "6": "ipv6"}[fam], fam)
		w("exit")
	}
	w("router bgp %d", c.LocalAS)
	w(" bgp router-id %s", c.RouterID)
	w(" no bgp ebgp-requires-policy")
	// Logs session changes and received NOTIFICATIONs, with RFC 9003 shutdown communications.
	w(" bgp log-neighbor-changes")
	w(" no bgp network import-check") // there is no zebra to resolve anything
	w(" no bgp default ipv4-unicast")
	if c.GracefulRestart > 0 {
		// Restarting mode: the GR capability with every activated family. preserve-fw-state sets
		// their forwarding-state bits, without which a helper removes the stale routes as soon as
		// the member is back instead of at its End-of-RIB (RFC 4724 §4.2).
		w(" bgp graceful-restart")
		w(" bgp graceful-restart restart-time %d", c.GracefulRestart)
		w(" bgp graceful-restart preserve-fw-state")
	}
	w(" neighbor %s remote-as %d", nb, c.PeerAS)
	w(" neighbor %s port %d", nb, c.PeerPort)
	w(" neighbor %s update-source %s", nb, c.LocalAddr)
	if c.ebgp() {
		w(" neighbor %s disable-connected-check", nb)
	}
	w(" neighbor %s timers connect 2", nb) // default 120 s between attempts
	w(" neighbor %s timers %d %d", nb, c.keepalive(), c.HoldTime)
	w(" no neighbor %s enforce-first-as", nb)
	if c.Passive {
		w(" neighbor %s passive", nb)
	}
	if c.MD5Password != "" {
		w(" neighbor %s password %s", nb, c.MD5Password)
	}
	if c.Role != "" {
		// FRR spells BIRD's role names with a dash (rs_client: rs-client).
		l := fmt.Sprintf(" neighbor %s local-role %s", nb, strings.ReplaceAll(c.Role, "_", "-"))
		if c.StrictRole {
			l += " strict-mode"
		}
		w("%s", l)
	}
	for _, fam := range []string{"4", "6"} {
		w(" address-family ipv%s unicast", fam)
		for _, a := range f.anns.list() {
			if isV4(a.Prefix) == (fam == "4") {
				w("  network %s route-map %s", a.Prefix, f.rmapOf[a.Prefix])
			}
		}
		w("  neighbor %s activate", nb)
		w("  neighbor %s attribute-unchanged next-hop", nb)
		if !c.AddPathRx {
			// FRR advertises ADD-PATH receive (RFC 7911) for every activated family unless told not to.
			w("  neighbor %s disable-addpath-rx", nb)
		}
		w("  neighbor %s route-map PEERS-OUT%s out", nb, fam)
		w(" exit-address-family")
	}
	w("exit")
	return sb.String()
}

func isV4(p netip.Prefix) bool { return p.Addr().Is4() }

// prefixListLines adds (or with no, removes) p from the outbound prefix-list.
func (f *frr) prefixListLines(p netip.Prefix, no bool) []string {
	cmd := "ip"
	if !isV4(p) {
		cmd = "ipv6"
	}
	fam := map[bool]string{true: "4", false: "6"}[isV4(p)]
	l := fmt.Sprintf("%s prefix-list PEERS-OUT%s permit %s", cmd, fam, p)
	if no {
		l = "no " + l
	}
	return []string{l}
}

// routeMapLines defines a fresh route-map for a's attributes and records
// it as a's. A new name per announcement, rather than editing the old map,
// makes the change take effect at once instead of after FRR's route-map
// delay timer.
func (f *frr) routeMapLines(a Announce) []string {
	f.rmapN++
	name := fmt.Sprintf("PEERS-ANN-%d", f.rmapN)
	f.rmapOf[a.Prefix] = name
	ls := []string{"route-map " + name + " permit 10"}
	if isV4(a.Prefix) {
		ls = append(ls, " set ip next-hop "+a.NextHop.String())
	} else {
		// Without this FRR sends an IPv4-mapped next hop over the IPv4
		// session, which BIRD rejects.
		ls = append(ls, " set ipv6 next-hop global "+a.NextHop.String())
	}
	if a.HasMED {
		ls = append(ls, fmt.Sprintf(" set metric %d", a.MED))
	}
	if len(a.Communities) > 0 {
		ls = append(ls, " set community "+strings.Join(a.Communities, " "))
	}
	if len(a.LargeCommunities) > 0 {
		ls = append(ls, " set large-community "+strings.Join(a.LargeCommunities, " "))
	}
	if len(a.ASPathPrepend) > 0 {
		// FRR puts its own AS in front of these on eBGP.
		ls = append(ls, " set as-path prepend "+uintsToStrings(a.ASPathPrepend, " "))
	}
	return append(ls, "exit")
}

// vtysh runs show or configuration commands, each as one -c argument.
func (f *frr) vtysh(ctx context.Context, cmds ...string) ([]byte, error) {
	argv := []string{"vtysh", "--vty_socket", f.vtyDir}
	for _, c := range cmds {
		argv = append(argv, "-c", c)
	}
	return run(ctx, nil, argv...)
}

// configure applies configuration lines through vtysh, as if typed after
// "configure terminal".
func (f *frr) configure(ctx context.Context, lines []string) error {
	cmds := append([]string{"configure terminal"}, lines...)
	_, err := f.vtysh(ctx, cmds...)
	return err
}

func (f *frr) AnnounceRoutes(ctx context.Context, routes []Announce) error {
	if err := validateAnnounces(routes); err != nil {
		return fmt.Errorf("frr: %w", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var lines, afLines [2][]string // [0] IPv4, [1] IPv6
	var old []string
	for _, a := range routes {
		fi := 1
		if isV4(a.Prefix) {
			fi = 0
		}
		if _, ok := f.anns.by[a.Prefix]; !ok {
			// The prefix-list entry goes in first, so the route is
			// allowed out the moment the network statement exists.
			lines[fi] = append(lines[fi], f.prefixListLines(a.Prefix, false)...)
		} else {
			old = append(old, f.rmapOf[a.Prefix])
		}
		lines[fi] = append(lines[fi], f.routeMapLines(a)...)
		afLines[fi] = append(afLines[fi], fmt.Sprintf("network %s route-map %s", a.Prefix, f.rmapOf[a.Prefix]))
		f.anns.add([]Announce{a}) // now, so a prefix given twice is seen as known
	}
	var cmds []string
	for fi, fam := range []string{"ipv4", "ipv6"} {
		cmds = append(cmds, lines[fi]...)
		if len(afLines[fi]) > 0 {
			cmds = append(cmds, fmt.Sprintf("router bgp %d", f.cfg.LocalAS), "address-family "+fam+" unicast")
			cmds = append(cmds, afLines[fi]...)
			cmds = append(cmds, "exit-address-family", "exit")
		}
	}
	if err := f.configure(ctx, cmds); err != nil {
		return fmt.Errorf("frr: announce: %w", err)
	}
	// Route-maps of replaced announcements are no longer referenced.
	if len(old) > 0 {
		var rm []string
		for _, o := range old {
			rm = append(rm, "no route-map "+o)
		}
		if err := f.configure(ctx, rm); err != nil {
			return fmt.Errorf("frr: announce: %w", err)
		}
	}
	return nil
}

func (f *frr) WithdrawRoutes(ctx context.Context, prefixes []netip.Prefix) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	gone := f.anns.remove(prefixes)
	if len(gone) == 0 {
		return nil
	}
	var cmds, after []string
	for fi, fam := range []string{"ipv4", "ipv6"} {
		var nets []string
		for _, p := range gone {
			if isV4(p) == (fi == 0) {
				nets = append(nets, "no network "+p.String())
				// Removed after the network statement, so the
				// route cannot leak out unfiltered meanwhile.
				after = append(after, f.prefixListLines(p, true)...)
				after = append(after, "no route-map "+f.rmapOf[p])
				delete(f.rmapOf, p)
			}
		}
		if len(nets) > 0 {
			cmds = append(cmds, fmt.Sprintf("router bgp %d", f.cfg.LocalAS), "address-family "+fam+" unicast")
			cmds = append(cmds, nets...)
			cmds = append(cmds, "exit-address-family", "exit")
		}
	}
	if err := f.configure(ctx, append(cmds, after...)); err != nil {
		return fmt.Errorf("frr: withdraw: %w", err)
	}
	return nil
}

func (f *frr) Established(ctx context.Context) (bool, error) {
	nb := f.cfg.PeerAddr.String()
	out, err := f.vtysh(ctx, "show bgp neighbors "+nb+" json")
	if err != nil {
		return false, err
	}
	var m map[string]struct {
		BGPState string `json:"bgpState"`
	}
	if err := json.Unmarshal(out, &m); err != nil {
		return false, fmt.Errorf("frr: neighbors json: %v", err)
	}
	return m[nb].BGPState == "Established", nil
}

// LastNotification reads the neighbor's last reset: FRR keeps the code and
// subcode of the NOTIFICATION that caused it (not its data).
func (f *frr) LastNotification(ctx context.Context) (Notification, bool, error) {
	nb := f.cfg.PeerAddr.String()
	out, err := f.vtysh(ctx, "show bgp neighbors "+nb+" json")
	if err != nil {
		return Notification{}, false, err
	}
	var m map[string]struct {
		LastErrorCodeSubcode string `json:"lastErrorCodeSubcode"`
		LastResetDueTo       string `json:"lastResetDueTo"`
	}
	if err := json.Unmarshal(out, &m); err != nil {
		return Notification{}, false, fmt.Errorf("frr: neighbors json: %v", err)
	}
	n := m[nb]
	if !strings.Contains(n.LastResetDueTo, "Notification received") {
		return Notification{}, false, nil
	}
	v, err := strconv.ParseUint(n.LastErrorCodeSubcode, 16, 16)
	if err != nil {
		return Notification{}, false, fmt.Errorf("frr: lastErrorCodeSubcode %q: %v", n.LastErrorCodeSubcode, err)
	}
	return Notification{Code: uint8(v >> 8), Subcode: uint8(v)}, true, nil
}

// frrPath is one element of a prefix's array in `show bgp ... json detail`;
// the first element of each array describes the prefix, not a path.
type frrPath struct {
	ASPath *struct {
		Segments []struct {
			List []uint32 `json:"list"`
		} `json:"segments"`
	} `json:"aspath"`
	Metric    *uint32 `json:"metric"`
	Community *struct {
		List []string `json:"list"`
	} `json:"community"`
	LargeCommunity *struct {
		List []string `json:"list"`
	} `json:"largeCommunity"`
	NextHops []struct {
		IP    string `json:"ip"`
		Scope string `json:"scope"`
	} `json:"nexthops"`
	Peer *struct {
		PeerID string `json:"peerId"`
	} `json:"peer"`
}

func (f *frr) Received(ctx context.Context) ([]Route, error) {
	var rs []Route
	for _, fam := range []string{"ipv4", "ipv6"} {
		out, err := f.vtysh(ctx, "show bgp "+fam+" unicast json detail")
		if err != nil {
			return nil, err
		}
		more, err := parseFRRRoutes(out, f.cfg.PeerAddr)
		if err != nil {
			return nil, err
		}
		rs = append(rs, more...)
	}
	return finishRoutes(rs), nil
}

func parseFRRRoutes(out []byte, from netip.Addr) ([]Route, error) {
	var table struct {
		Routes map[string][]frrPath `json:"routes"`
	}
	if err := json.Unmarshal(out, &table); err != nil {
		return nil, fmt.Errorf("frr: routes json: %v: %.200s", err, out)
	}
	var rs []Route
	for pfx, paths := range table.Routes {
		p, err := netip.ParsePrefix(pfx)
		if err != nil {
			return nil, fmt.Errorf("frr: prefix %q: %v", pfx, err)
		}
		for _, fp := range paths {
			if fp.Peer == nil || fp.Peer.PeerID != from.String() {
				continue // the prefix header, or a path from elsewhere (own network)
			}
			r := Route{Prefix: p}
			if fp.ASPath != nil {
				for _, s := range fp.ASPath.Segments {
					r.ASPath = append(r.ASPath, s.List...)
				}
			}
			if fp.Metric != nil {
				r.MED, r.HasMED = *fp.Metric, true
			}
			for _, nh := range fp.NextHops {
				if nh.Scope == "link-local" {
					continue
				}
				if r.NextHop, err = netip.ParseAddr(nh.IP); err != nil {
					return nil, fmt.Errorf("frr: %s next hop %q: %v", p, nh.IP, err)
				}
				break
			}
			if fp.Community != nil {
				for _, c := range fp.Community.List {
					cc, err := canonCommunity(c)
					if err != nil {
						return nil, fmt.Errorf("frr: %s: %v", p, err)
					}
					r.Communities = append(r.Communities, cc)
				}
			}
			if fp.LargeCommunity != nil {
				r.LargeCommunities = append(r.LargeCommunities, fp.LargeCommunity.List...)
			}
			rs = append(rs, r)
		}
	}
	return rs, nil
}

// Vtysh runs vtysh commands (show, clear, or "configure terminal" and configuration lines), each as
// one -c argument, and returns the output: for tests that drive FRR beyond the Peer interface.
func (f *frr) Vtysh(ctx context.Context, cmds ...string) ([]byte, error) {
	return f.vtysh(ctx, cmds...)
}
