package peers

import (
	"bufio"
	"context"
	"fmt"
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// birdProto is the name of the BGP protocol towards the speaker ("rs" is a
// reserved word in BIRD's config language).
const birdProto = "speaker"

type bird struct {
	*proc
	ctl string // control socket

	mu   sync.Mutex // serialises announce.conf rewrites and reconfigures
	anns *announceSet
}

// StartBIRD starts BIRD 2 (bird -f) as a member.
//
// Announcements are static blackhole routes whose attributes (next hop, MED,
// communities, prepends) are set in the BGP export filter; both live in
// announce.conf, which AnnounceRoutes and WithdrawRoutes rewrite before
// `birdc configure`. BIRD always listens: without a ListenPort it gets a free
// port on LocalAddr that nobody connects to. There is no kernel protocol, so
// nothing reaches the FIB; received routes show as unreachable (no IGP route
// to the next hop) but are stored and returned by Received.
func StartBIRD(t testing.TB, c Config) Peer {
	t.Helper()
	Require(t, "bird", "birdc")
	c, err := c.normalize()
	if err != nil {
		t.Fatalf("bird: %v", err)
	}
	b := &bird{ctl: filepath.Join(socketDir(t, c.Dir, "bird.ctl"), "bird.ctl"), anns: newAnnounceSet(c.Announce)}
	conf := filepath.Join(c.Dir, "bird.conf")
	listenPort := c.ListenPort
	if listenPort == 0 {
		if listenPort, err = freePort(c.LocalAddr); err != nil {
			t.Fatalf("bird: %v", err)
		}
	}
	if err := writeFile(conf, birdConfig(c, listenPort)); err != nil {
		t.Fatalf("bird: %v", err)
	}
	if err := b.writeAnnounce(c); err != nil {
		t.Fatalf("bird: %v", err)
	}
	ctx := context.Background()
	if err := checkConfig(ctx, conf, "bird", "-p", "-c", conf); err != nil {
		t.Fatalf("bird: %v\nannounce.conf:\n%s", err, numbered(filepath.Join(c.Dir, "announce.conf")))
	}
	logPath := filepath.Join(c.Dir, "bird.log")
	argv := []string{"bird", "-f", "-c", conf, "-s", b.ctl, "-P", filepath.Join(c.Dir, "bird.pid")}
	if c.GRRecovery {
		argv = append(argv, "-R")
	}
	p, err := startProc(t, "bird", c, filepath.Join(c.Dir, "bird.out"), nil, argv, logPath)
	if err != nil {
		t.Fatal(err)
	}
	// The daemon's own log (protocol state changes, received NOTIFICATIONs)
	// goes to bird.log; stdout only gets start-up errors.
	p.logPath = logPath
	b.proc = p
	if err := p.waitUp(ctx, func() (bool, error) {
		_, err := b.birdc(ctx, "show", "status")
		return err == nil, err
	}); err != nil {
		fatalStart(t, p, err)
	}
	return b
}

func birdConfig(c Config, listenPort int) string {
	var sb strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&sb, format+"\n", args...) }
	w("# Written by internal/peers for a test; see bird.go.")
	w(`log "%s" all;`, filepath.Join(c.Dir, "bird.log"))
	w("router id %s;", c.RouterID)
	w("protocol device { }")
	w(`include "%s";`, filepath.Join(c.Dir, "announce.conf"))
	w("protocol bgp %s {", birdProto)
	// strict bind: listen on LocalAddr only, never on the wildcard
	// address, where the listener would collide with the speaker's.
	w("  local %s port %d as %d;", c.LocalAddr, listenPort, c.LocalAS)
	w("  strict bind yes;")
	w("  neighbor %s port %d as %d;", c.PeerAddr, c.PeerPort, c.PeerAS)
	if c.ebgp() {
		// Without multihop BIRD wants the neighbor on a directly
		// connected network and keeps the protocol down
		// ("Invalid remote address").
		w("  multihop 2;")
	}
	if c.Passive {
		w("  passive on;")
	}
	w("  hold time %d;", c.HoldTime)
	w("  keepalive time %d;", c.keepalive())
	// Defaults are 5 s before the first connect, 120 s between connects
	// and 60 s after an error; tests want a member back within seconds
	// when the speaker starts late or drops the session.
	w("  connect delay time 1;")
	w("  connect retry time 2;")
	w("  error wait time 1, 8;")
	if c.NoFourOctetAS {
		w("  enable as4 off;")
	}
	if c.MD5Password != "" {
		w("  password %q;", c.MD5Password)
	}
	if c.GracefulRestart > 0 {
		w("  graceful restart on;")
		w("  graceful restart time %d;", c.GracefulRestart)
	}
	if c.LLGRStaleTime > 0 {
		w("  long lived graceful restart on;")
		w("  long lived stale time %d;", c.LLGRStaleTime)
	}
	if c.Role != "" {
		w("  local role %s;", c.Role)
		if c.StrictRole {
			w("  require roles on;")
		}
	}
	// No enforce-first-as knob is needed: BIRD accepts an AS_PATH that
	// does not start with the neighbor's AS (transparent route server).
	addPaths := ""
	if c.AddPathRx {
		addPaths = " add paths rx;"
	}
	w("  ipv4 { import all;%s export filter peers_export4; };", addPaths)
	w("  ipv6 { import all;%s export filter peers_export6; };", addPaths)
	w("}")
	return sb.String()
}

// writeAnnounce writes announce.conf: the static routes and the export
// filters that give them their attributes. Setting bgp_next_hop in the export
// filter is what makes BIRD send it unchanged instead of its own address.
func (b *bird) writeAnnounce(c Config) error {
	var sb strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&sb, format+"\n", args...) }
	anns := b.anns.list()
	for _, v4 := range []bool{true, false} {
		fam := map[bool]string{true: "4", false: "6"}[v4]
		w("protocol static peers_static%s { ipv%s;", fam, fam)
		for _, a := range anns {
			if a.Prefix.Addr().Is4() == v4 {
				w("  route %s blackhole;", a.Prefix)
			}
		}
		w("}")
		w("filter peers_export%s {", fam)
		w("  if source != RTS_STATIC then reject;")
		for _, a := range anns {
			if a.Prefix.Addr().Is4() != v4 {
				continue
			}
			w("  if net = %s then {", a.Prefix)
			w("    bgp_next_hop = %s;", a.NextHop)
			if a.HasMED {
				w("    bgp_med = %d;", a.MED)
			}
			for _, cm := range a.Communities {
				v, _ := parseCommunity(cm)
				w("    bgp_community.add((%d,%d));", v>>16, v&0xffff)
			}
			for _, lc := range a.LargeCommunities {
				v, _ := parseLargeCommunity(lc)
				w("    bgp_large_community.add((%d,%d,%d));", v[0], v[1], v[2])
			}
			// BIRD puts its own AS in front after the filter;
			// prepend in reverse so the path reads LocalAS, then
			// ASPathPrepend in order.
			for i := len(a.ASPathPrepend) - 1; i >= 0; i-- {
				w("    bgp_path.prepend(%d);", a.ASPathPrepend[i])
			}
			w("    accept;")
			w("  }")
		}
		w("  reject;")
		w("}")
	}
	return writeFile(filepath.Join(c.Dir, "announce.conf"), sb.String())
}

// birdc runs one birdc command. birdc exits 0 even when BIRD rejects the
// command, so replies with an error code are turned into errors here.
func (b *bird) birdc(ctx context.Context, args ...string) (string, error) {
	out, err := run(ctx, nil, append([]string{"birdc", "-s", b.ctl}, args...)...)
	if err != nil {
		return "", err
	}
	s := string(out)
	for _, bad := range []string{"Unable to connect", "syntax error", "Unknown command", "No protocols match"} {
		if strings.Contains(s, bad) {
			return s, fmt.Errorf("birdc %s: %s", strings.Join(args, " "), strings.TrimSpace(s))
		}
	}
	return s, nil
}

func (b *bird) Established(ctx context.Context) (bool, error) {
	out, err := b.birdc(ctx, "show", "protocols", birdProto)
	if err != nil {
		return false, err
	}
	for _, l := range strings.Split(out, "\n") {
		if fs := strings.Fields(l); len(fs) > 0 && fs[0] == birdProto {
			return strings.Contains(l, "Established"), nil
		}
	}
	return false, fmt.Errorf("bird: protocol %s not in %q", birdProto, out)
}

func (b *bird) Received(ctx context.Context) ([]Route, error) {
	out, err := b.birdc(ctx, "show", "route", "all", "table", "all", "protocol", birdProto)
	if err != nil {
		return nil, err
	}
	return parseBirdRoutes(out)
}

// parseBirdRoutes reads `show route all` output: a line starting with the
// prefix opens a route, an indented route line another route of the same
// prefix (several paths, ADD-PATH), indented "BGP.x: value" lines give its
// attributes.
func parseBirdRoutes(out string) ([]Route, error) {
	var rs []Route
	var cur *Route
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "BIRD ") || strings.HasPrefix(line, "Table ") {
			continue
		}
		if line[0] != ' ' && line[0] != '\t' {
			p, err := netip.ParsePrefix(strings.Fields(line)[0])
			if err != nil {
				return nil, fmt.Errorf("bird: route line %q: %v", line, err)
			}
			rs = append(rs, Route{Prefix: p})
			cur = &rs[len(rs)-1]
			continue
		}
		if cur != nil && strings.Contains(line, "["+birdProto+" ") {
			// Another route of the same prefix (ADD-PATH): an indented route line.
			rs = append(rs, Route{Prefix: cur.Prefix})
			cur = &rs[len(rs)-1]
			continue
		}
		key, val, ok := strings.Cut(strings.TrimSpace(line), ": ")
		if !ok || cur == nil {
			continue
		}
		var err error
		switch key {
		case "BGP.as_path":
			cur.ASPath, err = parseASPath(val)
		case "BGP.next_hop":
			// IPv6 may list a link-local address after the global one.
			cur.NextHop, err = netip.ParseAddr(strings.Fields(val)[0])
		case "BGP.med":
			var n uint64
			n, err = strconv.ParseUint(val, 10, 32)
			cur.MED, cur.HasMED = uint32(n), true
		case "BGP.community":
			cur.Communities, err = birdTuples(val, 2)
		case "BGP.large_community":
			cur.LargeCommunities, err = birdTuples(val, 3)
		}
		if err != nil {
			return nil, fmt.Errorf("bird: %s: %v", line, err)
		}
	}
	return finishRoutes(rs), nil
}

// birdTuples turns "(65000,1) (65000,2)" or "(65000, 1, 1)" into "65000:1".
func birdTuples(s string, n int) ([]string, error) {
	var out []string
	for _, t := range strings.Split(s, ")") {
		t = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(t), "("))
		if t == "" {
			continue
		}
		parts := strings.Split(t, ",")
		if len(parts) != n {
			return nil, fmt.Errorf("tuple %q: want %d numbers", t, n)
		}
		for i := range parts {
			parts[i] = strings.TrimSpace(parts[i])
		}
		out = append(out, strings.Join(parts, ":"))
	}
	return out, nil
}

func (b *bird) AnnounceRoutes(ctx context.Context, routes []Announce) error {
	if err := validateAnnounces(routes); err != nil {
		return fmt.Errorf("bird: %w", err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.anns.add(routes)
	return b.reconfigure(ctx)
}

func (b *bird) WithdrawRoutes(ctx context.Context, prefixes []netip.Prefix) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.anns.remove(prefixes)) == 0 {
		return nil
	}
	return b.reconfigure(ctx)
}

// reconfigure rewrites announce.conf and reloads it. BIRD compares the old
// and new filters and statics, so only the changed routes are re-exported and
// the session stays up.
func (b *bird) reconfigure(ctx context.Context) error {
	if err := b.writeAnnounce(b.cfg); err != nil {
		return fmt.Errorf("bird: %w", err)
	}
	out, err := b.birdc(ctx, "configure")
	if err != nil {
		return err
	}
	if !strings.Contains(out, "Reconfigured") && !strings.Contains(out, "Reconfiguration in progress") {
		return fmt.Errorf("bird: configure: %s", strings.TrimSpace(out))
	}
	return nil
}
