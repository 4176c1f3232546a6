package lookingglass

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// FuzzPages sends a fuzzed path segment and query string to every page of the web UI and requires an
// HTML page that is never a server error and never shows Go's own error text. Seeds:
// testdata/fuzz/FuzzPages.
func FuzzPages(f *testing.F) {
	s := newTestServer(f, newFake())
	h := s.Handler()
	f.Fuzz(func(t *testing.T, route uint8, segment, rawQuery string) {
		paths := []string{"/", "/sessions", "/sessions/%s", "/sessions/R_192_0_2_12/%s", "/sessions/%s/filtered",
			"/sessions/%s/route", "/sessions/R_192_0_2_12/route", "/lookup", "/search", "/%s"}
		p := strings.Replace(paths[int(route)%len(paths)], "%s", url.PathEscape(segment), 1)
		target := p + "?" + rawQuery
		u, err := url.ParseRequestURI(target)
		if err != nil {
			return // not a request a client could send
		}
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.URL, req.RequestURI, req.RemoteAddr = u, target, "198.51.100.77:1"
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		body := w.Body.Bytes()
		if w.Code >= 500 {
			t.Fatalf("%s: %d %s", target, w.Code, body)
		}
		if strings.HasPrefix(u.Path, "/static/") {
			return
		}
		if ct := w.Result().Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") || !bytes.HasPrefix(body, []byte("<!DOCTYPE html>")) {
			t.Fatalf("%s: %d %q %.100s", target, w.Code, ct, body)
		}
		for _, bad := range []string{"goroutine ", "runtime error", "template:", "<script>alert"} {
			if bytes.Contains(body, []byte(bad)) {
				t.Fatalf("%s: the page shows %q", target, bad)
			}
		}
	})
}

// FuzzASNNames reads a fuzzed names file: no panic, every name clean (printable, no blanks at the
// ends or doubled, at most 100 runes), and a file written back from the result reads the same.
// Seeds: testdata/fuzz/FuzzASNNames.
func FuzzASNNames(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		names, err := ReadASNNames(bytes.NewReader(data))
		if err != nil {
			return
		}
		var b strings.Builder
		for asn, name := range names {
			if name == "" || name != strings.TrimSpace(name) || strings.Contains(name, "  ") || utf8.RuneCountInString(name) > maxASNNameLen ||
				strings.ContainsFunc(name, func(r rune) bool { return !unicode.IsPrint(r) && r != ' ' }) || !utf8.ValidString(name) {
				t.Fatalf("AS%d: name %q is not clean", asn, name)
			}
			b.WriteString("AS")
			b.WriteString(uitoa(asn) + " " + name + "\n")
		}
		again, err := ReadASNNames(strings.NewReader(b.String()))
		if err != nil || len(again) != len(names) {
			t.Fatalf("written back: %d names, %v; first read %d", len(again), err, len(names))
		}
		for asn, name := range names {
			if again[asn] != name {
				t.Fatalf("AS%d: %q read back as %q", asn, name, again[asn])
			}
		}
	})
}

func uitoa(n uint32) string {
	var buf [10]byte
	i := len(buf)
	for {
		i--
		buf[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			return string(buf[i:])
		}
	}
}

func TestReadASNNames(t *testing.T) {
	names, err := ReadASNNames(strings.NewReader("# c\n\n64501 Alpha  Networks\nAS64502\tBeta\x01 Transit \nas64503 \n64501 Alpha Again\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[uint32]string{64501: "Alpha Again", 64502: "Beta Transit"}
	if len(names) != len(want) {
		t.Errorf("names %v, want %v", names, want)
	}
	for k, v := range want {
		if names[k] != v {
			t.Errorf("AS%d: %q, want %q", k, names[k], v)
		}
	}
	for _, bad := range []string{"banana Split\n", "0 zero\n", "4294967296 big\n", "-1 neg\n", strings.Repeat("1", 5000) + " long line\n"} {
		if _, err := ReadASNNames(strings.NewReader(bad)); err == nil {
			t.Errorf("%.30q accepted", bad)
		}
	}
	long, _ := ReadASNNames(strings.NewReader("1 " + strings.Repeat("é", 300) + "\n"))
	if utf8.RuneCountInString(long[1]) != maxASNNameLen {
		t.Errorf("a long name is %d runes, want %d", utf8.RuneCountInString(long[1]), maxASNNameLen)
	}
}
