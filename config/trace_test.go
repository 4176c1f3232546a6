package config

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestTraceKeys(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string
	}{
		{"types and raw", head + foo + "trace = [\"update\", \"notification\"]\ntrace_raw = true\n", nil},
		{"all", head + foo + "trace = [\"all\"]\n", nil},
		{"unknown type", head + foo + "trace = [\"update\", \"updates\"]\n", []string{
			`t.toml:9: member "Foo" (asn 64501): trace[1] "updates": must be one of [open update notification keepalive refresh] or all`,
		}},
		{"twice", head + foo + "trace = [\"open\",\n \"open\"]\n", []string{
			`t.toml:10: member "Foo" (asn 64501): trace[1] "open": listed twice`,
		}},
		{"not a list", head + foo + "trace = \"update\"\n", []string{
			`t.toml:9: member "Foo" (asn 64501): trace: must be an array, not a string ("update")`,
		}},
		{"tracing limits", head + "[tracing]\nrate = 0\nburst = 0\n", []string{
			`t.toml:6: tracing.rate 0: must be more than 0 (lines per second per member)`,
			`t.toml:7: tracing.burst 0: must be at least 1`,
		}},
		{"tracing unknown key", head + "[tracing]\nrates = 5\n", []string{
			`t.toml:6: unknown key "tracing.rates" (did you mean "rate"?)`,
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("t.toml", []byte(tc.src))
			if d := cmp.Diff(tc.want, messages(t, err)); d != "" {
				t.Errorf("problems (-want +got):\n%s", d)
			}
		})
	}
	c, err := Parse("t.toml", []byte(head+foo))
	if err != nil {
		t.Fatal(err)
	}
	if c.Tracing != DefaultTracing() || c.Members[0].Trace != nil || c.Members[0].TraceRaw {
		t.Errorf("defaults: %+v, member trace %v raw %v", c.Tracing, c.Members[0].Trace, c.Members[0].TraceRaw)
	}
}
