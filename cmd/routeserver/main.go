// Command routeserver is the ixrs BGP route server for Internet exchange
// points. It keeps the command line, signals and logging; the route server
// itself is package daemon.
//
// Usage:
//
//	routeserver -config FILE          run in the foreground; SIGHUP reloads, SIGINT/SIGTERM stop
//	routeserver -check -config FILE   validate: exit 0, or print every problem and exit 1
//	routeserver -version
//
// Without -config the embedded default.toml is used: a demo on loopback
// addresses and unprivileged ports. Logs go to stderr (-log-level,
// -log-format). docs/configuration.md describes the configuration file.
package main

import (
	"context"
	_ "embed"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/ixrs/ixrs/config"
	"github.com/ixrs/ixrs/daemon"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3".
var version = "dev"

// defaultConfig is the configuration used without -config. run reloads it
// from here when its path argument is "".
//
//go:embed default.toml
var defaultConfig []byte

// defaultConfigName names the embedded configuration in messages.
const defaultConfigName = "default.toml (embedded)"

// Exit codes.
const (
	exitOK     = 0
	exitFailed = 1 // bad configuration, or the route server failed
	exitUsage  = 2 // bad command line, as the flag package does
)

// gcPercent is the garbage collector's growth target (GOGC) unless the environment sets one. Nearly
// all of a route server's heap is its RIB, which lives as long as the sessions do, while the garbage
// (decoded UPDATEs) is small and short-lived: Go's default of 100 lets the heap grow to twice the RIB
// before collecting, so peak memory is twice what the route server holds. At 25 the heap stays within
// a quarter of it, for a little more collector CPU (docs/benchmarks.md).
//
// gcMinGrowth is the least the heap may grow between two collections (gc.go): while members send
// their tables the RIB grows from nothing, and a quarter of a small heap is a collection every
// megabyte or two. It changes nothing once the live heap is above 32 MiB, where a quarter is more.
const (
	gcPercent   = 25
	gcMinGrowth = 8 << 20
)

func main() {
	if os.Getenv("GOGC") == "" {
		startGCPacer(gcPercent, gcMinGrowth)
	}
	// run installs its own SIGHUP handler (reload); until then a SIGHUP
	// must not kill the process, whose default action it is.
	signal.Ignore(syscall.SIGHUP)
	os.Exit(realMain(os.Args[1:], os.Stdout, os.Stderr))
}

// realMain is main without the process: it returns the exit code.
func realMain(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("routeserver", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "read the configuration from `FILE` (default: the embedded demo configuration)")
	check := fs.Bool("check", false, "validate the configuration and exit: 0 if valid, 1 after printing every problem")
	showVersion := fs.Bool("version", false, "print the version and exit")
	logLevel := fs.String("log-level", "info", "log `level`: debug, info, warn or error")
	logFormat := fs.String("log-format", "text", "log `format`: text or json")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the whole run to `FILE` (go tool pprof)")
	traceFile := fs.String("trace", "", "write a runtime execution trace of the whole run to `FILE` (go tool trace)")
	memProfile := fs.String("memprofile", "", "write a heap profile to `FILE` when the route server stops (go tool pprof)")
	demoMembers := fs.Bool("demo", false, "also run simulated members on loopback addresses (always on without -config)")
	fs.Usage = func() {
		fmt.Fprint(stderr, "Usage:\n"+
			"  routeserver -config FILE          run (foreground; SIGHUP reloads, SIGTERM stops)\n"+
			"  routeserver -check -config FILE   validate the configuration\n"+
			"  routeserver -version\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "routeserver: unexpected argument %q (the configuration file goes after -config)\n", fs.Arg(0))
		return exitUsage
	}
	if *showVersion {
		fmt.Fprintln(stdout, versionLine())
		return exitOK
	}
	log, err := newLogger(stderr, *logLevel, *logFormat)
	if err != nil {
		fmt.Fprintf(stderr, "routeserver: %v\n", err)
		return exitUsage
	}

	cfg, err := loadConfig(*configPath)
	if err != nil {
		printProblems(stderr, err)
		return exitFailed
	}
	warnings := cfg.Warnings()
	if *check {
		for _, w := range warnings {
			fmt.Fprintln(stderr, warning(w))
		}
		fmt.Fprintf(stdout, "config OK: %d members, %d sessions\n", len(cfg.Members), cfg.Sessions())
		return exitOK
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	heapWritten := make(chan struct{})
	go func() {
		<-ctx.Done()
		// Restore the default action, so a second signal ends a stop
		// that takes too long.
		stop()
		if *memProfile != "" {
			// Now, while the RIB is still whole: the profile shows what a running server holds.
			writeHeapProfile(*memProfile, log)
		}
		close(heapWritten)
	}()

	if *cpuProfile != "" {
		stopProfile, err := startCPUProfile(*cpuProfile)
		if err != nil {
			fmt.Fprintf(stderr, "routeserver: %v\n", err)
			return exitFailed
		}
		defer stopProfile()
	}
	if *traceFile != "" {
		stopTrace, err := startTrace(*traceFile)
		if err != nil {
			fmt.Fprintf(stderr, "routeserver: %v\n", err)
			return exitFailed
		}
		defer stopTrace()
	}
	if *configPath == "" || *demoMembers { // simulated members (demo.go)
		if cfg, err = withDemo(ctx, *configPath, stdout, log); err != nil {
			printProblems(stderr, err)
			return exitFailed
		}
		defer stopDemo()
	}
	log.Info("starting", "version", version, "config", cfg.Path, "members", len(cfg.Members), "sessions", cfg.Sessions())
	for _, w := range warnings {
		log.Warn(w.Msg, "file", w.File, "line", w.Line)
	}
	if err := run(ctx, cfg, *configPath, log); err != nil {
		log.Error("stopped", "err", err)
		return exitFailed
	}
	<-heapWritten // run returns nil only once ctx is done
	log.Info("stopped", "cause", context.Cause(ctx))
	return exitOK
}

// run runs the route server until ctx is done, reloading the configuration on SIGHUP.
func run(ctx context.Context, cfg *config.Config, path string, log *slog.Logger) error {
	d, err := daemon.New(cfg, daemon.Options{
		Logger:  log,
		Load:    func() (*config.Config, error) { return loadConfig(path) },
		Version: version,
	})
	if err != nil {
		return err
	}
	prom, err := startMetrics(ctx, cfg, d, log)
	if err != nil {
		return err
	}
	lg, err := startLookingGlass(ctx, cfg, d, prom, log)
	if err != nil {
		return err
	}
	reload := reloader(d, prom, lg)
	if err := startAdmin(ctx, cfg, d, reload, log); err != nil {
		return err
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		for {
			select {
			case <-runCtx.Done():
				return
			case <-hup:
				reload(runCtx) // Reload logs every problem itself, with its line.
			}
		}
	}()
	return d.Run(ctx)
}

// loadConfig reads the file at path, or the embedded default when path is "".
func loadConfig(path string) (*config.Config, error) {
	if demoRun != nil {
		return demoRun.load(path)
	}
	if path == "" {
		return config.Parse(defaultConfigName, defaultConfig)
	}
	return config.Load(path)
}

// printProblems prints each problem of a configuration on its own line.
func printProblems(w io.Writer, err error) {
	var errs *config.Errors
	if errors.As(err, &errs) {
		for _, e := range *errs {
			fmt.Fprintln(w, e)
		}
		fmt.Fprintf(w, "routeserver: %d problem(s) in the configuration\n", len(*errs))
		return
	}
	fmt.Fprintf(w, "routeserver: %v\n", err)
}

// warning formats a configuration warning as file:line: warning: text.
func warning(w *config.Error) string {
	c := *w
	c.Msg = "warning: " + c.Msg
	return c.Error()
}

// newLogger returns the process's logger, writing to w.
func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var lvl slog.Level
	switch level {
	case "debug":
		lvl = slog.LevelDebug
	case "info":
		lvl = slog.LevelInfo
	case "warn":
		lvl = slog.LevelWarn
	case "error":
		lvl = slog.LevelError
	default:
		return nil, fmt.Errorf("-log-level %q: must be debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lvl}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("-log-format %q: must be text or json", format)
}
