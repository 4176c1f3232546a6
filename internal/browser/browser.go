// Package browser drives Debian's headless Chromium from Go tests (through chromedp) and checks
// what every page of the looking glass must satisfy: no request leaves loopback, the console shows
// no error, and the accessibility basics hold (inputs labelled, headings in order, text contrast of
// at least 4.5:1, a skip link first in the tab order). Under CI=true a missing Chromium fails the
// test; elsewhere it skips.
package browser

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// Browser is one headless Chromium with one tab, for one test.
type Browser struct {
	t   testing.TB
	ctx context.Context

	mu       sync.Mutex
	requests []string // every URL the tab asked for since the last Clean
	console  []string // errors and exceptions since the last Clean
}

// Path is where Chromium is looked for: $CHROMIUM, else chromium on $PATH.
func Path() (string, error) {
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p, nil
	}
	return exec.LookPath("chromium")
}

// Start starts Chromium with a fresh profile and the flags that keep it from talking to anything
// but the pages it is sent to. It stops when the test ends. Each action waits at most timeout.
func Start(t testing.TB) *Browser {
	t.Helper()
	path, err := Path()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("chromium is required under CI=true: %v", err)
		}
		t.Skipf("chromium not installed: %v", err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("no-default-browser-check", true),
		chromedp.Flag("disable-features", "Translate,OptimizationHints,MediaRouter,InterestFeedContentSuggestions"),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	b := &Browser{t: t}
	ctx, cancel := chromedp.NewContext(actx, chromedp.WithListener(b.listen))
	// A bound on the whole browser session: no test may hang on it.
	ctx, cancelTimeout := context.WithTimeout(ctx, 10*time.Minute)
	t.Cleanup(func() { cancelTimeout(); cancel(); cancelAlloc() })
	b.ctx = ctx
	if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatalf("chromium: %v", err)
	}
	go b.readConsole(chromedp.Console(ctx))
	return b
}

func (b *Browser) listen(ev any) {
	if ev, ok := ev.(*network.EventRequestWillBeSent); ok && ev.Request != nil {
		b.mu.Lock()
		b.requests = append(b.requests, ev.Request.URL)
		b.mu.Unlock()
	}
}

func (b *Browser) readConsole(msgs func(func(chromedp.ConsoleMessage, error) bool)) {
	for m, err := range msgs {
		if err != nil {
			return
		}
		if m.IsException() || m.Type == "error" || m.Type == "assert" {
			b.mu.Lock()
			b.console = append(b.console, fmt.Sprintf("%s: %s (%s:%d)", m.Type, m.Text, m.URL, m.Line+1))
			b.mu.Unlock()
		}
	}
}

// Context is the tab's context, for chromedp actions the helpers here do not cover.
func (b *Browser) Context() context.Context { return b.ctx }

// do runs actions, bounded by 30 s, and fails the test on an error.
func (b *Browser) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("browser: %s: %v", what, err)
	}
}

// Run runs one action that returns a value, bounded by 30 s.
func Run[T any](b *Browser, what string, a chromedp.Action[T]) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		b.t.Fatalf("browser: %s: %v", what, err)
	}
	return v
}

// Eval evaluates a JavaScript expression in the page and decodes its value.
func Eval[T any](b *Browser, js string) T {
	b.t.Helper()
	return Run(b, "evaluate "+firstLine(js), chromedp.Evaluate[T](js))
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	if len(s) > 60 {
		s = s[:60] + "…"
	}
	return s
}

// Open loads url and waits until its body is there and its scripts have run.
func (b *Browser) Open(u string) {
	b.t.Helper()
	b.do("open "+u, chromedp.Navigate(u), chromedp.WaitReady(chromedp.CSS("body")))
	Run(b, "wait for load", chromedp.Evaluate[bool](
		`new Promise(r => document.readyState === "complete" ? r(true) : addEventListener("load", () => r(true)))`, chromedp.EvalAwaitPromise))
}

// Click clicks the first element matching the CSS selector. It does not wait for a page the click
// loads: follow a link with Follow.
func (b *Browser) Click(sel string) {
	b.t.Helper()
	b.do("click "+sel, chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible))
}

// Follow clicks the first link matching the CSS selector and waits, at most 30 s, until the tab has
// loaded the page it points to. After a bare Click, a Text or Eval may still reach the old page,
// whose nodes vanish under it ("No node with given id found").
func (b *Browser) Follow(sel string) {
	b.t.Helper()
	q, _ := json.Marshal(sel)
	href := Eval[string](b, `(document.querySelector(`+string(q)+`) || {}).href || ""`)
	if href == "" {
		b.t.Fatalf("browser: follow %s: no link", sel)
	}
	b.Click(sel)
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
		// Errors are expected while the old page goes away: ask again.
		at, err := chromedp.Run(ctx, chromedp.Evaluate[string](`location.href + " " + document.readyState`))
		cancel()
		if err == nil && at == href+" complete" {
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("browser: follow %s: at %q, want %s loaded", sel, at, href)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Text is the visible text of the first element matching the CSS selector.
func (b *Browser) Text(sel string) string {
	b.t.Helper()
	return Run(b, "text of "+sel, chromedp.Text(chromedp.CSS(sel)))
}

// Location is the tab's URL.
func (b *Browser) Location() string {
	b.t.Helper()
	return Run(b, "location", chromedp.Location())
}

// Title is the page's title.
func (b *Browser) Title() string {
	b.t.Helper()
	return Run(b, "title", chromedp.Title())
}

// Do runs actions, for what the helpers do not cover.
func (b *Browser) Do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	b.do(what, actions...)
}

// PreferDark makes the page's prefers-color-scheme dark (true) or light.
func (b *Browser) PreferDark(dark bool) {
	b.t.Helper()
	v := "light"
	if dark {
		v = "dark"
	}
	if _, err := chromedp.Call(b.ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
		Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: v}}}); err != nil {
		b.t.Fatalf("browser: emulate %s: %v", v, err)
	}
}

// Viewport sets the page's size in CSS pixels, as a phone (mobile) or a desktop window.
func (b *Browser) Viewport(w, h int64, mobile bool) {
	b.t.Helper()
	opts := []chromedp.EmulateViewportOption{}
	if mobile {
		opts = append(opts, chromedp.EmulateMobile, chromedp.EmulateTouch)
	}
	b.do("viewport", chromedp.EmulateViewport(w, h, opts...))
}

// Screenshot saves the whole page as dir/name.png and returns it decoded.
func (b *Browser) Screenshot(dir, name string) image.Image {
	b.t.Helper()
	buf := Run(b, "screenshot "+name, chromedp.FullScreenshot(100))
	if err := os.WriteFile(filepath.Join(dir, name+".png"), buf, 0o644); err != nil {
		b.t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(buf))
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	return img
}

// Clean fails the test for every problem Problems reports.
func (b *Browser) Clean(where string, failed ...string) {
	b.t.Helper()
	for _, p := range b.Problems(failed...) {
		b.t.Errorf("%s: %s", where, p)
	}
}

// Problems returns, and forgets, every request since the last call that left loopback and every
// console error or exception. The browser reports a page answered with an error status as a failed
// resource; failed lists the URLs for which that is what the test meant.
func (b *Browser) Problems(failed ...string) []string {
	b.mu.Lock()
	reqs, cons := b.requests, b.console
	b.requests, b.console = nil, nil
	b.mu.Unlock()
	var out []string
	for _, r := range reqs {
		if !Loopback(r) {
			out = append(out, "the page asked for "+r+", beyond loopback")
		}
	}
outer:
	for _, c := range cons {
		for _, f := range failed {
			if strings.HasPrefix(c, "error: Failed to load resource: the server responded with a status of ") && strings.Contains(c, "("+f+":") {
				continue outer
			}
		}
		out = append(out, "browser console: "+c)
	}
	return out
}

// Requests are the URLs asked for since the last Clean.
func (b *Browser) Requests() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.requests...)
}

// Loopback reports whether a URL stays on this machine: http(s) to 127.0.0.0/8 or ::1, or a URL
// that makes no request (data:, about:).
func Loopback(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil {
		return false
	}
	switch u.Scheme {
	case "data", "about", "blob":
		return true
	case "http", "https", "ws", "wss":
		ip := net.ParseIP(u.Hostname())
		return ip != nil && ip.IsLoopback()
	}
	return false
}
