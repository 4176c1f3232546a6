package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ixrs/ixrs/config"
	"github.com/ixrs/ixrs/daemon"
	"github.com/ixrs/ixrs/lookingglass"
	"github.com/ixrs/ixrs/mrt"
)

// fakeControl records the actions it is asked for.
type fakeControl struct {
	mu    sync.Mutex
	calls []string
	gshut bool
}

func (f *fakeControl) record(s string) {
	f.mu.Lock()
	f.calls = append(f.calls, s)
	f.mu.Unlock()
}

func (f *fakeControl) AdminStatus(context.Context) (daemon.AdminStatus, error) {
	return daemon.AdminStatus{GracefulShutdown: f.gshut, Members: []daemon.MemberAdmin{{Member: "A", ASN: 65001, Down: true, Message: "m"}}}, nil
}

func (f *fakeControl) ShutdownMember(_ context.Context, name, msg string) (string, error) {
	if name != "A" {
		return "", fmt.Errorf("member %q: %w", name, daemon.ErrUnknownMember)
	}
	f.record("shutdown " + name + " " + msg)
	return name, nil
}

func (f *fakeControl) EnableMember(_ context.Context, name string) (string, bool, error) {
	f.record("enable " + name)
	return name, true, nil
}

func (f *fakeControl) ResetMember(_ context.Context, name string, soft bool, msg string) (string, int, error) {
	f.record(fmt.Sprintf("reset %s %v %s", name, soft, msg))
	return name, 1, nil
}

func (f *fakeControl) ClearMaxPrefix(_ context.Context, m string) (int, error) {
	f.record("clear " + m)
	return 0, nil
}

func (f *fakeControl) SetGracefulShutdown(_ context.Context, on bool) error {
	f.record(fmt.Sprint("gshut ", on))
	f.gshut = on
	return nil
}

func (f *fakeControl) DumpMRT(context.Context) (mrt.Result, error) {
	f.record("mrt dump")
	return mrt.Result{Accepted: "/d/a.mrt", Filtered: "/d/f.mrt", Peers: 2, AcceptedRoutes: 4, Resyncs: 1}, nil
}

func (f *fakeControl) SetTrace(_ context.Context, name string, types []string, raw bool) (string, daemon.TraceSpec, error) {
	if name != "A" {
		return "", daemon.TraceSpec{}, fmt.Errorf("member %q: %w", name, daemon.ErrUnknownMember)
	}
	if slices.Contains(types, "bogus") {
		return "", daemon.TraceSpec{}, fmt.Errorf("%w: unknown message type", daemon.ErrBadTrace)
	}
	f.record(fmt.Sprintf("trace %s %v %v", name, types, raw))
	return name, daemon.TraceSpec{Types: types, Raw: raw}, nil
}

func (f *fakeControl) Diff(_ context.Context, cfg *config.Config) ([]daemon.Change, []string, error) {
	return []daemon.Change{{Member: "A", Action: "update", Detail: fmt.Sprint(len(cfg.Members))}}, nil, nil
}

// fakeRead is a read side with one session of member A.
type fakeRead struct{ lookingglass.Backend }

func (fakeRead) Status(context.Context) (lookingglass.Status, error) {
	return lookingglass.Status{ASN: 65000, Ready: true}, nil
}

func (fakeRead) Sessions(context.Context) ([]lookingglass.Session, error) {
	return []lookingglass.Session{{Member: "A", ASN: 65001, Neighbor: netip.MustParseAddr("192.0.2.1"), State: "idle"}}, nil
}

func (fakeRead) Routes(_ context.Context, q lookingglass.RoutesQuery) (lookingglass.RoutePage, error) {
	return lookingglass.RoutePage{Routes: []lookingglass.Route{{Prefix: netip.MustParsePrefix("10.0.0.0/8"), Neighbor: q.Neighbor}}}, nil
}

func newTestServer(t testing.TB) (*Server, *fakeControl, *bytes.Buffer) {
	fc := &fakeControl{}
	var logs bytes.Buffer
	s := New(Options{Control: fc, Read: fakeRead{}, Version: "v-test", Token: "sesame",
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	return s, fc, &logs
}

func do(t *testing.T, h http.Handler, method, path, body string, hdr ...string) (int, string) {
	t.Helper()
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Code, w.Body.String()
}

// TestCalls: each call reaches the daemon with its arguments, answers JSON, and bad requests,
// unknown members and refused configurations get their status and an Error body.
func TestCalls(t *testing.T) {
	s, fc, logs := newTestServer(t)
	h := s.Handler()
	for _, tt := range []struct {
		method, path, body string
		code               int
		has                string
	}{
		{"GET", "/v1/version", "", 200, `"version": "v-test"`},
		{"GET", "/v1/summary", "", 200, `"admin_message": "m"`},
		{"GET", "/v1/neighbors?q=192.0.2.1", "", 200, `"Member": "A"`},
		{"GET", "/v1/neighbors?q=B", "", 404, `"error"`},
		{"GET", "/v1/routes?neighbor=A&view=filtered", "", 200, `"view": "filtered"`},
		{"GET", "/v1/routes?neighbor=A&view=best", "", 400, `view \"best\"`},
		{"GET", "/v1/routes?view=received", "", 400, `neighbor`},
		{"GET", "/v1/routes?neighbor=A&limit=0", "", 400, `limit`},
		{"POST", "/v1/neighbor/shutdown", `{"member":"A","message":"maint"}`, 200, `"changed": true`},
		{"POST", "/v1/neighbor/shutdown", `{"member":"B"}`, 404, `unknown member`},
		{"POST", "/v1/neighbor/shutdown", `{"member":"A","bogus":1}`, 400, `unknown field`},
		{"POST", "/v1/neighbor/shutdown", `{}`, 400, `member: required`},
		{"POST", "/v1/neighbor/reset", `{"member":"A","soft":true}`, 200, `"sessions": 1`},
		{"POST", "/v1/graceful-shutdown", `{"on":true}`, 200, `"on": true`},
		{"POST", "/v1/mrt/dump", `{}`, 200, `"accepted": "/d/a.mrt"`},
		{"POST", "/v1/mrt/dump", `{}`, 200, `"resyncs": 1`},
		{"POST", "/v1/trace", `{"member":"A","types":["update"],"raw":true}`, 200, `"raw": true`},
		{"POST", "/v1/trace", `{"member":"A"}`, 200, `"types": []`},
		{"POST", "/v1/trace", `{"member":"B","types":["update"]}`, 404, `unknown member`},
		{"POST", "/v1/trace", `{"member":"A","types":["bogus"]}`, 400, `unknown message type`},
		{"POST", "/v1/trace", `{"types":["update"]}`, 400, `member: required`},
		{"POST", "/v1/reload", ``, 503, `no configuration source`},
		{"POST", "/v1/diff?name=x.toml", "[server]\nasn = 65000\nrouter_id = \"10.0.0.1\"\n", 200, `"action": "update"`},
		{"POST", "/v1/diff?name=x.toml", "[server]\nasn = \"x\"\n", 422, `x.toml:2`},
		{"GET", "/v1/neighbor/shutdown", "", 404, `no such call`},
		{"DELETE", "/v1/summary", "", 404, `no such call`},
	} {
		code, body := do(t, h, tt.method, tt.path, tt.body)
		if code != tt.code || !strings.Contains(body, tt.has) {
			t.Errorf("%s %s %s: %d %s; want %d with %q", tt.method, tt.path, tt.body, code, body, tt.code, tt.has)
		}
		if code/100 != 2 {
			var e Error
			if err := json.Unmarshal([]byte(body), &e); err != nil || e.Error == "" {
				t.Errorf("%s %s: error body %q", tt.method, tt.path, body)
			}
		}
	}
	want := []string{"shutdown A maint", "reset A true ", "gshut true", "mrt dump", "mrt dump", "trace A [update] true", "trace A [] false"}
	if fmt.Sprint(fc.calls) != fmt.Sprint(want) {
		t.Errorf("calls %q, want %q", fc.calls, want)
	}
	if !strings.Contains(logs.String(), `msg="admin call" who=unix method=POST path=/v1/trace`) {
		t.Errorf("trace not logged with its caller:\n%s", logs)
	}
	if !strings.Contains(logs.String(), `msg="admin call" who=unix method=POST path=/v1/neighbor/shutdown`) {
		t.Errorf("action not logged with its caller:\n%s", logs)
	}
}

// TestListeners: the unix socket gets its mode, names the caller in the log and needs no token;
// TCP needs the token; a stale socket file is replaced, a live one is not.
func TestListeners(t *testing.T) {
	s, _, logs := newTestServer(t)
	dir := t.TempDir()
	sock := filepath.Join(dir, "admin.sock")
	tokFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokFile, []byte("  s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// A stale socket file left by a crash.
	stale, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	stale.(*net.UnixListener).SetUnlinkOnClose(false)
	stale.Close()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a := config.Admin{Socket: sock, SocketMode: "0660", Listen: "127.0.0.1:0", TokenFile: "token"}
	// Listen on a fixed free port: take one, release it.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a.Listen = l.Addr().String()
	l.Close()
	if err := s.Listen(ctx, a, func(n string) string { return filepath.Join(dir, n) }); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(sock)
	if err != nil || fi.Mode().Perm() != 0o660 {
		t.Fatalf("socket mode: %v, %v", fi, err)
	}
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", sock)
	}}}
	resp, err := hc.Post("http://x/v1/graceful-shutdown", "application/json", strings.NewReader(`{"on":false}`))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("unix call: %v %v", resp, err)
	}
	resp.Body.Close()
	if !strings.Contains(logs.String(), fmt.Sprintf("(uid=%d,gid=%d,pid=%d)", os.Getuid(), os.Getgid(), os.Getpid())) {
		t.Errorf("unix caller not named in the log:\n%s", logs)
	}

	tcp := func(token string) int {
		req, _ := http.NewRequest("GET", "http://"+a.Listen+"/v1/version", nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	if c := tcp(""); c != 401 {
		t.Errorf("TCP without token: %d", c)
	}
	if c := tcp("wrong"); c != 401 {
		t.Errorf("TCP with a wrong token: %d", c)
	}
	if c := tcp("s3cret"); c != 200 {
		t.Errorf("TCP with the token: %d", c)
	}

	// A second server on the same live socket is refused.
	s2, _, _ := newTestServer(t)
	if err := s2.Listen(ctx, config.Admin{Socket: sock}, nil); err == nil || !strings.Contains(err.Error(), "another process") {
		t.Errorf("second server on a live socket: %v", err)
	}
}

// FuzzActions: any body on any action answers JSON with a status, never panics, and reaches the
// daemon only when it is a valid request.
func FuzzActions(f *testing.F) {
	for _, s := range []string{`{"member":"A"}`, `{"member":"A","message":"x","soft":true}`, `{"on":true}`, `{`, `[]`, `{"member":1}`, "[server]\nasn = 1\n",
		`{"member":"A","types":["update","all"],"raw":true}`, `{"member":"A","types":"update"}`} {
		for p := uint8(0); p < 7; p++ {
			f.Add(p, s)
		}
	}
	paths := []string{"/v1/neighbor/shutdown", "/v1/neighbor/enable", "/v1/neighbor/reset", "/v1/max-prefix/clear", "/v1/graceful-shutdown", "/v1/diff", "/v1/trace"}
	f.Fuzz(func(t *testing.T, p uint8, body string) {
		s, _, _ := newTestServer(t)
		code, out := do(t, s.Handler(), "POST", paths[int(p)%len(paths)], body)
		if !json.Valid([]byte(out)) {
			t.Fatalf("%d: not JSON: %q", code, out)
		}
		if code/100 != 2 && code/100 != 4 {
			t.Fatalf("status %d for %q: %s", code, body, out)
		}
	})
}
