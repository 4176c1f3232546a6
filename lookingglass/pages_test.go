package lookingglass

import (
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ixrs/ixrs/config"
)

// page fetches path and returns the status and the body as text.
func page(t *testing.T, h http.Handler, path string) (int, string) {
	t.Helper()
	code, hdr, body := do(t, h, http.MethodGet, path, "198.51.100.77:1")
	if ct := hdr.Get("Content-Type"); code != http.StatusOK && !strings.HasPrefix(ct, "text/html") && !strings.HasPrefix(path, "/static/") {
		t.Errorf("GET %s: %d with Content-Type %q, want an HTML page", path, code, ct)
	}
	return code, string(body)
}

// text is the page's text without tags and with blanks squeezed: roughly what a person reads.
func text(html string) string {
	html = regexp.MustCompile(`(?s)<(script|style)[^>]*>.*?</(script|style)>`).ReplaceAllString(html, " ")
	t := regexp.MustCompile(`<[^>]*>`).ReplaceAllString(html, " ")
	t = strings.NewReplacer("&amp;", "&", "&lt;", "<", "&gt;", ">", "&#34;", `"`, "&#39;", "'", "&quot;", `"`).Replace(t)
	return strings.Join(strings.Fields(t), " ")
}

func TestPagesShowWhatAPersonLooksFor(t *testing.T) {
	h := newTestServer(t, newFake()).Handler()
	for _, tc := range []struct {
		path  string
		title string
		want  []string // in the page's text
		not   []string
	}{
		{"/", "Overview · Example-IX RS1", []string{"Example-IX RS1", "AS64500", "192.0.2.1", "0.1.0", "2d 2h",
			"sessions up", "routes filtered", "127.0.0.1:3323", "500,000 IPv4", "Sessions down", "Gamma", "maintenance until 14:00"}, nil},
		{"/sessions", "Sessions", []string{"Alpha Networks", "AS64501", "192.0.2.11", "2001:db8:ffff::11", "established",
			"Beta Transit", "idle", "received NOTIFICATION 6/2", "All (4)", "Up (3)", "Down (1)"}, nil},
		{"/sessions?state=down", "Sessions", []string{"Gamma"}, []string{"Beta Transit"}},
		{"/sessions?q=beta", "Sessions", []string{"Beta Transit"}, []string{"Gamma"}},
		{"/sessions?sort=-received", "Sessions", []string{"Beta Transit"}, nil},
		{"/sessions/R_192_0_2_12", "Beta Transit (192.0.2.12)", []string{"Session details", "4-octet AS", "180 s", "203.0.113.1", "Received (5)", "Filtered (3)"}, nil},
		{"/sessions/R_192_0_2_13", "Gamma (192.0.2.13)", []string{"Flaps 3", "Last NOTIFICATION sent Hold Timer Expired",
			`Last NOTIFICATION received Cease/Administrative Shutdown: "maintenance until 14:00"`}, nil},
		{"/sessions/R_192_0_2_12/filtered", "Beta Transit · Filtered routes (192.0.2.12)", []string{"10.0.0.0/8", "bogon prefix", "64500:1101:3",
			"prefix too long", "64500:1101:1", "RPKI invalid", "route leak"}, []string{"203.0.113.128/25"}},
		{"/sessions/R_192_0_2_12/accepted", "Beta Transit · Accepted routes (192.0.2.12)", []string{"203.0.113.128/25", "accepted"}, []string{"10.0.0.0/8"}},
		{"/sessions/R_192_0_2_12/exported", "Beta Transit · Exported routes (192.0.2.12)", []string{"198.51.100.0/24", "Alpha Networks", "64501:100", "best path 1 "}, []string{"Secret", "path 5"}},
		{"/sessions/R_192_0_2_12/not-exported", "Beta Transit · Not exported routes (192.0.2.12)", []string{"203.0.113.0/24",
			"do not announce to this member (control community)", "64500:1102:1", "0:64502", "do not announce to AS64502"}, nil},
		{"/sessions/R_192_0_2_11/received?family=ipv4&limit=1", "Alpha Networks · Received routes (192.0.2.11)",
			[]string{"198.51.100.0/24", "1 route on this page, 3 in all", "Next page"}, []string{"203.0.113.0/24"}},
		{"/sessions/R_192_0_2_12/route?prefix=198.51.100.128/26", "198.51.100.128/26 from Beta Transit",
			[]string{"prefix too long", "RPKI invalid", "Import checks", "prefix length", "fail", "This prefix on every member"}, nil},
		{"/sessions/R_192_0_2_11/route?prefix=198.51.100.0/24", "198.51.100.0/24 from Alpha Networks",
			[]string{"Export to each member", "Beta Transit", "sent", "the best route is sent", "MED 10"}, []string{"Secret"}},
		{"/lookup?prefix=198.51.100.0/24", "Lookup 198.51.100.0/24", []string{"Alpha Networks", "Beta Transit", "best"}, []string{"Secret Hidden"}},
		{"/lookup?prefix=198.51.100.5", "Lookup 198.51.100.5", []string{"198.51.100.0/24", "longest"}, nil},
		{"/search?kind=origin&q=AS64501", "Search origin AS64501", []string{"198.51.100.0/24", "Beta Transit"}, nil},
		{"/search?kind=community&q=65535:666", "Search community 65535:666", []string{"No route matches."}, nil},
		{"/search?kind=large-community&q=4200000001:0:64501", "Search large-community 4200000001:0:64501", []string{"2001:db8:200::/48", "route leak"}, nil},
		{"/lookup", "Prefix lookup", []string{"Prefix or address"}, []string{"No member announces"}},
		{"/search", "Search", []string{"AS path pattern"}, nil},
	} {
		code, body := page(t, h, tc.path)
		if code != http.StatusOK {
			t.Errorf("GET %s: %d\n%s", tc.path, code, text(body))
			continue
		}
		if title := regexp.MustCompile(`<title>([^<]*)</title>`).FindStringSubmatch(body); title == nil || !strings.HasPrefix(text(title[1]), tc.title) {
			t.Errorf("GET %s: title %q, want it to start with %q", tc.path, title, tc.title)
		}
		txt := text(body)
		for _, w := range tc.want {
			if !strings.Contains(txt, w) {
				t.Errorf("GET %s: page lacks %q\n%s", tc.path, w, txt)
			}
		}
		for _, w := range append(tc.not, leaks...) {
			if strings.Contains(body, w) {
				t.Errorf("GET %s: page shows %q", tc.path, w)
			}
		}
	}
}

// TestPagesBadInput: every form and URL parameter that does not parse gets a page that says what is
// wrong, with a 4xx status; never a 500 or Go's error text.
func TestPagesBadInput(t *testing.T) {
	h := newTestServer(t, newFake()).Handler()
	for _, tc := range []struct {
		path string
		code int
		want string
	}{
		{"/lookup?prefix=10.0.0.1/8", 400, "host bits set (did you mean 10.0.0.0/8?)"},
		{"/lookup?prefix=banana", 400, "not a prefix or an address"},
		{"/lookup?prefix=", 200, "Prefix or address"},
		{"/lookup?prefix=192.0.2.0/24&match=sideways", 400, "must be exact, longest or more-specific"},
		{"/lookup?prefix=192.0.2.0/24&limit=100000", 400, "limit"},
		{"/lookup?prefix=192.0.2.0/24&cursor=%00", 400, "cursor"},
		{"/lookup?prefix=1&prefix=2", 400, "given more than once"},
		{"/lookup?colour=red", 400, "unknown parameter"},
		{"/search?kind=origin&q=ASbanana", 400, "not an AS number"},
		{"/search?kind=telepathy&q=1", 400, "must be origin, asn"},
		{"/search?kind=as-path&q=((1|2|3){1000}){9}", 400, "invalid repeat count"},
		{"/search?kind=community&q=1:2:3", 400, "community"},
		{"/search?kind=next-hop&q=fe80::1%25eth0", 400, "zone"},
		{"/search?kind=asn&q=1&family=ipx", 400, "family"},
		{"/search?kind=origin&q=", 400, "enter what to search for"},
		{"/sessions?state=sideways", 400, "must be up or down"},
		{"/sessions?sort=color", 400, "must be one of member"},
		{"/sessions?q=" + url.QueryEscape("a\x01b"), 400, "control characters"},
		{"/sessions/R_192_0_2_99", 404, "no such session"},
		{"/sessions/R_192_0_2_14", 404, "no such session"}, // hidden
		{"/sessions/banana", 400, "not an IP address"},
		{"/sessions/R_192_0_2_11/secret", 404, "has no tab"},
		{"/sessions/R_192_0_2_11/received?family=ipv5", 400, "family"},
		{"/sessions/R_192_0_2_11/received?cursor=g1.0", 409, "start again from the first page"},
		{"/sessions/R_192_0_2_11?limit=5", 400, "unknown parameter"},
		{"/sessions/R_192_0_2_11/route", 400, "a prefix is needed"},
		{"/sessions/R_192_0_2_11/route?prefix=192.0.2.1", 400, "not an address"},
		{"/sessions/R_192_0_2_11/route?prefix=192.0.2.0/24", 404, "no such route"},
		{"/nowhere", 404, "There is no page at this address."},
		{"/static/nothing.js", 404, "no such file"},
		{"/static/", 404, "no such file"},
	} {
		code, body := page(t, h, tc.path)
		if code != tc.code {
			t.Errorf("GET %s: %d, want %d\n%s", tc.path, code, tc.code, text(body))
		}
		txt := text(body)
		if !strings.Contains(txt, tc.want) {
			t.Errorf("GET %s: page lacks %q\n%s", tc.path, tc.want, txt)
		}
		for _, bad := range []string{"goroutine", "panic", "runtime error", ".go:"} {
			if strings.Contains(body, bad) {
				t.Errorf("GET %s: page shows %q", tc.path, bad)
			}
		}
	}
	code, hdr, _ := do(t, h, http.MethodPost, "/sessions", "198.51.100.77:1")
	if code != http.StatusMethodNotAllowed || !strings.HasPrefix(hdr.Get("Content-Type"), "text/html") {
		t.Errorf("POST /sessions: %d %s, want 405 as a page", code, hdr.Get("Content-Type"))
	}
}

func TestPagesStartingAndBanners(t *testing.T) {
	f := newFake()
	f.notReady = true
	h := newTestServer(t, f).Handler()
	code, body := page(t, h, "/")
	if code != http.StatusOK || !strings.Contains(text(body), "The route server is starting") {
		t.Errorf("GET / while starting: %d\n%s", code, text(body))
	}
	code, body = page(t, h, "/sessions")
	if code != http.StatusServiceUnavailable || !strings.Contains(text(body), "starting") {
		t.Errorf("GET /sessions while starting: %d\n%s", code, text(body))
	}

	f = newFake()
	f.status.RPKI.LastUpdate = fakeNow.Add(-3 * time.Hour)
	f.sessions[2].Families[0].Received = 100 // Beta's IPv4 limit is 100
	f.sessions[2].Families[1].Received = 85
	h = newTestServer(t, f).Handler()
	_, body = page(t, h, "/")
	txt := text(body)
	for _, w := range []string{"RPKI data expired: last updated 3h 0m ago", "Beta Transit (AS64502, 192.0.2.12) is at its IPv4 max-prefix limit: 100 of 100 routes."} {
		if !strings.Contains(txt, w) {
			t.Errorf("overview lacks the banner %q\n%s", w, txt)
		}
	}
	_, body = page(t, h, "/sessions")
	if !strings.Contains(body, `class="badge alarm" data-session="R_192_0_2_12" data-field="ipv4-max-prefix-used"`) ||
		!strings.Contains(body, `class="badge warn" data-session="R_192_0_2_12" data-field="ipv6-max-prefix-used"`) {
		t.Errorf("sessions: max-prefix badges are not alarm (100%%) and warn (85%%)")
	}
}

func TestPagesASNNames(t *testing.T) {
	dir := t.TempDir()
	names := filepath.Join(dir, "asn-names.txt")
	if err := os.WriteFile(names, []byte("# names\n64501 Alpha Networks GmbH\nAS64502\tBeta   Transit Ltd\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := strings.Replace(fakeConfig, "[lookingglass]\n", "[lookingglass]\nasn_names_file = \"asn-names.txt\"\n", 1)
	path := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	s := New(c, newFake(), nil)
	_, body := page(t, s.Handler(), "/sessions")
	for _, w := range []string{"AS64501 Alpha Networks GmbH", "AS64502 Beta Transit Ltd"} {
		if !strings.Contains(text(body), w) {
			t.Errorf("sessions page lacks %q", w)
		}
	}
}

func TestCommunityLabels(t *testing.T) {
	for _, tc := range []struct {
		c    string
		want string
	}{
		{"65535:666", "BLACKHOLE (RFC 7999)"}, {"65535:0", "GRACEFUL_SHUTDOWN (RFC 8326)"}, {"65535:65281", "NO_EXPORT"},
		{"0:64500", "do not announce to any member"}, {"0:64502", "do not announce to AS64502"},
		{"64500:64502", "announce to AS64502"}, {"65502:64500", "prepend 2× toward every member"},
		{"65513:64503", "prepend 3× toward AS64503"}, {"65281:64502", "add NO_EXPORT toward AS64502"}, {"64501:100", ""},
	} {
		c, err := ParseCommunity(tc.c)
		if err != nil {
			t.Fatal(err)
		}
		if got := communityLabel(c, 64500); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.c, got, tc.want)
		}
	}
	for _, tc := range []struct {
		c    string
		want string
	}{
		{"64500:0:0", "do not announce to any member"}, {"64500:0:4200000001", "do not announce to AS4200000001"},
		{"64500:1:64502", "announce to AS64502"}, {"64500:101:0", "prepend 1× toward every member"},
		{"64500:1101:13", "filtered: RPKI invalid"}, {"64500:1102:3", "not exported: member's AS in AS path"},
		{"64500:1000:1", "RPKI valid"}, {"64500:64512:20", "origin not in the member's AS-SET"}, {"64501:0:0", ""},
	} {
		c, err := ParseLargeCommunity(tc.c)
		if err != nil {
			t.Fatal(err)
		}
		if got := largeCommunityLabel(c, 64500); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.c, got, tc.want)
		}
	}
	for _, tc := range []struct{ c, want string }{{"rt:0:64502", "do not announce to AS64502"}, {"rt:64500:64502", "announce to AS64502"}, {"ro:64500:1", ""}} {
		c, err := ParseExtCommunity(tc.c)
		if err != nil {
			t.Fatal(err)
		}
		if got := extCommunityLabel(c, 64500); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.c, got, tc.want)
		}
	}
}
