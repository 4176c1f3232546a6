package lookingglass

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestParseASN(t *testing.T) {
	for in, want := range map[string]uint32{"64501": 64501, "AS64501": 64501, "as4200000001": 4200000001, "4294967295": 4294967295, "1": 1} {
		if got, err := ParseASN(in); err != nil || got != want {
			t.Errorf("ParseASN(%q) = %d, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "0", "AS0", "AS", "064501", "+64501", "-1", "4294967296", " 64501", "64501 ", "AS 64501", "1.10", "0x10", "ASAS1"} {
		if _, err := ParseASN(in); err == nil {
			t.Errorf("ParseASN(%q) accepted", in)
		}
	}
}

func TestParsePrefix(t *testing.T) {
	for _, tc := range []struct {
		in     string
		want   string
		isAddr bool
	}{
		{"192.0.2.0/24", "192.0.2.0/24", false},
		{"2001:DB8::/32", "2001:db8::/32", false},
		{"0.0.0.0/0", "0.0.0.0/0", false},
		{"192.0.2.1", "192.0.2.1/32", true},
		{"2001:db8::1", "2001:db8::1/128", true},
	} {
		p, isAddr, err := ParsePrefix(tc.in)
		if err != nil || p.String() != tc.want || isAddr != tc.isAddr {
			t.Errorf("ParsePrefix(%q) = %v, %v, %v", tc.in, p, isAddr, err)
		}
	}
	for _, in := range []string{"", "192.0.2.1/24", "192.0.2.0/33", "192.0.2.0/024", "192.0.2.0/", "::ffff:192.0.2.0/120", "fe80::1%eth0",
		"192.0.2.0/24 ", "192.0.2.0 /24", "1.2.3", "192.0.2.0/+24", strings.Repeat("1", 300)} {
		if p, _, err := ParsePrefix(in); err == nil {
			t.Errorf("ParsePrefix(%q) accepted as %v", in, p)
		}
	}
}

func TestParseCommunities(t *testing.T) {
	good := []string{"0:0", "65535:65535", "64500:1", "0:64502"}
	for _, s := range good {
		c, err := ParseCommunity(s)
		if err != nil || c.String() != s {
			t.Errorf("ParseCommunity(%q) = %v, %v", s, c, err)
		}
	}
	for _, s := range []string{"", "1", "1:2:3", "65536:1", "01:1", "a:b", ":1", "1:", "-1:1"} {
		if _, err := ParseCommunity(s); err == nil {
			t.Errorf("ParseCommunity(%q) accepted", s)
		}
	}
	for _, s := range []string{"0:0:0", "4294967295:4294967295:4294967295", "64500:1101:13"} {
		c, err := ParseLargeCommunity(s)
		if err != nil || c.String() != s {
			t.Errorf("ParseLargeCommunity(%q) = %v, %v", s, c, err)
		}
	}
	for _, s := range []string{"", "1:2", "1:2:3:4", "4294967296:1:1", "1:01:1", "1::1"} {
		if _, err := ParseLargeCommunity(s); err == nil {
			t.Errorf("ParseLargeCommunity(%q) accepted", s)
		}
	}
	for s, want := range map[string]uint64{
		"rt:64500:100":                  0x0002_fbf4_0000_0064,
		"ro:64500:100":                  0x0003_fbf4_0000_0064,
		"rt:4200000001:7":               0x0202_fa56_ea01_0007,
		"rt:192.0.2.1:5":                0x0102_c000_0201_0005,
		"generic:0x43000000:0x00000002": 0x4300_0000_0000_0002,
	} {
		c, err := ParseExtCommunity(s)
		if err != nil || uint64(c) != want || c.String() != s {
			t.Errorf("ParseExtCommunity(%q) = %#x (%v), %v; want %#x", s, uint64(c), c, err, want)
		}
	}
	for _, s := range []string{"", "rt:1", "xx:1:2", "rt:4200000001:65536", "rt:192.0.2.1:65536", "generic:0x1:0x2",
		"generic:0x4300000G:0x00000000", "generic:0X43000000:0x00000000", "rt:01:1", "rt:192.000.2.1:1"} {
		if c, err := ParseExtCommunity(s); err == nil {
			t.Errorf("ParseExtCommunity(%q) accepted as %v", s, c)
		}
	}
}

func TestASPathPattern(t *testing.T) {
	path := []uint32{64502, 3356, 64510}
	for pat, want := range map[string]bool{
		"^64502 ":       true,
		" 64510$":       true,
		"_3356_":        true,
		"_335_":         false,
		"^64502$":       false,
		"^(64502|1) .*": true,
		"64[0-9]+ 3356": true,
		`^\d+ \d+ \d+$`: true,
	} {
		p, err := ParseASPathPattern(pat)
		if err != nil {
			t.Errorf("%q: %v", pat, err)
			continue
		}
		if got := p.Match(path); got != want {
			t.Errorf("%q matches %v: %v, want %v", pat, path, got, want)
		}
	}
	for _, pat := range []string{"", "(64501", "a", "64501\n", strings.Repeat("1", 129), "((1|2|3){1000}){9}", "(1{1000}){1000}",
		"[[:alpha:]]", `\p{Greek}`, "1{1001}"} {
		if _, err := ParseASPathPattern(pat); err == nil {
			t.Errorf("pattern %q accepted", pat)
		}
	}
}

// TestASPathPatternCache: a pattern parsed again is the compiled one kept, a refused one is refused
// again, the cache stays bounded, and MatchBuf's reused buffer shows no earlier path through.
func TestASPathPatternCache(t *testing.T) {
	a, err := ParseASPathPattern("_3356_")
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := ParseASPathPattern("_3356_"); b != a {
		t.Error("the same pattern compiled twice")
	}
	for range 2 {
		if _, err := ParseASPathPattern("(3356"); err == nil {
			t.Error("a refused pattern accepted from the cache")
		}
	}
	for i := range 3 * maxCachedPatterns {
		if _, err := ParseASPathPattern("_" + strconv.Itoa(i) + "_"); err != nil {
			t.Fatal(err)
		}
	}
	patterns.mu.Lock()
	n := len(patterns.m)
	patterns.mu.Unlock()
	if n == 0 || n > maxCachedPatterns {
		t.Errorf("%d patterns cached, want 1..%d", n, maxCachedPatterns)
	}
	end, err := ParseASPathPattern("^64502$")
	if err != nil {
		t.Fatal(err)
	}
	var buf []byte
	for _, c := range []struct {
		path []uint32
		want bool
	}{{[]uint32{64502, 3356, 64510}, false}, {[]uint32{64502}, true}, {[]uint32{4200000000, 1, 2, 3}, false}, {nil, false}, {[]uint32{64502}, true}} {
		if got := end.MatchBuf(c.path, &buf); got != c.want || got != end.Match(c.path) {
			t.Errorf("^64502$ MatchBuf(%v) = %v, want %v", c.path, got, c.want)
		}
	}
}

func TestProtocolID(t *testing.T) {
	for a, want := range map[string]string{"192.0.2.11": "R_192_0_2_11", "2001:db8:ffff::11": "R_2001_db8_ffff__11", "::1": "R___1",
		"1:2:3:4:5:6:7:8": "R_1_2_3_4_5_6_7_8"} {
		id := ProtocolID(netip.MustParseAddr(a))
		if id != want {
			t.Errorf("ProtocolID(%s) = %s, want %s", a, id, want)
		}
		if back, err := ParseSessionID(id); err != nil || back.String() != a {
			t.Errorf("ParseSessionID(%s) = %v, %v", id, back, err)
		}
		if back, err := ParseSessionID(a); err != nil || back.String() != a {
			t.Errorf("ParseSessionID(%s) = %v, %v", a, back, err)
		}
	}
	for _, s := range []string{"R_", "R_1_2_3", "R_192_0_2_011", "R_192.0.2.1", "R_1_2_3_4_", "R_::1", "R__", "X_1_2_3_4", "R_fe80__1%eth0", "R_FE80__1"} {
		if a, err := ParseSessionID(s); err == nil {
			t.Errorf("ParseSessionID(%q) accepted as %v", s, a)
		}
	}
}

func TestParseSmall(t *testing.T) {
	if n, err := ParseLimit(""); n != DefaultPageSize || err != nil {
		t.Errorf("ParseLimit(\"\") = %d, %v", n, err)
	}
	for _, s := range []string{"0", "1001", "-1", "01", "1e3", " 5"} {
		if _, err := ParseLimit(s); err == nil {
			t.Errorf("ParseLimit(%q) accepted", s)
		}
	}
	for _, s := range []string{"g1.2", "", "abc-_.~"} {
		if _, err := ParseCursor(s); err != nil {
			t.Errorf("ParseCursor(%q): %v", s, err)
		}
	}
	for _, s := range []string{"a b", "a/b", "a%", strings.Repeat("a", 257), "é"} {
		if _, err := ParseCursor(s); err == nil {
			t.Errorf("ParseCursor(%q) accepted", s)
		}
	}
	for _, s := range []string{"-", "--prefix", "Prefix", "age ", "-"} {
		if _, err := ParseSort(s); err == nil {
			t.Errorf("ParseSort(%q) accepted", s)
		}
	}
	var pe *ParamError
	if _, err := ParseFamily("IPv4"); !errors.As(err, &pe) || pe.Param != "family" {
		t.Errorf("ParseFamily(IPv4): %v", err)
	}
}

// checkRoundTrip is the property every parser keeps: what it accepts, it formats back to text that
// it parses to the same value. It returns false when s was refused.
func checkRoundTrip(t *testing.T, s string) {
	if n, err := ParseASN(s); err == nil {
		if m, err := ParseASN(strconv.FormatUint(uint64(n), 10)); err != nil || m != n {
			t.Fatalf("ASN %q -> %d -> %d, %v", s, n, m, err)
		}
	}
	if p, isAddr, err := ParsePrefix(s); err == nil {
		text := p.String()
		if isAddr {
			text = p.Addr().String()
		}
		q, isAddr2, err := ParsePrefix(text)
		if err != nil || q != p || isAddr2 != isAddr || p != p.Masked() {
			t.Fatalf("prefix %q -> %v -> %v, %v", s, p, q, err)
		}
	}
	if a, err := ParseSessionID(s); err == nil {
		if b, err := ParseSessionID(ProtocolID(a)); err != nil || b != a {
			t.Fatalf("session %q -> %v -> %s -> %v, %v", s, a, ProtocolID(a), b, err)
		}
	}
	if c, err := ParseCommunity(s); err == nil && c.String() != s {
		t.Fatalf("community %q -> %v", s, c)
	}
	if c, err := ParseLargeCommunity(s); err == nil && c.String() != s {
		t.Fatalf("large community %q -> %v", s, c)
	}
	if c, err := ParseExtCommunity(s); err == nil && c.String() != s {
		t.Fatalf("ext community %q -> %v", s, c)
	}
	if p, err := ParseASPathPattern(s); err == nil {
		if p.String() != s || len(s) > maxPatternLen {
			t.Fatalf("pattern %q -> %q", s, p)
		}
		p.Match([]uint32{uint32(len(s)), 64501, 4294967295})
		for _, a := range p.ASNs() {
			// The ASes the pattern requires are in every path it matches.
			for _, path := range [][]uint32{{a}, {64501, a}, {a, 64501}, {a + 1}, {a / 10}, {a*10 + 1}, {64501, 4294967295}} {
				if p.Match(path) && !slices.Contains(path, a) {
					t.Fatalf("pattern %q requires AS%d, yet matches %v", s, a, path)
				}
			}
		}
	}
	if k, err := ParseSort(s); err == nil && k.String() != s {
		t.Fatalf("sort %q -> %q", s, k)
	}
	if n, err := ParseLimit(s); err == nil && s != "" && strconv.Itoa(n) != s {
		t.Fatalf("limit %q -> %d", s, n)
	}
	if c, err := ParseCursor(s); err == nil && c != s {
		t.Fatalf("cursor %q -> %q", s, c)
	}
}

// FuzzParams feeds one string to every parameter parser and checks the round-trip property.
// Seeds: testdata/fuzz/FuzzParams (one value of every kind, good and bad).
func FuzzParams(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) { checkRoundTrip(t, s) })
}

// FuzzExtCommunity checks that every 8-octet extended community formats to text that parses back
// to it. Seeds: testdata/fuzz/FuzzExtCommunity.
func FuzzExtCommunity(f *testing.F) {
	f.Fuzz(func(t *testing.T, v uint64) {
		c := ExtCommunity(v)
		back, err := ParseExtCommunity(c.String())
		if err != nil || back != c {
			t.Fatalf("%#x -> %q -> %#x, %v", v, c.String(), uint64(back), err)
		}
	})
}

// FuzzQuery sends a fuzzed path and query string to every endpoint of the looking glass and
// requires a JSON answer that is never a server error. Seeds: testdata/fuzz/FuzzQuery.
func FuzzQuery(f *testing.F) {
	s := newTestServer(f, newFake())
	h := s.Handler()
	f.Fuzz(func(t *testing.T, route uint8, segment, rawQuery string) {
		paths := []string{"/api/v1/sessions/%s/routes/received", "/api/v1/sessions/%s/explain", "/api/v1/lookup",
			"/api/v1/search/%s", "/api/v1/sessions/%s", "/birdwatcher/routes/protocol/%s", "/birdwatcher/routes/table/%s",
			"/bgplgd/rib", "/birdseye/route/%s/protocol/R_192_0_2_11", "/birdseye/routes/lc-zwild/protocol/R_192_0_2_12/%s/1101"}
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
		code, hdr, body := w.Code, w.Result().Header, w.Body.Bytes()
		if code >= 500 {
			t.Fatalf("%s: %d %s", target, code, body)
		}
		if !strings.HasPrefix(hdr.Get("Content-Type"), "application/json") || len(body) == 0 || body[0] != '{' {
			t.Fatalf("%s: %d %q %.100s", target, code, hdr.Get("Content-Type"), body)
		}
	})
}

func TestASPathPatternASN(t *testing.T) {
	for _, tt := range []struct {
		pattern string
		asn     uint32
	}{
		{"_3356_", 3356}, {"^64501_", 64501}, {"_64510$", 64510}, {"^64510$", 64510}, {" 174 ", 174},
		{"_4294967295_", 4294967295},
		{"3356", 0}, {"_3356", 0}, {"3356_", 0}, {"_33.6_", 0}, {"_0_", 0}, {"_03356_", 0},
		{"_4294967296_", 0}, {"_3356_|_174_", 0}, {"__", 0}, {"^6450\\d_", 0}, {"(_3356_)", 0},
		{"^64501 64502$", 64502}, {"^64501_.*_3356$", 3356}, {"^64501_.*", 64501}, {"_3356_174_", 174},
		{"^64501_\\d+_", 64501}, {"[ ]3356[ ]", 3356},
	} {
		p, err := ParseASPathPattern(tt.pattern)
		if err != nil {
			t.Fatalf("%q: %v", tt.pattern, err)
		}
		if a, ok := p.ASN(); a != tt.asn || ok != (tt.asn != 0) {
			t.Errorf("%q: ASN %d, %v; want %d", tt.pattern, a, ok, tt.asn)
		}
	}
}

// FuzzASPathOneAS holds the patterns of one AS between boundaries ("_N_", "^N_", "_N$", "^N$"),
// which match without a regular expression, to the regular expression they stand for, on paths made
// of N, its neighbours and ASes that share its digits.
func FuzzASPathOneAS(f *testing.F) {
	f.Add(uint32(3356), uint8(0), []byte{0, 1, 0})
	f.Add(uint32(64501), uint8(1), []byte{1, 2, 3, 1})
	f.Add(uint32(7), uint8(2), []byte{4, 5, 1})
	f.Add(uint32(4294967295), uint8(3), []byte{1})
	f.Add(uint32(0), uint8(0), []byte{})
	f.Add(uint32(10), uint8(0), []byte{})
	f.Fuzz(func(t *testing.T, asn uint32, form uint8, path []byte) {
		forms := []string{"_%d_", "^%d_", "_%d$", "^%d$"}
		s := fmt.Sprintf(forms[int(form)%len(forms)], asn)
		fast, err := ParseASPathPattern(s)
		if asn == 0 {
			if err != nil || fast.re == nil {
				t.Fatalf("%q: %v, not compiled", s, err)
			}
			return
		}
		if err != nil || fast.re != nil {
			t.Fatalf("%q: %v, compiled %v", s, err, fast)
		}
		slow, err := compileASPathPattern(s)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(fast.ASNs(), slow.ASNs()) {
			t.Fatalf("%q: ASNs %v, the regular expression's %v", s, fast.ASNs(), slow.ASNs())
		}
		// Path elements: N itself, N±1, N with a digit more or fewer, 0 and the largest AS.
		near := []uint32{asn, asn + 1, asn - 1, asn * 10, asn / 10, asn*10 + asn%10, 0, 4294967295}
		var p []uint32
		for _, b := range path[:min(len(path), 16)] {
			p = append(p, near[int(b)%len(near)])
		}
		if a, b := fast.Match(p), slow.Match(p); a != b {
			t.Fatalf("%q on %v: %v, the regular expression says %v", s, p, a, b)
		}
	})
}
