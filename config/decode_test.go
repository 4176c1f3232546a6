package config

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestUnknownKeys checks that unknown keys are errors naming the line and
// the key: at the top level, in [server], in the second [[member]], in an
// inline table and as dotted keys.
func TestUnknownKeys(t *testing.T) {
	src := `foo = 1
[server]
asn = 64500
router_id = "192.0.2.1"
hold_tme = 90
max_prefix_ipv4 = 10
[[member]]
name = "A"
asn = 64501
neighbors = ["192.0.2.1"]
[[member]]
name = "B"
asn = 64502
neighbors = ["192.0.2.2"]
neighbours = ["192.0.2.3"]
[rpki]
caches = [
  { address = "127.0.0.1:3323" },
  { address = "127.0.0.1:3324", pref = 2 },
]
[bogus]
x = 1
[defaults.sub]
y = 2
`
	want := []string{
		`t.toml:1: unknown key "foo"`,
		`t.toml:5: unknown key "server.hold_tme" (did you mean "hold_time"?)`,
		`t.toml:6: unknown key "server.max_prefix_ipv4" (policy keys go in [defaults] or in a [[member]])`,
		`t.toml:15: member "B" (asn 64502): unknown key "neighbours" (did you mean "neighbors"?)`,
		`t.toml:19: unknown key "rpki.caches[1].pref"`,
		`t.toml:21: unknown key "bogus"`,
		`t.toml:23: unknown key "defaults.sub"`,
	}
	_, err := Parse("t.toml", []byte(src))
	if d := cmp.Diff(want, messages(t, err)); d != "" {
		t.Errorf("problems (-want +got):\n%s", d)
	}
	var errs *Errors
	if errors.As(err, &errs) {
		if e := (*errs)[3]; e.Key != "member[1].neighbours" || e.Line != 15 || e.File != "t.toml" {
			t.Errorf("problem 3 = %+v, want Key member[1].neighbours, Line 15", e)
		}
	}
}

func TestUnknownDottedKey(t *testing.T) {
	src := `lookingglass.lisen = "127.0.0.1:8080"
[server]
asn = 64500
router_id = "192.0.2.1"
`
	want := []string{`t.toml:1: unknown key "lookingglass.lisen" (did you mean "listen"?)`}
	_, err := Parse("t.toml", []byte(src))
	if d := cmp.Diff(want, messages(t, err)); d != "" {
		t.Errorf("problems (-want +got):\n%s", d)
	}
}

// TestSyntaxErrors checks that a syntax error is reported as file:line:col.
func TestSyntaxErrors(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{"unterminated string", "[server]\nasn = 64500\nrouter_id = \"192.0.2.1\n",
			`t.toml:3:23: syntax error: strings cannot contain newlines`},
		{"missing value", "[server]\nasn =\nrouter_id = \"192.0.2.1\"\n",
			`t.toml:2:6: syntax error: expected value but found '\n' instead`},
		{"duplicate key", "[server]\nasn = 1\nasn = 2\n",
			`t.toml:3:9: syntax error: Key 'server.asn' has already been defined.`},
		{"duplicate table", "[server]\n[server]\n",
			`t.toml:2:2: syntax error: Key 'server' has already been defined.`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("t.toml", []byte(tt.src))
			got := messages(t, err)
			if d := cmp.Diff([]string{tt.want}, got); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

func TestErrorFormat(t *testing.T) {
	tests := []struct {
		e    Error
		want string
	}{
		{Error{File: "c.toml", Line: 3, Col: 7, Msg: "syntax error: x"}, "c.toml:3:7: syntax error: x"},
		{Error{File: "c.toml", Line: 3, Msg: "m"}, "c.toml:3: m"},
		{Error{File: "c.toml", Msg: "m"}, "c.toml: m"},
	}
	for _, tt := range tests {
		if got := tt.e.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
	es := Errors{&tests[0].e, &tests[1].e}
	if got, want := es.Error(), "c.toml:3:7: syntax error: x\nc.toml:3: m"; got != want {
		t.Errorf("Errors.Error() = %q, want %q", got, want)
	}
	var target *Error
	if !errors.As(&es, &target) || target != &tests[0].e {
		t.Error("errors.As(*Errors, **Error) does not find the first problem")
	}
}

func TestSuggest(t *testing.T) {
	fields := map[string][]int{"neighbors": nil, "name": nil, "asn": nil, "hold_time": nil, "rpki": nil, "irr": nil}
	for key, want := range map[string]string{
		"neighbours": "neighbors",
		"hold-time":  "hold_time",
		"nmae":       "", // a transposition is 2 edits: too far for a short key
		"as":         "asn",
		"rpk1":       "rpki",
		"colour":     "",
		"x":          "",
	} {
		if got := suggest(key, fields); got != want {
			t.Errorf("suggest(%q) = %q, want %q", key, got, want)
		}
	}
}
