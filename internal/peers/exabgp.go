package peers

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
)

type exabgp struct {
	*proc
	received string // JSON lines ExaBGP hands to the helper process
	fifo     string // commands the helper passes on to ExaBGP

	mu sync.Mutex // one writer on the FIFO at a time
}

// exabgpHelper is the API process. ExaBGP writes one JSON object per line
// (received UPDATEs, state changes, NOTIFICATIONs) and "done" acks to its
// stdin, which it appends to received.jsonl; lines written to the FIFO go to its
// stdout, which ExaBGP reads as API commands. It must be a long-lived loop: a
// helper that exits (a shell `exec cat`) makes ExaBGP give up after five
// restarts and shut the session down.
const exabgpHelper = `#!/usr/bin/env python3
# Written by internal/peers for a test; see exabgp.go.
import os, sys, threading

def commands():
    # O_RDWR: the FIFO never reports EOF when a writer closes it.
    fd = os.open(%q, os.O_RDWR)
    with os.fdopen(fd, "r") as f:
        for line in f:
            sys.stdout.write(line)
            sys.stdout.flush()

threading.Thread(target=commands, daemon=True).start()
with open(%q, "a") as out:
    for line in sys.stdin:
        out.write(line)
        out.flush()
`

// StartExaBGP starts ExaBGP 4.2 as a member.
//
// Received routes, session state and NOTIFICATIONs come from the JSON that
// ExaBGP hands to a small Python API process (received.jsonl in Dir);
// AnnounceRoutes and WithdrawRoutes write API commands to a FIFO that process
// forwards. ExaBGP does not put its own AS in front of a configured AS_PATH, so
// the harness writes LocalAS followed by ASPathPrepend itself (eBGP).
func StartExaBGP(t testing.TB, c Config) Peer {
	t.Helper()
	Require(t, "exabgp", "python3")
	c, err := c.normalize()
	if err != nil {
		t.Fatalf("exabgp: %v", err)
	}
	if c.GracefulRestart > 0 || c.GRRecovery || c.LLGRStaleTime > 0 || c.Role != "" || c.AddPathRx {
		t.Fatal("exabgp: GracefulRestart, GRRecovery, LLGRStaleTime, Role and AddPathRx are not supported here for now")
	}
	e := &exabgp{received: filepath.Join(c.Dir, "received.jsonl"), fifo: filepath.Join(c.Dir, "commands.fifo")}
	helper := filepath.Join(c.Dir, "exabgp-helper.py")
	if err := os.WriteFile(helper, []byte(fmt.Sprintf(exabgpHelper, e.fifo, e.received)), 0o700); err != nil {
		t.Fatalf("exabgp: %v", err)
	}
	if err := syscall.Mkfifo(e.fifo, 0o600); err != nil {
		t.Fatalf("exabgp: mkfifo: %v", err)
	}
	conf := filepath.Join(c.Dir, "exabgp.conf")
	if err := writeFile(conf, exabgpConfig(c, helper)); err != nil {
		t.Fatalf("exabgp: %v", err)
	}
	env := []string{
		"exabgp.daemon.user=root", "exabgp.daemon.drop=false", // stay root, as the harness runs
		"exabgp.api.cli=false", // no exabgpcli named pipes; the helper's FIFO replaces them
		"exabgp.log.destination=stdout",
		"exabgp.daemon.pid=" + filepath.Join(c.Dir, "exabgp.pid"),
	}
	ctx := context.Background()
	check := withEnv(env, "exabgp", "--validate", conf)
	if err := checkConfig(ctx, conf, check...); err != nil {
		t.Fatalf("exabgp: %v", err)
	}
	p, err := startProc(t, "exabgp", c, filepath.Join(c.Dir, "exabgp.log"), env, []string{"exabgp", conf})
	if err != nil {
		t.Fatal(err)
	}
	e.proc = p
	// Up means the helper runs (it opened the FIFO), so commands can flow.
	if err := p.waitUp(ctx, func() (bool, error) {
		f, err := openFIFO(e.fifo)
		if err != nil {
			return false, err
		}
		f.Close()
		return true, nil
	}); err != nil {
		fatalStart(t, p, err)
	}
	return e
}

// withEnv prefixes argv with env(1) so a config check sees the same settings.
func withEnv(env []string, argv ...string) []string {
	return append(append([]string{"env"}, env...), argv...)
}

func exabgpConfig(c Config, helper string) string {
	var sb strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&sb, format+"\n", args...) }
	w("# Written by internal/peers for a test; see exabgp.go.")
	w("process helper {")
	w("  run %s;", helper)
	w("  encoder json;")
	w("}")
	w("neighbor %s {", c.PeerAddr)
	w("  router-id %s;", c.RouterID)
	w("  local-address %s;", c.LocalAddr)
	w("  local-as %d;", c.LocalAS)
	w("  peer-as %d;", c.PeerAS)
	w("  connect %d;", c.PeerPort)
	if c.ListenPort != 0 {
		// Binds LocalAddr:ListenPort, not the wildcard address.
		w("  listen %d;", c.ListenPort)
	}
	if c.Passive {
		w("  passive true;")
	}
	w("  hold-time %d;", c.HoldTime)
	if c.MD5Password != "" {
		w("  md5-password %q;", c.MD5Password)
	}
	if c.NoFourOctetAS {
		w("  capability { asn4 disable; }")
	}
	w("  family { ipv4 unicast; ipv6 unicast; }")
	if len(c.Announce) > 0 {
		w("  static {")
		for _, a := range c.Announce {
			w("    route %s;", exabgpRoute(c, a))
		}
		w("  }")
	}
	w("  api { processes [ helper ]; receive { parsed; update; notification; } neighbor-changes; }")
	w("}")
	return sb.String()
}

// exabgpRoute is the part of a route after "route" in both the config and
// API commands.
func exabgpRoute(c Config, a Announce) string {
	s := []string{a.Prefix.String(), "next-hop", a.NextHop.String()}
	var path []uint32
	if c.ebgp() {
		path = append(path, c.LocalAS)
	}
	path = append(path, a.ASPathPrepend...)
	s = append(s, "origin", "igp")
	if len(path) > 0 { // iBGP without prepends: ExaBGP's default, the empty path
		s = append(s, "as-path", "[", uintsToStrings(path, " "), "]")
	}
	if a.HasMED {
		s = append(s, "med", strconv.FormatUint(uint64(a.MED), 10))
	}
	if len(a.Communities) > 0 {
		s = append(s, "community", "[", strings.Join(a.Communities, " "), "]")
	}
	if len(a.LargeCommunities) > 0 {
		s = append(s, "large-community", "[", strings.Join(a.LargeCommunities, " "), "]")
	}
	return strings.Join(s, " ")
}

// openFIFO opens the command FIFO for writing without blocking when the
// helper is not reading yet (ENXIO), then switches it to blocking writes.
func openFIFO(path string) (*os.File, error) {
	fd, err := syscall.Open(path, syscall.O_WRONLY|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("command FIFO: %w", err)
	}
	if err := syscall.SetNonblock(fd, false); err != nil {
		syscall.Close(fd)
		return nil, err
	}
	return os.NewFile(uintptr(fd), path), nil
}

// command hands API commands to ExaBGP. ExaBGP applies them asynchronously;
// watch the speaker's side to know when they arrived.
func (e *exabgp) command(ctx context.Context, lines []string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.exited() {
		return fmt.Errorf("exabgp: not running")
	}
	f, err := openFIFO(e.fifo)
	if err != nil {
		return fmt.Errorf("exabgp: %w", err)
	}
	defer f.Close()
	var buf bytes.Buffer
	for _, l := range lines {
		buf.WriteString(l + "\n")
	}
	if _, err := f.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("exabgp: write command: %w", err)
	}
	return nil
}

func (e *exabgp) AnnounceRoutes(ctx context.Context, routes []Announce) error {
	if err := validateAnnounces(routes); err != nil {
		return fmt.Errorf("exabgp: %w", err)
	}
	var lines []string
	for _, a := range routes {
		lines = append(lines, fmt.Sprintf("neighbor %s announce route %s", e.cfg.PeerAddr, exabgpRoute(e.cfg, a)))
	}
	return e.command(ctx, lines)
}

func (e *exabgp) WithdrawRoutes(ctx context.Context, prefixes []netip.Prefix) error {
	var lines []string
	for _, p := range prefixes {
		lines = append(lines, fmt.Sprintf("neighbor %s withdraw route %s", e.cfg.PeerAddr, p))
	}
	return e.command(ctx, lines)
}

// exabgpMsg is one line of received.jsonl; only the parts used here.
type exabgpMsg struct {
	Type     string `json:"type"`
	Neighbor struct {
		Address struct {
			Peer string `json:"peer"`
		} `json:"address"`
		Direction    string `json:"direction"`
		State        string `json:"state"`
		Notification *struct {
			Code    uint8  `json:"code"`
			Subcode uint8  `json:"subcode"`
			Data    string `json:"data"`
		} `json:"notification"`
		Message struct {
			Update *struct {
				Attribute struct {
					ASPath         json.RawMessage `json:"as-path"`
					MED            *uint32         `json:"med"`
					Community      [][2]uint32     `json:"community"`
					LargeCommunity [][3]uint32     `json:"large-community"`
				} `json:"attribute"`
				// family -> next hop -> NLRI
				Announce map[string]map[string][]struct {
					NLRI string `json:"nlri"`
				} `json:"announce"`
				Withdraw map[string][]struct {
					NLRI string `json:"nlri"`
				} `json:"withdraw"`
			} `json:"update"`
		} `json:"message"`
	} `json:"neighbor"`
}

// messages reads received.jsonl, skipping the "done" acks and anything else
// that is not a JSON object, and keeps those about the speaker.
func (e *exabgp) messages() ([]exabgpMsg, error) {
	b, err := os.ReadFile(e.received)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var ms []exabgpMsg
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 || line[0] != '{' {
			continue
		}
		var m exabgpMsg
		if err := json.Unmarshal(line, &m); err != nil {
			// The last line may be half written.
			continue
		}
		if m.Neighbor.Address.Peer != e.cfg.PeerAddr.String() {
			continue
		}
		ms = append(ms, m)
	}
	return ms, nil
}

// Established reports the last state change ExaBGP announced: "up" means
// Established.
func (e *exabgp) Established(ctx context.Context) (bool, error) {
	ms, err := e.messages()
	if err != nil {
		return false, err
	}
	up := false
	for _, m := range ms {
		if m.Type == "state" {
			up = m.Neighbor.State == "up"
		}
	}
	return up, nil
}

// Received replays received.jsonl: announcements and withdrawals since the
// session last came up.
func (e *exabgp) Received(ctx context.Context) ([]Route, error) {
	ms, err := e.messages()
	if err != nil {
		return nil, err
	}
	rib := map[netip.Prefix]Route{}
	for _, m := range ms {
		switch {
		case m.Type == "state" && m.Neighbor.State != "up":
			clear(rib) // a session going down takes its routes with it
		case m.Type == "update" && m.Neighbor.Direction == "receive" && m.Neighbor.Message.Update != nil:
			u := m.Neighbor.Message.Update
			for _, nlris := range u.Withdraw {
				for _, n := range nlris {
					p, err := netip.ParsePrefix(n.NLRI)
					if err != nil {
						return nil, fmt.Errorf("exabgp: withdrawn %q: %v", n.NLRI, err)
					}
					delete(rib, p)
				}
			}
			if len(u.Announce) == 0 {
				continue
			}
			var base Route
			if len(u.Attribute.ASPath) > 0 {
				if base.ASPath, err = parseASPath(string(u.Attribute.ASPath)); err != nil {
					return nil, fmt.Errorf("exabgp: %v", err)
				}
			}
			if u.Attribute.MED != nil {
				base.MED, base.HasMED = *u.Attribute.MED, true
			}
			for _, c := range u.Attribute.Community {
				base.Communities = append(base.Communities, fmt.Sprintf("%d:%d", c[0], c[1]))
			}
			for _, c := range u.Attribute.LargeCommunity {
				base.LargeCommunities = append(base.LargeCommunities, fmt.Sprintf("%d:%d:%d", c[0], c[1], c[2]))
			}
			for _, byNH := range u.Announce {
				for nh, nlris := range byNH {
					nha, err := netip.ParseAddr(nh)
					if err != nil {
						return nil, fmt.Errorf("exabgp: next hop %q: %v", nh, err)
					}
					for _, n := range nlris {
						p, err := netip.ParsePrefix(n.NLRI)
						if err != nil {
							return nil, fmt.Errorf("exabgp: announced %q: %v", n.NLRI, err)
						}
						r := base
						r.Prefix, r.NextHop = p, nha
						r.ASPath = append([]uint32(nil), base.ASPath...)
						r.Communities = append([]string(nil), base.Communities...)
						r.LargeCommunities = append([]string(nil), base.LargeCommunities...)
						rib[p] = r
					}
				}
			}
		}
	}
	rs := make([]Route, 0, len(rib))
	for _, r := range rib {
		rs = append(rs, r)
	}
	return finishRoutes(rs), nil
}

// Notification is a BGP NOTIFICATION message as a member received it.
type Notification struct {
	Code, Subcode uint8
	Data          []byte
}

// ShutdownMessage returns the RFC 8203/9003 shutdown communication of a
// Cease/Administrative Shutdown or Reset (6/2, 6/4), or "".
func (n Notification) ShutdownMessage() string {
	if n.Code != 6 || (n.Subcode != 2 && n.Subcode != 4) || len(n.Data) == 0 {
		return ""
	}
	l := int(n.Data[0])
	if l > len(n.Data)-1 {
		return ""
	}
	return string(n.Data[1 : 1+l])
}

// NotificationReader is implemented by peers that can report NOTIFICATIONs
// received from the speaker: ExaBGP (with data) and FRR (code and subcode
// only). For the others grep LogPath: BIRD logs e.g. `speaker: Received:
// Administrative shutdown`, gobgpd `received notification ... Code=6`,
// OpenBGPD `received notification: Cease, administratively down`.
type NotificationReader interface {
	// LastNotification returns the most recent NOTIFICATION received from
	// the speaker; ok is false if none was received.
	LastNotification(ctx context.Context) (n Notification, ok bool, err error)
}

// NotificationHistory is implemented by peers that keep every NOTIFICATION received from the speaker
// (ExaBGP). A later one (say, a Connection Rejected while the daemon retries) does not hide an earlier one.
type NotificationHistory interface {
	// Notifications returns every NOTIFICATION received from the speaker, oldest first.
	Notifications(ctx context.Context) ([]Notification, error)
}

func (e *exabgp) LastNotification(ctx context.Context) (Notification, bool, error) {
	ns, err := e.Notifications(ctx)
	if err != nil || len(ns) == 0 {
		return Notification{}, false, err
	}
	return ns[len(ns)-1], true, nil
}

func (e *exabgp) Notifications(ctx context.Context) ([]Notification, error) {
	ms, err := e.messages()
	if err != nil {
		return nil, err
	}
	var out []Notification
	for _, m := range ms {
		if m.Type != "notification" || m.Neighbor.Notification == nil || m.Neighbor.Direction != "receive" {
			continue
		}
		nn := m.Neighbor.Notification
		data, err := hex.DecodeString(strings.TrimPrefix(nn.Data, "0x"))
		if err != nil {
			return nil, fmt.Errorf("exabgp: notification data %q: %v", nn.Data, err)
		}
		out = append(out, Notification{Code: nn.Code, Subcode: nn.Subcode, Data: data})
	}
	return out, nil
}
