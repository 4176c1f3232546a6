// Package peers runs real BGP daemons — BIRD 2, FRR bgpd, gobgpd, OpenBGPD and
// ExaBGP, from Debian's packages — as member routers on loopback, for the
// project's interop and end-to-end tests.
//
// Each Start function writes a configuration into Config.Dir, syntax-checks it
// with the daemon's own checker, starts the daemon in the foreground as a child
// in its own process group and registers a t.Cleanup that stops it (and, when
// the test failed, logs the tail of the daemon's log). Every member uses its own
// 127.x source address and never listens on a wildcard address or on port 179
// unless asked to, so several members and the speaker under test share the
// loopback interface without colliding.
//
// Members announce exactly the routes in Config.Announce (plus what
// AnnounceRoutes adds), with the next hop given there: a route server does not
// change next hops, and gobgpd and FRR refuse loopback next hops, so use
// documentation addresses such as 192.0.2.x and 2001:db8:ff::x. Members accept
// routes whose AS_PATH does not start with the speaker's AS, as a transparent
// route server sends them.
//
// What each daemon supports (Start fails the test when a Config asks for
// something the daemon cannot do; AnnounceRoutes then returns an error
// wrapping errors.ErrUnsupported):
//
//	                         BIRD  FRR   gobgpd  OpenBGPD        ExaBGP
//	NoFourOctetAS            yes   no    no      yes             yes
//	ASPathPrepend            yes   yes   yes     no              yes
//	AnnounceRoutes/Withdraw  yes   yes   yes     yes             yes
//	Passive, ListenPort      yes   yes   yes     yes             yes
//	MD5Password              yes   yes   yes     not if Passive  yes
//	GracefulRestart          yes   yes   yes     no              no
//	GRRecovery               yes   no    yes     no              no
//	LLGRStaleTime            yes   no    yes     no              no
//	Role, StrictRole         yes   yes   no      no              no
//	AddPathRx                yes   yes   no      no              no
//	NotificationReader       no    yes   no      no              yes
//	first connect            1 s   0 s   5-10 s  0 s             1 s
//
// Quirks the tests have to allow for: FRR sends MED 0 for an Announce
// without HasMED; OpenBGPD shows no difference between MED 0 and no MED, so
// its Received sets HasMED only for a non-zero MED; gobgpd treats a loopback
// NEXT_HOP as a withdraw and FRR answers one with NOTIFICATION 3/8; after a
// session error OpenBGPD waits about 30 s before connecting again (BIRD 1-8 s,
// FRR and ExaBGP a few seconds, gobgpd 5-10 s). The tests in peers_test.go run
// as root, as OpenBGPD requires.
package peers

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Route is a route as a member daemon holds it after learning it from the
// speaker. Received returns these sorted by prefix, IPv4 first.
type Route struct {
	Prefix  netip.Prefix
	NextHop netip.Addr // the global next hop; a link-local second next hop is dropped
	ASPath  []uint32   // AS_SEQUENCE members in order; AS_SET members are appended as they come
	MED     uint32
	HasMED  bool
	// Communities are "asn:value" with numbers only (well-known names are
	// translated back), sorted numerically; nil when there are none.
	Communities []string
	// LargeCommunities are "global:local1:local2", sorted numerically; nil
	// when there are none.
	LargeCommunities []string
}

func (r Route) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s via %s path %v", r.Prefix, r.NextHop, r.ASPath)
	if r.HasMED {
		fmt.Fprintf(&b, " med %d", r.MED)
	}
	if len(r.Communities) > 0 {
		fmt.Fprintf(&b, " comm %v", r.Communities)
	}
	if len(r.LargeCommunities) > 0 {
		fmt.Fprintf(&b, " lcomm %v", r.LargeCommunities)
	}
	return b.String()
}

// Announce is a route a member originates.
type Announce struct {
	Prefix netip.Prefix
	// NextHop is required and must be of the prefix's family. It is sent
	// unchanged, also for IPv6 prefixes over the IPv4 session.
	NextHop          netip.Addr
	Communities      []string // "asn:value"
	LargeCommunities []string // "global:local1:local2"
	MED              uint32
	HasMED           bool
	// ASPathPrepend are ASNs placed after the member's own AS, so the
	// speaker sees LocalAS followed by these (e.g. 65001 64501 65010).
	// OpenBGPD cannot do this.
	ASPathPrepend []uint32
}

// Config describes one member router. Zero values get the defaults noted.
type Config struct {
	Dir       string     // per-instance directory for config, sockets and logs, e.g. t.TempDir()
	LocalAddr netip.Addr // the member's own source address, distinct per member, e.g. 127.0.1.2
	LocalAS   uint32
	RouterID  netip.Addr // default LocalAddr
	PeerAddr  netip.Addr // the speaker under test, e.g. 127.0.0.1
	PeerPort  int        // the speaker's port; default 179
	PeerAS    uint32
	// Passive: the daemon never connects; it listens on
	// LocalAddr:ListenPort and the speaker connects to it.
	Passive bool
	// ListenPort is the port the daemon listens on, on LocalAddr only.
	// Required when Passive; otherwise 0 means the daemon accepts no
	// connections (BIRD and OpenBGPD, which always listen, get a free
	// port nobody uses).
	ListenPort int
	HoldTime   int // seconds offered in OPEN; default 90; keepalive is a third of it
	// NoFourOctetAS disables the 4-octet AS capability (RFC 6793). BIRD,
	// OpenBGPD and ExaBGP only; FRR 8.4 and gobgpd 3.10 have no knob for it
	// (FRR's dont-capability-negotiate would also drop IPv6).
	NoFourOctetAS bool
	MD5Password   string // TCP MD5 signature (RFC 2385) when not empty
	// GracefulRestart, when positive, enables graceful restart (RFC 4724)
	// with this restart time in seconds, forwarding state kept for every
	// family. BIRD, FRR and gobgpd; killed (SIGKILL, no NOTIFICATION) the
	// daemon restarts gracefully as far as its neighbor is concerned.
	GracefulRestart int
	// GRRecovery starts the daemon as a router restarting gracefully (BIRD
	// -R, gobgpd -r): its OPEN sets the restart-state and forwarding-state
	// bits. BIRD and gobgpd.
	GRRecovery bool
	// AddPathRx advertises ADD-PATH receive (RFC 7911) for both families,
	// so that the daemon holds every path the speaker sends: BIRD `add paths
	// rx`; FRR advertises receive by default, so there false means
	// `disable-addpath-rx`. BIRD and FRR.
	AddPathRx bool
	// LLGRStaleTime, when positive, enables long-lived graceful restart
	// (RFC 9494) with this long-lived stale time in seconds; it needs
	// GracefulRestart. BIRD and gobgpd.
	LLGRStaleTime int
	// Role, when not empty, is the BGP role (RFC 9234) the daemon advertises:
	// BIRD's names (provider, rs_server, rs_client, customer, peer). With
	// StrictRole the daemon also refuses a neighbor without a role (FRR:
	// strict-mode). BIRD and FRR.
	Role       string
	StrictRole bool
	Announce   []Announce
}

// Peer is a running member daemon.
//
// Methods that ask the daemon (Established, Received, AnnounceRoutes,
// WithdrawRoutes) run its command-line client and are bounded by ctx, and by 15
// seconds when ctx has no deadline. They may be called from any goroutine.
type Peer interface {
	// Name is the daemon's short name: "bird", "frr", "gobgp", "openbgpd" or "exabgp".
	Name() string
	// Config returns the configuration with defaults filled in.
	Config() Config
	// PID is the process ID of the daemon's main process (also its process group).
	PID() int
	// LogPath is the daemon's log file, for grepping e.g. a shutdown message.
	LogPath() string
	// Established reports whether the daemon itself sees the session as Established.
	Established(ctx context.Context) (bool, error)
	// Received returns every IPv4 and IPv6 unicast route the daemon learned
	// from the speaker, sorted by prefix.
	Received(ctx context.Context) ([]Route, error)
	// AnnounceRoutes adds routes to what the member announces, replacing
	// earlier announcements of the same prefixes.
	AnnounceRoutes(ctx context.Context, routes []Announce) error
	// WithdrawRoutes stops announcing the prefixes. Prefixes not announced are ignored.
	WithdrawRoutes(ctx context.Context, prefixes []netip.Prefix) error
	// Pause freezes the daemon (SIGSTOP to its process group), so it stops
	// sending keepalives, for hold-timer tests. Resume undoes it.
	Pause() error
	Resume() error
	// Stop ends the daemon: SIGTERM, up to 5 s grace, then SIGKILL. It is
	// idempotent and is also called by t.Cleanup.
	Stop() error
}

// DefaultHoldTime is the hold time offered when Config.HoldTime is 0.
const DefaultHoldTime = 90

// pollInterval is how often WaitFor and the start-up checks look again.
const pollInterval = 200 * time.Millisecond

// cliTimeout bounds one run of a daemon's client when the caller's context has no deadline.
const cliTimeout = 15 * time.Second

// startTimeout bounds how long a daemon may take to come up (control socket
// answering, listener open). ExaBGP's Python start-up takes one to two seconds
// on an idle machine; allow for a loaded one.
const startTimeout = 30 * time.Second

// packages maps binaries to the Debian package that ships them, for Require's message.
var packages = map[string]string{
	"bird": "bird2", "birdc": "bird2",
	"gobgpd": "gobgpd", "gobgp": "gobgpd",
	"vtysh": "frr", "/usr/lib/frr/bgpd": "frr",
	"exabgp": "exabgp", "python3": "python3",
	"bgpd": "openbgpd", "bgpctl": "openbgpd",
	"stayrtr": "stayrtr", "rtrdump": "stayrtr",
	"pmbmpd": "pmacct", "bgpdump": "bgpdump", "promtool": "prometheus", "prometheus": "prometheus",
	"chromium": "chromium", "chromedriver": "chromium-driver",
	"systemd-analyze": "systemd",
}

// lookBinary finds a binary in PATH, then in the sbin directories, which a
// non-root PATH often lacks although Debian installs bird, bgpd and exabgp there.
func lookBinary(name string) (string, error) {
	if filepath.IsAbs(name) {
		if st, err := os.Stat(name); err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
			return "", fmt.Errorf("%s: not an executable file", name)
		}
		return name, nil
	}
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, d := range []string{"/usr/sbin", "/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin"} {
		p := filepath.Join(d, name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s: not found in PATH or sbin", name)
}

// Require makes sure the binaries exist. When one is missing the test fails
// if the CI environment variable is "true" (CI must never skip silently) and is
// skipped otherwise, with the apt-get command that installs it.
func Require(t testing.TB, binaries ...string) {
	t.Helper()
	var missing, pkgs []string
	for _, b := range binaries {
		if _, err := lookBinary(b); err == nil {
			continue
		}
		missing = append(missing, b)
		if p, ok := packages[b]; ok && !slices.Contains(pkgs, p) {
			pkgs = append(pkgs, p)
		}
	}
	if len(missing) == 0 {
		return
	}
	msg := fmt.Sprintf("missing %s; install with: apt-get install -y --no-install-recommends %s (or scripts/install-test-deps.sh)",
		strings.Join(missing, ", "), strings.Join(pkgs, " "))
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// WaitFor polls cond every 200 ms until it returns true, and fails the test
// if that does not happen within timeout or before ctx ends. Errors from cond
// are taken as "not yet" (daemons answer errors while starting) and the last
// one is reported on failure. Call it from the test's goroutine.
func WaitFor(ctx context.Context, t testing.TB, what string, timeout time.Duration, cond func() (bool, error)) {
	t.Helper()
	if err := poll(ctx, timeout, cond); err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}

// WaitEstablished waits until p sees its session Established.
func WaitEstablished(ctx context.Context, t testing.TB, p Peer, timeout time.Duration) {
	t.Helper()
	WaitFor(ctx, t, p.Name()+" session Established", timeout, func() (bool, error) { return p.Established(ctx) })
}

// poll is WaitFor without the testing.TB, for use inside Start functions and
// goroutines.
func poll(ctx context.Context, timeout time.Duration, cond func() (bool, error)) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	var last error
	for {
		ok, err := cond()
		if ok && err == nil {
			return nil
		}
		if err != nil {
			last = err
		}
		select {
		case <-ctx.Done():
			if last != nil {
				return fmt.Errorf("%w (last error: %v)", ctx.Err(), last)
			}
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// FreePort returns a TCP port that was free on addr a moment ago, for
// listeners the test chooses (gRPC, BGP listen ports). Another process may
// take it before it is used; the window is small enough for tests.
func FreePort(t testing.TB, addr netip.Addr) int {
	t.Helper()
	p, err := freePort(addr)
	if err != nil {
		t.Fatalf("free port on %s: %v", addr, err)
	}
	return p
}

func freePort(addr netip.Addr) (int, error) {
	l, err := net.Listen("tcp", netip.AddrPortFrom(addr, 0).String())
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// normalize validates c and fills in defaults.
func (c Config) normalize() (Config, error) {
	if c.Dir == "" {
		return c, errors.New("Config.Dir is empty")
	}
	if !c.LocalAddr.IsValid() || !c.PeerAddr.IsValid() {
		return c, errors.New("Config.LocalAddr and Config.PeerAddr are required")
	}
	if c.LocalAddr.Is4() != c.PeerAddr.Is4() {
		return c, errors.New("Config.LocalAddr and Config.PeerAddr differ in address family")
	}
	if c.LocalAS == 0 || c.PeerAS == 0 {
		return c, errors.New("Config.LocalAS and Config.PeerAS are required")
	}
	if !c.RouterID.IsValid() {
		c.RouterID = c.LocalAddr
	}
	if !c.RouterID.Is4() {
		return c, errors.New("Config.RouterID must be an IPv4 address (set it when LocalAddr is IPv6)")
	}
	if c.PeerPort == 0 {
		c.PeerPort = 179
	}
	if c.Passive && c.ListenPort == 0 {
		return c, errors.New("Config.Passive needs a ListenPort")
	}
	if c.HoldTime == 0 {
		c.HoldTime = DefaultHoldTime
	}
	if c.HoldTime < 3 {
		return c, fmt.Errorf("Config.HoldTime %d: must be 0 (default) or at least 3", c.HoldTime)
	}
	c.Announce = slices.Clone(c.Announce)
	for _, a := range c.Announce {
		if err := a.validate(); err != nil {
			return c, err
		}
	}
	abs, err := filepath.Abs(c.Dir)
	if err != nil {
		return c, err
	}
	c.Dir = abs
	return c, nil
}

func (c Config) ebgp() bool { return c.LocalAS != c.PeerAS }

// keepalive is the keepalive interval matching the hold time, as RFC 4271 suggests.
func (c Config) keepalive() int { return max(1, c.HoldTime/3) }

func (a Announce) validate() error {
	if !a.Prefix.IsValid() || a.Prefix != a.Prefix.Masked() {
		return fmt.Errorf("announce %s: not a valid, masked prefix", a.Prefix)
	}
	if !a.NextHop.IsValid() || a.NextHop.Is4() != a.Prefix.Addr().Is4() {
		return fmt.Errorf("announce %s: next hop %s missing or of the other family", a.Prefix, a.NextHop)
	}
	for _, c := range a.Communities {
		if _, err := parseCommunity(c); err != nil {
			return fmt.Errorf("announce %s: %w", a.Prefix, err)
		}
	}
	for _, c := range a.LargeCommunities {
		if _, err := parseLargeCommunity(c); err != nil {
			return fmt.Errorf("announce %s: %w", a.Prefix, err)
		}
	}
	return nil
}

// announceSet is what a member currently announces, keyed by prefix, in the
// order first announced (so generated configs are stable).
type announceSet struct {
	order []netip.Prefix
	by    map[netip.Prefix]Announce
}

func newAnnounceSet(as []Announce) *announceSet {
	s := &announceSet{by: map[netip.Prefix]Announce{}}
	s.add(as)
	return s
}

func (s *announceSet) add(as []Announce) {
	for _, a := range as {
		if _, ok := s.by[a.Prefix]; !ok {
			s.order = append(s.order, a.Prefix)
		}
		s.by[a.Prefix] = a
	}
}

// remove drops the prefixes and returns those that were announced.
func (s *announceSet) remove(ps []netip.Prefix) []netip.Prefix {
	var gone []netip.Prefix
	for _, p := range ps {
		if _, ok := s.by[p]; ok {
			delete(s.by, p)
			gone = append(gone, p)
		}
	}
	s.order = slices.DeleteFunc(s.order, func(p netip.Prefix) bool { _, ok := s.by[p]; return !ok })
	return gone
}

func (s *announceSet) list() []Announce {
	out := make([]Announce, 0, len(s.order))
	for _, p := range s.order {
		out = append(out, s.by[p])
	}
	return out
}

func validateAnnounces(as []Announce) error {
	for _, a := range as {
		if err := a.validate(); err != nil {
			return err
		}
	}
	return nil
}

// proc is the part every daemon shares: the child process, its log and its end.
type proc struct {
	name    string
	cfg     Config
	cmd     *exec.Cmd
	logPath string
	logFile *os.File
	done    chan struct{} // closed when the main process has been reaped

	stopOnce sync.Once
	stopErr  error
}

// startProc starts argv as a child in its own process group, writing stdout
// and stderr to logPath, and registers the cleanup that stops it and shows the
// log tail if the test failed. extraLogs are other files worth showing then.
func startProc(t testing.TB, name string, cfg Config, logPath string, env []string, argv []string, extraLogs ...string) (*proc, error) {
	t.Helper()
	lf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = cfg.Dir
	cmd.Stdout, cmd.Stderr = lf, lf
	cmd.Env = append(os.Environ(), env...)
	// Own process group: Pause, Resume and Stop signal the daemon and its
	// helpers (OpenBGPD's engines, ExaBGP's API process) together and
	// nothing else. Pdeathsig kills the daemon if the test binary dies
	// before its cleanup runs.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		lf.Close()
		return nil, fmt.Errorf("%s: start %s: %w", name, argv[0], err)
	}
	p := &proc{name: name, cfg: cfg, cmd: cmd, logPath: logPath, logFile: lf, done: make(chan struct{})}
	go func() {
		cmd.Wait()
		lf.Close()
		close(p.done)
	}()
	t.Cleanup(func() {
		if err := p.Stop(); err != nil {
			t.Errorf("%s: stop: %v", name, err)
		}
		if t.Failed() {
			for _, f := range append([]string{logPath}, extraLogs...) {
				t.Logf("%s: last lines of %s:\n%s", name, f, tail(f, 50))
			}
		}
	})
	return p, nil
}

func (p *proc) Name() string    { return p.name }
func (p *proc) Config() Config  { return p.cfg }
func (p *proc) PID() int        { return p.cmd.Process.Pid }
func (p *proc) LogPath() string { return p.logPath }

// exited reports whether the main process has ended.
func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// signalGroup signals the daemon's process group. After the main process
// was reaped, a signal to the group only reaches helpers it left behind;
// ESRCH then means there are none.
func (p *proc) signalGroup(sig syscall.Signal) error {
	err := syscall.Kill(-p.cmd.Process.Pid, sig)
	if errors.Is(err, syscall.ESRCH) {
		return nil
	}
	return err
}

// Pause and Resume return once the main process has changed state, so a
// test can start timing the hold timer right after Pause.
func (p *proc) Pause() error {
	if p.exited() {
		return fmt.Errorf("%s: not running", p.name)
	}
	if err := p.signalGroup(syscall.SIGSTOP); err != nil {
		return err
	}
	return p.waitState(func(s string) bool { return s == "T" })
}

func (p *proc) Resume() error {
	if p.exited() {
		return fmt.Errorf("%s: not running", p.name)
	}
	if err := p.signalGroup(syscall.SIGCONT); err != nil {
		return err
	}
	return p.waitState(func(s string) bool { return s != "T" })
}

// waitState waits up to 2 s until the main process's state letter in
// /proc/PID/stat satisfies ok; signals are delivered asynchronously.
func (p *proc) waitState(ok func(string) bool) error {
	deadline := time.Now().Add(2 * time.Second)
	for {
		s, err := procState(p.PID())
		if err != nil {
			return fmt.Errorf("%s: %w", p.name, err)
		}
		if ok(s) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: pid %d still in state %s", p.name, p.PID(), s)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// procState returns the state letter of /proc/PID/stat ("S", "R", "T", ...).
func procState(pid int) (string, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return "", err
	}
	// "pid (comm) state ...": comm may contain spaces, so cut after ")".
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 >= len(b) {
		return "", fmt.Errorf("odd stat line %q", b)
	}
	return string(b[i+2]), nil
}

func (p *proc) Stop() error {
	p.stopOnce.Do(func() { p.stopErr = p.stop() })
	return p.stopErr
}

func (p *proc) stop() error {
	if !p.exited() {
		p.signalGroup(syscall.SIGTERM)
		// A paused daemon cannot act on SIGTERM until it runs again.
		p.signalGroup(syscall.SIGCONT)
		select {
		case <-p.done:
		case <-time.After(5 * time.Second):
			p.signalGroup(syscall.SIGKILL)
			select {
			case <-p.done:
			case <-time.After(5 * time.Second):
				return fmt.Errorf("%s: pid %d survived SIGKILL", p.name, p.PID())
			}
		}
	}
	// Helpers (ExaBGP's API process, OpenBGPD's engines) normally exit with
	// the main process; make sure none is left in the group.
	p.signalGroup(syscall.SIGKILL)
	return nil
}

// run runs a daemon's client and returns its standard output. It fails with
// the output included when the command exits non-zero.
func run(ctx context.Context, stdin []byte, argv ...string) ([]byte, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cliTimeout)
		defer cancel()
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	cmd.WaitDelay = time.Second
	if err := cmd.Run(); err != nil {
		return out.Bytes(), fmt.Errorf("%s: %w: %s", strings.Join(argv, " "), err, strings.TrimSpace(errb.String()+" "+out.String()))
	}
	return out.Bytes(), nil
}

// checkConfig runs a daemon's syntax check and turns a failure into an error
// that shows the checker's output next to the numbered config.
func checkConfig(ctx context.Context, confPath string, argv ...string) error {
	if _, err := run(ctx, nil, argv...); err != nil {
		return fmt.Errorf("config check failed: %v\n%s", err, numbered(confPath))
	}
	return nil
}

func numbered(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	var sb strings.Builder
	for i, l := range strings.Split(string(b), "\n") {
		fmt.Fprintf(&sb, "%4d  %s\n", i+1, l)
	}
	return sb.String()
}

// tail returns the last n lines of a file.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// socketDir returns dir, or a short directory of its own when a unix socket
// name inside dir would pass the 107-byte limit of sun_path (t.TempDir
// names grow with the test's name).
func socketDir(t testing.TB, dir, name string) string {
	if len(filepath.Join(dir, name)) <= 100 {
		return dir
	}
	d, err := os.MkdirTemp("", "peers-")
	if err != nil {
		t.Fatalf("socket directory: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

// writeFile writes a config file readable only by its owner: OpenBGPD
// refuses group- or world-readable files that hold passwords, and MD5
// passwords live in all of these configs.
func writeFile(path, content string) error {
	return os.WriteFile(path, []byte(content), 0o600)
}

// listening reports whether some socket listens on addr:port, read from
// /proc so that checking does not open a connection the daemon would log or
// count as a peer.
func listening(addr netip.Addr, port int) (bool, error) {
	files := []string{"/proc/net/tcp"}
	if addr.Is6() {
		files = []string{"/proc/net/tcp6"}
	}
	want := procNetAddr(addr, port)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return false, err
		}
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			fs := strings.Fields(sc.Text())
			// sl local_address rem_address st ...; st 0A is LISTEN.
			if len(fs) > 3 && fs[3] == "0A" && fs[1] == want {
				return true, nil
			}
		}
	}
	return false, nil
}

// procNetAddr formats addr:port the way /proc/net/tcp{,6} shows it: the
// address as host-order 32-bit words in hex, the port in hex.
func procNetAddr(addr netip.Addr, port int) string {
	var sb strings.Builder
	b := addr.AsSlice()
	for i := 0; i < len(b); i += 4 {
		// Words are printed as native-endian (little-endian on every
		// platform these tests run on) integers.
		fmt.Fprintf(&sb, "%02X%02X%02X%02X", b[i+3], b[i+2], b[i+1], b[i])
	}
	fmt.Fprintf(&sb, ":%04X", port)
	return sb.String()
}

// waitUp waits until the daemon answers (ready returns true) and, when it
// must listen, until its listener is open. It fails early if the daemon
// exits during start-up.
func (p *proc) waitUp(ctx context.Context, ready func() (bool, error)) error {
	return poll(ctx, startTimeout, func() (bool, error) {
		if p.exited() {
			return false, fmt.Errorf("%s exited during start-up (exit status %v)", p.name, p.cmd.ProcessState)
		}
		ok, err := ready()
		if !ok || err != nil {
			return false, err
		}
		if p.cfg.ListenPort != 0 {
			return listening(p.cfg.LocalAddr, p.cfg.ListenPort)
		}
		return true, nil
	})
}

// fatalStart stops a half-started daemon and fails the test, showing the log.
func fatalStart(t testing.TB, p *proc, err error) {
	t.Helper()
	if p != nil {
		p.Stop()
		t.Fatalf("%s: %v\nlast lines of %s:\n%s", p.name, err, p.logPath, tail(p.logPath, 50))
	}
	t.Fatal(err)
}

// Community handling. Daemons print communities in different ways (BIRD
// "(65000,1)", FRR and OpenBGPD with well-known names, gobgp as uint32); all
// are brought to "asn:value".

// wellKnownCommunities maps the names daemons print for RFC 1997 and later
// well-known communities, lower-cased and without '-' and '_' (FRR's JSON
// says "noExport", its text "no-export", OpenBGPD "NO_EXPORT"), to numbers.
var wellKnownCommunities = map[string]string{
	"gracefulshutdown": "65535:0", "gshut": "65535:0",
	"acceptown":               "65535:1",
	"routefiltertranslatedv4": "65535:2", "routefilterv4": "65535:3",
	"routefiltertranslatedv6": "65535:4", "routefilterv6": "65535:5",
	"llgrstale":         "65535:6",
	"nollgr":            "65535:7",
	"acceptownnexthop":  "65535:8",
	"blackhole":         "65535:666",
	"noexport":          "65535:65281",
	"noadvertise":       "65535:65282",
	"localas":           "65535:65283",
	"noexportsubconfed": "65535:65283",
	"nopeer":            "65535:65284",
	"internet":          "0:0",
}

// canonCommunity turns a daemon's spelling of a standard community into "asn:value".
func canonCommunity(s string) (string, error) {
	key := strings.ToLower(strings.NewReplacer("-", "", "_", "").Replace(s))
	if v, ok := wellKnownCommunities[key]; ok {
		return v, nil
	}
	v, err := parseCommunity(s)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%d:%d", v>>16, v&0xffff), nil
}

func parseCommunity(s string) (uint32, error) {
	a, b, ok := strings.Cut(s, ":")
	if !ok {
		return 0, fmt.Errorf("community %q: want asn:value", s)
	}
	hi, err1 := strconv.ParseUint(a, 10, 16)
	lo, err2 := strconv.ParseUint(b, 10, 16)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("community %q: want two 16-bit numbers", s)
	}
	return uint32(hi)<<16 | uint32(lo), nil
}

func parseLargeCommunity(s string) ([3]uint32, error) {
	var v [3]uint32
	parts := strings.Split(s, ":")
	if len(parts) != 3 {
		return v, fmt.Errorf("large community %q: want global:local1:local2", s)
	}
	for i, p := range parts {
		n, err := strconv.ParseUint(strings.TrimSpace(p), 10, 32)
		if err != nil {
			return v, fmt.Errorf("large community %q: %v", s, err)
		}
		v[i] = uint32(n)
	}
	return v, nil
}

// sortCommunities sorts "a:b" or "a:b:c" strings numerically in place and
// returns nil for an empty list, so Routes compare with reflect.DeepEqual.
func sortCommunities(cs []string) []string {
	if len(cs) == 0 {
		return nil
	}
	key := func(s string) []uint64 {
		var k []uint64
		for _, p := range strings.Split(s, ":") {
			n, _ := strconv.ParseUint(p, 10, 64)
			k = append(k, n)
		}
		return k
	}
	slices.SortFunc(cs, func(a, b string) int { return slices.Compare(key(a), key(b)) })
	return cs
}

// finishRoutes normalises routes read from a daemon and sorts them by prefix.
func finishRoutes(rs []Route) []Route {
	for i := range rs {
		rs[i].Communities = sortCommunities(rs[i].Communities)
		rs[i].LargeCommunities = sortCommunities(rs[i].LargeCommunities)
		if len(rs[i].ASPath) == 0 {
			rs[i].ASPath = nil
		}
	}
	slices.SortFunc(rs, func(a, b Route) int {
		if c := a.Prefix.Addr().Compare(b.Prefix.Addr()); c != 0 {
			return c
		}
		return a.Prefix.Bits() - b.Prefix.Bits()
	})
	return rs
}

// parseASPath reads a space-separated AS path as BIRD and OpenBGPD print it,
// skipping set and confederation brackets.
func parseASPath(s string) ([]uint32, error) {
	var path []uint32
	for _, f := range strings.Fields(strings.NewReplacer("{", " ", "}", " ", "(", " ", ")", " ", "[", " ", "]", " ", ",", " ").Replace(s)) {
		n, err := strconv.ParseUint(f, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("AS path %q: %v", s, err)
		}
		path = append(path, uint32(n))
	}
	return path, nil
}

func uintsToStrings(vs []uint32, sep string) string {
	s := make([]string, len(vs))
	for i, v := range vs {
		s[i] = strconv.FormatUint(uint64(v), 10)
	}
	return strings.Join(s, sep)
}

// KernelTCPMD5 reports whether this kernel supports TCP-MD5 signatures (RFC 2385, CONFIG_TCP_MD5SIG).
// Without it the daemons start with an MD5 password configured and run their sessions unsigned (their
// setsockopt fails and they carry on), so a test that sets a password proves nothing about MD5 unless
// this is true.
func KernelTCPMD5() bool {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
	if err != nil {
		return false
	}
	defer unix.Close(fd)
	sig := unix.TCPMD5Sig{Keylen: 4}
	copy(sig.Key[:], "test")
	sa := (*unix.RawSockaddrInet4)(unsafe.Pointer(&sig.Addr))
	sa.Family = unix.AF_INET
	sa.Addr = [4]byte{127, 0, 0, 1}
	return unix.SetsockoptTCPMD5Sig(fd, unix.IPPROTO_TCP, unix.TCP_MD5SIG, &sig) == nil
}
