package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"

	"github.com/ixrs/ixrs/config"
	"github.com/ixrs/ixrs/demo"
)

// The demo: without -config (and with -demo alongside one) the route server runs with simulated
// members (package demo) on loopback addresses, so that a newcomer opening the looking glass sees a
// living route server. Their [[member]] tables are added to every configuration read, the first
// and each one a SIGHUP reloads, so a reload keeps them.

// demoRun is set while the demo members run; loadConfig then adds them to what it reads.
var demoRun *demoSetup

type demoSetup struct {
	dir     string
	members []demo.Member
	tables  string // the [[member]] (and [rpki]) tables to append
	names   string // the ASN names file
}

// withDemo sets up the demo for the configuration at path, reads it with the members added and
// starts them; call stopDemo when the route server has stopped.
func withDemo(ctx context.Context, path string, stdout io.Writer, log *slog.Logger) (*config.Config, error) {
	cleanup, err := setupDemo(path)
	if err != nil {
		return nil, err
	}
	demoCleanup = cleanup
	cfg, err := loadConfig(path)
	if err == nil {
		err = startDemo(ctx, cfg, stdout, log)
	}
	if err != nil {
		stopDemo()
		return nil, err
	}
	return cfg, nil
}

var demoCleanup func()

// stopDemo removes the demo's files; the members stop with the context given to withDemo.
func stopDemo() {
	if demoCleanup != nil {
		demoCleanup()
		demoCleanup = nil
	}
}

// setupDemo prepares the demo for the configuration at path ("" for the embedded one): it writes
// the members' IRR, RPKI and ASN-name files into a temporary directory and makes loadConfig add
// the members. cleanup removes the directory.
func setupDemo(path string) (cleanup func(), err error) {
	base, name, err := readConfigText(path)
	if err != nil {
		return nil, err
	}
	cfg, err := config.Parse(name, base)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "ixrs-demo-")
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	members := demo.DefaultMembers()
	// A member's IPv6 session needs an IPv6 loopback listener and ::1 inside the peering LANs.
	_, v6 := demo.RouteServerAddr(cfg.Server.Listen, true)
	if !v6 || !slices.ContainsFunc(cfg.Server.PeeringLANs, func(p netip.Prefix) bool { return p.Contains(netip.IPv6Loopback()) }) {
		for i := range members {
			members[i].Addr6 = netip.Addr{}
		}
	}
	// The members' routes are validated against the demo's VRP file unless the configuration has
	// RPKI data of its own.
	rpki := len(cfg.RPKI.Caches) == 0 && cfg.RPKI.VRPFile == ""
	tables, names, err := demo.Files(dir, members, cfg.Server.ASN, rpki)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	demoRun = &demoSetup{dir: dir, members: members, tables: tables, names: names}
	return func() { demoRun = nil; os.RemoveAll(dir) }, nil
}

func readConfigText(path string) (data []byte, name string, err error) {
	if path == "" {
		return defaultConfig, defaultConfigName, nil
	}
	data, err = os.ReadFile(path)
	if err != nil {
		return nil, "", fmt.Errorf("config: %w", err)
	}
	return data, path, nil
}

// load reads the configuration at path with the demo members added.
func (d *demoSetup) load(path string) (*config.Config, error) {
	base, name, err := readConfigText(path)
	if err != nil {
		return nil, err
	}
	data := append(append([]byte{}, base...), "\n# added by routeserver -demo\n"+d.tables...)
	cfg, err := config.Parse(name, data)
	if err != nil {
		return nil, err
	}
	if cfg.LookingGlass.ASNNamesFile == "" {
		cfg.LookingGlass.ASNNamesFile = d.names
	}
	if cfg.Server.StateDir == "" {
		// Kept for the demo's run only (the directory goes with it), unprivileged.
		cfg.Server.StateDir = filepath.Join(d.dir, "state")
	}
	return cfg, nil
}

// startDemo starts the members toward the route server of cfg and says where to look. They keep
// trying to connect until the route server listens, and stop when ctx is done.
func startDemo(ctx context.Context, cfg *config.Config, stdout io.Writer, log *slog.Logger) error {
	rs4, ok := demo.RouteServerAddr(cfg.Server.Listen, false)
	if !ok {
		return fmt.Errorf("demo: the route server must listen on an IPv4 loopback (or unspecified) address for the demo members; [server] listen = %q", cfg.Server.Listen)
	}
	rs6, _ := demo.RouteServerAddr(cfg.Server.Listen, true)
	go func() {
		err := demo.Run(ctx, demo.Options{RouteServer: rs4, RouteServer6: rs6, RouteServerASN: cfg.Server.ASN,
			Members: demoRun.members, Logger: slog.New(errorsOnly{log.Handler()}).With("component", "demo")})
		if err != nil {
			log.Error("demo members stopped", "err", err)
		}
	}()
	msg := fmt.Sprintf("demo: %d simulated members connect to the route server at %s", len(demoRun.members), rs4)
	if l := cfg.LookingGlass.Listen; l != "" {
		msg += "; open the looking glass at " + lookingGlassURL(l)
	}
	fmt.Fprintln(stdout, msg)
	return nil
}

// lookingGlassURL is the URL to open for the listener l ("host:port"): an empty or unspecified host
// is reached on loopback.
func lookingGlassURL(l string) string {
	host, port, err := net.SplitHostPort(l)
	if err != nil {
		return "http://" + l + "/"
	}
	if a, err := netip.ParseAddr(host); host == "" || (err == nil && a.IsUnspecified()) {
		host = "127.0.0.1"
		if err == nil && a.Is6() {
			host = "::1"
		}
	}
	return "http://" + net.JoinHostPort(host, port) + "/"
}

// errorsOnly passes only errors: the simulated members' own session logs would repeat, from the
// other side, what the route server logs about the same sessions.
type errorsOnly struct{ slog.Handler }

func (h errorsOnly) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelError && h.Handler.Enabled(ctx, l)
}

func (h errorsOnly) WithAttrs(as []slog.Attr) slog.Handler {
	return errorsOnly{h.Handler.WithAttrs(as)}
}

func (h errorsOnly) WithGroup(name string) slog.Handler { return errorsOnly{h.Handler.WithGroup(name)} }
