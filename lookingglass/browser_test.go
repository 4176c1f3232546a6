package lookingglass

import (
	"context"
	"flag"
	"image"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/ixrs/ixrs/internal/browser"
)

// lockedBackend lets a test change the fake's sessions while the server reads them.
type lockedBackend struct {
	mu sync.Mutex
	*fakeBackend
}

func (l *lockedBackend) Sessions(ctx context.Context) ([]Session, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	ss, err := l.fakeBackend.Sessions(ctx)
	return append([]Session(nil), ss...), err
}

func (l *lockedBackend) setState(n netip.Addr, state string, since time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := range l.sessions {
		if l.sessions[i].Neighbor == n {
			l.sessions[i].State, l.sessions[i].Since = state, since
		}
	}
}

// luminance is the mean relative brightness (0..1) of an image, sampled on a grid.
func luminance(img image.Image) float64 {
	b := img.Bounds()
	sum, n := 0.0, 0
	for y := b.Min.Y; y < b.Max.Y; y += 7 {
		for x := b.Min.X; x < b.Max.X; x += 7 {
			r, g, bl, _ := img.At(x, y).RGBA()
			sum += (0.2126*float64(r) + 0.7152*float64(g) + 0.0722*float64(bl)) / 65535
			n++
		}
	}
	return sum / float64(n)
}

// TestBrowser loads every page of the web UI in headless Chromium against the fake backend: what a
// person sees, links followed, forms submitted, the theme switched, a phone's width, the live
// refresh, and on every page no request beyond loopback, no console error and the accessibility
// basics. Screenshots go to the test's artifact directory (go test -artifacts keeps them).
func TestBrowser(t *testing.T) {
	b := browser.Start(t)
	be := &lockedBackend{fakeBackend: newFake()}
	s := New(fakeCfg(t), be, nil)
	s.now = func() time.Time { return fakeNow }
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	dir := t.ArtifactDir()
	base := srv.URL

	checkStatus := func(name, path, title string, failing bool, want ...string) image.Image {
		t.Helper()
		b.Open(base + path)
		if got := b.Title(); !strings.HasPrefix(got, title) {
			t.Errorf("%s: title %q, want %q…", name, got, title)
		}
		txt := b.Text("body")
		for _, w := range want {
			if !strings.Contains(txt, w) {
				t.Errorf("%s: a person does not see %q\n%s", name, w, txt)
			}
		}
		for _, l := range leaks {
			if strings.Contains(txt, l) {
				t.Errorf("%s: shows %q", name, l)
			}
		}
		for _, p := range b.A11y() {
			t.Errorf("%s: accessibility: %s", name, p)
		}
		img := b.Screenshot(dir, name)
		if w := img.Bounds().Dx(); w != 1280 {
			t.Errorf("%s: screenshot %d pixels wide, want the window's 1280", name, w)
		}
		if h := img.Bounds().Dy(); h < 400 {
			t.Errorf("%s: screenshot %d pixels high: the page looks empty", name, h)
		}
		if failing {
			b.Clean(name, base+path)
		} else {
			b.Clean(name)
		}
		return img
	}
	check := func(name, path, title string, want ...string) image.Image {
		t.Helper()
		return checkStatus(name, path, title, false, want...)
	}

	b.PreferDark(false)
	light := check("overview", "/", "Overview · Example-IX RS1", "Example-IX RS1", "AS64500", "sessions up", "127.0.0.1:3323", "Gamma")
	if l := luminance(light); l < 0.6 {
		t.Errorf("light overview: mean luminance %.2f, want a light page", l)
	}
	check("sessions", "/sessions", "Sessions", "Alpha Networks", "Beta Transit", "established", "idle", "maintenance until 14:00")
	check("session", "/sessions/R_192_0_2_12", "Beta Transit", "Session details", "4-octet AS", "180 s")
	check("filtered", "/sessions/R_192_0_2_12/filtered", "Beta Transit · Filtered routes", "10.0.0.0/8", "bogon prefix", "64500:1101:3")
	check("exported", "/sessions/R_192_0_2_12/exported", "Beta Transit · Exported routes", "198.51.100.0/24", "Alpha Networks")
	check("not-exported", "/sessions/R_192_0_2_12/not-exported", "Beta Transit · Not exported", "do not announce to this member")
	check("route", "/sessions/R_192_0_2_12/route?prefix=198.51.100.128/26", "198.51.100.128/26 from Beta Transit", "prefix too long", "Import checks")
	check("lookup", "/lookup?prefix=198.51.100.0/24", "Lookup 198.51.100.0/24", "Alpha Networks", "Beta Transit")
	check("search", "/search?kind=origin&q=64501", "Search origin 64501", "198.51.100.0/24")
	checkStatus("bad-input", "/lookup?prefix=10.0.0.1/8", "Prefix lookup", true, "host bits set (did you mean 10.0.0.0/8?)")
	if inv := Eval[string](b, `document.getElementById("lookup-prefix").getAttribute("aria-invalid")`); inv != "true" {
		t.Errorf("bad input: the prefix field is not marked invalid (%q)", inv)
	}
	checkStatus("not-found", "/sessions/R_192_0_2_99", "Not Found", true, "no such session")

	// Links: sessions → a member → its filtered tab → a filtered route.
	b.Open(base + "/sessions")
	b.Click(`#sessions a[href="/sessions/R_192_0_2_12"]`)
	waitLocation(t, b, "/sessions/R_192_0_2_12")
	b.Click(`nav.tabs a[href="/sessions/R_192_0_2_12/filtered"]`)
	waitLocation(t, b, "/sessions/R_192_0_2_12/filtered")
	if got := b.Text(`nav.tabs a[aria-current="page"]`); !strings.HasPrefix(got, "Filtered") {
		t.Errorf("filtered tab: current tab %q", got)
	}
	b.Click(`table.routes a[href*="prefix=10.0.0.0"]`)
	waitLocation(t, b, "/sessions/R_192_0_2_12/route?prefix=10.0.0.0%2F8")
	if txt := b.Text("main"); !strings.Contains(txt, "bogon prefix") {
		t.Errorf("route from the filtered tab: no reason in words\n%s", txt)
	}
	b.Clean("links")

	// The lookup form, by keyboard: type and press Enter.
	b.Open(base + "/lookup")
	b.Do("type a prefix", chromedp.SendKeys(chromedp.CSS("#lookup-prefix"), "203.0.113.128/25\r"))
	waitLocation(t, b, "/lookup?prefix=203.0.113.128%2F25&match=")
	if txt := b.Text("main"); !strings.Contains(txt, "Beta Transit") {
		t.Errorf("lookup by form: no result\n%s", txt)
	}
	b.Clean("lookup form")

	// Keyboard: the first Tab reaches the skip link.
	b.Open(base + "/sessions")
	b.Do("tab", chromedp.KeyEvent("\t"))
	if got := Eval[string](b, `document.activeElement.textContent`); got != "Skip to content" {
		t.Errorf("first Tab focuses %q, want the skip link", got)
	}

	// Dark mode: the system setting, then the toggle, which is remembered.
	b.PreferDark(true)
	dark := check("overview-dark", "/", "Overview", "Example-IX RS1")
	if l := luminance(dark); l > 0.35 {
		t.Errorf("dark overview: mean luminance %.2f, want a dark page", l)
	}
	check("sessions-dark", "/sessions", "Sessions", "Alpha Networks")
	if p := Eval[string](b, `document.getElementById("theme-toggle").getAttribute("aria-pressed")`); p != "true" {
		t.Errorf("dark: toggle aria-pressed %q", p)
	}
	b.Click("#theme-toggle")
	b.Open(base + "/sessions") // the choice survives a reload
	if th := Eval[string](b, `document.documentElement.getAttribute("data-theme")`); th != "light" {
		t.Errorf("after the toggle and a reload: theme %q, want light", th)
	}
	for _, p := range b.A11y() {
		t.Errorf("toggled light: accessibility: %s", p)
	}
	b.Click("#theme-toggle")
	if th := Eval[string](b, `document.documentElement.getAttribute("data-theme")`); th != "dark" {
		t.Errorf("toggled back: theme %q, want dark", th)
	}
	b.Clean("theme")
	b.Do("forget the theme", chromedp.Evaluate[chromedp.Void](`localStorage.removeItem("ixrs-theme")`))
	b.PreferDark(false)

	// A phone: nothing wider than the screen but the tables, which scroll in their frame.
	b.Viewport(390, 844, true)
	for _, p := range []string{"/", "/sessions", "/sessions/R_192_0_2_12/filtered"} {
		b.Open(base + p)
		if w := Eval[float64](b, `document.documentElement.scrollWidth - window.innerWidth`); w > 1 {
			t.Errorf("phone %s: the page is %.0f px wider than the screen", p, w)
		}
	}
	b.Screenshot(dir, "sessions-phone")
	b.Viewport(1280, 900, false)
	b.Clean("phone")

	// Live: a session comes up while the page is open; the page shows it without a reload.
	b.Open(base + "/sessions")
	be.setState(netip.MustParseAddr("192.0.2.13"), "established", fakeNow.Add(-time.Minute))
	cell := `document.querySelector('[data-session="R_192_0_2_13"][data-field="state"]').textContent`
	deadline := time.Now().Add(30 * time.Second)
	for Eval[string](b, cell) != "established" {
		if time.Now().After(deadline) {
			t.Fatalf("live: Gamma's state still %q after 30 s", Eval[string](b, cell))
		}
		time.Sleep(500 * time.Millisecond)
	}
	if n := Eval[string](b, `document.querySelector('[data-total]') ? "" : "none"`); n != "none" {
		t.Errorf("sessions page has totals it should not")
	}
	b.Clean("live")

	if *docScreenshots {
		for _, name := range []string{"overview", "sessions", "filtered", "route", "overview-dark", "sessions-phone"} {
			data, err := os.ReadFile(filepath.Join(dir, name+".png"))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join("..", "docs", "images", "lg-"+name+".png"), data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// docScreenshots copies the main pages' screenshots to docs/images for docs/lookingglass.md.
var docScreenshots = flag.Bool("doc-screenshots", false, "TestBrowser: copy screenshots of the main pages to docs/images")

// Eval is browser.Eval for the tests here.
func Eval[T any](b *browser.Browser, js string) T { return browser.Eval[T](b, js) }

// waitLocation waits (at most 10 s) until the tab's URL ends with suffix.
func waitLocation(t *testing.T, b *browser.Browser, suffix string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.HasSuffix(b.Location(), suffix) {
		if time.Now().After(deadline) {
			t.Fatalf("location %s, want …%s", b.Location(), suffix)
		}
		time.Sleep(100 * time.Millisecond)
	}
	b.Do("wait for the page", chromedp.WaitReady(chromedp.CSS("footer")))
}
