// Command rsctl controls a running ixrs route server through its admin socket (docs/admin.md):
// sessions, routes and explanations in bgpctl/birdc-like tables or as JSON, reload and diff of the
// configuration, administrative shutdown, enable and reset of members, max-prefix clear, packet
// tracing and graceful shutdown.
//
// Usage:
//
//	rsctl [-socket PATH | -url URL -token-file FILE] [-json] COMMAND ...
//
// Exit codes: 0 done; 1 the route server refused or failed (unknown member, no such route, a
// configuration with problems); 2 bad command line; 3 the route server cannot be reached or
// answered something unexpected; 4 (diff only) a reload would change something.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"runtime"
	"strings"
	"time"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3".
var version = "dev"

// Exit codes.
const (
	exitOK          = 0
	exitFailed      = 1
	exitUsage       = 2
	exitUnreachable = 3
	exitChanges     = 4
)

// defaultSocket is where the admin socket is looked for without -socket or IXRS_ADMIN_SOCKET.
const defaultSocket = "/run/ixrs/admin.sock"

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

type cli struct {
	c      *client
	json   bool
	stdout io.Writer
	stderr io.Writer
}

// errUsage is a bad command line (exit code 2).
type errUsage string

func (e errUsage) Error() string { return string(e) }

const usage = `Usage: rsctl [flags] COMMAND

Commands:
  show summary                                   every session, one line each
  show neighbor [MEMBER|ADDRESS]                 sessions in detail
  show routes VIEW MEMBER|ADDRESS [ipv4|ipv6]    VIEW: received accepted filtered exported not-exported
  show routes prefix PREFIX [exact|longest|more-specific]
  show routes member MEMBER                      every route received from MEMBER
  explain PREFIX [MEMBER|ADDRESS]                import checks and export decisions of a route
  reload                                         reload the configuration; prints what changed or every problem
  diff -config FILE                              what a reload to FILE would change (exit 4 if anything)
  neighbor MEMBER shutdown [MESSAGE...]          Administrative Shutdown (RFC 9003); stays down until enable
  neighbor MEMBER enable
  neighbor MEMBER reset [soft]                   hard: Administrative Reset; soft: ROUTE-REFRESH in, table out
  max-prefix clear MEMBER                        start sessions held down by a max-prefix action
  graceful-shutdown on|off                       RFC 8326: every route sent with GRACEFUL_SHUTDOWN
  mrt dump                                       write an MRT dump of the Adj-RIB-In now ([mrt] dump_dir)
  trace MEMBER on [TYPE...] [raw]                log MEMBER's messages decoded; TYPE: open update notification
                                                 keepalive refresh (default all); raw adds the bytes in hex
  trace MEMBER off
  version
  completion bash                                print the bash completion script

Exit codes: 0 done, 1 refused or failed, 2 usage, 3 route server unreachable, 4 diff found changes.

Flags:
`

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("rsctl", flag.ContinueOnError)
	fs.SetOutput(stderr)
	sock := os.Getenv("IXRS_ADMIN_SOCKET")
	if sock == "" {
		sock = defaultSocket
	}
	socket := fs.String("socket", sock, "the admin unix `socket` (env IXRS_ADMIN_SOCKET)")
	rawURL := fs.String("url", os.Getenv("IXRS_ADMIN_URL"), "the admin TCP listener as http://host:port instead of the socket (env IXRS_ADMIN_URL)")
	tokenFile := fs.String("token-file", os.Getenv("IXRS_ADMIN_TOKEN_FILE"), "`file` with the bearer token for -url (env IXRS_ADMIN_TOKEN_FILE)")
	asJSON := fs.Bool("json", false, "print the route server's JSON answer")
	timeout := fs.Duration("timeout", 60*time.Second, "give up on the route server after this long")
	fs.Usage = func() {
		fmt.Fprint(stderr, usage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	token := ""
	if *tokenFile != "" {
		b, err := os.ReadFile(*tokenFile)
		if err != nil {
			fmt.Fprintf(stderr, "rsctl: %v\n", err)
			return exitUsage
		}
		token = strings.TrimSpace(string(b))
	}
	cl := &cli{c: newClient(*socket, *rawURL, token, *timeout), json: *asJSON, stdout: stdout, stderr: stderr}
	code, err := cl.dispatch(fs.Args())
	if err == nil {
		return code
	}
	var ue errUsage
	var se *serverError
	switch {
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "rsctl: %v\n(rsctl -h lists the commands)\n", err)
		return exitUsage
	case errors.As(err, &se):
		if cl.json {
			writeJSON(stdout, se.body)
		}
		fmt.Fprintf(stderr, "rsctl: %s\n", se.body.Error)
		for _, p := range se.body.Problems {
			fmt.Fprintln(stderr, p)
		}
		return exitFailed
	default:
		fmt.Fprintf(stderr, "rsctl: %v\n", err)
		return exitUnreachable
	}
}

func writeJSON(w io.Writer, v any) {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

// dispatch runs one command and returns its exit code when it succeeds.
func (cl *cli) dispatch(args []string) (int, error) {
	if len(args) == 0 {
		return 0, errUsage("no command")
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "show":
		return exitOK, cl.show(rest)
	case "explain":
		return exitOK, cl.explain(rest)
	case "reload":
		if len(rest) > 0 {
			return 0, errUsage("reload takes no arguments")
		}
		return exitOK, cl.reload()
	case "diff":
		return cl.diff(rest)
	case "neighbor":
		return exitOK, cl.neighbor(rest)
	case "max-prefix":
		if len(rest) != 2 || rest[0] != "clear" {
			return 0, errUsage("usage: max-prefix clear MEMBER")
		}
		return exitOK, cl.memberAction("/v1/max-prefix/clear", memberReq(rest[1]), "max-prefix clear")
	case "graceful-shutdown":
		if len(rest) != 1 || (rest[0] != "on" && rest[0] != "off") {
			return 0, errUsage("usage: graceful-shutdown on|off")
		}
		return exitOK, cl.gracefulShutdown(rest[0] == "on")
	case "mrt":
		if len(rest) != 1 || rest[0] != "dump" {
			return 0, errUsage("usage: mrt dump")
		}
		return exitOK, cl.mrtDump()
	case "trace":
		return exitOK, cl.trace(rest)
	case "version":
		return exitOK, cl.version()
	case "completion":
		if len(rest) != 1 || rest[0] != "bash" {
			return 0, errUsage("usage: completion bash")
		}
		fmt.Fprint(cl.stdout, bashCompletion)
		return exitOK, nil
	}
	return 0, errUsage(fmt.Sprintf("unknown command %q", cmd))
}

// printRaw prints a JSON answer as is (-json).
func (cl *cli) printRaw(raw []byte) {
	cl.stdout.Write(raw)
	if len(raw) > 0 && raw[len(raw)-1] != '\n' {
		fmt.Fprintln(cl.stdout)
	}
}

func (cl *cli) version() error {
	var v struct{ Version string }
	raw, err := cl.c.get("/v1/version", nil, &v)
	if err != nil {
		return err
	}
	if cl.json {
		cl.printRaw(raw)
		return nil
	}
	fmt.Fprintf(cl.stdout, "rsctl %s (%s)\nroute server %s\n", version, runtime.Version(), v.Version)
	return nil
}

func query(kv ...string) url.Values {
	q := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			q.Set(kv[i], kv[i+1])
		}
	}
	return q
}
