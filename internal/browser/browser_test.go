package browser

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestLoopback(t *testing.T) {
	for u, want := range map[string]bool{
		"http://127.0.0.1:8080/": true, "http://127.3.4.5/x": true, "http://[::1]:80/": true, "data:image/png;base64,AA": true,
		"about:blank": true, "http://192.0.2.1/": false, "https://example.net/x.js": false, "http://localhost/": false,
		"http://[2001:db8::1]/": false, "ftp://127.0.0.1/": false, "://": false,
	} {
		if got := Loopback(u); got != want {
			t.Errorf("Loopback(%q) = %v, want %v", u, got, want)
		}
	}
}

// badPage misses every accessibility basic and writes to the console; the checks must say so.
const badPage = `<!DOCTYPE html><html><head><title>bad</title></head><body style="background:#fff;color:#000">
<h1>One</h1><h3>Skipped a level</h3><h1>Two</h1>
<p style="color:#bbb">too pale to read</p>
<input id="nolabel"><button></button>
<script>console.error("boom"); setTimeout(() => { throw new Error("uncaught") }, 0)</script>
</body></html>`

const goodPage = `<!DOCTYPE html><html lang="en"><head><title>good</title></head><body style="background:#fff;color:#222">
<h1>One</h1><h2>Two</h2><label for="q">Query</label><input id="q"><button>Go</button><p style="color:#555">readable</p>
</body></html>`

func TestChecksFindProblems(t *testing.T) {
	b := Start(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		if r.URL.Path == "/good" {
			w.Write([]byte(goodPage))
			return
		}
		w.Write([]byte(badPage))
	}))
	defer srv.Close()

	b.Open(srv.URL + "/good")
	if p := b.A11y(); len(p) > 0 {
		t.Errorf("good page: %q", p)
	}
	if p := b.Problems(); len(p) > 0 {
		t.Errorf("good page: %q", p)
	}

	b.Open(srv.URL + "/bad")
	got := strings.Join(b.A11y(), "\n")
	for _, w := range []string{"html has no lang", "unlabelled input#nolabel", "no accessible name: button", "not exactly one h1 (2)",
		"heading H3 'Skipped a level' after h1", "contrast 1.92 < 4.5", "too pale to read"} {
		if !strings.Contains(got, w) {
			t.Errorf("bad page: the checks miss %q; they found:\n%s", w, got)
		}
	}
	// The exception is thrown after load; give it a moment, bounded.
	var probs []string
	for i := 0; i < 50 && !slices.ContainsFunc(probs, func(p string) bool { return strings.Contains(p, "uncaught") }); i++ {
		probs = append(probs, b.Problems()...)
		time.Sleep(20 * time.Millisecond)
	}
	all := strings.Join(probs, "\n")
	for _, w := range []string{"error: boom", "uncaught"} {
		if !strings.Contains(all, w) {
			t.Errorf("bad page: console problems miss %q: %s", w, all)
		}
	}
}
