// Package admin is the route server's control interface: a small JSON-over-HTTP protocol on a unix
// socket (and optionally on a TCP listener that requires a bearer token) that cmd/rsctl speaks. It
// shows sessions and routes through the same read jobs as the looking glass, hidden members
// included, and carries out the operator's actions on the daemon: reload, diff, administrative
// shutdown, enable and reset of members, max-prefix clear, graceful shutdown. Every call is logged
// with who made it: the peer's uid and gid on the unix socket, the address on TCP.
//
// The protocol is documented in docs/admin.md. It is never served on the looking glass's listener.
package admin

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/user"
	"strconv"
	"strings"
	"time"

	"github.com/ixrs/ixrs/config"
	"github.com/ixrs/ixrs/daemon"
	"github.com/ixrs/ixrs/lookingglass"
	"github.com/ixrs/ixrs/mrt"
)

// Control is what the admin interface acts on; *daemon.Daemon implements it.
type Control interface {
	AdminStatus(ctx context.Context) (daemon.AdminStatus, error)
	ShutdownMember(ctx context.Context, name, msg string) (string, error)
	EnableMember(ctx context.Context, name string) (string, bool, error)
	ResetMember(ctx context.Context, name string, soft bool, msg string) (string, int, error)
	ClearMaxPrefix(ctx context.Context, member string) (int, error)
	SetGracefulShutdown(ctx context.Context, on bool) error
	Diff(ctx context.Context, cfg *config.Config) ([]daemon.Change, []string, error)
	DumpMRT(ctx context.Context) (mrt.Result, error)
	SetTrace(ctx context.Context, member string, types []string, raw bool) (string, daemon.TraceSpec, error)
}

var _ Control = (*daemon.Daemon)(nil)

// Options configure a Server.
type Options struct {
	Control Control
	// Read is the read side (sessions, routes, explain).
	Read lookingglass.Backend
	// Reload reloads the configuration the way SIGHUP does (so that metrics and the looking glass
	// follow).
	Reload  func(ctx context.Context) (daemon.ReloadResult, error)
	Version string
	Logger  *slog.Logger
	// Token is the bearer token required on TCP listeners; "" refuses every TCP request.
	Token string
}

// Server serves the admin protocol.
type Server struct {
	opts Options
	log  *slog.Logger
	mux  *http.ServeMux
}

// callTimeout bounds one call's wait for the daemon.
const callTimeout = 30 * time.Second

// maxBody bounds a request body (a configuration file for diff).
const maxBody = 4 << 20

// New returns a Server.
func New(opts Options) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{opts: opts, log: opts.Logger, mux: http.NewServeMux()}
	s.routes()
	return s
}

type ctxKey int

const whoKey ctxKey = 0

// caller is who made a call.
type caller struct {
	unix bool
	who  string
}

// Handler returns the protocol's handler, for tests; it treats every call as made on the unix socket.
func (s *Server) Handler() http.Handler { return s.serve(true) }

func (s *Server) serve(unix bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		c, _ := r.Context().Value(whoKey).(caller)
		if c.who == "" {
			c = caller{unix: unix, who: r.RemoteAddr}
			if unix {
				c.who = "unix"
			}
		}
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		if !c.unix && !s.authorized(r) {
			writeError(rec, http.StatusUnauthorized, errors.New("missing or wrong bearer token"))
		} else {
			r.Body = http.MaxBytesReader(rec, r.Body, maxBody)
			s.mux.ServeHTTP(rec, r)
		}
		lvl := slog.LevelInfo
		if r.Method == http.MethodGet {
			lvl = slog.LevelDebug // reads are frequent; actions are always logged
		}
		if rec.status == http.StatusUnauthorized {
			lvl = slog.LevelWarn
		}
		s.log.Log(r.Context(), lvl, "admin call", "who", c.who, "method", r.Method, "path", r.URL.Path,
			"query", r.URL.RawQuery, "status", rec.status, "duration", time.Since(start).String())
	})
}

func (s *Server) authorized(r *http.Request) bool {
	if s.opts.Token == "" {
		return false
	}
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return ok && subtle.ConstantTimeCompare([]byte(got), []byte(s.opts.Token)) == 1
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// Listen opens the listeners of cfg's [admin] table and serves them until ctx is done. It returns
// once they are open; an error if one cannot be.
func (s *Server) Listen(ctx context.Context, a config.Admin, resolve func(string) string) error {
	if a.Socket != "" {
		l, err := listenUnix(a)
		if err != nil {
			return fmt.Errorf("[admin] socket: %w", err)
		}
		s.log.Info("admin socket listening", "socket", a.Socket, "mode", fmt.Sprintf("%#o", a.Mode()), "group", a.SocketGroup)
		go s.run(ctx, l, true, func() { os.Remove(a.Socket) })
	}
	if a.Listen != "" {
		tok, err := os.ReadFile(resolve(a.TokenFile))
		if err != nil {
			return fmt.Errorf("[admin] token_file: %w", err)
		}
		if s.opts.Token = strings.TrimSpace(string(tok)); s.opts.Token == "" {
			return errors.New("[admin] token_file: empty")
		}
		l, err := net.Listen("tcp", a.Listen)
		if err != nil {
			return fmt.Errorf("[admin] listen: %w", err)
		}
		s.log.Info("admin listener (bearer token required)", "listen", l.Addr().String())
		go s.run(ctx, l, false, nil)
	}
	return nil
}

// Serve serves l until ctx is done; unix says whether l is a unix socket (no token required).
func (s *Server) Serve(ctx context.Context, l net.Listener, unix bool) error {
	return s.run(ctx, l, unix, nil)
}

func (s *Server) run(ctx context.Context, l net.Listener, unix bool, cleanup func()) error {
	hs := &http.Server{
		Handler:           s.serve(unix),
		ReadHeaderTimeout: 5 * time.Second,
		WriteTimeout:      2 * callTimeout,
		IdleTimeout:       time.Minute,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			if uc, ok := c.(*net.UnixConn); ok {
				return context.WithValue(ctx, whoKey, caller{unix: true, who: peerCred(uc)})
			}
			return context.WithValue(ctx, whoKey, caller{who: c.RemoteAddr().String()})
		},
	}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		hs.Shutdown(sctx)
	}()
	err := hs.Serve(l)
	if cleanup != nil {
		cleanup()
	}
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// listenUnix opens the socket with its mode and group. A stale socket file is replaced; any other
// file at the path is an error.
func listenUnix(a config.Admin) (net.Listener, error) {
	if fi, err := os.Lstat(a.Socket); err == nil {
		if fi.Mode()&os.ModeSocket == 0 {
			return nil, fmt.Errorf("%s exists and is not a socket", a.Socket)
		}
		if c, err := net.DialTimeout("unix", a.Socket, time.Second); err == nil {
			c.Close()
			return nil, fmt.Errorf("%s: another process serves it", a.Socket)
		}
		os.Remove(a.Socket)
	}
	l, err := net.Listen("unix", a.Socket)
	if err != nil {
		return nil, err
	}
	l.(*net.UnixListener).SetUnlinkOnClose(true)
	if err := os.Chmod(a.Socket, a.Mode()); err != nil {
		l.Close()
		return nil, err
	}
	if a.SocketGroup != "" {
		gid, err := lookupGroup(a.SocketGroup)
		if err == nil {
			err = os.Chown(a.Socket, -1, gid)
		}
		if err != nil {
			l.Close()
			return nil, fmt.Errorf("socket_group %q: %w", a.SocketGroup, err)
		}
	}
	return l, nil
}

func lookupGroup(g string) (int, error) {
	if n, err := strconv.Atoi(g); err == nil {
		return n, nil
	}
	grp, err := user.LookupGroup(g)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(grp.Gid)
}
